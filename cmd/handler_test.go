package cmd

import (
	"os"
	"strings"
	"testing"
	"time"
)

// A serializer name sesstool does not know, from php.ini or a flag, is a
// usage error naming it and where it came from; no session is ever called
// corrupt because of it (CLI.md, issue "Exact everywhere" point 2).
func TestUnknownSerializerIsAnError(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "php1", vecPHP, time.Minute)
	ini := dir + "/php.ini"
	if err := os.WriteFile(ini, []byte("[Session]\n; a site on an extension sesstool does not read\nsession.serialize_handler = wddx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"ls", "--check"}, {"ls", "--where", "a=1"}, {"show", "php1"}, {"set", "php1", "k", "1"},
		{"unset", "php1", "k"}, {"destroy", "--where", "a=1", "--yes"}, {"watch", "--decode"},
	} {
		r := runCLI(t, append([]string{"--save-path", dir, "--php-ini", ini}, args...)...)
		wantErrLine(t, r, 2, `session.serialize_handler = "wddx" (`+ini+`:3)`)
		if strings.Contains(r.out, "corrupt") {
			t.Errorf("%v: %q", args, r.out)
		}
	}
	// Commands that do not decode keep working: gc for cron, plain ls.
	if r := runCLI(t, "--save-path", dir, "--php-ini", ini, "ls", "-q"); r.err != nil || r.out != "php1\n" {
		t.Errorf("plain ls: %v %q", r.err, r.out)
	}
	// --serialize-handler overrides php.ini; an unknown flag value is exit 2 too.
	if r := runCLI(t, "--save-path", dir, "--php-ini", ini, "--serialize-handler", "php", "show", "php1", "-o", "json"); r.err != nil {
		t.Errorf("override: %v", r.err)
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "--serialize-handler", "wddx", "ls", "--check"), 2, `"wddx"`)
}

// igbinary and msgpack sessions work with every command like the others,
// detected per session; one that does not decode says what PHP does with
// it (igbinary: destroys it; msgpack: reads it as empty, then overwrites it).
func TestExtensionSerializers(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "igb1", "\x00\x00\x00\x02\x14\x01\x11\x01a\x06\x01", time.Minute)
	putSess(t, dir, "mp1", "\x82\xc0\x01\xa1a\x01", time.Minute)
	putSess(t, dir, "php1", `a|i:1;`, time.Minute)
	putSess(t, dir, "igbbad", "\x00\x00\x00\x02\x14\x01\x11\x01a\x28", time.Minute)
	putSess(t, dir, "mpbad", "\x82\xc0\x01\xa1a\xc1", time.Minute)
	r := runCLI(t, "--save-path", dir, "ls", "--where", "a=1", "-q", "--sort", "id")
	if r.out != "igb1\nmp1\nphp1\n" {
		t.Errorf("ls --where: %q %q", r.out, r.errOut)
	}
	if r := runCLI(t, "--save-path", dir, "ls", "--corrupt", "-q", "--sort", "id"); r.out != "igbbad\nmpbad\n" {
		t.Errorf("ls --corrupt lists %q", r.out)
	}
	r = runCLI(t, "--save-path", dir, "show", "igb1", "-o", "json")
	if r.err != nil || strings.TrimSpace(r.out) != `{"a":1}` {
		t.Errorf("show igb1: %v %q", r.err, r.out)
	}
	r = runCLI(t, "--save-path", dir, "show", "igbbad")
	if r.code != 1 || !strings.Contains(ErrorLine(r.err), "igbinary") || !strings.Contains(ErrorLine(r.err), "destroys the session") {
		t.Errorf("show igbbad: %d %s", r.code, ErrorLine(r.err))
	}
	r = runCLI(t, "--save-path", dir, "show", "mpbad")
	if r.code != 1 || !strings.Contains(ErrorLine(r.err), "reads it as an empty session") || strings.Contains(ErrorLine(r.err), "would destroy") {
		t.Errorf("show mpbad: %d %s", r.code, ErrorLine(r.err))
	}
	// An array igbinary wrote as the one PHP shared copy-on-write says so;
	// only a value something refers to is "(referenced)".
	putSess(t, dir, "igbcow", "\x00\x00\x00\x02\x14\x02\x11\x01x\x14\x01\x06\x00\x06\x01\x11\x01y\x01\x01", time.Minute)
	r = runCLI(t, "--save-path", dir, "show", "igbcow")
	if !strings.Contains(r.out, "y  array(1) (shared with /x)") || strings.Contains(r.out, "referenced") {
		t.Errorf("show igbcow:\n%s", r.out)
	}
	// set writes the session with its own serializer.
	if r := runCLI(t, "--save-path", dir, "set", "mp1", "b", `"x"`); r.err != nil {
		t.Fatalf("set mp1: %v %s", r.err, r.errOut)
	}
	if b, _ := os.ReadFile(dir + "/sess_mp1"); string(b) != "\x83\xc0\x01\xa1a\x01\xa1b\xa1x" {
		t.Errorf("set mp1 wrote %q", b)
	}
	if r := runCLI(t, "--save-path", dir, "unset", "igb1", "a"); r.err != nil {
		t.Fatalf("unset igb1: %v %s", r.err, r.errOut)
	}
	if b, _ := os.ReadFile(dir + "/sess_igb1"); string(b) != "\x00\x00\x00\x02\x14\x00" {
		t.Errorf("unset igb1 wrote %q", b)
	}
}

