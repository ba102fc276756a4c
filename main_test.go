package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// bin is the sesstool binary built once for the end-to-end tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sesstool-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "sesstool")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sesstool: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// outcome is one run of the binary.
type outcome struct {
	stdout, stderr string
	code           int
}

// sesstool runs the binary with args and extra environment ("K=V"). The
// environment is cleared of SESSTOOL_SAVE_PATH and /etc/php discovery is
// pointed at an empty directory unless args say otherwise.
func sesstool(t *testing.T, env []string, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if !strings.Contains(strings.Join(args, " "), "--etc-root") {
		args = append([]string{"--etc-root", t.TempDir()}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running sesstool: %v", err)
	}
	out := outcome{stdout: o.String(), stderr: e.String(), code: code}
	checkStderr(t, out)
	return out
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SESSTOOL_SAVE_PATH=") && !strings.HasPrefix(kv, "EDITOR=") && !strings.HasPrefix(kv, "VISUAL=") {
			env = append(env, kv)
		}
	}
	return env
}

// checkStderr enforces CLI.md: on failure exactly one line "sesstool: ...",
// never a panic.
func checkStderr(t *testing.T, o outcome) {
	t.Helper()
	if strings.Contains(o.stderr, "panic") || strings.Contains(o.stderr, "goroutine ") {
		t.Fatalf("panic: %s", o.stderr)
	}
	if o.code == 0 {
		return
	}
	if !strings.HasPrefix(o.stderr, "sesstool: ") || strings.Count(o.stderr, "\n") != 1 || !strings.HasSuffix(o.stderr, "\n") {
		t.Errorf("exit %d: stderr is not one \"sesstool: \" line: %q", o.code, o.stderr)
	}
}

func want(t *testing.T, o outcome, code int, stdoutSub, stderrSub string) {
	t.Helper()
	if o.code != code {
		t.Errorf("exit %d, want %d (stdout %q, stderr %q)", o.code, code, o.stdout, o.stderr)
	}
	if !strings.Contains(o.stdout, stdoutSub) {
		t.Errorf("stdout %q lacks %q", o.stdout, stdoutSub)
	}
	if !strings.Contains(o.stderr, stderrSub) {
		t.Errorf("stderr %q lacks %q", o.stderr, stderrSub)
	}
}

func put(t *testing.T, path, data string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestE2EDemo(t *testing.T) {
	// Through a pipe: tab-separated rows, no header or footer.
	o := sesstool(t, nil, "ls", "--save-path", "testdata/demo")
	if o.code != 0 || o.stderr != "" || strings.Contains(o.stdout, "sessions, ") {
		t.Errorf("ls into a pipe: exit %d, stderr %q, stdout:\n%s", o.code, o.stderr, o.stdout)
	}
	for _, l := range strings.Split(strings.TrimSuffix(o.stdout, "\n"), "\n") {
		if strings.Count(l, "\t") != 3 {
			t.Errorf("row %q is not id, size, age, mtime", l)
		}
	}
	o = sesstool(t, []string{"SESSTOOL_SAVE_PATH=testdata/demo"}, "ls", "-q", "--sort", "id")
	if n := len(strings.Fields(o.stdout)); n < 2 || o.code != 0 {
		t.Errorf("ls -q via env: %d ids, exit %d", n, o.code)
	}
	// On a terminal (a pseudo-terminal through script(1)): the table, its
	// header and footer, no colour with NO_COLOR.
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) (util-linux) to give sesstool a terminal")
	}
	cmd := exec.Command(script, "-qec", bin+" --etc-root "+t.TempDir()+" ls --save-path testdata/demo", "/dev/null")
	cmd.Env = append(cleanEnv(), "NO_COLOR=1", "COLUMNS=100")
	tty, err := cmd.Output()
	if err != nil {
		t.Fatalf("script: %v", err)
	}
	if s := string(tty); !strings.Contains(s, "MODIFIED") || !strings.Contains(s, "sessions, ") || strings.Contains(s, "\t") || strings.Contains(s, "\x1b[") {
		t.Errorf("ls on a terminal:\n%q", s)
	}
	// A terminal 50 columns wide (its own size, no $COLUMNS): ls, its
	// status cells and show's tree fit, cut with …; the cut error is
	// printed whole below the table.
	for _, args := range []string{"ls --check --columns cart --save-path testdata/demo", "show a0c7g4m1r9d2pk5hu8ntle3sbq --save-path testdata/demo"} {
		cmd := exec.Command(script, "-qec", "stty cols 50 rows 40; "+bin+" --etc-root "+t.TempDir()+" "+args, "/dev/null")
		cmd.Env = append(cleanEnv(), "NO_COLOR=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("script %s: %v", args, err)
		}
		s := strings.ReplaceAll(string(out), "\r\n", "\n")
		if !strings.Contains(s, "…") {
			t.Errorf("%s at 50 columns: nothing cut:\n%s", args, s)
		}
		for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
			if strings.HasPrefix(l, "u0k4e8q2g6c1ms5bh9tdnv3alj: corrupt: ") || strings.HasPrefix(l, "12 sessions, ") {
				continue // the note below the table and the footer: prose, whole
			}
			if n := utf8.RuneCountInString(l); n > 50 {
				t.Errorf("%s: a line of %d columns on a 50-column terminal: %q", args, n, l)
			}
		}
		if strings.HasPrefix(args, "ls") && !strings.Contains(s, "\nu0k4e8q2g6c1ms5bh9tdnv3alj: corrupt: offset 253: expected '|' ending a session key, found \"\\n\"\n") {
			t.Errorf("ls --check: the cut error is not printed whole below the table:\n%s", s)
		}
	}
}

