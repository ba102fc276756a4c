package phpser

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// DecodeOptions tunes decoding. The zero value decodes as PHP does with its
// default ini settings.
type DecodeOptions struct {
	// MaxDepth is unserialize_max_depth: the deepest nesting of arrays and
	// objects allowed (an empty array does not count, as in PHP). Values <= 0
	// mean DefaultMaxDepth: there is no unlimited mode, so that no input can
	// exhaust the stack.
	MaxDepth int
}

// DecodeValue decodes one serialized value from the start of data, as
// PHP's unserialize() does. n is the number of bytes consumed; bytes after
// the value are not an error (unserialize ignores them). A failure is a
// *SyntaxError. The value is slot 1 for r:/R: numbering.
//
// Where PHP would need to know a class to decide (an enum case that does
// not exist, a Serializable payload its class refuses), DecodeValue accepts
// the input: it knows no classes.
func DecodeValue(data []byte) (v Value, n int, err error) {
	return DecodeOptions{}.DecodeValue(data)
}

// DecodeValue is DecodeValue with these options.
func (o DecodeOptions) DecodeValue(data []byte) (v Value, n int, err error) {
	d := newDecoder(string(data), o)
	n = d.value(0, &v)
	if n < 0 {
		return Value{}, 0, d.error()
	}
	return v, n, nil
}

// decoder holds the state of one decode: the input (copied once, so that
// every string in the result is a substring of it), the reference slot
// table, and an arena from which container entries are carved.
type decoder struct {
	s        string
	maxDepth int
	depth    int

	slots int64      // reference slots used so far
	tab   []slotInfo // each slot's value and where it sits (slot n at n-1)
	cur   slotLoc    // where the value being decoded sits
	path0 []int32    // slots of the containers being filled, outermost first
	pbuf  [16]int32  // path0's first backing array
	dups  map[int32]*dupIndex

	arena  []Entry // free entries of the current slab
	budget int     // entries that may still be claimed in total

	err  *SyntaxError
	path []Key // key path of a failure, innermost first
}

func newDecoder(s string, o DecodeOptions) *decoder {
	md := o.MaxDepth
	if md <= 0 {
		md = DefaultMaxDepth
	}
	d := &decoder{
		s:        s,
		maxDepth: md,
		// Every array or object entry has a key of at least 4 bytes (i:0;)
		// that no other entry shares, so a valid input never holds more
		// than len/4 entries: claims beyond that cannot succeed.
		budget: len(s)/4 + 1,
		// About one value per 35 bytes in realistic sessions.
		tab: make([]slotInfo, 0, len(s)/24+4),
	}
	d.path0 = d.pbuf[:0]
	return d
}

// Expected-descriptions used in SyntaxErrors.
const (
	expValue     = "a value (N; b: i: d: s: S: a: O: C: E: r: R:)"
	expIntDigits = "digits after i:"
)

// fail records a syntax error at offset p and returns -1.
func (d *decoder) fail(p int, expected string) int {
	if d.err == nil {
		d.err = &SyntaxError{Offset: p, Expected: expected, Found: serExcerpt(d.s, p)}
	}
	return -1
}

// error returns the recorded error with its key path filled in.
func (d *decoder) error() error {
	if d.err == nil {
		d.err = &SyntaxError{Expected: "valid input", Found: "end of input"}
	}
	if len(d.path) > 0 && d.err.Path == "" {
		keys := make([]Key, len(d.path))
		for i, k := range d.path {
			keys[len(keys)-1-i] = k
		}
		d.err.Path = formatKeyPath(keys)
	}
	return d.err
}

// serExcerpt returns a %q-quoted excerpt of s at p, or "end of input".
func serExcerpt(s string, p int) string {
	if p >= len(s) || p < 0 {
		return "end of input"
	}
	e := min(p+16, len(s))
	return strconv.Quote(s[p:e])
}

// mark gives v the next reference slot. Every value takes one except R:.
func (d *decoder) mark(v *Value) {
	d.slots++
	d.tab = append(d.tab, slotInfo{v, d.cur})
}

