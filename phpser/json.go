package phpser

import (
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// maxJSONRefNodes bounds how many values AppendJSON writes on behalf of
// references. PHP references can share one subtree many times over (an
// array holding two references to an array holding two references to ...),
// so writing every reference out in full can grow exponentially with the
// input; past this many values a reference is written as null instead.
const maxJSONRefNodes = 1 << 22

// AppendJSON appends the JSON mapping of v (shared/CLI.md, "JSON mapping of
// PHP values") to dst and returns the extended buffer.
//
// References (KindRef, KindObjRef) are written as the value they refer to,
// looked up among the anchors of s (s may be nil, then every reference is
// written as null). A reference that points back into a value that is being
// written (PHP allows an array to contain a reference to itself) is written
// as null at the point of recursion, as PHP's serialize writes N; for a
// recursive array: the output is always finite. A reference whose target is
// not in s is also written as null.
//
// Arrays follow PHP semantics for duplicate keys (which only hand-made or
// php-handler input can hold): the key stays at its first position and takes
// its last value. The result is valid UTF-8: bytes that are not UTF-8 become
// U+FFFD.
func AppendJSON(dst []byte, s *Session, v Value) []byte {
	w := jsonWriter{s: s}
	if v.Anchor != 0 && s != nil {
		// v is a copy of a value of s: write the value in s, so that a
		// reference inside it back to itself is seen as a cycle.
		if p, ok := indexAnchors(&s.Root)[v.Anchor]; ok && p.Kind == v.Kind && len(p.Elems) == len(v.Elems) {
			return w.value(dst, p)
		}
	}
	return w.value(dst, &v)
}

// MarshalJSON returns the session as one JSON object, its keys in session
// order (a repeated key at its first position with its last value). A
// session without variables (a null root, which PHP reads as an empty
// array) is {}; a php_serialize session whose root is some other non-array
// value (PHP accepts i:5; as a whole session) is written as the JSON
// mapping of that value.
func (s *Session) MarshalJSON() ([]byte, error) {
	dst := make([]byte, 0, 256)
	if s == nil {
		return append(dst, "null"...), nil
	}
	w := jsonWriter{s: s}
	switch s.Root.Kind {
	case KindNull:
		return append(dst, "{}"...), nil
	case KindArray:
	default:
		return w.value(dst, &s.Root), nil
	}
	// The root is not marked as being written: PHP copies the unserialized
	// array into $_SESSION, so a reference to the root (R:1 in
	// php_serialize) holds the original, written out once more.
	return w.entries(dst, s.Root.Elems, true, false), nil
}

// WriteJSON writes the session's JSON mapping (MarshalJSON) to out as it
// is made, in pieces of about 64 KiB, so that a large session is never
// held twice in memory.
func (s *Session) WriteJSON(out io.Writer) error {
	if s == nil || s.Root.Kind != KindArray {
		b, _ := s.MarshalJSON()
		_, err := out.Write(b)
		return err
	}
	w := jsonWriter{s: s, out: out}
	dst := w.entries(make([]byte, 0, jsonChunk+4096), s.Root.Elems, true, false)
	if w.err != nil {
		return w.err
	}
	_, err := out.Write(dst)
	return err
}

// jsonChunk is how much WriteJSON buffers before writing.
const jsonChunk = 64 << 10

// maybeFlush writes dst out once it holds a chunk (WriteJSON only).
func (w *jsonWriter) maybeFlush(dst []byte) []byte {
	if w.out == nil || len(dst) < jsonChunk || w.err != nil {
		return dst
	}
	_, w.err = w.out.Write(dst)
	return dst[:0]
}

// jsonWriter holds the state of one AppendJSON call.
type jsonWriter struct {
	out      io.Writer // WriteJSON: where full chunks go
	err      error     // the first error writing to out
	s        *Session
	targets  refTargets // built on the first reference
	active   []*Value   // containers being written (cycle guard)
	refNodes int        // values written through references so far
	inRef    int        // > 0 while writing through a reference
	// TopJSON: the values carrying an Anchor in the entries written
	// before (the place's value: no reference names a refilled place).
	prior map[int64]*Value
}

func (w *jsonWriter) value(dst []byte, v *Value) []byte {
	if w.inRef > 0 {
		w.refNodes++
	}
	switch v.Kind {
	case KindNull:
		return append(dst, "null"...)
	case KindBool:
		if v.Int != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case KindInt:
		return strconv.AppendInt(dst, v.Int, 10)
	case KindFloat:
		return appendJSONFloat(dst, v.Float)
	case KindString:
		return appendJSONString(dst, v.Str)
	case KindEnum:
		dst = append(dst, `{"__enum":`...)
		dst = appendJSONString(dst, v.Str)
		return append(dst, '}')
	case KindCustom:
		dst = append(dst, `{"__class":`...)
		dst = appendJSONString(dst, v.Str)
		dst = append(dst, `,"__serialized":`...)
		dst = appendJSONString(dst, v.Payload)
		return append(dst, '}')
	case KindRef, KindObjRef:
		return w.ref(dst, v)
	case KindArray, KindObject:
		// Reached again through a reference while it is being written:
		// the recursion point, written as null.
		for _, x := range w.active {
			if x == v {
				return append(dst, "null"...)
			}
		}
		w.active = append(w.active, v)
		defer func() { w.active = w.active[:len(w.active)-1] }()
		return w.entries(dst, v.Elems, false, v.Kind == KindObject, v.Str)
	}
	return append(dst, "null"...)
}

// ref writes the value reference v points at, or null for a cycle (a
// container that is being written), a missing target or an exhausted budget.
func (w *jsonWriter) ref(dst []byte, v *Value) []byte {
	if w.s == nil || w.refNodes > maxJSONRefNodes {
		return append(dst, "null"...)
	}
	if w.targets == nil {
		w.targets = buildRefTargets(w.s)
	}
	t := w.targets.target(w.s, v, w.prior)
	if t == nil {
		return append(dst, "null"...)
	}
	for _, x := range w.active {
		if x == t {
			return append(dst, "null"...)
		}
	}
	w.inRef++
	dst = w.value(dst, t)
	w.inRef--
	return dst
}

// entries writes an array (as a JSON array when its keys are 0..n-1 in
// order, unless forceObject), or an object with its class first.
func (w *jsonWriter) entries(dst []byte, elems []Entry, forceObject, isObject bool, class ...string) []byte {
	order, last := dedupe(elems)
	if !forceObject && !isObject && isList(elems, order) {
		dst = append(dst, '[')
		if order == nil {
			for i := range elems {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = w.value(dst, &elems[i].Val)
				dst = w.maybeFlush(dst)
			}
		} else {
			for j, vi := range last {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = w.value(dst, &elems[vi].Val)
			}
		}
		return append(dst, ']')
	}
	dst = append(dst, '{')
	first := true
	if isObject {
		dst = append(dst, `"__class":`...)
		if len(class) > 0 {
			dst = appendJSONString(dst, class[0])
		}
		first = false
	}
	n := len(elems)
	if order != nil {
		n = len(order)
	}
	for j := 0; j < n; j++ {
		i, vi := j, j
		if order != nil {
			i, vi = order[j], last[j]
		}
		dst = w.maybeFlush(dst)
		if !first {
			dst = append(dst, ',')
		}
		first = false
		k := elems[i].Key
		switch {
		case k.IsInt:
			dst = append(dst, '"')
			dst = strconv.AppendInt(dst, k.Int, 10)
			dst = append(dst, '"')
		case isObject:
			name, _, _ := k.Prop()
			dst = appendJSONString(dst, name)
		default:
			dst = appendJSONString(dst, k.Str)
		}
		dst = append(dst, ':')
		dst = w.value(dst, &elems[vi].Val)
	}
	return append(dst, '}')
}

// isList reports whether the (deduplicated) keys are exactly 0..n-1 in order:
// order lists the first occurrence of each key when a key repeats (nil
// otherwise), so that the array PHP builds is what is judged.
func isList(elems []Entry, order []int) bool {
	if order != nil {
		for j, i := range order {
			if k := elems[i].Key; !k.IsInt || k.Int != int64(j) {
				return false
			}
		}
		return true
	}
	for i := range elems {
		if k := elems[i].Key; !k.IsInt || k.Int != int64(i) {
			return false
		}
	}
	return true
}

// dedupe returns nil, nil when elems has no repeated key. Otherwise order
// lists the index of each key's first occurrence and last the index of its
// last occurrence, in first-occurrence order (PHP's hash update semantics).
func dedupe(elems []Entry) (order, last []int) {
	n := len(elems)
	if n < 2 {
		return nil, nil
	}
	// Fast path: int keys in increasing order (every list) cannot repeat.
	increasing := elems[0].Key.IsInt
	for i := 1; increasing && i < n; i++ {
		increasing = elems[i].Key.IsInt && elems[i].Key.Int > elems[i-1].Key.Int
	}
	if increasing {
		return nil, nil
	}
	if !hasDupKey(elems) {
		return nil, nil
	}
	pos := make(map[Key]int, n) // key (Raw cleared) -> slot in order
	for i := range elems {
		k := elems[i].Key
		k.Raw = ""
		if k.IsInt {
			k.Str = ""
		} else {
			k.Int = 0
		}
		if p, ok := pos[k]; ok {
			last[p] = i
			continue
		}
		pos[k] = len(order)
		order = append(order, i)
		last = append(last, i)
	}
	if len(order) == n {
		return nil, nil
	}
	return order, last
}

// hasDupKey reports whether a key repeats in elems.
func hasDupKey(elems []Entry) bool {
	n := len(elems)
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if KeyEqual(elems[i].Key, elems[j].Key) {
					return true
				}
			}
		}
		return false
	}
	strs := make(map[string]struct{}, n)
	var ints map[int64]struct{}
	for i := range elems {
		k := &elems[i].Key
		if k.IsInt {
			if ints == nil {
				ints = make(map[int64]struct{})
			}
			if _, ok := ints[k.Int]; ok {
				return true
			}
			ints[k.Int] = struct{}{}
			continue
		}
		if _, ok := strs[k.Str]; ok {
			return true
		}
		strs[k.Str] = struct{}{}
	}
	return false
}

