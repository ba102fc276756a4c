package phpser

import (
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// textHeader opens every document FormatText writes.
const textHeader = `# sesstool session text: edit the values, save and quit.
# One "key = value" per entry. Keys: name, "any text", or an int like 7.
# Values: null true false, ints 42, floats 1.0 0.5 1.0E+25 INF -INF NAN,
# strings "text" (escapes: \" \\ \n \t \r \0 \xNN), arrays [ key = value ... ],
# object Class { name = v  protected name = v  private(Class) name = v },
# serializable Class "payload", enum Class::Case; a Serializable payload
# that PHP reads as values: serializable Class ( "bytes before" = value ... ).
# &1 marks a value; *1 is a PHP reference (&) to it, @1 the same object again.
# raw "token" before a key or value keeps how it was stored (PHP reads the
# same value); it is dropped when you change the value. # starts a comment.
`

// textIndent is one level of nesting; indentation stops growing past
// maxTextIndent levels so that deep nesting (PHP allows 4096 levels) does
// not make the text quadratic in size.
const (
	textIndent    = "    "
	maxTextIndent = 32
)

// appendIndent writes the indentation of depth d.
func appendIndent(b []byte, d int) []byte {
	for range min(d, maxTextIndent) {
		b = append(b, textIndent...)
	}
	return b
}

// FormatText renders s as the editable text form described in
// README.md ("The text form of edit"): a header comment, "@handler = NAME", then one
// "key = value" per line, nested arrays and objects indented inside
// [ ] and Class { }. The text is lossless: ParseText gives back a session
// with the same handler, key kinds, values, classes, property visibility,
// references, anchors, Raw tokens and trailing bytes, and formatting that
// session again gives the same text.
func FormatText(s *Session) []byte {
	return AppendText(make([]byte, 0, 1024), s)
}

// AppendText appends FormatText's text of s to b (size b for the session,
// about its encoded length, to format a large one without regrowing).
func AppendText(b []byte, s *Session) []byte {
	b, _ = appendTextTo(b, s, nil)
	return b
}

// WriteText writes FormatText's text of s to w, a top-level entry at a
// time, so that the text of a large session is never held whole.
func WriteText(w io.Writer, s *Session) error {
	b, err := appendTextTo(make([]byte, 0, 2*sameChunk), s, w)
	if err == nil && len(b) > 0 {
		_, err = w.Write(b)
	}
	return err
}

// AppendTextHead appends what FormatText writes before the entries of a
// php or php_binary session with handler h; AppendTextEntry then appends
// each entry's line(s): together, the same text as FormatText (a caller
// that decodes a session an entry at a time, EachTop, formats it so).
func AppendTextHead(b []byte, h Handler) []byte {
	return appendTextHead(b, h)
}

// AppendTextEntry appends the text of one top-level entry (AppendTextHead).
func AppendTextEntry(b []byte, e *Entry) []byte {
	b = appendIndent(b, 0)
	b = appendTextKey(b, e.Key, false)
	b = append(b, " = "...)
	b = appendTextValue(b, &e.Val, 0)
	return append(b, '\n')
}

func appendTextHead(b []byte, h Handler) []byte {
	b = append(b, textHeader...)
	b = append(b, "@handler = "...)
	if isBareName(string(h), false) {
		b = append(b, h...)
	} else {
		b = appendTextString(b, string(h))
	}
	return append(b, "\n\n"...)
}

// appendTextTo appends the text of s to b; with w set it writes b to w
// and empties it whenever it holds sameChunk bytes at a top-level entry.
func appendTextTo(b []byte, s *Session, w io.Writer) ([]byte, error) {
	if s == nil {
		b = append(b, textHeader...)
		return append(b, "@handler = php\n"...), nil
	}
	b = appendTextHead(b, s.Handler)
	top := s.sessionKeys()
	switch {
	case top && s.Root.Kind != KindArray:
		// No variables.
	case s.Root.Kind == KindArray && s.Root.Anchor == 0 && s.Root.Raw == "":
		for i := range s.Root.Elems {
			b = appendTextEntries(b, s.Root.Elems[i:i+1], 0, false)
			if w != nil && len(b) >= sameChunk {
				if _, err := w.Write(b); err != nil {
					return b[:0], err
				}
				b = b[:0]
			}
		}
	default:
		b = append(b, "@root = "...)
		b = appendTextValue(b, &s.Root, 0)
		b = append(b, '\n')
	}
	if s.fromEmpty {
		b = append(b, "@empty = true  # the file holds 0 bytes; it stays so unless you add entries\n"...)
	}
	if s.Trailing != "" {
		b = append(b, "@trailing = "...)
		b = appendTextString(b, s.Trailing)
		b = append(b, '\n')
	}
	return b, nil
}

// appendTextEntries writes one "key = value" line per entry at depth d.
func appendTextEntries(b []byte, elems []Entry, d int, inObject bool) []byte {
	for i := range elems {
		b = appendIndent(b, d)
		b = appendTextKey(b, elems[i].Key, inObject)
		b = append(b, " = "...)
		b = appendTextValue(b, &elems[i].Val, d)
		b = append(b, '\n')
	}
	return b
}

// appendTextKey writes a key: an int, a bare name, a quoted string, a
// property with its visibility, or a raw token.
func appendTextKey(b []byte, k Key, inObject bool) []byte {
	if k.Raw != "" {
		cand := appendTextKey(nil, Key{IsInt: k.IsInt, Int: k.Int, Str: k.Str}, inObject)
		if k.IsInt {
			if rk, ok := rawIntKeyText(k); ok {
				cand = []byte(rk)
			}
		}
		if pk, err := parseKeyText(cand, inObject); err == nil && pk == k {
			return append(b, cand...)
		}
		b = append(b, "raw "...)
		b = appendTextString(b, k.Raw)
		b = append(b, ' ')
		return appendTextKey(b, Key{IsInt: k.IsInt, Int: k.Int, Str: k.Str}, inObject)
	}
	if k.IsInt {
		return strconv.AppendInt(b, k.Int, 10)
	}
	if inObject {
		name, vis, class := k.Prop()
		if PropKey(name, vis, class).Str == k.Str {
			switch vis {
			case Protected:
				b = append(b, "protected "...)
			case Private:
				b = append(b, "private("...)
				if isBareName(class, true) {
					b = append(b, class...)
				} else {
					b = appendTextString(b, class)
				}
				b = append(b, ") "...)
			}
			return appendTextName(b, name)
		}
	}
	return appendTextName(b, k.Str)
}

// rawIntKeyText shows an int key written as i:T; as T when T is a plain
// decimal that the parser reads back to the same key.
func rawIntKeyText(k Key) (string, bool) {
	t, ok := strings.CutPrefix(k.Raw, "i:")
	if !ok {
		return "", false
	}
	t, ok = strings.CutSuffix(t, ";")
	return t, ok && isIntText(t)
}

// appendTextName writes a string key bare when it is a plain name that is
// not a keyword of the form, else quoted.
func appendTextName(b []byte, s string) []byte {
	if isBareName(s, false) && !textKeywords[s] {
		return append(b, s...)
	}
	return appendTextString(b, s)
}

// textKeywords cannot be written as bare keys.
var textKeywords = map[string]bool{"raw": true, "public": true, "protected": true, "private": true}

// isBareName reports whether s can be written without quotes: an ASCII
// letter or '_' (or '\\' when class) followed by letters, digits, '_' (and
// '\\' when class).
func isBareName(s string, class bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z'):
		case c == '\\' && class:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// appendTextValue writes v at depth d (its entries at d+1).
func appendTextValue(b []byte, v *Value, d int) []byte {
	if v.Anchor != 0 {
		b = append(b, '&')
		b = strconv.AppendInt(b, v.Anchor, 10)
		b = append(b, ' ')
	}
	switch v.Kind {
	case KindNull, KindBool, KindInt, KindFloat, KindString:
		return appendTextScalar(b, v)
	}
	if v.Raw != "" {
		b = append(b, "raw "...)
		b = appendTextString(b, v.Raw)
		b = append(b, ' ')
	}
	switch v.Kind {
	case KindArray:
		if len(v.Elems) == 0 {
			return append(b, "[]"...)
		}
		b = append(b, "[\n"...)
		b = appendTextEntries(b, v.Elems, d+1, false)
		return appendTextClose(b, d, ']')
	case KindObject:
		b = append(b, "object "...)
		b = appendTextClass(b, v.Str)
		if len(v.Elems) == 0 {
			return append(b, " {}"...)
		}
		b = append(b, " {\n"...)
		b = appendTextEntries(b, v.Elems, d+1, true)
		return appendTextClose(b, d, '}')
	case KindCustom:
		b = append(b, "serializable "...)
		b = appendTextClass(b, v.Str)
		b = append(b, ' ')
		if len(v.Elems) == 0 {
			return appendTextString(b, v.Payload)
		}
		// The values PHP reads from the payload, each after the payload
		// bytes that come before it.
		b = append(b, "(\n"...)
		for i := range v.Elems {
			b = appendIndent(b, d+1)
			b = appendTextString(b, v.Elems[i].Key.Str)
			b = append(b, " = "...)
			b = appendTextValue(b, &v.Elems[i].Val, d+1)
			b = append(b, '\n')
		}
		if t := payloadTail(v); t != "" {
			b = appendIndent(b, d+1)
			b = append(b, "tail "...)
			b = appendTextString(b, t)
			b = append(b, '\n')
		}
		return appendTextClose(b, d, ')')
	case KindEnum:
		b = append(b, "enum "...)
		if cls, cs, ok := strings.Cut(v.Str, ":"); ok && isBareName(cls, true) && isBareName(cs, false) {
			b = append(b, cls...)
			b = append(b, "::"...)
			return append(b, cs...)
		}
		return appendTextString(b, v.Str)
	case KindRef:
		b = append(b, '*')
		return strconv.AppendInt(b, v.Int, 10)
	case KindObjRef:
		b = append(b, '@')
		return strconv.AppendInt(b, v.Int, 10)
	}
	return append(b, "null"...)
}

func appendTextClose(b []byte, d int, c byte) []byte {
	return append(appendIndent(b, d), c)
}

func appendTextClass(b []byte, class string) []byte {
	if isBareName(class, true) {
		return append(b, class...)
	}
	return appendTextString(b, class)
}

// appendTextScalar writes a scalar plainly when the parser reads the plain
// text back to the same value and Raw, else as raw "token".
func appendTextScalar(b []byte, v *Value) []byte {
	start := len(b)
	switch v.Kind {
	case KindNull:
		b = append(b, "null"...)
	case KindBool:
		if v.Int != 0 {
			b = append(b, "true"...)
		} else {
			b = append(b, "false"...)
		}
	case KindInt:
		if t, ok := rawNumber(v.Raw, "i:"); ok && isIntText(t) {
			b = append(b, t...)
		} else {
			b = strconv.AppendInt(b, v.Int, 10)
		}
	case KindFloat:
		if t, ok := rawNumber(v.Raw, "d:"); ok && isFloatText(t) {
			b = append(b, t...)
		} else {
			b = appendTextFloat(b, v.Float)
		}
	case KindString:
		b = appendTextString(b, v.Str)
	}
	if v.Raw == "" {
		return b
	}
	if pv, err := parseScalarText(b[start:]); err == nil && sameScalar(pv, *v) {
		return b
	}
	b = append(b[:start], "raw "...)
	b = appendTextString(b, v.Raw)
	b = append(b, ' ')
	plain := *v
	plain.Raw = ""
	return appendTextScalar(b, &plain)
}

// rawNumber returns T of a raw token "<prefix>T;".
func rawNumber(raw, prefix string) (string, bool) {
	t, ok := strings.CutPrefix(raw, prefix)
	if !ok {
		return "", false
	}
	return strings.CutSuffix(t, ";")
}

// sameScalar reports whether two scalars are identical, Raw included.
func sameScalar(a, b Value) bool {
	return a.Raw == b.Raw && Equal(a, b) && (a.Kind != KindBool || a.Int == b.Int)
}

// appendTextFloat writes f as PHP writes it (serialize_precision -1),
// with ".0" added when that would look like an int: 1.0, 0.1, -0.0,
// 1.0E+25, INF, -INF, NAN.
func appendTextFloat(b []byte, f float64) []byte {
	start := len(b)
	b = appendFloat(b, f)
	for _, c := range b[start:] {
		if c == '.' || c == 'E' || c == 'N' {
			return b
		}
	}
	return append(b, ".0"...)
}

// appendTextString writes s double-quoted, escaping only what must be:
// '"' and '\\', \n \t \r \0, other control and non-printable characters,
// and bytes that are not UTF-8 (as \xNN, byte by byte).
func appendTextString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
			i++
			continue
		case '\n':
			b = append(b, '\\', 'n')
			i++
			continue
		case '\t':
			b = append(b, '\\', 't')
			i++
			continue
		case '\r':
			b = append(b, '\\', 'r')
			i++
			continue
		case 0:
			b = append(b, '\\', '0')
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !unicode.IsPrint(r) {
			for _, x := range []byte(s[i : i+size]) {
				b = append(b, '\\', 'x', hexDigits[x>>4], hexDigits[x&0xf])
			}
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
