package phptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// AskWorker runs the PHP worker script at path (testdata/php/decode_worker.php)
// once for all of reqs: each request is one JSON line on its stdin, and
// each answer one JSON line on its stdout, decoded into a Resp. It fails
// the test when php fails or answers a different number of lines. Skips
// like PHP(t).
func AskWorker[Req, Resp any](t testing.TB, path string, reqs []Req) []Resp {
	t.Helper()
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, r := range reqs {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(abs) + "'"
	out, err := Input(t, "<?php require "+quoted+";", in.Bytes(), nil)
	if err != nil {
		t.Fatalf("PHP worker %s: %v", path, err)
	}
	var resps []Resp
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r Resp
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("worker line %d: %v: %.200s", len(resps)+1, err, sc.Bytes())
		}
		resps = append(resps, r)
	}
	if len(resps) != len(reqs) {
		t.Fatalf("worker answered %d of %d requests", len(resps), len(reqs))
	}
	return resps
}
