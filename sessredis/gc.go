package sessredis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesstool/sesstool/store"
)

// SweepResult says what Sweep did.
type SweepResult struct {
	Scanned      int64 // session keys looked at
	Deleted      int64 // session keys deleted (or, dry, that would be)
	BytesFreed   int64 // the memory the deleted keys held (MEMORY USAGE)
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
	// died holding it: phpredis 5.3.7 then keeps the session read-only).
	LockAge time.Duration
	DryRun  bool
	// OnDeleted is called for each key deleted (or, dry, to delete):
	// lock is true for a lock key.
	OnDeleted func(id string, bytes int64, lock bool)
	// OnError is called for each key that could not be handled.
	OnError func(id string, err error)
}

// idleScript deletes KEYS[1] only if it still has no TTL and no lock key
// KEYS[2] exists: the check and the DEL are one step on the server.
// OBJECT IDLETIME would be reset by nothing here (no read).
// It returns the memory the key held, -1 when the session is locked, -2
// when it got a TTL or a write since the scan.
var idleScript = redis.NewScript(`if redis.call("pttl", KEYS[1]) ~= -1 then return -2 end
if redis.call("exists", KEYS[2]) == 1 then return -1 end
if redis.call("object", "idletime", KEYS[1]) <= tonumber(ARGV[1]) then return -2 end
local n = redis.call("memory", "usage", KEYS[1])
redis.call("del", KEYS[1])
return n`)

// staleLockScript deletes the lock KEYS[1] only if it still has no expiry
// and is idle longer than ARGV[1] seconds, and its session KEYS[2] was not
// written for as long (no GET: that would reset the idle times).
var staleLockScript = redis.NewScript(`if redis.call("pttl", KEYS[1]) ~= -1 then return 0 end
if redis.call("object", "idletime", KEYS[1]) <= tonumber(ARGV[1]) then return 0 end
if redis.call("exists", KEYS[2]) == 1 and redis.call("object", "idletime", KEYS[2]) <= tonumber(ARGV[1]) then return 0 end
return redis.call("del", KEYS[1])`)

// Sweep deletes what Redis never expires by itself: session keys without a
// TTL idle longer than IdleMax (read with OBJECT IDLETIME before anything
// that would reset it), and lock keys without expiry idle longer than
// LockAge whose session was not written meanwhile. Each delete is checked
// again on the server in the same step (a script), so a key that got a
// TTL, a lock or a write since the scan is kept (SkippedInUse). Sessions
// with a TTL are Redis' to expire: they are scanned, never deleted.
func (s *Store) Sweep(ctx context.Context, o SweepOptions) (SweepResult, error) {
	var res SweepResult
	if s.cluster != nil {
		var mu chanMutex = make(chan struct{}, 1)
		err := s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			var r SweepResult
			err := s.sweepServer(ctx, c, s.prefix, c.Options().Addr, o, &r, mu)
			mu.lock()
			res.add(r)
			mu.unlock()
			return err
		})
		return res, err
	}
	for _, n := range s.nodes {
		if n.dup {
			continue
		}
		if err := s.sweepServer(ctx, n.c, n.host.Prefix, n.host.Addr, o, &res, nil); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *SweepResult) add(o SweepResult) {
	r.Scanned += o.Scanned
	r.Deleted += o.Deleted
	r.BytesFreed += o.BytesFreed
	r.SkippedInUse += o.SkippedInUse
	r.StaleLocks += o.StaleLocks
	r.Errors += o.Errors
}

