package sessmemcache

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The memcached text protocol, as much of it as sessions need: the
// classic storage commands PHP's extensions send (set, add, incr, delete),
// meta get and meta set/delete for what they lack (a key's TTL and CAS
// without a second round trip, compare-and-delete of our own lock), a
// multi-key get, and lru_crawler metadump for listing. One small client
// serves all of it, so every server has one pool of connections.

// maxLine bounds a reply line a server sends (a metadump line is at most
// 4 KB; anything longer is not memcached).
const maxLine = 64 << 10

// ErrServer is what a reply memcached marks as an error satisfies.
var ErrServer = errors.New("memcached error")

// client is one memcached server's connection pool.
type client struct {
	network, addr string
	name          string // for messages: host:port or the socket path
	timeout       time.Duration
	maxValue      int64 // the largest value read (a hostile server's length)

	mu   sync.Mutex
	idle []*conn
	// failed is when dialling last failed: for retryInterval after it the
	// server is taken as down without dialling again, as pecl memcache
	// marks a server failed for its retry_interval (15 s), so that a
	// command over many sessions waits for a dead server once, not once a
	// session.
	failed    time.Time
	failedErr error
}

// retryInterval is how long a server that could not be dialled is taken
// as down (pecl memcache's default retry_interval).
const retryInterval = 15 * time.Second

// conn is one connection with its buffers.
type conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func newClient(network, addr, name string, timeout time.Duration, maxValue int64) *client {
	return &client{network: network, addr: addr, name: name, timeout: timeout, maxValue: maxValue}
}

// unreachableError is a server sesstool could not talk to.
type unreachableError struct {
	server string
	err    error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("memcached %s: cannot reach it: %v", e.server, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// serverErr names the server in err, unless it already does.
func serverErr(name string, err error) error {
	var ue *unreachableError
	if errors.As(err, &ue) || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("memcached %s: %w", name, err)
}

func (c *client) get(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		cn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return cn, nil
	}
	if !c.failed.IsZero() && time.Since(c.failed) < retryInterval {
		err := c.failedErr
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Unlock()
	d := net.Dialer{Timeout: c.timeout}
	nc, err := d.DialContext(ctx, c.network, c.addr)
	if err != nil {
		ue := &unreachableError{c.name, err}
		if ctx.Err() == nil {
			c.mu.Lock()
			c.failed, c.failedErr = time.Now(), ue
			c.mu.Unlock()
		}
		return nil, ue
	}
	return &conn{c: nc, r: bufio.NewReaderSize(nc, 64<<10), w: bufio.NewWriterSize(nc, 64<<10)}, nil
}

func (c *client) put(cn *conn, err error) {
	if err != nil {
		cn.c.Close()
		return
	}
	c.mu.Lock()
	if len(c.idle) < 8 {
		c.idle = append(c.idle, cn)
		cn = nil
	}
	c.mu.Unlock()
	if cn != nil {
		cn.c.Close()
	}
}

func (c *client) close() {
	c.mu.Lock()
	for _, cn := range c.idle {
		cn.c.Close()
	}
	c.idle = nil
	c.mu.Unlock()
}

// do runs fn on a connection with a deadline of the client's timeout
// (renewed by fn through touch for long streams); a connection that saw an
// error is closed, never reused half-read.
func (c *client) do(ctx context.Context, fn func(cn *conn) error) error {
	cn, err := c.get(ctx)
	if err != nil {
		return err
	}
	dl := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	cn.c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { cn.c.SetDeadline(time.Unix(1, 0)) })
	err = fn(cn)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if ctx.Err() != nil {
				err = ctx.Err()
			} else {
				err = &unreachableError{c.name, err}
			}
		}
	}
	c.put(cn, err)
	return err
}

// line reads one reply line without its "\r\n" (or "\n").
func (cn *conn) line() ([]byte, error) {
	b, err := cn.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("%w: reply line longer than %d bytes", ErrServer, cn.r.Size())
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	b = bytes.TrimSuffix(b[:len(b)-1], []byte("\r"))
	return b, nil
}

