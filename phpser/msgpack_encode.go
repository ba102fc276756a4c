package phpser

import (
	"encoding/binary"
	"math"
)

// mpEncoder writes a tree as msgpack-php 2.2.0RC2's session encoder does
// (msgpack_pack.c): the smallest int and string forms, lists as arrays,
// PHP's type markers, and ids counting the containers written.
type mpEncoder struct {
	buf    []byte
	noStr8 bool
	ids    int64 // containers written so far (the session is 1)
	refd   refSet
	index  anchorFinder
	anch   []mpAnchor
	path   []Key
}

type mpAnchor struct {
	anchor int64
	id     int64
	v      *Value
}

func appendMsgpack(dst []byte, s *Session) ([]byte, error) {
	if b, ok := s.ext.exact(s); ok {
		return append(dst, b...), nil
	}
	if s.Root.Kind != KindArray {
		return dst, &EncodeError{Reason: "the msgpack handler stores only an array of variables, not " + s.Root.Kind.String()}
	}
	e := &mpEncoder{buf: dst, noStr8: s.ext.opts&extMsgNoStr8 != 0, ids: 1}
	e.refd = newRefSet(collectRefTargets(&s.Root, nil))
	if s.Root.Anchor != 0 {
		e.anch = append(e.anch, mpAnchor{anchor: s.Root.Anchor, id: 1, v: &s.Root})
	}
	// PHP keeps only string keys when it reads a session, after taking
	// "5" as 5: such a variable would be lost.
	for i := range s.Root.Elems {
		if k := s.Root.Elems[i].Key; k.IsInt || isNumericKey(k.Str) {
			return dst, &EncodeError{Path: formatKeyPath([]Key{k}), Reason: "the msgpack handler cannot store an int or numeric key at the top (PHP drops it when it reads the session)"}
		}
	}
	n := len(s.Root.Elems)
	if n == 0 {
		return append(e.buf, 0x90), nil
	}
	e.start(n)
	for i := range s.Root.Elems {
		if err := e.top(&s.Root.Elems[i]); err != nil {
			return dst, err
		}
	}
	return e.buf, nil
}

// mpStartTops starts the encoding of a session of n variables after dst
// (noStr8: use_str8_serialization off); top then writes each.
func mpStartTops(dst []byte, noStr8 bool, n int) *mpEncoder {
	e := &mpEncoder{buf: dst, noStr8: noStr8, ids: 1}
	if n == 0 {
		e.buf = append(e.buf, 0x90)
		return e
	}
	e.start(n)
	return e
}

// start writes the session map's header for n variables.
func (e *mpEncoder) start(n int) {
	e.mapHead(n + 1)
	e.buf = append(e.buf, 0xc0, mpTypeReference)
}

// top writes one variable of the session.
func (e *mpEncoder) top(en *Entry) error {
	e.key(en.Key)
	if err := e.value(&en.Val); err != nil {
		e.path = append(e.path, en.Key)
		return e.error(err)
	}
	return nil
}

func (e *mpEncoder) error(err *EncodeError) error { return withPath(err, e.path) }

func (e *mpEncoder) targeted(a int64) bool { return e.refd.has(a) }

func (e *mpEncoder) lookup(a int64) (*mpAnchor, bool) {
	i, ok := e.index.find(len(e.anch), func(i int) int64 { return e.anch[i].anchor }, a)
	if !ok {
		return nil, false
	}
	return &e.anch[i], true
}

// id takes the next container id for v.
func (e *mpEncoder) id(v *Value) {
	e.ids++
	if v != nil && v.Anchor != 0 {
		e.anch = append(e.anch, mpAnchor{anchor: v.Anchor, id: e.ids, v: v})
	}
}

func (e *mpEncoder) mapHead(n int) { e.head(0x80, 0xde, n) }

func (e *mpEncoder) arrayHead(n int) { e.head(0x90, 0xdc, n) }

// head writes a container header: fix (count in the low four bits), then
// w16 with a 16-bit count, w16+1 with a 32-bit one.
func (e *mpEncoder) head(fix, w16 byte, n int) {
	switch {
	case n < 16:
		e.buf = append(e.buf, fix|byte(n))
	case n <= 0xffff:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, w16), uint16(n))
	default:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, w16+1), uint32(n))
	}
}

// int writes n as msgpack_pack_long does.
func (e *mpEncoder) int(n int64) {
	switch {
	case n >= 0 && n <= 0x7f:
		e.buf = append(e.buf, byte(n))
	case n >= 0 && n <= 0xff:
		e.buf = append(e.buf, 0xcc, byte(n))
	case n >= 0 && n <= 0xffff:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xcd), uint16(n))
	case n >= 0 && n <= 0xffffffff:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xce), uint32(n))
	case n >= 0:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xcf), uint64(n))
	case n >= -32:
		e.buf = append(e.buf, byte(n))
	case n >= math.MinInt8:
		e.buf = append(e.buf, 0xd0, byte(n))
	case n >= math.MinInt16:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xd1), uint16(n))
	case n >= math.MinInt32:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xd2), uint32(n))
	default:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xd3), uint64(n))
	}
}

