package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// vecPHP is PHP-FACTS 9.1's session under the php handler.
const vecPHP = "uid|i:42;name|s:4:\"Zoë\";ok|b:1;ratio|d:0.1;none|N;list|a:2:{i:0;s:1:\"a\";i:1;s:1:\"b\";}map|a:2:{s:1:\"x\";i:1;i:7;i:2;}u|O:4:\"User\":3:{s:4:\"name\";s:3:\"ann\";s:7:\"\x00*\x00role\";s:5:\"admin\";s:8:\"\x00User\x00pw\";s:1:\"x\";}"

// vecSerialize is the same session under php_serialize.
const vecSerialize = "a:8:{s:3:\"uid\";i:42;s:4:\"name\";s:4:\"Zoë\";s:2:\"ok\";b:1;s:5:\"ratio\";d:0.1;s:4:\"none\";N;s:4:\"list\";a:2:{i:0;s:1:\"a\";i:1;s:1:\"b\";}s:3:\"map\";a:2:{s:1:\"x\";i:1;i:7;i:2;}s:1:\"u\";O:4:\"User\":3:{s:4:\"name\";s:3:\"ann\";s:7:\"\x00*\x00role\";s:5:\"admin\";s:8:\"\x00User\x00pw\";s:1:\"x\";}}"

const vecJSON = `{"uid":42,"name":"Zoë","ok":true,"ratio":0.1,"none":null,"list":["a","b"],"map":{"x":1,"7":2},"u":{"__class":"User","name":"ann","role":"admin","pw":"x"}}`

func TestShow(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "php1", vecPHP, time.Minute)
	putSess(t, dir, "ser1", vecSerialize, time.Minute)
	putSess(t, dir, "refs", `s|s:3:"str";r|R:1;bin|s:3:"a`+"\x00\xff"+`";long|s:200:"`+strings.Repeat("x", 200)+`";`, time.Minute)
	putSess(t, dir, "empty", "", time.Minute)
	bad := putSess(t, dir, "bad1", "a|i:1;\n", time.Minute)

	for _, id := range []string{"php1", "ser1"} {
		r := runCLI(t, "--save-path", dir, "show", id, "-o", "json")
		if r.err != nil {
			t.Fatalf("%s: %v", id, r.err)
		}
		if got := strings.TrimSpace(r.out); got != vecJSON {
			t.Errorf("show %s -o json:\n got %s\nwant %s", id, got, vecJSON)
		}
		r = runCLI(t, "--save-path", dir, "show", id, "-o", "raw")
		if want := mustRead(t, dir+"/sess_"+id); r.out != want {
			t.Errorf("show %s -o raw = %q, want the stored bytes %q", id, r.out, want)
		}
	}

	r := runCLI(t, "--save-path", dir, "show", "php1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, want := range []string{"handler php (detected)", "uid  int 42", `name  string(4) "Zoë"`, "ok  bool true", "ratio  float 0.1", "none  null",
		"list  array(2)", `0  string(1) "a"`, "map  array(2)", "7  int 2", "u  object User (3 properties)", "role (protected)", "pw (private User)"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("show lacks %q:\n%s", want, r.out)
		}
	}
	r = runCLI(t, "--save-path", dir, "show", "refs")
	for _, want := range []string{"r  reference → /s", `"a\x00\xff"`, "string(200)", "… (120 more bytes)"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("show refs lacks %q:\n%s", want, r.out)
		}
	}
	r = runCLI(t, "--save-path", dir, "show", "empty")
	if !strings.Contains(r.out, "(empty session)") || !strings.Contains(r.out, "detection could not decide") {
		t.Errorf("show of a 0-byte session:\n%s", r.out)
	}

	// --key
	r = runCLI(t, "--save-path", dir, "show", "php1", "--key", "/map/x", "-o", "json")
	if strings.TrimSpace(r.out) != "1" || r.err != nil {
		t.Errorf("--key /map/x -o json = %q, %v", r.out, r.err)
	}
	r = runCLI(t, "--save-path", dir, "show", "ser1", "--key", "list")
	if !strings.Contains(r.out, "list  array(2)") || !strings.Contains(r.out, `"b"`) {
		t.Errorf("--key list:\n%s", r.out)
	}
	r = runCLI(t, "--save-path", dir, "show", "refs", "--key", "r", "-o", "json")
	if strings.TrimSpace(r.out) != `"str"` {
		t.Errorf("a reference shows its target in JSON: %q", r.out)
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "show", "php1", "--key", "nope"), 1, `has no key "nope"`)
	// --key K -o raw: an int as serialize() writes it, a string as its bytes.
	if r := runCLI(t, "--save-path", dir, "show", "php1", "--key", "uid", "-o", "raw"); r.out != "i:42;" || r.err != nil {
		t.Errorf("--key uid -o raw = %q, %v", r.out, r.err)
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "show", "php1", "ser1", "-o", "raw"), 2, "-o raw")

	// errors
	st := stateOf(t, bad)
	wantErrLine(t, runCLI(t, "--save-path", dir, "show", "bad1"), 1, `session "bad1" does not decode (handler php, detected): offset 6: expected '|' ending a session key, found "\n"`)
	wantErrLine(t, runCLI(t, "--save-path", dir, "--no-lock", "show", "bad1"), 1, "read with --no-lock")
	st.untouched(t, bad)
	wantErrLine(t, runCLI(t, "--save-path", dir, "show", "nope"), 1, `session "nope" not found`)
	wantErrLine(t, runCLI(t, "--save-path", dir, "show", "../../etc/passwd"), 2, `invalid session id "../../etc/passwd"`)
	wantErrLine(t, runCLI(t, "--save-path", dir, "show"), 2, "needs a session ID")
	// a forced handler that does not fit
	wantErrLine(t, runCLI(t, "--save-path", dir, "--serialize-handler", "php_serialize", "show", "php1"), 1, "handler php_serialize")
	wantErrLine(t, runCLI(t, "--save-path", dir, "--serialize-handler", "yaml", "show", "php1"), 2, "unknown serialize handler")
}

