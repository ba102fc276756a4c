package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/internal/phptest"
)

// runErrTTY runs sesstool with stderr a terminal (progress lines allowed)
// and stdout a pipe.
func runErrTTY(t *testing.T, errTTY bool, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, ErrTTY: errTTY},
		Now:    time.Now,
		Getenv: func(string) string { return "" },
	}
	err := Execute(context.Background(), NewCmdRoot(f), append([]string{"--etc-root", t.TempDir()}, args...))
	return cliResult{out: out.String(), errOut: errb.String(), err: err, code: ExitCode(err)}
}

// TestProgressOnTerminalOnly: stats and migrate, kept busy by a session
// whose lock this test holds (a wait of --lock-timeout), show a progress
// line on a terminal's stderr and clear it at the end; into a pipe they
// show none.
func TestProgressOnTerminalOnly(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "prog0000000000000000000001", "a|i:1;", time.Minute)
	p := putSess(t, dir, "prog0000000000000000000002", "a|i:2;", time.Minute)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		args       []string
	}{
		{"stats", "read ", []string{"--save-path", dir, "--lock-timeout", "700ms", "stats"}},
		{"migrate", "pass 1: ", []string{"--save-path", dir, "--lock-timeout", "700ms", "migrate", "--to-save-path", filepath.Join(t.TempDir())}},
	} {
		r := runErrTTY(t, true, c.args...)
		if !strings.Contains(r.errOut, "\r\x1b[K"+c.want) || !strings.Contains(r.errOut, "\r\x1b[K") {
			t.Errorf("%s on a terminal: stderr %q, want a progress line %q", c.name, r.errOut, c.want)
		}
		if i := strings.LastIndex(r.errOut, c.want); i >= 0 && !strings.Contains(r.errOut[i:], "\r\x1b[K") {
			t.Errorf("%s: the progress line is not cleared: %q", c.name, r.errOut)
		}
		r = runErrTTY(t, false, c.args...)
		if strings.Contains(r.errOut, c.want) || strings.Contains(r.errOut, "\x1b[K") {
			t.Errorf("%s into a pipe: stderr %q, want no progress", c.name, r.errOut)
		}
	}
}

// TestLockWaitNoticeClearsProgress: stats on a terminal, one of its
// sessions locked by this test past a second: the "waiting for session"
// notice starts a line of its own (the progress line cleared first, never
// "read 0 sessionssesstool: …"), and the count goes on with the sessions
// read meanwhile instead of stalling behind the locked one in walk order.
func TestLockWaitNoticeClearsProgress(t *testing.T) {
	dir := t.TempDir()
	const free = 6
	for i := range free {
		putSess(t, dir, fmt.Sprintf("wait%022d", i), "a|i:1;", time.Minute)
	}
	p := putSess(t, dir, "waitlocked0000000000000001", "a|i:2;", time.Minute)
	f, err := os.Open(p)
	mustDo(t, err)
	defer f.Close()
	mustDo(t, unix.Flock(int(f.Fd()), unix.LOCK_EX))
	r := runErrTTY(t, true, "--save-path", dir, "--lock-timeout", "1600ms", "stats")
	i := strings.Index(r.errOut, "sesstool: waiting for session")
	if i < 0 {
		t.Fatalf("no waiting notice: %q", r.errOut)
	}
	if before := r.errOut[:i]; before != "" && !strings.HasSuffix(before, "\r\x1b[K") && !strings.HasSuffix(before, "\n") {
		t.Errorf("the notice runs on from the progress line: %q", r.errOut)
	}
	if !strings.Contains(r.errOut, fmt.Sprintf("read %d sessions", free)) {
		t.Errorf("the progress count never reached the %d sessions read while one waited: %q", free, r.errOut)
	}
}

// TestLockWaitNoticeRedis: a set waiting more than a second for the lock a
// real PHP request holds on Redis says so on a terminal's stderr, naming
// phpredis' holder (host|pid); into a pipe it says nothing.
func TestLockWaitNoticeRedis(t *testing.T) {
	e := newRedisEnv(t, map[string]string{"redis.session.locking_enabled": "1", "redis.session.lock_expire": "60", "max_execution_time": "0"})
	const id = "waitredis000000000000001"
	if out, err := e.php(phpWriteSession, id, "1"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	hold := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), id)...)
	hold.WaitLine("locked")
	defer hold.CloseStdin()
	holder := "|" + strconv.Itoa(hold.Pid())
	r := runErrTTY(t, true, "--php-ini", e.iniFile, "--lock-timeout", "1500ms", "set", id, "name", `"x"`)
	if r.code != 3 || !strings.Contains(r.errOut, "sesstool: waiting for session \""+id+"\": locked by ") || !strings.Contains(r.errOut, holder+"\n") {
		t.Errorf("set on a terminal: exit %d, stderr %q, want the waiting notice naming %s", r.code, r.errOut, holder)
	}
	r = runErrTTY(t, false, "--php-ini", e.iniFile, "--lock-timeout", "1500ms", "set", id, "name", `"x"`)
	if strings.Contains(r.errOut, "waiting for") {
		t.Errorf("set into a pipe: stderr %q", r.errOut)
	}
}

// TestLockWaitNoticeMemcached: a change waiting for a session's lock that
// a real PHP request holds (php-memcached's lock.<id>, pecl memcache's
// <id>.lock) says so once on a terminal's stderr, and nothing into a pipe.
func TestLockWaitNoticeMemcached(t *testing.T) {
	for _, h := range []string{"memcached", "memcache"} {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, map[string]string{"max_execution_time": "0"})
			id := "waitmc0000000000000000" + h[len(h)-2:]
			if out, err := e.php(phpWriteSession, id, "1"); err != nil {
				t.Fatalf("php: %v %s", err, out)
			}
			hold := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), id)...)
			hold.WaitLine("locked")
			defer hold.CloseStdin()
			r := runErrTTY(t, true, "--php-ini", e.iniFile, "--lock-timeout", "1500ms", "set", id, "name", `"x"`)
			if r.code != 3 || strings.Count(r.errOut, "sesstool: waiting for session \""+id+"\": locked by a running request\n") != 1 {
				t.Errorf("set on a terminal: exit %d, stderr %q, want one waiting notice", r.code, r.errOut)
			}
			r = runErrTTY(t, false, "--php-ini", e.iniFile, "--lock-timeout", "1500ms", "set", id, "name", `"x"`)
			if r.code != 3 || strings.Contains(r.errOut, "waiting for") {
				t.Errorf("set into a pipe: exit %d, stderr %q", r.code, r.errOut)
			}
		})
	}
}
