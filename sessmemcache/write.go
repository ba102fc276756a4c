package sessmemcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sesstool/sesstool/store"
)

// maxRelative is the longest expiry memcached reads as relative (30
// days); a larger one is an absolute unix time.
const maxRelative = 30 * 24 * 3600

// locking reports whether changes take the extension's lock.
func (s *Store) locking() bool { return s.handler == "memcache" || s.opts.Locking }

func (s *Store) lockExpire() int64 {
	d := s.opts.LockExpire
	if d <= 0 {
		d = 30 * time.Second
	}
	return max(int64(d/time.Second), 1)
}

// unreachable reports whether err is a server sesstool could not talk to
// (refused, timed out, gone mid-reply).
func unreachable(err error) bool {
	var ue *unreachableError
	return errors.As(err, &ue)
}

// lockServers are the servers a session's lock may be taken on, in the
// order PHP tries them: php-memcached's lock key's one server; pecl
// memcache's session servers, since PS_READ_FUNC(memcache) takes the lock
// on the first of them it can reach (a server it cannot connect to is
// skipped, and the lock, the read and the write move on to the next one
// mmc_pool_find_next names).
func (s *Store) lockServers(t *target) []int {
	if s.handler == "memcache" {
		return t.data
	}
	return []int{t.lock}
}

// lock takes session t's lock with its extension's protocol, waiting up to
// LockTimeout (backing off from 5 ms to 100 ms), and returns its release;
// t.lock is then the server it was taken on.
//
// php-memcached: add of the lock key, value "1", on the server that key
// hashes to; sesstool's add also returns the item's CAS, so the release
// (a delete compared with it) never removes a lock someone else took after
// ours expired. pecl memcache: incr of <key>.lock, then add of it (flags
// 768, value 1) when missing; taken when the incr gives 1 or the add
// stores; released as PHP releases it, by setting it to "0". A pecl
// memcache server that cannot be reached is passed over for the next of
// the session's servers, as PHP passes over it.
func (s *Store) lock(ctx context.Context, t *target) (release func(), err error) {
	if !s.locking() {
		return func() {}, nil
	}
	var deadline time.Time
	if s.opts.LockTimeout > 0 {
		deadline = time.Now().Add(s.opts.LockTimeout)
	}
	cands := s.lockServers(t)
	for i, si := range cands {
		release, err = s.lockOn(ctx, t, si, deadline)
		if err != nil && unreachable(err) && i+1 < len(cands) {
			t.down = append(t.down, si)
			continue
		}
		if err == nil {
			t.lock = si
		}
		return release, err
	}
	return nil, fmt.Errorf("session %q: no server to lock it on", t.id) // not reached
}

