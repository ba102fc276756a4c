package sessfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/sesstool/sesstool/sessfile/flock"
	"golang.org/x/sys/unix"
)

// maxOpenRetries bounds how often openSession starts over when the file at
// the session's name was replaced while it waited for the lock.
const maxOpenRetries = 8

// sessFile is an open, checked (and usually locked) session file.
type sessFile struct {
	fd      int
	st      unix.Stat_t // fstat after locking
	created bool        // created by this open
	// ownerGuess is set when, as root, the created file was given the
	// save_path's owner because no owner was given (Options.OwnerUID).
	ownerGuess string
	dfd        int    // its level directory
	name       string // "sess_<id>"
	release    func() // releases dfd
	// unlock releases a lock held on a description of its own (a lock
	// that had to be waited for: flock.Acquire); nil when none.
	unlock func()
}

func (f *sessFile) close() {
	_ = unix.Close(f.fd) // also releases a flock held on fd itself
	if f.unlock != nil {
		f.unlock()
	}
	f.release()
}

// openReq says how openSession opens and locks a session.
type openReq struct {
	flags   int  // O_RDONLY or O_RDWR
	lock    bool // take a lock at all
	mode    flock.Mode
	timeout time.Duration
	create  bool // create (O_CREAT|O_EXCL, save_path MODE) when missing
	// content: the bytes will be read or written, so a file with more than
	// one hard link is refused (its inode may be a file outside the
	// save_path). Unlinking a name (Destroy) is safe and does not set it.
	content bool
}

// openSession validates id, opens its file confined to the save_path with
// O_NOFOLLOW|O_NONBLOCK, checks it is a regular file, locks it, and checks
// that the locked inode is still the one at the session's name (a file
// replaced or removed while we waited is opened again).
func (s *Store) openSession(ctx context.Context, id string, req openReq) (*sessFile, error) {
	if err := s.sp.checkID(id); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dfd, release, err := s.dirs.acquire(id[:s.sp.Depth])
	if err != nil {
		if req.create && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot create session %q: %w", id, err)
		}
		return nil, fmt.Errorf("session %q: %w", id, err)
	}
	name := filePrefix + id
	for range maxOpenRetries {
		f, retry, err := s.openOnce(ctx, dfd, name, id, req)
		if err != nil {
			release()
			return nil, err
		}
		if retry {
			continue
		}
		f.release = release
		return f, nil
	}
	release()
	return nil, fmt.Errorf("session %q: %s keeps being replaced while waiting for its lock", id, s.pathOf(id))
}

