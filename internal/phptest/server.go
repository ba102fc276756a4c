package phptest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server starts PHP's built-in web server (php -S 127.0.0.1:<free port>)
// serving docroot, with the given ini settings, waits until it accepts
// connections and returns its base URL ("http://127.0.0.1:PORT"). If
// docroot holds a router.php it is used as the router script. The server is
// killed at test cleanup.
func Server(t testing.TB, docroot string, ini map[string]string) (baseURL string) {
	t.Helper()
	php := PHP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("phptest.Server: find a free port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	argv := append(append([]string{}, baseFlags...), INI(ini)...)
	argv = append(argv, "-S", addr, "-t", docroot)
	if router := filepath.Join(docroot, "router.php"); fileExists(router) {
		argv = append(argv, router)
	}
	cmd := exec.Command(php, argv...)
	cmd.Dir = docroot
	cmd.Env = os.Environ()
	var mu sync.Mutex
	var logBuf []byte
	cmd.Stdout = writerFunc(func(b []byte) { mu.Lock(); logBuf = append(logBuf, b...); mu.Unlock() })
	cmd.Stderr = cmd.Stdout
	// Its own process group: with PHP_CLI_SERVER_WORKERS the server forks
	// workers that hold the output pipe; cleanup kills them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("phptest.Server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
		<-exited
	})
	log := func() string { mu.Lock(); defer mu.Unlock(); return string(logBuf) }

	deadline := time.Now().Add(WaitTimeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return "http://" + addr
		}
		select {
		case werr := <-exited:
			exited <- werr // let cleanup's receive succeed
			t.Fatalf("phptest.Server: php -S %s exited (%v) before accepting connections; output:\n%s", addr, werr, log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("phptest.Server: php -S %s not accepting connections after %v: %v; output:\n%s", addr, WaitTimeout, err, log())
		}
	}
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

func fileExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
