// Package sessredis is the phpredis session store: PHP's "redis" handler
// (one or several hosts, with phpredis' own choice of host per session)
// and its "rediscluster" handler, with phpredis' keys, lock protocol and
// expiry, as STORES-FACTS.md section 1 describes phpredis 5.3.7.
package sessredis

import (
	"encoding/binary"
	"fmt"
	"github.com/sesstool/sesstool/internal/phpurl"
	"net"
	"strconv"
	"strings"
	"time"
)

// Prefixes phpredis gives session keys when save_path names none.
const (
	DefaultPrefix        = "PHPREDIS_SESSION:"
	DefaultClusterPrefix = "PHPREDIS_CLUSTER_SESSION:"
	// LockSuffix ends the key of a session's lock: data key + "_LOCK".
	LockSuffix = "_LOCK"
	// DefaultPort is Redis' port when an entry names none.
	DefaultPort = 6379
)

// SavePathError reports a session.save_path phpredis would refuse (its
// session module fails to open), with the byte offset of the entry at
// fault.
type SavePathError struct {
	Handler string // "redis" or "rediscluster"
	Value   string // the save_path as given
	Offset  int    // where the entry at fault starts (-1: the whole value)
	Reason  string
}

// Error names the handler, the value and, when known, the offset, with
// every auth= value masked.
func (e *SavePathError) Error() string {
	v := MaskSecrets(e.Value)
	if e.Handler == "rediscluster" {
		v = MaskClusterSecrets(e.Value)
	}
	if e.Offset >= 0 {
		return fmt.Sprintf("invalid %s save_path %q: at offset %d: %s", e.Handler, v, e.Offset, e.Reason)
	}
	return fmt.Sprintf("invalid %s save_path %q: %s", e.Handler, v, e.Reason)
}

// Host is one host of a redis save_path, as phpredis' PS_OPEN reads it.
type Host struct {
	Entry  string // the entry as written in save_path
	Offset int    // where it starts
	// Network is "tcp" or "unix"; Addr is host:port or the socket path.
	Network, Addr string
	TLS           bool // the tls:// scheme
	Weight        int  // weight= (default 1)
	Database      int  // database= (-1: none, no SELECT)
	Prefix        string
	User          string // auth[]=user&auth[]=pass
	Password      string // auth=pass
	Timeout       float64
	ReadTimeout   float64
	Persistent    bool
	PersistentID  string
	RetryInterval int64
}

// SavePath is a parsed redis save_path: its hosts in the order written.
type SavePath struct {
	Value string
	Hosts []Host
}

// ParseSavePath reads a "redis" handler save_path exactly as phpredis'
// PS_OPEN_FUNC(redis) does: entries separated by blanks or commas, each
// parsed as PHP's php_url_parse_ex parses a URL ("unix:" read as "file:"),
// its query string as parse_str reads one. An entry PHP cannot parse, a
// weight or timeout that is not positive, an entry with neither host nor
// path, or no entry at all is a *SavePathError naming the offset.
func ParseSavePath(v string) (SavePath, error) {
	sp := SavePath{Value: v}
	for _, e := range phpurl.Entries(v) {
		h, err := parseHost(v, e.Offset, e.Text)
		if err != nil {
			return SavePath{}, err
		}
		sp.Hosts = append(sp.Hosts, h)
	}
	if len(sp.Hosts) == 0 {
		return SavePath{}, &SavePathError{Handler: "redis", Value: v, Offset: -1, Reason: "no host (want tcp://HOST:PORT, unix:///PATH or HOST:PORT, several separated by commas)"}
	}
	return sp, nil
}

func parseHost(v string, off int, entry string) (Host, error) {
	bad := func(reason string) error {
		return &SavePathError{Handler: "redis", Value: v, Offset: off, Reason: reason}
	}
	shown := MaskSecrets(entry) // what messages may say of the entry
	s := entry
	if strings.HasPrefix(s, "unix:") {
		s = "file:" + s[len("unix:"):]
	}
	u, ok := phpurl.Parse(s)
	if !ok {
		return Host{}, bad(fmt.Sprintf("%q is not a URL PHP can parse", shown))
	}
	h := Host{Entry: entry, Offset: off, Weight: 1, Database: -1, Prefix: DefaultPrefix, Timeout: 86400}
	if u.Query != nil {
		q := phpurl.ParseQuery(*u.Query)
		if u.Fragment != nil {
			// phpredis parses the query and the fragment together.
			q = phpurl.ParseQuery(*u.Query + "#" + *u.Fragment)
		}
		if x, ok := q.Get("weight"); ok {
			h.Weight = int(clampInt(phpurl.Long(x)))
		}
		if x, ok := q.Get("persistent"); ok {
			h.Persistent = x != "" && x != "0"
		}
		if x, ok := q.Get("database"); ok {
			h.Database = int(clampInt(phpurl.Long(x)))
		}
		if x, ok := q.Get("timeout"); ok {
			h.Timeout = phpurl.Double(x)
		}
		if x, ok := q.Get("read_timeout"); ok {
			h.ReadTimeout = phpurl.Double(x)
		}
		if x, ok := q.Get("retry_interval"); ok {
			h.RetryInterval = phpurl.Long(x)
		}
		if x, ok := q.Get("persistent_id"); ok {
			h.PersistentID = x
		}
		if x, ok := q.Get("prefix"); ok {
			h.Prefix = x // even empty: the id alone is then the key
		}
		h.User, h.Password = auth(q)
	}
	switch {
	case u.Host == nil && u.Path == nil:
		return Host{}, bad(fmt.Sprintf("%q names no host and no socket path", shown))
	case h.Weight <= 0:
		return Host{}, bad(fmt.Sprintf("%q: weight must be a positive number", shown))
	case h.Timeout <= 0:
		return Host{}, bad(fmt.Sprintf("%q: timeout must be a positive number", shown))
	}
	if u.Host != nil {
		port := u.Port
		if port == 0 {
			port = DefaultPort
		}
		host := strings.TrimSuffix(strings.TrimPrefix(*u.Host, "["), "]")
		h.Network, h.Addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
		h.TLS = u.Scheme != nil && *u.Scheme == "tls"
	} else {
		h.Network, h.Addr = "unix", *u.Path
	}
	return h, nil
}

