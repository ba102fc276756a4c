package phpser

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// PHP-FACTS 9.3, as PHP 8.2 wrote it.
const (
	vecRefsPHP       = `i|i:7;arr|a:2:{s:1:"k";s:1:"v";i:5;b:1;}x|O:8:"stdClass":1:{s:1:"p";i:1;}y|r:5;s|s:3:"str";r|R:8;deep|a:1:{i:0;R:1;}`
	vecRefsSerialize = `a:7:{s:1:"i";i:7;s:3:"arr";a:2:{s:1:"k";s:1:"v";i:5;b:1;}s:1:"x";O:8:"stdClass":1:{s:1:"p";i:1;}s:1:"y";r:6;s:1:"s";s:3:"str";s:1:"r";R:9;s:4:"deep";a:1:{i:0;R:2;}}`
)

func TestRefs93(t *testing.T) {
	for _, tt := range []struct {
		h  Handler
		in string
		// anchors of i, x, s (slot numbers in this handler)
		ai, ax, as int64
	}{
		{HandlerPHP, vecRefsPHP, 1, 5, 8},
		{HandlerPHPSerialize, vecRefsSerialize, 2, 6, 9},
	} {
		s, err := DecodeSession([]byte(tt.in), tt.h)
		if err != nil {
			t.Fatalf("%s: %v", tt.h, err)
		}
		es := s.Entries()
		if es[0].Val.Anchor != tt.ai || es[2].Val.Anchor != tt.ax || es[4].Val.Anchor != tt.as {
			t.Errorf("%s: anchors i=%d x=%d s=%d", tt.h, es[0].Val.Anchor, es[2].Val.Anchor, es[4].Val.Anchor)
		}
		if y := es[3].Val; y.Kind != KindObjRef || y.Int != tt.ax {
			t.Errorf("%s: y = %#v", tt.h, y)
		}
		if got, ok := s.Deref(es[5].Val); !ok || got.Str != "str" {
			t.Errorf("%s: Deref(r) = %#v, %v", tt.h, got, ok)
		}
		if got, ok := s.Deref(es[6].Val.Elems[0].Val); !ok || got.Int != 7 {
			t.Errorf("%s: Deref(deep[0]) = %#v, %v", tt.h, got, ok)
		}
		if out, err := EncodeSession(s); err != nil || string(out) != tt.in {
			t.Errorf("%s: re-encode %q, %v", tt.h, out, err)
		}
	}
}

// Converting between handlers renumbers every reference as PHP would.
func TestRefsRenumberAcrossHandlers(t *testing.T) {
	s, err := DecodeSession([]byte(vecRefsPHP), HandlerPHP)
	if err != nil {
		t.Fatal(err)
	}
	s.Handler = HandlerPHPSerialize
	out, err := EncodeSession(s)
	if err != nil || string(out) != vecRefsSerialize {
		t.Errorf("php -> php_serialize:\n got %q, %v\nwant %q", out, err, vecRefsSerialize)
	}
}

