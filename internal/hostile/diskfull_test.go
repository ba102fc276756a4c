package hostile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFullThroughBinary: on a 1 MiB tmpfs filled to the last block, set
// that grows a session fails with exit 1 and a message, the old bytes stay
// exactly as they were and nothing else is left behind; unset (which
// shrinks) still works; once space is freed the same set succeeds.
func TestDiskFullThroughBinary(t *testing.T) {
	bin := buildTool(t)
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
		t.Skipf("mount -t tmpfs refused here (%v): disk-full through the binary not tried (the store's write seam tests stand in)", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	p := filepath.Join(dir, "sess_full1")
	if err := os.WriteFile(p, []byte(goodSession), 0o600); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	_ = f.Close()

	big := strings.Repeat("y", 100000)
	r := runTool(bin, runOpts{}, "--save-path", dir, "set", "--string", "full1", "blob", big)
	if p := contractProblem(r, true); p != "" {
		t.Errorf("%s: %s", p, r)
	}
	if r.exit != 1 {
		t.Errorf("set growing a session on a full disk: want exit 1: %s", r)
	}
	if !strings.Contains(strings.ToLower(r.stderr), "space") {
		t.Errorf("set on a full disk: the message does not say the disk is full: %s", r)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != goodSession {
		t.Errorf("set on a full disk changed the session: %q, %v (want the old bytes %q)", b, err, goodSession)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("set on a full disk left files behind: %q", names)
	}

	r = runTool(bin, runOpts{}, "--save-path", dir, "unset", "full1", "name")
	if r.exit != 0 {
		t.Errorf("unset (shrinking) on a full disk: want exit 0: %s", r)
	}
	if b, _ := os.ReadFile(p); string(b) != "k|i:1;" {
		t.Errorf("after unset on a full disk: %q, want %q", b, "k|i:1;")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r = runTool(bin, runOpts{}, "--save-path", dir, "set", "--string", "full1", "blob", big)
	if r.exit != 0 {
		t.Errorf("set after space was freed: want exit 0: %s", r)
	}
	if b, _ := os.ReadFile(p); !strings.Contains(string(b), big) {
		t.Errorf("set after space was freed did not store the value (%d bytes)", len(b))
	}
}
