package phpser

// selectedExt is DecodeSelected for an igbinary or msgpack session whose
// variables are not tied to each other (handled false: decode it whole):
// one walk checks the session and keeps only the selected variables, the
// sizes of the values' encodings and whether Strings matched, as they are
// met. Six 4.4 MB igbinary sessions made ls --where peak at 644 MB when
// each was decoded whole.
func (o DecodeOptions) selectedExt(data []byte, h Handler, sel Selection) (r Selected, handled bool, err error) {
	if sel.Spans {
		return Selected{}, false, nil // mutateTopExt walks them itself
	}
	s := o.input(data)
	sess := &Session{Handler: h, Root: Value{Kind: KindArray}}
	one := &Session{Handler: h, Root: Value{Kind: KindArray, Elems: make([]Entry, 1)}}
	unsized := false
	// One walk, without looking for strings written twice (that only
	// says whether the bytes are the encoder's own: a session that is
	// not is selected from all the same).
	t, res, err := o.extTops(s, h, -1, func(e *Entry, _, _ int) error {
		if sel.Sizes && !unsized {
			// As a caller computes them from a whole session (a value
			// serialize() cannot write: the whole session, below).
			if v, err := EncodeValue(e.Val); err == nil {
				r.Sizes = append(r.Sizes, TopSize{Key: e.Key, Size: len(v)})
			} else {
				unsized = true
			}
		}
		if sel.Strings != nil && !r.Matched {
			one.Root.Elems[0] = *e
			r.Matched = one.Strings(sel.Strings)
			one.Root.Elems[0] = Entry{}
		}
		for _, key := range sel.Keys {
			if firstToken(key) == topKeyText(e.Key) {
				sess.Root.Elems = append(sess.Root.Elems, *e)
				return nil
			}
		}
		return errNotKept
	})
	switch {
	case res == topsFailed:
		return Selected{}, true, err
	case res == topsDeclined && !t.exotic, unsized:
		return Selected{}, false, nil // tied variables: decode it whole
	}
	r.Sess = sess
	return r, true, nil
}
