package sessfile

import (
	"bytes"
	"os"

	"golang.org/x/sys/unix"
)

// ownerScanLimit bounds how many directory entries setOwnerMode looks at to
// find another session to copy the owner from.
const ownerScanLimit = 4096

// setOwnerMode gives a session file Update just created its owner and mode.
//
// Mode: the save_path MODE (default 0600), set with fchmod so the umask does
// not change it (PHP masks it with the umask; sesstool sets exactly MODE).
//
// Owner, only when running as root (a non-root process creates files it owns
// itself, which PHP accepts when it runs as the same user):
//   - Options.OwnerUID/OwnerGID when >= 0 (--owner);
//   - else the owner of another sess_ regular file in the same directory (the
//     PHP workers' user, since PHP created it);
//   - else the directory's owner when that is not root (a save_path owned by
//     www-data);
//   - else the file stays root's, which PHP accepts (PHP-FACTS 1.3) but a
//     0600 root file is unreadable to the workers: Update reports this in
//     UpdateResult.Warning.
func (s *Store) setOwnerMode(fd, dfd int) error {
	if os.Geteuid() == 0 {
		uid, gid := s.ownerFor(dfd)
		if uid >= 0 || gid >= 0 {
			if err := retryEINTR(func() error { return unix.Fchown(fd, uid, gid) }); err != nil {
				return err
			}
		}
	}
	// After fchown, which clears set-id bits.
	return retryEINTR(func() error { return unix.Fchmod(fd, unixMode(s.sp.mode())) })
}

// ownerFor decides the owner of a session created in level directory dfd,
// as documented on setOwnerMode. -1 means "leave as is".
func (s *Store) ownerFor(dfd int) (uid, gid int) {
	if s.opts.OwnerUID >= 0 || s.opts.OwnerGID >= 0 {
		return s.opts.OwnerUID, s.opts.OwnerGID
	}
	if st, ok := findSessionOwner(dfd); ok {
		return int(st.Uid), int(st.Gid)
	}
	var st unix.Stat_t
	if err := retryEINTR(func() error { return unix.Fstat(dfd, &st) }); err == nil && st.Uid != 0 {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// findSessionOwner returns the stat of a non-root-owned sess_ regular file
// among the first entries of directory dfd.
func findSessionOwner(dfd int) (unix.Stat_t, bool) {
	var st unix.Stat_t
	fd, err := openatRetry(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, false
	}
	defer unix.Close(fd)
	buf := make([]byte, 32<<10)
	seen := 0
	for seen < ownerScanLimit {
		n, err := unix.Getdents(fd, buf)
		if err != nil || n <= 0 {
			return st, false
		}
		it := direntIter{b: buf[:n]}
		for {
			name, typ, ok := it.next()
			if !ok {
				break
			}
			seen++
			if (typ != unix.DT_REG && typ != unix.DT_UNKNOWN) || !bytes.HasPrefix(name, []byte(filePrefix)) {
				continue
			}
			if fstatat(dfd, string(name), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Uid != 0 {
				return st, true
			}
		}
	}
	return st, false
}
