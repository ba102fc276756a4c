package sessfile

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/store"
)

// Timing of the watcher (CoalesceWindow exported for what watch's help
// and tests say about it). A burst of events for one session is gathered for
// CoalesceWindow after its first event, then the session is read once; a
// session locked by a running request is tried again after retryMin,
// backing off to retryMax, so that its change is reported at most retryMax
// after the lock is released.
const (
	CoalesceWindow = 40 * time.Millisecond
	retryMin       = 5 * time.Millisecond
	retryMax       = 40 * time.Millisecond
	// watchEventBuffer is the length of fsnotify's event channel: room for
	// a burst while the loop reads a session.
	watchEventBuffer = 4096
)

// pending is a session with events waiting to be read and reported: one
// burst. The read at its end says what the session is now; what the burst
// saw on the way (removals, a file that existed for a while) says what
// happened in between, so that coalescing never folds away a deletion.
type pending struct {
	path    string
	existed bool // the file existed (as far as watch knows) when the burst began
	due     time.Time
	backoff time.Duration // >0 while waiting for a lock

	// removes counts the Remove and Rename events for the name: each one
	// is a file that was there and is gone. wrote is set by a Write event.
	removes int
	wrote   bool
	// sawFile is set when a regular file was seen under the name during
	// the burst (found by lstat on its Create event, or found locked): a
	// burst that began with a creation then reports it even if the file is
	// gone before it could be read.
	sawFile bool
	// firstKey is the file found by the first attempt to read it that
	// found it locked, lockedSize its size at the last such attempt.
	firstKey   fileKey
	lockedSize int64
}

// fileRecord is what watch remembers about a session file it has read and
// reported as existing, until it reports it deleted: which file it was, to
// tell a replaced file from a modified one.
type fileRecord struct {
	key fileKey
	// lateRemoves counts the replacements told from a changed inode
	// before the Remove event of the old file was taken: those events,
	// when they come (inotify keeps them in order, so before any later
	// event for the name), are not more deletions.
	lateRemoves int
}

// queued is one entry of the due-time queue.
type queued struct {
	id  string
	due time.Time
}

// dueQueue is a min-heap of queued by due time (container/heap).
type dueQueue struct{ items []queued }

func (q dueQueue) Len() int           { return len(q.items) }
func (q dueQueue) Less(i, j int) bool { return q.items[i].due.Before(q.items[j].due) }
func (q dueQueue) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *dueQueue) Push(x any)        { q.items = append(q.items, x.(queued)) }
func (q *dueQueue) Pop() any {
	n := len(q.items) - 1
	it := q.items[n]
	q.items = q.items[:n]
	return it
}

// watcher follows one save_path. All its state is owned by the loop
// goroutine.
type watcher struct {
	ctx    context.Context
	out    chan<- store.Event
	tree   watchTree
	fsw    *fsnotify.Watcher
	ids    map[string]bool // only these sessions (nil: all)
	noLock bool
	now    func() time.Time
	add    func(dir string) error

	pending map[string]*pending
	queue   dueQueue // when to look at each pending session

	// files holds every session read and reported as existing, until it is
	// reported deleted: memory grows with the sessions that change, never
	// with the sessions on disk.
	files map[string]fileRecord
	nDirs int
	// rootKey is the save_path directory watched; another one (or none)
	// under its name means it was removed or replaced.
	rootKey fileKey
	// readErrs counts sessions that could not be read (permissions, I/O);
	// only the first maxReadWarnings are warned about.
	readErrs int
}

// maxReadWarnings bounds the warnings about unreadable sessions, so that a
// busy save_path watch cannot read does not flood stderr.
const maxReadWarnings = 10

// ErrSavePathGone is the fatal condition of Watch when the save_path
// directory is removed or replaced.
var ErrSavePathGone = errors.New("save_path disappeared")

