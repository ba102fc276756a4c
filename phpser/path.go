package phpser

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrPath is wrapped by every error Set and Unset return for a key or a
// JSON Pointer that cannot be used (errors.Is(err, ErrPath)).
var ErrPath = errors.New("bad session key")

// ArrayKey returns the key PHP uses when a string s indexes an array:
// an int key when s is a canonical decimal integer within the 64-bit range
// (an optional "-", then "0" or a non-zero digit followed by digits; "-0"
// excluded), otherwise the string key s. So "5" and "-5" become ints, while
// "05", "-0", " 5", "5 ", "5.0", "+5", "1e3" and out-of-range numbers stay
// strings (PHP's ZEND_HANDLE_NUMERIC_STR).
func ArrayKey(s string) Key {
	if n, ok := canonicalInt(s); ok {
		return IntKey(n)
	}
	return StrKey(s)
}

// canonicalInt reports whether s is a canonical decimal int64 as PHP's
// numeric-string key rule defines it.
func canonicalInt(s string) (int64, bool) {
	d := s
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 19 || d[0] < '0' || d[0] > '9' || (d[0] == '0' && (len(d) > 1 || len(s) > 1)) {
		return 0, false
	}
	for i := 1; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parsePath splits a key into its tokens: a key not starting with "/" is
// one literal top-level key; otherwise it is an RFC 6901 JSON Pointer whose
// first token is the top-level key.
func parsePath(key string) ([]string, error) {
	if !strings.HasPrefix(key, "/") {
		return []string{key}, nil
	}
	toks := strings.Split(key[1:], "/")
	for i, t := range toks {
		if !strings.Contains(t, "~") {
			continue
		}
		var b strings.Builder
		for j := 0; j < len(t); j++ {
			if t[j] != '~' {
				b.WriteByte(t[j])
				continue
			}
			if j+1 < len(t) && (t[j+1] == '0' || t[j+1] == '1') {
				b.WriteByte("~/"[t[j+1]-'0'])
				j++
				continue
			}
			return nil, fmt.Errorf("%w: JSON Pointer %q: \"~\" must be followed by 0 or 1", ErrPath, key)
		}
		toks[i] = b.String()
	}
	return toks, nil
}

// sessionKeys reports whether the session's top level uses the rules of
// session variables (string keys, never normalised; a numeric one is lost)
// rather than array keys: every handler but php_serialize.
func (s *Session) sessionKeys() bool {
	switch s.Handler {
	case HandlerPHP, HandlerPHPBinary, HandlerIgbinary, HandlerMsgpack:
		return true
	}
	return false
}

// match returns the indexes of the entries of container c that token tok
// names, in order. top says c is the session's top level.
func (s *Session) match(c *Value, tok string, top bool) []int {
	var out []int
	if c.Kind == KindObject {
		k := ArrayKey(tok)
		for i := range c.Elems {
			ek := c.Elems[i].Key
			if ek.IsInt {
				if k.IsInt && ek.Int == k.Int {
					out = append(out, i)
				}
				continue
			}
			if name, _, _ := ek.Prop(); name == tok {
				out = append(out, i)
			}
		}
		return out
	}
	if top && s.sessionKeys() {
		for i := range c.Elems {
			if ek := c.Elems[i].Key; !ek.IsInt && ek.Str == tok {
				out = append(out, i)
			}
		}
		return out
	}
	k := ArrayKey(tok)
	for i := range c.Elems {
		if KeyEqual(c.Elems[i].Key, k) {
			out = append(out, i)
		}
	}
	if len(out) == 0 && k.IsInt {
		// A string key PHP itself could not hold ("5" as a string), as
		// hand-made input may have it.
		for i := range c.Elems {
			if ek := c.Elems[i].Key; !ek.IsInt && ek.Str == tok {
				out = append(out, i)
			}
		}
	}
	return out
}

// root returns the session's top-level array, making a null root an empty
// array when create is set (a new session, or php_serialize's N;).
func (s *Session) root(create bool) (*Value, error) {
	if s.Root.Kind == KindNull && create {
		s.Root = Value{Kind: KindArray, Anchor: s.Root.Anchor}
	}
	if s.Root.Kind != KindArray {
		return nil, fmt.Errorf("%w: the session holds a single %s, not variables", ErrPath, s.Root.Kind)
	}
	return &s.Root, nil
}

// walkTo follows toks (all but the last) from the top level to the
// container that holds the last token, resolving references.
func (s *Session) walkTo(toks []string, create bool) (*Value, anchorIndex, error) {
	c, err := s.root(create)
	if err != nil {
		return nil, nil, err
	}
	idx := indexAnchors(&s.Root)
	for i, tok := range toks[:len(toks)-1] {
		m := s.match(c, tok, i == 0)
		if len(m) == 0 {
			return nil, idx, fmt.Errorf("%w: %q: no key %q", ErrPath, pointerPrefix(toks, i), tok)
		}
		child := idx.deref(&c.Elems[m[len(m)-1]].Val)
		if child == nil || !child.IsContainer() {
			kind := "a dangling reference"
			if child != nil {
				kind = "a " + child.Kind.String()
			}
			return nil, idx, fmt.Errorf("%w: %q is %s, not an array", ErrPath, pointerPrefix(toks, i), kind)
		}
		c = child
	}
	return c, idx, nil
}

// pointerPrefix renders the first n+1 tokens as a JSON Pointer.
func pointerPrefix(toks []string, n int) string {
	var b strings.Builder
	for _, t := range toks[:n+1] {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}

// Lookup returns the value that key names, following references. A key not
// starting with "/" is a literal top-level key; "/a/b/0" is a JSON Pointer
// (RFC 6901, "~1" for "/" and "~0" for "~") into nested arrays and object
// properties (by their plain names). In php_serialize sessions and nested
// arrays a token names the key PHP would use for it ("5" is int 5); in php
// and php_binary sessions top-level keys are matched as strings. When a key
// is repeated, its last value is the one PHP sees and the one returned.
func (s *Session) Lookup(key string) (Value, bool) {
	if s == nil {
		return Value{}, false
	}
	if !strings.HasPrefix(key, "/") && s.sessionKeys() && s.Root.Kind == KindArray {
		// The common case without allocating: a session variable by name
		// (the last of a repeated one), an index of anchors only if it
		// is a reference.
		for i := len(s.Root.Elems) - 1; i >= 0; i-- {
			e := &s.Root.Elems[i]
			if e.Key.IsInt || e.Key.Str != key {
				continue
			}
			v := &e.Val
			if v.Kind == KindRef || v.Kind == KindObjRef {
				if v = indexAnchors(&s.Root).deref(v); v == nil {
					return Value{}, false
				}
			}
			return *v, true
		}
		return Value{}, false
	}
	toks, err := parsePath(key)
	if err != nil {
		return Value{}, false
	}
	c, idx, err := s.walkTo(toks, false)
	if err != nil {
		return Value{}, false
	}
	m := s.match(c, toks[len(toks)-1], len(toks) == 1)
	if len(m) == 0 {
		return Value{}, false
	}
	v := idx.deref(&c.Elems[m[len(m)-1]].Val)
	if v == nil {
		return Value{}, false
	}
	return *v, true
}

// checkTopKey reports an error for a top-level key the session's handler
// cannot store: PHP code would see a numeric key as an int, which php and
// php_binary skip on write; php cannot store "|" in a key (it wipes the
// whole session), php_binary not more than 127 bytes (it drops the key).
func (s *Session) checkTopKey(key string) error {
	if !s.sessionKeys() {
		return nil
	}
	if ArrayKey(key).IsInt {
		how := "skips on write"
		if s.Handler == HandlerIgbinary || s.Handler == HandlerMsgpack {
			how = "drops when it reads the session"
		}
		return fmt.Errorf("%w: %q: PHP code sees $_SESSION[%q] as int key %s, which the %s handler %s", ErrPath, key, key, key, s.Handler, how)
	}
	if s.Handler == HandlerPHP && strings.IndexByte(key, '|') >= 0 {
		return fmt.Errorf("%w: %q: the php handler cannot store a key containing \"|\" (PHP would write an empty session)", ErrPath, key)
	}
	if s.Handler == HandlerPHPBinary && len(key) > 127 {
		return fmt.Errorf("%w: key of %d bytes: the php_binary handler drops keys longer than 127 bytes", ErrPath, len(key))
	}
	return nil
}

// Set stores v under key (a literal top-level key or a JSON Pointer, as in
// Lookup). A missing last key is added at the end of its array (the token
// "-" appends to a nested array with PHP's next int key, as $a[] = v); a
// missing or non-array parent is an error. Setting a position that is a PHP
// reference (R:) assigns through it, and a value that references point to
// keeps its Anchor, so every reference follows as in PHP; object handles
// (r:) to a replaced object keep that object. Values that only the replaced
// value held and that references elsewhere still need are moved to the
// first such reference, so no reference is left dangling.
//
// Keys the handler cannot store (see the php handler's "|" and numeric keys,
// php_binary's 127-byte limit) are errors wrapping ErrPath; so is a key in a
// php_serialize session whose root is not an array.
func (s *Session) Set(key string, v Value) error {
	toks, err := parsePath(key)
	if err != nil {
		return err
	}
	c, idx, err := s.walkTo(toks, true)
	if err != nil {
		return err
	}
	tok := toks[len(toks)-1]
	top := len(toks) == 1
	if top {
		if err := s.checkTopKey(tok); err != nil {
			return err
		}
	}
	m := s.match(c, tok, top)
	if len(m) == 0 {
		c.Elems = append(c.Elems, Entry{Key: s.newKey(c, tok, top, len(toks) > 1), Val: v})
		return nil
	}
	slot := &c.Elems[m[len(m)-1]].Val
	if slot.Kind == KindRef {
		if t := idx.deref(slot); t != nil {
			if payloadTop(&s.Root, t) {
				// A reference to what a Serializable's reader got from its
				// payload (unserialize()'s result, an SPL reader's flags,
				// storage or members) holds a copy in PHP: that temporary
				// is gone once the session is read. Assigning replaces the
				// copy, never the object's data.
				*slot = v
				return nil
			}
			slot = t
		}
	}
	old := *slot
	v.Anchor = old.Anchor
	v.Flags |= old.Flags & FlagRef // the place stays a PHP reference
	if old.Anchor != 0 && s.hasRefs(old.Anchor, KindObjRef) {
		// Object handles (r:) keep the old object: give it an anchor of its own.
		fresh := s.maxAnchor() + 1
		s.retarget(old.Anchor, fresh, KindObjRef)
		old.Anchor = fresh
	} else {
		old.Anchor = 0
	}
	*slot = v
	s.repair([]Value{old})
	return nil
}

// newKey is the key a new entry for tok gets in container c.
func (s *Session) newKey(c *Value, tok string, top, pointer bool) Key {
	switch {
	case c.Kind == KindObject:
		return PropKey(tok, Public, "")
	case top && s.sessionKeys():
		return StrKey(tok)
	case tok == "-" && pointer:
		next := int64(0)
		for _, e := range c.Elems {
			if e.Key.IsInt && e.Key.Int >= next && e.Key.Int < 1<<63-1 {
				next = e.Key.Int + 1
			}
		}
		return IntKey(next)
	}
	return ArrayKey(tok)
}

// Unset removes key (every entry of a repeated key). It reports whether
// anything was removed; a missing key or parent is not an error. A value
// that references elsewhere still point to moves to the first of them.
func (s *Session) Unset(key string) (removed bool, err error) {
	toks, err := parsePath(key)
	if err != nil {
		return false, err
	}
	if s.Root.Kind != KindArray {
		if s.Root.Kind == KindNull {
			return false, nil
		}
		_, err := s.root(false)
		return false, err
	}
	c, _, err := s.walkTo(toks, false)
	if err != nil {
		return false, nil
	}
	m := s.match(c, toks[len(toks)-1], len(toks) == 1)
	if len(m) == 0 {
		return false, nil
	}
	dead := make([]Value, 0, len(m))
	kept := c.Elems[:0:0]
	j := 0
	for i, e := range c.Elems {
		if j < len(m) && m[j] == i {
			dead = append(dead, e.Val)
			j++
			continue
		}
		kept = append(kept, e)
	}
	c.Elems = kept
	s.repair(dead)
	return true, nil
}

// hasRefs reports whether a reference of kind k points to anchor a.
func (s *Session) hasRefs(a int64, k Kind) bool {
	found := false
	walkValues(&s.Root, func(v *Value) bool {
		if v.Kind == k && v.Int == a {
			found = true
		}
		return !found
	})
	return found
}

// retarget points every reference of kind k to anchor from at anchor to.
func (s *Session) retarget(from, to int64, k Kind) {
	walkValues(&s.Root, func(v *Value) bool {
		if v.Kind == k && v.Int == from {
			v.Int = to
		}
		return true
	})
}

// maxAnchor returns the largest anchor or reference target in the session.
func (s *Session) maxAnchor() int64 {
	var m int64
	walkValues(&s.Root, func(v *Value) bool {
		m = max(m, v.Anchor)
		if v.Kind == KindRef || v.Kind == KindObjRef {
			m = max(m, v.Int)
		}
		return true
	})
	return m
}

// repair gives the anchored values inside dead (values just removed from
// the session) back to the session where a remaining reference needs them:
// the first such reference, in document order, becomes the value (PHP keeps
// a referenced value alive), later ones keep pointing to it.
func (s *Session) repair(dead []Value) {
	gone := map[int64]*Value{}
	for i := range dead {
		walkValues(&dead[i], func(v *Value) bool {
			if v.Anchor != 0 {
				if _, dup := gone[v.Anchor]; !dup {
					gone[v.Anchor] = v
				}
			}
			return true
		})
	}
	if len(gone) == 0 {
		return
	}
	live := map[int64]bool{}
	hard := map[int64]bool{} // anchors some R: points to
	walkValues(&s.Root, func(v *Value) bool {
		if v.Anchor != 0 {
			live[v.Anchor] = true
		}
		if v.Kind == KindRef {
			hard[v.Int] = true
		}
		return true
	})
	alias := map[int64]int64{}
	var fix func(v *Value)
	fix = func(v *Value) {
		// A materialised value may itself be a reference to a value that
		// is gone (an r: handle that sat in the removed part): follow.
		for range len(gone) + 1 {
			if v.Kind != KindRef && v.Kind != KindObjRef {
				break
			}
			if a, ok := alias[v.Int]; ok {
				v.Int = a
			}
			d, ok := gone[v.Int]
			if !ok || live[v.Int] {
				break
			}
			own, t := v.Anchor, v.Int
			m := deepCopy(*d)
			live[t] = true
			relink(&m, live, hard, true)
			if own != 0 && own != t {
				alias[own] = t
			}
			*v = m
		}
		for i := range v.Elems {
			fix(&v.Elems[i].Val)
		}
	}
	fix(&s.Root)
}

// relink marks the anchors inside a materialised value live, replacing a
// value whose anchor is already live elsewhere by a reference to it.
func relink(v *Value, live, hard map[int64]bool, isRoot bool) {
	if !isRoot && v.Anchor != 0 {
		if live[v.Anchor] {
			k := KindRef
			if !hard[v.Anchor] && (v.Kind == KindObject || v.Kind == KindCustom || v.Kind == KindEnum) {
				k = KindObjRef
			}
			*v = Value{Kind: k, Int: v.Anchor}
			return
		}
		live[v.Anchor] = true
	}
	for i := range v.Elems {
		relink(&v.Elems[i].Val, live, hard, false)
	}
}

// deepCopy copies v and every nested entry slice.
func deepCopy(v Value) Value {
	if v.Elems != nil {
		e := make([]Entry, len(v.Elems))
		for i := range v.Elems {
			e[i] = Entry{Key: v.Elems[i].Key, Val: deepCopy(v.Elems[i].Val)}
		}
		v.Elems = e
	}
	return v
}

// walkValues calls f on v and every nested value in document order (a
// value before its entries) until f returns false.
func walkValues(v *Value, f func(*Value) bool) bool {
	if !f(v) {
		return false
	}
	for i := range v.Elems {
		if !walkValues(&v.Elems[i].Val, f) {
			return false
		}
	}
	return true
}

// anchorIndex maps anchors to the values that carry them.
// payloadTop reports whether t is one of the values a Serializable's reader
// got from its payload (an element of a KindCustom's Elems) under root.
func payloadTop(root, t *Value) bool {
	found := false
	walkValues(root, func(v *Value) bool {
		if v.Kind == KindCustom {
			for i := range v.Elems {
				if &v.Elems[i].Val == t {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

type anchorIndex map[int64]*Value

// indexAnchors indexes the anchors under root (the first value wins when
// an anchor is repeated).
func indexAnchors(root *Value) anchorIndex {
	var idx anchorIndex // nil (reads nothing) until an anchor is seen
	walkValues(root, func(v *Value) bool {
		if v.Anchor != 0 {
			if idx == nil {
				idx = anchorIndex{}
			}
			if _, dup := idx[v.Anchor]; !dup {
				idx[v.Anchor] = v
			}
		}
		return true
	})
	return idx
}

// resolve returns the value anchor a names.
func (ix anchorIndex) resolve(a int64) (*Value, bool) {
	v, ok := ix[a]
	return v, ok
}

// deref follows references from v to a value that is not a reference, or
// returns nil for a dangling or circular chain.
func (ix anchorIndex) deref(v *Value) *Value {
	for range len(ix) + 1 {
		if v.Kind != KindRef && v.Kind != KindObjRef {
			return v
		}
		t, ok := ix[v.Int]
		if !ok {
			return nil
		}
		v = t
	}
	return nil
}

// TopKey returns the top-level key that key (a literal top-level key, or
// a JSON Pointer as Lookup, Set and Unset take it) names or lies under;
// false for a pointer that does not parse.
func TopKey(key string) (string, bool) {
	t := firstToken(key)
	return t, t != "\x00invalid"
}

// AppendTopEntry appends the encoding of one top-level variable of a php
// or php_binary session (its key and value) to dst, as EncodeSession
// writes it in a session without references; for php_serialize, one entry
// of the root array (its key and value, as inside the braces).
func AppendTopEntry(dst []byte, h Handler, e *Entry) ([]byte, error) {
	var few [8]encAnchor
	en := encoder{buf: dst, few: few[:0]}
	if err := en.topEntry(h, e); err != nil {
		return dst, err
	}
	return en.buf, nil
}

// topEntry writes a top-level variable of a php, php_binary or
// php_serialize session (its root array's entry).
func (en *encoder) topEntry(h Handler, e *Entry) error {
	switch h {
	case HandlerPHP, HandlerPHPBinary:
		return en.sessionEntry(h, e)
	case HandlerPHPSerialize:
		en.key(&e.Key, true)
		if err := en.value(&e.Val); err != nil {
			en.path = append(en.path, e.Key)
			return en.error(err)
		}
		return nil
	}
	return &EncodeError{Reason: "AppendTopEntry is for the php, php_binary and php_serialize handlers, not " + string(h)}
}