// auth reads phpredis' auth parameter: "auth=PASS", or an array of one
// (the password) or two (user and password) elements.
func auth(q phpurl.Query) (user, pass string) {
	if a, isArray := q.List("auth"); isArray {
		switch len(a) {
		case 1:
			return "", a[0]
		case 2:
			return a[0], a[1]
		}
		return "", ""
	}
	pass, _ = q.Get("auth")
	return "", pass
}

func clampInt(n int64) int64 { return max(min(n, 1<<31-1), -1<<31) }

// TotalWeight is the sum of the hosts' weights.
func (p SavePath) TotalWeight() int {
	t := 0
	for _, h := range p.Hosts {
		t += h.Weight
	}
	return t
}

// HostFor returns the index in p.Hosts of the host phpredis keeps session
// id on (redis_pool_get_sock): the first 4 bytes of the id as a
// little-endian unsigned int, modulo the total weight, over the hosts in
// reverse save_path order (phpredis prepends each host it adds), one band
// of their weight each. An id shorter than 4 bytes is padded with NULs
// (PHP reads its terminator).
func (p SavePath) HostFor(id string) int {
	var b [4]byte
	copy(b[:], id)
	total := uint32(p.TotalWeight())
	if total == 0 {
		return 0
	}
	pos := binary.LittleEndian.Uint32(b[:]) % total
	var band uint32
	for i := len(p.Hosts) - 1; i >= 0; i-- {
		w := uint32(p.Hosts[i].Weight)
		if pos >= band && pos < band+w {
			return i
		}
		band += w
	}
	return 0
}

// Key is the data key of session id on host h.
func (h Host) Key(id string) string { return h.Prefix + id }

// ClusterSavePath is a parsed "rediscluster" save_path.
type ClusterSavePath struct {
	Value       string
	Seeds       []string // host:port
	Timeout     float64
	ReadTimeout float64
	Failover    string // none, error, distribute
	Prefix      string
	User        string
	Password    string
	Persistent  bool
}

// ParseClusterSavePath reads a "rediscluster" save_path as phpredis'
// PS_OPEN_FUNC(rediscluster) does: the whole value is a query string
// ("seed[]=host:port&seed[]=...&timeout=2&failover=error&prefix=P&auth=X").
// No seed, a seed that is not host:port, or a failover phpredis does not
// know is a *SavePathError.
func ParseClusterSavePath(v string) (ClusterSavePath, error) {
	bad := func(reason string) error {
		return &SavePathError{Handler: "rediscluster", Value: v, Offset: -1, Reason: reason}
	}
	q := phpurl.ParseQuery(v)
	c := ClusterSavePath{Value: v, Prefix: DefaultClusterPrefix, Failover: "none"}
	seeds, _ := q.List("seed")
	for _, s := range seeds {
		host, port, err := net.SplitHostPort(s)
		if err != nil || host == "" || port == "" {
			return ClusterSavePath{}, bad(fmt.Sprintf("seed %q is not host:port", s))
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return ClusterSavePath{}, bad(fmt.Sprintf("seed %q: bad port", s))
		}
		c.Seeds = append(c.Seeds, s)
	}
	if len(c.Seeds) == 0 {
		return ClusterSavePath{}, bad("no seed[]=HOST:PORT (phpredis: \"No valid seeds detected\")")
	}
	if x, ok := q.Get("timeout"); ok {
		c.Timeout = phpurl.Double(x)
	}
	if x, ok := q.Get("read_timeout"); ok {
		c.ReadTimeout = phpurl.Double(x)
	}
	if x, ok := q.Get("persistent"); ok {
		c.Persistent = x != "" && x != "0"
	}
	if x, ok := q.Get("failover"); ok {
		switch strings.ToLower(x) {
		case "none", "error", "distribute":
			c.Failover = strings.ToLower(x)
		default:
			return ClusterSavePath{}, bad(fmt.Sprintf("failover=%q: want none, error or distribute", x))
		}
	}
	if x, ok := q.Get("prefix"); ok && x != "" {
		c.Prefix = x
	}
	c.User, c.Password = auth(q)
	return c, nil
}

// dialTimeout is a phpredis timeout in seconds as a duration, capped by
// limit (sesstool's own --timeout: phpredis' default is a day).
func dialTimeout(sec float64, limit time.Duration) time.Duration {
	d := time.Duration(sec * float64(time.Second))
	if d <= 0 || d > limit {
		return limit
	}
	return d
}
