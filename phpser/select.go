package phpser

import (
	"strconv"
	"strings"
	"sync"
)

// Selection says what DecodeSelected needs of a session: a few top-level
// values, the strings in it, the size of each top-level value, or only
// whether it decodes at all.
type Selection struct {
	// Keys are top-level keys, or JSON Pointers (Lookup's syntax) of which
	// only the first token counts: their values are decoded.
	Keys []string
	// Strings, when not nil, is called with every string value, every
	// string array key, every property's plain name and, on the full path,
	// every Serializable payload and the strings PHP reads from it (what
	// Session.Strings visits), until it returns true.
	Strings func(string) bool
	// Sizes asks for Selected.Sizes.
	Sizes bool
	// Spans asks for Selected.Spans.
	Spans bool
	// Linked asks that a php, php_binary or php_serialize session whose values refer to
	// others be walked a variable at a time rather than decoded whole
	// (Selected.Linked). Not with Strings.
	Linked bool
	// Deep asks that of a top-level value only what Keys' JSON Pointers
	// go through be decoded (prune.go), where the scan finds no
	// reference or payload: the arrays and objects on their way hold the
	// entries the pointers' tokens name (FlagCut, their count in Int) and
	// Lookup of each key gives the full decode's value. Such a session
	// cannot be encoded.
	Deep bool
}

// Span is where a top-level entry lies in the input: its key (php,
// php_binary: its name and framing) starts at Start, its value ends at End.
type Span struct{ Start, End int }

// TopSize is a top-level key and the length of its value's encoding.
type TopSize struct {
	Key  Key
	Size int
}

// Selected is what DecodeSelected found.
type Selected struct {
	// Sess holds the selected top-level entries, in order (every occurrence
	// of a repeated key), or, when Full, the whole session: Lookup of a
	// selected key gives the same value on either.
	Sess *Session
	// Full says the whole session was decoded: the fast path does not
	// apply to its handler, or the session holds a reference or a
	// Serializable payload, whose meaning depends on the rest of it.
	Full bool
	// Matched says Selection.Strings returned true.
	Matched bool
	// Sizes, when asked for and not Full, is every top-level key with the
	// length of its value's encoding (for a session without references,
	// the bytes it takes in the input); when Full, compute them from Sess.
	Sizes []TopSize
	// Spans, when asked for and not Full, is where each entry of Sess
	// lies in the input, in the same order.
	Spans []Span
	// Linked (Selection.Linked) says the session holds references and
	// was walked a variable at a time: Sess holds the selected entries
	// as DecodeSession decodes them (the values references name carry
	// their Anchor), but a reference in them may name a value of an
	// entry Sess does not hold.
	Linked bool

	deep []deepRec // Deep with Spans: where the pruned containers lie
}

// DecodeSelected decodes from a php, php_binary or php_serialize session
// only what sel asks for: it scans the input, skipping each value by its
// declared lengths without building it, and decodes only the selected
// top-level values. Everything skipped is checked as DecodeSession checks
// it, so a session that does not decode gives DecodeSession's error, and
// one that does gives the selected values DecodeSession would. Where the
// shortcut is unsafe (a reference or a Serializable payload anywhere, a
// php_serialize session whose root is not an array, another handler) it
// decodes the whole session instead and says so in Full.
func (o DecodeOptions) DecodeSelected(data []byte, h Handler, sel Selection) (Selected, error) {
	switch h {
	case HandlerIgbinary, HandlerMsgpack:
		if r, handled, err := o.selectedExt(data, h, sel); handled {
			return r, err
		}
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize:
		sc := getScanner(o.input(data), o, sel)
		res := sc.session(h)
		if res == scanOK {
			r, err := sc.selected(h, o)
			putScanner(sc)
			return r, err
		}
		payload := sc.payload
		putScanner(sc)
		switch res {
		case scanBail:
			// A payload: the values one at a time where none refers to
			// another; a reference: the full decoder decides, unless
			// sel asks for a walk of linked values.
			if payload {
				if r, ok := o.selectedApart(o.input(data), h, sel); ok {
					return r, nil
				}
			}
			if sel.Linked {
				if r, ok := o.selectedLinked(o.input(data), h, sel); ok {
					return r, nil
				}
			}
		default:
			// Invalid as far as the scan sees: the full decoder gives the
			// exact error (and is the last word if the two disagree).
		}
	}
	return o.decodeFull(data, h, sel)
}

