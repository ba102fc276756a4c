// Package store is what every session store shares: the Store interface the
// commands work through, the facts a store reports about a session (Info),
// its lock holders (Lock), its events (Event), what it can do
// (Capabilities) and the errors every store returns.
//
// Stores move bytes: none decodes a session (that is phpser's job, done by
// the commands), and each keeps its own lock protocol inside Read, Update,
// Destroy and DestroyIf, so that no command takes a lock itself.
package store

import (
	"context"
	"time"
)

// Store is an open session store: PHP's files handler (sessfile), phpredis
// (sessredis), ... Its methods are safe for concurrent use.
type Store interface {
	// Stat returns what the store knows of one session without reading it.
	Stat(id string) (Info, error)
	// Read returns a session's bytes, read under the store's lock protocol
	// (files: LOCK_SH) unless the store was opened without locks.
	Read(ctx context.Context, id string) ([]byte, Info, error)
	// Update holds the session's lock across reading, fn and the write;
	// fn's bytes equal to the old ones write nothing. With create, a
	// missing session is created (fn sees exists false).
	Update(ctx context.Context, id string, create bool, fn UpdateFunc) (UpdateResult, error)
	// Destroy deletes a session under its lock (ErrNotFound when missing).
	Destroy(ctx context.Context, id string) error
	// DestroyIf deletes a session when match, run on its bytes under the
	// lock, says so; it reports whether it did.
	DestroyIf(ctx context.Context, id string, match func(data []byte) (bool, error)) (bool, error)
	// Walk streams the facts of every session (no bytes), in the store's
	// own order, until fn returns an error (returned as is).
	Walk(ctx context.Context, fn func(Info) error) error
	// Watch sends the store's session events until ctx ends, then closes
	// the channel; a store that cannot watch returns ErrUnsupported.
	Watch(ctx context.Context, opts WatchOptions) (<-chan Event, error)
	// Locks streams the locks held now.
	Locks(ctx context.Context, fn func(Lock) error) error
	// Capabilities says what the store can do.
	Capabilities() Capabilities
	// Where names the store for messages: a save_path, host:port list, ...
	Where() string
	// Close releases what the store holds open.
	Close() error
}

// Info describes one session as a store sees it.
type Info struct {
	ID   string // the session id
	Path string // files: the full path as PHP names it; else ""
	Size int64  // size in bytes
	// ModTime is the last write: files, the mtime (PHP's GC uses it);
	// key-value stores, now − (maxlifetime − TTL) when PHP set the TTL,
	// else zero.
	ModTime time.Time
	// Server is host:port (or a socket path) on key-value stores.
	Server string
	// Servers, when a store keeps several copies of a session (pecl
	// memcache's redundancy, php-memcached's replicas), names every
	// server holding one, Server first.
	Servers []string
	// TTL is the key's remaining time to live on key-value stores, valid
	// when HasTTL; a key without expiry has HasTTL false.
	TTL    time.Duration
	HasTTL bool
	// Locked and LockHolder report a lock a key-value store saw while
	// listing (the files store says nothing here: its locks are flocks).
	Locked     bool
	LockHolder string
}

// Lock is one session lock held now.
type Lock struct {
	ID     string        // the session id
	Holder string        // who holds it, when the store knows (phpredis: host|pid)
	Kind   string        // "flock LOCK_EX", "redis lock key", ...
	Age    time.Duration // how long it has been held, when known
	TTL    time.Duration // when it expires by itself, when HasTTL
	HasTTL bool
	Where  string // file or server
}

// UpdateResult says what Update did.
type UpdateResult struct {
	Changed bool // new bytes were written
	Created bool // the session was created
	// Warning, when not empty, is something the user should know about the
	// write (a created file owned by the save_path's owner, a store whose
	// locking is off so a running request may overwrite the change).
	Warning string
}

// UpdateFunc computes a session's new bytes from its old ones. exists is
// false when the session did not exist (Update with create); old is then
// empty. Returning bytes equal to old writes nothing; returning an error
// leaves the session as it was.
type UpdateFunc func(old []byte, exists bool) ([]byte, error)

