package hostile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runTimeout bounds each sesstool run: a run that reaches it blocked (on a
// FIFO, a device, a lock it should not wait for).
const runTimeout = 20 * time.Second

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// buildTool builds the sesstool binary once per test binary into a
// directory everyone may read and execute (tests run it as nobody too).
func buildTool(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sesstool-hostile-bin-")
		if err != nil {
			buildErr = err
			return
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "sesstool")
		out, err := exec.Command("go", "build", "-o", buildBin, "github.com/sesstool/sesstool").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build of sesstool failed: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("%v", buildErr)
	}
	return buildBin
}

// run is one sesstool run.
type run struct {
	args     []string
	exit     int
	stdout   string
	stderr   string
	timedOut bool
	err      error
}

func (r run) String() string {
	return fmt.Sprintf("sesstool %q -> exit %d (timed out %v), stderr %q, stdout %q",
		r.args, r.exit, r.timedOut, cut(r.stderr), cut(r.stdout))
}

func cut(s string) string {
	if len(s) > 500 {
		return s[:500] + "..."
	}
	return s
}

// runOpts are the optional parts of a run.
type runOpts struct {
	env   []string
	cred  *syscall.Credential
	stdin string
}

// runTool runs the binary with args under runTimeout. On timeout the
// process is killed and the run marked timedOut.
func runTool(bin string, o runOpts, args ...string) run {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "SESSTOOL_SAVE_PATH="), o.env...)
	cmd.Stdin = strings.NewReader(o.stdin)
	cmd.Dir = "/"
	if o.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	r := run{args: args, exit: -1}
	err := cmd.Run()
	r.stdout, r.stderr = out.String(), errb.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.exit = 0
	case ctx.Err() != nil:
		r.timedOut = true
	case errors.As(err, &ee) && ee.Exited():
		r.exit = ee.ExitCode()
	default:
		r.err = err
	}
	return r
}

// contractProblem says how r breaks CLI.md whatever the command: a hang,
// a panic, an exit code outside 0-3, or (for single-target commands,
// oneLine) a failure not said in exactly one "sesstool: " line. "" = fine.
func contractProblem(r run, oneLine bool) string {
	switch {
	case r.timedOut:
		return "blocked: still running after " + runTimeout.String()
	case r.err != nil:
		return "could not run: " + r.err.Error()
	case strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine "):
		return "Go panic"
	case r.exit < 0 || r.exit > 3:
		return fmt.Sprintf("exit %d is outside the contract", r.exit)
	}
	if r.exit != 0 && oneLine {
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "sesstool: ") {
			return "failure not said in exactly one \"sesstool: \" line"
		}
	}
	if r.exit != 0 {
		for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
			if !strings.HasPrefix(l, "sesstool: ") {
				return fmt.Sprintf("stderr line %q does not start with \"sesstool: \"", l)
			}
		}
	}
	return ""
}

// writeEditor writes a scripted EDITOR that appends a key to the text
// form (so a save would write) and returns its path.
func writeEditor(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "editor.sh")
	script := "#!/bin/sh\nprintf '\\nhostile_edit = 1\\n' >> \"$1\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildBin != "" {
		_ = os.RemoveAll(filepath.Dir(buildBin))
	}
	os.Exit(code)
}
