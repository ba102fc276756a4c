package cmd

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// mutation changes a decoded session; it reports whether anything changed.
type mutation func(s *phpser.Session) (changed bool, err error)

// mutateSession runs change on session id under LOCK_EX (store.Update):
// decode the current bytes (auto-detecting the handler unless h is set; a
// new or empty session takes fallback), apply change, re-encode in the
// session's own handler. A session that does not decode is refused, never
// overwritten. No change, or a change giving the same bytes, writes nothing.
//
// top, when not "", is the one top-level key change looks at: a php,
// php_binary, php_serialize, igbinary or msgpack session is then changed
// without decoding the rest of it whole (mutateTop).
func mutateSession(ctx context.Context, store Backend, st *Settings, id string, h phpser.Handler, create bool, key string, change mutation) (sessfile.UpdateResult, error) {
	fallback := st.FallbackHandler()
	top := topOf(key)
	res, err := store.Update(ctx, id, create, func(old []byte, exists bool) ([]byte, error) {
		if nb, handled, err := mutateDeep(st, old, h, key, change); handled {
			return nb, err
		}
		if top != "" {
			nb, handled, err := mutateTop(st, old, h, top, change)
			if handled {
				return nb, err
			}
		}
		return mutateWhole(st, old, h, fallback, change)
	})
	if err != nil {
		return res, sessionErr(id, st, err)
	}
	return res, nil
}

// mutateDeep is mutateSession's change of a value below the top level
// (a JSON Pointer of two tokens or more) of a large php, php_binary or
// php_serialize session whose values stand apart: only the entries along
// the pointer are decoded and the old bytes are spliced
// (phpser.EncodeDeepChange), so that a session that is one wide value is
// not decoded whole. handled false: mutateTop or the whole decode
// decides.
func mutateDeep(st *Settings, old []byte, h phpser.Handler, key string, change mutation) (nb []byte, handled bool, err error) {
	if len(old) < deepChangeMin || !strings.HasPrefix(key, "/") || strings.Count(key, "/") < 2 {
		return nil, false, nil
	}
	boundMemory(len(old))
	// A session the scan declines (references, payloads, a fault) is
	// left to mutateTop, not decoded here.
	nb, used, changed, ok := st.DecodeOptions().EncodeDeepChange(old, h, key, change)
	if !ok {
		return nil, false, nil
	}
	if !changed || string(nb) == string(old) {
		return old, true, nil
	}
	if err := checkReadBack(st, nb, used); err != nil {
		return nil, true, err
	}
	return nb, true, nil
}

// deepChangeMin is the size from which mutateDeep splices a change below
// the top level: a smaller session is decoded a top-level value at a time
// (mutateTop), which costs little.
var deepChangeMin = 1 << 20

// mutateWhole is mutateSession's change on the whole decoded tree.
func mutateWhole(st *Settings, old []byte, h, fallback phpser.Handler, change mutation) ([]byte, error) {
	var s *phpser.Session
	if len(old) == 0 {
		used := h
		if used == phpser.HandlerAuto || used == "" {
			used = fallback
		}
		s = &phpser.Session{Handler: used, Root: phpser.Array()}
	} else {
		d := decodeStored(old, h, fallback, st.DecodeOptions())
		if d.Err != nil {
			return nil, fmt.Errorf("refusing to change it: %w", decodeErr("it", d, old))
		}
		s = d.Sess
	}
	changed, err := change(s)
	if err != nil {
		return nil, err
	}
	if !changed {
		return old, nil
	}
	// Encoded over the old bytes: what the two share is not held
	// twice, and the tree shrinks as the encoding grows (which
	// consumes s).
	handler := s.Handler
	var reclaim func()
	if len(old) >= 4<<20 {
		reclaim = debug.FreeOSMemory
	}
	nb, err := phpser.EncodeSessionOver(old, s, reclaim)
	s = nil
	if err != nil {
		return nil, refusedWrite(err)
	}
	if len(nb) == len(old) && string(nb) == string(old) {
		return old, nil
	}
	if err := checkReadBack(st, nb, handler); err != nil {
		return nil, err
	}
	return nb, nil
}

