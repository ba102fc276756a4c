package sessmemcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
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
// follows from it for every other item of that server. Without an answer
// it assumes a 64-bit memcached with CAS: 48 bytes of header, 8 of CAS,
// the key's NUL and the value's CRLF.
func (s *Store) overhead(ctx context.Context, c *client, id string, itemSize int64, keyLen int) (int64, bool) {
	t, err := s.target(id)
	if err != nil {
		return 59, true
	}
	it, err := c.mg(ctx, t.key, false)
	if err != nil || !it.found {
		return 59, false
	}
	over := itemSize - int64(keyLen) - it.size
	if it.flags != 0 {
		over -= 4 // memcached stores non-zero flags in 4 more bytes
	}
	return over, true
}

// walkBatch is how many rows a dump reader hands to fn at once.
const walkBatch = 512

// dumpedRow is a session as a dump reader has it: its Info without its
// size yet, and what the size is worked out from.
type dumpedRow struct {
	in       store.Info
	itemSize int64
	keyLen   int
}

// Walk lists every session in two passes of lru_crawler metadump over
// every server at once. The first finds the lock items (php-memcached's
// lock keys; pecl memcache's, whose values are then read to tell held from
// released), the second streams the sessions: key, TTL (exp) and size (the
// item's, less the server's per-item overhead, measured once per server)
// of each, locked when the first pass found its lock. Nothing is asked of
// a server while its dump is being read: memcached's crawler, its output
// unread, holds locks that make gets on that server wait, so a reader that
// stopped to look something up could wait for good.
//
// A session with several copies (pecl memcache's redundancy,
// php-memcached's replicas) is one row, from the server PHP reads first,
// naming the servers PHP keeps it on; its other copies are passed over,
// remembered as 8-byte hashes. A copy whose first server lacks the session
// (a server restarted, an eviction) is found by comparing the hashes after
// the pass, and listed by a third pass over the servers holding such
// copies. A session on a server PHP would not look at (the server list
// changed) is a row of its own.
func (s *Store) Walk(ctx context.Context, fn func(store.Info) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	locked, down, err := s.heldLocks(ctx)
	if err != nil {
		return err
	}
	if down == nil {
		down = map[int]error{}
	}
	// first is the server a session is listed from: the first of its
	// servers that answers, which is where PHP reads it (pecl memcache
	// passes over a server it cannot reach).
	first := func(t target) int {
		for _, si := range t.data {
			if _, ok := down[si]; !ok {
				return si
			}
		}
		return t.data[0]
	}
	var (
		mu    sync.Mutex // guards fn, fnErr, firsts, seconds
		fnErr error
		// Hashes of the ids listed from their first server, and of copies
		// passed over (per server).
		firsts  []uint64
		seconds = make([][]uint64, len(s.servers))
	)
	emit := func(rows []dumpedRow, over int64) error {
		mu.Lock()
		defer mu.Unlock()
		if fnErr != nil {
			return fnErr
		}
		for _, r := range rows {
			r.in.Size = max(r.itemSize-int64(r.keyLen)-over, 0)
			r.in.Locked = locked[r.in.ID]
			if err := fn(r.in); err != nil {
				fnErr = err
				cancel()
				return err
			}
		}
		return nil
	}
	// pass dumps the servers at once; want says which rows to list (and
	// may record the others). It runs in the readers, so it must not wait.
	pass := func(servers []int, want func(r *dumpedRow, si int, id string) bool) error {
		var wg sync.WaitGroup
		errs := make([]error, len(s.servers))
		now := time.Now()
		for _, si := range servers {
			c := s.servers[si]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var batch []dumpedRow
				// The overhead is measured on this server's first session, by
				// a get from another goroutine while this one goes on
				// reading; rows wait for it in batch.
				var calibrated chan struct{}
				over := int64(59)
				err := c.metadump(ctx, s.sessionLine, func(d dumped) error {
					id, lock, ok := s.classify(d.key)
					if !ok || lock {
						return nil
					}
					it := item{ttl: -1}
					if d.exp >= 0 {
						it.ttl, it.hasTTL = max(d.exp-now.Unix(), 0), true
					}
					r := dumpedRow{in: s.info(id, si, 0, it, now), itemSize: d.size, keyLen: len(d.key)}
					if !want(&r, si, id) {
						return nil
					}
					if calibrated == nil {
						calibrated = make(chan struct{})
						go func() {
							defer close(calibrated)
							if o, ok := s.overhead(ctx, c, id, d.size, len(d.key)); ok {
								over = o
							}
						}()
					}
					batch = append(batch, r)
					if len(batch) >= walkBatch {
						select {
						case <-calibrated:
						default:
							return nil // still measuring: go on reading
						}
						err := emit(batch, over)
						batch = batch[:0]
						return err
					}
					return nil
				})
				if calibrated != nil {
					<-calibrated
				}
				if err == nil && len(batch) > 0 {
					err = emit(batch, over)
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
				return serverErr(s.servers[si].name, err)
			}
		}
		return nil
	}
	var all []int
	if len(down) == 0 && s.handler == "memcached" && !s.opts.Locking {
		// No lock pass found the servers that are down: one pass of
		// every server over a connect each finds them now.
		for si, c := range s.servers {
			cn, err := c.get(ctx)
			if err != nil {
				if unreachable(err) && ctx.Err() == nil && len(s.servers) > 1 {
					down[si] = err
				}
				continue
			}
			c.put(cn, nil)
		}
	}
	for i := range s.servers {
		if _, ok := down[i]; !ok {
			all = append(all, i)
		}
	}
	if len(all) == 0 {
		return down[0]
	}
	err = pass(all, func(r *dumpedRow, si int, id string) bool {
		if _, copies := s.primary(id); !copies {
			return true // its only server, or a server PHP would not look at
		}
		t, _ := s.target(id)
		switch {
		case si == first(t):
			r.in.Servers = s.names(t.data)
			mu.Lock()
			firsts = append(firsts, idHash(id))
			mu.Unlock()
			return true
		case slices.Contains(t.data, si):
			mu.Lock()
			seconds[si] = append(seconds[si], idHash(id))
			mu.Unlock()
			return false
		}
		return true // a stray copy: a row of its own
	})
	if err != nil {
		return err
	}
	// Copies whose first server lacked the session.
	slices.Sort(firsts)
	orphans := map[uint64]bool{}
	var orphanServers []int
	for si, hs := range seconds {
		found := false
		for _, h := range hs {
			if _, ok := slices.BinarySearch(firsts, h); !ok {
				orphans[h], found = true, true
			}
		}
		if found {
			orphanServers = append(orphanServers, si)
		}
	}
	firsts, seconds = nil, nil
	if len(orphans) == 0 {
		return s.downError(down, "the sessions")
	}
	listed := map[uint64]bool{}
	err = pass(orphanServers, func(r *dumpedRow, si int, id string) bool {
		h := idHash(id)
		mu.Lock()
		defer mu.Unlock()
		if !orphans[h] || listed[h] {
			return false
		}
		if t, _ := s.target(id); !slices.Contains(t.data, si) {
			return false // a stray: listed by the first pass
		}
		listed[h] = true
		return true
	})
	if err != nil {
		return err
	}
	return s.downError(down, "the sessions")
}

