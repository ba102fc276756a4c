package flock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// The test binary re-executes itself as a lock holder: another process, so
// the locks are on other open file descriptions exactly as PHP's would be.
const helperEnv = "SESSTOOL_FLOCK_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(holderMain(spec))
	}
	os.Exit(m.Run())
}

// holderMain locks the file named in spec ("shared:PATH" or
// "exclusive:PATH") with a plain blocking flock(2), says "locked", and holds
// the lock until stdin is closed.
func holderMain(spec string) int {
	mode, path, _ := strings.Cut(spec, ":")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	op := syscall.LOCK_EX
	if mode == "shared" {
		op = syscall.LOCK_SH
	}
	if err := syscall.Flock(int(f.Fd()), op); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// hold starts a process that holds a lock on path, and returns once it has it.
func hold(t *testing.T, path string, mode Mode) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode.String()+":"+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(h.release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("lock holder: %q, %v", line, err)
	}
	return h
}

// release makes the holder exit (its lock goes with it) and waits for it.
func (h *holder) release() {
	_ = h.stdin.Close()
	_ = h.cmd.Wait()
}

func openFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestConflicts(t *testing.T) {
	for _, tc := range []struct {
		held, want Mode
		ok         bool
	}{
		{Exclusive, Exclusive, false},
		{Exclusive, Shared, false},
		{Shared, Exclusive, false},
		{Shared, Shared, true},
	} {
		t.Run(tc.held.String()+"/"+tc.want.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			f := openFile(t, path)
			h := hold(t, path, tc.held)

			ok, err := TryLock(f, tc.want)
			if err != nil || ok != tc.ok {
				t.Fatalf("TryLock = %v, %v; want %v", ok, err, tc.ok)
			}
			err = Lock(f, tc.want, 0)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrWouldBlock) {
				t.Fatalf("Lock(0) = %v", err)
			}
			err = Lock(f, tc.want, 30*time.Millisecond)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, ErrTimeout) {
				t.Fatalf("Lock(30ms) = %v", err)
			}
			if tc.ok {
				return
			}
			// Once the other process lets go, the lock is ours.
			h.release()
			if ok, err := TryLock(f, tc.want); !ok || err != nil {
				t.Fatalf("TryLock after release = %v, %v", ok, err)
			}
		})
	}
}

// A Lock that waits forever returns as soon as the holder lets go.
func TestLockWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f := openFile(t, path)
	h := hold(t, path, Exclusive)
	done := make(chan error, 1)
	go func() { done <- Lock(f, Exclusive, -1) }()
	select {
	case err := <-done:
		t.Fatalf("Lock returned %v while the file was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	h.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// And we hold it now: another process cannot take it.
	g, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if ok, _ := TryLock(g, Shared); ok {
		t.Fatal("second description got a shared lock while we hold an exclusive one")
	}
	if err := Unlock(f); err != nil {
		t.Fatal(err)
	}
	if ok, err := TryLock(g, Exclusive); !ok || err != nil {
		t.Fatalf("after Unlock: %v, %v", ok, err)
	}
}

// A Lock that timed out leaves no lock behind, even after the holder goes.
func TestTimeoutLeavesNoLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f := openFile(t, path)
	h := hold(t, path, Exclusive)
	if err := Lock(f, Exclusive, 20*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Lock = %v, want ErrTimeout", err)
	}
	h.release()
	time.Sleep(50 * time.Millisecond) // give a stray background flock every chance to win
	h2 := hold(t, path, Exclusive)    // would hang (test timeout) if we still held it
	h2.release()
}

func TestLockContextCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f := openFile(t, path)
	hold(t, path, Exclusive)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- LockContext(ctx, f, Shared, -1) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("LockContext = %v, want context.Canceled", err)
	}
}

