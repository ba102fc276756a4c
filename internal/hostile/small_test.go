package hostile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// TestNoLockReadOfARewrittenSession: PHP truncates a session before it
// writes it, so a --no-lock read during a write sees 0 bytes; show used
// to print {} with exit 0 (266 of 300 reads). Now it looks again, and when
// the session stays empty it says it may be mid-write.
func TestNoLockReadOfARewrittenSession(t *testing.T) {
	phptest.PHP(t)
	bin := buildTool(t)
	dir := t.TempDir()
	const id = "nolock1"
	if err := os.WriteFile(filepath.Join(dir, "sess_"+id), []byte(`n|i:0;pad|s:20:"xxxxxxxxxxxxxxxxxxxx";`), 0o600); err != nil {
		t.Fatal(err)
	}
	loop := phptest.Start(t, `<?php
echo "started\n";
for ($i = 0; ; $i++) {
    session_id('`+id+`');
    session_start();
    $_SESSION['n'] = $i % 2 ? $i : 'x' . $i; // the length changes: PHP truncates
    usleep(300);
    session_write_close();
}`, phptest.SessionINI(dir, "php")...)
	loop.WaitLine("started")
	silentEmpty, warned, fine := 0, 0, 0
	for range 100 {
		r := runTool(bin, runOpts{}, "--save-path", dir, "--no-lock", "show", id, "-o", "json")
		switch {
		case strings.TrimSpace(r.stdout) == "{}" && !strings.Contains(r.stderr, "may be in the middle of a write"):
			silentEmpty++
		case strings.Contains(r.stderr, "may be"):
			warned++
		default:
			fine++
		}
	}
	t.Logf("--no-lock show during PHP rewrites: %d read whole or flagged corrupt, %d warned, %d silently empty", fine, warned, silentEmpty)
	if silentEmpty > 0 {
		t.Errorf("%d of 100 --no-lock reads printed an empty session without a word", silentEmpty)
	}
}

// TestWatchEscapesTheSavePath: a save_path whose name holds a newline and
// an escape sequence reaches stderr escaped, on one line.
func TestWatchEscapesTheSavePath(t *testing.T) {
	bin := buildTool(t)
	dir := filepath.Join(t.TempDir(), "odd\n\x1b[31mred")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// stderr goes to a file, which this test may read while watch runs.
	errFile := filepath.Join(t.TempDir(), "stderr")
	ef, err := os.Create(errFile)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	cmd := exec.Command(bin, "--save-path", dir, "watch")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.Stderr = ef
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(runTimeout)
	for time.Now().Before(deadline) {
		if b, _ := os.ReadFile(errFile); strings.Contains(string(b), "watching") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("watch after SIGINT: %v", err)
	}
	b, _ := os.ReadFile(errFile)
	e := string(b)
	if strings.ContainsRune(e, '\x1b') || strings.Count(e, "\n") != 1 || !strings.Contains(e, `\x1b[31mred`) {
		t.Errorf("watch's stderr is not one escaped line: %q", e)
	}
}

// TestDestroyOnReadOnlyFS: the unlink fails, and the message says so
// (it used to blame "open").
func TestDestroyOnReadOnlyFS(t *testing.T) {
	mnt := mountFS(t, "tmpfs")
	bin := buildTool(t)
	if err := os.WriteFile(filepath.Join(mnt, "sess_ro1"), []byte(`a|i:1;`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v: %s", err, out)
	}
	r := runTool(bin, runOpts{}, "--save-path", mnt, "destroy", "ro1")
	if r.exit != 1 || !strings.Contains(r.stderr, "remove") || !strings.Contains(r.stderr, "read-only") || strings.Contains(r.stderr, "open ") {
		t.Errorf("destroy on a read-only file system: %v", r)
	}
	if _, err := os.Stat(filepath.Join(mnt, "sess_ro1")); err != nil {
		t.Errorf("the session is gone: %v", err)
	}
}

// TestCreateOnFullDisk: set --create that cannot write its new session
// says so (it used to say "old content restored") and leaves no file.
func TestCreateOnFullDisk(t *testing.T) {
	mnt := mountFS(t, "tmpfs")
	bin := buildTool(t)
	fillTo(t, mnt, 0)
	r := runTool(bin, runOpts{}, "--save-path", mnt, "set", "--create", "new1", "--string", "blob", strings.Repeat("z", 100000))
	if r.exit != 1 || strings.Contains(r.stderr, "old content") || !strings.Contains(r.stderr, "not created") {
		t.Errorf("set --create on a full disk: %v", r)
	}
	if _, err := os.Lstat(filepath.Join(mnt, "sess_new1")); err == nil {
		t.Errorf("a failed create left sess_new1 behind")
	}
}

// TestEditTextIsPrivate: the text edit writes for the editor is 0600 in a
// 0700 directory of its own, and both are gone when edit ends, also after
// SIGTERM (a plaintext copy of the session used to stay in $TMPDIR).
func TestEditTextIsPrivate(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	w.file(t, filepath.Join(w.save, "sess_priv1"), goodSession)
	tmp := filepath.Join(w.root, "tmp")
	if err := os.Mkdir(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(w.root, "modes")
	editor := filepath.Join(w.root, "editor.sh")
	script := "#!/bin/sh\nstat -c '%a' \"$(dirname \"$1\")\" \"$1\" > " + report + ".tmp\nmv " + report + ".tmp " + report + "\nexec sleep 30\n"
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startTool(t, bin, []string{"EDITOR=" + editor, "VISUAL=", "TMPDIR=" + tmp}, "--save-path", w.save, "edit", "priv1")
	var modes string
	for start := time.Now(); time.Since(start) < runTimeout; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(report); err == nil {
			modes = string(b)
			break
		}
	}
	if strings.Fields(modes) == nil || strings.Join(strings.Fields(modes), " ") != "700 600" {
		t.Errorf("directory and text modes %q, want 700 600", modes)
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	code := s.wait(t, 40*time.Second, "edit after SIGTERM")
	if code != 143 {
		t.Errorf("edit after SIGTERM exited %d, want 143", code)
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}
