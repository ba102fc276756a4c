package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
