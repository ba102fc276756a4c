package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
	"golang.org/x/sys/unix"
)

// lockFields are the members every lock of locks -o json and stats -o
// json has.
var lockFields = []string{"held_seconds", "holder", "id", "kind", "since", "ttl_seconds", "where"}

// decodeLocks reads locks -o json, checking each lock's members and that
// since is RFC 3339 (or null).
func decodeLocks(t *testing.T, out string) []map[string]any {
	t.Helper()
	var locks []map[string]any
	if err := json.Unmarshal([]byte(out), &locks); err != nil {
		t.Fatalf("locks -o json: %v\n%s", err, out)
	}
	checkLockFields(t, locks)
	return locks
}

func checkLockFields(t *testing.T, locks []map[string]any) {
	t.Helper()
	for _, l := range locks {
		if got := slices.Sorted(maps.Keys(l)); !slices.Equal(got, lockFields) {
			t.Errorf("lock members %q, want %q", got, lockFields)
		}
		if s, ok := l["since"].(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				t.Errorf("since %q: %v", s, err)
			}
		} else if l["since"] != nil {
			t.Errorf("since %v: want an RFC 3339 string or null", l["since"])
		}
	}
}

// TestLocksFilesHeldByPHP: a real PHP request holding its session: locks
// -o json gives its pid, where (the file) and since (RFC 3339, null only
// where no access time is kept); -o jsonl the same, a line each; stats -o
// json the same members; on an 80-column terminal the holder is not cut
// and every line fits.
func TestLocksFilesHeldByPHP(t *testing.T) {
	phptest.PHP(t)
	dir := t.TempDir()
	const id = "lkphp0000000000000000001"
	path := putSess(t, dir, id, "a|i:1;", time.Minute)
	putSess(t, dir, "lkfree000000000000000001", "a|i:1;", time.Minute)
	p := phptest.Start(t, `<?php session_id('`+id+`'); session_start(); echo "locked\n"; fgets(STDIN);`, append(phptest.SessionINI(dir, "php"), "-d", "session.save_path="+dir)...)
	p.WaitLine("locked")
	defer p.CloseStdin()
	holder := "pid " + strconv.Itoa(p.Pid()) + " (php"
	r := runCLI(t, "--save-path", dir, "locks", "-o", "json")
	locks := decodeLocks(t, r.out)
	if len(locks) != 1 || locks[0]["id"] != id || !strings.HasPrefix(locks[0]["holder"].(string), holder) || locks[0]["where"] != path || locks[0]["ttl_seconds"] != nil || locks[0]["kind"] != "flock LOCK_EX" {
		t.Fatalf("locks -o json: %s", r.out)
	}
	if locks[0]["since"] == nil && locks[0]["held_seconds"] != 0.0 {
		t.Errorf("held_seconds %v without a since", locks[0]["held_seconds"])
	}
	r = runCLI(t, "--save-path", dir, "locks", "-o", "jsonl")
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("locks -o jsonl: %q", r.out)
	}
	var l map[string]any
	mustDo(t, json.Unmarshal([]byte(lines[0]), &l))
	checkLockFields(t, []map[string]any{l})

	var rep struct {
		Locks []map[string]any `json:"locks"`
	}
	r = runCLI(t, "--save-path", dir, "--lock-timeout", "100ms", "stats", "-o", "json")
	mustDo(t, json.Unmarshal([]byte(r.out), &rep))
	checkLockFields(t, rep.Locks)
	if len(rep.Locks) != 1 || rep.Locks[0]["where"] != path {
		t.Errorf("stats -o json locks: %v", rep.Locks)
	}

	r = runWidth(t, 80, "--save-path", dir, "locks")
	if r.err != nil {
		t.Fatal(r.err)
	}
	comm := strings.TrimSpace(mustRead(t, "/proc/"+strconv.Itoa(p.Pid())+"/comm"))
	if !strings.Contains(r.out, holder[:len(holder)-len("(php")]+"("+comm+")") {
		t.Errorf("80 columns: the holder %q is cut:\n%s", comm, r.out)
	}
	for _, line := range strings.Split(strings.TrimRight(r.out, "\n"), "\n") {
		if utf8.RuneCountInString(line) > 80 {
			t.Errorf("line wider than 80 columns: %q", line)
		}
	}
}

