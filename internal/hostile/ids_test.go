package hostile

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHostileIDs: ids PHP's files handler would refuse are usage errors
// (exit 2) for every command that takes an id, and nothing on disk is
// touched — in particular "../" cannot reach outside the save_path.
func TestHostileIDs(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	w.file(t, filepath.Join(w.save, "sess_good1"), goodSession)
	// Things a traversal would reach.
	w.file(t, filepath.Join(w.save, "sub", "sess_x"), goodSession)
	ids := []string{
		"../outside/sess_outsider", "..", ".", "a/b", "/etc/passwd", "sub/sess_x", "sub/x",
		"../outside/secret", "good1/../good1", "a b", "a.b", "a\nb", "a\tb", "é", "a;b", "*", "?",
		strings.Repeat("a", 251), strings.Repeat("a", 256), strings.Repeat("a", 300), strings.Repeat("a", 5000),
		"sess_good1", "good1_", "", "%2e%2e",
	}
	editor := writeEditor(t, t.TempDir())
	before := snapshot(t, w.root)
	sp := newSpy(t, w.root)
	tried := 0
	for _, id := range ids {
		for _, a := range [][]string{
			{"show", "--", id}, {"show", "-o", "raw", "--", id}, {"set", "--create", "--", id, "k", "1"},
			{"unset", "--", id, "k"}, {"edit", "--", id}, {"destroy", "--", id}, {"ls", "--where", "k=1", "--", id},
		} {
			if a[0] == "ls" {
				continue // ls takes no id
			}
			tried++
			r := runTool(bin, runOpts{env: []string{"EDITOR=" + editor, "VISUAL="}},
				append([]string{"--save-path", w.save}, a...)...)
			if p := contractProblem(r, true); p != "" {
				t.Errorf("%s: %s", p, r)
			}
			if r.exit != 2 {
				t.Errorf("id %q: want exit 2 (usage): %s", id, r)
			}
			for _, ev := range sp.drain() {
				t.Errorf("id %q: %q touched %s", id, a, ev)
			}
		}
	}
	for _, d := range diffSnapshots(before, snapshot(t, w.root), true) {
		t.Errorf("after hostile ids: %s", d)
	}
	// A NUL cannot travel in argv (execve takes C strings): the kernel
	// interface makes that case impossible, and Go refuses to try.
	if err := exec.Command(bin, "show", "ab\x00cd").Run(); err == nil {
		t.Errorf("exec with a NUL in an argument unexpectedly ran")
	}
	t.Logf("hostile ids tried: %d ids, %d runs", len(ids), tried)
}

// TestHostileNamesInSaveDir: files whose names are sess_ plus something
// that is not a valid id (a newline, a dot, empty, 250 characters, an
// escape sequence). ls -q must print only valid ids, one per line, and
// nothing must panic; gc skips or handles them without a crash.
func TestHostileNamesInSaveDir(t *testing.T) {
	bin := buildTool(t)
	w := newWorld(t)
	w.file(t, filepath.Join(w.save, "sess_good1"), goodSession)
	names := []string{"sess_", "sess_a.b", "sess_evil\ninjected", "sess_\x1b[31mred", "sess_a b", "sess_" + strings.Repeat("z", 250), "sess_..x", "sess_a\\b"}
	for _, n := range names {
		w.file(t, filepath.Join(w.save, n), goodSession)
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9,-]{1,250}$`)
	r := runTool(bin, runOpts{}, "--save-path", w.save, "ls", "-q")
	if p := contractProblem(r, false); p != "" {
		t.Errorf("%s: %s", p, r)
	}
	for _, l := range strings.Split(strings.TrimRight(r.stdout, "\n"), "\n") {
		if !valid.MatchString(l) {
			t.Errorf("ls -q printed a line that is not a valid session id (output injection): %q", l)
		}
	}
	for _, a := range [][]string{{"ls"}, {"ls", "-o", "json"}, {"ls", "--check"}, {"gc", "--dry-run", "--maxlifetime", "0"}, {"gc", "--maxlifetime", "0"}} {
		r := runTool(bin, runOpts{}, append([]string{"--save-path", w.save}, a...)...)
		if p := contractProblem(r, false); p != "" {
			t.Errorf("%s: %s", p, r)
		}
		if strings.Contains(r.stdout, "\x1b[31m") || strings.Contains(r.stderr, "\x1b[31m") {
			t.Errorf("%q wrote a raw escape sequence from a file name to the terminal: %s", a, r)
		}
		if strings.Contains(r.stdout, "evil\ninjected") || strings.Contains(r.stderr, "evil\ninjected") {
			t.Errorf("%q wrote a file name's newline unescaped: %s", a, r)
		}
	}
	t.Logf("hostile names tried: %d", len(names))
}
