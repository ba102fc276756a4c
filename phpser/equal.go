package phpser

import "math"

// Equal reports whether a and b are the same PHP value by type and value,
// in the sense of PHP's === applied recursively, with these choices:
//
//   - Raw and Anchor are ignored: d:0.1; and d:0.10000000000000001; are
//     equal, and a value that is the target of references equals its copy.
//   - Floats compare by value, except that NaN equals NaN and -0.0 does not
//     equal 0.0 (they are different bytes in a session file, so a change
//     from one to the other is a change worth reporting).
//   - Arrays and objects are equal when their entries are equal pairwise,
//     in order, keys compared by kind and value (int 5 never equals "5").
//     Duplicate keys are compared as written.
//   - Serializable objects whose payload values were read (Value.Elems)
//     compare those values; others compare their payload bytes.
//   - Objects, Serializable objects and enums compare their class names
//     byte for byte (PHP class names are case-insensitive; stored names are
//     compared as stored).
//   - References (KindRef, KindObjRef) are equal when they have the same kind
//     and the same target anchor; Equal does not follow them (use
//     Session.Lookup, which does, when comparing session contents).
//
// Equal never recurses more deeply than its arguments are nested, so it
// terminates on every finite tree.
func Equal(a, b Value) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindNull:
		return true
	case KindBool:
		return (a.Int != 0) == (b.Int != 0)
	case KindInt, KindRef, KindObjRef:
		return a.Int == b.Int
	case KindFloat:
		return floatSame(a.Float, b.Float)
	case KindString, KindEnum:
		return a.Str == b.Str
	case KindCustom:
		if a.Str != b.Str {
			return false
		}
		if len(a.Elems) == 0 || len(b.Elems) == 0 || len(a.Elems) != len(b.Elems) {
			return a.Payload == b.Payload
		}
		for i := range a.Elems {
			if a.Elems[i].Key.Str != b.Elems[i].Key.Str || !Equal(a.Elems[i].Val, b.Elems[i].Val) {
				return false
			}
		}
		return payloadTail(&a) == payloadTail(&b)
	case KindArray, KindObject:
		if a.Str != b.Str || len(a.Elems) != len(b.Elems) {
			return false
		}
		for i := range a.Elems {
			if !KeyEqual(a.Elems[i].Key, b.Elems[i].Key) || !Equal(a.Elems[i].Val, b.Elems[i].Val) {
				return false
			}
		}
		return true
	}
	return false
}

// KeyEqual reports whether two keys are the same PHP key: same kind and
// same value, ignoring Raw.
func KeyEqual(a, b Key) bool {
	if a.IsInt != b.IsInt {
		return false
	}
	if a.IsInt {
		return a.Int == b.Int
	}
	return a.Str == b.Str
}

// floatSame is float identity for Equal: NaN equals NaN, -0 differs from 0.
func floatSame(x, y float64) bool {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.IsNaN(x) && math.IsNaN(y)
	}
	return x == y && math.Signbit(x) == math.Signbit(y)
}
