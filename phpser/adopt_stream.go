package phpser

import (
	"math"
	"strings"
)

// This file lets edit change an igbinary or msgpack session without its
// tree held while the editor runs: EachTopFacts streams the session (as
// EachTop) and keeps what Session.Adopt would take from its tree, and
// AppendEncodedTextAdopting encodes the edited text a variable at a time
// with that carried over.

// ExtFacts is what Session.Adopt takes from the tree of an igbinary or
// msgpack session that EachTop streams, kept without the tree: the
// session's string mode, and the variables holding a value whose text
// form does not say all of it (a NaN's bits, an object's uninitialised
// typed properties or its __serialize form) together with every
// variable's key (the keys only when some variable is kept). For a
// session of plain values it is a few words.
type ExtFacts struct {
	h    Handler
	opts uint8
	strs int // igbinary: the strings in the old table (the encoder's size hint)

	kept  map[int]Entry // variable index -> a copy of the variable
	keys  string        // every variable's key, one after another (when kept)
	ends  []int         // where each key ends in keys
	first map[string]int
	a     adopter
}

// EachTopFacts is EachTop for an igbinary or msgpack session (handler h),
// returning also what AppendEncodedTextAdopting needs of it in place of
// its tree (nil when ok is false: EachTop would decline the session, or
// it does not decode). fn is called as EachTop calls it.
func (o DecodeOptions) EachTopFacts(data []byte, h Handler, fn func(e *Entry, raw []byte) error) (f *ExtFacts, ok bool, err error) {
	if h != HandlerIgbinary && h != HandlerMsgpack {
		return nil, false, nil
	}
	s := o.input(data)
	t, res, err := o.extTops(s, h, 0, nil)
	switch res {
	case topsDeclined:
		return nil, false, nil
	case topsFailed:
		return nil, false, err
	}
	f = &ExtFacts{h: h, opts: t.opts, strs: t.strs}
	i := 0
	_, res, err = o.extTops(s, h, t.strs, func(e *Entry, start, end int) error {
		if adoptable(&e.Val) {
			if f.kept == nil {
				f.kept = map[int]Entry{}
			}
			f.kept[i] = cloneEntry(e)
		}
		i++
		return fn(e, data[start:end])
	})
	if err == nil && res != topsStreamed {
		err = errStreamDisagrees
	}
	if err != nil || len(f.kept) == 0 {
		return f, true, err
	}
	// Some variable is kept: Adopt pairs the edited variables with the
	// old ones by index and key, so every key is needed.
	var keys strings.Builder
	_, res, err = o.extTops(s, h, t.strs, func(e *Entry, _, _ int) error {
		keys.WriteString(e.Key.Str)
		f.ends = append(f.ends, keys.Len())
		return nil
	})
	if err == nil && (res != topsStreamed || len(f.ends) != i) {
		err = errStreamDisagrees
	}
	f.keys = keys.String()
	return f, true, err
}

// key returns the key of old variable i.
func (f *ExtFacts) key(i int) string {
	start := 0
	if i > 0 {
		start = f.ends[i-1]
	}
	return f.keys[start:f.ends[i]]
}

// adoptEntry does for en, the i-th variable of an edited session, what
// Session.Adopt does for it: the old variable at the same index when it
// has the same key, else the first old one with that key, gives en what
// its text did not say.
func (f *ExtFacts) adoptEntry(i int, en *Entry) {
	if len(f.kept) == 0 || en.Key.IsInt {
		return
	}
	k := en.Key.Str
	j := -1
	if i < len(f.ends) && f.key(i) == k {
		j = i
	} else {
		if f.first == nil {
			f.first = make(map[string]int, len(f.ends))
			for n := len(f.ends) - 1; n >= 0; n-- {
				f.first[f.key(n)] = n
			}
		}
		if n, ok := f.first[k]; ok {
			j = n
		}
	}
	old, ok := f.kept[j]
	if !ok {
		return // a variable of plain values: nothing to give
	}
	if f.a.byAnchor == nil {
		f.a.byAnchor = map[int64]*Value{}
	}
	f.a.value(&en.Val, &old.Val)
}

// adoptWhole is Session.Adopt from the session the facts were taken from.
func (f *ExtFacts) adoptWhole(s *Session) {
	if s.Handler != f.h {
		return
	}
	s.ext = extState{opts: f.opts}
	if s.Root.Kind != KindArray {
		return
	}
	for i := range s.Root.Elems {
		f.adoptEntry(i, &s.Root.Elems[i])
	}
}

// adoptable reports whether v holds what Adopt gives an edited value
// (adopter.value): a NaN, an object's flags or uninitialised properties,
// a reference or a shared copy.
func adoptable(v *Value) bool {
	switch v.Kind {
	case KindFloat:
		return math.IsNaN(v.Float)
	case KindObject:
		if v.Flags&(FlagRef|FlagSerialize) != 0 || v.Payload != "" {
			return true
		}
	case KindArray:
		if v.Flags&(FlagRef|FlagCopy) != 0 {
			return true
		}
	case KindObjRef:
		return v.Flags&FlagRef != 0
	default:
		return false
	}
	for i := range v.Elems {
		if adoptable(&v.Elems[i].Val) {
			return true
		}
	}
	return false
}

