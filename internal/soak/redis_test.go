package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/memcachedtest"
	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
)

// TestSoakRedis runs live php -S traffic on phpredis sessions with
// locking on while sesstool sets, unsets, edits, shows and lists them and
// creates and destroys sessions of its own. Afterwards: every client's
// counter equals its successful requests and its list never had a gap (no
// PHP update lost), and every session holds the tool_mark sesstool last
// gave it (no sesstool update lost).
func TestSoakRedis(t *testing.T) {
	load := soakLoad(t, "Redis")
	phptest.Extensions(t, "redis")
	srv := redistest.Start(t)
	ini := map[string]string{
		"session.save_handler":          "redis",
		"session.save_path":             "tcp://" + srv.Addr,
		"redis.session.locking_enabled": "1",
		"redis.session.lock_expire":     "10",
		// Wait up to 10 s for a lock (5.3.7's default, 20 ms, lets a
		// request go on unlocked and its write is then refused).
		"redis.session.lock_retries":   "2000",
		"redis.session.lock_wait_time": "5000",
	}
	soakKV(t, "Redis", load, ini, func() string {
		return srv.Cli(t, "--scan", "--pattern", "PHPREDIS_SESSION:*_LOCK")
	})
}

// TestSoakMemcached is TestSoakRedis on three memcached servers, with
// php-memcached (locking on) and with pecl memcache (its two copies).
func TestSoakMemcached(t *testing.T) {
	load := soakLoad(t, "Memcached") / 2
	for _, h := range []string{"memcached", "memcache"} {
		t.Run(h, func(t *testing.T) {
			phptest.Extensions(t, h)
			var addrs []string
			var servers []*memcachedtest.Server
			for range 3 {
				s := memcachedtest.Start(t)
				servers = append(servers, s)
				if h == "memcache" {
					addrs = append(addrs, "tcp://"+s.Addr)
				} else {
					addrs = append(addrs, s.Addr)
				}
			}
			ini := map[string]string{
				"session.save_handler":         h,
				"session.save_path":            strings.Join(addrs, ","),
				"memcached.sess_locking":       "1",
				"memcached.sess_lock_expire":   "10",
				"memcached.sess_lock_retries":  "2000",
				"memcached.sess_lock_wait_min": "5",
				"memcached.sess_lock_wait_max": "20",
				"memcache.lock_timeout":        "10",
			}
			// Lock items left once the load is over: php-memcached's lock
			// keys (PHP and sesstool delete them), pecl memcache's .lock
			// items still held (released ones stay, set to "0").
			soakKV(t, h, load, ini, func() string {
				var left []string
				for _, s := range servers {
					for _, k := range s.Keys(t) {
						switch {
						case h == "memcached" && strings.HasPrefix(k, "memc.sess.key.lock."):
							left = append(left, s.Addr+" "+k)
						case h == "memcache" && strings.HasSuffix(k, ".lock"):
							if it := s.Get(t, k); it.Found && it.Value != "0" {
								left = append(left, s.Addr+" "+k+"="+it.Value)
							}
						}
					}
				}
				return strings.Join(left, ", ")
			})
		})
	}
}

// soakLoad is how long a soak test runs: 25 s, or SESSTOOL_SOAK_DURATION
// (at most 60 s); without SESSTOOL_SOAK=1 the test is skipped.
func soakLoad(t *testing.T, what string) time.Duration {
	t.Helper()
	if os.Getenv(soakEnv) != "1" {
		t.Skipf("soak test skipped: set %s=1 to run it (about 30 s of load on php -S with %s sessions)", soakEnv, what)
	}
	load := 25 * time.Second
	if v := os.Getenv(durationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", durationEnv, v, err)
		}
		load = min(d, 60*time.Second)
	}
	return load
}

// soakBaseINI is the session settings of every soak's php -S, before the
// store's own: cookies only, no strict mode, PHP's serializer.
func soakBaseINI() map[string]string {
	return map[string]string{
		"session.serialize_handler": "php",
		"session.use_strict_mode":   "0",
		"session.use_cookies":       "1",
		"session.use_only_cookies":  "1",
		"session.cache_limiter":     "",
		"serialize_precision":       "-1",
	}
}

