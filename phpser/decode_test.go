package phpser

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

// Inputs PHP 8.2's unserialize() accepts (checked against php), with the
// value they denote and whether they carry Raw (non-canonical text).
func TestDecodeValueAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want Value
		raw  bool
		n    int // bytes consumed; 0 = all
	}{
		{"N;", Null(), false, 0},
		{"b:0;", Bool(false), false, 0},
		{"b:1;", Bool(true), false, 0},
		{"i:42;", Int(42), false, 0},
		{"i:-7;", Int(-7), false, 0},
		{"i:0;", Int(0), false, 0},
		{"i:+5;", Int(5), true, 0},
		{"i:05;", Int(5), true, 0},
		{"i:-0;", Int(0), true, 0},
		{"i:00;", Int(0), true, 0},
		{"i:-9223372036854775808;", Int(math.MinInt64), false, 0},
		{"i:9223372036854775807;", Int(math.MaxInt64), false, 0},
		{"i:9223372036854775808;", Int(math.MaxInt64), true, 0},
		{"i:-9223372036854775809;", Int(math.MinInt64), true, 0},
		{"i:-00000000000000000000000001;", Int(-1), true, 0},
		{`s:0:"";`, String(""), false, 0},
		{`s:3:"a"c";`, String(`a"c`), false, 0},
		{`s:4:"x";y";`, String(`x";y`), false, 0},
		{`s:01:"a";`, String("a"), true, 0},
		{`s:18446744073709551617:"a";`, String("a"), true, 0}, // size_t wraps, as in PHP
		{`S:3:"\61bc";`, String("abc"), true, 0},
		{`S:2:"\4A\4a";`, String("JJ"), true, 0},
		{"a:0:{}", Array(), false, 0},
		{"a:01:{i:0;i:1;}", Array(Entry{IntKey(0), Int(1)}), true, 0},
		{`a:1:{s:1:"5";i:1;}`, Array(Entry{IntKey(5), Int(1)}), false, 0},
		{`a:1:{s:2:"05";i:1;}`, Array(Entry{StrKey("05"), Int(1)}), false, 0},
		{`a:1:{s:2:"-0";i:1;}`, Array(Entry{StrKey("-0"), Int(1)}), false, 0},
		{"a:1:{i:+05;i:1;}", Array(Entry{IntKey(5), Int(1)}), false, 0},
		{"a:1:{i:99999999999999999999;i:1;}", Array(Entry{IntKey(math.MaxInt64), Int(1)}), false, 0},
		{"a:2:{i:0;i:1;i:0;i:2;}", Array(Entry{IntKey(0), Int(1)}, Entry{IntKey(0), Int(2)}), false, 0},
		{"a:1:{i:0;i:1;}}", Array(Entry{IntKey(0), Int(1)}), false, 14},
		{`O:8:"stdClass":0:{}`, Object("stdClass"), false, 0},
		{`O:8:"stdClass"::{}`, Object("stdClass"), true, 0},
		{`O:8:"stdClass":-0:{}`, Object("stdClass"), true, 0},
		{`O:8:"stdClass":+1:{s:1:"a";i:1;}`, Object("stdClass", Entry{StrKey("a"), Int(1)}), true, 0},
		{`O:08:"stdClass":0:{}`, Object("stdClass"), true, 0},
		{`O:8:"stdClass":1:{i:5;i:1;}`, Object("stdClass", Entry{IntKey(5), Int(1)}), false, 0},
		{`O:8:"stdClass":1:{s:1:"5";i:1;}`, Object("stdClass", Entry{StrKey("5"), Int(1)}), false, 0},
		{`O:1:"5":0:{}`, Object("5"), false, 0},
		{`O:2:"A\":0:{}`, Object(`A\`), false, 0},
		{"O:2:\"A\x80\":0:{}", Object("A\x80"), false, 0},
		{"O:8:\"stdClass\":1:{s:2:\"\x00a\";i:1;}", Object("stdClass", Entry{StrKey("\x00a"), Int(1)}), false, 0},
		{`C:3:"Foo":3:{abc}`, Custom("Foo", "abc"), false, 0},
		{`C:3:"Foo"::{}`, Custom("Foo", ""), true, 0},
		{`C:3:"Foo":+3:{abc}`, Custom("Foo", "abc"), true, 0},
		{`C:3:"Foo":3:{abc}x`, Custom("Foo", "abc"), false, 17},
		{`E:6:"Suit:H";`, Enum("Suit:H"), false, 0},
		{`E:07:"Suit:HH";`, Enum("Suit:HH"), true, 0},
		{"i:1;trailing", Int(1), false, 4},
	}
	for _, tt := range tests {
		v, n, err := DecodeValue([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		wantN := tt.n
		if wantN == 0 {
			wantN = len(tt.in)
		}
		if n != wantN {
			t.Errorf("%q: n = %d want %d", tt.in, n, wantN)
		}
		if (v.Raw != "") != tt.raw {
			t.Errorf("%q: Raw = %q, want raw=%v", tt.in, v.Raw, tt.raw)
		}
		got := v
		got.Raw = ""
		if !Equal(got, tt.want) {
			t.Errorf("%q: got %#v want %#v", tt.in, got, tt.want)
		}
		out, err := EncodeValue(v)
		if err != nil || string(out) != tt.in[:wantN] {
			t.Errorf("%q: re-encoded %q, %v", tt.in, out, err)
		}
	}
}

// Inputs PHP 8.2's unserialize() rejects (checked against php).
func TestDecodeValueRejects(t *testing.T) {
	for _, in := range []string{
		"", "N", "N:", "i:1", "i:;", "i:1a;", "i:- 1;", "b:2;", "b:01;", "b:;",
		`s:+1:"a";`, `s:1:"a"`, `s:1:"a;`, `s:2:"a";`, `s:-1:"";`, `s:1:"ab";`, `s:5:"a";`,
		`S:1:"\6";`, `S:1:"\zz";`, `S:2:"a";`,
		"a:+1:{i:0;i:1;}", "a:-0:{}", "a:1:{i:0;i:1;", "a:3:{i:0;i:1;}", "a:1:{i:0;i:1;i:1;i:2;}",
		"a:1:{d:1;i:1;}", "a:1:{b:1;i:1;}", "a:1:{N;i:1;}", "a:1:{a:0:{}i:1;}", "a:0:{", "a:1{}",
		"a:99999999999:{}", `s:18446744073709551615:"a";`, `s:18446744073709551614:"a";`, `s:18446744073709551615:";`, `a:1:{s:18446744073709551615:";i:1;}`, `a:1:{s:18446744073709551615:"a";i:1;}`, "a:18446744073709551617:{i:0;i:1;}",
		`O:0:"":0:{}`, `O:2:"\A":0:{}`, `O:3:"a-b":0:{}`, `O:8:"stdClass":-1:{}`, `O:8:"stdClass":1:{N;i:1;}`,
		`O:8:"stdClass":1:{s:1:"a";i:1;`, `O:8:"stdClass"`, `O:8:"stdClass":0:`,
		`C:3:"Foo":3:xabc}`, `C:3:"Foo":3x{abc}`, `C:3:"Foo":3:{abcd}`, `C:3:"Foo"x3:{abc}`, `C:3:"Foo":3:{abc`, `C:3:"Foo":-1:{}`,
		`E:+3:"A:B";`, `E:3:"ABC";`, `E:0:"";`, `E:3:"A:B"`,
		"r:1;", "R:1;", "r:+1;", "R:0;", "a:1:{i:0;r:1;}", "a:2:{i:0;i:1;i:1;R:0;}", "a:3:{i:0;a:0:{}i:1;R:2;i:2;r:2;}",
		"x:1;", "d:", "i:1;"[:3],
	} {
		v, n, err := DecodeValue([]byte(in))
		if err == nil {
			t.Errorf("%q accepted: %#v n=%d", in, v, n)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %T is not *SyntaxError", in, err)
			continue
		}
		if se.Offset < 0 || se.Offset > len(in) || strings.ContainsAny(se.Error(), "\n\r") {
			t.Errorf("%q: bad error %q", in, se.Error())
		}
	}
}

func TestSyntaxErrorPositions(t *testing.T) {
	tests := []struct {
		h      Handler
		in     string
		offset int
		path   string
		msg    string
	}{
		{HandlerPHP, `cart|a:1:{s:5:"items";a:4:{i:0;i:1;i:1;i:2;i:2;i:3;i:3;a:1:{s:5:"price";i:1x;}}}`, 72, "cart.items[3].price", `offset 72 (at cart.items[3].price): expected i:<digits>;, found "i:1x;}}}"`},
		{HandlerPHP, "a|i:1;b|i:2", 8, "b", ""},
		{HandlerPHP, "a|i:1;b", 6, "", `offset 6: expected '|' ending a session key, found "b"`},
		{HandlerPHPSerialize, `a:1:{s:1:"k";s:9:"short";}`, 15, "k", `offset 15 (at k): expected a string length the remaining input can hold, found "9:\"short\";}"`},
		{HandlerPHPBinary, "\x01ai:1;\x09b", 6, "", ""},
		{HandlerPHP, "a|i:1;b|b:2;", 8, "b", `offset 8 (at b): expected b:0; or b:1;, found "b:2;"`},
		{HandlerPHP, "a|a:1:{i:0;O:1:\"X\":1:{s:2:\"\x00p\";N}}", 31, `a[0]["\x00p"]`, ""},
		{HandlerPHP, "x|s:3:\"ab\";", 10, "x", `offset 10 (at x): expected '"' after string of declared length, found ";"`},
		{HandlerPHP, "x|s:3:\"abc\"", 11, "x", `offset 11 (at x): expected ';' after string, found end of input`},
	}
	for _, tt := range tests {
		_, err := DecodeSession([]byte(tt.in), tt.h)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v", tt.in, err)
			continue
		}
		if se.Offset != tt.offset || se.Path != tt.path {
			t.Errorf("%q: offset %d path %q (%v); want %d %q", tt.in, se.Offset, se.Path, se, tt.offset, tt.path)
		}
		if tt.msg != "" && se.Error() != tt.msg {
			t.Errorf("%q: message\n got %s\nwant %s", tt.in, se.Error(), tt.msg)
		}
	}
}

