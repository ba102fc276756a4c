package soak

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"sync"
	"time"
)

// reply is the app's JSON answer (testdata/app.php).
type reply struct {
	Counter  int64    `json:"counter"`
	IDBefore string   `json:"id_before"`
	ID       string   `json:"id"`
	HasMark  bool     `json:"has_mark"`
	Mark     *int64   `json:"mark"`
	ListOK   bool     `json:"list_ok"`
	Regen    bool     `json:"regen"`
	Warnings []string `json:"warnings"`
	Error    string   `json:"error"`
}

// request is one HTTP request of a client, as the client saw it.
type request struct {
	send, recv time.Time
	regen      bool   // asked the app to regenerate the id
	hold       bool   // asked the app to hold the lock before writing
	status     int    // 0: no HTTP answer
	err        string // transport or decoding error
	body       string // raw answer, kept for failures
	reply      reply
}

// ok reports whether the request succeeded: the app answered 200 with its
// JSON, so PHP's write of the session is on disk.
func (r *request) ok() bool { return r.status == http.StatusOK && r.err == "" }

// holdFor is how long a request back from a long idle keeps its session
// locked: longer than the sweeper's pause between gc runs.
const holdFor = 2500 * time.Millisecond

// client is one browser: its own cookie jar, one request at a time.
type client struct {
	idx    int
	sleepy bool // sometimes idles longer than gc's maxlifetime

	mu   sync.Mutex
	reqs []request
	cur  string // id of the session after the last successful request
}

// currentID returns the client's session id as of its last answer.
func (c *client) currentID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// run sends requests to baseURL until ctx ends, then returns (a request in
// flight is finished first, with its own timeout).
func (c *client) run(ctx context.Context, baseURL string, idle time.Duration, rng *rand.Rand) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer hc.CloseIdleConnections()
	hold := false
	for ctx.Err() == nil {
		regen := rng.IntN(20) == 0
		url := baseURL + "/"
		switch {
		case hold:
			// Back from idling past maxlifetime: hold the (expired)
			// session locked across a gc run.
			url += "?hold=" + strconv.Itoa(int(holdFor/time.Millisecond))
			regen = false
		case regen:
			url += "?regen=1"
		}
		r := request{regen: regen, hold: hold, send: time.Now()}
		hold = false
		resp, err := hc.Get(url)
		if err != nil {
			r.err = err.Error()
		} else {
			b, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			r.status, r.body = resp.StatusCode, string(b)
			if rerr != nil {
				r.err = rerr.Error()
			} else if jerr := json.Unmarshal(b, &r.reply); jerr != nil {
				r.err = "answer is not the app's JSON: " + jerr.Error()
			}
		}
		r.recv = time.Now()
		c.mu.Lock()
		c.reqs = append(c.reqs, r)
		if r.ok() {
			c.cur = r.reply.ID
		}
		c.mu.Unlock()

		pause := time.Duration(rng.IntN(30)) * time.Millisecond
		if c.sleepy && rng.IntN(40) == 0 {
			pause, hold = idle, true
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}
