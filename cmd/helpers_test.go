package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cliResult is what one command run printed and returned.
type cliResult struct {
	out, errOut string
	err         error
	code        int
}

// runCLIEnv runs sesstool with args, stdin and an environment, with injected
// IO buffers and /etc/php discovery confined to an empty temp root (unless
// args set --etc-root themselves).
func runCLIEnv(t *testing.T, stdin string, env map[string]string, args ...string) cliResult {
	t.Helper()
	return runCLIIO(t, stdin, env, notTTY, args...)
}

// runTTY runs sesstool as on a terminal (OutTTY, no colour): the human
// tables, where a pipe gets tab-separated rows.
func runTTY(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runCLIIO(t, "", nil, 0, args...)
}

// runWidth runs sesstool as on a terminal width columns wide.
func runWidth(t *testing.T, width int, args ...string) cliResult {
	t.Helper()
	return runCLIIO(t, "", nil, width, args...)
}

// notTTY is runCLIIO's width for a pipe.
const notTTY = -1

// runCLIIO runs sesstool with stdout a pipe (width notTTY) or a terminal
// of width columns (0: no limit).
func runCLIIO(t *testing.T, stdin string, env map[string]string, width int, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errb, OutTTY: width >= 0, Width: max(width, 0)},
		Now:    time.Now,
		Getenv: func(k string) string { return env[k] },
	}
	hasRoot := false
	for _, a := range args {
		if strings.HasPrefix(a, "--etc-root") {
			hasRoot = true
		}
	}
	if !hasRoot {
		args = append([]string{"--etc-root", t.TempDir()}, args...)
	}
	err := Execute(context.Background(), NewCmdRoot(f), args)
	return cliResult{out: out.String(), errOut: errb.String(), err: err, code: ExitCode(err)}
}

// run runs sesstool with no stdin and an empty environment.
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	return runCLIEnv(t, "", nil, args...)
}

// putSess writes a session file sess_<id> with data into dir and sets
// its mtime to now-age.
func putSess(t *testing.T, dir, id, data string, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, "sess_"+id)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileState records a file's bytes and mtime to check that nothing touched it.
type fileState struct {
	data  []byte
	mtime time.Time
	ino   uint64
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{data: b, mtime: st.ModTime(), ino: inodeOf(st)}
}

// untouched fails unless path still has the bytes and mtime of s.
func (s fileState) untouched(t *testing.T, path string) {
	t.Helper()
	now := stateOf(t, path)
	if !bytes.Equal(now.data, s.data) {
		t.Errorf("%s changed: %q -> %q", path, s.data, now.data)
	}
	if !now.mtime.Equal(s.mtime) {
		t.Errorf("%s mtime changed: %v -> %v", path, s.mtime, now.mtime)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantErrLine checks the CLI.md error contract on what main would print.
func wantErrLine(t *testing.T, r cliResult, wantCode int, wantSub string) {
	t.Helper()
	if r.code != wantCode {
		t.Fatalf("exit code %d, want %d (err %v; stdout %q)", r.code, wantCode, r.err, r.out)
	}
	line := ErrorLine(r.err)
	if strings.Contains(line, "\n") {
		t.Errorf("error spans lines: %q", line)
	}
	if !strings.Contains(line, wantSub) {
		t.Errorf("error %q does not contain %q", line, wantSub)
	}
	if strings.HasPrefix(line, "sesstool ") {
		t.Errorf("error %q repeats the program name after the one prefix", line)
	}
}