func nested(depth int, inner string) string {
	return strings.Repeat("a:1:{i:0;", depth) + inner + strings.Repeat("}", depth)
}

func TestDepthLimit(t *testing.T) {
	tests := []struct {
		max   int
		in    string
		ok    bool
		label string
	}{
		{1, "a:1:{i:0;a:0:{}}", true, "empty array does not count"},
		{1, `a:1:{i:0;O:8:"stdClass":0:{}}`, false, "objects count even when empty"},
		{1, "a:1:{i:0;a:1:{i:0;i:1;}}", false, "two levels"},
		{1, `O:8:"stdClass":0:{}`, true, "one level"},
		{0, nested(DefaultMaxDepth, "N;"), true, "default 4096"},
		{0, nested(DefaultMaxDepth+1, "N;"), false, "default 4097"},
		{3, nested(3, "N;"), true, "3"},
		{3, nested(4, "N;"), false, "4"},
	}
	for _, tt := range tests {
		_, _, err := DecodeOptions{MaxDepth: tt.max}.DecodeValue([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.label, err)
		}
	}
	// The session decoders apply it too.
	if _, err := DecodeSession([]byte("k|"+nested(DefaultMaxDepth+1, "N;")), HandlerPHP); err == nil {
		t.Error("php session deeper than 4096 accepted")
	}
}

