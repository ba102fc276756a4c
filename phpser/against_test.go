package phpser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// bigGenerated builds a session of about size bytes from generated values
// (references, objects and payloads included) under handler h.
func bigGenerated(seed uint64, h Handler, size int) *Session {
	s := &Session{Handler: h, Root: Array()}
	n := 0
	for i := 0; ; i++ {
		g := newValueGen(seed*7919 + uint64(i))
		var v Value
		g.value(&v, 3)
		k := fmt.Sprintf("k%d", i)
		if i%5 == 0 {
			// Large strings make the session cross several 64 KiB chunks.
			v = String(string(bytes.Repeat([]byte{byte('a' + i%26)}, 5000+i%3000)))
		}
		s.Root.Elems = append(s.Root.Elems, Entry{Key: StrKey(k), Val: v})
		b, _ := EncodeValue(v) // an approximate size: enough here
		n += len(k) + len(b)
		if i >= 3 && n >= size || i > 5000 {
			return s
		}
	}
}

// TestEncodeSessionOverMatchesEncodeSession: EncodeSessionOver gives
// EncodeSession's bytes, byte for byte, and its errors, for changes at the
// start, middle and end of large sessions, for unchanged ones (old itself
// comes back) and for an old encoding that has nothing to do with the
// session; and it releases the values it wrote.
func TestEncodeSessionOverMatchesEncodeSession(t *testing.T) {
	changes := []struct {
		name string
		f    func(s *Session)
	}{
		{"none", func(*Session) {}},
		{"append", func(s *Session) {
			s.Root.Elems = append(s.Root.Elems, Entry{Key: StrKey("zz_new"), Val: Int(42)})
		}},
		{"first", func(s *Session) { s.Root.Elems[0].Val = Int(-7) }},
		{"middle", func(s *Session) {
			s.Root.Elems[len(s.Root.Elems)/2].Val = String("changed")
		}},
		{"near-end", func(s *Session) {
			s.Root.Elems[len(s.Root.Elems)-2].Val = Bool(true)
		}},
		{"delete-last", func(s *Session) { s.Root.Elems = s.Root.Elems[:len(s.Root.Elems)-1] }},
		{"delete-middle", func(s *Session) {
			i := len(s.Root.Elems) / 2
			s.Root.Elems = append(s.Root.Elems[:i:i], s.Root.Elems[i+1:]...)
		}},
		{"bad-key", func(s *Session) {
			s.Root.Elems[len(s.Root.Elems)-1].Key = StrKey("a|b")
		}},
		{"dangling-ref", func(s *Session) {
			s.Root.Elems[len(s.Root.Elems)/2].Val = Value{Kind: KindRef, Int: 1 << 40}
		}},
	}
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerIgbinary, HandlerMsgpack} {
		for seed := range uint64(6) {
			size := []int{100, 70 << 10, 300 << 10}[seed%3]
			old, err := EncodeSession(bigGenerated(seed, h, size))
			if err != nil {
				// A generated value this handler cannot store.
				old = []byte("x")
			}
			for _, c := range changes {
				changed := func() *Session {
					s := bigGenerated(seed, h, size)
					c.f(s)
					return s
				}
				want, werr := EncodeSession(changed())
				for _, o := range [][]byte{old, old[:len(old)/2], append(bytes.Clone(old), "tail"...), []byte("unrelated"), nil} {
					s := changed()
					calls := 0
					got, err := EncodeSessionOver(o, s, func() { calls++ })
					if fmt.Sprint(err) != fmt.Sprint(werr) {
						t.Fatalf("%s seed %d %s: error %v, EncodeSession's %v", h, seed, c.name, err, werr)
					}
					if err != nil {
						continue
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%s seed %d %s: %d bytes, not EncodeSession's %d bytes", h, seed, c.name, len(got), len(want))
					}
					if len(want) > 4*sameChunk && len(o) > 4*sameChunk && (h == HandlerPHP || h == HandlerPHPBinary) && calls < 3 {
						t.Errorf("%s seed %d %s: reclaim called %d times over %d bytes", h, seed, c.name, calls, len(want))
					}
					if bytes.Equal(want, o) && len(o) > 0 && &got[0] != &o[0] {
						t.Errorf("%s seed %d %s: an unchanged encoding is not old itself", h, seed, c.name)
					}
					if h == HandlerPHP || h == HandlerPHPBinary || h == HandlerPHPSerialize {
						for _, en := range s.Root.Elems {
							if en.Val.Str != "" || en.Val.Elems != nil {
								t.Fatalf("%s seed %d %s: a written value was not released", h, seed, c.name)
							}
						}
					}
				}
			}
		}
	}
}

