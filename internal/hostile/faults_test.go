package hostile

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nobody returns the credential of user nobody, or skips.
func nobody(t *testing.T) (*syscall.Credential, int, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as nobody")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody here (%v): permission-denied case not tried", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, uid, gid
}

// openRoot returns a new directory that every user may enter (a test
// directory under TMPDIR is 0700: nobody could not reach the save_path).
func openRoot(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "sesstool-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestPermissionDeniedLevel: a 1-level layout where one level directory
// is root's 0700 and the rest belong to the user running sesstool
// (nobody, through syscall.Credential: as root, permission bits would not
// stop anything). ls and gc report the directory, go on with the others
// and exit 1.
func TestPermissionDeniedLevel(t *testing.T) {
	bin := buildTool(t)
	cred, uid, gid := nobody(t)
	root := openRoot(t)
	for _, lvl := range []string{"a", "b", "c"} {
		d := filepath.Join(root, lvl)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, "sess_"+lvl+"session1")
		if err := os.WriteFile(p, []byte(goodSession), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if lvl == "b" {
			if err := os.Chmod(d, 0o700); err != nil { // root's, closed to nobody
				t.Fatal(err)
			}
			continue
		}
		for _, x := range []string{d, p} {
			if err := os.Chown(x, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	savePath := "1;" + root
	as := runOpts{cred: cred}

	for _, a := range [][]string{{"ls", "-q"}, {"ls", "-q", "--sort", "none"}, {"ls"}, {"ls", "-o", "json"}, {"ls", "--sort", "none", "-o", "json"}, {"ls", "--check", "--sort", "id"}} {
		r := runTool(bin, as, append([]string{"--save-path", savePath}, a...)...)
		if p := contractProblem(r, false); p != "" {
			t.Errorf("%s: %s", p, r)
		}
		if r.exit != 1 || !strings.Contains(r.stdout, "asession1") || !strings.Contains(r.stdout, "csession1") ||
			!strings.Contains(strings.ToLower(r.stderr), "permission denied") || !strings.Contains(r.stderr, filepath.Join(root, "b")) {
			t.Errorf("%q with level b unreadable: want the other sessions listed, a message naming %s/b with \"permission denied\", exit 1: %s", a, root, r)
		}
	}

	r := runTool(bin, as, "--save-path", savePath, "gc", "--maxlifetime", "60", "-o", "json")
	if p := contractProblem(r, false); p != "" {
		t.Errorf("%s: %s", p, r)
	}
	var sum struct {
		Deleted int `json:"deleted"`
		Errors  int `json:"errors"`
	}
	_ = json.Unmarshal([]byte(r.stdout), &sum)
	if r.exit != 1 || sum.Deleted != 2 || sum.Errors < 1 {
		t.Errorf("gc with level b unreadable: want 2 deleted, errors >= 1, exit 1: %s", r)
	}
	for lvl, want := range map[string]bool{"a": false, "b": true, "c": false} {
		_, err := os.Lstat(filepath.Join(root, lvl, "sess_"+lvl+"session1"))
		if (err == nil) != want {
			t.Errorf("after gc as nobody: sess_%ssession1 exists=%v, want %v", lvl, err == nil, want)
		}
	}
}

// TestFilesVanishAndChangeWhileListing: while ls --check, ls --where, ls
// -o json and gc --dry-run walk a directory of 3000 sessions, another
// goroutine deletes and rewrites (with garbage, or truncates) files. No
// command crashes or hangs; each exits 0 or 1; JSON output still parses.
func TestFilesVanishAndChangeWhileListing(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	const n = 3000
	var paths []string
	for i := range n {
		p := filepath.Join(w.save, fmt.Sprintf("sess_v%05d", i))
		w.file(t, p, goodSession)
		paths = append(paths, p)
	}
	cmds := [][]string{
		{"ls", "--check"}, {"ls", "--where", "k=1", "-o", "json"}, {"ls", "-o", "json"},
		{"ls", "--sort", "size"}, {"gc", "--dry-run", "--maxlifetime", "60"}, {"destroy", "--where", "name=nobody", "--dry-run"},
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := paths[(i*7919)%n]
			switch i % 3 {
			case 0:
				_ = os.Remove(p)
			case 1:
				_ = os.WriteFile(p, []byte("k|i:1;garbage\n"), 0o600)
			case 2:
				_ = os.Truncate(p, 3)
			}
			if i%5 == 0 {
				_ = os.WriteFile(p, []byte(goodSession), 0o600)
			}
		}
	}()
	for _, a := range cmds {
		for range 3 {
			r := runTool(bin, runOpts{}, append([]string{"--save-path", w.save, "--lock-timeout", "1s"}, a...)...)
			if p := contractProblem(r, false); p != "" {
				t.Errorf("%s: %s", p, r)
			}
			if r.exit != 0 && r.exit != 1 {
				t.Errorf("want exit 0 or 1 while files change: %s", r)
			}
			if a[len(a)-1] == "json" && r.exit <= 1 {
				var v []map[string]any
				if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
					t.Errorf("%q -o json output does not parse while files change: %v: %s", a, err, r)
				}
			}
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("vanish/change cases tried: %d commands x 3 runs over %d files", len(cmds), n)
}

// TestSavePathRemovedUnderWatch: watch keeps running or exits with a clear
// one-line message when its save_path is removed; never a panic or hang.
func TestSavePathRemovedUnderWatch(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	w.file(t, filepath.Join(w.save, "a", "sess_aone"), goodSession)
	cmd := exec.Command(bin, "--save-path", "1;"+w.save, "watch", "-o", "json")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(700 * time.Millisecond)
	if err := os.RemoveAll(w.save); err != nil {
		t.Fatal(err)
	}
	var err error
	exited := false
	select {
	case err = <-done:
		exited = true
	case <-time.After(2 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case err = <-done:
		case <-time.After(runTimeout):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("watch did not exit after its save_path was removed and SIGINT; stderr %q", errb.String())
		}
	}
	if strings.Contains(errb.String(), "panic:") {
		t.Fatalf("watch panicked when its save_path was removed: %s", errb.String())
	}
	if exited {
		lines := strings.Split(strings.TrimRight(errb.String(), "\n"), "\n")
		last := lines[len(lines)-1]
		if err == nil || !strings.HasPrefix(last, "sesstool: ") || !strings.Contains(last, w.save) {
			t.Errorf("watch exited on its own (%v) after the save_path was removed: want exit 1 and a last line \"sesstool: ...\" naming %s; stderr %q", err, w.save, errb.String())
		}
	} else if err != nil {
		t.Errorf("watch, still running after its save_path was removed, exited %v on SIGINT (want 0); stderr %q", err, errb.String())
	}
	if !strings.Contains(out.String(), `"deleted"`) {
		t.Logf("watch reported no deleted event for the removed sessions; stdout %q", out.String())
	}
	t.Logf("watch after save_path removal: exited on its own %v, err %v, stderr %q", exited, err, cut(errb.String()))
}

// TestUnreadableSession: one session the user running sesstool (nobody)
// cannot open, beside one it can. ls --check and ls --where flag it with a
// clear message, list the other, and exit 1 at the end; gc deletes the
// other, counts an error and exits 1.
func TestUnreadableSession(t *testing.T) {
	bin := buildTool(t)
	cred, uid, gid := nobody(t)
	root, err := os.MkdirTemp("", "sesstool-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	for _, s := range []struct {
		name, content string
		mine          bool
	}{{"sess_ok1", "k|i:2;", true}, {"sess_closed1", "k|i:2;", false}} {
		p := filepath.Join(root, s.name)
		if err := os.WriteFile(p, []byte(s.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		if s.mine {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chown(root, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, a := range [][]string{{"ls", "--check"}, {"ls", "--where", "k=2"}} {
		r := runTool(bin, runOpts{cred: cred}, append([]string{"--save-path", root}, a...)...)
		if p := contractProblem(r, false); p != "" {
			t.Errorf("%s: %s", p, r)
		}
		if !strings.Contains(r.stdout, "ok1") || !strings.Contains(r.stdout+r.stderr, "closed1") ||
			!strings.Contains(strings.ToLower(r.stdout+r.stderr), "permission denied") {
			t.Errorf("%q with one unreadable session: want ok1 listed and closed1 reported as permission denied: %s", a, r)
		}
		if r.exit != 1 {
			t.Errorf("%q with one unreadable session: want exit 1 at the end (issue 6: the rest of the work goes on, exit 1): %s", a, r)
		}
	}
	r := runTool(bin, runOpts{cred: cred}, "--save-path", root, "gc", "--maxlifetime", "60", "-o", "json")
	var sum struct {
		Deleted int `json:"deleted"`
		Errors  int `json:"errors"`
	}
	_ = json.Unmarshal([]byte(r.stdout), &sum)
	if r.exit != 1 || sum.Deleted != 1 || sum.Errors != 1 {
		t.Errorf("gc with one unreadable session: want 1 deleted, 1 error, exit 1: %s", r)
	}
	if _, err := os.Lstat(filepath.Join(root, "sess_closed1")); err != nil {
		t.Errorf("gc as nobody removed root's unreadable session: %v", err)
	}
}

// TestPermissionDeniedHint: a save_path the user cannot read gets one error
// line with the hint to run as root or as the PHP user, and no "0 sessions"
// summary before it.
func TestPermissionDeniedHint(t *testing.T) {
	bin := buildTool(t)
	cred, _, _ := nobody(t)
	root := openRoot(t)
	sp := filepath.Join(root, "sessions")
	if err := os.Mkdir(sp, 0o700); err != nil { // root's, closed to nobody
		t.Fatal(err)
	}
	for _, a := range [][]string{{"ls"}, {"ls", "--sort", "none"}, {"ls", "-q"}, {"ls", "-o", "json"}, {"ls", "-o", "json", "--sort", "none"}, {"ls", "-o", "jsonl"}} {
		r := runTool(bin, runOpts{cred: cred}, append([]string{"--save-path", sp}, a...)...)
		if r.exit != 1 || r.stdout != "" || !strings.HasSuffix(r.stderr, "permission denied (run as root or as the PHP user)\n") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", a, r.exit, r.stdout, r.stderr)
		}
	}
}