// php.ini's unserialize_max_depth is the depth PHP's session decoder
// allows: ls --check flags sessions nested deeper, set refuses changes that
// go deeper (counted from the session's root).
func TestUnserializeMaxDepthFromPHPIni(t *testing.T) {
	dir := t.TempDir()
	ini := dir + "/php.ini"
	if err := os.WriteFile(ini, []byte("unserialize_max_depth = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	putSess(t, dir, "d3", `a|a:1:{i:0;a:1:{i:0;a:1:{i:0;i:1;}}}`, time.Minute)
	putSess(t, dir, "d4", `a|a:1:{i:0;a:1:{i:0;a:1:{i:0;a:1:{i:0;i:1;}}}}`, time.Minute)
	if r := runCLI(t, "--save-path", dir, "--php-ini", ini, "ls", "--corrupt", "-q"); r.out != "d4\n" {
		t.Errorf("ls --corrupt: %q %v", r.out, r.err)
	}
	p := putSess(t, dir, "s", `b|a:1:{i:0;a:0:{}}`, time.Minute)
	wantErrLine(t, runCLI(t, "--save-path", dir, "--php-ini", ini, "set", "s", "/b/0", `[[[1]]]`), 2, "PHP could not read the session back")
	if got := mustRead(t, p); got != `b|a:1:{i:0;a:0:{}}` {
		t.Errorf("refused set wrote %q", got)
	}
	if r := runCLI(t, "--save-path", dir, "--php-ini", ini, "set", "s", "/b/0", `[[1]]`); r.err != nil {
		t.Errorf("set within the depth: %v", r.err)
	}
}

// The README's igbinary/msgpack decode examples, run as written.
func TestReadmeExtensionExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	want := func(cmdLine string) string {
		i := strings.Index(text, "$ "+cmdLine+"\n")
		if i < 0 {
			t.Fatalf("README has no example %q", cmdLine)
		}
		rest := text[i+len(cmdLine)+3:]
		return rest[:strings.IndexByte(rest, '\n')]
	}
	r := runCLI(t, "decode", "-o", "json", "../testdata/sessions/msgpack/sess_login")
	if got, w := strings.TrimSpace(r.out), want("sesstool decode -o json testdata/sessions/msgpack/sess_login"); r.err != nil || got != w {
		t.Errorf("decode -o json: %v\n got %s\nwant %s", r.err, got, w)
	}
	r = runCLIEnv(t, "\x82\xc0\x01\xa4user\xc1", nil, "decode")
	if got, w := "sesstool: "+ErrorLine(r.err), want(`printf '\x82\xc0\x01\xa4user\xc1' | sesstool decode`); got != w || r.code != 1 {
		t.Errorf("decode of a bad msgpack payload: exit %d\n got %s\nwant %s", r.code, got, w)
	}
}
