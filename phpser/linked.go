package phpser

import "slices"

// This file walks a php or php_binary session whose values refer to
// others (R:, r:) a top-level variable at a time, as it walks one whose
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
// it stands against the repeated key: the JSON mapping's refTargets).

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
	if h != HandlerPHP && h != HandlerPHPBinary {
		return nil, false
	}
	lk := &linker{}
	if ok, _ := o.walkTops(in, h, lk, nil); !ok {
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

// linkedTopChange is EncodeTopChange for a php or php_binary session.
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
	ri := 0
	lk.consume = true // each entry is encoded before the next is read
	_, err := o.linkedSecond(in, h, lk, func(en *Entry, _, _, _ int) error {
		if !en.Key.IsInt && en.Key.Str == c.Key {
			switch {
			case c.Remove:
				return nil
			case c.Replace != nil:
				if ri >= len(c.Replace) {
					return errStreamDisagrees
				}
				en = &c.Replace[ri]
				ri++
			}
		}
		return e.sessionEntry(h, en)
	})
	if err == nil && c.Replace != nil && ri != len(c.Replace) {
		err = errStreamDisagrees
	}
	for i := range c.Add {
		if err != nil {
			break
		}
		err = e.sessionEntry(h, &c.Add[i])
	}
	if err != nil {
		return nil, true, err
	}
	return e.buf, true, nil
}

// refersOut reports whether v holds a reference.
func refersOut(v *Value) bool {
	if v.Kind == KindRef || v.Kind == KindObjRef {
		return true
	}
	for i := range v.Elems {
		if refersOut(&v.Elems[i].Val) {
			return true
		}
	}
	return false
}
