package cmd

import (
	"bytes"
	"cmp"
	"container/heap"
	"math"
	"slices"
	"strings"
	"time"
)

// A sorted listing holds every row until it is sorted. Most rows are only
// an id, a size and a time: rowStore keeps those in columns (8 bytes of
// time, 4 of size, and the id packed six bits a character at a fixed
// stride: PHP's ids use 64 characters, so a 32-character id takes 24
// bytes; 40 bytes a session with the sort's index), in chunks that never
// move, and only the rare row that carries more (a status, a lock,
// --columns data, a key-value store's TTL and servers, an id of another
// length than the first) as a whole lsRow.
type rowStore struct {
	mtimes [][]int64  // UnixNano; for a full row its index in full
	sizes  [][]uint32 // fullRow for a full row
	ids    [][]byte   // packed ids, stride bytes each
	idLen  int        // the length of every plain row's id (0: none yet)
	stride int        // packedLen(idLen)
	full   []lsRow    // rows that are not plain
	n      int

	// plain rows are rebuilt from these.
	checked bool                       // --check: every row has Checked
	paths   bool                       // rebuilt rows need their Path (JSON output)
	pathOf  func(string) string        // a files row's Path from its id
	pathIs  func(path, id string) bool // path == pathOf(id), without building it
	ttlOf   func(time.Time) int64      // a files row's ttl from its time
}

const (
	rowShift = 14
	rowMask  = rowChunk - 1
	rowChunk = 1 << rowShift
	fullRow  = math.MaxUint32 // sizes: the row is in full
)

// idCode maps the 64 id characters to 6-bit codes in their byte order,
// so that packed ids of one length compare as the ids do.
var idCode, idChar = func() (code [256]byte, char [64]byte) {
	const chars = ",-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for i := range code {
		code[i] = 0xff
	}
	for i := range len(chars) {
		code[chars[i]], char[i] = byte(i), chars[i]
	}
	return code, char
}()

// packID appends id packed six bits a character after its length byte;
// false when id holds another character or is too long.
func packID(dst []byte, id string) ([]byte, bool) {
	if len(id) == 0 || len(id) > 255 {
		return dst, false
	}
	dst = append(dst, byte(len(id)))
	var acc uint32
	bits := 0
	for i := 0; i < len(id); i++ {
		c := idCode[id[i]]
		if c == 0xff {
			return dst, false
		}
		acc = acc<<6 | uint32(c)
		bits += 6
		for bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
		}
	}
	if bits > 0 {
		dst = append(dst, byte(acc<<(8-bits)))
	}
	return dst, true
}

func packedLen(n int) int { return (n*6 + 7) / 8 }

// unpackID appends the id packed at p (its length byte first).
func unpackID(dst []byte, p []byte) []byte {
	n := int(p[0])
	p = p[1:]
	var acc uint32
	bits := 0
	for i := 0; len(dst) < cap(dst) && i < n; {
		if bits < 6 {
			acc = acc<<8 | uint32(p[0])
			p = p[1:]
			bits += 8
		}
		bits -= 6
		dst = append(dst, idChar[(acc>>bits)&63])
		i++
	}
	return dst
}

// plain reports whether r is rebuilt exactly from its id, size and time.
func (s *rowStore) plain(r *lsRow) bool {
	return s.pathOf != nil && s.pathIs != nil && s.ttlOf != nil && r.Status == "" && !r.Bad && !r.Locked && r.miss == missNone &&
		!r.Skipped && r.Data == nil && r.cells == nil && r.Checked == s.checked &&
		r.Server == "" && r.Servers == nil && r.TTL == 0 && !r.HasTTL && !r.Info.Locked && r.LockHolder == "" &&
		r.Size >= 0 && r.Size < fullRow && !r.ModTime.IsZero() &&
		r.ModTime.Year() > 1678 && r.ModTime.Year() < 2262 && // UnixNano's range
		(s.idLen == 0 || len(r.ID) == s.idLen) &&
		s.pathIs(r.Path, r.ID) && r.ttl == s.ttlOf(r.ModTime)
}

