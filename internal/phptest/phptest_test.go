package phptest

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunOutputEnvArgs(t *testing.T) {
	out := Run(t, `echo getenv("PT_X"), "|", ini_get("precision"), "|", implode(",", array_slice($argv, 1));`,
		[]string{"PT_X=hello"}, "-d", "precision=7", "--", "a", "b c")
	if got, want := string(out), "hello|7|a,b c"; got != want {
		t.Fatalf("stdout = %q, want %q", got, want)
	}
}

func TestRunErrCarriesStderr(t *testing.T) {
	_, err := RunErr(t, `fwrite(STDERR, "boom on stderr"); exit(3);`, nil)
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v, want *ExitError", err)
	}
	if !strings.Contains(string(ee.Stderr), "boom on stderr") {
		t.Fatalf("stderr = %q", ee.Stderr)
	}
	var xe *exec.ExitError
	if !errors.As(err, &xe) || xe.ExitCode() != 3 {
		t.Fatalf("exit code: %v", err)
	}
}

func TestWarningsGoToStderr(t *testing.T) {
	_, err := RunErr(t, `echo "out"; trigger_error("careful", E_USER_WARNING); exit(1);`, nil)
	var ee *ExitError
	if !errors.As(err, &ee) || !strings.Contains(string(ee.Stderr), "careful") {
		t.Fatalf("warning not on stderr: %v", err)
	}
}

func TestInputStdin(t *testing.T) {
	out, err := Input(t, `echo strrev(stream_get_contents(STDIN));`, []byte("abc\x00d"), nil)
	if err != nil || string(out) != "d\x00cba" {
		t.Fatalf("out %q err %v", out, err)
	}
}

func TestRequireEnvMakesMissingPHPFatal(t *testing.T) {
	// Run the check in a child test binary with no usable php, once with
	// the variable set and once without.
	if os.Getenv("PHPTEST_CHILD") == "1" {
		PHP(t)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		require string
		wantErr bool
		wantOut string
	}{
		{"", false, "php-cli not installed"},
		{"1", true, "php-cli not installed"},
	} {
		cmd := exec.Command(exe, "-test.run=^TestRequireEnvMakesMissingPHPFatal$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "PHPTEST_CHILD=1", BinaryEnv+"=/nonexistent/php", RequireEnv+"="+tc.require)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.wantErr {
			t.Errorf("%s=%q: err = %v, want error %v; output:\n%s", RequireEnv, tc.require, err, tc.wantErr, out)
		}
		if !strings.Contains(string(out), tc.wantOut) {
			t.Errorf("%s=%q: output lacks %q:\n%s", RequireEnv, tc.require, tc.wantOut, out)
		}
		if !tc.wantErr && !strings.Contains(string(out), "SKIP") {
			t.Errorf("without %s the test should skip:\n%s", RequireEnv, out)
		}
	}
}

func TestSessionINIWritesChosenID(t *testing.T) {
	for _, tc := range []struct {
		handler, want string
	}{
		{"php", `n|i:42;`},
		{"php_serialize", `a:1:{s:1:"n";i:42;}`},
		{"php_binary", "\x01ni:42;"},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			dir := t.TempDir()
			Run(t, `session_id("chosen-id,1"); if (!session_start()) exit(2); $_SESSION["n"] = 42; session_write_close();`,
				nil, SessionINI(dir, tc.handler)...)
			got, err := os.ReadFile(filepath.Join(dir, "sess_chosen-id,1"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("file = %q, want %q", got, tc.want)
			}
		})
	}
}

// A php process holding a session lock blocks flock until told to go on.
func TestStartHoldsLock(t *testing.T) {
	dir := t.TempDir()
	p := Start(t, `session_id("lockme"); session_start(); echo "locked\n";
fgets(STDIN); $_SESSION["done"] = true; session_write_close(); echo "released\n";`,
		SessionINI(dir, "php")...)
	p.WaitLine("locked")
	f, err := os.OpenFile(filepath.Join(dir, "sess_lockme"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("flock while php holds the session: %v, want EWOULDBLOCK", err)
	}
	p.Send("go")
	p.WaitLine("released")
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("flock after release: %v", err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f.Name())
	if string(b) != "done|b:1;" {
		t.Fatalf("session = %q", b)
	}
}

func TestStartReportsEarlyExit(t *testing.T) {
	p := Start(t, `fwrite(STDERR, "dying"); exit(4);`)
	err := p.WaitLineErr("never")
	if err == nil || !strings.Contains(err.Error(), "dying") {
		t.Fatalf("err = %v, want early-exit error with stderr", err)
	}
	if err := p.Wait(); !IsExit(err) {
		t.Fatalf("Wait = %v, want *ExitError", err)
	}
}

func TestStartWaitNextAndKill(t *testing.T) {
	p := Start(t, `echo "one\ntwo\n"; sleep(600);`)
	if a, b := p.WaitNext(), p.WaitNext(); a != "one" || b != "two" {
		t.Fatalf("lines %q %q", a, b)
	}
	p.Kill()
	if err := p.Wait(); err == nil {
		t.Fatal("killed process reported success")
	}
}

func TestServer(t *testing.T) {
	doc := t.TempDir()
	save := t.TempDir()
	if err := os.WriteFile(filepath.Join(doc, "index.php"),
		[]byte(`<?php session_id("web1"); session_start(); $_SESSION["hits"] = ($_SESSION["hits"] ?? 0) + 1; echo ini_get("session.serialize_handler"), " ", $_SESSION["hits"];`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := Server(t, doc, SessionSettings(save, "php_serialize"))
	for i, want := range []string{"php_serialize 1", "php_serialize 2"} {
		resp, err := http.Get(base + "/index.php")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Fatalf("request %d: body %q, want %q", i, body, want)
		}
	}
	b, err := os.ReadFile(filepath.Join(save, "sess_web1"))
	if err != nil || string(b) != `a:1:{s:4:"hits";i:2;}` {
		t.Fatalf("session file %q, %v", b, err)
	}
}

func TestINISorted(t *testing.T) {
	got := strings.Join(INI(map[string]string{"b": "2", "a": "1"}), " ")
	if got != "-d a=1 -d b=2" {
		t.Fatalf("INI = %q", got)
	}
}

func TestCommandSplitsScriptArgs(t *testing.T) {
	argv := Command("php", "s.php", "-d", "x=1", "--", "y")
	got := strings.Join(argv[len(baseFlags):], " ")
	if got != "-d x=1 s.php y" {
		t.Fatalf("argv tail = %q", got)
	}
}

// TestSessionINILayout checks that a "N;DIR" save_path reaches PHP whole (an
// unquoted ';' would start an ini comment and leave PHP with "2").
func TestSessionINILayout(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := Run(t, `<?php echo ini_get("session.save_path");`, nil, SessionINI("2;"+dir, "php")...)
	if got, want := string(out), "2;"+dir; got != want {
		t.Fatalf("session.save_path seen by PHP = %q, want %q", got, want)
	}
}

// With PHP_CLI_SERVER_WORKERS the built-in server forks workers that keep
// its output pipe open; Server's cleanup must end them all, or the cleanup
// (and the test) would hang.
func TestServerWorkersCleanup(t *testing.T) {
	doc := t.TempDir()
	if err := os.WriteFile(filepath.Join(doc, "index.php"), []byte(`<?php echo getmypid();`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PHP_CLI_SERVER_WORKERS", "3")
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.Run("server", func(t *testing.T) {
			base := Server(t, doc, nil)
			resp, err := http.Get(base + "/index.php")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Server cleanup with PHP_CLI_SERVER_WORKERS=3 did not finish within 30s")
	}
}
