package phpser

import (
	"bytes"
	"hash/maphash"
	"slices"
	"strconv"
)

// This file walks a php or php_binary session whose values refer to
// others (R:, r:) a top-level variable at a time (a php_serialize one
// its root array's entry at a time), as it walks one whose
// values stand apart (tops_apart.go), so that EachTop, ValidateSession,
// a selection and a change of one variable never build the whole tree.
//
// PHP numbers reference slots across the whole session, one table for
// every variable; a reference names a slot of the same variable or of an
// earlier one. The walk numbers slots on from one variable to the next
// and keeps, per slot, the two facts a later reference needs of an
// earlier variable's value: whether PHP finds an object there (r: may
// name only objects) and whether a repeated key later filled its place
// with another value. A first pass checks every value as DecodeSession
// does and collects the slots references name; the second decodes each
// variable again, giving those values their Anchor as the whole decode
// gives it, before the variable is handed on.
//
// A session where a reference names a place a repeated key refilled is
// decoded whole (which value the reference then means depends on where
// it stands against the repeated key: the JSON mapping's refTargets), and
// so is a php_serialize session whose root array repeats a key or is
// named by a reference (its slot, 1, is not a variable's).

// linker is what a walk of linked values keeps from one variable to the
// next.
type linker struct {
	obj    bitset  // slots whose value PHP takes for an object
	shadow bitset  // slots whose place a repeated key refilled
	named  []int64 // first pass: every slot a reference names, as read
	anchor []int64 // second pass: those slots, sorted, each once
	next   int     // second pass: the first of anchor not yet reached
	second bool
	// consume: the second pass's fn keeps nothing of an entry once it
	// returns (walkTops decodes the next into the same memory).
	consume bool

	// A php_serialize session's variables are its root array's entries:
	// the first pass keeps a hash of each key, to find a repeated one
	// (which refills a place of the root array, whose slot is 1).
	keys *KeyHashes
}

// KeyHashes tells whether a key repeats in a walk of a session's
// variables at 8 bytes a key: it keeps a hash of each.
type KeyHashes struct {
	seed maphash.Seed
	h    []uint64
}

// NewKeyHashes returns an empty KeyHashes with room for n keys.
func NewKeyHashes(n int) *KeyHashes {
	return &KeyHashes{seed: maphash.MakeSeed(), h: make([]uint64, 0, n)}
}

// Add adds key k (PHP's array key: an int, or a string).
func (ks *KeyHashes) Add(k Key) {
	var h uint64
	if k.IsInt {
		h = maphash.Comparable(ks.seed, k.Int) ^ 1
	} else {
		h = maphash.String(ks.seed, k.Str)
	}
	ks.h = append(ks.h, h)
}

// Repeats reports whether a key was added twice, or two keys' hashes
// are the same (rare: a caller takes that for a repeat, which is safe),
// and lets the hashes go.
func (ks *KeyHashes) Repeats() bool {
	h := ks.h
	ks.h = nil
	slices.Sort(h)
	for i := 1; i < len(h); i++ {
		if h[i] == h[i-1] {
			return true
		}
	}
	return false
}

// rootApart reports, after the first pass over a php_serialize session,
// whether its root array's entries can be walked one at a time as the
// whole decode reads them: no key repeats (its value would refill the
// earlier one's place) and no reference names slot 1, the root array
// still being filled.
func (lk *linker) rootApart() bool {
	if lk.keys.Repeats() {
		return false
	}
	return !slices.Contains(lk.named, 1)
}

// bitset is a set of slot numbers.
type bitset []uint64

