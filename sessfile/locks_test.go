package sessfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/store"
)

// TestLocks: a session someone holds LOCK_EX on is reported with the
// holder's pid; one held LOCK_SH says so; an unlocked one is not reported.
func TestLocks(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"held1", "shared1", "free1"} {
		watchWriteFile(t, filepath.Join(dir, "sess_"+id), "a|i:1;")
	}
	lock := func(id string, how int) {
		f, err := os.Open(filepath.Join(dir, "sess_"+id))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := unix.Flock(int(f.Fd()), how); err != nil {
			t.Fatal(err)
		}
	}
	lock("held1", unix.LOCK_EX)
	lock("shared1", unix.LOCK_SH)
	s, err := Open(SavePath{Dir: dir}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := map[string]store.Lock{}
	if err := s.Locks(t.Context(), func(l store.Lock) error { got[l.ID] = l; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("locks %+v, want held1 and shared1", got)
	}
	me := "pid " + strconv.Itoa(os.Getpid())
	if l := got["held1"]; l.Kind != "flock LOCK_EX" || !strings.HasPrefix(l.Holder, me) || l.Where != filepath.Join(dir, "sess_held1") {
		t.Errorf("held1: %+v, want LOCK_EX by %s", l, me)
	}
	if l := got["shared1"]; l.Kind != "flock LOCK_SH" {
		t.Errorf("shared1: %+v", l)
	}
}

func TestReadProcLocks(t *testing.T) {
	p := filepath.Join(t.TempDir(), "locks")
	watchWriteFile(t, p, "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF\n"+
		"1: -> FLOCK  ADVISORY  WRITE 4243 fd:01:1234567 0 EOF\n"+
		"2: POSIX  ADVISORY  WRITE 77 08:02:99 0 EOF\n"+
		"3: FLOCK  ADVISORY  READ 5 08:02:bad 0 EOF\n"+
		"garbage\n")
	held, err := readProcLocks(p)
	if err != nil {
		t.Fatal(err)
	}
	want := fileID{0xfd, 1, 1234567}
	if len(held) != 1 || len(held[want]) != 1 || held[want][0] != (flockHeld{pid: 4242, exclusive: true}) {
		t.Errorf("held %+v", held)
	}
}

func TestCapabilities(t *testing.T) {
	s, err := Open(SavePath{Dir: t.TempDir(), Depth: 1}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c := s.Capabilities(); c.Handler != "files" || !c.Files || c.TTL || !c.Watch {
		t.Errorf("capabilities %+v", c)
	}
	if !strings.HasPrefix(s.Where(), "1;") {
		t.Errorf("Where %q", s.Where())
	}
}

// TestLocksThroughFdinfo: where /proc/locks names a device that stat does
// not give (btrfs subvolumes, overlayfs: simulated by shifting the device
// stat reports), the lock a real PHP request holds is still matched to its
// session, through PHP's /proc/PID/fd and fdinfo; and flockHolder, which a
// waiting show or set uses, names PHP too. Without the shift it matches
// directly.
func TestLocksThroughFdinfo(t *testing.T) {
	dir := t.TempDir()
	const id = "fdinfolock00000000000001"
	watchWriteFile(t, filepath.Join(dir, "sess_"+id), "a|i:1;")
	watchWriteFile(t, filepath.Join(dir, "sess_fdinfofree0000000000001"), "a|i:1;")
	p := phptest.Start(t, `<?php session_id('`+id+`'); session_start(); echo "locked\n"; fgets(STDIN);`, phptest.SessionINI(dir, "php")...)
	p.WaitLine("locked")
	defer p.CloseStdin()
	s, err := Open(SavePath{Dir: dir}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	php := "pid " + strconv.Itoa(p.Pid()) + " (php"
	for _, shifted := range []bool{false, true} {
		if shifted {
			orig := statDev
			statDev = func(st *syscall.Stat_t) uint64 { return orig(st) ^ unix.Mkdev(0x7f, 0x3) }
			t.Cleanup(func() { statDev = orig })
		}
		var got []store.Lock
		if err := s.Locks(t.Context(), func(l store.Lock) error { got = append(got, l); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != id || got[0].Kind != "flock LOCK_EX" || !strings.HasPrefix(got[0].Holder, php) {
			t.Errorf("device shifted %v: locks %+v, want %s held by %s…)", shifted, got, id, php)
		}
		var st unix.Stat_t
		mustStat(t, filepath.Join(dir, "sess_"+id), &st)
		if h := flockHolder(&st); !strings.HasPrefix(h, php) {
			t.Errorf("device shifted %v: flockHolder %q, want %s…)", shifted, h, php)
		}
	}
}

func mustStat(t *testing.T, path string, st *unix.Stat_t) {
	t.Helper()
	if err := unix.Stat(path, st); err != nil {
		t.Fatal(err)
	}
}
