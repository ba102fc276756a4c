package hostile

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mountFS makes and mounts a small file system of the given kind in a temp
// dir (a loop image, or a tmpfs) and returns the mount point; it is
// unmounted at cleanup. It skips when not root or when the tools are
// missing (.ci/run installs them).
func mountFS(t *testing.T, kind string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a loop image")
	}
	base := t.TempDir()
	mnt := filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	var mount *exec.Cmd
	if kind == "tmpfs" {
		mount = exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt)
	} else {
		size := map[string]int64{"ext4": 64 << 20, "xfs": 300 << 20, "btrfs": 128 << 20}[kind]
		img := filepath.Join(base, kind+".img")
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		_ = f.Truncate(size)
		f.Close()
		mkfs, err := exec.LookPath("mkfs." + kind)
		if err != nil {
			t.Skipf("mkfs.%s is not installed (Debian: %s)", kind, map[string]string{"ext4": "e2fsprogs", "xfs": "xfsprogs", "btrfs": "btrfs-progs"}[kind])
		}
		args := []string{"-q"}
		if kind != "btrfs" {
			args = append(args, "-F")
		}
		if kind == "xfs" {
			args = []string{"-q", "-f"}
		}
		if out, err := exec.Command(mkfs, append(args, img)...).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.%s: %v: %s", kind, err, out)
		}
		mount = exec.Command("mount", "-o", "loop", img, mnt)
	}
	if out, err := mount.CombinedOutput(); err != nil {
		t.Skipf("cannot mount %s here: %v: %s", kind, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			_ = exec.Command("umount", "-l", mnt).Run()
			t.Logf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// availOf is what an unprivileged write may still use on the file system
// holding path.
func availOf(t *testing.T, path string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// fillTo leaves about target bytes free on the file system of dir, with a
// filler file it returns.
func fillTo(t *testing.T, dir string, target int64) string {
	t.Helper()
	p := filepath.Join(dir, "filler")
	_ = os.Remove(p)
	unix.Sync()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for range 4096 {
		left := availOf(t, dir) - target
		if left <= 0 {
			break
		}
		n := min(int64(len(chunk)), left)
		if _, err := f.Write(chunk[:n]); err != nil {
			break // full
		}
		if err := f.Sync(); err != nil {
			break
		}
	}
	return p
}

// TestFullFileSystemNeverTearsASession (CLI.md "A failed write leaves the
// old bytes, on every filesystem"): on ext4, xfs, btrfs and tmpfs, each
// nearly full, set rewrites a 2,000,033-byte session whole (its first value
// grows by a byte). The session is afterwards exactly the old bytes (set
// exits 1 and says why) or exactly the new ones (exit 0), never anything
// else. On btrfs fallocate succeeds but overwriting needs new blocks: the
// write used to stop at 1,687,552 bytes and PHP then destroyed the session.
func TestFullFileSystemNeverTearsASession(t *testing.T) {
	bin := buildTool(t)
	big := strings.Repeat("s", 2000033-len(`first|s:5:"aaaaa";big|s:1999996:"";`))
	old := fmt.Sprintf(`first|s:5:"aaaaa";big|s:%d:"%s";`, len(big), big)
	nb := fmt.Sprintf(`first|s:6:"bbbbbb";big|s:%d:"%s";`, len(big), big)
	if len(old) != 2000033 {
		t.Fatalf("session of %d bytes", len(old))
	}
	for _, kind := range []string{"ext4", "xfs", "btrfs", "tmpfs"} {
		t.Run(kind, func(t *testing.T) {
			mnt := mountFS(t, kind)
			save := filepath.Join(mnt, "sessions")
			if err := os.Mkdir(save, 0o1733); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(save, "sess_full1")
			outcomes := map[string]int{}
			for _, free := range []int64{100 << 10, 700 << 10, 1000 << 10, 1400 << 10, 2 << 20, 3 << 20, 5 << 20} {
				_ = os.Remove(filepath.Join(mnt, "filler"))
				if err := os.WriteFile(p, []byte(old), 0o600); err != nil {
					t.Fatal(err)
				}
				unix.Sync()
				fillTo(t, mnt, free)
				unix.Sync()
				r := runTool(bin, runOpts{}, "--save-path", save, "set", "full1", "first", `"bbbbbb"`)
				got, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				label := fmt.Sprintf("%s with %d KB free", kind, availOf(t, mnt)>>10)
				switch {
				case string(got) == nb && r.exit == 0:
					outcomes["written"]++
				case string(got) == old && r.exit == 1:
					outcomes["refused, old bytes kept"]++
					if !strings.Contains(r.stderr, "space") || strings.Count(r.stderr, "\n") != 1 {
						t.Errorf("%s: refused without saying why in one line: %q", label, r.stderr)
					}
				default:
					t.Errorf("%s: set exited %d and left %d bytes (old %d, new %d; same as old %v, as new %v): %s",
						label, r.exit, len(got), len(old), len(nb), string(got) == old, string(got) == nb, r)
				}
			}
			t.Logf("%s: %v", kind, outcomes)
		})
	}
}
