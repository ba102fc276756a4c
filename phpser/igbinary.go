package phpser

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unsafe"
)

// This file decodes the igbinary session serializer's format (igbinary
// 3.2, ../shared/STORES-FACTS.md section 5): a 4-byte header, then the
// session array, every integer big-endian.
//
// The tree is the one serialize() sessions decode to. What the bytes say
// beyond the values is kept so that encoding gives them back:
//
//   - a PHP reference (25 prefix) marks its value with FlagRef and gives it
//     an Anchor; a later 25 01 n is a KindRef to it, 22 n a KindObjRef, and
//     25 22 n a KindRef to an object written after 25, else a KindObjRef
//     with FlagRef (a reference to an object's handle);
//   - an array written as a back-reference without 25 (01 n: PHP shared it
//     copy-on-write with an earlier one) is a full copy with FlagCopy;
//   - the null keys igbinary writes for a declared but uninitialised typed
//     property are positions kept in the object's Payload (uvarint
//     entry indexes; see igEncoder.entries);
//   - the session's string mode (compact_strings).
//
// Anything else PHP's encoder would not write keeps the input bytes
// (extState), so that decode then encode is byte-exact for every input.

// igbinary type bytes (igbinary.c).
const (
	igNull      = 0x00
	igRef8      = 0x01
	igRef16     = 0x02
	igRef32     = 0x03
	igFalse     = 0x04
	igTrue      = 0x05
	igLong8p    = 0x06
	igLong8n    = 0x07
	igLong16p   = 0x08
	igLong16n   = 0x09
	igLong32p   = 0x0a
	igLong32n   = 0x0b
	igDouble    = 0x0c
	igStrEmpty  = 0x0d
	igStrID8    = 0x0e
	igStrID16   = 0x0f
	igStrID32   = 0x10
	igStr8      = 0x11
	igStr16     = 0x12
	igStr32     = 0x13
	igArray8    = 0x14
	igArray16   = 0x15
	igArray32   = 0x16
	igObj8      = 0x17
	igObj16     = 0x18
	igObj32     = 0x19
	igObjID8    = 0x1a
	igObjID16   = 0x1b
	igObjID32   = 0x1c
	igObjSer8   = 0x1d
	igObjSer16  = 0x1e
	igObjSer32  = 0x1f
	igLong64p   = 0x20
	igLong64n   = 0x21
	igObjRef8   = 0x22
	igObjRef16  = 0x23
	igObjRef32  = 0x24
	igRefPrefix = 0x25
	igStr64     = 0x26
	igEnum      = 0x27
)

const igHeader = "\x00\x00\x00\x02"

// igMaxDepth bounds the nesting of igbinary input when DecodeOptions has
// no MaxDepth: above anything PHP itself can read.
const igMaxDepth = 1 << 16

// igSlot is one entry of igbinary's reference table.
type igSlot struct {
	v     *Value
	kind  uint8 // igSlotArray, igSlotObject, igSlotScalar
	inRef bool  // the value was written after 25 (a PHP reference)
	refd  bool  // a later 25 01 n refers to it
	open  bool  // an array whose entries are still being read
}

const (
	igSlotArray uint8 = iota
	igSlotObject
	igSlotScalar
)

type igDecoder struct {
	s        string
	maxDepth int
	strs     []strRef         // the string table, in stream order
	seen     strSet[decTable] // the table's strings: finds repeats written again
	classes  strSet[decTable] // the table's class names
	slots    []igSlot         // slot n at n (slot 0 is the session array)
	arena    []Entry
	budget   int // entries (also of copies) that may still be made
	exotic   bool
	literal  bool // a repeated key or value string written as a literal
	classLit bool // a class name written as a literal after the same string
	// classIDOther: a class name given as the id of a string that was not
	// a class name.
	classIDOther bool
	idUse        bool // a key or value string written as a string id
	empty        int  // slot of the first plain empty array, or 0
	err          *SyntaxError
	path         []Key // innermost first
	partial      bool
	// stream: decoding one top-level variable at a time (igTops). A
	// value tied to another (a reference, a back-reference other than to
	// the shared empty array, a Serializable payload) then stops the
	// decode with stop set, and slots holds only the current variable's
	// slots, slot n at n-slotOff.
	stream  bool
	stop    bool
	slotOff int
	// noSeen: the walk does not look for repeats written again (a
	// second walk of a session the first found canonical, or a check
	// only of whether it decodes): seen stays empty.
	noSeen bool
	// track: the table ids of the strings read (not ""), in order, are
	// appended to ids (EncodeTopChange's second walk).
	track bool
	ids   []int32
}