// DecodeSelectedAuto is DecodeSelected for a session whose handler is
// detected as DecodeAuto detects it (the same rules, Detect's), and it
// returns that handler. The common cases are scanned: a php session
// (detection's first try for input that does not start like a value), a
// php_binary one (its next), and a php_serialize one with nothing after
// its value (detection's first try for input that does); for everything
// else the full detection decides.
// Empty data is an empty php session.
func (o DecodeOptions) DecodeSelectedAuto(data []byte, sel Selection) (Selected, Handler, error) {
	s := o.input(data)
	if len(s) > 0 {
		if ext := detectExtension(s); ext != "" {
			// Detection's first rule: the header says the handler.
			if r, handled, err := o.selectedExt(data, ext, sel); handled {
				return r, ext, err
			}
		}
	}
	if len(s) > 0 && detectExtension(s) == "" {
		h := HandlerPHP
		if startsLikeValue(s) {
			h = HandlerPHPSerialize
		}
		sc := getScanner(s, o, sel)
		res := sc.session(h)
		if res == scanOK && sc.end == len(s) {
			r, err := sc.selected(h, o)
			putScanner(sc)
			return r, h, err
		}
		payload := sc.payload
		putScanner(sc)
		if res == scanBail && payload {
			// Detection takes php when it decodes, php_serialize when it
			// decodes with nothing after its value (a value at a time
			// where none refers to another).
			if r, ok := o.selectedApart(s, h, sel); ok {
				return r, h, nil
			}
		}
		if res == scanBail && sel.Linked {
			if r, ok := o.selectedLinked(s, h, sel); ok {
				return r, h, nil // it decodes (php_serialize: with nothing after its root)
			}
		}
		// Detection's next try is php_binary, taken when the php decoder
		// refuses the input. The scan said it would; the decoder (which
		// fails where the scan did, building little) has the last word.
		if h == HandlerPHP && res != scanOK && int(s[0]&0x7f) < len(s)-1 {
			sess, err := o.decodeSession(s, HandlerPHP)
			if err == nil {
				// php it is (values that refer to each other).
				r := Selected{Sess: sess, Full: true}
				if sel.Strings != nil {
					r.Matched = sess.Strings(sel.Strings)
				}
				return r, HandlerPHP, nil
			}
			sc := getScanner(s, o, sel)
			switch sc.session(HandlerPHPBinary) {
			case scanOK:
				r, err := sc.selected(HandlerPHPBinary, o)
				putScanner(sc)
				return r, HandlerPHPBinary, err
			case scanBail:
				payload := sc.payload
				putScanner(sc)
				if payload {
					if r, ok := o.selectedApart(s, HandlerPHPBinary, sel); ok {
						return r, HandlerPHPBinary, nil
					}
				}
				if sel.Linked {
					if r, ok := o.selectedLinked(s, HandlerPHPBinary, sel); ok {
						return r, HandlerPHPBinary, nil // php refused it, php_binary decodes
					}
				}
			default:
				putScanner(sc)
			}
		}
	}
	sess, h, err := o.detect(s)
	if err != nil {
		return Selected{}, h, err
	}
	r := Selected{Sess: sess, Full: true}
	if sel.Strings != nil {
		r.Matched = sess.Strings(sel.Strings)
	}
	return r, h, nil
}

// decodeFull is DecodeSelected by a full decode.
func (o DecodeOptions) decodeFull(data []byte, h Handler, sel Selection) (Selected, error) {
	sess, err := o.DecodeSession(data, h)
	if err != nil {
		return Selected{}, err
	}
	r := Selected{Sess: sess, Full: true}
	if sel.Strings != nil {
		r.Matched = sess.Strings(sel.Strings)
	}
	return r, nil
}