func TestDecode(t *testing.T) {
	r := runCLIEnv(t, vecSerialize, nil, "decode", "-o", "json")
	if strings.TrimSpace(r.out) != vecJSON || r.err != nil {
		t.Errorf("decode stdin: %q, %v", r.out, r.err)
	}
	f := t.TempDir() + "/payload"
	os.WriteFile(f, []byte(vecPHP), 0o600)
	r = runCLI(t, "decode", f)
	if !strings.Contains(r.out, "handler php (detected)") || !strings.Contains(r.out, "uid  int 42") {
		t.Errorf("decode FILE:\n%s", r.out)
	}
	r = runCLIEnv(t, "", nil, "decode", "-")
	if !strings.Contains(r.out, "(empty session)") {
		t.Errorf("decode of nothing:\n%s", r.out)
	}
	r = runCLIEnv(t, `a|s:5:"x";`, nil, "decode")
	wantErrLine(t, r, 1, "stdin does not decode")
	if !strings.Contains(ErrorLine(r.err), "offset") {
		t.Errorf("no offset in %q", ErrorLine(r.err))
	}
	wantErrLine(t, runCLI(t, "decode", f+"-missing"), 1, "no such file")
	wantErrLine(t, runCLI(t, "decode", "a", "b"), 2, "at most one FILE")
}