// A declared length or count that the input cannot hold fails before
// anything is allocated for it.
func TestLengthsBeyondInput(t *testing.T) {
	for _, in := range []string{
		"a:999999999:{i:0;i:1;}", `s:999999999:"abc";`, `S:999999999:"abc";`,
		`O:8:"stdClass":999999999:{}`, `C:3:"Foo":999999999:{}`, `E:999999999:"A:B";`,
		nested(20, "a:99999:{i:0;N;"), // nested claims that overlap
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, _, err := DecodeValue([]byte(in))
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%q accepted", in)
		}
		if got := after.TotalAlloc - before.TotalAlloc; got > 64*1024 {
			t.Errorf("%q: allocated %d bytes", in[:20], got)
		}
	}
}

// Hostile nesting of claims: each level declares as many entries as the
// rest of the input could hold; total allocation stays linear.
func TestNestedClaimsBounded(t *testing.T) {
	var b strings.Builder
	for range 2000 {
		b.WriteString("a:1000:{i:0;")
	}
	in := []byte(b.String())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := DecodeValue(in)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("accepted")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > uint64(200*len(in)) {
		t.Errorf("allocated %d bytes for %d input bytes", got, len(in))
	}
}

// TestErrorClipsALongPath: a damaged session whose bytes make a key of
// megabytes gives an error line of at most a few hundred bytes.
func TestErrorClipsALongPath(t *testing.T) {
	in := []byte(strings.Repeat("x", 1<<20) + "|zz")
	_, err := DecodeSession(in, HandlerPHP)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(err.Error()); n > 400 {
		t.Errorf("the error is %d bytes long", n)
	}
	var se *SyntaxError
	if !errors.As(err, &se) || len(se.Path) < 1<<20 {
		t.Errorf("the error's Path is not kept whole: %v", err)
	}
}
