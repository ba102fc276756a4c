package phpser

import (
	"io"
	"strconv"
)

// This file writes a session's JSON mapping as it decodes it, for a
// session that is one wide value (a framework's attribute bag): not a
// top-level variable at a time only, as EachTop gives them, but each
// top-level array's or object's entries one at a time too, decoded into
// scratch memory and written, never held together.

// eachHook, when set in DecodeOptions, is called by a walk of values that
// stand apart with each entry of each top-level array or object, as it is
// decoded (top: the variable's entry, its key parsed; c: the container,
// its kind and class set, its entries not kept: FlagCut, its count in
// Int; i: the entry's index).
type eachHook struct {
	fn  func(top *Entry, c *Value, i int, e *Entry) error
	top *Entry
	err error // fn's error, which stopped the walk
}

// eachEntries decodes the n entries of a top-level container at p,
// handing each to the hook and keeping none.
func (d *decoder) eachEntries(p int, v *Value, n int, array bool) int {
	return d.scratchEntries(p, v, n, array, nil, func(i int, e *Entry, _, _, _ int) (bool, bool) {
		if err := d.each.fn(d.each.top, v, i, e); err != nil {
			d.each.err = err
			return false, false
		}
		return false, true
	})
}

// StreamJSON writes to out prefix and then the JSON mapping of session
// data (WriteJSON's bytes for the decoded session), decoding each
// top-level variable and each entry of a top-level array or object one at
// a time, so that memory stays flat whatever one variable holds. Only for
// a php, php_binary or php_serialize session whose values stand apart (no
// reference, no Serializable payload) and whose keys do not repeat, at
// the top level or in a top-level array or object (JSON keeps one of a
// repeated key: a first pass looks): ok false otherwise, with nothing
// written. err: out's error. With HandlerAuto, the handler is the one
// the scan detects where it takes the session as php or php_serialize
// (else ok is false).
func (o DecodeOptions) StreamJSON(out io.Writer, data []byte, h Handler, prefix []byte) (ok bool, err error) {
	o.Borrow = true
	in := o.input(data)
	sc, h, ok := o.scanApart(in, h, Selection{})
	if !ok {
		return false, nil
	}
	putScanner(sc)
	if h == HandlerPHPSerialize {
		if _, _, ok := rootBody(in); !ok {
			return false, nil
		}
	}
	// First pass: no key repeats, and which top-level containers are
	// lists (keys 0, 1, 2, ... in order).
	tops := NewKeyHashes(0)
	var inner *KeyHashes
	var list []bool
	repeats := false
	hook := &eachHook{fn: func(top *Entry, c *Value, i int, e *Entry) error {
		if i == 0 {
			inner = NewKeyHashes(0)
			list = append(list, c.Kind == KindArray)
		}
		if k := e.Key; !k.IsInt || k.Int != int64(i) {
			list[len(list)-1] = false
		}
		inner.Add(e.Key)
		if i == int(c.Int)-1 && inner.Repeats() {
			repeats = true
		}
		return nil
	}}
	o.each = hook
	walked, _ := o.topsApart(in, h, func(e *Entry, _, _, _ int) error {
		tops.Add(e.Key)
		return nil
	})
	if !walked || repeats || tops.Repeats() {
		return false, nil
	}
	// Second pass: written as it goes, in pieces of about 64 KiB.
	w := jsonWriter{s: &Session{Handler: h}}
	dst := append(make([]byte, 0, jsonChunk+4096), prefix...)
	dst = append(dst, '{')
	n, c := 0, 0 // top-level entries written; containers streamed
	flush := func() error {
		if len(dst) < jsonChunk {
			return nil
		}
		_, err := out.Write(dst)
		dst = dst[:0]
		return err
	}
	topKey := func(k Key) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		if k.IsInt {
			dst = append(strconv.AppendInt(append(dst, '"'), k.Int, 10), '"')
		} else {
			dst = appendJSONString(dst, k.Str)
		}
		dst = append(dst, ':')
	}
	hook.fn = func(top *Entry, v *Value, i int, e *Entry) error {
		if i == 0 {
			topKey(top.Key)
			switch {
			case list[c]:
				dst = append(dst, '[')
			case v.Kind == KindObject:
				dst = appendJSONString(append(dst, `{"__class":`...), v.Str)
			default:
				dst = append(dst, '{')
			}
		}
		if i > 0 || !list[c] && v.Kind == KindObject {
			dst = append(dst, ',')
		}
		if !list[c] {
			k := e.Key
			switch {
			case k.IsInt:
				dst = append(strconv.AppendInt(append(dst, '"'), k.Int, 10), '"')
			case v.Kind == KindObject:
				name, _, _ := k.Prop()
				dst = appendJSONString(dst, name)
			default:
				dst = appendJSONString(dst, k.Str)
			}
			dst = append(dst, ':')
		}
		dst = w.value(dst, &e.Val)
		if i == int(v.Int)-1 {
			if list[c] {
				dst = append(dst, ']')
			} else {
				dst = append(dst, '}')
			}
			c++
		}
		return flush()
	}
	walked, err = o.topsApart(in, h, func(e *Entry, _, _, _ int) error {
		if e.Val.Flags&FlagCut == 0 {
			topKey(e.Key)
			dst = w.value(dst, &e.Val)
		}
		return flush()
	})
	if hook.err != nil {
		return true, hook.err
	}
	if err != nil {
		return true, err
	}
	if !walked {
		return true, errStreamDisagrees
	}
	_, err = out.Write(append(dst, '}'))
	return true, err
}
