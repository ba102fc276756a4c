package sessmemcache

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sesstool/sesstool/store"
)

// Options tune a Store.
type Options struct {
	// Timeout bounds connecting and every reply (sesstool's --timeout).
	Timeout time.Duration
	// LockTimeout is how long Update, Destroy and DestroyIf wait for a
	// session's lock (> 0: that long, 0: one try, < 0: for ever).
	LockTimeout time.Duration
	// OnLockWait, when set, is called once when a change has waited a
	// second for a session's lock (holder "": the lock names none).
	OnLockWait func(id, holder string)
	// MaxLifetime is session.gc_maxlifetime: the TTL PHP gives a session
	// it writes, and what a last-write time is worked out from.
	MaxLifetime time.Duration
	// Locking is memcached.sess_locking (php-memcached); pecl memcache
	// always locks.
	Locking bool
	// LockExpire is the expiry of sesstool's lock item: php-memcached's
	// sess_lock_expire, else max_execution_time (0 there means none; here
	// 30s, so that a killed sesstool never leaves a session locked for
	// good); pecl memcache's memcache.lock_timeout (15s by default).
	LockExpire time.Duration
	// Touch gives a changed session a fresh MaxLifetime TTL, as a PHP
	// write does; otherwise its remaining TTL is kept.
	Touch bool
	// MaxSize is the largest session Read and Update load (0: 64 MiB).
	MaxSize int64
	// Prefix is memcached.sess_prefix (php-memcached, default
	// "memc.sess.key."), or pecl memcache's session key prefix (empty by
	// default: the key is the bare id).
	Prefix string
	// Replicas is memcached.sess_number_of_replicas (php-memcached).
	Replicas int
	// Modula is memcached.sess_consistent_hash = 0 (php-memcached).
	Modula bool
	// Redundancy is memcache.session_redundancy (pecl memcache; 0 is 2).
	Redundancy int
	// CompressThreshold is memcache.compress_threshold (pecl memcache; 0
	// is 20000, < 0 never).
	CompressThreshold int
	// Hash is memcache.hash_strategy and memcache.hash_function (pecl
	// memcache; the zero value is their defaults, consistent and crc32).
	Hash MemcacheHash
}

const defaultMaxSize = 64 << 20

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 5 * time.Second
}

// Store is an open Memcached session store: php-memcached's ("memcached")
// or pecl memcache's ("memcache") servers. Its methods are safe for
// concurrent use.
type Store struct {
	handler string
	where   string
	opts    Options
	servers []*client
	ring    *Ring         // memcached
	mring   *MemcacheRing // memcache
}

// OpenMemcached returns a Store over a php-memcached save_path (servers
// are dialled on first use).
func OpenMemcached(sp SavePath, opts Options) (*Store, error) {
	s := &Store{handler: "memcached", where: sp.Value, opts: opts, ring: NewRing(sp)}
	if opts.Prefix == "" {
		s.opts.Prefix = DefaultPrefix
	}
	for _, sv := range sp.Servers {
		network := "tcp"
		if strings.HasPrefix(sv.Host, "/") {
			network = "unix"
		}
		s.servers = append(s.servers, newClient(network, sv.Addr(), sv.Addr(), opts.timeout(), s.maxSize()))
	}
	return s, nil
}

// OpenMemcache returns a Store over a pecl memcache save_path.
func OpenMemcache(sp MemcacheSavePath, opts Options) (*Store, error) {
	s := &Store{handler: "memcache", where: sp.Value, opts: opts, mring: NewMemcacheRingWith(sp, opts.Hash)}
	if s.opts.Redundancy <= 0 {
		s.opts.Redundancy = DefaultRedundancy
	}
	if s.opts.CompressThreshold == 0 {
		s.opts.CompressThreshold = DefaultCompressThreshold
	}
	if s.opts.LockExpire <= 0 {
		s.opts.LockExpire = 15 * time.Second
	}
	for _, sv := range sp.Servers {
		s.servers = append(s.servers, newClient(sv.Network, sv.Addr, sv.Name(), opts.timeout(), s.maxSize()))
	}
	return s, nil
}

func (s *Store) maxSize() int64 {
	if s.opts.MaxSize > 0 {
		return s.opts.MaxSize
	}
	return defaultMaxSize
}