// slotInfo is one reference slot: its value and where that sits.
type slotInfo struct {
	v   *Value
	loc slotLoc
}

// slotLoc says where a slot's value sits: element idx of the array or
// object in slot par (par 0: a top-level session value).
type slotLoc struct{ par, idx int32 }

// dupIndex maps each key of a container to the index of its last
// occurrence among the first n entries.
type dupIndex struct {
	n    int
	last map[Key]int32
}

// resolve returns the value PHP finds in slot u. PHP unserializes a
// repeated array key or property name into the zval of the earlier
// occurrence, so every slot that pointed at the earlier value then points
// at the later one, even while it is being decoded.
func (d *decoder) resolve(u int64) *Value {
	t := d.tab[u-1].v
	l := d.tab[u-1].loc
	if l.par == 0 {
		return t
	}
	c := d.tab[l.par-1].v
	n := len(c.Elems)
	// A container still being filled holds entries up to the one on the
	// path being decoded (its key is already parsed).
	// path0 holds increasing slot numbers: search it in O(log depth).
	if i, ok := slices.BinarySearch(d.path0, l.par); ok {
		if i+1 < len(d.path0) {
			n = int(d.tab[d.path0[i+1]-1].loc.idx) + 1
		} else {
			n = int(d.cur.idx) + 1
		}
	}
	obj := c.Kind == KindObject
	if n <= 16 {
		// Small containers: look for a later occurrence directly.
		k := dupKey(c.Elems[l.idx].Key, obj)
		for j := n - 1; j > int(l.idx); j-- {
			if dupKey(c.Elems[j].Key, obj) == k {
				return &c.Elems[j].Val
			}
		}
		return t
	}
	if d.dups == nil {
		d.dups = make(map[int32]*dupIndex)
	}
	di := d.dups[l.par]
	if di == nil {
		di = &dupIndex{last: make(map[Key]int32)}
		d.dups[l.par] = di
	}
	for ; di.n < n; di.n++ {
		di.last[dupKey(c.Elems[di.n].Key, obj)] = int32(di.n)
	}
	if j := di.last[dupKey(c.Elems[l.idx].Key, obj)]; int(j) > int(l.idx) {
		return &c.Elems[j].Val
	}
	return t
}

// dupKey is the identity of a key in PHP's hash table (property names
// are strings even when written as i:).
func dupKey(k Key, object bool) Key {
	if k.IsInt && object {
		return Key{Str: strconv.FormatInt(k.Int, 10)}
	}
	return Key{IsInt: k.IsInt, Int: k.Int, Str: k.Str}
}

// isObject reports whether r: may refer to a value of kind k.
func isObject(k Kind) bool {
	return k == KindObject || k == KindCustom || k == KindEnum || k == KindObjRef
}

// claim carves n entries out of the arena. The caller has checked n against
// the remaining input; the running budget bounds the total.
func (d *decoder) claim(n, p int) []Entry {
	if n > len(d.arena) {
		// Realistic sessions hold one entry per ~35 bytes; size the slab
		// for what the rest of the input likely holds.
		size := max(n, min((len(d.s)-p)/40+4, d.budget+n))
		d.arena = make([]Entry, size)
	}
	e := d.arena[:n:n]
	d.arena = d.arena[n:]
	return e
}

// parseUIV scans [0-9]+ at p as PHP's parse_uiv does (a size_t that wraps
// on overflow). canon is false for leading zeros or more than 19 digits.
func parseUIV(s string, p int) (u uint64, q int, canon, ok bool) {
	q = p
	for q < len(s) {
		c := s[q] - '0'
		if c > 9 {
			break
		}
		u = u*10 + uint64(c)
		q++
	}
	nd := q - p
	if nd == 0 {
		return 0, q, false, false
	}
	canon = nd <= 19 && (nd == 1 || s[p] != '0')
	return u, q, canon, true
}

