// Package flock takes BSD flock(2) locks on open files: shared or exclusive,
// with a timeout or as a single non-blocking try.
//
// It uses flock(2) only, never fcntl(2) record locks: PHP's files session
// handler locks with flock, and on Linux the two kinds of lock do not see
// each other. A lock belongs to the open file description, so it is released
// by Unlock or by closing the last descriptor that shares it.
//
// Waiting is done by polling with LOCK_NB and a short backoff; no blocking
// flock call is ever left running in the background, so a lock that was not
// had in time can never be acquired later behind the caller's back.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Mode is the kind of lock: Shared (LOCK_SH) or Exclusive (LOCK_EX).
type Mode int

// The two lock modes.
const (
	Shared    Mode = iota // LOCK_SH: many holders, excludes Exclusive
	Exclusive             // LOCK_EX: one holder, excludes everything
)

// String returns "shared" or "exclusive".
func (m Mode) String() string {
	switch m {
	case Shared:
		return "shared"
	case Exclusive:
		return "exclusive"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

func (m Mode) op() (int, error) {
	switch m {
	case Shared:
		return unix.LOCK_SH, nil
	case Exclusive:
		return unix.LOCK_EX, nil
	}
	return 0, fmt.Errorf("flock: invalid mode %d", int(m))
}

// ErrWouldBlock is returned by Lock with a zero timeout when another open
// file description holds a conflicting lock.
var ErrWouldBlock = errors.New("flock: file is locked")

// ErrTimeout is returned by Lock when a conflicting lock was still held when
// the timeout expired.
var ErrTimeout = errors.New("flock: timed out waiting for lock")

// Backoff bounds for polling: the first retry comes after minBackoff, each
// following one waits twice as long, up to maxBackoff.
const (
	minBackoff = 1 * time.Millisecond
	maxBackoff = 25 * time.Millisecond
)

// Lock locks f in the given mode.
//
// timeout > 0 waits up to timeout (then ErrTimeout); timeout == 0 makes one
// non-blocking attempt (ErrWouldBlock when the file is locked); timeout < 0
// waits for as long as it takes. Any other failure of flock(2) is returned
// wrapped, naming the file.
func Lock(f *os.File, mode Mode, timeout time.Duration) error {
	return LockContext(context.Background(), f, mode, timeout)
}

// LockContext is Lock that also gives up, with ctx.Err(), when ctx is done.
func LockContext(ctx context.Context, f *os.File, mode Mode, timeout time.Duration) error {
	fd, err := fdOf(f)
	if err != nil {
		return err
	}
	err = LockFD(ctx, fd, mode, timeout)
	if err != nil && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrWouldBlock) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return err
}

// LockFD is LockContext on a raw file descriptor. The descriptor must stay
// open until LockFD returns.
func LockFD(ctx context.Context, fd int, mode Mode, timeout time.Duration) error {
	op, err := mode.op()
	if err != nil {
		return err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	backoff := minBackoff
	var timer *time.Timer
	for {
		ok, err := tryFD(fd, op)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if timeout == 0 {
			return ErrWouldBlock
		}
		wait := backoff
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				// One last try at the deadline, then give up.
				if ok, err := tryFD(fd, op); err != nil || ok {
					return err
				}
				return ErrTimeout
			}
			wait = min(wait, left)
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// TryLock makes one non-blocking attempt to lock f. It reports false, nil
// when another open file description holds a conflicting lock.
func TryLock(f *os.File, mode Mode) (bool, error) {
	fd, err := fdOf(f)
	if err != nil {
		return false, err
	}
	ok, err := TryLockFD(fd, mode)
	if err != nil {
		return false, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return ok, nil
}

// TryLockFD is TryLock on a raw file descriptor.
func TryLockFD(fd int, mode Mode) (bool, error) {
	op, err := mode.op()
	if err != nil {
		return false, err
	}
	return tryFD(fd, op)
}

func tryFD(fd, op int) (bool, error) {
	for {
		err := unix.Flock(fd, op|unix.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

// Unlock releases the lock held on f (LOCK_UN). Closing f releases it too.
func Unlock(f *os.File) error {
	fd, err := fdOf(f)
	if err != nil {
		return err
	}
	if err := UnlockFD(fd); err != nil {
		return fmt.Errorf("flock unlock %s: %w", f.Name(), err)
	}
	return nil
}

// UnlockFD is Unlock on a raw file descriptor.
func UnlockFD(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_UN)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err
	}
}

// fdOf returns f's descriptor without f.Fd()'s side effect of switching the
// file to blocking mode.
func fdOf(f *os.File) (int, error) {
	if f == nil {
		return -1, errors.New("flock: nil file")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return fd, nil
}
