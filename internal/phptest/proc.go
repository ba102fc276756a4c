package phptest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// WaitTimeout bounds WaitLine and Wait so that a test whose PHP process
// never says what it should fails with a message instead of hanging. It is a
// safety net, never a measurement.
const WaitTimeout = 60 * time.Second

// Proc is a long-lived php process started by Start. Its stdout is read line
// by line so a test can wait for a line such as "locked" instead of
// sleeping; its stdin stays open so the test can tell it to go on (Send) or
// let it finish (CloseStdin).
type Proc struct {
	t     testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	lines   []string
	stderr  bytes.Buffer
	exited  bool
	waitErr error
	changed chan struct{} // closed and replaced on every new line and at exit
	next    int           // WaitNext's position in lines
}

// Start runs script in a background php process (args as for Run: php
// options, then "--" and script arguments). The process is killed and
// reaped at test cleanup if still running.
func Start(t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	php := PHP(t)
	path := WriteScript(t, script)
	cmd := exec.Command(php, Command(php, path, args...)...)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = os.Environ()
	p := &Proc{t: t, cmd: cmd, changed: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("phptest.Start: %v", err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatalf("phptest.Start: %v", err)
	}
	cmd.Stderr = lockedWriter{p}
	if err := cmd.Start(); err != nil {
		t.Fatalf("phptest.Start: %v", err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		_ = p.stdin.Close()
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		if !exited {
			_ = cmd.Process.Kill()
		}
		<-p.doneChan()
	})
	return p
}

type lockedWriter struct{ p *Proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.broadcast()
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exited, p.waitErr = true, err
	p.broadcast()
	p.mu.Unlock()
}

// broadcast wakes every waiter; p.mu must be held.
func (p *Proc) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// doneChan returns a channel closed once the process has exited.
func (p *Proc) doneChan() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for {
			p.mu.Lock()
			exited, ch := p.exited, p.changed
			p.mu.Unlock()
			if exited {
				close(done)
				return
			}
			<-ch
		}
	}()
	return done
}

// waitFor blocks until cond (called with p.mu held) is true, the process
// exits with cond still false, or WaitTimeout passes.
func (p *Proc) waitFor(what string, cond func() bool) error {
	timer := time.NewTimer(WaitTimeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if cond() {
			p.mu.Unlock()
			return nil
		}
		if p.exited {
			err := fmt.Errorf("php exited (%v) before %s; stdout %q; stderr:\n%s", p.waitErr, what, p.lines, p.stderr.String())
			p.mu.Unlock()
			return err
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			p.mu.Lock()
			defer p.mu.Unlock()
			return fmt.Errorf("php did not reach %s within %v; stdout %q; stderr:\n%s", what, WaitTimeout, p.lines, p.stderr.String())
		}
	}
}

// WaitLineErr waits until the process has printed a line equal to want
// (anywhere in its output so far) and returns an error if it exits first.
func (p *Proc) WaitLineErr(want string) error {
	return p.waitFor(fmt.Sprintf("printing %q", want), func() bool {
		return slices.Contains(p.lines, want)
	})
}

// WaitLine waits until the process has printed the line want, failing the
// test if it exits first (with its output in the message).
func (p *Proc) WaitLine(want string) {
	p.t.Helper()
	if err := p.WaitLineErr(want); err != nil {
		p.t.Fatalf("phptest: %v", err)
	}
}

// WaitNext waits for the next line not yet returned by WaitNext and
// returns it, failing the test if the process exits first.
func (p *Proc) WaitNext() string {
	p.t.Helper()
	var line string
	err := p.waitFor("printing another line", func() bool {
		if p.next < len(p.lines) {
			line = p.lines[p.next]
			p.next++
			return true
		}
		return false
	})
	if err != nil {
		p.t.Fatalf("phptest: %v", err)
	}
	return line
}

// Send writes line and a newline to the process's stdin (a script reads
// it with fgets(STDIN)).
func (p *Proc) Send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("phptest: send to php: %v", err)
	}
}

// CloseStdin closes the process's stdin (fgets(STDIN) then returns false).
func (p *Proc) CloseStdin() { _ = p.stdin.Close() }

// Wait closes stdin, waits for the process to exit and returns its exit
// error (nil on status 0; an *ExitError with stderr otherwise).
func (p *Proc) Wait() error {
	p.CloseStdin()
	if err := p.waitFor("exiting", func() bool { return p.exited }); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr != nil {
		return &ExitError{Err: p.waitErr, Stderr: slices.Clone(p.stderr.Bytes())}
	}
	return nil
}

// Kill kills the process (if still running) and waits until it is gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.doneChan()
}

// Lines returns the lines printed so far.
func (p *Proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

// Stderr returns what the process has written to stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }
