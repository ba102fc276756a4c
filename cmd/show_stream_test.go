package cmd

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/phpser"
)

// TestShowStreamedMatchesWholeDecode: show, show -o json, -o jsonl and
// several ids print the same bytes whether the session is shown an entry
// at a time or decoded whole: sessions past the 1,000 entries the human
// view draws, repeated keys (JSON keeps one), references and payloads
// (which take the whole decode), php_binary, auto and explicit handlers,
// and sessions that do not decode.
func TestShowStreamedMatchesWholeDecode(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(21, 22))
	var ids []string
	add := func(id, data string) {
		putSess(t, dir, id, data, 0)
		ids = append(ids, id)
	}
	var big strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&big, `k%d|a:2:{s:2:"id";i:%d;s:1:"n";s:3:"abc";}`, i, i)
	}
	add("big1", big.String())
	add("dup1", `a|i:1;b|s:1:"x";a|i:2;`)
	add("ref1", big.String()+`r|R:2;`)
	// One variable holding everything (a framework's attribute bag): the
	// view keeps only what it draws of each wide array or object.
	var wide strings.Builder
	fmt.Fprintf(&wide, "data|a:1502:{")
	for i := range 1500 {
		fmt.Fprintf(&wide, `i:%d;a:2:{s:2:"id";i:%d;s:1:"n";s:3:"abc";}`, i, i)
	}
	wide.WriteString(`s:4:"list";a:1200:{`)
	for i := range 1200 {
		fmt.Fprintf(&wide, "i:%d;i:%d;", i, i)
	}
	wide.WriteString(`}s:3:"obj";O:8:"stdClass":1001:{`)
	for i := range 1001 {
		fmt.Fprintf(&wide, `s:%d:"p%d";N;`, len(fmt.Sprint(i))+1, i)
	}
	wide.WriteString(`}}user|i:5;`)
	add("wide1", wide.String())
	add("ref2", `u|O:8:"stdClass":1:{s:1:"a";i:1;}o|r:1;x|a:2:{i:0;R:2;i:1;R:1;}y|a:1:{i:0;R:5;}`)
	add("ref3", `obj|O:8:"stdClass":1:{s:1:"p";a:1:{i:0;R:2;}}`+big.String()+`o2|r:1;p|R:3;`)
	add("corrupt1", `a|i:1;b|s:9:"x";`)
	var bigRoot strings.Builder
	fmt.Fprintf(&bigRoot, "a:%d:{", 1502)
	for i := range 1500 {
		fmt.Fprintf(&bigRoot, `s:%d:"k%d";a:2:{s:2:"id";i:%d;s:1:"n";s:3:"abc";}`, len(fmt.Sprint(i))+1, i, i)
	}
	bigRoot.WriteString(`i:5;s:1:"x";i:-3;d:0.5;}`)
	add("bigroot1", bigRoot.String())
	add("introot1", `a:3:{i:5;i:1;s:1:"a";i:2;i:6;N;}`)
	add("duproot1", `a:3:{i:5;i:1;s:1:"a";i:2;i:5;N;}`)
	add("trailroot1", `a:1:{s:1:"a";i:2;}tail`)
	// php_serialize with references (slot 1 the root array): past the
	// entries drawn, and one naming the root itself.
	rb := strings.TrimSuffix(strings.Replace(bigRoot.String(), "a:1502:{", `a:1505:{s:3:"obj";O:8:"stdClass":1:{s:1:"p";a:1:{i:0;R:3;}}`, 1), "}")
	add("refroot1", rb+`s:2:"o2";r:2;s:1:"p";R:4;}`)
	add("refroot2", `a:3:{s:1:"u";O:8:"stdClass":1:{s:1:"a";i:1;}s:1:"o";r:2;s:1:"x";a:2:{i:0;R:3;i:1;R:2;}}`)
	add("refroot3", `a:2:{s:1:"a";i:1;s:1:"b";R:1;}`)
	for i := range 45 {
		h := []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize}[i%3]
		add(fmt.Sprintf("gen%d", i), string(genSession(r, h, 1+r.IntN(12), i%5 == 0)))
	}
	for _, eh := range []phpser.Handler{phpser.HandlerIgbinary, phpser.HandlerMsgpack} {
		for _, b := range extSessions(eh) {
			add(fmt.Sprintf("%s%d", eh, len(ids)), string(b))
		}
	}
	forms := [][]string{nil, {"-o", "json"}, {"-o", "jsonl"}, {"--key", "a"}, {"--key", "/a/id"}, {"--key", "b", "-o", "json"},
		{"--key", "k1499", "-o", "raw"}, {"--key", "missing"}, {"--key", "/user/sub/0", "-o", "json"}, {"--key", "k|x"}, {"--key", "5"}, {"--key", "/5"},
		// Values references in other variables name, and references.
		{"--key", "u"}, {"--key", "/u/a", "-o", "json"}, {"--key", "k0"}, {"--key", "obj"}, {"--key", "o"}, {"--key", "/x/0"},
		// Pointers deep into one wide variable (only what they go through decoded).
		{"--key", "/data/1499/id"}, {"--key", "/data/obj/p7", "-o", "json"}, {"--key", "/data/list/1199", "-o", "raw"}}
	for _, id := range ids {
		for _, form := range forms {
			hflags := [][]string{nil, {"--serialize-handler", "php"}, {"--serialize-handler", "php_binary"}, {"--serialize-handler", "php_serialize"}}
			if strings.HasPrefix(id, "igbinary") || strings.HasPrefix(id, "msgpack") {
				hflags = [][]string{nil, {"--serialize-handler", "php"}, {"--serialize-handler", "igbinary"}, {"--serialize-handler", "msgpack"}}
			}
			for _, hflag := range hflags {
				args := append(append([]string{"--save-path", dir}, hflag...), append([]string{"show", id}, form...)...)
				streamShow = true
				got := runCLI(t, args...)
				streamShow = false
				want := runCLI(t, args...)
				streamShow = true
				// The header's age may tick between the two runs.
				got.out, want.out = ageRE.ReplaceAllString(got.out, "modified ("), ageRE.ReplaceAllString(want.out, "modified (")
				if got.code != want.code || got.out != want.out || got.errOut != want.errOut {
					t.Fatalf("%v: an entry at a time: exit %d\n%.300s\n%.300s\nwhole: exit %d\n%.300s\n%.300s", args, got.code, got.out, got.errOut, want.code, want.out, want.errOut)
				}
			}
		}
	}
	args := append([]string{"--save-path", dir, "show", "-o", "json"}, ids[:6]...)
	for _, id := range ids {
		if strings.HasPrefix(id, "igbinary") || strings.HasPrefix(id, "msgpack") {
			args = append(args, id)
		}
	}
	got := runCLI(t, args...)
	streamShow = false
	want := runCLI(t, args...)
	streamShow = true
	if ageRE.ReplaceAllString(got.out, "") != ageRE.ReplaceAllString(want.out, "") || got.code != want.code {
		t.Fatalf("show of several ids differs: %.300s / %.300s", got.out, want.out)
	}
}

