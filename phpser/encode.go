package phpser

import (
	"errors"
	"math"
	"strconv"
)

// AppendValue appends the serialized form of v to dst, as PHP's serialize()
// writes it. A Raw token is written verbatim when it still denotes the
// value (so decode then encode is byte-exact); a stale Raw is ignored.
// References are numbered as in a lone serialize() call (v itself is slot
// 1): each KindRef/KindObjRef is written with the slot of the earlier value
// carrying its Anchor. What PHP could not decode back (a dangling
// reference, an r: to a non-object, an invalid class name) is an
// *EncodeError.
func AppendValue(dst []byte, v Value) ([]byte, error) {
	var few [8]encAnchor
	e := encoder{buf: dst, few: few[:0]}
	if err := e.value(&v); err != nil {
		return dst, e.error(err)
	}
	return e.buf, nil
}

// EncodeValue returns the serialized form of v (see AppendValue).
func EncodeValue(v Value) ([]byte, error) {
	return AppendValue(nil, v)
}

// encoder renumbers reference slots as PHP's php_add_var_hash does while
// it writes.
type encoder struct {
	buf   []byte
	slots int64
	// Anchor -> new slot: a short list (sessions carry few anchors), then
	// a map once there are many.
	few     []encAnchor // starts on the caller's stack
	anchors map[int64]encAnchor
	path    []Key // key path of a failure, innermost first
	// lax writes a reference to an anchor it has not seen with the anchor
	// itself as its slot (customPayload).
	lax bool

	// EncodeSessionOver: cmp is the encoding being replaced; until
	// diverged, same bytes of output, equal to cmp[:same], were dropped
	// from buf; once diverged, buf holds the whole output. flushRoot is
	// the value at whose entries buf is compared and values released.
	over      bool
	reclaim   func() // called every reclaimStep bytes of output and before a large buffer
	reclaimAt int
	reclaimBy int
	cmp       []byte
	same      int
	diverged  bool
	flushRoot *Value
}

// sameChunk is how much output EncodeSessionOver holds before it compares
// it with the old encoding.
const sameChunk = 64 << 10

// dropSame drops the output held so far when it equals the old encoding
// at the same offset. At the first difference it stops comparing and
// moves to a buffer sized for the whole new encoding, which starts with
// the prefix the two share (copied from the old one).
func (e *encoder) dropSame() {
	if !e.over {
		return
	}
	if e.reclaim != nil && e.same+len(e.buf) >= e.reclaimAt {
		e.reclaim()
		e.reclaimAt = e.same + len(e.buf) + e.reclaimBy
	}
	if e.diverged || len(e.buf) < sameChunk {
		return
	}
	rest := e.cmp[e.same:]
	if len(rest) >= len(e.buf) && string(rest[:len(e.buf)]) == string(e.buf) {
		e.same += len(e.buf)
		e.buf = e.buf[:0]
		return
	}
	e.diverged = true
	// What is to come is most likely about as long as what is left of
	// the old encoding: size the buffer once rather than grow it step by
	// step to the end.
	left := max(len(e.cmp)-e.same-len(e.buf), 0)
	if e.reclaim != nil {
		e.reclaim()
	}
	nb := make([]byte, e.same+len(e.buf), e.same+len(e.buf)+left+left/16+64)
	copy(nb, e.cmp[:e.same])
	copy(nb[e.same:], e.buf)
	e.buf = nb
}

