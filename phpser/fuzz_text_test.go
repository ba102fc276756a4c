package phpser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// FuzzParseText: ParseText never panics; whatever it accepts formats to a
// text that parses back to the same session and formats identically.
func FuzzParseText(f *testing.F) {
	for _, v := range textVectors {
		if s, err := DecodeSession([]byte(v.b), v.h); err == nil {
			f.Add(FormatText(s))
		}
	}
	f.Add([]byte("@handler = php\na = [ 0 = &1 object X { private(X) p = raw \"d:1.0;\" 1.0 } 1 = @1 2 = *1 ]\n"))
	f.Add([]byte("@handler = php_serialize\n@root = &1 [ 0 = *1 ]\n@trailing = \"\\xff\"\n"))
	f.Add([]byte("@handler = php_serialize\n@empty = true\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		checkAppendEncodedText(t, text)
		s, err := ParseText(text)
		if err != nil {
			if _, ok := err.(*TextError); !ok {
				t.Fatalf("error %v is not a *TextError", err)
			}
			return
		}
		out := FormatText(s)
		s2, err := ParseText(out)
		if err != nil {
			t.Fatalf("ParseText(FormatText(s)): %v\n%s", err, out)
		}
		if !sameSession(s, s2) {
			t.Fatalf("text round trip changed the session:\n%s", out)
		}
		if out2 := FormatText(s2); !bytes.Equal(out, out2) {
			t.Fatalf("FormatText not stable:\n%s\n---\n%s", out, out2)
		}
		// Whatever encodes must decode to a session whose text is the same
		// modulo what the encoder normalises; at least it must not panic.
		if b, err := EncodeSession(s); err == nil {
			if d, err := DecodeSession(b, s.Handler); err == nil {
				_ = FormatText(d)
			}
		}
	})
}

// FuzzParseJSON: ParseJSON never panics, errors are *SyntaxError, and what
// it accepts maps back to valid JSON and survives the text form.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`5`, `-0`, `5.0`, `1e400`, `"a\u00e9\ud83d\ude00"`, `[1,[2,{"a":null}]]`,
		`{"5":1,"05":2,"5":3}`, `{"__class":"A","p":1}`, `{"__enum":"S:H"}`, `{"__class":"C","__serialized":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		v, err := ParseJSON(lit)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			return
		}
		if out := AppendJSON(nil, nil, v); !json.Valid(out) {
			t.Fatalf("AppendJSON(ParseJSON(%q)) = %q is not valid JSON", lit, out)
		}
		s := &Session{Handler: HandlerPHPSerialize, Root: Array(Entry{StrKey("v"), v})}
		s2, err := ParseText(FormatText(s))
		if err != nil || !sameSession(s, s2) {
			t.Fatalf("text round trip of ParseJSON(%q): %v", lit, err)
		}
	})
}

// checkAppendEncodedText: AppendEncodedText gives what ParseText then EncodeSession
// give: the same bytes and handler, or the same error.
func checkAppendEncodedText(t *testing.T, text []byte) {
	t.Helper()
	got, gh, gerr := AppendEncodedText(nil, text)
	s, err := ParseText(text)
	if err != nil {
		if fmt.Sprint(gerr) != fmt.Sprint(err) {
			t.Fatalf("AppendEncodedText error %v, ParseText's %v\n%s", gerr, err, text)
		}
		return
	}
	want, werr := EncodeSession(s)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Fatalf("AppendEncodedText error %v, EncodeSession's %v\n%s", gerr, werr, text)
	}
	if gh != s.Handler || !bytes.Equal(got, want) {
		t.Fatalf("AppendEncodedText gave %s %q, ParseText and EncodeSession %s %q\n%s", gh, got, s.Handler, want, text)
	}
}