// mutateTop is mutateSession's change for a php, php_binary or
// php_serialize (root array) session without references or payloads when
// change looks only at top-level key
// top: one scan (phpser.DecodeSelected) finds that key's entries and
// decodes only them, change runs on a session holding just those, and the
// new bytes are the old ones with those entries replaced, removed, or (a
// key that was not there) added at the end: what encoding the whole
// changed tree gives, since every other entry encodes to its own bytes.
// The whole tree is never built. handled false: decode it whole (the
// session does not take the scan, or the change did something else than
// replace, remove or add the key's entries).
func mutateTop(st *Settings, old []byte, h phpser.Handler, top string, change mutation) (nb []byte, handled bool, err error) {
	if len(old) == 0 || top == "" {
		return nil, false, nil
	}
	boundMemory(len(old))
	o := st.DecodeOptions()
	o.Borrow = true
	want := phpser.Selection{Keys: []string{top}, Spans: true, Linked: true}
	var sel phpser.Selected
	used := h
	if ext := phpser.DetectExtension(old); ext != "" && (h == phpser.HandlerAuto || h == "") {
		used = ext // detection's first rule: no decode needed
	}
	if used == phpser.HandlerIgbinary || used == phpser.HandlerMsgpack {
		return mutateTopExt(st, old, used, top, change)
	}
	if h == phpser.HandlerAuto || h == "" {
		sel, used, err = o.DecodeSelectedAuto(old, want)
	} else {
		sel, err = o.DecodeSelected(old, h, want)
	}
	if err != nil || sel.Full {
		return nil, false, nil // the whole decode decides, and words any error
	}
	if sel.Linked {
		// References: walked a variable at a time, encoded again so that
		// they are renumbered (phpser.EncodeTopChange).
		return mutateEntries(st, old, used, top, change, sel.Sess.Root.Elems)
	}
	// A php_serialize session's variables are its root array's entries,
	// inside a:<count>:{...}: the count is rewritten, new entries go
	// before the closing brace.
	rootCount, body := 0, 0
	switch used {
	case phpser.HandlerPHP, phpser.HandlerPHPBinary:
	case phpser.HandlerPHPSerialize:
		var ok bool
		if rootCount, body, ok = rootHeader(old); !ok {
			return nil, false, nil
		}
	default:
		return nil, false, nil
	}
	part := sel.Sess
	part.Handler = used
	before := len(part.Root.Elems)
	spans := sel.Spans
	if len(spans) != before {
		return nil, false, nil
	}
	after, inPlace, changed, err := changeTop(part, before, top, change)
	if err != nil {
		return nil, true, err
	}
	if !changed {
		return old, true, nil
	}
	switch {
	case inPlace, before > 0 && len(after) == 0, before == 0:
	default:
		return nil, false, nil
	}
	nb = make([]byte, 0, len(old)+len(old)/16+64)
	at := 0
	if used == phpser.HandlerPHPSerialize {
		n := rootCount + len(after) - before
		if inPlace {
			n = rootCount
		}
		nb = append(nb, "a:"...)
		nb = strconv.AppendInt(nb, int64(n), 10)
		nb = append(nb, ":{"...)
		at = body
	}
	for i, sp := range spans {
		nb = append(nb, old[at:sp.Start]...)
		if inPlace {
			if nb, err = phpser.AppendTopEntry(nb, used, &after[i]); err != nil {
				return nil, true, refusedWrite(err)
			}
		}
		at = sp.End
	}
	// Added entries go at the end of the variables (before the root's
	// closing brace and any bytes after it, for php_serialize).
	tail := len(old)
	if used == phpser.HandlerPHPSerialize {
		tail = len(old) - len(part.Trailing) - 1
	}
	nb = append(nb, old[at:tail]...)
	if before == 0 {
		for i := range after {
			if nb, err = phpser.AppendTopEntry(nb, used, &after[i]); err != nil {
				return nil, true, refusedWrite(err)
			}
		}
	}
	nb = append(nb, old[tail:]...)
	if len(nb) == len(old) && string(nb) == string(old) {
		return old, true, nil
	}
	if err := checkReadBack(st, nb, used); err != nil {
		return nil, true, err
	}
	return nb, true, nil
}

