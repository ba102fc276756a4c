package cmd

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/store"
)

// TestRowStoreKeepsRows: a sorted listing's compact rows give back exactly
// the rows put in (plain ones rebuilt from id, size and time, the others
// kept whole), in sortRows' order for every sort and direction; topRows
// keeps exactly the first N of that order.
func TestRowStoreKeepsRows(t *testing.T) {
	now := time.Unix(1_760_000_000, 0)
	dir := "/var/lib/php/sessions"
	pathOf := func(id string) string { return dir + "/sess_" + id }
	ttlOf := func(m time.Time) int64 { return 1440 - ageSeconds(now, m) }
	pathIs := func(p, id string) bool { return p == pathOf(id) }
	r := rand.New(rand.NewPCG(1, 2))
	var rows []lsRow
	for i := range 3*rowChunk + 17 {
		id := fmt.Sprintf("%026x%06d", r.Uint64()%5000, i)
		if i%97 == 5 {
			id = fmt.Sprintf("x%06d", i) // another length: kept whole
		}
		m := now.Add(-time.Duration(r.IntN(5000)) * time.Second).Add(time.Duration(r.IntN(1e9)))
		row := lsRow{Info: store.Info{ID: id, Path: pathOf(id), Size: int64(r.IntN(300)), ModTime: m}}
		row.ttl = ttlOf(m)
		switch i % 97 {
		case 1:
			row.Status, row.Locked = "locked", true
		case 2:
			row.Bad, row.Status = true, "corrupt: x"
		case 3:
			row.Data, row.cells = []byte(`{"a":1}`), []string{"1"}
		case 4:
			row.ModTime = time.Time{}
		}
		rows = append(rows, row)
	}
	var plainRows []lsRow // every row plain: the sort's direct comparisons
	for i, row := range rows {
		if i%97 < 1 || i%97 > 5 {
			plainRows = append(plainRows, row)
		}
	}
	mixed := rows
	for _, rows := range [][]lsRow{mixed, plainRows} {
		for _, by := range []string{"age", "size", "id"} {
			for _, rev := range []bool{false, true} {
				rs := &rowStore{paths: true, pathOf: pathOf, pathIs: pathIs, ttlOf: ttlOf}
				for _, row := range rows {
					rs.add(row)
				}
				if len(rs.full) > len(rows)/10 {
					t.Fatalf("%d of %d rows kept whole", len(rs.full), len(rows))
				}
				want := slices.Clone(rows)
				slices.SortFunc(want, func(a, b lsRow) int { return rowOrder(by, a, b) })
				if rev {
					slices.Reverse(want)
				}
				idx := rs.sorted(by, rev)
				for i := range want {
					got := rs.row(int(idx[i]))
					if !reflect.DeepEqual(got, want[i]) || !got.ModTime.Equal(want[i].ModTime) {
						t.Fatalf("sort %s reverse %v: row %d\n got %+v\nwant %+v", by, rev, i, got, want[i])
					}
				}
				for _, limit := range []int{1, 7, 500} {
					top := &topRows{limit: limit, less: func(a, b lsRow) bool {
						c := rowOrder(by, a, b)
						if rev {
							c = -c
						}
						return c < 0
					}}
					for _, row := range rows {
						top.add(row)
					}
					got := top.listing()
					if len(got) != limit {
						t.Fatalf("limit %d kept %d", limit, len(got))
					}
					for i := range got {
						if got[i].ID != want[i].ID {
							t.Fatalf("sort %s reverse %v limit %d: row %d is %s, want %s", by, rev, limit, i, got[i].ID, want[i].ID)
						}
					}
				}
			}
		}
	}
}

// TestPackIDOrder: every id character survives packing, and packed ids of
// one length compare as the ids do.
func TestPackIDOrder(t *testing.T) {
	const chars = ",-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	r := rand.New(rand.NewPCG(3, 4))
	var buf [255]byte
	for n := 1; n <= 255; n += 7 {
		for range 50 {
			a, b := make([]byte, n), make([]byte, n)
			for i := range a {
				a[i], b[i] = chars[r.IntN(64)], chars[r.IntN(64)]
			}
			if r.IntN(3) == 0 {
				copy(b, a[:r.IntN(n)])
			}
			pa, ok1 := packID(nil, string(a))
			pb, ok2 := packID(nil, string(b))
			if !ok1 || !ok2 || len(pa) != 1+packedLen(n) {
				t.Fatalf("pack %q: %v %v %d", a, ok1, ok2, len(pa))
			}
			if got := string(unpackID(buf[:0], pa)); got != string(a) {
				t.Fatalf("unpack: %q, want %q", got, a)
			}
			if got, want := bytes.Compare(pa, pb), strings.Compare(string(a), string(b)); got != want {
				t.Fatalf("compare %q %q: packed %d, ids %d", a, b, got, want)
			}
		}
	}
	if _, ok := packID(nil, "a.b"); ok {
		t.Error("packed an id with '.'")
	}
}
