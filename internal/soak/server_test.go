package soak

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// startServer starts php -S 127.0.0.1:PORT on docroot with the given ini
// and PHP_CLI_SERVER_WORKERS workers, in its own process group, and kills
// the whole group at cleanup. (phptest.Server kills only the parent: its
// forked workers keep the output pipe open and cleanup waits forever.)
func startServer(t *testing.T, docroot string, ini map[string]string, workers string) string {
	t.Helper()
	url, _ := startServerCtl(t, docroot, ini, workers)
	return url
}

// startServerCtl is startServer that also returns a stop function (the
// server is stopped at cleanup in any case).
func startServerCtl(t *testing.T, docroot string, ini map[string]string, workers string) (string, func()) {
	t.Helper()
	php := phptest.PHP(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	args := append(phptest.INI(ini), "-S", addr, "-t", docroot)
	cmd := exec.Command(php, args...)
	cmd.Dir = docroot
	cmd.Env = append(os.Environ(), "PHP_CLI_SERVER_WORKERS="+workers)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	log := &lockedBuilder{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("php -S: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		})
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(30 * time.Second); ; {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
			return "http://" + addr, stop
		}
		select {
		case werr := <-exited:
			exited <- werr
			t.Fatalf("php -S %s exited (%v) before accepting connections: %s", addr, werr, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("php -S %s not accepting connections: %v: %s", addr, err, log.String())
		}
	}
}

// appAndEditor puts the soak's PHP app (testdata/app.php) in dir/www, as
// its index.php, and the scripted editor in dir/editor.sh.
func appAndEditor(t *testing.T, dir string) (docroot, editor string) {
	t.Helper()
	docroot = filepath.Join(dir, "www")
	app, err := os.ReadFile(filepath.Join("testdata", "app.php"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(docroot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(docroot, "index.php"), app, 0o644); err != nil {
		t.Fatal(err)
	}
	editor = filepath.Join(dir, "editor.sh")
	if err := os.WriteFile(editor, []byte(editorScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return docroot, editor
}
