// Command gensavepath fills a directory with realistic PHP session files for
// benchmarks and manual testing: sess_<id> files in PHP's layout (flat or
// N; levels), php-handler payloads of varied size, and mtimes spread so that
// a chosen fraction is older than a chosen maxlifetime.
//
//	go run ./scripts/gensavepath -n 1000000 -depth 2 -expired 0.5 /tmp/sp
//
// Ids are 32 characters of PHP's default alphabet (sid_bits_per_character=4:
// 0-9a-f, PHP's own default), so a depth-2 layout has 256 level directories,
// created up front as PHP's mod_files.sh would. Files are written in
// parallel; existing files are never overwritten (O_EXCL), so a second run
// adds -n more. The summary line says how many are expired relative to the
// moment of the run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const alphabet = "0123456789abcdef"

type config struct {
	n           int
	depth       int
	expired     float64
	maxlifetime time.Duration
	seed        uint64
	workers     int
	dir         string
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 1000, "number of session files to write")
	flag.IntVar(&c.depth, "depth", 0, "save_path depth N (0 = flat; level directories are created)")
	flag.Float64Var(&c.expired, "expired", 0.5, "fraction of files older than -maxlifetime")
	flag.DurationVar(&c.maxlifetime, "maxlifetime", 1440*time.Second, "age threshold for -expired")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed (same seed, same ids and contents)")
	flag.IntVar(&c.workers, "workers", 2*runtime.GOMAXPROCS(0), "parallel writers")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: gensavepath [flags] DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	c.dir = flag.Arg(0)
	if err := c.check(); err != nil {
		fmt.Fprintln(os.Stderr, "gensavepath:", err)
		os.Exit(2)
	}
	start := time.Now()
	expired, bytes, err := run(c, start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gensavepath:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d sessions (%d expired, older than %s; %d bytes) in %s to %d;%s\n",
		c.n, expired, c.maxlifetime, bytes, time.Since(start).Round(time.Millisecond), c.depth, c.dir)
}

func (c config) check() error {
	switch {
	case c.n < 0:
		return errors.New("-n must be >= 0")
	case c.depth < 0 || c.depth > 4:
		return errors.New("-depth must be 0 to 4")
	case c.expired < 0 || c.expired > 1:
		return errors.New("-expired must be between 0 and 1")
	case c.maxlifetime < 2*time.Minute:
		return errors.New("-maxlifetime must be at least 2m")
	case c.workers < 1:
		return errors.New("-workers must be >= 1")
	}
	return nil
}

// run writes the files and returns how many are expired and the total size.
func run(c config, now time.Time) (int64, int64, error) {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return 0, 0, err
	}
	if err := mkLevels(c.dir, c.depth); err != nil {
		return 0, 0, err
	}
	var next, expired, total atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	const chunk = 256
	for range c.workers {
		wg.Go(func() {
			var b strings.Builder
			for {
				lo := next.Add(chunk) - chunk
				if lo >= int64(c.n) {
					return
				}
				hi := min(lo+chunk, int64(c.n))
				for i := lo; i < hi; i++ {
					// Per-file generator: the same seed gives the same files
					// whatever the number of workers.
					frng := rand.New(rand.NewPCG(c.seed, uint64(i)+1<<32))
					id := newID(frng)
					isOld := frng.Float64() < c.expired
					var age time.Duration
					if isOld {
						age = c.maxlifetime + time.Minute + time.Duration(frng.Int64N(int64(7*24*time.Hour)))
					} else {
						age = time.Duration(frng.Int64N(int64(c.maxlifetime - time.Minute)))
					}
					b.Reset()
					payload(&b, frng)
					if err := writeSession(c.dir, c.depth, id, b.String(), now.Add(-age)); err != nil {
						once.Do(func() { firstErr = err })
						next.Store(int64(c.n))
						return
					}
					if isOld {
						expired.Add(1)
					}
					total.Add(int64(b.Len()))
				}
			}
		})
	}
	wg.Wait()
	return expired.Load(), total.Load(), firstErr
}

func mkLevels(dir string, depth int) error {
	if depth == 0 {
		return nil
	}
	for _, c := range alphabet {
		sub := filepath.Join(dir, string(c))
		if err := os.Mkdir(sub, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := mkLevels(sub, depth-1); err != nil {
			return err
		}
	}
	return nil
}

func newID(rng *rand.Rand) string {
	var id [32]byte
	for i := range id {
		id[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(id[:])
}

func writeSession(dir string, depth int, id, content string, mtime time.Time) error {
	var p strings.Builder
	p.WriteString(dir)
	for i := range depth {
		p.WriteByte('/')
		p.WriteByte(id[i])
	}
	p.WriteString("/sess_")
	p.WriteString(id)
	path := p.String()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil // same id twice (seeded reruns): keep the first
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Chtimes(path, mtime, mtime)
}

// payload writes a php-handler session of a typical shape: a login, a CSRF
// token, flash messages, sometimes a cart or a framework attribute bag; from
// about 60 bytes (anonymous visitor) to a few KB.
func payload(b *strings.Builder, rng *rand.Rand) {
	str := func(key, v string) {
		b.WriteString(key)
		b.WriteString("|s:")
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteString(`:"`)
		b.WriteString(v)
		b.WriteString(`";`)
	}
	token := make([]byte, 40)
	for i := range token {
		token[i] = alphabet[rng.IntN(16)]
	}
	str("csrf_token", string(token))
	b.WriteString("last_activity|i:" + strconv.FormatInt(1_700_000_000+rng.Int64N(50_000_000), 10) + ";")
	switch k := rng.IntN(10); {
	case k < 3: // anonymous visitor
	case k < 8: // logged in
		b.WriteString("user_id|i:" + strconv.Itoa(1+rng.IntN(500_000)) + ";")
		str("user_name", "user"+strconv.Itoa(rng.IntN(100_000)))
		b.WriteString(`roles|a:2:{i:0;s:4:"user";i:1;s:6:"editor";}`)
		if rng.IntN(3) == 0 {
			items := 1 + rng.IntN(20)
			b.WriteString("cart|a:" + strconv.Itoa(items) + ":{")
			for i := range items {
				b.WriteString("i:" + strconv.Itoa(i) + `;a:3:{s:3:"sku";s:8:"SKU` + fmt.Sprintf("%05d", rng.IntN(99999)) + `";s:3:"qty";i:` + strconv.Itoa(1+rng.IntN(5)) + `;s:5:"price";d:` + strconv.Itoa(rng.IntN(500)) + "." + strconv.Itoa(10+rng.IntN(89)) + ";}")
			}
			b.WriteString("}")
		}
	default: // framework attribute bag with a serialized object
		b.WriteString(`_sf2_attributes|a:2:{s:14:"_security_main";s:`)
		blob := strings.Repeat("x", 200+rng.IntN(2500))
		b.WriteString(strconv.Itoa(len(blob)) + `:"` + blob + `";s:7:"user_id";i:` + strconv.Itoa(rng.IntN(500_000)) + ";}")
		b.WriteString(`_sf2_meta|a:3:{s:1:"u";i:1700000000;s:1:"c";i:1700000000;s:1:"l";i:0;}`)
	}
	if rng.IntN(5) == 0 {
		str("flash", "Your changes have been saved.")
	}
}
