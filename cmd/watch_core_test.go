package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// watchWait bounds every wait for something watch should do. It is a safety
// net against hangs, never a speed assertion.
const watchWait = 20 * time.Second

// coreRun is a runWatch running in the background for a test.
type coreRun struct {
	t      *testing.T
	events chan sessionEvent
	snap   chan snapshot
	warns  chan string
	done   chan error
	cancel context.CancelFunc
}

// startCore runs runWatch on cfg (Emit, Snap, Warn are set here) and waits
// for its start-up snapshot, so that every watch is in place.
func startCore(t *testing.T, cfg watchConfig) *coreRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &coreRun{
		t:      t,
		events: make(chan sessionEvent, 10000),
		snap:   make(chan snapshot, 1),
		warns:  make(chan string, 100),
		done:   make(chan error, 1),
		cancel: cancel,
	}
	cfg.Emit = func(ev sessionEvent) error { r.events <- ev; return nil }
	cfg.Snap = func(s snapshot) { r.snap <- s }
	cfg.Warn = func(m string) { r.warns <- m }
	go func() { r.done <- runWatch(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(watchWait):
			t.Errorf("runWatch did not stop after cancel")
		}
	})
	select {
	case <-r.snap:
	case err := <-r.done:
		t.Fatalf("runWatch ended before its snapshot: %v", err)
	case <-time.After(watchWait):
		t.Fatalf("no snapshot within %v", watchWait)
	}
	return r
}

// next returns the next event, failing the test if none comes.
func (r *coreRun) next() sessionEvent {
	r.t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case err := <-r.done:
		r.t.Fatalf("runWatch ended: %v", err)
	case <-time.After(watchWait):
		r.t.Fatalf("no event within %v", watchWait)
	}
	return sessionEvent{}
}

// expect takes the next event and checks its kind, id and size.
func (r *coreRun) expect(kind, id string, size int64) sessionEvent {
	r.t.Helper()
	ev := r.next()
	if ev.Event != kind || ev.ID != id || ev.Size != size {
		r.t.Fatalf("got event %s %s size %d, want %s %s size %d", ev.Event, ev.ID, ev.Size, kind, id, size)
	}
	return ev
}

// watchWriteFile writes a session file in place (as PHP does: no rename).
func watchWriteFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(data), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

