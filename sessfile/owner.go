package sessfile

import (
	"fmt"
	"os"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

// setOwnerMode gives a session file Update just created its owner and mode.
//
// Mode: the save_path MODE (default 0600), set with fchmod so the umask does
// not change it (PHP masks it with the umask; sesstool sets exactly MODE).
//
// Owner, only when running as root (a non-root process creates files it owns
// itself, which PHP accepts when it runs as the same user):
//   - Options.OwnerUID/OwnerGID when >= 0: --owner, or the PHP user the
//     caller found in the SAPI's configuration;
//   - else the save_path directory's owner, and guess says so (Update warns).
//
// The owner is never taken from other sess_* files: on a save_path that
// every local user may write (Debian's 1733), anyone can plant one.
func (s *Store) setOwnerMode(fd, dfd int) (guess string, err error) {
	if os.Geteuid() == 0 {
		uid, gid := s.opts.OwnerUID, s.opts.OwnerGID
		if uid < 0 && gid < 0 {
			var st unix.Stat_t
			if err := retryEINTR(func() error { return unix.Fstat(s.rfd, &st) }); err == nil {
				uid, gid = int(st.Uid), int(st.Gid)
				guess = ownerName(st.Uid)
			}
		}
		if uid >= 0 || gid >= 0 {
			if err := retryEINTR(func() error { return unix.Fchown(fd, uid, gid) }); err != nil {
				return guess, err
			}
		}
	}
	// After fchown, which clears set-id bits.
	return guess, retryEINTR(func() error { return unix.Fchmod(fd, unixMode(s.sp.mode())) })
}

// ownerName is a user's name, else its uid.
func ownerName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return fmt.Sprintf("%s (uid %s)", u.Username, id)
	}
	return "uid " + id
}
