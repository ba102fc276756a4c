package sessfile

import (
	"context"
	"errors"
	"io/fs"

	"github.com/sesstool/sesstool/sessfile/flock"
	"golang.org/x/sys/unix"
)

// Destroy deletes session id: it takes LOCK_EX waiting up to
// Options.LockTimeout (a running request finishes first), checks that the
// locked file is still the one at the session's name, and unlinks that name
// (confined to the save_path). A missing session gives an error satisfying
// ErrNotFound; a lock not had in time a *LockTimeoutError.
func (s *Store) Destroy(ctx context.Context, id string) error {
	f, err := s.openSession(ctx, id, openReq{flags: unix.O_RDONLY, lock: true, mode: flock.Exclusive, timeout: s.opts.LockTimeout})
	if err != nil {
		return err
	}
	defer f.close()
	if err := retryEINTR(func() error { return unix.Unlinkat(f.dfd, f.name, 0) }); err != nil {
		return unlinkError(s.sp.join(s.relPath(id)), err)
	}
	return nil
}

// DestroyIf deletes session id only if match, called with the session's
// bytes read under the same LOCK_EX that the unlink happens under, returns
// true. So a session selected by its content is deleted only if it still
// has that content: a request that changed it meanwhile wins. It reports
// whether the session was deleted; errors are those of Destroy, plus
// match's own.
func (s *Store) DestroyIf(ctx context.Context, id string, match func(data []byte) (bool, error)) (bool, error) {
	f, err := s.openSession(ctx, id, openReq{flags: unix.O_RDONLY, lock: true, mode: flock.Exclusive, timeout: s.opts.LockTimeout, content: true})
	if err != nil {
		return false, err
	}
	defer f.close()
	path := s.sp.join(s.relPath(id))
	data, err := readAll(f.fd, f.st.Size, true)
	if err != nil {
		return false, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	ok, err := match(data)
	if err != nil || !ok {
		return false, err
	}
	if err := retryEINTR(func() error { return unix.Unlinkat(f.dfd, f.name, 0) }); err != nil {
		return false, unlinkError(path, err)
	}
	return true, nil
}

// unlinkError words a failed unlink of a session file: the file was open
// and locked, its removal failed (a read-only file system, say).
func unlinkError(path string, err error) error {
	if errors.Is(err, unix.ENOENT) {
		return openError(path, err)
	}
	return &fs.PathError{Op: "remove", Path: path, Err: err}
}
