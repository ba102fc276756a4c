package phpser

import (
	"fmt"
	"strings"
)

// ParseHandler parses a session.serialize_handler name, case-insensitively
// as PHP does; "auto" is accepted too.
func ParseHandler(s string) (Handler, error) {
	switch h := Handler(strings.ToLower(s)); h {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerIgbinary, HandlerMsgpack, HandlerAuto:
		return h, nil
	}
	return "", fmt.Errorf("unknown serialize handler %q (want php, php_binary, php_serialize, igbinary, msgpack or auto)", s)
}

// DecodeSession decodes a session payload written by handler h, exactly as
// PHP 8's session decoder does; a payload PHP would refuse (and destroy as
// corrupt) gives a *SyntaxError. HandlerAuto runs Detect and falls back to
// HandlerPHP when Detect cannot decide; Session.Handler is the handler used.
//
//   - php: key bytes up to '|', then one value, repeated; bytes left with
//     no '|' fail (PHP 8); keys are kept as written (not numerically
//     normalised, duplicates kept); empty input is an empty session.
//   - php_binary: a length byte (its 0x80 bit ignored), the key, then one
//     value, repeated; a key that leaves no byte for a value fails.
//   - php_serialize: one value (Root, any kind); bytes after it are
//     ignored by PHP and kept in Session.Trailing.
func DecodeSession(data []byte, h Handler) (*Session, error) {
	return DecodeOptions{}.DecodeSession(data, h)
}

// DecodeSession is DecodeSession with these options.
func (o DecodeOptions) DecodeSession(data []byte, h Handler) (*Session, error) {
	switch h {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize:
		return o.decodeSession(o.input(data), h)
	case HandlerIgbinary:
		return o.decodeIgbinary(o.input(data), false)
	case HandlerMsgpack:
		return o.decodeMsgpack(o.input(data), false)
	case HandlerAuto:
		s, _, err := o.detect(o.input(data))
		return s, err
	}
	return nil, fmt.Errorf("unknown serialize handler %q", string(h))
}

func (o DecodeOptions) decodeSession(s string, h Handler) (*Session, error) {
	d := newDecoder(s, o)
	sess := &Session{Handler: h, Root: Value{Kind: KindArray}}
	var err error
	switch h {
	case HandlerPHP:
		sess.Root.Elems, err = d.sessionPHP()
	case HandlerPHPBinary:
		sess.Root.Elems, err = d.sessionBinary()
	default:
		if len(s) == 0 {
			sess.fromEmpty = true
			return sess, nil
		}
		n := d.value(0, &sess.Root)
		if n < 0 {
			return nil, d.error()
		}
		sess.Trailing = s[n:]
		return sess, nil
	}
	if err != nil {
		if d.partial {
			return sess, err
		}
		return nil, err
	}
	return sess, nil
}

// DecodePartial decodes data as DecodeSession does and, when that fails,
// returns with the error the top-level variables decoded before the
// failing one (php and php_binary; a php_serialize session is one value,
// so nothing), for showing what a corrupt session still holds. h may be
// HandlerAuto (Detect's choice).
func (o DecodeOptions) DecodePartial(data []byte, h Handler) (*Session, error) {
	if h == HandlerAuto {
		var ok bool
		if h, ok = o.Detect(data); !ok {
			h = HandlerPHP
		}
	}
	switch h {
	case HandlerPHP, HandlerPHPBinary:
		d := newDecoder(o.input(data), o)
		d.partial = true
		sess := &Session{Handler: h, Root: Value{Kind: KindArray}}
		var err error
		if h == HandlerPHP {
			sess.Root.Elems, err = d.sessionPHP()
		} else {
			sess.Root.Elems, err = d.sessionBinary()
		}
		return sess, err
	case HandlerIgbinary, HandlerMsgpack:
		var sess *Session
		var err error
		if h == HandlerIgbinary {
			sess, err = o.decodeIgbinary(o.input(data), true)
		} else {
			sess, err = o.decodeMsgpack(o.input(data), true)
		}
		if sess == nil {
			sess = &Session{Handler: h, Root: Value{Kind: KindArray}}
		}
		return sess, err
	}
	s, err := o.DecodeSession(data, h)
	if err != nil {
		return &Session{Handler: h, Root: Value{Kind: KindArray}}, err
	}
	return s, nil
}

