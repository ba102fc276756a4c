package sessmemcache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
// expire: scanned, never deleted. A session with copies (pecl memcache's
// redundancy, php-memcached's replicas) is one session: scanned once, and
// deleted (every copy without expiry), reported and counted once.
//
// A server that cannot be reached is passed over: what the others hold is
// swept, and the error, a *PartialError, names it (as Walk's does).
func (s *Store) Sweep(ctx context.Context, o SweepOptions) (SweepResult, error) {
	var res SweepResult
	now := time.Now()
	copies := s.handler == "memcache" || s.opts.Replicas > 0 && len(s.servers) > 1
	// The dumps only collect: nothing is asked of a server while a dump is
	// being read (see Walk), so the candidates are checked and deleted
	// after every dump has ended.
	var wg sync.WaitGroup
	errs := make([]error, len(s.servers))
	scanned := make([]int64, len(s.servers))
	hashes := make([][]uint64, len(s.servers)) // with copies: each copy's idHash
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
					if copies {
						hashes[si] = append(hashes[si], idHash(id))
					} else {
						scanned[si]++
					}
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
	down := map[int]error{}
	for si, err := range errs {
		switch {
		case err == nil:
		case unreachable(err) && ctx.Err() == nil && len(s.servers) > 1:
			down[si] = err
		default:
			return res, serverErr(s.servers[si].name, err)
		}
	}
	if len(down) == len(s.servers) {
		return res, down[0]
	}
	var all []uint64
	for si := range s.servers {
		res.Scanned += scanned[si]
		all = append(all, hashes[si]...)
		hashes[si] = nil
	}
	slices.Sort(all)
	res.Scanned += int64(len(slices.Compact(all)))
	all = nil

	// One group per session (and per session's lock), its copies' items
	// in server order.
	type group struct {
		id    string
		lock  bool
		items []lockDump
	}
	var groups []*group
	byID := map[string]*group{}
	for _, cs := range cands {
		for _, cd := range cs {
			_, lock, _ := s.classify(cd.d.key)
			k := cd.id
			if lock {
				k += "\x00lock"
			}
			g := byID[k]
			if g == nil {
				g = &group{id: cd.id, lock: lock}
				byID[k] = g
				groups = append(groups, g)
			}
			g.items = append(g.items, cd)
		}
	}
	report := func(id string, n int64, lock bool) {
		if o.OnDeleted != nil {
			o.OnDeleted(id, n, lock)
		}
	}
	for _, g := range groups {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t, _ := s.target(g.id)
		if g.lock {
			// The session must not have been touched for as long.
			if it, _, err := s.readCopy(ctx, t, false); err == nil && it.found && it.idle >= 0 && time.Duration(it.idle)*time.Second < o.LockAge {
				res.SkippedInUse++
				continue
			}
		} else if held, err := s.lockState(ctx, t); held || err != nil {
			res.SkippedInUse++ // held, or its lock's server does not say
			continue
		}
		var freed int64
		deleted := false
		for _, cd := range g.items {
			ok := true
			if !o.DryRun {
				var err error
				if ok, err = s.servers[cd.server].delIfCAS(ctx, cd.d.key, cd.d.cas); err != nil {
					res.Errors++
					if o.OnError != nil {
						o.OnError(g.id, err)
					}
					continue
				}
			}
			if ok {
				deleted = true
				freed += cd.d.size
			}
		}
		switch {
		case !deleted:
			res.SkippedInUse++ // written since the dump (or not deleted)
		case g.lock:
			res.StaleLocks++
			report(g.id, freed, true)
		default:
			res.Deleted++
			res.BytesFreed += freed
			report(g.id, freed, false)
		}
	}
	if len(down) > 0 {
		return res, s.partialError(down, "swept what")
	}
	return res, nil
}

// PartialError is the one error of a listing or sweep that went on
// without the servers it could not reach: it names each of them and says
// the rest was done.
type PartialError struct{ err error }

func (e *PartialError) Error() string { return e.err.Error() }
func (e *PartialError) Unwrap() error { return e.err }

// Partial reports that the work was done on the servers that answered.
func (e *PartialError) Partial() bool { return true }

// partialError names the servers in down: "<each one's error>; <did> the
// other N servers hold".
func (s *Store) partialError(down map[int]error, did string) error {
	var parts []string
	for si := range s.servers {
		if err, ok := down[si]; ok {
			parts = append(parts, err.Error())
		}
	}
	n := len(s.servers) - len(down)
	return &PartialError{fmt.Errorf("%s; %s the other %d server%s hold", strings.Join(parts, "; "), did, n, map[bool]string{true: "s", false: ""}[n != 1])}
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
