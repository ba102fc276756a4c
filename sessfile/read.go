package sessfile

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/sesstool/sesstool/sessfile/flock"
	"golang.org/x/sys/unix"
)

// MaxSessionSize is the default Options.MaxSize: the largest session file
// Read and Update load into memory (PHP itself reads whole sessions).
const MaxSessionSize = 64 << 20

// A Read with Options.NoLock that finds 0 bytes looks again this many times,
// this far apart (PHP truncates a session before writing it).
const (
	noLockRetries   = 20
	noLockRetryWait = 2 * time.Millisecond
)

// TooLargeError is a session that was not read: larger than Options.MaxSize,
// or sparse (a file with holes, which PHP never writes: a planted file whose
// size is not its content). Nothing was allocated for it.
type TooLargeError struct {
	Size, Max int64
	Sparse    bool  // the file has holes
	Data      int64 // for a sparse file, where its first hole starts
}

func (e *TooLargeError) Error() string {
	if e.Sparse {
		return fmt.Sprintf("not read: a sparse file of %d bytes (a hole at %d; PHP never writes one, so it was not written by PHP)", e.Size, e.Data)
	}
	return fmt.Sprintf("not read: %d bytes, more than --max-size %d; pass a larger --max-size to read it", e.Size, e.Max)
}

// checkReadable refuses, before anything is allocated, a session file that
// is larger than max or that has a hole before its end. Only a file with
// fewer blocks than its size could have one: the others cost no lseek.
func checkReadable(fd int, size, max int64, blocks int64) error {
	if max <= 0 {
		max = MaxSessionSize
	}
	if size > max {
		return &TooLargeError{Size: size, Max: max}
	}
	if size > 0 && blocks*512 < size {
		if hole, err := unix.Seek(fd, 0, unix.SEEK_HOLE); err == nil && hole < size {
			return &TooLargeError{Size: size, Max: max, Sparse: true, Data: hole}
		}
	}
	return nil
}

// Stat returns the Info of session id without opening it. A missing session
// gives an error satisfying errors.Is(err, ErrNotFound); a name that holds
// something other than a regular file one satisfying ErrNotRegular.
func (s *Store) Stat(id string) (Info, error) {
	if err := s.sp.checkID(id); err != nil {
		return Info{}, err
	}
	dfd, release, err := s.dirs.acquire(id[:s.sp.Depth])
	if err != nil {
		return Info{}, fmt.Errorf("session %q: %w", id, err)
	}
	defer release()
	path := s.sp.join(s.relPath(id))
	var st unix.Stat_t
	if err := fstatat(dfd, filePrefix+id, &st); err != nil {
		return Info{}, openError(path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return Info{}, &fs.PathError{Op: "stat", Path: path, Err: ErrNotRegular}
	}
	return s.info(id, &st), nil
}

// Read returns the bytes of session id and its Info: the id is validated,
// the file opened without creating it (O_NOFOLLOW|O_NONBLOCK, regular files
// only), locked LOCK_SH waiting up to Options.LockTimeout (no lock with
// Options.NoLock), and read whole with the size seen under the lock, as PHP
// reads it. A lock not had in time is a *LockTimeoutError; a missing session
// an error satisfying ErrNotFound.
func (s *Store) Read(ctx context.Context, id string) ([]byte, Info, error) {
	data, info, release, err := s.ReadAdmitted(ctx, id, nil)
	release()
	if info.ID != "" {
		info.Path = s.pathOf(id)
	}
	return data, info, err
}

// ReadAdmitted is Read for callers that read many sessions at once and
// bound the memory they hold: admit, when not nil, is called with the size
// seen under the lock before the bytes are allocated, and may wait; the
// function it returns is returned as release (a no-op when admit is nil or
// was not called), never nil, for the caller to call once it is done with
// the bytes, after an error too. The Info's Path is left empty (the walk
// that gave the id has it).
func (s *Store) ReadAdmitted(ctx context.Context, id string, admit func(size int64) (release func())) (_ []byte, _ Info, release func(), _ error) {
	release = func() {}
	f, err := s.openSession(ctx, id, openReq{flags: unix.O_RDONLY, lock: !s.opts.NoLock, mode: flock.Shared, timeout: s.opts.LockTimeout, content: true})
	if err != nil {
		return nil, Info{}, release, err
	}
	defer f.close()
	info := Info{ID: id, Size: f.st.Size, ModTime: modTime(&f.st)}
	if err := checkReadable(f.fd, f.st.Size, s.opts.MaxSize, f.st.Blocks); err != nil {
		return nil, info, release, &fs.PathError{Op: "read", Path: s.pathOf(id), Err: err}
	}
	if admit != nil {
		release = admit(f.st.Size)
	}
	data, err := readAll(f.fd, f.st.Size, !s.opts.NoLock)
	if err != nil {
		return nil, Info{}, release, &fs.PathError{Op: "read", Path: s.pathOf(id), Err: err}
	}
	if s.opts.NoLock && len(data) == 0 {
		// PHP truncates a session before it writes it: without the lock,
		// 0 bytes is often a write in progress. Look again for a moment.
		for range noLockRetries {
			time.Sleep(noLockRetryWait)
			if err := fstat(f.fd, &f.st); err != nil || f.st.Size == 0 {
				continue
			}
			if err := checkReadable(f.fd, f.st.Size, s.opts.MaxSize, f.st.Blocks); err != nil {
				return nil, info, release, &fs.PathError{Op: "read", Path: s.pathOf(id), Err: err}
			}
			if admit != nil {
				release()
				release = admit(f.st.Size)
			}
			if data, err = readAll(f.fd, f.st.Size, false); err != nil {
				return nil, Info{}, release, &fs.PathError{Op: "read", Path: s.pathOf(id), Err: err}
			}
			if len(data) > 0 {
				break
			}
		}
	}
	info.Size = int64(len(data))
	return data, info, release, nil
}

// readAll reads size bytes from offset 0. strict makes a short read an error
// (under a lock the size cannot change); without a lock the bytes read so
// far are returned.
func readAll(fd int, size int64, strict bool) ([]byte, error) {
	buf := make([]byte, size)
	off := 0
	for off < len(buf) {
		n, err := unix.Pread(fd, buf[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			if strict {
				return nil, fmt.Errorf("read %d of %d bytes (the file shrank)", off, size)
			}
			break
		}
		off += n
	}
	return buf[:off], nil
}
