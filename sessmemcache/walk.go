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

// classify says what a listed key is: a session (its id), a lock item
// (lock true, the session's id), or neither (ok false). pecl memcache's
// keys are bare ids, so there a key is a session only when it looks like
// one PHP makes: 22 to 256 bytes of PHP's id alphabet.
func (s *Store) classify(key string) (id string, lock, ok bool) {
	if !strings.HasPrefix(key, s.opts.Prefix) {
		return "", false, false
	}
	rest := key[len(s.opts.Prefix):]
	if s.handler == "memcached" {
		if strings.HasPrefix(rest, LockPrefix) {
			rest, lock = rest[len(LockPrefix):], true
		}
	} else {
		if strings.HasSuffix(rest, LockSuffix) {
			rest, lock = rest[:len(rest)-len(LockSuffix)], true
		}
		if len(rest) < 22 {
			return "", false, false
		}
	}
	if store.ValidateID(rest) != nil {
		return "", false, false
	}
	return rest, lock, true
}

// overhead works out, from one item, what a server's metadump "size" (the
// whole item) holds beyond the key and the value, so that the value's size
// follows from it for every other item of that server.
func (s *Store) overhead(ctx context.Context, c *client, d dumped) (int64, bool) {
	it, err := c.mg(ctx, d.key, false)
	if err != nil || !it.found {
		return 0, false
	}
	over := d.size - int64(len(d.key)) - it.size
	if it.flags != 0 {
		over -= 4 // memcached stores non-zero flags in 4 more bytes
	}
	return over, true
}

// listed is one session row being put together from the servers' dumps.
type listed struct {
	in   store.Info
	want int // copies expected
}

// walkBatch is how many sessions share one multi-key get of their locks.
const walkBatch = 512

// Walk lists every session with lru_crawler metadump on every server at
// once: the key, TTL (exp) and size (the item's, less the server's
// per-item overhead) of each; lock keys are not sessions, but mark theirs
// as locked (found with one multi-key get per batch of sessions on the
// lock's server). A session with several copies (pecl memcache's
// redundancy, php-memcached's replicas) is one row naming every server it
// was found on; such rows wait until every expected copy has been seen, or
// the dumps end.
func (s *Store) Walk(ctx context.Context, fn func(store.Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex // guards fn, pending and fnErr
		pending = map[string]*listed{}
		fnErr   error
	)
	emit := func(batch []store.Info) error {
		s.markLocks(ctx, batch)
		mu.Lock()
		defer mu.Unlock()
		if fnErr != nil {
			return fnErr
		}
		for _, in := range batch {
			if err := fn(in); err != nil {
				fnErr = err
				cancel()
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, len(s.servers))
	for si, c := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			over, calibrated := int64(0), false
			var batch []store.Info
			now := time.Now()
			err := c.metadump(ctx, func(d dumped) error {
				id, lock, ok := s.classify(d.key)
				if !ok || lock {
					return nil
				}
				if !calibrated {
					over, calibrated = s.overhead(ctx, c, d)
					if !calibrated {
						over, calibrated = 59, true // a 64-bit memcached with CAS, no flags
					}
				}
				it := item{ttl: -1}
				if d.exp >= 0 {
					it.ttl, it.hasTTL = max(d.exp-now.Unix(), 0), true
				}
				in := s.info(id, si, max(d.size-int64(len(d.key))-over, 0), it, now)
				t, _ := s.target(id)
				if len(t.data) > 1 || t.data[0] != si {
					// A copy, or a session on a server PHP would not look at
					// first: its row gathers the servers holding it.
					mu.Lock()
					p := pending[id]
					if p == nil {
						p = &listed{in: in, want: len(t.data)}
						p.in.Servers = []string{c.name}
						pending[id] = p
					} else {
						servers := append(p.in.Servers, c.name)
						if si == t.data[0] {
							p.in = in // the row says what PHP's first server holds
						}
						p.in.Servers = servers
					}
					done := len(p.in.Servers) >= p.want
					if done {
						delete(pending, id)
					}
					mu.Unlock()
					if !done {
						return nil
					}
					in = p.in
					s.orderServers(&in, t)
				}
				batch = append(batch, in)
				if len(batch) >= walkBatch {
					err := emit(batch)
					batch = batch[:0]
					return err
				}
				return nil
			})
			if err == nil && len(batch) > 0 {
				err = emit(batch)
			}
			errs[si] = err
		}()
	}
	wg.Wait()
	if fnErr != nil {
		return fnErr
	}
	for si, err := range errs {
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil && fnErr != nil {
				return fnErr
			}
			return fmt.Errorf("memcached %s: %w", s.servers[si].name, err)
		}
	}
	var rest []store.Info
	for id, p := range pending {
		in := p.in
		t, _ := s.target(id)
		s.orderServers(&in, t)
		rest = append(rest, in)
	}
	for len(rest) > 0 {
		n := min(len(rest), walkBatch)
		if err := emit(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return nil
}

// orderServers puts a row's servers in the order PHP reads them.
func (s *Store) orderServers(in *store.Info, t target) {
	if len(in.Servers) < 2 {
		in.Servers = nil
		if len(t.data) > 1 {
			in.Servers = []string{in.Server}
		}
		return
	}
	var ordered []string
	for _, si := range t.data {
		if n := s.servers[si].name; slices.Contains(in.Servers, n) {
			ordered = append(ordered, n)
		}
	}
	for _, n := range in.Servers {
		if !slices.Contains(ordered, n) {
			ordered = append(ordered, n)
		}
	}
	in.Servers = ordered
	in.Server = ordered[0]
}

// markLocks sets Locked on the sessions of batch whose lock item is held:
// one multi-key get per lock server.
func (s *Store) markLocks(ctx context.Context, batch []store.Info) {
	if s.handler == "memcached" && !s.opts.Locking {
		return
	}
	byServer := map[int][]string{}
	index := map[string]int{}
	for i, in := range batch {
		t, err := s.target(in.ID)
		if err != nil {
			continue
		}
		byServer[t.lock] = append(byServer[t.lock], t.lockKey)
		index[t.lockKey] = i
	}
	for si, keys := range byServer {
		_ = s.servers[si].getMulti(ctx, keys, func(key string, _ uint32, v []byte) {
			if i, ok := index[key]; ok && (s.handler == "memcached" || string(v) != "0") {
				batch[i].Locked = true
			}
		})
	}
}

// lockDump is one lock item found by a dump.
type lockDump struct {
	id     string
	server int
	d      dumped
}

// dumpLocks streams the lock items of every server (php-memcached: every
// lock key; pecl memcache: lock items, held or released).
func (s *Store) dumpLocks(ctx context.Context, fn func(lockDump) error) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(s.servers))
	for si, c := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[si] = c.metadump(ctx, func(d dumped) error {
				id, lock, ok := s.classify(d.key)
				if !ok || !lock {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				return fn(lockDump{id: id, server: si, d: d})
			})
		}()
	}
	wg.Wait()
	for si, err := range errs {
		if err != nil {
			return fmt.Errorf("memcached %s: %w", s.servers[si].name, err)
		}
	}
	return nil
}