// TestAppendEncodedTextMatchesParseText: AppendEncodedText is ParseText then
// EncodeSession, on the text of generated sessions of every handler
// (large ones, references and payloads included), on those texts cut
// short or mutated, and on texts with an entry that cannot be encoded.
func TestAppendEncodedTextMatchesParseText(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 0
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerIgbinary, HandlerMsgpack} {
		for seed := range uint64(40) {
			var s *Session
			if seed%10 == 0 {
				s = bigGenerated(seed, h, 100<<10)
			} else {
				s = newValueGen(seed).session(h)
			}
			text := FormatText(s)
			var w bytes.Buffer
			if err := WriteText(&w, s); err != nil || !bytes.Equal(w.Bytes(), text) {
				t.Fatalf("%s seed %d: WriteText wrote %d bytes (%v), FormatText %d", h, seed, w.Len(), err, len(text))
			}
			checkAppendEncodedText(t, text)
			checkAppendEncodedText(t, text[:len(text)/2])
			for range 5 {
				checkAppendEncodedText(t, mutate(r, bytes.Clone(text)))
				n++
			}
			// A reference to a label defined later, and a key php cannot
			// store, are errors of EncodeSession or ParseText.
			checkAppendEncodedText(t, append(bytes.Clone(text), "zz = *99999\n"...))
			checkAppendEncodedText(t, append(bytes.Clone(text), "\"a|b\" = 1\nzz = 2\n"...))
			checkAppendEncodedText(t, append(bytes.Clone(text), "\"a|b\" = 1\nzz = [\n"...))
		}
	}
	// php_serialize roots written an entry at a time: repeated keys over
	// anchored places, references and object handles across entries.
	for _, text := range []string{
		"@handler = php_serialize\na = &1 object X { }\nb = @1\na = 5\nc = *1\n",
		"@handler = php_serialize\na = &1 1\na = &2 object Y { }\nb = @2\nc = *1\n",
		"@handler = php_serialize\n0 = &1 [ 0 = 1 ]\n0 = object Z { }\n1 = @1\n@trailing = \"xy\"\n",
		"@handler = php_serialize\n@empty = true\n",
		"@handler = php_serialize\na = 1\n@empty = true\n",
		"@handler = php_serialize\n5 = \"x\"\n\"5\" = 2\n",
	} {
		checkAppendEncodedText(t, []byte(text))
		n++
	}
	if n == 0 {
		t.Fatal("no texts checked")
	}
}

// TestEachTopMatchesDecodeSession: EachTop's entries are DecodeSession's,
// in order, with their bytes; it declines exactly where a reference or a
// payload makes entries depend on each other (then fn is never called);
// a session that does not decode gives no entry, and DecodeSession's
// error or (a reference seen first) a decline. Over generated, large and mutated sessions and every fuzz seed.
func TestEachTopMatchesDecodeSession(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var inputs [][]byte
	for seed := range uint64(450) {
		h := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[seed%3]
		gh := h
		if h == HandlerPHPSerialize {
			gh = HandlerPHP // its variables, as a root array (the generator's roots are mostly not arrays)
		}
		var s *Session
		if seed%25 == 0 {
			s = bigGenerated(seed, gh, 100<<10)
		} else {
			s = newValueGen(seed).session(gh)
		}
		s.Handler = h
		b, err := EncodeSession(s)
		if err != nil {
			continue
		}
		inputs = append(inputs, b, b[:len(b)/2], mutate(r, bytes.Clone(b)))
	}
	inputs = append(inputs, []byte(`a|i:1;b|s:1:"x";a|i:2;`), []byte(`a|i:1;b|R:1;`), []byte(`a|C:3:"Foo":0:{}`),
		[]byte("\x81ai:1;\x01bN;"), []byte(`a|i:1;|N;`), nil, []byte(`a|a:1:{i:0;r:1;}`),
		[]byte(`a:2:{s:1:"a";i:1;s:1:"a";i:2;}`), []byte(`a:2:{i:5;i:1;s:1:"5";i:2;}`), []byte(`a:1:{s:1:"a";i:1;}xx`),
		[]byte(`a:01:{s:1:"a";i:1;}`), []byte(`a:0:{}`), []byte(`i:5;`), []byte(`a:2:{i:0;a:0:{}i:1;R:2;}`))
	streamed := map[Handler]int{}
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
		for _, in := range inputs {
			if checkEachTop(t, in, h, DecodeOptions{Borrow: true}) {
				streamed[h]++
			}
		}
	}
	for h, n := range streamed {
		if n < 40 {
			t.Errorf("only %d %s sessions streamed", n, h)
		}
	}
	t.Logf("streamed: %v", streamed)
}