// sessionPHP decodes the php handler's key|value... framing.
func (d *decoder) sessionPHP() ([]Entry, error) {
	s := d.s
	if len(s) == 0 {
		return nil, nil
	}
	// Every entry has its own '|', so this bounds the entry count.
	var out topList
	out.cur = make([]Entry, 0, min(strings.Count(s, "|"), len(s)/3+1))
	for p := 0; p < len(s); {
		i := strings.IndexByte(s[p:], '|')
		if i < 0 {
			d.fail(p, "'|' ending a session key")
			return out.done(d, 0), d.error()
		}
		e := out.add(Key{Str: s[p : p+i]})
		q := d.value(p+i+1, &e.Val)
		if q < 0 {
			d.path = append(d.path, e.Key)
			return out.done(d, 1), d.error()
		}
		p = q
	}
	return out.entries(), nil
}

// sessionBinary decodes the php_binary handler's <len><key><value>...
func (d *decoder) sessionBinary() ([]Entry, error) {
	s := d.s
	var out topList
	if len(s) > 0 {
		// Realistic sessions hold a top-level entry per ~120 bytes.
		out.cur = make([]Entry, 0, len(s)/100+8)
	}
	for p := 0; p < len(s); {
		n := int(s[p] & 0x7f)
		if p+n >= len(s) {
			d.fail(p, "a key length that leaves room for a value")
			return out.done(d, 0), d.error()
		}
		k := Key{Str: s[p+1 : p+1+n]}
		if s[p]&0x80 != 0 {
			k.Raw = s[p : p+1+n]
		}
		e := out.add(k)
		q := d.value(p+1+n, &e.Val)
		if q < 0 {
			d.path = append(d.path, k)
			return out.done(d, 1), d.error()
		}
		p = q
	}
	return out.entries(), nil
}

// topList collects top-level entries in chunks that never move while
// decoding (reference slots point into them); entries joins them.
type topList struct {
	chunks [][]Entry
	cur    []Entry
}

func (t *topList) add(k Key) *Entry {
	if len(t.cur) == cap(t.cur) {
		if len(t.cur) > 0 {
			t.chunks = append(t.chunks, t.cur)
		}
		t.cur = make([]Entry, 0, max(8, 2*cap(t.cur)))
	}
	t.cur = append(t.cur, Entry{Key: k})
	return &t.cur[len(t.cur)-1]
}

// done returns, for a partial decode, the entries before the failed one
// (drop of them were added for it), else nil.
func (t *topList) done(d *decoder, drop int) []Entry {
	if !d.partial {
		return nil
	}
	e := t.entries()
	return e[:len(e)-drop]
}

func (t *topList) entries() []Entry {
	if len(t.chunks) == 0 {
		if len(t.cur) == 0 {
			return nil
		}
		return t.cur
	}
	n := len(t.cur)
	for _, c := range t.chunks {
		n += len(c)
	}
	out := make([]Entry, 0, n)
	for _, c := range t.chunks {
		out = append(out, c...)
	}
	return append(out, t.cur...)
}

// EncodeSession encodes s with its Handler, as PHP's session_encode does,
// except that what PHP would silently drop or wipe is an *EncodeError: int
// keys and keys containing '|' (php), int keys and keys longer than 127
// bytes (php_binary). An empty php/php_binary session encodes to no bytes
// (the 0-byte file PHP writes). Raw tokens are written verbatim where they
// still denote the value, so decode then encode gives back the input.
func EncodeSession(s *Session) ([]byte, error) {
	return AppendSession(nil, s)
}

// AppendSession appends the encoding of s with its Handler to dst.
func AppendSession(dst []byte, s *Session) ([]byte, error) {
	var few [8]encAnchor
	e := encoder{buf: dst, few: few[:0]}
	return e.session(s, dst)
}

