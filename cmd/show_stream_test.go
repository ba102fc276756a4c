package cmd

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/phpser"
)

// TestShowStreamedMatchesWholeDecode: show, show -o json, -o jsonl and
// several ids print the same bytes whether the session is shown an entry
// at a time or decoded whole: sessions past the 1,000 entries the human
// view draws, repeated keys (JSON keeps one), references and payloads
// (which take the whole decode), php_binary, auto and explicit handlers,
// and sessions that do not decode.
func TestShowStreamedMatchesWholeDecode(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(21, 22))
	var ids []string
	add := func(id, data string) {
		putSess(t, dir, id, data, 0)
		ids = append(ids, id)
	}
	var big strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&big, `k%d|a:2:{s:2:"id";i:%d;s:1:"n";s:3:"abc";}`, i, i)
	}
	add("big1", big.String())
	add("dup1", `a|i:1;b|s:1:"x";a|i:2;`)
	add("ref1", big.String()+`r|R:2;`)
	add("corrupt1", `a|i:1;b|s:9:"x";`)
	var bigRoot strings.Builder
	fmt.Fprintf(&bigRoot, "a:%d:{", 1502)
	for i := range 1500 {
		fmt.Fprintf(&bigRoot, `s:%d:"k%d";a:2:{s:2:"id";i:%d;s:1:"n";s:3:"abc";}`, len(fmt.Sprint(i))+1, i, i)
	}
	bigRoot.WriteString(`i:5;s:1:"x";i:-3;d:0.5;}`)
	add("bigroot1", bigRoot.String())
	add("introot1", `a:3:{i:5;i:1;s:1:"a";i:2;i:6;N;}`)
	add("duproot1", `a:3:{i:5;i:1;s:1:"a";i:2;i:5;N;}`)
	add("trailroot1", `a:1:{s:1:"a";i:2;}tail`)
	for i := range 45 {
		h := []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize}[i%3]
		add(fmt.Sprintf("gen%d", i), string(genSession(r, h, 1+r.IntN(12), i%5 == 0)))
	}
	forms := [][]string{nil, {"-o", "json"}, {"-o", "jsonl"}, {"--key", "a"}, {"--key", "/a/id"}, {"--key", "b", "-o", "json"},
		{"--key", "k1499", "-o", "raw"}, {"--key", "missing"}, {"--key", "/user/sub/0", "-o", "json"}, {"--key", "k|x"}, {"--key", "5"}, {"--key", "/5"}}
	for _, id := range ids {
		for _, form := range forms {
			for _, hflag := range [][]string{nil, {"--serialize-handler", "php"}, {"--serialize-handler", "php_binary"}, {"--serialize-handler", "php_serialize"}} {
				args := append(append([]string{"--save-path", dir}, hflag...), append([]string{"show", id}, form...)...)
				streamShow = true
				got := runCLI(t, args...)
				streamShow = false
				want := runCLI(t, args...)
				streamShow = true
				// The header's age may tick between the two runs.
				got.out, want.out = ageRE.ReplaceAllString(got.out, "modified ("), ageRE.ReplaceAllString(want.out, "modified (")
				if got.code != want.code || got.out != want.out || got.errOut != want.errOut {
					t.Fatalf("%v: an entry at a time: exit %d\n%.300s\n%.300s\nwhole: exit %d\n%.300s\n%.300s", args, got.code, got.out, got.errOut, want.code, want.out, want.errOut)
				}
			}
		}
	}
	args := append([]string{"--save-path", dir, "show", "-o", "json"}, ids[:6]...)
	got := runCLI(t, args...)
	streamShow = false
	want := runCLI(t, args...)
	streamShow = true
	if ageRE.ReplaceAllString(got.out, "") != ageRE.ReplaceAllString(want.out, "") || got.code != want.code {
		t.Fatalf("show of several ids differs: %.300s / %.300s", got.out, want.out)
	}
}

var ageRE = regexp.MustCompile(`modified [^(]*\(`)