// parseIV scans [+-]?[0-9]* at p as PHP's parse_iv2 does: leading zeros
// skipped, values beyond 64 bits clamped to the int64 range. digits reports
// whether any digit was seen; canon whether PHP's encoder would write the
// same text for the result.
func parseIV(s string, p int) (n int64, q int, canon, digits bool) {
	// Fast path: a positive number without leading zeros, up to 18 digits.
	if p < len(s) && s[p]-'1' <= 8 {
		u := uint64(s[p] - '0')
		q = p + 1
		for q < len(s) && q-p < 18 {
			c := s[q] - '0'
			if c > 9 {
				return int64(u), q, true, true
			}
			u = u*10 + uint64(c)
			q++
		}
		if q >= len(s) || s[q]-'0' > 9 {
			return int64(u), q, true, true
		}
	}
	neg := false
	canon = true
	if p < len(s) {
		switch s[p] {
		case '-':
			neg = true
			p++
		case '+':
			canon = false
			p++
		}
	}
	start := p
	for p < len(s) && s[p] == '0' {
		p++
	}
	zeros := p - start
	ds := p
	var u uint64
	for p < len(s) {
		c := s[p] - '0'
		if c > 9 {
			break
		}
		u = u*10 + uint64(c)
		p++
	}
	nd := p - ds
	if zeros+nd == 0 {
		return 0, p, false, false
	}
	if zeros > 0 && (nd > 0 || zeros > 1 || neg) {
		canon = false
	}
	var lim uint64 = math.MaxInt64
	if neg {
		lim++
	}
	if nd > 19 || u > lim {
		if neg {
			return math.MinInt64, p, false, true
		}
		return math.MaxInt64, p, false, true
	}
	if neg {
		return int64(-u), p, canon, true
	}
	return int64(u), p, canon, true
}

// value decodes one value at p into v and returns the offset after it, or
// -1 after recording an error.
func (d *decoder) value(p int, v *Value) int {
	s := d.s
	if p+1 >= len(s) {
		return d.fail(p, expValue)
	}
	c := s[p]
	if c == 'N' {
		if s[p+1] != ';' {
			return d.fail(p, expValue)
		}
		d.mark(v)
		v.Kind = KindNull
		return p + 2
	}
	if s[p+1] != ':' {
		return d.fail(p, expValue)
	}
	switch c {
	case 'i':
		n, q, canon, ok := parseIV(s, p+2)
		if !ok || q >= len(s) || s[q] != ';' {
			return d.fail(p, "i:<digits>;")
		}
		d.mark(v)
		v.Kind, v.Int = KindInt, n
		if !canon {
			v.Raw = s[p : q+1]
		}
		return q + 1
	case 'b':
		if p+3 < len(s) && (s[p+2] == '0' || s[p+2] == '1') && s[p+3] == ';' {
			d.mark(v)
			v.Kind, v.Int = KindBool, int64(s[p+2]-'0')
			return p + 4
		}
		return d.fail(p, "b:0; or b:1;")
	case 'd':
		return d.float(p, v)
	case 's':
		return d.str(p, v)
	case 'S':
		return d.escStr(p, v)
	case 'a':
		return d.array(p, v)
	case 'O':
		return d.object(p, v)
	case 'C':
		return d.custom(p, v)
	case 'E':
		return d.enum(p, v)
	case 'r', 'R':
		return d.ref(p, v)
	}
	return d.fail(p, expValue)
}

