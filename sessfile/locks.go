package sessfile

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/store"
)

// Capabilities says what the files store does: sessions are files swept by
// age, followed with inotify.
func (s *Store) Capabilities() store.Capabilities {
	return store.Capabilities{Handler: "files", Files: true, Watch: true}
}

// Where is the save_path as PHP would write it.
func (s *Store) Where() string { return s.sp.String() }

// procLocks is the kernel's table of file locks, and procRoot where each
// process's fd and fdinfo directories are.
var (
	procLocks = "/proc/locks"
	procRoot  = "/proc"
)

// statDev is the device stat(2) gives a file, as /proc/locks would spell
// it where the two agree. They do not on btrfs subvolumes (stat gives the
// subvolume's anonymous device, /proc/locks the filesystem's) or overlayfs
// (stat gives the overlay's, /proc/locks the underlying file's): there
// heldBy maps the lock through the holder's fds. A variable for tests.
var statDev = func(st *syscall.Stat_t) uint64 {
	return uint64(st.Dev) //nolint:unconvert // the type differs between architectures
}

// flockHeld is one flock(2) lock from /proc/locks.
type flockHeld struct {
	pid       int
	exclusive bool
}

// fileID is a file's device and inode as /proc/locks names them.
type fileID struct {
	major, minor uint32
	ino          uint64
}

// statID is a file's device and inode as stat(2) gives them.
type statID struct {
	dev, ino uint64
}

// lockTable is /proc/locks' flocks, matched to files by stat.
type lockTable struct {
	held map[fileID][]flockHeld
	// byFD are the flocks /proc/locks names on a device other than the
	// one stat gives (dir's), matched to files through the holder's
	// /proc/PID/fd and fdinfo: computed once, when first needed.
	byFD   map[statID][]flockHeld
	dirDev uint64
}

func readLockTable(dir string) (*lockTable, error) {
	held, err := readProcLocks(procLocks)
	if err != nil {
		return nil, err
	}
	t := &lockTable{held: held}
	var st syscall.Stat_t
	if syscall.Stat(dir, &st) == nil {
		t.dirDev = statDev(&st)
	}
	return t, nil
}

// heldBy returns the flocks held on the file st describes: those
// /proc/locks names by its device and inode, else those a process holds
// through an fd open on it (fdinfo's "lock:" lines name the lock of that
// very open file).
func (t *lockTable) heldBy(st *syscall.Stat_t) []flockHeld {
	dev := statDev(st)
	if h := t.held[fileID{unix.Major(dev), unix.Minor(dev), st.Ino}]; len(h) > 0 {
		return h
	}
	if t.byFD == nil {
		t.mapByFD()
	}
	return t.byFD[statID{dev, st.Ino}]
}

// mapByFD looks, for every flock that /proc/locks names on a device other
// than the save_path's, at its holder's fds: the one whose fdinfo lists
// that lock is the locked file, and stat of /proc/PID/fd/N gives its
// device and inode as the walk sees them. Only fds open on sess_* files
// are looked at; processes whose fds cannot be read (another user's, when
// not root) are skipped.
func (t *lockTable) mapByFD() {
	t.byFD = map[statID][]flockHeld{}
	want := map[int]map[fileID]flockHeld{} // pid → the locks to find
	for id, hs := range t.held {
		if t.dirDev != 0 && id.major == unix.Major(t.dirDev) && id.minor == unix.Minor(t.dirDev) {
			continue // same device: a session would have matched directly
		}
		for _, h := range hs {
			if want[h.pid] == nil {
				want[h.pid] = map[fileID]flockHeld{}
			}
			want[h.pid][id] = h
		}
	}
	for pid, locks := range want {
		fdDir := procRoot + "/" + strconv.Itoa(pid) + "/fd"
		ents, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			link, err := os.Readlink(fdDir + "/" + e.Name())
			if err != nil || !strings.HasPrefix(filepath.Base(strings.TrimSuffix(link, " (deleted)")), "sess_") {
				continue
			}
			for _, id := range fdinfoLocks(procRoot + "/" + strconv.Itoa(pid) + "/fdinfo/" + e.Name()) {
				h, ok := locks[id]
				if !ok {
					continue
				}
				var st syscall.Stat_t
				if syscall.Stat(fdDir+"/"+e.Name(), &st) != nil {
					continue
				}
				k := statID{statDev(&st), st.Ino}
				t.byFD[k] = append(t.byFD[k], h)
			}
		}
	}
}

