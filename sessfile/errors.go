package sessfile

import (
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// ErrNotFound is what a missing session's error satisfies with errors.Is. It
// is fs.ErrNotExist itself, so either sentinel may be used.
var ErrNotFound = fs.ErrNotExist

// ErrLockTimeout is what a *LockTimeoutError satisfies with errors.Is.
var ErrLockTimeout = errors.New("session locked")

// ErrNotRegular is returned (wrapped) when a session's name holds something
// other than a regular file: a symlink, a directory, a FIFO, a device.
var ErrNotRegular = errors.New("not a regular file")

// LockTimeoutError reports a session whose lock was not had within the
// store's LockTimeout (held by a running PHP request, typically).
type LockTimeoutError struct {
	ID      string        // the session id
	Timeout time.Duration // how long the store waited
}

// Error says which session stayed locked and for how long it was waited for.
func (e *LockTimeoutError) Error() string {
	if e.Timeout <= 0 {
		return fmt.Sprintf("session %q is locked (in use by a running request)", e.ID)
	}
	return fmt.Sprintf("session %q still locked after %s (in use by a running request)", e.ID, e.Timeout)
}

// Is reports whether target is ErrLockTimeout.
func (e *LockTimeoutError) Is(target error) bool { return target == ErrLockTimeout }

// SavePathError reports a session.save_path value that sesstool refuses.
type SavePathError struct {
	Value  string // the value as given
	Reason string // what is wrong with it
}

// Error names the value (quoted) and the reason.
func (e *SavePathError) Error() string {
	return fmt.Sprintf("invalid save_path %q: %s", e.Value, e.Reason)
}

// InvalidIDError reports a session id that PHP's files handler would refuse
// (or could never store). Nothing on disk is touched for such an id.
type InvalidIDError struct {
	ID     string // the id as given
	Reason string // what is wrong with it
}

// Error names the id (quoted) and the reason.
func (e *InvalidIDError) Error() string {
	return fmt.Sprintf("invalid session id %q: %s", e.ID, e.Reason)
}