// mutateTopExt is mutateTop for an igbinary or msgpack session that
// phpser.EachTop walks (no variable tied to another, written as the
// extension writes it): a walk decodes only the key's entries, change
// runs on a session holding just those, and the session is encoded again
// a variable at a time (phpser.EncodeTopChange: the string table and slot
// numbers carried from one to the next), giving the bytes the whole
// changed tree encodes to. The whole tree is never built.
func mutateTopExt(st *Settings, old []byte, h phpser.Handler, top string, change mutation) (nb []byte, handled bool, err error) {
	o := st.DecodeOptions()
	o.Borrow = true
	entries, _, ok, _ := o.TopEntries(old, h, top)
	if !ok {
		return nil, false, nil // the whole decode decides, and words any error
	}
	return mutateEntries(st, old, h, top, change, entries)
}

// mutateEntries is mutateTopExt, and mutateTop for a session with
// references, given the entries of top: one tied to another variable (a
// reference the change would follow; a value references elsewhere name
// that the change drops, which makes them copies of it) has the whole
// decode decide.
func mutateEntries(st *Settings, old []byte, h phpser.Handler, top string, change mutation, entries []phpser.Entry) (nb []byte, handled bool, err error) {
	o := st.DecodeOptions()
	o.Borrow = true
	var named []int64 // the anchors of the key's values: what references elsewhere name
	refs := false     // the key's values hold references
	if h == phpser.HandlerPHP || h == phpser.HandlerPHPBinary || h == phpser.HandlerPHPSerialize {
		for i := range entries {
			refs = refs || entries[i].Val.Any(phpser.IsRef)
			named = anchorsIn(&entries[i].Val, named)
		}
	}
	part := &phpser.Session{Handler: h, Root: phpser.Array(entries...)}
	before := len(entries)
	after, inPlace, changed, err := changeTop(part, before, top, change)
	if refs && (err != nil || !changed || len(after) > 0) {
		// A change inside the key's values would follow their
		// references into other variables (set writes through one, as
		// PHP does): only removing the key leaves those untouched.
		return nil, false, nil
	}
	if err != nil {
		return nil, true, err
	}
	if !changed {
		return old, true, nil
	}
	if len(named) > 0 {
		// A named value replaced in place keeps its Anchor (PHP assigns
		// through the reference) and is encoded so; one the change
		// dropped turns the references to it into copies, in other
		// variables: the whole decode does that.
		var kept []int64
		for i := range after {
			kept = anchorsIn(&after[i].Val, kept)
		}
		for _, a := range named {
			if !slices.Contains(kept, a) {
				return nil, false, nil
			}
		}
	}
	c := phpser.TopChange{Key: top}
	switch {
	case inPlace:
		c.Replace = after
	case before > 0 && len(after) == 0:
		c.Remove = true
	case before == 0:
		c.Add = after
	default:
		return nil, false, nil
	}
	var reclaim func()
	if len(old) >= 4<<20 {
		// What the walks (the one that found the key's entries, the
		// first of EncodeTopChange) left is garbage: the encoding's
		// buffer and its string table come next.
		reclaim = debug.FreeOSMemory
		reclaim()
	}
	strs := 0
	c.Reclaim, c.Size, c.Strings = reclaim, len(old)+len(old)/64+2*entriesSize(c.Replace)+2*entriesSize(c.Add)+256, &strs
	nb, ok, err := o.EncodeTopChange(nil, old, h, c)
	if !ok {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, refusedWrite(err)
	}
	if len(nb) == len(old) && string(nb) == string(old) {
		return old, true, nil
	}
	if reclaim != nil {
		reclaim() // the encoder's string table, before the check's
	}
	if err := checkReadBackSized(st, nb, h, strs); err != nil {
		return nil, true, err
	}
	return nb, true, nil
}

