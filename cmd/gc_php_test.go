package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sesstool/sesstool/gcpolicy"
	"github.com/sesstool/sesstool/internal/phptest"
)

// A real PHP request holding its session's lock: gc skips the session (in
// use), in a flat save_path and on a level of a 2; layout.
func TestGCSkipsSessionLockedByPHP(t *testing.T) {
	phptest.PHP(t)
	for _, depth := range []int{0, 2} {
		t.Run(strconv.Itoa(depth), func(t *testing.T) {
			dir := t.TempDir()
			sp := dir
			if depth > 0 {
				sp = fmt.Sprintf("%d;%s", depth, dir)
			}
			const id = "lockedbyphp1"
			path := levelPath(dir, depth, id)
			sessFile(t, path, 0, 3*time.Hour)
			sessFile(t, levelPath(dir, depth, "lostsession2"), 4, 3*time.Hour)
			// Re-age the locked one after PHP opened it: PHP rewrites nothing
			// before the end of the request, so its mtime stays old.
			// The value is quoted: unquoted, PHP's ini parser would end it at ';'.
			ini := append(phptest.SessionINI(sp, "php"), "-d", `session.save_path="`+sp+`"`)
			p := phptest.Start(t, `<?php session_id('`+id+`'); if (!session_start()) exit(1); echo "locked\n"; fgets(STDIN);`, ini...)
			p.WaitLine("locked")
			old := gcNow.Add(-3 * time.Hour)
			mustDo(t, os.Chtimes(path, old, old))

			out, errOut, code := gcRunCmd(t, nil, "gc", "--save-path", sp, "-o", "json")
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			got := decodeGCJSON(t, out)
			if got.SkippedInUse != 1 || got.Deleted != 1 || got.Scanned != 2 {
				t.Errorf("reported %+v, want 1 skipped in use, 1 deleted", got)
			}
			if !exists(path) {
				t.Fatal("the session PHP holds was deleted")
			}
			if exists(levelPath(dir, depth, "lostsession2")) {
				t.Error("the unlocked stale session survived")
			}
			// The request goes on and saves normally into the same file.
			p.CloseStdin()
			if err := p.Wait(); err != nil {
				t.Fatalf("php: %v\n%s", err, p.Stderr())
			}
		})
	}
}

// Differential with PHP: on identical copies of a flat save_path (ages on
// both sides of the boundary, in whole and fractional seconds), sesstool gc
// at PHP's clock deletes exactly the set PHP's session_gc() deletes.
func TestGCDeletesWhatPHPDeletes(t *testing.T) {
	phptest.PHP(t)
	const ml = 600
	for attempt := 0; ; attempt++ {
		ref := time.Now().Truncate(time.Second)
		src := t.TempDir()
		var names []string
		for i, age := range []time.Duration{
			0, 10 * time.Second, 598 * time.Second, 599 * time.Second, 599500 * time.Millisecond,
			600 * time.Second, 600200 * time.Millisecond, 601 * time.Second, 602 * time.Second,
			603 * time.Second, 700 * time.Second, 24 * time.Hour, 400 * 24 * time.Hour,
		} {
			name := fmt.Sprintf("sess_diff%02d", i)
			names = append(names, name)
			mustDo(t, os.WriteFile(filepath.Join(src, name), []byte("a|i:1;"), 0o600))
			mt := ref.Add(-age)
			mustDo(t, os.Chtimes(filepath.Join(src, name), mt, mt))
		}
		mustDo(t, os.WriteFile(filepath.Join(src, "other_file"), nil, 0o600))
		old := ref.Add(-48 * time.Hour)
		mustDo(t, os.Chtimes(filepath.Join(src, "other_file"), old, old))
		forPHP, forUs := copyDir(t, src), copyDir(t, src)

		ini := append(phptest.SessionINI(forPHP, "php"), "-d", "session.gc_maxlifetime="+strconv.Itoa(ml))
		// PHP sweeps early in a second (at least half of it left), so that
		// time() before and after its sweep agree on a loaded machine too
		// and name the one now its GC used; sesstool then sweeps at that now.
		out := phptest.Run(t, `<?php session_id('zzphpownsession'); session_start();
			$f = fmod(microtime(true), 1.0); if ($f > 0.4) usleep((int)((1.02 - $f) * 1e6));
			$t0 = time(); $n = session_gc(); $t1 = time(); echo "$t0 $t1 ", var_export($n, true);`, nil, ini...)
		var t0, t1, n int64
		if _, err := fmt.Sscan(string(out), &t0, &t1, &n); err != nil {
			t.Fatalf("php printed %q: %v", out, err)
		}
		if t0 != t1 {
			if attempt < 10 {
				continue // PHP's clock ticked during its sweep: its now is ambiguous, try again
			}
			t.Fatalf("PHP's clock ticked during its GC in %d attempts: no unambiguous now to compare at", attempt+1)
		}
		phpNow := time.Unix(t1, 0)
		gcNowSaved := gcNow
		gcNow = phpNow
		stdout, errOut, code := gcRunCmd(t, nil, "gc", "--save-path", forUs, "--maxlifetime", strconv.Itoa(ml), "-o", "json")
		gcNow = gcNowSaved
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		phpLeft := slices.DeleteFunc(listDir(t, forPHP), func(s string) bool { return s == "sess_zzphpownsession" })
		ourLeft := listDir(t, forUs)
		if !slices.Equal(phpLeft, ourLeft) {
			t.Errorf("after PHP's GC: %v\nafter sesstool gc: %v", phpLeft, ourLeft)
		}
		deleted := len(names) + 1 - len(ourLeft)
		if got := decodeGCJSON(t, stdout); got.Deleted != int64(deleted) || int64(deleted) != n {
			t.Errorf("sesstool reported %d deleted, removed %d; PHP's session_gc() said %d", got.Deleted, deleted, n)
		}
		// The boundary cases must be on both sides, or the test proves little.
		if deleted == 0 || deleted == len(names) {
			t.Errorf("deleted %d of %d: the ages do not straddle the boundary", deleted, len(names))
		}
		// And gcpolicy agrees with both.
		for _, name := range names {
			st, err := os.Stat(filepath.Join(src, name))
			mustDo(t, err)
			if gcpolicy.Expired(st.ModTime(), phpNow, ml*time.Second) == slices.Contains(ourLeft, name) {
				t.Errorf("%s: gcpolicy.Expired disagrees with PHP", name)
			}
		}
		return
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	mustDo(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		mustDo(t, err)
		st, err := os.Stat(filepath.Join(src, e.Name()))
		mustDo(t, err)
		mustDo(t, os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600))
		mustDo(t, os.Chtimes(filepath.Join(dst, e.Name()), st.ModTime(), st.ModTime()))
	}
	return dst
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	ents, err := os.ReadDir(dir)
	mustDo(t, err)
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
