package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// watchLines is an io.Writer that hands each complete line to a channel.
type watchLines struct {
	mu    sync.Mutex
	buf   []byte
	all   bytes.Buffer
	lines chan string
}

func newWatchLines() *watchLines { return &watchLines{lines: make(chan string, 100000)} }

func (w *watchLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

func (w *watchLines) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// watchJSON is one line of watch -o json.
type watchJSON struct {
	Time    string `json:"time"`
	Event   string `json:"event"`
	ID      string `json:"id"`
	Path    string `json:"path"`
	Size    *int64 `json:"size"`
	Changes *[]struct {
		Key   string           `json:"key"`
		Op    string           `json:"op"`
		Value *json.RawMessage `json:"value"`
	} `json:"changes"`
}

// changesString renders the changes as "op key=value ..." for comparison.
func (e watchJSON) changesString() string {
	if e.Changes == nil {
		return "<none>"
	}
	var parts []string
	for _, c := range *e.Changes {
		s := c.Op + " " + c.Key
		if c.Value != nil {
			s += "=" + string(*c.Value)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// watchCmd is "sesstool watch" running in-process.
type watchCmd struct {
	t      *testing.T
	out    *watchLines
	errOut *watchLines
	done   chan error
	cancel context.CancelFunc
}

// startWatchCmd runs sesstool with args (watch and its flags) through the
// root command with injected IO and a cancelable context, and waits for the
// start-up snapshot on stderr.
func startWatchCmd(t *testing.T, args ...string) *watchCmd {
	t.Helper()
	w := &watchCmd{t: t, out: newWatchLines(), errOut: newWatchLines(), done: make(chan error, 1)}
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: w.out, ErrOut: w.errOut},
		Getenv: func(string) string { return "" },
	}
	f.Global.EtcRoot = t.TempDir() // no machine php.ini
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	root := NewCmdRoot(f)
	go func() { w.done <- Execute(ctx, root, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-w.done:
		case <-time.After(watchWait):
			t.Errorf("watch did not stop after cancel")
		}
	})
	select {
	case l := <-w.errOut.lines:
		if !strings.HasPrefix(l, "watching ") {
			t.Fatalf("first stderr line %q, want the snapshot", l)
		}
	case err := <-w.done:
		t.Fatalf("watch ended before its snapshot: %v; stderr %q", err, w.errOut.String())
	case <-time.After(watchWait):
		t.Fatalf("no snapshot within %v", watchWait)
	}
	return w
}

// next returns the next JSON line, failing the test if none comes.
func (w *watchCmd) next() watchJSON {
	w.t.Helper()
	select {
	case l := <-w.out.lines:
		var e watchJSON
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			w.t.Fatalf("line %q: %v", l, err)
		}
		if _, err := time.Parse(time.RFC3339, e.Time); err != nil || e.Size == nil || e.Path == "" {
			w.t.Fatalf("line %q: missing or bad time/size/path (%v)", l, err)
		}
		return e
	case err := <-w.done:
		w.done <- err
		w.t.Fatalf("watch ended: %v; stderr %q", err, w.errOut.String())
	case <-time.After(watchWait):
		w.t.Fatalf("no event within %v; stderr %q", watchWait, w.errOut.String())
	}
	return watchJSON{}
}

// expect takes the next line and checks event, id and (unless want is
// "*") the changes.
func (w *watchCmd) expect(event, id, changes string) watchJSON {
	w.t.Helper()
	e := w.next()
	if e.Event != event || e.ID != id {
		w.t.Fatalf("got %s %s (changes %s), want %s %s", e.Event, e.ID, e.changesString(), event, id)
	}
	if changes != "*" && e.changesString() != changes {
		w.t.Fatalf("%s %s: changes\n got %s\nwant %s", event, id, e.changesString(), changes)
	}
	return e
}

// quiet checks that no further line is waiting.
func (w *watchCmd) quiet() {
	w.t.Helper()
	select {
	case l := <-w.out.lines:
		w.t.Fatalf("unexpected extra line %q", l)
	default:
	}
}

