package cmd

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the unprivileged uid the permission test runs gc as: root
// reads every directory whatever its mode, so an unreadable level
// directory can only be shown to a process that is not root.
const nobody = 65534

// TestGCHelperProcess is not a test: it is the child of
// TestGCUnreadableLevelDir, running gc with the arguments in its
// environment and exiting with gc's status.
func TestGCHelperProcess(t *testing.T) {
	if os.Getenv("SESSTOOL_GC_HELPER") != "1" {
		return
	}
	args := strings.Split(os.Getenv("SESSTOOL_GC_ARGS"), "\n")
	out, errOut, code := gcRunCmd(t, nil, args...)
	os.Stdout.WriteString(out)
	os.Stderr.WriteString(errOut)
	os.Exit(code)
}

// A level directory that cannot be read is an error (one line on stderr,
// exit 1); the rest of the save_path is still swept, and a file gc may not
// open is an error too.
func TestGCUnreadableLevelDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run gc as another user (uid 65534)")
	}
	base, err := os.MkdirTemp("", "gcperm")
	mustDo(t, err)
	t.Cleanup(func() { os.Chmod(filepath.Join(base, "sp", "a"), 0o755); os.RemoveAll(base) })
	mustDo(t, os.Chmod(base, 0o755))
	sp := filepath.Join(base, "sp")
	sessFile(t, levelPath(sp, 1, "a1"), 3, 2*time.Hour)
	sessFile(t, levelPath(sp, 1, "b1"), 4, 2*time.Hour)
	sessFile(t, levelPath(sp, 1, "b2"), 5, time.Minute)
	mustDo(t, filepath.Walk(sp, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}))
	mustDo(t, os.Chmod(filepath.Join(sp, "a"), 0o000))

	// The test binary may sit in a directory nobody cannot enter.
	self, err := os.Executable()
	mustDo(t, err)
	bin := filepath.Join(base, "gc.test")
	copyFile(t, self, bin)

	// The child's own temporary directories go under base (it exits
	// without running its cleanups).
	tmp := filepath.Join(base, "tmp")
	mustDo(t, os.Mkdir(tmp, 0o700))
	mustDo(t, os.Lchown(tmp, nobody, nobody))

	c := exec.Command(bin, "-test.run=^TestGCHelperProcess$")
	c.Dir = base
	c.Env = append(os.Environ(), "SESSTOOL_GC_HELPER=1", "HOME="+base, "TMPDIR="+tmp,
		"SESSTOOL_GC_ARGS="+strings.Join([]string{"gc", "--save-path", "1;" + sp, "-o", "json"}, "\n"))
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err = c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (stdout %q, stderr %q)", code, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "sesstool: ") || !strings.Contains(lines[0], filepath.Join(sp, "a")) || !strings.Contains(lines[0], "permission denied") {
		t.Errorf("stderr: %q", errb.String())
	}
	doc := decodeGCJSON(t, strings.TrimSuffix(out.String(), "PASS\n"))
	if doc.Errors != 1 || doc.Deleted != 1 || doc.Scanned != 2 {
		t.Errorf("reported %+v", doc)
	}
	if exists(levelPath(sp, 1, "b1")) || !exists(levelPath(sp, 1, "b2")) {
		t.Error("the readable level was not swept as it should be")
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	mustDo(t, err)
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	mustDo(t, err)
	_, err = io.Copy(out, in)
	mustDo(t, err)
	mustDo(t, out.Close())
}
