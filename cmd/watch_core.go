package cmd

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

	"github.com/sesstool/sesstool/phpser"
)

// The kinds of session events watch reports.
const (
	evCreated  = "created"
	evModified = "modified"
	evDeleted  = "deleted"
)

// Timing of the watcher. A burst of events for one session is gathered for
// coalesceWindow after its first event, then the session is read once; a
// session locked by a running request is tried again after retryMin,
// backing off to retryMax, so that its change is reported at most retryMax
// after the lock is released.
const (
	coalesceWindow = 40 * time.Millisecond
	retryMin       = 5 * time.Millisecond
	retryMax       = 40 * time.Millisecond
	// watchEventBuffer is the length of fsnotify's event channel: room for
	// a burst while the loop reads a session.
	watchEventBuffer = 4096
)

// sessionEvent is one reported change of one session.
type sessionEvent struct {
	Time  time.Time
	Event string // evCreated, evModified, evDeleted
	ID    string
	Path  string
	Size  int64

	// With --decode: Session is the new decoded state (nil when deleted or
	// not decodable), Changes the key changes since the last state watch
	// saw. HasBaseline is false when watch had no earlier state to compare
	// with (a session that existed before watch started and changed for the
	// first time): Changes is then nil and means "unknown", not "none".
	Session     *phpser.Session
	Changes     []keyChange
	HasBaseline bool
	DecodeErr   error // the new content could not be decoded

	// NoLongerMatches is set on the one event that reports a session which
	// matched --where and no longer does; watch stops following it.
	NoLongerMatches bool
}

// watchConfig is everything the watcher core needs; it knows nothing about
// cobra or output formats.
type watchConfig struct {
	Dir   string // the save_path directory
	Depth int    // the N of an N;DIR save_path
	ID    string // follow only this session ("" = all)
	// NoLock reads sessions without LOCK_SH (--no-lock).
	NoLock bool

	// Decode keeps the decoded state of every session seen changing and
	// reports key changes.
	Decode bool
	// DecodeFn decodes a session payload; needed with Decode or Match.
	DecodeFn func([]byte) (*phpser.Session, error)
	// Match, when set, selects the sessions to follow (--where).
	Match func(*phpser.Session) bool

	Now  func() time.Time
	Warn func(msg string)            // a warning line for stderr
	Snap func(snapshot)              // the start-up snapshot, once
	Emit func(ev sessionEvent) error // one reported change

	// addWatch adds an inotify watch; tests replace it to simulate limits.
	addWatch func(w *fsnotify.Watcher, dir string) error
}

// tracked is what watch remembers about a session it has seen change.
type tracked struct {
	sess *phpser.Session // last decoded state (with Decode)
}

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
	cfg  watchConfig
	tree watchTree
	fsw  *fsnotify.Watcher

	pending map[string]*pending
	queue   dueQueue // when to look at each pending session

	// known holds the sessions seen changing, only with Decode or Match.
	known map[string]*tracked
	// files holds every session read and reported as existing, until it is
	// reported deleted: memory grows with the sessions that change, never
	// with the sessions on disk.
	files map[string]fileRecord
	nDirs int
	// readErrs counts sessions that could not be read (permissions, I/O);
	// only the first maxReadWarnings are warned about.
	readErrs int
}

// maxReadWarnings bounds the warnings about unreadable sessions, so that a
// busy save_path watch cannot read does not flood stderr.
const maxReadWarnings = 10

// errSavePathGone and friends are the fatal conditions of watch.
var errSavePathGone = errors.New("save_path disappeared")

