package sessfile

import (
	"errors"
	"fmt"

	"github.com/sesstool/sesstool/store"
)

// ErrNotFound is what a missing session's error satisfies with errors.Is
// (store.ErrNotFound, which is fs.ErrNotExist).
var ErrNotFound = store.ErrNotFound

// ErrLockTimeout is what a *LockTimeoutError satisfies with errors.Is
// (store.ErrLockTimeout).
var ErrLockTimeout = store.ErrLockTimeout

// ErrNotRegular is returned (wrapped) when a session's name holds something
// other than a regular file: a symlink, a directory, a FIFO, a device.
var ErrNotRegular = errors.New("not a regular file")

// LockTimeoutError reports a session whose lock was not had within the
// store's LockTimeout (store.LockTimeoutError).
type LockTimeoutError = store.LockTimeoutError

// SavePathError reports a session.save_path value that sesstool refuses.
type SavePathError struct {
	Value  string // the value as given
	Reason string // what is wrong with it
}

// Error names the value (quoted) and the reason.
func (e *SavePathError) Error() string {
	return fmt.Sprintf("invalid save_path %q: %s", e.Value, e.Reason)
}

// InvalidIDError reports a session id PHP would refuse or the files handler
// could never store (store.InvalidIDError).
type InvalidIDError = store.InvalidIDError
