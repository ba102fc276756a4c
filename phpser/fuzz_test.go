package phpser

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are the PHP-FACTS vectors plus generated values.
func fuzzSeeds(tb testing.TB) [][]byte {
	bin, err := hex.DecodeString(vec91BinaryHex)
	if err != nil {
		tb.Fatal(err)
	}
	seeds := [][]byte{
		[]byte(vec91PHP), bin, []byte(vec91Serialize), []byte(vecRefsPHP), []byte(vecRefsSerialize),
		[]byte(`a|S:3:"\61bc";`), []byte("a|i:99999999999999999999;"), []byte(`O:8:"stdClass"::{}`),
		[]byte(`C:3:"Foo":+3:{abc}`), []byte("d:0.10000000000000001;"), []byte("a:1:{i:0;R:1;}"),
		[]byte(`a:2:{i:0;O:1:"X":0:{}i:1;r:2;}`), []byte(`E:6:"Suit:H";`), []byte("\x81ai:1;"),
		// C: payloads whose values take slots (PHP-FACTS 4.7).
		[]byte(`foo|C:3:"Foo":18:{a:1:{i:0;s:1:"a";}}b|s:1:"B";e|R:4;x|R:3;`),
		[]byte(`a:3:{i:0;O:1:"o":0:{}i:1;C:1:"P":26:{a:2:{i:0;r:2;i:1;s:1:"q";}}i:2;R:6;}`),
		[]byte(`ao|C:11:"ArrayObject":37:{x:i:0;a:1:{s:1:"k";s:1:"v";};m:a:0:{}}b|R:4;`),
		[]byte(`st|C:16:"SplObjectStorage":45:{x:i:1;O:8:"stdClass":0:{},s:1:"i";;m:a:0:{}}y|r:3;`),
		[]byte(`l|C:8:"SplQueue":22:{i:4;:s:1:"a";:s:1:"b";}y|R:4;`),
	}
	for seed := range uint64(20) {
		g := newValueGen(seed)
		var v Value
		g.value(&v, 3)
		b, _ := EncodeValue(v)
		seeds = append(seeds, b)
		for _, h := range []Handler{HandlerPHP, HandlerPHPBinary} {
			b, _ := EncodeSession(newValueGen(seed).session(h))
			seeds = append(seeds, b)
		}
	}
	// Session files written by real PHP, when the testdata engineer's
	// directory is there.
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "sessions", "*", "sess_*"))
	bad, _ := filepath.Glob(filepath.Join("..", "testdata", "malformed", "*", "*"))
	files = append(files, bad...)
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && len(b) < 1<<16 {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// FuzzDecodeValue: never panics; whatever decodes encodes back to exactly
// the bytes it was decoded from, and that encoding decodes again.
func FuzzDecodeValue(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, n, err := DecodeOptions{MaxDepth: 64}.DecodeValue(data)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T is not *SyntaxError", err)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n = %d of %d", n, len(data))
		}
		out, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode: %v", data[:n], err)
		}
		if !bytes.Equal(out, data[:n]) {
			t.Fatalf("not byte-exact:\n in  %q\n out %q", data[:n], out)
		}
		if _, m, err := DecodeValue(out); err != nil || m != len(out) {
			t.Fatalf("re-decode %q: %d %v", out, m, err)
		}
	})
}

// FuzzDecodeSession: the same for the three handlers (the first byte of
// the fuzz input picks one) and auto detection.
func FuzzDecodeSession(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(byte(i%4), s)
	}
	handlers := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerAuto}
	f.Fuzz(func(t *testing.T, hb byte, data []byte) {
		h := handlers[int(hb)%len(handlers)]
		checkEachTop(t, data, h, DecodeOptions{MaxDepth: 64})
		checkEachTopShown(t, data, h)
		checkStreamJSON(t, data, h)
		s, err := DecodeOptions{MaxDepth: 64}.DecodeSession(data, h)
		if err != nil {
			if _, syntax := err.(*SyntaxError); !syntax {
				t.Fatalf("error %T is not *SyntaxError", err)
			}
			return
		}
		if h == HandlerAuto {
			if d, ok := Detect(data); ok && d != s.Handler {
				t.Fatalf("Detect %q but auto decoded as %q", d, s.Handler)
			}
		}
		out, err := EncodeSession(s)
		if err != nil {
			t.Fatalf("decoded %q as %s but cannot encode: %v", data, s.Handler, err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("%s not byte-exact:\n in  %q\n out %q", s.Handler, data, out)
		}
		for _, e := range s.Entries() {
			_, _ = s.Deref(e.Val)
		}
	})
}

