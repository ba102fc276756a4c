package cmd

import (
	"fmt"
	"strconv"
	"strings"
)

// DefaultMaxSize is --max-size's default: 64 MiB (CLI.md).
const DefaultMaxSize = 64 << 20

// ParseSize reads a byte count: a bare number of bytes, or a number with
// a unit K, M, G (powers of 1024; KB, KiB, MB, MiB, GB, GiB alike).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	upper := strings.ToUpper(t)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(upper, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: want a positive number of bytes, or with K, M or G (64M, 1G)", s)
	}
	return n * mult, nil
}

// FormatSize writes n as ParseSize reads it, in the largest exact unit.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

// sizeValue is a pflag.Value for --max-size.
type sizeValue struct{ n *int64 }

func newSizeValue(n *int64, def int64) *sizeValue {
	*n = def
	return &sizeValue{n: n}
}

func (v *sizeValue) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

func (v *sizeValue) String() string {
	if v.n == nil {
		return "0"
	}
	return FormatSize(*v.n)
}

func (v *sizeValue) Type() string { return "size" }
