package sessfile

import "golang.org/x/sys/unix"

// fileOps is the write seam: the system calls Update uses to change a
// session file's content. Tests replace Store.ops to inject ENOSPC and short
// writes; production uses sysOps.
type fileOps interface {
	// reserve makes sure the blocks for the first n bytes exist without
	// changing the file's size (fallocate FALLOC_FL_KEEP_SIZE).
	reserve(fd int, n int64) error
	pwrite(fd int, p []byte, off int64) (int, error)
	ftruncate(fd int, n int64) error
	fsync(fd int) error
	// unshare gives the n bytes at off blocks of their own, so that
	// overwriting them needs no new ones (fallocate
	// FALLOC_FL_UNSHARE_RANGE; not supported on most file systems).
	unshare(fd int, off, n int64) error
	// space returns the file system's type (statfs f_type) and the bytes
	// an unprivileged write may still use.
	space(fd int) (fsType, avail int64, err error)
}

// sysOps is fileOps on the real system calls.
type sysOps struct{}

func (sysOps) reserve(fd int, n int64) error {
	return retryEINTR(func() error { return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, 0, n) })
}

func (sysOps) pwrite(fd int, p []byte, off int64) (int, error) {
	for {
		n, err := unix.Pwrite(fd, p, off)
		if err == unix.EINTR {
			continue
		}
		if n < 0 {
			n = 0
		}
		return n, err
	}
}

func (sysOps) ftruncate(fd int, n int64) error {
	return retryEINTR(func() error { return unix.Ftruncate(fd, n) })
}

func (sysOps) unshare(fd int, off, n int64) error {
	return retryEINTR(func() error {
		return unix.Fallocate(fd, unix.FALLOC_FL_UNSHARE_RANGE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	})
}

func (sysOps) space(fd int) (int64, int64, error) {
	var st unix.Statfs_t
	if err := retryEINTR(func() error { return unix.Fstatfs(fd, &st) }); err != nil {
		return 0, 0, err
	}
	return int64(st.Type), int64(st.Bavail) * int64(st.Bsize), nil
}

func (sysOps) fsync(fd int) error {
	return retryEINTR(func() error { return unix.Fsync(fd) })
}

func retryEINTR(f func() error) error {
	for {
		err := f()
		if err != unix.EINTR {
			return err
		}
	}
}
