package cmd

import (
	"fmt"
	"os"
	"os/user"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSetUnset(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		initial string
		args    []string // after "--save-path dir"
		want    string
	}{
		{"int", `a|i:1;`, []string{"set", "s1", "b", "5"}, `a|i:1;b|i:5;`},
		{"replace keeps order", `a|i:1;b|i:2;`, []string{"set", "s1", "a", `"x"`}, `a|s:1:"x";b|i:2;`},
		{"float", ``, []string{"set", "s1", "f", "5.0"}, `f|d:5;`},
		{"negative", `a|i:1;`, []string{"set", "s1", "a", "--", "-3"}, `a|i:-3;`},
		{"string flag", `a|i:1;`, []string{"set", "--string", "s1", "a", "5"}, `a|s:1:"5";`},
		{"null true", `a|i:1;`, []string{"set", "s1", "a", "null"}, `a|N;`},
		{"array", `a|i:1;`, []string{"set", "s1", "c", `{"x":[1,true]}`}, `a|i:1;c|a:1:{s:1:"x";a:2:{i:0;i:1;i:1;b:1;}}`},
		{"pointer", `c|a:1:{s:1:"x";i:1;}`, []string{"set", "s1", "/c/x", "2"}, `c|a:1:{s:1:"x";i:2;}`},
		{"pointer append", `c|a:1:{i:0;i:1;}`, []string{"set", "s1", "/c/-", "2"}, `c|a:2:{i:0;i:1;i:1;i:2;}`},
		{"php_serialize", `a:1:{s:1:"a";i:1;}`, []string{"set", "s1", "b", `"y"`}, `a:2:{s:1:"a";i:1;s:1:"b";s:1:"y";}`},
		{"php_serialize int key", `a:1:{s:1:"a";i:1;}`, []string{"set", "s1", "7", `1`}, `a:2:{s:1:"a";i:1;i:7;i:1;}`},
		{"unset", `a|i:1;b|i:2;`, []string{"unset", "s1", "a"}, `b|i:2;`},
		{"unset pointer", `c|a:2:{i:0;i:1;i:1;i:2;}`, []string{"unset", "s1", "/c/0"}, `c|a:1:{i:1;i:2;}`},
		{"unset last", `a|i:1;`, []string{"unset", "s1", "a"}, ``},
		{"unset php_serialize", `a:1:{s:1:"a";i:1;}`, []string{"unset", "s1", "a"}, `a:0:{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := putSess(t, dir, "s1", tt.initial, time.Hour)
			before := stateOf(t, p)
			r := runCLI(t, append([]string{"--save-path", dir}, tt.args...)...)
			if r.err != nil {
				t.Fatalf("%v: %v", tt.args, r.err)
			}
			if got := mustRead(t, p); got != tt.want {
				t.Errorf("%v: file %q, want %q", tt.args, got, tt.want)
			}
			after := stateOf(t, p)
			if after.ino != before.ino {
				t.Errorf("inode changed: the file was replaced, not written in place")
			}
		})
	}
}

func TestSetNoChangeWritesNothing(t *testing.T) {
	dir := t.TempDir()
	p := putSess(t, dir, "s1", `a|i:5;b|s:1:"x";`, time.Hour)
	st := stateOf(t, p)
	for _, args := range [][]string{
		{"set", "s1", "a", "5"},
		{"set", "--string", "s1", "b", "x"},
		{"unset", "s1", "missing"},
		{"unset", "s1", "/b/deeper"},
	} {
		r := runCLI(t, append([]string{"--save-path", dir}, args...)...)
		if r.err != nil {
			t.Fatalf("%v: %v", args, r.err)
		}
		st.untouched(t, p)
	}
}

func TestSetErrorsTouchNothing(t *testing.T) {
	dir := t.TempDir()
	p := putSess(t, dir, "s1", `a|i:5;`, time.Hour)
	bad := putSess(t, dir, "bad1", "a|i:5;\n", time.Hour)
	ser := putSess(t, dir, "ser1", `i:5;`, time.Hour)
	snaps := map[string]fileState{p: stateOf(t, p), bad: stateOf(t, bad), ser: stateOf(t, ser)}
	tests := []struct {
		args []string
		code int
		sub  string
	}{
		{[]string{"set", "s1", "a", "5x"}, 2, `invalid VALUE "5x"`},
		{[]string{"set", "s1", "a", "'x'"}, 2, "invalid VALUE"},
		{[]string{"set", "s1", "a|b", "1"}, 2, `"|"`},
		{[]string{"set", "s1", "5", "1"}, 2, "int key"},
		{[]string{"set", "s1", "/a/b", "1"}, 2, ""},
		{[]string{"set", "s1", "/x~2", "1"}, 2, "JSON Pointer"},
		{[]string{"set", "bad1", "a", "1"}, 1, "does not decode"},
		{[]string{"set", "ser1", "a", "1"}, 2, ""},
		{[]string{"set", "nope", "a", "1"}, 1, `session "nope" not found`},
		{[]string{"unset", "nope", "a"}, 1, `session "nope" not found`},
		{[]string{"set", "a/b", "a", "1"}, 2, "invalid session id"},
		{[]string{"set", "", "a", "1"}, 2, "invalid session id"},
		{[]string{"set", strings.Repeat("a", 300), "a", "1"}, 2, "invalid session id"},
		{[]string{"set", "s1", "a"}, 2, "needs ID, KEY and VALUE"},
	}
	for _, tt := range tests {
		r := runCLI(t, append([]string{"--save-path", dir}, tt.args...)...)
		wantErrLine(t, r, tt.code, tt.sub)
	}
	for path, s := range snaps {
		s.untouched(t, path)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("files appeared or vanished: %d entries", len(ents))
	}
}

func TestSetCreate(t *testing.T) {
	dir := t.TempDir()
	old := unix.Umask(0)
	defer unix.Umask(old)
	// level directory n/ does not exist: PHP does not create it either
	r := runCLI(t, "--save-path", "1;0640;"+dir, "set", "--create", "newid1", "flash", `"hi"`)
	wantErrLine(t, r, 1, "level directory")
	p := dir + "/n/sess_newid1"
	if _, err := os.Stat(p); err == nil {
		t.Fatalf("created inside a missing level directory")
	}
	os.Mkdir(dir+"/n", 0o700)
	r = runCLI(t, "--save-path", "1;0640;"+dir, "set", "--create", "newid1", "flash", `"hi"`)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := mustRead(t, p); got != `flash|s:2:"hi";` {
		t.Errorf("created %q", got)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 from the save_path", st.Mode().Perm())
	}
	// without --create a missing session is an error and nothing is created
	wantErrLine(t, runCLI(t, "--save-path", dir, "set", "other1", "a", "1"), 1, "not found")
	if _, err := os.Stat(dir + "/sess_other1"); err == nil {
		t.Error("set without --create created a session")
	}
	// --create with the php_serialize handler
	r = runCLI(t, "--save-path", dir, "--serialize-handler", "php_serialize", "set", "--create", "ser2", "a", "1")
	if got := mustRead(t, dir+"/sess_ser2"); got != `a:1:{s:1:"a";i:1;}` || r.err != nil {
		t.Errorf("php_serialize create: %q, %v", got, r.err)
	}
}

// TestSetLockTimeout holds LOCK_EX on a session the way a PHP request does
// and checks that set gives up with exit 3, file unchanged.
func TestSetLockTimeout(t *testing.T) {
	dir := t.TempDir()
	p := putSess(t, dir, "s1", `a|i:1;`, time.Hour)
	st := stateOf(t, p)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "--save-path", dir, "--lock-timeout", "200ms", "set", "s1", "a", "2")
	wantErrLine(t, r, 3, `"s1"`)
	st.untouched(t, p)
	r = runCLI(t, "--save-path", dir, "--lock-timeout", "0", "show", "s1")
	wantErrLine(t, r, 3, "locked")
	// --no-lock reads anyway
	r = runCLI(t, "--save-path", dir, "--no-lock", "show", "s1", "-o", "json")
	if strings.TrimSpace(r.out) != `{"a":1}` {
		t.Errorf("--no-lock show: %q %v", r.out, r.err)
	}
	// ls --where names the locked session it could not test and exits 3,
	// listing the matches only
	putSess(t, dir, "s2", `a|i:1;`, time.Hour)
	r = runCLI(t, "--save-path", dir, "--lock-timeout", "0", "ls", "--where", "a=1")
	wantErrLine(t, r, 3, `"s1"`)
	if !strings.Contains(r.out, "s2") || strings.Contains(r.out, "s1") {
		t.Errorf("ls --where with a locked session:\n%s", r.out)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	r = runCLI(t, "--save-path", dir, "set", "s1", "a", "2")
	if r.err != nil || mustRead(t, p) != `a|i:2;` {
		t.Errorf("after unlock: %v %q", r.err, mustRead(t, p))
	}
}

func TestSetCreateOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	dir := t.TempDir()
	r := runCLI(t, "--save-path", dir, "--owner", "nobody", "set", "--create", "own1", "a", "1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	st, err := os.Stat(dir + "/sess_own1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := user.Lookup("nobody")
	if uid := st.Sys().(*syscall.Stat_t).Uid; fmt.Sprint(uid) != u.Uid {
		t.Errorf("owner uid %d, want nobody (%s)", uid, u.Uid)
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "--owner", "no-such-user-x", "set", "--create", "own2", "a", "1"), 2, "no such user")
	if _, err := os.Stat(dir + "/sess_own2"); err == nil {
		t.Error("created despite a bad --owner")
	}
}
