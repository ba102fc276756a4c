// Command gencorpus writes the benchmark corpus: N realistic sessions per
// handler under DIR/<handler>/<i>.
//
//	go run ./internal/corpus/gencorpus -n 10000 DIR
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sesstool/sesstool/internal/corpus"
)

func main() {
	n := flag.Int("n", 10000, "sessions per handler")
	seed := flag.Uint64("seed", 1, "generator seed")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gencorpus [-n N] [-seed S] DIR")
		os.Exit(2)
	}
	if err := corpus.Write(flag.Arg(0), *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}