// cloneEntry is a deep copy of e that shares no memory with the input
// it was decoded from.
func cloneEntry(e *Entry) Entry {
	c := Entry{Key: e.Key, Val: e.Val}
	c.Key.Str = strings.Clone(e.Key.Str)
	cloneValue(&c.Val)
	return c
}

func cloneValue(v *Value) {
	v.Str, v.Payload, v.Raw = strings.Clone(v.Str), strings.Clone(v.Payload), strings.Clone(v.Raw)
	if v.Elems == nil {
		return
	}
	el := make([]Entry, len(v.Elems))
	for i := range v.Elems {
		el[i] = cloneEntry(&v.Elems[i])
	}
	v.Elems = el
}

// extTopStream encodes an igbinary or msgpack session a variable at a
// time when how many there are is known only at the end: the header goes
// in room kept for its longest form, and finish moves the variables down
// over what it does not use.
type extTopStream struct {
	h   Handler
	ig  *igEncoder
	mp  *mpEncoder
	at  int // where the room starts
	n   int
	key error // the first top-level key the handler cannot store
	err error // the first encoding error
}

// The room: igbinary's header and a 32-bit array count; msgpack's map32
// header and its nil -> 1 entry.
const (
	igTopRoom = len(igHeader) + 5
	mpTopRoom = 5 + 2
)

func (f *ExtFacts) startStream(dst []byte) *extTopStream {
	st := &extTopStream{h: f.h, at: len(dst)}
	if f.h == HandlerIgbinary {
		st.ig = igStartTops(dst, f.opts&extIgLiteral != 0, 1<<16, f.strs+64)
	} else {
		st.mp = mpStartTops(dst, f.opts&extMsgNoStr8 != 0, 1<<16)
	}
	return st
}

// top writes one variable. As the whole encoders do, a key the handler
// cannot store at the top is the error even after a value that failed.
func (st *extTopStream) top(en *Entry) {
	if st.key != nil {
		return
	}
	if err := topKeyErr(st.h, en.Key); err != nil {
		st.key = err
		return
	}
	if st.err != nil {
		return
	}
	st.n++
	if st.ig != nil {
		st.err = st.ig.top(en)
	} else {
		st.err = st.mp.top(en)
	}
}

// finish returns the encoding, or the first error.
func (st *extTopStream) finish() ([]byte, error) {
	if st.key != nil {
		return nil, st.key
	}
	if st.err != nil {
		return nil, st.err
	}
	var buf, hdr []byte
	room := 0
	if st.ig != nil {
		buf, room = st.ig.buf, igTopRoom
		h := igEncoder{buf: append(make([]byte, 0, igTopRoom), igHeader...)}
		h.sized(igArray8, uint64(st.n))
		hdr = h.buf
	} else {
		buf, room = st.mp.buf, mpTopRoom
		h := mpEncoder{buf: make([]byte, 0, mpTopRoom)}
		if st.n == 0 {
			h.buf = append(h.buf, 0x90)
		} else {
			h.start(st.n)
		}
		hdr = h.buf
	}
	copy(buf[st.at:], hdr)
	copy(buf[st.at+len(hdr):], buf[st.at+room:])
	return buf[:len(buf)-room+len(hdr)], nil
}

// AppendEncodedTextAdopting is AppendEncodedText for the edited text of
// the session f was taken from (EachTopFacts): what the text does not
// show is carried over from it, as Session.Adopt does from the old tree,
// and an igbinary or msgpack session is encoded a variable at a time as
// it is parsed (whole where the text has references). f nil: as
// AppendEncodedText, no adoption.
//
// done, when not nil, is called as a variable at a time is encoded with
// how far into text the parse is: nothing held then points into
// text[:n] (a caller may let the memory under it go, as long as reading
// it again gives the same bytes: the text may be parsed again).
func AppendEncodedTextAdopting(dst, text []byte, f *ExtFacts, done func(n int)) ([]byte, Handler, error) {
	if f == nil {
		return AppendEncodedText(dst, text)
	}
	var st *extTopStream
	i := 0
	whole, other := false, false
	p := textParser{b: text, anchors: map[int64]Kind{}, alias: true, emitExt: f.h}
	p.emit = func(en *Entry) {
		switch {
		case p.handler != f.h:
			other = true // another handler: as AppendEncodedText
		case whole:
		case tiedValue(&en.Val):
			whole = true // references: encoded whole, after the parse
		default:
			f.adoptEntry(i, en)
			i++
			if st == nil {
				st = f.startStream(dst)
			}
			st.top(en)
			if done != nil {
				done(p.i)
			}
		}
	}
	s, err := p.document()
	if err != nil {
		return nil, "", err
	}
	switch {
	case other:
		return AppendEncodedText(dst, text)
	case whole:
		if s, err = ParseText(text); err != nil {
			return nil, "", err
		}
		fallthrough
	case !p.emitted:
		f.adoptWhole(s)
		b, err := AppendSession(dst, s)
		return b, s.Handler, err
	}
	b, err := st.finish()
	return b, s.Handler, err
}