// replyError turns an error reply (ERROR, CLIENT_ERROR ..., SERVER_ERROR
// ...) into an error; other lines are nil.
func replyError(line []byte) error {
	switch {
	case bytes.Equal(line, []byte("ERROR")):
		return fmt.Errorf("%w: ERROR (command unknown to this server)", ErrServer)
	case bytes.HasPrefix(line, []byte("CLIENT_ERROR")), bytes.HasPrefix(line, []byte("SERVER_ERROR")):
		return fmt.Errorf("%w: %s", ErrServer, printable(line))
	}
	return nil
}

// printable quotes what a server sent for a message, at most 200 bytes.
func printable(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return strconv.Quote(string(b))
}

// item is one value as meta get returns it.
type item struct {
	found  bool
	value  []byte
	flags  uint32
	ttl    int64 // seconds left; -1 no expiry
	cas    uint64
	size   int64
	hasTTL bool
	idle   int64 // seconds since last access (meta flag l), -1 unknown
}

// parseMeta reads the flags of a meta reply ("VA 6 t12 f0 c9 s6", "HD t-1
// c3"): each token after the first is one letter and its value.
func parseMeta(it *item, toks [][]byte) error {
	for _, t := range toks {
		if len(t) < 1 {
			continue
		}
		v := string(t[1:])
		var err error
		switch t[0] {
		case 't':
			it.ttl, err = strconv.ParseInt(v, 10, 64)
			it.hasTTL = it.ttl >= 0
		case 'f':
			var f uint64
			f, err = strconv.ParseUint(v, 10, 32)
			it.flags = uint32(f)
		case 'c':
			it.cas, err = strconv.ParseUint(v, 10, 64)
		case 's':
			it.size, err = strconv.ParseInt(v, 10, 64)
		case 'l':
			it.idle, err = strconv.ParseInt(v, 10, 64)
		}
		if err != nil {
			return fmt.Errorf("%w: bad meta flag %q", ErrServer, t)
		}
	}
	return nil
}

// writeMG queues a meta get of key asking for its value (when value),
// flags, TTL, CAS, size and idle time; readMG reads its reply. The u flag
// keeps the read from touching the item: memcached neither bumps it in
// its LRU nor updates its last-access time (what metadump's la and mg's l
// report, and what sesstool takes as a lock's age), nor marks it fetched.
// sesstool's reads must never make a lock or a session look younger.
func writeMG(w *bufio.Writer, key string, value bool) {
	w.WriteString("mg ")
	w.WriteString(key)
	if value {
		w.WriteString(" v")
	}
	w.WriteString(" f t c s l u\r\n")
}

func (c *client) readMG(cn *conn) (item, error) {
	line, err := cn.line()
	if err != nil {
		return item{}, err
	}
	if err := replyError(line); err != nil {
		return item{}, err
	}
	toks := bytes.Fields(line)
	if len(toks) == 0 {
		return item{}, fmt.Errorf("%w: empty reply", ErrServer)
	}
	it := item{idle: -1}
	switch string(toks[0]) {
	case "EN":
		return it, nil
	case "HD":
		it.found = true
		return it, parseMeta(&it, toks[1:])
	case "VA":
		if len(toks) < 2 {
			return it, fmt.Errorf("%w: reply %s", ErrServer, printable(line))
		}
		n, err := strconv.ParseInt(string(toks[1]), 10, 64)
		if err != nil || n < 0 {
			return it, fmt.Errorf("%w: reply %s", ErrServer, printable(line))
		}
		it.found = true
		if err := parseMeta(&it, toks[2:]); err != nil {
			return it, err
		}
		if n > c.maxValue {
			return it, &tooLargeError{size: n, max: c.maxValue}
		}
		it.value = make([]byte, n+2)
		if _, err := io.ReadFull(cn.r, it.value); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return it, err
		}
		if !bytes.HasSuffix(it.value, []byte("\r\n")) {
			return it, fmt.Errorf("%w: value of %d bytes not followed by CRLF", ErrServer, n)
		}
		it.value = it.value[:n]
		it.size = n
		return it, nil
	}
	return it, fmt.Errorf("%w: unexpected reply %s", ErrServer, printable(line))
}

// tooLargeError is a value larger than sesstool reads (--max-size).
type tooLargeError struct{ size, max int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("session is %d bytes, more than the %d bytes --max-size allows", e.size, e.max)
}

