package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

const (
	soakEnv     = "SESSTOOL_SOAK"
	durationEnv = "SESSTOOL_SOAK_DURATION"
	nClients    = 8
	nSleepy     = 2               // clients that sometimes idle past maxLife
	maxLife     = 3 * time.Second // gc --maxlifetime during the soak
	idleSleep   = maxLife + 1500*time.Millisecond
)

// editorScript is the scripted EDITOR: it replaces the value of the
// tool_mark line of the text form with $SOAK_EDIT_VALUE (whatever the
// line's punctuation) and reports whether the document changed.
const editorScript = `#!/bin/sh
f="$1"
cp "$f" "$f.orig"
sed -E -i 's/^([[:space:]]*"?tool_mark"?[^0-9-]*)-?[0-9]+/\1'"$SOAK_EDIT_VALUE"'/' "$f"
if cmp -s "$f" "$f.orig"; then echo same > "$SOAK_EDIT_REPORT"; else echo changed > "$SOAK_EDIT_REPORT"; fi
rm -f "$f.orig"
`

// decodeCheckScript decodes every file named on stdin with PHP's own
// session decoder and prints one JSON object: path -> false for the files
// PHP would refuse (and destroy), plus the count checked.
const decodeCheckScript = `<?php
session_id('soakdecodecheck'); session_start();
$bad = []; $n = 0;
while (($f = fgets(STDIN)) !== false) {
    $f = rtrim($f, "\n");
    $b = @file_get_contents($f);
    if ($b === false) { continue; }
    $n++;
    $_SESSION = [];
    if (!@session_decode($b)) { $bad[] = $f; }
}
session_abort();
echo json_encode(['checked' => $n, 'bad' => $bad]);
`

// watchEvent is one line of watch -o json.
type watchEvent struct {
	Time  time.Time `json:"time"`
	Event string    `json:"event"`
	ID    string    `json:"id"`
	Path  string    `json:"path"`
	Size  int64     `json:"size"`
}