func hasPayload(v *Value) bool {
	if v.Kind == KindCustom {
		return true
	}
	for i := range v.Elems {
		if hasPayload(&v.Elems[i].Val) {
			return true
		}
	}
	return false
}

// checkEachTop holds EachTop to DecodeSession on one input; it reports
// whether EachTop streamed it.
func checkEachTop(t *testing.T, in []byte, h Handler, o DecodeOptions) bool {
	t.Helper()
	full, ferr := o.DecodeSession(in, h)
	var got []Entry
	// A php_serialize session's entries lie inside its root's braces.
	at, end := 0, len(in)
	if h == HandlerPHPSerialize {
		at, end = bytes.IndexByte(in, '{')+1, len(in)-1
	}
	ok, err := o.EachTop(in, h, func(e *Entry, raw []byte) error {
		if !bytes.Equal(raw, in[at:at+len(raw)]) {
			t.Fatalf("%s %.80q: entry %d's bytes are not the input's at %d", h, in, len(got), at)
		}
		at += len(raw)
		got = append(got, *e)
		return nil
	})
	if ferr != nil {
		// Refused with DecodeSession's error, or declined (a reference
		// seen before the fault: the whole decode says).
		declined := !ok && err == nil
		if len(got) > 0 || !declined && (ok || err == nil || err.Error() != ferr.Error()) {
			t.Fatalf("%s %.80q: EachTop %v %v (%d entries), DecodeSession %v", h, in, ok, err, len(got), ferr)
		}
		return false
	}
	if err != nil {
		t.Fatalf("%s %.80q: EachTop: %v", h, in, err)
	}
	if !ok {
		streams := h == HandlerPHP || h == HandlerPHPBinary ||
			h == HandlerPHPSerialize && full.Root.Kind == KindArray && full.Root.Raw == "" && len(full.Root.Elems) > 0 && full.Trailing == ""
		if len(got) > 0 || streams && !hasRefs(&full.Root) && !hasPayload(&full.Root) {
			t.Fatalf("%s %.80q: EachTop declined a session without references or payloads", h, in)
		}
		return false
	}
	// DecodeSelected's spans of a key are its entries' bytes.
	for _, e := range got[:min(len(got), 3)] {
		sel, err := o.DecodeSelected(in, h, Selection{Keys: []string{"/" + escapeToken(topKeyText(e.Key))}, Spans: true})
		if err != nil || sel.Full || len(sel.Spans) != len(sel.Sess.Root.Elems) || len(sel.Spans) == 0 {
			t.Fatalf("%s %.80q: DecodeSelected of %q: full %v, %d spans for %d entries, %v", h, in, e.Key.Str, sel.Full, len(sel.Spans), len(sel.Sess.Root.Elems), err)
		}
		for i, sp := range sel.Spans {
			b, err := AppendTopEntry(nil, h, &sel.Sess.Root.Elems[i])
			if err != nil || string(in[sp.Start:sp.End]) != string(b) {
				t.Fatalf("%s %.80q: span %d of %q is %.80q, its entry encodes to %.80q", h, in, i, e.Key.Str, in[sp.Start:sp.End], b)
			}
		}
	}
	if at != end || !sameSession(full, &Session{Handler: h, Root: Array(got...)}) {
		t.Fatalf("%s %.80q: EachTop's %d entries are not DecodeSession's", h, in, len(got))
	}
	text := AppendTextHead(nil, h)
	for i := range got {
		text = AppendTextEntry(text, &got[i])
	}
	if want := FormatText(full); !bytes.Equal(text, want) {
		t.Fatalf("%s %.80q: AppendTextHead and AppendTextEntry wrote %.80q, FormatText %.80q", h, in, text, want)
	}
	seen := map[Key]bool{}
	js := []byte{'{'}
	for i := range got {
		k := got[i].Key
		k.Raw = ""
		if seen[k] {
			js = nil
			break
		}
		seen[k] = true
		if i > 0 {
			js = append(js, ',')
		}
		js = AppendJSONTopEntry(js, &got[i])
	}
	if js != nil {
		js = append(js, '}')
		var w bytes.Buffer
		if err := full.WriteJSON(&w); err != nil || !bytes.Equal(js, w.Bytes()) {
			t.Fatalf("%s %.80q: AppendJSONTopEntry wrote %.80q, WriteJSON %.80q (%v)", h, in, js, w.Bytes(), err)
		}
	}
	if b, err := EncodeSession(&Session{Handler: h, Root: Array(got...)}); err != nil || !bytes.Equal(b, in) {
		t.Fatalf("%s %.80q: EachTop's entries encode to %.80q (%v)", h, in, b, err)
	}
	return true
}
