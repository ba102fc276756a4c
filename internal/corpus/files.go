package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/sesstool/sesstool/phpser"
)

// Handlers are the handlers a corpus directory holds, one subdirectory each.
var Handlers = []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize, phpser.HandlerIgbinary, phpser.HandlerMsgpack}

// Write stores n sessions per handler under dir/<handler>/<i> (i from 0,
// zero-padded so that a sorted listing is corpus order).
func Write(dir string, n int, seed uint64) error {
	for _, h := range Handlers {
		c, err := Sessions(n, h, seed)
		if err != nil {
			return err
		}
		sub := filepath.Join(dir, string(h))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("corpus: %w", err)
		}
		for i, p := range c {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%06d", i)), p, 0o644); err != nil {
				return fmt.Errorf("corpus: %w", err)
			}
		}
	}
	return nil
}

// Load reads the sessions of handler h that Write stored under dir, in
// corpus order.
func Load(dir string, h phpser.Handler) ([][]byte, error) {
	sub := filepath.Join(dir, string(h))
	ents, err := os.ReadDir(sub)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err == nil && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	out := make([][]byte, 0, len(names))
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(sub, name))
		if err != nil {
			return nil, fmt.Errorf("corpus: %w", err)
		}
		out = append(out, b)
	}
	return out, nil
}

// ForBench returns the benchmark corpus for h: the sessions stored under
// $SESSTOOL_BENCH_DIR when set (so that PHP and Go measure the very same
// files), else 10,000 generated ones ($SESSTOOL_BENCH_N overrides the count).
func ForBench(h phpser.Handler) ([][]byte, error) {
	if dir := os.Getenv("SESSTOOL_BENCH_DIR"); dir != "" {
		return Load(dir, h)
	}
	n := 10000
	if s := os.Getenv("SESSTOOL_BENCH_N"); s != "" {
		if v, err := strconv.Atoi(s); err == nil && v > 0 {
			n = v
		}
	}
	return Sessions(n, h, 1)
}
