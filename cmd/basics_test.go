package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/sesstool/sesstool/internal/phptest"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
	"os"
	"path/filepath"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"90s", 90 * time.Second, false},
		{"24m", 24 * time.Minute, false},
		{"36h", 36 * time.Hour, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"1440", 1440 * time.Second, false},
		{"0", 0, false},
		{"500ms", 500 * time.Millisecond, false},
		{"", 0, true},
		{"-5s", 0, true},
		{"-5", 0, true},
		{"d", 0, true},
		{"5x", 0, true},
		{"1d-2h", 0, true},
		{"99999999999999999999", 0, true},
		{"999999999999d", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.bad {
			t.Errorf("ParseDuration(%q) error %v, want bad=%v", tt.in, err, tt.bad)
			continue
		}
		if !tt.bad && got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{UsageErrorf("bad"), 2},
		{fmt.Errorf("wrapped: %w", &sessfile.InvalidIDError{ID: "a/b", Reason: "x"}), 2},
		{&sessfile.SavePathError{Value: "x;/d", Reason: "y"}, 2},
		{fmt.Errorf("session %q: %w", "a", &sessfile.LockTimeoutError{ID: "a", Timeout: time.Second}), 3},
		{&LockedSessionsError{IDs: []string{"a", "b"}}, 3},
		{errors.New("unknown command \"x\" for \"sesstool\""), 2},
		{&SilentError{Code: 1}, 1},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorLineFoldsSuggestions(t *testing.T) {
	err := errors.New("unknown command \"lss\" for \"sesstool\"\n\nDid you mean this?\n\tls\n")
	got := ErrorLine(err)
	want := `unknown command "lss" for "sesstool" (did you mean "ls"?)`
	if got != want {
		t.Errorf("ErrorLine = %q, want %q", got, want)
	}
	if ErrorLine(&SilentError{Code: 1}) != "" {
		t.Error("SilentError must print nothing")
	}
}

func TestWhere(t *testing.T) {
	sess := func(data string, h phpser.Handler) *phpser.Session {
		s, err := phpser.DecodeSession([]byte(data), h)
		if err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		return s
	}
	intSess := sess(`user_id|i:42;`, phpser.HandlerPHP)
	strSess := sess(`user_id|s:2:"42";`, phpser.HandlerPHP)
	padSess := sess(`user_id|s:3:"42 ";`, phpser.HandlerPHP)
	zeroSess := sess(`user_id|s:3:"042";`, phpser.HandlerPHP)
	floatSess := sess(`user_id|d:42;`, phpser.HandlerPHP)
	boolSess := sess(`user_id|b:1;`, phpser.HandlerPHP)
	nested := sess(`_sf2_attributes|a:1:{s:7:"user_id";i:42;}`, phpser.HandlerPHP)
	ser := sess(`a:1:{s:7:"user_id";i:42;}`, phpser.HandlerPHPSerialize)
	ref := sess(`a|i:42;user_id|R:1;`, phpser.HandlerPHP)

	tests := []struct {
		sel  string
		s    *phpser.Session
		want bool
	}{
		{"user_id=42", intSess, true},
		{"user_id=42", strSess, true},
		{`user_id="42"`, strSess, true},
		{`user_id="42"`, intSess, false},
		{"user_id=42", padSess, false},
		{"user_id=42", zeroSess, false},
		{"user_id=042", zeroSess, true}, // not JSON: the plain string "042"
		{"user_id=042", intSess, false},
		{"user_id=42", floatSess, false},
		{"user_id=42.0", floatSess, true},
		{"user_id=42.0", intSess, false},
		{"user_id=true", intSess, false},
		{"user_id=true", boolSess, true},
		{"user_id=42", boolSess, false},
		{"/_sf2_attributes/user_id=42", nested, true},
		{"/_sf2_attributes/user_id=43", nested, false},
		{"user_id=42", nested, false},
		{"user_id=42", ser, true},
		{"user_id=42", ref, true},
		{"missing=42", intSess, false},
		{"user_id=", sess(`user_id|s:0:"";`, phpser.HandlerPHP), true},
	}
	for _, tt := range tests {
		w, err := ParseWhere(tt.sel)
		if err != nil {
			t.Fatalf("ParseWhere(%q): %v", tt.sel, err)
		}
		if got := w.Match(tt.s); got != tt.want {
			t.Errorf("%q on %s: match=%v, want %v", tt.sel, tt.s.Handler, got, tt.want)
		}
	}
	for _, bad := range []string{"=5", "user!", "a<", "a>=", "a<=x", "a>{}", "a~[", "!", ""} {
		if _, err := ParseWhere(bad); ExitCode(err) != 2 {
			t.Errorf("ParseWhere(%q) = %v, want a usage error", bad, err)
		}
	}
}

func TestHumanFormats(t *testing.T) {
	sizes := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KB", 1229: "1.2 KB", 10 * 1024: "10 KB", 5 << 20: "5.0 MB"}
	for n, want := range sizes {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
	ages := map[time.Duration]string{5 * time.Second: "5s ago", 3 * time.Minute: "3m ago", 5 * time.Hour: "5h ago", 72 * time.Hour: "3d ago", -time.Second: "in the future"}
	for d, want := range ages {
		if got := HumanAge(d); got != want {
			t.Errorf("HumanAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestStylesColourOnlyWhenAllowed(t *testing.T) {
	var b bytes.Buffer
	if s := NewStyles(&IOStreams{Out: &b, Color: true}).Bad.Render("x"); !strings.Contains(s, "\x1b[") {
		t.Errorf("colour on: %q has no ANSI escape", s)
	}
	if s := NewStyles(&IOStreams{Out: &b, Color: false}).Bad.Render("x"); s != "x" {
		t.Errorf("colour off: %q", s)
	}
}

// Every command's --help shows an example (README and --help are kept to
// what the code does, with an example for every command).
func TestEveryCommandHasAnExample(t *testing.T) {
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, Now: time.Now, Getenv: func(string) string { return "" }}
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			n++
			if strings.TrimSpace(sub.Example) == "" {
				t.Errorf("%s has no example in --help", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(NewCmdRoot(f))
	if n < 12 {
		t.Errorf("only %d commands found", n)
	}
}

// TestWhereOperators: the selectors of CLI.md "Selecting by content" beyond
// KEY=VALUE, and --grep.
func TestWhereOperators(t *testing.T) {
	sess := func(data string) *phpser.Session {
		s, err := phpser.DecodeSession([]byte(data), phpser.HandlerPHP)
		if err != nil {
			t.Fatalf("decode %q: %v", data, err)
		}
		return s
	}
	s := sess(`uid|i:42;name|s:5:"alice";score|d:7.5;n|s:3:"12 ";nul|N;roles|a:2:{i:0;s:10:"ROLE_ADMIN";i:1;i:7;}` +
		`obj|O:4:"User":1:{s:7:"` + "\x00*\x00" + `mail";s:17:"alice@example.com";}` +
		`cart|C:10:"LegacyCart":28:{a:1:{s:3:"sku";s:5:"X-123";}}alias|R:2;`)
	tests := []struct {
		sel  string
		want bool
	}{
		{"uid!=43", true}, {"uid!=42", false}, {`uid!="42"`, true}, {"missing!=1", false},
		{"uid<43", true}, {"uid<42", false}, {"uid<=42", true}, {"uid>41.5", true}, {"uid>=42", true}, {"uid>42", false},
		{"score>7", true}, {"score<7.5", false}, {"n>11", true}, {"n<12", false}, {"name>1", false}, {"roles>0", false},
		{"name~^al", true}, {"name~^bo", false}, {"uid~42", false}, {"/obj/mail~@example\\.com$", true},
		{"uid", true}, {"nul", true}, {"missing", false}, {"!missing", true}, {"!nul", false},
		{"roles@ROLE_ADMIN", true}, {"roles@7", true}, {`roles@"7"`, false}, {"roles@ROLE_USER", false}, {"name@a", false},
		{"alias=alice", true}, {"alias~ice", true},
	}
	for _, tt := range tests {
		w, err := ParseWhere(tt.sel)
		if err != nil {
			t.Fatalf("ParseWhere(%q): %v", tt.sel, err)
		}
		if got := w.Match(s); got != tt.want {
			t.Errorf("%q: match=%v, want %v", tt.sel, got, tt.want)
		}
	}
	for re, want := range map[string]bool{`alice@example\.com`: true, `^X-123$`: true, `^sku$`: true, `^mail$`: true, `ROLE_`: true, `^uid$`: true, `nobody`: false, `^42$`: false} {
		g, err := ParseGrep(re)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Match(s); got != want {
			t.Errorf("--grep %q: match=%v, want %v", re, got, want)
		}
	}
}

// TestVersionHelpTopicsMan: --version, help exit-codes, help environment,
// and man DIR writing a page per command.
func TestVersionHelpTopicsMan(t *testing.T) {
	if r := runCLI(t, "--version"); r.err != nil || !strings.HasPrefix(r.out, "sesstool ") {
		t.Errorf("--version: %q %v", r.out, r.err)
	}
	if r := runCLI(t, "help", "exit-codes"); r.err != nil || !strings.Contains(r.out, "3    a session stayed locked") {
		t.Errorf("help exit-codes: %q %v", r.out, r.err)
	}
	if r := runCLI(t, "help", "environment"); r.err != nil || !strings.Contains(r.out, "SESSTOOL_SAVE_PATH") {
		t.Errorf("help environment: %q %v", r.out, r.err)
	}
	dir := t.TempDir()
	if r := runCLI(t, "man", dir); r.err != nil {
		t.Fatalf("man: %v", r.err)
	}
	for _, page := range []string{"sesstool.1", "sesstool-ls.1", "sesstool-gc-simulate.1", "sesstool-show.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !bytes.Contains(b, []byte(".TH")) {
			t.Errorf("man page %s: %v", page, err)
		}
	}
	if r := runCLI(t, "man", filepath.Join(dir, "new", "man1")); r.err != nil {
		t.Errorf("man into a directory not there yet: %v", r.err)
	} else if _, err := os.Stat(filepath.Join(dir, "new", "man1", "sesstool.1")); err != nil {
		t.Errorf("man did not make its directory: %v", err)
	}
	wantErrLine(t, runCLI(t, "man", filepath.Join(dir, "sesstool.1")), 2, "not a directory")
}

// No flag shows cobra's "(default …)" after a usage that states its
// default itself, nor a "(default 0s)" that means "not given".
func TestHelpDefaultsOnce(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				line := ""
				for _, l := range strings.Split(fs.FlagUsages(), "\n") {
					if strings.Contains(l, "--"+f.Name+" ") {
						line = l
					}
				}
				if strings.Count(line, "default") > 1 || strings.Contains(line, "(default 0s)") {
					t.Errorf("%s --%s: %q", c.CommandPath(), f.Name, strings.TrimSpace(line))
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(NewCmdRoot(&Factory{IO: &IOStreams{}, Getenv: func(string) string { return "" }}))
}

// TestFilesLocksUnlock: on files, locks names the flock's holder (this
// process) and unlock refuses, naming it.
func TestFilesLocksUnlock(t *testing.T) {
	dir := t.TempDir()
	p := putSess(t, dir, "flk0000000000000000000001", "a|i:1;", time.Minute)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "--save-path", dir, "locks", "-o", "jsonl")
	pid := fmt.Sprintf("pid %d", os.Getpid())
	if r.err != nil || !strings.Contains(r.out, `"id":"flk0000000000000000000001"`) || !strings.Contains(r.out, pid) || !strings.Contains(r.out, "flock LOCK_EX") {
		t.Errorf("locks: %q %v", r.out, r.err)
	}
	r = runCLI(t, "--save-path", dir, "unlock", "flk0000000000000000000001")
	if r.code != 1 || !strings.Contains(ErrorLine(r.err), pid) {
		t.Errorf("unlock on files: exit %d %q", r.code, ErrorLine(r.err))
	}
}

// TestFilesLocksHeldByPHP: a real PHP request holding its session: locks
// names PHP's pid and command, and a set that gives up after --lock-timeout
// (exit 3) says whose lock it waited for.
func TestFilesLocksHeldByPHP(t *testing.T) {
	phptest.PHP(t)
	dir := t.TempDir()
	const id = "flkphp000000000000000001"
	putSess(t, dir, id, "a|i:1;", time.Minute)
	p := phptest.Start(t, `<?php session_id('`+id+`'); session_start(); echo "locked\n"; fgets(STDIN);`, append(phptest.SessionINI(dir, "php"), "-d", "session.save_path="+dir)...)
	p.WaitLine("locked")
	defer p.CloseStdin()
	pid := fmt.Sprintf("pid %d (php", p.Pid())
	time.Sleep(2 * time.Second)
	r := runCLI(t, "--save-path", dir, "locks", "-o", "jsonl")
	if r.err != nil || !strings.Contains(r.out, `"id":"`+id+`"`) || !strings.Contains(r.out, pid) {
		t.Errorf("locks while PHP holds %s: %q %v", id, r.out, r.err)
	}
	// Held since PHP's read of the file (its access time, where the
	// filesystem keeps one): about the 2 s slept, not the minute-old mtime.
	var l struct {
		Held int64 `json:"held_seconds"`
	}
	if err := json.Unmarshal([]byte(strings.SplitN(r.out, "\n", 2)[0]), &l); err != nil {
		t.Fatal(err)
	}
	if l.Held != 0 && (l.Held < 2 || l.Held > 20) {
		t.Errorf("held_seconds %d, want about 2 (or 0 where atime is not kept)", l.Held)
	}
	r = runCLI(t, "--save-path", dir, "--lock-timeout", "300ms", "set", id, "a", "2")
	if r.code != 3 || !strings.Contains(ErrorLine(r.err), pid) {
		t.Errorf("set while PHP holds the lock: exit %d %q, want 3 naming %s)", r.code, ErrorLine(r.err), pid)
	}
}
