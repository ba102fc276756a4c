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

// Sessions of a serializer sesstool recognises but cannot read (until its
// codec lands) are never corrupt: ls --check says unreadable, --where
// counts them apart, show says why.
func TestUnreadableSerializerIsNotCorrupt(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "igb1", "\x00\x00\x00\x02\x14\x01\x11\x01a\x06\x01", time.Minute)
	putSess(t, dir, "mp1", "\x82\xc0\x01\xa1a\x01", time.Minute)
	putSess(t, dir, "php1", `a|i:1;`, time.Minute)
	r := runCLI(t, "--save-path", dir, "ls", "--check", "--sort", "id")
	if strings.Contains(r.out, "corrupt") || strings.Count(r.out, "serializer, which this sesstool cannot read") != 2 {
		t.Errorf("ls --check:\n%s", r.out)
	}
	if r := runCLI(t, "--save-path", dir, "ls", "--corrupt", "-q"); r.out != "" {
		t.Errorf("ls --corrupt lists %q", r.out)
	}
	r = runCLI(t, "--save-path", dir, "ls", "--where", "a=1", "-q")
	if r.out != "php1\n" || !strings.Contains(r.errOut, "2 written by a serializer sesstool cannot read") {
		t.Errorf("ls --where: %q %q", r.out, r.errOut)
	}
	r = runCLI(t, "--save-path", dir, "show", "igb1")
	if r.code != 1 || strings.Contains(ErrorLine(r.err), "destroy") || !strings.Contains(ErrorLine(r.err), "igbinary") {
		t.Errorf("show igb1: %d %s", r.code, ErrorLine(r.err))
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
