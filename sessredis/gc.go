package sessredis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesstool/sesstool/store"
)

// SweepResult and SweepOptions are the store package's, shared with the
// other key-value stores.
type (
	SweepResult  = store.SweepResult
	SweepOptions = store.SweepOptions
)

// idleScript deletes KEYS[1] only if it still has no TTL and no lock key
// KEYS[2] exists: the check and the DEL are one step on the server.
// OBJECT IDLETIME would be reset by nothing here (no read).
// It returns the memory the key held, -1 when the session is locked, -2
// when it got a TTL or a write since the scan.
var idleScript = redis.NewScript(`if redis.call("pttl", KEYS[1]) ~= -1 then return -2 end
if KEYS[2] and redis.call("exists", KEYS[2]) == 1 then return -1 end
if redis.call("object", "idletime", KEYS[1]) <= tonumber(ARGV[1]) then return -2 end
local n = redis.call("memory", "usage", KEYS[1])
redis.call("del", KEYS[1])
return n`)

// staleLockScript deletes the lock KEYS[1] only if it still holds ARGV[1]
// (no other request took it meanwhile) and still has no expiry.
var staleLockScript = redis.NewScript(`if redis.call("get", KEYS[1]) ~= ARGV[1] or redis.call("pttl", KEYS[1]) ~= -1 then return 0 end
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
			res.Add(r)
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
			rest, ok := strings.CutPrefix(k, prefix)
			if !ok {
				continue // not what SCAN MATCH asked for: never trusted
			}
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
					if s.cluster == nil && c.Exists(ctx, k+LockSuffix).Val() == 1 {
						res.SkippedInUse++
						continue
					}
					// MEMORY USAGE touches no key's idle time (STRLEN would,
					// and a dry run must not put off the real one).
					n, _ = c.MemoryUsage(ctx, k).Result()
				} else {
					keys := []string{k, k + LockSuffix}
					if s.cluster != nil {
						keys = keys[:1] // another slot; phpredis never locks in a cluster
					}
					d, err := idleScript.Run(ctx, c, keys, int64(o.IdleMax/time.Second)).Int64()
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
			case isLock && o.LockAge > 0:
				// Stale: no expiry, the session unwritten (or the lock
				// idle) longer than LockAge, no live holder here.
				l, err := s.lockInfo(ctx, c, server, id, prefix+id)
				if err != nil || l.HasTTL || l.Age <= o.LockAge || holderAlive(l.Holder) {
					continue
				}
				if !o.DryRun {
					d, err := staleLockScript.Run(ctx, c, []string{k}, l.Holder).Int()
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

// lockInfo reads session id's lock (its data key is key): the holder, its
// expiry, and how long it has kept the session unwritten: since the
// session's last write when the session has PHP's TTL (maxlifetime − TTL;
// no request can write while another holds the lock), else the lock key's
// idle time (read before anything that resets it). ErrNotLocked when there
// is no lock key.
func (s *Store) lockInfo(ctx context.Context, c redis.Cmdable, server, id, key string) (store.Lock, error) {
	lk := key + LockSuffix
	idle, err := c.ObjectIdleTime(ctx, lk).Result() // before GET, which resets it
	if errors.Is(err, redis.Nil) {
		return store.Lock{}, fmt.Errorf("session %q: %w", id, ErrNotLocked)
	}
	if err != nil {
		return store.Lock{}, unreachable(server, err)
	}
	var hold *redis.StringCmd
	var lttl, sttl *redis.DurationCmd
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		hold = p.Get(ctx, lk)
		lttl = p.PTTL(ctx, lk)
		sttl = p.PTTL(ctx, key)
		return nil
	})
	if errors.Is(hold.Err(), redis.Nil) {
		return store.Lock{}, fmt.Errorf("session %q: %w", id, ErrNotLocked)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.Lock{}, unreachable(server, err)
	}
	l := store.Lock{ID: id, Holder: hold.Val(), Kind: "redis lock key " + lk, Where: server, Age: idle}
	if d := pttl(lttl); d >= 0 {
		l.TTL, l.HasTTL = d, true
	}
	if d, ml := pttl(sttl), s.maxLifetime(); d >= 0 && d <= ml {
		l.Age = ml - d
	}
	return l, nil
}

// holderAlive reports whether a lock's holder ("host|pid", phpredis'
// secret) is a process running on this machine now.
func holderAlive(holder string) bool {
	host, rest, ok := strings.Cut(holder, "|")
	if !ok {
		return false
	}
	me, _ := os.Hostname()
	if host != me {
		return false // another machine's: cannot tell
	}
	pidStr, _, _ := strings.Cut(rest, "|")
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return false
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ErrNotLocked is Unlock's error for a session nobody holds locked.
var ErrNotLocked = errors.New("not locked")

// Unlock removes session id's lock key when it has kept the session
// unwritten longer than minAge (lockInfo's Age), or at once with force;
// never a lock whose holder is a live process on this machine, unless
// force. It returns the lock as it was. The delete compares the holder read,
// so a lock taken again meanwhile by another request is kept.
func (s *Store) Unlock(ctx context.Context, id string, minAge time.Duration, force bool) (store.Lock, error) {
	t, err := s.target(id)
	if err != nil {
		return store.Lock{}, err
	}
	if s.cluster != nil {
		return store.Lock{}, fmt.Errorf("session %q: phpredis takes no locks in a cluster: %w", id, ErrNotLocked)
	}
	l, err := s.lockInfo(ctx, t.c, t.server, id, t.key)
	if err != nil {
		return l, err
	}
	if !force && holderAlive(l.Holder) {
		return l, fmt.Errorf("session %q: its lock is held by %q, a process running on this machine: a request may be running; --force removes it anyway", id, l.Holder)
	}
	if !force && l.Age < minAge {
		return l, fmt.Errorf("session %q: its lock (held by %q) is only %s old, less than --older-than %s: a request may be running; --force removes it anyway", id, l.Holder, l.Age.Truncate(time.Second), minAge)
	}
	n, err := releaseScript.Run(ctx, t.c, []string{t.key + LockSuffix}, l.Holder).Int()
	if err != nil {
		return l, fmt.Errorf("session %q: %w", id, err)
	}
	if n == 0 {
		return l, fmt.Errorf("session %q: its lock changed hands meanwhile; nothing removed", id)
	}
	return l, nil
}