// igExpValue lists what may start an igbinary value.
const igExpValue = "an igbinary value (type byte 00-27)"

func (d *igDecoder) fail(p int, expected string) int {
	if d.err == nil {
		d.err = &SyntaxError{Offset: p, Expected: expected, Found: binExcerpt(d.s, p)}
	}
	return -1
}

func (d *igDecoder) error() error { return finishError(&d.err, d.path) }

// binExcerpt describes the bytes of a binary format at p for an error:
// "bytes 14 03 11 ..." (hex), or "end of input".
func binExcerpt(s string, p int) string {
	if p >= len(s) || p < 0 {
		return "end of input"
	}
	const hexdig = "0123456789abcdef"
	e := min(p+8, len(s))
	b := make([]byte, 0, 10+3*(e-p))
	b = append(b, "bytes"...)
	for i := p; i < e; i++ {
		b = append(b, ' ', hexdig[s[i]>>4], hexdig[s[i]&15])
	}
	if e < len(s) {
		b = append(b, " ..."...)
	}
	return string(b)
}

// decodeIgbinary decodes an igbinary session as PHP's igbinary session
// decoder does (igbinary.c, PS_SERIALIZER_DECODE_FUNC).
func (o DecodeOptions) decodeIgbinary(s string, partial bool) (*Session, error) {
	sess := &Session{Handler: HandlerIgbinary, Root: Value{Kind: KindArray}}
	if len(s) == 0 {
		// PHP reads no bytes as an empty session; while unchanged it
		// stays no bytes (not 00 00 00 02 14 00).
		sess.ext.keepExact(HandlerIgbinary, s, &sess.Root)
		return sess, nil
	}
	// igbinary itself has no depth limit; without MaxDepth, sesstool
	// stops at igMaxDepth.
	md := o.MaxDepth
	if md <= 0 {
		md = igMaxDepth
	}
	d := &igDecoder{s: s, maxDepth: md, budget: len(s) + 1, partial: partial}
	if len(s) < 5 {
		d.fail(0, "the igbinary header 00 00 00 02 and a value")
		return nil, d.error()
	}
	switch s[:4] {
	case igHeader:
	case "\x00\x00\x00\x01":
		d.exotic = true // PHP reads version 1 and writes version 2
	default:
		d.fail(0, "the igbinary header 00 00 00 02")
		return nil, d.error()
	}
	if uint64(len(s)) > math.MaxUint32 {
		d.fail(0, "an igbinary session under 4 GiB") // the string table's spans
		return nil, d.error()
	}
	d.strs = make([]strRef, 0, min(len(s)/16+4, 4096))
	d.seen.init(max(32, 1<<bits.Len(uint(min(len(s)/8, 8192)))))
	d.slots = make([]igSlot, 1, min(len(s)/40+4, 4096))
	d.slots[0] = igSlot{v: &sess.Root, kind: igSlotArray}
	p := 4
	var n int
	switch s[p] {
	case igArray8, igArray16, igArray32:
		q, cnt, ok := d.count(p)
		if !ok {
			return nil, d.error()
		}
		n = d.entries(q, cnt, 1, &sess.Root, false)
	case igObj8, igObj16, igObj32, igObjID8, igObjID16, igObjID32:
		// PHP takes an object's properties as the session's variables;
		// its encoder writes them back as an array.
		d.exotic = true
		var obj Value
		d.slots = d.slots[:0]
		n = d.value(p, 0, &obj, false)
		if n >= 0 && obj.Kind != KindObject {
			n = d.fail(p, "an array or an object with properties")
		}
		sess.Root.Elems = obj.Elems
	default:
		d.fail(p, "an array (14 15 16) or an object")
		return nil, d.error()
	}
	if n < 0 {
		if partial {
			return sess, d.error()
		}
		return nil, d.error()
	}
	// What PHP's encoder would not have written keeps the exact bytes.
	if n < len(s) {
		d.exotic = true // PHP's session decoder ignores the rest
	}
	if d.literal || d.classLit {
		sess.ext.opts |= extIgLiteral
		if d.idUse || d.classIDOther {
			d.exotic = true
		}
	}
	if dropIntKeys(&sess.Root) {
		d.exotic = true
	}
	for _, sl := range d.slots[1:] {
		if sl.inRef && !sl.refd && sl.kind != igSlotObject {
			d.exotic = true // a lone reference: PHP writes it without 25
		}
	}
	if d.exotic {
		sess.ext.keepExact(HandlerIgbinary, s, &sess.Root)
	}
	return sess, nil
}

