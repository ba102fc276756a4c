package phpser

import (
	"math"
	"math/bits"
)

// This file walks igbinary and msgpack sessions one top-level variable at
// a time (EachTop, ValidateSession, EncodeTopChange), so that a large
// session is never held as a whole tree. A variable is decoded by the
// whole-session decoder itself in its stream mode, with the state that
// crosses variables carried from one to the next: the string table
// (spans of the input), the slot count and the shared empty array
// (igbinary), the string mode and the entry budget. Whatever ties a
// variable to another (a reference, a back-reference, one of
// msgpack-php's markers, a Serializable payload) stops the walk, and so
// does a session its extension's encoder would not write so (the whole
// decode keeps its exact bytes): such sessions are decoded whole.

// extTops is what a walk of an extension's session learnt.
type extTops struct {
	n    int   // top-level variables
	opts uint8 // the session's extState.opts
	strs int   // igbinary: the strings in its table
}

// The outcomes of a walk.
const (
	topsStreamed = iota // every variable decoded (and given to fn)
	topsDeclined        // tied variables, or a non-canonical session: decode it whole
	topsFailed          // the session does not decode: the error is DecodeSession's
)

// extTops walks session s of handler h (igbinary or msgpack), calling fn,
// when not nil, with each variable and where it lies in s (its key and
// value, start to end).
func (o DecodeOptions) extTops(s string, h Handler, hint int, fn func(e *Entry, start, end int) error) (extTops, int, error) {
	switch h {
	case HandlerIgbinary:
		return o.igTops(s, hint, fn)
	case HandlerMsgpack:
		return o.mpTops(s, fn)
	}
	return extTops{}, topsDeclined, nil
}

// igTops is extTops for igbinary: decodeIgbinary's session array, a
// variable at a time.
func (o DecodeOptions) igTops(s string, hint int, fn func(e *Entry, start, end int) error) (extTops, int, error) {
	var t extTops
	if len(s) < 5 || s[:4] != igHeader || uint64(len(s)) > math.MaxUint32 {
		return t, topsDeclined, nil // empty, too short, igbinary 1, no header, too large
	}
	switch s[4] {
	case igArray8, igArray16, igArray32:
	default:
		return t, topsDeclined, nil // an object's properties (exotic), or an error
	}
	md := o.MaxDepth
	if md <= 0 {
		md = igMaxDepth
	}
	d := &igDecoder{s: s, maxDepth: md, budget: len(s) + 1, stream: true}
	if hint > 0 {
		// A second walk: the table the first one built, at once.
		d.strs = make([]strRef, 0, hint)
		d.seen.slots = make([]int32, 1<<bits.Len(uint(2*hint+16)))
	} else {
		d.strs = make([]strRef, 0, min(len(s)/16+4, 4096))
		d.seen.slots = make([]int32, max(32, 1<<bits.Len(uint(min(len(s)/8, 8192)))))
	}
	d.slots = make([]igSlot, 1, 64)
	d.slots[0] = igSlot{kind: igSlotArray} // the session array
	p, cnt, ok := d.count(4)
	if !ok {
		return t, topsFailed, d.error()
	}
	if cnt > 0 {
		d.budget -= cnt // the session array's entries (igDecoder.claim)
	}
	for range cnt {
		// As igDecoder.entries at depth 1.
		if p >= len(s) {
			d.fail(p, "an array key")
			return t, topsFailed, d.error()
		}
		var en Entry
		start := p
		switch c := s[p]; c {
		case igNull:
			d.exotic = true // PHP drops it from an array
			p++
			continue
		case igLong8p, igLong8n, igLong16p, igLong16n, igLong32p, igLong32n, igLong64p, igLong64n:
			q, n := d.long(p)
			if q < 0 {
				return t, topsFailed, d.error()
			}
			en.Key = Key{IsInt: true, Int: n}
			d.exotic = true // PHP drops an int key of the session (dropIntKeys)
			p = q
		case igStrEmpty:
			p++
		case igStrID8, igStrID16, igStrID32, igStr8, igStr16, igStr32, igStr64:
			q, str := d.str(p)
			if q < 0 {
				return t, topsFailed, d.error()
			}
			en.Key.Str = str
			p = q
		default:
			d.fail(p, "an array key (int, string or 00)")
			return t, topsFailed, d.error()
		}
		q := d.value(p, 1, &en.Val, false)
		if q < 0 {
			if d.stop {
				return t, topsDeclined, nil
			}
			d.path = append(d.path, en.Key)
			return t, topsFailed, d.error()
		}
		if fn != nil && !en.Key.IsInt {
			if err := fn(&en, start, q); err != nil {
				return t, topsStreamed, err
			}
		}
		t.n++
		p = q
		// Nothing can refer to this variable's slots any more.
		clear(d.slots)
		d.slotOff += len(d.slots)
		d.slots = d.slots[:0]
	}
	// What decodeIgbinary notes of the whole session.
	if p < len(s) {
		d.exotic = true
	}
	if d.literal || d.classLit {
		t.opts |= extIgLiteral
		if d.idUse || d.classIDOther {
			d.exotic = true
		}
	}
	t.strs = len(d.strs)
	if d.exotic {
		return t, topsDeclined, nil
	}
	return t, topsStreamed, nil
}