// mg is one meta get.
func (c *client) mg(ctx context.Context, key string, value bool) (it item, err error) {
	err = c.do(ctx, func(cn *conn) error {
		writeMG(cn.w, key, value)
		if err := cn.w.Flush(); err != nil {
			return err
		}
		it, err = c.readMG(cn)
		return err
	})
	return it, err
}

// mgMulti reads keys with pipelined meta gets (as mg: values, and no
// bump of last access) and calls fn for each hit.
func (c *client) mgMulti(ctx context.Context, keys []string, fn func(key string, it item)) error {
	if len(keys) == 0 {
		return nil
	}
	return c.do(ctx, func(cn *conn) error {
		for _, k := range keys {
			writeMG(cn.w, k, true)
		}
		if err := cn.w.Flush(); err != nil {
			return err
		}
		for _, k := range keys {
			it, err := c.readMG(cn)
			if err != nil {
				return err
			}
			if it.found {
				fn(k, it)
			}
		}
		return nil
	})
}

// Outcomes of a store or delete.
const (
	stored    = "STORED"
	notStored = "NOT_STORED"
	exists    = "EXISTS"
	notFound  = "NOT_FOUND"
)

// store runs a classic storage command (set, add, cas) and returns the
// server's one-word answer (STORED, NOT_STORED, EXISTS, NOT_FOUND).
func (c *client) store(ctx context.Context, cmd, key string, flags uint32, exp int64, data []byte, cas uint64) (reply string, err error) {
	err = c.do(ctx, func(cn *conn) error {
		writeStore(cn.w, cmd, key, flags, exp, data, cas)
		if err := cn.w.Flush(); err != nil {
			return err
		}
		reply, err = readWord(cn)
		return err
	})
	return reply, err
}

func writeStore(w *bufio.Writer, cmd, key string, flags uint32, exp int64, data []byte, cas uint64) {
	fmt.Fprintf(w, "%s %s %d %d %d", cmd, key, flags, exp, len(data))
	if cmd == "cas" {
		fmt.Fprintf(w, " %d", cas)
	}
	w.WriteString("\r\n")
	w.Write(data)
	w.WriteString("\r\n")
}

// readWord reads a one-word reply (STORED, DELETED, ...), or an error.
func readWord(cn *conn) (string, error) {
	line, err := cn.line()
	if err != nil {
		return "", err
	}
	if err := replyError(line); err != nil {
		return "", err
	}
	return string(line), nil
}

// del deletes key: DELETED or NOT_FOUND.
func (c *client) del(ctx context.Context, key string) (reply string, err error) {
	err = c.do(ctx, func(cn *conn) error {
		fmt.Fprintf(cn.w, "delete %s\r\n", key)
		if err := cn.w.Flush(); err != nil {
			return err
		}
		reply, err = readWord(cn)
		return err
	})
	return reply, err
}

// delIfCAS deletes key only while its CAS is cas (meta delete with C):
// true when it did; false when the key changed or is gone.
func (c *client) delIfCAS(ctx context.Context, key string, cas uint64) (ok bool, err error) {
	err = c.do(ctx, func(cn *conn) error {
		fmt.Fprintf(cn.w, "md %s C%d\r\n", key, cas)
		if err := cn.w.Flush(); err != nil {
			return err
		}
		w, err := readWord(cn)
		ok = w == "HD"
		return err
	})
	return ok, err
}

// addCAS adds key (meta set in add mode) and returns its CAS: ok false when
// the key exists.
func (c *client) addCAS(ctx context.Context, key string, flags uint32, exp int64, data []byte) (ok bool, cas uint64, err error) {
	err = c.do(ctx, func(cn *conn) error {
		fmt.Fprintf(cn.w, "ms %s %d T%d F%d ME c\r\n", key, len(data), exp, flags)
		cn.w.Write(data)
		cn.w.WriteString("\r\n")
		if err := cn.w.Flush(); err != nil {
			return err
		}
		line, err := cn.line()
		if err != nil {
			return err
		}
		if err := replyError(line); err != nil {
			return err
		}
		toks := bytes.Fields(line)
		if len(toks) > 0 && string(toks[0]) == "HD" {
			var it item
			if err := parseMeta(&it, toks[1:]); err != nil {
				return err
			}
			ok, cas = true, it.cas
		}
		return nil
	})
	return ok, cas, err
}

