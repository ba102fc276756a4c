package sessfile

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executes itself as a helper process: to hold a flock
// (another open file description, as a PHP request is), or to run store
// operations as an unprivileged user.
const helperEnv = "SESSTOOL_SESSFILE_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(helperMain(spec, os.Args[len(os.Args)-2:]))
	}
	os.Exit(m.Run())
}

// helperMain: "hold" locks args[1] (args[0] = shared|exclusive) and holds it
// until stdin closes; "read" and "walk" open save_path args[0] and print a
// JSON report of Read(args[1]) or Walk.
func helperMain(spec string, args []string) int {
	switch spec {
	case "hold":
		f, err := os.OpenFile(args[1], os.O_RDONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		op := syscall.LOCK_EX
		if args[0] == "shared" {
			op = syscall.LOCK_SH
		}
		if err := syscall.Flock(int(f.Fd()), op); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	case "read", "walk":
		sp, err := ParseSavePath(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		st, err := Open(sp, DefaultOptions())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		var rep helperReport
		if spec == "read" {
			data, _, err := st.Read(context.Background(), args[1])
			rep.Data = string(data)
			if err != nil {
				rep.Err = err.Error()
			}
		} else {
			err := st.Walk(context.Background(), func(in Info) error {
				rep.IDs = append(rep.IDs, in.ID)
				return nil
			})
			if err != nil {
				rep.Err = err.Error()
			}
		}
		_ = json.NewEncoder(os.Stdout).Encode(rep)
		return 0
	}
	return 2
}

type helperReport struct {
	Data string
	IDs  []string
	Err  string
}

// asNobody runs a helper action as uid/gid 65534 (root only; skips
// otherwise). The test binary is copied where that user can run it.
func asNobody(t *testing.T, action string, args ...string) helperReport {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a helper as another user")
	}
	bin := nobodyBinary(t)
	cmd := exec.Command(bin, append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+action)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper %s as nobody: %v", action, err)
	}
	var rep helperReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("helper output %q: %v", out, err)
	}
	return rep
}

func nobodyBinary(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sessfile-helper")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "helper.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// publicDir is a temp directory that other users may enter (mode 0755 up
// from a fresh directory in os.TempDir).
func publicDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sessfile-public")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// hold starts a process holding a flock on path until release.
func hold(t *testing.T, path string, exclusive bool) *holder {
	t.Helper()
	mode := "shared"
	if exclusive {
		mode = "exclusive"
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", mode, path)
	cmd.Env = append(os.Environ(), helperEnv+"=hold")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(h.release)
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("holder: %q %v", line, err)
	}
	return h
}

func (h *holder) release() {
	_ = h.stdin.Close()
	_ = h.cmd.Wait()
}

// fixture is a save_path in a temp directory.
type fixture struct {
	t   *testing.T
	dir string
	sp  SavePath
	st  *Store
}

// newFixture makes a save_path "<depth>;<mode>;<tmp>" and opens a store on
// it with a short lock timeout.
func newFixture(t *testing.T, depth int, dir string) *fixture {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	sp := SavePath{Depth: depth, Mode: DefaultMode, Dir: dir}
	opts := DefaultOptions()
	opts.LockTimeout = 50 * time.Millisecond
	st, err := Open(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &fixture{t: t, dir: dir, sp: sp, st: st}
}

// path is the on-disk path of session id (levels created as needed).
func (f *fixture) path(id string) string {
	f.t.Helper()
	rel, err := f.sp.RelPath(id)
	if err != nil {
		f.t.Fatal(err)
	}
	p := filepath.Join(f.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// write creates session id with content and an mtime age ago.
func (f *fixture) write(id, content string, age time.Duration) string {
	f.t.Helper()
	p := f.path(id)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func statT(t *testing.T, p string) *syscall.Stat_t {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t)
}

// outside is a file outside the save_path whose content and mtime must never
// change.
type outside struct {
	path    string
	content string
	mtime   time.Time
}

func newOutside(t *testing.T, dir, name string) outside {
	t.Helper()
	p := filepath.Join(dir, name)
	const content = "secret|s:6:\"secret\";"
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return outside{p, content, mt}
}

func (o outside) check(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(o.path)
	if err != nil {
		t.Fatalf("outside file: %v", err)
	}
	if got := readFile(t, o.path); got != o.content || !fi.ModTime().Equal(o.mtime) {
		t.Fatalf("outside file %s changed: %q mtime %v", o.path, got, fi.ModTime())
	}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func errContains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }
