package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// editorScript writes an executable shell script and returns its path; the
// file to edit is "$1".
func editorScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "editor.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEdit(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	p := putSess(t, dir, "e1", `a|i:1;b|s:3:"x`+"\n"+`y";`, time.Hour)

	// a change is written in place, in the session's handler
	before := stateOf(t, p)
	ed := editorScript(t, `sed -i 's/^a = 1$/a = 2/; s/^b = .*/b = "changed"/' "$1"`)
	r := runCLIEnv(t, "", map[string]string{"EDITOR": ed}, "--save-path", dir, "edit", "e1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := mustRead(t, p); got != `a|i:2;b|s:7:"changed";` {
		t.Errorf("after edit: %q", got)
	}
	if stateOf(t, p).ino != before.ino {
		t.Error("edit replaced the file instead of writing in place")
	}
	// VISUAL wins over EDITOR; EDITOR may carry arguments
	vis := editorScript(t, `sed -i "s/^a = 2$/a = $1/" "$3"`)
	r = runCLIEnv(t, "", map[string]string{"VISUAL": vis + " 5 x", "EDITOR": "false"}, "--save-path", dir, "edit", "e1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := mustRead(t, p); got != `a|i:5;b|s:7:"changed";` {
		t.Errorf("after VISUAL edit: %q", got)
	}

	// unchanged document: nothing written, mtime kept
	st := stateOf(t, p)
	r = runCLIEnv(t, "", map[string]string{"EDITOR": "true"}, "--save-path", dir, "edit", "e1")
	if r.err != nil || !strings.Contains(r.out, "unchanged") {
		t.Errorf("unchanged edit: %v %q", r.err, r.out)
	}
	st.untouched(t, p)
	// reformatting only (a comment, blank lines) re-encodes to the same bytes
	r = runCLIEnv(t, "", map[string]string{"EDITOR": editorScript(t, `printf '\n# note\n' >> "$1"`)}, "--save-path", dir, "edit", "e1")
	if r.err != nil {
		t.Fatal(r.err)
	}
	st.untouched(t, p)

	// editor fails: exit 1, untouched
	r = runCLIEnv(t, "", map[string]string{"EDITOR": "false"}, "--save-path", dir, "edit", "e1")
	wantErrLine(t, r, 1, "editor")
	st.untouched(t, p)

	// a document that does not parse: positioned error, untouched, text kept
	r = runCLIEnv(t, "", map[string]string{"EDITOR": editorScript(t, `sed -i 's/^a = 5$/a = [/' "$1"`)}, "--save-path", dir, "edit", "e1")
	wantErrLine(t, r, 1, "does not parse")
	st.untouched(t, p)
	m := regexp.MustCompile(`(/\S+\.txt):(\d+):(\d+): `).FindStringSubmatch(ErrorLine(r.err))
	if m == nil {
		t.Fatalf("no file:line:col in %q", ErrorLine(r.err))
	}
	if b, err := os.ReadFile(m[1]); err != nil || !strings.Contains(string(b), "a = [") {
		t.Errorf("edited text not kept at %s: %v", m[1], err)
	}
}

func TestEditConflict(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	dir := t.TempDir()
	p := putSess(t, dir, "e1", `a|i:1;`, time.Hour)
	// while the editor is open, "PHP" rewrites the session
	ed := editorScript(t, `printf 'a|i:1;php|b:1;' > '`+p+`'; sed -i 's/^a = 1$/a = 2/' "$1"`)
	r := runCLIEnv(t, "", map[string]string{"EDITOR": ed}, "--save-path", dir, "edit", "e1")
	wantErrLine(t, r, 1, "changed while the editor was open")
	if got := mustRead(t, p); got != `a|i:1;php|b:1;` {
		t.Errorf("PHP's write was lost: %q", got)
	}
	m := regexp.MustCompile(`edited text is in (\S+)$`).FindStringSubmatch(ErrorLine(r.err))
	if m == nil {
		t.Fatalf("no kept file named in %q", ErrorLine(r.err))
	}
	if b, err := os.ReadFile(m[1]); err != nil || !strings.Contains(string(b), "a = 2") {
		t.Errorf("edited text not kept: %v %q", err, b)
	}
}

func TestEditAgainOnTerminal(t *testing.T) {
	tmp := t.TempDir()
	dir := t.TempDir()
	p := putSess(t, dir, "e1", `a|i:1;`, time.Hour)
	count := filepath.Join(t.TempDir(), "count")
	// first run breaks the text, second run fixes it
	ed := editorScript(t, `if [ -e '`+count+`' ]; then sed -i 's/^a = .*/a = 3/' "$1"; else touch '`+count+`'; sed -i 's/^a = 1$/a = [/' "$1"; fi`)
	var out, errb strings.Builder
	opts := &EditOptions{
		IO:      &IOStreams{In: strings.NewReader("y\n"), Out: &out, ErrOut: &errb, InTTY: true},
		Open:    openDir(t, dir),
		Getenv:  func(k string) string { return map[string]string{"EDITOR": ed}[k] },
		ID:      "e1",
		TempDir: tmp,
	}
	if err := editRun(t.Context(), opts); err != nil {
		t.Fatalf("%v (stderr %q)", err, errb.String())
	}
	if !strings.Contains(errb.String(), "does not parse") || !strings.Contains(errb.String(), "Edit again? [Y/n]") {
		t.Errorf("no re-edit offer: %q", errb.String())
	}
	if got := mustRead(t, p); got != `a|i:3;` {
		t.Errorf("after re-edit: %q", got)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temp text left behind after success: %v", ents)
	}
}

func TestEditErrors(t *testing.T) {
	dir := t.TempDir()
	bad := putSess(t, dir, "bad1", "a|i:1;\n", time.Hour)
	st := stateOf(t, bad)
	wantErrLine(t, runCLIEnv(t, "", map[string]string{"EDITOR": "true"}, "--save-path", dir, "edit", "bad1"), 1, "does not decode")
	st.untouched(t, bad)
	wantErrLine(t, runCLIEnv(t, "", map[string]string{"EDITOR": "true"}, "--save-path", dir, "edit", "nope"), 1, "not found")
	wantErrLine(t, runCLIEnv(t, "", map[string]string{"EDITOR": "true"}, "--save-path", dir, "edit", "a/b"), 2, "invalid session id")
}
