package phpser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// selectCase is one input of the selection differential: bytes and the
// handler to decode them with.
type selectCase struct {
	label string
	h     Handler
	data  []byte
}

// selectCases are every fuzz seed (PHP-FACTS vectors, testdata sessions
// written by real PHP, malformed ones) under each text handler, generated
// sessions of each, and mutations of all of them (truncated, a byte
// changed, a digit changed): valid and invalid inputs both.
func selectCases(tb testing.TB) []selectCase {
	var out []selectCase
	handlers := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerAuto}
	for i, b := range fuzzSeeds(tb) {
		for _, h := range handlers {
			out = append(out, selectCase{fmt.Sprintf("seed %d as %s", i, h), h, b})
		}
	}
	n := 600
	if testing.Short() {
		n = 100
	}
	for seed := range uint64(n) {
		for _, h := range handlers {
			b, err := EncodeSession(newValueGen(seed).session(h))
			if err != nil {
				continue
			}
			out = append(out, selectCase{fmt.Sprintf("generated %d %s", seed, h), h, b})
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	base := len(out)
	for i := range base {
		c := out[i]
		if len(c.data) == 0 {
			continue
		}
		for m := range 3 {
			b := bytes.Clone(c.data)
			switch m {
			case 0:
				b = b[:r.IntN(len(b))]
			case 1:
				b[r.IntN(len(b))] = "0123456789:;{}\"|aisdONbCrRE-."[r.IntN(29)]
			case 2:
				for j := r.IntN(len(b)); j < len(b); j++ {
					if b[j] >= '0' && b[j] <= '9' {
						b[j] = '0' + byte(r.IntN(10))
						break
					}
				}
			}
			out = append(out, selectCase{fmt.Sprintf("%s mutated (%d)", c.label, m), c.h, b})
		}
	}
	return out
}

// selectKeys are the selections tried on a session: each of its top-level
// keys, a JSON Pointer into each, keys it does not have.
func selectKeys(full *Session) []string {
	keys := []string{"missing", "/missing/x", "/", "/~bad"}
	for i, e := range full.Entries() {
		if i > 6 {
			break
		}
		t := topKeyText(e.Key)
		keys = append(keys, t, "/"+escapeToken(t))
		// Pointers into it, along its first and last entries, two levels
		// deep, and one naming nothing.
		for _, pick := range []func(n int) int{func(int) int { return 0 }, func(n int) int { return n - 1 }} {
			p, c := "/"+escapeToken(t), e.Val
			for depth := 0; depth < 3 && c.IsContainer() && len(c.Elems) > 0; depth++ {
				el := c.Elems[pick(len(c.Elems))]
				p += "/" + escapeToken(keyName(el.Key, c.Kind == KindObject))
				keys = append(keys, p)
				c = el.Val
			}
			keys = append(keys, p+"/missing")
		}
	}
	return keys
}

func keyName(k Key, obj bool) string {
	if k.IsInt {
		return strconv.FormatInt(k.Int, 10)
	}
	if obj {
		n, _, _ := k.Prop()
		return n
	}
	return k.Str
}

func escapeToken(t string) string {
	var b []byte
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '~':
			b = append(b, "~0"...)
		case '/':
			b = append(b, "~1"...)
		default:
			b = append(b, t[i])
		}
	}
	return string(b)
}

var selectRegexps = []*regexp.Regexp{regexp.MustCompile(`a`), regexp.MustCompile(`^$`), regexp.MustCompile(`zz+q`), regexp.MustCompile(`[0-9]{3}`)}

