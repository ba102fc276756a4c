package sessfile

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// watchWriteFile writes a session file for the watch tests.
func watchWriteFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTryReadSession(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "sess_reg")
	watchWriteFile(t, reg, "a|i:1;")
	if err := os.Symlink(reg, filepath.Join(dir, "sess_link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sess_dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "sess_fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock, err := net.Listen("unix", filepath.Join(dir, "sess_sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	locked := filepath.Join(dir, "sess_locked")
	watchWriteFile(t, locked, "b|i:2;")
	lf, err := os.Open(locked)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(dir, "sess_shared")
	watchWriteFile(t, shared, "c|i:3;")
	sf, err := os.Open(shared)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	if err := unix.Flock(int(sf.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		state readState
		data  string
	}{
		{"sess_reg", readOK, "a|i:1;"},
		{"sess_shared", readOK, "c|i:3;"}, // another reader does not block
		{"sess_locked", readLocked, ""},
		{"sess_missing", readGone, ""},
		{"sess_link", readGone, ""},
		{"sess_dir", readGone, ""},
		{"sess_fifo", readGone, ""},
		{"sess_sock", readGone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tryReadSession(filepath.Join(dir, tt.name), false)
			if err != nil {
				t.Fatal(err)
			}
			wantSize := int64(len(tt.data))
			if tt.state == readLocked {
				wantSize = int64(len("b|i:2;")) // the size seen, unread
			}
			if res.state != tt.state || string(res.data) != tt.data || res.size != wantSize {
				t.Errorf("got state %d data %q size %d, want %d %q", res.state, res.data, res.size, tt.state, tt.data)
			}
			if (res.state == readGone) != (res.key == fileKey{}) {
				t.Errorf("state %d with file key %+v", res.state, res.key)
			}
			// --no-lock reads a locked session at once.
			res, err = tryReadSession(filepath.Join(dir, tt.name), true)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "sess_locked" && (res.state != readOK || string(res.data) != "b|i:2;") {
				t.Errorf("no-lock read of a locked session: state %d data %q", res.state, res.data)
			}
		})
	}
}

func TestWatchTreeClassify(t *testing.T) {
	tr := watchTree{root: "/sp", depth: 2}
	tests := []struct {
		name  string
		kind  pathKind
		level int
		id    string
	}{
		{"/sp", pathLevel, 0, ""},
		{"/sp/a", pathLevel, 1, ""},
		{"/sp/a/b", pathLevel, 2, ""},
		{"/sp/a/b/sess_abc", pathSession, 0, "abc"},
		{"/sp/a/b/sess_ab", pathOther, 0, ""},   // id not longer than depth
		{"/sp/a/c/sess_abc", pathOther, 0, ""},  // wrong directory
		{"/sp/a/sess_abc", pathOther, 0, ""},    // wrong level
		{"/sp/a/b/sess_a.bc", pathOther, 0, ""}, // invalid id
		{"/sp/a/b/c", pathOther, 0, ""},         // below the last level
		{"/sp/ab", pathOther, 0, ""},            // not a one-character level
		{"/sp/.", pathOther, 0, ""},
		{"/spx/a", pathOther, 0, ""},
		{"/sp/-/,/sess_-,x", pathSession, 0, "-,x"},
	}
	for _, tt := range tests {
		kind, level, id := tr.classify(tt.name)
		if kind != tt.kind || level != tt.level || id != tt.id {
			t.Errorf("classify(%q) = %d %d %q, want %d %d %q", tt.name, kind, level, id, tt.kind, tt.level, tt.id)
		}
	}
}