// fdinfoLocks reads the FLOCK locks of an fdinfo file's "lock:" lines
// ("lock:\t1: FLOCK  ADVISORY  WRITE 4242 00:2d:1234 0 EOF").
func fdinfoLocks(path string) []fileID {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var ids []fileID
	for _, l := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(l, "lock:")
		if !ok {
			continue
		}
		fl := strings.Fields(rest)
		if len(fl) < 6 || fl[1] != "FLOCK" {
			continue
		}
		if id, ok := parseFileID(fl[5]); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// Locks reports every session whose file someone holds an flock(2) lock on
// now (PHP's files handler takes LOCK_EX for the length of a request), with
// the holder's pid and command from /proc/locks and /proc/PID/comm (mapped
// to the file through /proc/PID/fd and fdinfo where /proc/locks' device
// is not stat's). Waiters are not holders and are not reported.
func (s *Store) Locks(ctx context.Context, fn func(store.Lock) error) error {
	t, err := readLockTable(s.sp.Dir)
	if err != nil {
		return err
	}
	if len(t.held) == 0 {
		return nil
	}
	return s.Walk(ctx, func(info Info) error {
		fi, err := os.Lstat(info.Path)
		if err != nil {
			return nil // gone meanwhile
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		since := lockedSince(st)
		for _, h := range t.heldBy(st) {
			kind := "flock LOCK_SH"
			if h.exclusive {
				kind = "flock LOCK_EX"
			}
			l := store.Lock{ID: info.ID, Holder: procName(h.pid), Kind: kind, Where: info.Path}
			if !since.IsZero() {
				l.Age = max(time.Since(since), 0)
			}
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// lockedSince estimates when the request holding a session took it: the
// kernel keeps no time for an flock, but PHP reads the file right after
// locking it, and under relatime (Linux's default) that read sets the
// access time whenever it is not after the last write (PHP's write or
// touch at the end of every request sets both to one time). So an access
// time after the modification time is at or before the lock was taken
// (another reader can only have come earlier: later ones find it newer
// and leave it), and the age it gives is an upper bound. One not after it
// means the filesystem does not keep it (noatime), or no read set it:
// zero, unknown.
func lockedSince(st *syscall.Stat_t) time.Time {
	at := time.Unix(st.Atim.Sec, st.Atim.Nsec) //nolint:unconvert // the types differ between architectures
	mt := time.Unix(st.Mtim.Sec, st.Mtim.Nsec) //nolint:unconvert // the types differ between architectures
	if !at.After(mt) {
		return time.Time{}
	}
	return at
}

// flockHolder names who holds an flock on the file st describes (pid and
// command, from /proc/locks, through the holder's fds where its device is
// not stat's), or "" when that cannot be told.
func flockHolder(st *unix.Stat_t) string {
	held, err := readProcLocks(procLocks)
	if err != nil {
		return ""
	}
	s := syscall.Stat_t{Dev: st.Dev, Ino: st.Ino}
	t := &lockTable{held: held, dirDev: statDev(&s)}
	var names []string
	for _, h := range t.heldBy(&s) {
		names = append(names, procName(h.pid))
	}
	return strings.Join(names, ", ")
}

// readProcLocks parses the FLOCK lines of a /proc/locks table ("1: FLOCK
// ADVISORY WRITE 4242 fd:01:1234 0 EOF"), holders only ("->" lines wait).
func readProcLocks(path string) (map[fileID][]flockHeld, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the kernel's lock table: %w", err)
	}
	defer f.Close()
	held := map[fileID][]flockHeld{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 6 || fl[1] != "FLOCK" {
			continue // a waiter ("->"), a POSIX or OFD lock, a short line
		}
		pid, err := strconv.Atoi(fl[4])
		if err != nil {
			continue
		}
		id, ok := parseFileID(fl[5])
		if !ok {
			continue
		}
		held[id] = append(held[id], flockHeld{pid: pid, exclusive: fl[3] == "WRITE"})
	}
	return held, sc.Err()
}

// parseFileID reads "MAJ:MIN:INODE" (major and minor in hex, inode in
// decimal).
func parseFileID(s string) (fileID, bool) {
	p := strings.Split(s, ":")
	if len(p) != 3 {
		return fileID{}, false
	}
	maj, err1 := strconv.ParseUint(p[0], 16, 32)
	mnr, err2 := strconv.ParseUint(p[1], 16, 32)
	ino, err3 := strconv.ParseUint(p[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return fileID{}, false
	}
	return fileID{uint32(maj), uint32(mnr), ino}, true
}

// procName is "pid N (comm)", or "pid N" when the process is gone.
func procName(pid int) string {
	b, err := os.ReadFile(procRoot + "/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "pid " + strconv.Itoa(pid)
	}
	return "pid " + strconv.Itoa(pid) + " (" + strings.TrimSpace(string(b)) + ")"
}
