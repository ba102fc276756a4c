package hostile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// goodSession is a valid php-handler session.
const goodSession = `k|i:1;name|s:3:"ann";`

// old is an mtime far in the past, so that a gc following a link would
// find its target expired.
var old = time.Now().Add(-72 * time.Hour)

// world is a scratch tree: DIR/save (the save_path) and DIR/outside (what
// an attacker points at). Everything outside holds expired sessions and a
// secret, so any command that follows a link has something to act on.
type world struct {
	root, save, outside string
}

func newWorld(t *testing.T) world {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("hostile tests run as root (sesstool is run by root beside a PHP site); not root here")
	}
	root := t.TempDir()
	w := world{root: root, save: filepath.Join(root, "save"), outside: filepath.Join(root, "outside")}
	for _, d := range []string{w.save, w.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.file(t, filepath.Join(w.outside, "secret"), "SECRET: root's data, not a session\n")
	w.file(t, filepath.Join(w.outside, "sess_outsider"), goodSession)
	if err := unix.Mkfifo(filepath.Join(w.outside, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// file writes content at p with an old mtime.
func (w world) file(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

func (w world) symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// battery runs every command that reads, lists, changes or deletes, on the
// save_path and on each id, the non-destructive ones first, and reports
// contract problems. It returns the runs (per-id runs keyed by id).
func battery(t *testing.T, bin, savePath, editor string, ids []string, sp *spy, tolerate func(ev string) bool) map[string][]run {
	t.Helper()
	env := []string{"EDITOR=" + editor, "VISUAL=", "TMPDIR=" + t.TempDir()}
	runs := map[string][]run{}
	do := func(key string, oneLine bool, args ...string) {
		r := runTool(bin, runOpts{env: env}, append([]string{"--save-path", savePath, "--lock-timeout", "2s"}, args...)...)
		if p := contractProblem(r, oneLine); p != "" {
			t.Errorf("%s: %s", p, r)
		}
		for _, ev := range sp.drain() {
			if tolerate != nil && tolerate(ev) {
				t.Logf("tolerated: %q: %s", r.args[4:], ev)
				continue
			}
			t.Errorf("outside the save_path touched by %q: %s", r.args, ev)
		}
		runs[key] = append(runs[key], r)
	}
	for _, a := range [][]string{
		{"ls"}, {"ls", "-q"}, {"ls", "-o", "json"}, {"ls", "--check"}, {"ls", "--where", "k=1"},
		{"ls", "--sort", "none"}, {"gc", "--dry-run", "--maxlifetime", "0"},
		{"destroy", "--where", "k=1", "--dry-run"},
	} {
		do("", false, a...)
	}
	for _, id := range ids {
		for _, a := range [][]string{
			{"show", id}, {"show", id, "-o", "raw"}, {"show", id, "-o", "json"}, {"show", id, "--no-lock"},
			{"set", id, "k", "2"}, {"set", id, "k", "3", "--create"}, {"unset", id, "k"}, {"edit", id},
		} {
			do(id, true, a...)
		}
	}
	do("", false, "destroy", "--where", "k=1", "--yes")
	for _, id := range ids {
		do(id, true, "destroy", id)
	}
	do("", false, "gc", "--maxlifetime", "0")
	watchBriefly(t, bin, savePath)
	for _, ev := range sp.drain() {
		t.Errorf("outside the save_path touched by watch: %s", ev)
	}
	return runs
}

// watchBriefly runs watch for a second, then SIGINT: it must start, not
// block and exit 0.
func watchBriefly(t *testing.T, bin, savePath string) {
	t.Helper()
	cmd := exec.Command(bin, "--save-path", savePath, "watch", "-o", "json")
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(time.Second)
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if err != nil || strings.Contains(errb.String(), "panic:") {
			t.Errorf("watch on %s: exit %v after SIGINT (want 0); stderr %q", savePath, err, cut(errb.String()))
		}
	case <-time.After(runTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("watch on %s did not exit within %v of SIGINT (blocked?); stderr %q", savePath, runTimeout, cut(errb.String()))
	}
}

// checkOutside fails the test if anything outside changed.
func checkOutside(t *testing.T, before map[string]entry, w world, withNlink bool) {
	t.Helper()
	for _, d := range diffSnapshots(before, snapshot(t, w.outside), withNlink) {
		t.Errorf("outside the save_path: %s", d)
	}
}

// refused asserts that no run on id succeeded: a symlink, FIFO, device or
// directory is not a session.
func refused(t *testing.T, runs map[string][]run, id string) {
	t.Helper()
	for _, r := range runs[id] {
		if r.exit == 0 {
			t.Errorf("%s succeeded on a hostile entry: %s", r.args[4], r)
		}
	}
}

// TestSymlinkedSessionFiles: sess_* symlinks to a file, a session and a
// FIFO outside, to a directory outside, and dangling. Nothing outside is
// opened; the commands on those ids fail; gc skips them.
func TestSymlinkedSessionFiles(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	w.file(t, filepath.Join(w.save, "sess_good1"), goodSession)
	links := map[string]string{
		"linksecret":  filepath.Join(w.outside, "secret"),
		"linksession": filepath.Join(w.outside, "sess_outsider"),
		"linkfifo":    filepath.Join(w.outside, "fifo"),
		"linkdir":     w.outside,
		"linkrel":     "../outside/sess_outsider",
		"dangling":    filepath.Join(w.outside, "nothing-here"),
	}
	var ids []string
	for id, target := range links {
		w.symlink(t, target, filepath.Join(w.save, "sess_"+id))
		ids = append(ids, id)
	}
	before := snapshot(t, w.outside)
	sp := newSpy(t, w.outside)
	runs := battery(t, bin, w.save, writeEditor(t, w.root), ids, sp, nil)
	checkOutside(t, before, w, true)
	for _, id := range ids {
		refused(t, runs, id)
		if _, err := os.Lstat(filepath.Join(w.outside, strings.TrimPrefix(links[id], w.outside))); err != nil && id != "dangling" {
			t.Errorf("target of %s: %v", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(w.outside, "nothing-here")); err == nil {
		t.Errorf("set --create through the dangling symlink sess_dangling created its target outside the save_path")
	}
	t.Logf("symlink cases tried: %d ids x %d commands", len(ids), len(runs[ids[0]]))
}

// TestLevelSymlinks: in a 2-level layout, a level directory that is a
// symlink to a tree outside (first and second level), holding expired
// sessions. ls/gc/watch do not descend into them; show/set/destroy of ids
// that live there fail; nothing outside is opened.
func TestLevelSymlinks(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	w.file(t, filepath.Join(w.save, "a", "b", "sess_abgood"), goodSession)
	// Level 1: save/c -> outside/ctree, which holds d/sess_cdvictim.
	w.file(t, filepath.Join(w.outside, "ctree", "d", "sess_cdvictim"), goodSession)
	w.symlink(t, filepath.Join(w.outside, "ctree"), filepath.Join(w.save, "c"))
	// Level 2: save/e/f -> outside/ftree, which holds sess_efvictim.
	w.file(t, filepath.Join(w.outside, "ftree", "sess_efvictim"), goodSession)
	w.symlink(t, filepath.Join(w.outside, "ftree"), filepath.Join(w.save, "e", "f"))
	// Level 2, relative: save/g/h -> ../../outside/htree.
	w.file(t, filepath.Join(w.outside, "htree", "sess_ghvictim"), goodSession)
	w.symlink(t, "../../outside/htree", filepath.Join(w.save, "g", "h"))
	// A level that is a FIFO and one that is a symlink to the outside FIFO.
	if err := unix.Mkfifo(filepath.Join(w.save, "i"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.symlink(t, filepath.Join(w.outside, "fifo"), filepath.Join(w.save, "a", "j"))

	ids := []string{"cdvictim", "efvictim", "ghvictim", "ijvictim", "ajvictim"}
	before := snapshot(t, w.outside)
	sp := newSpy(t, w.outside)
	runs := battery(t, bin, "2;"+w.save, writeEditor(t, w.root), ids, sp, nil)
	checkOutside(t, before, w, true)
	for _, id := range ids {
		refused(t, runs, id)
	}
	for _, r := range runs[""] {
		if strings.Contains(r.stdout, "victim") {
			t.Errorf("%q listed a session that lives outside the save_path: %s", r.args, r)
		}
	}
	if _, err := os.Stat(filepath.Join(w.save, "a", "b", "sess_abgood")); err == nil {
		// gc --maxlifetime 0 ran last and the good session is expired.
		t.Errorf("gc --maxlifetime 0 left the expired session a/b/sess_abgood")
	}
}

// TestHardLinkToOutside: sess_hard is a hard link to a file outside. Its
// content is never read or written through the link, whatever the command.
func TestHardLinkToOutside(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	if err := os.Link(filepath.Join(w.outside, "sess_outsider"), filepath.Join(w.save, "sess_hard")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(w.outside, "secret"), filepath.Join(w.save, "sess_hardsecret")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, w.outside)
	sp := newSpy(t, w.outside)
	runs := battery(t, bin, w.save, writeEditor(t, w.root), []string{"hard", "hardsecret"}, sp, openOnly)
	checkOutside(t, before, w, false)
	for _, id := range []string{"hard", "hardsecret"} {
		for _, r := range runs[id] {
			if r.exit == 0 && (r.args[4] == "set" || r.args[4] == "unset" || r.args[4] == "edit" || r.args[4] == "show") {
				t.Errorf("%s succeeded on a file hard-linked to one outside the save_path: %s", r.args[4], r)
			}
		}
	}
}

// openOnly tolerates what opening a hard-linked file to look at it (and
// refuse it) or unlinking the link does to the shared inode: OPEN,
// CLOSE_WRITE without MODIFY (closing an fd opened read-write), ATTRIB (the
// link count). Reads and writes of the content are not tolerated.
func openOnly(ev string) bool {
	for _, bad := range []string{"ACCESS", "MODIFY", "DELETE", "MOVE", "CREATE"} {
		if strings.Contains(ev, bad) {
			return false
		}
	}
	return true
}

// TestSpecialFilesNamedSess: FIFOs, device nodes (/dev/zero, /dev/null),
// a socket-less directory and a directory holding a session, all named
// sess_*. No command blocks or reads a device; none is deleted.
func TestSpecialFilesNamedSess(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	w.file(t, filepath.Join(w.save, "sess_good1"), goodSession)
	if err := unix.Mkfifo(filepath.Join(w.save, "sess_fifo"), 0o666); err != nil {
		t.Fatal(err)
	}
	ids := []string{"fifo", "dir", "dirwithsess"}
	if err := os.Mkdir(filepath.Join(w.save, "sess_dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.file(t, filepath.Join(w.save, "sess_dirwithsess", "sess_inner"), goodSession)
	devices := 0
	for _, d := range []struct {
		id           string
		major, minor uint32
	}{{"zero", 1, 5}, {"null", 1, 3}, {"urandom", 1, 9}} {
		err := unix.Mknod(filepath.Join(w.save, "sess_"+d.id), unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor)))
		if err != nil {
			t.Logf("mknod sess_%s refused here (%v): device-node case not tried", d.id, err)
			continue
		}
		devices++
		ids = append(ids, d.id)
	}
	// Watch the special files themselves: opening a FIFO or device is an
	// event on its inode.
	before := snapshot(t, w.outside)
	sp := newSpy(t, w.outside)
	special := newSpy(t, w.save)
	runs := battery(t, bin, w.save, writeEditor(t, w.root), ids, sp, nil)
	checkOutside(t, before, w, true)
	for _, ev := range special.drain() {
		for _, id := range ids {
			if strings.Contains(ev, "/sess_"+id+" ") && (strings.Contains(ev, "ACCESS") || strings.Contains(ev, "MODIFY")) {
				t.Errorf("a special file was read or written: %s", ev)
			}
		}
	}
	for _, id := range ids {
		refused(t, runs, id)
		if _, err := os.Lstat(filepath.Join(w.save, "sess_"+id)); err != nil {
			t.Errorf("sess_%s (not a regular file) was removed: %v", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(w.save, "sess_dirwithsess", "sess_inner")); err != nil {
		t.Errorf("a session inside a directory named sess_* was touched: %v", err)
	}
	t.Logf("special files tried: fifo, 2 directories, %d device nodes", devices)
}