// release drops what a written top-level entry holds (EncodeSessionOver),
// keeping what a later entry's encoding reads of it: its key, kind and
// anchor (a repeated key overwrites an earlier place).
func (e *encoder) release(en *Entry) {
	en.Val = Value{Kind: en.Val.Kind, Anchor: en.Val.Anchor}
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i+8 <= n && string(a[i:i+8]) == string(b[i:i+8]) {
		i += 8
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

type encAnchor struct {
	anchor  int64
	slot    int64
	obj     bool
	objSlot int64 // for an r: handle: the slot of the object it names
}

// objSlotOr returns the slot an r: to this anchor names.
func (a encAnchor) objSlotOr() int64 {
	if a.objSlot != 0 {
		return a.objSlot
	}
	return a.slot
}

// lookup returns the slot registered for anchor a.
func (e *encoder) lookup(a int64) (encAnchor, bool) {
	if e.anchors != nil {
		t, ok := e.anchors[a]
		return t, ok
	}
	for i := len(e.few) - 1; i >= 0; i-- {
		if e.few[i].anchor == a {
			return e.few[i], true
		}
	}
	return encAnchor{}, false
}

// error fills in the key path of an *EncodeError.
func (e *encoder) error(err error) error {
	var ee *EncodeError
	if errors.As(err, &ee) && ee.Path == "" && len(e.path) > 0 {
		keys := make([]Key, len(e.path))
		for i, k := range e.path {
			keys[len(keys)-1-i] = k
		}
		ee.Path = formatKeyPath(keys)
	}
	return err
}

// overwrite handles a repeated key: PHP decodes entry i into the place of
// the earlier entry with the same key, so a slot that named that place (an
// earlier value's anchor) now holds entry i's value; a later r: to it is
// valid when that value is an object. The slot number stays the place's.
func (e *encoder) overwrite(c *Value, placed []int, i int) {
	obj := c.Kind == KindObject
	k := dupKey(c.Elems[i].Key, obj)
	for _, j := range placed {
		if j >= i || dupKey(c.Elems[j].Key, obj) != k {
			continue
		}
		a := c.Elems[j].Val.Anchor
		t, ok := e.lookup(a)
		if !ok {
			continue
		}
		t.obj = isObject(c.Elems[i].Val.Kind)
		t.objSlot = 0
		e.register(t)
	}
}

// register records (or replaces) the slot of an anchor.
func (e *encoder) register(t encAnchor) {
	if e.anchors != nil {
		e.anchors[t.anchor] = t
		return
	}
	for i := len(e.few) - 1; i >= 0; i-- {
		if e.few[i].anchor == t.anchor {
			e.few[i] = t
			return
		}
	}
	if len(e.few) < cap(e.few) {
		e.few = append(e.few, t)
		return
	}
	e.anchors = make(map[int64]encAnchor, 2*len(e.few)+1)
	for _, a := range e.few {
		e.anchors[a.anchor] = a
	}
	e.anchors[t.anchor] = t
}

// slot numbers v and remembers its Anchor.
func (e *encoder) slot(v *Value) {
	e.slots++
	if v.Anchor == 0 {
		return
	}
	t := encAnchor{anchor: v.Anchor, slot: e.slots, obj: isObject(v.Kind)}
	if v.Kind == KindObjRef {
		// Another handle to an object: PHP's var_hash knows the object
		// by the slot where it was first written, so an r: to this one
		// names that slot.
		if o, ok := e.lookup(v.Int); ok && o.obj {
			t.objSlot = o.objSlotOr()
		}
	}
	if e.anchors == nil && len(e.few) < cap(e.few) {
		e.few = append(e.few, t)
		return
	}
	if e.anchors == nil {
		e.anchors = make(map[int64]encAnchor, 2*len(e.few))
		for _, a := range e.few {
			e.anchors[a.anchor] = a
		}
	}
	e.anchors[v.Anchor] = t
}

func (e *encoder) value(v *Value) error {
	b := e.buf
	switch v.Kind {
	case KindNull:
		e.slot(v)
		b = append(b, 'N', ';')
	case KindBool:
		e.slot(v)
		if v.Int != 0 {
			b = append(b, "b:1;"...)
		} else {
			b = append(b, "b:0;"...)
		}
	case KindInt:
		e.slot(v)
		if v.Raw != "" && rawScalarOK(v) {
			b = append(b, v.Raw...)
		} else {
			b = append(b, 'i', ':')
			b = strconv.AppendInt(b, v.Int, 10)
			b = append(b, ';')
		}
	case KindFloat:
		e.slot(v)
		if v.Raw != "" && rawScalarOK(v) {
			b = append(b, v.Raw...)
		} else {
			b = append(b, 'd', ':')
			b = appendFloat(b, v.Float)
			b = append(b, ';')
		}
	case KindString:
		e.slot(v)
		if v.Raw != "" && rawScalarOK(v) {
			b = append(b, v.Raw...)
		} else {
			b = appendStr(b, 's', v.Str)
			b = append(b, ';')
		}
	case KindEnum:
		e.slot(v)
		if !enumNameOK(v.Str) {
			return &EncodeError{Reason: "enum " + strconv.Quote(v.Str) + " is not of the form Class:Case"}
		}
		if v.Raw != "" && rawScalarOK(v) {
			b = append(b, v.Raw...)
		} else {
			b = appendStr(b, 'E', v.Str)
			b = append(b, ';')
		}
	case KindCustom:
		e.slot(v)
		if !phpClassNameOK(v.Str) {
			return &EncodeError{Reason: "invalid class name " + strconv.Quote(v.Str)}
		}
		payload := v.Payload
		if len(v.Elems) > 0 {
			var err error
			if payload, err = e.payload(v); err != nil {
				return err
			}
		}
		if v.Raw != "" && rawCustomOK(v.Raw, v.Str, payload) {
			b = append(b, v.Raw...)
		} else {
			b = appendStr(b, 'C', v.Str)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(len(payload)), 10)
			b = append(b, ':', '{')
			b = append(b, payload...)
			b = append(b, '}')
		}
	case KindArray, KindObject:
		if v.Flags&FlagCut != 0 {
			return errCutValue()
		}
		e.slot(v)
		if v.Kind == KindObject && !phpClassNameOK(v.Str) {
			return &EncodeError{Reason: "invalid class name " + strconv.Quote(v.Str)}
		}
		if v.Raw != "" && rawHeaderOK(v) {
			b = append(b, v.Raw...)
		} else if v.Kind == KindArray {
			b = append(b, 'a', ':')
			b = strconv.AppendInt(b, int64(len(v.Elems)), 10)
			b = append(b, ':', '{')
		} else {
			b = appendStr(b, 'O', v.Str)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(len(v.Elems)), 10)
			b = append(b, ':', '{')
		}
		e.buf = b
		array := v.Kind == KindArray
		var placed []int // entries whose values carry an anchor
		for i := range v.Elems {
			if v == e.flushRoot {
				e.dropSame()
			}
			en := &v.Elems[i]
			e.key(&en.Key, array)
			if len(placed) > 0 {
				e.overwrite(v, placed, i)
			}
			if en.Val.Anchor != 0 {
				placed = append(placed, i)
			}
			if err := e.value(&en.Val); err != nil {
				e.path = append(e.path, en.Key)
				return err
			}
			if v == e.flushRoot {
				e.release(en)
			}
		}
		b = append(e.buf, '}')
	case KindRef, KindObjRef:
		if v.Kind == KindObjRef {
			e.slot(v)
		}
		t, ok := e.lookup(v.Int)
		if !ok && e.lax && v.Int > 0 {
			t, ok = encAnchor{anchor: v.Int, slot: v.Int, obj: true}, true
		}
		if !ok || v.Int == 0 {
			return &EncodeError{Reason: "reference to anchor " + strconv.FormatInt(v.Int, 10) + ", which no earlier value carries"}
		}
		c := byte('R')
		if v.Kind == KindObjRef {
			if !t.obj {
				return &EncodeError{Reason: "object reference (r:) to anchor " + strconv.FormatInt(v.Int, 10) + ", which is not an object"}
			}
			if t.slot == e.slots && !e.lax {
				return &EncodeError{Reason: "object reference (r:) to itself"}
			}
			c = 'r'
			t.slot = t.objSlotOr()
		}
		if v.Raw != "" && rawRefOK(v.Raw, c, t.slot) {
			b = append(b, v.Raw...)
		} else {
			b = append(b, c, ':')
			b = strconv.AppendInt(b, t.slot, 10)
			b = append(b, ';')
		}
	default:
		return &EncodeError{Reason: "invalid value kind " + strconv.Itoa(int(v.Kind))}
	}
	e.buf = b
	return nil
}

