package sessmemcache

import (
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"

	"github.com/sesstool/sesstool/internal/phpurl"
)

// pecl memcache (session.save_handler = memcache), as Debian's 4.0.5.2
// build does it (STORES-FACTS.md section 3): its save_path, its consistent
// crc32 ring and the redundant servers a session is written to.

// consistentPoints is MMC_CONSISTENT_POINTS: points a server per unit of weight.
const consistentPoints = 160

// consistentBuckets is MMC_CONSISTENT_BUCKETS.
const consistentBuckets = 1024

// DefaultRedundancy is memcache.session_redundancy's default.
const DefaultRedundancy = 2

// DefaultCompressThreshold is memcache.compress_threshold's default: values
// this long and longer are stored zlib-compressed (flag 2) when that saves
// at least a fifth.
const DefaultCompressThreshold = 20000

// FlagCompressed is MMC_COMPRESSED, the flag of a zlib-compressed value.
const FlagCompressed = 2

// FlagLong is MMC_TYPE_LONG (0x0300): pecl memcache's flags on a lock item.
const FlagLong = 0x0300

// LockSuffix is what pecl memcache appends to a session's key for its lock.
const LockSuffix = ".lock"

// MemcacheServer is one entry of a pecl memcache save_path.
type MemcacheServer struct {
	Entry string // as written
	// Host is the host as pecl memcache hashes it: the URL's host as
	// written, or "unix://" + the socket path.
	Host          string
	Port          int // 0 when none was given (pecl memcache defaults nothing)
	Weight        int
	Timeout       float64
	RetryInterval int64
	Persistent    bool
	Network, Addr string // how to dial it
}

// MemcacheSavePath is a parsed pecl memcache save_path.
type MemcacheSavePath struct {
	Value   string
	Servers []MemcacheServer
}

// ParseMemcacheSavePath reads a "memcache" save_path as PS_OPEN_FUNC(memcache)
// does: entries separated by commas and/or blanks, each a URL
// ("tcp://host:port?weight=&timeout=&retry_interval=&persistent=",
// "host:port", "unix:///path" with a trailing ":0" cut) read with PHP's
// URL parser. An entry PHP cannot parse, without a host, or with a weight
// or timeout not above 0 is an error, as it makes session_start() fail.
func ParseMemcacheSavePath(v string) (MemcacheSavePath, error) {
	sp := MemcacheSavePath{Value: v}
	for _, e := range phpurl.Entries(v) {
		s, err := parseMemcacheServer(v, e.Text)
		if err != nil {
			return MemcacheSavePath{}, err
		}
		sp.Servers = append(sp.Servers, s)
	}
	if len(sp.Servers) == 0 {
		return MemcacheSavePath{}, &SavePathError{Value: v, Reason: "no server (want tcp://HOST:PORT or unix:///PATH, several separated by commas)"}
	}
	return sp, nil
}