// TestHandlerDefaultsToPHPIni checks CLI.md's rule for --serialize-handler:
// its default is the php.ini value when one was found, else auto.
func TestHandlerDefaultsToPHPIni(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "php1", vecPHP, time.Minute)
	putSess(t, dir, "ser1", vecSerialize, time.Minute)
	ini := dir + "/php.ini"
	if err := os.WriteFile(ini, []byte("[Session]\nsession.serialize_handler = php_serialize\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "--save-path", dir, "--php-ini", ini, "show", "ser1", "-o", "json")
	if r.err != nil || strings.TrimSpace(r.out) != vecJSON {
		t.Fatalf("show ser1 with php.ini php_serialize: %v %q", r.err, r.out)
	}
	// A php-handler file is not what the configured handler reads.
	wantErrLine(t, runCLI(t, "--save-path", dir, "--php-ini", ini, "show", "php1"), 1, "handler php_serialize")
	wantErrLine(t, runCLI(t, "--save-path", dir, "--php-ini", ini, "show", "php1"), 1, "it decodes as a php session: try --serialize-handler auto")
	// --serialize-handler auto overrides the php.ini value.
	r = runCLI(t, "--save-path", dir, "--php-ini", ini, "--serialize-handler", "auto", "show", "php1", "-o", "json")
	if r.err != nil || strings.TrimSpace(r.out) != vecJSON {
		t.Fatalf("show php1 --serialize-handler auto: %v %q", r.err, r.out)
	}
	// ls --check judges with the same handler.
	r = runCLI(t, "--save-path", dir, "--php-ini", ini, "ls", "--check", "-o", "json")
	if !strings.Contains(r.out, `"id":"php1"`) || !strings.Contains(r.out, `"corrupt":`) || strings.Count(r.out, `"corrupt":`) != 1 {
		t.Errorf("ls --check with php.ini php_serialize should flag php1 only:\n%s", r.out)
	}
	// Without a php.ini value, auto detects each file.
	r = runCLI(t, "--save-path", dir, "show", "php1", "-o", "json")
	if r.err != nil || strings.TrimSpace(r.out) != vecJSON {
		t.Fatalf("show php1 (auto): %v %q", r.err, r.out)
	}
}

// TestShowSeveralAndKey: several ids (human, -o json array, -o jsonl),
// a missing one among them (named, exit 1, the others shown); --key never
// cuts a string, and -o raw prints its bytes.
func TestShowSeveralAndKey(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("é", 200) + "\x00end"
	putSess(t, dir, "s1", `a|i:1;`, time.Minute)
	putSess(t, dir, "s2", fmt.Sprintf(`b|s:%d:"%s";`, len(long), long), time.Minute)
	r := runCLI(t, "--save-path", dir, "show", "s1", "s2", "-o", "jsonl")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.err != nil || len(lines) != 2 || lines[0] != `{"id":"s1","data":{"a":1}}` || !strings.HasPrefix(lines[1], `{"id":"s2","data":{"b":"éé`) {
		t.Fatalf("show -o jsonl: %q %v", r.out, r.err)
	}
	r = runCLI(t, "--save-path", dir, "show", "s1", "s2", "-o", "json")
	var arr []struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.out), &arr); err != nil || len(arr) != 2 || arr[0].ID != "s1" {
		t.Fatalf("show -o json with two ids: %q %v", r.out, err)
	}
	r = runCLI(t, "--save-path", dir, "show", "s1", "nope1", "s2", "-o", "jsonl")
	if r.code != 1 || strings.Count(r.out, "\n") != 2 || !strings.Contains(ErrorLine(r.err), "nope1") {
		t.Errorf("a missing id among several: exit %d, %q, %v", r.code, r.out, r.err)
	}
	r = runCLI(t, "--save-path", dir, "show", "s1", "s2")
	if r.err != nil || !strings.Contains(r.out, "s1") || !strings.Contains(r.out, "s2") {
		t.Errorf("show s1 s2:\n%s", r.out)
	}
	r = runCLI(t, "--save-path", dir, "show", "s2", "--key", "b")
	if r.err != nil || !strings.Contains(r.out, `\x00end"`) || strings.Contains(r.out, "more bytes") {
		t.Errorf("--key b is cut:\n%s", r.out)
	}
	if r := runCLI(t, "--save-path", dir, "show", "s2", "--key", "b", "-o", "raw"); r.out != long {
		t.Errorf("--key b -o raw = %q", r.out)
	}
}

// TestShowPartial: what decodes before the error, the error, the bytes
// around it, and the trailing-newline hint; still exit 1.
func TestShowPartial(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "nl1", "a|i:1;b|s:1:\"x\";\n", time.Minute)
	putSess(t, dir, "mid1", `a|i:1;b|s:9:"x";c|i:3;`, time.Minute)
	r := runCLI(t, "--save-path", dir, "show", "nl1", "--partial")
	if r.code != 1 || !strings.Contains(r.out, "a  int 1") || !strings.Contains(r.out, `b  string(1) "x"`) ||
		!strings.Contains(r.out, "0a") || !strings.Contains(r.out, "^^") || !strings.Contains(r.out, "trailing newline") {
		t.Errorf("show --partial nl1: exit %d\n%s", r.code, r.out)
	}
	r = runCLI(t, "--save-path", dir, "show", "mid1", "--partial")
	if r.code != 1 || !strings.Contains(r.out, "a  int 1") || strings.Contains(r.out, "c  int") || strings.Contains(r.out, "trailing newline") {
		t.Errorf("show --partial mid1: exit %d\n%s", r.code, r.out)
	}
}
