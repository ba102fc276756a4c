package sessfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/sesstool/sesstool/sessfile/flock"
	"github.com/sesstool/sesstool/store"
	"golang.org/x/sys/unix"
)

// Update changes session id in place under LOCK_EX, held across reading the
// old bytes, calling fn and writing fn's result.
//
// A missing session is an error satisfying ErrNotFound unless create is
// true: then it is created with O_CREAT|O_EXCL|O_NOFOLLOW, the save_path
// MODE set exactly (fchmod) and, as root, the owner described on
// setOwnerMode. Level directories of an N; layout are never created.
//
// When fn returns bytes equal to the old ones nothing is written (the mtime
// stays). Otherwise the file is changed in place, keeping inode, mode and
// owner, in the order of CLI.md: the space for a longer content is reserved
// first (fallocate, or writing the new tail beyond the old end), so that a
// full disk fails before the old bytes are touched; then the new bytes are
// written at offset 0, the file truncated to their length and fsynced. If a
// write fails midway the old bytes are written back. Nothing is ever renamed
// and no byte is added to what fn returned.
//
// If fn returns an error, Update returns it (wrapped with the id) and the
// file is left as it was; a file created for this call is removed.
func (s *Store) Update(ctx context.Context, id string, create bool, fn UpdateFunc) (UpdateResult, error) {
	return s.update(ctx, id, create, fn, time.Time{})
}

// Put writes data as session id (created when missing) with the mtime
// life.ModTime (its age kept, for PHP's GC), under LOCK_EX like Update; an
// existing session keep says to leave is left as it is.
func (s *Store) Put(ctx context.Context, id string, data []byte, life store.Lifetime, keep func(cur []byte) bool) (bool, error) {
	wrote, _, err := s.PutWarn(ctx, id, data, life, keep)
	return wrote, err
}

// PutWarn is Put, with the warning Update gives when it created the file
// with a guessed owner (UpdateResult.Warning; "" when none).
func (s *Store) PutWarn(ctx context.Context, id string, data []byte, life store.Lifetime, keep func(cur []byte) bool) (bool, string, error) {
	mtime := life.ModTime
	if mtime.IsZero() {
		mtime = time.Now()
	}
	res, err := s.update(ctx, id, true, store.PutUpdate(data, keep), mtime)
	return res.Changed || res.Created, res.Warning, err
}