// Capabilities say what a store can do, so that commands ask instead of
// knowing which store they have.
type Capabilities struct {
	// Handler is session.save_handler's name: files, redis, rediscluster.
	Handler string
	// Files: sessions are files with mtimes that gc sweeps by age.
	Files bool
	// TTL: the store expires sessions by itself (a TTL per key).
	TTL bool
	// Watch: Watch delivers events (else commands poll).
	Watch bool
}

// WatchOptions tune Watch.
type WatchOptions struct {
	// IDs, when not empty, are the only sessions reported.
	IDs []string
	// Read asks for each changed session's bytes in its event (the files
	// store always reads them: it must, to tell what happened).
	Read bool
	// Settle is how long a session must stay unchanged before its event
	// is sent (coalescing a request's several writes); 0 is the store's
	// default.
	Settle time.Duration
	// Poll, when > 0, compares listings this often instead of the store's
	// own notifications.
	Poll time.Duration
}

// EventKind is what happened to a session.
type EventKind string

// Event kinds, as watch -o json names them.
const (
	Created  EventKind = "created"
	Modified EventKind = "modified"
	Deleted  EventKind = "deleted"
)

// Event is one change to a session.
type Event struct {
	Time time.Time
	Kind EventKind
	Info Info
	// Data is the session's bytes after the change when they could be
	// read; Unread then says why not.
	Data   []byte
	Unread string
	// Gone marks a created session that was gone before it could be read
	// (a request held it locked until it destroyed it).
	Gone bool
	// Warning, when not empty, is no session event but something watch
	// should say on stderr (a directory it can no longer watch, ...).
	Warning string
	// Err, on the last event before the channel closes, is the fatal
	// condition that ended the watch (the store went away).
	Err error
}

// Lifetime is what a copied session keeps of its life (migrate): on a
// files store its mtime (the age PHP's GC goes by), on a key-value store
// its TTL (none when HasTTL is false).
type Lifetime struct {
	ModTime time.Time
	TTL     time.Duration
	HasTTL  bool
}

// Putter writes a whole session with a given lifetime, under the store's
// lock: a missing session is created; an existing one is replaced unless
// keep, run on its bytes under the lock, says to leave it (false). It
// reports whether it wrote.
type Putter interface {
	Put(ctx context.Context, id string, data []byte, life Lifetime, keep func(cur []byte) bool) (bool, error)
}

// PutOptions tune a conditional Put (migrate's): the lifetime to give, and
// the source's last write, so that a target session written later is kept
// unless Overwrite.
type PutOptions struct {
	Life        Lifetime
	SourceWrite time.Time
	Overwrite   bool
}

// PutResult says what a conditional Put did.
type PutResult int

// Outcomes of PutIf.
const (
	PutWritten PutResult = iota // the session was written
	PutSame                     // the target already held these bytes
	PutNewer                    // the target's session was written after the source's: kept
)

// IfPutter is a store that checks and writes in one step on the server
// (a key-value store's script), under its lock protocol.
type IfPutter interface {
	PutIf(ctx context.Context, id string, data []byte, o PutOptions) (PutResult, error)
}

// PutItem is one session for ManyPutter.
type PutItem struct {
	ID   string
	Data []byte
	Opts PutOptions
}

// PutOutcome is what PutMany did with one PutItem.
type PutOutcome struct {
	Res PutResult
	Err error
}

// ManyPutter is an IfPutter that takes many sessions in a few round trips
// (pipelined), each with PutIf's checks: out[i] is items[i]'s outcome.
type ManyPutter interface {
	IfPutter
	PutMany(ctx context.Context, items []PutItem) []PutOutcome
}

// PutUpdate is the UpdateFunc a Putter's Put runs under the lock: data,
// unless the session exists and keep says to leave its bytes.
func PutUpdate(data []byte, keep func(cur []byte) bool) UpdateFunc {
	return func(old []byte, exists bool) ([]byte, error) {
		if exists && keep != nil && !keep(old) {
			return old, nil
		}
		return data, nil
	}
}