func TestSoak(t *testing.T) {
	if os.Getenv(soakEnv) != "1" {
		t.Skipf("soak test skipped: set %s=1 to run it (about 90 s of load on php -S)", soakEnv)
	}
	load := 75 * time.Second
	if v := os.Getenv(durationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", durationEnv, v, err)
		}
		load = d
	}
	phptest.PHP(t)
	bin := buildTool(t)

	dir := t.TempDir()
	save := filepath.Join(dir, "sessions")
	// sid_bits_per_character=5: ids use 0-9a-v; a 1-level layout needs one
	// directory per character (PHP creates none).
	for _, ch := range "0123456789abcdefghijklmnopqrstuv" {
		if err := os.MkdirAll(filepath.Join(save, string(ch)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	savePath := "1;" + save
	docroot, editor := appAndEditor(t, dir)
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		t.Fatal(err)
	}

	ini := map[string]string{
		"session.save_handler":           "files",
		"session.save_path":              savePath,
		"session.serialize_handler":      "php",
		"session.use_strict_mode":        "0",
		"session.use_cookies":            "1",
		"session.use_only_cookies":       "1",
		"session.gc_probability":         "0",
		"session.lazy_write":             "1",
		"session.sid_length":             "26",
		"session.sid_bits_per_character": "5",
		"session.cache_limiter":          "",
		"serialize_precision":            "-1",
	}
	baseURL := startServer(t, docroot, ini, "4")

	// watch -o json runs throughout.
	watch := exec.Command(bin, "--save-path", savePath, "watch", "-o", "json")
	watch.Env = append(os.Environ(), "NO_COLOR=1")
	watchOut, err := watch.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	watchErr := &lockedBuilder{}
	watch.Stderr = watchErr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	var events []watchEvent
	var badWatchLines []string
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		sc := bufio.NewScanner(watchOut)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e watchEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				badWatchLines = append(badWatchLines, sc.Text())
				continue
			}
			events = append(events, e)
		}
	}()
	watchExited := make(chan error, 1)
	go func() { <-watchDone; watchExited <- watch.Wait() }()
	t.Cleanup(func() {
		_ = watch.Process.Kill()
	})
	time.Sleep(time.Second) // let watch take its snapshot before the load

	clients := make([]*client, nClients)
	for i := range clients {
		clients[i] = &client{idx: i, sleepy: i >= nClients-nSleepy}
	}
	opr := &operator{bin: bin, savePath: savePath, editor: editor, work: work, clients: clients, maxLife: maxLife}

	t.Logf("soak: %d clients (%d idle past maxlifetime at times) on %s for %v; save_path %q", nClients, nSleepy, baseURL, load, savePath)
	loadStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), load)
	defer cancel()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx, baseURL, idleSleep, rand.New(rand.NewPCG(uint64(i), 1)))
		}()
	}
	waiter := newPHPWaiter(phptest.PHP(t), ini, clients)
	waiterScriptPath := phptest.WriteScript(t, waiterScript)
	var opWG sync.WaitGroup
	opWG.Add(3)
	go func() { defer opWG.Done(); waiter.run(ctx, waiterScriptPath, rand.New(rand.NewPCG(300, 4))) }()
	go func() {
		defer opWG.Done()
		time.Sleep(500 * time.Millisecond)
		opr.runWriter(ctx, rand.New(rand.NewPCG(100, 2)))
	}()
	go func() { defer opWG.Done(); opr.runSweeper(ctx, rand.New(rand.NewPCG(200, 3))) }()
	opWG.Wait()
	wg.Wait()
	loadTime := time.Since(loadStart)

	// Let watch see the last changes, then stop it as a person would.
	time.Sleep(time.Second)
	_ = watch.Process.Signal(syscall.SIGINT)
	select {
	case err := <-watchExited:
		if err != nil {
			t.Errorf("watch -o json after SIGINT: %v (want exit 0); stderr: %s", err, quoteShort(watchErr.String()))
		}
	case <-time.After(10 * time.Second):
		t.Errorf("watch did not exit within 10 s of SIGINT")
		_ = watch.Process.Kill()
		<-watchExited
	}

	// Every sesstool run kept to the contract (exit codes, one-line errors,
	// no panic, no hang).
	var tl tally
	var toolTries, toolTimeouts int
	byKind := map[string]map[int]int{}
	var contract []string
	var lastGC time.Time
	var gcDeleted, gcSkipped int64
	for i := range opr.ops {
		o := &opr.ops[i]
		if byKind[o.kind] == nil {
			byKind[o.kind] = map[int]int{}
		}
		byKind[o.kind][o.res.exit]++
		if p := o.res.problem(); p != "" {
			contract = append(contract, p+": "+o.res.String())
		}
		switch o.kind {
		case "set", "unset", "destroy", "edit":
			// 0, or 1 when the session is gone (regenerated, destroyed)
			// or, for edit, changed while the editor ran; 3 when the lock
			// was not had within --lock-timeout (counted below).
			if o.res.exit != 0 && o.res.exit != 1 && o.res.exit != 3 {
				contract = append(contract, "unexpected exit: "+o.res.String())
			}
			toolTries++
			if o.res.exit == 3 {
				toolTimeouts++
			}
		case "gc":
			lastGC = o.res.end
			gcDeleted += o.gc.Deleted
			gcSkipped += o.gc.SkippedInUse
			if o.res.exit != 0 {
				t.Logf("gc exited %d under load: %s", o.res.exit, quoteShort(o.res.stderr))
			}
		}
	}
	samples := map[string]bool{}
	for _, o := range opr.ops {
		if o.res.exit != 0 && !samples[o.kind] {
			samples[o.kind] = true
			t.Logf("sample %s failure: %s", o.kind, o.res.String())
		}
	}
	for _, p := range contract {
		t.Errorf("sesstool broke the contract: %s", p)
	}
	// Lock waits: sesstool's writes time out no more often than a PHP
	// request asking for the same sessions in the same run.
	t.Logf("lock timeouts (%v): sesstool %d of %d writes, PHP waiter %d of %d session_starts",
		soakLockTimeout, toolTimeouts, toolTries, waiter.timeouts, waiter.tries)
	if waiter.first != "" {
		t.Logf("first PHP waiter timeout: %s", waiter.first)
	}
	if toolTries > 0 && waiter.tries > 0 {
		toolRate := float64(toolTimeouts) / float64(toolTries)
		phpRate := float64(waiter.timeouts) / float64(waiter.tries)
		if toolTimeouts > 2 && toolRate > 2*phpRate+0.02 {
			t.Errorf("sesstool's writes timed out waiting for a lock %d of %d times (%.1f%%), a PHP waiter %d of %d (%.1f%%)",
				toolTimeouts, toolTries, 100*toolRate, waiter.timeouts, waiter.tries, 100*phpRate)
		}
	}

	// Counters and tool_mark values, client by client.
	for _, c := range clients {
		var ops []op
		for _, o := range opr.ops {
			if (o.client == c.idx && o.kind != "ls-where") || o.kind == "gc" {
				ops = append(ops, o)
			}
		}
		checkClient(c, ops, maxLife, &tl)
	}

	// Final state of each client's session, read by sesstool show.
	corrupt := 0
	for _, c := range clients {
		var last *request
		for i := range c.reqs {
			if c.reqs[i].ok() {
				last = &c.reqs[i]
			}
		}
		if last == nil {
			t.Errorf("client %d never had a successful request", c.idx)
			continue
		}
		id := last.reply.ID
		res := runTool(bin, nil, "--save-path", savePath, "show", id, "-o", "json")
		destroyedAfter, lastOp := false, (*op)(nil)
		for i := range opr.ops {
			o := &opr.ops[i]
			if o.client != c.idx || !o.success() {
				continue
			}
			switch o.kind {
			case "destroy":
				if o.id == id && o.res.end.After(last.send) {
					destroyedAfter = true
				}
				lastOp = o
			case "set", "unset":
				lastOp = o
			case "edit":
				if o.edited {
					lastOp = o
				}
			}
		}
		if res.exit != 0 {
			idle := lastGC.Sub(last.send)
			if destroyedAfter || (c.sleepy && idle > maxLife) || (idle > maxLife && res.exit == 1) {
				continue
			}
			tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf("client %d: final session %s (counter %d) is gone or unreadable: %s",
				c.idx, id, last.reply.Counter, res.String()))
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(res.stdout), &m); err != nil {
			corrupt++
			t.Errorf("client %d: show %s -o json is not a JSON object: %v: %s", c.idx, id, err, quoteShort(res.stdout))
			continue
		}
		var counter int64
		_ = json.Unmarshal(m["counter"], &counter)
		if counter != last.reply.Counter {
			tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf("client %d: final session %s has counter %s, the last request saw %d",
				c.idx, id, m["counter"], last.reply.Counter))
		}
		var list []int64
		if err := json.Unmarshal(m["list"], &list); err != nil || len(list) == 0 || list[len(list)-1] != counter {
			corrupt++
			t.Errorf("client %d: final session %s list %s does not end with the counter %d", c.idx, id, m["list"], counter)
		}
		if lastOp != nil && lastOp.res.start.After(last.recv) && lastOp.kind != "destroy" {
			raw, has := m["tool_mark"]
			want := fmt.Sprint(lastOp.value)
			if lastOp.kind == "unset" && has {
				tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf("client %d: unset of tool_mark on %s (last write) but the final file has tool_mark=%s", c.idx, id, raw))
			} else if lastOp.kind != "unset" && string(raw) != want {
				tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf("client %d: %s tool_mark=%s on %s (last write) but the final file has %q", c.idx, lastOp.kind, want, id, raw))
			}
		}
	}

	// ls --where listed only sessions of the client whose mark it searched.
	lsChecked := 0
	for _, o := range opr.ops {
		if o.kind != "ls-where" || !o.success() {
			continue
		}
		lsChecked++
		ids := map[string]bool{}
		for _, r := range clients[o.client].reqs {
			ids[r.reply.ID], ids[r.reply.IDBefore] = true, true
		}
		for _, id := range o.listed {
			if !ids[id] {
				t.Errorf("ls --where tool_mark=%d listed %s, which never belonged to client %d (the only one given that value)", o.value, id, o.client)
			}
		}
	}

	// Every file left decodes, by PHP's own decoder.
	var files []string
	_ = filepath.WalkDir(save, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasPrefix(d.Name(), "sess_") {
			files = append(files, p)
		}
		return nil
	})
	if err := os.MkdirAll(filepath.Join(dir, "checker"), 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := phptest.Input(t, decodeCheckScript, []byte(strings.Join(files, "\n")+"\n"), nil,
		phptest.SessionINI(filepath.Join(dir, "checker"), "php")...)
	var dc struct {
		Checked int      `json:"checked"`
		Bad     []string `json:"bad"`
	}
	if jerr := json.Unmarshal(out, &dc); err != nil || jerr != nil {
		t.Errorf("PHP decode check failed: %v %v: %s", err, jerr, quoteShort(string(out)))
	}
	for _, f := range dc.Bad {
		b, _ := os.ReadFile(f)
		t.Errorf("PHP refuses to decode %s: %q", f, b)
	}
	corrupt += len(dc.Bad)

	// watch reported every destroy, but of a session created and destroyed
	// within its coalescing window (cmd's coalesceWindow), which it reports
	// as nothing.
	const watchWindow = 40 * time.Millisecond
	destroys, seen, inWindow := 0, 0, 0
	for _, o := range opr.ops {
		if o.kind != "destroy" || !o.success() {
			continue
		}
		destroys++
		found := slices.ContainsFunc(events, func(e watchEvent) bool {
			return e.Event == "deleted" && e.ID == o.id && !e.Time.Before(o.res.start.Add(-time.Second))
		})
		if found {
			seen++
		} else {
			var near []string
			before := false // an event for the session before the destroy ended
			for _, e := range events {
				if e.ID == o.id {
					near = append(near, e.Event+"@"+e.Time.Format(time.StampMilli))
					before = before || e.Time.Before(o.res.end)
				}
			}
			var firstSeen time.Time
			for _, c := range clients {
				for _, r := range c.reqs {
					if r.ok() && r.reply.ID == o.id && (firstSeen.IsZero() || r.recv.Before(firstSeen)) {
						firstSeen = r.recv
					}
				}
			}
			if !before && !firstSeen.IsZero() && o.res.start.Sub(firstSeen) < watchWindow {
				// Created and destroyed within watch's coalescing window:
				// watch reports nothing for it, as documented ("new, gone").
				inWindow++
				continue
			}
			t.Errorf("watch -o json reported no deleted event for %s, destroyed in [%s, %s]; its events: %v; first answer with that id at %s (load began %s)",
				o.id, o.res.start.Format(time.StampMilli), o.res.end.Format(time.StampMilli), near,
				firstSeen.Format(time.StampMilli), loadStart.Format(time.StampMilli))
		}
	}
	for _, l := range badWatchLines {
		t.Errorf("watch -o json printed a line that is not a JSON event: %q", l)
	}

	for i, l := range tl.lostUpdates {
		if i == 50 {
			t.Errorf("... and %d more lost updates", len(tl.lostUpdates)-i)
			break
		}
		t.Errorf("LOST UPDATE: %s", l)
	}
	for i, l := range tl.phpErrors {
		if i == 20 {
			t.Errorf("... and %d more PHP app failures", len(tl.phpErrors)-i)
			break
		}
		t.Errorf("PHP app failure: %s", l)
	}
	for _, l := range tl.expiredRaces {
		t.Logf("expired-session race (not counted as lost): %s", l)
	}
	for _, l := range tl.regenRaces {
		t.Logf("regenerate race (sesstool wrote to an id PHP was regenerating away): %s", l)
	}

	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	totalOps := 0
	var opsLine []string
	for _, k := range kinds {
		n := 0
		var codes []string
		for _, code := range slices.Sorted(maps.Keys(byKind[k])) {
			n += byKind[k][code]
			codes = append(codes, fmt.Sprintf("exit%d=%d", code, byKind[k][code]))
		}
		totalOps += n
		opsLine = append(opsLine, fmt.Sprintf("%s %d (%s)", k, n, strings.Join(codes, " ")))
	}
	t.Logf("load %v: requests served %d (failed %d) by %d clients", loadTime.Round(time.Millisecond), tl.requestsOK, tl.requestsFailed, nClients)
	t.Logf("sesstool operations %d: %s", totalOps, strings.Join(opsLine, "; "))
	t.Logf("resets: %d after destroy, %d after an idle longer than maxlifetime (gc, or a destroy meanwhile); gc deleted %d, skipped in use %d", tl.resetsByDestroy, tl.resetsByGC, gcDeleted, gcSkipped)
	t.Logf("tool writes seen by the next request %d, superseded %d, cleared by reset %d, regenerate races %d, expired-session races %d",
		tl.toolWritesVerified, tl.toolWritesSuperseded, tl.toolWritesCleared, len(tl.regenRaces), len(tl.expiredRaces))
	t.Logf("ls --where runs checked %d; watch events %d, destroys reported %d/%d (%d lived only inside watch's window); files decoded by PHP %d",
		lsChecked, len(events), seen, destroys, inWindow, dc.Checked)
	t.Logf("SOAK SUMMARY: requests=%d sesstool_ops=%d lost_updates=%d corrupt_files=%d php_failures=%d destroys_unwatched=%d",
		tl.requestsOK, totalOps, len(tl.lostUpdates), corrupt, len(tl.phpErrors), destroys-seen-inWindow)
	if tl.requestsOK < 100 || totalOps < 50 {
		t.Errorf("the load was too small to mean anything: %d requests, %d sesstool operations", tl.requestsOK, totalOps)
	}
}

// lockedBuilder is a strings.Builder safe for a process's writes and the
// test's reads.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
