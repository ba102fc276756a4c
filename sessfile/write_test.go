package sessfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// faultOps is fileOps with injected failures.
type faultOps struct {
	sysOps
	reserveErr  error
	pwriteCalls int
	failPwrite  int   // pwrite call number (1-based) that fails
	shortPwrite int   // pwrite call number that writes only half
	pwriteErr   error // error of the failing call
	truncErr    error
}

func (o *faultOps) reserve(fd int, n int64) error {
	if o.reserveErr != nil {
		return o.reserveErr
	}
	return o.sysOps.reserve(fd, n)
}

func (o *faultOps) pwrite(fd int, p []byte, off int64) (int, error) {
	o.pwriteCalls++
	if o.pwriteCalls == o.failPwrite {
		// Like a real partial failure: some bytes land first.
		n, _ := o.sysOps.pwrite(fd, p[:len(p)/2], off)
		if n == 0 {
			return 0, o.pwriteErr
		}
		return 0, o.pwriteErr
	}
	if o.pwriteCalls == o.shortPwrite {
		return o.sysOps.pwrite(fd, p[:len(p)/2], off)
	}
	return o.sysOps.pwrite(fd, p, off)
}

func (o *faultOps) ftruncate(fd int, n int64) error {
	if o.truncErr != nil {
		return o.truncErr
	}
	return o.sysOps.ftruncate(fd, n)
}

func TestWriteFaults(t *testing.T) {
	const old = `a|s:10:"0123456789";b|i:1;`
	long := `a|s:40:"` + strings.Repeat("x", 40) + `";b|i:1;`
	short := `a|i:1;`
	for _, tc := range []struct {
		name    string
		ops     *faultOps
		new     string
		wantErr string // "" = success
	}{
		{"enospc on reserve", &faultOps{reserveErr: unix.ENOSPC}, long, "no space left"},
		{"no fallocate, enospc growing", &faultOps{reserveErr: unix.EOPNOTSUPP, failPwrite: 1, pwriteErr: unix.ENOSPC}, long, "no space left"},
		{"no fallocate, works", &faultOps{reserveErr: unix.EOPNOTSUPP}, long, ""},
		{"enospc mid write", &faultOps{failPwrite: 1, pwriteErr: unix.ENOSPC}, long, "old content restored"},
		{"eio mid write, shrinking", &faultOps{failPwrite: 1, pwriteErr: unix.EIO}, short, "old content restored"},
		{"short write then success", &faultOps{shortPwrite: 1}, long, ""},
		{"short write then enospc", &faultOps{shortPwrite: 1, failPwrite: 2, pwriteErr: unix.ENOSPC}, long, "old content restored"},
		{"truncate fails", &faultOps{truncErr: unix.EIO}, short, "old content restored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 0, "")
			p := f.write("fault1", old, time.Hour)
			ino := statT(t, p).Ino
			f.st.ops = tc.ops
			res, err := f.st.Update(ctx, "fault1", false, func([]byte, bool) ([]byte, error) { return []byte(tc.new), nil })
			want := tc.new
			if tc.wantErr != "" {
				want = old
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "sess_fault1") || res.Changed {
					t.Fatalf("Update = %+v, %v; want error %q", res, err, tc.wantErr)
				}
			} else if err != nil || !res.Changed {
				t.Fatalf("Update = %+v, %v", res, err)
			}
			if got := readFile(t, p); got != want {
				t.Fatalf("file = %q, want %q", got, want)
			}
			if statT(t, p).Ino != ino {
				t.Fatal("inode changed")
			}
		})
	}
}

// A real full disk: a 1 MB tmpfs filled up. The update fails before the old
// bytes are touched, and they are intact.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	defer exec.Command("umount", "-l", dir).Run()
	f := newFixture(t, 0, dir)
	old := "a|s:100:\"" + strings.Repeat("o", 100) + "\";"
	p := f.write("full1", old, time.Hour)
	// Fill the file system.
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := filler.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	filler.Close()
	big := "a|s:200000:\"" + strings.Repeat("n", 200000) + "\";"
	_, err = f.st.Update(ctx, "full1", false, func([]byte, bool) ([]byte, error) { return []byte(big), nil })
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Update on a full disk = %v, want ENOSPC", err)
	}
	if got := readFile(t, p); got != old {
		t.Fatalf("old bytes damaged: %d bytes %.40q", len(got), got)
	}
	// Shrinking still works on a full disk.
	_, err = f.st.Update(ctx, "full1", false, func([]byte, bool) ([]byte, error) { return []byte("a|i:1;"), nil })
	if err != nil || readFile(t, p) != "a|i:1;" {
		t.Fatalf("shrink on a full disk: %v", err)
	}
	// After freeing space, growing works.
	os.Remove(filepath.Join(dir, "filler"))
	_, err = f.st.Update(ctx, "full1", false, func([]byte, bool) ([]byte, error) { return []byte(big), nil })
	if err != nil || readFile(t, p) != big {
		t.Fatalf("grow after freeing space: %v", err)
	}
}

// stepOps fails the k-th call (1-based) through the write seam, whatever
// it is, with err; it records the calls it saw.
type stepOps struct {
	sysOps
	k, n  int
	err   error
	calls []string
	// fsType and avail, when fsType != 0, are what space reports.
	fsType, avail int64
}

func (o *stepOps) step(name string) error {
	o.n++
	o.calls = append(o.calls, name)
	if o.n == o.k {
		return o.err
	}
	return nil
}

func (o *stepOps) reserve(fd int, n int64) error {
	if err := o.step("reserve"); err != nil {
		return err
	}
	return o.sysOps.reserve(fd, n)
}