// incr increments key by n: the new value, or found false.
func (c *client) incr(ctx context.Context, key string, n uint64) (v uint64, found bool, err error) {
	err = c.do(ctx, func(cn *conn) error {
		fmt.Fprintf(cn.w, "incr %s %d\r\n", key, n)
		if err := cn.w.Flush(); err != nil {
			return err
		}
		w, err := readWord(cn)
		if err != nil {
			return err
		}
		if w == notFound {
			return nil
		}
		v, err = strconv.ParseUint(w, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: incr replied %s", ErrServer, printable([]byte(w)))
		}
		found = true
		return nil
	})
	return v, found, err
}

// dumped is one line of lru_crawler metadump.
type dumped struct {
	key  string // decoded
	exp  int64  // absolute unix time; -1 none
	la   int64  // last access, unix time
	cas  uint64
	size int64 // the whole item's size
}

// ErrNoDump is a server that refuses lru_crawler metadump (memcached -X, or
// the LRU crawler off).
var ErrNoDump = errors.New("lru_crawler metadump is disabled")

// metadump streams every live item of the server whose line keep (when
// not nil) accepts, before any parsing, to fn with lru_crawler
// metadump hash: it walks the hash table, where "all" walks the LRUs and
// misses items a request moves between them meanwhile (seen: a session in
// active use left out of one listing in about a thousand). Each line
// renews the deadline, so a long dump never times out while the server is
// sending.
func (c *client) metadump(ctx context.Context, keep func(line []byte) bool, fn func(d dumped) error) error {
	return c.metadumpOf(ctx, "hash", keep, fn)
}

