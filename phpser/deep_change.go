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
// ok false: nothing was done, decode the session another way (it holds
// a reference or a payload, or does not decode: the scan that says so
// builds nothing; a key along the pointer repeats, the pointer appends
// with "-", the change failed or did something else). changed false with
// ok: the change changed nothing. With HandlerAuto, the handler is the
// one the scan detects where it takes the session as php or php_serialize
// (DecodeSelectedAuto's first try; used says which), else ok is false.
func (o DecodeOptions) EncodeDeepChange(data []byte, h Handler, key string, change func(*Session) (bool, error)) (nb []byte, used Handler, changed, ok bool) {
	toks, err := parsePath(key)
	if err != nil || !strings.HasPrefix(key, "/") || len(toks) < 2 || slices.Contains(toks, "-") || len(data) == 0 {
		return nil, h, false, false
	}
	o.Borrow = true
	in := o.input(data)
	sc, h, ok := o.scanApart(in, h, Selection{Keys: []string{key}, Spans: true, Deep: true})
	if !ok {
		return nil, h, false, false
	}
	sel, err := sc.selected(h, o)
	putScanner(sc)
	if err != nil || sel.Full || len(sel.Sess.Root.Elems) != 1 || len(sel.deep) == 0 {
		return nil, h, false, false
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
			return nil, h, false, false
		}
		switch {
		case r.cont && levels[l].cont == nil:
			levels[l].cont = r
		case !r.cont && levels[l].entry == nil:
			levels[l].entry = r
		default:
			return nil, h, false, false
		}
	}
	old := cloneChain(top)
	part := &Session{Handler: h, Root: Array(sel.Sess.Root.Elems[0])}
	part.Root.Elems[0].Val = cloneChain(top)
	changed, err = change(part)
	if err != nil || len(part.Root.Elems) != 1 {
		return nil, h, false, false
	}
	if !changed {
		return nil, h, false, true
	}
	var ops []splice
	ov, nv := &old, &part.Root.Elems[0].Val
	for l := range levels {
		lv := levels[l]
		if lv.cont == nil || nv.Kind != ov.Kind || nv.Flags&FlagCut == 0 || nv.Int != ov.Int || !ov.IsContainer() || ov.Raw != "" || len(ov.Elems) > 1 {
			return nil, h, false, false
		}
		array := ov.Kind == KindArray
		k := len(ov.Elems)
		if (k == 1) != (lv.entry != nil) {
			return nil, h, false, false
		}
		switch {
		case k == 1 && len(nv.Elems) == 1 && sameKey(ov.Elems[0].Key, nv.Elems[0].Key):
			oe, ne := &ov.Elems[0].Val, &nv.Elems[0].Val
			if oe.Flags&FlagCut != 0 {
				ov, nv = oe, ne // on down the pointer
				continue
			}
			if Equal(*oe, *ne) && oe.Raw == ne.Raw {
				return nil, h, false, false // a change elsewhere
			}
			b, err := AppendValue(nil, *ne)
			if err != nil {
				return nil, h, false, false
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
				return nil, h, false, false
			}
			ops = append(ops, splice{lv.cont.c, lv.cont.c, e.buf}, countSplice(lv.cont, ov.Int+1))
		default:
			return nil, h, false, false
		}
		return applySplices(data, ops), h, true, true
	}
	return nil, h, false, false
}

// scanApart scans in as handler h (HandlerAuto: php, or php_serialize
// for input that starts like a value, detection's first try) for a
// caller that works only on sessions whose values stand apart: ok, with
// the scanner (putScanner it) and the handler, when the scan takes the
// whole input; otherwise nothing is decoded and the caller declines (a
// reference, a payload, a fault, php_binary under auto: another path
// decides, never a whole decode here).
func (o DecodeOptions) scanApart(in string, h Handler, sel Selection) (*scanner, Handler, bool) {
	switch h {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize:
	case HandlerAuto, "":
		if len(in) == 0 || detectExtension(in) != "" {
			return nil, h, false
		}
		h = HandlerPHP
		if startsLikeValue(in) {
			h = HandlerPHPSerialize
		}
	default:
		return nil, h, false
	}
	sc := getScanner(in, o, sel)
	if sc.session(h) != scanOK || sc.end != len(in) {
		putScanner(sc)
		return nil, h, false
	}
	return sc, h, true
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
