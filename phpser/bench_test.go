package phpser_test

import (
	"testing"

	"github.com/sesstool/sesstool/internal/corpus"
	"github.com/sesstool/sesstool/phpser"
)

// benchCorpus returns the benchmark corpus for h (see corpus.ForBench:
// $SESSTOOL_BENCH_DIR, else 10,000 generated sessions), loaded once.
func benchCorpus(b *testing.B, h phpser.Handler) ([][]byte, int) {
	b.Helper()
	c, ok := corpora[h]
	if !ok {
		var err error
		if c, err = corpus.ForBench(h); err != nil {
			b.Fatal(err)
		}
		corpora[h] = c
	}
	total := 0
	for _, p := range c {
		total += len(p)
	}
	return c, total
}

var corpora = map[phpser.Handler][][]byte{}

var benchHandlers = []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize, phpser.HandlerIgbinary, phpser.HandlerMsgpack}

// BenchmarkDecodeSession decodes one session per op, cycling through the
// corpus: ns/op and allocs/op are per session, MB/s over the payload bytes.
func BenchmarkDecodeSession(b *testing.B) {
	for _, h := range benchHandlers {
		b.Run(string(h), func(b *testing.B) {
			c, total := benchCorpus(b, h)
			b.SetBytes(int64(total / len(c)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := phpser.DecodeSession(c[i%len(c)], h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeSessionAuto: the same with handler detection.
func BenchmarkDecodeSessionAuto(b *testing.B) {
	for _, h := range benchHandlers {
		b.Run(string(h), func(b *testing.B) {
			c, total := benchCorpus(b, h)
			b.SetBytes(int64(total / len(c)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := phpser.DecodeSession(c[i%len(c)], phpser.HandlerAuto); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeSession encodes one decoded session per op into a reused
// buffer (as session_encode builds its smart_str).
func BenchmarkEncodeSession(b *testing.B) {
	for _, h := range benchHandlers {
		b.Run(string(h), func(b *testing.B) {
			c, total := benchCorpus(b, h)
			ss := make([]*phpser.Session, len(c))
			for i, p := range c {
				s, err := phpser.DecodeSession(p, h)
				if err != nil {
					b.Fatal(err)
				}
				ss[i] = s
			}
			b.SetBytes(int64(total / len(c)))
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			var err error
			for i := 0; b.Loop(); i++ {
				buf, err = phpser.AppendSession(buf[:0], ss[i%len(ss)])
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeSessionCorpus decodes the whole corpus per op (for
// instruction counting: one op = every session once).
func BenchmarkDecodeSessionCorpus(b *testing.B) {
	c, total := benchCorpus(b, phpser.HandlerPHP)
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range c {
			if _, err := phpser.DecodeSession(p, phpser.HandlerPHP); err != nil {
				b.Fatal(err)
			}
		}
	}
}
