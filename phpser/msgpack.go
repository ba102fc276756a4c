package phpser

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
)

// This file decodes the msgpack session serializer's format (msgpack-php
// 2.2.0RC2 with its default msgpack.php_only=1, ../shared/STORES-FACTS.md
// section 6): the session array as a map whose first entry is nil -> 1.
//
// msgpack-php marks PHP's types with nil keys: nil -> 1 (the container is
// a PHP reference), nil -> "Class" (an object), nil -> 3 then class ->
// payload (Serializable), nil -> array (__serialize data), and maps
// {nil: 2|4|5, 0: id} for a reference to an array (2), the same object
// again (4) and a reference to an object (5), ids counting the containers
// written (the session is 1; repeats that are references take none).
// They decode to the same tree as serialize() sessions: FlagRef,
// KindRef/KindObjRef, KindCustom, FlagSerialize.

const (
	mpTypeReference = 1
	mpTypeRecursive = 2
	mpTypeCustom    = 3
	mpTypeObject    = 4
	mpTypeObjRef    = 5
)

type mpSlot struct {
	v     *Value
	obj   bool
	inner bool // a __serialize array: nothing can refer to it
	ref   bool // the container is a PHP reference (nil -> 1)
}

type mpDecoder struct {
	s        string
	maxDepth int
	slots    []mpSlot       // id n at n-1
	slotIdx  map[*Value]int // slotOf's index, once needed
	arena    []Entry
	budget   int
	exotic   bool
	str8     int8 // 1: a str8 (d9) seen, -1: a str16 of 32..255 bytes seen
	err      *SyntaxError
	path     []Key
	partial  bool
	// stream: decoding one top-level variable at a time (mpTops). A
	// value tied to another (a reference, one of msgpack-php's markers, a
	// Serializable payload, a nil key outside its forms) then stops the
	// decode with stop set; slots holds only the current variable's.
	stream bool
	stop   bool
}

const mpExpValue = "a msgpack value"

// mpMaxDepth is how deeply msgpack-php's unpacker nests containers.
const mpMaxDepth = 1024

func (d *mpDecoder) fail(p int, expected string) int {
	if d.err == nil {
		d.err = &SyntaxError{Offset: p, Expected: expected, Found: binExcerpt(d.s, p)}
	}
	return -1
}

func (d *mpDecoder) error() error { return finishError(&d.err, d.path) }

// decodeMsgpack decodes a msgpack session. PHP's msgpack session decoder
// never fails: what it cannot read it takes as an empty session, which its
// next write overwrites. sesstool reports such input as a *SyntaxError.
func (o DecodeOptions) decodeMsgpack(s string, partial bool) (*Session, error) {
	sess := &Session{Handler: HandlerMsgpack, Root: Value{Kind: KindArray}}
	if len(s) == 0 {
		sess.ext.keepExact(HandlerMsgpack, s, &sess.Root) // no bytes, not 90, while unchanged
		return sess, nil
	}
	md := o.MaxDepth
	if md <= 0 {
		md = DefaultMaxDepth
	}
	// msgpack-php's unpacker holds at most 1024 nested containers, the
	// session's own map included (MSGPACK_EMBED_STACK_SIZE): deeper input
	// reads as an empty session.
	md = min(md, mpMaxDepth)
	d := &mpDecoder{s: s, maxDepth: md, budget: len(s) + 1, partial: partial}
	d.slots = make([]mpSlot, 1, min(len(s)/64+4, 4096))
	d.slots[0] = mpSlot{v: &sess.Root, ref: true}
	var n int
	switch c := s[0]; {
	case c == 0x90:
		d.finish(sess, 1) // the empty session
		return sess, nil
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		// A list: PHP keeps only string keys, so it reads an empty session.
		d.exotic = true
		q, cnt, ok := d.arrayHead(0)
		if !ok {
			return nil, d.error()
		}
		n = d.list(q, cnt, 1, &sess.Root)
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		q, cnt, ok := d.mapHead(0)
		if !ok {
			return nil, d.error()
		}
		if cnt > 0 && q+1 < len(s) && s[q] == 0xc0 && s[q+1] >= mpTypeRecursive && s[q+1] <= mpTypeObjRef {
			d.fail(q, "the session's variables, not a msgpack-php type marker")
			return nil, d.error()
		}
		if cnt == 0 || !d.nilEntry(q, mpTypeReference) {
			d.exotic = true // the session map starts nil -> 1
		} else {
			q += 2
			cnt--
		}
		n = d.entries(q, cnt, 1, &sess.Root)
	default:
		d.fail(0, "a msgpack map of the session's variables (80-8f, de, df)")
		return nil, d.error()
	}
	if n < 0 {
		if partial {
			return sess, d.error()
		}
		return nil, d.error()
	}
	d.finish(sess, n)
	return sess, nil
}

