package phptest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AskWorker runs the PHP worker script at path (testdata/php/decode_worker.php)
// once for all of reqs: each request is one JSON line on its stdin, and
// each answer one JSON line on its stdout, decoded into a Resp. It fails
// the test when php fails or answers a different number of lines. Skips
// like PHP(t).
func AskWorker[Req, Resp any](t testing.TB, path string, reqs []Req) []Resp {
	t.Helper()
	resps, crashed := AskWorkerCrashes[Req, Resp](t, path, reqs, 0)
	if len(crashed) > 0 {
		t.Fatalf("PHP worker %s crashed on request %d: %s", path, crashed[0].Index, crashed[0].Why)
	}
	return resps
}

// Crash is a request on which the PHP process died (a segfault in an
// extension, say) instead of answering.
type Crash struct {
	Index int
	Why   string
}

// AskWorkerCrashes is AskWorker for inputs that may crash or hang PHP
// itself: when the worker dies on a request, or gives no answer to it
// within AnswerTimeout, that request's answer is the zero Resp, it is
// listed in crashed, and a fresh worker takes the requests after it. More
// than maxCrashes of them (0: none allowed) fail the test.
func AskWorkerCrashes[Req, Resp any](t testing.TB, path string, reqs []Req, maxCrashes int) (resps []Resp, crashed []Crash) {
	t.Helper()
	php := PHP(t)
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	quoted := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(abs) + "'"
	script := WriteScript(t, "<?php require "+quoted+";")
	lines := make([][]byte, len(reqs))
	for i, r := range reqs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = append(b, '\n')
	}
	for len(resps) < len(reqs) {
		got, why := runWorker(php, script, lines[len(resps):])
		for _, b := range got {
			var r Resp
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("worker line %d: %v: %.200s", len(resps)+1, err, b)
			}
			resps = append(resps, r)
		}
		if why == "" {
			break
		}
		if len(resps) >= len(reqs) || len(crashed) >= maxCrashes {
			t.Fatalf("PHP worker %s: %s (after %d of %d answers)", path, why, len(resps), len(reqs))
		}
		crashed = append(crashed, Crash{Index: len(resps), Why: why})
		var zero Resp
		resps = append(resps, zero)
	}
	if len(resps) != len(reqs) {
		t.Fatalf("worker answered %d of %d requests", len(resps), len(reqs))
	}
	return resps, crashed
}

// AnswerTimeout is how long a worker may take over one request.
const AnswerTimeout = 20 * time.Second

// runWorker feeds lines to one worker process and returns its answers, up
// to the first request it did not answer, and then why ("" when it
// answered all).
func runWorker(php, script string, lines [][]byte) (answers [][]byte, why string) {
	cmd := exec.Command(php, Command(php, script)...)
	cmd.Dir = filepath.Dir(script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err.Error()
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err.Error()
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err.Error()
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for _, l := range lines {
			if _, err := w.Write(l); err != nil {
				break
			}
		}
		w.Flush()
		stdin.Close()
	}()
	got := make(chan []byte)
	go func() {
		defer close(got)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			got <- bytes.Clone(sc.Bytes())
		}
	}()
	timer := time.NewTimer(AnswerTimeout)
	defer timer.Stop()
	for len(answers) < len(lines) {
		select {
		case b, ok := <-got:
			if !ok {
				err := cmd.Wait()
				return answers, fmt.Sprintf("php: %v; stderr: %.300s", err, stderr.String())
			}
			answers = append(answers, b)
			timer.Reset(AnswerTimeout)
		case <-timer.C:
			cmd.Process.Kill()
			for range got {
			}
			cmd.Wait()
			return answers, fmt.Sprintf("no answer within %v (PHP hangs)", AnswerTimeout)
		}
	}
	for range got {
	}
	if err := cmd.Wait(); err != nil {
		return answers, fmt.Sprintf("php: %v after answering; stderr: %.300s", err, stderr.String())
	}
	return answers, ""
}