var ageRE = regexp.MustCompile(`modified [^(]*\(`)

// extSessions are igbinary or msgpack sessions for the differential
// tests: past the 1,000 entries the human view draws (repeated strings,
// a shared empty array), small ones of every kind of value, repeated
// keys, both string modes, references, and ones that do not decode.
func extSessions(h phpser.Handler) [][]byte {
	var out [][]byte
	enc := func(s *phpser.Session) []byte {
		s.Handler = h
		b, err := phpser.EncodeSession(s)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
		return b
	}
	big := &phpser.Session{Root: phpser.Array()}
	for i := range 1500 {
		big.Root.Elems = append(big.Root.Elems, phpser.Entry{Key: phpser.StrKey(fmt.Sprintf("k%d", i)), Val: phpser.Array(
			phpser.Entry{Key: phpser.StrKey("id"), Val: phpser.Int(int64(i))}, phpser.Entry{Key: phpser.StrKey("name"), Val: phpser.String("abc")},
			phpser.Entry{Key: phpser.StrKey("e"), Val: phpser.Array()})})
	}
	b := enc(big)
	out = append(out, b[:len(b)-3]) // truncated
	small := &phpser.Session{Root: phpser.Array(
		phpser.Entry{Key: phpser.StrKey("a"), Val: phpser.Int(1)},
		phpser.Entry{Key: phpser.StrKey("user"), Val: phpser.Array(phpser.Entry{Key: phpser.StrKey("id"), Val: phpser.Int(42)}, phpser.Entry{Key: phpser.StrKey("sub"), Val: phpser.Array(phpser.Entry{Key: phpser.IntKey(0), Val: phpser.Bool(true)})})},
		phpser.Entry{Key: phpser.StrKey("b"), Val: phpser.String(strings.Repeat("x", 40))},
		phpser.Entry{Key: phpser.StrKey("o"), Val: phpser.Value{Kind: phpser.KindObject, Str: "stdClass", Elems: []phpser.Entry{{Key: phpser.StrKey("p"), Val: phpser.Float(0.5)}}}},
		phpser.Entry{Key: phpser.StrKey("n"), Val: phpser.Null()},
		phpser.Entry{Key: phpser.StrKey("k|x"), Val: phpser.String("abc")},
		phpser.Entry{Key: phpser.StrKey("/a"), Val: phpser.Array()},
		phpser.Entry{Key: phpser.StrKey("a"), Val: phpser.Int(2)}, // repeated
	)}
	enc(small)
	withRef := &phpser.Session{Root: phpser.Array(
		phpser.Entry{Key: phpser.StrKey("a"), Val: phpser.Value{Kind: phpser.KindArray, Anchor: 1, Elems: []phpser.Entry{{Key: phpser.IntKey(0), Val: phpser.Int(1)}}}},
		phpser.Entry{Key: phpser.StrKey("r"), Val: phpser.Value{Kind: phpser.KindRef, Int: 1}},
	)}
	enc(withRef)
	if h == phpser.HandlerIgbinary {
		// compact_strings off: repeated strings written again.
		out = append(out, []byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x11\x03abc\x11\x01b\x11\x03abc"))
	} else {
		// use_str8_serialization off: a string of 32-255 bytes as str16.
		out = append(out, []byte("\x83\xc0\x01\xa1a\xda\x00\x20"+strings.Repeat("y", 32)+"\xa1b\x01"))
	}
	return out
}