// checkSelected holds DecodeSelected to DecodeSession on one input: the
// same verdict and error, the same value for every selected key, the same
// --grep outcome, and sizes equal to each top-level value's encoding.
//
// With HandlerAuto it holds DecodeSelectedAuto to DecodeAuto the same way,
// and the handlers they detect must be the same.
func checkSelected(t *testing.T, label string, h Handler, data []byte) {
	t.Helper()
	o := DecodeOptions{}
	var full *Session
	var ferr error
	fh := h
	if h == HandlerAuto {
		full, fh, ferr = o.DecodeAuto(data)
	} else {
		full, ferr = o.DecodeSession(data, h)
	}
	keys := []string{"missing"}
	if ferr == nil {
		keys = selectKeys(full)
	}
	checkSelectedLinked(t, label, h, data, keys, full, fh, ferr)
	all := keys
	for i, re := range selectRegexps {
		// Deep: only what the keys' pointers go through is decoded (the
		// pointers below the top level alone, else the top-level values
		// are wanted whole).
		sel := Selection{Keys: all, Strings: re.MatchString, Sizes: true, Deep: i%2 == 1}
		if keys = all; sel.Deep {
			keys = slices.DeleteFunc(slices.Clone(all), func(k string) bool { return strings.Count(k, "/") < 2 })
			sel.Keys = keys
		}
		var got Selected
		var err error
		if h == HandlerAuto {
			var gh Handler
			got, gh, err = o.DecodeSelectedAuto(data, sel)
			if gh != fh {
				t.Fatalf("%s: DecodeSelectedAuto detects %s, DecodeAuto %s\ninput %q", label, gh, fh, data)
			}
		} else {
			got, err = o.DecodeSelected(data, h, sel)
		}
		if (err == nil) != (ferr == nil) {
			t.Fatalf("%s: DecodeSelected error %v, DecodeSession error %v\ninput %q", label, err, ferr, data)
		}
		if err != nil {
			if err.Error() != ferr.Error() {
				t.Fatalf("%s: errors differ:\n selected %v\n full     %v", label, err, ferr)
			}
			return
		}
		if got.Sess.Handler != full.Handler || got.Sess.Trailing != full.Trailing {
			t.Fatalf("%s: selected session %s with trailing %q, full %s with %q", label, got.Sess.Handler, got.Sess.Trailing, full.Handler, full.Trailing)
		}
		if sel.Deep && got.Sess.Root.Any(func(v *Value) bool { return v.Flags&FlagCut != 0 }) {
			pruned++
			if _, err := EncodeSession(got.Sess); err == nil {
				t.Fatalf("%s: a session pruned for a selection was encoded", label)
			}
		}
		if want := full.Strings(re.MatchString); got.Matched != want {
			t.Fatalf("%s: Strings(%s) matched %v, full decode %v (full path %v)\ninput %q", label, re, got.Matched, want, got.Full, data)
		}
		for _, k := range keys {
			gv, gok := got.Sess.Lookup(k)
			fv, fok := full.Lookup(k)
			if gok != fok || gok && !Equal(gv, fv) {
				t.Fatalf("%s: Lookup(%q): selected %v %+v, full %v %+v (full path %v)\ninput %q", label, k, gok, gv, fok, fv, got.Full, data)
			}
			if gok {
				gj := AppendJSON(nil, got.Sess, gv)
				fj := AppendJSON(nil, full, fv)
				if !bytes.Equal(gj, fj) {
					t.Fatalf("%s: JSON of %q: selected %s, full %s", label, k, gj, fj)
				}
			}
		}
		if !got.Full {
			es := full.Entries()
			if len(got.Sizes) != len(es) {
				t.Fatalf("%s: %d sizes for %d top-level entries\ninput %q", label, len(got.Sizes), len(es), data)
			}
			for i, e := range es {
				enc, err := EncodeValue(e.Val)
				if err != nil {
					t.Fatal(err)
				}
				if got.Sizes[i].Size != len(enc) || !KeyEqual(got.Sizes[i].Key, e.Key) {
					t.Fatalf("%s: size %d: %+v, full decode %+v %d", label, i, got.Sizes[i], e.Key, len(enc))
				}
			}
		}
	}
}

// checkSelectedLinked holds a selection with Linked (a session whose
// values refer to others walked a variable at a time) to the full decode:
// the handler detected, the verdict, the error, and the selected keys'
// entries, in order, with their anchors.
func checkSelectedLinked(t *testing.T, label string, h Handler, data []byte, keys []string, full *Session, fh Handler, ferr error) {
	t.Helper()
	sel := Selection{Keys: keys, Linked: true}
	var got Selected
	var err error
	if h == HandlerAuto {
		var gh Handler
		got, gh, err = DecodeOptions{}.DecodeSelectedAuto(data, sel)
		if err == nil && gh != fh {
			t.Fatalf("%s: DecodeSelectedAuto (linked) detects %s, DecodeAuto %s\ninput %q", label, gh, fh, data)
		}
	} else {
		got, err = DecodeOptions{}.DecodeSelected(data, h, sel)
	}
	if (err == nil) != (ferr == nil) || err != nil && err.Error() != ferr.Error() {
		t.Fatalf("%s: DecodeSelected (linked) error %v, DecodeSession error %v\ninput %q", label, err, ferr, data)
	}
	if err != nil || !got.Linked {
		return
	}
	var want []Entry
	for _, e := range full.Entries() {
		for _, k := range keys {
			if firstToken(k) == topKeyText(e.Key) {
				want = append(want, e)
				break
			}
		}
	}
	if got.Sess.Handler != full.Handler || !sameValue(Array(want...), Array(got.Sess.Root.Elems...)) {
		t.Fatalf("%s: the linked selection's %d entries (%s) are not the full decode's %d (%s)\ninput %q", label, len(got.Sess.Root.Elems), got.Sess.Handler, len(want), full.Handler, data)
	}
	linkedSelections[string(h)+" "+string(got.Sess.Handler)]++
}

// linkedSelections counts the selections checkSelectedLinked saw walked
// linked, by the handler asked for and the one used.
var linkedSelections = map[string]int{}

