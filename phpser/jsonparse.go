package phpser

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseJSON parses a JSON literal (the VALUE of `sesstool set`) into a PHP
// value, the way PHP's json_decode($lit, true) would build it:
//
//   - 5 is an int; 5.0, 5e3 and -0.0 are floats; an integer beyond the
//     64-bit range becomes a float, as json_decode makes it; a float beyond
//     the float range becomes INF or -INF (PHP's strtod); -0 is int 0.
//   - strings, true, false and null are themselves; strings must be valid
//     UTF-8 with no unescaped control characters and no lone UTF-16
//     surrogate in \u escapes (json_decode refuses those too).
//   - [...] is a list array (keys 0..n-1).
//   - {...} is an array whose keys follow PHP's numeric-string rule
//     (ArrayKey: "5" is int 5, "05" stays a string); a repeated key keeps
//     its first position and takes its last value.
//   - {"__enum": "Class:Case"} (that member alone) is an enum case;
//     {"__class": "Name", "__serialized": "payload"} (those two members
//     alone) is a Serializable object; any other object with a "__class"
//     member is an object of that class whose other members are its
//     properties, each name taken as the exact (mangled) property name, so
//     "\u0000*\u0000role" is a protected property. These are the reverse of
//     the JSON mapping (AppendJSON); an array with such keys cannot be
//     written as JSON. Class and enum names must be names PHP accepts.
//
// Nesting deeper than DefaultMaxDepth is refused. Errors are *SyntaxError
// with the byte offset in lit.
func ParseJSON(lit []byte) (Value, error) {
	p := jsonParser{b: lit}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.space()
	if p.i < len(p.b) {
		return Value{}, p.fail("end of the JSON value")
	}
	return v, nil
}

// jsonParser is the state of one ParseJSON call.
type jsonParser struct {
	b []byte
	i int
}

// fail returns a *SyntaxError at the current offset.
func (p *jsonParser) fail(expected string) error {
	return p.failAt(p.i, expected)
}

func (p *jsonParser) failAt(off int, expected string) error {
	return &SyntaxError{Offset: off, Expected: expected, Found: excerpt(p.b, off)}
}

// excerpt quotes a few bytes of b at off for an error message.
func excerpt(b []byte, off int) string {
	if off >= len(b) {
		return "end of input"
	}
	end := min(off+12, len(b))
	return strconv.Quote(string(b[off:end]))
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (Value, error) {
	if p.i >= len(p.b) {
		return Value{}, p.fail("a JSON value")
	}
	switch c := p.b[p.i]; {
	case c == '{' || c == '[':
		if depth >= DefaultMaxDepth {
			return Value{}, p.fail("at most " + strconv.Itoa(DefaultMaxDepth) + " levels of nesting")
		}
		if c == '[' {
			return p.array(depth + 1)
		}
		return p.object(depth + 1)
	case c == '"':
		s, err := p.str()
		return String(s), err
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	for _, w := range [...]struct {
		word string
		v    Value
	}{{"true", Bool(true)}, {"false", Bool(false)}, {"null", Null()}} {
		if strings.HasPrefix(string(p.b[p.i:min(len(p.b), p.i+len(w.word))]), w.word) {
			p.i += len(w.word)
			return w.v, nil
		}
	}
	return Value{}, p.fail("a JSON value")
}

// number parses a JSON number: an int when it has no fraction or exponent
// and fits in 64 bits, else a float.
func (p *jsonParser) number() (Value, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if n := digits(); n == 0 {
		return Value{}, p.fail("a digit")
	} else if n > 1 && p.b[intStart] == '0' {
		return Value{}, p.failAt(intStart, "a number without leading zeros")
	}
	isFloat := false
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		isFloat = true
		if digits() == 0 {
			return Value{}, p.fail("a digit after '.'")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		isFloat = true
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return Value{}, p.fail("a digit in the exponent")
		}
	}
	text := string(p.b[start:p.i])
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return Int(n), nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return Value{}, p.failAt(start, "a number")
	}
	return Float(f), nil
}

// str parses a JSON string at p.i (which holds '"').
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	var b []byte // nil until an escape is seen
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			var s string
			if b == nil {
				s = string(p.b[start:p.i])
			} else {
				s = string(append(b, p.b[start:p.i]...))
			}
			p.i++
			return s, nil
		case c < 0x20:
			return "", p.fail("a control character to be escaped")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(p.b[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", p.fail("valid UTF-8")
			}
			p.i += size
		case c == '\\':
			b = append(b, p.b[start:p.i]...)
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			b = utf8.AppendRune(b, r)
			start = p.i
		default:
			p.i++
		}
	}
	return "", p.fail("'\"' to close the string")
}