// dropIntKeys removes the int keys of a session's variables: the
// igbinary and msgpack session decoders skip them, so PHP never sees them
// and its next write drops them. It reports whether there were any.
func dropIntKeys(root *Value) bool {
	el := root.Elems
	j := 0
	for j < len(el) && !el[j].Key.IsInt {
		j++ // nothing moves before the first int key (the usual case: none)
	}
	if j == len(el) {
		return false
	}
	for i := j + 1; i < len(el); i++ {
		if !el[i].Key.IsInt {
			el[j] = el[i]
			j++
		}
	}
	clear(el[j:])
	root.Elems = el[:j]
	return true
}

// need reports whether n more bytes follow p.
func (d *igDecoder) need(p, n int) bool { return n >= 0 && n <= len(d.s)-p }

// uint reads a big-endian unsigned integer of w bytes at p.
func (d *igDecoder) uint(p, w int) (uint64, bool) {
	if !d.need(p, w) {
		return 0, false
	}
	s := d.s[p : p+w]
	switch w {
	case 1:
		return uint64(s[0]), true
	case 2:
		return uint64(binary.BigEndian.Uint16([]byte(s))), true
	case 4:
		return uint64(binary.BigEndian.Uint32([]byte(s))), true
	}
	return binary.BigEndian.Uint64([]byte(s)), true
}

// igWidth returns the byte width of a 8/16/32-bit type family member.
func igWidth(c, base byte) int { return 1 << (c - base) }

// igMinimal reports whether n needed w bytes (the igbinary encoder uses the
// smallest width).
func igMinimal(n uint64, w int) bool {
	switch w {
	case 1:
		return true
	case 2:
		return n > 0xff
	case 4:
		return n > 0xffff
	}
	return n > 0xffffffff
}

// count reads an array count at p (type 14/15/16) and checks it against
// the rest of the input: every entry takes at least one byte.
func (d *igDecoder) count(p int) (int, int, bool) {
	w := igWidth(d.s[p], igArray8)
	n, ok := d.uint(p+1, w)
	if !ok {
		d.fail(p+1, "an array count")
		return 0, 0, false
	}
	if !igMinimal(n, w) {
		d.exotic = true
	}
	q := p + 1 + w
	if n > uint64(len(d.s)-q) || int(n) > d.budget {
		d.fail(p, "an array count that fits the rest of the input ("+strconv.FormatUint(n, 10)+" entries)")
		return 0, 0, false
	}
	return q, int(n), true
}

// claim carves n entries out of the arena (about one entry per 20 bytes
// in realistic igbinary sessions: a slab for the rest of the input).
func (d *igDecoder) claim(n, p int) []Entry {
	return claimArena(&d.arena, &d.budget, n, (len(d.s)-p)/18+8)
}

// entries reads n key/value pairs at p into v (an array, or an object's
// properties when props) and returns the offset after them.
func (d *igDecoder) entries(p, n, depth int, v *Value, props bool) int {
	s := d.s
	el := d.claim(n, p)
	var nulls []byte
	for i := 0; i < n; i++ {
		if p >= len(s) {
			v.Elems = el
			return d.fail(p, "an array key")
		}
		var k Key
		c := s[p]
		switch c {
		case igNull:
			// A declared, uninitialised typed property: no value follows.
			if props {
				nulls = binary.AppendUvarint(nulls, uint64(len(el)))
			} else {
				d.exotic = true // PHP drops it from an array
			}
			p++
			continue
		case igLong8p, igLong8n, igLong16p, igLong16n, igLong32p, igLong32n, igLong64p, igLong64n:
			var q int
			q, k.Int = d.long(p)
			if q < 0 {
				v.Elems = el
				return -1
			}
			k.IsInt = true
			p = q
		case igStrEmpty:
			p++
		case igStrID8, igStrID16, igStrID32, igStr8, igStr16, igStr32, igStr64:
			q, str := d.str(p)
			if q < 0 {
				v.Elems = el
				return -1
			}
			k.Str = str
			if !props && depth > 1 && isNumericKey(str) {
				// PHP's array takes "5" as 5 (zend_symtable_update), and
				// writes it back as an int. (The session's own variables
				// keep "5": PHP sets them by name.)
				k = ArrayKey(str)
				d.exotic = true
			}
			p = q
		default:
			v.Elems = el
			return d.fail(p, "an array key (int, string or 00)")
		}
		el = el[:len(el)+1] // the arena's entries are zero
		el[len(el)-1].Key = k
		q := d.value(p, depth, &el[len(el)-1].Val, false)
		if q < 0 {
			v.Elems = el
			if d.partial && depth == 1 {
				v.Elems = el[:len(el)-1] // the variables before the failing one
			}
			d.path = append(d.path, k)
			return -1
		}
		p = q
	}
	v.Elems = el
	if nulls != nil {
		v.Payload = string(nulls)
	}
	return p
}