func (e *mpEncoder) str(s string) {
	n := len(s)
	switch {
	case n < 32:
		e.buf = append(e.buf, 0xa0|byte(n))
	case n < 256 && !e.noStr8:
		e.buf = append(e.buf, 0xd9, byte(n))
	case n <= 0xffff:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, 0xda), uint16(n))
	default:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, 0xdb), uint32(n))
	}
	e.buf = append(e.buf, s...)
}

func (e *mpEncoder) key(k Key) {
	if k.IsInt {
		e.int(k.Int)
		return
	}
	e.str(k.Str)
}

// entries writes v's entries as map entries.
func (e *mpEncoder) entries(v *Value) *EncodeError {
	for i := range v.Elems {
		en := &v.Elems[i]
		e.key(en.Key)
		if err := e.value(&en.Val); err != nil {
			e.path = append(e.path, en.Key)
			return err
		}
	}
	return nil
}

// array writes an array as a list or a map (an empty one as 90).
func (e *mpEncoder) array(v *Value) *EncodeError {
	if mpIsList(v.Elems) {
		e.arrayHead(len(v.Elems))
		for i := range v.Elems {
			if err := e.value(&v.Elems[i].Val); err != nil {
				e.path = append(e.path, v.Elems[i].Key)
				return err
			}
		}
		return nil
	}
	e.mapHead(len(v.Elems))
	return e.entries(v)
}

func (e *mpEncoder) marker(t byte, id int64) {
	e.buf = append(e.buf, 0x82, 0xc0, t, 0x00)
	e.int(id)
}

func (e *mpEncoder) value(v *Value) *EncodeError {
	if v.Flags&FlagCut != 0 {
		return errCutValue()
	}
	if v.Anchor != 0 && !v.IsContainer() && v.Kind != KindCustom {
		// Not a container: no id, but a reference to it must say why it
		// cannot be written.
		e.anch = append(e.anch, mpAnchor{anchor: v.Anchor, v: v})
	}
	switch v.Kind {
	case KindNull:
		e.buf = append(e.buf, 0xc0)
	case KindBool:
		if v.Int != 0 {
			e.buf = append(e.buf, 0xc3)
		} else {
			e.buf = append(e.buf, 0xc2)
		}
	case KindInt:
		e.int(v.Int)
	case KindFloat:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, 0xcb), math.Float64bits(v.Float))
	case KindString:
		e.str(v.Str)
	case KindArray:
		ref := v.Flags&FlagRef != 0 || e.targeted(v.Anchor)
		e.id(v)
		if len(v.Elems) == 0 && v.Flags&FlagRef == 0 {
			// msgpack-php checks for empty first: it writes a referenced
			// empty array as 90 too. One decoded from {nil: 1} (a form
			// msgpack-php reads but never writes) keeps that form.
			e.buf = append(e.buf, 0x90)
			return nil
		}
		if ref {
			e.mapHead(len(v.Elems) + 1)
			e.buf = append(e.buf, 0xc0, mpTypeReference)
			return e.entries(v)
		}
		return e.array(v)
	case KindObject:
		ref := v.Flags&FlagRef != 0 || e.targeted(v.Anchor)
		e.id(v)
		n := len(v.Elems) + 1
		if v.Flags&FlagSerialize != 0 {
			n = 2
		}
		if ref {
			n++
		}
		e.mapHead(n)
		if ref {
			e.buf = append(e.buf, 0xc0, mpTypeReference)
		}
		e.buf = append(e.buf, 0xc0)
		e.str(v.Str)
		if v.Flags&FlagSerialize != 0 {
			e.buf = append(e.buf, 0xc0)
			e.id(nil)
			if len(v.Elems) == 0 {
				e.buf = append(e.buf, 0x90)
				return nil
			}
			return e.array(v)
		}
		return e.entries(v)
	case KindCustom:
		e.id(v)
		e.buf = append(e.buf, 0x82, 0xc0, mpTypeCustom)
		e.str(v.Str)
		p := v.Payload
		if len(v.Elems) > 0 {
			p = customPayload(v)
		}
		e.str(p)
	case KindEnum:
		return &EncodeError{Reason: "msgpack-php 2.2 cannot store an enum case (it writes one as an object it cannot read back)"}
	case KindRef:
		t, ok := e.lookup(v.Int)
		if !ok {
			return &EncodeError{Reason: "a reference to a value not written before it"}
		}
		switch t.v.Kind {
		case KindArray:
			if len(t.v.Elems) == 0 {
				// msgpack-php writes a reference to an empty array as a
				// new empty array.
				e.id(nil)
				e.buf = append(e.buf, 0x90)
				return nil
			}
			e.marker(mpTypeRecursive, t.id)
		case KindObject, KindCustom:
			e.marker(mpTypeObjRef, t.id)
		default:
			return &EncodeError{Reason: "msgpack cannot store a reference to a " + t.v.Kind.String() + " (msgpack-php writes the value and loses the reference)"}
		}
	case KindObjRef:
		t, ok := e.lookup(v.Int)
		if !ok || (t.v.Kind != KindObject && t.v.Kind != KindCustom) {
			return &EncodeError{Reason: "an object reference to a value that is not an object written before it"}
		}
		if v.Flags&FlagRef != 0 {
			e.marker(mpTypeObjRef, t.id)
			return nil
		}
		e.id(nil)
		e.marker(mpTypeObject, t.id)
	default:
		return &EncodeError{Reason: "a value of unknown kind " + v.Kind.String()}
	}
	return nil
}