// phpSessionScript is a PHP "request" on one session: php script.php
// OP ID [ARGS]. set K=JSON..., unset K..., destroy, burst N (N requests in
// a row, each setting n to its number).
const phpSessionScript = `<?php
[, $op, $id] = $argv;
$args = array_slice($argv, 3);
session_id($id);
if (!session_start()) { fwrite(STDERR, "session_start failed\n"); exit(1); }
switch ($op) {
case 'set':
	foreach ($args as $kv) {
		[$k, $v] = explode('=', $kv, 2);
		$_SESSION[$k] = json_decode($v, true, 512, JSON_THROW_ON_ERROR);
	}
	break;
case 'unset':
	foreach ($args as $k) { unset($_SESSION[$k]); }
	break;
case 'destroy':
	session_destroy();
	exit(0);
case 'burst':
	session_write_close();
	for ($i = 1; $i <= (int)$args[0]; $i++) {
		session_id($id);
		session_start();
		$_SESSION['n'] = $i;
		session_write_close();
	}
	exit(0);
}
session_write_close();
`

// php runs one PHP request against save_path sp.
func watchPHP(t *testing.T, sp string, args ...string) {
	t.Helper()
	full := append(phptest.SessionINI(sp, "php"), "--")
	phptest.Run(t, phpSessionScript, nil, append(full, args...)...)
}

func TestWatchPHPDecodeJSON(t *testing.T) {
	phptest.PHP(t)
	sp := t.TempDir()
	w := startWatchCmd(t, "watch", "--save-path", sp, "--serialize-handler", "php", "-o", "json", "--decode")

	id := "u1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	watchPHP(t, sp, "set", id, "user_id=42", `cart=[1,2]`)
	e := w.expect(evCreated, id, `added user_id=42; added cart=[1,2]`)
	if *e.Size == 0 || e.Path != filepath.Join(sp, "sess_"+id) {
		t.Errorf("created: size %d path %q", *e.Size, e.Path)
	}
	watchPHP(t, sp, "set", id, "user_id=43", `note="hi"`)
	w.expect(evModified, id, `changed user_id=43; added note="hi"`)
	watchPHP(t, sp, "unset", id, "cart")
	w.expect(evModified, id, `removed cart`)
	// lazy_write: a request that changes nothing only touches the file.
	watchPHP(t, sp, "set", id)
	watchPHP(t, sp, "destroy", id)
	w.expect(evDeleted, id, `removed user_id; removed note`)

	// A request that starts a session and stores nothing: an empty file.
	id2 := "u2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	watchPHP(t, sp, "set", id2)
	w.expect(evCreated, id2, ``)
	w.quiet()
}

func TestWatchPHPWhere(t *testing.T) {
	phptest.PHP(t)
	sp := t.TempDir()
	a, b := "wa000000000000000000000000000000", "wb000000000000000000000000000000"
	// b matches before watch starts; watch has not seen it change.
	watchPHP(t, sp, "set", b, "user_id=42")
	w := startWatchCmd(t, "watch", "--save-path", sp, "-o", "json", "--decode", "--where", "user_id=42")

	watchPHP(t, sp, "set", a, "user_id=7") // does not match: not reported
	// A matching sentinel: once it shows, a's creation has been handled.
	sentinel := "ws000000000000000000000000000000"
	watchPHP(t, sp, "set", sentinel, "user_id=42")
	w.expect(evCreated, sentinel, "added user_id=42")
	watchPHP(t, sp, "set", a, `user_id="42"`) // the string "42" matches int 42
	w.expect(evModified, a, "<none>")         // no earlier state seen
	watchPHP(t, sp, "set", a, "page=2")
	w.expect(evModified, a, "added page=2")
	watchPHP(t, sp, "set", b, "page=1") // first change seen of b: no baseline
	w.expect(evModified, b, "<none>")
	watchPHP(t, sp, "set", a, "user_id=9") // a stops matching: said once
	w.expect(evModified, a, "changed user_id=9")
	watchPHP(t, sp, "set", a, "page=3") // and is not followed any more
	watchPHP(t, sp, "destroy", b)
	w.expect(evDeleted, b, "removed user_id; removed page")
	w.quiet()
	if !strings.Contains(w.out.String(), `"matches":false`) {
		t.Errorf("the event of a leaving --where has no \"matches\":false:\n%s", w.out.String())
	}
}