func TestE2EExitCodes(t *testing.T) {
	dir := t.TempDir()
	put(t, dir+"/sess_ok1", `a|i:1;`)
	put(t, dir+"/sess_bad1", "a|i:1;\n")
	sp := []string{"--save-path", dir}
	tests := []struct {
		name       string
		args       []string
		code       int
		out, errIn string
	}{
		{"help", []string{"--help"}, 0, "Usage:", ""},
		{"show", append(sp, "show", "ok1", "-o", "json"), 0, `{"a":1}`, ""},
		{"not found", append(sp, "show", "nope"), 1, "", `sesstool: session "nope" not found`},
		{"corrupt", append(sp, "show", "bad1"), 1, "", "offset 6"},
		{"bad id", append(sp, "show", "../../etc/passwd"), 2, "", `invalid session id "../../etc/passwd"`},
		{"id with slash", append(sp, "set", "a/b", "k", "1"), 2, "", `invalid session id "a/b"`},
		{"empty id", append(sp, "destroy", ""), 2, "", `invalid session id ""`},
		{"long id", append(sp, "unset", strings.Repeat("a", 300), "k"), 2, "", "invalid session id"},
		{"bad value", append(sp, "set", "ok1", "k", "{"), 2, "", `invalid VALUE "{"`},
		{"bad save_path", []string{"--save-path", "x;" + dir, "ls"}, 2, "", "invalid save_path"},
		{"bad mode", []string{"--save-path", "1;0999;" + dir, "ls"}, 2, "", "invalid save_path"},
		{"empty save_path", []string{"--save-path", "", "ls"}, 2, "", "--save-path is empty"},
		{"unknown command", []string{"lss"}, 2, "", `did you mean "ls"`},
		{"unknown flag", append(sp, "ls", "--nope"), 2, "", "unknown flag"},
		{"control bytes escaped", append(sp, "show", "a\nb"), 2, "", `"a\nb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := sesstool(t, nil, tt.args...)
			want(t, o, tt.code, tt.out, tt.errIn)
		})
	}
	if got, _ := os.ReadFile(dir + "/sess_ok1"); string(got) != `a|i:1;` {
		t.Errorf("a failing command touched a session: %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("files appeared: %v", ents)
	}
}

func TestE2ELockTimeout(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/sess_busy1"
	put(t, p, `a|i:1;`)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	o := sesstool(t, nil, "--save-path", dir, "--lock-timeout", "300ms", "set", "busy1", "a", "2")
	want(t, o, 3, "", `"busy1"`)
	o = sesstool(t, nil, "--save-path", dir, "--lock-timeout", "0", "destroy", "busy1")
	want(t, o, 3, "", `"busy1"`)
	if got, _ := os.ReadFile(p); string(got) != `a|i:1;` {
		t.Errorf("locked session changed: %q", got)
	}
}

// TestE2EHostile: symlinks and odd entries never lead outside the save_path.
func TestE2EHostile(t *testing.T) {
	outside := t.TempDir()
	secret := outside + "/secret"
	put(t, secret, `s|s:6:"secret";`)
	put(t, outside+"/sess_lvl1", `a|i:1;`)

	dir := t.TempDir()
	put(t, dir+"/sess_ok1", `a|i:1;`)
	os.Symlink(secret, dir+"/sess_x")
	os.Mkdir(dir+"/sess_y", 0o700)
	put(t, dir+"/sess_zero1", "")
	sp := []string{"--save-path", dir}

	o := sesstool(t, nil, append(sp, "show", "x")...)
	if o.code == 0 || strings.Contains(o.stdout, "secret") {
		t.Errorf("followed a symlink: %+v", o)
	}
	o = sesstool(t, nil, append(sp, "set", "x", "a", "1")...)
	if o.code == 0 {
		t.Errorf("set through a symlink succeeded")
	}
	o = sesstool(t, nil, append(sp, "destroy", "x")...)
	if o.code == 0 {
		t.Errorf("destroy of a symlink succeeded")
	}
	o = sesstool(t, nil, append(sp, "show", "y")...)
	if o.code != 1 {
		t.Errorf("show of a directory: %+v", o)
	}
	o = sesstool(t, nil, append(sp, "show", "zero1", "-o", "json")...)
	want(t, o, 0, "{}", "")
	o = sesstool(t, nil, append(sp, "ls", "-q", "--sort", "id")...)
	if o.stdout != "ok1\nzero1\n" {
		t.Errorf("ls lists non-regular entries: %q", o.stdout)
	}
	o = sesstool(t, nil, append(sp, "ls", "--where", "s=secret", "-q")...)
	if strings.Contains(o.stdout, "x") {
		t.Errorf("ls --where read through a symlink: %q", o.stdout)
	}

	// a symlinked level directory in a 2; layout
	d2 := t.TempDir()
	os.Mkdir(d2+"/l", 0o700)
	os.Symlink(outside, d2+"/l/v")
	o = sesstool(t, nil, "--save-path", "2;"+d2, "set", "lvl1", "a", "2")
	if o.code == 0 {
		t.Errorf("wrote through a symlinked level directory")
	}
	o = sesstool(t, nil, "--save-path", "2;"+d2, "ls", "-q")
	if strings.Contains(o.stdout, "lvl1") {
		t.Errorf("listed through a symlinked level directory")
	}
	if got, _ := os.ReadFile(outside + "/sess_lvl1"); string(got) != `a|i:1;` {
		t.Errorf("outside file changed: %q", got)
	}
	if got, _ := os.ReadFile(secret); string(got) != `s|s:6:"secret";` {
		t.Errorf("secret changed: %q", got)
	}
}

// Colour follows CLI.md through the binary: on a terminal (script(1)'s
// pseudo-terminal) yes; never with NO_COLOR non-empty or TERM=dumb, even
// with CLICOLOR_FORCE; CLICOLOR_FORCE=1 forces it into a pipe; -o json is
// never styled.
func TestE2EColor(t *testing.T) {
	const demoID = "s3d7n1g5b9u2qm6ha0vle4kct8"
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) (util-linux) to give sesstool a terminal")
	}
	var base []string
	for _, kv := range cleanEnv() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "CI", "NO_COLOR", "TERM", "CLICOLOR", "CLICOLOR_FORCE", "COLORTERM":
		default:
			base = append(base, kv)
		}
	}
	line := bin + " --etc-root " + t.TempDir() + " --save-path testdata/demo "
	run := func(tty bool, args string, env ...string) string {
		t.Helper()
		var c *exec.Cmd
		if tty {
			c = exec.Command(script, "-qec", line+args, "/dev/null")
		} else {
			c = exec.Command("sh", "-c", line+args)
		}
		c.Env = append(append([]string{}, base...), env...)
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%s (%v): %v", args, env, err)
		}
		return string(out)
	}
	for _, tt := range []struct {
		tty   bool
		args  string
		env   []string
		color bool
	}{
		{true, "ls", []string{"TERM=xterm-256color"}, true},
		{true, "ls", []string{"TERM=xterm-256color", "NO_COLOR="}, true}, // empty: not set
		{true, "ls", []string{"TERM=xterm-256color", "NO_COLOR=1"}, false},
		{true, "ls", []string{"TERM=dumb"}, false},
		{true, "ls", []string{"TERM=dumb", "CLICOLOR_FORCE=1"}, false},
		{true, "ls -o json", []string{"TERM=xterm-256color"}, false},
		{false, "show " + demoID, []string{"TERM=xterm-256color"}, false},
		{false, "show " + demoID, []string{"TERM=xterm-256color", "CLICOLOR_FORCE=1"}, true},
		{false, "show " + demoID, []string{"TERM=xterm-256color", "CLICOLOR_FORCE=1", "NO_COLOR=1"}, false},
	} {
		out := run(tt.tty, tt.args, tt.env...)
		if got := strings.Contains(out, "\x1b["); got != tt.color {
			t.Errorf("tty %v%s %v: colour %v, want %v:\n%q", tt.tty, tt.args, tt.env, got, tt.color, out)
		}
	}
}
