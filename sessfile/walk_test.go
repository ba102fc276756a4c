package sessfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestWalk(t *testing.T) {
	for _, depth := range []int{0, 1, 2} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			f := newFixture(t, depth, "")
			want := map[string]Info{}
			// More than one batch, spread over many level directories.
			for i := range 3000 {
				id := fmt.Sprintf("%x%04d", i%256, i)
				if len(id) < 6 {
					id = "0" + id
				}
				content := fmt.Sprintf("n|i:%d;", i)
				p := f.write(id, content, time.Duration(i)*time.Second)
				fi, _ := os.Stat(p)
				want[id] = Info{ID: id, Path: f.dir + "/" + f.st.relPath(id), Size: int64(len(content)), ModTime: fi.ModTime()}
			}
			got := map[string]Info{}
			err := f.st.Walk(ctx, func(in Info) error {
				if _, dup := got[in.ID]; dup {
					t.Errorf("%s twice", in.ID)
				}
				got[in.ID] = in
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("walked %d, want %d", len(got), len(want))
			}
			for id, w := range want {
				if g := got[id]; g.ID != w.ID || g.Path != w.Path || g.Size != w.Size || !g.ModTime.Equal(w.ModTime) {
					t.Fatalf("%s: got %+v want %+v", id, g, w)
				}
			}
			// All yields the same.
			n := 0
			for in, err := range f.st.All(ctx) {
				if err != nil || !reflect.DeepEqual(got[in.ID], in) {
					t.Fatalf("All: %+v %v", in, err)
				}
				n++
			}
			if n != len(want) {
				t.Fatalf("All yielded %d", n)
			}
		})
	}
}

// Walk's order is the directory's: each directory once, entries in the
// order getdents gives them (compared with os.File.ReadDir's order).
func TestWalkDirectoryOrder(t *testing.T) {
	f := newFixture(t, 0, "")
	for i := range 2500 {
		f.write(fmt.Sprintf("ord%05d", i), "", 0)
	}
	d, _ := os.Open(f.dir)
	names, _ := d.Readdirnames(-1)
	d.Close()
	var got []string
	f.st.Walk(ctx, func(in Info) error { got = append(got, "sess_"+in.ID); return nil })
	if !slices.Equal(got, names) {
		t.Fatal("Walk order differs from the directory order")
	}
}

func TestWalkStops(t *testing.T) {
	f := newFixture(t, 2, "")
	for i := range 5000 {
		f.write(fmt.Sprintf("%03x-stop", i%300), "", 0)
	}
	stop := errors.New("enough")
	n := 0
	err := f.st.Walk(ctx, func(Info) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("Walk = %v after %d", err, n)
	}
	c, cancel := context.WithCancel(ctx)
	n = 0
	err = f.st.Walk(c, func(Info) error {
		n++
		if n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n >= 5000 {
		t.Fatalf("canceled Walk = %v after %d", err, n)
	}
	n = 0
	for range f.st.All(ctx) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatal("All did not stop")
	}
}

// Files deleted while the walk runs are skipped, never errors.
func TestWalkVanishing(t *testing.T) {
	for _, depth := range []int{0, 2} {
		f := newFixture(t, depth, "")
		const total = 20000
		for i := range total {
			f.write(fmt.Sprintf("%02xvanish%05d", i%64, i), "", 0)
		}
		n := 0
		err := f.st.Walk(ctx, func(in Info) error {
			if n == 0 {
				// Delete everything, level directories included.
				entries, _ := os.ReadDir(f.dir)
				for _, e := range entries {
					os.RemoveAll(filepath.Join(f.dir, e.Name()))
				}
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("depth %d: Walk = %v", depth, err)
		}
		if n == 0 || n >= total {
			t.Fatalf("depth %d: walked %d of %d", depth, n, total)
		}
	}
}

// Memory stays flat: walking many files allocates a bounded live heap.
func TestWalkFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 60000 files")
	}
	f := newFixture(t, 0, "")
	for i := range 60000 {
		os.WriteFile(filepath.Join(f.dir, fmt.Sprintf("sess_%032x", i)), nil, 0o600)
	}
	var maxHeap uint64
	n := 0
	f.st.Walk(ctx, func(Info) error {
		n++
		if n%5000 == 0 {
			maxHeap = max(maxHeap, heapInUse())
		}
		return nil
	})
	base := heapInUse()
	// 60000 Infos with their strings would be ~8 MB; a bounded pipeline
	// keeps well under that above the baseline.
	if n != 60000 || maxHeap > base+4<<20 {
		t.Fatalf("walked %d, peak heap %d MB over a base of %d MB", n, maxHeap>>20, base>>20)
	}
}

// All yields a fatal error (here: a closed store) once, and a consumer
// that stops there is not called again.
func TestAllStopsAtError(t *testing.T) {
	f := newFixture(t, 0, "")
	f.write("abc", "", 0)
	f.st.Close()
	n := 0
	for _, err := range f.st.All(ctx) {
		n++
		if err == nil {
			t.Fatal("no error from a closed store")
		}
		break
	}
	if n != 1 {
		t.Fatalf("yielded %d times", n)
	}
}
