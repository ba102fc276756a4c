package corpus

import (
	"bytes"
	"testing"

	"github.com/sesstool/sesstool/phpser"
)

func TestSessions(t *testing.T) {
	for _, h := range []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize} {
		a, err := Sessions(500, h, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Sessions(500, h, 1)
		refs, objs := 0, 0
		for i, p := range a {
			if !bytes.Equal(p, b[i]) {
				t.Fatalf("%s #%d: not deterministic", h, i)
			}
			if len(p) < MinSize || len(p) > MaxSize {
				t.Errorf("%s #%d: %d bytes", h, i, len(p))
			}
			s, err := phpser.DecodeSession(p, h)
			if err != nil {
				t.Fatalf("%s #%d: %v\n%q", h, i, err, p)
			}
			if d, _ := phpser.Detect(p); d != h {
				t.Errorf("%s #%d detected as %s", h, i, d)
			}
			if out, _ := phpser.EncodeSession(s); !bytes.Equal(out, p) {
				t.Errorf("%s #%d: re-encode differs", h, i)
			}
			seen := map[string]bool{}
			for _, e := range s.Entries() {
				if seen[e.Key.Str] {
					t.Errorf("%s #%d: duplicate key %q", h, i, e.Key.Str)
				}
				seen[e.Key.Str] = true
			}
			if bytes.Contains(p, []byte("R:")) || bytes.Contains(p, []byte("r:")) {
				refs++
			}
			if bytes.Contains(p, []byte("O:")) {
				objs++
			}
		}
		if refs == 0 || objs == 0 {
			t.Errorf("%s: %d sessions with refs, %d with objects: not realistic", h, refs, objs)
		}
	}
}

func TestWriteLoad(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, 30, 5); err != nil {
		t.Fatal(err)
	}
	for _, h := range Handlers {
		got, err := Load(dir, h)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Sessions(30, h, 5)
		if len(got) != len(want) {
			t.Fatalf("%s: %d sessions", h, len(got))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("%s #%d differs", h, i)
			}
		}
	}
}