// finish notes what the whole session says about its encoding.
func (d *mpDecoder) finish(sess *Session, n int) {
	if n < len(d.s) {
		d.exotic = true // PHP ignores bytes after the session
	}
	if len(sess.Root.Elems) == 0 && d.s != "\x90" {
		d.exotic = true // msgpack-php writes an empty session as 90
	}
	if d.str8 < 0 {
		sess.ext.opts |= extMsgNoStr8
	}
	if dropIntKeys(&sess.Root) {
		d.exotic = true // PHP keeps only string keys
	}
	// A lone reference (nil -> 1 that nothing refers to) stays one: PHP's
	// decoder makes it a reference, and msgpack-php writes every reference
	// it meets, whatever its refcount.
	if d.exotic {
		sess.ext.keepExact(HandlerMsgpack, d.s, &sess.Root)
	}
}

func (d *mpDecoder) uint(p, w int) (uint64, bool) {
	if w > len(d.s)-p || p < 0 {
		return 0, false
	}
	s := []byte(d.s[p : p+w])
	switch w {
	case 1:
		return uint64(s[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16(s)), true
	case 4:
		return uint64(binary.BigEndian.Uint32(s)), true
	}
	return binary.BigEndian.Uint64(s), true
}

// nilEntry reports whether the map entry at p is nil -> t (a fixint).
func (d *mpDecoder) nilEntry(p int, t byte) bool {
	return p+1 < len(d.s) && d.s[p] == 0xc0 && d.s[p+1] == t
}

// mapHead reads a map header at p: the offset after it and the count,
// checked against the rest of the input (an entry takes two bytes).
func (d *mpDecoder) mapHead(p int) (int, int, bool) {
	return d.head(p, 0xde, 2, "a map count that fits the rest of the input")
}

// arrayHead reads an array header at p (an element takes a byte).
func (d *mpDecoder) arrayHead(p int) (int, int, bool) {
	return d.head(p, 0xdc, 1, "an array count that fits the rest of the input")
}

// head reads a container header at p: a fix form (count in the low four
// bits), w16 with a 16-bit count or w16+1 with a 32-bit one.
func (d *mpDecoder) head(p int, w16 byte, per int, expected string) (int, int, bool) {
	c := d.s[p]
	var n uint64
	q := p + 1
	switch c {
	case w16:
		n, _ = d.uint(q, 2)
		q += 2
		if n < 16 {
			d.exotic = true
		}
	case w16 + 1:
		n, _ = d.uint(q, 4)
		q += 4
		if n <= 0xffff {
			d.exotic = true
		}
	default:
		n = uint64(c & 0x0f)
	}
	if q > len(d.s) || n > uint64(len(d.s)-q)/uint64(per) || int(n) > d.budget {
		d.fail(p, expected)
		return 0, 0, false
	}
	return q, int(n), true
}

// claim carves n entries out of the arena (about one entry per 20 bytes
// in realistic msgpack sessions: a slab for the rest of the input).
func (d *mpDecoder) claim(n, p int) []Entry {
	return claimArena(&d.arena, &d.budget, n, (len(d.s)-p)/18+8)
}

// list reads n values at p as a PHP list into v.
func (d *mpDecoder) list(p, n, depth int, v *Value) int {
	el := d.claim(n, p)
	for i := range n {
		el = el[:i+1]
		el[i].Key = Key{IsInt: true, Int: int64(i)}
		q := d.value(p, depth, &el[i].Val)
		if q < 0 {
			v.Elems = el
			d.path = append(d.path, el[i].Key)
			return -1
		}
		p = q
	}
	v.Elems = el
	return p
}

// key reads a map key at p: an int or a string (a numeric string becomes
// an int, as PHP's array does with it); other types become what PHP's
// (string) makes of them: true "1" (so 1), false "", a float its digits, an
// array "Array".
func (d *mpDecoder) key(p, depth int, props bool) (int, Key) {
	s := d.s
	c := s[p]
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xcf) || (c >= 0xd0 && c <= 0xd3):
		var v Value
		q := d.scalar(p, &v)
		if q < 0 {
			return -1, Key{}
		}
		if v.Kind != KindInt {
			d.exotic = true // a uint64 beyond PHP's ints: PHP's key is its digits
			return q, ArrayKey(v.Str)
		}
		return q, IntKey(v.Int)
	case (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb) || (c >= 0xc4 && c <= 0xc6):
		q, str := d.str(p)
		if q < 0 {
			return -1, Key{}
		}
		if !props && isNumericKey(str) {
			// PHP's array takes "5" as 5; at the top that drops it (the
			// session keeps only string keys).
			d.exotic = true
			return q, ArrayKey(str)
		}
		return q, Key{Str: str}
	case c == 0xc2, c == 0xc3, c == 0xca, c == 0xcb:
		var v Value
		q := d.scalar(p, &v)
		if q < 0 {
			return -1, Key{}
		}
		d.exotic = true
		switch {
		case v.Kind == KindBool && v.Int != 0:
			return q, IntKey(1)
		case v.Kind == KindBool:
			return q, Key{}
		}
		return q, ArrayKey(phpFloatString(v.Float))
	case c >= 0x80 && c <= 0x9f, c >= 0xdc && c <= 0xdf:
		var v Value
		q := d.value(p, depth, &v)
		if q < 0 {
			return -1, Key{}
		}
		d.exotic = true
		return q, Key{Str: "Array"}
	}
	return d.fail(p, "a map key (int or string)"), Key{}
}