// appendStr appends c:<len>:"<s>" (no final ';').
func appendStr(b []byte, c byte, s string) []byte {
	b = append(b, c, ':')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':', '"')
	b = append(b, s...)
	return append(b, '"')
}

// key writes an array key or property name.
func (e *encoder) key(k *Key, array bool) {
	if k.Raw != "" && rawKeyOK(k, array) {
		e.buf = append(e.buf, k.Raw...)
		return
	}
	if k.IsInt {
		e.buf = append(e.buf, 'i', ':')
		e.buf = strconv.AppendInt(e.buf, k.Int, 10)
		e.buf = append(e.buf, ';')
		return
	}
	e.buf = appendStr(e.buf, 's', k.Str)
	e.buf = append(e.buf, ';')
}

// rawDecoder returns a decoder over a Raw token (no depth, no budget).
func rawDecoder(raw string) decoder {
	return decoder{s: raw, maxDepth: 1}
}

// rawScalarOK reports whether v.Raw is one whole token that decodes to v.
func rawScalarOK(v *Value) bool {
	d := rawDecoder(v.Raw)
	var t Value
	if d.value(0, &t) != len(v.Raw) || t.Kind != v.Kind {
		return false
	}
	switch v.Kind {
	case KindInt:
		return t.Int == v.Int
	case KindFloat:
		return math.Float64bits(t.Float) == math.Float64bits(v.Float) || math.IsNaN(t.Float) && math.IsNaN(v.Float)
	case KindString, KindEnum:
		return t.Str == v.Str
	}
	return false
}