// float decodes d:<number>; with PHP's grammar: [+-]? digits with an
// optional fraction and exponent, or NAN, INF, -INF.
func (d *decoder) float(p int, v *Value) int {
	s := d.s
	q := p + 2
	var f float64
	switch {
	case strings.HasPrefix(s[q:], "NAN;"):
		f, q = math.NaN(), q+3
	case strings.HasPrefix(s[q:], "INF;"):
		f, q = math.Inf(1), q+3
	case strings.HasPrefix(s[q:], "-INF;"):
		f, q = math.Inf(-1), q+4
	default:
		sign := byte(0)
		if q < len(s) && (s[q] == '+' || s[q] == '-') {
			sign = s[q]
			q++
		}
		i0 := q
		var m uint64
		for q < len(s) && s[q]-'0' <= 9 {
			m = m*10 + uint64(s[q]-'0')
			q++
		}
		intDigits := q - i0
		fracDigits, fracZeros := 0, 0
		dot := false
		if q < len(s) && s[q] == '.' {
			dot = true
			q++
			f0 := q
			for q < len(s) && s[q] == '0' && m == 0 {
				q++
			}
			fracZeros = q - f0
			for q < len(s) && s[q]-'0' <= 9 {
				m = m*10 + uint64(s[q]-'0')
				q++
			}
			fracDigits = q - f0
		}
		if intDigits+fracDigits == 0 {
			return d.fail(p, "d:<number>;")
		}
		exp := false
		if q < len(s) && (s[q] == 'e' || s[q] == 'E') {
			exp = true
			q++
			if q < len(s) && (s[q] == '+' || s[q] == '-') {
				q++
			}
			e0 := q
			for q < len(s) && s[q]-'0' <= 9 {
				q++
			}
			if q == e0 {
				return d.fail(p, "d:<number>;")
			}
		}
		if q >= len(s) || s[q] != ';' {
			return d.fail(p, "d:<number>;")
		}
		// Fast path: plain decimal text with at most 15 significant digits
		// is exact in m / 10^k and, without trailing fraction zeros, is
		// the shortest text for its value, so PHP writes it the same way.
		sig := intDigits + fracDigits
		if intDigits == 1 && s[i0] == '0' {
			sig = fracDigits - fracZeros
		}
		if !exp && sign != '+' && intDigits > 0 && sig <= 15 && fracDigits <= 18 &&
			(intDigits == 1 || s[i0] != '0') && (!dot || fracDigits > 0 && s[q-1] != '0') &&
			fracZeros <= 3 {
			f = float64(m) / pow10tab[fracDigits]
			if sign == '-' {
				f = -f
			}
			d.mark(v)
			v.Kind, v.Float = KindFloat, f
			return q + 1
		}
		var err error
		f, err = strconv.ParseFloat(s[p+2:q], 64)
		if err != nil && !math.IsInf(f, 0) && f != 0 {
			return d.fail(p+2, "a decimal number")
		}
	}
	d.mark(v)
	v.Kind, v.Float = KindFloat, f
	var buf [40]byte
	if string(appendFloat(buf[:0], f)) != s[p+2:q] {
		v.Raw = s[p : q+1]
	}
	return q + 1
}

// pow10tab holds the powers of ten that are exact in a float64.
var pow10tab = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// str decodes s:<len>:"<bytes>";.
func (d *decoder) str(p int, v *Value) int {
	s := d.s
	n, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return d.fail(p, `s:<length>:"`)
	}
	start := q + 2
	end := start + int(n)
	if rem := uint64(len(s) - start); n > rem || rem-n < 2 || s[end] != '"' || s[end+1] != ';' {
		return d.strFail(p, start, n, "string")
	}
	d.mark(v)
	v.Kind, v.Str = KindString, s[start:end]
	if !canon {
		v.Raw = s[p : end+2]
	}
	return end + 2
}

// strFail records why the string of declared length n at start is bad.
func (d *decoder) strFail(p, start int, n uint64, what string) int {
	s := d.s
	if uint64(len(s)-start) < n {
		return d.fail(p+2, "a string length the remaining input can hold")
	}
	end := start + int(n)
	if end >= len(s) || s[end] != '"' {
		return d.fail(end, `'"' after `+what+` of declared length`)
	}
	return d.fail(end+1, `';' after `+what)
}

// escStr decodes S:<len>:"<escaped>"; (\xx hex escapes; len is decoded).
func (d *decoder) escStr(p int, v *Value) int {
	str, q := d.escString(p)
	if q < 0 {
		return q
	}
	d.mark(v)
	v.Kind, v.Str, v.Raw = KindString, str, d.s[p:q]
	return q
}