func (s *Store) sweepServer(ctx context.Context, c *redis.Client, prefix, server string, o SweepOptions, res *SweepResult, mu chanMutex) error {
	call := func(f func()) {
		if mu != nil {
			mu.lock()
			defer mu.unlock()
		}
		f()
	}
	fail := func(id string, err error) {
		res.Errors++
		if o.OnError != nil {
			call(func() { o.OnError(id, err) })
		}
	}
	match := globEscape(prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, match, scanCount).Result()
		if err != nil {
			return unreachable(server, err)
		}
		// One pipeline per batch: idle time first (nothing else here
		// resets it), then the TTL.
		idles := make([]*redis.DurationCmd, len(keys))
		ttls := make([]*redis.DurationCmd, len(keys))
		_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range keys {
				idles[i] = p.ObjectIdleTime(ctx, k)
				ttls[i] = p.PTTL(ctx, k)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return unreachable(server, err)
		}
		for i, k := range keys {
			rest := k[len(prefix):]
			id, isLock := strings.CutSuffix(rest, LockSuffix)
			if store.ValidateID(id) != nil || ttls[i].Err() != nil || idles[i].Err() != nil {
				continue
			}
			ttl, idle := pttl(ttls[i]), idles[i].Val()
			if !isLock {
				res.Scanned++
			}
			if ttl != -1 {
				continue // Redis expires it
			}
			switch {
			case !isLock && idle > o.IdleMax:
				var n int64
				if o.DryRun {
					if c.Exists(ctx, k+LockSuffix).Val() == 1 {
						res.SkippedInUse++
						continue
					}
					// MEMORY USAGE touches no key's idle time (STRLEN would,
					// and a dry run must not put off the real one).
					n, _ = c.MemoryUsage(ctx, k).Result()
				} else {
					d, err := idleScript.Run(ctx, c, []string{k, k + LockSuffix}, int64(o.IdleMax/time.Second)).Int64()
					switch {
					case err != nil:
						fail(id, err)
						continue
					case d < 0:
						res.SkippedInUse++ // locked, or written or given a TTL since the scan
						continue
					}
					n = d
				}
				res.Deleted++
				res.BytesFreed += n
				if o.OnDeleted != nil {
					call(func() { o.OnDeleted(id, n, false) })
				}
			case isLock && o.LockAge > 0 && idle > o.LockAge:
				// Stale only if its session was not written since.
				if sessIdle, err := c.ObjectIdleTime(ctx, prefix+id).Result(); err == nil && sessIdle <= o.LockAge {
					continue
				}
				if !o.DryRun {
					d, err := staleLockScript.Run(ctx, c, []string{k, prefix + id}, int64(o.LockAge/time.Second)).Int()
					if err != nil {
						fail(id, err)
						continue
					}
					if d == 0 {
						continue
					}
				}
				res.StaleLocks++
				if o.OnDeleted != nil {
					call(func() { o.OnDeleted(id, 0, true) })
				}
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// ErrNotLocked is Unlock's error for a session nobody holds locked.
var ErrNotLocked = errors.New("not locked")

// Unlock removes session id's lock key when it has been held longer than
// minAge (its idle time: nothing but its owner's SET writes it), or at
// once with force. It returns the lock as it was. The delete compares the
// value read, so a lock taken again meanwhile by a new request is kept.
func (s *Store) Unlock(ctx context.Context, id string, minAge time.Duration, force bool) (store.Lock, error) {
	t, err := s.target(id)
	if err != nil {
		return store.Lock{}, err
	}
	if s.cluster != nil {
		return store.Lock{}, fmt.Errorf("session %q: phpredis takes no locks in a cluster: %w", id, ErrNotLocked)
	}
	lk := t.key + LockSuffix
	idle, err := t.c.ObjectIdleTime(ctx, lk).Result() // before GET, which resets it
	if errors.Is(err, redis.Nil) {
		return store.Lock{}, fmt.Errorf("session %q: %w", id, ErrNotLocked)
	}
	if err != nil {
		return store.Lock{}, unreachable(t.server, err)
	}
	holder, err := t.c.Get(ctx, lk).Result()
	if errors.Is(err, redis.Nil) {
		return store.Lock{}, fmt.Errorf("session %q: %w", id, ErrNotLocked)
	}
	if err != nil {
		return store.Lock{}, unreachable(t.server, err)
	}
	l := store.Lock{ID: id, Holder: holder, Kind: "redis lock key " + lk, Where: t.server, Age: idle}
	if d := t.c.PTTL(ctx, lk).Val(); d > 0 {
		l.TTL, l.HasTTL = d, true
	}
	if !force && idle < minAge {
		return l, fmt.Errorf("session %q: its lock (held by %q) is only %s old, less than --older-than %s: a request may be running; --force removes it anyway", id, holder, idle, minAge)
	}
	n, err := releaseScript.Run(ctx, t.c, []string{lk}, holder).Int()
	if err != nil {
		return l, fmt.Errorf("session %q: %w", id, err)
	}
	if n == 0 {
		return l, fmt.Errorf("session %q: its lock changed hands meanwhile; nothing removed", id)
	}
	return l, nil
}
