package cmd

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestEditedTextChangedWhileRead: a mapped text truncated under the
// mapping (a forking editor saving again) is errTextChanged, not a crash
// on SIGBUS; so is one rewritten in place meanwhile. A text read whole
// or mapped and left alone reads as written, also after its pages were
// handed back.
func TestEditedTextChangedWhileRead(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "text.txt")
	text := bytes.Repeat([]byte("k = \"0123456789\"\n"), 2*mapTextAbove/16)
	write := func() {
		if err := os.WriteFile(name, text, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write()
	et, err := readEditedText(name)
	if err != nil || !et.mapped {
		t.Fatalf("not mapped: %v", err)
	}
	var sum [sha256.Size]byte
	if err := et.read(func() { et.dropAll(); et.drop(len(et.b) / 2); sum = sha256.Sum256(et.b) }); err != nil || sum != sha256.Sum256(text) {
		t.Fatalf("a text left alone: %v, sum equal %v", err, sum == sha256.Sum256(text))
	}

	if err := os.Truncate(name, 0); err != nil {
		t.Fatal(err)
	}
	et.dropAll()
	if err := et.read(func() { sum = sha256.Sum256(et.b) }); !errors.Is(err, errTextChanged) {
		t.Errorf("truncated under the mapping: %v", err)
	}

	write()
	if et, err = readEditedText(name); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a later mtime
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("x"), 0)
	f.Close()
	if err := et.read(func() { sum = sha256.Sum256(et.b) }); !errors.Is(err, errTextChanged) {
		t.Errorf("rewritten in place: %v", err)
	}

	small := filepath.Join(dir, "small.txt")
	os.WriteFile(small, []byte("a = 1\n"), 0o600)
	if et, err := readEditedText(small); err != nil || et.mapped || string(et.b) != "a = 1\n" {
		t.Errorf("a small text: %v %v %q", err, et.mapped, et.b)
	}
}