// phpFloatString is PHP's (string) of a float (precision=14).
func phpFloatString(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NAN"
	}
	s := strconv.FormatFloat(f, 'G', 14, 64)
	if i := strings.IndexByte(s, 'E'); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		if strings.ContainsRune(mant, '.') {
			mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
		}
		sign := exp[0]
		exp = strings.TrimLeft(exp[1:], "0")
		if !strings.ContainsRune(mant, '.') {
			mant += ".0"
		}
		return mant + "E" + string(sign) + exp
	}
	if strings.ContainsRune(s, '.') {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// entries reads n map entries at p into v, an array (or an object once
// a nil -> "Class" entry makes it one), as msgpack-php's decoder does: a
// nil key is one of its type markers (see mapValue for the forms its
// encoder writes; elsewhere they are taken as PHP takes them).
func (d *mpDecoder) entries(p, n, depth int, v *Value) int {
	el := d.claim(n, p)
	for range n {
		if p >= len(d.s) {
			v.Elems = el
			return d.fail(p, "a map key")
		}
		if d.s[p] == 0xc0 {
			q := d.nilEntry2(p+1, depth, v)
			if q < 0 {
				v.Elems = el
				return -1
			}
			p = q
			continue
		}
		q, k := d.key(p, depth, v.Kind == KindObject)
		if q < 0 {
			v.Elems = el
			return -1
		}
		el = el[:len(el)+1] // the arena's entries are zero
		el[len(el)-1].Key = k
		r := d.value(q, depth, &el[len(el)-1].Val)
		if r < 0 {
			v.Elems = el
			if d.partial && depth == 1 {
				v.Elems = el[:len(el)-1]
			}
			d.path = append(d.path, k)
			return -1
		}
		p = r
	}
	v.Elems = el
	return p
}

// nilEntry2 reads the value of a nil key at p outside the forms
// msgpack-php writes (all exotic): 1 makes the container a reference,
// "Class" an object, other values are ignored.
func (d *mpDecoder) nilEntry2(p, depth int, v *Value) int {
	if d.stream {
		d.stop = true
		return -1
	}
	d.exotic = true
	if p >= len(d.s) {
		return d.fail(p, "the value of a nil key")
	}
	if d.s[p] == 0x01 {
		v.Flags |= FlagRef
		if sl := d.slotOf(v); sl != nil {
			sl.ref = true
		}
		return p + 1
	}
	if c := d.s[p]; c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb {
		q, class := d.str(p)
		if q < 0 {
			return -1
		}
		if depth > 1 { // the session itself stays an array of variables
			v.Kind, v.Str = KindObject, class
			if sl := d.slotOf(v); sl != nil {
				sl.obj = true
			}
		}
		return q
	}
	var skip Value
	return d.value(p, depth, &skip)
}

// slotOf returns the slot of container v (for the rare nil entries
// outside msgpack-php's forms: an index built on first use).
func (d *mpDecoder) slotOf(v *Value) *mpSlot {
	if d.slotIdx == nil {
		d.slotIdx = make(map[*Value]int, len(d.slots))
		for i := range d.slots {
			d.slotIdx[d.slots[i].v] = i
		}
	}
	if i, ok := d.slotIdx[v]; ok {
		return &d.slots[i]
	}
	return nil
}

func (d *mpDecoder) slot(v *Value, obj bool) int {
	if d.slotIdx != nil {
		d.slotIdx[v] = len(d.slots)
	}
	d.slots = append(d.slots, mpSlot{v: v, obj: obj})
	return len(d.slots)
}

// str reads a string (fixstr, str8/16/32, or bin as PHP reads it) at p.
func (d *mpDecoder) str(p int) (int, string) {
	s := d.s
	c := s[p]
	var n uint64
	q := p + 1
	var ok bool
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n, ok = uint64(c&0x1f), true
	case c == 0xd9 || c == 0xc4:
		n, ok = d.uint(q, 1)
		q++
		if c == 0xc4 || n < 32 {
			d.exotic = true
		} else {
			d.mode(1)
		}
	case c == 0xda || c == 0xc5:
		n, ok = d.uint(q, 2)
		q += 2
		switch {
		case c == 0xc5 || n < 32:
			d.exotic = true
		case n < 256:
			d.mode(-1)
		}
	case c == 0xdb || c == 0xc6:
		n, ok = d.uint(q, 4)
		q += 4
		if c == 0xc6 || n <= 0xffff {
			d.exotic = true
		}
	default:
		return d.fail(p, "a string"), ""
	}
	if !ok || n > uint64(len(s)-q) {
		return d.fail(p, "a string length that fits the rest of the input"), ""
	}
	return q + int(n), s[q : q+int(n)]
}

