package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/sesstool/sesstool/internal/tableprinter"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// lsFixture is a save_path with three sessions of known sizes and ages and
// one that PHP would destroy (trailing newline).
func lsFixture(t *testing.T) string {
	dir := t.TempDir()
	putSess(t, dir, "aaaa1111", `user_id|i:42;`, 10*time.Minute)                 // 13 B
	putSess(t, dir, "bbbb2222", `user_id|s:2:"42";name|s:3:"bob";`, 2*time.Hour) // 32 B
	putSess(t, dir, "cccc3333", `user_id|i:7;`, 30*time.Second)                  // 12 B
	putSess(t, dir, "dddd4444", "user_id|i:42;\n", 3*24*time.Hour)               // corrupt
	return dir
}

func TestLsSortsAndFilters(t *testing.T) {
	dir := lsFixture(t)
	tests := []struct {
		args []string
		want string // ids, one per line
	}{
		{[]string{"ls", "-q"}, "cccc3333\naaaa1111\nbbbb2222\ndddd4444\n"},
		{[]string{"ls", "-q", "--sort", "id"}, "aaaa1111\nbbbb2222\ncccc3333\ndddd4444\n"},
		{[]string{"ls", "-q", "--sort", "size"}, "bbbb2222\ndddd4444\naaaa1111\ncccc3333\n"},
		{[]string{"ls", "-q", "--older-than", "1h"}, "bbbb2222\ndddd4444\n"},
		{[]string{"ls", "-q", "--newer-than", "15m"}, "cccc3333\naaaa1111\n"},
		{[]string{"ls", "-q", "--older-than", "1m", "--newer-than", "1d"}, "aaaa1111\nbbbb2222\n"},
		// --where matches int 42 and the string "42"; -q never prints the
		// corrupt one as a match (it is flagged in the table and on stderr)
		{[]string{"ls", "-q", "--where", "user_id=42"}, "aaaa1111\nbbbb2222\n"},
		{[]string{"ls", "-q", "--where", `user_id="42"`}, "bbbb2222\n"},
		{[]string{"ls", "-q", "--where", "user_id=42", "--where", "name=bob"}, "bbbb2222\n"},
		// -q --corrupt lists what PHP would destroy
		{[]string{"ls", "-q", "--corrupt"}, "dddd4444\n"},
		{[]string{"ls", "-q", "--corrupt", "--sort", "none"}, "dddd4444\n"},
	}
	for _, tt := range tests {
		r := runCLI(t, append([]string{"--save-path", dir}, tt.args...)...)
		if r.err != nil {
			t.Fatalf("%v: %v", tt.args, r.err)
		}
		if r.out != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.args, r.out, tt.want)
		}
	}
	r := runCLI(t, "--save-path", dir, "ls", "-q", "--where", "user_id=42")
	if !strings.Contains(r.errOut, "1 session could not be decoded") {
		t.Errorf("-q --where hides the corrupt session silently: stderr %q", r.errOut)
	}
	// A selection lists matches only, in every format; what could not be
	// decoded is one warning line (CLI.md "Selecting by content").
	for _, o := range []string{"human", "json"} {
		r = runCLI(t, "--save-path", dir, "ls", "--where", "user_id=42", "-o", o)
		if r.err != nil || strings.Contains(r.out, "dddd4444") || !strings.Contains(r.out, "aaaa1111") {
			t.Errorf("-o %s: an undecodable session is not a match: %v\n%s", o, r.err, r.out)
		}
		if !strings.Contains(r.errOut, "1 session could not be decoded to test --where and was not listed (1 corrupt)") || strings.Count(r.errOut, "\n") != 1 {
			t.Errorf("-o %s: stderr %q", o, r.errOut)
		}
	}
	if r := runCLI(t, "--save-path", dir, "ls", "--corrupt", "-q"); r.out != "dddd4444\n" || r.err != nil {
		t.Errorf("ls --corrupt -q: %q %v", r.out, r.err)
	}
	// --sort none streams every session, in whatever order the directory has.
	r = runCLI(t, "--save-path", dir, "ls", "-q", "--sort", "none")
	got := strings.Fields(r.out)
	if len(got) != 4 || r.err != nil {
		t.Errorf("--sort none: %q, %v", r.out, r.err)
	}
}

