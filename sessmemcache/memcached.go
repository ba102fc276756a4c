// Package sessmemcache is where sesstool finds PHP's Memcached sessions:
// php-memcached's save_path and libmemcached's ketama continuum (and modula),
// exactly as STORES-FACTS.md section 2 describes php-memcached 3.2.0 with
// libmemcached 1.1.4.
package sessmemcache

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// DefaultPort is memcached's port when an entry names none (or 0).
const DefaultPort = 11211

// DefaultPrefix is memcached.sess_prefix's default.
const DefaultPrefix = "memc.sess.key."

// LockPrefix is what php-memcached puts before a session id to make its
// lock key's id: the lock is "lock." + id (with the prefix on the wire),
// hashed on its own.
const LockPrefix = "lock."

// pointsPerServer is libmemcached's MEMCACHED_POINTS_PER_SERVER.
const pointsPerServer = 100

// Server is one server of a php-memcached save_path.
type Server struct {
	Entry  string // as written
	Host   string // the host (or socket path) as written: ketama hashes it
	Port   int    // DefaultPort when none was given
	Weight int    // parsed; libmemcached's ketama ignores it
}

// Addr is host:port, or the socket path.
func (s Server) Addr() string {
	if strings.HasPrefix(s.Host, "/") {
		return s.Host
	}
	if strings.Contains(s.Host, ":") {
		return "[" + s.Host + "]:" + strconv.Itoa(s.Port)
	}
	return s.Host + ":" + strconv.Itoa(s.Port)
}

// SavePathError reports a save_path php-memcached would refuse.
type SavePathError struct {
	Value  string
	Reason string
}

func (e *SavePathError) Error() string {
	return fmt.Sprintf("invalid memcached save_path %q: %s", e.Value, e.Reason)
}

// SavePath is a parsed php-memcached save_path.
type SavePath struct {
	Value   string
	Servers []Server
}

// ParseSavePath reads a "memcached" save_path as php-memcached hands it to
// libmemcached's memcached_servers_parse: entries split at ',' (one blank
// after a comma skipped), each "host[:port[:weight]]" or "host:port
// weight", "[ipv6]:port", or a socket path; a port of 0 or none is 11211.
// The old "PERSISTENT=" form, which php-memcached refuses, and an empty
// value are errors.
func ParseSavePath(v string) (SavePath, error) {
	sp := SavePath{Value: v}
	if strings.HasPrefix(v, "PERSISTENT=") {
		return sp, &SavePathError{Value: v, Reason: "the PERSISTENT= form is no longer accepted by php-memcached (use memcached.sess_persistent)"}
	}
	rest := v
	for rest != "" {
		entry := rest
		if i := strings.IndexByte(rest, ','); i >= 0 {
			entry, rest = rest[:i], rest[i+1:]
			if rest != "" && (rest[0] == ' ' || rest[0] >= '\t' && rest[0] <= '\r') {
				rest = rest[1:]
			}
		} else {
			rest = ""
		}
		if entry == "" {
			continue
		}
		s, err := parseServer(v, entry)
		if err != nil {
			return SavePath{}, err
		}
		sp.Servers = append(sp.Servers, s)
	}
	if len(sp.Servers) == 0 {
		return SavePath{}, &SavePathError{Value: v, Reason: "no server (want host:port, several separated by commas)"}
	}
	return sp, nil
}

func parseServer(v, entry string) (Server, error) {
	s := Server{Entry: entry, Port: DefaultPort, Weight: 1}
	host, tail := entry, ""
	switch {
	case strings.HasPrefix(entry, "/"):
		// A socket path: no port.
		s.Host, s.Port = entry, 0
		return s, nil
	case strings.HasPrefix(entry, "["):
		end := strings.IndexByte(entry, ']')
		if end < 0 {
			return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q: an IPv6 address without ']'", entry)}
		}
		host, tail = entry[1:end], strings.TrimPrefix(entry[end+1:], ":")
	default:
		if i := strings.IndexByte(entry, ':'); i >= 0 {
			host, tail = entry[:i], entry[i+1:]
		}
	}
	if host == "" {
		return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q names no host", entry)}
	}
	s.Host = host
	if tail != "" {
		portStr, weightStr := tail, ""
		if i := strings.IndexAny(tail, " :"); i >= 0 {
			portStr, weightStr = tail[:i], tail[i+1:]
		}
		port, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil {
			return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q: port %q is not a number from 0 to 65535", entry, portStr)}
		}
		if port != 0 {
			s.Port = int(port)
		}
		if weightStr != "" {
			w, err := strconv.ParseUint(weightStr, 10, 31)
			if err != nil {
				return s, &SavePathError{Value: v, Reason: fmt.Sprintf("%q: weight %q is not a number", entry, weightStr)}
			}
			s.Weight = int(w)
		}
	}
	return s, nil
}

// oaat is Jenkins' one-at-a-time hash as libhashkit computes it, bytes
// read as signed char.
func oaat(s string) uint32 {
	var h uint32
	for i := 0; i < len(s); i++ {
		h += uint32(int32(int8(s[i])))
		h += h << 10
		h ^= h >> 6
	}
	h += h << 3
	h ^= h >> 11
	h += h << 15
	return h
}

// point is one point of the ketama continuum.
type point struct {
	value  uint32
	server int
}

// Ring is libmemcached's ketama continuum over a save_path's servers, as
// php-memcached sets it up for sessions (KETAMA on, weights ignored,
// one-at-a-time for points and keys).
type Ring struct {
	points []point
	n      int
}

// NewRing builds the continuum: for each server (in save_path order) and
// i in 0..99 a point OAAT("<host>-<i>") when its port is 11211, else
// OAAT("<host>:<port>-<i>"), sorted by value then server.
func NewRing(sp SavePath) *Ring {
	r := &Ring{n: len(sp.Servers)}
	for si, s := range sp.Servers {
		for i := range pointsPerServer {
			var name string
			if s.Port == DefaultPort {
				name = s.Host + "-" + strconv.Itoa(i)
			} else {
				name = s.Host + ":" + strconv.Itoa(s.Port) + "-" + strconv.Itoa(i)
			}
			r.points = append(r.points, point{oaat(name), si})
		}
	}
	sort.Slice(r.points, func(a, b int) bool {
		if r.points[a].value != r.points[b].value {
			return r.points[a].value < r.points[b].value
		}
		return r.points[a].server < r.points[b].server
	})
	return r
}

// ServerFor returns the index of the server that holds key (a session id,
// or LockPrefix + id for its lock: without memcached.sess_prefix, which
// libmemcached does not hash): the first point at or after OAAT(key),
// wrapping round; with one server, that one.
func (r *Ring) ServerFor(key string) int {
	if r.n <= 1 {
		return 0
	}
	h := oaat(key)
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i].value >= h })
	if i == len(r.points) {
		i = 0
	}
	return r.points[i].server
}

// ModulaFor is the server of key with memcached.sess_consistent_hash = 0:
// OAAT(key) modulo the number of servers.
func ModulaFor(key string, n int) int {
	if n <= 1 {
		return 0
	}
	return int(oaat(key) % uint32(n))
}
