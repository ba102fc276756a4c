package sessfile

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"golang.org/x/sys/unix"
)

// dirCacheSize bounds how many level directories a Store keeps open. Walk
// visits each level directory once, in turn, so a small cache serves gc's
// Expire calls that follow the walk.
const dirCacheSize = 32

// dirCache holds open level directories of an N; layout, keyed by their
// prefix ("ab" for DIR/a/b), so that per-file operations need one openat
// instead of N+1.
type dirCache struct {
	s  *Store
	mu sync.Mutex
	m  map[string]*dirRef
}

type dirRef struct {
	fd    int
	refs  int
	stale bool // evicted while in use: close on last release
}

func newDirCache(s *Store) *dirCache {
	return &dirCache{s: s, m: make(map[string]*dirRef)}
}

// acquire returns a descriptor of the level directory for prefix (the
// save_path itself for ""), opened with O_PATH|O_NOFOLLOW at every level,
// and the function that releases it.
func (c *dirCache) acquire(prefix string) (int, func(), error) {
	if prefix == "" {
		if c.s.rfd < 0 {
			return -1, nil, errClosed
		}
		return c.s.rfd, func() {}, nil
	}
	c.mu.Lock()
	if c.s.rfd < 0 {
		c.mu.Unlock()
		return -1, nil, errClosed
	}
	if r, ok := c.m[prefix]; ok {
		r.refs++
		c.mu.Unlock()
		return r.fd, c.releaser(r), nil
	}
	c.mu.Unlock()
	fd, err := c.s.openLevel(prefix, unix.O_PATH)
	if err != nil {
		return -1, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.m[prefix]; ok { // opened concurrently: use that one
		_ = unix.Close(fd)
		r.refs++
		return r.fd, c.releaser(r), nil
	}
	if len(c.m) >= dirCacheSize {
		for k, r := range c.m {
			delete(c.m, k)
			if r.refs == 0 {
				_ = unix.Close(r.fd)
			} else {
				r.stale = true
			}
		}
	}
	r := &dirRef{fd: fd, refs: 1}
	c.m[prefix] = r
	return fd, c.releaser(r), nil
}

func (c *dirCache) releaser(r *dirRef) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			r.refs--
			if r.refs == 0 && r.stale {
				_ = unix.Close(r.fd)
			}
		})
	}
}

func (c *dirCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, r := range c.m {
		delete(c.m, k)
		if r.refs == 0 {
			_ = unix.Close(r.fd)
		} else {
			r.stale = true
		}
	}
}

// openLevel opens the level directory for prefix, one openat per character
// with O_DIRECTORY|O_NOFOLLOW, so that no symlink is ever followed. flags
// adds O_PATH (lookups only) or O_RDONLY (to list it). A missing directory
// gives an error satisfying fs.ErrNotExist; a symlink or non-directory one
// satisfying ErrNotRegular.
func (s *Store) openLevel(prefix string, flags int) (int, error) {
	dfd := s.rfd
	if dfd < 0 {
		return -1, errClosed
	}
	for i := 0; i < len(prefix); i++ {
		name := prefix[i : i+1]
		fl := unix.O_PATH
		if i == len(prefix)-1 {
			fl = flags
		}
		fd, err := openatRetry(dfd, name, fl|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if dfd != s.rfd {
			_ = unix.Close(dfd)
		}
		if err != nil {
			return -1, s.levelError(prefix[:i+1], err)
		}
		dfd = fd
	}
	return dfd, nil
}

// levelError describes a failure to open the level directory for prefix.
func (s *Store) levelError(prefix string, err error) error {
	path := s.sp.join(levelRel(prefix))
	switch {
	case errors.Is(err, unix.ENOENT):
		return &fs.PathError{Op: "open level directory", Path: path,
			Err: fmt.Errorf("%w (PHP does not create level directories either; see PHP's mod_files.sh)", fs.ErrNotExist)}
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return &fs.PathError{Op: "open level directory", Path: path,
			Err: fmt.Errorf("%w: not a real directory (a symlink is never followed)", ErrNotRegular)}
	}
	return &fs.PathError{Op: "open level directory", Path: path, Err: err}
}

// levelRel turns a prefix "ab" into the relative directory "a/b".
func levelRel(prefix string) string {
	b := make([]byte, 0, 2*len(prefix))
	for i := 0; i < len(prefix); i++ {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, prefix[i])
	}
	return string(b)
}

// openatRead opens an existing file; one opened read-only gets O_NOATIME
// where the caller may ask for it (the file's owner, or CAP_FOWNER: EPERM
// otherwise, and then it is opened without), so that sesstool's reads
// leave the access time alone: a lock's "since" (locks) is the access time
// PHP's read set.
func openatRead(dfd int, name string, flags int) (int, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return openatRetry(dfd, name, flags, 0)
	}
	fd, err := openatRetry(dfd, name, flags|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		return openatRetry(dfd, name, flags, 0)
	}
	return fd, err
}

func openatRetry(dfd int, name string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Openat(dfd, name, flags, mode)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
