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

// ExpireOutcome is what Expire did with one session.
type ExpireOutcome int

// The outcomes of Expire.
const (
	ExpireError             ExpireOutcome = iota // something failed (the error says what)
	ExpireDeleted                                // deleted (or, dry run, would have been)
	ExpireSkippedInUse                           // locked by someone (a running request): left alone
	ExpireSkippedTouched                         // modified since the walk (no longer old enough): left alone
	ExpireVanished                               // gone, or replaced by another file, before it could be locked
	ExpireSkippedNotRegular                      // not a regular file (symlink, directory, FIFO): left alone
)

// String returns a short name for the outcome.
func (o ExpireOutcome) String() string {
	switch o {
	case ExpireDeleted:
		return "deleted"
	case ExpireSkippedInUse:
		return "skipped-in-use"
	case ExpireSkippedTouched:
		return "skipped-touched"
	case ExpireVanished:
		return "vanished"
	case ExpireSkippedNotRegular:
		return "skipped-not-regular"
	}
	return "error"
}

// ExpireResult is the outcome of Expire and, for ExpireDeleted, the bytes
// freed (the size seen under the lock).
type ExpireResult struct {
	Outcome ExpireOutcome
	Bytes   int64
}

// Expire deletes one session found by Walk if it is still old enough, for gc:
// open with O_NOFOLLOW|O_NONBLOCK, a non-blocking LOCK_EX (locked: skipped in
// use), then under the lock fstat (must be a regular file whose mtime still
// satisfies olderThan, else skipped touched), check that the same inode is
// still at that name (else vanished), unlink, and close (which unlocks).
// With dryRun everything but the unlink happens. It costs six system calls.
func (s *Store) Expire(ctx context.Context, info Info, olderThan func(mtime time.Time) bool, dryRun bool) (ExpireResult, error) {
	return s.expire(ctx, info, olderThan, dryRun)
}

func (s *Store) expire(ctx context.Context, info Info, olderThan func(time.Time) bool, dryRun bool) (ExpireResult, error) {
	res := ExpireResult{Outcome: ExpireError}
	if err := s.sp.checkID(info.ID); err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if olderThan == nil {
		return res, errors.New("sessfile: Expire with a nil olderThan")
	}
	dfd, release, err := s.dirs.acquire(info.ID[:s.sp.Depth])
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			res.Outcome = ExpireVanished
			return res, nil
		}
		return res, fmt.Errorf("session %q: %w", info.ID, err)
	}
	defer release()
	name := filePrefix + info.ID
	path := s.sp.join(s.relPath(info.ID))
	fd, err := openatRetry(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	switch {
	case err == nil:
	case errors.Is(err, unix.ENOENT):
		res.Outcome = ExpireVanished
		return res, nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.ENXIO), errors.Is(err, unix.ENODEV):
		res.Outcome = ExpireSkippedNotRegular
		return res, nil
	default:
		return res, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd) // releases the lock too
	locked, err := flock.TryLockFD(fd, flock.Exclusive)
	if err != nil {
		return res, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	if !locked {
		res.Outcome = ExpireSkippedInUse
		return res, nil
	}
	var st, byName unix.Stat_t
	if err := fstat(fd, &st); err != nil {
		return res, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		res.Outcome = ExpireSkippedNotRegular
		return res, nil
	}
	if !olderThan(modTime(&st)) {
		res.Outcome = ExpireSkippedTouched
		return res, nil
	}
	if err := fstatat(dfd, name, &byName); err != nil || byName.Dev != st.Dev || byName.Ino != st.Ino {
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return res, &fs.PathError{Op: "stat", Path: path, Err: err}
		}
		res.Outcome = ExpireVanished
		return res, nil
	}
	if !dryRun {
		if err := retryEINTR(func() error { return unix.Unlinkat(dfd, name, 0) }); err != nil {
			if errors.Is(err, unix.ENOENT) {
				res.Outcome = ExpireVanished
				return res, nil
			}
			return res, &fs.PathError{Op: "unlink", Path: path, Err: err}
		}
	}
	res.Outcome = ExpireDeleted
	res.Bytes = st.Size
	return res, nil
}