func TestWatchPHPTwoLevelsCreatedLater(t *testing.T) {
	phptest.PHP(t)
	base := t.TempDir()
	dir := filepath.Join(base, "sp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	sp := "2;" + dir
	w := startWatchCmd(t, "watch", "--save-path", sp, "-o", "json", "--decode")

	// A level directory that arrives with a deeper level and a session
	// already inside (written by PHP elsewhere, then moved in whole).
	stage := filepath.Join(base, "stage")
	id1 := "ab111111111111111111111111111111"
	if err := os.MkdirAll(filepath.Join(stage, "a", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	watchPHP(t, "2;"+stage, "set", id1, "x=1")
	if err := os.Rename(filepath.Join(stage, "a"), filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	w.expect(evCreated, id1, "added x=1")

	// mkdir -p, then a PHP request in the new level right away.
	id2 := "cd222222222222222222222222222222"
	if err := os.MkdirAll(filepath.Join(dir, "c", "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	watchPHP(t, sp, "set", id2, "y=2")
	w.expect(evCreated, id2, "added y=2")

	// Both new trees are watched.
	watchPHP(t, sp, "set", id1, "x=10")
	w.expect(evModified, id1, "changed x=10")
	watchPHP(t, sp, "destroy", id2)
	w.expect(evDeleted, id2, "removed y")
	w.quiet()
}

func TestWatchPHPBurst(t *testing.T) {
	phptest.PHP(t)
	sp := t.TempDir()
	w := startWatchCmd(t, "watch", "--save-path", sp, "-o", "json", "--decode")
	id := "bu000000000000000000000000000000"
	watchPHP(t, sp, "set", id, "n=0")
	w.expect(evCreated, id, "added n=0")

	const writes = 1000
	watchPHP(t, sp, "burst", id, fmt.Sprint(writes))
	// Events until the final state shows; each one is a real change of n.
	events := 0
	for {
		e := w.expect(evModified, id, "*")
		events++
		if e.Changes == nil || len(*e.Changes) != 1 || (*e.Changes)[0].Key != "n" || (*e.Changes)[0].Op != opChanged {
			t.Fatalf("burst event %d: changes %s, want one change of n", events, e.changesString())
		}
		if string(*(*e.Changes)[0].Value) == fmt.Sprint(writes) {
			break
		}
	}
	t.Logf("%d writes reported as %d events", writes, events)
	if events > writes/10 {
		t.Errorf("%d writes reported as %d events, want far fewer", writes, events)
	}
	w.quiet()
}

func TestWatchPHPSavePathRemoved(t *testing.T) {
	phptest.PHP(t)
	dir := filepath.Join(t.TempDir(), "sp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	w := startWatchCmd(t, "watch", "--save-path", dir)
	id := "rm000000000000000000000000000000"
	watchPHP(t, dir, "set", id, "k=1")
	if l := <-w.out.lines; !strings.Contains(l, "created") || !strings.Contains(l, id) {
		t.Fatalf("human line %q, want created %s", l, id)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		w.done <- err
		if ExitCode(err) != ExitFailure {
			t.Errorf("exit code %d (%v), want 1", ExitCode(err), err)
		}
		if line := ErrorLine(err); !strings.Contains(line, "save_path disappeared") || !strings.Contains(line, dir) {
			t.Errorf("error line %q, want it to say the save_path %s disappeared", line, dir)
		}
	case <-time.After(watchWait):
		t.Fatalf("watch still running %v after its save_path was removed", watchWait)
	}
}

func TestWatchCancelExitsZero(t *testing.T) {
	sp := t.TempDir()
	w := startWatchCmd(t, "watch", "--save-path", sp)
	w.cancel()
	select {
	case err := <-w.done:
		w.done <- err
		if ExitCode(err) != ExitOK {
			t.Errorf("after cancel: %v (exit %d), want exit 0", err, ExitCode(err))
		}
	case <-time.After(watchWait):
		t.Fatalf("watch did not stop within %v of cancel", watchWait)
	}
}