func TestLsHumanAndCheck(t *testing.T) {
	dir := lsFixture(t)
	r := runTTY(t, "--save-path", dir, "ls")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, want := range []string{"ID", "SIZE", "AGE", "MODIFIED", "aaaa1111", "13 B", "10m ago", "2h ago", "3d ago", "4 sessions, 71 B"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("ls output lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "\x1b[") {
		t.Errorf("colour without a colour terminal:\n%q", r.out)
	}
	if strings.Index(r.out, "cccc3333") > strings.Index(r.out, "aaaa1111") {
		t.Errorf("not newest first:\n%s", r.out)
	}
	r = runTTY(t, "--save-path", dir, "ls", "--check")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var corruptLine string
	for _, l := range strings.Split(r.out, "\n") {
		if strings.Contains(l, "dddd4444") {
			corruptLine = l
		}
	}
	if !strings.Contains(corruptLine, "corrupt") || !strings.Contains(corruptLine, "offset 13") {
		t.Errorf("corrupt session not flagged with its offset: %q", corruptLine)
	}
	if !strings.Contains(r.out, "1 corrupt") {
		t.Errorf("footer lacks the corrupt count:\n%s", r.out)
	}
	// --sort none streams the same table rows and footer.
	r = runTTY(t, "--save-path", dir, "ls", "--sort", "none", "--check")
	if !strings.Contains(r.out, "4 sessions, 71 B, 1 corrupt") || !strings.Contains(r.out, "offset 13") {
		t.Errorf("--sort none --check:\n%s", r.out)
	}
}

func TestLsJSON(t *testing.T) {
	dir := lsFixture(t)
	for _, sort := range []string{"age", "none"} {
		r := runCLI(t, "--save-path", dir, "ls", "-o", "json", "--sort", sort)
		if r.err != nil {
			t.Fatal(r.err)
		}
		var docs []map[string]any
		if err := json.Unmarshal([]byte(r.out), &docs); err != nil {
			t.Fatalf("--sort %s: not JSON: %v\n%s", sort, err, r.out)
		}
		if len(docs) != 4 {
			t.Fatalf("--sort %s: %d entries", sort, len(docs))
		}
		for _, d := range docs {
			for _, k := range []string{"id", "path", "size", "mtime", "age_seconds"} {
				if _, ok := d[k]; !ok {
					t.Errorf("entry lacks %q: %v", k, d)
				}
			}
			if d["id"] == "aaaa1111" {
				if d["size"].(float64) != 13 || d["path"] != dir+"/sess_aaaa1111" {
					t.Errorf("aaaa1111: %v", d)
				}
				if a := d["age_seconds"].(float64); a < 599 || a > 700 {
					t.Errorf("age_seconds %v, want about 600", a)
				}
				if _, err := time.Parse(time.RFC3339, d["mtime"].(string)); err != nil {
					t.Errorf("mtime not RFC 3339: %v", d["mtime"])
				}
			}
		}
	}
	// an empty save_path is an empty array, for both paths
	empty := t.TempDir()
	for _, sort := range []string{"age", "none"} {
		r := runCLI(t, "--save-path", empty, "ls", "-o", "json", "--sort", sort)
		if strings.TrimSpace(r.out) != "[]" {
			t.Errorf("--sort %s on empty dir: %q", sort, r.out)
		}
	}
}

func TestLsErrors(t *testing.T) {
	dir := lsFixture(t)
	tests := []struct {
		args []string
		code int
		sub  string
	}{
		{[]string{"--save-path", dir, "ls", "--sort", "mtime"}, 2, `invalid --sort "mtime"`},
		{[]string{"--save-path", dir, "ls", "-o", "yaml"}, 2, `invalid --output "yaml"`},
		{[]string{"--save-path", dir, "ls", "--older-than", "soon"}, 2, `invalid duration "soon"`},
		{[]string{"--save-path", dir, "ls", "--where", "oops!"}, 2, `invalid --where "oops!"`},
		{[]string{"--save-path", dir, "ls", "--where", "n<abc"}, 2, `is not a number`},
		{[]string{"--save-path", dir, "ls", "--where", "n~("}, 2, `invalid --where "n~("`},
		{[]string{"--save-path", dir, "ls", "--grep", "("}, 2, `invalid --grep "("`},
		{[]string{"--save-path", dir + "/missing", "ls"}, 1, "missing"},
		{[]string{"--save-path", "x;" + dir, "ls"}, 2, "invalid save_path"},
		{[]string{"--save-path", "", "ls"}, 2, "--save-path is empty"},
		{[]string{"--save-path", dir, "ls", "extra"}, 2, "ls takes no arguments"},
	}
	for _, tt := range tests {
		r := runCLI(t, tt.args...)
		wantErrLine(t, r, tt.code, tt.sub)
	}
}

// TestLsLargeTable: a table of a few thousand rows, measured and printed in
// two passes over the rows (no copy of its cells held).
func TestLsLargeTable(t *testing.T) {
	dir := t.TempDir()
	n := 2001
	for i := range n {
		putSess(t, dir, fmt.Sprintf("id%05d", i), `a|i:1;`, time.Duration(i)*time.Second)
	}
	putSess(t, dir, "zbad", "a|i:1;\n", 3*time.Hour)
	r := runTTY(t, "--save-path", dir, "ls", "--check")
	if r.err != nil {
		t.Fatal(r.err)
	}
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if len(lines) != n+4 { // header, rule, rows, footer
		t.Fatalf("%d lines, want %d", len(lines), n+4)
	}
	if !strings.HasPrefix(lines[0], "ID       SIZE  AGE") || !strings.HasPrefix(lines[1], "────") {
		t.Errorf("header:\n%s\n%s", lines[0], lines[1])
	}
	if !strings.HasPrefix(lines[2], "id00000   6 B  ") || !strings.HasSuffix(lines[2], "  ok") {
		t.Errorf("first row (newest) %q", lines[2])
	}
	if last := lines[n+2]; !strings.HasPrefix(last, "zbad      7 B  3h ago") || !strings.Contains(last, "corrupt: offset 6") {
		t.Errorf("last row %q", last)
	}
	if !strings.Contains(lines[n+3], fmt.Sprintf("%d sessions", n+1)) {
		t.Errorf("footer %q", lines[n+3])
	}
}

// TestLsLimitReverse: --limit N after sorting (the first N found with
// --sort none), --reverse turns the order round.
func TestLsLimitReverse(t *testing.T) {
	dir := t.TempDir()
	for i, id := range []string{"a1", "b2", "c3", "d4"} {
		putSess(t, dir, id, `x|i:1;`, time.Duration(i+1)*time.Minute)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "-q"}, "a1\nb2\nc3\nd4\n"},
		{[]string{"ls", "-q", "--reverse"}, "d4\nc3\nb2\na1\n"},
		{[]string{"ls", "-q", "--limit", "2"}, "a1\nb2\n"},
		{[]string{"ls", "-q", "--sort", "id", "--reverse", "--limit", "1"}, "d4\n"},
	} {
		r := runCLI(t, append([]string{"--save-path", dir}, tt.args...)...)
		if r.err != nil || r.out != tt.want {
			t.Errorf("%v: %q %v, want %q", tt.args, r.out, r.err, tt.want)
		}
	}
	if r := runCLI(t, "--save-path", dir, "ls", "-q", "--sort", "none", "--limit", "3"); r.err != nil || strings.Count(r.out, "\n") != 3 {
		t.Errorf("--sort none --limit 3: %q %v", r.out, r.err)
	}
	if r := runTTY(t, "--save-path", dir, "ls", "--limit", "2"); !strings.Contains(r.out, "2 sessions") {
		t.Errorf("footer with --limit 2:\n%s", r.out)
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "ls", "--limit", "-1"), 2, "--limit")
}

