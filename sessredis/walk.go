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

// scanCount is SCAN's COUNT hint and the size of one pipelined batch of
// look-ups.
const scanCount = 1000

// globEscape escapes a key prefix for SCAN MATCH.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// scanned is one session key found by SCAN on one server.
type scanned struct {
	id, key string
}

// Walk lists every session with SCAN (never KEYS) on every host of the
// save_path, or every master of the cluster: keys with the prefix whose
// rest is a valid id, lock keys left out. Each batch of keys is looked up
// in one pipeline (PTTL, STRLEN, the lock key), so memory stays flat and a
// million sessions cost a few thousand round trips.
func (s *Store) Walk(ctx context.Context, fn func(store.Info) error) error {
	if s.cluster != nil {
		var mu chanMutex = make(chan struct{}, 1)
		return s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return s.walkServer(ctx, c, s.prefix, c.Options().Addr, false, func(in store.Info) error {
				// ForEachMaster runs masters in parallel; fn is not
				// made to be called concurrently.
				mu.lock()
				defer mu.unlock()
				return fn(in)
			})
		})
	}
	for _, n := range s.nodes {
		if n.dup {
			continue
		}
		if err := s.walkServer(ctx, n.c, n.host.Prefix, n.host.Addr, true, fn); err != nil {
			return err
		}
	}
	return nil
}

type chanMutex chan struct{}

func (m chanMutex) lock()   { m <- struct{}{} }
func (m chanMutex) unlock() { <-m }