func TestBadInput(t *testing.T) {
	f := openFile(t, filepath.Join(t.TempDir(), "f"))
	if err := Lock(nil, Exclusive, 0); err == nil {
		t.Error("Lock(nil) succeeded")
	}
	if _, err := TryLock(f, Mode(7)); err == nil {
		t.Error("TryLock with an invalid mode succeeded")
	}
	closed := openFile(t, filepath.Join(t.TempDir(), "g"))
	closed.Close()
	if err := Lock(closed, Exclusive, 0); err == nil {
		t.Error("Lock on a closed file succeeded")
	}
}

// flock(2) is the lock PHP takes: a PHP session blocks us and our lock
// blocks PHP's flock.
func TestInteropWithPHP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sess_interop1")
	p := phptest.Start(t, `session_id("interop1"); session_start(); echo "locked\n"; fgets(STDIN); session_write_close(); echo "released\n";`,
		phptest.SessionINI(dir, "php")...)
	p.WaitLine("locked")
	f := openFile(t, path)
	if err := Lock(f, Shared, 20*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Lock while PHP holds the session = %v, want ErrTimeout", err)
	}
	p.Send("go")
	p.WaitLine("released")
	// A descriptor whose wait failed is closed, not locked again (LockFD).
	f.Close()
	f = openFile(t, path)
	if err := Lock(f, Exclusive, 5*time.Second); err != nil {
		t.Fatalf("Lock after PHP released: %v", err)
	}

	// Now we hold LOCK_EX: PHP's flock (as session_start uses) must fail.
	out := phptest.Run(t, `$f = fopen($argv[1], "r+"); var_dump(flock($f, LOCK_EX|LOCK_NB, $wb), $wb);`, nil, "--", path)
	if got := strings.Join(strings.Fields(string(out)), " "); got != "bool(false) int(1)" {
		t.Fatalf("PHP flock while we hold it: %s", out)
	}
	if err := Unlock(f); err != nil {
		t.Fatal(err)
	}
	out = phptest.Run(t, `$f = fopen($argv[1], "r+"); var_dump(flock($f, LOCK_EX|LOCK_NB));`, nil, "--", path)
	if strings.TrimSpace(string(out)) != "bool(true)" {
		t.Fatalf("PHP flock after Unlock: %s", out)
	}
}

// Acquire waits on a description of its own: a wait given up never leaves a
// lock behind, and never drops a lock the caller took on fd since.
func TestAcquireTimeoutKeepsNothingAndDropsNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f := openFile(t, path)
	fd, err := fdOf(f)
	if err != nil {
		t.Fatal(err)
	}
	h := hold(t, path, Exclusive)
	if _, err := Acquire(context.Background(), fd, Exclusive, 20*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Acquire = %v, want ErrTimeout", err)
	}
	h.release()
	// The caller locks fd again; the late waiter must not take it away.
	release, err := Acquire(context.Background(), fd, Exclusive, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the stray waiter has had every chance
	g := openFile(t, path)
	if ok, err := TryLock(g, Shared); ok || err != nil {
		t.Fatalf("the caller's lock was dropped: TryLock from elsewhere = %v, %v", ok, err)
	}
	release()
	if err := Unlock(f); err != nil {
		t.Fatal(err)
	}
	if ok, err := TryLock(g, Exclusive); !ok || err != nil {
		t.Fatalf("after release: %v, %v", ok, err)
	}
	if err := Unlock(g); err != nil {
		t.Fatal(err)
	}
	// A wait that had to block and succeeded holds the lock until release.
	h2 := hold(t, path, Shared)
	done := make(chan func(), 1)
	go func() {
		r, err := Acquire(context.Background(), fd, Exclusive, 10*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	time.Sleep(20 * time.Millisecond)
	h2.release()
	r := <-done
	if ok, _ := TryLock(g, Shared); ok {
		t.Fatal("Acquire after a wait holds no lock")
	}
	r()
	if ok, _ := TryLock(g, Shared); !ok {
		t.Fatal("release left the lock")
	}
	_ = Unlock(g)
}
