package sessmemcache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sesstool/sesstool/store"
)

// SweepResult and SweepOptions are the store package's.
type (
	SweepResult  = store.SweepResult
	SweepOptions = store.SweepOptions
)

// Sweep deletes what memcached never expires by itself: session items
// without an expiry not touched for longer than IdleMax (PHP always gives
// one), and lock items without an expiry (php-memcached's lock from a
// request with max_execution_time 0, such as the CLI) older than LockAge
// whose session was not touched for as long. Each delete compares the CAS
// the dump showed, so an item written since is kept (SkippedInUse), as is
// a session whose lock is held. Items with an expiry are memcached's to
// expire: scanned, never deleted.
func (s *Store) Sweep(ctx context.Context, o SweepOptions) (SweepResult, error) {
	var res SweepResult
	now := time.Now()
	// The dumps only collect: nothing is asked of a server while a dump is
	// being read (see Walk), so the candidates are checked and deleted
	// after every dump has ended.
	var wg sync.WaitGroup
	errs := make([]error, len(s.servers))
	scanned := make([]int64, len(s.servers))
	cands := make([][]lockDump, len(s.servers))
	for si, c := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[si] = c.metadump(ctx, nil, func(d dumped) error {
				id, lock, ok := s.classify(d.key)
				if !ok {
					return nil
				}
				if !lock {
					scanned[si]++
				}
				if d.exp >= 0 {
					return nil
				}
				idle := now.Sub(time.Unix(d.la, 0))
				if lock && idle > o.LockAge || !lock && idle > o.IdleMax {
					cands[si] = append(cands[si], lockDump{id: id, server: si, d: d})
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for si, err := range errs {
		if err != nil {
			return res, serverErr(s.servers[si].name, err)
		}
		res.Scanned += scanned[si]
	}
	report := func(id string, n int64, lock bool) {
		if o.OnDeleted != nil {
			o.OnDeleted(id, n, lock)
		}
	}
	for si, cs := range cands {
		c := s.servers[si]
		for _, cd := range cs {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			_, lock, _ := s.classify(cd.d.key)
			t, _ := s.target(cd.id)
			if lock {
				// The session must not have been touched for as long.
				if it, _, err := s.readCopy(ctx, t, false); err == nil && it.found && it.idle >= 0 && time.Duration(it.idle)*time.Second < o.LockAge {
					res.SkippedInUse++
					continue
				}
			} else if held, _ := s.lockState(ctx, t); held {
				res.SkippedInUse++
				continue
			}
			ok := true
			if !o.DryRun {
				var err error
				if ok, err = c.delIfCAS(ctx, cd.d.key, cd.d.cas); err != nil {
					res.Errors++
					if o.OnError != nil {
						o.OnError(cd.id, err)
					}
					continue
				}
			}
			switch {
			case !ok:
				res.SkippedInUse++ // written since the dump
			case lock:
				res.StaleLocks++
				report(cd.id, cd.d.size, true)
			default:
				res.Deleted++
				res.BytesFreed += cd.d.size
				report(cd.id, cd.d.size, false)
			}
		}
	}
	return res, nil
}

// ErrNotLocked is Unlock's error for a session nobody holds locked.
var ErrNotLocked = errors.New("not locked")

// Unlock removes session id's lock item when it was taken longer than
// minAge ago (memcached's time since the item was last touched), or at
// once with force. It returns the lock as it was. The removal compares
// the item's CAS, so a lock taken again meanwhile is kept. pecl memcache's
// lock is released as PHP releases it (set to "0").
func (s *Store) Unlock(ctx context.Context, id string, minAge time.Duration, force bool) (store.Lock, error) {
	t, err := s.target(id)
	if err != nil {
		return store.Lock{}, err
	}
	// pecl memcache: the lock is on the first of the session's servers
	// that answers, as PHP takes it.
	var c *client
	var it item
	cands := s.lockServers(&t)
	for i, si := range cands {
		c = s.servers[si]
		if it, err = c.mg(ctx, t.lockKey, true); err == nil || !unreachable(err) || i+1 == len(cands) {
			break
		}
	}
	if err != nil {
		return store.Lock{}, fmt.Errorf("session %q: %w", id, err)
	}
	if !it.found || s.handler == "memcache" && string(it.value) == "0" {
		return store.Lock{}, fmt.Errorf("session %q: %w (no lock item %q on %s)", id, ErrNotLocked, t.lockKey, c.name)
	}
	l := store.Lock{ID: id, Kind: "memcached lock key", Where: c.name}
	if s.handler == "memcache" {
		l.Kind = "memcache lock item"
	}
	if it.idle >= 0 {
		l.Age = time.Duration(it.idle) * time.Second
	}
	if it.hasTTL {
		l.TTL, l.HasTTL = time.Duration(it.ttl)*time.Second, true
	}
	if !force && l.Age < minAge {
		return l, fmt.Errorf("session %q: its lock is only %s old, less than --older-than %s: a request may be running; --force removes it anyway", id, l.Age, minAge)
	}
	var ok bool
	if s.handler == "memcache" {
		var r string
		r, err = c.store(ctx, "cas", t.lockKey, FlagLong, s.lockExpire(), []byte("0"), it.cas)
		ok = r == stored
	} else {
		ok, err = c.delIfCAS(ctx, t.lockKey, it.cas)
	}
	if err != nil {
		return l, fmt.Errorf("session %q: %w", id, err)
	}
	if !ok {
		return l, fmt.Errorf("session %q: its lock changed hands meanwhile; nothing removed", id)
	}
	return l, nil
}