// TestLocksRedisHeldByPHP: a real phpredis lock (locking_enabled, a
// lock_expire): locks names the holder's host|pid, the TTL and since;
// stats on the same Redis counts the sessions by TTL and lists the lock
// with locks' members; unlock leaves the young lock alone and --force
// removes it.
func TestLocksRedisHeldByPHP(t *testing.T) {
	e := newRedisEnv(t, map[string]string{"redis.session.locking_enabled": "1", "redis.session.lock_expire": "60", "max_execution_time": "0"})
	const id = "lkredis00000000000000001"
	for i, sid := range []string{id, "lkredis00000000000000002"} {
		if out, err := e.php(phpWriteSession, sid, strconv.Itoa(i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	hold := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), id)...)
	hold.WaitLine("locked")
	defer hold.CloseStdin()
	r := e.sesstool("locks", "-o", "json")
	locks := decodeLocks(t, r.out)
	if len(locks) != 1 || locks[0]["id"] != id || !strings.HasSuffix(locks[0]["holder"].(string), "|"+strconv.Itoa(hold.Pid())) || locks[0]["since"] == nil {
		t.Fatalf("locks -o json while PHP holds %s: %s", id, r.out)
	}
	if ttl, ok := locks[0]["ttl_seconds"].(float64); !ok || ttl <= 0 || ttl > 60 {
		t.Errorf("ttl_seconds %v, want lock_expire's 60 or less", locks[0]["ttl_seconds"])
	}
	if r := runTTY(t, "--php-ini", e.iniFile, "locks"); r.err != nil || !strings.Contains(r.out, "|"+strconv.Itoa(hold.Pid())) || !strings.Contains(r.out, "in ") {
		t.Errorf("locks:\n%s%v", r.out, r.err)
	}

	rep := statsJSON(t, "--php-ini", e.iniFile)
	if rep.Sessions != 2 || rep.AgeKind != "ttl" || rep.NoTTL == nil || *rep.NoTTL != 0 || rep.Handler != "redis" {
		t.Errorf("stats on Redis: sessions %d, kind %s, no TTL %v, handler %s: want 2, ttl, 0, redis", rep.Sessions, rep.AgeKind, rep.NoTTL, rep.Handler)
	}
	if ages := bucketCounts(rep.Ages); ages["15m-1h"] != 2 {
		t.Errorf("TTLs %v: want both with 24m left", ages)
	}
	if len(rep.Locks) != 1 || rep.Locks[0].ID != id || rep.Locks[0].TTL == nil || rep.Locks[0].Since == nil || rep.Locks[0].Where == "" {
		t.Errorf("stats locks %+v", rep.Locks)
	}
	if rep.Handlers["php"] != 2 {
		t.Errorf("handlers %v: want php 2 (the locked session is read too: GET needs no lock)", rep.Handlers)
	}

	if r := e.sesstool("unlock", id); r.code != 1 || !strings.Contains(ErrorLine(r.err), "--force") {
		t.Errorf("unlock of a lock younger than lock_expire: exit %d %q", r.code, ErrorLine(r.err))
	}
	if r := e.sesstool("unlock", id, "--force"); r.err != nil || !strings.HasPrefix(r.out, "unlocked "+id+" (lock held by \"") {
		t.Errorf("unlock --force: %q %v", r.out, r.err)
	}
	if n := e.srv.Cli(t, "exists", "PHPREDIS_SESSION:"+id+"_LOCK"); n != "0" {
		t.Errorf("the lock key is still there")
	}
}

// TestLocksMemcachedHeldByPHP: php-memcached's lock a real request holds
// (sess_locking on, max_execution_time 0: no expiry) is listed with its
// server and since; unlock --force removes it.
func TestLocksMemcachedHeldByPHP(t *testing.T) {
	e := newMCEnv(t, "memcached", nil)
	const id = "lkmemc000000000000000001"
	if out, err := e.php(phpWriteSession, id, "1"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	hold := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), id)...)
	hold.WaitLine("locked")
	defer hold.CloseStdin()
	r := e.sesstool("locks", "-o", "json")
	locks := decodeLocks(t, r.out)
	if len(locks) != 1 || locks[0]["id"] != id || locks[0]["where"] == "" || locks[0]["since"] == nil {
		t.Fatalf("locks -o json while PHP holds %s: %s", id, r.out)
	}
	if r := e.sesstool("unlock", id, "--force"); r.err != nil || !strings.HasPrefix(r.out, "unlocked "+id) {
		t.Errorf("unlock --force: %q %v", r.out, r.err)
	}
	if r := e.sesstool("locks", "-o", "json"); len(decodeLocks(t, r.out)) != 0 {
		t.Errorf("after unlock: %s", r.out)
	}
}

