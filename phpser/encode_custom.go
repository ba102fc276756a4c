package phpser

// payload writes the payload of a Serializable object from the values PHP
// read from it (v.Elems, see Value), numbering them in the session's slot
// table as PHP's nested serialize() does, and returns it.
func (e *encoder) payload(v *Value) (string, error) {
	saved := e.buf
	e.buf = nil
	for i := range v.Elems {
		en := &v.Elems[i]
		e.buf = append(e.buf, en.Key.Str...)
		if err := e.value(&en.Val); err != nil {
			e.buf = saved
			e.path = append(e.path, en.Key)
			return "", err
		}
	}
	e.buf = append(e.buf, payloadTail(v)...)
	out := string(e.buf)
	e.buf = saved
	return out, nil
}

// rawCustomOK reports whether raw is a C: token of class whose payload is
// payload (its lengths written in some form PHP reads).
func rawCustomOK(raw, class, payload string) bool {
	if len(raw) < len(payload)+2 || raw[len(raw)-1] != '}' || raw[len(raw)-2-len(payload)] != '{' || raw[len(raw)-1-len(payload):len(raw)-1] != payload {
		return false
	}
	head := raw[:len(raw)-1-len(payload)]
	if len(head) < 4 || head[0] != 'C' || head[1] != ':' {
		return false
	}
	d := rawDecoder(head)
	name, q, _, ok := d.className(0)
	if !ok || name != class {
		return false
	}
	n, q2, _, _ := parseIV(head, q) // sign, zeros, even no digits
	return n == int64(len(payload)) && q2 == len(head)-2 && head[q2] == ':'
}

// customPayload returns the payload v's Elems encode to on their own, with
// every reference to a value outside them written as its anchor (the slot
// number it was read with): the Payload of a Serializable object parsed
// from the text form. Encoding the whole session renumbers it.
func customPayload(v *Value) string {
	e := encoder{lax: true}
	s, err := e.payload(v)
	if err != nil {
		return v.Payload
	}
	return s
}

// payloadTail returns the bytes of a Serializable payload after the last
// value PHP read from it (v.Int of them, see Value).
func payloadTail(v *Value) string {
	if t := v.Int; len(v.Elems) > 0 && t > 0 && t <= int64(len(v.Payload)) {
		return v.Payload[len(v.Payload)-int(t):]
	}
	return ""
}