// isNumericKey reports whether PHP would take string key s as an int.
func isNumericKey(s string) bool {
	if len(s) == 0 || len(s) > 20 || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	return ArrayKey(s).IsInt
}

// long reads an integer at p (types 06-0b, 20, 21).
func (d *igDecoder) long(p int) (int, int64) {
	c := d.s[p]
	var w int
	switch c {
	case igLong64p, igLong64n:
		w = 8
	default:
		w = 1 << ((c - igLong8p) / 2) // 06/07 -> 1, 08/09 -> 2, 0a/0b -> 4
	}
	m, ok := d.uint(p+1, w)
	if !ok {
		return d.fail(p+1, "an integer of "+strconv.Itoa(w)+" bytes"), 0
	}
	neg := c&1 == 1
	if !igMinimal(m, w) || (neg && m == 0) {
		d.exotic = true
	}
	var n int64
	switch {
	case !neg && m > math.MaxInt64, neg && m > 1<<63:
		d.exotic = true // PHP reads 0 (with a warning)
	case neg:
		n = int64(-m) // 1<<63 wraps to MinInt64, as intended
	default:
		n = int64(m)
	}
	return p + 1 + w, n
}

// str reads a key, value or enum case string at p: a literal (added to
// the table) or a string id. (Class names are read by object.)
func (d *igDecoder) str(p int) (int, string) {
	s := d.s
	// The two forms of nearly every string: a literal of 1-255 bytes, an
	// id below 256.
	if p+1 < len(s) {
		switch s[p] {
		case igStr8:
			n, q := int(s[p+1]), p+2
			if n > 0 && n <= len(s)-q {
				d.addString(q, n, false)
				return q + n, s[q : q+n]
			}
		case igStrID8:
			if id := int(s[p+1]); id < len(d.strs) {
				d.idUse = true
				d.note(int32(id))
				return p + 2, d.strAt(int32(id))
			}
		}
	}
	return d.strSlow(p)
}

// strSlow is str for every form.
func (d *igDecoder) strSlow(p int) (int, string) {
	s := d.s
	c := s[p]
	switch c {
	case igStrEmpty:
		return p + 1, ""
	case igStrID8, igStrID16, igStrID32:
		w := igWidth(c, igStrID8)
		id, ok := d.uint(p+1, w)
		if !ok || id >= uint64(len(d.strs)) {
			return d.fail(p, "a string id below "+strconv.Itoa(len(d.strs))), ""
		}
		if !igMinimal(id, w) {
			d.exotic = true
		}
		d.idUse = true
		d.note(int32(id))
		return p + 1 + w, d.strAt(int32(id))
	case igStr8, igStr16, igStr32, igStr64:
		w := 8
		if c != igStr64 {
			w = igWidth(c, igStr8)
		}
		n, ok := d.uint(p+1, w)
		q := p + 1 + w
		if !ok || n > uint64(len(s)-q) {
			return d.fail(p, "a string length that fits the rest of the input"), ""
		}
		if !igMinimal(n, w) || n == 0 {
			d.exotic = true
		}
		d.addString(q, int(n), false)
		return q + int(n), s[q : q+int(n)]
	}
	return d.fail(p, "a string (0d-13, 26)"), ""
}

// addString appends a literal to the string table, noting repeats. With
// compact_strings on, PHP writes every repeat as an id; with it off, only
// repeated class names (its table then holds class names alone).
func (d *igDecoder) addString(q, n int, class bool) {
	id := int32(len(d.strs))
	d.strs = append(d.strs, strRef{uint32(q), uint32(n)})
	d.note(id)
	tab := decTable{d.s, d.strs}
	if !d.noSeen && d.seen.insert(tab, id) >= 0 {
		if class {
			d.classLit = true // fine only with compact_strings off
		} else {
			d.literal = true
		}
	}
	if class && d.classes.insert(tab, id) >= 0 {
		d.exotic = true // a class name seen as one is written as its id
	}
}