// Changing one value changes only its bytes and the later refs that move.
func TestRefsRenumberAfterChange(t *testing.T) {
	s, err := DecodeSession([]byte(vecRefsPHP), HandlerPHP)
	if err != nil {
		t.Fatal(err)
	}
	// arr (slots 2-4) becomes an int (slot 2): later slots move down by 2.
	s.Root.Elems[1].Val = Int(3)
	out, err := EncodeSession(s)
	want := `i|i:7;arr|i:3;x|O:8:"stdClass":1:{s:1:"p";i:1;}y|r:3;s|s:3:"str";r|R:6;deep|a:1:{i:0;R:1;}`
	if err != nil || string(out) != want {
		t.Errorf("got  %q, %v\nwant %q", out, err, want)
	}
	// Replacing a referenced value in place keeps its Anchor: refs follow it.
	s.Root.Elems[4].Val = Value{Kind: KindArray, Anchor: s.Root.Elems[4].Val.Anchor, Elems: []Entry{{IntKey(0), Null()}, {IntKey(1), Null()}}}
	out, err = EncodeSession(s)
	want = `i|i:7;arr|i:3;x|O:8:"stdClass":1:{s:1:"p";i:1;}y|r:3;s|a:2:{i:0;N;i:1;N;}r|R:6;deep|a:1:{i:0;R:1;}`
	if err != nil || string(out) != want {
		t.Errorf("got  %q, %v\nwant %q", out, err, want)
	}
	// Inserting a value before everything shifts every ref by one.
	s.Root.Elems = append([]Entry{{StrKey("new"), Int(0)}}, s.Root.Elems...)
	out, _ = EncodeSession(s)
	want = `new|i:0;i|i:7;arr|i:3;x|O:8:"stdClass":1:{s:1:"p";i:1;}y|r:4;s|a:2:{i:0;N;i:1;N;}r|R:7;deep|a:1:{i:0;R:2;}`
	if string(out) != want {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}

func TestRefEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		path string
	}{
		{"dangling", Array(Entry{IntKey(0), Value{Kind: KindRef, Int: 3}}), "[0]"},
		{"forward", Array(Entry{IntKey(0), Value{Kind: KindRef, Int: 3}}, Entry{IntKey(1), Value{Kind: KindInt, Anchor: 3}}), "[0]"},
		{"r: to non-object", Array(Entry{IntKey(0), Value{Kind: KindInt, Anchor: 2}}, Entry{IntKey(1), Value{Kind: KindObjRef, Int: 2}}), "[1]"},
		{"bad class", Object("a-b"), ""},
		{"bad enum", Enum("NoColon"), ""},
	}
	for _, tt := range tests {
		_, err := EncodeValue(tt.v)
		var ee *EncodeError
		if !errors.As(err, &ee) {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if ee.Path != tt.path {
			t.Errorf("%s: path %q want %q", tt.name, ee.Path, tt.path)
		}
	}
	// A reference to an ancestor is fine (PHP writes it for $a[0] = &$a).
	v := Value{Kind: KindArray, Anchor: 1, Elems: []Entry{{IntKey(0), Value{Kind: KindRef, Int: 1}}}}
	if out, err := EncodeValue(v); err != nil || string(out) != "a:1:{i:0;R:1;}" {
		t.Errorf("self array ref: %q, %v", out, err)
	}
}

func TestRawRefKeptOnlyWhenSlotStays(t *testing.T) {
	in := "a:2:{i:0;O:1:\"X\":0:{}i:1;r:02;}"
	v, _, err := DecodeValue([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := EncodeValue(v); string(out) != in {
		t.Errorf("re-encode %q", out)
	}
	v.Elems = append([]Entry{{IntKey(9), Null()}}, v.Elems...)
	if out, _ := EncodeValue(v); string(out) != "a:3:{i:9;N;i:0;O:1:\"X\":0:{}i:1;r:3;}" {
		t.Errorf("after insert %q", out)
	}
}

// Many anchors (past the encoder's short list) still renumber correctly.
func TestManyAnchors(t *testing.T) {
	var b strings.Builder
	b.WriteString("a:80:{")
	for i := range 40 {
		fmt.Fprintf(&b, "i:%d;i:%d;", i, i)
	}
	for i := range 40 {
		fmt.Fprintf(&b, "i:%d;R:%d;", 40+i, 40-i+1)
	}
	b.WriteString("}")
	in := b.String()
	v, _, err := DecodeValue([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := EncodeValue(v); err != nil || string(out) != in {
		t.Fatalf("re-encode: %v\n%q\n%q", err, out, in)
	}
	v.Elems = append([]Entry{{IntKey(-1), Null()}}, v.Elems...) // every slot moves up by one
	out, err := EncodeValue(v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "a:81:{i:-1;N;i:0;i:0;") || !strings.Contains(string(out), "i:40;R:42;") || !strings.HasSuffix(string(out), "i:79;R:3;}") {
		t.Errorf("after removal: %q", out)
	}
}
