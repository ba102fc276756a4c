package phpser

// A selection that asks for values deep inside a top-level one
// (Selection.Deep: a --where or --columns on /cart/items/0/id) decodes
// only the entries along those JSON Pointers: each array and object on
// the way keeps the entries whose key a token of the pointers names (as
// Session.Lookup matches it, every occurrence), and the value a pointer
// ends at is decoded whole. The others are decoded into scratch memory,
// checked as decoding checks them, and dropped, so that a session that is
// one wide value is not built whole to read one leaf. Only for values
// that stand apart (the scan found no reference): nothing can refer to
// what is dropped.

// pruneNode is a step of the pointers below a top-level value: the
// tokens that go on from it. whole: a pointer ends here (the value is
// decoded whole).
type pruneNode struct {
	whole bool
	next  []pruneStep
}

// pruneStep is one token and the step it leads to.
type pruneStep struct {
	tok  string
	key  Key // ArrayKey(tok)
	node *pruneNode
}

// pruneFor returns, for top-level key text top, the pointers of keys
// under it (nil: its value is wanted whole, or no pointer goes below it).
func pruneFor(keys []string, top string) *pruneNode {
	root := &pruneNode{}
	for _, k := range keys {
		toks, err := parsePath(k)
		if err != nil || toks[0] != top {
			continue
		}
		if len(toks) == 1 {
			return nil // the whole value
		}
		n := root
		for _, t := range toks[1:] {
			n = n.step(t)
		}
		n.whole = true
	}
	if len(root.next) == 0 {
		return nil
	}
	return root
}

// step returns the node tok leads to, added when new.
func (n *pruneNode) step(tok string) *pruneNode {
	for _, s := range n.next {
		if s.tok == tok {
			return s.node
		}
	}
	c := &pruneNode{}
	n.next = append(n.next, pruneStep{tok: tok, key: ArrayKey(tok), node: c})
	return c
}

// match returns the node an entry with key k of an array (or object)
// leads to, nil when no token names it. An entry two tokens name (which
// Lookup's rules never give) is decoded whole.
func (n *pruneNode) match(k Key, obj bool) (next *pruneNode, ok bool) {
	for i := range n.next {
		s := &n.next[i]
		if !keyNamed(k, s, obj) {
			continue
		}
		if ok {
			return nil, true
		}
		next, ok = s.node, true
	}
	if ok && next.whole {
		return nil, true
	}
	return next, ok
}

// keyNamed reports whether token s may name key k in Session.match: the
// key PHP would use for the token, or (arrays) a string key spelled as
// the token, or (objects) a property of that plain name.
func keyNamed(k Key, s *pruneStep, obj bool) bool {
	if obj {
		if k.IsInt {
			return s.key.IsInt && k.Int == s.key.Int
		}
		name, _, _ := k.Prop()
		return name == s.tok
	}
	return KeyEqual(k, s.key) || !k.IsInt && k.Str == s.tok
}

// prunedEntries decodes the n entries of a container at p, keeping in
// v.Elems those the current pointers name (v is marked cut, its count
// kept) and decoding the others into scratch memory, dropped.
func (d *decoder) prunedEntries(p int, v *Value, n int, array bool) int {
	node, body, kept := d.prune, p, false
	p = d.scratchEntries(p, v, n, array, func(k Key) {
		d.prune, kept = node.match(k, !array)
	}, func(_ int, e *Entry, keyStart, valStart, end int) (bool, bool) {
		d.prune = node
		if kept {
			v.Elems = append(v.Elems, *e) // e: where it was decoded, should the scratch have grown since
			if d.recs != nil {
				*d.recs = append(*d.recs, deepRec{depth: d.depth, a: keyStart, b: valStart, c: end})
			}
		}
		return kept, true
	})
	d.prune = node
	if p >= 0 && d.recs != nil {
		// The count: the digits before the header's closing ":{".
		a := body - 2
		for a > 0 && d.s[a-1]-'0' <= 9 {
			a--
		}
		*d.recs = append(*d.recs, deepRec{depth: d.depth, cont: true, a: a, b: body - 2, c: p})
	}
	return p
}

// cutEntries decodes the n entries of a container at p for a view
// (DecodeOptions.Shown): the first d.cut are kept in v.Elems, the others
// checked and dropped.
func (d *decoder) cutEntries(p int, v *Value, n int, array bool) int {
	v.Elems = make([]Entry, 0, d.cut)
	return d.scratchEntries(p, v, n, array, nil, func(i int, e *Entry, _, _, _ int) (bool, bool) {
		if i < d.cut {
			v.Elems = append(v.Elems, *e) // e: where it was decoded, should the scratch have grown since
			return true, true
		}
		return false, true
	})
}

// scratchEntries decodes the n entries of container v at p one at a
// time, each into the scratch entry of its depth, and hands each to keep
// with where it lies (its key at keyStart, its value at [valStart, end)):
// kept false gives back what its value took of the arena, ok false stops
// the decode. next, when not nil, is called once an entry's key is read,
// before its value is decoded. v is marked cut, its count kept in Int.
func (d *decoder) scratchEntries(p int, v *Value, n int, array bool, next func(k Key), keep func(i int, e *Entry, keyStart, valStart, end int) (kept, ok bool)) int {
	v.Flags |= FlagCut
	v.Int = int64(n)
	saved := d.cur
	par := int32(d.slots)
	d.path0 = append(d.path0, par)
	for len(d.scratch) <= d.depth {
		d.scratch = append(d.scratch, Entry{})
	}
	for i := range n {
		e := &d.scratch[d.depth]
		*e = Entry{}
		mark := d.arena
		d.cur = slotLoc{par: par, idx: int32(i)}
		keyStart := p
		if p = d.key(p, &e.Key, array); p < 0 {
			return p
		}
		if next != nil {
			next(e.Key)
		}
		valStart := p
		if p = d.value(p, &e.Val); p < 0 {
			d.path = append(d.path, e.Key)
			return p
		}
		kept, ok := keep(i, e, keyStart, valStart, p)
		if !ok {
			return d.fail(p, "no error handing the entry on")
		}
		if !kept {
			rewindArena(&d.arena, mark)
		}
	}
	d.cur = saved
	d.path0 = d.path0[:len(d.path0)-1]
	return p
}

// deepRec is where a Deep selection's pruned container (cont: its count
// at [a, b), its closing brace at c) or one of its kept entries (its key
// at a, its value at [b, c)) lies in the input, at nesting depth.
type deepRec struct {
	depth   int
	cont    bool
	a, b, c int
}