func (s *rowStore) add(r lsRow) {
	if s.n%rowChunk == 0 {
		s.mtimes = append(s.mtimes, make([]int64, 0, rowChunk))
		s.sizes = append(s.sizes, make([]uint32, 0, rowChunk))
		if s.stride > 0 {
			s.ids = append(s.ids, make([]byte, 0, rowChunk*s.stride))
		}
	}
	c := len(s.mtimes) - 1
	plain := s.plain(&r)
	if plain && s.idLen == 0 {
		if _, ok := packID(nil, r.ID); ok {
			s.idLen, s.stride = len(r.ID), packedLen(len(r.ID))
			// The chunks so far get their id column now.
			for range s.mtimes {
				s.ids = append(s.ids, make([]byte, 0, rowChunk*s.stride))
			}
			for i := range s.ids[:c+1] {
				s.ids[i] = s.ids[i][:len(s.sizes[i])*s.stride]
			}
		}
	}
	if plain && s.idLen > 0 {
		if packed, ok := packID(s.ids[c], r.ID); ok {
			// packID writes the length byte first: drop it.
			off := len(s.ids[c])
			copy(packed[off:], packed[off+1:])
			s.ids[c] = packed[:off+s.stride]
			s.mtimes[c] = append(s.mtimes[c], r.ModTime.UnixNano())
			s.sizes[c] = append(s.sizes[c], uint32(r.Size))
			s.n++
			return
		}
	}
	s.mtimes[c] = append(s.mtimes[c], int64(len(s.full)))
	s.sizes[c] = append(s.sizes[c], fullRow)
	if s.stride > 0 {
		s.ids[c] = append(s.ids[c], make([]byte, s.stride)...)
	}
	s.full = append(s.full, r)
	s.n++
}

// fullAt is row i as a whole lsRow when it is kept whole.
func (s *rowStore) fullAt(i int) (*lsRow, bool) {
	if s.sizes[i/rowChunk][i%rowChunk] != fullRow {
		return nil, false
	}
	return &s.full[s.mtimes[i/rowChunk][i%rowChunk]], true
}

// packed is a plain row's packed id.
func (s *rowStore) packed(i int) []byte {
	off := (i % rowChunk) * s.stride
	return s.ids[i/rowChunk][off : off+s.stride]
}

// id is row i's id.
func (s *rowStore) id(i int) string {
	if r, ok := s.fullAt(i); ok {
		return r.ID
	}
	var buf [256]byte
	buf[0] = byte(s.idLen)
	copy(buf[1:], s.packed(i))
	var out [255]byte
	return string(unpackID(out[:0], buf[:1+s.stride]))
}

func (s *rowStore) mtime(i int) time.Time {
	if r, ok := s.fullAt(i); ok {
		return r.ModTime
	}
	return time.Unix(0, s.mtimes[i/rowChunk][i%rowChunk])
}

func (s *rowStore) size(i int) int64 {
	if r, ok := s.fullAt(i); ok {
		return r.Size
	}
	return int64(s.sizes[i/rowChunk][i%rowChunk])
}

// row rebuilds row i.
func (s *rowStore) row(i int) lsRow {
	if r, ok := s.fullAt(i); ok {
		return *r
	}
	id := s.id(i)
	mt := s.mtime(i)
	r := lsRow{Checked: s.checked, ttl: s.ttlOf(mt)}
	r.ID, r.Size, r.ModTime = id, s.size(i), mt
	if s.paths {
		r.Path = s.pathOf(id)
	}
	return r
}

// plainSize is row i's size and true when it is a plain row (nothing a
// summary counts but itself and its bytes).
func (s *rowStore) plainSize(i int) (int64, bool) {
	if _, ok := s.fullAt(i); ok {
		return 0, false
	}
	return s.size(i), true
}