// appendJSONFloat writes f with a fraction or an exponent; INF, -INF and
// NAN as strings.
func appendJSONFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NAN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"INF"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-INF"`...)
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string, as the JSON mapping writes
// strings: bytes that are not UTF-8 become U+FFFD, control characters are
// escaped.
func AppendJSONString(dst []byte, s string) []byte { return appendJSONString(dst, s) }

// appendJSONString writes s as a JSON string; bytes that are not UTF-8
// become U+FFFD, control characters are escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendJSONTopEntry appends the member "key":value that WriteJSON writes
// for one top-level variable of a php or php_binary session (or an entry
// of a php_serialize session's root array), to a caller
// that writes a session an entry at a time (EachTop). The session's
// object is '{', the members joined by ',', '}', when it has no reference
// (EachTop's sessions) and no repeated key (WriteJSON keeps a repeated
// key once, where it first stands, with its last value).
func AppendJSONTopEntry(dst []byte, e *Entry) []byte {
	w := jsonWriter{s: &Session{Handler: HandlerPHP, Root: Value{Kind: KindArray}}}
	return w.topEntry(dst, e)
}

func (w *jsonWriter) topEntry(dst []byte, e *Entry) []byte {
	if e.Key.IsInt { // php_serialize's root array
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, e.Key.Int, 10)
		dst = append(dst, '"', ':')
		return w.value(dst, &e.Val)
	}
	dst = appendJSONString(dst, e.Key.Str)
	dst = append(dst, ':')
	return w.value(dst, &e.Val)
}

