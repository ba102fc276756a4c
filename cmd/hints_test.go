package cmd

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A save_path whose sessions sit in level directories --save-path did not
// name gets a hint with the N they show; a save_path with sessions at the
// top, or without level directories, gets none.
func TestHintLevelDirectories(t *testing.T) {
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b")
	mustDo(t, os.MkdirAll(deep, 0o755))
	mustDo(t, os.Mkdir(filepath.Join(dir, "c"), 0o755))
	putSess(t, deep, "abxyz", "a|i:1;", time.Minute)
	for _, args := range [][]string{{"ls"}, {"ls", "-q"}, {"ls", "-o", "json"}, {"ls", "--sort", "size"}} {
		r := runCLI(t, append([]string{"--save-path", dir}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d (%v)", args, r.code, r.err)
		}
		want := "sesstool: hint: no sess_* files in " + dir + ", but one-character level directories: did you mean --save-path '2;" + dir + "'?\n"
		if r.errOut != want {
			t.Errorf("%v: stderr %q, want %q", args, r.errOut, want)
		}
	}
	if r := runCLI(t, "--save-path", "2;"+dir, "ls", "-q"); r.code != 0 || r.errOut != "" || r.out != "abxyz\n" {
		t.Errorf("2;DIR: exit %d, out %q, stderr %q", r.code, r.out, r.errOut)
	}
	plain := t.TempDir()
	mustDo(t, os.Mkdir(filepath.Join(plain, "x"), 0o755))
	if r := runCLI(t, "--save-path", plain, "ls"); r.errOut != "" {
		t.Errorf("empty save_path with a directory that holds nothing: stderr %q", r.errOut)
	}
}

// "--save-path 2;/dir" unquoted reaches sesstool as "2": the error says so.
// Permission denied to a user who is not root says who can read it (with
// no summary before it: internal/hostile TestPermissionDeniedHint).
func TestHintErrors(t *testing.T) {
	r := runCLI(t, "--save-path", "2", "ls")
	wantErrLine(t, r, 1, "did you quote N;DIR?")

	// Permission denied through the binary as nobody: internal/hostile
	// TestPermissionDeniedHint. Here, the hint follows the user's id.
	old := geteuid
	t.Cleanup(func() { geteuid = old })
	denied := fmt.Errorf("listing /x: %w", &fs.PathError{Op: "open save_path", Path: "/x", Err: syscall.EACCES})
	geteuid = func() int { return 1000 }
	if got := ErrorLine(denied); got != "listing /x: open save_path /x: permission denied (run as root or as the PHP user)" {
		t.Errorf("as uid 1000: %q", got)
	}
	geteuid = func() int { return 0 }
	if got := ErrorLine(denied); strings.Contains(got, "run as root") {
		t.Errorf("as root: %q", got)
	}
}

// gc --all with SESSTOOL_SAVE_PATH set names the variable, not a flag that
// was never given.
func TestHintGCAllEnv(t *testing.T) {
	r := runCLIEnv(t, "", map[string]string{"SESSTOOL_SAVE_PATH": "/var/lib/php/sessions"}, "gc", "--all")
	wantErrLine(t, r, 2, `SESSTOOL_SAVE_PATH is set ("/var/lib/php/sessions")`)
	r = runCLI(t, "--save-path", "/x", "gc", "--all")
	wantErrLine(t, r, 2, "--save-path cannot be used with --all")
}