// redisHasNoTouch reports whether srv knows CLIENT NO-TOUCH (Redis 7.2
// and later): there sesstool's reads leave idle times alone.
func redisHasNoTouch(t *testing.T, srv *redistest.Server) bool {
	t.Helper()
	return !strings.Contains(srv.Cli(t, "client", "no-touch", "off"), "ERR")
}

// startPHPOnHost runs script in PHP (args as phptest.Start's) under a UTS
// namespace of its own whose hostname is host, so that phpredis' lock
// secret names another machine, and waits until it prints "locked". It
// needs root (unshare --uts); the process ends at cleanup.
func startPHPOnHost(t *testing.T, host, script string, args ...string) (pid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("unshare --uts needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1)")
	}
	php := phptest.PHP(t)
	argv := append([]string{"--uts", "sh", "-c", `hostname "$0" && exec "$@"`, host, php}, phptest.Command(php, phptest.WriteScript(t, script), args...)...)
	cmd := exec.Command(unshare, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	mustDo(t, err)
	stdout, err := cmd.StdoutPipe()
	mustDo(t, err)
	mustDo(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l := <-line:
		if strings.TrimSpace(l) != "locked" {
			t.Fatalf("PHP on host %s said %q, want locked; stderr: %s", host, l, stderr.String())
		}
	case <-time.After(phptest.WaitTimeout):
		t.Fatalf("PHP on host %s never locked; stderr: %s", host, stderr.String())
	}
	return cmd.Process.Pid
}