func (s *Store) walkServer(ctx context.Context, c *redis.Client, prefix, server string, locks bool, fn func(store.Info) error) error {
	match := globEscape(prefix) + "*"
	// SCAN and the look-ups overlap: while one batch is looked up, the
	// next is scanned.
	type result struct {
		batch []scanned
		err   error
	}
	batches := make(chan result, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		var cursor uint64
		batch := make([]scanned, 0, scanCount)
		for {
			keys, next, err := c.Scan(ctx, cursor, match, scanCount).Result()
			if err != nil {
				select {
				case batches <- result{err: unreachable(server, err)}:
				case <-ctx.Done():
				}
				return
			}
			for _, k := range keys {
				id, ok := strings.CutPrefix(k, prefix)
				if !ok || strings.HasSuffix(id, LockSuffix) || store.ValidateID(id) != nil {
					continue // a lock key, or not a session PHP could name
				}
				batch = append(batch, scanned{id: id, key: k})
			}
			if len(batch) >= scanCount || next == 0 {
				select {
				case batches <- result{batch: batch}:
				case <-ctx.Done():
					return
				}
				batch = make([]scanned, 0, scanCount)
			}
			if next == 0 {
				return
			}
			cursor = next
		}
	}()
	for r := range batches {
		if r.err != nil {
			return r.err
		}
		if err := s.lookup(ctx, c, server, r.batch, locks, fn); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// lookupScript looks up a batch of session keys in one step on the
// server: for each, its PTTL, its length (-1: not a string) and, with
// ARGV[1] = "1", its lock key's value (false: none). One script per batch
// costs the server far less than three commands per key.
var lookupScript = redis.NewScript(`local r = {}
for _, k in ipairs(KEYS) do
  local t = redis.call("pttl", k)
  local n = -1
  if t ~= -2 then
    local v = redis.pcall("strlen", k)
    if type(v) == "number" then n = v end
  end
  local l = false
  if ARGV[1] == "1" then
    local v = redis.pcall("get", k .. "_LOCK")
    if type(v) == "string" then l = v end
  end
  r[#r+1] = t
  r[#r+1] = n
  r[#r+1] = l
end
return r`)

// lookup looks up one batch (a script on a single server, a pipeline on a
// cluster master, whose keys are on several slots) and calls fn for each
// key still there.
func (s *Store) lookup(ctx context.Context, c *redis.Client, server string, batch []scanned, locks bool, fn func(store.Info) error) error {
	if len(batch) == 0 {
		return nil
	}
	if s.cluster != nil {
		return s.lookupPipelined(ctx, c, server, batch, locks, fn)
	}
	keys := make([]string, len(batch))
	for i, b := range batch {
		keys[i] = b.key
	}
	arg := "0"
	if locks {
		arg = "1"
	}
	vals, err := lookupScript.Run(ctx, c, keys, arg).Slice()
	if err != nil {
		return unreachable(server, err)
	}
	if len(vals) != 3*len(batch) {
		return fmt.Errorf("redis %s: %d values for %d keys", server, len(vals), len(batch))
	}
	now := time.Now()
	for i, b := range batch {
		t, _ := vals[3*i].(int64)
		n, _ := vals[3*i+1].(int64)
		if t == -2 || n < 0 {
			continue // expired meanwhile, or not a string (not a session)
		}
		ttl := time.Duration(t) * time.Millisecond
		if t == -1 {
			ttl = -1
		}
		in := s.info(b.id, target{server: server}, n, ttl, now)
		if l, ok := vals[3*i+2].(string); ok {
			in.Locked, in.LockHolder = true, l
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

// lookupPipelined pipelines the look-ups of one batch.
func (s *Store) lookupPipelined(ctx context.Context, c *redis.Client, server string, batch []scanned, locks bool, fn func(store.Info) error) error {
	ttls := make([]*redis.DurationCmd, len(batch))
	lens := make([]*redis.IntCmd, len(batch))
	var lockv []*redis.StringCmd
	if locks {
		lockv = make([]*redis.StringCmd, len(batch))
	}
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, b := range batch {
			ttls[i] = p.PTTL(ctx, b.key)
			lens[i] = p.StrLen(ctx, b.key)
			if locks {
				lockv[i] = p.Get(ctx, b.key+LockSuffix)
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) && !isWrongType(err) {
		return unreachable(server, err)
	}
	now := time.Now()
	for i, b := range batch {
		ttl := pttl(ttls[i])
		if ttl == -2 || lens[i].Err() != nil {
			continue // expired meanwhile, or not a string (not a session)
		}
		in := s.info(b.id, target{server: server}, lens[i].Val(), ttl, now)
		if locks && lockv[i].Err() == nil {
			in.Locked, in.LockHolder = true, lockv[i].Val()
		}
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

func isWrongType(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE") }

// Locks lists every lock key (<key>_LOCK) on every host, with its holder
// (phpredis: host|pid) and TTL ("no expiry" when it has none: a CLI or
// max_execution_time=0 request, and a stale lock once it is gone).
func (s *Store) Locks(ctx context.Context, fn func(store.Lock) error) error {
	if s.cluster != nil {
		return nil // phpredis never locks in a cluster
	}
	for _, n := range s.nodes {
		if n.dup {
			continue
		}
		match := globEscape(n.host.Prefix) + "*" + LockSuffix
		var cursor uint64
		for {
			keys, next, err := n.c.Scan(ctx, cursor, match, scanCount).Result()
			if err != nil {
				return unreachable(n.host.Addr, err)
			}
			for _, k := range keys {
				rest, ok := strings.CutPrefix(k, n.host.Prefix)
				id, isLock := strings.CutSuffix(rest, LockSuffix)
				if !ok || !isLock || store.ValidateID(id) != nil {
					continue
				}
				l, err := s.lockInfo(ctx, n.c, n.host.Addr, id, n.host.Key(id))
				if errors.Is(err, ErrNotLocked) {
					continue // released meanwhile
				}
				if err != nil {
					return err
				}
				if err := fn(l); err != nil {
					return err
				}
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return nil
}

// ErrNoNotifications is Watch's error when a server has keyspace
// notifications off; its message says the CONFIG SET that turns them on.
var ErrNoNotifications = errors.New("keyspace notifications are off")

// Watch follows sessions by keyspace notifications (on every host or
// master), or by comparing listings every opts.Poll. A server whose
// notify-keyspace-events lacks K and $ (string writes), g (DEL, EXPIRE)
// and x (expiry) is an error that names the CONFIG SET to run; sesstool
// never changes a server's configuration itself.
func (s *Store) Watch(ctx context.Context, opts store.WatchOptions) (<-chan store.Event, error) {
	if opts.Poll > 0 {
		return store.Poll(ctx, s, opts), nil
	}
	type server struct {
		c      *redis.Client
		addr   string
		prefix string
		db     int
	}
	var servers []server
	if s.cluster != nil {
		var mu chanMutex = make(chan struct{}, 1)
		err := s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			mu.lock() // the callbacks run in parallel
			defer mu.unlock()
			servers = append(servers, server{c, c.Options().Addr, s.prefix, 0})
			return nil
		})
		if err != nil {
			return nil, unreachable("cluster", err)
		}
	} else {
		for _, n := range s.nodes {
			if !n.dup {
				servers = append(servers, server{n.c, n.host.Addr, n.host.Prefix, max(n.host.Database, 0)})
			}
		}
	}
	for _, sv := range servers {
		cfg, err := sv.c.ConfigGet(ctx, "notify-keyspace-events").Result()
		if err != nil {
			return nil, unreachable(sv.addr, err)
		}
		if !notifyOn(cfg["notify-keyspace-events"]) {
			host, port, _ := strings.Cut(sv.addr, ":")
			return nil, fmt.Errorf("redis %s: %w (notify-keyspace-events is %q); turn them on with: redis-cli -h %s -p %s CONFIG SET notify-keyspace-events 'K$gxn' (or use --poll 2s)", sv.addr, ErrNoNotifications, cfg["notify-keyspace-events"], host, port)
		}
	}
	out := make(chan store.Event, 64)
	only := map[string]bool{}
	for _, id := range opts.IDs {
		only[id] = true
	}
	done := make(chan struct{})
	running := len(servers)
	var mu chanMutex = make(chan struct{}, 1)
	created := map[string]bool{} // ids Redis said are new keys (event "new", flag n)
	// Every subscription is made before any is followed: one that fails
	// closes those already made, and no goroutine is left behind.
	subs := make([]*redis.PubSub, len(servers))
	for i, sv := range servers {
		channel := fmt.Sprintf("__keyspace@%d__:%s*", sv.db, globEscape(sv.prefix))
		ps := sv.c.PSubscribe(ctx, channel)
		if _, err := ps.Receive(ctx); err != nil {
			ps.Close()
			for _, p := range subs[:i] {
				p.Close()
			}
			return nil, unreachable(sv.addr, err)
		}
		subs[i] = ps
	}
	for i, sv := range servers {
		ps := subs[i]
		go func() {
			defer func() { done <- struct{}{} }()
			defer ps.Close()
			ch := ps.Channel()
			for {
				select {
				case <-ctx.Done():
					return
				case m, ok := <-ch:
					if !ok {
						return
					}
					key := m.Channel[strings.Index(m.Channel, ":")+1:]
					id, ok := strings.CutPrefix(key, sv.prefix)
					if !ok || strings.HasSuffix(id, LockSuffix) || store.ValidateID(id) != nil || len(only) > 0 && !only[id] {
						continue
					}
					if m.Payload == "new" {
						mu.lock()
						created[id] = true
						mu.unlock()
						continue
					}
					ev, ok := s.event(ctx, sv.c, sv.addr, id, key, m.Payload)
					if !ok {
						continue
					}
					mu.lock()
					if ev.Kind == store.Modified && created[id] {
						ev.Kind = store.Created
					}
					delete(created, id)
					mu.unlock()
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	go func() {
		for range running {
			<-done
		}
		close(out)
	}()
	return out, nil
}

// notifyOn reports whether a notify-keyspace-events value sends what Watch
// needs: keyspace events (K) for string writes ($), generic commands (g)
// and expiries (x), or all (A).
func notifyOn(v string) bool {
	if !strings.Contains(v, "K") {
		return false
	}
	if strings.Contains(v, "A") {
		return true
	}
	return strings.Contains(v, "$") && strings.Contains(v, "g") && strings.Contains(v, "x")
}

// event turns one notification into a store event: set/setex read the
// session (modified; created when Redis said "new" first, flag n), del
// and expired delete it; expire alone (PHP's write of an unchanged
// session) changes nothing and is not reported.
func (s *Store) event(ctx context.Context, c *redis.Client, addr, id, key, op string) (store.Event, bool) {
	ev := store.Event{Time: time.Now(), Info: store.Info{ID: id, Server: addr}}
	switch op {
	case "del", "expired", "evicted":
		ev.Kind = store.Deleted
		return ev, true
	case "set", "setex", "setrange", "append":
	default:
		return ev, false
	}
	v, err := c.Get(ctx, key).Result()
	if err != nil {
		return ev, false // gone again: its del is coming
	}
	ev.Kind = store.Modified
	ev.Data = []byte(v)
	ev.Info.Size = int64(len(v))
	return ev, true
}
