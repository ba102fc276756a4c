package phpser

import (
	"strconv"
	"unsafe"
)

// DecodeOptions tunes decoding. The zero value decodes as PHP does with its
// default ini settings.
type DecodeOptions struct {
	// MaxDepth is unserialize_max_depth: the deepest nesting of arrays and
	// objects allowed (an empty array does not count, as in PHP). Values <= 0
	// mean DefaultMaxDepth: there is no unlimited mode, so that no input can
	// exhaust the stack.
	MaxDepth int
	// Borrow makes the decoded values alias the input itself instead of a
	// copy of it (saving a copy of a large session): the caller must not
	// change the input while the decoded values are in use.
	Borrow bool

	each *eachHook // StreamJSON: the entries of top-level containers, one at a time
	// Shown, when > 0, is how many entries of each array and object
	// EachTop keeps where it decodes values that stand apart (no
	// reference anywhere; a walk with references ignores it): the entries
	// after those are checked as decoding checks them and dropped, so that
	// a view of a wide value never holds all of it. Such a container has
	// FlagCut set and its count in Int; it cannot be encoded.
	Shown int
}

// input returns data as the string the decoder works on: a copy, or with
// Borrow the same bytes.
func (o DecodeOptions) input(data []byte) string {
	if o.Borrow && len(data) > 0 {
		return unsafe.String(unsafe.SliceData(data), len(data))
	}
	return string(data)
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
	d := newDecoder(o.input(data), o)
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

	partial   bool     // DecodePartial: keep the entries before a failure
	spec      int      // > 0 while reading a payload that may turn out opaque
	nesting   int      // C: payloads being read, outermost first
	anchorLog []*Value // earlier values given an Anchor while spec > 0

	arena  []Entry // free entries of the current slab
	budget int     // entries that may still be claimed in total

	err  *SyntaxError
	path []Key // key path of a failure, innermost first

	refSeen bool // an R: or r: was read (topsApart: the values are not apart)

	// cut > 0 (DecodeOptions.Shown): a container keeps its first cut
	// entries and decodes the others into scratch (one a depth) and the
	// arena's same entries; no slot is recorded (nothing may refer).
	cut     int
	scratch []Entry
	// prune: the pointers a selection follows below the value being
	// decoded (prune.go). noTab: cut or pruned, no slot is recorded.
	prune *pruneNode
	noTab bool
	recs  *[]deepRec // where pruned containers and their kept entries lie (EncodeDeepChange)
	// each: StreamJSON's hook, for the containers at eachDepth (a
	// top-level value's).
	each      *eachHook
	eachDepth int

	// A walk a top-level variable at a time of a session holding
	// references (linkedTops): base is how many slots the variables
	// before this one took (tab starts at slot base+1), link what the
	// walk keeps of them, named the slots references in this one name.
	base  int64
	link  *linker
	named []int64
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
		tab: make([]slotInfo, 0, min(len(s)/24+4, 4096)),
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
func (d *decoder) error() error { return finishError(&d.err, d.path) }

// serExcerpt returns a %q-quoted excerpt of s at p, or "end of input".
func serExcerpt(s string, p int) string {
	if p >= len(s) || p < 0 {
		return "end of input"
	}
	e := min(p+16, len(s))
	return strconv.Quote(s[p:e])
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
