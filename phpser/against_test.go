package phpser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
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
		s := genTopSession(seed, []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[seed%3], 25, 100<<10)
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
	streamed, linked := map[Handler]int{}, map[Handler]int{}
	cut, streamedJSON := 0, 0
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
		for _, in := range inputs {
			cut += checkEachTopShown(t, in, h)
			if checkEachTop(t, in, h, DecodeOptions{Borrow: true}) {
				streamed[h]++
				if full, _ := DecodeSession(in, h); hasRefs(&full.Root) {
					linked[h]++
				}
			}
		}
	}
	for h, n := range streamed {
		if n < 40 {
			t.Errorf("only %d %s sessions streamed", n, h)
		}
	}
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
		if linked[h] < 20 {
			t.Errorf("only %d %s sessions with references streamed", linked[h], h)
		}
	}
	// Wide values, nested, repeated keys, payloads, references now and
	// then, and their corruptions: what a cut walk must hold to the
	// whole decode.
	for i := range 600 {
		h := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[i%3]
		b := wideSession(r, h, i%3 == 0)
		cut += checkEachTopShown(t, b, h)
		cut += checkEachTopShown(t, mutate(r, bytes.Clone(b)), h)
		streamedJSON += checkStreamJSON(t, b, h)
	}
	for _, in := range inputs {
		for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
			streamedJSON += checkStreamJSON(t, in, h)
		}
	}
	if streamedJSON < 300 {
		t.Errorf("only %d sessions' JSON streamed (StreamJSON)", streamedJSON)
	}
	t.Logf("streamed: %v, with references: %v; %d containers cut for a view; %d sessions' JSON streamed", streamed, linked, cut, streamedJSON)
	if cut < 500 {
		t.Errorf("only %d containers cut for a view (DecodeOptions.Shown)", cut)
	}
}

// checkStreamJSON holds StreamJSON to WriteJSON of the whole decode on
// one input (with a prefix); it reports 1 when StreamJSON wrote it.
func checkStreamJSON(t *testing.T, in []byte, h Handler) int {
	t.Helper()
	var got bytes.Buffer
	ok, err := DecodeOptions{MaxDepth: 64}.StreamJSON(&got, in, h, []byte("pre:"))
	if !ok {
		if got.Len() > 0 {
			t.Fatalf("%s %.80q: StreamJSON declined after writing %d bytes", h, in, got.Len())
		}
		return 0
	}
	full, ferr := DecodeOptions{MaxDepth: 64}.DecodeSession(in, h)
	if ferr != nil || err != nil {
		t.Fatalf("%s %.80q: StreamJSON wrote a session the whole decode refuses (%v) or failed: %v", h, in, ferr, err)
	}
	var want bytes.Buffer
	want.WriteString("pre:")
	if err := full.WriteJSON(&want); err != nil || !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("%s %.80q: StreamJSON wrote\n %.300s\nWriteJSON\n %.300s (%v)", h, in, got.Bytes(), want.Bytes(), err)
	}
	return 1
}

// checkEachTopShown holds EachTop with DecodeOptions.Shown to
// DecodeSession: the same verdict and error, and entries that are the
// whole decode's with each array and object cut to its first Shown
// entries (its count kept) where no value refers to another; it returns
// how many containers were cut. A cut tree is never encoded.
func checkEachTopShown(t *testing.T, in []byte, h Handler) int {
	t.Helper()
	full, ferr := DecodeSession(in, h)
	cuts := 0
	for _, n := range []int{1, 3} {
		var got []Entry
		ok, err := DecodeOptions{Shown: n}.EachTop(in, h, func(e *Entry, _ []byte) error {
			got = append(got, *e)
			return nil
		})
		plain, perr := DecodeOptions{}.EachTop(in, h, func(*Entry, []byte) error { return nil })
		if ok != plain || fmt.Sprint(err) != fmt.Sprint(perr) {
			t.Fatalf("%s %.80q: EachTop with Shown %d: %v %v, without: %v %v", h, in, n, ok, err, plain, perr)
		}
		if !ok || err != nil || ferr != nil {
			return cuts
		}
		want := full.Root.Elems
		if !full.Root.Any(IsLinked) {
			want = nil
			for _, e := range full.Root.Elems {
				e.Val = cutFor(e.Val, n, &cuts)
				want = append(want, e)
			}
		}
		if !sameValue(Array(want...), Array(got...)) {
			t.Fatalf("%s %.80q: EachTop with Shown %d gave other entries than the whole decode cut so", h, in, n)
		}
		for i := range got {
			if got[i].Val.Any(func(v *Value) bool { return v.Flags&FlagCut != 0 }) {
				if _, err := EncodeValue(got[i].Val); err == nil {
					t.Fatalf("%s %.80q: a value cut for a view was encoded", h, in)
				}
			}
		}
	}
	return cuts
}

