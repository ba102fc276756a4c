package phpser

import (
	"slices"
	"strconv"
	"strings"
)

// EncodeDeepChange applies change, a set or unset of the value at JSON
// Pointer key (below the top level: two tokens or more), to a php,
// php_binary or php_serialize session whose values stand apart, without
// decoding the top-level value the pointer lies in whole: a Deep
// selection decodes the entries along the pointer, change runs on a
// session holding only those, and the old bytes are spliced where the
// change left its mark (a value replaced, an entry removed or added at
// the end of its array or object, whose count is written again). The
// result is what encoding the whole changed tree gives, since every other
// value encodes to its own bytes.
//
// ok false: nothing was done, decode the session whole (it holds a
// reference or a payload, a key along the pointer repeats, the pointer
// appends with "-", the change failed or did something else). changed
// false with ok: the change changed nothing.
func (o DecodeOptions) EncodeDeepChange(data []byte, h Handler, key string, change func(*Session) (bool, error)) (nb []byte, changed, ok bool) {
	toks, err := parsePath(key)
	if err != nil || !strings.HasPrefix(key, "/") || len(toks) < 2 || slices.Contains(toks, "-") {
		return nil, false, false
	}
	switch h {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize:
	default:
		return nil, false, false
	}
	o.Borrow = true
	sel, err := o.DecodeSelected(data, h, Selection{Keys: []string{key}, Spans: true, Deep: true})
	if err != nil || sel.Full || sel.Linked || len(sel.Sess.Root.Elems) != 1 || len(sel.deep) == 0 {
		return nil, false, false
	}
	top := sel.Sess.Root.Elems[0].Val
	// The records by depth: one pruned container a level (a chain: a
	// repeated key along the pointer has the whole decode decide), and
	// its kept entry, if any.
	base := sel.deep[0].depth
	for _, r := range sel.deep {
		base = min(base, r.depth)
	}
	levels := make([]struct {
		cont, entry *deepRec
	}, len(toks)-1)
	for i := range sel.deep {
		r := &sel.deep[i]
		l := r.depth - base
		if l < 0 || l >= len(levels) {
			return nil, false, false
		}
		switch {
		case r.cont && levels[l].cont == nil:
			levels[l].cont = r
		case !r.cont && levels[l].entry == nil:
			levels[l].entry = r
		default:
			return nil, false, false
		}
	}
	old := cloneChain(top)
	part := &Session{Handler: h, Root: Array(sel.Sess.Root.Elems[0])}
	part.Root.Elems[0].Val = cloneChain(top)
	changed, err = change(part)
	if err != nil || len(part.Root.Elems) != 1 {
		return nil, false, false
	}
	if !changed {
		return nil, false, true
	}
	var ops []splice
	ov, nv := &old, &part.Root.Elems[0].Val
	for l := range levels {
		lv := levels[l]
		if lv.cont == nil || nv.Kind != ov.Kind || nv.Flags&FlagCut == 0 || nv.Int != ov.Int || !ov.IsContainer() || ov.Raw != "" || len(ov.Elems) > 1 {
			return nil, false, false
		}
		array := ov.Kind == KindArray
		k := len(ov.Elems)
		if (k == 1) != (lv.entry != nil) {
			return nil, false, false
		}
		switch {
		case k == 1 && len(nv.Elems) == 1 && sameKey(ov.Elems[0].Key, nv.Elems[0].Key):
			oe, ne := &ov.Elems[0].Val, &nv.Elems[0].Val
			if oe.Flags&FlagCut != 0 {
				ov, nv = oe, ne // on down the pointer
				continue
			}
			if Equal(*oe, *ne) && oe.Raw == ne.Raw {
				return nil, false, false // a change elsewhere
			}
			b, err := AppendValue(nil, *ne)
			if err != nil {
				return nil, false, false
			}
			ops = append(ops, splice{lv.entry.b, lv.entry.c, b})
		case k == 1 && len(nv.Elems) == 0:
			ops = append(ops, splice{lv.entry.a, lv.entry.c, nil}, countSplice(lv.cont, ov.Int-1))
		case len(nv.Elems) == k+1 && (k == 0 || sameKey(ov.Elems[0].Key, nv.Elems[0].Key) && Equal(ov.Elems[0].Val, nv.Elems[0].Val)):
			var few [8]encAnchor
			e := encoder{few: few[:0]}
			ne := &nv.Elems[k]
			e.key(&ne.Key, array)
			if err := e.value(&ne.Val); err != nil {
				return nil, false, false
			}
			ops = append(ops, splice{lv.cont.c, lv.cont.c, e.buf}, countSplice(lv.cont, ov.Int+1))
		default:
			return nil, false, false
		}
		return applySplices(data, ops), true, true
	}
	return nil, false, false
}

// splice replaces in[at:end] with b.
type splice struct {
	at, end int
	b       []byte
}

// countSplice writes a pruned container's count anew.
func countSplice(r *deepRec, n int64) splice {
	return splice{r.a, r.b, strconv.AppendInt(nil, n, 10)}
}

// applySplices returns in with ops (not overlapping) applied.
func applySplices(in []byte, ops []splice) []byte {
	slices.SortFunc(ops, func(x, y splice) int { return x.at - y.at })
	size := len(in)
	for _, op := range ops {
		size += len(op.b) - (op.end - op.at)
	}
	out := make([]byte, 0, size)
	at := 0
	for _, op := range ops {
		out = append(append(out, in[at:op.at]...), op.b...)
		at = op.end
	}
	return append(out, in[at:]...)
}

// sameKey reports whether two keys are the same as written.
func sameKey(a, b Key) bool { return KeyEqual(a, b) && a.Raw == b.Raw }

// cloneChain copies v's pruned containers (what a change may alter in
// place), sharing the rest.
func cloneChain(v Value) Value {
	if v.Flags&FlagCut == 0 {
		cloneValue(&v) // the value at the pointer (adopt_stream.go)
		return v
	}
	el := make([]Entry, len(v.Elems))
	for i, e := range v.Elems {
		e.Val = cloneChain(e.Val)
		el[i] = e
	}
	v.Elems = el
	return v
}
