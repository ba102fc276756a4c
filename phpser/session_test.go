package phpser

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// PHP-FACTS 9.1: one session under the three handlers, as PHP 8.2 wrote it.
const (
	vec91PHP       = "uid|i:42;name|s:4:\"Zoë\";ok|b:1;ratio|d:0.1;none|N;list|a:2:{i:0;s:1:\"a\";i:1;s:1:\"b\";}map|a:2:{s:1:\"x\";i:1;i:7;i:2;}u|O:4:\"User\":3:{s:4:\"name\";s:3:\"ann\";s:7:\"\x00*\x00role\";s:5:\"admin\";s:8:\"\x00User\x00pw\";s:1:\"x\";}"
	vec91BinaryHex = "03756964693a34323b046e616d65733a343a225a6fc3ab223b026f6b623a313b05726174696f643a302e313b046e6f6e654e3b046c697374613a323a7b693a303b733a313a2261223b693a313b733a313a2262223b7d036d6170613a323a7b733a313a2278223b693a313b693a373b693a323b7d01754f3a343a2255736572223a333a7b733a343a226e616d65223b733a333a22616e6e223b733a373a22002a00726f6c65223b733a353a2261646d696e223b733a383a220055736572007077223b733a313a2278223b7d"
	vec91Serialize = "a:8:{s:3:\"uid\";i:42;s:4:\"name\";s:4:\"Zoë\";s:2:\"ok\";b:1;s:5:\"ratio\";d:0.1;s:4:\"none\";N;s:4:\"list\";a:2:{i:0;s:1:\"a\";i:1;s:1:\"b\";}s:3:\"map\";a:2:{s:1:\"x\";i:1;i:7;i:2;}s:1:\"u\";O:4:\"User\":3:{s:4:\"name\";s:3:\"ann\";s:7:\"\x00*\x00role\";s:5:\"admin\";s:8:\"\x00User\x00pw\";s:1:\"x\";}}"
)

// vec91Entries is the 9.1 session built by hand.
func vec91Entries() []Entry {
	return []Entry{
		{StrKey("uid"), Int(42)},
		{StrKey("name"), String("Zoë")},
		{StrKey("ok"), Bool(true)},
		{StrKey("ratio"), Float(0.1)},
		{StrKey("none"), Null()},
		{StrKey("list"), Array(Entry{IntKey(0), String("a")}, Entry{IntKey(1), String("b")})},
		{StrKey("map"), Array(Entry{StrKey("x"), Int(1)}, Entry{IntKey(7), Int(2)})},
		{StrKey("u"), Object("User",
			Entry{PropKey("name", Public, ""), String("ann")},
			Entry{PropKey("role", Protected, ""), String("admin")},
			Entry{PropKey("pw", Private, "User"), String("x")})},
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectors91ThreeHandlers(t *testing.T) {
	tests := []struct {
		h    Handler
		data []byte
	}{
		{HandlerPHP, []byte(vec91PHP)},
		{HandlerPHPBinary, mustHex(t, vec91BinaryHex)},
		{HandlerPHPSerialize, []byte(vec91Serialize)},
	}
	for _, tt := range tests {
		t.Run(string(tt.h), func(t *testing.T) {
			// Encode the hand-built session: PHP's exact bytes.
			want := &Session{Handler: tt.h, Root: Array(vec91Entries()...)}
			got, err := EncodeSession(want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Fatalf("encode:\n got %q\nwant %q", got, tt.data)
			}
			// Decode PHP's bytes: the same tree.
			s, err := DecodeSession(tt.data, tt.h)
			if err != nil {
				t.Fatal(err)
			}
			if s.Handler != tt.h {
				t.Errorf("Handler = %q", s.Handler)
			}
			if !Equal(s.Root, want.Root) {
				t.Errorf("decoded tree differs:\n got %#v\nwant %#v", s.Root, want.Root)
			}
			// Auto detection picks the same handler.
			a, err := DecodeSession(tt.data, HandlerAuto)
			if err != nil || a.Handler != tt.h {
				t.Errorf("auto: handler %v err %v", a, err)
			}
			if h, ok := Detect(tt.data); !ok || h != tt.h {
				t.Errorf("Detect = %q, %v", h, ok)
			}
		})
	}
}

// PHP-FACTS 9.4: the php handler's verdicts (class-independent ones).
func TestVectors94PHPVerdicts(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		keys []string // top-level keys as written
	}{
		{"a|i:1;b|i:2;", true, []string{"a", "b"}},
		{"a|i:1;garbage", false, nil},
		{"x|i:1;\n", false, nil},
		{"!a|i:1;", true, []string{"!a"}},
		{"|i:1;", true, []string{""}},
		{`5|s:1:"x";`, true, []string{"5"}},
		{"a|i:1;b|R:1;", true, []string{"a", "b"}},
		{"a|i:1;b|R:2;", false, nil},
		{`a|a:1:{i:0;s:1:"x";}b|R:2;`, true, []string{"a", "b"}},
		{`a|a:1:{i:0;s:1:"x";}b|R:3;`, false, nil},
		{`a|a:1:{i:0;s:1:"x";}b|r:2;`, false, nil},
		{"a|i:1;a|i:2;", true, []string{"a", "a"}},
		{"a|i:1;junk|i:2;", true, []string{"a", "junk"}},
		{"a|i:1;;b|i:2;", true, []string{"a", ";b"}},
		{`a|O:7:"Missing":1:{s:1:"p";i:1;}`, true, []string{"a"}},
		{`a|C:7:"Missing":3:{abc}`, true, []string{"a"}},
		{"a|i:99999999999999999999;", true, []string{"a"}},
		{"a|d:1e400;", true, []string{"a"}},
		{"a|b:2;", false, nil},
		{`a|S:3:"\61bc";`, true, []string{"a"}},
		{`a|s:3:"a"c";`, true, []string{"a"}},
		{"a|a:2:{i:0;i:1;i:0;i:2;}", true, []string{"a"}},
		{"a|a:1:{i:0;i:1;i:1;i:2;}", false, nil},
		{"a|a:3:{i:0;i:1;}", false, nil},
		{"", true, nil},
		{"a|i:1;\nb|i:2;", true, []string{"a", "\nb"}},
		{"a|", false, nil},
	}
	for _, tt := range tests {
		s, err := DecodeSession([]byte(tt.in), HandlerPHP)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("%q: error %T is not a *SyntaxError", tt.in, err)
			}
			continue
		}
		var keys []string
		for _, e := range s.Entries() {
			keys = append(keys, e.Key.Str)
		}
		if strings.Join(keys, ",") != strings.Join(tt.keys, ",") || len(keys) != len(tt.keys) {
			t.Errorf("%q: keys %q, want %q", tt.in, keys, tt.keys)
		}
		out, err := EncodeSession(s)
		if err != nil || string(out) != tt.in {
			t.Errorf("%q: re-encode = %q, %v", tt.in, out, err)
		}
	}
}