// mode records which string mode (use_str8_serialization) a string shows.
func (d *mpDecoder) mode(m int8) {
	if d.str8 != 0 && d.str8 != m {
		d.exotic = true
	}
	d.str8 = m
}

// scalar reads nil, bool, int, float, string or an ext value at p.
func (d *mpDecoder) scalar(p int, v *Value) int {
	s := d.s
	c := s[p]
	switch {
	case c <= 0x7f:
		v.Kind, v.Int = KindInt, int64(c)
		return p + 1
	case c >= 0xe0:
		v.Kind, v.Int = KindInt, int64(int8(c))
		return p + 1
	case c >= 0xa0 && c <= 0xbf, c >= 0xd9 && c <= 0xdb, c >= 0xc4 && c <= 0xc6:
		q, str := d.str(p)
		v.Kind, v.Str = KindString, str
		return q
	}
	switch c {
	case 0xc0:
		v.Kind = KindNull
		return p + 1
	case 0xc2, 0xc3:
		v.Kind, v.Int = KindBool, int64(c-0xc2)
		return p + 1
	case 0xca:
		u, ok := d.uint(p+1, 4)
		if !ok {
			return d.fail(p+1, "4 bytes of a float32")
		}
		d.exotic = true // msgpack-php 2.2 writes every float as float64
		v.Kind, v.Float = KindFloat, float64(math.Float32frombits(uint32(u)))
		return p + 5
	case 0xcb:
		u, ok := d.uint(p+1, 8)
		if !ok {
			return d.fail(p+1, "8 bytes of a float64")
		}
		v.Kind, v.Float = KindFloat, math.Float64frombits(u)
		return p + 9
	case 0xcc, 0xcd, 0xce, 0xcf:
		w := 1 << (c - 0xcc)
		u, ok := d.uint(p+1, w)
		if !ok {
			return d.fail(p+1, "an unsigned integer of "+strconv.Itoa(w)+" bytes")
		}
		if !mpMinimalUint(u, w) {
			d.exotic = true
		}
		if u > math.MaxInt64 {
			// PHP reads it as its decimal digits (msgpack_unpack.c).
			d.exotic = true
			v.Kind, v.Str = KindString, strconv.FormatUint(u, 10)
			return p + 1 + w
		}
		v.Kind, v.Int = KindInt, int64(u)
		return p + 1 + w
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		u, ok := d.uint(p+1, w)
		if !ok {
			return d.fail(p+1, "a signed integer of "+strconv.Itoa(w)+" bytes")
		}
		var n int64
		switch w {
		case 1:
			n = int64(int8(u))
		case 2:
			n = int64(int16(u))
		case 4:
			n = int64(int32(u))
		default:
			n = int64(u)
		}
		if !mpMinimalInt(n, w) {
			d.exotic = true
		}
		v.Kind, v.Int = KindInt, n
		return p + 1 + w
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xc7, 0xc8, 0xc9:
		// ext types: msgpack-php reads them as null.
		var n uint64
		q := p + 1
		switch c {
		case 0xc7, 0xc8, 0xc9:
			w := 1 << (c - 0xc7)
			var ok bool
			if n, ok = d.uint(q, w); !ok {
				return d.fail(q, "an ext length")
			}
			q += w
		default:
			n = 1 << (c - 0xd4)
		}
		q++ // the ext type
		if q > len(s) || n > uint64(len(s)-q) {
			return d.fail(p, "an ext value that fits the rest of the input")
		}
		d.exotic = true
		v.Kind = KindNull
		return q + int(n)
	}
	return d.fail(p, mpExpValue)
}