// Close drops the idle connections.
func (s *Store) Close() error {
	for _, c := range s.servers {
		c.close()
	}
	return nil
}

// Where is the save_path.
func (s *Store) Where() string { return s.where }

// Capabilities: memcached expires items by TTL and has no notifications.
func (s *Store) Capabilities() store.Capabilities {
	return store.Capabilities{Handler: s.handler, TTL: true}
}

// target is where a session lives: its key and lock key, the servers
// holding its copies (the one PHP reads first, first) and the lock's.
type target struct {
	id      string
	key     string
	lockKey string
	data    []int
	lock    int
	// down are servers of data found unreachable meanwhile (passed over).
	down []int
}

// Target returns the servers of session id's copies (PHP's first first)
// and of its lock, as indexes into the save_path's servers.
func (s *Store) Target(id string) (data []int, lock int, err error) {
	t, err := s.target(id)
	return t.data, t.lock, err
}

// primary is the server PHP reads id from first, and whether id has
// copies elsewhere; id must be valid (Walk's fast path).
func (s *Store) primary(id string) (int, bool) {
	if s.handler == "memcache" || s.opts.Replicas > 0 && len(s.servers) > 1 {
		t, _ := s.target(id)
		return t.data[0], len(t.data) > 1
	}
	if s.opts.Modula {
		return ModulaFor(id, len(s.servers)), false
	}
	return s.ring.ServerFor(id), false
}

func (s *Store) target(id string) (target, error) {
	if err := store.ValidateID(id); err != nil {
		return target{}, err
	}
	n := len(s.servers)
	if s.handler == "memcache" {
		key := PrepareKey(s.opts.Prefix + id)
		d := s.mring.ServersFor(key, s.opts.Redundancy)
		return target{id: id, key: key, lockKey: key + LockSuffix, data: d, lock: d[0]}, nil
	}
	owner, lock := 0, 0
	if s.opts.Modula {
		owner, lock = ModulaFor(id, n), ModulaFor(LockPrefix+id, n)
	} else {
		owner, lock = s.ring.ServerFor(id), s.ring.ServerFor(LockPrefix+id)
	}
	d := []int{owner}
	for k := 1; k <= min(s.opts.Replicas, n-1); k++ {
		d = append(d, (owner+k)%n)
	}
	return target{id: id, key: s.opts.Prefix + id, lockKey: s.opts.Prefix + LockPrefix + id, data: d, lock: lock}, nil
}

func notFoundErr(id, where string) error {
	return fmt.Errorf("session %q not found in save_path %q: %w", id, where, store.ErrNotFound)
}

// value undoes pecl memcache's compression (flag 2: zlib) and refuses a
// value of another PHP type; php-memcached's session reads the bytes as
// they are, whatever the flags.
func (s *Store) value(id string, it item) ([]byte, error) {
	if s.handler != "memcache" {
		return it.value, nil
	}
	if it.flags&^FlagCompressed != 0 {
		return nil, fmt.Errorf("session %q: stored with flags %d, not as a string: not a pecl memcache session", id, it.flags)
	}
	if it.flags&FlagCompressed == 0 {
		return it.value, nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(it.value))
	if err != nil {
		return nil, fmt.Errorf("session %q: flag 2 (zlib) but the value is not zlib data: %w", id, err)
	}
	defer zr.Close()
	limit := s.maxSize()
	b, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("session %q: zlib data does not inflate: %w", id, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("session %q inflates to more than the %d bytes --max-size allows", id, limit)
	}
	return b, nil
}

// encode is what a write stores: pecl memcache compresses a value of
// compress_threshold bytes or more when that saves a fifth, as PHP does.
func (s *Store) encode(data []byte) ([]byte, uint32) {
	if s.handler != "memcache" || s.opts.CompressThreshold < 0 || len(data) < s.opts.CompressThreshold {
		return data, 0
	}
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if b.Len() <= compressLimit(len(data)) {
		return b.Bytes(), FlagCompressed
	}
	return data, 0
}

// minCompressSavings is MMC_DEFAULT_SAVINGS, the pool's
// min_compress_savings (sessions cannot change it).
const minCompressSavings = 0.2

