package sessfile

import (
	"bytes"
	"errors"
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
