package phpser_test

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
)

// TestTestdataRegenerates runs the committed generators with the installed
// PHP into a temp dir and compares every file with the committed testdata
// byte for byte: the files are what PHP writes, not what someone typed.
func TestTestdataRegenerates(t *testing.T) {
	phptest.Extensions(t, "igbinary", "msgpack")
	if testing.Short() {
		t.Skip("-short: not regenerating testdata")
	}
	out := t.TempDir()
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join(tdDir, p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, script := range []string{"php/gen.php", "php/verdicts.php"} {
		// The committed script itself runs (its __DIR__ finds
		// classes.php), with the temp dir as its output argument.
		phptest.Run(t, "<?php $argv = [$argv[0], "+phpQuote(out)+"]; require "+phpQuote(abs(script))+";", nil)
	}
	for _, dir := range []string{"sessions", "demo", "malformed"} {
		want := tdTree(t, filepath.Join(tdDir, dir))
		got := tdTree(t, filepath.Join(out, dir))
		if len(want) < 10 {
			t.Fatalf("testdata/%s holds only %d files", dir, len(want))
		}
		for name, w := range want {
			g, ok := got[name]
			switch {
			case !ok:
				t.Errorf("%s/%s: committed, but PHP no longer writes it", dir, name)
			case !bytes.Equal(g, w):
				t.Errorf("%s/%s: PHP now writes\n%q\ncommitted\n%q", dir, name, tdShort(g), tdShort(w))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(got)) {
			if _, ok := want[name]; !ok {
				t.Errorf("%s/%s: PHP writes it, but it is not committed", dir, name)
			}
		}
	}
}

// tdTree reads every regular file under root, by slash-separated relative
// path.
func tdTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// phpQuote returns s as a PHP single-quoted string literal.
func phpQuote(s string) string {
	var b bytes.Buffer
	b.WriteByte('\'')
	for _, c := range []byte(s) {
		if c == '\'' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('\'')
	return b.String()
}