// Watch follows the save_path (every level of an N; layout, level
// directories made later included) with inotify and sends an event for each
// session created, modified or deleted: a burst of writes to one session is
// one event, read once under a non-blocking LOCK_SH (unless the store was
// opened with NoLock); a session a running request holds locked is tried
// again, backing off to 40 ms, and reported once the request lets it go. A
// session replaced by another file is reported deleted then created.
// Every event carries the session's bytes (files larger than 64 MiB:
// none, Unread says so).
//
// Watch returns once every directory is watched, so nothing made after it
// returns is missed. The channel closes when ctx ends; a fatal condition
// (the save_path disappears, an inotify limit) is a last event with Err.
func (s *Store) Watch(ctx context.Context, opts store.WatchOptions) (<-chan store.Event, error) {
	root, err := filepath.Abs(s.sp.Dir)
	if err != nil {
		return nil, fmt.Errorf("save_path %s: %w", s.sp.Dir, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("save_path %s: %w", root, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("save_path %s: not a directory", root)
	}
	fsw, err := fsnotify.NewBufferedWatcher(watchEventBuffer)
	if err != nil {
		return nil, inotifyError(err, root, 0)
	}
	out := make(chan store.Event, 64)
	w := &watcher{
		ctx:     ctx,
		out:     out,
		tree:    watchTree{root: filepath.Clean(root), depth: s.sp.Depth},
		fsw:     fsw,
		noLock:  s.opts.NoLock,
		now:     time.Now,
		add:     fsw.Add,
		pending: map[string]*pending{},
		files:   map[string]fileRecord{},
	}
	if s.opts.WatchAdd != nil {
		w.add = func(dir string) error { return s.opts.WatchAdd(dir, fsw.Add) }
	}
	if len(opts.IDs) > 0 {
		w.ids = map[string]bool{}
		for _, id := range opts.IDs {
			w.ids[id] = true
			// A followed session that is there now existed before any
			// event: its first change is a modification.
			var st unix.Stat_t
			if unix.Lstat(w.tree.sessionPath(id), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
				w.files[id] = fileRecord{key: statKey(&st)}
			}
		}
	}
	var rst unix.Stat_t
	if err := unix.Stat(root, &rst); err != nil {
		fsw.Close()
		return nil, fmt.Errorf("save_path %s: %w", root, err)
	}
	w.rootKey = statKey(&rst)
	if err := w.addLevel(root, 0, false); err != nil {
		fsw.Close()
		return nil, err
	}
	go func() {
		defer close(out)
		defer fsw.Close()
		if err := w.loop(); err != nil {
			select {
			case out <- store.Event{Time: w.now(), Err: err}:
			case <-ctx.Done():
			}
		}
	}()
	return out, nil
}

// loop takes inotify's events until ctx is done (nil) or a fatal condition.
func (w *watcher) loop() error {
	root := w.tree.root
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// inotify tells a directory's removal only once nothing holds it open
	// (and the store does): its name is checked every rootCheck too.
	check := time.NewTicker(rootCheck)
	defer check.Stop()
	for {
		w.armTimer(timer)
		select {
		case <-w.ctx.Done():
			return nil
		case <-check.C:
			if !w.rootThere() {
				return fmt.Errorf("watch %s: %w", root, ErrSavePathGone)
			}
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return fmt.Errorf("save_path %s: inotify stopped", root)
			}
			if err := w.handle(ev); err != nil {
				return err
			}
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return fmt.Errorf("save_path %s: inotify stopped", root)
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				if err := w.warn("inotify event queue overflowed: some changes were not seen (raise fs.inotify.max_queued_events with sysctl)"); err != nil {
					return nil
				}
				continue
			}
			return fmt.Errorf("save_path %s: inotify: %w", root, err)
		case <-timer.C:
			if err := w.processDue(); err != nil {
				if w.ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// rootCheck is how often Watch makes sure its save_path is still there.
const rootCheck = 250 * time.Millisecond

// rootThere reports whether the save_path watched is still the directory
// under its name.
func (w *watcher) rootThere() bool {
	var st unix.Stat_t
	return unix.Stat(w.tree.root, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && statKey(&st) == w.rootKey
}

// emit sends ev, or gives up when ctx ends.
func (w *watcher) emit(ev store.Event) error {
	select {
	case w.out <- ev:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

// warn sends a warning for stderr.
func (w *watcher) warn(msg string) error {
	return w.emit(store.Event{Time: w.now(), Warning: msg})
}

// inotifyError turns the errors of inotify_init1 and inotify_add_watch that
// mean a kernel limit into a message naming the sysctl to raise.
// watched is how many directories were being watched already.
func inotifyError(err error, dir string, watched int) error {
	switch {
	case errors.Is(err, unix.ENOSPC):
		return fmt.Errorf("watch %s: inotify watch limit reached after %d directories (raise fs.inotify.max_user_watches with sysctl, e.g. sysctl fs.inotify.max_user_watches=524288): %w", dir, watched, err)
	case errors.Is(err, unix.EMFILE):
		return fmt.Errorf("watch %s: inotify instance limit reached (raise fs.inotify.max_user_instances with sysctl, e.g. sysctl fs.inotify.max_user_instances=1024): %w", dir, err)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("watch %s: %w", dir, ErrSavePathGone)
	}
	return fmt.Errorf("watch %s: %w", dir, err)
}

// addLevel watches the level directory dir (level 0 is the root) and, below
// the last level, every level directory under it. With scan set (a
// directory created after start) the sessions it already holds are queued
// as created: they appeared while watch was running.
func (w *watcher) addLevel(dir string, level int, scan bool) error {
	if err := w.add(dir); err != nil {
		if level > 0 && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR)) {
			return nil // gone again before we got to it
		}
		if level == 0 && errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("save_path %s: %w", dir, ErrSavePathGone)
		}
		return inotifyError(err, dir, w.nDirs)
	}
	w.nDirs++
	if level == w.tree.depth && !scan {
		return nil // the files at the last level are not listed at start
	}
	// The watch is in place before the listing, so nothing created from
	// now on is missed; what shows up in both is coalesced.
	return eachEntry(dir, func(e fs.DirEntry) error {
		name := filepath.Join(dir, e.Name())
		kind, lvl, id := w.tree.classify(name)
		switch {
		case kind == pathLevel && e.IsDir():
			return w.addLevel(name, lvl, scan)
		case kind == pathSession && scan:
			w.note(id, name, fsnotify.Create)
		}
		return nil
	})
}

// handle takes one fsnotify event.
func (w *watcher) handle(ev fsnotify.Event) error {
	kind, level, id := w.tree.classify(ev.Name)
	switch kind {
	case pathLevel:
		if level == 0 {
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				if !w.rootThere() {
					return fmt.Errorf("watch %s: %w", w.tree.root, ErrSavePathGone)
				}
			}
			return nil
		}
		if ev.Has(fsnotify.Create) {
			info, err := os.Lstat(ev.Name)
			if err != nil || !info.IsDir() {
				return nil
			}
			// A level directory made after start (mkdir -p): it may
			// already hold deeper levels and sessions.
			return w.addLevel(ev.Name, level, true)
		}
	case pathSession:
		// Chmod alone is an attribute change: PHP's lazy_write touches an
		// unchanged session with utime(); the content did not change.
		if ev.Op&(fsnotify.Create|fsnotify.Write|fsnotify.Remove|fsnotify.Rename) != 0 {
			w.note(id, ev.Name, ev.Op)
		}
	}
	return nil
}

// note records an event for session id, starting a burst if none is open.
func (w *watcher) note(id, path string, op fsnotify.Op) {
	if w.ids != nil && !w.ids[id] {
		return
	}
	p, ok := w.pending[id]
	if !ok {
		existed := !op.Has(fsnotify.Create)
		if _, ok := w.files[id]; ok {
			existed = true
		}
		due := w.now().Add(CoalesceWindow)
		p = &pending{path: path, existed: existed, due: due}
		w.pending[id] = p
		heap.Push(&w.queue, queued{id: id, due: due})
	}
	if op.Has(fsnotify.Remove) || op.Has(fsnotify.Rename) {
		p.removes++
	}
	if op.Has(fsnotify.Write) {
		p.wrote = true
	}
	if op.Has(fsnotify.Create) && !p.existed && !p.sawFile {
		// Make sure it is a session file, not a symlink or a directory,
		// while it is there: it may be gone by the end of the burst.
		if info, err := os.Lstat(path); err == nil && info.Mode().IsRegular() {
			p.sawFile = true
		}
	}
}

// armTimer sets t to fire at the earliest due time.
func (w *watcher) armTimer(t *time.Timer) {
	if w.queue.Len() == 0 {
		t.Reset(time.Hour)
		return
	}
	t.Reset(max(w.queue.items[0].due.Sub(w.now()), 0))
}

// processDue reads and reports every session whose time has come. It first
// takes the events already delivered, so that a read does not overtake the
// events that came before it.
func (w *watcher) processDue() error {
	for range len(w.fsw.Events) {
		ev, ok := <-w.fsw.Events
		if !ok {
			break // runWatch sees the closed channel next
		}
		if err := w.handle(ev); err != nil {
			return err
		}
	}
	now := w.now()
	for w.queue.Len() > 0 && !w.queue.items[0].due.After(now) {
		q := heap.Pop(&w.queue).(queued)
		p, ok := w.pending[q.id]
		if !ok || !p.due.Equal(q.due) {
			continue // stale entry
		}
		if err := w.process(q.id, p); err != nil {
			return err
		}
	}
	return nil
}

// process reads session id once and reports what changed, or schedules a
// retry if a request holds its lock.
//
// A burst reports, by what the session was when it began and what it is at
// its end:
//   - existed, exists, not replaced: modified
//   - existed, exists, replaced (a Remove or Rename event for the name, or
//     another inode than the one last read): deleted, then created
//   - existed, gone: deleted
//   - new, exists: created
//   - new, gone: created then deleted if a regular file was seen under the
//     name during the burst, else nothing (it lived only inside the window)
func (w *watcher) process(id string, p *pending) error {
	res, err := tryReadSession(p.path, w.noLock)
	if err != nil {
		delete(w.pending, id)
		w.readErrs++
		switch {
		case w.readErrs < maxReadWarnings:
			return w.warn(fmt.Sprintf("session %s: %v", id, err))
		case w.readErrs == maxReadWarnings:
			return w.warn(fmt.Sprintf("session %s: %v (further read errors are not shown)", id, err))
		}
		return nil
	}
	if res.state == readLocked {
		if p.firstKey == (fileKey{}) {
			p.firstKey = res.key
		}
		p.sawFile, p.lockedSize = true, res.size
		p.backoff = min(max(p.backoff*2, retryMin), retryMax)
		p.due = w.now().Add(p.backoff)
		heap.Push(&w.queue, queued{id: id, due: p.due})
		return nil
	}
	delete(w.pending, id)
	rec, hadRec := w.files[id]
	// Removals of files already reported replaced are not new ones.
	late := min(rec.lateRemoves, p.removes)
	removes, lateLeft := p.removes-late, rec.lateRemoves-late
	ev := store.Event{Time: w.now(), Info: Info{ID: id, Path: p.path}}

	if res.state != readOK {
		delete(w.files, id)
		switch {
		case p.existed:
		case p.sawFile:
			// Created and gone before it could be read (a request held
			// its lock until it was destroyed): both are reported.
			created := ev
			created.Kind, created.Info.Size = store.Created, p.lockedSize
			created.Gone, created.Unread = true, "gone before it could be read"
			if err := w.emit(created); err != nil {
				return err
			}
		default:
			return nil // created and deleted within one window
		}
		ev.Kind = store.Deleted
		return w.emit(ev)
	}

	ev.Info.Size = res.size
	// Another file than the one read last time, or than the one found
	// locked earlier in this burst: replaced, even if no Remove event told.
	keyChanged := (hadRec && rec.key != res.key) ||
		(p.firstKey != fileKey{} && p.firstKey != res.key)
	if keyChanged && removes == 0 {
		lateLeft++ // its Remove event is still to come
	}
	replaced := removes > 0 || keyChanged
	w.files[id] = fileRecord{key: res.key, lateRemoves: lateLeft}
	switch {
	case !p.existed:
		ev.Kind = store.Created
	case replaced:
		gone := ev
		gone.Kind, gone.Info.Size = store.Deleted, 0
		if err := w.emit(gone); err != nil {
			return err
		}
		ev.Kind = store.Created
	case !p.wrote:
		// Only the late events of a replacement already reported (or a
		// Create for a file that was already there): nothing changed.
		return nil
	default:
		ev.Kind = store.Modified
	}
	ev.Data = res.data
	if res.data == nil {
		ev.Unread = fmt.Sprintf("larger than %d bytes, not read", maxWatchRead)
	}
	return w.emit(ev)
}
