package phpser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// topChanges are the changes checkTopChange makes of a session whose
// first variable is key k: its entries replaced (by values that share
// strings and the empty array with the rest), removed, or new entries
// added (also ones the handler cannot store at the top).
func topChanges(k string) []TopChange {
	shared := Array(Entry{Key: StrKey("name"), Val: String("abc")}, Entry{Key: StrKey("id"), Val: Int(3)}, Entry{Key: StrKey("e"), Val: Array()})
	return []TopChange{
		{Key: k, Replace: []Entry{{Key: StrKey(k), Val: Int(7)}}},
		{Key: k, Replace: []Entry{{Key: StrKey(k), Val: shared}}},
		{Key: k, Replace: []Entry{{Key: StrKey(k), Val: String("abc")}}},
		{Key: k, Replace: []Entry{{Key: StrKey(k), Val: Array()}}},
		{Key: k, Replace: []Entry{{Key: StrKey(k), Val: Value{Kind: KindEnum, Str: "Suit:Hearts"}}}},
		{Key: k, Replace: []Entry{{Key: StrKey(k), Val: Value{Kind: KindEnum, Str: "bad"}}}},
		{Key: k, Remove: true},
		{Key: "zz_new", Add: []Entry{{Key: StrKey("zz_new"), Val: shared}}},
		{Key: "zz_new", Add: []Entry{{Key: StrKey("zz_new"), Val: Array()}}},
		{Key: "5", Add: []Entry{{Key: StrKey("5"), Val: Int(1)}}},
		{Key: "9", Add: []Entry{{Key: IntKey(9), Val: Int(1)}}},
	}
}

// applyTopChange applies c to the whole tree s, as set and unset do.
func applyTopChange(s *Session, c TopChange) {
	el := s.Root.Elems[:0:0]
	i := 0
	for _, e := range s.Root.Elems {
		if e.Key.IsInt || e.Key.Str != c.Key {
			el = append(el, e)
			continue
		}
		if c.Remove {
			continue
		}
		if i < len(c.Replace) {
			el = append(el, c.Replace[i])
			i++
		}
	}
	s.Root.Elems = append(el, c.Add...)
}

// checkTopChange holds EncodeTopChange to EncodeSession of the changed
// whole tree, bytes and error, on one input.
func checkTopChange(t *testing.T, in []byte, h Handler) int {
	t.Helper()
	o := DecodeOptions{MaxDepth: 64}
	var first string
	n := 0
	ok, err := o.EachTop(in, h, func(e *Entry, _ []byte) error {
		if n == 0 {
			first = e.Key.Str
		}
		n++
		return nil
	})
	if !ok || err != nil || n == 0 {
		return 0
	}
	done := 0
	for _, c := range topChanges(first) {
		entries, _, _, _ := o.TopEntries(in, h, c.Key)
		if len(c.Replace) > 0 {
			// As many replacements as there are entries of the key.
			r := c.Replace[0]
			c.Replace = nil
			for range entries {
				c.Replace = append(c.Replace, r)
			}
		}
		if len(c.Add) > 0 && len(entries) > 0 {
			continue
		}
		if slices.ContainsFunc(entries, func(e Entry) bool { return tiedValue(&e.Val) }) {
			continue // set and unset decode such a session whole
		}
		got, ok, gerr := o.EncodeTopChange(nil, in, h, c)
		if !ok {
			t.Fatalf("%s %.200x: EncodeTopChange declined a session EachTop streams", h, in)
		}
		full, err := o.DecodeSession(in, h)
		if err != nil {
			t.Fatalf("%s %.200x: EachTop streamed a session that does not decode: %v", h, in, err)
		}
		applyTopChange(full, c)
		want, werr := EncodeSession(full)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !bytes.Equal(got, want) {
			t.Fatalf("%s %.200x, change %+v:\n a variable at a time %.200x %v\n whole %.200x %v", h, in, c, got, gerr, want, werr)
		}
		if werr == nil {
			if err := o.ValidateSession(got, h); err != nil {
				t.Fatalf("%s %.200x: the changed session %.200x does not validate: %v", h, in, got, err)
			}
		}
		done++
	}
	return done
}

// TestEncodeTopChangeMatchesEncodeSession: changing one top-level key of
// an igbinary or msgpack session a variable at a time gives the bytes and
// the errors of encoding the changed whole tree (both string modes,
// repeated strings, shared empty arrays, large sessions), and declines
// new values holding references.
func TestEncodeTopChangeMatchesEncodeSession(t *testing.T) {
	for _, h := range []Handler{HandlerIgbinary, HandlerMsgpack} {
		changed := 0
		for seed := range uint64(400) {
			b, err := EncodeSession(extSession(seed, h))
			if err != nil {
				continue
			}
			changed += checkTopChange(t, b, h)
		}
		if changed < 1000 {
			t.Errorf("%s: only %d changes checked", h, changed)
		}
		b, _ := EncodeSession(extSession(1, h))
		c := TopChange{Key: "zz", Add: []Entry{{Key: StrKey("zz"), Val: Value{Kind: KindRef, Int: 1}}}}
		if _, ok, _ := (DecodeOptions{}).EncodeTopChange(nil, b, h, c); ok {
			t.Errorf("%s: a reference added a variable at a time", h)
		}
	}
}