// entriesSize is about how many bytes entries take encoded: their keys'
// and strings' bytes and a few a value.
func entriesSize(el []phpser.Entry) int {
	n := 0
	for i := range el {
		n += len(el[i].Key.Str) + len(el[i].Val.Str) + 16 + entriesSize(el[i].Val.Elems)
	}
	return n
}

// rootHeader reads the a:<count>:{ a php_serialize session starts with,
// as PHP writes it (the count in plain decimal), and where its entries
// start; ok false for any other root.
func rootHeader(b []byte) (count, body int, ok bool) {
	if len(b) < 6 || b[0] != 'a' || b[1] != ':' {
		return 0, 0, false
	}
	i := 2
	for i < len(b) && i < 2+18 && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 2 || i+1 >= len(b) || b[i] != ':' || b[i+1] != '{' || b[2] == '0' && i > 3 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(string(b[2:i]))
	if err != nil {
		return 0, 0, false
	}
	return n, i + 2, true
}

// changeTop runs change on part, a session holding the before entries of
// top-level key top, and says what it left: the entries after, and
// whether it only replaced them in place (the same number, all still top).
func changeTop(part *phpser.Session, before int, top string, change mutation) (after []phpser.Entry, inPlace, changed bool, err error) {
	if changed, err = change(part); err != nil || !changed {
		return nil, false, changed, err
	}
	after = part.Root.Elems
	inPlace = len(after) == before && before > 0
	for _, e := range after[:min(before, len(after))] {
		if e.Key.IsInt || e.Key.Str != top {
			inPlace = false
		}
	}
	return after, inPlace, true, nil
}

// refusedWrite words an encoder refusal (a key the handler cannot store, a
// reference without a target) as a usage error: nothing is written.
func refusedWrite(err error) error {
	var ee *phpser.EncodeError
	if errors.As(err, &ee) {
		return usage(fmt.Errorf("refusing the change, nothing written: %w", err))
	}
	return fmt.Errorf("cannot encode the changed session: %w", err)
}

// checkReadBack decodes the bytes about to be written as PHP's session
// decoder will (its handler, its unserialize_max_depth, nesting counted
// from the session's root) and refuses them, as a usage error, when PHP
// could not read them back: PHP would destroy the session on its next
// request.
func checkReadBack(st *Settings, nb []byte, h phpser.Handler) error {
	return checkReadBackSized(st, nb, h, 0)
}

// checkReadBackSized is checkReadBack given about how many strings an
// igbinary session's table holds (phpser.ValidateSessionSized).
func checkReadBackSized(st *Settings, nb []byte, h phpser.Handler, strs int) error {
	boundMemory(len(nb))
	o := st.DecodeOptions()
	o.Borrow = true
	// The scan (igbinary, msgpack: a walk a variable at a time) checks
	// what the decoder checks without building the tree (the same verdict
	// and error: phpser's differential tests).
	if err := o.ValidateSessionSized(nb, h, strs); err != nil {
		return usage(fmt.Errorf("refusing the change, nothing written: PHP could not read the session back (handler %s: %v)", h, err))
	}
	return nil
}

// pathErr turns phpser's key errors into usage errors (a key the handler
// cannot store, a bad JSON Pointer, a missing parent).
func pathErr(err error) error {
	if errors.Is(err, phpser.ErrPath) {
		return usage(err)
	}
	return err
}

// topOf is the top-level key a key or JSON Pointer lies under, "" when it
// does not parse (the whole session is decoded and the change says why).
func topOf(key string) string {
	t, ok := phpser.TopKey(key)
	if !ok {
		return ""
	}
	if t2, _ := phpser.TopKey(t); t2 != t {
		// A key that reads as a pointer itself ("/~1a" names "/a"): the
		// selection would take it for another key.
		return ""
	}
	return t
}

// anchorsIn appends to a the Anchors of v and the values inside it.
func anchorsIn(v *phpser.Value, a []int64) []int64 {
	v.Any(func(x *phpser.Value) bool {
		if x.Anchor != 0 {
			a = append(a, x.Anchor)
		}
		return false // on through every value
	})
	return a
}