func parseMemcacheServer(v, entry string) (MemcacheServer, error) {
	s := MemcacheServer{Entry: entry, Weight: 1, Timeout: 1, RetryInterval: 15}
	raw := entry
	if strings.HasPrefix(raw, "unix:") {
		raw = "file:" + raw[len("unix:"):]
	}
	u, ok := phpurl.Parse(raw)
	if !ok {
		return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q is not a URL PHP can parse", entry)}
	}
	if u.Query != nil {
		q := phpurl.ParseQuery(*u.Query)
		if x, ok := q.Get("persistent"); ok {
			s.Persistent = x != "" && x != "0"
		}
		if x, ok := q.Get("weight"); ok {
			s.Weight = int(max(min(phpurl.Long(x), 1<<31-1), -1<<31))
		}
		if x, ok := q.Get("timeout"); ok {
			s.Timeout = phpurl.Double(x)
		}
		if x, ok := q.Get("retry_interval"); ok {
			s.RetryInterval = phpurl.Long(x)
		}
	}
	if u.Scheme != nil && u.Path != nil && *u.Scheme == "file" {
		host := "unix://" + *u.Path
		host = strings.TrimSuffix(host, ":0")
		s.Host, s.Network, s.Addr = host, "unix", strings.TrimPrefix(host, "unix://")
		return s, nil
	}
	switch {
	case u.Host == nil:
		return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q names no host", entry)}
	case s.Weight <= 0:
		return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q: weight must be a positive number", entry)}
	case s.Timeout <= 0:
		return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q: timeout must be a positive number", entry)}
	}
	s.Host, s.Port = *u.Host, u.Port
	host := strings.TrimSuffix(strings.TrimPrefix(s.Host, "["), "]")
	s.Network, s.Addr = "tcp", joinHostPort(host, s.Port)
	return s, nil
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// Name is how messages name the server: host:port or the socket path.
func (s MemcacheServer) Name() string { return s.Addr }

type crcPoint struct {
	value  uint32
	server int
}

// MemcacheRing is how pecl memcache picks servers: its consistent hash
// (hash_strategy = consistent, the default) or its standard one, with
// crc32 (hash_function's default) or FNV-1a.
type MemcacheRing struct {
	n        int
	fnv      bool
	standard []int // hash_strategy = standard: weight buckets per server
	buckets  [consistentBuckets]int
}

// MemcacheHash names pecl memcache's memcache.hash_strategy and
// memcache.hash_function.
type MemcacheHash struct {
	Standard bool // hash_strategy = standard
	FNV      bool // hash_function = fnv
}

// hash is mmc_hash with the ring's function: crc32 (IEEE), or FNV-1a
// over bytes read as signed char (as pecl memcache's C does).
func (r *MemcacheRing) hash(key string) uint32 {
	if !r.fnv {
		return crc32.ChecksumIEEE([]byte(key))
	}
	h := uint32(0x811c9dc5)
	for i := 0; i < len(key); i++ {
		h ^= uint32(int32(int8(key[i])))
		h *= 0x01000193
	}
	return h
}

// NewMemcacheRing builds the default ring: for each server, 160 × weight
// points crc32("<host>:<port>-<i>"), sorted by value; then 1024 buckets,
// bucket b the server of the first point at or above b × (0xffffffff /
// 1024), wrapping to the first point.
func NewMemcacheRing(sp MemcacheSavePath) *MemcacheRing {
	return NewMemcacheRingWith(sp, MemcacheHash{})
}

// NewMemcacheRingWith builds the ring hash_strategy and hash_function
// name: the consistent one above (with FNV-1a for its points and keys when
// asked), or the standard one: weight buckets per server in save_path
// order, a key's server the bucket ((hash >> 16) & 0x7fff, 0 read as 1)
// modulo the number of buckets.
func NewMemcacheRingWith(sp MemcacheSavePath, h MemcacheHash) *MemcacheRing {
	r := &MemcacheRing{n: len(sp.Servers), fnv: h.FNV}
	if h.Standard {
		for si, s := range sp.Servers {
			for range max(s.Weight, 1) {
				r.standard = append(r.standard, si)
			}
		}
		return r
	}
	var points []crcPoint
	for si, s := range sp.Servers {
		prefix := s.Host + ":" + strconv.Itoa(s.Port) + "-"
		for i := range consistentPoints * max(s.Weight, 1) {
			points = append(points, crcPoint{r.hash(prefix + strconv.Itoa(i)), si})
		}
	}
	// qsort compares values only; ties (vanishingly rare) keep server order.
	slices.SortStableFunc(points, func(a, b crcPoint) int {
		switch {
		case a.value < b.value:
			return -1
		case a.value > b.value:
			return 1
		}
		return 0
	})
	step := uint32(0xffffffff / consistentBuckets)
	for b := range consistentBuckets {
		p := step * uint32(b)
		i, _ := slices.BinarySearchFunc(points, p, func(pt crcPoint, t uint32) int {
			switch {
			case pt.value < t:
				return -1
			case pt.value > t:
				return 1
			}
			return 0
		})
		if i == len(points) {
			i = 0
		}
		r.buckets[b] = points[i].server
	}
	return r
}

// find is the strategy's find_server: mmc_consistent_find_server's
// bucket of hash(key), or mmc_standard_find_server's.
func (r *MemcacheRing) find(key string) int {
	if r.n <= 1 {
		return 0
	}
	if r.standard != nil {
		h := (r.hash(key) >> 16) & 0x7fff
		if h == 0 {
			h = 1
		}
		return r.standard[h%uint32(len(r.standard))]
	}
	return r.buckets[r.hash(key)%consistentBuckets]
}

// ServersFor returns the servers a session key is written to, primary
// first: mmc_pool_find_next hashes "<key>-0", "<key>-1", ... and takes
// each server not had yet, until min(redundancy, servers) are had. (After
// max_failover_attempts names its skip loop gives up and hands back a
// server already had, which PHP's write loop does not count, so the next
// call tries the next name: the outcome is the same sequence.)
func (r *MemcacheRing) ServersFor(key string, redundancy int) []int {
	want := min(max(redundancy, 1), r.n)
	var out []int
	for n := 0; len(out) < want && n < 1<<16; n++ {
		s := r.find(key + "-" + strconv.Itoa(n))
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// PrepareKey is mmc_prepare_key_ex: every byte at or below 0x20 becomes
// '_', and the key is cut to 250 bytes.
func PrepareKey(k string) string {
	b := []byte(k)
	if len(b) > 250 {
		b = b[:250]
	}
	for i, c := range b {
		if c <= 0x20 {
			b[i] = '_'
		}
	}
	return string(b)
}