// TestEncodeTopChangeLinked: changing one top-level key of a php,
// php_binary or php_serialize session whose values refer to others, a
// variable at a time, gives the bytes and the errors of encoding the
// changed whole tree: references renumbered, a php_serialize root's count
// written again.
func TestEncodeTopChangeLinked(t *testing.T) {
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
		changed, sessions := 0, 0
		for seed := range uint64(900) {
			s := genTopSession(seed, h, 50, 40<<10)
			if !hasRefs(&s.Root) {
				continue
			}
			b, err := EncodeSession(s)
			if err != nil {
				continue
			}
			if n := checkTopChange(t, b, h); n > 0 {
				changed += n
				sessions++
			}
		}
		if changed < 300 {
			t.Errorf("%s: only %d changes of sessions with references checked", h, changed)
		}
		t.Logf("%s: %d changes of %d sessions with references", h, changed, sessions)
	}
}

// TestRewriteCount: a php_serialize root's count written again, shorter,
// as long, or longer than it was, after what comes before it.
func TestRewriteCount(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int64
		want string
	}{
		{`xxa:10:{i:0;N;}`, 9, `xxa:9:{i:0;N;}`},
		{`a:10:{i:0;N;}`, 11, `a:11:{i:0;N;}`},
		{`a:9:{i:0;N;}`, 10, `a:10:{i:0;N;}`},
		{`a:9:{i:0;N;}`, 12345, `a:12345:{i:0;N;}`},
		{`a:12345:{}`, 1, `a:1:{}`},
	} {
		at := strings.Index(c.in, "a:")
		if got := rewriteCount([]byte(c.in), at, c.n); string(got) != c.want {
			t.Errorf("rewriteCount(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// TestEncodeDeepChangeMatchesEncodeSession: a set or unset below the top
// level spliced into the old bytes gives what encoding the whole changed
// tree gives, over wide nested sessions (arrays, objects, repeated keys)
// and pointers along their first and last entries; declined where it
// must be (references, payloads, repeated keys on the way).
func TestEncodeDeepChangeMatchesEncodeSession(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	done, declined := 0, 0
	for i := range 1500 {
		h := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[i%3]
		d, n := checkDeepChange(t, wideSession(r, h, i%6 == 0), h)
		done, declined = done+d, declined+n
	}
	t.Logf("%d changes spliced, %d declined", done, declined)
	if done < 1000 {
		t.Errorf("only %d changes spliced", done)
	}
}

// FuzzEncodeDeepChange: the same on any input (the first byte picks the
// handler): never a panic, never other bytes than the whole tree's.
func FuzzEncodeDeepChange(f *testing.F) {
	r := rand.New(rand.NewPCG(43, 44))
	for i := range 60 {
		f.Add(byte(i%3), wideSession(r, []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[i%3], i%6 == 0))
	}
	f.Fuzz(func(t *testing.T, hb byte, data []byte) {
		checkDeepChange(t, data, []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[int(hb)%3])
	})
}

// checkDeepChange holds EncodeDeepChange to the whole tree on one input,
// for sets and unsets along pointers into its values; it returns how many
// changes were spliced and how many declined.
func checkDeepChange(t *testing.T, b []byte, h Handler) (done, declined int) {
	t.Helper()
	full, err := (DecodeOptions{MaxDepth: 64}).DecodeSession(b, h)
	if err != nil {
		for _, key := range []string{"/a/b", "/k0/0"} {
			if _, _, _, ok := (DecodeOptions{MaxDepth: 64}).EncodeDeepChange(b, h, key, func(s *Session) (bool, error) { return true, s.Set(key, Int(1)) }); ok {
				t.Fatalf("%s %q: spliced a session that does not decode", h, b)
			}
		}
		return 0, 0
	}
	for _, key := range selectKeys(full) {
		if strings.Count(key, "/") < 2 {
			continue
		}
		for _, c := range []func(s *Session) (bool, error){
			func(s *Session) (bool, error) { return true, s.Set(key, Int(9)) },
			func(s *Session) (bool, error) { return s.Unset(key) },
			func(s *Session) (bool, error) { return true, s.Set(key+"/new", String("n")) },
		} {
			got, _, changed, ok := DecodeOptions{MaxDepth: 64}.EncodeDeepChange(b, h, key, c)
			if !ok {
				declined++
				continue
			}
			whole, _ := DecodeOptions{MaxDepth: 64}.DecodeSession(b, h)
			wchanged, werr := c(whole)
			if werr != nil {
				t.Fatalf("%s %q, %s: spliced though the change fails on the whole tree: %v", h, b, key, werr)
			}
			if changed != wchanged {
				t.Fatalf("%s %q, %s: changed %v spliced, %v whole", h, b, key, changed, wchanged)
			}
			if !changed {
				continue
			}
			want, err := EncodeSession(whole)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s %q, %s:\n spliced %q\n whole   %q (%v)", h, b, key, got, want, err)
			}
			done++
		}
	}
	return done, declined
}
