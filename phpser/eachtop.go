package phpser

import "errors"

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
	end, payload := sc.end, sc.payload
	putScanner(sc)
	switch res {
	case scanBail:
		// A payload: apart when no value refers to another; a reference
		// (here or in a payload): linked, a variable at a time.
		if payload {
			if ok, err := o.eachTopApart(data, in, h, fn); ok {
				return ok, err
			}
		}
		return o.linkedTops(in, h, func(e *Entry, keyStart, _, end int) error { return fn(e, data[keyStart:end]) })
	case scanInvalid:
		if _, err := o.DecodeSession(data, h); err != nil {
			return false, err
		}
		return false, nil // the decoder accepts it after all: decode it whole
	}
	// The scan checked the whole session: each value is decoded by a
	// decoder of its own (no slot is shared: there is no reference).
	if h == HandlerPHPSerialize {
		if _, _, ok := rootBody(in); !ok || end != len(in) {
			return false, nil // trailing bytes, a root that is not an array or a count written otherwise
		}
	}
	ok, err := o.topsApart(in, h, func(e *Entry, keyStart, _, end int) error { return fn(e, data[keyStart:end]) })
	if !ok {
		return true, errStreamDisagrees
	}
	return true, err
}