// mpTops is extTops for msgpack: decodeMsgpack's session map, a variable
// at a time.
func (o DecodeOptions) mpTops(s string, fn func(e *Entry, start, end int) error) (extTops, int, error) {
	var t extTops
	if len(s) < 3 {
		return t, topsDeclined, nil // empty, 90, or too short to hold a variable
	}
	switch c := s[0]; {
	case c >= 0x80 && c <= 0x8f, c == 0xde, c == 0xdf:
	default:
		return t, topsDeclined, nil // a list (exotic), 90, or an error
	}
	md := o.MaxDepth
	if md <= 0 {
		md = DefaultMaxDepth
	}
	md = min(md, mpMaxDepth)
	d := &mpDecoder{s: s, maxDepth: md, budget: len(s) + 1, stream: true}
	d.slots = make([]mpSlot, 1, 64)
	d.slots[0] = mpSlot{ref: true} // the session
	p, cnt, ok := d.mapHead(0)
	if !ok {
		return t, topsFailed, d.error()
	}
	if cnt < 2 || !d.nilEntry(p, mpTypeReference) {
		return t, topsDeclined, nil // no variables, or no nil -> 1 first (exotic), or an error
	}
	p += 2
	cnt--
	d.budget -= cnt // the session's entries (mpDecoder.claim)
	ints := false
	for range cnt {
		// As mpDecoder.entries at depth 1.
		if p >= len(s) {
			d.fail(p, "a map key")
			return t, topsFailed, d.error()
		}
		if s[p] == 0xc0 {
			return t, topsDeclined, nil // a nil key among the variables (exotic)
		}
		start := p
		var en Entry
		q, k := d.key(p, 1, false)
		if q < 0 {
			if d.stop {
				return t, topsDeclined, nil
			}
			return t, topsFailed, d.error()
		}
		en.Key = k
		r := d.value(q, 1, &en.Val)
		if r < 0 {
			if d.stop {
				return t, topsDeclined, nil
			}
			d.path = append(d.path, k)
			return t, topsFailed, d.error()
		}
		if k.IsInt {
			ints = true
		} else if fn != nil {
			if err := fn(&en, start, r); err != nil {
				return t, topsStreamed, err
			}
		}
		t.n++
		p = r
		clear(d.slots)
		d.slots = d.slots[:0]
	}
	// What mpDecoder.finish notes of the whole session.
	if p < len(s) || ints {
		d.exotic = true
	}
	if d.str8 < 0 {
		t.opts |= extMsgNoStr8
	}
	if d.exotic {
		return t, topsDeclined, nil
	}
	return t, topsStreamed, nil
}

// eachTopExt is EachTop for igbinary and msgpack sessions: a first walk
// checks the whole session, a second gives fn the variables.
func (o DecodeOptions) eachTopExt(data []byte, h Handler, fn func(e *Entry, raw []byte) error) (bool, error) {
	s := o.input(data)
	t, res, err := o.extTops(s, h, 0, nil)
	switch res {
	case topsDeclined:
		return false, nil
	case topsFailed:
		return false, err
	}
	_, res, err = o.extTops(s, h, t.strs, func(e *Entry, start, end int) error { return fn(e, data[start:end]) })
	if err == nil && res != topsStreamed {
		err = errStreamDisagrees
	}
	return true, err
}

// ValidateSession reports whether data decodes as a session of handler
// h, with DecodeSession's error when it does not, holding as little as
// it can: a php, php_binary or php_serialize session is scanned
// (DecodeSelected), an igbinary or msgpack one is decoded a variable at a
// time where EachTop would stream it, and decoded whole otherwise.
func (o DecodeOptions) ValidateSession(data []byte, h Handler) error {
	if h == HandlerIgbinary || h == HandlerMsgpack {
		_, res, err := o.extTops(o.input(data), h, 0, nil)
		switch res {
		case topsStreamed:
			return nil
		case topsFailed:
			return err
		}
		_, err = o.DecodeSession(data, h)
		return err
	}
	_, err := o.DecodeSelected(data, h, Selection{})
	return err
}

// DetectExtension returns the handler Detect gives data when data starts
// with the igbinary or msgpack session header (Detect's first rule), or
// "".
func DetectExtension(data []byte) Handler {
	if len(data) == 0 {
		return ""
	}
	return detectExtension(DecodeOptions{Borrow: true}.input(data))
}

