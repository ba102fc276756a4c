package soak

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/memcachedtest"
	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
)

// TestMigrateLive moves a live site's sessions while browsers use it, the
// way README's "Moving to Redis or Memcached" says: php -S serves six
// logged-in browsers from the source store; sesstool migrate copies the
// sessions while they keep making requests; then PHP stops for the final
// pass (the moment php.ini is switched and PHP-FPM reloaded) and comes
// back on the target store. Every browser is still logged in (same id)
// with its counter intact: no session lost, no update lost. From files to
// Redis, from memcached to Redis, and from the php serializer to igbinary
// on Redis.
func TestMigrateLive(t *testing.T) {
	load := soakLoad(t, "a migration") / 5
	for _, c := range []string{"files to redis", "memcached to redis", "php to igbinary on redis"} {
		t.Run(c, func(t *testing.T) { migrateLive(t, c, load) })
	}
}

func migrateLive(t *testing.T, c string, load time.Duration) {
	phptest.Extensions(t, "redis", "igbinary")
	bin := buildTool(t)
	dir := t.TempDir()
	docroot, _ := appAndEditor(t, dir)
	with := func(kv ...string) map[string]string {
		m := soakBaseINI()
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	redis := redistest.Start(t)
	redisINI := with("session.save_handler", "redis", "session.save_path", "tcp://"+redis.Addr,
		"redis.session.locking_enabled", "1", "redis.session.lock_retries", "2000", "redis.session.lock_wait_time", "5000")
	var srcINI map[string]string
	var toArgs []string
	switch c {
	case "files to redis":
		save := filepath.Join(dir, "sessions")
		if err := os.Mkdir(save, 0o700); err != nil {
			t.Fatal(err)
		}
		srcINI = with("session.save_handler", "files", "session.save_path", save)
		toArgs = []string{"--to-save-handler", "redis", "--to-save-path", "tcp://" + redis.Addr}
	case "memcached to redis":
		phptest.Extensions(t, "memcached")
		mc := memcachedtest.Start(t)
		srcINI = with("session.save_handler", "memcached", "session.save_path", mc.Addr,
			"memcached.sess_lock_retries", "2000", "memcached.sess_lock_wait_min", "5", "memcached.sess_lock_wait_max", "20")
		toArgs = []string{"--to-save-handler", "redis", "--to-save-path", "tcp://" + redis.Addr}
	default:
		// One Redis, the php serializer under one prefix, igbinary under another.
		srcINI = with("session.save_handler", "redis", "session.save_path", "tcp://"+redis.Addr+"?prefix=PHPSRC:",
			"redis.session.locking_enabled", "1", "redis.session.lock_retries", "2000", "redis.session.lock_wait_time", "5000")
		redisINI["session.serialize_handler"] = "igbinary"
		toArgs = []string{"--to-save-path", "tcp://" + redis.Addr, "--to-serialize-handler", "igbinary"}
	}
	var b strings.Builder
	for k, v := range srcINI {
		fmt.Fprintf(&b, "%s = %q\n", k, v)
	}
	iniFile := filepath.Join(dir, "php.ini")
	if err := os.WriteFile(iniFile, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	migrate := func() string {
		cmd := exec.Command(bin, append([]string{"--php-ini", iniFile, "--etc-root", dir, "--lock-timeout", "20s", "migrate", "-o", "json"}, toArgs...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("migrate: %v\n%s", err, out)
		}
		return strings.TrimSpace(string(out))
	}

	url1, stop1 := startServerCtl(t, docroot, srcINI, "4")
	var current atomic.Value
	current.Store(url1)
	// The switch pauses the browsers (as a maintenance page would) and
	// waits for the requests in flight before PHP stops: a PHP killed in
	// the middle of a request can tear the session it was writing (its own
	// write window) or lose a response, which no migration can mend.
	var paused atomic.Bool
	var inFlight sync.WaitGroup
	var gate sync.Mutex
	type browser struct {
		mu       sync.Mutex
		id       string
		ok       int64
		counter  int64
		gaps     int
		switched bool // the id changed: logged out
		fails    []string
	}
	const n = 6
	browsers := make([]*browser, n)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range browsers {
		jar, _ := cookiejar.New(nil)
		br := &browser{}
		browsers[i] = br
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(10+i*7) * time.Millisecond):
				}
				gate.Lock()
				if paused.Load() {
					gate.Unlock()
					continue // the site is in maintenance: try again later
				}
				inFlight.Add(1)
				gate.Unlock()
				resp, err := hc.Get(current.Load().(string) + "/")
				if err != nil {
					inFlight.Done()
					br.mu.Lock()
					br.fails = append(br.fails, err.Error())
					br.mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				inFlight.Done()
				var r reply
				br.mu.Lock()
				if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil || len(r.Warnings) > 0 {
					br.fails = append(br.fails, fmt.Sprintf("%d %s", resp.StatusCode, body))
				} else {
					if br.id != "" && r.ID != br.id {
						br.switched = true
					}
					br.ok++
					br.id, br.counter = r.ID, r.Counter
					if !r.ListOK {
						br.gaps++
					}
				}
				br.mu.Unlock()
			}
		}()
	}
	time.Sleep(load)  // browsers log in and use the site
	live := migrate() // while they keep making requests
	time.Sleep(load / 2)
	// The switch: the site pauses, PHP stops, the last pass copies what
	// changed, PHP comes back on the target store.
	gate.Lock()
	paused.Store(true)
	gate.Unlock()
	inFlight.Wait()
	stop1()
	final := migrate()
	url2, _ := startServerCtl(t, docroot, redisINI, "4")
	current.Store(url2)
	paused.Store(false)
	time.Sleep(load)
	close(stop)
	wg.Wait()
	var requests int64
	for i, br := range browsers {
		requests += br.ok
		switch {
		case len(br.fails) > 0:
			t.Errorf("browser %d: %d failed requests, first: %s", i, len(br.fails), br.fails[0])
		case br.switched:
			t.Errorf("browser %d: its session id changed: logged out by the move", i)
		case br.counter != br.ok || br.gaps > 0:
			t.Errorf("browser %d: counter %d after %d requests, %d gaps: updates lost", i, br.counter, br.ok, br.gaps)
		}
	}
	// Nothing writes to the target before the switch: a target session
	// "newer" than its source is a copy misjudged, an update lost.
	for name, out := range map[string]string{"live migrate": live, "final pass": final} {
		var s struct {
			KeptNewer int `json:"kept_newer"`
			Errors    int `json:"errors"`
		}
		if err := json.Unmarshal([]byte(out), &s); err != nil || s.KeptNewer != 0 || s.Errors != 0 {
			t.Errorf("%s: %s (%v): want no session kept newer and no error", name, out, err)
		}
	}
	t.Logf("%s: %d requests from %d browsers; live migrate %s; final pass %s", c, requests, n, strings.Join(strings.Fields(live), ""), strings.Join(strings.Fields(final), ""))
}