// rawHeaderOK reports whether v.Raw is an a:/O: header up to '{' that
// matches v's class and element count.
func rawHeaderOK(v *Value) bool {
	raw := v.Raw
	if len(raw) < 4 || raw[len(raw)-1] != '{' || raw[len(raw)-2] != ':' {
		return false
	}
	d := rawDecoder(raw)
	var n int64
	var end int
	if v.Kind == KindArray {
		if raw[0] != 'a' || raw[1] != ':' {
			return false
		}
		_, q, _, ok := parseUIV(raw, 2)
		if !ok {
			return false
		}
		n, _, _, _ = parseIV(raw, 2)
		end = q
	} else {
		if raw[0] != 'O' || raw[1] != ':' {
			return false
		}
		class, q, _, ok := d.className(0)
		if !ok || class != v.Str {
			return false
		}
		n, end, _, _ = parseIV(raw, q) // sign, zeros, even no digits
	}
	return end == len(raw)-2 && n == int64(len(v.Elems))
}

// rawRefOK reports whether raw is c:<digits>; naming slot.
func rawRefOK(raw string, c byte, slot int64) bool {
	if len(raw) < 4 || raw[0] != c || raw[1] != ':' || raw[len(raw)-1] != ';' {
		return false
	}
	u, q, _, ok := parseUIV(raw, 2)
	return ok && q == len(raw)-1 && u == uint64(slot)
}

// rawKeyOK reports whether k.Raw is one key token that decodes to k.
func rawKeyOK(k *Key, array bool) bool {
	d := rawDecoder(k.Raw)
	var t Key
	if d.key(0, &t, array) != len(k.Raw) || t.IsInt != k.IsInt {
		return false
	}
	if k.IsInt {
		return t.Int == k.Int
	}
	return t.Str == k.Str
}
