package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/sessfile"
)

// gcNow is the fixed clock of the gc tests: ages are exact, never measured.
var gcNow = time.Unix(1_900_000_000, 0)

// gcRunCmd runs sesstool with args (an empty /etc/php root unless the
// args give one) at gcNow. hook, when set, becomes the test seam between
// the walk and Expire.
func gcRunCmd(t *testing.T, hook func(sessfile.Info), args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb},
		Now:    func() time.Time { return gcNow },
		Getenv: func(string) string { return "" },
	}
	root := NewCmdRoot(f)
	if c, _, err := root.Find([]string{"gc"}); err == nil && c != root {
		root.RemoveCommand(c)
	}
	root.AddCommand(NewCmdGC(f, func(o *GCOptions) error {
		o.beforeExpire = hook
		return gcRun(context.Background(), o)
	}))
	if !slices.Contains(args, "--etc-root") {
		args = append(args, "--etc-root", t.TempDir())
	}
	err := Execute(context.Background(), root, args)
	if line := ErrorLine(err); line != "" {
		errb.WriteString("sesstool: " + line + "\n")
	}
	return out.String(), errb.String(), ExitCode(err)
}

// sessFile writes a session file of size bytes whose mtime is age before gcNow.
func sessFile(t *testing.T, path string, size int, age time.Duration) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), size), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := gcNow.Add(-age)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func decodeGCJSON(t *testing.T, s string) gcJSON {
	t.Helper()
	var doc gcJSON
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("gc -o json printed %q: %v", s, err)
	}
	return doc
}

// levelPath is where PHP keeps id in a save_path of depth levels.
func levelPath(dir string, depth int, id string) string {
	p := dir
	for i := range depth {
		p = filepath.Join(p, id[i:i+1])
	}
	return filepath.Join(p, "sess_"+id)
}