// TestMigrateSIGINT: SIGINT stops migrate between sessions: it prints its
// summary (some copied, not all), exits 130, and every session it copied
// is whole at the target.
func TestMigrateSIGINT(t *testing.T) {
	phptest.PHP(t)
	bin := buildTool(t)
	srv := redistest.Start(t)
	dir := t.TempDir()
	save := filepath.Join(dir, "sp")
	if err := os.Mkdir(save, 0o700); err != nil {
		t.Fatal(err)
	}
	const n = 40000
	for i := range n {
		p := filepath.Join(save, fmt.Sprintf("sess_sig%022d", i))
		if err := os.WriteFile(p, []byte(fmt.Sprintf("n|i:%d;pad|s:200:\"%s\";", i, strings.Repeat("x", 200))), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--save-path", save, "--etc-root", dir, "migrate", "--to-save-handler", "redis", "--to-save-path", "tcp://"+srv.Addr, "-o", "json")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Signalled once it has copied some (not after a fixed time: it
	// copied all 20,000 within 300 ms once, the test being slow to wake).
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if got, _ := strconv.Atoi(srv.Cli(t, "dbsize")); got >= 500 {
			break
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	var s struct {
		Scanned, Copied int
	}
	if jerr := json.Unmarshal([]byte(out.String()), &s); jerr != nil {
		t.Fatalf("no summary after SIGINT (exit %d): %v\n%s", code, jerr, out.String())
	}
	if code != 130 || s.Copied == 0 || s.Copied >= n {
		t.Fatalf("after SIGINT: exit %d, %+v; want 130 with some but not all copied", code, s)
	}
	t.Logf("SIGINT after %d of %d copied", s.Copied, n)
	keys := srv.Cli(t, "dbsize")
	if got, _ := strconv.Atoi(keys); got < s.Copied || got > s.Copied+16 {
		t.Errorf("%s keys in Redis, migrate said %d copied", keys, s.Copied)
	}
}
