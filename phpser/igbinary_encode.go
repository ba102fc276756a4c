package phpser

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// igEncoder writes a tree as igbinary's session encoder does (igbinary.c,
// igbinary_serialize_zval and friends): the same string ids, the same
// reference slots, the same back-references.
type igEncoder struct {
	buf     []byte
	tab     encTable         // the string table: every literal written, by id
	strs    strSet[encTable] // tab's strings (compact_strings on)
	classes strSet[encTable] // tab's class names (compact_strings off)
	literal bool             // compact_strings=0: repeated keys and values written again

	slots   uint32     // slots used so far (0 is the session array)
	anchors []igAnchor // anchor -> slot, in the order written
	refd    refSet     // anchors some KindRef refers to
	index   anchorFinder
	empty   uint32 // slot of the first plain empty array, or 0
	path    []Key  // innermost first, for errors
	big     bool   // written past 4 GiB: the table's spans do not reach

	// An encoding that goes on from the old session's bytes
	// (EncodeTopChange, compact_strings on, goOn set): the old session's
	// string table stands for the new one's. Its entries below base were
	// copied with the bytes, ids unchanged; remap[i-base] is entry i's new
	// id + 1 once written (0: not yet). A variable of the old session
	// gives the old ids of its strings in the order they are written
	// (oldIDs, from the decoder; old to check them), a new value has its
	// strings' old ids (or -1: none) in pre. tab and strs hold only the
	// strings the old table lacks, sideID their ids. next is the next
	// id. miss: the strings did not line up (the encoding is dropped).
	goOn    bool
	old     decTable
	remap   []int32
	sideID  []int32
	base    int
	next    int
	oldIDs  []int32
	oldPos  int
	fromOld bool
	pre     map[string]int32
	miss    bool
}

type igAnchor struct {
	anchor int64
	slot   uint32
	v      *Value
	obj    bool
	plain  bool // an array written as a plain value (not after 25)
}

// appendIgbinary appends the igbinary encoding of s to dst.
func appendIgbinary(dst []byte, s *Session) ([]byte, error) {
	if b, ok := s.ext.exact(s); ok {
		return append(dst, b...), nil
	}
	if s.Root.Kind != KindArray {
		return dst, &EncodeError{Reason: "the igbinary handler stores only an array of variables, not " + s.Root.Kind.String()}
	}
	// PHP drops int keys when it reads a session.
	for i := range s.Root.Elems {
		if k := s.Root.Elems[i].Key; k.IsInt {
			return dst, &EncodeError{Path: formatKeyPath([]Key{k}), Reason: "the igbinary handler cannot store an int key at the top (PHP drops it when it reads the session)"}
		}
	}
	e := igStartTops(dst, s.ext.opts&extIgLiteral != 0, len(s.Root.Elems), 0)
	e.refd = newRefSet(collectRefTargets(&s.Root, nil))
	for i := range s.Root.Elems {
		if err := e.top(&s.Root.Elems[i]); err != nil {
			return dst, err
		}
	}
	return e.buf, nil
}

// igStartTops starts the encoding of a session of n variables after dst
// (literal: compact_strings off); top then writes each. strs, when not 0,
// is about how many strings the table will hold.
func igStartTops(dst []byte, literal bool, n, strs int) *igEncoder {
	e := &igEncoder{buf: dst, literal: literal}
	// The string table: about as many strings as entries (keys and values).
	m := 16 * n
	e.tab.buf = &e.buf
	if strs > 0 {
		e.tab.refs = make([]strRef, 0, strs+8)
		if !literal {
			e.strs.init(strSetSlots(strs))
		}
	} else {
		e.tab.refs = make([]strRef, 0, min(max(m/2, 64), 4096))
		e.strs.init(max(128, 1<<bits.Len(uint(min(m, 1<<14)))))
	}
	e.buf = append(e.buf, igHeader...)
	e.sized(igArray8, uint64(n))
	return e
}

// top writes one variable of the session.
func (e *igEncoder) top(en *Entry) error {
	e.key(en.Key)
	if err := e.value(&en.Val); err != nil {
		e.path = append(e.path, en.Key)
		return e.error(err)
	}
	if e.big {
		return &EncodeError{Reason: "an igbinary session of 4 GiB or more"} // the string table's spans
	}
	return nil
}

func (e *igEncoder) error(err *EncodeError) error { return withPath(err, e.path) }

// collectRefTargets appends the anchors that KindRef values in v refer to.
func collectRefTargets(v *Value, out []int64) []int64 {
	if v.Kind == KindRef {
		return append(out, v.Int)
	}
	for i := range v.Elems {
		if k := v.Elems[i].Val.Kind; k == KindRef || v.Elems[i].Val.Elems != nil {
			out = collectRefTargets(&v.Elems[i].Val, out)
		}
	}
	return out
}

func (e *igEncoder) targeted(a int64) bool { return e.refd.has(a) }