// EncodeSessionOver encodes s as EncodeSession does, for a session whose
// stored bytes are old (which the encoding is to replace), holding as
// little at once as it can: the output is compared with old as it is
// produced (every 64 KiB, at a top-level entry) and not kept while the two
// agree, and each top-level value of a php, php_binary or php_serialize
// session is released once it is written, so that the tree shrinks as the
// output grows. It consumes s: afterwards s holds its keys only (and the
// root of php_serialize its anchors), and must not be used again. When
// the encoding is old's bytes, it returns old itself.
//
// reclaim, when not nil, is called as each eighth of the output is
// written and before the buffer for the new encoding is made: a caller
// with a large session can collect there what was released so far
// (runtime/debug.FreeOSMemory), which nothing else would, since while the
// output agrees with old nothing is allocated.
func EncodeSessionOver(old []byte, s *Session, reclaim func()) ([]byte, error) {
	switch s.handlerOrEmpty() {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize:
	default:
		b, err := AppendSession(nil, s)
		if err == nil && string(b) == string(old) {
			return old, nil
		}
		return b, err
	}
	var few [8]encAnchor
	e := encoder{few: few[:0], over: true, cmp: old, flushRoot: &s.Root, reclaim: reclaim}
	e.reclaimBy = max(len(old)/8, sameChunk)
	e.reclaimAt = e.reclaimBy
	e.buf = make([]byte, 0, min(len(old)+64, sameChunk+sameChunk/2))
	b, err := e.session(s, nil)
	if err != nil {
		return nil, err
	}
	if e.diverged {
		return b, nil
	}
	if e.same+len(b) == len(old) && string(b) == string(old[e.same:]) {
		return old, nil
	}
	if reclaim != nil {
		reclaim()
	}
	nb := make([]byte, e.same+len(b))
	copy(nb, old[:e.same])
	copy(nb[e.same:], b)
	return nb, nil
}

// handlerOrEmpty is s.Handler, or "" for a nil session.
func (s *Session) handlerOrEmpty() Handler {
	if s == nil {
		return ""
	}
	return s.Handler
}

// session encodes s after e.buf; on an error it returns dst.
func (e *encoder) session(s *Session, dst []byte) ([]byte, error) {
	if s == nil {
		return dst, &EncodeError{Reason: "nil session"}
	}
	switch s.Handler {
	case HandlerPHPSerialize:
		if s.fromEmpty && s.Root.Kind == KindArray && len(s.Root.Elems) == 0 && s.Root.Raw == "" && s.Trailing == "" {
			return dst, nil
		}
		if err := e.value(&s.Root); err != nil {
			return dst, e.error(err)
		}
		return append(e.buf, s.Trailing...), nil
	case HandlerIgbinary:
		return appendIgbinary(dst, s)
	case HandlerMsgpack:
		return appendMsgpack(dst, s)
	case HandlerPHP, HandlerPHPBinary:
	default:
		return dst, &EncodeError{Reason: fmt.Sprintf("unknown serialize handler %q", string(s.Handler))}
	}
	if s.Root.Kind != KindArray {
		return dst, &EncodeError{Reason: "the " + string(s.Handler) + " handler stores only an array of variables, not " + s.Root.Kind.String()}
	}
	for i := range s.Root.Elems {
		e.dropSame()
		if err := e.sessionEntry(s.Handler, &s.Root.Elems[i]); err != nil {
			return dst, err
		}
		if e.over {
			e.release(&s.Root.Elems[i])
		}
	}
	return e.buf, nil
}

// sessionEntry encodes one top-level variable of a php or php_binary
// session; an error carries its path.
func (e *encoder) sessionEntry(h Handler, en *Entry) error {
	k := en.Key
	if k.IsInt {
		return &EncodeError{Path: formatKeyPath([]Key{k}), Reason: "the " + string(h) + " handler cannot store int keys (PHP skips them)"}
	}
	if h == HandlerPHP {
		if strings.IndexByte(k.Str, '|') >= 0 {
			return &EncodeError{Path: formatKeyPath([]Key{k}), Reason: "the php handler cannot store a key containing '|' (PHP would wipe the session)"}
		}
		e.buf = append(e.buf, k.Str...)
		e.buf = append(e.buf, '|')
	} else {
		if len(k.Str) > 127 {
			return &EncodeError{Path: formatKeyPath([]Key{k}), Reason: "the php_binary handler cannot store keys longer than 127 bytes (PHP drops them)"}
		}
		if len(k.Raw) == len(k.Str)+1 && int(k.Raw[0]&0x7f) == len(k.Str) && k.Raw[1:] == k.Str {
			e.buf = append(e.buf, k.Raw...)
		} else {
			e.buf = append(e.buf, byte(len(k.Str)))
			e.buf = append(e.buf, k.Str...)
		}
	}
	if err := e.value(&en.Val); err != nil {
		e.path = append(e.path, k)
		return e.error(err)
	}
	return nil
}
