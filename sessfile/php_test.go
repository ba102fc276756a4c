package sessfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// PHP and the store agree on where a session lives, in flat and 2; layouts.
func TestPHPLayout(t *testing.T) {
	for _, depth := range []int{0, 2} {
		f := newFixture(t, depth, "")
		sp := f.sp.String()
		id := "abcdef123"
		if depth > 0 {
			os.MkdirAll(filepath.Join(f.dir, "a", "b"), 0o755)
		}
		phptest.Run(t, `session_id("abcdef123"); if (!session_start()) exit(2); $_SESSION["n"] = 42; session_write_close();`, nil, phptest.SessionINI(sp, "php")...)
		data, info, err := f.st.Read(ctx, id)
		if err != nil || string(data) != "n|i:42;" {
			t.Fatalf("depth %d: Read = %q, %v", depth, data, err)
		}
		want, _ := f.sp.Path(id)
		if info.Path != want {
			t.Fatalf("path %s, want %s", info.Path, want)
		}
		if _, err := os.Stat(want); err != nil {
			t.Fatalf("PHP's file is not at %s: %v", want, err)
		}
		// PHP reads back what we write.
		if _, err := f.st.Update(ctx, id, false, func(old []byte, _ bool) ([]byte, error) {
			return append(old, `s|s:2:"hi";`...), nil
		}); err != nil {
			t.Fatal(err)
		}
		out := phptest.Run(t, `session_id("abcdef123"); session_start(); echo json_encode($_SESSION);`, nil, phptest.SessionINI(sp, "php")...)
		if string(out) != `{"n":42,"s":"hi"}` {
			t.Fatalf("PHP read back %s", out)
		}
	}
}

// A PHP request holding the session: we time out and touch nothing; with a
// longer wait we get it after PHP is done and keep what PHP wrote.
func TestPHPHoldsLock(t *testing.T) {
	f := newFixture(t, 0, "")
	p := f.write("phplock1", "a|i:1;", time.Hour)
	mt := statT(t, p).Mtim
	proc := phptest.Start(t, `session_id("phplock1"); session_start(); echo "locked\n"; fgets(STDIN); $_SESSION["php"] = "was here"; session_write_close(); echo "done\n";`,
		phptest.SessionINI(f.dir, "php")...)
	proc.WaitLine("locked")

	if _, _, err := f.st.Read(ctx, "phplock1"); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Read = %v, want lock timeout", err)
	}
	set := func(old []byte, _ bool) ([]byte, error) { return append(old, "us|b:1;"...), nil }
	if _, err := f.st.Update(ctx, "phplock1", false, set); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("Update = %v, want lock timeout", err)
	}
	if readFile(t, p) != "a|i:1;" || statT(t, p).Mtim != mt {
		t.Fatal("file changed while PHP held it")
	}

	f.st.opts.LockTimeout = 30 * time.Second
	done := make(chan error, 1)
	go func() { _, err := f.st.Update(ctx, "phplock1", false, set); done <- err }()
	proc.Send("go")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	proc.WaitLine("done")
	if got := readFile(t, p); got != `a|i:1;php|s:8:"was here";us|b:1;` {
		t.Fatalf("file = %q", got)
	}
	// And PHP, waiting on our lock, sees our write.
	out := phptest.Run(t, `session_id("phplock1"); session_start(); echo implode(",", array_keys($_SESSION));`, nil, phptest.SessionINI(f.dir, "php")...)
	if strings.TrimSpace(string(out)) != "a,php,us" {
		t.Fatalf("PHP keys: %s", out)
	}
}

// TestLockWaitNamesHolder: a wait of more than a second for a lock a PHP
// request holds calls OnLockWait once with PHP's pid and command, and a
// wait that runs out names the same holder in its error.
func TestLockWaitNamesHolder(t *testing.T) {
	f := newFixture(t, 0, "")
	f.write("phplock2", "a|i:1;", time.Hour)
	proc := phptest.Start(t, `session_id("phplock2"); session_start(); echo "locked\n"; fgets(STDIN);`, phptest.SessionINI(f.dir, "php")...)
	proc.WaitLine("locked")
	defer proc.CloseStdin()
	var calls []string
	f.st.opts.OnLockWait = func(id, holder string) { calls = append(calls, id+" "+holder) }
	f.st.opts.LockTimeout = 1500 * time.Millisecond
	_, _, err := f.st.Read(ctx, "phplock2")
	want := fmt.Sprintf("pid %d (php", proc.Pid())
	var lt *LockTimeoutError
	if !errors.As(err, &lt) || !strings.Contains(lt.Holder, want) {
		t.Fatalf("Read = %v, want a lock timeout held by %s", err, want)
	}
	if len(calls) != 1 || !strings.HasPrefix(calls[0], "phplock2 "+want) {
		t.Errorf("OnLockWait calls %q, want one naming %s", calls, want)
	}
}
