package cmd

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/phpser"
)

// rbOp is one change, as testdata/php/decode_worker.php's mode "c" takes it.
type rbOp struct {
	Op string   `json:"op"`
	K  string   `json:"k"`
	P  []string `json:"p,omitempty"`
	J  string   `json:"j,omitempty"`
	N  *int     `json:"n,omitempty"`
}

type rbReq struct {
	M   string `json:"m"`
	H   string `json:"h"`
	X   string `json:"x"`
	Ops []rbOp `json:"ops,omitempty"`
}

type rbResp struct {
	OK  bool     `json:"ok"`
	J   string   `json:"j"`
	E   *string  `json:"e"`
	Msg []string `json:"msg"`
	Exc string   `json:"exc"`
}

func rbAsk(t *testing.T, reqs []rbReq) []rbResp {
	t.Helper()
	return phptest.AskWorker[rbReq, rbResp](t, "../testdata/php/decode_worker.php", reqs)
}

// nestedJSON is "x" inside n nested JSON arrays.
func nestedJSON(n int) string {
	return strings.Repeat("[", n) + `"x"` + strings.Repeat("]", n)
}

// TestSetRefusesExactlyWhatPHPCannotReadBack: for changes around PHP's
// limits (nesting near unserialize_max_depth counted from the session's
// root, at the top and two levels down, under each handler; keys with '|';
// php_binary keys of 127 and 128 bytes), PHP makes the same change with
// session_encode() and reads its own bytes back. sesstool set must refuse
// (exit 2, nothing written) exactly the changes PHP loses, and write PHP's
// bytes for the others.
func TestSetRefusesExactlyWhatPHPCannotReadBack(t *testing.T) {
	phptest.PHP(t)
	type change struct {
		key  string   // sesstool's KEY
		k    string   // PHP's top-level key
		p    []string // below k
		n    int      // nesting (-1: value is json)
		json string
	}
	var changes []change
	for _, n := range []int{4092, 4093, 4094, 4095, 4096} {
		changes = append(changes, change{key: "/a/b", k: "a", p: []string{"b"}, n: n})
	}
	for _, n := range []int{4094, 4095, 4096} {
		changes = append(changes, change{key: "deep", k: "deep", n: n})
	}
	for _, k := range []string{"x|y", "|", strings.Repeat("k", 127), strings.Repeat("k", 128), "plain"} {
		changes = append(changes, change{key: k, k: k, n: -1, json: "1"})
	}
	base := phpser.Array(
		phpser.Entry{Key: phpser.StrKey("a"), Val: phpser.Array(phpser.Entry{Key: phpser.StrKey("b"), Val: phpser.Array()})},
		phpser.Entry{Key: phpser.StrKey("z"), Val: phpser.String("after")},
	)
	type job struct {
		h    phpser.Handler
		c    change
		base []byte
	}
	var jobs []job
	var reqs []rbReq
	for _, h := range []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize} {
		b, err := phpser.EncodeSession(&phpser.Session{Handler: h, Root: base})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			op := rbOp{Op: "set", K: c.k, P: c.p, J: c.json}
			if c.n >= 0 {
				n := c.n
				op.N = &n
			}
			jobs = append(jobs, job{h, c, b})
			reqs = append(reqs, rbReq{M: "c", H: string(h), X: hex.EncodeToString(b), Ops: []rbOp{op}})
		}
	}
	first := rbAsk(t, reqs)
	// PHP reads back what it wrote.
	var back []rbReq
	for i, r := range first {
		if !r.OK {
			t.Fatalf("%s %q: PHP could not read the base session: %s %v", jobs[i].h, jobs[i].c.key, r.Exc, r.Msg)
		}
		e := ""
		if r.E != nil {
			e = *r.E
		}
		back = append(back, rbReq{M: "c", H: string(jobs[i].h), X: e})
	}
	second := rbAsk(t, back)
	refused, accepted := 0, 0
	for i, j := range jobs {
		// PHP kept the change when its own bytes read back to the same
		// session it held after the change.
		phpKeeps := second[i].OK && second[i].J == first[i].J && first[i].E != nil && *first[i].E != ""
		dir := t.TempDir()
		p := filepath.Join(dir, "sess_rb1")
		if err := os.WriteFile(p, j.base, 0o600); err != nil {
			t.Fatal(err)
		}
		val := j.c.json
		if j.c.n >= 0 {
			val = nestedJSON(j.c.n)
		}
		r := runCLI(t, "--save-path", dir, "--serialize-handler", string(j.h), "set", "rb1", j.c.key, val)
		after, _ := os.ReadFile(p)
		label := fmt.Sprintf("%s set %.20q (nesting %d)", j.h, j.c.key, j.c.n)
		switch {
		case phpKeeps && r.code != 0:
			t.Errorf("%s: PHP reads the change back, sesstool refuses it: %v", label, r.err)
		case !phpKeeps && r.code != 2:
			t.Errorf("%s: PHP loses the change (%v), sesstool exits %d (%v)", label, second[i].Msg, r.code, r.err)
		case !phpKeeps && !bytes.Equal(after, j.base):
			t.Errorf("%s: refused, but the file changed", label)
		case phpKeeps:
			want, _ := hex.DecodeString(*first[i].E)
			if !bytes.Equal(after, want) {
				t.Errorf("%s: sesstool wrote %.80q, PHP writes %.80q", label, after, want)
			}
			accepted++
		default:
			if strings.Contains(ErrorLine(r.err), "\n") {
				t.Errorf("%s: error spans lines", label)
			}
			refused++
		}
	}
	t.Logf("%d changes: %d kept by PHP and written, %d lost by PHP and refused", len(jobs), accepted, refused)
	if refused == 0 || accepted == 0 {
		t.Errorf("the cases do not straddle PHP's limits (%d accepted, %d refused)", accepted, refused)
	}
}
