package sessfile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

var ctx = context.Background()

func TestOpenMissingDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Open(SavePath{Dir: missing}, DefaultOptions())
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Open(missing) = %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := Open(SavePath{Dir: file}, DefaultOptions()); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("Open(file) = %v", err)
	}
}

func TestReadStat(t *testing.T) {
	for _, depth := range []int{0, 2} {
		f := newFixture(t, depth, "")
		p := f.write("abcdef1", `a|i:1;`, time.Hour)
		f.write("abzero", ``, time.Minute)
		data, info, err := f.st.Read(ctx, "abcdef1")
		if err != nil || string(data) != `a|i:1;` {
			t.Fatalf("depth %d: Read = %q, %v", depth, data, err)
		}
		if info.ID != "abcdef1" || info.Path != f.dir+"/"+strings.TrimPrefix(p, f.dir+"/") || info.Size != 6 {
			t.Fatalf("info = %+v (file %s)", info, p)
		}
		sinfo, err := f.st.Stat("abcdef1")
		if err != nil || !reflect.DeepEqual(sinfo, info) {
			t.Fatalf("Stat = %+v, %v; Read gave %+v", sinfo, err, info)
		}
		// A 0-byte session is a valid, empty one.
		data, info, err = f.st.Read(ctx, "abzero")
		if err != nil || len(data) != 0 || info.Size != 0 {
			t.Fatalf("empty session: %q %+v %v", data, info, err)
		}
		for _, id := range []string{"abmissing", "zzmissing"} { // zz: no level dir either
			if _, _, err := f.st.Read(ctx, id); !isNotFound(err) {
				t.Fatalf("Read(%s) = %v, want not found", id, err)
			}
			if _, err := f.st.Stat(id); !isNotFound(err) {
				t.Fatalf("Stat(%s) = %v, want not found", id, err)
			}
			if err := f.st.Destroy(ctx, id); !isNotFound(err) {
				t.Fatalf("Destroy(%s) = %v, want not found", id, err)
			}
			if _, err := f.st.Update(ctx, id, false, func(old []byte, _ bool) ([]byte, error) { return []byte("x"), nil }); !isNotFound(err) {
				t.Fatalf("Update(%s) = %v, want not found", id, err)
			}
		}
	}
}

func TestUpdateInPlace(t *testing.T) {
	for _, tc := range []struct{ old, new string }{
		{`a|i:1;`, `a|i:1;b|s:20:"xxxxxxxxxxxxxxxxxxxx";`}, // grow
		{`a|i:1;b|s:3:"xyz";`, `a|i:2;`},                   // shrink
		{`a|i:1;`, `a|i:2;`},                               // same size
		{`a|i:1;`, ``},                                     // to empty
		{``, `a|i:1;`},                                     // from empty
	} {
		for _, depth := range []int{0, 2} {
			f := newFixture(t, depth, "")
			p := f.write("upd123", tc.old, time.Hour)
			if os.Geteuid() == 0 {
				os.Chown(p, 65534, 65534)
			}
			os.Chmod(p, 0o640)
			before := statT(t, p)
			res, err := f.st.Update(ctx, "upd123", false, func(old []byte, exists bool) ([]byte, error) {
				if string(old) != tc.old || !exists {
					t.Errorf("fn got %q %v", old, exists)
				}
				return []byte(tc.new), nil
			})
			if err != nil || !res.Changed || res.Created {
				t.Fatalf("Update = %+v, %v", res, err)
			}
			if got := readFile(t, p); got != tc.new {
				t.Fatalf("file = %q, want %q", got, tc.new)
			}
			after := statT(t, p)
			if after.Ino != before.Ino || after.Uid != before.Uid || after.Gid != before.Gid || after.Mode != before.Mode {
				t.Fatalf("inode/owner/mode changed: %+v -> %+v", before, after)
			}
		}
	}
}

// Same bytes: nothing written, mtime untouched.
func TestUpdateNoChange(t *testing.T) {
	f := newFixture(t, 0, "")
	p := f.write("same1", `a|i:1;`, 3*time.Hour)
	mt := statT(t, p).Mtim
	res, err := f.st.Update(ctx, "same1", true, func(old []byte, _ bool) ([]byte, error) {
		return bytes.Clone(old), nil
	})
	if err != nil || res.Changed || res.Created {
		t.Fatalf("Update = %+v, %v", res, err)
	}
	if got := statT(t, p).Mtim; got != mt {
		t.Fatalf("mtime changed %v -> %v", mt, got)
	}
}