// TestUnlockRedisYoungLockOfAnOldSession: a request on another host (its
// own hostname in a UTS namespace: sesstool cannot see its process) locks
// a session last written 600 s ago (TTL 840 of gc_maxlifetime 1440) with
// lock_expire 60. The lock's age comes from the lock key (60 − its TTL),
// not from the session: locks says held a few seconds, not 600; unlock
// without --force, and with --older-than 5m, refuses, and the lock is still
// there; gc --lock-age leaves it (it has an expiry).
func TestUnlockRedisYoungLockOfAnOldSession(t *testing.T) {
	e := newRedisEnv(t, map[string]string{"redis.session.locking_enabled": "1", "redis.session.lock_expire": "60", "max_execution_time": "0", "session.gc_maxlifetime": "1440"})
	const id = "lkyoung00000000000000001"
	key := "PHPREDIS_SESSION:" + id
	if out, err := e.php(phpWriteSession, id, "1"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	e.srv.Cli(t, "expire", key, "840")
	startPHPOnHost(t, "web2", `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), id)...)
	if h := e.srv.Cli(t, "get", key+"_LOCK"); !strings.HasPrefix(h, "web2|") {
		t.Fatalf("lock holder %q, want web2|pid", h)
	}
	if ttl := e.srv.Cli(t, "ttl", key); ttl == "1440" {
		t.Fatalf("PHP's read refreshed the session's TTL (%s): the test needs it aged", ttl)
	}
	locks := decodeLocks(t, e.sesstool("locks", "-o", "json").out)
	if len(locks) != 1 || !strings.HasPrefix(locks[0]["holder"].(string), "web2|") {
		t.Fatalf("locks: %v", locks)
	}
	// The lock was taken just now: 60 − TTL is a few seconds at most,
	// however slow the machine; 600 would be the session's age.
	if held := locks[0]["held_seconds"].(float64); held > 30 {
		t.Errorf("held_seconds %v for a lock taken just now (lock TTL %v of 60): the session's age, not the lock's", held, locks[0]["ttl_seconds"])
	}
	for _, args := range [][]string{{"unlock", id}, {"unlock", "--older-than", "5m", id}} {
		r := e.sesstool(args...)
		if r.code != 1 || !strings.Contains(ErrorLine(r.err), "--force") {
			t.Errorf("%v: exit %d %q %q, want a refusal", args, r.code, r.out, ErrorLine(r.err))
		}
	}
	if r := e.sesstool("gc", "--maxlifetime", "1h", "--lock-age", "1s"); r.err != nil {
		t.Errorf("gc: %v", r.err)
	}
	if e.srv.Cli(t, "exists", key+"_LOCK") != "1" {
		t.Fatalf("the live request's lock was removed")
	}
	if r := e.sesstool("unlock", "--force", id); r.err != nil {
		t.Errorf("unlock --force: %v", r.err)
	}
}

// TestUnlockRedisNoExpiryLockAge: a lock without expiry (phpredis with
// lock_expire and max_execution_time 0, as a CLI request takes it) of an
// old session: its age is the lock key's idle time, not the session's;
// unlock --older-than 1m refuses it while it is young.
func TestUnlockRedisNoExpiryLockAge(t *testing.T) {
	e := newRedisEnv(t, map[string]string{"redis.session.locking_enabled": "1", "redis.session.lock_expire": "0", "max_execution_time": "0", "session.gc_maxlifetime": "1440"})
	const id = "lkidle000000000000000001"
	key := "PHPREDIS_SESSION:" + id
	if out, err := e.php(phpWriteSession, id, "1"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	e.srv.Cli(t, "expire", key, "840")
	startPHPOnHost(t, "web3", `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), id)...)
	if ttl := e.srv.Cli(t, "ttl", key+"_LOCK"); ttl != "-1" {
		t.Fatalf("lock TTL %s, want none", ttl)
	}
	locks := decodeLocks(t, e.sesstool("locks", "-o", "json").out)
	if len(locks) != 1 || locks[0]["ttl_seconds"] != nil || locks[0]["held_seconds"].(float64) > 30 {
		t.Errorf("locks: %v, want one lock without expiry held a few seconds", locks)
	}
	if r := e.sesstool("unlock", "--older-than", "1m", id); r.code != 1 || !strings.Contains(ErrorLine(r.err), "idle only") {
		t.Errorf("unlock --older-than 1m: exit %d %q", r.code, ErrorLine(r.err))
	}
	if e.srv.Cli(t, "exists", key+"_LOCK") != "1" {
		t.Fatalf("the live request's lock was removed")
	}
}

// TestReadsKeepAccessTime: a lock's "since" on files is the session file's
// access time, which PHP's read after locking sets; sesstool's own reads
// (show, stats, ls --check, watch's) open with O_NOATIME and leave it
// alone. PHP writes the session, its access time is set back an hour
// (before its change time: relatime would update it on any read), and
// after each command it is the same.
func TestReadsKeepAccessTime(t *testing.T) {
	phptest.PHP(t)
	dir := t.TempDir()
	const id = "atime0000000000000000001"
	phptest.Run(t, `<?php session_id('`+id+`'); session_start(); $_SESSION['a'] = 1; session_write_close();`, nil, append(phptest.SessionINI(dir, "php"), "-d", "session.save_path="+dir)...)
	path := filepath.Join(dir, "sess_"+id)
	fi, err := os.Stat(path)
	mustDo(t, err)
	atime := time.Now().Add(-time.Hour).Truncate(time.Second)
	mustDo(t, os.Chtimes(path, atime, fi.ModTime()))
	atimeOf := func() time.Time {
		var st unix.Stat_t
		mustDo(t, unix.Stat(path, &st))
		return time.Unix(st.Atim.Sec, st.Atim.Nsec)
	}
	if got := atimeOf(); !got.Equal(atime) {
		t.Skipf("this filesystem keeps no access time set by utimes (%v, want %v)", got, atime)
	}
	for _, args := range [][]string{{"show", id}, {"stats"}, {"ls", "--check"}} {
		mustDo(t, os.Chtimes(path, atime, fi.ModTime()))
		r := runCLI(t, append([]string{"--save-path", dir}, args...)...)
		if r.err != nil {
			t.Fatalf("%v: %v", args, r.err)
		}
		if got := atimeOf(); !got.Equal(atime) {
			t.Errorf("%v set the access time to %v (was %v)", args, got, atime)
		}
	}
}