// note records table id id as read, when tracked.
func (d *igDecoder) note(id int32) {
	if d.track {
		d.ids = append(d.ids, id)
	}
}

// classID notes a class name given as string id n: with compact_strings
// off, PHP gives only the id of that class name's own literal.
func (d *igDecoder) classID(n int32) {
	if d.classes.find(decTable{d.s, d.strs}, d.strAt(n)) != n {
		d.classIDOther = true
	}
}

// strRef is a string-table entry: d.s[off:off+n] for the decoder, the
// bytes written at off for the encoder (no pointer, so the table costs
// the garbage collector nothing; 8 bytes, for sessions under 4 GiB).
type strRef struct{ off, n uint32 }

// strAt returns string-table entry id.
func (d *igDecoder) strAt(id int32) string { return decTable{d.s, d.strs}.at(id) }

// strTable is a string table the set below indexes: the decoder's (spans
// of the input) or the encoder's (the strings written).
type strTable interface {
	at(id int32) string
	count() int // entries
}

// decTable is the decoder's table: spans of its input, no pointers.
type decTable struct {
	s    string
	refs []strRef
}

func (t decTable) count() int { return len(t.refs) }

func (t decTable) at(id int32) string {
	r := t.refs[id]
	return t.s[int(r.off) : int(r.off)+int(r.n)]
}

// encTable is the encoder's table: spans of what it has written (*buf).
type encTable struct {
	buf  *[]byte
	refs []strRef
}

func (t encTable) count() int { return len(t.refs) }

func (t encTable) at(id int32) string {
	r := t.refs[id]
	b := (*t.buf)[int(r.off) : int(r.off)+int(r.n)]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// strSet is an open-addressing set of the entries of a string table (ids
// + 1, 0 empty), to find a string written again without a map's overhead.
// It is kept at most 3/4 full (strSetSlots). Each slot has a tag, 8 bits
// of its string's hash, compared before the strings are: a probe past
// another string then costs no look into the table and the input (two
// cache misses each, most of the time of a large session's walk).
type strSet[T strTable] struct {
	slots []int32
	tags  []uint8
	n     int
}

// init makes the set empty with n slots (a power of two), the slots and
// their tags in one allocation.
func (t *strSet[T]) init(n int) {
	buf := make([]int32, n+n/4)
	t.slots, t.n = buf[:n:n], 0
	t.tags = unsafe.Slice((*uint8)(unsafe.Pointer(&buf[n])), n)
}

// strSeed seeds strHash for long strings, shortSeed for short ones, so
// that input cannot be made of strings that all land on the same probe
// sequence (which would make decoding quadratic).
var (
	strSeed   = maphash.MakeSeed()
	shortSeed = maphash.Comparable(strSeed, 0) | 1
)

// strHash hashes s: inline for the short keys and values sessions hold
// (two loads that together cover every byte, seeded), the runtime's string
// hash for longer ones.
func strHash(s string) uint32 {
	n := len(s)
	if n > 16 {
		return uint32(maphash.String(strSeed, s))
	}
	h := uint64(n)*0x9e3779b97f4a7c15 ^ shortSeed
	p := unsafe.Pointer(unsafe.StringData(s))
	switch {
	case n >= 8:
		a := *(*uint64)(p)
		b := *(*uint64)(unsafe.Add(p, n-8))
		h ^= a * 0xff51afd7ed558ccd
		h ^= (b ^ h>>29) * 0xc4ceb9fe1a85ec53
	case n >= 4:
		a := uint64(*(*uint32)(p))
		b := uint64(*(*uint32)(unsafe.Add(p, n-4)))
		h ^= (a | b<<32) * 0xff51afd7ed558ccd
	default:
		for i := 0; i < n; i++ {
			h = (h ^ uint64(s[i])) * 0x100000001b3
		}
	}
	h ^= h >> 33 // murmur3's finaliser: every input bit reaches the low bits
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return uint32(h)
}

// insert adds entry id of tab unless an equal string is there: it returns
// that string's id, or -1 after adding.
func (t *strSet[T]) insert(tab T, id int32) int32 {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.grow(tab)
	}
	s := tab.at(id)
	h := strHash(s)
	tag := uint8(h >> 24)
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := t.slots[i]
		if e == 0 {
			t.slots[i], t.tags[i] = id+1, tag
			t.n++
			return -1
		}
		if t.tags[i] == tag && tab.at(e-1) == s {
			return e - 1
		}
	}
}

