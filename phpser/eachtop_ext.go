package phpser

import (
	"errors"
	"math"
	"math/bits"
	"strings"
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
	// exotic: declined only because the session is not written as its
	// extension's encoder writes it (the whole decode keeps its exact
	// bytes); every variable decoded, and given to fn, as the whole
	// decode decodes it.
	exotic bool
}

// errNotKept, returned by a walk's fn, says fn kept nothing of the
// variable: the walk takes the next one's entries from where it took its.
var errNotKept = errors.New("phpser: variable not kept")

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
		return o.igTops(s, hint, fn, nil)
	case HandlerMsgpack:
		return o.mpTops(s, fn)
	}
	return extTops{}, topsDeclined, nil
}

// igCtl is what EncodeTopChange asks of igTops: on a first walk (from
// nil), where the first variable of key starts and the decoder's state
// there (at; the end when there is none) and the string table it built
// (tab); on a second (from set), to take tab for its table and start at
// at, the variables before it taken as they are.
type igCtl struct {
	key  string
	from *igResume // the second walk starts here
	at   igResume  // the first walk: where key's first variable starts
	body int       // where the session array's entries start
	tab  igTable
	set  bool       // at is set
	dec  *igDecoder // the second walk's decoder (its ids)
}

// igResume is an igDecoder's state before a top-level variable.
type igResume struct {
	p, idx, nstr, slots, empty, budget int
}

// igTable is a first walk's string table.
type igTable struct {
	s    string
	strs []strRef
	seen strSet[decTable]
}