func (e *igEncoder) lookup(a int64) (*igAnchor, bool) {
	i, ok := e.index.find(len(e.anchors), func(i int) int64 { return e.anchors[i].anchor }, a)
	if !ok {
		return nil, false
	}
	return &e.anchors[i], true
}

// slot takes the next reference slot for v and remembers its anchor.
func (e *igEncoder) slot(v *Value, obj, plain bool) uint32 {
	e.slots++
	if v.Anchor != 0 {
		e.anchors = append(e.anchors, igAnchor{anchor: v.Anchor, slot: e.slots, v: v, obj: obj, plain: plain})
	}
	return e.slots
}

// sized writes type byte base (8-bit form), base+1 (16) or base+2 (32)
// with n in the smallest of them.
func (e *igEncoder) sized(base byte, n uint64) {
	switch {
	case n <= 0xff:
		e.buf = append(e.buf, base, byte(n))
	case n <= 0xffff:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, base+1), uint16(n))
	default:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, base+2), uint32(n))
	}
}

// long writes an int in the smallest width, with its sign type.
func (e *igEncoder) long(n int64) {
	var m uint64
	var neg byte
	if n < 0 {
		m, neg = uint64(-n), 1 // MinInt64 gives 1<<63, as igbinary writes it
	} else {
		m = uint64(n)
	}
	switch {
	case m <= 0xff:
		e.buf = append(e.buf, igLong8p+neg, byte(m))
	case m <= 0xffff:
		e.buf = binary.BigEndian.AppendUint16(append(e.buf, igLong16p+neg), uint16(m))
	case m <= 0xffffffff:
		e.buf = binary.BigEndian.AppendUint32(append(e.buf, igLong32p+neg), uint32(m))
	default:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, igLong64p+neg), m)
	}
}

// str writes a string: empty, an id of one written before (compact mode,
// or a class name in either mode), or a literal, which takes the next id.
// With compact_strings off only class names are looked up.
func (e *igEncoder) str(s string, class bool) {
	if s == "" {
		e.buf = append(e.buf, igStrEmpty)
		return
	}
	if e.goOn {
		e.strOld(s, class)
		return
	}
	set := &e.strs
	if e.literal {
		set = &e.classes
	}
	if !e.literal || class {
		if id := set.find(e.tab, s); id >= 0 {
			e.strID(int(id), class)
			return
		}
	}
	off := e.strLit(s, class)
	e.tab.refs = append(e.tab.refs, strRef{uint32(off), uint32(len(s))})
	if !e.literal || class {
		set.insert(e.tab, int32(len(e.tab.refs)-1))
	}
}

// strID writes a string (class: a class name) as string-table entry id.
func (e *igEncoder) strID(id int, class bool) {
	if class {
		e.sized(igObjID8, uint64(id))
	} else {
		e.sized(igStrID8, uint64(id))
	}
}

// strLit writes s (class: a class name) as a literal and returns where
// its bytes start.
func (e *igEncoder) strLit(s string, class bool) int {
	n := uint64(len(s))
	switch {
	case class:
		e.sized(igObj8, n)
	case n > 0xffffffff:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, igStr64), n)
	default:
		e.sized(igStr8, n)
	}
	off := len(e.buf)
	if uint64(off)+n > math.MaxUint32 {
		e.big = true
	}
	e.buf = append(e.buf, s...)
	return off
}

// strOld is str for an encoding that goes on from the old session's
// bytes (compact_strings on).
func (e *igEncoder) strOld(s string, class bool) {
	id, oid := -1, -1
	if e.fromOld {
		if e.oldPos >= len(e.oldIDs) {
			e.miss = true
			return
		}
		oid = int(e.oldIDs[e.oldPos])
		e.oldPos++
		if oid < 0 || oid >= len(e.old.refs) || e.old.at(int32(oid)) != s {
			e.miss = true
			return
		}
	} else {
		o, ok := e.pre[s]
		if !ok {
			e.miss = true
			return
		}
		oid = int(o)
	}
	switch {
	case oid >= 0 && oid < e.base:
		id = oid
	case oid >= 0:
		id = int(e.remap[oid-e.base]) - 1
	default:
		if sid := e.strs.find(e.tab, s); sid >= 0 {
			id = int(e.sideID[sid])
		}
	}
	if id >= 0 {
		e.strID(id, class)
		return
	}
	off := e.strLit(s, class)
	id, e.next = e.next, e.next+1
	if oid >= 0 {
		e.remap[oid-e.base] = int32(id) + 1
		return
	}
	e.tab.refs = append(e.tab.refs, strRef{uint32(off), uint32(len(s))})
	e.strs.insert(e.tab, int32(len(e.tab.refs)-1))
	e.sideID = append(e.sideID, int32(id))
}

func (e *igEncoder) key(k Key) {
	if k.IsInt {
		e.long(k.Int)
		return
	}
	e.str(k.Str, false)
}

