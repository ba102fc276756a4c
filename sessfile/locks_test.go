package sessfile

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

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