func TestUpdateFnError(t *testing.T) {
	f := newFixture(t, 2, "")
	p := f.write("fnerr1", `a|i:1;`, time.Hour)
	mt := statT(t, p).Mtim
	boom := errors.New("boom")
	_, err := f.st.Update(ctx, "fnerr1", false, func([]byte, bool) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "fnerr1") {
		t.Fatalf("Update = %v", err)
	}
	if readFile(t, p) != `a|i:1;` || statT(t, p).Mtim != mt {
		t.Fatal("file touched by a failed update")
	}
	// A session created for a failing update does not stay behind.
	f.path("fnnew1")
	_, err = f.st.Update(ctx, "fnnew1", true, func([]byte, bool) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(f.dir, "f/n/sess_fnnew1")); !os.IsNotExist(err) {
		t.Fatalf("created file left behind: %v", err)
	}
}

func TestUpdateCreate(t *testing.T) {
	old := syscall.Umask(0o077) // creation must not depend on the umask
	defer syscall.Umask(old)
	for _, mode := range []os.FileMode{0, 0o600, 0o660, 0o666} {
		f := newFixture(t, 2, "")
		f.sp.Mode = mode
		f.st.sp.Mode = mode
		f.path("crx") // level dirs c/r
		res, err := f.st.Update(ctx, "crx", true, func(old []byte, exists bool) ([]byte, error) {
			if exists || len(old) != 0 {
				t.Errorf("fn on a new session got %q %v", old, exists)
			}
			return []byte(`n|i:1;`), nil
		})
		if err != nil || !res.Created || !res.Changed {
			t.Fatalf("Update create = %+v, %v", res, err)
		}
		p := filepath.Join(f.dir, "c/r/sess_crx")
		want := f.sp.mode()
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode() != want || readFile(t, p) != `n|i:1;` {
			t.Fatalf("created %v mode %v, want %v", err, fi.Mode(), want)
		}
	}
	// Missing level directory: a clear error, nothing created.
	f := newFixture(t, 2, "")
	_, err := f.st.Update(ctx, "qqq", true, func([]byte, bool) ([]byte, error) { return []byte("x|i:1;"), nil })
	if !isNotFound(err) || !strings.Contains(err.Error(), "level directory") || !strings.Contains(err.Error(), f.dir+"/q") {
		t.Fatalf("create with missing level dir = %v", err)
	}
	if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
		t.Fatalf("something was created: %v", entries)
	}
	// A new session whose callback returns nothing stays as an empty file.
	f.path("empty1")
	res, err := f.st.Update(ctx, "empty1", true, func([]byte, bool) ([]byte, error) { return nil, nil })
	if err != nil || !res.Created || res.Changed {
		t.Fatalf("empty create = %+v %v", res, err)
	}
	if fi, err := os.Stat(filepath.Join(f.dir, "e/m/sess_empty1")); err != nil || fi.Size() != 0 {
		t.Fatalf("empty create: %v", err)
	}
}

func TestUpdateCreateOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("owner of created sessions is only set when running as root")
	}
	create := func(f *fixture, id string) (UpdateResult, *syscall.Stat_t) {
		t.Helper()
		f.path(id)
		res, err := f.st.Update(ctx, id, true, func([]byte, bool) ([]byte, error) { return []byte("k|i:1;"), nil })
		if err != nil {
			t.Fatal(err)
		}
		return res, statT(t, filepath.Join(f.dir, f.st.relPath(id)))
	}
	// Never copied from another session in the same directory: anyone
	// who can write the save_path can plant one.
	f := newFixture(t, 0, "")
	other := f.write("other1", "", time.Hour)
	os.Chown(other, 65534, 65534)
	if res, st := create(f, "new1"); st.Uid != 0 || !strings.Contains(res.Warning, "--owner") {
		t.Fatalf("owner %d:%d, warning %q; want root's (the save_path's owner) and a warning", st.Uid, st.Gid, res.Warning)
	}
	// Without an owner: the save_path's owner, with a warning.
	f = newFixture(t, 0, "")
	os.Chown(f.dir, 65534, 65534)
	f.st.opts.OwnerUnknown = "no pool names a user"
	if res, st := create(f, "new2"); st.Uid != 65534 || st.Gid != 65534 || !strings.Contains(res.Warning, "no pool names a user") {
		t.Fatalf("owner %d:%d, warning %q; want the directory's 65534", st.Uid, st.Gid, res.Warning)
	}
	// Explicit owner wins.
	f = newFixture(t, 0, "")
	f.st.opts.OwnerUID, f.st.opts.OwnerGID = 1234, 5678
	f.write("other2", "", time.Hour) // root-owned: ignored anyway
	if res, st := create(f, "new3"); st.Uid != 1234 || st.Gid != 5678 || res.Warning != "" {
		t.Fatalf("owner %d:%d; want 1234:5678", st.Uid, st.Gid)
	}
	// Nothing to go by: root-owned, with a warning.
	f = newFixture(t, 0, "")
	if res, st := create(f, "new4"); st.Uid != 0 || !strings.Contains(res.Warning, "root") {
		t.Fatalf("owner %d, warning %q", st.Uid, res.Warning)
	}
	// The mode survives the chown (set-id bits would not).
	f = newFixture(t, 0, "")
	os.Chown(f.dir, 65534, 65534)
	f.st.sp.Mode = 0o640 | os.ModeSetgid
	if _, st := create(f, "new5"); st.Mode&0o7777 != 0o2640 {
		t.Fatalf("mode %o, want 2640", st.Mode&0o7777)
	}
}