// Strings calls fn with every string value in s, every array key that is
// a string, every object property's plain name, and every Serializable
// payload's bytes and the string values PHP reads from it, depth first in
// order, until fn returns true; it reports whether fn did.
func (s *Session) Strings(fn func(string) bool) bool {
	var walk func(v *Value, depth int) bool
	walk = func(v *Value, depth int) bool {
		if depth > DefaultMaxDepth+2 {
			return false
		}
		switch v.Kind {
		case KindString:
			return fn(v.Str)
		case KindCustom:
			if fn(v.Payload) {
				return true
			}
			for i := range v.Elems {
				if walk(&v.Elems[i].Val, depth+1) {
					return true
				}
			}
		case KindArray, KindObject:
			obj := v.Kind == KindObject
			for i := range v.Elems {
				e := &v.Elems[i]
				if !e.Key.IsInt {
					name := e.Key.Str
					if obj {
						name, _, _ = e.Key.Prop()
					}
					if fn(name) {
						return true
					}
				}
				if walk(&e.Val, depth+1) {
					return true
				}
			}
		}
		return false
	}
	return walk(&s.Root, 0)
}

// scanResult is how a scan ended.
type scanResult uint8

const (
	scanOK      scanResult = iota
	scanInvalid            // the input does not decode (as far as seen)
	scanBail               // a reference or payload: decode it all
)

// scanner checks a session without building it. Leaves are read by the
// decoder's own functions into a scratch value; containers by a loop that
// makes the decoder's checks (counts, depth, the entry budget) without
// claiming entries.
type scanner struct {
	d       *decoder
	strings func(string) bool
	matched bool
	keys    []string
	deep    bool
	sizes   bool
	spans   bool
	bail    bool
	payload bool // bail is for a Serializable payload, not a reference
	end     int  // where a php_serialize root value ends (bytes after it are ignored)

	tops []topSpan // the top-level values: key, start, end
	want []bool    // tops[i] is selected

	scratch Value // leaves are read into it (the slot table points here)
}

// topSpan is a top-level entry found by the scan.
type topSpan struct {
	key        Key
	keyStart   int
	start, end int
	depth      int
}

// scanners are reused: a scan allocates nothing of its own.
var scanners = sync.Pool{New: func() any { return &scanner{d: &decoder{}} }}

// getScanner returns a scanner for s. Its decoder's slot table is only
// ever scratch (the scan resets it after each leaf).
func getScanner(s string, o DecodeOptions, sel Selection) *scanner {
	sc := scanners.Get().(*scanner)
	md := o.MaxDepth
	if md <= 0 {
		md = DefaultMaxDepth
	}
	tab := sc.d.tab[:0]
	*sc.d = decoder{s: s, maxDepth: md, budget: len(s)/4 + 1, tab: tab}
	sc.d.path0 = sc.d.pbuf[:0]
	*sc = scanner{d: sc.d, strings: sel.Strings, keys: sel.Keys, deep: sel.Deep, sizes: sel.Sizes, spans: sel.Spans, tops: sc.tops[:0], want: sc.want[:0]}
	return sc
}

// putScanner returns sc to the pool, keeping nothing of its input.
func putScanner(sc *scanner) {
	sc.d.s = ""
	clear(sc.d.tab[:cap(sc.d.tab)])
	clear(sc.d.scratch)
	clear(sc.tops)
	sc.strings, sc.keys = nil, nil
	sc.scratch = Value{}
	scanners.Put(sc)
}

func (sc *scanner) str(s string) {
	if sc.strings != nil && !sc.matched && sc.strings(s) {
		sc.matched = true
	}
}

