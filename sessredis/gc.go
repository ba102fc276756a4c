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
				// Stale: no expiry, the lock key idle longer than LockAge
				// (its age, or less), the session not written meanwhile
				// (when its TTL tells), no live holder here. The idle time
				// is looked at first: lockState's GET resets it where
				// CLIENT NO-TOUCH is missing (Redis before 7.2).
				if idle <= o.LockAge {
					continue
				}
				l, unwritten, err := s.lockState(ctx, c, server, id, prefix+id)
				if err != nil || l.HasTTL || l.Age <= o.LockAge || unwritten >= 0 && unwritten <= o.LockAge || holderAlive(l.Holder) {
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
// expiry and its age, worked out from the lock key itself, never from the
// session (a request locks a session some time after its last write, so
// the time since that write says nothing of how long the lock is held):
//
//   - a lock with a TTL: the expiry it was set with (lockExpireFor: phpredis'
//     lock_expire, else max_execution_time, the PX of its SET NX) less the
//     TTL left, which is exact while the expiry is the one PHP used;
//   - else (no expiry, or a TTL above the expiry sesstool knows): the lock
//     key's OBJECT IDLETIME, read before anything that resets it. It is
//     never more than the lock's age (the SET NX that took it touched the
//     key), but less when a waiting request's SET NX, or a read by a
//     client that does not run CLIENT NO-TOUCH (Redis before 7.2), touched
//     the key since: too young, never too old.
//
// unwritten is how long the session has gone unwritten (gc_maxlifetime −
// its TTL), -1 when that cannot be told. ErrNotLocked when there is no
// lock key.
func (s *Store) lockInfo(ctx context.Context, c redis.Cmdable, server, id, key string) (store.Lock, error) {
	l, _, err := s.lockState(ctx, c, server, id, key)
	return l, err
}

func (s *Store) lockState(ctx context.Context, c redis.Cmdable, server, id, key string) (l store.Lock, unwritten time.Duration, err error) {
	lk := key + LockSuffix
	idle, err := c.ObjectIdleTime(ctx, lk).Result() // before GET, which resets it
	if errors.Is(err, redis.Nil) {
		return store.Lock{}, -1, fmt.Errorf("session %q: %w", id, ErrNotLocked)
	}
	if err != nil {
		return store.Lock{}, -1, unreachable(server, err)
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
		return store.Lock{}, -1, fmt.Errorf("session %q: %w", id, ErrNotLocked)
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.Lock{}, -1, unreachable(server, err)
	}
	l = store.Lock{ID: id, Holder: hold.Val(), Kind: "redis lock key " + lk, Where: server, Age: idle}
	if d := pttl(lttl); d >= 0 {
		l.TTL, l.HasTTL = d, true
		if e := s.lockExpireFor(l.Holder); e > 0 && d <= e {
			l.Age = e - d
		}
	}
	unwritten = -1
	if d, ml := pttl(sttl), s.maxLifetime(); d >= 0 && d <= ml {
		unwritten = ml - d
	}
	return l, unwritten, nil
}

// lockExpireFor is the expiry a lock held by holder was taken with: a
// sesstool's own (its secret ends in "|sesstool-…") sesstool's lock expiry,
// PHP's redis.session.lock_expire, else max_execution_time (Options'
// LockExpire); 0 when not known (both 0: PHP then sets no expiry, so a TTL
// is from a request configured otherwise).
func (s *Store) lockExpireFor(holder string) time.Duration {
	if strings.Contains(holder, "|sesstool-") {
		return s.lockExpire()
	}
	return s.opts.LockExpire
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

// Unlock removes session id's lock key when it has been held longer than
// minAge (lockInfo's Age, from the lock key: never more than its real
// age), or at once with force;
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
		if !l.HasTTL {
			return l, fmt.Errorf("session %q: its lock (held by %q, no expiry) has been idle only %s, less than --older-than %s: a request may be running (the idle time is the lock's age or less: a waiting request resets it, and so does a read on Redis before 7.2); --force removes it anyway", id, l.Holder, l.Age.Truncate(time.Second), minAge)
		}
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