func (s *Store) lockOn(ctx context.Context, t *target, si int, deadline time.Time) (release func(), err error) {
	c := s.servers[si]
	wait := 5 * time.Millisecond
	start := time.Now()
	notified := s.opts.OnLockWait == nil || s.opts.LockTimeout == 0
	for {
		if s.handler == "memcache" {
			v, found, err := c.incr(ctx, t.lockKey, 1)
			if err != nil {
				return nil, fmt.Errorf("session %q: taking its lock: %w", t.id, err)
			}
			taken := found && v == 1
			if !found {
				r, err := c.store(ctx, "add", t.lockKey, FlagLong, s.lockExpire(), []byte("1"), 0)
				if err != nil {
					return nil, fmt.Errorf("session %q: taking its lock: %w", t.id, err)
				}
				taken = r == stored
			}
			if taken {
				return func() {
					ctx, cancel := context.WithTimeout(context.Background(), s.opts.timeout())
					defer cancel()
					_, _ = c.store(ctx, "set", t.lockKey, FlagLong, s.lockExpire(), []byte("0"), 0)
				}, nil
			}
		} else {
			ok, cas, err := c.addCAS(ctx, t.lockKey, 0, s.lockExpire(), []byte("1"))
			if err != nil {
				return nil, fmt.Errorf("session %q: taking its lock: %w", t.id, err)
			}
			if ok {
				return func() {
					ctx, cancel := context.WithTimeout(context.Background(), s.opts.timeout())
					defer cancel()
					_, _ = c.delIfCAS(ctx, t.lockKey, cas)
				}, nil
			}
		}
		if s.opts.LockTimeout == 0 || !deadline.IsZero() && time.Now().Add(wait).After(deadline) {
			return nil, &store.LockTimeoutError{ID: t.id, Timeout: s.opts.LockTimeout}
		}
		if !notified && time.Since(start) >= time.Second {
			// The lock's value is "1": it names no holder.
			notified = true
			s.opts.OnLockWait(t.id, "")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// downWarning says which of a session's servers could not be reached and
// so were not written, as PHP does not write them either.
func (s *Store) downWarning(t *target, did string) string {
	if len(t.down) == 0 {
		return ""
	}
	var down []int
	for _, si := range t.data {
		if slices.Contains(t.down, si) {
			down = append(down, si)
		}
	}
	var up []int
	for _, si := range t.data {
		if !slices.Contains(t.down, si) {
			up = append(up, si)
		}
	}
	names := strings.Join(s.names(down), ", ")
	if s.handler == "memcache" {
		return fmt.Sprintf("memcached %s: cannot reach it; session %q %s on %s only, as pecl memcache does while a server is down (the copy %s holds is left as it was, and PHP reads that copy first again once the server is back)", names, t.id, did, strings.Join(s.names(up), ", "), names)
	}
	return fmt.Sprintf("memcached %s: cannot reach it; session %q %s on %s only, as php-memcached leaves a replica it cannot reach", names, t.id, did, strings.Join(s.names(up), ", "))
}

// expiry is the exptime of a write: a fresh maxlifetime (Touch, or a new
// session) as the extension writes it (php-memcached: relative up to 30
// days, absolute beyond; pecl memcache: always absolute), else the
// session's remaining TTL (none stays none).
func (s *Store) expiry(old item, exists bool, now time.Time) int64 {
	if s.opts.Touch || !exists {
		ml := int64(s.opts.MaxLifetime / time.Second)
		if s.handler == "memcache" || ml > maxRelative {
			return now.Unix() + ml
		}
		return ml
	}
	if !old.hasTTL {
		return 0
	}
	ttl := max(old.ttl, 1)
	if ttl > maxRelative {
		return now.Unix() + ttl
	}
	return ttl
}

// errRetry is a write that lost a race (CAS mismatch, or the session came
// or went meanwhile): Update reads again.
var errRetry = errors.New("changed meanwhile")

const maxRetries = 20

// Update reads the session under its lock, runs fn and writes the result
// with CAS (so that a concurrent change, by a request that ignored the
// lock or with locking off, is never overwritten: Update reads again and
// runs fn again), then every other copy (pecl memcache's redundant
// servers, php-memcached's replicas).
func (s *Store) Update(ctx context.Context, id string, create bool, fn store.UpdateFunc) (store.UpdateResult, error) {
	return s.update(ctx, id, create, fn, nil)
}

// Put writes data as session id (created when missing) with the TTL life
// gives (none when it has none), under the lock as Update; an existing
// session keep says to leave is left as it is.
func (s *Store) Put(ctx context.Context, id string, data []byte, life store.Lifetime, keep func(cur []byte) bool) (bool, error) {
	res, err := s.update(ctx, id, true, store.PutUpdate(data, keep), &life)
	return res.Changed, err
}

func (s *Store) update(ctx context.Context, id string, create bool, fn store.UpdateFunc, life *store.Lifetime) (store.UpdateResult, error) {
	t, err := s.target(id)
	if err != nil {
		return store.UpdateResult{}, err
	}
	release, err := s.lock(ctx, &t)
	if err != nil {
		return store.UpdateResult{}, err
	}
	defer release()
	var res store.UpdateResult
	if !s.locking() {
		res.Warning = "php-memcached's session locking is off (memcached.sess_locking = 0): a running request may overwrite this change"
	}
	for range maxRetries {
		it, si, err := s.readCopy(ctx, t, true)
		if err != nil {
			return res, err
		}
		if !it.found && !create {
			return res, notFoundErr(id, s.where)
		}
		var old []byte
		if it.found {
			if old, err = s.value(id, it); err != nil {
				return res, err
			}
		}
		data, err := fn(old, it.found)
		if err != nil {
			return res, err
		}
		if it.found && bytes.Equal(data, old) {
			return res, nil
		}
		if int64(len(data)) > s.maxSize() {
			return res, fmt.Errorf("session %q: %w", id, &tooLargeError{size: int64(len(data)), max: s.maxSize()})
		}
		err = s.write(ctx, &t, it, si, data, life)
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return res, err
		}
		res.Changed, res.Created = true, !it.found
		if w := s.downWarning(&t, "was written"); w != "" {
			if res.Warning != "" {
				res.Warning += "; "
			}
			res.Warning += w
		}
		return res, nil
	}
	return res, fmt.Errorf("session %q kept changing while sesstool wrote it (%d tries); nothing written", id, maxRetries)
}

// write stores data for t: with CAS on the server the old copy was read
// from (add on the first server that answers for a new session: the one
// the lock was taken on), then set on every other copy's server. A copy's
// server that cannot be reached is passed over (and named in t.down), as
// PHP passes over it, once one copy is written.
func (s *Store) write(ctx context.Context, t *target, old item, from int, data []byte, life *store.Lifetime) error {
	stored_, flags := s.encode(data)
	exp := s.expiry(old, old.found, time.Now())
	if life != nil {
		exp = 0 // none
		if life.HasTTL {
			ttl := max(int64((life.TTL+time.Second-1)/time.Second), 1)
			if exp = ttl; ttl > maxRelative {
				exp = time.Now().Unix() + ttl
			}
		}
	}
	first := -1
	if old.found {
		first = from
		r, err := s.servers[from].store(ctx, "cas", t.key, flags, exp, stored_, old.cas)
		if err != nil {
			return fmt.Errorf("session %q: %w", t.id, err)
		}
		if r == exists || r == notFound {
			return errRetry
		}
		if r != stored {
			return fmt.Errorf("session %q: memcached %s answered %q to cas", t.id, s.servers[from].name, r)
		}
	} else {
		for i, si := range t.data {
			if slices.Contains(t.down, si) && i+1 < len(t.data) {
				continue
			}
			r, err := s.servers[si].store(ctx, "add", t.key, flags, exp, stored_, 0)
			if err != nil && unreachable(err) && i+1 < len(t.data) {
				t.down = append(t.down, si)
				continue
			}
			if err != nil {
				return fmt.Errorf("session %q: %w", t.id, err)
			}
			if r == notStored {
				return errRetry
			}
			if r != stored {
				return fmt.Errorf("session %q: memcached %s answered %q to add", t.id, s.servers[si].name, r)
			}
			first = si
			break
		}
	}
	var errs []error
	for _, si := range t.data {
		if si == first || slices.Contains(t.down, si) {
			continue
		}
		if _, err := s.servers[si].store(ctx, "set", t.key, flags, exp, stored_, 0); err != nil {
			if unreachable(err) {
				t.down = append(t.down, si)
				continue
			}
			errs = append(errs, fmt.Errorf("session %q: its copy on %s: %w", t.id, s.servers[si].name, err))
		}
	}
	return errors.Join(errs...)
}

// Destroy deletes every copy of a session under its lock (ErrNotFound
// when there is none).
func (s *Store) Destroy(ctx context.Context, id string) error {
	_, _, err := s.destroy(ctx, id, nil)
	return err
}

// DestroyIf deletes a session when match, run on its bytes under the
// lock, says so.
func (s *Store) DestroyIf(ctx context.Context, id string, match func(data []byte) (bool, error)) (bool, error) {
	done, _, err := s.DestroyIfPassedOver(ctx, id, match)
	return done, err
}

// PassedOver is what a destroy that went on without some of a session's
// servers says of them: their names, and a warning line naming them and
// the servers the session was destroyed on (both empty when every copy's
// server answered).
type PassedOver struct {
	Servers []string
	Warning string
}

// DestroyPassedOver is Destroy, saying which of the session's servers it
// could not reach and so passed over, as PHP passes over them (the copies
// they hold are left).
func (s *Store) DestroyPassedOver(ctx context.Context, id string) (PassedOver, error) {
	_, po, err := s.destroy(ctx, id, nil)
	return po, err
}

// DestroyIfPassedOver is DestroyIf, saying which servers it passed over.
func (s *Store) DestroyIfPassedOver(ctx context.Context, id string, match func(data []byte) (bool, error)) (bool, PassedOver, error) {
	done, po, err := s.destroy(ctx, id, match)
	if errors.Is(err, store.ErrNotFound) {
		return false, po, nil
	}
	return done, po, err
}

func (s *Store) destroy(ctx context.Context, id string, match func([]byte) (bool, error)) (done bool, po PassedOver, err error) {
	t, err := s.target(id)
	if err != nil {
		return false, po, err
	}
	defer func() {
		if done && len(t.down) > 0 {
			for _, si := range t.data {
				if slices.Contains(t.down, si) {
					po.Servers = append(po.Servers, s.servers[si].name)
				}
			}
			po.Warning = s.downWarning(&t, "was destroyed")
		}
	}()
	release, err := s.lock(ctx, &t)
	if err != nil {
		return false, po, err
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	it, _, err := s.readCopy(ctx, t, match != nil)
	if err != nil {
		return false, po, err
	}
	if !it.found {
		return false, po, notFoundErr(id, s.where)
	}
	if match != nil {
		data, err := s.value(id, it)
		if err != nil {
			return false, po, err
		}
		ok, err := match(data)
		if err != nil || !ok {
			return false, po, err
		}
	}
	// A copy's server that cannot be reached is passed over, as PHP's
	// destroy passes over it: its copy is left (and is read again once the
	// server is back, unless it restarted empty).
	var errs []error
	for _, si := range t.data {
		if slices.Contains(t.down, si) {
			continue
		}
		if _, err := s.servers[si].del(ctx, t.key); err != nil {
			if unreachable(err) {
				t.down = append(t.down, si)
				continue
			}
			errs = append(errs, fmt.Errorf("session %q: its copy on %s: %w", id, s.servers[si].name, err))
		}
		if s.handler == "memcache" {
			// PHP's destroy deletes the lock item beside each copy.
			_, _ = s.servers[si].del(ctx, t.lockKey)
			if si == t.lock {
				released = true
			}
		}
	}
	return len(errs) == 0, po, errors.Join(errs...)
}