func (s *Store) openOnce(ctx context.Context, dfd int, name, id string, req openReq) (*sessFile, bool, error) {
	const base = unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
	created := false
	fd, err := openatRead(dfd, name, req.flags|base)
	if errors.Is(err, unix.ENOENT) && req.create {
		fd, err = openatRetry(dfd, name, req.flags|base|unix.O_CREAT|unix.O_EXCL, unixMode(s.sp.mode())&0o777)
		if errors.Is(err, unix.EEXIST) {
			return nil, true, nil // created by someone else meanwhile: open that one
		}
		created = err == nil
	}
	if err != nil {
		return nil, false, openError(s.pathOf(id), err)
	}
	f := &sessFile{fd: fd, dfd: dfd, name: name, created: created}
	fail := func(err error) (*sessFile, bool, error) {
		if created {
			_ = unix.Unlinkat(dfd, name, 0)
		}
		_ = unix.Close(fd)
		if f.unlock != nil {
			f.unlock()
		}
		return nil, false, err
	}
	if req.lock && !created {
		// The common case first: a lock had at once costs one flock and
		// one fstat. The fstat after the lock checks what the slow path
		// below checks before waiting (a regular file, one link) and that
		// the locked inode still has its name: PHP's GC and destroy
		// unlink, and a file renamed over the name is unlinked too, both
		// leaving nlink 0. (Only a rename of the file itself to another
		// name goes unseen; PHP never does one.)
		got, err := flock.TryLockFD(fd, req.mode)
		if err != nil {
			return fail(&fs.PathError{Op: "flock", Path: s.pathOf(id), Err: err})
		}
		if got {
			if err := fstat(fd, &f.st); err != nil {
				return fail(&fs.PathError{Op: "fstat", Path: s.pathOf(id), Err: err})
			}
			if err := s.checkOpened(&f.st, id, req); err != nil {
				return fail(err)
			}
			if f.st.Nlink == 0 {
				_ = unix.Close(fd)
				return nil, true, nil
			}
			return f, false, nil
		}
	}
	if err := fstat(fd, &f.st); err != nil {
		return fail(&fs.PathError{Op: "fstat", Path: s.pathOf(id), Err: err})
	}
	if err := s.checkOpened(&f.st, id, req); err != nil {
		return fail(err)
	}
	if created {
		var err error
		if f.ownerGuess, err = s.setOwnerMode(fd, dfd); err != nil {
			return fail(&fs.PathError{Op: "set owner and mode of", Path: s.pathOf(id), Err: err})
		}
	}
	if req.lock {
		stopWait := func() {}
		if s.opts.OnLockWait != nil && s.opts.LockTimeout != 0 {
			// Joined before the result is used: the call never comes late.
			st, stop, done := f.st, make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				select {
				case <-time.After(time.Second):
					s.opts.OnLockWait(id, flockHolder(&st))
				case <-stop:
				}
			}()
			stopWait = func() { close(stop); <-done }
		}
		unlock, lerr := flock.Acquire(ctx, fd, req.mode, s.opts.LockTimeout)
		stopWait()
		f.unlock = unlock
		if err := lerr; err != nil {
			if errors.Is(err, flock.ErrTimeout) || errors.Is(err, flock.ErrWouldBlock) {
				err = &LockTimeoutError{ID: id, Timeout: s.opts.LockTimeout, Holder: flockHolder(&f.st)}
			} else if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				err = &fs.PathError{Op: "flock", Path: s.pathOf(id), Err: err}
			}
			return fail(err)
		}
		// Under the lock: is it still the file at that name?
		if err := fstat(fd, &f.st); err != nil {
			return fail(&fs.PathError{Op: "fstat", Path: s.pathOf(id), Err: err})
		}
		var byName unix.Stat_t
		err := fstatat(dfd, name, &byName)
		if err != nil || byName.Dev != f.st.Dev || byName.Ino != f.st.Ino {
			_ = unix.Close(fd) // not ours to unlink any more
			f.unlock()
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return nil, false, &fs.PathError{Op: "stat", Path: s.pathOf(id), Err: err}
			}
			return nil, true, nil
		}
	}
	return f, false, nil
}

// checkOpened refuses what an opened session file must not be: anything but
// a regular file, and, when its bytes are used, a file with more than one
// hard link.
func (s *Store) checkOpened(st *unix.Stat_t, id string, req openReq) error {
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return &fs.PathError{Op: "open", Path: s.pathOf(id), Err: ErrNotRegular}
	}
	if req.content && st.Nlink > 1 {
		return &fs.PathError{Op: "open", Path: s.pathOf(id), Err: fmt.Errorf("%w: it has %d hard links (its content may belong to a file outside the save_path); refusing to read or write it", ErrNotRegular, st.Nlink)}
	}
	return nil
}

// openError maps an openat error on a session file to the package's errors.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, unix.ENOENT):
		return &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	case errors.Is(err, unix.ELOOP):
		return &fs.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: a symlink (never followed)", ErrNotRegular)}
	case errors.Is(err, unix.EISDIR), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		return &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	return &fs.PathError{Op: "open", Path: path, Err: err}
}

// pathOf is the path of session id (already checked) as PHP names it.
func (s *Store) pathOf(id string) string {
	return s.sp.join(s.relPath(id))
}

// relPath is RelPath for an id already checked.
func (s *Store) relPath(id string) string {
	rel, _ := s.sp.RelPath(id)
	return rel
}

func fstat(fd int, st *unix.Stat_t) error {
	return retryEINTR(func() error { return unix.Fstat(fd, st) })
}

func fstatat(dfd int, name string, st *unix.Stat_t) error {
	return retryEINTR(func() error { return unix.Fstatat(dfd, name, st, unix.AT_SYMLINK_NOFOLLOW) })
}

func modTime(st *unix.Stat_t) time.Time {
	return time.Unix(st.Mtim.Sec, st.Mtim.Nsec)
}

func (s *Store) info(id string, st *unix.Stat_t) Info {
	return Info{ID: id, Path: s.sp.join(s.relPath(id)), Size: st.Size, ModTime: modTime(st)}
}