// soakKV runs the load of TestSoakRedis on the store ini names; leftovers
// lists lock keys left afterwards ("" when none).
func soakKV(t *testing.T, label string, load time.Duration, storeINI map[string]string, leftovers func() string) {
	bin := buildTool(t)
	dir := t.TempDir()
	docroot, editor := appAndEditor(t, dir)
	ini := soakBaseINI()
	for k, v := range storeINI {
		ini[k] = v
	}
	var b strings.Builder
	for k, v := range ini {
		fmt.Fprintf(&b, "%s = %q\n", k, v)
	}
	iniFile := filepath.Join(dir, "php.ini")
	if err := os.WriteFile(iniFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	baseURL := startServer(t, docroot, ini, "4")
	tmp := filepath.Join(dir, "tmp") // edit's kept texts land here
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	tool := func(env []string, args ...string) (string, string, error) {
		cmd := exec.Command(bin, append([]string{"--php-ini", iniFile, "--etc-root", dir, "--lock-timeout", "20s"}, args...)...)
		cmd.Env = append(append(os.Environ(), "TMPDIR="+tmp), env...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}

	type rclient struct {
		jar     http.CookieJar
		mu      sync.Mutex
		id      string
		ok      int64 // successful requests
		counter int64 // the counter of the last answer
		gaps    int
		fails   []string
	}
	const nClients = 6
	clients := make([]*rclient, nClients)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		jar, _ := cookiejar.New(nil)
		c := &rclient{jar: jar}
		clients[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Jar: c.jar, Timeout: 30 * time.Second}
			pause := rand.New(rand.NewPCG(uint64(i), 1))
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(pause.IntN(60)) * time.Millisecond):
					// a browser's think time: quiet moments an edit can use
				}
				resp, err := hc.Get(baseURL + "/")
				if err != nil {
					c.mu.Lock()
					c.fails = append(c.fails, err.Error())
					c.mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var r reply
				c.mu.Lock()
				if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil || len(r.Warnings) > 0 {
					c.fails = append(c.fails, fmt.Sprintf("%d %s", resp.StatusCode, body))
				} else {
					c.ok++
					c.id, c.counter = r.ID, r.Counter
					if !r.ListOK {
						c.gaps++
					}
				}
				c.mu.Unlock()
			}
		}()
	}

	// The operator: sesstool's commands against the live sessions.
	marks := map[string]*int64{} // the tool_mark sesstool last left on each session
	var ops = map[string]int{}
	deadline := time.Now().Add(load)
	r := rand.New(rand.NewPCG(9, 9))
	var opErrs []string
	for n := int64(1); time.Now().Before(deadline); n++ {
		c := clients[r.IntN(nClients)]
		c.mu.Lock()
		id := c.id
		c.mu.Unlock()
		if id == "" {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		var err error
		var errOut string
		op := []string{"set", "unset", "edit", "show", "ls", "own"}[r.IntN(6)]
		ops[op]++
		switch op {
		case "set":
			_, errOut, err = tool(nil, "set", id, "tool_mark", strconv.FormatInt(n, 10))
			if err == nil {
				v := n
				marks[id] = &v
			}
		case "unset":
			_, errOut, err = tool(nil, "unset", id, "tool_mark")
			if err == nil {
				marks[id] = nil
			}
		case "edit":
			if marks[id] == nil {
				ops[op]--
				continue // the editor changes an existing tool_mark line only
			}
			report := filepath.Join(dir, "edit-report")
			_, errOut, err = tool([]string{"EDITOR=" + editor, "SOAK_EDIT_VALUE=" + strconv.FormatInt(n, 10), "SOAK_EDIT_REPORT=" + report}, "edit", id)
			switch {
			case err == nil:
				v := n
				marks[id] = &v
			case strings.Contains(errOut, "changed while the editor was open: nothing written"):
				// PHP wrote the session while the editor had it: edit
				// refuses and keeps both, as it must.
				ops["edit refused, session changed meanwhile"]++
				err = nil
			}
		case "show":
			var out string
			out, errOut, err = tool(nil, "show", id, "-o", "json")
			if err == nil && !strings.Contains(out, `"counter":`) {
				err = fmt.Errorf("show printed %q", out)
			}
		case "ls":
			var out string
			out, errOut, err = tool(nil, "ls", "-o", "jsonl", "--sort", "none")
			if err == nil && !strings.Contains(out, `"id":"`+id+`"`) {
				err = fmt.Errorf("ls does not list %s", id)
			}
		case "own":
			own := fmt.Sprintf("soakown%019d", n)
			if _, errOut, err = tool(nil, "set", own, "x", "1", "--create"); err == nil {
				_, errOut, err = tool(nil, "destroy", own)
			}
		}
		if err != nil {
			opErrs = append(opErrs, fmt.Sprintf("%s %s: %v: %s", op, id, err, errOut))
		}
	}
	close(stop)
	wg.Wait()

	lost := 0
	var requests int64
	for i, c := range clients {
		requests += c.ok
		if len(c.fails) > 0 {
			t.Errorf("client %d: %d failed requests, first: %s", i, len(c.fails), c.fails[0])
		}
		if c.gaps > 0 || c.counter != c.ok {
			lost++
			t.Errorf("client %d: counter %d after %d successful requests, %d gaps: PHP updates lost", i, c.counter, c.ok, c.gaps)
		}
		out, _, err := tool(nil, "show", c.id, "-o", "json")
		if err != nil {
			t.Fatalf("show %s: %v", c.id, err)
		}
		var sess map[string]any
		if err := json.Unmarshal([]byte(out), &sess); err != nil {
			t.Fatalf("show %s: %v", c.id, err)
		}
		want, tracked := marks[c.id]
		got, has := sess["tool_mark"]
		switch {
		case !tracked:
		case want == nil && has:
			t.Errorf("session %s: tool_mark %v, sesstool had unset it", c.id, got)
		case want != nil && (!has || got != float64(*want)):
			t.Errorf("session %s: tool_mark %v, sesstool last set %d: a sesstool update was lost", c.id, got, *want)
		}
	}
	for _, e := range opErrs[:min(len(opErrs), 5)] {
		t.Errorf("sesstool: %s", e)
	}
	t.Logf("%s soak: %v of load, %d PHP requests on %d sessions, sesstool operations %v, %d errors, %d clients with lost updates",
		label, load, requests, nClients, ops, len(opErrs), lost)
	if keys := leftovers(); keys != "" {
		t.Errorf("lock keys left after the load: %s", keys)
	}
}
