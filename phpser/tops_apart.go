package phpser

import "strings"

// This file walks a php or php_binary session, or a php_serialize one's
// root array, that the scan declines for its Serializable payloads (C:) a
// top-level value at a time: where no
// value anywhere refers to another (no R: or r:, inside payloads too),
// slot numbers mean nothing and each value decodes alone exactly as it
// does in the whole session, so EachTop, DecodeSelected and
// ValidateSession need not build the whole tree for it.

// topsApart decodes session in (handler h: php, php_binary, or
// php_serialize: its root array's entries) a top-level
// value at a time, each with a decoder of its own, calling fn (when not
// nil) with each entry and where it lies in in (its key's start, its
// value's start and end). It reports false, having stopped, at the first
// value that refers to another or does not decode (or a key that does
// not parse): the whole decode decides then. fn's error stops the walk
// and is returned (with true).
func (o DecodeOptions) topsApart(in string, h Handler, fn func(e *Entry, keyStart, start, end int) error) (bool, error) {
	return o.walkTops(in, h, nil, fn)
}

// walkTops is topsApart, and with lk, linkedTops' walk of a php,
// php_binary or php_serialize session whose values refer to others: slot numbers then run
// on from one variable to the next, and lk keeps what later ones need of
// earlier ones (linker).
func (o DecodeOptions) walkTops(in string, h Handler, lk *linker, fn func(e *Entry, keyStart, start, end int) error) (bool, error) {
	md := o.MaxDepth
	if md <= 0 {
		md = DefaultMaxDepth
	}
	d := &decoder{link: lk}
	if lk == nil && o.Shown > 0 {
		d.cut, d.noTab = o.Shown, true // values apart: nothing refers to what a cut drops
	}
	if lk == nil && o.each != nil {
		d.each, d.noTab, d.eachDepth = o.each, true, 1
		if h == HandlerPHPSerialize {
			d.eachDepth = 2 // the root array is the first level
		}
	}
	switch h {
	case HandlerPHP, HandlerPHPBinary:
	case HandlerPHPSerialize:
		if lk != nil {
			d.slots = 1 // slot 1 is the root array, $_SESSION itself
		}
		return o.rootApart(in, md, d, fn)
	default:
		return false, nil
	}
	rewind, top := reusing(lk, fn)
	for p := 0; p < len(in); {
		e := top.next(rewind)
		p0 := p
		if h == HandlerPHP {
			i := strings.IndexByte(in[p:], '|')
			if i < 0 {
				return false, nil
			}
			e.Key = Key{Str: in[p : p+i]}
			p += i + 1
		} else {
			n := int(in[p] & 0x7f)
			if p+n >= len(in) {
				return false, nil
			}
			e.Key = Key{Str: in[p+1 : p+1+n]}
			if in[p]&0x80 != 0 {
				e.Key.Raw = in[p : p+1+n] // as DecodeSession keeps it
			}
			p += 1 + n
		}
		d.restart(in, md, 0)
		mark := d.arena
		if d.each != nil {
			d.each.top = e
		}
		q, ok, err := d.apart(e, p0, p, fn)
		if !ok || err != nil {
			return ok, err
		}
		if rewind {
			rewindArena(&d.arena, mark)
		}
		p = q
	}
	return true, nil
}

// reusing says whether a walk's fn keeps nothing of an entry once it
// returns (none given: a check), so that each variable is decoded into
// the memory of the last: the top entry and the arena's entries.
func reusing(lk *linker, fn func(e *Entry, keyStart, start, end int) error) (bool, *reusedEntry) {
	return fn == nil || lk != nil && lk.consume, &reusedEntry{}
}

// reusedEntry is the top entry a walk decodes each variable into.
type reusedEntry struct{ e Entry }

// next is the entry the next variable is decoded into: this one emptied
// when rewinding, else a new one.
func (r *reusedEntry) next(rewind bool) *Entry {
	if !rewind {
		return new(Entry)
	}
	r.e = Entry{}
	return &r.e
}

// apart decodes the value of e at p (its key at keyStart) and gives it to
// fn: ok false when it does not decode or refers to another value.
func (d *decoder) apart(e *Entry, keyStart, p int, fn func(e *Entry, keyStart, start, end int) error) (q int, ok bool, err error) {
	q = d.value(p, &e.Val)
	if q <= p || d.refSeen && d.link == nil {
		return q, false, nil
	}
	if d.link != nil {
		d.endTop()
	}
	if fn != nil {
		if err := fn(e, keyStart, p, q); err != nil {
			return q, true, err
		}
	}
	return q, true, nil
}

// restart makes d a fresh decoder of in for one value at depth depth,
// keeping its slot table and its slab of entries (and, in a walk of
// linked values, numbering slots on from the last value's).
func (d *decoder) restart(in string, md, depth int) {
	tab, arena, lk, slots, named := d.tab[:0], d.arena, d.link, d.slots, d.named[:0]
	clear(tab[:cap(tab)])
	*d = decoder{s: in, maxDepth: md, budget: len(in)/4 + 1, tab: tab, arena: arena, depth: depth, cut: d.cut, noTab: d.noTab, scratch: d.scratch, each: d.each, eachDepth: d.eachDepth}
	d.path0 = d.pbuf[:0]
	if lk != nil {
		d.link, d.slots, d.base, d.named = lk, slots, slots, named
	}
}

