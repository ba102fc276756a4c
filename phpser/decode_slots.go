package phpser

// Reference slots: PHP numbers every value but R: and resolves R:/r:
// against that table.

import (
	"slices"
	"strconv"
)

// mark gives v the next reference slot. Every value takes one except R:.
func (d *decoder) mark(v *Value) {
	d.slots++
	if !d.noTab {
		d.tab = append(d.tab, slotInfo{v, d.cur})
	}
}

// at returns slot u's entry in the table (which holds the slots from
// d.base+1 on).
func (d *decoder) at(u int64) *slotInfo { return &d.tab[u-1-d.base] }

// slotInfo is one reference slot: its value and where that sits.
type slotInfo struct {
	v   *Value
	loc slotLoc
}

// slotLoc says where a slot's value sits: element idx of the array or
// object in slot par (par 0: a top-level session value).
type slotLoc struct{ par, idx int32 }

// dupIndex maps each key of a container to the index of its last
// occurrence among the first n entries.
type dupIndex struct {
	n    int
	last map[Key]int32
}

// resolve returns the value PHP finds in slot u. PHP unserializes a
// repeated array key or property name into the zval of the earlier
// occurrence, so every slot that pointed at the earlier value then points
// at the later one, even while it is being decoded.
func (d *decoder) resolve(u int64) *Value {
	t := d.at(u).v
	l := d.at(u).loc
	if l.par == 0 {
		return t
	}
	c := d.at(int64(l.par)).v
	if c.Kind == KindCustom {
		// A payload's values are read into temporaries, one each: no key
		// of a payload is ever overwritten.
		return t
	}
	n := len(c.Elems)
	// A container still being filled holds entries up to the one on the
	// path being decoded (its key is already parsed).
	// path0 holds increasing slot numbers: search it in O(log depth).
	if i, ok := slices.BinarySearch(d.path0, l.par); ok {
		if i+1 < len(d.path0) {
			n = int(d.at(int64(d.path0[i+1])).loc.idx) + 1
		} else {
			n = int(d.cur.idx) + 1
		}
	}
	obj := c.Kind == KindObject
	if n <= 16 {
		// Small containers: look for a later occurrence directly.
		k := dupKey(c.Elems[l.idx].Key, obj)
		for j := n - 1; j > int(l.idx); j-- {
			if dupKey(c.Elems[j].Key, obj) == k {
				return &c.Elems[j].Val
			}
		}
		return t
	}
	if d.dups == nil {
		d.dups = make(map[int32]*dupIndex)
	}
	di := d.dups[l.par]
	if di == nil {
		di = &dupIndex{last: make(map[Key]int32)}
		d.dups[l.par] = di
	}
	for ; di.n < n; di.n++ {
		di.last[dupKey(c.Elems[di.n].Key, obj)] = int32(di.n)
	}
	if j := di.last[dupKey(c.Elems[l.idx].Key, obj)]; int(j) > int(l.idx) {
		return &c.Elems[j].Val
	}
	return t
}

// dupKey is the identity of a key in PHP's hash table (property names
// are strings even when written as i:).
func dupKey(k Key, object bool) Key {
	if k.IsInt && object {
		return Key{Str: strconv.FormatInt(k.Int, 10)}
	}
	return Key{IsInt: k.IsInt, Int: k.Int, Str: k.Str}
}

// isObject reports whether r: may refer to a value of kind k.
func isObject(k Kind) bool {
	return k == KindObject || k == KindCustom || k == KindEnum || k == KindObjRef
}

// ref decodes R:<slot>; (a PHP reference, takes no slot) and r:<slot>;
// (another handle to an object, takes a slot).
func (d *decoder) ref(p int, v *Value) int {
	d.refSeen = true
	if d.noTab {
		// No slot was recorded: a walk that cuts or prunes stops here (a
		// value refers to another: not apart).
		return d.fail(p, "no reference (values decoded apart)")
	}
	s := d.s
	u, q, canon, ok := parseUIV(s, p+2)
	if !ok || q >= len(s) || s[q] != ';' {
		return d.fail(p, string(s[p])+":<slot>;")
	}
	// A slot up to d.base is a value of an earlier top-level variable
	// (linkedTops): what the walk kept of it decides.
	here := int64(u) > d.base
	if s[p] == 'R' {
		if u == 0 || u > uint64(d.slots) {
			return d.fail(p+2, "a slot number of an earlier value (1.."+strconv.FormatInt(d.slots, 10)+")")
		}
		if here && d.resolve(int64(u)) == v {
			return d.fail(p+2, "a slot other than the one this value overwrites (repeated key)")
		}
		v.Kind = KindRef
	} else {
		d.mark(v)
		if u == 0 || u >= uint64(d.slots) {
			return d.fail(p+2, "a slot number of an earlier value (1.."+strconv.FormatInt(d.slots-1, 10)+")")
		}
		if here {
			t := d.resolve(int64(u))
			if t == v {
				return d.fail(p+2, "a slot other than the one this value overwrites (repeated key)")
			}
			if !isObject(t.Kind) {
				return d.fail(p+2, "a slot that holds an object (r: refers to objects only)")
			}
		} else if !d.link.obj.has(int64(u)) {
			return d.fail(p+2, "a slot that holds an object (r: refers to objects only)")
		}
		v.Kind = KindObjRef
	}
	if d.link != nil {
		d.named = append(d.named, int64(u))
	}
	if !here {
		// Its Anchor was set when its variable was read (linker.anchor).
	} else if t := d.at(int64(u)).v; t.Anchor == 0 {
		t.Anchor = int64(u)
		if d.spec > 0 {
			d.anchorLog = append(d.anchorLog, t)
		}
	}
	v.Int = int64(u)
	if !canon {
		v.Raw = s[p : q+1]
	}
	return q + 1
}
