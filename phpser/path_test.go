package phpser

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const vec93PHP = `i|i:7;arr|a:2:{s:1:"k";s:1:"v";i:5;b:1;}x|O:8:"stdClass":1:{s:1:"p";i:1;}y|r:5;s|s:3:"str";r|R:8;deep|a:1:{i:0;R:1;}`
const vec93Ser = `a:7:{s:1:"i";i:7;s:3:"arr";a:2:{s:1:"k";s:1:"v";i:5;b:1;}s:1:"x";O:8:"stdClass":1:{s:1:"p";i:1;}s:1:"y";r:6;s:1:"s";s:3:"str";s:1:"r";R:9;s:4:"deep";a:1:{i:0;R:2;}}`

func mustDecode(t *testing.T, b string, h Handler) *Session {
	t.Helper()
	s, err := DecodeSession([]byte(b), h)
	if err != nil {
		t.Fatalf("DecodeSession(%q): %v", b, err)
	}
	return s
}

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		h Handler
		b string
	}{{HandlerPHP, vec93PHP}, {HandlerPHPSerialize, vec93Ser}} {
		s := mustDecode(t, c.b, c.h)
		tests := []struct {
			key  string
			want Value
			ok   bool
		}{
			{"i", Int(7), true},
			{"r", String("str"), true},
			{"/r", String("str"), true},
			{"/deep/0", Int(7), true},
			{"/x/p", Int(1), true},
			{"/y/p", Int(1), true},
			{"/arr/5", Bool(true), true},
			{"/arr/k", String("v"), true},
			{"/arr/05", Value{}, false},
			{"nope", Value{}, false},
			{"/arr/5/x", Value{}, false},
			{"/i/0", Value{}, false},
			{"/bad~2", Value{}, false},
			{"", Value{}, false},
		}
		for _, tt := range tests {
			got, ok := s.Lookup(tt.key)
			if ok != tt.ok || (ok && !Equal(got, tt.want)) {
				t.Errorf("%s Lookup(%q) = %+v, %v; want %+v, %v", c.h, tt.key, got, ok, tt.want, tt.ok)
			}
		}
	}
}

func TestLookupKeys(t *testing.T) {
	php := mustDecode(t, `5|i:1;a/b|i:2;m~n|i:3;|i:4;`, HandlerPHP)
	ser := mustDecode(t, `a:3:{i:5;i:1;s:2:"05";i:2;s:1:"a";a:1:{s:1:"/";i:3;}}`, HandlerPHPSerialize)
	tests := []struct {
		s    *Session
		key  string
		want int64
		ok   bool
	}{
		{php, "5", 1, true}, // php handler: the string key "5" as stored
		{php, "a/b", 2, true},
		{php, "/a~1b", 2, true},
		{php, "/m~0n", 3, true},
		{php, "", 4, true},
		{php, "/", 4, true},
		{ser, "5", 1, true}, // php_serialize: "5" is int key 5
		{ser, "05", 2, true},
		{ser, "/a/~1", 3, true},
		{ser, "/5", 1, true},
	}
	for _, tt := range tests {
		got, ok := tt.s.Lookup(tt.key)
		if ok != tt.ok || got.Int != tt.want {
			t.Errorf("Lookup(%q) = %+v, %v; want %d", tt.key, got, ok, tt.want)
		}
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		h    Handler
		b    string
		key  string
		want string
	}{
		{HandlerPHP, `a|i:1;`, "5", "int key"},
		{HandlerPHP, `a|i:1;`, "-5", "int key"},
		{HandlerPHP, `a|i:1;`, "a|b", `"|"`},
		{HandlerPHPBinary, "\x01ai:1;", strings.Repeat("k", 128), "127 bytes"},
		{HandlerPHP, `a|i:1;`, "/missing/x", "no key"},
		{HandlerPHP, `a|i:1;`, "/a/x", "not an array"},
		{HandlerPHP, `a|i:1;`, "/a~x", "~"},
		{HandlerPHPSerialize, `i:5;`, "a", "not variables"},
	}
	for _, tt := range tests {
		s := mustDecode(t, tt.b, tt.h)
		err := s.Set(tt.key, Int(1))
		if !errors.Is(err, ErrPath) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s Set(%q) = %v, want ErrPath with %q", tt.h, tt.key, err, tt.want)
		}
		if enc, _ := EncodeSession(s); string(enc) != tt.b {
			t.Errorf("%s Set(%q) failed but changed the session to %q", tt.h, tt.key, enc)
		}
	}
	// Allowed in php: a string key that only looks numeric to people.
	s := mustDecode(t, `a|i:1;`, HandlerPHP)
	for _, k := range []string{"05", "-0", "5.0", " 5", "a b"} {
		if err := s.Set(k, Int(1)); err != nil {
			t.Errorf("php Set(%q): %v", k, err)
		}
	}
}

