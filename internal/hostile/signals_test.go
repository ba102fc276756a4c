package hostile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// started is a sesstool process running in the background.
type started struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	errb *bytes.Buffer
	done chan error
}

func startTool(t *testing.T, bin string, env []string, args ...string) *started {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	s := &started{cmd: cmd, out: &bytes.Buffer{}, errb: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.out, s.errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return s
}

// wait returns the exit code, or fails the test if the process is still
// running after d.
func (s *started) wait(t *testing.T, d time.Duration, what string) int {
	t.Helper()
	select {
	case err := <-s.done:
		if strings.Contains(s.errb.String(), "panic:") {
			t.Errorf("%s: Go panic: %s", what, s.errb.String())
		}
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		t.Fatalf("%s: %v", what, err)
	case <-time.After(d):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Fatalf("%s: still running %v after the signal; stderr %q", what, d, s.errb.String())
	}
	return -1
}

// TestSignalDuringGC: SIGINT and SIGTERM while gc deletes 20000 expired
// sessions. gc stops between files: the ones left are whole, the summary
// it prints counts exactly the ones that are gone.
func TestSignalDuringGC(t *testing.T) {
	bin := buildTool(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t)
			const n = 20000
			content := []byte(goodSession)
			for i := range n {
				p := filepath.Join(w.save, fmt.Sprintf("sess_g%05d", i))
				if err := os.WriteFile(p, content, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			sp := newSpy(t, w.save)
			s := startTool(t, bin, nil, "--save-path", w.save, "gc", "--maxlifetime", "60", "-o", "json")
			deadline := time.Now().Add(runTimeout)
		wait:
			for time.Now().Before(deadline) {
				for _, ev := range sp.drain() {
					if strings.Contains(ev, "DELETE") {
						break wait
					}
				}
				time.Sleep(200 * time.Microsecond)
			}
			_ = s.cmd.Process.Signal(sig)
			code := s.wait(t, 10*time.Second, "gc after "+sig.String())
			left, whole := 0, 0
			entries, err := os.ReadDir(w.save)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				left++
				b, err := os.ReadFile(filepath.Join(w.save, e.Name()))
				if err == nil && bytes.Equal(b, content) {
					whole++
				}
			}
			if whole != left {
				t.Errorf("after %v: %d of the %d sessions left are not whole", sig, left-whole, left)
			}
			if left == 0 {
				t.Skipf("gc finished all %d before %v arrived: inconclusive", n, sig)
			}
			var sum struct {
				Scanned int `json:"scanned"`
				Deleted int `json:"deleted"`
			}
			if err := json.Unmarshal(s.out.Bytes(), &sum); err != nil {
				t.Errorf("gc stopped by %v printed no JSON summary of what it did (exit %d): %v; stdout %q stderr %q",
					sig, code, err, cut(s.out.String()), cut(s.errb.String()))
			} else if sum.Deleted != n-left {
				t.Errorf("gc stopped by %v: summary says deleted %d, but %d files are gone", sig, sum.Deleted, n-left)
			}
			if code == 0 {
				t.Errorf("gc stopped by %v before finishing exited 0; want a non-zero exit (it did not do all its work)", sig)
			}
			t.Logf("gc stopped by %v: exit %d, %d of %d deleted, stderr %q", sig, code, n-left, n, cut(s.errb.String()))
		})
	}
}

// TestSignalWhileSetWaitsForLock: set waits for a lock held elsewhere (as
// by a PHP request); SIGINT, SIGTERM, SIGQUIT or SIGHUP ends it promptly
// with 128 + the signal (SIGQUIT as SIGTERM: 143, and no Go stack dump,
// which SIGQUIT used to print with exit 2), and the session is exactly as
// it was.
func TestSignalWhileSetWaitsForLock(t *testing.T) {
	bin := buildTool(t)
	want := map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143, syscall.SIGQUIT: 143, syscall.SIGHUP: 129}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t)
			p := filepath.Join(w.save, "sess_locked1")
			w.file(t, p, goodSession)
			before := snapshot(t, w.save)
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			s := startTool(t, bin, nil, "--save-path", w.save, "--lock-timeout", "60s", "set", "locked1", "k", "99")
			time.Sleep(500 * time.Millisecond)
			select {
			case err := <-s.done:
				t.Fatalf("set did not wait for the lock: %v; stderr %q", err, s.errb.String())
			default:
			}
			_ = s.cmd.Process.Signal(sig)
			code := s.wait(t, 5*time.Second, "set waiting for a lock, after "+sig.String())
			if code != want[sig] {
				t.Errorf("set interrupted by %v while waiting for the lock exited %d, want %d", sig, code, want[sig])
			}
			if e := s.errb.String(); strings.Contains(e, "goroutine ") || strings.Count(e, "\n") != 1 || !strings.HasPrefix(e, "sesstool: interrupted by ") {
				t.Errorf("after %v: stderr %q, want one line", sig, cut(e))
			}
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			for _, d := range diffSnapshots(before, snapshot(t, w.save), true) {
				t.Errorf("after %v during set: %s", sig, d)
			}
		})
	}
}

