package hostile

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// spy watches every file and directory under a tree with inotify. inotify
// watches inodes, so an open through a symlink or a hard link elsewhere is
// seen too; stat and lstat are not (they are harmless).
type spy struct {
	fd    int
	paths map[int]string // watch descriptor -> path
}

const spyMask = unix.IN_OPEN | unix.IN_ACCESS | unix.IN_MODIFY | unix.IN_ATTRIB |
	unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_DELETE_SELF |
	unix.IN_MOVE_SELF | unix.IN_MOVED_FROM | unix.IN_MOVED_TO

// newSpy starts watching root and everything under it (without following
// symlinks; FIFOs and device nodes are watched without being opened).
func newSpy(t testing.TB, root string) *spy {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify_init1: %v", err)
	}
	s := &spy{fd: fd, paths: map[int]string{}}
	t.Cleanup(func() { _ = unix.Close(fd) })
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		wd, err := unix.InotifyAddWatch(fd, p, spyMask|unix.IN_DONT_FOLLOW)
		if err != nil {
			return fmt.Errorf("inotify_add_watch %s: %w", p, err)
		}
		s.paths[wd] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.drain() // the walk above is itself a reader
	return s
}

// drain returns the events since the last drain, as "PATH[/NAME] EVENTS".
func (s *spy) drain() []string {
	var out []string
	buf := make([]byte, 64*1024)
	for {
		n, err := unix.Read(s.fd, buf)
		if n <= 0 || err != nil {
			return out
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := ""
			if ev.Len > 0 {
				nb := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				name = "/" + strings.TrimRight(string(nb), "\x00")
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_IGNORED != 0 {
				continue
			}
			out = append(out, s.paths[int(ev.Wd)]+name+" "+maskString(ev.Mask))
		}
	}
}

func maskString(m uint32) string {
	var parts []string
	for _, b := range []struct {
		bit  uint32
		name string
	}{
		{unix.IN_OPEN, "OPEN"}, {unix.IN_ACCESS, "ACCESS(read)"}, {unix.IN_MODIFY, "MODIFY(write)"},
		{unix.IN_ATTRIB, "ATTRIB"}, {unix.IN_CLOSE_WRITE, "CLOSE_WRITE"}, {unix.IN_CREATE, "CREATE"},
		{unix.IN_DELETE, "DELETE"}, {unix.IN_DELETE_SELF, "DELETE_SELF"}, {unix.IN_MOVE_SELF, "MOVE_SELF"},
		{unix.IN_MOVED_FROM, "MOVED_FROM"}, {unix.IN_MOVED_TO, "MOVED_TO"}, {unix.IN_ISDIR, "ISDIR"},
	} {
		if m&b.bit != 0 {
			parts = append(parts, b.name)
		}
	}
	return strings.Join(parts, "|")
}

// entry is what a snapshot keeps of one path.
type entry struct {
	mode  fs.FileMode
	size  int64
	mtime int64
	nlink uint64
	hash  [32]byte
	link  string
}

// snapshot records every path under root (lstat, symlink targets, content
// hashes of regular files). Reading for the hash must happen while no spy
// is draining: the test's own reads are events too.
func snapshot(t testing.TB, root string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: fi.Mode(), size: fi.Size(), mtime: fi.ModTime().UnixNano(), nlink: uint64(st.Nlink)}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.hash = sha256.Sum256(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			e.link, _ = os.Readlink(p)
		}
		m[p] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// diffSnapshots lists what changed between two snapshots. Link counts are
// compared only when withNlink (unlinking a hard link inside the save_path
// changes the outside file's count, and that is the save_path's business).
func diffSnapshots(before, after map[string]entry, withNlink bool) []string {
	var d []string
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			d = append(d, p+" was deleted")
		case a.mode != b.mode || a.size != b.size || a.mtime != b.mtime || a.hash != b.hash || a.link != b.link:
			d = append(d, fmt.Sprintf("%s changed: mode %v->%v size %d->%d mtime %d->%d content same %v",
				p, b.mode, a.mode, b.size, a.size, b.mtime, a.mtime, a.hash == b.hash))
		case withNlink && a.nlink != b.nlink:
			d = append(d, fmt.Sprintf("%s link count %d->%d", p, b.nlink, a.nlink))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, p+" was created")
		}
	}
	return d
}