// compressLimit is the most bytes n bytes may compress to for pecl
// memcache to store them compressed: mmc_compress gives compress2 an
// output buffer of n * (1 - min_compress_savings) bytes (a double, cut to
// an integer) and stores the value as it is when the output does not fit
// (Z_BUF_ERROR). So a value is compressed when it compresses to at most
// that many bytes: 16,000 of 20,000 is compressed, 16,001 is not. (Go's
// deflate is not zlib's, byte for byte: a value within a few bytes of the
// limit may compress to just over it here and just under it in PHP, or the
// reverse; either way PHP reads it, by its flag.)
func compressLimit(n int) int { return int(float64(n) * (1 - minCompressSavings)) }

// info builds a session's Info from what a server said of it.
func (s *Store) info(id string, server int, size int64, it item, now time.Time) store.Info {
	in := store.Info{ID: id, Size: size, Server: s.servers[server].name}
	if it.hasTTL {
		in.TTL, in.HasTTL = time.Duration(it.ttl)*time.Second, true
		if ml := s.opts.MaxLifetime; ml > 0 && in.TTL <= ml {
			in.ModTime = now.Add(-(ml - in.TTL)).Truncate(time.Second)
		}
	}
	return in
}

// readCopy returns the first copy of a session PHP would read (its first
// server, then the others in turn) with the server it came from; a server
// that cannot be reached is passed over when another copy answers.
func (s *Store) readCopy(ctx context.Context, t target, withValue bool) (item, int, error) {
	var firstErr error
	for _, si := range t.data {
		it, err := s.servers[si].mg(ctx, t.key, withValue)
		if err != nil {
			var tl *tooLargeError
			if errors.As(err, &tl) {
				return it, si, fmt.Errorf("session %q: %w", t.id, err)
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if it.found {
			return it, si, nil
		}
	}
	if firstErr != nil {
		return item{}, -1, firstErr
	}
	return item{}, -1, nil
}

// lockState reads a session's lock item: held is true when php-memcached's
// lock key exists, or pecl memcache's holds anything but "0" (on the first
// of the session's servers that answers, where PHP takes it).
func (s *Store) lockState(ctx context.Context, t target) (held bool, err error) {
	if s.handler == "memcached" && !s.opts.Locking {
		return false, nil
	}
	var it item
	cands := s.lockServers(&t)
	for i, si := range cands {
		if it, err = s.servers[si].mg(ctx, t.lockKey, s.handler == "memcache"); err == nil || !unreachable(err) || i+1 == len(cands) {
			break
		}
	}
	if err != nil || !it.found {
		return false, err
	}
	if s.handler == "memcache" {
		return string(it.value) != "0", nil
	}
	return true, nil
}

// Stat returns a session's size, TTL and lock state without its bytes.
func (s *Store) Stat(id string) (store.Info, error) {
	t, err := s.target(id)
	if err != nil {
		return store.Info{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.timeout())
	defer cancel()
	it, si, err := s.readCopy(ctx, t, false)
	if err != nil {
		return store.Info{}, err
	}
	if !it.found {
		return store.Info{}, notFoundErr(id, s.where)
	}
	in := s.info(id, si, it.size, it, time.Now())
	in.Servers = s.names(t.data)
	in.Locked, _ = s.lockState(ctx, t)
	return in, nil
}

func (s *Store) names(idx []int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, s.servers[i].name)
	}
	return out
}

// Read returns a session's bytes with one get from the first server that
// has it (no lock needed: a get is atomic), its TTL and its lock state.
func (s *Store) Read(ctx context.Context, id string) ([]byte, store.Info, error) {
	t, err := s.target(id)
	if err != nil {
		return nil, store.Info{}, err
	}
	it, si, err := s.readCopy(ctx, t, true)
	if err != nil {
		return nil, store.Info{}, err
	}
	if !it.found {
		return nil, store.Info{}, notFoundErr(id, s.where)
	}
	data, err := s.value(id, it)
	if err != nil {
		return nil, store.Info{}, err
	}
	in := s.info(id, si, int64(len(data)), it, time.Now())
	in.Servers = s.names(t.data)
	in.Locked, _ = s.lockState(ctx, t)
	return data, in, nil
}