// runWatch follows cfg.Dir until ctx is done (nil error) or a fatal
// condition (the save_path disappears, an inotify limit is hit).
func runWatch(ctx context.Context, cfg watchConfig) error {
	root, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return fmt.Errorf("save_path %s: %w", cfg.Dir, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("save_path %s: %w", root, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("save_path %s: not a directory", root)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.addWatch == nil {
		cfg.addWatch = func(w *fsnotify.Watcher, dir string) error { return w.Add(dir) }
	}
	fsw, err := fsnotify.NewBufferedWatcher(watchEventBuffer)
	if err != nil {
		return inotifyError(err, root, 0)
	}
	defer fsw.Close()
	w := &watcher{
		cfg:     cfg,
		tree:    watchTree{root: filepath.Clean(root), depth: cfg.Depth},
		fsw:     fsw,
		pending: map[string]*pending{},
		files:   map[string]fileRecord{},
	}
	if cfg.Decode || cfg.Match != nil {
		w.known = map[string]*tracked{}
	}
	if err := w.addLevel(root, 0, false); err != nil {
		return err
	}
	if cfg.ID != "" && cfg.Decode && cfg.DecodeFn != nil {
		// --decode --id: read the session now, so that its first change
		// is already reported key by key.
		w.baseline(root)
	}

	stop := make(chan struct{})
	defer close(stop)
	snapc := make(chan snapshot, 1)
	go func() { snapc <- w.tree.walkSnapshot(stop) }()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.armTimer(timer)
		select {
		case <-ctx.Done():
			return nil
		case s := <-snapc:
			if cfg.Snap != nil {
				cfg.Snap(s)
			}
		case ev, ok := <-fsw.Events:
			if !ok {
				return fmt.Errorf("save_path %s: inotify stopped", root)
			}
			if err := w.handle(ev); err != nil {
				return err
			}
		case err, ok := <-fsw.Errors:
			if !ok {
				return fmt.Errorf("save_path %s: inotify stopped", root)
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				w.warn("inotify event queue overflowed: some changes were not seen (raise fs.inotify.max_queued_events with sysctl)")
				continue
			}
			return fmt.Errorf("save_path %s: inotify: %w", root, err)
		case <-timer.C:
			if err := w.processDue(); err != nil {
				return err
			}
		}
	}
}

// baseline reads the one session of --id when watch starts (a try: a
// session locked or missing now has no baseline) and remembers its state.
func (w *watcher) baseline(root string) {
	id := w.cfg.ID
	parts := []string{root}
	for i := 0; i < w.cfg.Depth && i < len(id); i++ {
		parts = append(parts, id[i:i+1])
	}
	parts = append(parts, "sess_"+id)
	res, err := tryReadSession(filepath.Join(parts...), w.cfg.NoLock)
	if err != nil || res.state != readOK || res.data == nil {
		return
	}
	sess, err := w.cfg.DecodeFn(res.data)
	if err != nil || w.cfg.Match != nil && !w.cfg.Match(sess) {
		return
	}
	w.known[id] = &tracked{sess: sess}
}

func (w *watcher) warn(msg string) {
	if w.cfg.Warn != nil {
		w.cfg.Warn(msg)
	}
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
		return fmt.Errorf("watch %s: %w", dir, errSavePathGone)
	}
	return fmt.Errorf("watch %s: %w", dir, err)
}