// wideSession writes a session of handler h whose values are arrays and
// objects of up to 7 entries, nested, with repeated keys, and (tied)
// Serializable payloads holding arrays and now and then a reference.
func wideSession(r *rand.Rand, h Handler, tied bool) []byte {
	var val func(depth int) string
	val = func(depth int) string {
		switch k := r.IntN(9); {
		case depth < 3 && k <= 3:
			n := r.IntN(8)
			var b strings.Builder
			for j := range n {
				switch {
				case r.IntN(6) == 0:
					b.WriteString(`s:1:"a";`) // a repeated key
				case k == 3:
					fmt.Fprintf(&b, `s:2:"p%d";`, j)
				default:
					fmt.Fprintf(&b, "i:%d;", j)
				}
				b.WriteString(val(depth + 1))
			}
			if k == 3 {
				return fmt.Sprintf(`O:8:"stdClass":%d:{%s}`, n, b.String())
			}
			return fmt.Sprintf("a:%d:{%s}", n, b.String())
		case k == 4 && tied:
			inner := val(depth + 1)
			return fmt.Sprintf(`C:1:"P":%d:{%s}`, len(inner), inner)
		case k == 5 && tied && r.IntN(8) == 0:
			return "R:1;"
		case k == 6:
			return fmt.Sprintf(`s:3:"%03d";`, r.IntN(1000))
		}
		return fmt.Sprintf("i:%d;", r.IntN(100))
	}
	n := 1 + r.IntN(4)
	var b strings.Builder
	for j := range n {
		k := fmt.Sprintf("k%d", j)
		switch h {
		case HandlerPHP:
			b.WriteString(k + "|")
		case HandlerPHPBinary:
			b.WriteByte(byte(len(k)))
			b.WriteString(k)
		default:
			fmt.Fprintf(&b, `s:%d:"%s";`, len(k), k)
		}
		b.WriteString(val(0))
	}
	if h == HandlerPHPSerialize {
		return []byte(fmt.Sprintf("a:%d:{%s}", n, b.String()))
	}
	return []byte(b.String())
}

// cutFor is v as a decode with Shown n gives it: each array and object
// holding more than n entries keeps the first n, flagged, with its count.
func cutFor(v Value, n int, cuts *int) Value {
	if v.Elems == nil {
		return v
	}
	el := v.Elems
	if (v.Kind == KindArray || v.Kind == KindObject) && len(el) > n {
		v.Flags |= FlagCut
		v.Int = int64(len(el))
		el = el[:n]
		*cuts++
	}
	v.Elems = make([]Entry, len(el))
	for i, e := range el {
		e.Val = cutFor(e.Val, n, cuts)
		v.Elems[i] = e
	}
	return v
}

// genTopSession generates a session of handler h from seed whose
// variables a walk a variable at a time gives: every bigEvery'th one of
// about big bytes (bigGenerated), the others newValueGen's; a
// php_serialize one holds the php handler's variables as its root array
// (the generator's roots are mostly not arrays).
func genTopSession(seed uint64, h Handler, bigEvery uint64, big int) *Session {
	gh := h
	if h == HandlerPHPSerialize {
		gh = HandlerPHP
	}
	var s *Session
	if seed%bigEvery == 0 {
		s = bigGenerated(seed, gh, big)
	} else {
		s = newValueGen(seed).session(gh)
	}
	s.Handler = h
	return s
}

func hasPayload(v *Value) bool { return v.Any(func(x *Value) bool { return x.Kind == KindCustom }) }

