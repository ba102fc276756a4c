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
// The blocking call runs in a goroutine of its own. Acquire waits on a new
// open file description of the file and keeps the lock there: when the wait
// is given up (timeout, cancelled context), the goroutine closes that
// description the moment flock returns, so a lock that was not had in time
// is never kept behind the caller's back for longer than it takes to
// release it, and no lock of the caller's is touched. LockFD waits on a
// duplicate of the caller's descriptor (the lock is the caller's
// description's), which is for callers that close it after a failed wait.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
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

// LockFD is LockContext on a raw file descriptor: the lock is taken on its
// open file description. The descriptor must stay open until LockFD
// returns. A wait that fails (ErrTimeout, ctx.Err()) leaves a blocked
// flock(2) on that description, which releases the lock on it the moment
// it arrives late: after a failed wait, close the descriptor rather than
// lock it again (a lock taken again on it could be released by that late
// waiter). Acquire has no such caveat.
func LockFD(ctx context.Context, fd int, mode Mode, timeout time.Duration) error {
	op, done, err := firstTry(ctx, fd, mode, timeout)
	if done || err != nil {
		return err
	}
	return waitOnDup(ctx, fd, op, timeout)
}

// firstTry is the start of every lock: one non-blocking attempt on fd.
// done reports that it settled the matter (locked, or err); otherwise the
// caller must wait, for op.
func firstTry(ctx context.Context, fd int, mode Mode, timeout time.Duration) (op int, done bool, err error) {
	if op, err = mode.op(); err != nil {
		return 0, true, err
	}
	if ok, err := tryFD(fd, op); err != nil || ok {
		return op, true, err
	}
	if timeout == 0 {
		return op, true, ErrWouldBlock
	}
	if err := ctx.Err(); err != nil {
		return op, true, err
	}
	return op, false, nil
}

// waitOnDup waits for op on a duplicate of fd (LockFD's wait).
func waitOnDup(ctx context.Context, fd, op int, timeout time.Duration) error {
	wfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("dup for a blocking wait: %w", err)
	}
	return blockingWait(ctx, wfd, op, timeout, false)
}

// Acquire locks the file open at fd like LockFD, but when it has to wait
// it waits on a new open file description of the same file and keeps the
// lock there: release (always non-nil) releases it. A wait that is given up
// (ErrTimeout, ctx.Err()) releases the lock the moment it arrives late, on
// that private description, so no lock is ever kept behind the caller's
// back and none the caller holds is ever dropped. Without the lock fd
// itself is untouched; with the fast path (no wait) the lock is on fd's
// description and release does nothing (closing fd releases it).
func Acquire(ctx context.Context, fd int, mode Mode, timeout time.Duration) (release func(), err error) {
	noop := func() {}
	op, done, err := firstTry(ctx, fd, mode, timeout)
	if done || err != nil {
		return noop, err
	}
	// A description of its own: /proc/self/fd/N opens the file fd names.
	wfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		// No /proc: wait on fd's own description (see LockFD).
		return noop, waitOnDup(ctx, fd, op, timeout)
	}
	var st1, st2 unix.Stat_t
	if unix.Fstat(fd, &st1) != nil || unix.Fstat(wfd, &st2) != nil || st1.Dev != st2.Dev || st1.Ino != st2.Ino {
		unix.Close(wfd)
		return noop, waitOnDup(ctx, fd, op, timeout)
	}
	if err := blockingWait(ctx, wfd, op, timeout, true); err != nil {
		return noop, err
	}
	return func() { _ = unix.Close(wfd) }, nil
}

// blockingWait waits in flock(2) on wfd (which it owns) for up to timeout.
// On success with keep the caller owns wfd (it holds the lock); without
// keep wfd is closed (it is a duplicate of the caller's descriptor, which
// keeps the lock). A wait given up leaves wfd to the waiter, which closes
// it when flock returns (and, with keep, releases the lock there first).
func blockingWait(ctx context.Context, wfd, op int, timeout time.Duration, keep bool) error {
	w := &waiter{fd: wfd, keep: keep, done: make(chan error, 1)}
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
	keep bool // the lock is held on fd itself (Acquire): fd stays open
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
		// Got it, or failed, after the caller gave up: release it at
		// once. Closing a private description (keep) does; a duplicate
		// shares the caller's description, so it is unlocked first.
		if err == nil && !w.keep {
			_ = UnlockFD(w.fd)
		}
		_ = unix.Close(w.fd)
		return
	}
	w.finished = true
	w.mu.Unlock()
	if !w.keep || err != nil {
		_ = unix.Close(w.fd) // a duplicate: the caller's descriptor keeps the lock
	}
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
