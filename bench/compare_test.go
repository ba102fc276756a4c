// Package bench compares phpser with github.com/yvasiyarov/php_session_decoder
// (the only other Go decoder of the php handler) on the same corpus. It is
// a module of its own so that sesstool never depends on that library.
package bench

import (
	"testing"

	"github.com/sesstool/sesstool/internal/corpus"
	"github.com/sesstool/sesstool/phpser"
	yv "github.com/yvasiyarov/php_session_decoder"
)

func load(b testing.TB) ([][]byte, int) {
	c, err := corpus.ForBench(phpser.HandlerPHP)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, p := range c {
		total += len(p)
	}
	return c, total
}

// BenchmarkDecodePHP decodes one php-handler session per op with each
// library: MB/s over payload bytes, allocs/op = allocations per session.
func BenchmarkDecodePHP(b *testing.B) {
	c, total := load(b)
	b.Run("phpser", func(b *testing.B) {
		b.SetBytes(int64(total / len(c)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := phpser.DecodeSession(c[i%len(c)], phpser.HandlerPHP); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("yvasiyarov", func(b *testing.B) {
		b.SetBytes(int64(total / len(c)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_, _ = yv.NewPhpDecoder(string(c[i%len(c)])).Decode()
		}
	})
}

// TestYvasiyarovResults reports how many corpus sessions the library
// fails on or returns nil for without an error (phpser decodes them all).
func TestYvasiyarovResults(t *testing.T) {
	c, _ := load(t)
	nils, errs := 0, 0
	for _, p := range c {
		if _, err := phpser.DecodeSession(p, phpser.HandlerPHP); err != nil {
			t.Fatalf("phpser: %v", err)
		}
		s, err := yv.NewPhpDecoder(string(p)).Decode()
		switch {
		case err != nil:
			errs++
		case s == nil:
			nils++
		}
	}
	t.Logf("yvasiyarov on %d sessions: %d errors, %d nil results without error", len(c), errs, nils)
}