func (d *decoder) escString(p int) (string, int) {
	s := d.s
	n, q, _, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return "", d.fail(p, `S:<length>:"`)
	}
	q += 2
	if uint64(len(s)-q) < n {
		return "", d.fail(p+2, "a string length the remaining input can hold")
	}
	var b strings.Builder
	b.Grow(int(n))
	for i := uint64(0); i < n; i++ {
		if q >= len(s) {
			return "", d.fail(q, "more escaped-string bytes")
		}
		c := s[q]
		if c == '\\' {
			if q+2 >= len(s) {
				return "", d.fail(q, `\ and two hex digits`)
			}
			h, ok1 := unhex(s[q+1])
			l, ok2 := unhex(s[q+2])
			if !ok1 || !ok2 {
				return "", d.fail(q, `\ and two hex digits`)
			}
			c = h<<4 | l
			q += 2
		}
		b.WriteByte(c)
		q++
	}
	if q >= len(s) || s[q] != '"' {
		return "", d.fail(q, `'"' after escaped string`)
	}
	if q+1 >= len(s) || s[q+1] != ';' {
		return "", d.fail(q+1, `';' after string`)
	}
	return b.String(), q + 2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// count checks a declared element count against what the input after p
// can hold (each entry takes at least 6 bytes: i:0;N;) and the budget.
func (d *decoder) countOK(n int64, p int) bool {
	rem := int64(len(d.s) - p)
	return n >= 0 && n*6+1 <= rem && n <= int64(d.budget)
}

// array decodes a:<n>:{<key><value>...}.
func (d *decoder) array(p int, v *Value) int {
	s := d.s
	_, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '{' {
		return d.fail(p, "a:<count>:{")
	}
	n, _, _, _ := parseIV(s, p+2) // PHP reads the count with parse_iv
	body := q + 2
	if !d.countOK(n, body) {
		return d.fail(p+2, "an element count the remaining input can hold")
	}
	d.mark(v)
	v.Kind = KindArray
	if !canon {
		v.Raw = s[p:body]
	}
	if n == 0 {
		if body >= len(s) || s[body] != '}' {
			return d.fail(body, "'}' closing an empty array")
		}
		return body + 1
	}
	if d.depth >= d.maxDepth {
		return d.fail(p, "nesting within the maximum depth of "+strconv.Itoa(d.maxDepth))
	}
	d.depth++
	d.budget -= int(n)
	v.Elems = d.claim(int(n), body)
	p = d.entries(body, v.Elems, true)
	d.depth--
	if p < 0 {
		return p
	}
	if p >= len(s) || s[p] != '}' {
		return d.fail(p, "'}' after "+strconv.FormatInt(n, 10)+" elements")
	}
	return p + 1
}

// entries decodes len(es) key/value pairs at p.
func (d *decoder) entries(p int, es []Entry, array bool) int {
	saved := d.cur
	par := int32(d.slots)
	d.path0 = append(d.path0, par)
	for i := range es {
		e := &es[i]
		d.cur = slotLoc{par: par, idx: int32(i)}
		p = d.key(p, &e.Key, array)
		if p < 0 {
			return p
		}
		p = d.value(p, &e.Val)
		if p < 0 {
			d.path = append(d.path, e.Key)
			return p
		}
	}
	d.cur = saved
	d.path0 = d.path0[:len(d.path0)-1]
	return p
}

// key decodes an array key or property name: i:, s: or S: (keys take no
// reference slot). In arrays, canonical numeric strings become int keys as
// PHP makes them (the source is kept in Raw).
func (d *decoder) key(p int, k *Key, array bool) int {
	s := d.s
	if p+1 >= len(s) || s[p+1] != ':' {
		return d.fail(p, "a key (i: s: S:)")
	}
	switch s[p] {
	case 'i':
		n, q, canon, ok := parseIV(s, p+2)
		if !ok || q >= len(s) || s[q] != ';' {
			return d.fail(p, "i:<digits>;")
		}
		k.IsInt, k.Int = true, n
		if !canon {
			k.Raw = s[p : q+1]
		}
		return q + 1
	case 's':
		n, q, canon, ok := parseUIV(s, p+2)
		if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
			return d.fail(p, `s:<length>:"`)
		}
		start := q + 2
		end := start + int(n)
		if rem := uint64(len(s) - start); n > rem || rem-n < 2 || s[end] != '"' || s[end+1] != ';' {
			return d.strFail(p, start, n, "key")
		}
		str := s[start:end]
		if array && n > 0 && (str[0]-'0' <= 9 || str[0] == '-') {
			if iv, ok := numericKey(str); ok {
				k.IsInt, k.Int, k.Raw = true, iv, s[p:end+2]
				return end + 2
			}
		}
		k.Str = str
		if !canon {
			k.Raw = s[p : end+2]
		}
		return end + 2
	case 'S':
		str, q := d.escString(p)
		if q < 0 {
			return q
		}
		k.Raw = s[p:q]
		if array {
			if iv, ok := numericKey(str); ok {
				k.IsInt, k.Int = true, iv
				return q
			}
		}
		k.Str = str
		return q
	}
	return d.fail(p, "a key (i: s: S:)")
}

