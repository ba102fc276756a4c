package phpser

import (
	"strconv"
	"strings"
)

// Deref follows a KindRef or KindObjRef value to the value in the session
// carrying that Anchor (following further r: handles). Any other value is
// returned as is with ok true; ok is false when the reference is dangling.
func (s *Session) Deref(v Value) (Value, bool) {
	if v.Kind != KindRef && v.Kind != KindObjRef {
		return v, true
	}
	if s == nil {
		return Value{}, false
	}
	anchors := s.Anchors()
	for range 64 {
		t, ok := anchors[v.Int]
		if !ok {
			return Value{}, false
		}
		if t.Kind != KindRef && t.Kind != KindObjRef {
			return *t, true
		}
		v = *t
	}
	return Value{}, false
}

// Anchors maps every Anchor in the session to the value carrying it. The
// pointers alias the session's tree; it is rebuilt on every call.
func (s *Session) Anchors() map[int64]*Value {
	m := map[int64]*Value{}
	if s == nil {
		return m
	}
	var walk func(v *Value)
	walk = func(v *Value) {
		if v.Anchor != 0 && v.Kind != KindRef {
			if _, dup := m[v.Anchor]; !dup {
				m[v.Anchor] = v
			}
		}
		for i := range v.Elems {
			walk(&v.Elems[i].Val)
		}
	}
	if s.Handler == HandlerPHPSerialize {
		walk(&s.Root)
	} else {
		for i := range s.Root.Elems {
			walk(&s.Root.Elems[i].Val)
		}
	}
	return m
}

// formatKeyPath renders a key path top-level key first: string keys joined
// by '.', int keys as [3], keys that would be ambiguous ("", or holding
// '.', '[', ']', '"' or non-printable bytes) as ["%q"].
func formatKeyPath(keys []Key) string {
	var b strings.Builder
	for i, k := range keys {
		switch {
		case k.IsInt:
			b.WriteByte('[')
			b.WriteString(strconv.FormatInt(k.Int, 10))
			b.WriteByte(']')
		case plainPathKey(k.Str):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k.Str)
		default:
			b.WriteByte('[')
			b.WriteString(strconv.Quote(k.Str))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func plainPathKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '.' || c == '[' || c == ']' || c == '"' {
			return false
		}
	}
	return true
}