// rootApart is topsApart for a php_serialize session: its root array's
// entries, as EachTop walks them (written a:<count>:{ as PHP writes it,
// with entries and nothing after it; else false).
func (o DecodeOptions) rootApart(in string, md int, d *decoder, fn func(e *Entry, keyStart, start, end int) error) (bool, error) {
	n, p, ok := rootBody(in)
	if !ok {
		return false, nil
	}
	lk := d.link
	rewind, top := reusing(lk, fn)
	for range n {
		e := top.next(rewind)
		p0 := p
		d.restart(in, md, 1) // the root array is the first level of nesting
		mark := d.arena
		if p = d.key(p, &e.Key, true); p < 0 {
			return false, nil
		}
		if lk != nil && !lk.second {
			lk.keys.Add(e.Key)
		}
		if d.each != nil {
			d.each.top = e
		}
		q, ok, err := d.apart(e, p0, p, fn)
		if !ok || err != nil {
			return ok, err
		}
		if rewind {
			rewindArena(&d.arena, mark)
		}
		p = q
	}
	if p != len(in)-1 || in[p] != '}' {
		return false, nil
	}
	return true, nil
}

// rootBody reads the header of a php_serialize session whose root is an
// array written a:<count>:{ as PHP writes it, with entries: their count
// and where the first starts (ok false: another root, or a count PHP
// would not write, kept in Root.Raw).
func rootBody(in string) (n int64, body int, ok bool) {
	if len(in) < 2 || in[0] != 'a' || in[1] != ':' {
		return 0, 0, false
	}
	_, q, canon, ok := parseUIV(in, 2)
	if !ok || !canon || q+1 >= len(in) || in[q] != ':' || in[q+1] != '{' {
		return 0, 0, false
	}
	n, _, _, _ = parseIV(in, 2)
	if n <= 0 || n > int64(len(in)) {
		return 0, 0, false
	}
	return n, q + 2, true
}

// eachTopApart is EachTop for a session the scan declined: a first walk
// checks that its values stand apart and decode, a second gives fn them.
func (o DecodeOptions) eachTopApart(data []byte, in string, h Handler, fn func(e *Entry, raw []byte) error) (bool, error) {
	if ok, _ := o.topsApart(in, h, nil); !ok {
		return false, nil
	}
	ok, err := o.topsApart(in, h, func(e *Entry, keyStart, _, end int) error { return fn(e, data[keyStart:end]) })
	if !ok {
		return true, errStreamDisagrees
	}
	return true, err
}

// selectedApart is DecodeSelected for a session the scan declined whose
// values stand apart (ok false: they do not, decode it whole). Strings
// are not asked for (the full path visits payloads for them).
func (o DecodeOptions) selectedApart(in string, h Handler, sel Selection) (r Selected, ok bool) {
	if sel.Strings != nil {
		return Selected{}, false
	}
	sess := &Session{Handler: h, Root: Value{Kind: KindArray}}
	ok, _ = o.topsApart(in, h, selectInto(sel, sess, &r))
	if !ok {
		return Selected{}, false
	}
	r.Sess = sess
	return r, true
}

// selectedLinked is DecodeSelected for a php, php_binary or php_serialize session whose
// values refer to others, walked a variable at a time (linkedTops; ok
// false: decode it whole). With nothing to select, only checked.
func (o DecodeOptions) selectedLinked(in string, h Handler, sel Selection) (r Selected, ok bool) {
	if sel.Strings != nil {
		return Selected{}, false
	}
	sess := &Session{Handler: h, Root: Value{Kind: KindArray}}
	var fn func(e *Entry, keyStart, start, end int) error
	if len(sel.Keys) > 0 || sel.Sizes {
		fn = selectInto(sel, sess, &r)
	}
	ok, err := o.linkedTops(in, h, fn)
	if !ok || err != nil {
		return Selected{}, false
	}
	r.Sess, r.Linked = sess, true
	return r, true
}

// selectInto is the walk's fn that keeps what sel asks for in sess and r.
func selectInto(sel Selection, sess *Session, r *Selected) func(e *Entry, keyStart, start, end int) error {
	return func(e *Entry, keyStart, start, end int) error {
		if sel.Sizes {
			r.Sizes = append(r.Sizes, TopSize{Key: e.Key, Size: end - start})
		}
		for _, key := range sel.Keys {
			if firstToken(key) == topKeyText(e.Key) {
				sess.Root.Elems = append(sess.Root.Elems, *e)
				if sel.Spans {
					r.Spans = append(r.Spans, Span{Start: keyStart, End: end})
				}
				break
			}
		}
		return nil
	}
}
