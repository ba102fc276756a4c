package soak

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
	"testing"
	"time"
)

// toolTimeout bounds one sesstool run: far above --lock-timeout, so a run
// that reaches it hung.
const toolTimeout = 60 * time.Second

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// buildTool builds the sesstool binary once per test binary (go build -o
// DIR/sesstool of the module's main package) and returns its path.
func buildTool(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sesstool-soak-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "sesstool")
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/sesstool/sesstool")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build of sesstool failed: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("%v", buildErr)
	}
	return buildBin
}

// toolResult is one finished sesstool run.
type toolResult struct {
	args       []string
	exit       int // -1: did not run or was killed
	stdout     string
	stderr     string
	start, end time.Time
	timedOut   bool
	runErr     error
}

// runTool runs the binary with args (and extra environment), bounded by
// toolTimeout.
func runTool(bin string, env []string, args ...string) toolResult {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	r := toolResult{args: args, start: time.Now()}
	err := cmd.Run()
	r.end = time.Now()
	r.stdout, r.stderr = out.String(), errb.String()
	r.exit = -1
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.exit = 0
	case ctx.Err() != nil:
		r.timedOut = true
		r.runErr = ctx.Err()
	case errors.As(err, &ee) && ee.Exited():
		r.exit = ee.ExitCode()
	default:
		r.runErr = err
	}
	return r
}

// problem says what is wrong with a run by the contract of CLI.md, whatever
// the command: it finished in time, with exit 0 to 3, a failure said in
// exactly one "sesstool: " line, and never a Go panic. "" means fine.
func (r toolResult) problem() string {
	switch {
	case r.timedOut:
		return "did not finish within " + toolTimeout.String()
	case r.runErr != nil:
		return "could not run: " + r.runErr.Error()
	case r.exit < 0 || r.exit > 3:
		return "exit code out of contract"
	case strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine "):
		return "Go panic"
	}
	if r.exit != 0 {
		lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "sesstool: ") {
			return "failure not reported as exactly one \"sesstool: \" line"
		}
	}
	return ""
}

func (r toolResult) String() string {
	return fmt.Sprintf("sesstool %s -> exit %d, stderr %s, stdout %s",
		strings.Join(r.args, " "), r.exit, quoteShort(r.stderr), quoteShort(r.stdout))
}

// quoteShort quotes s for a message, cut to a few hundred bytes.
func quoteShort(s string) string {
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}