// extSeeds are the igbinary or msgpack sessions and malformed inputs of
// testdata, as fuzz seeds.
func extSeeds(f *testing.F, h Handler) [][]byte {
	var out [][]byte
	for _, dir := range []string{"../testdata/sessions/", "../testdata/malformed/"} {
		files, _ := filepath.Glob(filepath.Join(dir, string(h), "*"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err == nil && len(b) < 4096 {
				out = append(out, b)
			}
		}
	}
	if len(out) < 20 {
		f.Fatalf("only %d %s seeds in testdata", len(out), h)
	}
	return out
}

// fuzzExt: an extension decoder never panics, fails only with a
// *SyntaxError, and what it accepts encodes back to the same bytes, encodes
// canonically once changed, and survives the text form.
func fuzzExt(f *testing.F, h Handler) {
	for _, s := range extSeeds(f, h) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkEachTop(t, data, h, DecodeOptions{MaxDepth: 64})
		checkTopChange(t, data, h)
		s, err := DecodeOptions{MaxDepth: 64}.DecodeSession(data, h)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T is not *SyntaxError", err)
			}
			return
		}
		out, err := EncodeSession(s)
		if err != nil {
			t.Fatalf("decoded %x but cannot encode: %v", data, err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("not byte-exact:\n in  %x\n out %x", data, out)
		}
		if d, ok := Detect(data); ok && len(data) > 0 && d != h && h == HandlerIgbinary {
			t.Fatalf("Detect %q", d)
		}
		// Changed, the session is written as PHP's encoder writes it:
		// decoding that gives a canonical session with the same values.
		if err := s.Set("zz_fuzz", Int(1)); err != nil {
			return
		}
		out, err = EncodeSession(s)
		if err != nil {
			return // a value this handler cannot hold (a conversion limit)
		}
		back, err := DecodeSession(out, h)
		if err != nil {
			t.Fatalf("changed session %x does not decode: %v", out, err)
		}
		if !back.Canonical() && !(h == HandlerMsgpack && mpObjRefToRef(&s.Root)) {
			t.Fatalf("changed session %x is not canonical", out)
		}
		if out2, err := EncodeSession(back); err != nil || !bytes.Equal(out2, out) {
			t.Fatalf("canonical session does not re-encode to itself:\n %x\n %x", out, out2)
		}
		_ = FormatText(s)
	})
}

// mpObjRefToRef reports whether the tree holds the same object twice, once
// in a PHP reference and once not: msgpack-php writes the second as an
// OBJECT marker (4) and reads that back as a reference, so PHP's own bytes
// for this state are not the ones it writes after reading them
// (TestMsgpackObjectInReference).
func mpObjRefToRef(root *Value) bool {
	refd := map[int64]bool{}
	walkValues(root, func(v *Value) bool {
		if v.Anchor != 0 && v.Flags&FlagRef != 0 {
			refd[v.Anchor] = true
		}
		return true
	})
	found := false
	walkValues(root, func(v *Value) bool {
		found = v.Kind == KindObjRef && v.Flags&FlagRef == 0 && refd[v.Int]
		return !found
	})
	return found
}

func FuzzDecodeIgbinary(f *testing.F) { fuzzExt(f, HandlerIgbinary) }

func FuzzDecodeMsgpack(f *testing.F) { fuzzExt(f, HandlerMsgpack) }