func (b *bitset) set(i int64) {
	w := int(i / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	(*b)[w] |= 1 << (i % 64)
}

func (b bitset) has(i int64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

// endTop records, once a top-level variable is read, what later ones need
// of its slots (first pass), or gives the values references name their
// Anchor (second pass).
func (d *decoder) endTop() {
	lk := d.link
	if lk.second {
		for ; lk.next < len(lk.anchor) && lk.anchor[lk.next] <= d.slots; lk.next++ {
			u := lk.anchor[lk.next]
			if u <= d.base {
				continue // not possible: named slots lie in read values
			}
			if t := d.at(u).v; t.Anchor == 0 {
				t.Anchor = u
			}
		}
		return
	}
	for i := range d.tab {
		u := d.base + int64(i) + 1
		r := d.resolve(u)
		if isObject(r.Kind) {
			lk.obj.set(u)
		}
		if r != d.tab[i].v {
			lk.shadow.set(u)
		}
	}
	lk.named = append(lk.named, d.named...)
}

// linkedTops walks session in (php or php_binary) a top-level variable
// at a time, each decoded exactly as DecodeSession decodes it (references
// included, their targets' Anchors set), calling fn, when not nil, with
// each (fn nil: the first pass only, which checks the session). ok
// false: the session does not decode, or does not walk so (a reference
// to a refilled place, another handler); fn was not called.
func (o DecodeOptions) linkedTops(in string, h Handler, fn func(e *Entry, keyStart, start, end int) error) (ok bool, err error) {
	lk, ok := o.linkedFirst(in, h, fn == nil)
	if !ok || fn == nil {
		return ok, nil
	}
	return o.linkedSecond(in, h, lk, fn)
}

// linkedFirst is linkedTops' first pass; unless only checking, it also
// turns the named slots into anchors (ok false: one names a refilled
// place).
func (o DecodeOptions) linkedFirst(in string, h Handler, check bool) (*linker, bool) {
	lk := &linker{}
	switch h {
	case HandlerPHP, HandlerPHPBinary:
	case HandlerPHPSerialize:
		n, _, ok := rootBody(in)
		if !ok {
			return nil, false
		}
		// Room for the count of entries, up to one per 16 bytes (a count
		// written larger fails the walk before it runs out).
		lk.keys = NewKeyHashes(int(min(n, int64(len(in)/16))))
	default:
		return nil, false
	}
	if ok, _ := o.walkTops(in, h, lk, nil); !ok {
		return nil, false
	}
	if h == HandlerPHPSerialize && !lk.rootApart() {
		return nil, false
	}
	if check {
		return lk, true
	}
	return lk, lk.anchors()
}

// linkedSecond is linkedTops' second pass.
func (o DecodeOptions) linkedSecond(in string, h Handler, lk *linker, fn func(e *Entry, keyStart, start, end int) error) (bool, error) {
	ok, err := o.walkTops(in, h, lk, fn)
	if !ok {
		return true, errStreamDisagrees
	}
	return true, err
}

// anchors turns the first pass's named slots into the second's
// anchors; false when one names a refilled place.
func (lk *linker) anchors() bool {
	a := lk.named
	slices.Sort(a)
	a = slices.Compact(a)
	for _, u := range a {
		if lk.shadow.has(u) {
			return false
		}
	}
	lk.named, lk.anchor, lk.second, lk.next = nil, a, true, 0
	return true
}

// linkedTopChange is EncodeTopChange for a php, php_binary or
// php_serialize session.
func (o DecodeOptions) linkedTopChange(dst []byte, in string, h Handler, c TopChange) ([]byte, bool, error) {
	for _, el := range [][]Entry{c.Replace, c.Add} {
		for i := range el {
			if refersOut(&el[i].Val) {
				return nil, false, nil
			}
		}
	}
	lk, ok := o.linkedFirst(in, h, false)
	if !ok {
		return nil, false, nil
	}
	// The first pass's garbage goes (Reclaim) before the buffer is taken.
	var few [8]encAnchor
	e := encoder{buf: c.buffer(dst), few: few[:0]}
	// A php_serialize session: its root array's header (the count is
	// written again once known), slot 1 being the root's.
	count, head := int64(0), len(e.buf)
	if h == HandlerPHPSerialize {
		var body int
		count, body, _ = rootBody(in)
		e.buf = append(e.buf, in[:body]...)
		e.slots = 1
	}
	ri, n := 0, count
	lk.consume = true // each entry is encoded before the next is read
	_, err := o.linkedSecond(in, h, lk, func(en *Entry, _, _, _ int) error {
		if topKeyText(en.Key) == c.Key { // as the selection matches it (an int key of php_serialize's root too)
			switch {
			case c.Remove:
				n--
				return nil
			case c.Replace != nil:
				if ri >= len(c.Replace) {
					return errStreamDisagrees
				}
				en = &c.Replace[ri]
				ri++
			}
		}
		return e.topEntry(h, en)
	})
	if err == nil && c.Replace != nil && ri != len(c.Replace) {
		err = errStreamDisagrees
	}
	for i := range c.Add {
		if err != nil {
			break
		}
		err = e.topEntry(h, &c.Add[i])
		n++
	}
	if err != nil {
		return nil, true, err
	}
	if h == HandlerPHPSerialize {
		e.buf = append(e.buf, '}')
		if n != count {
			e.buf = rewriteCount(e.buf, head, n)
		}
	}
	return e.buf, true, nil
}

// rewriteCount gives the array header a:<count>:{ at b[at:] the count n,
// moving what follows it when its length changes.
func rewriteCount(b []byte, at int, n int64) []byte {
	var num [20]byte
	d := strconv.AppendInt(num[:0], n, 10)
	end := at + 2 + bytes.IndexByte(b[at+2:], ':') // the old count's end
	grow := len(d) - (end - at - 2)
	if grow > 0 {
		b = append(b, make([]byte, grow)...)
	}
	copy(b[end+grow:], b[end:len(b)-max(grow, 0)])
	b = b[:len(b)+min(grow, 0)]
	copy(b[at+2:], d)
	return b
}

// refersOut reports whether v holds a reference.
func refersOut(v *Value) bool { return v.Any(IsRef) }