// addLevel watches the level directory dir (level 0 is the root) and, below
// the last level, every level directory under it. With scan set (a
// directory created after start) the sessions it already holds are queued
// as created: they appeared while watch was running.
func (w *watcher) addLevel(dir string, level int, scan bool) error {
	if err := w.cfg.addWatch(w.fsw, dir); err != nil {
		if level > 0 && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR)) {
			return nil // gone again before we got to it
		}
		if level == 0 && errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("save_path %s: %w", dir, errSavePathGone)
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
				if info, err := os.Stat(w.tree.root); err != nil || !info.IsDir() {
					return fmt.Errorf("watch %s: %w", w.tree.root, errSavePathGone)
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
	if w.cfg.ID != "" && id != w.cfg.ID {
		return
	}
	p, ok := w.pending[id]
	if !ok {
		existed := !op.Has(fsnotify.Create)
		if _, ok := w.files[id]; ok {
			existed = true
		}
		if _, ok := w.known[id]; ok {
			existed = true
		}
		due := w.cfg.Now().Add(coalesceWindow)
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
	t.Reset(max(w.queue.items[0].due.Sub(w.cfg.Now()), 0))
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
	now := w.cfg.Now()
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
	res, err := tryReadSession(p.path, w.cfg.NoLock)
	if err != nil {
		delete(w.pending, id)
		w.readErrs++
		switch {
		case w.readErrs < maxReadWarnings:
			w.warn(fmt.Sprintf("session %s: %v", id, err))
		case w.readErrs == maxReadWarnings:
			w.warn(fmt.Sprintf("session %s: %v (further read errors are not shown)", id, err))
		}
		return nil
	}
	if res.state == readLocked {
		if p.firstKey == (fileKey{}) {
			p.firstKey = res.key
		}
		p.sawFile, p.lockedSize = true, res.size
		p.backoff = min(max(p.backoff*2, retryMin), retryMax)
		p.due = w.cfg.Now().Add(p.backoff)
		heap.Push(&w.queue, queued{id: id, due: p.due})
		return nil
	}
	delete(w.pending, id)
	rec, hadRec := w.files[id]
	// Removals of files already reported replaced are not new ones.
	late := min(rec.lateRemoves, p.removes)
	removes, lateLeft := p.removes-late, rec.lateRemoves-late
	ev := sessionEvent{Time: w.cfg.Now(), ID: id, Path: p.path}

	if res.state != readOK {
		delete(w.files, id)
		switch {
		case p.existed:
		case p.sawFile:
			// Created and gone before it could be read (a request held
			// its lock until it was destroyed): both are reported.
			created := ev
			created.Event, created.Size = evCreated, p.lockedSize
			if err := w.reportUnread(created); err != nil {
				return err
			}
		default:
			return nil // created and deleted within one window
		}
		ev.Event = evDeleted
		return w.report(ev, nil)
	}

	ev.Size = res.size
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
		ev.Event = evCreated
	case replaced:
		gone := ev
		gone.Event, gone.Size = evDeleted, 0
		if err := w.report(gone, nil); err != nil {
			return err
		}
		ev.Event = evCreated
	case !p.wrote:
		// Only the late events of a replacement already reported (or a
		// Create for a file that was already there): nothing changed.
		return nil
	default:
		ev.Event = evModified
	}
	return w.report(ev, res.data)
}

// reportUnread reports the creation of a session that was gone before it
// could be read: with --where it cannot be matched and is not reported;
// with --decode its keys are unknown.
func (w *watcher) reportUnread(ev sessionEvent) error {
	if w.cfg.Match != nil {
		return nil
	}
	return w.cfg.Emit(ev)
}

// report applies --decode and --where to a read session and emits it.
func (w *watcher) report(ev sessionEvent, data []byte) error {
	if w.known == nil {
		return w.cfg.Emit(ev)
	}
	prev, wasKnown := w.known[ev.ID]
	if ev.Event == evDeleted {
		if !wasKnown && w.cfg.Match != nil {
			return nil // never seen matching: not followed
		}
		delete(w.known, ev.ID)
		if w.cfg.Decode && wasKnown {
			ev.HasBaseline = true
			ev.Changes = diffSessions(prev.sess, &phpser.Session{})
		}
		return w.cfg.Emit(ev)
	}
	var sess *phpser.Session
	if data != nil && w.cfg.DecodeFn != nil {
		sess, ev.DecodeErr = w.cfg.DecodeFn(data)
	} else if data == nil {
		ev.DecodeErr = fmt.Errorf("larger than %d bytes, not decoded", maxWatchRead)
	}
	if w.cfg.Match != nil {
		matches := sess != nil && w.cfg.Match(sess)
		if !matches {
			if wasKnown {
				// Report once that it left the selection, then forget it.
				delete(w.known, ev.ID)
				ev.NoLongerMatches = true
				if w.cfg.Decode && sess != nil {
					ev.Session, ev.HasBaseline = sess, true
					ev.Changes = diffSessions(prev.sess, sess)
				}
				return w.cfg.Emit(ev)
			}
			return nil
		}
	}
	t := &tracked{}
	if w.cfg.Decode {
		ev.Session = sess
		switch {
		case sess == nil:
			// Undecodable: no state to compare the next change with.
		case ev.Event == evCreated:
			ev.HasBaseline = true
			ev.Changes = diffSessions(nil, sess)
		case wasKnown && prev.sess != nil:
			ev.HasBaseline = true
			ev.Changes = diffSessions(prev.sess, sess)
		}
		t.sess = sess
	}
	if sess == nil && w.cfg.Match == nil {
		delete(w.known, ev.ID)
	} else {
		w.known[ev.ID] = t
	}
	return w.cfg.Emit(ev)
}
