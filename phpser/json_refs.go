package phpser

// refTargets resolves every reference in a session to the value PHP's
// unserializer leaves it pointing at, for the JSON mapping.
//
// A slot number names a place, not a value: PHP's var_hash holds a pointer
// to the zval a value was parsed into. When a later duplicate key overwrites
// an array entry, the old value moves aside and the entry's place takes the
// new one, so a reference parsed after that point (its position p in parse
// order) sees the new value, while one parsed before it had already made the
// place a PHP reference and keeps the old one. In nested arrays the place
// changes when the duplicate key is read (before its value); at the top
// level of a php/php_binary session only once the new value is complete
// (the session decoder stores each variable after parsing it).
type refTargets map[*Value]*Value

// place is where an anchored value sits: entry idx of container c, or the
// session root itself when c is nil.
type place struct {
	c   *Value
	idx int
}

func buildRefTargets(s *Session) refTargets {
	pos := map[*Value]int{} // preorder number of each value
	holder := map[int64]place{}
	type refAt struct {
		v *Value
		p int
	}
	var refs []refAt
	n := 0
	var walk func(v *Value, at place)
	walk = func(v *Value, at place) {
		p := n
		n++
		pos[v] = p
		if v.Anchor != 0 && v.Kind != KindRef {
			if _, dup := holder[v.Anchor]; !dup {
				holder[v.Anchor] = at
			}
		}
		if v.Kind == KindRef || v.Kind == KindObjRef {
			refs = append(refs, refAt{v, p})
		}
		for i := range v.Elems {
			walk(&v.Elems[i].Val, place{v, i})
		}
	}
	walk(&s.Root, place{})
	top := &s.Root
	topFixed := s.Handler != HandlerPHPSerialize

	t := make(refTargets, len(refs))
	for _, r := range refs {
		at, ok := holder[r.v.Int]
		if !ok {
			continue
		}
		if at.c == nil {
			t[r.v] = &s.Root
			continue
		}
		if at.c == top && topFixed {
			t[r.v] = &at.c.Elems[at.idx].Val
			continue
		}
		elems := at.c.Elems
		k := elems[at.idx].Key
		cur := at.idx
		for j := at.idx + 1; j < len(elems); j++ {
			if !KeyEqual(elems[j].Key, k) {
				continue
			}
			if pos[&elems[j].Val] < r.p {
				cur = j
			}
		}
		t[r.v] = &elems[cur].Val
	}
	return t
}

// target returns what reference v points at (following chains of
// references), or nil when it dangles. A reference that is not part of the
// session's tree (a copy handed to AppendJSON, or one in an entry TopJSON
// wrote before) resolves to the place's final value (prior: TopJSON's).
func (t refTargets) target(s *Session, v *Value, prior map[int64]*Value) *Value {
	for range len(t) + len(prior) + 2 {
		if v.Kind != KindRef && v.Kind != KindObjRef {
			return v
		}
		next, ok := t[v]
		if !ok && prior != nil {
			next, ok = prior[v.Int]
		}
		if !ok {
			final, found := s.Deref(*v)
			if !found {
				return nil
			}
			return &final
		}
		v = next
	}
	return nil
}
