// Package memcachedtest starts real memcached processes for tests, each on
// a free loopback port, stopped by pid at test cleanup. A test that needs
// them skips when memcached is not installed, or fails when
// SESSTOOL_REQUIRE_PHP=1 (CI installs it with PHP).
package memcachedtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// Server is one running memcached.
type Server struct {
	Addr string // 127.0.0.1:PORT
	Port int
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
		<-exited
	})
	s := &Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port}
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