// update is Update; a non-zero mtime is set on the file after the write,
// under the lock.
func (s *Store) update(ctx context.Context, id string, create bool, fn UpdateFunc, mtime time.Time) (UpdateResult, error) {
	var res UpdateResult
	if fn == nil {
		return res, errors.New("sessfile: Update with a nil function")
	}
	f, err := s.openSession(ctx, id, openReq{flags: unix.O_RDWR, lock: true, mode: flock.Exclusive, timeout: s.opts.LockTimeout, create: create, content: true})
	if err != nil {
		return res, err
	}
	defer f.close()
	path := s.sp.join(s.relPath(id))
	undoCreate := func() {
		if f.created {
			_ = unix.Unlinkat(f.dfd, f.name, 0)
		}
	}
	if err := checkReadable(f.fd, f.st.Size, s.opts.MaxSize, f.st.Blocks); err != nil {
		return res, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	old, err := readAll(f.fd, f.st.Size, true)
	if err != nil {
		undoCreate()
		return res, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	exists := !f.created
	nb, err := fn(old, exists)
	if err != nil {
		undoCreate()
		return res, fmt.Errorf("session %q: %w", id, err)
	}
	res.Created = f.created
	if f.created && f.ownerGuess != "" {
		why := s.opts.OwnerUnknown
		if why == "" {
			why = "no owner was given"
		}
		res.Warning = fmt.Sprintf("created %s owned by %s, the save_path's owner (%s): if PHP runs as another user, pass --owner USER", path, f.ownerGuess, why)
	}
	setTime := func() error {
		if mtime.IsZero() {
			return nil
		}
		tv := []unix.Timeval{unix.NsecToTimeval(time.Now().UnixNano()), unix.NsecToTimeval(mtime.UnixNano())}
		if err := unix.Futimes(f.fd, tv); err != nil {
			return &fs.PathError{Op: "set the mtime of", Path: path, Err: err}
		}
		return nil
	}
	if bytes.Equal(nb, old) {
		if f.created {
			// An empty new session: make it durable like any write.
			_ = s.ops.fsync(f.fd)
			return res, setTime()
		}
		return res, nil
	}
	if err := s.writeInPlace(f.fd, old, nb, f.created); err != nil {
		var fe *fsyncError
		if errors.As(err, &fe) {
			// The bytes are there: say so, keep them.
			res.Changed = true
			return res, &fs.PathError{Op: "write", Path: path, Err: err}
		}
		undoCreate()
		return res, &fs.PathError{Op: "write", Path: path, Err: err}
	}
	res.Changed = true
	return res, setTime()
}

// writeInPlace replaces the content old of fd with nb, in place, so that a
// failure leaves the old bytes (CLI.md "A failed write leaves the old
// bytes"): the space for every byte about to be written is made sure of
// before the first old byte is touched. created words the errors for a file
// this call created (it has no old content to keep).
func (s *Store) writeInPlace(fd int, old, nb []byte, created bool) error {
	oldLen, newLen := int64(len(old)), int64(len(nb))
	unchanged, restored := "session left unchanged", "old content restored"
	if created {
		unchanged, restored = "the new session was not created", "the new session was not created"
	}
	// Only the bytes that differ are written: the shorter the write, the
	// smaller the window in which a SIGKILL (which nothing can defer) or a
	// crash leaves a mix of old and new bytes. Bytes the old content
	// already has at the same offset are not rewritten (a common prefix;
	// and a common suffix when the length stays).
	from, to := diffRange(old, nb)
	if err := s.checkSpace(fd, int64(to-from), unchanged); err != nil {
		return err
	}
	if newLen > oldLen {
		if err := s.ops.reserve(fd, newLen); err != nil {
			if !notSupported(err) {
				return fmt.Errorf("reserving %d bytes (%s): %w", newLen, unchanged, err)
			}
			// No fallocate here: grow by writing the new tail beyond the
			// old end first; on failure cut it off again.
			if err := s.writeFull(fd, nb[oldLen:], oldLen); err != nil {
				if terr := s.ops.ftruncate(fd, oldLen); terr != nil {
					return fmt.Errorf("growing to %d bytes: %w; and cutting back to %d bytes failed: %v", newLen, err, oldLen, terr)
				}
				return fmt.Errorf("growing to %d bytes (%s): %w", newLen, unchanged, err)
			}
		}
	}
	// Blocks shared with another file (a reflink copy on xfs, say) need
	// new ones before they can be overwritten: unshare them now.
	if to > from {
		if err := s.ops.unshare(fd, int64(from), int64(to-from)); err != nil && !notSupported(err) {
			return fmt.Errorf("making sure of the space to rewrite %d bytes (%s): %w", to-from, unchanged, err)
		}
	}
	err := s.writeFull(fd, nb[from:to], int64(from))
	if err == nil && newLen < oldLen {
		err = s.ops.ftruncate(fd, newLen)
	}
	if err != nil {
		// Put the old bytes back.
		rerr := s.writeFull(fd, old[from:], int64(from))
		var st unix.Stat_t
		if rerr == nil {
			rerr = fstat(fd, &st)
		}
		if rerr == nil && st.Size != oldLen {
			rerr = s.ops.ftruncate(fd, oldLen)
		}
		if rerr == nil {
			rerr = s.ops.fsync(fd)
		}
		if rerr != nil {
			return fmt.Errorf("%w; restoring the old %d bytes failed too: %v", err, oldLen, rerr)
		}
		return fmt.Errorf("%w (%s)", err, restored)
	}
	if err := s.ops.fsync(fd); err != nil {
		return &fsyncError{n: newLen, err: err}
	}
	return nil
}

// fsyncError is a write whose bytes landed but whose fsync failed.
type fsyncError struct {
	n   int64
	err error
}

func (e *fsyncError) Error() string {
	return fmt.Sprintf("the new %d bytes were written, but fsync failed, so they may not survive a crash: %v", e.n, e.err)
}

func (e *fsyncError) Unwrap() error { return e.err }

// notSupported reports whether err says the file system lacks an fallocate
// mode.
func notSupported(err error) bool {
	return errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL)
}

// Copy-on-write file systems, by statfs f_type: overwriting a byte there
// takes a new block, which fallocate cannot reserve.
var cowFileSystems = map[int64]string{
	0x9123683E: "btrfs",
	0xCA451A4E: "bcachefs",
	0x2FC12FC1: "zfs",
	0x3434:     "nilfs2",
	0xF2F52010: "f2fs",
}

// cowMargin is the free space, beyond the bytes to write, that a rewrite on
// a copy-on-write file system must leave (metadata: btrfs keeps two copies
// of it by default).
func cowMargin(n int64) int64 { return 1<<20 + n/8 }

// checkSpace refuses, before anything is written, a rewrite of n bytes on
// a copy-on-write file system that has not the free space for them.
func (s *Store) checkSpace(fd int, n int64, unchanged string) error {
	if n == 0 {
		return nil
	}
	fsType, avail, err := s.ops.space(fd)
	if err != nil {
		return nil // unknown: the write itself will say
	}
	name, cow := cowFileSystems[fsType]
	if !cow || avail >= n+cowMargin(n) {
		return nil
	}
	return &SpaceError{FS: name, Need: n + cowMargin(n), Avail: avail, Unchanged: unchanged}
}

// SpaceError is a write refused before it started: on a copy-on-write file
// system every overwritten byte needs a new block, and there is not room
// enough for them (a write that ran out of space halfway could not even
// put the old bytes back).
type SpaceError struct {
	FS          string
	Need, Avail int64
	Unchanged   string
}

func (e *SpaceError) Error() string {
	return fmt.Sprintf("not enough free space on this %s file system to rewrite the session: it needs about %d bytes, %d are free (%s); free some space and try again", e.FS, e.Need, e.Avail, e.Unchanged)
}

// Is makes errors.Is(err, unix.ENOSPC) true.
func (e *SpaceError) Is(target error) bool { return target == unix.ENOSPC }

// diffRange returns the range nb[from:to] that differs from old at the same
// offsets: everything after their common prefix, less their common suffix
// when both have the same length.
func diffRange(old, nb []byte) (from, to int) {
	n := min(len(old), len(nb))
	for from < n && old[from] == nb[from] {
		from++
	}
	to = len(nb)
	if len(old) == len(nb) {
		for to > from && old[to-1] == nb[to-1] {
			to--
		}
	}
	return from, to
}

// writeFull writes all of p at off, continuing after short writes; a write
// that makes no progress is an error.
func (s *Store) writeFull(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		n, err := s.ops.pwrite(fd, p, off)
		if err != nil {
			return err
		}
		if n <= 0 {
			return fmt.Errorf("short write at offset %d: %w", off, unix.EIO)
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}