func TestWatchCoreCreateModifyDelete(t *testing.T) {
	dir := t.TempDir()
	// A session that exists before start counts in the snapshot only.
	watchWriteFile(t, filepath.Join(dir, "sess_old1"), "a|i:1;")
	r := startCore(t, watchConfig{Dir: dir})

	p := filepath.Join(dir, "sess_abc123")
	watchWriteFile(t, p, "a|i:1;")
	r.expect(evCreated, "abc123", 6)
	watchWriteFile(t, p, "a|i:12;")
	r.expect(evModified, "abc123", 7)
	watchWriteFile(t, filepath.Join(dir, "sess_old1"), "")
	r.expect(evModified, "old1", 0)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	ev := r.expect(evDeleted, "abc123", 0)
	if ev.Path != p {
		t.Errorf("path %q, want %q", ev.Path, p)
	}
	// Things watch does not follow: other names, bad ids, directories.
	watchWriteFile(t, filepath.Join(dir, "notes.txt"), "x")
	watchWriteFile(t, filepath.Join(dir, "sess_bad.id"), "x")
	if err := os.Mkdir(filepath.Join(dir, "sess_dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A sentinel: every event before it has been delivered when it shows.
	watchWriteFile(t, filepath.Join(dir, "sess_sentinel"), "")
	r.expect(evCreated, "sentinel", 0)
	select {
	case ev := <-r.events:
		t.Errorf("unexpected event %+v", ev)
	default:
	}
}

func TestWatchCoreWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	r := startCore(t, watchConfig{Dir: dir})
	p := filepath.Join(dir, "sess_locked1")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("user|i:42;"), 0); err != nil {
		t.Fatal(err)
	}
	// While the lock is held nothing about locked1 may be reported; the
	// sentinel proves the loop is not blocked by it.
	watchWriteFile(t, filepath.Join(dir, "sess_sentinel"), "x")
	r.expect(evCreated, "sentinel", 1)
	select {
	case ev := <-r.events:
		t.Fatalf("event while the session was locked: %+v", ev)
	default:
	}
	if _, err := f.WriteAt([]byte("user|i:43;"), 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	// One event, with the state after the lock was released.
	r.expect(evCreated, "locked1", 10)
	watchWriteFile(t, filepath.Join(dir, "sess_sentinel"), "xy")
	r.expect(evModified, "sentinel", 2)
}

func TestWatchCoreLevelsCreatedLater(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "sp")
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	watchWriteFile(t, filepath.Join(dir, "a", "b", "sess_ab0001"), "x|i:1;")
	r := startCore(t, watchConfig{Dir: dir, Depth: 2})

	// A level directory that appears with its subdirectory and a session
	// already inside (moved in whole, so it is certainly there before the
	// watch on it exists).
	stage := filepath.Join(base, "stage")
	if err := os.MkdirAll(filepath.Join(stage, "c", "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	watchWriteFile(t, filepath.Join(stage, "c", "d", "sess_cd0001"), "y|i:2;")
	if err := os.Rename(filepath.Join(stage, "c"), filepath.Join(dir, "c")); err != nil {
		t.Fatal(err)
	}
	r.expect(evCreated, "cd0001", 6)

	// mkdir -p then a session right away.
	if err := os.MkdirAll(filepath.Join(dir, "e", "f"), 0o700); err != nil {
		t.Fatal(err)
	}
	watchWriteFile(t, filepath.Join(dir, "e", "f", "sess_ef0001"), "z|i:3;")
	r.expect(evCreated, "ef0001", 6)

	// The new levels are watched: changes inside them are seen.
	watchWriteFile(t, filepath.Join(dir, "c", "d", "sess_cd0001"), "y|i:22;")
	r.expect(evModified, "cd0001", 7)
	watchWriteFile(t, filepath.Join(dir, "a", "b", "sess_ab0001"), "")
	r.expect(evModified, "ab0001", 0)
	// A session file at the wrong level, or in the wrong directory, is not
	// one PHP would read: ignored.
	watchWriteFile(t, filepath.Join(dir, "sess_ab0002"), "")
	watchWriteFile(t, filepath.Join(dir, "a", "b", "sess_cd0002"), "")
	watchWriteFile(t, filepath.Join(dir, "e", "f", "sess_ef0002"), "")
	r.expect(evCreated, "ef0002", 0)
}

func TestWatchCoreFollowsOneID(t *testing.T) {
	dir := t.TempDir()
	r := startCore(t, watchConfig{Dir: dir, ID: "want1"})
	watchWriteFile(t, filepath.Join(dir, "sess_other1"), "a")
	watchWriteFile(t, filepath.Join(dir, "sess_want1"), "ab")
	r.expect(evCreated, "want1", 2)
	watchWriteFile(t, filepath.Join(dir, "sess_other1"), "abc")
	watchWriteFile(t, filepath.Join(dir, "sess_want1"), "abcd")
	r.expect(evModified, "want1", 4)
}

func TestWatchCoreSavePathRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sp")
	if err := os.MkdirAll(filepath.Join(dir, "a"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := startCore(t, watchConfig{Dir: dir, Depth: 1})
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		if !errors.Is(err, errSavePathGone) {
			t.Fatalf("runWatch: %v, want errSavePathGone", err)
		}
		r.done <- err // for the cleanup
	case <-time.After(watchWait):
		t.Fatalf("runWatch still running %v after its save_path was removed", watchWait)
	}
}

func TestWatchCoreMissingSavePath(t *testing.T) {
	err := runWatch(context.Background(), watchConfig{Dir: filepath.Join(t.TempDir(), "nope")})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("runWatch on a missing dir: %v", err)
	}
}

func TestWatchCoreInotifyLimits(t *testing.T) {
	tests := []struct {
		name     string
		errno    error
		existing int  // level dirs present at start
		later    bool // the limit is hit on a directory created later
		want     string
	}{
		{"watches at start", unix.ENOSPC, 3, false, "fs.inotify.max_user_watches"},
		{"watches later", unix.ENOSPC, 0, true, "fs.inotify.max_user_watches"},
		{"instances", unix.EMFILE, 3, false, "fs.inotify.max_user_instances"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i := range tt.existing {
				if err := os.Mkdir(filepath.Join(dir, string(rune('a'+i))), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			var mu sync.Mutex
			n := 0
			cfg := watchConfig{Dir: dir, Depth: 1}
			cfg.addWatch = func(d string, add func(string) error) error {
				mu.Lock()
				defer mu.Unlock()
				n++
				if n > 2 { // the root and one level directory fit
					return tt.errno
				}
				return add(d)
			}
			errc := make(chan error, 1)
			go func() {
				errc <- runWatch(context.Background(), watchNoOutput(cfg))
			}()
			if tt.later {
				for _, d := range []string{"x", "y"} {
					if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
						t.Fatal(err)
					}
				}
			}
			select {
			case err := <-errc:
				if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %q, want one line naming %s", err, tt.want)
				}
				if ExitCode(err) != ExitFailure {
					t.Errorf("exit code %d, want %d", ExitCode(err), ExitFailure)
				}
			case <-time.After(watchWait):
				t.Fatalf("runWatch did not fail within %v", watchWait)
			}
		})
	}
}