func (o *stepOps) unshare(fd int, off, n int64) error {
	if err := o.step("unshare"); err != nil {
		return err
	}
	return o.sysOps.unshare(fd, off, n)
}

func (o *stepOps) pwrite(fd int, p []byte, off int64) (int, error) {
	if err := o.step("pwrite"); err != nil {
		// Some bytes land first, as in a real partial failure.
		_, _ = o.sysOps.pwrite(fd, p[:len(p)/2], off)
		return 0, err
	}
	return o.sysOps.pwrite(fd, p, off)
}

func (o *stepOps) ftruncate(fd int, n int64) error {
	if err := o.step("ftruncate"); err != nil {
		return err
	}
	return o.sysOps.ftruncate(fd, n)
}

func (o *stepOps) fsync(fd int) error {
	if err := o.step("fsync"); err != nil {
		return err
	}
	return o.sysOps.fsync(fd)
}

func (o *stepOps) space(fd int) (int64, int64, error) {
	if err := o.step("space"); err != nil {
		return 0, 0, err
	}
	if o.fsType != 0 {
		return o.fsType, o.avail, nil
	}
	return o.sysOps.space(fd)
}

// TestWriteFailsAtEveryStep injects EIO and ENOSPC at each call through the
// write seam in turn, for a growing, a shrinking and a same-length change
// and for a session being created: the old bytes stay (the error says so),
// or, when only fsync failed, the new bytes are there and the error says
// that they were written; only a second failure while putting the old
// bytes back may leave anything else, and the error then says that too.
func TestWriteFailsAtEveryStep(t *testing.T) {
	const old = `a|s:10:"0123456789";b|i:1;`
	changes := map[string]string{
		"grow":   `a|s:40:"` + strings.Repeat("x", 40) + `";b|i:1;`,
		"shrink": `a|i:1;`,
		"same":   `a|s:10:"0123456780";b|i:2;`,
	}
	steps := 0
	for name, nb := range changes {
		for _, create := range []bool{false, true} {
			for _, injected := range []error{unix.EIO, unix.ENOSPC} {
				// A clean run first, to count the calls.
				clean := &stepOps{}
				f := newFixture(t, 0, "")
				if !create {
					f.write("step1", old, time.Hour)
				}
				f.st.ops = clean
				if _, err := f.st.Update(ctx, "step1", create, func([]byte, bool) ([]byte, error) { return []byte(nb), nil }); err != nil {
					t.Fatal(err)
				}
				for k := 1; k <= clean.n; k++ {
					steps++
					f := newFixture(t, 0, "")
					p := filepath.Join(f.dir, "sess_step1")
					before := ""
					if !create {
						f.write("step1", old, time.Hour)
						before = old
					}
					ops := &stepOps{k: k, err: injected}
					f.st.ops = ops
					_, err := f.st.Update(ctx, "step1", create, func([]byte, bool) ([]byte, error) { return []byte(nb), nil })
					what := fmt.Sprintf("%s, create %v: %v at call %d (%s)", name, create, injected, k, ops.calls[len(ops.calls)-1])
					got, rerr := os.ReadFile(p)
					switch failed := ops.calls[k-1]; {
					case err == nil && failed == "unshare" || err == nil && failed == "space":
						// unshare and space are advisory: a failure of the
						// probe itself does not stop the write.
						if string(got) != nb {
							t.Errorf("%s: wrote %q", what, got)
						}
					case err == nil:
						t.Errorf("%s: no error", what)
					case failed == "fsync" && !strings.Contains(err.Error(), "restoring"):
						if string(got) != nb || !strings.Contains(err.Error(), "were written, but fsync failed") {
							t.Errorf("%s: %v; file %q", what, err, got)
						}
					case strings.Contains(err.Error(), "restoring the old"):
						// A double fault: said, whatever the bytes are.
					case create:
						if rerr == nil {
							t.Errorf("%s: %v, but the new file is still there (%q)", what, err, got)
						}
						if strings.Contains(err.Error(), "old content") {
							t.Errorf("%s: %v speaks of old content for a session it created", what, err)
						}
					default:
						if string(got) != before {
							t.Errorf("%s: %v, and the file is %q", what, err, got)
						}
						if !strings.Contains(err.Error(), "left unchanged") && !strings.Contains(err.Error(), "old content restored") {
							t.Errorf("%s: %v does not say the session is as it was", what, err)
						}
					}
				}
			}
		}
	}
	t.Logf("%d injected failures", steps)
}

// TestCopyOnWriteSpace: on a copy-on-write file system (btrfs by statfs
// type), a rewrite that the free space cannot hold is refused before any
// byte is written.
func TestCopyOnWriteSpace(t *testing.T) {
	const old = `a|s:10:"0123456789";b|i:1;`
	f := newFixture(t, 0, "")
	p := f.write("cow1", old, time.Hour)
	f.st.ops = &stepOps{fsType: 0x9123683E, avail: 4096}
	_, err := f.st.Update(ctx, "cow1", false, func([]byte, bool) ([]byte, error) { return []byte(`a|i:2;`), nil })
	var se *SpaceError
	if !errors.As(err, &se) || se.FS != "btrfs" || !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), "left unchanged") {
		t.Fatalf("err %v", err)
	}
	if readFile(t, p) != old {
		t.Fatal("file changed")
	}
	f.st.ops = &stepOps{fsType: 0x9123683E, avail: 8 << 20}
	if _, err := f.st.Update(ctx, "cow1", false, func([]byte, bool) ([]byte, error) { return []byte(`a|i:2;`), nil }); err != nil || readFile(t, p) != `a|i:2;` {
		t.Fatalf("with room: %v", err)
	}
}
