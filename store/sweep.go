package store

import (
	"context"
	"time"
)

// SweepResult says what Sweep did.
type SweepResult struct {
	Scanned      int64 // session keys looked at
	Deleted      int64 // session keys deleted (or, dry, that would be)
	BytesFreed   int64 // the memory the deleted keys held (MEMORY USAGE on Redis)
	SkippedInUse int64 // locked, or written since the scan
	StaleLocks   int64 // lock keys deleted (or, dry, that would be)
	Errors       int64
}

// SweepOptions tune Sweep.
type SweepOptions struct {
	// IdleMax: a session key without a TTL idle longer than this is
	// deleted (PHP always gives one; a key without is a leftover).
	IdleMax time.Duration
	// LockAge: a lock key without expiry idle longer than this, whose
	// session was not written for as long, is deleted (a request that
	// died holding it).
	LockAge time.Duration
	DryRun  bool
	// OnDeleted is called for each key deleted (or, dry, to delete):
	// lock is true for a lock key.
	OnDeleted func(id string, bytes int64, lock bool)
	// OnError is called for each key that could not be handled.
	OnError func(id string, err error)
}

// Add adds o's counts to r.
func (r *SweepResult) Add(o SweepResult) {
	r.Scanned += o.Scanned
	r.Deleted += o.Deleted
	r.BytesFreed += o.BytesFreed
	r.SkippedInUse += o.SkippedInUse
	r.StaleLocks += o.StaleLocks
	r.Errors += o.Errors
}

// Sweeper is a key-value store's gc: it deletes what the store never
// expires by itself (sessions without a TTL, stale lock keys).
type Sweeper interface {
	Sweep(ctx context.Context, o SweepOptions) (SweepResult, error)
}

// Unlocker removes a stale lock of a key-value store: only one held longer
// than minAge, unless force; it returns the lock as it was.
type Unlocker interface {
	Unlock(ctx context.Context, id string, minAge time.Duration, force bool) (Lock, error)
}
