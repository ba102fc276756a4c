package sessfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func benchStore(b *testing.B, n int) *Store {
	b.Helper()
	dir := b.TempDir()
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("sess_%032x", i))
		if err := os.WriteFile(p, []byte(strings.Repeat("x", 100)), 0o600); err != nil {
			b.Fatal(err)
		}
		old := time.Now().Add(-48 * time.Hour)
		os.Chtimes(p, old, old)
	}
	st, err := Open(SavePath{Dir: dir, Mode: DefaultMode}, DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkRead: one locked read of a 3 KB session.
func BenchmarkRead(b *testing.B) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "sess_bench1"), []byte(strings.Repeat("a", 3000)), 0o600)
	st, _ := Open(SavePath{Dir: dir}, DefaultOptions())
	defer st.Close()
	for b.Loop() {
		if _, _, err := st.Read(ctx, "bench1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWalk: per-file cost of Walk over a flat directory of 20000.
func BenchmarkWalk(b *testing.B) {
	st := benchStore(b, 20000)
	for b.Loop() {
		n := 0
		st.Walk(ctx, func(Info) error { n++; return nil })
		if n != 20000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*20000), "ns/file")
}

// BenchmarkExpireDryRun: per-file cost of Expire (everything but unlink).
func BenchmarkExpireDryRun(b *testing.B) {
	st := benchStore(b, 2000)
	var infos []Info
	st.Walk(ctx, func(in Info) error { infos = append(infos, in); return nil })
	older := func(time.Time) bool { return true }
	i := 0
	for b.Loop() {
		if r, err := st.Expire(ctx, infos[i%len(infos)], older, true); err != nil || r.Outcome != ExpireDeleted {
			b.Fatal(r, err)
		}
		i++
	}
}
