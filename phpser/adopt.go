package phpser

import "math"

// Adopt carries over to s, a session made from old by another route than
// changing old's tree in place (edit's text form, a JSON document), what
// old's bytes say that the text and JSON forms do not show, wherever s
// still holds the same value at the same place:
//
//   - igbinary: the string mode, arrays PHP shared copy-on-write (FlagCopy),
//     objects written as references, uninitialised typed properties;
//   - msgpack: the string mode, __serialize objects (FlagSerialize), objects
//     and arrays written as references;
//   - every handler: the bits of a NaN, and old's exact bytes while s is
//     equal to old.
//
// Without it, s encodes as a session PHP wrote afresh. Adopt does nothing
// when the handlers differ.
func (s *Session) Adopt(old *Session) {
	if s == nil || old == nil || s.Handler != old.Handler {
		return
	}
	s.ext = old.ext
	if _, ok := s.ext.exact(s); !ok {
		s.ext.orig, s.ext.snap = "", nil
	}
	a := adopter{byAnchor: map[int64]*Value{}}
	a.value(&s.Root, &old.Root)
	if len(a.copies) == 0 {
		return
	}
	next := s.maxAnchor()
	for _, c := range a.copies {
		src := a.byAnchor[c.src]
		if src == nil {
			continue
		}
		if src.Anchor == 0 {
			next++
			src.Anchor = next
		}
		c.v.Flags |= FlagCopy
		c.v.Int = src.Anchor
	}
}

type adopter struct {
	byAnchor map[int64]*Value // old anchor -> the value at its place in s
	copies   []adoptCopy
}

type adoptCopy struct {
	v   *Value
	src int64 // old anchor of the array it is a copy of
}

func (a *adopter) value(v, old *Value) {
	if v.Kind != old.Kind || v.Str != old.Str && v.Kind == KindObject {
		return
	}
	if old.Anchor != 0 {
		a.byAnchor[old.Anchor] = v
	}
	switch v.Kind {
	case KindFloat:
		if math.IsNaN(v.Float) && math.IsNaN(old.Float) {
			v.Float = old.Float
		}
		return
	case KindObject:
		v.Flags |= old.Flags & (FlagRef | FlagSerialize)
		if old.Payload != "" && len(v.Elems) == len(old.Elems) {
			v.Payload = old.Payload // null keys of uninitialised properties
		}
	case KindArray:
		v.Flags |= old.Flags & FlagRef
		if old.Flags&FlagCopy != 0 {
			a.copies = append(a.copies, adoptCopy{v, old.Int})
		}
	case KindObjRef:
		v.Flags |= old.Flags & FlagRef
		return
	default:
		return
	}
	// Entries correspond by key: at the same index when it holds the same
	// key (the usual case), else the first old entry with that key.
	var byKey map[Key]int
	for i := range v.Elems {
		k := v.Elems[i].Key
		j := -1
		if i < len(old.Elems) && KeyEqual(old.Elems[i].Key, k) {
			j = i
		} else {
			if byKey == nil {
				byKey = make(map[Key]int, len(old.Elems))
				for n := len(old.Elems) - 1; n >= 0; n-- {
					ok := old.Elems[n].Key
					byKey[Key{IsInt: ok.IsInt, Int: ok.Int, Str: ok.Str}] = n
				}
			}
			if n, ok := byKey[Key{IsInt: k.IsInt, Int: k.Int, Str: k.Str}]; ok {
				j = n
			}
		}
		if j >= 0 {
			a.value(&v.Elems[i].Val, &old.Elems[j].Val)
		}
	}
}