// TopJSON is AppendJSONTopEntry for a session whose entries may refer to
// earlier ones (EachTop gives such entries for a php or php_binary
// session with references): it keeps the values that carry an Anchor
// from the entries it has written, so that a later reference is written
// as the value it refers to, as WriteJSON writes it. The zero value is
// ready; give it every entry in order.
type TopJSON struct {
	w jsonWriter
}

// Append appends the member "key":value that WriteJSON writes for e.
func (t *TopJSON) Append(dst []byte, e *Entry) []byte {
	var anchors []*Value
	refs := false
	var walk func(v *Value, depth int)
	walk = func(v *Value, depth int) {
		if v.Kind == KindRef || v.Kind == KindObjRef {
			refs = true
		}
		if v.Anchor != 0 && v.Kind != KindRef {
			anchors = append(anchors, v)
		}
		if depth > DefaultMaxDepth+2 {
			return
		}
		for i := range v.Elems {
			walk(&v.Elems[i].Val, depth+1)
		}
	}
	top := Session{Handler: HandlerPHP, Root: Value{Kind: KindArray, Elems: []Entry{*e}}}
	walk(&top.Root.Elems[0].Val, 0)
	w := &t.w
	if refs {
		w.s, w.targets = &top, nil
	} else {
		w.s = &Session{Handler: HandlerPHP, Root: Value{Kind: KindArray}}
	}
	dst = w.topEntry(dst, &top.Root.Elems[0])
	w.s, w.targets = nil, nil
	for _, v := range anchors {
		if w.prior == nil {
			w.prior = map[int64]*Value{}
		}
		if _, dup := w.prior[v.Anchor]; !dup {
			w.prior[v.Anchor] = v
		}
	}
	return dst
}