func TestSetUnsetBasics(t *testing.T) {
	s := mustDecode(t, `a|i:1;b|i:2;a|i:3;`, HandlerPHP)
	if err := s.Set("a", String("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("c", Null()); err != nil {
		t.Fatal(err)
	}
	enc, err := EncodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	// The last occurrence of a repeated key is the one PHP reads: it changes.
	if want := `a|i:1;b|i:2;a|s:1:"x";c|N;`; string(enc) != want {
		t.Errorf("after Set: %q, want %q", enc, want)
	}
	removed, err := s.Unset("a")
	if err != nil || !removed {
		t.Fatalf("Unset(a) = %v, %v", removed, err)
	}
	removed, err = s.Unset("a")
	if err != nil || removed {
		t.Errorf("second Unset(a) = %v, %v; want false, nil", removed, err)
	}
	for _, k := range []string{"/nope/x", "/b/x", "zz"} {
		if removed, err := s.Unset(k); err != nil || removed {
			t.Errorf("Unset(%q) = %v, %v; want false, nil", k, removed, err)
		}
	}
	enc, _ = EncodeSession(s)
	if want := `b|i:2;c|N;`; string(enc) != want {
		t.Errorf("after Unset: %q, want %q", enc, want)
	}
	// A new session: the zero Session gets its first key.
	n := &Session{Handler: HandlerPHPSerialize}
	if err := n.Set("5", Int(1)); err != nil {
		t.Fatal(err)
	}
	if enc, _ := EncodeSession(n); string(enc) != `a:1:{i:5;i:1;}` {
		t.Errorf("new session: %q", enc)
	}
}

// TestSetUnsetMatchesPHP applies the same change with phpser and with PHP
// (unserialize, change $a, serialize: the php_serialize handler's format)
// and compares the bytes: references, object handles and slot numbers
// must come out as PHP writes them.
func TestSetUnsetMatchesPHP(t *testing.T) {
	type op struct {
		php   string
		apply func(s *Session) error
	}
	set := func(k string, v Value) func(*Session) error { return func(s *Session) error { return s.Set(k, v) } }
	unset := func(k string) func(*Session) error {
		return func(s *Session) error { _, err := s.Unset(k); return err }
	}
	selfRef := `a:2:{s:1:"a";a:1:{i:0;i:1;}s:1:"b";a:1:{i:0;R:3;}}`
	tests := []struct {
		in string
		op
	}{
		{vec93Ser, op{`$a['s'] = 5;`, set("s", Int(5))}},
		{vec93Ser, op{`$a['r'] = 5;`, set("r", Int(5))}},
		{vec93Ser, op{`$a['i'] = 'new';`, set("i", String("new"))}},
		{vec93Ser, op{`$a['x'] = 5;`, set("x", Int(5))}},
		{vec93Ser, op{`$a['y'] = 5;`, set("y", Int(5))}},
		{vec93Ser, op{`$a['x']->p = 2;`, set("/x/p", Int(2))}},
		{vec93Ser, op{`$a['y']->q = 2;`, set("/y/q", Int(2))}},
		{vec93Ser, op{`unset($a['x']);`, unset("x")}},
		{vec93Ser, op{`unset($a['i']);`, unset("i")}},
		{vec93Ser, op{`unset($a['s']);`, unset("s")}},
		{vec93Ser, op{`unset($a['r']);`, unset("r")}},
		{vec93Ser, op{`unset($a['deep'][0]);`, unset("/deep/0")}},
		{vec93Ser, op{`$a['arr']['k'] = 'w';`, set("/arr/k", String("w"))}},
		{vec93Ser, op{`$a['arr']['5'] = null;`, set("/arr/5", Null())}},
		{vec93Ser, op{`$a['arr']['05'] = null;`, set("/arr/05", Null())}},
		{vec93Ser, op{`$a['deep'][] = 3;`, set("/deep/-", Int(3))}},
		{vec93Ser, op{`$a['deep'][0] = 8;`, set("/deep/0", Int(8))}},
		{vec93Ser, op{`$a['5'] = 1;`, set("5", Int(1))}},
		{vec93Ser, op{`$a['new'] = [1, 'k' => [true]];`, set("new", Array(Entry{IntKey(0), Int(1)}, Entry{StrKey("k"), Array(Entry{IntKey(0), Bool(true)})}))}},
		{vec93Ser, op{`unset($a['arr']);`, unset("arr")}},
		{selfRef, op{`unset($a['a']);`, unset("a")}},
		{selfRef, op{`$a['a'] = 0;`, set("a", Int(0))}},
		{selfRef, op{`$a['b'][0] = 2;`, set("/b/0", Int(2))}},
		{`a:3:{s:1:"o";O:8:"stdClass":1:{s:1:"n";a:1:{i:0;i:1;}}s:1:"p";r:2;s:1:"q";R:4;}`, op{`unset($a['o']);`, unset("o")}},
		{`a:3:{s:1:"o";O:8:"stdClass":1:{s:1:"n";a:1:{i:0;i:1;}}s:1:"q";R:4;s:1:"p";r:2;}`, op{`unset($a['o']);`, unset("o")}},
		{`a:3:{s:1:"o";O:8:"stdClass":1:{s:1:"n";a:1:{i:0;i:1;}}s:1:"q";R:4;s:1:"p";r:2;}`, op{`$a['o'] = 1;`, set("o", Int(1))}},
		{`a:3:{s:1:"a";O:8:"stdClass":0:{}s:1:"b";R:2;s:1:"c";r:2;}`, op{`$a['a'] = 1;`, set("a", Int(1))}},
		{`a:3:{s:1:"a";O:8:"stdClass":0:{}s:1:"b";R:2;s:1:"c";r:2;}`, op{`unset($a['a']);`, unset("a")}},
	}
	var script strings.Builder
	script.WriteString(`$lines = explode("\n", trim(stream_get_contents(STDIN)));
foreach ($lines as $l) { [$in, $op] = explode("\t", $l); $a = unserialize(base64_decode($in)); eval(base64_decode($op)); echo base64_encode(serialize($a)), "\n"; }`)
	var stdin strings.Builder
	for _, tt := range tests {
		stdin.WriteString(base64.StdEncoding.EncodeToString([]byte(tt.in)) + "\t" + base64.StdEncoding.EncodeToString([]byte(tt.php)) + "\n")
	}
	out := strings.Split(strings.TrimSpace(string(textRunPHP(t, script.String(), []byte(stdin.String())))), "\n")
	if len(out) != len(tests) {
		t.Fatalf("php gave %d results for %d cases", len(out), len(tests))
	}
	for i, tt := range tests {
		want := b64(t, out[i])
		s := mustDecode(t, tt.in, HandlerPHPSerialize)
		if err := tt.apply(s); err != nil {
			t.Errorf("%s on %s: %v", tt.php, tt.in, err)
			continue
		}
		got, err := EncodeSession(s)
		if err != nil {
			t.Errorf("%s on %s: encode: %v", tt.php, tt.in, err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s on %s:\n got %s\nwant %s (PHP)", tt.php, tt.in, got, want)
		}
	}
}
