package cmd

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// expectKind takes the next event and checks its kind and id only (the
// size of a session seen locked depends on when watch looked).
func (r *coreRun) expectKind(kind, id string) sessionEvent {
	r.t.Helper()
	ev := r.next()
	if ev.Event != kind || ev.ID != id {
		r.t.Fatalf("got event %s %s size %d, want %s %s", ev.Event, ev.ID, ev.Size, kind, id)
	}
	return ev
}

// expectFinal takes a created (or modified) event for id and, if its size
// is not size yet (watch read the file between its creation and its
// write), the modified events after it until one has that size.
func (r *coreRun) expectFinal(kind, id string, size int64) {
	r.t.Helper()
	ev := r.expectKind(kind, id)
	for ev.Size != size {
		ev = r.expectKind(evModified, id)
	}
}

// expectQuiet writes a sentinel session and checks that its creation is
// the next event: nothing else was reported before it.
func (r *coreRun) expectQuiet(dir, name string) {
	r.t.Helper()
	watchWriteFile(r.t, filepath.Join(dir, "sess_"+name), "s")
	r.expect(evCreated, name, 1)
	select {
	case ev := <-r.events:
		r.t.Fatalf("unexpected event %+v", ev)
	default:
	}
}

// lockedCreate creates path and holds LOCK_EX on it, as a PHP request does
// from session_start() on; the caller closes the file.
func lockedCreate(t *testing.T, path, data string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(data), 0); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return f
}

// A session destroyed and written again at once under the same id (PHP
// with the old cookie, within one coalescing window) is a deletion and a
// creation, not a modification.
func TestWatchCoreUnlinkRecreate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sess_again1")
	watchWriteFile(t, p, "a|i:1;")
	r := startCore(t, watchConfig{Dir: dir})
	for i := range 5 {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		watchWriteFile(t, p, "b|i:22;")
		r.expectKind(evDeleted, "again1")
		r.expectFinal(evCreated, "again1", 7)
		// Still followed afterwards.
		watchWriteFile(t, p, "b|i:333;")
		r.expect(evModified, "again1", 8)
		if i == 0 {
			r.expectQuiet(dir, "quiet0")
		}
	}
}

// The same, forced into one burst: the old file is locked by a request
// while it is unlinked and a new one takes its name, so watch cannot read
// before both happened. The old file stays open, so the new one cannot
// reuse its inode.
func TestWatchCoreReplacedWhileLocked(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sess_swap1")
	watchWriteFile(t, p, "a|i:1;")
	r := startCore(t, watchConfig{Dir: dir})
	watchWriteFile(t, p, "a|i:2;")
	r.expect(evModified, "swap1", 6) // watch has read this file once

	old := lockedCreate(t, p, "a|i:3;") // a write under the lock: a burst opens
	defer old.Close()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(t.TempDir(), "new")
	watchWriteFile(t, stage, "c|s:3:\"new\";")
	if err := os.Rename(stage, p); err != nil { // appears whole
		t.Fatal(err)
	}
	r.expect(evDeleted, "swap1", 0)
	r.expect(evCreated, "swap1", 12)
	old.Close()
	r.expectQuiet(dir, "quiet1")
	watchWriteFile(t, p, "c|i:4;")
	r.expect(evModified, "swap1", 6)
}

// A session that existed before watch started and is deleted: exactly one
// deleted, nothing else.
func TestWatchCorePreexistingDeleted(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sess_old1")
	watchWriteFile(t, p, "a|i:1;")
	r := startCore(t, watchConfig{Dir: dir})
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	r.expect(evDeleted, "old1", 0)
	r.expectQuiet(dir, "quiet1")
}

// A session deleted by gc, created again by a request that holds its lock
// until it is destroyed, then created again: every step is reported and
// the id is still followed at the end.
func TestWatchCoreFollowsAfterDeletion(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sess_gc1")
	watchWriteFile(t, p, "a|i:1;")
	r := startCore(t, watchConfig{Dir: dir})

	if err := os.Remove(p); err != nil { // gc
		t.Fatal(err)
	}
	r.expect(evDeleted, "gc1", 0)
	watchWriteFile(t, p, "a|i:2;")
	r.expect(evCreated, "gc1", 6)
	watchWriteFile(t, p, "a|i:30;")
	r.expect(evModified, "gc1", 7)
	if err := os.Remove(p); err != nil { // gc again
		t.Fatal(err)
	}
	r.expect(evDeleted, "gc1", 0)

	// A request creates it and holds the lock; the sentinel proves watch
	// took the creation while the file was there. Then the request ends
	// and the session is destroyed before watch could read it.
	f := lockedCreate(t, p, "b|i:1;")
	r.expectQuiet(dir, "quiet1")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r.expectKind(evCreated, "gc1")
	r.expect(evDeleted, "gc1", 0)

	watchWriteFile(t, p, "c|i:1;")
	r.expect(evCreated, "gc1", 6)
	watchWriteFile(t, p, "c|i:22;")
	r.expect(evModified, "gc1", 7)
	r.expectQuiet(dir, "quiet2")
}

// A directory or a symlink created under a session name is not reported:
// the lstat of its Create event says it is no session file. (Its removal
// would be a deleted: once it is gone, watch cannot tell it from a session
// that existed before watch started.)
func TestWatchCoreNonFilesNotCreated(t *testing.T) {
	dir := t.TempDir()
	r := startCore(t, watchConfig{Dir: dir})
	if err := os.Mkdir(filepath.Join(dir, "sess_dir1"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(dir, "sess_link1")); err != nil {
		t.Fatal(err)
	}
	r.expectQuiet(dir, "quiet1")
}
