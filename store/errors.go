package store

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"
)

// ErrNotFound is what a missing session's error satisfies with errors.Is. It
// is fs.ErrNotExist itself, so either sentinel may be used.
var ErrNotFound = fs.ErrNotExist

// ErrLockTimeout is what a *LockTimeoutError satisfies with errors.Is.
var ErrLockTimeout = errors.New("session locked")

// ErrUnsupported is returned by an operation a store cannot do.
var ErrUnsupported = errors.ErrUnsupported

// LockTimeoutError reports a session whose lock was not had within the
// store's lock timeout (held by a running PHP request, typically).
type LockTimeoutError struct {
	ID      string        // the session id
	Timeout time.Duration // how long the store waited
	Holder  string        // who holds the lock, when the store knows
}

// Error says which session stayed locked and for how long it was waited for.
func (e *LockTimeoutError) Error() string {
	by := "in use by a running request"
	if e.Holder != "" {
		by = "held by " + strconv.Quote(e.Holder)
	}
	if e.Timeout <= 0 {
		return fmt.Sprintf("session %q is locked (%s)", e.ID, by)
	}
	return fmt.Sprintf("session %q still locked after %s (%s)", e.ID, e.Timeout, by)
}

// Is reports whether target is ErrLockTimeout.
func (e *LockTimeoutError) Is(target error) bool { return target == ErrLockTimeout }

// InvalidIDError reports a session id PHP would refuse (or a store could
// never hold). Nothing in the store is touched for such an id.
type InvalidIDError struct {
	ID     string // the id as given
	Reason string // what is wrong with it
}

// Error names the id (quoted) and the reason.
func (e *InvalidIDError) Error() string {
	return fmt.Sprintf("invalid session id %q: %s", e.ID, e.Reason)
}

// MaxIDLen is the longest id sesstool handles on any store: PHP accepts ids
// up to 256 bytes, but the files handler's "sess_" plus the id must fit in a
// 255-byte file name, and one rule for every store keeps ids movable
// between them.
const MaxIDLen = 250

// ValidateID reports, as an *InvalidIDError, an id PHP would refuse or a
// store could never hold: empty, longer than MaxIDLen bytes, or with a byte
// outside [A-Za-z0-9,-] (PHP's session id alphabet).
func ValidateID(id string) error {
	if id == "" {
		return &InvalidIDError{ID: id, Reason: "empty"}
	}
	if len(id) > MaxIDLen {
		return &InvalidIDError{ID: id, Reason: strconv.Itoa(len(id)) + " bytes long; the files handler cannot store ids longer than " + strconv.Itoa(MaxIDLen)}
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ',' || c == '-') {
			return &InvalidIDError{ID: id, Reason: "byte " + strconv.Quote(id[i:i+1]) + " at offset " + strconv.Itoa(i) + " is not one of A-Z a-z 0-9 , -"}
		}
	}
	return nil
}
