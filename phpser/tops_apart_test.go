package phpser

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestPayloadSessionsStreamApart: php, php_binary and php_serialize (a
// root array) sessions holding Serializable payloads (C:) and no
// reference anywhere are walked a value at a time (EachTop, DecodeSelected, ValidateSession), held to the whole
// decode by checkEachTop and checkSelected; one reference anywhere, also
// inside a payload (where it may make the payload read as serialized data
// or not), and the whole decode decides.
func TestPayloadSessionsStreamApart(t *testing.T) {
	payloads := []string{
		`C:1:"P":4:{i:5;}`,                   // a serialized value inside
		`C:1:"P":5:{hello}`,                  // opaque
		`C:1:"P":0:{}`,                       // empty
		`C:1:"P":18:{a:1:{i:0;s:1:"x";}}`,    // an array inside
		`C:1:"P":20:{C:1:"Q":8:{s:1:"y";}}`,  // nested
		`O:8:"stdClass":1:{s:1:"a";i:1;}`,    // a plain object
		`a:2:{i:0;C:1:"P":4:{i:1;}i:1;b:1;}`, // a payload in an array
		`C:1:"P":4:{r:1;}`,                   // a reference inside: whole
		`C:1:"P":9:{a:1:{i:0}}`,              // a broken inside: opaque or not, as PHP
		`C:1:"P":4:{R:1;}`,                   // a PHP reference inside: whole
	}
	r := rand.New(rand.NewPCG(5, 6))
	apart, declined, linked := 0, 0, 0
	for n := range 600 {
		var php, bin, root []byte
		refs := false
		count := 1 + r.IntN(6)
		for i := range count {
			v := payloads[r.IntN(len(payloads))]
			if r.IntN(8) == 0 {
				v = "R:1;"
			}
			if v == "R:1;" || v == payloads[7] || v == payloads[9] {
				refs = true
			}
			k := fmt.Sprintf("k%d", i)
			php = fmt.Appendf(php, "%s|%s", k, v)
			bin = fmt.Appendf(bin, "%c%s%s", len(k), k, v)
			root = fmt.Appendf(root, "s:%d:\"%s\";%s", len(k), k, v)
		}
		root = append(fmt.Appendf(nil, "a:%d:{", count), append(root, '}')...)
		if n%7 == 0 {
			php = php[:len(php)-1] // one that does not decode
		}
		for _, c := range []struct {
			h    Handler
			data []byte
		}{{HandlerPHP, php}, {HandlerPHPBinary, bin}, {HandlerPHPSerialize, root}} {
			streamed := checkEachTop(t, c.data, c.h, DecodeOptions{Borrow: true})
			checkSelected(t, fmt.Sprintf("payloads %d", n), c.h, c.data)
			_, ferr := DecodeSession(c.data, c.h)
			if verr := (DecodeOptions{}).ValidateSession(c.data, c.h); fmt.Sprint(verr) != fmt.Sprint(ferr) {
				t.Fatalf("%s %q: ValidateSession %v, DecodeSession %v", c.h, c.data, verr, ferr)
			}
			switch {
			case streamed && refs:
				linked++ // a variable at a time, slots numbered on (linked.go; php_serialize: from the root's)
			case streamed:
				apart++
			case ferr == nil && !refs:
				t.Fatalf("%s %q: decodes, no references, yet not streamed", c.h, c.data)
			default:
				declined++
			}
		}
	}
	t.Logf("streamed %d apart and %d linked, declined %d", apart, linked, declined)
	if apart < 300 || declined < 200 || linked < 100 {
		t.Errorf("streamed %d apart and %d linked, declined %d", apart, linked, declined)
	}
}

// TestSelectedExtMatchesFullDecode: DecodeSelected and DecodeSelectedAuto
// on igbinary and msgpack sessions (walked a variable at a time where
// EachTop streams them) agree with the whole decode: the selected values,
// the sizes of the values' encodings, Strings, and the error of a session
// that does not decode. Generated sessions in both string modes, their
// halves and mutations, and real PHP's.
func TestSelectedExtMatchesFullDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	walked := 0
	for _, h := range []Handler{HandlerIgbinary, HandlerMsgpack} {
		var inputs [][]byte
		for seed := range uint64(300) {
			b, err := EncodeSession(extSession(seed, h))
			if err != nil {
				continue
			}
			inputs = append(inputs, b, b[:len(b)/2], mutateBin(r, bytes.Clone(b)))
		}
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "sessions", string(h), "sess_*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				inputs = append(inputs, b)
			}
		}
		for i, in := range inputs {
			label := fmt.Sprintf("%s %d", h, i)
			checkSelected(t, label, h, in)
			checkSelected(t, label+" (auto)", HandlerAuto, in)
			if got, err := (DecodeOptions{}).DecodeSelected(in, h, Selection{Keys: []string{"x"}}); err == nil && !got.Full {
				walked++
			}
		}
	}
	if walked < 300 {
		t.Errorf("only %d sessions walked a variable at a time", walked)
	}
}