// find returns the id of an entry of tab equal to s, or -1.
func (t *strSet[T]) find(tab T, s string) int32 {
	if len(t.slots) == 0 {
		return -1
	}
	h := strHash(s)
	tag := uint8(h >> 24)
	mask := uint32(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		e := t.slots[i]
		if e == 0 {
			return -1
		}
		if t.tags[i] == tag && tab.at(e-1) == s {
			return e - 1
		}
	}
}

// strSetSlots is how many slots a strSet holding n strings starts with.
func strSetSlots(n int) int { return max(32, 1<<bits.Len(uint(n+n/3+16))) }

// grow doubles the slots. The strings are hashed again in table order
// (the order they lie in the input or the output), not in slot order: a
// large table's strings are then read one after another rather than at
// random, which took most of a 100 MB session's walk.
func (t *strSet[T]) grow(tab T) {
	old := t.slots
	t.init(max(32, 2*len(old)))
	if len(old) < 1<<16 {
		// Small: the strings are in the cache anyway.
		for _, e := range old {
			if e != 0 {
				t.put(e, strHash(tab.at(e-1)))
			}
		}
		return
	}
	member := make([]bool, tab.count())
	for _, e := range old {
		if e != 0 {
			member[e-1] = true
		}
	}
	for id, in := range member {
		if in {
			t.put(int32(id)+1, strHash(tab.at(int32(id))))
		}
	}
}

// put adds slot value e (an id + 1) of hash h, known not to be there.
func (t *strSet[T]) put(e int32, h uint32) {
	mask := uint32(len(t.slots) - 1)
	i := h & mask
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i], t.tags[i] = e, uint8(h>>24)
	t.n++
}

// slot records a new reference slot for v and returns its number.
func (d *igDecoder) slot(v *Value, kind uint8, inRef bool) int {
	d.slots = append(d.slots, igSlot{v: v, kind: kind, inRef: inRef})
	return d.slotOff + len(d.slots) - 1
}

// value decodes one value at p into v. ref is set after a 25 prefix.
func (d *igDecoder) value(p, depth int, v *Value, ref bool) int {
	s := d.s
	if p >= len(s) {
		return d.fail(p, igExpValue)
	}
	c := s[p]
	switch c {
	case igNull, igFalse, igTrue, igLong8p, igLong8n, igLong16p, igLong16n, igLong32p, igLong32n,
		igLong64p, igLong64n, igDouble, igStrEmpty, igStrID8, igStrID16, igStrID32, igStr8, igStr16, igStr32, igStr64:
		q := d.scalar(p, v)
		if q >= 0 && ref {
			v.Flags |= FlagRef
			v.Anchor = int64(d.slot(v, igSlotScalar, true))
		}
		return q
	case igArray8, igArray16, igArray32:
		q, n, ok := d.count(p)
		if !ok {
			return -1
		}
		if n > 0 && depth >= d.maxDepth {
			return d.fail(p, "nesting no deeper than "+strconv.Itoa(d.maxDepth))
		}
		v.Kind = KindArray
		id := d.slot(v, igSlotArray, ref)
		if ref {
			v.Flags |= FlagRef
			v.Anchor = int64(id)
		} else if n == 0 {
			if d.empty != 0 {
				d.exotic = true // PHP shares one empty array: 01 <first>
			} else {
				d.empty = id
			}
		}
		d.slots[id-d.slotOff].open = true
		q = d.entries(q, n, depth+1, v, false)
		d.slots[id-d.slotOff].open = false
		return q
	case igObj8, igObj16, igObj32, igObjID8, igObjID16, igObjID32:
		return d.object(p, depth, v, ref)
	case igRef8, igRef16, igRef32, igObjRef8, igObjRef16, igObjRef32:
		return d.backRef(p, depth, v, ref)
	case igRefPrefix:
		if d.stream {
			d.stop = true
			return -1
		}
		if ref {
			return d.fail(p, "a value after the reference prefix 25")
		}
		return d.value(p+1, depth, v, true)
	}
	return d.fail(p, igExpValue)
}

