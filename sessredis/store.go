package sessredis

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesstool/sesstool/store"
)

// Options tune a Store.
type Options struct {
	// Timeout bounds connecting and every reply (sesstool's --timeout).
	Timeout time.Duration
	// LockTimeout is how long Update, Destroy and DestroyIf wait for a
	// session's lock (> 0: that long, 0: one try, < 0: for ever).
	LockTimeout time.Duration
	// MaxLifetime is session.gc_maxlifetime: the TTL PHP gives a session
	// it writes (and sesstool with Touch or on a new session), and what a
	// last-write time is worked out from.
	MaxLifetime time.Duration
	// Locking is redis.session.locking_enabled: take phpredis' lock
	// around every change. Off, changes are optimistic (WATCH/MULTI).
	Locking bool
	// LockExpire is the expiry of sesstool's own lock key (phpredis:
	// lock_expire, else max_execution_time); 0 is 30s: a killed sesstool
	// never leaves a session locked for good.
	LockExpire time.Duration
	// Touch gives a changed session a fresh MaxLifetime TTL, as a PHP
	// write does; otherwise its remaining TTL is kept (KEEPTTL).
	Touch bool
	// MaxSize is the largest session Read and Update load (0: 64 MiB).
	MaxSize int64
	// OnLockWait, when set, is called once when a change has waited a
	// second for a session's lock, with the lock's holder (phpredis'
	// secret, host|pid); not with a LockTimeout of 0.
	OnLockWait func(id, holder string)
}

// Store is an open phpredis session store: the hosts of a redis save_path
// or a Redis Cluster. Its methods are safe for concurrent use.
type Store struct {
	handler string // "redis" or "rediscluster"
	where   string // the save_path, secrets masked
	opts    Options
	nodes   []*node // redis: one per save_path host, in save_path order
	sp      SavePath
	cluster *redis.ClusterClient
	prefix  string // rediscluster's prefix
	secret  string // our lock value: host|pid|random
}

// node is one host of a redis save_path.
type node struct {
	host Host
	c    *redis.Client
	// dup is set on a host whose server, database and prefix an earlier
	// host already names: its keys are listed once, with the first.
	dup bool
}

const defaultMaxSize = 64 << 20

// quiet is go-redis' logger here: it would print dial retries on stderr,
// where sesstool prints one line per failure itself.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quiet{}) }

// Open connects to the hosts of a redis save_path (lazily: the first
// command dials) and returns a Store.
func Open(sp SavePath, opts Options) (*Store, error) {
	s := &Store{handler: "redis", where: MaskSecrets(sp.Value), opts: opts, sp: sp, secret: newSecret()}
	seen := map[string]bool{}
	for _, h := range sp.Hosts {
		o := &redis.Options{
			Network:         h.Network,
			Addr:            h.Addr,
			Username:        h.User,
			Password:        h.Password,
			DialTimeout:     dialTimeout(h.Timeout, opts.timeout()),
			ReadTimeout:     opts.timeout(),
			WriteTimeout:    opts.timeout(),
			MaxRetries:      -1,
			PoolSize:        64,
			DisableIdentity: true,
			Protocol:        2,
			OnConnect:       noTouch,
		}
		if h.Database > 0 {
			o.DB = h.Database
		}
		if h.TLS {
			host, _, _ := net.SplitHostPort(h.Addr)
			o.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		n := &node{host: h, c: redis.NewClient(o)}
		id := fmt.Sprintf("%s|%s|%d|%s", h.Network, h.Addr, max(h.Database, 0), h.Prefix)
		n.dup = seen[id]
		seen[id] = true
		s.nodes = append(s.nodes, n)
	}
	return s, nil
}

// OpenCluster connects to a Redis Cluster through its seeds.
func OpenCluster(c ClusterSavePath, opts Options) (*Store, error) {
	s := &Store{handler: "rediscluster", where: MaskClusterSecrets(c.Value), opts: opts, prefix: c.Prefix, secret: newSecret()}
	s.cluster = redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:           c.Seeds,
		Username:        c.User,
		Password:        c.Password,
		DialTimeout:     dialTimeout(c.Timeout, opts.timeout()),
		ReadTimeout:     opts.timeout(),
		WriteTimeout:    opts.timeout(),
		MaxRetries:      2,
		PoolSize:        64,
		DisableIdentity: true,
		Protocol:        2,
		OnConnect:       noTouch,
	})
	return s, nil
}

// noTouch asks a server not to count sesstool's reads as activity (CLIENT
// NO-TOUCH, Redis 7.2 and later): listing and showing sessions then leaves
// the idle times gc goes by alone. Older servers refuse it, and there a
// read of a key resets its idle time (README says so).
func noTouch(ctx context.Context, cn *redis.Conn) error {
	_ = cn.Do(ctx, "CLIENT", "NO-TOUCH", "ON").Err()
	return nil
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 5 * time.Second
}

func (o Options) maxSize() int64 {
	if o.MaxSize > 0 {
		return o.MaxSize
	}
	return defaultMaxSize
}

// newSecret is the value of sesstool's lock keys: like phpredis'
// "hostname|pid", with a random part so that no other process can take it
// for its own.
func newSecret() string {
	h, _ := os.Hostname()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s|%d|sesstool-%s", h, os.Getpid(), hex.EncodeToString(b[:]))
}

