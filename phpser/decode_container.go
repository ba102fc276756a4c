package phpser

// Arrays, objects (O:), Serializable objects (C:) and their keys.

import (
	"strconv"
)

// maxSlab is the most entries one arena slab holds beyond a claim's own.
const maxSlab = 8192

// claim carves n entries out of the arena. The caller has checked n against
// the remaining input; the running budget bounds the total.
func (d *decoder) claim(n, p int) []Entry {
	if n > len(d.arena) {
		// Realistic sessions hold one entry per ~35 bytes; size the slab
		// for what the rest of the input likely holds.
		// Slabs are capped so that a session of few, long strings does
		// not pay for entries it never holds.
		size := max(n, min((len(d.s)-p)/40+4, d.budget+n, maxSlab))
		d.arena = make([]Entry, size)
	}
	e := d.arena[:n:n]
	d.arena = d.arena[n:]
	return e
}

// count checks a declared element count against what the input after p
// can hold (each entry takes at least 6 bytes: i:0;N;) and the budget.
func (d *decoder) countOK(n int64, p int) bool {
	rem := int64(len(d.s) - p)
	return n >= 0 && n*6+1 <= rem && n <= int64(d.budget)
}

// array decodes a:<n>:{<key><value>...}.
func (d *decoder) array(p int, v *Value) int {
	s := d.s
	_, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '{' {
		return d.fail(p, "a:<count>:{")
	}
	n, _, _, _ := parseIV(s, p+2) // PHP reads the count with parse_iv
	body := q + 2
	if !d.countOK(n, body) {
		return d.fail(p+2, "an element count the remaining input can hold")
	}
	d.mark(v)
	v.Kind = KindArray
	if !canon {
		v.Raw = s[p:body]
	}
	if n == 0 {
		if body >= len(s) || s[body] != '}' {
			return d.fail(body, "'}' closing an empty array")
		}
		return body + 1
	}
	if d.depth >= d.maxDepth {
		return d.fail(p, "nesting within the maximum depth of "+strconv.Itoa(d.maxDepth))
	}
	d.depth++
	d.budget -= int(n)
	p = d.containerEntries(body, v, int(n), true)
	d.depth--
	if p < 0 {
		return p
	}
	if p >= len(s) || s[p] != '}' {
		return d.fail(p, "'}' after "+strconv.FormatInt(n, 10)+" elements")
	}
	return p + 1
}

// containerEntries decodes the n entries of array or object v at p: all
// into v.Elems, or, for a walk that does not keep them all (a top-level
// container StreamJSON streams, a Deep selection's pruned one, one cut
// for a view), one at a time into scratch memory (scratchEntries).
func (d *decoder) containerEntries(p int, v *Value, n int, array bool) int {
	switch {
	case d.each != nil && d.depth == d.eachDepth:
		return d.eachEntries(p, v, n, array)
	case d.prune != nil:
		return d.prunedEntries(p, v, n, array)
	case d.cut > 0 && n > d.cut:
		return d.cutEntries(p, v, n, array)
	}
	v.Elems = d.claim(n, p)
	return d.entries(p, v.Elems, array)
}

// entries decodes len(es) key/value pairs at p.
func (d *decoder) entries(p int, es []Entry, array bool) int {
	saved := d.cur
	par := int32(d.slots)
	d.path0 = append(d.path0, par)
	for i := range es {
		e := &es[i]
		d.cur = slotLoc{par: par, idx: int32(i)}
		p = d.key(p, &e.Key, array)
		if p < 0 {
			return p
		}
		p = d.value(p, &e.Val)
		if p < 0 {
			d.path = append(d.path, e.Key)
			return p
		}
	}
	d.cur = saved
	d.path0 = d.path0[:len(d.path0)-1]
	return p
}

// key decodes an array key or property name: i:, s: or S: (keys take no
// reference slot). In arrays, canonical numeric strings become int keys as
// PHP makes them (the source is kept in Raw).
func (d *decoder) key(p int, k *Key, array bool) int {
	s := d.s
	if p+1 >= len(s) || s[p+1] != ':' {
		return d.fail(p, "a key (i: s: S:)")
	}
	switch s[p] {
	case 'i':
		n, q, canon, ok := parseIV(s, p+2)
		if !ok || q >= len(s) || s[q] != ';' {
			return d.fail(p, "i:<digits>;")
		}
		k.IsInt, k.Int = true, n
		if !canon {
			k.Raw = s[p : q+1]
		}
		return q + 1
	case 's':
		n, q, canon, ok := parseUIV(s, p+2)
		if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
			return d.fail(p, `s:<length>:"`)
		}
		start := q + 2
		end := start + int(n)
		if rem := uint64(len(s) - start); n > rem || rem-n < 2 || s[end] != '"' || s[end+1] != ';' {
			return d.strFail(p, start, n, "key")
		}
		str := s[start:end]
		if array && n > 0 && (str[0]-'0' <= 9 || str[0] == '-') {
			if iv, ok := numericKey(str); ok {
				k.IsInt, k.Int, k.Raw = true, iv, s[p:end+2]
				return end + 2
			}
		}
		k.Str = str
		if !canon {
			k.Raw = s[p : end+2]
		}
		return end + 2
	case 'S':
		str, q := d.escString(p)
		if q < 0 {
			return q
		}
		k.Raw = s[p:q]
		if array {
			if iv, ok := numericKey(str); ok {
				k.IsInt, k.Int = true, iv
				return q
			}
		}
		k.Str = str
		return q
	}
	return d.fail(p, "a key (i: s: S:)")
}

