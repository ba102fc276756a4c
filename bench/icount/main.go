// Command icount runs one codec over a corpus directory a given number of
// rounds. Under `valgrind --tool=callgrind`, the instruction count of
// -rounds 1 minus that of -rounds 0 is what the codec itself costs (the
// corpus loading, and for encode the decoding, happen in both runs).
//
//	icount -lib phpser|yvasiyarov -op decode|encode -handler php -rounds 1 DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sesstool/sesstool/internal/corpus"
	"github.com/sesstool/sesstool/phpser"
	yv "github.com/yvasiyarov/php_session_decoder"
)

func main() {
	lib := flag.String("lib", "phpser", "phpser or yvasiyarov")
	op := flag.String("op", "decode", "decode or encode")
	handler := flag.String("handler", "php", "session handler")
	rounds := flag.Int("rounds", 1, "passes over the corpus")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: icount [flags] DIR")
		os.Exit(2)
	}
	h, err := phpser.ParseHandler(*handler)
	if err != nil {
		fail(err)
	}
	c, err := corpus.Load(flag.Arg(0), h)
	if err != nil {
		fail(err)
	}
	total := 0
	for _, p := range c {
		total += len(p)
	}
	switch {
	case *lib == "phpser" && *op == "decode":
		for range *rounds {
			for _, p := range c {
				if _, err := phpser.DecodeSession(p, h); err != nil {
					fail(err)
				}
			}
		}
	case *lib == "phpser" && *op == "encode":
		ss := make([]*phpser.Session, len(c))
		for i, p := range c {
			if ss[i], err = phpser.DecodeSession(p, h); err != nil {
				fail(err)
			}
		}
		buf := make([]byte, 0, 4096)
		for range *rounds {
			for _, s := range ss {
				if buf, err = phpser.AppendSession(buf[:0], s); err != nil {
					fail(err)
				}
			}
		}
	case *lib == "yvasiyarov" && *op == "decode" && h == phpser.HandlerPHP:
		for range *rounds {
			for _, p := range c {
				_, _ = yv.NewPhpDecoder(string(p)).Decode()
			}
		}
	default:
		fail(fmt.Errorf("unsupported: -lib %s -op %s -handler %s", *lib, *op, h))
	}
	fmt.Printf("sessions=%d bytes=%d rounds=%d\n", len(c), total, *rounds)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "icount:", err)
	os.Exit(1)
}
