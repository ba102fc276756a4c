package phpser

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestAdoptingMatchesAdopt holds edit's streamed path for igbinary and
// msgpack sessions (EachTopFacts, then AppendEncodedTextAdopting) to the
// whole one (ParseText, Session.Adopt from the old tree, AppendSession):
// the same bytes and the same error for every edit tried, on real PHP's
// sessions (testdata/sessions), generated ones in both string modes and
// hand-made ones holding what only Adopt can give back (a NaN's bits,
// uninitialised typed properties, __serialize objects).
func TestAdoptingMatchesAdopt(t *testing.T) {
	var inputs [][]byte
	for _, h := range []Handler{HandlerIgbinary, HandlerMsgpack} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "sessions", string(h), "sess_*"))
		if len(files) == 0 {
			t.Fatalf("no %s sessions in testdata", h)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, b)
		}
		for seed := range uint64(300) {
			s := extSession(seed, h)
			if seed%5 == 1 {
				// A variable whose NaN has other bits than the text's NAN.
				s.Root.Elems = append(s.Root.Elems, Entry{Key: StrKey("nan"), Val: Array(Entry{Key: IntKey(0), Val: Float(math.Float64frombits(0x7ff8000000000123))})})
			}
			if b, err := EncodeSession(s); err == nil {
				inputs = append(inputs, b)
			}
		}
	}
	kept, streamed, cases := 0, 0, 0
	for n, in := range inputs {
		h := DetectExtension(in)
		old, err := DecodeSession(in, h)
		if err != nil {
			continue
		}
		var text bytes.Buffer
		if err := WriteText(&text, old); err != nil {
			t.Fatal(err)
		}
		var streamedText []byte
		f, ok, err := (DecodeOptions{Borrow: true}).EachTopFacts(in, h, func(e *Entry, _ []byte) error {
			streamedText = AppendTextEntry(streamedText, e)
			return nil
		})
		if err != nil {
			t.Fatalf("input %d: %v", n, err)
		}
		if !ok {
			continue
		}
		streamed++
		if len(f.kept) > 0 {
			kept++
		}
		var wholeText []byte
		for i := range old.Root.Elems {
			wholeText = AppendTextEntry(wholeText, &old.Root.Elems[i])
		}
		if !bytes.Equal(streamedText, wholeText) {
			t.Errorf("input %d: the streamed text differs from the whole one", n)
		}
		for _, edited := range editedTexts(rand.New(rand.NewPCG(uint64(n), 3)), old, text.Bytes()) {
			cases++
			want, wantErr := adoptWhole(edited, old)
			got, _, gotErr := AppendEncodedTextAdopting(nil, edited, f, nil)
			if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) || !bytes.Equal(want, got) {
				t.Errorf("input %d (%s), edited text\n%s\nwhole: %q, %v\nstreamed: %q, %v", n, h, clip(edited), clip(want), wantErr, clip(got), gotErr)
			}
			var te *TextError
			if errors.As(wantErr, &te) || bytes.Contains(edited, []byte("&1")) {
				continue // parsed again whole, or its error's line counted: text[:n] is read again
			}
			// What done says is let go is never read again: spoilt, the
			// result is the same.
			spoilt, last := bytes.Clone(edited), 0
			got2, _, gotErr2 := AppendEncodedTextAdopting(nil, spoilt, f, func(n int) {
				if n < last || n > len(spoilt) {
					t.Fatalf("done(%d) after done(%d), text of %d bytes", n, last, len(spoilt))
				}
				for i := last; i < n; i++ {
					spoilt[i] = '!'
				}
				last = n
			})
			if fmt.Sprint(wantErr) != fmt.Sprint(gotErr2) || !bytes.Equal(want, got2) {
				t.Errorf("input %d (%s): the text spoilt behind done gives %q, %v", n, h, clip(got2), gotErr2)
			}
		}
	}
	t.Logf("%d sessions streamed (%d with variables kept), %d edits", streamed, kept, cases)
	if streamed < 400 || kept < 40 || cases < 2000 {
		t.Errorf("only %d sessions streamed (%d with variables kept), %d edits", streamed, kept, cases)
	}
}

func clip(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "..."...)
	}
	return b
}

// adoptWhole is edit's whole path.
func adoptWhole(text []byte, old *Session) ([]byte, error) {
	s, err := ParseText(text)
	if err != nil {
		return nil, err
	}
	s.Adopt(old)
	return AppendSession(nil, s)
}

// editedTexts returns edits of old's text: none, a variable added,
// removed, moved, one changed deep inside, one added with a reference
// (encoded whole), keys the handler cannot store at the top, and a text
// that does not parse.
func editedTexts(r *rand.Rand, old *Session, text []byte) [][]byte {
	out := [][]byte{text, append(bytes.Clone(text), "\nzz_added = 1\n"...)}
	el := old.Root.Elems
	head := fmt.Appendf(nil, "@handler = %s\n", old.Handler)
	write := func(es []Entry) []byte {
		b := bytes.Clone(head)
		for i := range es {
			b = AppendTextEntry(b, &es[i])
		}
		return b
	}
	if len(el) > 1 {
		out = append(out, write(el[1:]))
		moved := append(append([]Entry{el[len(el)-1]}, el[1:len(el)-1]...), el[0])
		out = append(out, write(moved))
		c := cloneEntry(&el[r.IntN(len(el))])
		leaf := &c.Val
		for len(leaf.Elems) > 0 && r.IntN(4) != 0 {
			leaf = &leaf.Elems[r.IntN(len(leaf.Elems))].Val
		}
		*leaf = Int(7)
		changed := append(append(append([]Entry{}, el[:1]...), c), el[1:]...)
		out = append(out, write(changed))
	}
	out = append(out,
		append(bytes.Clone(text), "\nzz_target = &1 [1, 2]\nzz_ref = *1\n"...),
		append(bytes.Clone(text), "\n5 = 1\n"...),
		append(bytes.Clone(text), "\n\"5\" = 1\n"...),
		append(bytes.Clone(text), "\nzz = [\n"...))
	return out
}

// FuzzAdopting: for any igbinary or msgpack session EachTopFacts streams
// and any text appended to its text form, the streamed edit path gives
// the whole path's bytes and error.
func FuzzAdopting(f *testing.F) {
	for _, h := range []Handler{HandlerIgbinary, HandlerMsgpack} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "sessions", string(h), "sess_*"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, []byte("\nzz = 1\n"))
			}
		}
	}
	f.Add([]byte("\x82\xc0\x01\xa1a\xcb\x7f\xf8\x00\x00\x00\x00\x01\x23"), []byte("\nb = NAN\n"))
	f.Fuzz(func(t *testing.T, in, suffix []byte) {
		h := DetectExtension(in)
		if h == "" {
			return
		}
		old, err := DecodeSession(in, h)
		if err != nil {
			return
		}
		fa, ok, err := (DecodeOptions{Borrow: true}).EachTopFacts(in, h, func(*Entry, []byte) error { return nil })
		if err != nil || !ok {
			return
		}
		var text bytes.Buffer
		if err := WriteText(&text, old); err != nil {
			t.Fatal(err)
		}
		edited := append(text.Bytes(), suffix...)
		want, wantErr := adoptWhole(edited, old)
		got, _, gotErr := AppendEncodedTextAdopting(nil, edited, fa, nil)
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) || !bytes.Equal(want, got) {
			t.Fatalf("whole: %q, %v\nstreamed: %q, %v", want, wantErr, got, gotErr)
		}
	})
}
