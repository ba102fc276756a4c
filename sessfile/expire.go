package sessfile

import (
	"context"
	"time"
)

// ExpireOutcome is what Expire did with one session.
type ExpireOutcome int

// The outcomes of Expire.
const (
	ExpireError          ExpireOutcome = iota // something failed (the error says what)
	ExpireDeleted                             // deleted (or, dry run, would have been)
	ExpireSkippedInUse                        // locked by someone (a running request): left alone
	ExpireSkippedTouched                      // modified since the walk (no longer old enough): left alone
	ExpireVanished                            // gone, or replaced by another file, before it could be locked
	ExpireSkippedNotRegular                   // not a regular file (symlink, directory, FIFO): left alone
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
