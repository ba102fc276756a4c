package phpser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// textPHP returns the php binary, skipping the test when it is missing
// (failing instead when SESSTOOL_REQUIRE_PHP=1).
func textPHP(t *testing.T) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("SESSTOOL_REQUIRE_PHP") == "1" {
			t.Fatalf("php is required (SESSTOOL_REQUIRE_PHP=1) but not found: %v", err)
		}
		t.Skip("php not installed: skipping the comparison with real PHP")
	}
	return php
}

// textRunPHP runs a PHP script (php -n -r) with stdin and returns stdout.
func textRunPHP(t *testing.T, script string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.Command(textPHP(t), "-n", "-r", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php: %v: %s", err, stderr.String())
	}
	return out
}

func TestAppendJSON(t *testing.T) {
	selfRef := Value{Kind: KindArray, Anchor: 1, Elems: []Entry{{IntKey(0), Int(1)}, {IntKey(1), Value{Kind: KindRef, Int: 1}}}}
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"null", Null(), `null`},
		{"true", Bool(true), `true`},
		{"false", Bool(false), `false`},
		{"int", Int(42), `42`},
		{"int min", Int(math.MinInt64), `-9223372036854775808`},
		{"int max", Int(math.MaxInt64), `9223372036854775807`},
		{"float integral", Float(1), `1.0`},
		{"float", Float(0.1), `0.1`},
		{"float -0", Float(math.Copysign(0, -1)), `-0.0`},
		{"float big", Float(1e25), `1e+25`},
		{"float 2^53", Float(9007199254740992), `9007199254740992.0`},
		{"float raw ignored", Value{Kind: KindFloat, Float: 0.1, Raw: "d:0.10000000000000001;"}, `0.1`},
		{"INF", Float(math.Inf(1)), `"INF"`},
		{"-INF", Float(math.Inf(-1)), `"-INF"`},
		{"NAN", Float(math.NaN()), `"NAN"`},
		{"string", String("Zoë"), `"Zoë"`},
		{"escapes", String("a\"b\\c\nd\te\x00\x1f"), `"a\"b\\c\nd\te\u0000\u001f"`},
		{"invalid utf8", String("a\xffb\xc3"), "\"a\ufffdb\ufffd\""},
		{"line separator", String("\u2028"), `"\u2028"`},
		{"empty array", Array(), `[]`},
		{"list", Array(Entry{IntKey(0), String("a")}, Entry{IntKey(1), String("b")}), `["a","b"]`},
		{"list out of order", Array(Entry{IntKey(1), String("a")}, Entry{IntKey(0), String("b")}), `{"1":"a","0":"b"}`},
		{"map", Array(Entry{StrKey("x"), Int(1)}, Entry{IntKey(7), Int(2)}), `{"x":1,"7":2}`},
		{"dup keys", Array(Entry{IntKey(0), Int(1)}, Entry{StrKey("a"), Int(2)}, Entry{IntKey(0), Int(3)}), `{"0":3,"a":2}`},
		{"object", Object("User", Entry{StrKey("name"), String("ann")}, Entry{PropKey("role", Protected, ""), String("admin")}, Entry{PropKey("pw", Private, "User"), String("x")}),
			`{"__class":"User","name":"ann","role":"admin","pw":"x"}`},
		{"object empty", Object("stdClass"), `{"__class":"stdClass"}`},
		{"custom", Custom("Foo", "x:i:1;"), `{"__class":"Foo","__serialized":"x:i:1;"}`},
		{"enum", Enum("Suit:Hearts"), `{"__enum":"Suit:Hearts"}`},
		{"ref without session", Value{Kind: KindRef, Int: 3}, `null`},
		{"self reference", selfRef, `[1,null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendJSON(nil, &Session{Root: Array(Entry{StrKey("v"), tt.v})}, tt.v))
			if got != tt.want {
				t.Errorf("AppendJSON = %s, want %s", got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestSessionMarshalJSONReferences(t *testing.T) {
	// 9.3: x and y are the same object (r:), r is a PHP reference to s.
	obj := Value{Kind: KindObject, Str: "stdClass", Anchor: 5, Elems: []Entry{{StrKey("p"), Int(1)}}}
	s := &Session{Handler: HandlerPHP, Root: Array(
		Entry{StrKey("i"), Value{Kind: KindInt, Int: 7, Anchor: 1}},
		Entry{StrKey("x"), obj},
		Entry{StrKey("y"), Value{Kind: KindObjRef, Int: 5}},
		Entry{StrKey("s"), Value{Kind: KindString, Str: "str", Anchor: 8}},
		Entry{StrKey("r"), Value{Kind: KindRef, Int: 8}},
		Entry{StrKey("deep"), Array(Entry{IntKey(0), Value{Kind: KindRef, Int: 1}})},
		Entry{StrKey("s"), String("again")}, // duplicate: first position, last value
		Entry{StrKey("dangling"), Value{Kind: KindRef, Int: 99}},
	)}
	got, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"i":7,"x":{"__class":"stdClass","p":1},"y":{"__class":"stdClass","p":1},"s":"again","r":"str","deep":[7],"dangling":null}`
	if string(got) != want {
		t.Errorf("MarshalJSON =\n%s\nwant\n%s", got, want)
	}
}