func TestDecodeSessionValues94(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"a|i:99999999999999999999;", Int(9223372036854775807)},
		{`a|S:3:"\61bc";`, String("abc")},
		{`a|s:3:"a"c";`, String(`a"c`)},
		{"a|a:2:{i:0;i:1;i:0;i:2;}", Array(Entry{IntKey(0), Int(1)}, Entry{IntKey(0), Int(2)})},
		{`a|O:7:"Missing":1:{s:1:"p";i:1;}`, Object("Missing", Entry{StrKey("p"), Int(1)})},
		{`a|C:7:"Missing":3:{abc}`, Custom("Missing", "abc")},
	}
	for _, tt := range tests {
		s, err := DecodeSession([]byte(tt.in), HandlerPHP)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		got := s.Entries()[0].Val
		got.Raw = ""
		if !Equal(got, tt.want) {
			t.Errorf("%q: got %#v want %#v", tt.in, got, tt.want)
		}
	}
}

func TestPHPBinaryVerdicts(t *testing.T) {
	long := strings.Repeat("k", 127)
	tests := []struct {
		in  string
		ok  bool
		key string
	}{
		{"\x81ai:1;", true, "a"},
		{"\x01a", false, ""},
		{"\x01ai:1;\x05", false, ""},
		{"\x7f" + long + "i:1;", true, long},
		{"\x00i:1;", true, ""},
		{"\x03a|bi:1;", true, "a|b"},
		{"", true, ""},
	}
	for _, tt := range tests {
		s, err := DecodeSession([]byte(tt.in), HandlerPHPBinary)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil || tt.in == "" {
			continue
		}
		if k := s.Entries()[0].Key.Str; k != tt.key {
			t.Errorf("%q: key %q want %q", tt.in, k, tt.key)
		}
		out, err := EncodeSession(s)
		if err != nil || string(out) != tt.in {
			t.Errorf("%q: re-encode = %q, %v", tt.in, out, err)
		}
	}
}