// Not a terminal: tab-separated rows with exact values (bytes, whole
// seconds, RFC 3339), no header, rule or footer; --no-headers drops the
// header on a terminal; a tab or newline in a cell cannot split a row.
func TestLsPipeAndNoHeaders(t *testing.T) {
	dir := lsFixture(t)
	now := time.Now()
	for _, args := range [][]string{{"ls"}, {"ls", "--sort", "none"}, {"ls", "--check"}, {"ls", "--check", "--sort", "none"}} {
		r := runCLI(t, append([]string{"--save-path", dir}, args...)...)
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		if len(lines) != 4 {
			t.Fatalf("%v: %d lines, want the 4 rows only:\n%s", args, len(lines), r.out)
		}
		for _, l := range lines {
			f := strings.Split(l, "\t")
			want := 4
			if slices.Contains(args, "--check") {
				want = 5
			}
			if len(f) != want {
				t.Fatalf("%v: %d fields in %q, want %d", args, len(f), l, want)
			}
			if f[0] == "aaaa1111" {
				mt, err := time.Parse(time.RFC3339, f[3])
				if f[1] != "13" || f[2] != "600" || err != nil || now.Sub(mt) < 9*time.Minute || now.Sub(mt) > 11*time.Minute {
					t.Errorf("%v: row %q (want 13 bytes, 600 s, RFC 3339)", args, l)
				}
			}
		}
	}
	for _, args := range [][]string{{"ls", "--no-headers"}, {"ls", "--no-headers", "--sort", "none"}} {
		r := runTTY(t, append([]string{"--save-path", dir}, args...)...)
		sorted := !slices.Contains(args, "none") // newest first: cccc3333
		if strings.Contains(r.out, "MODIFIED") || strings.Contains(r.out, "─") || sorted && !strings.HasPrefix(r.out, "cccc3333") || !strings.Contains(r.out, "4 sessions") {
			t.Errorf("%v on a terminal:\n%s", args, r.out)
		}
	}
	odd := t.TempDir()
	putSess(t, odd, "tabby", "a|s:3:\"x\ty\";", time.Minute)
	r := runCLI(t, "--save-path", odd, "ls", "--columns", "a")
	if f := strings.Split(strings.TrimSuffix(r.out, "\n"), "\t"); len(f) != 5 || strings.Count(r.out, "\n") != 1 {
		t.Errorf("a tab in a cell: %q", r.out)
	} else if f[4] != `"x\ty"` {
		t.Errorf("cell %q, want the tab escaped", f[4])
	}
}

