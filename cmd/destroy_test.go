package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func destroyFixture(t *testing.T) string {
	dir := t.TempDir()
	putSess(t, dir, "u42a", `user_id|i:42;`, time.Minute)
	putSess(t, dir, "u42b", `_sf2_attributes|a:1:{s:7:"user_id";s:2:"42";}user_id|s:2:"42";`, time.Minute)
	putSess(t, dir, "u7", `user_id|i:7;`, time.Minute)
	putSess(t, dir, "broken", "user_id|i:42;\n", time.Minute)
	return dir
}

func sessExists(t *testing.T, dir, id string) bool {
	_, err := os.Stat(dir + "/sess_" + id)
	return err == nil
}

func TestDestroyByID(t *testing.T) {
	dir := destroyFixture(t)
	r := runCLI(t, "--save-path", dir, "destroy", "u42a", "u7")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sessExists(t, dir, "u42a") || sessExists(t, dir, "u7") || !sessExists(t, dir, "u42b") {
		t.Errorf("wrong files destroyed")
	}
	if !strings.Contains(r.out, "destroyed u42a") || !strings.Contains(r.out, "2 sessions destroyed") {
		t.Errorf("output:\n%s", r.out)
	}
	// missing id: exit 1, the others still destroyed
	r = runCLI(t, "--save-path", dir, "destroy", "nope", "u42b")
	wantErrLine(t, r, 1, `session "nope" not found`)
	if sessExists(t, dir, "u42b") {
		t.Error("u42b survived")
	}
	// an invalid id among valid ones: nothing touched at all
	r = runCLI(t, "--save-path", dir, "destroy", "broken", "../x")
	wantErrLine(t, r, 2, "invalid session id")
	if !sessExists(t, dir, "broken") {
		t.Error("destroyed despite a usage error")
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "destroy"), 2, "needs session ids or --where")
}

func TestDestroyWhere(t *testing.T) {
	dir := destroyFixture(t)
	r := runCLI(t, "--save-path", dir, "destroy", "--where", "user_id=42", "--dry-run")
	if r.err != nil {
		t.Fatal(r.err)
	}
	ids := strings.Fields(r.out)
	if strings.Join(sortedCopy(ids), " ") != "u42a u42b" {
		t.Errorf("dry-run ids %q", r.out)
	}
	if !strings.Contains(r.errOut, `"broken"`) {
		t.Errorf("the corrupt session is not reported: stderr %q", r.errOut)
	}
	for _, id := range []string{"u42a", "u42b", "u7", "broken"} {
		if !sessExists(t, dir, id) {
			t.Errorf("dry-run destroyed %s", id)
		}
	}
	r = runCLI(t, "--save-path", dir, "destroy", "--where", "/_sf2_attributes/user_id=42", "--dry-run", "-o", "json")
	var got []string
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || len(got) != 1 || got[0] != "u42b" {
		t.Errorf("-o json dry-run: %q %v", r.out, err)
	}
	// stdin is not a terminal: no prompt, destroys
	r = runCLIEnv(t, "n\n", nil, "--save-path", dir, "destroy", "--where", "user_id=42")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sessExists(t, dir, "u42a") || sessExists(t, dir, "u42b") || !sessExists(t, dir, "u7") || !sessExists(t, dir, "broken") {
		t.Errorf("wrong files destroyed by --where")
	}
}

func TestDestroyPromptsOnTerminal(t *testing.T) {
	for _, tt := range []struct {
		answer string
		gone   bool
	}{{"n\n", false}, {"\n", false}, {"y\n", true}} {
		dir := destroyFixture(t)
		var out, errb strings.Builder
		opts := &DestroyOptions{
			IO:    &IOStreams{In: strings.NewReader(tt.answer), Out: &out, ErrOut: &errb, InTTY: true},
			Open:  openDir(t, dir),
			Where: []string{"user_id=7"},
		}
		opts.Output = FormatHuman
		err := destroyRun(t.Context(), opts)
		if !strings.Contains(errb.String(), "Destroy 1 session matching user_id=7? [y/N]") {
			t.Errorf("no prompt: %q", errb.String())
		}
		if sessExists(t, dir, "u7") == tt.gone {
			t.Errorf("answer %q: gone=%v, err %v", tt.answer, !tt.gone, err)
		}
		if !tt.gone && ExitCode(err) != 1 {
			t.Errorf("declined: exit %d", ExitCode(err))
		}
	}
}