func TestDestroy(t *testing.T) {
	for _, depth := range []int{0, 2} {
		f := newFixture(t, depth, "")
		p := f.write("dstr1", "a|i:1;", 0)
		if err := f.st.Destroy(ctx, "dstr1"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Fatalf("still there: %v", err)
		}
		if err := f.st.Destroy(ctx, "dstr1"); !isNotFound(err) {
			t.Fatalf("second Destroy = %v", err)
		}
	}
}

// A lock held by another process: reads and writes wait, then give up with
// a *LockTimeoutError and leave the file as it was.
func TestLockTimeout(t *testing.T) {
	f := newFixture(t, 2, "")
	p := f.write("locked1", "a|i:1;", time.Hour)
	mt := statT(t, p).Mtim
	h := hold(t, p, true)
	check := func(what string, err error) {
		t.Helper()
		var lte *LockTimeoutError
		if !errors.Is(err, ErrLockTimeout) || !errors.As(err, &lte) || lte.ID != "locked1" || lte.Timeout != 50*time.Millisecond {
			t.Fatalf("%s = %v, want a lock timeout", what, err)
		}
	}
	_, _, err := f.st.Read(ctx, "locked1")
	check("Read", err)
	_, err = f.st.Update(ctx, "locked1", false, func([]byte, bool) ([]byte, error) { return []byte("b|i:2;"), nil })
	check("Update", err)
	check("Destroy", f.st.Destroy(ctx, "locked1"))
	if readFile(t, p) != "a|i:1;" || statT(t, p).Mtim != mt {
		t.Fatal("locked file was changed")
	}
	// NoLock reads anyway.
	nl := *f.st
	nl.opts.NoLock = true
	if data, _, err := nl.Read(ctx, "locked1"); err != nil || string(data) != "a|i:1;" {
		t.Fatalf("NoLock Read = %q, %v", data, err)
	}
	// A shared holder lets us read but not write.
	h.release()
	hold(t, p, false)
	if data, _, err := f.st.Read(ctx, "locked1"); err != nil || string(data) != "a|i:1;" {
		t.Fatalf("Read beside a shared lock = %q, %v", data, err)
	}
	_, err = f.st.Update(ctx, "locked1", false, func([]byte, bool) ([]byte, error) { return []byte("b|i:2;"), nil })
	check("Update beside a shared lock", err)
}

// Update waits for the holder and then works on what the holder left.
func TestUpdateWaitsForLock(t *testing.T) {
	f := newFixture(t, 0, "")
	p := f.write("wait1", "a|i:1;", time.Hour)
	h := hold(t, p, true)
	f.st.opts.LockTimeout = -1
	done := make(chan error, 1)
	go func() {
		_, err := f.st.Update(ctx, "wait1", false, func(old []byte, _ bool) ([]byte, error) {
			return append(old, "b|i:2;"...), nil
		})
		done <- err
	}()
	// While held, the holder may still write (as PHP does).
	if err := os.WriteFile(p, []byte("a|i:9;"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "a|i:9;b|i:2;" {
		t.Fatalf("file = %q", got)
	}
}

// A session replaced (new inode) while we wait for the lock is opened again.
func TestUpdateFollowsReplacedFile(t *testing.T) {
	f := newFixture(t, 0, "")
	p := f.write("repl1", "old|i:1;", time.Hour)
	h := hold(t, p, true)
	f.st.opts.LockTimeout = -1
	done := make(chan error, 1)
	go func() {
		_, err := f.st.Update(ctx, "repl1", false, func(old []byte, _ bool) ([]byte, error) {
			return append(old, "x|i:1;"...), nil
		})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it open the old inode (the test holds either way)
	tmp := p + ".tmp"
	os.WriteFile(tmp, []byte("new|i:2;"), 0o600)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	h.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "new|i:2;x|i:1;" {
		t.Fatalf("file = %q, want the update applied to the new file", got)
	}
}

func TestContextCanceled(t *testing.T) {
	f := newFixture(t, 0, "")
	f.write("ctx1", "a|i:1;", 0)
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := f.st.Read(c, "ctx1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v", err)
	}
	if err := f.st.Walk(c, func(Info) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Walk = %v", err)
	}
}

func TestClosedStore(t *testing.T) {
	f := newFixture(t, 2, "")
	f.write("abc", "", 0)
	f.st.Close()
	if _, _, err := f.st.Read(ctx, "abc"); err == nil {
		t.Fatal("Read on a closed store worked")
	}
	if err := f.st.Walk(ctx, func(Info) error { return nil }); err == nil {
		t.Fatal("Walk on a closed store worked")
	}
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
}
