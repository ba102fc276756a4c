package sessfile

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseSavePath holds ParseSavePath to its promises on any input: it
// never panics; an error is a *SavePathError naming the value on one line;
// what parses has a non-empty directory, a depth within MaxDepth and a mode
// that gives someone access; and String() reads back to the same SavePath
// (and is itself a fixed point).
func FuzzParseSavePath(f *testing.F) {
	for _, seed := range []string{
		"/var/lib/php/sessions", "2;/tmp/s", "0;0777;/dir", "3;0600;/a;b;c",
		"1;;/x", ";/x", "x;/dir", "-1;/dir", "2;8;/dir", "2;0000;/dir",
		"2;07777;/dir", "1;1;1", "", ";", ";;", "a\x00b", "249;/d", "250;/d",
		"0001;/d", "2;00600;/d", "rel/dir", "1;rel", "  2;/d", "2 ;/d",
		"1;0600;", "1;", "\xff;\xfe;\xfd",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p, err := ParseSavePath(v)
		if err != nil {
			var spe *SavePathError
			if !errors.As(err, &spe) {
				t.Fatalf("ParseSavePath(%q) error %T %v is not a *SavePathError", v, err, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("ParseSavePath(%q) error spans lines: %q", v, msg)
			}
			return
		}
		if p.Dir == "" {
			t.Fatalf("ParseSavePath(%q) = %+v: empty Dir accepted", v, p)
		}
		if p.Depth < 0 || p.Depth > MaxDepth {
			t.Fatalf("ParseSavePath(%q) = %+v: depth out of range", v, p)
		}
		if strings.IndexByte(v, 0) >= 0 {
			t.Fatalf("ParseSavePath(%q) accepted a NUL byte: %+v", v, p)
		}
		if p.Mode != 0 && p.Mode.Perm() == 0 {
			t.Fatalf("ParseSavePath(%q) = %+v: mode gives no one access", v, p)
		}
		s := p.String()
		q, err := ParseSavePath(s)
		if err != nil {
			t.Fatalf("ParseSavePath(%q) = %+v, String() = %q does not parse: %v", v, p, s, err)
		}
		if q != p {
			t.Fatalf("round trip: ParseSavePath(%q) = %+v, String() = %q, parsed back = %+v", v, p, s, q)
		}
		if s2 := q.String(); s2 != s {
			t.Fatalf("String() not a fixed point for %q: %q then %q", v, s, s2)
		}
	})
}
