package sessfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Invalid ids are refused before any disk access.
func TestHostileIDs(t *testing.T) {
	f := newFixture(t, 0, "")
	out := newOutside(t, filepath.Dir(f.dir), "passwd")
	ids := []string{"../../etc/passwd", "a/b", "", strings.Repeat("a", 300), "..", ".", "a\x00b", "../" + filepath.Base(out.path)}
	for _, id := range ids {
		var ie *InvalidIDError
		if _, _, err := f.st.Read(ctx, id); !errors.As(err, &ie) {
			t.Errorf("Read(%q) = %v", id, err)
		}
		if _, err := f.st.Stat(id); !errors.As(err, &ie) {
			t.Errorf("Stat(%q) = %v", id, err)
		}
		if _, err := f.st.Update(ctx, id, true, func([]byte, bool) ([]byte, error) { return []byte("x"), nil }); !errors.As(err, &ie) {
			t.Errorf("Update(%q) = %v", id, err)
		}
		if err := f.st.Destroy(ctx, id); !errors.As(err, &ie) {
			t.Errorf("Destroy(%q) = %v", id, err)
		}
		if _, err := f.st.Expire(ctx, Info{ID: id}, func(time.Time) bool { return true }, false); !errors.As(err, &ie) {
			t.Errorf("Expire(%q) = %v", id, err)
		}
	}
	out.check(t)
	if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
		t.Fatalf("save_path got %v", entries)
	}
}

// hostileTree builds, in a 2; save_path, every kind of entry that is not a
// session sesstool may touch, next to two real sessions, and returns the
// outside files that must stay untouched.
func hostileTree(t *testing.T, f *fixture) []outside {
	t.Helper()
	base := t.TempDir()
	outDir := filepath.Join(base, "outside")
	os.MkdirAll(filepath.Join(outDir, "b"), 0o755)
	o1 := newOutside(t, outDir, "target")
	o2 := newOutside(t, filepath.Join(outDir, "b"), "sess_abLinkedDir")
	o3 := newOutside(t, outDir, "hardlinked")

	f.write("abGood1", "good|i:1;", time.Hour)
	f.write("xyGood2", "good|i:2;", 2*time.Hour)
	lvl := filepath.Dir(f.path("abSym"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(o1.path, filepath.Join(lvl, "sess_abSym")))                       // symlink sess_ file
	must(os.Mkdir(filepath.Join(lvl, "sess_abDir"), 0o755))                           // directory sess_
	must(syscall.Mkfifo(filepath.Join(lvl, "sess_abFifo"), 0o600))                    // FIFO
	must(os.Link(o3.path, filepath.Join(lvl, "sess_abHard")))                         // hard link to outside
	must(os.WriteFile(filepath.Join(lvl, "notasession"), []byte("x"), 0o600))         // other name
	must(os.WriteFile(filepath.Join(lvl, "sess_ab.bad"), []byte("x"), 0o600))         // invalid id
	must(os.WriteFile(filepath.Join(f.dir, "sess_abTop"), []byte("x"), 0o600))        // wrong level
	must(os.WriteFile(filepath.Join(lvl, "sess_zzWrongDir"), []byte("x"), 0o600))     // wrong level dir
	must(os.Symlink(outDir, filepath.Join(f.dir, "L")))                               // symlinked level dir L -> outside
	must(os.MkdirAll(filepath.Join(outDir, "L"), 0o755))                              //
	must(os.WriteFile(filepath.Join(outDir, "b", "sess_Lb1"), []byte("no"), 0o600))   // reachable only via L
	must(os.Symlink(filepath.Join(outDir, "b"), filepath.Join(f.dir, "x", "b")))      // symlinked 2nd level x/b
	must(os.WriteFile(filepath.Join(outDir, "b", "sess_xbOut"), []byte("no"), 0o600)) //
	must(os.WriteFile(filepath.Join(f.dir, "ab"), []byte("x"), 0o600))                // multi-char name at level 1
	must(os.Mkdir(filepath.Join(f.dir, "q"), 0o755))                                  // empty level dir
	must(os.WriteFile(filepath.Join(f.dir, "a", "sess_aFile"), []byte("x"), 0o600))   // file at level 1
	_ = os.Symlink(filepath.Join(outDir, "b"), filepath.Join(f.dir, "a", "l"))        // symlink level 2 inside a
	return []outside{o1, o2, o3}
}

func TestHostileEntries(t *testing.T) {
	f := newFixture(t, 2, "")
	outs := hostileTree(t, f)

	var ids []string
	if err := f.st.Walk(ctx, func(in Info) error { ids = append(ids, in.ID); return nil }); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	slices.Sort(ids)
	// The hard link is listed (its metadata is harmless), nothing else.
	if want := []string{"abGood1", "abHard", "xyGood2"}; !slices.Equal(ids, want) {
		t.Fatalf("Walk ids = %v, want %v", ids, want)
	}

	for _, tc := range []struct {
		id   string
		want error
	}{
		{"abSym", ErrNotRegular},
		{"abDir", ErrNotRegular},
		{"abFifo", ErrNotRegular}, // and does not block
		{"abHard", ErrNotRegular},
		{"abLinkedDir", ErrNotFound}, // a/b is real; outside/b is not reached
		{"Lb1", ErrNotRegular},       // level dir L is a symlink
		{"xbOut", ErrNotRegular},     // x/b is a symlink
	} {
		if _, _, err := f.st.Read(ctx, tc.id); !errors.Is(err, tc.want) {
			t.Errorf("Read(%s) = %v, want %v", tc.id, err, tc.want)
		}
		_, err := f.st.Update(ctx, tc.id, true, func([]byte, bool) ([]byte, error) { return []byte("pwned"), nil })
		if tc.id == "abLinkedDir" {
			// A new session in the real a/b: fine, and nothing outside.
			if err != nil {
				t.Errorf("Update(create %s) = %v", tc.id, err)
			}
		} else if !errors.Is(err, tc.want) {
			t.Errorf("Update(%s) = %v, want %v", tc.id, err, tc.want)
		}
		if tc.id != "abHard" && tc.id != "abLinkedDir" {
			if err := f.st.Destroy(ctx, tc.id); !errors.Is(err, tc.want) {
				t.Errorf("Destroy(%s) = %v, want %v", tc.id, err, tc.want)
			}
		}
		if tc.id != "abLinkedDir" {
			if _, err := f.st.Stat(tc.id); tc.id != "abHard" && !errors.Is(err, tc.want) {
				t.Errorf("Stat(%s) = %v, want %v", tc.id, err, tc.want)
			}
		}
		if tc.id != "abHard" && tc.id != "abLinkedDir" {
			res, _ := f.st.Expire(ctx, Info{ID: tc.id}, func(time.Time) bool { return true }, false)
			if res.Outcome == ExpireDeleted {
				t.Errorf("Expire(%s) deleted it", tc.id)
			}
		}
	}
	for _, o := range outs {
		o.check(t)
	}
	for _, p := range []string{"a/b/sess_abSym", "a/b/sess_abDir", "a/b/sess_abFifo", "L", "x/b"} {
		if _, err := os.Lstat(filepath.Join(f.dir, p)); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	// Destroying (unlinking) the hard link removes only the name.
	if err := f.st.Destroy(ctx, "abHard"); err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		o.check(t)
	}
}

// An unreadable file and an unreadable level directory, seen by an
// unprivileged user (root reads everything).
func TestUnreadable(t *testing.T) {
	dir := publicDir(t)
	f := newFixture(t, 2, dir)
	f.write("abOK", "ok|i:1;", 0)
	p := f.write("abSecret", "s|i:1;", 0)
	os.Chmod(p, 0o600) // root's, 0600: nobody cannot open it
	f.write("cdHidden", "h|i:1;", 0)
	os.Chmod(filepath.Join(dir, "c"), 0o700) // level directory nobody cannot enter
	f.write("efOK", "ok|i:2;", 0)
	for _, d := range []string{"a", "a/b", "e", "e/f"} {
		os.Chmod(filepath.Join(dir, d), 0o755)
	}
	for _, id := range []string{"abOK", "efOK"} {
		os.Chown(filepath.Join(dir, f.st.relPath(id)), 65534, 65534)
	}
	sp := "2;" + dir

	rep := asNobody(t, "read", sp, "abSecret")
	if !strings.Contains(rep.Err, "permission denied") || !strings.Contains(rep.Err, "sess_abSecret") || rep.Data != "" {
		t.Fatalf("read unreadable: %+v", rep)
	}
	rep = asNobody(t, "read", sp, "abOK")
	if rep.Err != "" || rep.Data != "ok|i:1;" {
		t.Fatalf("read ok: %+v", rep)
	}
	rep = asNobody(t, "walk", sp, "x")
	slices.Sort(rep.IDs)
	// The unreadable file is listed (its directory entry is readable); the
	// unreadable level directory is reported, after the rest was walked.
	if !slices.Equal(rep.IDs, []string{"abOK", "abSecret", "efOK"}) || !strings.Contains(rep.Err, dir+"/c") || !strings.Contains(rep.Err, "permission denied") {
		t.Fatalf("walk as nobody: %+v", rep)
	}
}