// numericKey reports whether PHP turns the array key s into an int key
// (ZEND_HANDLE_NUMERIC_STR): -?(0|[1-9][0-9]*) within the int64 range,
// "-0" excluded.
func numericKey(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 20 || (s[0] != '-' && s[0]-'0' > 9) {
		return 0, false
	}
	i := 0
	if s[0] == '-' {
		i = 1
		if len(s) == 1 {
			return 0, false
		}
	}
	if s[i] == '0' && len(s) > 1 {
		return 0, false
	}
	for j := i; j < len(s); j++ {
		if s[j]-'0' > 9 {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// className checks the class name of O:/C: at p (after the kind letter):
// <len>:"<Class>": and returns the name and the offset after the final ':'.
func (d *decoder) className(p int) (string, int, bool, bool) {
	s := d.s
	n, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return "", d.fail(p, `<length>:"<class>"`), false, false
	}
	start := q + 2
	if uint64(len(s)-start) < n || n == 0 {
		return "", d.fail(p+2, "a class name length the remaining input can hold"), false, false
	}
	end := start + int(n)
	if end >= len(s) || s[end] != '"' {
		return "", d.fail(end, `'"' after class name`), false, false
	}
	if end+1 >= len(s) || s[end+1] != ':' {
		return "", d.fail(end+1, `':' after class name`), false, false
	}
	name := s[start:end]
	if name[0] == '\\' || !phpClassNameOK(name) {
		return "", d.fail(start, "a valid class name"), false, false
	}
	return name, end + 2, canon, true
}

// phpClassNameOK reports whether PHP's unserialize accepts name as a class
// name: [0-9A-Za-z_\x80-\xff\\]+ not starting with '\'.
func phpClassNameOK(name string) bool {
	if name == "" || name[0] == '\\' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '\\' || c >= 0x80) {
			return false
		}
	}
	return true
}

// enumNameOK reports whether name is "Class:Case" with a class name PHP
// could look up (one leading '\' allowed) and a case name that is an
// identifier: PHP refuses anything else whatever classes exist.
func enumNameOK(name string) bool {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return false
	}
	class, cs := name[:i], name[i+1:]
	if len(class) > 0 && class[0] == '\\' {
		class = class[1:]
	}
	if !phpClassNameOK(class) || cs == "" || cs[0] >= '0' && cs[0] <= '9' {
		return false
	}
	for j := 0; j < len(cs); j++ {
		c := cs[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80) {
			return false
		}
	}
	return true
}

// object decodes O:<len>:"<Class>":<n>:{<prop><value>...}.
func (d *decoder) object(p int, v *Value) int {
	s := d.s
	d.mark(v)
	class, q, canon, ok := d.className(p)
	if !ok {
		return q
	}
	// PHP reads the count with parse_iv2: sign, leading zeros, even no
	// digits at all (= 0).
	n, q2, canonN, digits := parseIV(s, q)
	if !digits || !canonN {
		canon = false
	}
	if n < 0 {
		return d.fail(q, "a property count >= 0")
	}
	if q2+1 >= len(s) || s[q2] != ':' || s[q2+1] != '{' {
		return d.fail(q2, "':{' after property count")
	}
	body := q2 + 2
	if !d.countOK(n, body) {
		return d.fail(q, "a property count the remaining input can hold")
	}
	v.Kind, v.Str = KindObject, class
	if !canon {
		v.Raw = s[p:body]
	}
	if d.depth >= d.maxDepth {
		return d.fail(p, "nesting within the maximum depth of "+strconv.Itoa(d.maxDepth))
	}
	if n > 0 {
		d.depth++
		d.budget -= int(n)
		v.Elems = d.claim(int(n), body)
		body = d.entries(body, v.Elems, false)
		d.depth--
		if body < 0 {
			return body
		}
	}
	if body >= len(s) || s[body] != '}' {
		return d.fail(body, "'}' after "+strconv.FormatInt(n, 10)+" properties")
	}
	return body + 1
}

