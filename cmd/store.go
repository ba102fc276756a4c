package cmd

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"

	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/store"
)

// OpenStore opens the effective save_path (see Settings) with the global
// lock and owner options. The caller closes the store.
func (f *Factory) OpenStore() (*sessfile.Store, *Settings, error) {
	st, err := f.Settings()
	if err != nil {
		return nil, nil, err
	}
	sp, err := sessfile.ParseSavePath(st.SavePath.Value)
	if err != nil {
		return nil, st, usage(fmt.Errorf("%w (from %s)", err, st.SavePath.Source))
	}
	opts := sessfile.DefaultOptions()
	opts.LockTimeout = f.Global.LockTimeout
	opts.NoLock = f.Global.NoLock
	opts.MaxSize = f.Global.MaxSize
	if f.Global.Owner != "" {
		uid, gid, err := lookupOwner(f.Global.Owner)
		if err != nil {
			return nil, st, err
		}
		opts.OwnerUID, opts.OwnerGID = uid, gid
	} else if os.Geteuid() == 0 {
		// Sessions sesstool creates as root belong to the PHP user the
		// SAPI's configuration names, never to whoever owns other files
		// in the save_path (CLI.md "Safety rules").
		if u, ok, why := findPHPUser(st, f.Global.EtcRoot); ok {
			opts.OwnerUID, opts.OwnerGID = u.UID, u.GID
		} else {
			opts.OwnerUnknown = why
		}
	}
	s, err := sessfile.Open(sp, opts)
	if err != nil {
		return nil, st, err
	}
	return s, st, nil
}

// lookupOwner resolves --owner USER (a name or a numeric uid) to a uid and
// the user's primary gid.
func lookupOwner(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		u, err = user.LookupId(name)
	}
	if err != nil {
		return 0, 0, UsageErrorf("--owner %q: no such user", name)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, UsageErrorf("--owner %q: non-numeric uid/gid %q/%q", name, u.Uid, u.Gid)
	}
	return uid, gid, nil
}

// isLockTimeout reports whether err is a session lock not had in time.
func isLockTimeout(err error) bool {
	return errors.Is(err, sessfile.ErrLockTimeout)
}

// isStoreUsageError reports whether err is an invalid id or save_path.
func isStoreUsageError(err error) bool {
	var ie *sessfile.InvalidIDError
	var se *sessfile.SavePathError
	return errors.As(err, &ie) || errors.As(err, &se)
}

// Backend is the store a command works on (store.Store): the files store
// today, Redis and Memcached beside it.
type Backend = store.Store

// OpenBackend is OpenStore behind the Backend interface; commands' Options
// carry it as their Open func so tests can inject another.
func (f *Factory) OpenBackend() (Backend, *Settings, error) {
	s, st, err := f.OpenStore()
	if err != nil {
		return nil, st, err
	}
	return s, st, nil
}

// LockedSessionsError reports sessions a command could not lock within
// --lock-timeout while working through several; it maps to exit code 3.
type LockedSessionsError struct {
	IDs []string
}

// Error names the first few ids and how many more there were.
func (e *LockedSessionsError) Error() string {
	n := len(e.IDs)
	return fmt.Sprintf("%d session%s stayed locked past --lock-timeout (in use by a running request): %s", n, plural(n), quoteIDs(e.IDs))
}

// Is makes errors.Is(err, sessfile.ErrLockTimeout) true.
func (e *LockedSessionsError) Is(target error) bool { return target == sessfile.ErrLockTimeout }
