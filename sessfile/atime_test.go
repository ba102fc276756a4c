package sessfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// setAtime sets path's access time an hour back, before its change time
// (relatime then updates it on any read), and returns it; it skips where
// the filesystem does not keep it.
func setAtime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, at, fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := atimeOf(t, path); !got.Equal(at) {
		t.Skipf("the filesystem keeps no access time (%v, want %v)", got, at)
	}
	return at
}

func atimeOf(t *testing.T, path string) time.Time {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return time.Unix(st.Atim.Sec, st.Atim.Nsec)
}

// TestReadKeepsAccessTime: Read, ReadAdmitted and watch's tryReadSession
// open with O_NOATIME: the access time (a lock's "since") stays as it was.
func TestReadKeepsAccessTime(t *testing.T) {
	f := newFixture(t, 0, "")
	const id = "atime0000000000000000001"
	p := f.write(id, "a|i:1;", time.Minute)
	for name, read := range map[string]func() error{
		"Read": func() error { _, _, err := f.st.Read(context.Background(), id); return err },
		"ReadAdmitted": func() error {
			_, _, release, err := f.st.ReadAdmitted(context.Background(), id, nil)
			release()
			return err
		},
		"tryReadSession": func() error { _, err := tryReadSession(p, false); return err },
	} {
		at := setAtime(t, p)
		if err := read(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := atimeOf(t, p); !got.Equal(at) {
			t.Errorf("%s set the access time to %v (was %v)", name, got, at)
		}
	}
}

// TestReadNoatimeRefused: a reader that neither owns the file nor has
// CAP_FOWNER gets EPERM for O_NOATIME and reads without it (root-owned
// session, mode 0644, read as nobody).
func TestReadNoatimeRefused(t *testing.T) {
	dir := publicDir(t)
	const id = "atimenobody0000000000001"
	p := filepath.Join(dir, "sess_"+id)
	if err := os.WriteFile(p, []byte("a|i:1;"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := asNobody(t, "read", dir, id)
	if rep.Err != "" || rep.Data != "a|i:1;" {
		t.Errorf("Read as nobody of a root-owned 0644 session: %q %q", rep.Data, rep.Err)
	}
}