// scalar decodes null, bool, int, float or string at p.
func (d *igDecoder) scalar(p int, v *Value) int {
	s := d.s
	switch c := s[p]; c {
	case igNull:
		v.Kind = KindNull
		return p + 1
	case igFalse, igTrue:
		v.Kind, v.Int = KindBool, int64(c-igFalse)
		return p + 1
	case igDouble:
		if !d.need(p+1, 8) {
			return d.fail(p+1, "8 bytes of a double")
		}
		v.Kind = KindFloat
		v.Float = math.Float64frombits(binary.BigEndian.Uint64([]byte(s[p+1 : p+9])))
		return p + 9
	case igStrEmpty, igStrID8, igStrID16, igStrID32, igStr8, igStr16, igStr32, igStr64:
		q, str := d.str(p)
		v.Kind, v.Str = KindString, str
		return q
	}
	q, n := d.long(p)
	v.Kind, v.Int = KindInt, n
	return q
}

// object decodes an object at p: its class, then its properties, its
// Serializable payload or its enum case.
func (d *igDecoder) object(p, depth int, v *Value, ref bool) int {
	s := d.s
	c := s[p]
	var q int
	var class string
	if c <= igObj32 {
		w := igWidth(c, igObj8)
		n, ok := d.uint(p+1, w)
		q = p + 1 + w
		if !ok || n > uint64(len(s)-q) {
			return d.fail(p, "a class name length that fits the rest of the input")
		}
		if !igMinimal(n, w) {
			d.exotic = true
		}
		class = s[q : q+int(n)]
		d.addString(q, int(n), true)
		q += int(n)
	} else {
		w := igWidth(c, igObjID8)
		id, ok := d.uint(p+1, w)
		if !ok || id >= uint64(len(d.strs)) {
			return d.fail(p, "a class name id below "+strconv.Itoa(len(d.strs)))
		}
		if !igMinimal(id, w) {
			d.exotic = true
		}
		class = d.strAt(int32(id))
		d.note(int32(id))
		d.classID(int32(id))
		q = p + 1 + w
	}
	if class == "" {
		return d.fail(p, "a class name")
	}
	id := d.slot(v, igSlotObject, ref)
	if ref {
		v.Flags |= FlagRef
		v.Anchor = int64(id)
	}
	if q >= len(s) {
		return d.fail(q, "an object's properties, payload or enum case")
	}
	switch c := s[q]; c {
	case igArray8, igArray16, igArray32:
		r, n, ok := d.count(q)
		if !ok {
			return -1
		}
		if n > 0 && depth >= d.maxDepth {
			return d.fail(q, "nesting no deeper than "+strconv.Itoa(d.maxDepth))
		}
		v.Kind, v.Str = KindObject, class
		return d.entries(r, n, depth+1, v, true)
	case igObjSer8, igObjSer16, igObjSer32:
		if d.stream {
			d.stop = true
			return -1
		}
		w := igWidth(c, igObjSer8)
		n, ok := d.uint(q+1, w)
		r := q + 1 + w
		if !ok || n > uint64(len(s)-r) {
			return d.fail(q, "a Serializable payload length that fits the rest of the input")
		}
		if !igMinimal(n, w) {
			d.exotic = true
		}
		v.Kind, v.Str, v.Payload = KindCustom, class, s[r:r+int(n)]
		return r + int(n)
	case igEnum:
		if q+1 >= len(s) {
			return d.fail(q+1, "an enum case name")
		}
		r, name := d.str(q + 1)
		if r < 0 {
			return -1
		}
		if name == "" {
			return d.fail(q+1, "an enum case name")
		}
		if strings.IndexByte(class, ':') >= 0 {
			// No PHP class has that name, so no enum of it exists.
			return d.fail(p, "an enum's class name (without ':')")
		}
		v.Kind, v.Str = KindEnum, class+":"+name
		return r
	}
	return d.fail(q, "an object's properties (14-16), payload (1d-1f) or enum case (27)")
}

