package sessfile

import (
	"bufio"
	"context"
	"fmt"
	"os"
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

// procLocks is the kernel's table of file locks.
const procLocks = "/proc/locks"

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

// Locks reports every session whose file someone holds an flock(2) lock on
// now (PHP's files handler takes LOCK_EX for the length of a request), with
// the holder's pid and command from /proc/locks and /proc/PID/comm. Waiters
// are not holders and are not reported.
func (s *Store) Locks(ctx context.Context, fn func(store.Lock) error) error {
	held, err := readProcLocks(procLocks)
	if err != nil {
		return err
	}
	if len(held) == 0 {
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
		dev := uint64(st.Dev) //nolint:unconvert // the type differs between architectures
		since := lockedSince(st)
		for _, h := range held[fileID{unix.Major(dev), unix.Minor(dev), st.Ino}] {
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
// command, from /proc/locks), or "" when that cannot be told.
func flockHolder(st *unix.Stat_t) string {
	held, err := readProcLocks(procLocks)
	if err != nil {
		return ""
	}
	dev := uint64(st.Dev) //nolint:unconvert // the type differs between architectures
	var names []string
	for _, h := range held[fileID{unix.Major(dev), unix.Minor(dev), st.Ino}] {
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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "pid " + strconv.Itoa(pid)
	}
	return "pid " + strconv.Itoa(pid) + " (" + strings.TrimSpace(string(b)) + ")"
}