// TestTablesFitTheTerminal: on a terminal of 72 columns every line of ls,
// show and config fits; a cut error is printed in full below ls's table;
// the same listing into a pipe keeps every cell whole.
func TestTablesFitTheTerminal(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "good0001", `cart|a:1:{s:5:"items";s:80:"`+strings.Repeat("x", 80)+`";}`, time.Minute)
	putSess(t, dir, "bad00001", "a|i:1;\n", time.Minute)
	const width = 72
	fits := func(what, out string) {
		t.Helper()
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if w := tableprinter.Width(l); w > width {
				t.Errorf("%s: line %d wide, more than %d: %q", what, w, width, l)
			}
		}
	}
	for _, args := range [][]string{
		{"ls", "--check", "--columns", "cart"},
		{"ls", "--check", "--columns", "cart", "--sort", "none"},
	} {
		r := runWidth(t, width, append([]string{"--save-path", dir}, args...)...)
		if r.err != nil {
			t.Fatalf("%v: %v", args, r.err)
		}
		lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
		// The rows and the footer fit; the note under them is the whole message.
		fits(strings.Join(args, " "), strings.Join(lines[:len(lines)-1], "\n"))
		note := lines[len(lines)-1]
		if !strings.HasPrefix(note, "bad00001: corrupt: offset 6: ") {
			t.Errorf("%v: the cut error is not printed in full below the table: %q", args, note)
		}
		if !strings.Contains(r.out, "…") {
			t.Errorf("%v: nothing cut with …:\n%s", args, r.out)
		}
	}
	r := runCLI(t, "--save-path", dir, "ls", "--check", "--columns", "cart")
	if !strings.Contains(r.out, strings.Repeat("x", 80)) || !strings.Contains(r.out, "\tcorrupt: offset 6: ") || strings.Contains(r.out, "…") {
		t.Errorf("into a pipe every cell is whole:\n%s", r.out)
	}
	r = runWidth(t, width, "--save-path", dir, "show", "good0001")
	fits("show", r.out)
	if !strings.Contains(r.out, "…") {
		t.Errorf("show: the long string is not cut at the width:\n%s", r.out)
	}
	r = runWidth(t, width, "--save-path", dir, "show", "good0001", "--key", "/cart/items")
	if !strings.Contains(r.out, strings.Repeat("x", 80)) {
		t.Errorf("show --key is never cut:\n%s", r.out)
	}
	r = runWidth(t, 40, "--save-path", dir+"/"+strings.Repeat("long-directory-name/", 4), "config")
	for _, l := range strings.Split(strings.TrimSuffix(r.out, "\n"), "\n") {
		if strings.HasPrefix(l, "session.") && tableprinter.Width(l) > 40 {
			t.Errorf("config row %q wider than 40", l)
		}
	}
}

// TestLsDimsExpiredAges: with colour on, the age of a session past
// gc_maxlifetime is dimmed and a live one's is not.
func TestLsDimsExpiredAges(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "old00001", `a|i:1;`, 2*time.Hour)
	putSess(t, dir, "new00001", `a|i:1;`, time.Minute)
	var out bytes.Buffer
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: io.Discard, OutTTY: true, Color: true},
		Now:    time.Now,
		Getenv: func(string) string { return "" },
	}
	if err := Execute(t.Context(), NewCmdRoot(f), []string{"--etc-root", t.TempDir(), "--save-path", dir, "ls"}); err != nil {
		t.Fatal(err)
	}
	dim := NewStyles(f.IO).Dim.Render("2h ago")
	if !strings.Contains(dim, "\x1b[") {
		t.Fatalf("the dim style renders no escape: %q", dim)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(l, "old00001") && !strings.Contains(l, dim):
			t.Errorf("expired session's age not dimmed: %q", l)
		case strings.HasPrefix(l, "new00001") && strings.Contains(l, "\x1b[38;5;8m1m ago"):
			t.Errorf("live session's age dimmed: %q", l)
		}
	}
}
