package phpser

// Serializable payloads (C:) and the reference slots of the values in them.
//
// PHP hands a C: payload to the class's unserialize() method, which runs
// with the session's own slot table: an unserialize() call inside it (and
// the readers of ArrayObject, ArrayIterator, RecursiveArrayIterator,
// SplObjectStorage, SplDoublyLinkedList, SplQueue and SplStack) numbers its
// values after the C: object itself, and R:/r: inside may point outside the
// payload, while later ones may point into it (PHP-FACTS 4.7). The rule the
// decoder follows, as PHP does with the application's classes loaded:
//
//   - the SPL classes above (names compared case-insensitively): the
//     payload is read with the grammar of their unserialize(), and a payload
//     that grammar refuses makes the whole session fail, as the exception
//     their reader throws makes session_start() fail;
//   - any other class: when the payload is exactly one serialized value
//     (serialize() output, as from a Serializable::serialize() that calls
//     serialize()), its values take slots; otherwise (a class that writes a
//     format of its own, an empty payload) it is opaque and takes none.
//
// The values read are kept in Value.Elems of the KindCustom value (see
// Value), so that references into and out of the payload resolve, and the
// encoder writes the payload from them, renumbered as PHP renumbers them.

import "strings"

// payloadKind is the grammar PHP reads a payload of some class with.
type payloadKind uint8

const (
	payloadGeneric    payloadKind = iota // one serialized value, else opaque
	payloadSPLArray                      // x:i:F;V;m:A (ArrayObject, ArrayIterator)
	payloadSPLStorage                    // x:i:N;O[,V];O[,V]...;m:A (SplObjectStorage)
	payloadSPLList                       // i:F;:V:V... (SplDoublyLinkedList)
)

// payloadKindOf returns the grammar PHP's built-in classes read their C:
// payloads with; class names are case-insensitive in PHP.
func payloadKindOf(class string) payloadKind {
	switch strings.ToLower(class) {
	case "arrayobject", "arrayiterator", "recursivearrayiterator":
		return payloadSPLArray
	case "splobjectstorage":
		return payloadSPLStorage
	case "spldoublylinkedlist", "splqueue", "splstack":
		return payloadSPLList
	}
	return payloadGeneric
}

// maxPayloadNesting bounds C: payloads nested in C: payloads (they do not
// count towards unserialize_max_depth in PHP, where every level is a
// method call); deeper payloads are opaque.
const maxPayloadNesting = 512

// part is one value read from a payload: the bytes before it, the value,
// and the slot the value took (0 for R:, which takes none).
type part struct {
	glue string
	v    *Value
	slot int64
}

// payloadState is what a failed speculative read of a payload undoes.
type payloadState struct {
	slots   int64
	tab     int
	budget  int
	path    int
	path0   int
	anchors int
	named   int
	cur     slotLoc
}

func (d *decoder) savePayloadState() payloadState {
	return payloadState{d.slots, len(d.tab), d.budget, len(d.path), len(d.path0), len(d.anchorLog), len(d.named), d.cur}
}

// rollback undoes a failed speculative read: slots, anchors it set on
// earlier values, the budget and the error.
func (d *decoder) rollback(st payloadState) {
	for _, v := range d.anchorLog[st.anchors:] {
		v.Anchor = 0
	}
	d.anchorLog = d.anchorLog[:st.anchors]
	d.named = d.named[:st.named]
	d.slots, d.tab = st.slots, d.tab[:st.tab]
	d.budget = st.budget
	d.path, d.path0 = d.path[:st.path], d.path0[:st.path0]
	d.cur = st.cur
	d.err = nil
	d.dups = nil // a cache: rebuilt on demand
}

// payload reads the values of v's payload s[body:end] into v.Elems, as
// PHP's reader for v's class does. It returns -1 after recording an error
// only when the session must fail (an SPL payload its reader refuses).
func (d *decoder) payload(v *Value, slot int64, body, end int) int {
	if body == end || d.nesting >= maxPayloadNesting {
		return 0
	}
	kind := payloadKindOf(v.Str)
	full := d.s
	d.s = full[:end] // the payload's own end bounds every read
	d.nesting++
	st := d.savePayloadState()
	if kind == payloadGeneric {
		d.spec++
	}
	d.path0 = append(d.path0, int32(slot))
	parts, q := d.payloadParts(kind, int32(slot), body)
	if kind == payloadGeneric {
		d.spec--
		if q != end {
			q = -1
		}
	}
	d.nesting--
	d.s = full
	if q < 0 {
		if kind != payloadGeneric {
			return -1
		}
		d.rollback(st)
		return 0
	}
	d.path0 = d.path0[:st.path0]
	d.cur = st.cur
	if d.spec == 0 {
		d.anchorLog = d.anchorLog[:0]
	}
	// Move the values into one entry slice and point their slots at it.
	v.Elems = make([]Entry, len(parts))
	for i, pt := range parts {
		v.Elems[i] = Entry{Key: Key{IsInt: true, Int: int64(i), Str: pt.glue}, Val: *pt.v}
		if pt.slot != 0 && !d.noTab {
			d.at(pt.slot).v = &v.Elems[i].Val
		}
	}
	v.Int = int64(end - q)
	return 0
}

