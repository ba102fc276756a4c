package phpser

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// SyntaxError reports input that PHP's decoder would refuse (for a session:
// a payload PHP 8 destroys as corrupt). It says where, what was expected
// there and what was found, and the key path of the value being decoded.
type SyntaxError struct {
	// Offset is the byte offset in the input where decoding failed.
	Offset int
	// Expected describes what the grammar required at Offset.
	Expected string
	// Found is a %q-quoted excerpt of the input at Offset, or "end of input".
	Found string
	// Path is the key path of the value being decoded, top-level key first
	// (cart.items[3].price); empty at the top level.
	Path string
}

// Error returns a one-line message:
// offset 17 (at cart.items[3].price): expected ';' after int, found "x".
func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString("offset ")
	b.WriteString(strconv.Itoa(e.Offset))
	if e.Path != "" {
		b.WriteString(" (at ")
		b.WriteString(clipPath(e.Path))
		b.WriteString(")")
	}
	b.WriteString(": expected ")
	b.WriteString(e.Expected)
	b.WriteString(", found ")
	b.WriteString(e.Found)
	return b.String()
}

// EncodeError reports a value or key that the chosen handler cannot store
// (PHP would silently drop it or wipe the whole session; we refuse), or a
// reference whose target is not present earlier in the tree.
type EncodeError struct {
	// Path is the key path of the offending value or key.
	Path string
	// Reason says what is wrong.
	Reason string
}

// Error returns a one-line message naming the path and the reason.
func (e *EncodeError) Error() string {
	if e.Path == "" {
		return "cannot encode: " + e.Reason
	}
	return "cannot encode " + strconv.Quote(e.Path) + ": " + e.Reason
}

// innerPath formats a key path collected innermost first (as decoders and
// encoders collect it while unwinding).
func innerPath(path []Key) string {
	keys := make([]Key, len(path))
	for i, k := range path {
		keys[len(path)-1-i] = k
	}
	return formatKeyPath(keys)
}

// finishError completes a decoder's error: a default when none
// was recorded, and the key path.
func finishError(err **SyntaxError, path []Key) error {
	if *err == nil {
		*err = &SyntaxError{Expected: "valid input", Found: "end of input"}
	}
	if len(path) > 0 && (*err).Path == "" {
		(*err).Path = innerPath(path)
	}
	return *err
}

// withPath fills in an encoder's error path.
func withPath(err *EncodeError, path []Key) error {
	if len(path) > 0 && err.Path == "" {
		err.Path = innerPath(path)
	}
	return err
}

// refSet holds the anchors some KindRef refers to: a list while few (a
// session has few), a map once many (hostile input can hold thousands).
type refSet struct {
	few []int64
	m   map[int64]bool
}

func newRefSet(as []int64) refSet {
	if len(as) <= 16 {
		return refSet{few: as}
	}
	m := make(map[int64]bool, len(as))
	for _, a := range as {
		m[a] = true
	}
	return refSet{m: m}
}

func (r *refSet) has(a int64) bool {
	if a == 0 {
		return false
	}
	if r.m != nil {
		return r.m[a]
	}
	for _, t := range r.few {
		if t == a {
			return true
		}
	}
	return false
}

// anchorFinder finds the last of a list's entries with a given anchor: a
// scan while the list is short, then a map brought up to date as it grows.
type anchorFinder struct {
	m    map[int64]int
	done int
}

func (x *anchorFinder) find(n int, anchorAt func(int) int64, a int64) (int, bool) {
	if n <= 16 {
		for i := n - 1; i >= 0; i-- {
			if anchorAt(i) == a {
				return i, true
			}
		}
		return 0, false
	}
	if x.m == nil {
		x.m = make(map[int64]int, 2*n)
	}
	for ; x.done < n; x.done++ {
		x.m[anchorAt(x.done)] = x.done
	}
	i, ok := x.m[a]
	return i, ok
}

// maxPathShown is how much of a path an error's text shows: a damaged
// session can make a key of any length out of the bytes that follow.
const maxPathShown = 160

// clipPath shortens a path longer than maxPathShown to its start and end,
// "..." between them.
func clipPath(p string) string {
	if len(p) <= maxPathShown {
		return p
	}
	head, tail := p[:maxPathShown-48], p[len(p)-40:]
	for len(head) > 0 && !utf8.RuneStart(p[len(head)]) {
		head = head[:len(head)-1]
	}
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		tail = tail[1:]
	}
	return head + " ... " + tail
}