// compare orders rows a and b as rowOrder does: by age (newest first) or
// size (largest first), then by id (packed ids of one length compare as
// the ids do).
func (s *rowStore) compare(by string, a, b int) int {
	fa, aFull := s.fullAt(a)
	fb, bFull := s.fullAt(b)
	if aFull || bFull {
		ra, rb := s.row(a), s.row(b)
		if aFull {
			ra = *fa
		}
		if bFull {
			rb = *fb
		}
		return rowOrder(by, ra, rb)
	}
	switch by {
	case "age":
		if c := cmp.Compare(s.mtimes[b/rowChunk][b%rowChunk], s.mtimes[a/rowChunk][a%rowChunk]); c != 0 {
			return c
		}
	case "size":
		if c := cmp.Compare(s.sizes[b/rowChunk][b%rowChunk], s.sizes[a/rowChunk][a%rowChunk]); c != 0 {
			return c
		}
	}
	return bytes.Compare(s.packed(a), s.packed(b))
}

// sorted returns the row indexes in listing order (reverse flips it).
func (s *rowStore) sorted(by string, reverse bool) []uint32 {
	idx := make([]uint32, s.n)
	for i := range idx {
		idx[i] = uint32(i)
	}
	sign := 1
	if reverse {
		sign = -1
	}
	cmpFn := func(a, b uint32) int { return sign * s.compare(by, int(a), int(b)) }
	if len(s.full) == 0 && s.stride > 0 {
		// Every row plain: compare the columns directly.
		mt, sz, ids, w := s.mtimes, s.sizes, s.ids, uint32(s.stride)
		id := func(i uint32) []byte {
			off := (i & rowMask) * w
			return ids[i>>rowShift][off : off+w]
		}
		switch by {
		case "age":
			cmpFn = func(a, b uint32) int {
				ma, mb := mt[a>>rowShift][a&rowMask], mt[b>>rowShift][b&rowMask]
				if ma != mb {
					if ma > mb {
						return -sign
					}
					return sign
				}
				return sign * bytes.Compare(id(a), id(b))
			}
		case "size":
			cmpFn = func(a, b uint32) int {
				sa, sb := sz[a>>rowShift][a&rowMask], sz[b>>rowShift][b&rowMask]
				if sa != sb {
					if sa > sb {
						return -sign
					}
					return sign
				}
				return sign * bytes.Compare(id(a), id(b))
			}
		default:
			cmpFn = func(a, b uint32) int { return sign * bytes.Compare(id(a), id(b)) }
		}
	}
	slices.SortFunc(idx, cmpFn)
	return idx
}

// topRows keeps the first limit rows of a listing in its order (a heap of
// the worst kept), so that ls --limit N --sort holds N rows, not all.
type topRows struct {
	rows    []lsRow
	limit   int
	less    func(a, b lsRow) bool // a comes before b in the listing
	reverse bool
}

func (t *topRows) Len() int           { return len(t.rows) }
func (t *topRows) Less(i, j int) bool { return t.less(t.rows[j], t.rows[i]) } // the worst on top
func (t *topRows) Swap(i, j int)      { t.rows[i], t.rows[j] = t.rows[j], t.rows[i] }
func (t *topRows) Push(x any)         { t.rows = append(t.rows, x.(lsRow)) }
func (t *topRows) Pop() any {
	r := t.rows[len(t.rows)-1]
	t.rows = t.rows[:len(t.rows)-1]
	return r
}

func (t *topRows) add(r lsRow) {
	if len(t.rows) < t.limit {
		heap.Push(t, r)
		return
	}
	if t.less(r, t.rows[0]) {
		t.rows[0] = r
		heap.Fix(t, 0)
	}
}

// listing returns the kept rows in listing order.
func (t *topRows) listing() []lsRow {
	slices.SortFunc(t.rows, func(a, b lsRow) int {
		if t.less(a, b) {
			return -1
		}
		if t.less(b, a) {
			return 1
		}
		return 0
	})
	return t.rows
}

// rowOrder is sortRows' order as a comparison.
func rowOrder(by string, a, b lsRow) int {
	switch by {
	case "age":
		if c := b.ModTime.Compare(a.ModTime); c != 0 {
			return c
		}
	case "size":
		if c := cmp.Compare(b.Size, a.Size); c != 0 {
			return c
		}
	}
	return strings.Compare(a.ID, b.ID)
}