// watchNoOutput fills the callbacks of cfg with ones that discard.
func watchNoOutput(cfg watchConfig) watchConfig {
	cfg.Emit = func(sessionEvent) error { return nil }
	cfg.Snap = func(snapshot) {}
	cfg.Warn = func(string) {}
	return cfg
}

func TestWatchSnapshot(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/b/sess_ab1", "a/b/sess_ab22", "c/d/sess_cd333", "sess_top", "a/b/junk"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		watchWriteFile(t, full, strings.Repeat("x", len(p)))
	}
	fs, err := sessfile.Open(sessfile.SavePath{Dir: dir, Depth: 2}, sessfile.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	s := countSessions(t.Context(), fs)
	if s.Err != nil || s.Sessions != 3 || s.Bytes != int64(len("a/b/sess_ab1")+len("a/b/sess_ab22")+len("c/d/sess_cd333")) {
		t.Errorf("snapshot %+v", s)
	}
}

// TestWatchCoreLatency logs how long a change takes to be reported (the
// coalescing window plus the read). It asserts only that every change is
// reported, once: timing on a shared machine is not a test outcome.
func TestWatchCoreLatency(t *testing.T) {
	dir := t.TempDir()
	r := startCore(t, watchConfig{Dir: dir})
	var lat []time.Duration
	for i := range 50 {
		id := fmt.Sprintf("lat%03d", i)
		start := time.Now()
		watchWriteFile(t, filepath.Join(dir, "sess_"+id), "a|i:1;")
		r.expect(evCreated, id, 6)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("write-to-report latency over %d changes: min %v, median %v, p90 %v, max %v (window %v)",
		len(lat), lat[0], lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1], sessfile.CoalesceWindow)
}

// TestWatchDecodeIDBaseline: with --decode --id, watch reads the session
// when it starts, so its very first change is reported key by key.
func TestWatchDecodeIDBaseline(t *testing.T) {
	dir := t.TempDir()
	for _, depth := range []int{0, 2} {
		root := filepath.Join(dir, fmt.Sprint(depth))
		id := "abcdef1"
		sdir := root
		if depth == 2 {
			sdir = filepath.Join(root, "a", "b")
		}
		if err := os.MkdirAll(sdir, 0o700); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(sdir, "sess_"+id)
		watchWriteFile(t, p, `a|i:1;b|i:2;`)
		decode := func(b []byte) (*phpser.Session, error) { return phpser.DecodeSession(b, phpser.HandlerPHP) }
		r := startCore(t, watchConfig{Dir: root, Depth: depth, ID: id, Decode: true, DecodeFn: decode, Now: time.Now})
		watchWriteFile(t, p, `a|i:5;b|i:2;c|i:3;`)
		ev := r.next()
		if ev.Event != evModified || !ev.HasBaseline || len(ev.Changes) != 2 {
			t.Fatalf("depth %d: first event %+v: want a modification with its 2 changes", depth, ev)
		}
	}
}