// session scans the whole input with h's framing.
func (sc *scanner) session(h Handler) scanResult {
	d := sc.d
	s := d.s
	switch h {
	case HandlerPHP:
		for p := 0; p < len(s); {
			i := strings.IndexByte(s[p:], '|')
			if i < 0 {
				return scanInvalid
			}
			k := Key{Str: s[p : p+i]}
			sc.str(k.Str)
			start := p + i + 1
			q := sc.value(start)
			if q < 0 {
				return sc.result()
			}
			sc.top(k, p, start, q, 0)
			p = q
		}
	case HandlerPHPBinary:
		for p := 0; p < len(s); {
			n := int(s[p] & 0x7f)
			if p+n >= len(s) {
				return scanInvalid
			}
			k := Key{Str: s[p+1 : p+1+n]}
			if s[p]&0x80 != 0 {
				k.Raw = s[p : p+1+n] // as DecodeSession keeps it
			}
			sc.str(k.Str)
			start := p + 1 + n
			q := sc.value(start)
			if q < 0 {
				return sc.result()
			}
			sc.top(k, p, start, q, 0)
			p = q
		}
	default:
		if len(s) == 0 {
			return scanOK
		}
		if s[0] != 'a' {
			return scanBail
		}
		q := sc.array(0, true)
		if q < 0 {
			return sc.result()
		}
		sc.end = q
		return scanOK
	}
	sc.end = len(s)
	return scanOK
}

func (sc *scanner) result() scanResult {
	if sc.bail {
		return scanBail
	}
	return scanInvalid
}

// top records a top-level value.
func (sc *scanner) top(k Key, keyStart, start, end, depth int) {
	want := false
	for _, key := range sc.keys {
		if firstToken(key) == topKeyText(k) {
			want = true
			break
		}
	}
	if !want && !sc.sizes {
		return
	}
	sc.tops = append(sc.tops, topSpan{key: k, keyStart: keyStart, start: start, end: end, depth: depth})
	sc.want = append(sc.want, want)
}

// topKeyText is a top-level key as a path token names it.
func topKeyText(k Key) string {
	if k.IsInt {
		return strconv.FormatInt(k.Int, 10)
	}
	return k.Str
}

// firstToken is the first token of a top-level key or JSON Pointer, as
// Lookup reads it ("" when the pointer is malformed: it matches nothing).
func firstToken(key string) string {
	if !strings.HasPrefix(key, "/") {
		return key
	}
	t := key[1:]
	if i := strings.IndexByte(t, '/'); i >= 0 {
		t = t[:i]
	}
	if strings.Contains(t, "~") {
		toks, err := parsePath("/" + t)
		if err != nil {
			return "\x00invalid"
		}
		return toks[0]
	}
	return t
}

// selected decodes the selected top-level values found by a scan that
// succeeded.
func (sc *scanner) selected(h Handler, o DecodeOptions) (Selected, error) {
	r := Selected{Matched: sc.matched}
	sess := &Session{Handler: h, Root: Value{Kind: KindArray}}
	if h == HandlerPHPSerialize {
		sess.Trailing = sc.d.s[sc.end:]
	}
	r.Sess = sess
	n := 0
	for _, w := range sc.want {
		if w {
			n++
		}
	}
	if n > 0 {
		sess.Root.Elems = make([]Entry, 0, n)
	}
	if sc.sizes {
		r.Sizes = make([]TopSize, 0, len(sc.tops))
	}
	// The scan is over: its decoder reads the selected values, each as a
	// decoder of its own would (newDecoder's state for the input up to the
	// value's end).
	in, d, md := sc.d.s, sc.d, sc.d.maxDepth
	for i, t := range sc.tops {
		if sc.sizes {
			r.Sizes = append(r.Sizes, TopSize{Key: t.key, Size: t.end - t.start})
		}
		if !sc.want[i] {
			continue
		}
		clear(d.tab)
		*d = decoder{s: in[:t.end], maxDepth: md, depth: t.depth, budget: t.end/4 + 1, tab: d.tab[:0], scratch: d.scratch}
		d.path0 = d.pbuf[:0]
		if sc.deep {
			// Only the entries the keys' pointers go through (no value
			// refers to another: the scan said so).
			d.prune = pruneFor(sc.keys, topKeyText(t.key))
			d.noTab = d.prune != nil
			if sc.spans && d.prune != nil {
				d.recs = &r.deep
			}
		}
		var e Entry
		e.Key = t.key
		if q := d.value(t.start, &e.Val); q != t.end {
			// The scan and the decoder disagree: the decoder decides.
			d.s = in
			return o.decodeFull([]byte(in), h, Selection{Keys: sc.keys, Strings: sc.strings, Sizes: sc.sizes})
		}
		sess.Root.Elems = append(sess.Root.Elems, e)
		if sc.spans {
			r.Spans = append(r.Spans, Span{Start: t.keyStart, End: t.end})
		}
	}
	d.s = in
	return r, nil
}

