package hostile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// blockedWaits counts the files on which pid has a flock request that
// /proc/locks shows as blocked (the "->" lines: waiting in the kernel for a
// lock held by another). Files, not lines: /proc/locks is read in several
// chunks, and a wait the runtime's preemption signal interrupts and
// restarts can show up twice in one read.
func blockedWaits(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skipf("no /proc/locks: %v", err)
	}
	files := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// "1: -> FLOCK  ADVISORY  WRITE 1234 08:01:123 0 EOF"
		if len(f) >= 7 && f[1] == "->" && f[2] == "FLOCK" && f[5] == fmt.Sprint(pid) {
			files[f[6]] = true
		}
	}
	return len(files)
}

// TestReadersWaitForLocksInParallel (CLI.md "Waiting for a lock is fair"):
// ls --where, ls --check, destroy --where and stats wait for every locked session
// at once, not one after another (6 held sessions at 2 s each took 12 s).
// Shown without a clock: while 6 sessions are held, /proc/locks has 6
// blocked flock requests of the one sesstool process at the same time;
// once they are released, every session is listed.
func TestReadersWaitForLocksInParallel(t *testing.T) {
	bin := buildTool(t)
	for _, args := range [][]string{
		{"ls", "--where", "a=1", "-q"},
		{"ls", "--check"},
		{"destroy", "--where", "a=1", "--dry-run"},
		{"stats", "-o", "json"}, // its 6 biggest sessions name each
	} {
		t.Run(args[0]+" "+args[1], func(t *testing.T) {
			dir := t.TempDir()
			var held []int
			for i := range 6 {
				p := filepath.Join(dir, fmt.Sprintf("sess_held%d", i))
				if err := os.WriteFile(p, []byte(`a|i:1;`), 0o600); err != nil {
					t.Fatal(err)
				}
				fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
				if err != nil {
					t.Fatal(err)
				}
				if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
					t.Fatal(err)
				}
				held = append(held, fd)
			}
			release := func() {
				for _, fd := range held {
					_ = unix.Close(fd)
				}
				held = nil
			}
			defer release()
			cmd := exec.Command(bin, append([]string{"--save-path", dir, "--lock-timeout", "60s"}, args...)...)
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			most := 0
			deadline := time.Now().Add(20 * time.Second)
			for most < 6 && time.Now().Before(deadline) {
				most = max(most, blockedWaits(t, cmd.Process.Pid))
				time.Sleep(5 * time.Millisecond)
			}
			release()
			if err := <-done; err != nil {
				t.Fatalf("%v: %v; stderr %q", args, err, errb.String())
			}
			if most != 6 {
				t.Errorf("%v: at most %d of the 6 locked sessions were waited for at once", args, most)
			}
			if got := strings.Count(out.String(), "held"); got != 6 {
				t.Errorf("%v: %d of 6 sessions listed after the locks were released:\n%s", args, got, out.String())
			}
		})
	}
}