// Locks streams the session locks held now: php-memcached's lock keys;
// pecl memcache's lock items not set back to "0". Age is the time since
// the item was last touched (memcached's la: for a lock, when it was
// taken).
func (s *Store) Locks(ctx context.Context, fn func(store.Lock) error) error {
	now := time.Now()
	var found []lockDump
	if err := s.dumpLocks(ctx, func(l lockDump) error { found = append(found, l); return nil }); err != nil {
		return err
	}
	kind := "memcached lock key"
	if s.handler == "memcache" {
		kind = "memcache lock item"
	}
	for _, l := range found {
		c := s.servers[l.server]
		if s.handler == "memcache" {
			it, err := c.mg(ctx, l.d.key, true)
			if err != nil || !it.found || string(it.value) == "0" {
				continue
			}
		}
		lk := store.Lock{ID: l.id, Kind: kind, Where: c.name}
		if l.d.la > 0 {
			lk.Age = max(now.Sub(time.Unix(l.d.la, 0)), 0)
		}
		if l.d.exp >= 0 {
			lk.TTL, lk.HasTTL = max(time.Unix(l.d.exp, 0).Sub(now), 0), true
		}
		if err := fn(lk); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoNotifications: memcached cannot tell a client what changed.
var ErrNoNotifications = errors.New("memcached has no change notifications")

// Watch compares listings every opts.Poll (memcached cannot notify).
func (s *Store) Watch(ctx context.Context, opts store.WatchOptions) (<-chan store.Event, error) {
	if opts.Poll <= 0 {
		return nil, fmt.Errorf("%s: %w: give --poll D (for example --poll 2s) to compare listings every D", s.where, ErrNoNotifications)
	}
	return store.Poll(ctx, s, opts), nil
}
