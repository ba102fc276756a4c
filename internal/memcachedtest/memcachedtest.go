// Package memcachedtest starts real memcached processes for tests, each on
// a free loopback port, stopped by pid at test cleanup. A test that needs
// them skips when memcached is not installed, or fails when
// SESSTOOL_REQUIRE_PHP=1 (CI installs it with PHP).
package memcachedtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// Server is one running memcached.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Port int
	pid  int
}

// Stop kills the server now (a server that goes down under a test).
func (s *Server) Stop() { _ = syscall.Kill(s.pid, syscall.SIGKILL) }

// Pause stops the server's process (SIGSTOP): it still accepts
// connections but answers nothing, like a host cut off the network, and
// keeps what it holds for Resume (SIGCONT).
func (s *Server) Pause() { _ = syscall.Kill(s.pid, syscall.SIGSTOP) }

// Resume lets a paused server go on.
func (s *Server) Resume() { _ = syscall.Kill(s.pid, syscall.SIGCONT) }

// Item is what meta get says of a key.
type Item struct {
	Found bool
	Value string
	Flags int
	TTL   int // -1: no expiry
}

// do sends one command line (and data, when not nil) on a connection of
// its own and returns the reader of the reply.
func (s *Server) do(t testing.TB, line string, data []byte) (*bufio.Reader, func()) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatalf("memcachedtest: %v", err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	msg := line + "\r\n"
	if data != nil {
		msg += string(data) + "\r\n"
	}
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("memcachedtest: %s: %v", line, err)
	}
	return bufio.NewReader(c), func() { c.Close() }
}

// Get reads key with meta get (value, flags, TTL), without touching it
// (u: its last access and LRU place stay as they were).
func (s *Server) Get(t testing.TB, key string) Item {
	t.Helper()
	r, done := s.do(t, "mg "+key+" v f t u", nil)
	defer done()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("memcachedtest: mg %s: %v", key, err)
	}
	var it Item
	f := strings.Fields(line)
	if len(f) == 0 || f[0] == "EN" {
		return it
	}
	if f[0] != "VA" || len(f) < 2 {
		t.Fatalf("memcachedtest: mg %s: %q", key, line)
	}
	n, _ := strconv.Atoi(f[1])
	for _, fl := range f[2:] {
		switch fl[0] {
		case 'f':
			it.Flags, _ = strconv.Atoi(fl[1:])
		case 't':
			it.TTL, _ = strconv.Atoi(fl[1:])
		}
	}
	b := make([]byte, n+2)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("memcachedtest: mg %s: %v", key, err)
	}
	it.Found, it.Value = true, string(b[:n])
	return it
}

// Keys lists the keys the server holds (lru_crawler metadump hash),
// uri-decoded.
func (s *Server) Keys(t testing.TB) []string {
	t.Helper()
	r, done := s.do(t, "lru_crawler metadump hash", nil)
	defer done()
	var keys []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("memcachedtest: metadump: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "END" {
			return keys
		}
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "key=") {
			t.Fatalf("memcachedtest: metadump: %q", line)
		}
		k, err := url.PathUnescape(f[0][len("key="):])
		if err != nil {
			t.Fatalf("memcachedtest: metadump key %q: %v", f[0], err)
		}
		keys = append(keys, k)
	}
}

// Delete deletes key (whether or not it exists).
func (s *Server) Delete(t testing.TB, key string) {
	t.Helper()
	r, done := s.do(t, "delete "+key, nil)
	defer done()
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatalf("memcachedtest: delete %s: %v", key, err)
	}
}

// Set stores key with flags and exptime, as a client of memcached would.
func (s *Server) Set(t testing.TB, key string, flags, exp int, value string) {
	t.Helper()
	r, done := s.do(t, fmt.Sprintf("set %s %d %d %d", key, flags, exp, len(value)), []byte(value))
	defer done()
	line, err := r.ReadString('\n')
	if err != nil || line != "STORED\r\n" {
		t.Fatalf("memcachedtest: set %s: %q %v", key, line, err)
	}
}

// Start runs memcached with extra arguments and waits until it accepts
// connections.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		msg := "memcached not installed (apt-get install memcached)"
		if os.Getenv(phptest.RequireEnv) == "1" {
			t.Fatalf("%s (%s=1, so this is a failure, not a skip)", msg, phptest.RequireEnv)
		}
		t.Skip(msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	args := append([]string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64"}, extra...)
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("memcachedtest: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGCONT) // a paused one dies too
		<-exited
	})
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, pid: cmd.Process.Pid}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
			c.Close()
			return s
		}
		select {
		case err := <-exited:
			t.Fatalf("memcachedtest: memcached exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("memcachedtest: memcached on %s not accepting connections", s.Addr)
		}
	}
}
