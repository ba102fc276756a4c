package sessfile

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestExpire(t *testing.T) {
	for _, dry := range []bool{false, true} {
		f := newFixture(t, 2, "")
		now := time.Now()
		older := func(mt time.Time) bool { return now.Sub(mt) > time.Hour }
		old := f.write("abOld", "old|i:1;", 2*time.Hour)
		fresh := f.write("abFresh", "f|i:1;", time.Minute)
		inUse := f.write("cdInUse", "u|i:1;", 2*time.Hour)
		hold(t, inUse, true)
		touched := f.write("efTouched", "t|i:1;", 2*time.Hour)
		gone := f.write("ghGone", "g|i:1;", 2*time.Hour)
		replaced := f.write("ijRepl", "r|i:1;", 2*time.Hour)

		infos := map[string]Info{}
		if err := f.st.Walk(ctx, func(in Info) error { infos[in.ID] = in; return nil }); err != nil {
			t.Fatal(err)
		}
		// Between the walk and the sweep: one touched by a request, one
		// removed, one replaced by a new (old-looking) file under its name.
		os.Chtimes(touched, now, now)
		os.Remove(gone)
		os.Remove(replaced)
		os.Mkdir(replaced, 0o700)

		for _, tc := range []struct {
			id    string
			want  ExpireOutcome
			bytes int64
			path  string
			stays bool
		}{
			{"abOld", ExpireDeleted, 8, old, dry},
			{"abFresh", ExpireSkippedTouched, 0, fresh, true},
			{"cdInUse", ExpireSkippedInUse, 0, inUse, true},
			{"efTouched", ExpireSkippedTouched, 0, touched, true},
			{"ghGone", ExpireVanished, 0, gone, false},
			{"ijRepl", ExpireSkippedNotRegular, 0, replaced, true},
		} {
			in := infos[tc.id]
			if in.ID == "" {
				in = Info{ID: tc.id}
			}
			res, err := f.st.Expire(ctx, in, older, dry)
			if err != nil || res.Outcome != tc.want || res.Bytes != tc.bytes {
				t.Errorf("dry=%v Expire(%s) = %v %d, %v; want %v %d", dry, tc.id, res.Outcome, res.Bytes, err, tc.want, tc.bytes)
			}
			if _, err := os.Lstat(tc.path); (err == nil) != tc.stays {
				t.Errorf("dry=%v %s: exists=%v, want %v", dry, tc.id, err == nil, tc.stays)
			}
		}
	}
}

// A file swapped for another (new inode at the name) while Expire holds the
// old one's lock is left alone: checked by re-stat'ing the name.
func TestExpireSameInode(t *testing.T) {
	f := newFixture(t, 0, "")
	p := f.write("swap1", "a|i:1;", 2*time.Hour)
	calls := 0
	older := func(time.Time) bool {
		calls++
		// Runs under the lock, before the name is re-checked: swap the file.
		tmp := p + ".new"
		os.WriteFile(tmp, []byte("new"), 0o600)
		os.Rename(tmp, p)
		return true
	}
	res, err := f.st.Expire(ctx, Info{ID: "swap1"}, older, false)
	if err != nil || res.Outcome != ExpireVanished || calls != 1 {
		t.Fatalf("Expire = %v, %v (calls %d)", res.Outcome, err, calls)
	}
	if readFile(t, p) != "new" {
		t.Fatal("the new file was deleted")
	}
}

func TestExpireMissingLevel(t *testing.T) {
	f := newFixture(t, 2, "")
	res, err := f.st.Expire(ctx, Info{ID: "zzz"}, func(time.Time) bool { return true }, false)
	if err != nil || res.Outcome != ExpireVanished {
		t.Fatalf("Expire in a missing level dir = %v, %v", res.Outcome, err)
	}
	os.Symlink(t.TempDir(), filepath.Join(f.dir, "y"))
	res, err = f.st.Expire(ctx, Info{ID: "yyy"}, func(time.Time) bool { return true }, false)
	if err == nil || res.Outcome != ExpireError {
		t.Fatalf("Expire via a symlinked level = %v, %v", res.Outcome, err)
	}
}