// value scans one value at p and returns the offset after it, or -1.
func (sc *scanner) value(p int) int {
	d := sc.d
	s := d.s
	if p+1 >= len(s) {
		return -1
	}
	v := &sc.scratch
	switch s[p] {
	case 'N', 'i', 'b', 'd', 'E':
		q := d.value(p, v)
		d.tab = d.tab[:0]
		return q
	case 's', 'S':
		q := d.value(p, v)
		d.tab = d.tab[:0]
		if q >= 0 {
			sc.str(v.Str)
		}
		return q
	case 'a':
		if s[p+1] != ':' {
			return -1
		}
		return sc.array(p, false)
	case 'O':
		if s[p+1] != ':' {
			return -1
		}
		return sc.object(p)
	case 'C', 'r', 'R':
		sc.bail = true
		sc.payload = s[p] == 'C'
		return -1
	}
	return -1
}

// array scans a:<n>:{...} as decoder.array reads it; root marks the
// php_serialize root, whose entries are the session's top level.
func (sc *scanner) array(p int, root bool) int {
	d := sc.d
	s := d.s
	if p+1 >= len(s) || s[p+1] != ':' {
		return -1
	}
	_, q, _, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '{' {
		return -1
	}
	n, _, _, _ := parseIV(s, p+2)
	body := q + 2
	if !d.countOK(n, body) {
		return -1
	}
	if n == 0 {
		if body >= len(s) || s[body] != '}' {
			return -1
		}
		return body + 1
	}
	if d.depth >= d.maxDepth {
		return -1
	}
	d.depth++
	d.budget -= int(n)
	p = sc.entries(body, int(n), true, root)
	d.depth--
	if p < 0 {
		return p
	}
	if p >= len(s) || s[p] != '}' {
		return -1
	}
	return p + 1
}

// object scans O:<len>:"<Class>":<n>:{...} as decoder.object reads it.
func (sc *scanner) object(p int) int {
	d := sc.d
	s := d.s
	_, q, _, ok := d.className(p)
	if !ok {
		return -1
	}
	n, q2, _, _ := parseIV(s, q)
	if n < 0 {
		return -1
	}
	if q2+1 >= len(s) || s[q2] != ':' || s[q2+1] != '{' {
		return -1
	}
	body := q2 + 2
	if !d.countOK(n, body) {
		return -1
	}
	if d.depth >= d.maxDepth {
		return -1
	}
	if n > 0 {
		d.depth++
		d.budget -= int(n)
		body = sc.entries(body, int(n), false, false)
		d.depth--
		if body < 0 {
			return body
		}
	}
	if body >= len(s) || s[body] != '}' {
		return -1
	}
	return body + 1
}

// entries scans n key/value pairs at p.
func (sc *scanner) entries(p, n int, array, root bool) int {
	d := sc.d
	for range n {
		var k Key
		ks := p
		p = d.key(p, &k, array)
		if p < 0 {
			return p
		}
		if !k.IsInt {
			if array {
				sc.str(k.Str)
			} else {
				name, _, _ := k.Prop()
				sc.str(name)
			}
		}
		start := p
		p = sc.value(p)
		if p < 0 {
			return p
		}
		if root {
			sc.top(k, ks, start, p, 1)
		}
	}
	return p
}
