package phptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing php into a
// test failure instead of a skip.
const RequireEnv = "SESSTOOL_REQUIRE_PHP"

// BinaryEnv is the environment variable that names the php binary to use
// instead of the one found in $PATH.
const BinaryEnv = "SESSTOOL_PHP"

// RunTimeout bounds every one-shot script run, so a broken script cannot
// hang the test binary. It is a safety net, not an assertion.
const RunTimeout = 5 * time.Minute

// baseFlags are prepended to every php invocation: diagnostics to stderr, all
// of them, never HTML.
var baseFlags = []string{
	"-d", "display_errors=stderr",
	"-d", "display_startup_errors=1",
	"-d", "error_reporting=-1",
	"-d", "log_errors=0",
	"-d", "html_errors=0",
}

// Lookup returns the path of the php-cli binary, or an error saying how to
// install it. It honours SESSTOOL_PHP.
func Lookup() (string, error) {
	name := "php"
	if p := os.Getenv(BinaryEnv); p != "" {
		name = p
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("php-cli not installed (%s not found: %w); apt-get install php-cli", name, err)
	}
	return path, nil
}

// PHP returns the path of php-cli. When php is missing it skips the test
// ("php-cli not installed; apt-get install php-cli"), or fails it when
// SESSTOOL_REQUIRE_PHP=1.
func PHP(t testing.TB) string {
	t.Helper()
	path, err := Lookup()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%v (%s=1, so this is a failure, not a skip)", err, RequireEnv)
		}
		t.Skipf("%v", err)
	}
	return path
}

// Extensions returns the path of php-cli after checking that it has the
// named extensions (igbinary, msgpack, ...): a test that needs a missing one
// skips, saying which Debian package to install, or fails when
// SESSTOOL_REQUIRE_PHP=1.
func Extensions(t testing.TB, names ...string) string {
	t.Helper()
	php := PHP(t)
	out, err := exec.Command(php, "-m").Output()
	if err != nil {
		t.Fatalf("php -m: %v", err)
	}
	have := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		have[strings.ToLower(strings.TrimSpace(l))] = true
	}
	for _, n := range names {
		if !have[strings.ToLower(n)] {
			msg := fmt.Sprintf("PHP extension %s not loaded; apt-get install php-%s", n, n)
			if os.Getenv(RequireEnv) == "1" {
				t.Fatalf("%s (%s=1, so this is a failure, not a skip)", msg, RequireEnv)
			}
			t.Skip(msg)
		}
	}
	return php
}

// WriteScript writes script to a new file in a test temp dir and returns its
// path. A script without "<?php" gets it prepended.
func WriteScript(t testing.TB, script string) string {
	t.Helper()
	if !bytes.Contains([]byte(script), []byte("<?php")) {
		script = "<?php\n" + script
	}
	path := filepath.Join(t.TempDir(), "script.php")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatalf("phptest: write script: %v", err)
	}
	return path
}

// Command builds the php command line for a script file: the base flags,
// then args up to a literal "--" (php options such as "-d", "k=v"), then the
// script, then the args after "--" (the script's $argv[1:]).
func Command(php, scriptPath string, args ...string) []string {
	opts, scriptArgs := args, []string(nil)
	if i := slices.Index(args, "--"); i >= 0 {
		opts, scriptArgs = args[:i], args[i+1:]
	}
	argv := append(slices.Clone(baseFlags), opts...)
	argv = append(argv, scriptPath)
	// php stops parsing its own options at the script path, so the
	// script's arguments follow it directly.
	return append(argv, scriptArgs...)
}

// ExitError is returned by RunErr when php ran but failed; it carries what
// php wrote to stderr.
type ExitError struct {
	Err    error  // the *exec.ExitError (or context error)
	Stderr []byte // php's stderr
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("php: %v; stderr:\n%s", e.Err, e.Stderr)
}

func (e *ExitError) Unwrap() error { return e.Err }

// Input runs script with stdin as its standard input. env entries
// ("K=V") are added to the test process's environment. It returns php's
// stdout, and an *ExitError when php exits non-zero. Skips like PHP(t).
func Input(t testing.TB, script string, stdin []byte, env []string, args ...string) ([]byte, error) {
	t.Helper()
	php := PHP(t)
	path := WriteScript(t, script)
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, php, Command(php, path, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = filepath.Dir(path)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (timeout %v)", ctx.Err(), RunTimeout)
		}
		return out.Bytes(), &ExitError{Err: err, Stderr: errb.Bytes()}
	}
	return out.Bytes(), nil
}

// RunErr runs script (PHP source text) and returns its stdout, or an
// *ExitError carrying stderr when php exits non-zero. See Command for args.
func RunErr(t testing.TB, script string, env []string, args ...string) ([]byte, error) {
	t.Helper()
	return Input(t, script, nil, env, args...)
}

// Run runs script (PHP source text) and returns its stdout; a non-zero exit
// fails the test with php's stderr. See Command for args.
func Run(t testing.TB, script string, env []string, args ...string) (stdout []byte) {
	t.Helper()
	out, err := RunErr(t, script, env, args...)
	if err != nil {
		t.Fatalf("phptest.Run: %v", err)
	}
	return out
}

// IsExit reports whether err is a php failure (as opposed to not running).
func IsExit(err error) bool {
	var e *ExitError
	return errors.As(err, &e)
}
