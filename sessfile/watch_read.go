package sessfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/sesstool/sesstool/sessfile/flock"
)

// readState is the outcome of one non-blocking read of a session file.
type readState int

const (
	readOK     readState = iota // data holds the whole file, read under LOCK_SH
	readLocked                  // another process holds LOCK_EX: try again later
	readGone                    // the file does not exist (or is not a regular file)
)

// maxWatchRead bounds how much of one session watch reads: a session file
// is read whole, and a file larger than this is not a session PHP wrote for
// a web request. Larger files are reported with their size, undecoded.
const maxWatchRead = 64 << 20

// fileKey identifies one file (inode) for as long as it exists: a session
// file replaced by another (unlinked and created again) has another key,
// unless the file system reuses the inode number at once (ext4 does), which
// is why watch counts removal events too.
type fileKey struct{ dev, ino uint64 }

// readResult is the outcome of tryReadSession.
type readResult struct {
	state readState
	data  []byte  // the whole file (readOK), nil when larger than maxWatchRead
	size  int64   // its size (readOK, and readLocked as last seen)
	key   fileKey // the file read (readOK) or found locked (readLocked)
}

// tryReadSession makes one attempt to read the session file at path under a
// shared flock without waiting: a session locked by a running request is
// readLocked, a file that vanished (or is a symlink, a directory, ...) is
// readGone (a socket too). It never blocks on a lock. With noLock it reads
// without taking the lock (--no-lock: a write in progress may be seen half
// done). data is nil when the file is larger than maxWatchRead (size still
// says how large it is). A locked file still has its key and size as seen
// when the lock was tried.
func tryReadSession(path string, noLock bool) (readResult, error) {
	// O_NOATIME where permitted (as openatRead): watching leaves the
	// access time, a lock's "since", alone.
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		f, err = os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ENXIO) {
			return readResult{state: readGone}, nil
		}
		return readResult{}, fmt.Errorf("open session %s: %w", path, err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return readResult{}, fmt.Errorf("stat session %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return readResult{state: readGone}, nil
	}
	if !noLock {
		ok, err := flock.TryLock(f, flock.Shared)
		if err != nil {
			return readResult{}, err
		}
		if !ok {
			return readResult{state: readLocked, size: st.Size, key: statKey(&st)}, nil
		}
	}
	// Closing f releases the lock. Re-stat under the lock: the writer we
	// waited for may have changed the size.
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return readResult{}, fmt.Errorf("stat session %s: %w", path, err)
	}
	if st.Nlink == 0 {
		// Unlinked between our open and our lock (PHP's destroy closes
		// then unlinks): the session is gone.
		return readResult{state: readGone}, nil
	}
	res := readResult{state: readOK, size: st.Size, key: statKey(&st)}
	if st.Size > maxWatchRead {
		return res, nil
	}
	data, err := readAllFrom(f, make([]byte, 0, st.Size))
	if err != nil {
		return readResult{}, fmt.Errorf("read session %s: %w", path, err)
	}
	res.data, res.size = data, int64(len(data))
	return res, nil
}

// statKey is the identity of the file st describes.
func statKey(st *unix.Stat_t) fileKey {
	return fileKey{dev: uint64(st.Dev), ino: uint64(st.Ino)} //nolint:unconvert // Dev/Ino types differ between architectures
}

// readAllFrom appends everything left in r to buf, at most maxWatchRead bytes.
func readAllFrom(r io.Reader, buf []byte) ([]byte, error) {
	lr := io.LimitReader(r, maxWatchRead)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
