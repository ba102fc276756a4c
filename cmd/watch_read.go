package cmd

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

// tryReadSession makes one attempt to read the session file at path under a
// shared flock without waiting: a session locked by a running request is
// readLocked, a file that vanished (or is a symlink, a directory, ...) is
// readGone (a socket too). It never blocks on a lock. With noLock it reads without taking
// the lock (--no-lock: a write in progress may be seen half done). data is
// nil when the file is larger than maxWatchRead (size still says how large
// it is).
func tryReadSession(path string, noLock bool) (state readState, data []byte, size int64, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ENXIO) {
			return readGone, nil, 0, nil
		}
		return 0, nil, 0, fmt.Errorf("open session %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, nil, 0, fmt.Errorf("stat session %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return readGone, nil, 0, nil
	}
	if !noLock {
		ok, err := flock.TryLock(f, flock.Shared)
		if err != nil {
			return 0, nil, 0, err
		}
		if !ok {
			return readLocked, nil, 0, nil
		}
	}
	// Closing f releases the lock. Re-stat under the lock: the writer we
	// waited for may have changed the size.
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, nil, 0, fmt.Errorf("stat session %s: %w", path, err)
	}
	if st.Nlink == 0 {
		// Unlinked between our open and our lock (PHP's destroy closes
		// then unlinks): the session is gone.
		return readGone, nil, 0, nil
	}
	size = st.Size
	if size > maxWatchRead {
		return readOK, nil, size, nil
	}
	data = make([]byte, 0, size)
	data, err = readAllFrom(f, data)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("read session %s: %w", path, err)
	}
	return readOK, data, int64(len(data)), nil
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