func TestGCDeletesExactlyTheExpired(t *testing.T) {
	for _, depth := range []int{0, 2} {
		t.Run(map[int]string{0: "flat", 2: "2;"}[depth], func(t *testing.T) {
			dir := t.TempDir()
			sp := dir
			if depth > 0 {
				sp = "2;" + dir
			}
			type file struct {
				id   string
				size int
				age  time.Duration
				gone bool
			}
			files := []file{
				{"ab00fresh", 10, 0, false},
				{"ab01edge", 11, 1440 * time.Second, false},                          // exactly maxlifetime: kept (strict >)
				{"ab02edgefrac", 12, 1440*time.Second + 900*time.Millisecond, true},  // mtime's second is 1441 s before now, as PHP counts
				{"ab02edgehalf", 12, 1439*time.Second + 500*time.Millisecond, false}, // mtime's second is 1440 s before now
				{"cd03over", 13, 1441 * time.Second, true},
				{"cd04old", 14, 30 * 24 * time.Hour, true},
				{"ef05future", 15, -time.Hour, false},
				{"ef06empty", 0, 2 * time.Hour, true},
			}
			var wantBytes int64
			for _, f := range files {
				sessFile(t, levelPath(dir, depth, f.id), f.size, f.age)
				if f.gone {
					wantBytes += int64(f.size)
				}
			}
			// Not sessions, or not regular files: never touched.
			old := gcNow.Add(-48 * time.Hour)
			leaf := filepath.Dir(levelPath(dir, depth, "ab"+"x"))
			target := filepath.Join(dir, "target")
			sessFile(t, target, 3, 48*time.Hour)
			mustDo(t, os.Symlink(target, filepath.Join(leaf, "sess_abx")))
			mustDo(t, os.Mkdir(filepath.Join(leaf, "sess_aby"), 0o755))
			mustDo(t, os.Chtimes(filepath.Join(leaf, "sess_aby"), old, old))
			sessFile(t, filepath.Join(leaf, "notasession"), 5, 48*time.Hour)

			// A dry run first: the same report, nothing deleted.
			out, errOut, code := gcRunCmd(t, nil, "gc", "--save-path", sp, "--dry-run", "-o", "json")
			if code != 0 || errOut != "" {
				t.Fatalf("dry run: exit %d, stderr %q", code, errOut)
			}
			dry := decodeGCJSON(t, out)
			for _, f := range files {
				if !exists(levelPath(dir, depth, f.id)) {
					t.Fatalf("dry run deleted %s", f.id)
				}
			}
			out, errOut, code = gcRunCmd(t, nil, "gc", "--save-path", sp, "-o", "json")
			if code != 0 || errOut != "" {
				t.Fatalf("gc: exit %d, stderr %q", code, errOut)
			}
			got := decodeGCJSON(t, out)
			want := gcJSON{Scanned: int64(len(files)), Deleted: 4, BytesFreed: wantBytes}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("gc reported %+v, want %+v", got, want)
			}
			want.DryRun = true
			if !reflect.DeepEqual(dry, want) {
				t.Errorf("dry run reported %+v, want %+v", dry, want)
			}
			for _, f := range files {
				if exists(levelPath(dir, depth, f.id)) == f.gone {
					t.Errorf("%s (age %v): exists=%v, want deleted=%v", f.id, f.age, !f.gone, f.gone)
				}
			}
			for _, p := range []string{"sess_abx", "sess_aby", "notasession"} {
				if !exists(filepath.Join(leaf, p)) {
					t.Errorf("%s was touched", p)
				}
			}
			if !exists(target) {
				t.Error("symlink target deleted")
			}
		})
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestGCMaxlifetimeFlagAndHumanOutput(t *testing.T) {
	dir := t.TempDir()
	sessFile(t, filepath.Join(dir, "sess_a1"), 100, 90*time.Minute)
	sessFile(t, filepath.Join(dir, "sess_a2"), 100, 30*time.Minute)
	out, errOut, code := gcRunCmd(t, nil, "gc", "--save-path", dir, "--maxlifetime", "1h", "--dry-run")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, w := range []string{"maxlifetime 1h", "--maxlifetime", "scanned 2", "would delete 1", "dry run"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	// -q: nothing at all on success; -q -o json still prints the document.
	out, errOut, code = gcRunCmd(t, nil, "gc", "--save-path", dir, "--maxlifetime", "1h", "-q")
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("-q: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if exists(filepath.Join(dir, "sess_a1")) || !exists(filepath.Join(dir, "sess_a2")) {
		t.Error("-q run deleted the wrong files")
	}
	out, _, code = gcRunCmd(t, nil, "gc", "--save-path", dir, "-q", "-o", "json")
	if code != 0 || decodeGCJSON(t, out).Scanned != 1 {
		t.Errorf("-q -o json: exit %d, %q", code, out)
	}
	// Usage errors.
	for _, args := range [][]string{
		{"gc", "--save-path", dir, "--maxlifetime", "soon"},
		{"gc", "--all", "--maxlifetime", "1h"},
		{"gc", "--all", "--save-path", dir},
		{"gc", "--save-path", dir, "-o", "raw"},
		{"gc", "extra"},
	} {
		if _, errOut, code := gcRunCmd(t, nil, args...); code != ExitUsage || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// A file refreshed between the scan and the delete survives: the mtime is
// checked again under the lock.
func TestGCTouchedBetweenScanAndDelete(t *testing.T) {
	dir := t.TempDir()
	sessFile(t, filepath.Join(dir, "sess_touched"), 7, 2*time.Hour)
	sessFile(t, filepath.Join(dir, "sess_stale"), 9, 2*time.Hour)
	hooked := 0
	hook := func(in sessfile.Info) {
		if in.ID == "touched" {
			hooked++
			mustDo(t, os.Chtimes(in.Path, gcNow, gcNow)) // a request saved it just now
		}
	}
	out, errOut, code := gcRunCmd(t, hook, "gc", "--save-path", dir, "-o", "json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if hooked != 1 {
		t.Fatalf("hook ran %d times", hooked)
	}
	if got := decodeGCJSON(t, out); got.Deleted != 1 || got.BytesFreed != 9 {
		t.Errorf("reported %+v", got)
	}
	if !exists(filepath.Join(dir, "sess_touched")) || exists(filepath.Join(dir, "sess_stale")) {
		t.Error("wrong file deleted")
	}
}

// The progress line lives on stderr only: it is redrawn in place and
// cleared before an error line, so an error never shares its line.
func TestGCReporterProgressLine(t *testing.T) {
	var b bytes.Buffer
	r := &gcReporter{w: &b, progress: true, start: time.Now()}
	r.scanned.Store(1200)
	r.deleted.Store(300)
	r.tick(false)
	if got := b.String(); !strings.HasPrefix(got, "\r\x1b[Kscanned 1200, deleted 300 (") || strings.Contains(got, "\n") {
		t.Errorf("progress %q", got)
	}
	b.Reset()
	r.error(os.ErrPermission)
	if got := b.String(); got != "\r\x1b[Ksesstool: permission denied\n" {
		t.Errorf("error line %q", got)
	}
	b.Reset()
	r.tick(true)
	if !strings.Contains(b.String(), "would delete 300") {
		t.Errorf("dry-run progress %q", b.String())
	}
	// No terminal, or -o json, or -q: no progress line at all.
	for _, o := range []*GCOptions{
		{IO: &IOStreams{ErrTTY: false, ErrOut: &b}},
		{IO: &IOStreams{ErrTTY: true, ErrOut: &b}, Output: FormatJSON},
		{IO: &IOStreams{ErrTTY: true, ErrOut: &b}, Quiet: true},
	} {
		if newGCReporter(o).progress {
			t.Errorf("progress on for %+v", o)
		}
	}
	if !newGCReporter(&GCOptions{IO: &IOStreams{ErrTTY: true, ErrOut: &b}}).progress {
		t.Error("progress off on a terminal")
	}
}

// TestGCListAndLsExpired: gc --list names what it deletes (-o json "ids",
// -o jsonl a line each), and ls --expired lists exactly what gc would
// consider (the same test, whole seconds).
func TestGCListAndLsExpired(t *testing.T) {
	dir := t.TempDir()
	for id, age := range map[string]time.Duration{"fresh1": 100 * time.Second, "fresh2": 1000 * time.Second, "old1": 2000 * time.Second, "old2": 5000 * time.Second} {
		putSess(t, dir, id, `a|i:1;`, age)
	}
	ls := runCLI(t, "--save-path", dir, "ls", "--expired", "-q", "--sort", "id")
	if ls.err != nil || ls.out != "old1\nold2\n" {
		t.Fatalf("ls --expired: %q %v", ls.out, ls.err)
	}
	r := runCLI(t, "--save-path", dir, "gc", "--maxlifetime", "1440", "--dry-run", "--list", "-o", "json")
	var doc struct {
		IDs    []string `json:"ids"`
		DryRun bool     `json:"dry_run"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || !doc.DryRun || strings.Join(doc.IDs, ",") != "old1,old2" {
		t.Fatalf("gc --dry-run --list -o json: %q %v", r.out, err)
	}
	if r := runCLI(t, "--save-path", dir, "gc", "--maxlifetime", "1440", "--dry-run", "-o", "json"); strings.Contains(r.out, `"ids"`) {
		t.Errorf("ids without --list: %q", r.out)
	}
	r = runCLI(t, "--save-path", dir, "gc", "--maxlifetime", "1440", "--dry-run", "--list")
	if !strings.Contains(r.out, "would delete old1\n") || !strings.Contains(r.out, "would delete old2\n") || strings.Contains(r.out, "fresh") {
		t.Errorf("gc --dry-run --list: %q", r.out)
	}
	r = runCLI(t, "--save-path", dir, "gc", "--maxlifetime", "1440", "--list", "-o", "jsonl")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.err != nil || len(lines) != 2 {
		t.Fatalf("gc --list -o jsonl: %q %v", r.out, r.err)
	}
	for _, l := range lines {
		var row struct {
			ID    string `json:"id"`
			Bytes int64  `json:"bytes"`
		}
		if err := json.Unmarshal([]byte(l), &row); err != nil || !strings.HasPrefix(row.ID, "old") || row.Bytes != 6 {
			t.Errorf("jsonl line %q: %v", l, err)
		}
	}
	if ls := runCLI(t, "--save-path", dir, "ls", "-q", "--sort", "id"); ls.out != "fresh1\nfresh2\n" {
		t.Errorf("after gc: %q", ls.out)
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "gc", "-o", "jsonl"), 2, "--list")
}
