package phpser

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sameValue compares two trees exactly: kinds, values (floats by bits, any
// NaN equal), keys with their Raw, Anchors and Raw tokens.
func sameValue(a, b Value) bool {
	if a.Kind != b.Kind || a.Int != b.Int || a.Str != b.Str || a.Payload != b.Payload ||
		a.Anchor != b.Anchor || a.Raw != b.Raw || len(a.Elems) != len(b.Elems) {
		return false
	}
	if a.Kind == KindFloat && !(math.Float64bits(a.Float) == math.Float64bits(b.Float) || (math.IsNaN(a.Float) && math.IsNaN(b.Float))) {
		return false
	}
	for i := range a.Elems {
		if a.Elems[i].Key != b.Elems[i].Key || !sameValue(a.Elems[i].Val, b.Elems[i].Val) {
			return false
		}
	}
	return true
}

func sameSession(a, b *Session) bool {
	return a.Handler == b.Handler && a.Trailing == b.Trailing && a.fromEmpty == b.fromEmpty && sameValue(a.Root, b.Root)
}

// checkTextRoundTrip asserts the text form of s is lossless and stable,
// and (when want is not nil) that encoding the parsed text gives want.
func checkTextRoundTrip(t *testing.T, name string, s *Session, want []byte) {
	t.Helper()
	txt := FormatText(s)
	got, err := ParseText(txt)
	if err != nil {
		t.Errorf("%s: ParseText(FormatText): %v\n%s", name, err, txt)
		return
	}
	got.Adopt(s) // as edit does: what the text does not show
	if !sameSession(got, s) {
		t.Errorf("%s: text round trip changed the session\n%s", name, txt)
		return
	}
	if txt2 := FormatText(got); !bytes.Equal(txt2, txt) {
		t.Errorf("%s: FormatText not stable:\n%s\n---\n%s", name, txt, txt2)
	}
	if want != nil {
		enc, err := EncodeSession(got)
		if err != nil {
			t.Errorf("%s: EncodeSession: %v", name, err)
		} else if !bytes.Equal(enc, want) {
			t.Errorf("%s: encode(parse(format(decode(b)))) != b\n got %q\nwant %q", name, enc, want)
		}
	}
}

// TestTextRoundTripPHPSessions: every session PHP wrote in testdata, and
// every lenient payload PHP accepts in testdata/malformed, survives
// decode -> text -> parse -> encode byte for byte.
func TestTextRoundTripPHPSessions(t *testing.T) {
	n := 0
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerIgbinary, HandlerMsgpack} {
		for _, dir := range []string{"../testdata/sessions/", "../testdata/malformed/"} {
			files, _ := filepath.Glob(filepath.Join(dir, string(h), "*"))
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				s, err := DecodeSession(b, h)
				if err != nil {
					continue // a payload PHP refuses: nothing to edit
				}
				if base := filepath.Base(f); h == HandlerIgbinary && base == "depth-4097" || h == HandlerMsgpack && base == "class-name-empty" {
					// The text form holds 4096 levels and PHP class names;
					// edit says so for these two (PHP reads igbinary without
					// a depth limit, and msgpack objects of class "").
					if _, err := ParseText(FormatText(s)); err == nil {
						t.Errorf("%s: ParseText accepts what it cannot hold", f)
					}
					continue
				}
				n++
				checkTextRoundTrip(t, f, s, b)
			}
		}
	}
	if n < 60 {
		t.Fatalf("only %d sessions decoded from testdata: is testdata missing?", n)
	}
}

