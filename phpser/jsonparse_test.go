package phpser

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{`5`, Int(5)},
		{` -5 `, Int(-5)},
		{`-0`, Int(0)},
		{`5.0`, Float(5)},
		{`5e3`, Float(5000)},
		{`-0.0`, Float(math.Copysign(0, -1))},
		{`9223372036854775807`, Int(math.MaxInt64)},
		{`-9223372036854775808`, Int(math.MinInt64)},
		{`9223372036854775808`, Float(9223372036854775808)},
		{`1e400`, Float(math.Inf(1))},
		{`-1e400`, Float(math.Inf(-1))},
		{`"x"`, String("x")},
		{`"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\u0000"`, String("a\"\\/\b\f\n\r\té😀\x00")},
		{`true`, Bool(true)},
		{`false`, Bool(false)},
		{`null`, Null()},
		{`[]`, Array()},
		{`{}`, Array()},
		{`[1,"a",[true]]`, Array(Entry{IntKey(0), Int(1)}, Entry{IntKey(1), String("a")}, Entry{IntKey(2), Array(Entry{IntKey(0), Bool(true)})})},
		{`{"5":1,"05":2,"-0":3,"-5":4," 5":5,"5.0":6,"+5":7,"a":8}`, Array(
			Entry{IntKey(5), Int(1)}, Entry{StrKey("05"), Int(2)}, Entry{StrKey("-0"), Int(3)}, Entry{IntKey(-5), Int(4)},
			Entry{StrKey(" 5"), Int(5)}, Entry{StrKey("5.0"), Int(6)}, Entry{StrKey("+5"), Int(7)}, Entry{StrKey("a"), Int(8)})},
		{`{"a":1,"b":2,"a":3}`, Array(Entry{StrKey("a"), Int(3)}, Entry{StrKey("b"), Int(2)})},
		{`{"__enum":"Suit:Hearts"}`, Enum("Suit:Hearts")},
		{`{"__class":"Foo","__serialized":"abc"}`, Custom("Foo", "abc")},
		{`{"name":"ann","__class":"App\\User","\u0000*\u0000role":"admin"}`, Object("App\\User", Entry{StrKey("name"), String("ann")}, Entry{PropKey("role", Protected, ""), String("admin")})},
		{`{"__class":"stdClass","5":1}`, Object("stdClass", Entry{StrKey("5"), Int(1)})},
	}
	for _, tt := range tests {
		got, err := ParseJSON([]byte(tt.in))
		if err != nil {
			t.Errorf("ParseJSON(%s): %v", tt.in, err)
			continue
		}
		if !Equal(got, tt.want) || !keysIdentical(got, tt.want) {
			t.Errorf("ParseJSON(%s) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// keysIdentical compares the key kinds of two trees (Equal already does,
// this also checks Raw is empty on parsed JSON).
func keysIdentical(a, b Value) bool {
	if a.Raw != "" || len(a.Elems) != len(b.Elems) {
		return false
	}
	for i := range a.Elems {
		if a.Elems[i].Key != b.Elems[i].Key || !keysIdentical(a.Elems[i].Val, b.Elems[i].Val) {
			return false
		}
	}
	return true
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		want   string
	}{
		{``, 0, "a JSON value"},
		{`05`, 0, "without leading zeros"},
		{`1.`, 2, "digit after '.'"},
		{`1e`, 2, "exponent"},
		{`+1`, 0, "a JSON value"},
		{`[1,]`, 3, "a JSON value"},
		{`[1 2]`, 3, "',' or ']'"},
		{`{"a" 1}`, 5, "':'"},
		{`{a:1}`, 1, "member name"},
		{`"abc`, 4, "close the string"},
		{"\"a\nb\"", 2, "control character"},
		{"\"\xff\"", 1, "UTF-8"},
		{`"\ud800"`, 1, "surrogate"},
		{`"\q"`, 1, "an escape"},
		{`tru`, 0, "a JSON value"},
		{`1 2`, 2, "end of the JSON value"},
		{`{"__enum":"NoCase"}`, 1, "enum case"},
		{`{"__enum":"A:B","x":1}`, 0, "only member"},
		{`{"__class":5}`, 1, "string value"},
		{`{"__class":"\\Bad"}`, 1, "class name"},
		{`{"__class":"a b"}`, 1, "class name"},
		{strings.Repeat("[", DefaultMaxDepth+1), DefaultMaxDepth, "levels of nesting"},
	}
	for _, tt := range tests {
		_, err := ParseJSON([]byte(tt.in))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseJSON(%q) error = %v, want *SyntaxError", tt.in, err)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(se.Error(), tt.want) {
			t.Errorf("ParseJSON(%.40q) = %v (offset %d), want offset %d and %q", tt.in, err, se.Offset, tt.offset, tt.want)
		}
	}
}

// phpSerializeForTest writes the serialize() form of plain values (no
// objects, no references) for comparison with real PHP.
func phpSerializeForTest(b []byte, v Value) []byte {
	switch v.Kind {
	case KindNull:
		return append(b, "N;"...)
	case KindBool:
		return append(b, "b:"+strconv.FormatInt(v.Int, 10)+";"...)
	case KindInt:
		return append(b, "i:"+strconv.FormatInt(v.Int, 10)+";"...)
	case KindFloat:
		b = append(b, "d:"...)
		return append(appendFloat(b, v.Float), ';')
	case KindString:
		return append(b, "s:"+strconv.Itoa(len(v.Str))+":\""+v.Str+"\";"...)
	case KindArray:
		b = append(b, "a:"+strconv.Itoa(len(v.Elems))+":{"...)
		for _, e := range v.Elems {
			if e.Key.IsInt {
				b = phpSerializeForTest(b, Int(e.Key.Int))
			} else {
				b = phpSerializeForTest(b, String(e.Key.Str))
			}
			b = phpSerializeForTest(b, e.Val)
		}
		return append(b, '}')
	}
	return append(b, "?"...)
}

// TestParseJSONMatchesPHP compares ParseJSON with json_decode($lit, true).
func TestParseJSONMatchesPHP(t *testing.T) {
	lits := []string{`5`, `-0`, `5.0`, `-0.0`, `5e3`, `1E-7`, `0.1`, `1e400`, `-1e400`, `9223372036854775807`,
		`9223372036854775808`, `-9223372036854775809`, `123456789012345678901234567890`, `"Zo\u00eb"`, `true`, `null`,
		`[1,[2,[3]]]`, `{"5":1,"05":2,"-0":3,"-5":4,"a":5,"5":6}`, `{"9223372036854775807":1,"9223372036854775808":2}`,
		`{"":1,"0":2,"00":3}`, `[]`, `{}`, `{"a":{"b":[1.5,"\ud83d\ude00"]}}`}
	out := textRunPHP(t, `foreach (explode("\n", stream_get_contents(STDIN)) as $l) { echo base64_encode(serialize(json_decode($l, true))), "\n"; }`,
		[]byte(strings.Join(lits, "\n")))
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(lits) {
		t.Fatalf("php gave %d answers for %d literals", len(got), len(lits))
	}
	for i, l := range lits {
		v, err := ParseJSON([]byte(l))
		if err != nil {
			t.Errorf("ParseJSON(%s): %v", l, err)
			continue
		}
		mine := string(phpSerializeForTest(nil, v))
		if want := b64(t, got[i]); mine != want {
			t.Errorf("ParseJSON(%s) serializes as %s, PHP json_decode gives %s", l, mine, want)
		}
	}
}