func TestPHPSerializeVerdicts(t *testing.T) {
	tests := []struct {
		in       string
		ok       bool
		kind     Kind
		trailing string
	}{
		{`a:1:{s:1:"a";i:1;}trailing`, true, KindArray, "trailing"},
		{"i:5;", true, KindInt, ""},
		{"N;", true, KindNull, ""},
		{"", true, KindArray, ""},
		{"a:0:{}", true, KindArray, ""},
		{"garbage", false, 0, ""},
		{"a:1:{", false, 0, ""},
	}
	for _, tt := range tests {
		s, err := DecodeSession([]byte(tt.in), HandlerPHPSerialize)
		if (err == nil) != tt.ok {
			t.Errorf("%q: err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			continue
		}
		if s.Root.Kind != tt.kind || s.Trailing != tt.trailing {
			t.Errorf("%q: root %v trailing %q", tt.in, s.Root.Kind, s.Trailing)
		}
		out, err := EncodeSession(s)
		if err != nil || string(out) != tt.in {
			t.Errorf("%q: re-encode = %q, %v", tt.in, out, err)
		}
	}
	// The numeric string key becomes int key 5, as in PHP.
	s, err := DecodeSession([]byte(`a:1:{s:1:"5";i:1;}`), HandlerPHPSerialize)
	if err != nil {
		t.Fatal(err)
	}
	if k := s.Entries()[0].Key; !k.IsInt || k.Int != 5 {
		t.Errorf("key = %#v, want int 5", k)
	}
	// An empty php_serialize session that gains a key is written in full.
	s, _ = DecodeSession(nil, HandlerPHPSerialize)
	s.Root.Elems = append(s.Root.Elems, Entry{StrKey("a"), Int(1)})
	if out, _ := EncodeSession(s); string(out) != `a:1:{s:1:"a";i:1;}` {
		t.Errorf("grown empty session = %q", out)
	}
	// Built from scratch, an empty session is a:0:{} (what PHP writes).
	if out, _ := EncodeSession(&Session{Handler: HandlerPHPSerialize, Root: Array()}); string(out) != "a:0:{}" {
		t.Errorf("fresh empty session = %q", out)
	}
}

func TestEncodeSessionRefusals(t *testing.T) {
	long := strings.Repeat("k", 128)
	tests := []struct {
		h    Handler
		e    Entry
		path string
	}{
		{HandlerPHP, Entry{IntKey(5), Int(1)}, "[5]"},
		{HandlerPHP, Entry{StrKey("a|b"), Int(1)}, "a|b"},
		{HandlerPHPBinary, Entry{IntKey(5), Int(1)}, "[5]"},
		{HandlerPHPBinary, Entry{StrKey(long), Int(1)}, long},
		{HandlerPHP, Entry{StrKey("cart"), Array(Entry{StrKey("items"), Array(Entry{IntKey(3), Value{Kind: KindRef, Int: 9}})})}, "cart.items[3]"},
	}
	for _, tt := range tests {
		s := &Session{Handler: tt.h, Root: Array(Entry{StrKey("ok"), Int(1)}, tt.e)}
		out, err := EncodeSession(s)
		var ee *EncodeError
		if !errors.As(err, &ee) {
			t.Errorf("%s %q: err = %v (out %q), want *EncodeError", tt.h, tt.e.Key.Str, err, out)
			continue
		}
		if ee.Path != tt.path {
			t.Errorf("%s: path %q want %q", tt.h, ee.Path, tt.path)
		}
	}
	// php_binary stores '|' in keys; php_serialize stores int keys.
	for _, h := range []Handler{HandlerPHPBinary, HandlerPHPSerialize} {
		e := Entry{StrKey("a|b"), Int(1)}
		if h == HandlerPHPSerialize {
			e.Key = IntKey(5)
		}
		if _, err := EncodeSession(&Session{Handler: h, Root: Array(e)}); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if out, err := EncodeSession(&Session{Handler: HandlerPHP, Root: Array()}); err != nil || len(out) != 0 {
		t.Errorf("empty php session = %q, %v", out, err)
	}
}

func TestParseHandler(t *testing.T) {
	for in, want := range map[string]Handler{"php": HandlerPHP, "PHP_Binary": HandlerPHPBinary, "php_serialize": HandlerPHPSerialize, "AUTO": HandlerAuto,
		"igbinary": HandlerIgbinary, "msgpack": HandlerMsgpack} {
		if h, err := ParseHandler(in); err != nil || h != want {
			t.Errorf("ParseHandler(%q) = %q, %v", in, h, err)
		}
	}
	for _, in := range []string{"", "wddx", "php ", "igbinary2", "json"} {
		if _, err := ParseHandler(in); err == nil {
			t.Errorf("ParseHandler(%q) accepted", in)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in string
		h  Handler
		ok bool
	}{
		{"", "", false},
		{"a|i:1;", HandlerPHP, true},
		{"a:1:{s:1:\"a\";i:1;}", HandlerPHPSerialize, true},
		{"i:5;", HandlerPHPSerialize, true},
		{"\x01ai:1;", HandlerPHPBinary, true},
		{"a:0:{}x|i:1;", HandlerPHP, true},                    // both decode: php before php_serialize with trailing bytes
		{"a:1:{s:1:\"a\";i:1;}\n", HandlerPHPSerialize, true}, // trailing bytes, php fails
		{"a:1:{s:1:\"a\";i:", HandlerPHPSerialize, true},      // corrupt, looks like a value
		{"\x02abi:", HandlerPHPBinary, true},                  // corrupt, length byte
		{"user|i:", HandlerPHP, true},                         // corrupt php
		{vec91PHP, HandlerPHP, true},                          // also frames as php_binary (117-byte key)
	}
	for _, tt := range tests {
		h, ok := Detect([]byte(tt.in))
		if h != tt.h || ok != tt.ok {
			t.Errorf("Detect(%q) = %q, %v; want %q, %v", tt.in, h, ok, tt.h, tt.ok)
		}
	}
	// Auto on empty input: an empty php session.
	s, err := DecodeSession(nil, HandlerAuto)
	if err != nil || s.Handler != HandlerPHP || len(s.Entries()) != 0 {
		t.Errorf("auto empty: %+v, %v", s, err)
	}
}
