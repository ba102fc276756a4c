// Package flock takes BSD flock(2) locks on open files: shared or exclusive,
// with a timeout or as a single non-blocking try.
//
// It uses flock(2) only, never fcntl(2) record locks: PHP's files session
// handler locks with flock, and on Linux the two kinds of lock do not see
// each other. A lock belongs to the open file description, so it is released
// by Unlock or by closing the last descriptor that shares it.
//
// Waiting is done as PHP's own requests wait: in a blocking flock(2) call,
// so that the kernel hands the lock to sesstool as fairly as to the next PHP
// request (a polling waiter loses to requests that re-lock back to back).
// The blocking call runs on a duplicate of the descriptor in a goroutine of
// its own; when the wait is given up (timeout, cancelled context) that
// goroutine releases the lock the moment it gets it and closes the
// duplicate, so a lock that was not had in time is never kept behind the
// caller's back for longer than it takes to release it.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
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
// open until LockFD returns. After a failed wait (ErrTimeout, ctx.Err())
// close the descriptor rather than lock it again: a waiter given up on
// releases, on that open file description, the lock it gets late.
func LockFD(ctx context.Context, fd int, mode Mode, timeout time.Duration) error {
	op, err := mode.op()
	if err != nil {
		return err
	}
	if ok, err := tryFD(fd, op); err != nil || ok {
		return err
	}
	if timeout == 0 {
		return ErrWouldBlock
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	wfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("dup for a blocking wait: %w", err)
	}
	w := &waiter{fd: wfd, done: make(chan error, 1)}
	go w.wait(op)
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	select {
	case err := <-w.done:
		return err
	case <-expired:
		if w.giveUp() {
			return ErrTimeout
		}
	case <-ctx.Done():
		if w.giveUp() {
			return ctx.Err()
		}
	}
	// The lock came in while we gave up: it is ours.
	return <-w.done
}

// waiter is one blocking flock(2) call on its own descriptor (a duplicate
// of the caller's, so the lock it takes is the caller's).
type waiter struct {
	fd   int
	done chan error

	mu        sync.Mutex
	finished  bool // flock returned and the result was handed over
	abandoned bool // the caller stopped waiting first
}

func (w *waiter) wait(op int) {
	var err error
	for {
		err = unix.Flock(w.fd, op)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	w.mu.Lock()
	if w.abandoned {
		w.mu.Unlock()
		if err == nil {
			// Got it after the caller gave up: release it at once.
			_ = UnlockFD(w.fd)
		}
		_ = unix.Close(w.fd)
		return
	}
	w.finished = true
	w.mu.Unlock()
	_ = unix.Close(w.fd) // the caller's descriptor keeps the lock
	w.done <- err
}

// giveUp marks the wait abandoned; false when flock already returned (its
// result is then in w.done).
func (w *waiter) giveUp() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.finished {
		return false
	}
	w.abandoned = true
	return true
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