// numericKey reports whether PHP turns the array key s into an int key
// (ZEND_HANDLE_NUMERIC_STR): -?(0|[1-9][0-9]*) within the int64 range,
// "-0" excluded.
func numericKey(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 20 || (s[0] != '-' && s[0]-'0' > 9) {
		return 0, false
	}
	i := 0
	if s[0] == '-' {
		i = 1
		if len(s) == 1 {
			return 0, false
		}
	}
	if s[i] == '0' && len(s) > 1 {
		return 0, false
	}
	for j := i; j < len(s); j++ {
		if s[j]-'0' > 9 {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// className checks the class name of O:/C: at p (after the kind letter):
// <len>:"<Class>": and returns the name and the offset after the final ':'.
func (d *decoder) className(p int) (string, int, bool, bool) {
	s := d.s
	n, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return "", d.fail(p, `<length>:"<class>"`), false, false
	}
	start := q + 2
	if uint64(len(s)-start) < n || n == 0 {
		return "", d.fail(p+2, "a class name length the remaining input can hold"), false, false
	}
	end := start + int(n)
	if end >= len(s) || s[end] != '"' {
		return "", d.fail(end, `'"' after class name`), false, false
	}
	if end+1 >= len(s) || s[end+1] != ':' {
		return "", d.fail(end+1, `':' after class name`), false, false
	}
	name := s[start:end]
	if name[0] == '\\' || !phpClassNameOK(name) {
		return "", d.fail(start, "a valid class name"), false, false
	}
	return name, end + 2, canon, true
}

// phpClassNameOK reports whether PHP's unserialize accepts name as a class
// name: [0-9A-Za-z_\x80-\xff\\]+ not starting with '\'.
func phpClassNameOK(name string) bool {
	if name == "" || name[0] == '\\' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '\\' || c >= 0x80) {
			return false
		}
	}
	return true
}

// object decodes O:<len>:"<Class>":<n>:{<prop><value>...}.
func (d *decoder) object(p int, v *Value) int {
	s := d.s
	d.mark(v)
	class, q, canon, ok := d.className(p)
	if !ok {
		return q
	}
	// PHP reads the count with parse_iv2: sign, leading zeros, even no
	// digits at all (= 0).
	n, q2, canonN, digits := parseIV(s, q)
	if !digits || !canonN {
		canon = false
	}
	if n < 0 {
		return d.fail(q, "a property count >= 0")
	}
	if q2+1 >= len(s) || s[q2] != ':' || s[q2+1] != '{' {
		return d.fail(q2, "':{' after property count")
	}
	body := q2 + 2
	if !d.countOK(n, body) {
		return d.fail(q, "a property count the remaining input can hold")
	}
	v.Kind, v.Str = KindObject, class
	if !canon {
		v.Raw = s[p:body]
	}
	if d.depth >= d.maxDepth {
		return d.fail(p, "nesting within the maximum depth of "+strconv.Itoa(d.maxDepth))
	}
	if n > 0 {
		d.depth++
		d.budget -= int(n)
		body = d.containerEntries(body, v, int(n), false)
		d.depth--
		if body < 0 {
			return body
		}
	}
	if body >= len(s) || s[body] != '}' {
		return d.fail(body, "'}' after "+strconv.FormatInt(n, 10)+" properties")
	}
	return body + 1
}

// custom decodes C:<len>:"<Class>":<n>:{<payload>}.
func (d *decoder) custom(p int, v *Value) int {
	s := d.s
	d.mark(v)
	slot := d.slots
	class, q, canon, ok := d.className(p)
	if !ok {
		return q
	}
	n, q2, canonN, digits := parseIV(s, q)
	if !digits || !canonN {
		canon = false
	}
	if q2+1 >= len(s) || s[q2] != ':' || s[q2+1] != '{' {
		return d.fail(q2, "':{' after payload length")
	}
	body := q2 + 2
	if n < 0 || int64(len(s)-body) <= n {
		return d.fail(q, "a payload length the remaining input can hold")
	}
	end := body + int(n)
	if s[end] != '}' {
		return d.fail(end, "'}' after payload of declared length")
	}
	v.Kind, v.Str, v.Payload = KindCustom, class, s[body:end]
	if !canon {
		v.Raw = s[p : end+1]
	}
	if d.payload(v, slot, body, end) < 0 {
		return -1
	}
	return end + 1
}