// TestSelectedMatchesFullDecode is the differential test of the selection
// fast path: on every seed, generated and mutated session it must agree
// with the full decoder (DecodeSession, itself held to PHP by the
// differential tests against php), including on what does not decode.
func TestSelectedMatchesFullDecode(t *testing.T) {
	// fastBinary: of the fast ones, those in php_binary, which auto
	// detection scans too (it decoded them fully before).
	fast, fastBinary, autoFast, autoBinary, total := 0, 0, 0, 0, 0
	for _, c := range selectCases(t) {
		checkSelected(t, c.label, c.h, c.data)
		checkSelected(t, c.label+" (auto)", HandlerAuto, c.data)
		if _, err := (DecodeOptions{}).DecodeSession(c.data, c.h); err == nil {
			total++
			if r, _ := (DecodeOptions{}).DecodeSelected(c.data, c.h, Selection{Keys: []string{"x"}}); !r.Full {
				fast++
				if c.h == HandlerPHPBinary {
					fastBinary++
				}
			}
			if r, h, _ := (DecodeOptions{}).DecodeSelectedAuto(c.data, Selection{Keys: []string{"x"}}); !r.Full {
				autoFast++
				if c.h == HandlerPHPBinary && h == HandlerPHPBinary {
					autoBinary++
				}
			}
		}
	}
	// The shortcut must actually be taken (generated sessions hold
	// references now and then: those decode fully).
	if fast < total/3 {
		t.Errorf("fast path taken on %d of %d valid inputs", fast, total)
	}
	if autoFast < fast*3/4 { // less: trailing bytes, php sessions that start like a value
		t.Errorf("auto: fast path taken on %d of %d valid inputs, and on %d with the handler given", autoFast, total, fast)
	}
	if autoBinary < fastBinary*3/4 { // less: php_binary bytes that read as php or php_serialize
		t.Errorf("auto: fast path taken on %d php_binary sessions, and on %d with the handler given", autoBinary, fastBinary)
	}
	t.Logf("fast path on %d of %d valid inputs, %d with auto (php_binary: %d, %d with auto); walked linked: %v", fast, total, autoFast, fastBinary, autoBinary, linkedSelections)
	// Sessions with references, walked a variable at a time for a
	// selection asking so (Linked), with the handler given and detected.
	for _, k := range []string{"php php", "php_binary php_binary", "php_serialize php_serialize", "auto php", "auto php_binary", "auto php_serialize"} {
		if linkedSelections[k] < 10 {
			t.Errorf("selections walked linked (asked, used): %v", linkedSelections)
			break
		}
	}
	// Wide, nested values (and their corruptions), selected Deep along
	// pointers into them.
	r := rand.New(rand.NewPCG(31, 32))
	pruned = 0
	for i := range 900 {
		h := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[i%3]
		b := wideSession(r, h, i%4 == 0)
		if i%5 == 0 {
			b = mutate(r, b)
		}
		checkSelected(t, fmt.Sprintf("wide %d", i), h, b)
		checkSelected(t, fmt.Sprintf("wide %d (auto)", i), HandlerAuto, b)
	}
	t.Logf("%d selections held only what their pointers go through", pruned)
	if pruned < 300 {
		t.Errorf("only %d selections pruned (Selection.Deep)", pruned)
	}
}

// pruned counts the Deep selections checkSelected saw leave entries out.
var pruned int

// TestSelectedDepthAndBudget: the limits the scan applies are the
// decoder's, at the edge: nesting exactly at and one past MaxDepth, in
// php and php_serialize (whose root array is one level).
func TestSelectedDepthAndBudget(t *testing.T) {
	nest := func(n int) string {
		s := "i:1;"
		for range n {
			s = "a:1:{i:0;" + s + "}"
		}
		return s
	}
	for _, md := range []int{1, 2, 5} {
		o := DecodeOptions{MaxDepth: md}
		for n := md - 1; n <= md+1; n++ {
			for _, in := range []struct {
				h Handler
				s string
			}{{HandlerPHP, "k|" + nest(n) + "j|i:2;"}, {HandlerPHPSerialize, `a:2:{s:1:"k";` + nest(n) + `s:1:"j";i:2;}`}, {HandlerPHP, `k|O:1:"X":0:{}`}} {
				_, ferr := o.DecodeSession([]byte(in.s), in.h)
				_, serr := o.DecodeSelected([]byte(in.s), in.h, Selection{Keys: []string{"j"}})
				if (ferr == nil) != (serr == nil) {
					t.Errorf("MaxDepth %d, %s %q: full %v, selected %v", md, in.h, in.s, ferr, serr)
				}
			}
		}
	}
}

// FuzzDecodeSelected: on any input the fast path agrees with the full
// decoder (checkSelected) and never panics.
func FuzzDecodeSelected(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(byte(i%3), s)
	}
	for i, h := range []Handler{HandlerIgbinary, HandlerMsgpack} {
		for _, s := range extSeeds(f, h) {
			f.Add(byte(3+i), s)
		}
	}
	handlers := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerIgbinary, HandlerMsgpack, HandlerAuto}
	f.Fuzz(func(t *testing.T, hb byte, data []byte) {
		checkSelected(t, "fuzz", handlers[int(hb)%len(handlers)], data)
	})
}
