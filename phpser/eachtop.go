package phpser

import (
	"errors"
	"strings"
)

// errStreamDisagrees: the scan accepted a session whose values the decoder
// then refused. The differential tests hold the two equal; should they
// ever differ, the command fails rather than use a half-read session.
var errStreamDisagrees = errors.New("phpser: the scan and the decoder disagree on this session")

// EachTop decodes a php or php_binary session one top-level variable at a
// time, for a caller that never needs the whole tree at once: fn gets each
// entry in order, decoded exactly as DecodeSession decodes it, with raw,
// the bytes it takes in data (key and value). Nothing fn gets is kept, so
// fn may keep or drop it; an error from fn stops the walk and is returned.
// A php_serialize session is walked so too when its root is an array with
// entries, written a:<count>:{ as PHP writes it, with nothing after it:
// fn gets the root's entries (raw: each key and value inside the braces),
// together the Root.Elems of DecodeSession; other php_serialize sessions
// are declined. An igbinary or msgpack session is walked so too (fn gets
// its variables; raw: each key and value inside the session array or
// map) when no variable is tied to another and the session is written as
// its extension's encoder writes it (Canonical; eachtop_ext.go).
//
// The whole session is first checked as DecodeSession checks it (the scan
// of DecodeSelected), so fn is never called for a session that does not
// decode: that gives DecodeSession's error. Where the entries cannot be
// decoded apart (a reference or a Serializable payload anywhere: their
// meaning depends on the rest), and for other handlers, EachTop calls fn
// for none and returns false: decode the session whole.
func (o DecodeOptions) EachTop(data []byte, h Handler, fn func(e *Entry, raw []byte) error) (bool, error) {
	switch h {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize:
	case HandlerIgbinary, HandlerMsgpack:
		return o.eachTopExt(data, h, fn)
	default:
		return false, nil
	}
	in := o.input(data)
	sc := getScanner(in, o, Selection{})
	res := sc.session(h)
	end := sc.end
	putScanner(sc)
	switch res {
	case scanBail:
		// A reference or a payload: apart when no value refers to another.
		return o.eachTopApart(data, in, h, fn)
	case scanInvalid:
		if _, err := o.DecodeSession(data, h); err != nil {
			return false, err
		}
		return false, nil // the decoder accepts it after all: decode it whole
	}
	md := o.MaxDepth
	if md <= 0 {
		md = DefaultMaxDepth
	}
	d := &decoder{}
	if h == HandlerPHPSerialize {
		return o.eachRootEntry(data, in, end, md, d, fn)
	}
	for p := 0; p < len(in); {
		var e Entry
		p0 := p
		if h == HandlerPHP {
			i := strings.IndexByte(in[p:], '|')
			if i < 0 {
				return true, errStreamDisagrees
			}
			e.Key = Key{Str: in[p : p+i]}
			p += i + 1
		} else {
			n := int(in[p] & 0x7f)
			if p+n >= len(in) {
				return true, errStreamDisagrees
			}
			e.Key = Key{Str: in[p+1 : p+1+n]}
			if in[p]&0x80 != 0 {
				e.Key.Raw = in[p : p+1+n] // as DecodeSession keeps it
			}
			p += 1 + n
		}
		// A fresh decoder for each value (no slot is shared: there is no
		// reference), keeping its slot table and its slab of entries.
		tab, arena := d.tab[:0], d.arena
		clear(tab[:cap(tab)])
		*d = decoder{s: in, maxDepth: md, budget: len(in)/4 + 1, tab: tab, arena: arena}
		d.path0 = d.pbuf[:0]
		q := d.value(p, &e.Val)
		if q <= p {
			return true, errStreamDisagrees
		}
		if err := fn(&e, data[p0:q]); err != nil {
			return true, err
		}
		p = q
	}
	return true, nil
}

// eachRootEntry is EachTop for a php_serialize session the scan accepted
// (its root value ends at end).
func (o DecodeOptions) eachRootEntry(data []byte, in string, end, md int, d *decoder, fn func(e *Entry, raw []byte) error) (bool, error) {
	if end != len(in) || len(in) < 2 || in[0] != 'a' || in[1] != ':' {
		return false, nil // trailing bytes, or a root that is not an array
	}
	_, q, canon, ok := parseUIV(in, 2)
	if !ok || !canon || q+1 >= len(in) || in[q] != ':' || in[q+1] != '{' {
		return false, nil // a count written otherwise (kept in Root.Raw)
	}
	n, _, _, _ := parseIV(in, 2)
	if n <= 0 {
		return false, nil
	}
	p := q + 2
	for range n {
		var e Entry
		p0 := p
		tab, arena := d.tab[:0], d.arena
		clear(tab[:cap(tab)])
		// The root array is the first level of nesting.
		*d = decoder{s: in, maxDepth: md, budget: len(in)/4 + 1, tab: tab, arena: arena, depth: 1}
		d.path0 = d.pbuf[:0]
		p = d.key(p, &e.Key, true)
		if p < 0 {
			return true, errStreamDisagrees
		}
		q := d.value(p, &e.Val)
		if q <= p {
			return true, errStreamDisagrees
		}
		if err := fn(&e, data[p0:q]); err != nil {
			return true, err
		}
		p = q
	}
	if p != len(in)-1 || in[p] != '}' {
		return true, errStreamDisagrees
	}
	return true, nil
}