// metadumpOf is metadump of what: "hash" (every item, from the hash
// table), or a list of slab class ids ("2,3": the items of those classes,
// from their LRUs).
func (c *client) metadumpOf(ctx context.Context, what string, keep func(line []byte) bool, fn func(d dumped) error) error {
	// The server runs one crawler at a time: another listing (sesstool's
	// or anyone's) makes it answer BUSY, so wait for it, within the timeout.
	deadline := time.Now().Add(c.timeout)
	for wait := 10 * time.Millisecond; ; wait = min(wait*2, 200*time.Millisecond) {
		err := c.metadumpOnce(ctx, what, keep, fn)
		if !errors.Is(err, errBusy) {
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("%w: its LRU crawler stayed busy with another listing for %s", ErrServer, c.timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// errBusy is a crawler already running for another client.
var errBusy = errors.New("crawler busy")

func (c *client) metadumpOnce(ctx context.Context, what string, keep func(line []byte) bool, fn func(d dumped) error) error {
	return c.do(ctx, func(cn *conn) error {
		cn.w.WriteString("lru_crawler metadump " + what + "\r\n")
		if err := cn.w.Flush(); err != nil {
			return err
		}
		for n := 0; ; n++ {
			if n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				cn.c.SetDeadline(time.Now().Add(c.timeout))
			}
			line, err := cn.line()
			if err != nil {
				return err
			}
			if bytes.Equal(line, []byte("END")) {
				return nil
			}
			if !bytes.HasPrefix(line, []byte("key=")) {
				if n == 0 && bytes.HasPrefix(line, []byte("BUSY")) {
					return errBusy
				}
				if bytes.HasPrefix(line, []byte("ERROR")) || bytes.HasPrefix(line, []byte("CLIENT_ERROR")) || bytes.HasPrefix(line, []byte("SERVER_ERROR")) {
					// Drain nothing: the server sent one line and waits.
					return fmt.Errorf("%w (%s); start memcached without -X, or with -o lru_crawler", ErrNoDump, printable(line))
				}
				return fmt.Errorf("%w: unexpected metadump line %s", ErrServer, printable(line))
			}
			if keep != nil && !keep(line) {
				continue
			}
			d, ok := parseDump(line)
			if !ok {
				return fmt.Errorf("%w: unexpected metadump line %s", ErrServer, printable(line))
			}
			if err := fn(d); err != nil {
				return err
			}
		}
	})
}

// parseDump reads "key=<uri-encoded> exp=N la=N cas=N fetch=yes cls=N
// size=N" (later memcacheds add fields: ignored).
func parseDump(line []byte) (dumped, bool) {
	var d dumped
	okKey := false
	for len(line) > 0 {
		var tok []byte
		if i := bytes.IndexByte(line, ' '); i >= 0 {
			tok, line = line[:i], line[i+1:]
		} else {
			tok, line = line, nil
		}
		eq := bytes.IndexByte(tok, '=')
		if eq < 0 {
			continue
		}
		name, val := string(tok[:eq]), tok[eq+1:]
		switch name {
		case "key":
			k, ok := uriDecode(val)
			if !ok {
				return d, false
			}
			d.key, okKey = k, true
		case "exp":
			d.exp, _ = strconv.ParseInt(string(val), 10, 64)
		case "la":
			d.la, _ = strconv.ParseInt(string(val), 10, 64)
		case "cas":
			d.cas, _ = strconv.ParseUint(string(val), 10, 64)
		case "size":
			d.size, _ = strconv.ParseInt(string(val), 10, 64)
		}
	}
	return d, okKey
}

// uriDecode undoes memcached's uriencode (%XX for bytes outside
// [A-Za-z0-9-._~]).
func uriDecode(b []byte) (string, bool) {
	if bytes.IndexByte(b, '%') < 0 {
		return string(b), true
	}
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] != '%' {
			sb.WriteByte(b[i])
			continue
		}
		if i+2 >= len(b) {
			return "", false
		}
		v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
		if err != nil {
			return "", false
		}
		sb.WriteByte(byte(v))
		i += 2
	}
	return sb.String(), true
}

// maxLockItem bounds the size memcached gives a lock item (its item header
// and CAS, a key of at most 250 bytes and its NUL, a value of a few digits
// and CRLF, client flags): every lock item sits in a slab class whose
// chunks are no bigger than the smallest class that holds this many.
const maxLockItem = 48 + 8 + 251 + 22 + 4

// smallClasses returns the slab classes (from stats slabs) that can hold
// an item of at most size bytes: every class with smaller chunks, and the
// smallest with chunks that large (an item goes to the smallest class it
// fits). "" when the server has none: it holds no such item.
func (c *client) smallClasses(ctx context.Context, size int) (string, error) {
	type class struct{ id, chunk int }
	var classes []class
	err := c.do(ctx, func(cn *conn) error {
		cn.w.WriteString("stats slabs\r\n")
		if err := cn.w.Flush(); err != nil {
			return err
		}
		for {
			line, err := cn.line()
			if err != nil {
				return err
			}
			if bytes.Equal(line, []byte("END")) {
				return nil
			}
			// STAT <id>:chunk_size <n>
			f := bytes.Fields(line)
			if len(f) != 3 || !bytes.Equal(f[0], []byte("STAT")) {
				if bytes.HasPrefix(line, []byte("ERROR")) || bytes.HasPrefix(line, []byte("CLIENT_ERROR")) || bytes.HasPrefix(line, []byte("SERVER_ERROR")) {
					return fmt.Errorf("%w: stats slabs: %s", ErrServer, printable(line))
				}
				continue
			}
			id, stat, ok := bytes.Cut(f[1], []byte(":"))
			if !ok || !bytes.Equal(stat, []byte("chunk_size")) {
				continue
			}
			n, err1 := strconv.Atoi(string(id))
			chunk, err2 := strconv.Atoi(string(f[2]))
			if err1 != nil || err2 != nil || n <= 0 || chunk <= 0 {
				return fmt.Errorf("%w: stats slabs: %s", ErrServer, printable(line))
			}
			classes = append(classes, class{n, chunk})
		}
	})
	if err != nil {
		return "", err
	}
	slices.SortFunc(classes, func(a, b class) int { return a.chunk - b.chunk })
	var ids []string
	for _, cl := range classes {
		ids = append(ids, strconv.Itoa(cl.id))
		if cl.chunk >= size {
			break
		}
	}
	return strings.Join(ids, ","), nil
}