// mpMinimalUint reports whether msgpack-php would write u (as a uint type
// of width w) this way: it uses the smallest width and a positive fixint
// below 128.
func mpMinimalUint(u uint64, w int) bool {
	switch w {
	case 1:
		return u > 0x7f
	case 2:
		return u > 0xff
	case 4:
		return u > 0xffff
	}
	return u > 0xffffffff
}

// mpMinimalInt: msgpack-php writes signed types only for negative values,
// in the smallest width below a negative fixint (-32).
func mpMinimalInt(n int64, w int) bool {
	switch w {
	case 1:
		return n < -32
	case 2:
		return n < math.MinInt8
	case 4:
		return n < math.MinInt16
	}
	return n < math.MinInt32
}

// value decodes one value at p into v.
func (d *mpDecoder) value(p, depth int, v *Value) int {
	s := d.s
	if p >= len(s) {
		return d.fail(p, mpExpValue)
	}
	c := s[p]
	switch {
	case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd:
		q, n, ok := d.arrayHead(p)
		if !ok {
			return -1
		}
		if depth >= d.maxDepth {
			return d.fail(p, "nesting no deeper than "+strconv.Itoa(d.maxDepth)+" containers")
		}
		v.Kind = KindArray
		d.slot(v, false)
		return d.list(q, n, depth+1, v)
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
		return d.mapValue(p, depth, v)
	case c == 0xc1:
		return d.fail(p, mpExpValue+" (c1 is never used)")
	}
	return d.scalar(p, v)
}