// escape parses one backslash escape at p.i and returns its rune.
func (p *jsonParser) escape() (rune, error) {
	at := p.i
	p.i++
	if p.i >= len(p.b) {
		return 0, p.fail("an escape character")
	}
	c := p.b[p.i]
	p.i++
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, p.failAt(at, `\u and four hex digits`)
		}
		if utf16.IsSurrogate(r) {
			if r < 0xdc00 && p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
				p.i += 2
				r2, ok := p.hex4()
				if ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return d, nil
					}
				}
			}
			return 0, p.failAt(at, "a UTF-16 surrogate pair")
		}
		return r, nil
	}
	return 0, p.failAt(at, `an escape (\" \\ \/ \b \f \n \r \t \uXXXX)`)
}

func (p *jsonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.b) {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

func (p *jsonParser) array(depth int) (Value, error) {
	p.i++
	v := Value{Kind: KindArray}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return v, nil
	}
	for {
		p.space()
		e, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		v.Elems = append(v.Elems, Entry{Key: IntKey(int64(len(v.Elems))), Val: e})
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return v, nil
		}
		return Value{}, p.fail("',' or ']'")
	}
}

// member is one name/value pair of a JSON object, with the name's offset.
type member struct {
	name string
	val  Value
	off  int
}

func (p *jsonParser) object(depth int) (Value, error) {
	start := p.i
	p.i++
	var ms []member
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return Value{Kind: KindArray}, nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return Value{}, p.fail("a member name in double quotes")
		}
		off := p.i
		name, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return Value{}, p.fail("':' after the member name")
		}
		p.i++
		p.space()
		e, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		ms = append(ms, member{name, e, off})
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			break
		}
		return Value{}, p.fail("',' or '}'")
	}
	return p.special(start, ms)
}

// special builds the PHP value of a JSON object: an enum, a Serializable
// object, an object, or an array.
func (p *jsonParser) special(start int, ms []member) (Value, error) {
	class, enum := -1, -1
	for i, m := range ms {
		switch m.name {
		case "__class":
			class = i
		case "__enum":
			enum = i
		}
	}
	str := func(i int) (string, error) {
		if ms[i].val.Kind != KindString {
			return "", p.failAt(ms[i].off, "a string value for "+ms[i].name)
		}
		return ms[i].val.Str, nil
	}
	switch {
	case enum >= 0:
		if len(ms) != 1 {
			return Value{}, p.failAt(start, `"__enum" as the only member of its object`)
		}
		s, err := str(enum)
		if err != nil {
			return Value{}, err
		}
		if !validEnumName(s) {
			return Value{}, p.failAt(ms[enum].off, `an enum case "Class:Case"`)
		}
		return Enum(s), nil
	case class >= 0:
		name, err := str(class)
		if err != nil {
			return Value{}, err
		}
		if !validClassName(name) {
			return Value{}, p.failAt(ms[class].off, "a PHP class name")
		}
		if len(ms) == 2 && ms[1-class].name == "__serialized" {
			payload, err := str(1 - class)
			if err != nil {
				return Value{}, err
			}
			c := Custom(name, payload)
			readPayload(&c)
			return c, nil
		}
		ms = append(ms[:class:class], ms[class+1:]...)
		obj := Object(name)
		obj.Elems = buildEntries(ms, StrKey)
		return obj, nil
	}
	return Array(buildEntries(ms, ArrayKey)...), nil
}

// buildEntries makes the entries of ms with keys from key: a repeated key
// keeps its first position and takes its last value (json_decode's rule).
func buildEntries(ms []member, key func(string) Key) []Entry {
	elems := make([]Entry, 0, len(ms))
	var pos map[Key]int
	if len(ms) > 16 {
		pos = make(map[Key]int, len(ms))
	}
	for _, m := range ms {
		k := key(m.name)
		if pos != nil {
			if i, ok := pos[k]; ok {
				elems[i].Val = m.val
				continue
			}
			pos[k] = len(elems)
			elems = append(elems, Entry{Key: k, Val: m.val})
			continue
		}
		dup := false
		for i := range elems {
			if KeyEqual(elems[i].Key, k) {
				elems[i].Val, dup = m.val, true
				break
			}
		}
		if !dup {
			elems = append(elems, Entry{Key: k, Val: m.val})
		}
	}
	return elems
}

// validClassName reports whether PHP's unserialize accepts s as a class
// name: letters, digits, '_', '\\' and bytes >= 0x80, not empty, not
// starting with '\\' (PHP accepts a leading digit: the class is then
// unknown and the object incomplete, but it decodes).
func validClassName(s string) bool {
	if s == "" || s[0] == '\\' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '\\' || c >= 0x80 || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')) {
			return false
		}
	}
	return true
}

// validEnumName reports whether s is "Class:Case" with valid names.
func validEnumName(s string) bool {
	cls, cs, ok := strings.Cut(s, ":")
	return ok && validClassName(cls) && validClassName(cs) && !strings.Contains(cs, "\\")
}
