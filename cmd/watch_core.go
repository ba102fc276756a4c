package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/store"
)

// The kinds of session events watch reports (store.EventKind's names).
const (
	evCreated  = string(store.Created)
	evModified = string(store.Modified)
	evDeleted  = string(store.Deleted)
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

// watchConfig is everything the watch engine needs; it knows nothing about
// cobra or output formats. The engine takes the store's events
// (store.Watch) and adds what is the same on every store: --decode's key
// changes, --where's selection, the start-up snapshot.
type watchConfig struct {
	// Store is the store followed; when nil, runWatch opens the files
	// store of Dir and Depth itself (and closes it).
	Store store.Store
	Dir   string // the save_path directory
	Depth int    // the N of an N;DIR save_path
	ID    string // follow only this session ("" = all)
	// NoLock reads sessions without LOCK_SH (--no-lock).
	NoLock bool
	// Poll, when > 0, compares listings this often (--poll) instead of
	// the store's own notifications.
	Poll time.Duration

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

	// addWatch adds an inotify watch of the files store; tests replace
	// it to simulate limits (sessfile.Options.WatchAdd).
	addWatch func(dir string, add func(string) error) error
}

// tracked is what watch remembers about a session it has seen change.
type tracked struct {
	sess *phpser.Session // last decoded state (with Decode)
}

// errSavePathGone is the fatal condition of a files watch whose save_path
// disappeared.
var errSavePathGone = sessfile.ErrSavePathGone

// snapshot is the start-up summary of a store.
type snapshot struct {
	Sessions int64 // the sessions listed
	Bytes    int64 // their total size
	Err      error // the listing failed part-way (the counts are partial)
}

// engine is runWatch's state, owned by its loop.
type engine struct {
	cfg watchConfig
	// known holds the sessions seen changing, only with Decode or Match.
	known map[string]*tracked
}

// runWatch follows the store until ctx is done (nil error) or a fatal
// condition the store reports (the save_path disappears, an inotify limit
// is hit).
func runWatch(ctx context.Context, cfg watchConfig) error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st := cfg.Store
	if st == nil {
		sp := sessfile.SavePath{Dir: cfg.Dir, Depth: cfg.Depth}
		o := sessfile.DefaultOptions()
		o.LockTimeout, o.NoLock, o.WatchAdd = 0, cfg.NoLock, cfg.addWatch
		fs, err := sessfile.Open(sp, o)
		if err != nil {
			return fmt.Errorf("save_path %s: %w", cfg.Dir, err)
		}
		defer fs.Close()
		st = fs
	}
	e := &engine{cfg: cfg}
	if cfg.Decode || cfg.Match != nil {
		e.known = map[string]*tracked{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var ids []string
	if cfg.ID != "" {
		ids = []string{cfg.ID}
	}
	events, err := st.Watch(ctx, store.WatchOptions{IDs: ids, Read: true, Poll: cfg.Poll})
	if err != nil {
		return err
	}
	if cfg.ID != "" && cfg.Decode && cfg.DecodeFn != nil {
		// --decode --id: read the session now, so that its first change
		// is already reported key by key.
		e.baseline(ctx, st)
	}
	// The snapshot is counted while events are already being taken: it
	// is reported when it is done, from this loop.
	snapc := make(chan snapshot, 1)
	go func() { snapc <- countSessions(ctx, st) }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-snapc:
			if cfg.Snap != nil && ctx.Err() == nil {
				cfg.Snap(s)
			}
		case ev, ok := <-events:
			switch {
			case !ok:
				return nil
			case ev.Err != nil:
				return ev.Err
			case ev.Warning != "":
				if cfg.Warn != nil {
					cfg.Warn(ev.Warning)
				}
			default:
				if err := e.take(ev); err != nil {
					return err
				}
			}
		}
	}
}

// countSessions is the start-up snapshot: the store's sessions and bytes,
// streamed (nothing per session is kept).
func countSessions(ctx context.Context, st store.Store) snapshot {
	var s snapshot
	err := st.Walk(ctx, func(info store.Info) error {
		s.Sessions++
		s.Bytes += info.Size
		return nil
	})
	if err != nil && ctx.Err() == nil {
		s.Err = err
	}
	return s
}

// baseline reads the one session of --id when watch starts (a session
// missing or still locked after --lock-timeout has no baseline) and
// remembers its state.
func (e *engine) baseline(ctx context.Context, st store.Store) {
	data, _, err := st.Read(ctx, e.cfg.ID)
	if err != nil {
		return
	}
	sess, err := e.cfg.DecodeFn(data)
	if err != nil || e.cfg.Match != nil && !e.cfg.Match(sess) {
		return
	}
	e.known[e.cfg.ID] = &tracked{sess: sess}
}

// take reports one store event.
func (e *engine) take(sev store.Event) error {
	ev := sessionEvent{Time: sev.Time, Event: string(sev.Kind), ID: sev.Info.ID, Path: sev.Info.Path, Size: sev.Info.Size}
	if sev.Gone {
		// Created and gone before it could be read: with --where it
		// cannot be matched and is not reported; with --decode its keys
		// are unknown.
		if e.cfg.Match != nil {
			return nil
		}
		return e.cfg.Emit(ev)
	}
	return e.report(ev, sev.Data, sev.Unread)
}

// report applies --decode and --where to a read session and emits it;
// unread says why a session that exists has no data.
func (w *engine) report(ev sessionEvent, data []byte, unread string) error {
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
		if unread == "" {
			unread = "not read"
		}
		ev.DecodeErr = errors.New(unread)
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