// backRef decodes 01-03 (a shared array or a reference's target) and
// 22-24 (an object seen before) at p.
func (d *igDecoder) backRef(p, depth int, v *Value, ref bool) int {
	c := d.s[p]
	obj := c >= igObjRef8
	w := igWidth(c, igRef8)
	if obj {
		w = igWidth(c, igObjRef8)
	}
	n, ok := d.uint(p+1, w)
	if !ok || n == 0 || n >= uint64(d.slotOff+len(d.slots)) {
		return d.fail(p, "a back-reference to an earlier value (1-"+strconv.Itoa(d.slotOff+len(d.slots)-1)+")")
	}
	if !igMinimal(n, w) {
		d.exotic = true
	}
	q := p + 1 + w
	if d.stream {
		// Only the array PHP shares for every empty one (01 <its slot>)
		// is read apart from the variable it is in: a copy of an empty
		// array, as copyInto makes it (no flags, no anchor).
		if obj || ref || d.empty == 0 || n != uint64(d.empty) {
			d.stop = true
			return -1
		}
		*v = Value{Kind: KindArray}
		return q
	}
	sl := &d.slots[n]
	t := sl.v
	if obj && sl.kind != igSlotObject {
		// PHP takes 22 n to an array or a value as a copy of it.
		if !d.exoticCopy(p, *t, depth, v) {
			return -1
		}
		return q
	}
	if obj {
		t.Anchor = int64(n)
		switch {
		case ref && sl.inRef:
			// 25 22 n to an object written after 25: the same reference.
			sl.refd = true
			*v = Value{Kind: KindRef, Int: int64(n)}
		case ref:
			// A reference to the object's handle that the object's first
			// place does not share.
			*v = Value{Kind: KindObjRef, Int: int64(n), Flags: FlagRef}
		default:
			*v = Value{Kind: KindObjRef, Int: int64(n)}
		}
		return q
	}
	switch {
	case sl.kind == igSlotObject:
		// PHP's encoder writes 22 n for an object seen before.
		d.exotic = true
		t.Anchor = int64(n)
		*v = Value{Kind: KindObjRef, Int: int64(n)}
		if ref {
			v.Flags = FlagRef
		}
	case ref && sl.kind == igSlotArray && !sl.inRef:
		// 25 01 n to an array that is not a reference: PHP copies it.
		if !d.exoticCopy(p, *t, depth, v) {
			return -1
		}
	case ref:
		sl.refd = true
		t.Anchor = int64(n)
		*v = Value{Kind: KindRef, Int: int64(n)}
	default:
		// A copy: PHP shares the array (or copies the referenced value).
		if !d.copyInto(p, *t, depth, v) {
			return -1
		}
		if sl.open {
			// A copy of an array from inside itself: PHP shares the
			// table it is still filling; its encoder never writes that.
			d.exotic = true
		}
		if sl.kind == igSlotArray && !sl.inRef {
			if len(t.Elems) == 0 && t.Kind == KindArray {
				if d.empty != int(n) {
					d.exotic = true
				}
			} else {
				t.Anchor = int64(n)
				v.Flags |= FlagCopy
				v.Int = int64(n)
			}
		} else {
			d.exotic = true // PHP's encoder writes the value itself
		}
	}
	return q
}

// exoticCopy makes v a copy of t where PHP copies what its encoder would
// not have written this way.
func (d *igDecoder) exoticCopy(p int, t Value, depth int, v *Value) bool {
	d.exotic = true
	return d.copyInto(p, t, depth, v)
}

// copyInto makes v a copy of t for the back-reference at p.
func (d *igDecoder) copyInto(p int, t Value, depth int, v *Value) bool {
	cp, ok := copyBudget(t, depth, d.maxDepth, &d.budget)
	if !ok {
		d.fail(p, "copies of earlier arrays that fit the entry budget")
		return false
	}
	*v = cp
	return true
}

// copyBudget copies t where a back-reference stands for a copy of it: the
// copy shares no anchor (references inside it keep their targets) and its
// entries count against budget, so that copies of copies cannot grow
// without bound.
func copyBudget(t Value, depth, maxDepth int, budget *int) (Value, bool) {
	t.Anchor = 0
	t.Flags &^= FlagRef
	if t.Elems == nil {
		return t, true
	}
	if len(t.Elems) > *budget || depth >= maxDepth {
		return Value{}, false
	}
	*budget -= len(t.Elems)
	e := make([]Entry, len(t.Elems))
	for i := range t.Elems {
		c, ok := copyBudget(t.Elems[i].Val, depth+1, maxDepth, budget)
		if !ok {
			return Value{}, false
		}
		e[i] = Entry{Key: t.Elems[i].Key, Val: c}
	}
	t.Elems = e
	return t, true
}

// claimArena carves n zero entries out of *arena, a new slab of about
// slab entries (within the budget) when it has too few, for the binary
// decoders; *budget bounds the total.
func claimArena(arena *[]Entry, budget *int, n, slab int) []Entry {
	if n == 0 {
		return nil
	}
	if n > len(*arena) {
		*arena = make([]Entry, max(n, min(slab, *budget, maxSlab)))
	}
	e := (*arena)[:0:n]
	*arena = (*arena)[n:]
	*budget -= n
	return e
}