func TestSessionMarshalJSONRoots(t *testing.T) {
	tests := []struct {
		name string
		s    *Session
		want string
	}{
		{"empty php", &Session{Handler: HandlerPHP}, `{}`},
		{"php_serialize N;", &Session{Handler: HandlerPHPSerialize, Root: Null()}, `{}`},
		{"empty array", &Session{Handler: HandlerPHP, Root: Array()}, `{}`},
		{"list-like root is still an object", &Session{Handler: HandlerPHPSerialize, Root: Array(Entry{IntKey(0), Int(1)})}, `{"0":1}`},
		{"scalar root", &Session{Handler: HandlerPHPSerialize, Root: Int(5)}, `5`},
		{"root cycle", &Session{Handler: HandlerPHPSerialize, Root: Value{Kind: KindArray, Anchor: 1, Elems: []Entry{{StrKey("me"), Value{Kind: KindRef, Int: 1}}}}}, `{"me":{"me":null}}`}, // PHP copies the root into $_SESSION: R:1 holds the original
	}
	for _, tt := range tests {
		got, _ := tt.s.MarshalJSON()
		if string(got) != tt.want {
			t.Errorf("%s: MarshalJSON = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestAppendJSONSharedBlowup: references sharing subtrees can double the
// output at each level; the writer stops expanding past its budget.
func TestAppendJSONSharedBlowup(t *testing.T) {
	var elems []Entry
	elems = append(elems, Entry{StrKey("a1"), Value{Kind: KindArray, Anchor: 1}})
	for i := int64(2); i <= 40; i++ {
		elems = append(elems, Entry{StrKey("a"), Value{Kind: KindArray, Anchor: i, Elems: []Entry{
			{IntKey(0), Value{Kind: KindRef, Int: i - 1}}, {IntKey(1), Value{Kind: KindRef, Int: i - 1}}}}})
	}
	s := &Session{Handler: HandlerPHP, Root: Array(elems...)}
	out, _ := s.MarshalJSON()
	if len(out) > 200<<20 {
		t.Fatalf("output of %d bytes: the reference budget did not hold", len(out))
	}
	if !json.Valid(out) {
		t.Fatal("not valid JSON")
	}
}

func TestArrayKey(t *testing.T) {
	tests := []struct {
		in    string
		isInt bool
		n     int64
	}{
		{"5", true, 5}, {"-5", true, -5}, {"0", true, 0}, {"123", true, 123},
		{"9223372036854775807", true, math.MaxInt64}, {"-9223372036854775808", true, math.MinInt64},
		{"9223372036854775808", false, 0}, {"-9223372036854775809", false, 0},
		{"05", false, 0}, {"-0", false, 0}, {" 5", false, 0}, {"5 ", false, 0}, {"5.0", false, 0},
		{"+5", false, 0}, {"1e3", false, 0}, {"", false, 0}, {"-", false, 0}, {"00", false, 0}, {"0x1", false, 0},
		{"12345678901234567890", false, 0},
	}
	for _, tt := range tests {
		k := ArrayKey(tt.in)
		if k.IsInt != tt.isInt || (tt.isInt && k.Int != tt.n) || (!tt.isInt && k.Str != tt.in) {
			t.Errorf("ArrayKey(%q) = %+v", tt.in, k)
		}
	}
}

// TestArrayKeyMatchesPHP asks PHP which of these strings become int keys.
func TestArrayKeyMatchesPHP(t *testing.T) {
	keys := []string{"5", "-5", "0", "-0", "05", " 5", "5 ", "5.0", "+5", "1e3", "", "-", "00",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"99999999999999999999", "1a", "٣"}
	out := textRunPHP(t, `foreach (explode("\n", stream_get_contents(STDIN)) as $k) { $a = [$k => 1]; echo is_int(array_key_first($a)) ? "int\n" : "string\n"; }`,
		[]byte(strings.Join(keys, "\n")))
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(keys) {
		t.Fatalf("php gave %d answers for %d keys", len(got), len(keys))
	}
	for i, k := range keys {
		if want := got[i] == "int"; ArrayKey(k).IsInt != want {
			t.Errorf("ArrayKey(%q).IsInt = %v, PHP says %s", k, ArrayKey(k).IsInt, got[i])
		}
	}
}

func b64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkMarshalJSON measures the JSON mapping over the sessions PHP
// wrote in testdata (bytes are session payload bytes).
func BenchmarkMarshalJSON(b *testing.B) {
	var sessions []*Session
	total := 0
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
		files, _ := filepath.Glob(filepath.Join("../testdata/sessions", string(h), "*"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			s, err := DecodeSession(data, h)
			if err != nil {
				continue
			}
			sessions = append(sessions, s)
			total += len(data)
		}
	}
	if len(sessions) == 0 {
		b.Skip("no testdata sessions")
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range sessions {
			if _, err := s.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