// checkEachTop holds EachTop to DecodeSession on one input; it reports
// whether EachTop streamed it.
func checkEachTop(t *testing.T, in []byte, h Handler, o DecodeOptions) bool {
	t.Helper()
	full, ferr := o.DecodeSession(in, h)
	var got []Entry
	// A php_serialize session's entries lie inside its root's braces.
	at, end := 0, len(in)
	ext := h == HandlerIgbinary || h == HandlerMsgpack
	switch {
	case h == HandlerPHPSerialize:
		at, end = bytes.IndexByte(in, '{')+1, len(in)-1
	case h == HandlerIgbinary && len(in) > 4:
		// After the header and the session array's count.
		at = 4 + 1 + 1<<(in[4]-igArray8)&7
	case h == HandlerMsgpack && len(in) > 0:
		// After the session map's header and its nil -> 1.
		at = map[byte]int{0xde: 3, 0xdf: 5}[in[0]] + 2
		if at == 2 {
			at++ // a fixmap
		}
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
			h == HandlerPHPSerialize && full.Root.Kind == KindArray && full.Root.Raw == "" && len(full.Root.Elems) > 0 && full.Trailing == "" ||
			ext && full.Canonical() && len(full.Root.Elems) > 0 && !tiedValue(&full.Root)
		if len(got) > 0 || streams && !hasRefs(&full.Root) && !hasPayload(&full.Root) {
			t.Fatalf("%s %.80q: EachTop declined a session without references or payloads", h, in)
		}
		return false
	}
	if !ext && (h == HandlerIgbinary || h == HandlerMsgpack) {
		t.Fatalf("%s: streamed an extension's session", h)
	}
	if ext {
		// What the whole decode notes of the session beyond its
		// variables: canonical bytes, and the string mode that
		// ValidateSession's walk finds too.
		if !full.Canonical() {
			t.Fatalf("%s %x: EachTop streamed a session the whole decode keeps the bytes of", h, in)
		}
		tops, res, _ := o.extTops(o.input(in), h, 0, nil)
		if res != topsStreamed || tops.opts != full.ext.opts || tops.n != len(got) {
			t.Fatalf("%s %x: the walk found %d variables, options %d (%d); the whole decode %d, %d", h, in, tops.n, tops.opts, res, len(got), full.ext.opts)
		}
		if err := o.ValidateSession(in, h); err != nil {
			t.Fatalf("%s %x: ValidateSession: %v", h, in, err)
		}
	}
	linked := hasRefs(&full.Root)
	if linked && !ext {
		if err := o.ValidateSession(in, h); err != nil {
			t.Fatalf("%s %.80q: ValidateSession: %v", h, in, err)
		}
	}
	// DecodeSelected's spans of a key are its entries' bytes.
	for _, e := range got[:min(len(got), 3)*btoi(!ext)] {
		sel, err := o.DecodeSelected(in, h, Selection{Keys: []string{"/" + escapeToken(topKeyText(e.Key))}, Spans: true, Linked: true})
		if err != nil || sel.Full || len(sel.Spans) != len(sel.Sess.Root.Elems) || len(sel.Spans) == 0 || linked && !sel.Linked {
			t.Fatalf("%s %.80q: DecodeSelected of %q: full %v linked %v, %d spans for %d entries, %v", h, in, e.Key.Str, sel.Full, sel.Linked, len(sel.Spans), len(sel.Sess.Root.Elems), err)
		}
		for i, sp := range sel.Spans {
			var want []Entry
			for _, g := range got {
				if KeyEqual(g.Key, e.Key) {
					want = append(want, g)
				}
			}
			if !sameValue(Array(want[i]), Array(sel.Sess.Root.Elems[i])) {
				t.Fatalf("%s %.80q: DecodeSelected's entry %d of %q is not EachTop's", h, in, i, e.Key.Str)
			}
			if sel.Linked {
				continue // its references are numbered in the session, not alone
			}
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
	var tj TopJSON
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
		js = tj.Append(js, &got[i])
		if !linked && !bytes.HasSuffix(js, AppendJSONTopEntry(nil, &got[i])) {
			t.Fatalf("%s %.80q: TopJSON and AppendJSONTopEntry differ", h, in)
		}
	}
	if js != nil {
		js = append(js, '}')
		var w bytes.Buffer
		if err := full.WriteJSON(&w); err != nil || !bytes.Equal(js, w.Bytes()) {
			t.Fatalf("%s %.80q: AppendJSONTopEntry wrote %.80q, WriteJSON %.80q (%v)", h, in, js, w.Bytes(), err)
		}
	}
	if b, err := EncodeSession(&Session{Handler: h, Root: Array(got...), ext: extState{opts: full.ext.opts}}); err != nil || !bytes.Equal(b, in) {
		t.Fatalf("%s %.80q: EachTop's entries encode to %.80q (%v)", h, in, b, err)
	}
	return true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// untie replaces what ties a generated value to others (references,
// payloads) with plain values, and drops its anchors.
func untie(v *Value) {
	switch v.Kind {
	case KindRef, KindObjRef, KindCustom:
		*v = Int(v.Int)
	}
	v.Anchor = 0
	v.Flags = 0
	for i := range v.Elems {
		untie(&v.Elems[i].Val)
	}
}

// extSession generates an igbinary or msgpack session from seed: often
// without references (untie), in either string mode, with repeated and
// shared strings and empty arrays (igbinary's string table and its one
// shared empty array), sometimes large.
func extSession(seed uint64, h Handler) *Session {
	var s *Session
	if seed%20 == 0 {
		s = bigGenerated(seed, HandlerPHP, 60<<10)
	} else {
		s = newValueGen(seed).session(HandlerPHP)
	}
	s.Handler = h
	r := rand.New(rand.NewPCG(seed, 99))
	for i := range r.IntN(4) {
		// Repeated keys and values across variables.
		s.Root.Elems = append(s.Root.Elems, Entry{Key: StrKey(fmt.Sprintf("rep%d", i)), Val: Array(
			Entry{Key: StrKey("id"), Val: Int(int64(i))}, Entry{Key: StrKey("name"), Val: String("abc")},
			Entry{Key: StrKey("e"), Val: Array()}, Entry{Key: StrKey("o"), Val: Value{Kind: KindObject, Str: "stdClass", Elems: []Entry{{Key: StrKey("name"), Val: String("abc")}}}})})
	}
	if seed%3 != 0 {
		untie(&s.Root)
	}
	if r.IntN(4) == 0 {
		if h == HandlerIgbinary {
			s.ext.opts = extIgLiteral
		} else {
			s.ext.opts = extMsgNoStr8
		}
	}
	return s
}

// TestEachTopExtMatchesDecodeSession is TestEachTopMatchesDecodeSession
// for igbinary and msgpack sessions: generated ones (with and without
// references, both string modes, large ones), their halves and mutations,
// and hand-made ones (a shared empty array, a lone reference, trailing
// bytes, a non-minimal count).
func TestEachTopExtMatchesDecodeSession(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	streamed := map[Handler]int{}
	for _, h := range []Handler{HandlerIgbinary, HandlerMsgpack} {
		var inputs [][]byte
		for seed := range uint64(600) {
			b, err := EncodeSession(extSession(seed, h))
			if err != nil {
				continue
			}
			inputs = append(inputs, b, b[:len(b)/2], mutate(r, bytes.Clone(b)), mutateBin(r, bytes.Clone(b)))
		}
		if h == HandlerIgbinary {
			inputs = append(inputs,
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x14\x00\x11\x01b\x01\x01"),                 // b shares a's empty array
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x14\x00\x11\x01b\x14\x00"),                 // a second empty array (exotic)
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x14\x01\x06\x00\x06\x01\x11\x01b\x01\x01"), // a copy of a's array
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x25\x06\x01\x11\x01b\x25\x01\x01"),         // b = &a
				[]byte("\x00\x00\x00\x02\x14\x01\x11\x01a\x06\x01xx"),                                // trailing bytes
				[]byte("\x00\x00\x00\x02\x15\x00\x01\x11\x01a\x06\x01"),                              // a 16-bit count
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x11\x01a\x0e\x00\x0e\x01"),                 // string ids
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x11\x01a\x11\x01a\x11\x01a"),               // compact_strings off
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x11\x01a\x11\x01a\x0e\x00"),                // both: exotic
				[]byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x06\x01\x06\x05\x06\x01"),                  // an int key
				[]byte("\x00\x00\x00\x02\x14\x03\x11\x01a\x06\x01"))                                  // too few entries
		} else {
			inputs = append(inputs,
				[]byte("\x83\xc0\x01\xa1a\x01\xa1b\x82\xc0\x01\xa1x\x02"),         // b a lone reference
				[]byte("\x82\xc0\x01\xa1a\x01xx"),                                 // trailing bytes
				[]byte("\x81\xc0\x01"),                                            // no variables
				[]byte("\x83\xc0\x01\xa1a\x81\xa1x\x01\xa1b\x82\xc0\x02\x00\x02"), // b a marker to a
				[]byte("\x83\xc0\x01\xa1a\x01\x05\x01"),                           // an int key
				[]byte("\x82\xc0\x01\xd9\x01a\x01"),                               // a short str8
				[]byte("\x83\xc0\x01\xa1a\xd9\x20"+strings.Repeat("x", 32)+"\xa1b\xda\x00\x20"+strings.Repeat("y", 32)), // both string modes
				[]byte("\x84\xc0\x01\xa1a\x01")) // too few entries
		}
		for _, in := range inputs {
			for _, o := range []DecodeOptions{{Borrow: true}, {MaxDepth: 3}} {
				if checkEachTop(t, in, h, o) {
					streamed[h]++
				}
			}
		}
	}
	for _, h := range []Handler{HandlerIgbinary, HandlerMsgpack} {
		if streamed[h] < 300 {
			t.Errorf("only %d %s sessions streamed", streamed[h], h)
		}
	}
	t.Logf("streamed: %v", streamed)
}

// mutateBin corrupts a binary session: a few bytes changed, one
// removed, or a run doubled.
func mutateBin(r *rand.Rand, b []byte) []byte {
	if len(b) < 2 {
		return b
	}
	for range 1 + r.IntN(3) {
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			b[i] = byte(r.IntN(256))
		case 1:
			b[i]++
		case 2:
			b = append(b[:i:i], b[i+1:]...)
		default:
			j := min(len(b), i+1+r.IntN(8))
			b = append(b[:j:j], b[i:]...)
		}
		if len(b) < 2 {
			break
		}
	}
	return b
}
