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