// idHash is the 8 bytes Walk remembers of an id.
func idHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// heldLocks is Walk's first pass: the ids whose lock is held now, and the
// servers that could not be reached (left out of the listing). With
// php-memcached's locking off, nothing is dumped and down is nil: the
// listing finds out.
func (s *Store) heldLocks(ctx context.Context) (map[string]bool, map[int]error, error) {
	held := map[string]bool{}
	if s.handler == "memcached" && !s.opts.Locking {
		return held, nil, nil
	}
	type probe struct{ id, key string }
	byServer := make([][]probe, len(s.servers))
	down, err := s.dumpLocks(ctx, func(l lockDump) error {
		if s.handler == "memcached" {
			held[l.id] = true
		} else {
			byServer[l.server] = append(byServer[l.server], probe{l.id, l.d.key})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// pecl memcache: a lock item set back to "0" is released; its values
	// are read now that no dump is running.
	for si, ps := range byServer {
		for len(ps) > 0 {
			// Batches small enough that the replies never fill the
			// socket while the requests are still being written.
			n := min(len(ps), 512)
			keys := make([]string, n)
			ids := map[string]string{}
			for i, p := range ps[:n] {
				keys[i], ids[p.key] = p.key, p.id
			}
			err := s.servers[si].mgMulti(ctx, keys, func(key string, it item) {
				if string(it.value) != "0" {
					held[ids[key]] = true
				}
			})
			if err != nil {
				return nil, nil, serverErr(s.servers[si].name, err)
			}
			ps = ps[n:]
		}
	}
	return held, down, nil
}

// keyField is the start of a metadump line whose key has the prefix
// (memcached uri-encodes keys; a prefix of PHP's id alphabet and ".", "_",
// "~" reads as written, anything else is matched after parsing).
func (s *Store) keyField(extra string) ([]byte, bool) {
	k := "key=" + s.opts.Prefix + extra
	for i := 4; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return nil, false
		}
	}
	return []byte(k), true
}

// sessionLine and lockLine are quick tests on a raw metadump line, before
// any parsing: could it be a session, a lock item? (classify decides.)
func (s *Store) sessionLine(line []byte) bool {
	if k, ok := s.keyField(""); ok && !bytes.HasPrefix(line, k) {
		return false
	}
	if s.handler == "memcached" {
		if k, ok := s.keyField(LockPrefix); ok && bytes.HasPrefix(line, k) {
			return false
		}
	}
	return true
}

func (s *Store) lockLine(line []byte) bool {
	if s.handler == "memcached" {
		k, ok := s.keyField(LockPrefix)
		return !ok || bytes.HasPrefix(line, k)
	}
	end := bytes.IndexByte(line, ' ')
	return end < 0 || bytes.HasSuffix(line[:end], []byte(LockSuffix))
}

// lockDump is one lock item found by a dump.
type lockDump struct {
	id     string
	server int
	d      dumped
}

// dumpLocks streams the lock items of every server (php-memcached: every
// lock key; pecl memcache: lock items, held or released), dumping only the
// slab classes small enough to hold one. A server that
// cannot be reached is no error but is returned in down (with why), so
// that the others are still listed.
func (s *Store) dumpLocks(ctx context.Context, fn func(lockDump) error) (down map[int]error, err error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(s.servers))
	for si, c := range s.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Lock items are small: only the slab classes that can hold
			// one are dumped (realistic sessions sit in bigger ones, so
			// this pass reads a fraction of the items).
			classes, err := c.smallClasses(ctx, maxLockItem)
			if err != nil {
				errs[si] = err
				return
			}
			if classes == "" {
				// None holds an item: class 1's (empty) dump still says
				// whether the server dumps at all (memcached -X).
				classes = "1"
			}
			errs[si] = c.metadumpOf(ctx, classes, s.lockLine, func(d dumped) error {
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
	down = map[int]error{}
	for si, err := range errs {
		switch {
		case err == nil:
		case unreachable(err) && ctx.Err() == nil:
			down[si] = err
		default:
			return nil, serverErr(s.servers[si].name, err)
		}
	}
	if len(down) == len(s.servers) {
		return nil, down[0]
	}
	return down, nil
}

// downError is the one error of a listing that went on without the servers
// in down: it names each, and says the rest was listed.
func (s *Store) downError(down map[int]error, what string) error {
	if len(down) == 0 {
		return nil
	}
	var parts []string
	for si := range s.servers {
		if err, ok := down[si]; ok {
			parts = append(parts, err.Error())
		}
	}
	n := len(s.servers) - len(down)
	return fmt.Errorf("%s; listed %s the other %d server%s hold", strings.Join(parts, "; "), what, n, map[bool]string{true: "s", false: ""}[n != 1])
}

// Locks streams the session locks held now: php-memcached's lock keys;
// pecl memcache's lock items not set back to "0". Age is the time since
// the item was last touched (memcached's la: for a lock, when it was
// taken).
func (s *Store) Locks(ctx context.Context, fn func(store.Lock) error) error {
	now := time.Now()
	var found []lockDump
	down, err := s.dumpLocks(ctx, func(l lockDump) error { found = append(found, l); return nil })
	if err != nil {
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
	return s.downError(down, "the locks")
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
