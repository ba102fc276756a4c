package sessfile

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/store"
)

// Options tune a Store.
type Options struct {
	// LockTimeout is how long Read, Update and Destroy wait for a lock held
	// by someone else: > 0 waits up to that long, 0 makes one non-blocking
	// try, < 0 waits forever. A lock not had in time is a *LockTimeoutError.
	LockTimeout time.Duration
	// OnLockWait, when set, is called once when a lock has been waited for
	// a second, with who holds it ("pid 123 (php-fpm8.2)", or ""), so that
	// a command can say whose lock it waits for.
	OnLockWait func(id, holder string)
	// NoLock makes Read read without taking LOCK_SH (a write in progress may
	// then be seen half done). Update, Destroy and Expire always lock.
	NoLock bool
	// OwnerUID and OwnerGID are the owner given to sessions Update creates
	// when running as root; -1 means automatic (see Update). Note that 0
	// means root: start from DefaultOptions, not from a zero Options.
	OwnerUID, OwnerGID int
	// OwnerUnknown, with OwnerUID/OwnerGID -1, says why the caller could
	// not tell the PHP user; it is part of the warning Update gives when it
	// creates a session owned by the save_path's owner instead.
	OwnerUnknown string
	// MaxSize is the largest session Read and Update load (0: the default,
	// MaxSessionSize); a larger one, or a sparse file, is a *TooLargeError.
	MaxSize int64
	// WatchAdd, when set, adds each inotify watch of Watch instead of add
	// itself (tests make it fail as a kernel limit would).
	WatchAdd func(dir string, add func(string) error) error
}

// DefaultOptions returns Options with a 10s lock timeout and the automatic
// owner (-1, -1).
func DefaultOptions() Options {
	return Options{LockTimeout: 10 * time.Second, OwnerUID: -1, OwnerGID: -1}
}

// Info describes one session (store.Info): for files, ID, Path, Size and
// ModTime.
type Info = store.Info

// UpdateResult says what Update did (store.UpdateResult).
type UpdateResult = store.UpdateResult

// UpdateFunc computes a session's new bytes from its old ones
// (store.UpdateFunc). Returning an error leaves the file as it was (a file
// Update created for the call is removed).
type UpdateFunc = store.UpdateFunc

var _ store.Store = (*Store)(nil)

// Store is an open save_path of PHP's files handler. Its methods are safe for
// concurrent use. Close releases the directory it holds open.
type Store struct {
	sp   SavePath
	opts Options
	root *os.File // the save_path directory
	rfd  int      // root's descriptor
	dirs *dirCache
	ops  fileOps // write seam (tests inject failures)
}

// Open opens the save_path directory p.Dir (an error naming it when it is
// missing or not a directory) and returns a Store for it.
func Open(p SavePath, opts Options) (*Store, error) {
	if p.Dir == "" {
		return nil, &SavePathError{Value: p.String(), Reason: "empty directory"}
	}
	if p.Depth < 0 || p.Depth > MaxDepth {
		return nil, &SavePathError{Value: p.String(), Reason: fmt.Sprintf("depth %d out of range", p.Depth)}
	}
	// O_PATH: searching the directory is enough (Debian's 1733 save_path
	// cannot be listed by the PHP user); Walk reopens it for reading.
	fd, err := unix.Open(p.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open save_path", Path: p.Dir, Err: err}
	}
	s := &Store{
		sp:   p,
		opts: opts,
		root: os.NewFile(uintptr(fd), p.Dir),
		rfd:  fd,
		ops:  sysOps{},
	}
	s.dirs = newDirCache(s)
	return s, nil
}

// SavePath returns the save_path the store was opened on.
func (s *Store) SavePath() SavePath { return s.sp }

// Close releases the save_path directory and any cached level directory.
func (s *Store) Close() error {
	if s == nil || s.root == nil {
		return nil
	}
	s.dirs.closeAll()
	s.dirs.mu.Lock()
	s.rfd = -1
	s.dirs.mu.Unlock()
	err := s.root.Close()
	s.root = nil
	return err
}

// errClosed is returned by a Store used after Close.
var errClosed = errors.New("sessfile: store is closed")