// value writes v where a value stands.
func (e *igEncoder) value(v *Value) *EncodeError {
	if v.Flags&FlagCut != 0 {
		return errCutValue()
	}
	switch v.Kind {
	case KindRef:
		t, ok := e.lookup(v.Int)
		if !ok {
			return &EncodeError{Reason: "a reference to a value not written before it"}
		}
		if t.obj {
			e.buf = append(e.buf, igRefPrefix)
			e.sized(igObjRef8, uint64(t.slot))
			return nil
		}
		e.buf = append(e.buf, igRefPrefix)
		e.sized(igRef8, uint64(t.slot))
		return nil
	case KindObjRef:
		t, ok := e.lookup(v.Int)
		if !ok || !t.obj {
			return &EncodeError{Reason: "an object reference to a value that is not an object written before it"}
		}
		if v.Flags&FlagRef != 0 {
			e.buf = append(e.buf, igRefPrefix)
		}
		e.sized(igObjRef8, uint64(t.slot))
		return nil
	case KindObject, KindCustom, KindEnum:
		if v.Flags&FlagRef != 0 || e.targeted(v.Anchor) {
			e.buf = append(e.buf, igRefPrefix)
		}
		return e.object(v)
	case KindArray:
		if e.targeted(v.Anchor) {
			e.buf = append(e.buf, igRefPrefix)
			e.slot(v, false, false)
			return e.entries(v, false)
		}
		if len(v.Elems) == 0 && e.empty != 0 {
			e.sized(igRef8, uint64(e.empty)) // PHP shares one empty array
			return nil
		}
		if v.Flags&FlagCopy != 0 {
			if t, ok := e.lookup(v.Int); ok && t.plain && Equal(*t.v, *v) {
				e.sized(igRef8, uint64(t.slot))
				return nil
			}
		}
		id := e.slot(v, false, true)
		if len(v.Elems) == 0 {
			e.empty = id
		}
		return e.entries(v, false)
	}
	ref := e.targeted(v.Anchor)
	if ref {
		e.buf = append(e.buf, igRefPrefix)
	}
	switch v.Kind {
	case KindNull:
		e.buf = append(e.buf, igNull)
	case KindBool:
		if v.Int != 0 {
			e.buf = append(e.buf, igTrue)
		} else {
			e.buf = append(e.buf, igFalse)
		}
	case KindInt:
		e.long(v.Int)
	case KindFloat:
		e.buf = binary.BigEndian.AppendUint64(append(e.buf, igDouble), math.Float64bits(v.Float))
	case KindString:
		e.str(v.Str, false)
	default:
		return &EncodeError{Reason: "a value of unknown kind " + v.Kind.String()}
	}
	if ref {
		e.slot(v, false, false)
	}
	return nil
}

// entries writes v's entries as an array (with the null keys of an
// object's uninitialised typed properties in place).
func (e *igEncoder) entries(v *Value, props bool) *EncodeError {
	nulls := ""
	if props {
		nulls = v.Payload
	}
	e.sized(igArray8, uint64(len(v.Elems)+igNullCount(nulls)))
	for i := range v.Elems {
		nulls = e.nullKeys(nulls, i)
		en := &v.Elems[i]
		e.key(en.Key)
		if err := e.value(&en.Val); err != nil {
			e.path = append(e.path, en.Key)
			return err
		}
	}
	e.nullKeys(nulls, math.MaxInt) // the rest, also past entries since removed
	return nil
}

// igNullCount counts the null-key positions kept in an object's Payload.
func igNullCount(nulls string) int {
	n := 0
	for len(nulls) > 0 {
		_, w := binary.Uvarint([]byte(nulls))
		if w <= 0 {
			break
		}
		nulls = nulls[w:]
		n++
	}
	return n
}

// nullKeys writes the null keys that stand before entry i.
func (e *igEncoder) nullKeys(nulls string, i int) string {
	for len(nulls) > 0 {
		at, w := binary.Uvarint([]byte(nulls))
		if w <= 0 || at > uint64(i) {
			break
		}
		e.buf = append(e.buf, igNull)
		nulls = nulls[w:]
	}
	return nulls
}

// object writes an object, a Serializable object or an enum case: the
// slot first, then the class name, then what it holds.
func (e *igEncoder) object(v *Value) *EncodeError {
	e.slot(v, true, false)
	switch v.Kind {
	case KindObject:
		e.str(v.Str, true)
		return e.entries(v, true)
	case KindCustom:
		e.str(v.Str, true)
		p := v.Payload
		if len(v.Elems) > 0 {
			p = customPayload(v)
		}
		e.sized(igObjSer8, uint64(len(p)))
		e.buf = append(e.buf, p...)
		return nil
	}
	class, name, ok := strings.Cut(v.Str, ":")
	if !ok || class == "" || name == "" {
		return &EncodeError{Reason: "an enum case must be Class:Case, not " + strconv.Quote(v.Str)}
	}
	e.str(class, true)
	e.buf = append(e.buf, igEnum)
	e.str(name, false)
	return nil
}