// mapValue decodes a map at p: an array, or one of msgpack-php's markers.
func (d *mpDecoder) mapValue(p, depth int, v *Value) int {
	s := d.s
	q, n, ok := d.mapHead(p)
	if !ok {
		return -1
	}
	if depth >= d.maxDepth {
		return d.fail(p, "nesting no deeper than "+strconv.Itoa(d.maxDepth)+" containers")
	}
	if n == 0 {
		// msgpack-php reads an empty map as a stdClass object, and writes
		// that as {nil: "stdClass"}.
		d.exotic = true
		d.slot(v, true)
		*v = Value{Kind: KindObject, Str: "stdClass"}
		return q
	}
	if s[q] != 0xc0 {
		v.Kind = KindArray
		d.slot(v, false)
		if r := d.entries(q, n, depth+1, v); r < 0 {
			return -1
		} else {
			if mpIsList(v.Elems) {
				d.exotic = true // msgpack-php writes a list as an array
			}
			return r
		}
	}
	// A nil key: a PHP type marker.
	if q+1 >= len(s) {
		return d.fail(q+1, "the value of a nil key")
	}
	t := s[q+1]
	if d.stream && (t >= mpTypeReference && t <= mpTypeObjRef) {
		d.stop = true
		return -1
	}
	switch t {
	case mpTypeRecursive, mpTypeObject, mpTypeObjRef:
		if n != 2 || q+2 >= len(s) || s[q+2] != 0x00 {
			// Not the {nil: type, 0: id} msgpack-php writes: it reads null.
			var skip Value
			skip.Kind = KindArray
			r := d.entries(q+2, n-1, depth+1, &skip)
			if r < 0 {
				return -1
			}
			d.exotic = true
			*v = Value{Kind: KindNull}
			return r
		}
		var id Value
		r := d.scalar(q+3, &id)
		if r < 0 {
			return -1
		}
		if t == mpTypeObject {
			d.slot(v, false) // the repeat takes an id of its own
		}
		if id.Kind != KindInt || id.Int < 1 || id.Int > int64(len(d.slots)) || d.slots[id.Int-1].inner {
			// msgpack-php reads a marker to no earlier value as null.
			d.exotic = true
			*v = Value{Kind: KindNull}
			return r
		}
		if id.Int == 1 {
			// The session itself: msgpack-php reads an empty array.
			d.exotic = true
			*v = Value{Kind: KindArray}
			return r
		}
		sl := &d.slots[id.Int-1]
		switch {
		case sl.obj && (t == mpTypeObjRef || t == mpTypeObject) && sl.ref:
			// A reference to an object whose place is a reference; an
			// OBJECT marker to it copies that reference too (PHP writes
			// it back as {nil: 5, 0: id}).
			if t == mpTypeObject {
				d.exotic = true
			}
			sl.v.Anchor = id.Int
			*v = Value{Kind: KindRef, Int: id.Int}
		case sl.obj:
			// The same object (a reference marker to an object that is
			// no reference gives its handle).
			if t != mpTypeObject {
				d.exotic = true
			}
			sl.v.Anchor = id.Int
			*v = Value{Kind: KindObjRef, Int: id.Int}
		case t == mpTypeRecursive && sl.ref:
			sl.v.Anchor = id.Int
			*v = Value{Kind: KindRef, Int: id.Int}
		default:
			// A marker to an array that is no reference: PHP copies it.
			cp, ok := copyBudget(*sl.v, depth, d.maxDepth, &d.budget)
			if !ok {
				return d.fail(p, "copies of earlier arrays that fit the entry budget")
			}
			d.exotic = true
			*v = cp
		}
		return r
	case mpTypeCustom:
		if n != 2 || q+2 >= len(s) {
			return d.fail(q, "a Serializable object {nil: 3, class: payload}")
		}
		r, class := d.str(q + 2)
		if r < 0 {
			return -1
		}
		if r >= len(s) {
			return d.fail(r, "a Serializable payload")
		}
		r2, payload := d.str(r)
		if r2 < 0 {
			return -1
		}
		d.slot(v, true)
		*v = Value{Kind: KindCustom, Str: class, Payload: payload}
		return r2
	}
	d.slot(v, false)
	sl := len(d.slots) - 1
	v.Kind = KindArray
	if t == mpTypeReference {
		d.slots[sl].ref = true
		v.Flags |= FlagRef
		q += 2
		n--
		if n == 0 || s[q] != 0xc0 {
			// A reference to an array.
			r := d.entries(q, n, depth+1, v)
			return r
		}
	}
	// nil -> "Class": an object. (The map's count left two bytes an entry.)
	if c := s[q+1]; !(c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb) {
		// Some other nil entry: msgpack-php ignores it.
		return d.entries(q, n, depth+1, v)
	}
	r, class := d.str(q + 1)
	if r < 0 {
		return -1
	}

	d.slots[sl].obj = true
	v.Kind, v.Str = KindObject, class
	n--
	if n == 1 && r < len(s) && s[r] == 0xc0 {
		// {nil: class, nil: data}: __serialize.
		r++
		if r >= len(s) {
			return d.fail(r, "__serialize data")
		}
		var data Value
		c := s[r]
		inner := len(d.slots)
		switch {
		case c >= 0x90 && c <= 0x9f, c == 0xdc, c == 0xdd, c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
			r = d.value(r, depth+1, &data)
		default:
			return d.fail(r, "__serialize data (an array)")
		}
		if r < 0 {
			return -1
		}
		if data.Kind != KindArray || len(d.slots) <= inner {
			return d.fail(r, "__serialize data (an array)")
		}
		d.slots[inner].inner = true
		if data.Flags&FlagRef != 0 {
			// __serialize data marked a reference (nil -> 1): not a form
			// msgpack-php writes; the bytes are kept while unchanged.
			d.exotic = true
		}
		v.Flags |= FlagSerialize
		v.Elems = data.Elems
		return r
	}
	return d.entries(r, n, depth+1, v)
}

// mpIsList reports whether entries have the keys 0..n-1 in order.
func mpIsList(el []Entry) bool {
	for i := range el {
		if !el[i].Key.IsInt || el[i].Key.Int != int64(i) {
			return false
		}
	}
	return true
}