// igTops is extTops for igbinary: decodeIgbinary's session array, a
// variable at a time.
func (o DecodeOptions) igTops(s string, hint int, fn func(e *Entry, start, end int) error, ctl *igCtl) (extTops, int, error) {
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
	switch {
	case ctl != nil && ctl.from != nil:
		// The first walk's table, which this one fills again with the
		// same entries.
		d.strs = ctl.tab.strs[:0]
		d.noSeen, d.track = true, true
		ctl.dec = d
	case hint > 0:
		// A second walk: the table the first one built, at once, and no
		// repeats looked for (the first walk did).
		d.strs = make([]strRef, 0, hint)
		d.noSeen = true
	case hint < 0:
		// Only whether it decodes (ValidateSession): a repeat written
		// again is no error.
		d.strs = make([]strRef, 0, min(len(s)/16+4, 4096))
		d.noSeen = true
	default:
		d.strs = make([]strRef, 0, min(len(s)/16+4, 4096))
		d.seen.init(max(32, 1<<bits.Len(uint(min(len(s)/8, 8192)))))
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
	// A walk that hands no variable out (a check, EncodeTopChange's:
	// their fn keeps none) takes each variable's entries from where the
	// last one's were.
	rewind := fn == nil || ctl != nil
	first := 0
	if ctl != nil {
		if r := ctl.from; r != nil {
			// As the first walk left the decoder before variable r.idx.
			p, first, t.n = r.p, r.idx, r.idx
			d.strs = d.strs[:r.nstr]
			d.slots = d.slots[:0]
			d.slotOff, d.empty, d.budget = r.slots, r.empty, r.budget
		} else {
			ctl.body = p
		}
	}
	for range cnt - first {
		// As igDecoder.entries at depth 1.
		if p >= len(s) {
			d.fail(p, "an array key")
			return t, topsFailed, d.error()
		}
		var en Entry
		start := p
		d.ids = d.ids[:0]
		at := igResume{p: p, idx: t.n, nstr: len(d.strs), slots: d.slotOff + len(d.slots), empty: d.empty, budget: d.budget}
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
		if ctl != nil && ctl.from == nil && !ctl.set && !en.Key.IsInt && en.Key.Str == ctl.key {
			ctl.at, ctl.set = at, true
		}
		mark := d.arena
		kept := true
		q := d.value(p, 1, &en.Val, false)
		if q < 0 {
			if d.stop {
				return t, topsDeclined, nil
			}
			d.path = append(d.path, en.Key)
			return t, topsFailed, d.error()
		}
		if fn != nil && !en.Key.IsInt {
			if err := fn(&en, start, q); err == errNotKept {
				kept = false
			} else if err != nil {
				return t, topsStreamed, err
			}
		}
		t.n++
		p = q
		if rewind || !kept {
			rewindArena(&d.arena, mark)
		}
		// Nothing can refer to this variable's slots any more.
		clear(d.slots)
		d.slotOff += len(d.slots)
		d.slots = d.slots[:0]
	}
	if ctl != nil && ctl.from == nil {
		if !ctl.set {
			ctl.at = igResume{p: p, idx: t.n, nstr: len(d.strs), slots: d.slotOff + len(d.slots), empty: d.empty, budget: d.budget}
		}
		ctl.tab = igTable{s: s, strs: d.strs, seen: d.seen}
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
		t.exotic = true
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
		mark := d.arena
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
			if err := fn(&en, start, r); err == errNotKept {
				rewindArena(&d.arena, mark)
			} else if err != nil {
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
		t.exotic = true
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
	return o.ValidateSessionSized(data, h, 0)
}

// ValidateSessionSized is ValidateSession given about how many strings
// an igbinary session's table holds (its table then taken at once).
func (o DecodeOptions) ValidateSessionSized(data []byte, h Handler, strs int) error {
	if h == HandlerIgbinary || h == HandlerMsgpack {
		hint := -1
		if strs > 0 {
			hint = min(strs, len(data)/3) // no more than the input can hold
		}
		_, res, err := o.extTops(o.input(data), h, hint, nil)
		switch res {
		case topsStreamed:
			return nil
		case topsFailed:
			return err
		}
		_, err = o.DecodeSession(data, h)
		return err
	}
	_, err := o.DecodeSelected(data, h, Selection{Linked: true})
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

	// Reclaim, when not nil, is called once the walk that checks the
	// session is done, before the buffer of the encoding is taken: its
	// garbage (a string table grown as it went) can go then. Size, when
	// dst has no room, is the capacity that buffer starts with.
	Reclaim func()
	Size    int
	// Strings, when not nil, is set to how many strings the new
	// session's string table holds (igbinary): ValidateSessionSized's
	// hint.
	Strings *int
}

// buffer calls Reclaim, the first walk being over, and gives dst the
// room Size asks for when it has none.
func (c *TopChange) buffer(dst []byte) []byte {
	if c.Reclaim != nil {
		c.Reclaim()
	}
	if cap(dst) == len(dst) && c.Size > 0 {
		dst = append(make([]byte, 0, len(dst)+c.Size), dst...)
	}
	return dst
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
//
// A php, php_binary or php_serialize session (one whose values refer to others: Selection.Linked)
// is walked as linkedTops walks it, each variable encoded again in turn
// so that references are renumbered as EncodeSession renumbers them; the
// new entries may carry Anchors (a value references name, replaced in
// place) but not references.
func (o DecodeOptions) EncodeTopChange(dst, data []byte, h Handler, c TopChange) (b []byte, ok bool, err error) {
	switch h {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize:
		return o.linkedTopChange(dst, o.input(data), h, c)
	}
	for _, el := range [][]Entry{c.Replace, c.Add} {
		for i := range el {
			if tiedValue(&el[i].Val) {
				return nil, false, nil
			}
		}
	}
	s := o.input(data)
	if h == HandlerIgbinary {
		return o.igTopChange(dst, s, c)
	}
	t, res, err := o.extTops(s, h, 0, nil)
	if res != topsStreamed {
		return nil, false, nil
	}
	dst = c.buffer(dst)
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

// igTopChange is EncodeTopChange for igbinary. With compact_strings on,
// the bytes before the key's first variable (all of them for a key
// added) are copied as they are, and the encoder goes on from there with
// the first walk's string table standing for its own (for a session
// EachTop streams the two are the same up to there): one table is held,
// not the decoder's and the encoder's.
func (o DecodeOptions) igTopChange(dst []byte, s string, c TopChange) ([]byte, bool, error) {
	ctl := &igCtl{key: c.Key}
	removed := 0
	t, res, _ := o.igTops(s, 0, func(en *Entry, _, _ int) error {
		if en.Key.Str == c.Key {
			removed++
		}
		return nil
	}, ctl)
	if res != topsStreamed {
		return nil, false, nil
	}
	literal := t.opts&extIgLiteral != 0
	var pre map[string]int32
	if !literal {
		// The new values' strings looked up in the old table while its
		// set is there: the second walk goes without it.
		pre = map[string]int32{}
		for _, el := range [][]Entry{c.Replace, c.Add} {
			for i := range el {
				igPreStrings(&el[i], pre, &ctl.tab)
			}
		}
		ctl.tab.seen = strSet[decTable]{}
		if ctl.at.idx == t.n {
			ctl.tab.strs = nil // nothing after: no second walk
		}
	}
	dst = c.buffer(dst)
	n := t.n + len(c.Add)
	if c.Remove {
		n -= removed
	}
	for _, el := range [][]Entry{c.Replace, c.Add} {
		for i := range el {
			if err := topKeyErr(HandlerIgbinary, el[i].Key); err != nil {
				return nil, true, err
			}
		}
	}
	var e *igEncoder
	var hint int
	if literal {
		// Every literal takes an id: encoded from the start.
		e = igStartTops(dst, true, n, t.strs+64)
		hint, ctl = t.strs, nil
	} else {
		at := ctl.at
		e = &igEncoder{buf: dst}
		e.tab.buf = &e.buf
		e.tab.refs = make([]strRef, 0, 16)
		e.strs.init(32)
		e.buf = append(e.buf, igHeader...)
		e.sized(igArray8, uint64(n))
		e.buf = append(e.buf, s[ctl.body:at.p]...)
		e.slots, e.empty = uint32(at.slots-1), uint32(at.empty)
		e.goOn, e.old, e.pre = true, decTable{s, ctl.tab.strs}, pre
		e.base, e.next = at.nstr, at.nstr
		e.remap = make([]int32, max(0, len(ctl.tab.strs)-at.nstr))
		ctl.from = &at
	}
	i := 0
	put := func(en *Entry, old bool) error {
		if !e.goOn {
			return e.top(en)
		}
		e.fromOld, e.oldPos = old, 0
		if old {
			e.oldIDs = ctl.dec.ids
		}
		err := e.top(en)
		if old && e.oldPos != len(e.oldIDs) {
			e.miss = true
		}
		if e.miss {
			return errStreamDisagrees
		}
		return err
	}
	if ctl == nil || ctl.at.idx < t.n {
		var res int
		_, res, err := o.igTops(s, hint, func(en *Entry, _, _ int) error {
			if en.Key.Str != c.Key {
				return put(en, true)
			}
			switch {
			case c.Remove:
				return nil
			case i < len(c.Replace):
				i++
				return put(&c.Replace[i-1], false)
			}
			return errStreamDisagrees // more entries of the key than Replace
		}, ctl)
		if e.miss {
			return nil, false, nil // cannot be: decoded whole
		}
		if err == nil && res != topsStreamed {
			err = errStreamDisagrees
		}
		if err != nil {
			return nil, true, err
		}
	}
	if i != len(c.Replace) {
		return nil, true, errStreamDisagrees
	}
	for i := range c.Add {
		if err := put(&c.Add[i], false); err != nil {
			if e.miss {
				return nil, false, nil
			}
			return nil, true, err
		}
	}
	if c.Strings != nil {
		*c.Strings = len(e.tab.refs)
		if e.goOn {
			*c.Strings = e.next
		}
	}
	return e.buf, true, nil
}

// rewindArena gives back to *arena the entries claimed from it since it
// was mark (cleared: the arena's entries are zero), unless a new slab was
// taken since.
func rewindArena(arena *[]Entry, mark []Entry) {
	used := len(mark) - len(*arena)
	if used <= 0 || cap(*arena) == 0 || cap(mark)-used != cap(*arena) || &mark[:cap(mark)][used] != &(*arena)[:cap(*arena)][0] {
		return
	}
	clear(mark[:used])
	*arena = mark
}

// igPreStrings adds to pre the strings entry en writes (its key's, its
// values', class and enum case names), each with its id in the first
// walk's table tab, or -1.
func igPreStrings(en *Entry, pre map[string]int32, tab *igTable) {
	add := func(s string) {
		if _, ok := pre[s]; ok || s == "" {
			return
		}
		pre[s] = -1
		if len(tab.seen.slots) > 0 {
			pre[s] = tab.seen.find(decTable{tab.s, tab.strs}, s)
		}
	}
	if !en.Key.IsInt {
		add(en.Key.Str)
	}
	var val func(v *Value)
	val = func(v *Value) {
		switch v.Kind {
		case KindEnum:
			class, name, _ := strings.Cut(v.Str, ":")
			add(class)
			add(name)
		default:
			add(v.Str)
		}
		for i := range v.Elems {
			if !v.Elems[i].Key.IsInt {
				add(v.Elems[i].Key.Str)
			}
			val(&v.Elems[i].Val)
		}
	}
	val(&en.Val)
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
	return v.Any(func(x *Value) bool {
		return IsLinked(x) || x.Kind == KindCustom || x.Flags&(FlagRef|FlagCopy) != 0
	})
}
