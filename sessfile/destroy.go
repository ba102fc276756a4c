package sessfile

import (
	"context"

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
		return openError(s.sp.join(s.relPath(id)), err)
	}
	return nil
}