// PHP-FACTS 9.1 and 9.3 byte vectors.
var textVectors = []struct {
	h Handler
	b string
}{
	{HandlerPHP, "uid|i:42;name|s:4:\"Zoë\";ok|b:1;ratio|d:0.1;none|N;list|a:2:{i:0;s:1:\"a\";i:1;s:1:\"b\";}map|a:2:{s:1:\"x\";i:1;i:7;i:2;}u|O:4:\"User\":3:{s:4:\"name\";s:3:\"ann\";s:7:\"\x00*\x00role\";s:5:\"admin\";s:8:\"\x00User\x00pw\";s:1:\"x\";}"},
	{HandlerPHPSerialize, "a:8:{s:3:\"uid\";i:42;s:4:\"name\";s:4:\"Zoë\";s:2:\"ok\";b:1;s:5:\"ratio\";d:0.1;s:4:\"none\";N;s:4:\"list\";a:2:{i:0;s:1:\"a\";i:1;s:1:\"b\";}s:3:\"map\";a:2:{s:1:\"x\";i:1;i:7;i:2;}s:1:\"u\";O:4:\"User\":3:{s:4:\"name\";s:3:\"ann\";s:7:\"\x00*\x00role\";s:5:\"admin\";s:8:\"\x00User\x00pw\";s:1:\"x\";}}"},
	{HandlerPHP, `i|i:7;arr|a:2:{s:1:"k";s:1:"v";i:5;b:1;}x|O:8:"stdClass":1:{s:1:"p";i:1;}y|r:5;s|s:3:"str";r|R:8;deep|a:1:{i:0;R:1;}`},
	{HandlerPHPSerialize, `a:7:{s:1:"i";i:7;s:3:"arr";a:2:{s:1:"k";s:1:"v";i:5;b:1;}s:1:"x";O:8:"stdClass":1:{s:1:"p";i:1;}s:1:"y";r:6;s:1:"s";s:3:"str";s:1:"r";R:9;s:4:"deep";a:1:{i:0;R:2;}}`},
	// Non-canonical tokens PHP accepts, and trailing bytes.
	{HandlerPHPSerialize, `a:1:{s:1:"5";i:1;}trailing`},
	{HandlerPHPSerialize, `i:5;`},
	{HandlerPHPSerialize, `N;`},
	{HandlerPHPSerialize, `a:1:{i:0;a:1:{i:0;R:2;}}`},
	{HandlerPHP, `a|d:0.10000000000000001;b|d:1.0;c|d:.5;d|d:5.;e|d:+1.5;f|d:1e400;g|d:05;h|i:+5;i|i:05;j|i:-0;k|i:99999999999999999999;l|S:3:"\61bc";`},
	{HandlerPHP, `a|a:2:{i:0;i:1;i:0;i:2;}b|a:1:{i:05;N;}c|a:1:{s:1:"5";N;}d|a:1:{S:1:"\35";N;}e|a:01:{i:0;N;}`},
	{HandlerPHP, `a|i:1;a|i:2;5|s:1:"x";|i:1;!a|N;`},
	{HandlerPHP, "weird key\n\x00\xff|i:1;"},
	{HandlerPHPBinary, "\x03uid" + `i:42;` + "\x00" + `N;`},
}

func TestTextRoundTripVectors(t *testing.T) {
	for _, v := range textVectors {
		s, err := DecodeSession([]byte(v.b), v.h)
		if err != nil {
			t.Errorf("DecodeSession(%q, %s): %v", v.b, v.h, err)
			continue
		}
		checkTextRoundTrip(t, v.b, s, []byte(v.b))
	}
}

func TestFormatTextShape(t *testing.T) {
	s, err := DecodeSession([]byte(textVectors[2].b), HandlerPHP)
	if err != nil {
		t.Fatal(err)
	}
	want := `@handler = php

i = &1 7
arr = [
    k = "v"
    5 = true
]
x = &5 object stdClass {
    p = 1
}
y = @5
s = &8 "str"
r = *8
deep = [
    0 = *1
]
`
	got := string(FormatText(s))
	if !strings.HasPrefix(got, "# ") || !strings.HasSuffix(got, want) {
		t.Errorf("FormatText =\n%s\nwant it to end with\n%s", got, want)
	}
	s, err = DecodeSession([]byte(textVectors[8].b), HandlerPHP)
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []string{
		"a = 0.10000000000000001\n", `b = raw "d:1.0;" 1.0` + "\n", "c = .5\n", "d = 5.\n", "e = +1.5\n",
		"f = 1e400\n", `g = raw "d:05;" 5.0` + "\n", "h = +5\n", "i = 05\n", "j = -0\n",
		`k = raw "i:99999999999999999999;" 9223372036854775807` + "\n", `l = raw "S:3:\"\\61bc\";" "abc"` + "\n",
	}
	got = string(FormatText(s))
	for _, l := range wantLines {
		if !strings.Contains(got, l) {
			t.Errorf("FormatText lacks line %q:\n%s", l, got)
		}
	}
}

func TestTextStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", `"plain text"`},
		{"Zoë 😀", `"Zoë 😀"`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"\n\t\r\x00", `"\n\t\r\0"`},
		{"\x01\x1f\x7f", `"\x01\x1f\x7f"`},
		{"\xff\xc3(", `"\xff\xc3("`},
		{"\u200b\u00a0", `"\xe2\x80\x8b\xc2\xa0"`},
		{"|;:\"{}", `"|;:\"{}"`},
	}
	for _, tt := range tests {
		if got := string(appendTextString(nil, tt.in)); got != tt.want {
			t.Errorf("appendTextString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		v, err := parseScalarText([]byte(tt.want))
		if err != nil || v.Str != tt.in {
			t.Errorf("parse %s = %q, %v; want %q", tt.want, v.Str, err, tt.in)
		}
	}
}

func TestTextFloats(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1, "1.0"}, {0.1, "0.1"}, {math.Copysign(0, -1), "-0.0"}, {0, "0.0"}, {1.5, "1.5"},
		{1e15, "1000000000000000.0"}, {1e16, "10000000000000000.0"}, {1e17, "1.0E+17"}, {1e25, "1.0E+25"},
		{1e-4, "0.0001"}, {1e-5, "1.0E-5"}, {0.00012345, "0.00012345"}, {123456789012345678.0, "1.2345678901234568E+17"},
		{math.Inf(1), "INF"}, {math.Inf(-1), "-INF"}, {math.NaN(), "NAN"}, {1.0 / 3, "0.3333333333333333"},
		{math.MaxFloat64, "1.7976931348623157E+308"}, {5e-324, "5.0E-324"}, {1.25e-7, "1.25E-7"}, {100, "100.0"},
	}
	for _, tt := range tests {
		if got := string(appendTextFloat(nil, tt.f)); got != tt.want {
			t.Errorf("appendTextFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
		v, err := parseScalarText([]byte(tt.want))
		if err != nil || v.Kind != KindFloat || !floatSame(v.Float, tt.f) || v.Raw != "" {
			t.Errorf("parse %s = %+v, %v", tt.want, v, err)
		}
	}
}

func TestParseTextHandWritten(t *testing.T) {
	in := `# my edit
@handler = php_serialize
user = [ id = 42  "name" = "Ann" ]   # inline is fine too
5 = "five"
"5" = "string five"
-3 = 1.5e3
obj = object App\Model {
    public title = "t"
    protected "odd name" = null
    private(App\Base) secret = "s"
    7 = false
}
@trailing = "x"
`
	s, err := ParseText([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &Session{Handler: HandlerPHPSerialize, Trailing: "x", Root: Array(
		Entry{StrKey("user"), Array(Entry{StrKey("id"), Int(42)}, Entry{StrKey("name"), String("Ann")})},
		Entry{IntKey(5), String("five")},
		Entry{StrKey("5"), String("string five")},
		Entry{IntKey(-3), Value{Kind: KindFloat, Float: 1500, Raw: "d:1.5e3;"}},
		Entry{StrKey("obj"), Object(`App\Model`,
			Entry{StrKey("title"), String("t")},
			Entry{PropKey("odd name", Protected, ""), Null()},
			Entry{PropKey("secret", Private, `App\Base`), String("s")},
			Entry{IntKey(7), Bool(false)})},
	)}
	if !sameSession(s, want) {
		t.Errorf("ParseText =\n%s\nwant\n%s", FormatText(s), FormatText(want))
	}
}

func TestParseTextErrors(t *testing.T) {
	const h = "@handler = php\n"
	tests := []struct {
		in        string
		line, col int
		msg       string
	}{
		{"", 1, 1, "@handler"},
		{"a = 1\n", 1, 1, "@handler"},
		{"@handler = php5\n", 1, 12, "php, php_binary, php_serialize, igbinary or msgpack"},
		{"@handler = php\n@handler = php\n", 2, 1, "twice"},
		{"@nope = 1\n", 1, 1, "unknown directive"},
		{h + "5 = 1\n", 2, 1, "strings"},
		{h + "\"a|b\" = 1\n", 2, 1, `"|"`},
		{"@handler = php_binary\n\"" + strings.Repeat("k", 128) + "\" = 1\n", 2, 1, "127 bytes"},
		{h + "a = \n", 3, 1, "expected a value"},
		{h + "a 1\n", 2, 3, "expected '='"},
		{h + "a = \"abc\n", 3, 1, "close the string"},
		{h + "a = \"\\q\"\n", 2, 6, "escape"},
		{h + "a = \"\\xZZ\"\n", 2, 6, "hex digits"},
		{h + "a = 12abc\n", 2, 5, "expected a number"},
		{h + "a = 99999999999999999999\n", 2, 5, "64-bit range"},
		{h + "a = [\n  0 = 1\n", 4, 1, "']' to close"},
		{h + "a = *1\n", 2, 5, "no value is marked &1"},
		{h + "a = &1 5\nb = @1\n", 3, 5, "@ only points to objects"},
		{h + "a = &1 5\nb = &1 6\n", 3, 5, "used twice"},
		{h + "a = &1 *1\n", 2, 5, "cannot carry a label"},
		{h + "a = &0 1\n", 2, 6, "positive number"},
		{h + "a = object 1bad {}\n", 2, 12, "class name"},
		{h + "a = object \\Bad {}\n", 2, 12, "class name"},
		{h + "a = enum NoCase\n", 2, 10, "enum case"},
		{h + "a = serializable Foo 5\n", 2, 22, "payload"},
		{h + "a = maybe\n", 2, 5, "expected a value"},
		{h + "@root = 1\n", 2, 1, "php_serialize"},
		{"@handler = php_serialize\na = 1\n@root = 1\n", 3, 1, "cannot be combined"},
		{"@handler = php_serialize\n@root = 1\na = 1\n", 3, 1, "cannot follow @root"},
		{h + "@trailing = \"x\"\n", 2, 1, "php_serialize"},
		{h + "a = [ private(X) p = 1 ]\n", 2, 14, "expected '='"},
		{h + "a = object O { private p = 1 }\n", 2, 24, "'('"},
		{h + "a = 1 # ok\nb = \"é\" c\n", 4, 1, "expected '='"},
		{h + "a = 1 # ok\nb = \"é\" ~\n", 3, 9, "a key"},
		{"@handler = php_serialize\n@empty = yes\n", 2, 1, "@empty = true"},
		{h + "a = " + strings.Repeat("[0=", DefaultMaxDepth+1), 2, 4 + 3*DefaultMaxDepth + 1, "nesting"},
	}
	for _, tt := range tests {
		_, err := ParseText([]byte(tt.in))
		te, ok := err.(*TextError)
		if !ok {
			t.Errorf("ParseText(%.60q) error = %v, want *TextError", tt.in, err)
			continue
		}
		if te.Line != tt.line || te.Col != tt.col || !strings.Contains(te.Msg, tt.msg) {
			t.Errorf("ParseText(%.60q) = %v, want line %d, col %d, %q", tt.in, err, tt.line, tt.col, tt.msg)
		}
		if !strings.HasPrefix(err.Error(), "line ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("message %q is not one line starting with \"line \"", err.Error())
		}
	}
}

// randValue builds a random value tree, registering anchors in order so
// references only point backwards, as PHP's do.
type randTree struct {
	r       *rand.Rand
	next    int64
	anchors []int64
	objs    []int64
}

func (g *randTree) str() string {
	alphabet := []string{"a", "b", "Zoë", " ", "\n", "\x00", "\xff", "\"", "\\", "|", "#", "=", "[", "}", "😀", "5", "raw", "-"}
	n := g.r.IntN(6)
	var b strings.Builder
	for range n {
		b.WriteString(alphabet[g.r.IntN(len(alphabet))])
	}
	return b.String()
}

func (g *randTree) key(obj bool) Key {
	switch g.r.IntN(4) {
	case 0:
		return IntKey(g.r.Int64N(20) - 5)
	case 1:
		if obj {
			return PropKey(g.str(), Visibility(g.r.IntN(3)), "C"+g.str())
		}
	}
	return StrKey(g.str())
}

func (g *randTree) value(depth int) Value {
	var v Value
	switch k := g.r.IntN(12); {
	case k == 0:
		v = Null()
	case k == 1:
		v = Bool(g.r.IntN(2) == 0)
	case k == 2:
		v = Int(g.r.Int64() - g.r.Int64())
	case k == 3:
		fs := []float64{0.1, 1, math.Copysign(0, -1), 1e25, 1e-5, math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(g.r.Uint64())}
		v = Float(fs[g.r.IntN(len(fs))])
	case k == 4:
		v = String(g.str())
	case k == 5 && depth < 4:
		v = Value{Kind: KindArray}
		for range g.r.IntN(4) {
			v.Elems = append(v.Elems, Entry{g.key(false), g.value(depth + 1)})
		}
	case k == 6 && depth < 4:
		v = Object("Cls_"+strings.Repeat("x", g.r.IntN(3)), Entry{g.key(true), g.value(depth + 1)})
	case k == 7:
		v = Custom(`Ns\Custom`, g.str())
	case k == 8:
		v = Enum("Suit:Hearts")
	case k == 9 && len(g.anchors) > 0:
		return Value{Kind: KindRef, Int: g.anchors[g.r.IntN(len(g.anchors))]}
	case k == 10 && len(g.objs) > 0:
		return Value{Kind: KindObjRef, Int: g.objs[g.r.IntN(len(g.objs))]}
	default:
		v = Int(int64(k))
	}
	if g.r.IntN(3) == 0 {
		g.next++
		v.Anchor = g.next
		g.anchors = append(g.anchors, g.next)
		if v.Kind == KindObject || v.Kind == KindCustom || v.Kind == KindEnum {
			g.objs = append(g.objs, g.next)
		}
	}
	return v
}

// TestTextRoundTripRandom: random sessions survive text round trips, and
// for those the encoder accepts, encode(decode(b)) through the text form
// gives b again.
func TestTextRoundTripRandom(t *testing.T) {
	encoded := 0
	for seed := range uint64(400) {
		g := &randTree{r: rand.New(rand.NewPCG(seed, 7))}
		h := []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize}[seed%3]
		s := &Session{Handler: h, Root: Value{Kind: KindArray}}
		for range g.r.IntN(6) {
			k := g.key(false)
			if h != HandlerPHPSerialize {
				k = StrKey("k" + strings.ReplaceAll(g.str(), "|", ""))
			}
			// Anchors must not exceed what a mutated subtree could hold;
			// build values in document order.
			s.Root.Elems = append(s.Root.Elems, Entry{k, g.value(0)})
		}
		checkTextRoundTrip(t, "random", s, nil)
		b, err := EncodeSession(s)
		if err != nil {
			continue
		}
		d, err := DecodeSession(b, h)
		if err != nil {
			t.Errorf("seed %d: decode of encoded session: %v (%q)", seed, err, b)
			continue
		}
		encoded++
		checkTextRoundTrip(t, "random decoded", d, b)
	}
	if encoded < 100 {
		t.Errorf("only %d of 400 random sessions encoded: the generator is off", encoded)
	}
}