// payloadParts reads the parts of a payload of the given grammar at p and
// returns them with the offset after the last one (-1 on failure).
func (d *decoder) payloadParts(kind payloadKind, slot int32, p int) ([]part, int) {
	s := d.s
	var parts []part
	one := func(glue string, at int) (*Value, int) {
		pv := new(Value)
		d.cur = slotLoc{par: slot, idx: int32(len(parts))}
		taken := d.slots
		q := d.value(at, pv)
		if q < 0 {
			return nil, q
		}
		pt := part{glue: glue, v: pv}
		if d.slots > taken && pv.Kind != KindRef {
			pt.slot = taken + 1
		}
		parts = append(parts, pt)
		return pv, q
	}
	lit := func(p int, l string) bool { return strings.HasPrefix(s[min(p, len(s)):], l) }
	switch kind {
	case payloadGeneric:
		_, q := one("", p)
		return parts, q
	case payloadSPLList:
		// i:FLAGS; then ":" VALUE for each element, then the end.
		fv, q := one("", p)
		if q < 0 {
			return nil, q
		}
		if fv.Kind != KindInt {
			return nil, d.fail(p, "an int (the list's flags) at the start of an SplDoublyLinkedList payload")
		}
		for q < len(s) && s[q] == ':' {
			if _, q = one(":", q+1); q < 0 {
				return nil, q
			}
		}
		if q < len(s) && s[q] != 0 {
			return nil, d.fail(q, "':' and an element, or the end of the SplDoublyLinkedList payload")
		}
		return parts, q
	case payloadSPLArray, payloadSPLStorage:
		if !lit(p, "x:") {
			return nil, d.fail(p, "'x:' at the start of the "+splName(kind)+" payload")
		}
		fv, q := one("x:", p+2)
		if q < 0 {
			return nil, q
		}
		if fv.Kind != KindInt {
			return nil, d.fail(p+2, "an int after x: in the "+splName(kind)+" payload")
		}
		if kind == payloadSPLArray {
			if q >= len(s) || !strings.ContainsRune("aOCr", rune(s[q])) {
				return nil, d.fail(q, "the ArrayObject's storage (a:, O:, C: or r:)")
			}
			at := q
			sv, q2 := one("", q)
			if q2 < 0 {
				return nil, q2
			}
			if sv.Kind != KindArray && sv.Kind != KindObject && sv.Kind != KindCustom && sv.Kind != KindObjRef {
				return nil, d.fail(at, "an array or object as the ArrayObject's storage")
			}
			q = q2
		} else {
			if fv.Int < 0 {
				return nil, d.fail(p+2, "an element count >= 0 in the SplObjectStorage payload")
			}
			// PHP's reader steps back onto the ';' that ends the count
			// and expects a ';' before every element and before m:, so
			// the first ';' is the count's own.
			sep := q - 1
			for n := fv.Int; n > 0; n-- {
				if sep >= len(s) || s[sep] != ';' || sep+1 >= len(s) || !strings.ContainsRune("OCr", rune(s[sep+1])) {
					return nil, d.fail(sep, "';' and an object (O:, C: or r:) in the SplObjectStorage payload")
				}
				if _, q = one(s[q:sep+1], sep+1); q < 0 {
					return nil, q
				}
				if q < len(s) && s[q] == ',' {
					if _, q = one(",", q+1); q < 0 {
						return nil, q
					}
				}
				sep = q
			}
			if sep >= len(s) || s[sep] != ';' || !lit(sep+1, "m:") {
				return nil, d.fail(sep, "';m:' and the members of the SplObjectStorage payload")
			}
			// The members' glue: ";m:", or "m:" after a count of 0.
			at := sep + 3
			mv, q2 := one(s[q:at], at)
			if q2 < 0 {
				return nil, q2
			}
			if mv.Kind != KindArray {
				return nil, d.fail(at, "an array of members in the SplObjectStorage payload")
			}
			return parts, q2
		}
		if !lit(q, ";m:") {
			return nil, d.fail(q, "';m:' and the members of the ArrayObject payload")
		}
		at := q + 3
		mv, q2 := one(s[q:at], at)
		if q2 < 0 {
			return nil, q2
		}
		if mv.Kind != KindArray {
			return nil, d.fail(at, "an array of members in the "+splName(kind)+" payload")
		}
		return parts, q2
	}
	return nil, d.fail(p, "a payload")
}

func splName(k payloadKind) string {
	if k == payloadSPLStorage {
		return "SplObjectStorage"
	}
	return "ArrayObject"
}

// readPayload reads the payload of a hand-built Serializable object (from
// JSON) as the decoder would, on its own, and keeps the values in v.Elems
// when none of them is a reference (whose target would need the rest of the
// session): its values then take their slots when the session is encoded.
func readPayload(v *Value) {
	if v.Kind != KindCustom || v.Payload == "" || len(v.Elems) > 0 {
		return
	}
	tok, err := EncodeValue(Value{Kind: KindCustom, Str: v.Str, Payload: v.Payload})
	if err != nil {
		return
	}
	var t Value
	d := newDecoder(string(tok), DecodeOptions{})
	if d.value(0, &t) != len(tok) || len(t.Elems) == 0 {
		return
	}
	refs := false
	walkValues(&t, func(x *Value) bool {
		refs = x.Kind == KindRef || x.Kind == KindObjRef
		return !refs
	})
	if !refs {
		v.Elems, v.Int = t.Elems, t.Int
	}
}