// custom decodes C:<len>:"<Class>":<n>:{<payload>}.
func (d *decoder) custom(p int, v *Value) int {
	s := d.s
	d.mark(v)
	class, q, canon, ok := d.className(p)
	if !ok {
		return q
	}
	n, q2, canonN, digits := parseIV(s, q)
	if !digits || !canonN {
		canon = false
	}
	if q2+1 >= len(s) || s[q2] != ':' || s[q2+1] != '{' {
		return d.fail(q2, "':{' after payload length")
	}
	body := q2 + 2
	if n < 0 || int64(len(s)-body) <= n {
		return d.fail(q, "a payload length the remaining input can hold")
	}
	end := body + int(n)
	if s[end] != '}' {
		return d.fail(end, "'}' after payload of declared length")
	}
	v.Kind, v.Str, v.Payload = KindCustom, class, s[body:end]
	if !canon {
		v.Raw = s[p : end+1]
	}
	return end + 1
}

// enum decodes E:<len>:"<Class>:<Case>";.
func (d *decoder) enum(p int, v *Value) int {
	s := d.s
	n, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return d.fail(p, `E:<length>:"`)
	}
	start := q + 2
	if uint64(len(s)-start) < n || n == 0 {
		return d.fail(p+2, "an enum name length the remaining input can hold")
	}
	end := start + int(n)
	if end >= len(s) || s[end] != '"' {
		return d.fail(end, `'"' after enum name`)
	}
	if end+1 >= len(s) || s[end+1] != ';' {
		return d.fail(end+1, `';' after enum`)
	}
	name := s[start:end]
	if !enumNameOK(name) {
		return d.fail(start, `an enum name "Class:Case"`)
	}
	d.mark(v)
	v.Kind, v.Str = KindEnum, name
	if !canon {
		v.Raw = s[p : end+2]
	}
	return end + 2
}

// ref decodes R:<slot>; (a PHP reference, takes no slot) and r:<slot>;
// (another handle to an object, takes a slot).
func (d *decoder) ref(p int, v *Value) int {
	s := d.s
	u, q, canon, ok := parseUIV(s, p+2)
	if !ok || q >= len(s) || s[q] != ';' {
		return d.fail(p, string(s[p])+":<slot>;")
	}
	if s[p] == 'R' {
		if u == 0 || u > uint64(d.slots) {
			return d.fail(p+2, "a slot number of an earlier value (1.."+strconv.FormatInt(d.slots, 10)+")")
		}
		if d.resolve(int64(u)) == v {
			return d.fail(p+2, "a slot other than the one this value overwrites (repeated key)")
		}
		v.Kind = KindRef
	} else {
		d.mark(v)
		if u == 0 || u >= uint64(d.slots) {
			return d.fail(p+2, "a slot number of an earlier value (1.."+strconv.FormatInt(d.slots-1, 10)+")")
		}
		t := d.resolve(int64(u))
		if t == v {
			return d.fail(p+2, "a slot other than the one this value overwrites (repeated key)")
		}
		if !isObject(t.Kind) {
			return d.fail(p+2, "a slot that holds an object (r: refers to objects only)")
		}
		v.Kind = KindObjRef
	}
	d.tab[u-1].v.Anchor = int64(u)
	v.Int = int64(u)
	if !canon {
		v.Raw = s[p : q+1]
	}
	return q + 1
}