// Close closes every connection.
func (s *Store) Close() error {
	var errs []error
	for _, n := range s.nodes {
		errs = append(errs, n.c.Close())
	}
	if s.cluster != nil {
		errs = append(errs, s.cluster.Close())
	}
	return errors.Join(errs...)
}

// Where is the save_path, its auth values masked.
func (s *Store) Where() string { return s.where }

// Capabilities: Redis expires sessions by TTL and can notify of changes.
func (s *Store) Capabilities() store.Capabilities {
	return store.Capabilities{Handler: s.handler, TTL: true, Watch: true}
}

// cmdable is what both a host's client and the cluster client do.
type cmdable interface {
	redis.Cmdable
	Watch(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error
}

// target is where session id lives: the client, its data key, a name for
// messages, and whether phpredis would lock it (never in a cluster).
type target struct {
	c      cmdable
	key    string
	server string
}

func (s *Store) target(id string) (target, error) {
	if err := store.ValidateID(id); err != nil {
		return target{}, err
	}
	if s.cluster != nil {
		return target{c: s.cluster, key: s.prefix + id, server: "cluster"}, nil
	}
	n := s.nodes[s.sp.HostFor(id)]
	return target{c: n.c, key: n.host.Key(id), server: n.host.Addr}, nil
}

// locking reports whether changes take phpredis' lock: only the redis
// handler locks (rediscluster never does, in any phpredis version).
func (s *Store) locking() bool { return s.cluster == nil && s.opts.Locking }

// unreachable words an error reaching a server.
func unreachable(server string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("redis %s: cannot reach it: %w", server, err)
	}
	return fmt.Errorf("redis %s: %w", server, err)
}

// info builds a session's Info from its size and PTTL.
func (s *Store) info(id string, t target, size int64, pttl time.Duration, now time.Time) store.Info {
	in := store.Info{ID: id, Size: size, Server: t.server}
	if pttl >= 0 {
		in.TTL, in.HasTTL = pttl, true
		if ml := s.opts.MaxLifetime; ml > 0 && pttl <= ml {
			in.ModTime = now.Add(-(ml - pttl)).Truncate(time.Second)
		}
	}
	return in
}

// Stat returns a session's size, TTL and lock holder.
func (s *Store) Stat(id string) (store.Info, error) {
	t, err := s.target(id)
	if err != nil {
		return store.Info{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.timeout())
	defer cancel()
	return s.stat(ctx, id, t)
}

func (s *Store) stat(ctx context.Context, id string, t target) (store.Info, error) {
	var ttl *redis.DurationCmd
	var n *redis.IntCmd
	var lock *redis.StringCmd
	_, err := t.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		ttl = p.PTTL(ctx, t.key)
		n = p.StrLen(ctx, t.key)
		if s.cluster == nil {
			lock = p.Get(ctx, t.key+LockSuffix)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return store.Info{}, unreachable(t.server, err)
	}
	if ttl.Val() == -2 || ttl.Val() == -2*time.Nanosecond {
		return store.Info{}, notFound(id, s.where)
	}
	in := s.info(id, t, n.Val(), pttl(ttl), time.Now())
	if lock != nil && lock.Err() == nil {
		in.Locked, in.LockHolder = true, lock.Val()
	}
	return in, nil
}

// pttl is a PTTL reply as a duration: -1 (no expiry) and -2 (no key) stay
// negative.
func pttl(c *redis.DurationCmd) time.Duration {
	d := c.Val()
	switch d {
	case -1, -1 * time.Millisecond, -1 * time.Second:
		return -1
	case -2, -2 * time.Millisecond, -2 * time.Second:
		return -2
	}
	return d
}

func notFound(id, where string) error {
	return fmt.Errorf("session %q not found in save_path %q: %w", id, where, store.ErrNotFound)
}

// Read returns a session's bytes with one GET (atomic: no lock needed), its
// TTL and whether a lock is held on it.
func (s *Store) Read(ctx context.Context, id string) ([]byte, store.Info, error) {
	t, err := s.target(id)
	if err != nil {
		return nil, store.Info{}, err
	}
	var ttl *redis.DurationCmd
	var get *redis.StringCmd
	var lock *redis.StringCmd
	_, err = t.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		ttl = p.PTTL(ctx, t.key)
		get = p.Get(ctx, t.key)
		if s.cluster == nil {
			lock = p.Get(ctx, t.key+LockSuffix)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, store.Info{}, unreachable(t.server, err)
	}
	if errors.Is(get.Err(), redis.Nil) {
		return nil, store.Info{}, notFound(id, s.where)
	}
	if get.Err() != nil {
		return nil, store.Info{}, fmt.Errorf("session %q: %w", id, get.Err())
	}
	data := []byte(get.Val())
	if int64(len(data)) > s.opts.maxSize() {
		return nil, store.Info{}, fmt.Errorf("session %q is %d bytes, more than --max-size %d", id, len(data), s.opts.maxSize())
	}
	in := s.info(id, t, int64(len(data)), pttl(ttl), time.Now())
	if lock != nil && lock.Err() == nil {
		in.Locked, in.LockHolder = true, lock.Val()
	}
	if s.cluster != nil {
		if m, err := s.cluster.MasterForKey(ctx, t.key); err == nil {
			in.Server = m.Options().Addr
		}
	}
	return data, in, nil
}

var _ store.Store = (*Store)(nil)