// TestSignalDuringSetWrite: SIGINT, SIGTERM, SIGQUIT and SIGHUP at random
// moments of many set runs that each write a 120 KB value: the session is
// always either the old bytes or the complete new bytes, never a mix or a
// short file (SIGHUP and SIGQUIT used to end the process wherever it was).
func TestSignalDuringSetWrite(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	big := strings.Repeat("x", 120000) // an argument is at most 128 KiB (MAX_ARG_STRLEN)
	// The bytes a completed set writes, from a reference run on a copy.
	ref := filepath.Join(w.root, "ref")
	if err := os.MkdirAll(ref, 0o755); err != nil {
		t.Fatal(err)
	}
	w.file(t, filepath.Join(ref, "sess_big1"), goodSession)
	if r := runTool(bin, runOpts{}, "--save-path", ref, "set", "--string", "big1", "blob", big); r.exit != 0 {
		t.Fatalf("reference set: %s", r)
	}
	want, err := os.ReadFile(filepath.Join(ref, "sess_big1"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(w.save, "sess_big1")
	outcomes := map[string]int{}
	for i := range 80 {
		w.file(t, p, goodSession)
		s := startTool(t, bin, nil, "--save-path", w.save, "set", "--string", "big1", "blob", big)
		time.Sleep(time.Duration(i%20) * time.Millisecond)
		sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP}[i%4]
		_ = s.cmd.Process.Signal(sig)
		code := s.wait(t, 10*time.Second, "set after "+sig.String())
		got, err := os.ReadFile(p)
		switch {
		case err != nil:
			t.Fatalf("run %d: session gone after SIGINT during set (exit %d): %v", i, code, err)
		case string(got) == goodSession:
			outcomes["old"]++
		case bytes.Equal(got, want):
			outcomes["new"]++
			if code != 0 {
				t.Logf("run %d: set wrote the new session but exited %d", i, code)
			}
		default:
			t.Errorf("run %d: SIGINT during set left a half-written session (exit %d): %d bytes, want %d (new) or %d (old)",
				i, code, len(got), len(want), len(goodSession))
		}
	}
	t.Logf("SIGINT during set: outcomes %v", outcomes)
}

// TestSignalDuringEdit: SIGINT or SIGTERM to sesstool while the editor is
// open (and has already changed the text), then the editor dies: nothing
// is written.
func TestSignalDuringEdit(t *testing.T) {
	bin := buildTool(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorld(t)
			p := filepath.Join(w.save, "sess_edit1")
			w.file(t, p, goodSession)
			before := snapshot(t, w.save)
			pidFile := filepath.Join(w.root, "editor.pid")
			editor := filepath.Join(w.root, "slow-editor.sh")
			script := "#!/bin/sh\nprintf '\\nadded = 1\\n' >> \"$1\"\necho $$ > " + pidFile + ".tmp\nmv " + pidFile + ".tmp " + pidFile + "\nexec sleep 30\n"
			if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			s := startTool(t, bin, []string{"EDITOR=" + editor, "VISUAL=", "TMPDIR=" + w.root}, "--save-path", w.save, "edit", "edit1")
			var pid int
			for start := time.Now(); time.Since(start) < runTimeout; time.Sleep(10 * time.Millisecond) {
				if b, err := os.ReadFile(pidFile); err == nil {
					_, _ = fmt.Sscan(string(b), &pid)
					break
				}
			}
			if pid == 0 {
				t.Fatalf("the editor never started; stderr %q", s.errb.String())
			}
			_ = s.cmd.Process.Signal(sig)
			time.Sleep(300 * time.Millisecond)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			code := s.wait(t, 10*time.Second, "edit after "+sig.String())
			if code == 0 {
				t.Errorf("edit exited 0 after %v and a killed editor", sig)
			}
			for _, d := range diffSnapshots(before, snapshot(t, w.save), true) {
				t.Errorf("after %v during edit: %s", sig, d)
			}
			t.Logf("edit after %v then editor killed: exit %d, stderr %q", sig, code, cut(s.errb.String()))
		})
	}
}