func TestDestroyLocked(t *testing.T) {
	dir := destroyFixture(t)
	f, err := os.Open(dir + "/sess_u7")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unix.Flock(int(f.Fd()), unix.LOCK_EX)
	r := runCLI(t, "--save-path", dir, "--lock-timeout", "100ms", "destroy", "u7", "u42a")
	wantErrLine(t, r, 3, `"u7"`)
	if !sessExists(t, dir, "u7") || sessExists(t, dir, "u42a") {
		t.Error("locked session destroyed, or the other one kept")
	}
	// --where: the locked one cannot be examined; it is reported, exit 3
	r = runCLI(t, "--save-path", dir, "--lock-timeout", "0", "destroy", "--where", "user_id=7", "--yes")
	wantErrLine(t, r, 3, `"u7"`)
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// openDir returns an Open func for a save_path directory, as the Factory
// would build it from --save-path.
func openDir(t *testing.T, dir string) func() (Backend, *Settings, error) {
	return func() (Backend, *Settings, error) {
		f := &Factory{IO: &IOStreams{}, Getenv: func(string) string { return "" }}
		f.Global.SavePath, f.Global.SavePathSet = dir, true
		f.Global.EtcRoot = t.TempDir()
		f.Global.LockTimeout = time.Second
		return f.OpenBackend()
	}
}

// changeThenAnswer is a terminal answer whose reading also rewrites a
// session: the session changes between the --where search and the delete.
type changeThenAnswer struct {
	t      *testing.T
	path   string
	data   string
	answer *strings.Reader
}

func (c *changeThenAnswer) Read(p []byte) (int, error) {
	if c.path != "" {
		if err := os.WriteFile(c.path, []byte(c.data), 0o600); err != nil {
			c.t.Fatal(err)
		}
		c.path = ""
	}
	return c.answer.Read(p)
}

// A session that matched --where but changed before the delete (a request
// wrote it meanwhile) is left alone: the match is checked again under the
// LOCK_EX the unlink happens under.
func TestDestroyWhereRechecksUnderLock(t *testing.T) {
	dir := destroyFixture(t)
	var out, errb strings.Builder
	in := &changeThenAnswer{t: t, path: dir + "/sess_u7", data: `user_id|i:8;`, answer: strings.NewReader("y\n")}
	opts := &DestroyOptions{
		IO:    &IOStreams{In: in, Out: &out, ErrOut: &errb, InTTY: true},
		Open:  openDir(t, dir),
		Where: []string{"user_id=7"},
	}
	opts.Output = FormatHuman
	if err := destroyRun(t.Context(), opts); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if !sessExists(t, dir, "u7") {
		t.Fatal("a session that no longer matched was destroyed")
	}
	if !strings.Contains(errb.String(), "changed since the search and no longer matched") {
		t.Errorf("no warning about the changed session: %q", errb.String())
	}
	if !strings.Contains(out.String(), "0 sessions destroyed") {
		t.Errorf("output: %q", out.String())
	}
}

// TestDestroyJSONL: --dry-run and a real run print one {"id"} per line with
// -o jsonl; --grep selects by content too.
func TestDestroyJSONL(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "g1", `mail|s:17:"alice@example.com";`, time.Minute)
	putSess(t, dir, "g2", `mail|s:15:"bob@example.com";`, time.Minute)
	r := runCLI(t, "--save-path", dir, "destroy", "--grep", `^alice@`, "--dry-run", "-o", "jsonl")
	if r.err != nil || r.out != "{\"id\":\"g1\"}\n" {
		t.Fatalf("destroy --grep --dry-run -o jsonl: %q %v", r.out, r.err)
	}
	r = runCLI(t, "--save-path", dir, "destroy", "--grep", `example\.com$`, "-o", "jsonl")
	if r.err != nil || r.out != "{\"id\":\"g1\"}\n{\"id\":\"g2\"}\n" {
		t.Fatalf("destroy --grep -o jsonl: %q %v", r.out, r.err)
	}
}

// Ctrl-C at the confirmation prompt aborts at once (the context's error,
// exit 130 in main) and nothing is destroyed, even though stdin never
// answers.
func TestDestroyPromptInterrupted(t *testing.T) {
	dir := t.TempDir()
	p := putSess(t, dir, "victim1", "user_id|i:42;", time.Minute)
	before := stateOf(t, p)
	pr, pw := io.Pipe()
	defer pw.Close()
	var out, errb syncBuffer
	f := &Factory{
		IO:     &IOStreams{In: pr, Out: &out, ErrOut: &errb, InTTY: true},
		Now:    time.Now,
		Getenv: func(string) string { return "" },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Execute(ctx, NewCmdRoot(f), []string{"--etc-root", t.TempDir(), "--save-path", dir, "destroy", "--where", "user_id=42"})
	}()
	for !strings.Contains(errb.String(), "[y/N]") {
		select {
		case err := <-done:
			t.Fatalf("ended before the prompt: %v (stderr %q)", err, errb.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the prompt did not end on cancel")
	}
	before.untouched(t, p)
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