// TopChange is a change of one top-level key of an igbinary or msgpack
// session that EachTop streams (EncodeTopChange): the entries of that key
// replaced in place, removed, or new entries added at the end.
type TopChange struct {
	Key     string  // the top-level key (a string key)
	Replace []Entry // Key's entries, in order, as they are to be (len: as many as there are), or
	Remove  bool    // Key's entries removed, or
	Add     []Entry // entries added after the last variable (Key is in none)
}

// TopEntries returns the entries of top-level key key of an igbinary or
// msgpack session that EachTop streams, in order, and how many variables
// the session holds; ok false when EachTop would decline it (decode it
// whole), err DecodeSession's when it does not decode.
func (o DecodeOptions) TopEntries(data []byte, h Handler, key string) (entries []Entry, total int, ok bool, err error) {
	ok, err = o.EachTop(data, h, func(e *Entry, _ []byte) error {
		total++
		if !e.Key.IsInt && e.Key.Str == key {
			entries = append(entries, *e)
		}
		return nil
	})
	return entries, total, ok, err
}

// EncodeTopChange encodes the igbinary or msgpack session data (one
// EachTop streams) with change c applied, a variable at a time: the bytes
// EncodeSession gives for the decoded session so changed, and its error
// (an *EncodeError) for one it cannot encode. ok false: data is not such
// a session, or the new entries hold references, anchors or payloads;
// nothing was encoded.
func (o DecodeOptions) EncodeTopChange(dst, data []byte, h Handler, c TopChange) (b []byte, ok bool, err error) {
	for _, el := range [][]Entry{c.Replace, c.Add} {
		for i := range el {
			if tiedValue(&el[i].Val) {
				return nil, false, nil
			}
		}
	}
	s := o.input(data)
	t, res, err := o.extTops(s, h, 0, nil)
	if res != topsStreamed {
		return nil, false, nil
	}
	// The number of variables after the change.
	n := t.n + len(c.Add)
	if c.Remove {
		n -= countKey(o, s, h, c.Key)
	}
	// The encoders refuse an int (msgpack: or numeric) key at the top
	// before writing anything: only a new entry can hold one.
	for _, el := range [][]Entry{c.Replace, c.Add} {
		for i := range el {
			if err := topKeyErr(h, el[i].Key); err != nil {
				return nil, true, err
			}
		}
	}
	var put func(en *Entry) error
	var done func() []byte
	switch h {
	case HandlerIgbinary:
		e := igStartTops(dst, t.opts&extIgLiteral != 0, n, t.strs+64)
		put, done = e.top, func() []byte { return e.buf }
	default:
		e := mpStartTops(dst, t.opts&extMsgNoStr8 != 0, n)
		put, done = e.top, func() []byte { return e.buf }
	}
	i := 0
	_, res, err = o.extTops(s, h, t.strs, func(en *Entry, _, _ int) error {
		if en.Key.Str != c.Key {
			return put(en)
		}
		switch {
		case c.Remove:
			return nil
		case i < len(c.Replace):
			i++
			return put(&c.Replace[i-1])
		}
		return errStreamDisagrees // more entries of the key than Replace
	})
	if err == nil && (res != topsStreamed || i != len(c.Replace)) {
		err = errStreamDisagrees
	}
	if err != nil {
		return nil, true, err
	}
	for i := range c.Add {
		if err := put(&c.Add[i]); err != nil {
			return nil, true, err
		}
	}
	return done(), true, nil
}

// countKey counts the variables of key in s (a walk EachTop streams).
func countKey(o DecodeOptions, s string, h Handler, key string) int {
	n := 0
	o.extTops(s, h, 0, func(e *Entry, _, _ int) error {
		if e.Key.Str == key {
			n++
		}
		return nil
	})
	return n
}

// topKeyErr is the encoder's refusal of key k at the top of a session of
// handler h (appendIgbinary, appendMsgpack).
func topKeyErr(h Handler, k Key) error {
	switch {
	case h == HandlerIgbinary && k.IsInt:
		return &EncodeError{Path: formatKeyPath([]Key{k}), Reason: "the igbinary handler cannot store an int key at the top (PHP drops it when it reads the session)"}
	case h == HandlerMsgpack && (k.IsInt || isNumericKey(k.Str)):
		return &EncodeError{Path: formatKeyPath([]Key{k}), Reason: "the msgpack handler cannot store an int or numeric key at the top (PHP drops it when it reads the session)"}
	}
	return nil
}

// tiedValue reports whether v holds what ties it to other values, or
// what only a whole encoding handles: a reference, an anchor, a shared
// copy, a payload.
func tiedValue(v *Value) bool {
	switch v.Kind {
	case KindRef, KindObjRef, KindCustom:
		return true
	}
	if v.Anchor != 0 || v.Flags&(FlagRef|FlagCopy) != 0 {
		return true
	}
	for i := range v.Elems {
		if tiedValue(&v.Elems[i].Val) {
			return true
		}
	}
	return false
}
