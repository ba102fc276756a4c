package phpser

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// TextError is a parse error in the text form, with a 1-based line and
// column (in characters) of where it happened.
type TextError struct {
	Line, Col int
	Msg       string
}

// Error returns "line 3, col 7: expected ...".
func (e *TextError) Error() string {
	return fmt.Sprintf("line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// ParseText parses the text form that FormatText writes (and a person
// edited) back into a session. Errors are *TextError. See
// README.md ("The text form of edit") for the grammar; in short:
//
//	@handler = php | php_binary | php_serialize | igbinary | msgpack   (required, before entries)
//	key = value                                   (one per entry)
//	@root = value        (php_serialize: a root that is not a plain array)
//	@trailing = "bytes"  (php_serialize: bytes after the value)
//
// A number is kept exactly as typed: a non-canonical spelling (05, 1e3,
// 0.10000000000000001) is stored with that spelling as its Raw token, which
// PHP reads to the same value. References must point to a value marked
// with that label earlier in the text.
func ParseText(text []byte) (*Session, error) {
	p := textParser{b: text, anchors: map[int64]Kind{}}
	return p.document()
}

// AppendEncodedText parses text as ParseText does and appends to dst the
// encoding of the session it describes (EncodeSession of it; size dst for
// it), returning it and the session's handler, with
// ParseText's error for text that does not parse and EncodeSession's for
// a session that cannot be encoded. A php or php_binary session is
// encoded one top-level entry at a time as it is parsed, so the whole
// tree is never held: the memory is about the text and the encoding.
func AppendEncodedText(dst, text []byte) ([]byte, Handler, error) {
	var few [8]encAnchor
	e := encoder{buf: dst, few: few[:0]}
	var encErr error
	var root rootStream
	p := textParser{b: text, anchors: map[int64]Kind{}, alias: true}
	p.emit = func(en *Entry) {
		if encErr != nil {
			// Parsing goes on after an encoding error: a parse error
			// later in the text is ParseText's, and comes first.
			return
		}
		if p.handler == HandlerPHPSerialize {
			encErr = root.entry(&e, en)
		} else {
			encErr = e.sessionEntry(p.handler, en)
		}
	}
	s, err := p.document()
	if err != nil {
		return nil, "", err
	}
	if !p.emitted {
		b, err := AppendSession(dst, s)
		return b, s.Handler, err
	}
	if encErr != nil {
		return nil, s.Handler, encErr
	}
	if s.Handler == HandlerPHPSerialize {
		root.finish(&e)
		e.buf = append(e.buf, s.Trailing...)
	}
	return e.buf, s.Handler, nil
}

// rootStream encodes the root array of a php_serialize session an entry
// at a time, as encoder.value encodes a KindArray (AppendEncodedText): its
// header, whose count is known only at the end, goes in room kept for it.
type rootStream struct {
	started bool
	at      int // where the room for the header starts in e.buf
	n       int
	placed  []Entry // entries carrying an anchor: key and anchor only
}

// rootRoom is the room kept for "a:<count>:{".
const rootRoom = len("a:") + 20 + len(":{")

func (r *rootStream) entry(e *encoder, en *Entry) error {
	if !r.started {
		r.started = true
		e.slots++ // the root array's own slot (it has no anchor)
		r.at = len(e.buf)
		e.buf = append(e.buf, make([]byte, rootRoom)...)
	}
	e.key(&en.Key, true)
	if len(r.placed) > 0 {
		// encoder.overwrite, over the placed entries kept.
		k := dupKey(en.Key, false)
		for _, pl := range r.placed {
			if dupKey(pl.Key, false) != k {
				continue
			}
			t, ok := e.lookup(pl.Val.Anchor)
			if !ok {
				continue
			}
			t.obj = isObject(en.Val.Kind)
			t.objSlot = 0
			e.register(t)
		}
	}
	if en.Val.Anchor != 0 {
		r.placed = append(r.placed, Entry{Key: en.Key, Val: Value{Anchor: en.Val.Anchor}})
	}
	r.n++
	if err := e.value(&en.Val); err != nil {
		e.path = append(e.path, en.Key)
		return e.error(err)
	}
	return nil
}

// finish writes the header into its room, closes the array and moves the
// encoding down over the room left unused.
func (r *rootStream) finish(e *encoder) {
	h := strconv.AppendInt(append(make([]byte, 0, rootRoom), 'a', ':'), int64(r.n), 10)
	h = append(h, ':', '{')
	gap := rootRoom - len(h)
	copy(e.buf[r.at+gap:], h)
	copy(e.buf[r.at:], e.buf[r.at+gap:])
	e.buf = append(e.buf[:len(e.buf)-gap], '}')
}

// textParser is the state of one ParseText call.
type textParser struct {
	b       []byte
	i       int
	anchors map[int64]Kind // labels defined so far and the kind they mark
	handler Handler
	depth   int
	// emit, when set, takes each top-level entry of a php or php_binary
	// document instead of the session (AppendEncodedText); emitted says it did.
	emit    func(*Entry)
	emitted bool
	// emitExt, when set, is an igbinary or msgpack handler whose entries
	// go to emit too (AppendEncodedTextAdopting).
	emitExt Handler
	// alias makes the strings parsed point into b instead of copies
	// (AppendEncodedText: they are encoded and dropped before it returns,
	// so a large edited text makes no garbage of its strings).
	alias bool
}

// text returns b[start:end] as a string: a copy, or the bytes themselves
// when p.alias.
func (p *textParser) text(start, end int) string {
	if !p.alias {
		return string(p.b[start:end])
	}
	if end <= start {
		return ""
	}
	return unsafe.String(&p.b[start], end-start)
}

// errAt builds a *TextError for byte offset off.
func (p *textParser) errAt(off int, format string, args ...any) error {
	off = min(off, len(p.b))
	line := 1 + bytes.Count(p.b[:off], []byte{'\n'})
	ls := bytes.LastIndexByte(p.b[:off], '\n') + 1
	return &TextError{Line: line, Col: 1 + utf8.RuneCount(p.b[ls:off]), Msg: fmt.Sprintf(format, args...)}
}

// expected reports what was expected at the current position and what is there.
func (p *textParser) expected(what string) error {
	return p.errAt(p.i, "expected %s, found %s", what, p.found())
}

func (p *textParser) found() string {
	if p.i >= len(p.b) {
		return "end of text"
	}
	end := p.i
	for end < len(p.b) && end-p.i < 16 && p.b[end] != '\n' && (end == p.i || !isSpace(p.b[end])) {
		end++
	}
	return strconv.Quote(string(p.b[p.i:end]))
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skip passes over white space, newlines and # comments.
func (p *textParser) skip() {
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case isSpace(c):
			p.i++
		case c == '#':
			for p.i < len(p.b) && p.b[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *textParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// word reads a bare name ([A-Za-z_][A-Za-z0-9_]*, with '\\' when class).
func (p *textParser) word(class bool) string {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (c == '\\' && class) || (c >= '0' && c <= '9' && p.i > start) {
			p.i++
			continue
		}
		break
	}
	return p.text(start, p.i)
}

func isWordStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

func (p *textParser) document() (*Session, error) {
	s := &Session{}
	var entries []Entry
	rootSet, trailingSet, entrySeen := false, false, false
	for {
		p.skip()
		if p.i >= len(p.b) {
			break
		}
		if p.peek() != '@' {
			if p.handler == "" {
				return nil, p.expected(`"@handler = php" (or php_binary, php_serialize) before the first entry`)
			}
			if rootSet {
				return nil, p.errAt(p.i, "entries cannot follow @root: the session is that one value")
			}
			e, err := p.entry(true, false)
			if err != nil {
				return nil, err
			}
			if p.emit != nil && (p.handler == HandlerPHP || p.handler == HandlerPHPBinary || p.handler == HandlerPHPSerialize || p.handler == p.emitExt) {
				p.emit(&e)
				p.emitted = true
			} else {
				entries = append(entries, e)
			}
			entrySeen = true
			continue
		}
		at := p.i
		p.i++
		name := p.word(false)
		p.skip()
		if p.peek() != '=' {
			return nil, p.expected("'=' after @" + name)
		}
		p.i++
		p.skip()
		switch name {
		case "handler":
			if p.handler != "" {
				return nil, p.errAt(at, "@handler is given twice")
			}
			hAt := p.i
			var h string
			if p.peek() == '"' {
				var err error
				if h, err = p.str(); err != nil {
					return nil, err
				}
			} else {
				h = p.word(false)
			}
			switch Handler(h) {
			case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerIgbinary, HandlerMsgpack:
			default:
				p.i = hAt
				return nil, p.expected("php, php_binary, php_serialize, igbinary or msgpack")
			}
			p.handler = Handler(strings.Clone(h)) // returned: never an alias of the text
		case "root":
			if p.handler != HandlerPHPSerialize {
				return nil, p.errAt(at, "@root needs @handler = php_serialize before it")
			}
			if rootSet || entrySeen {
				return nil, p.errAt(at, "@root cannot be combined with entries or another @root")
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			s.Root, rootSet = v, true
		case "empty":
			if p.handler != HandlerPHPSerialize {
				return nil, p.errAt(at, "@empty needs @handler = php_serialize before it")
			}
			if w := p.word(false); w != "true" {
				return nil, p.errAt(at, "expected @empty = true")
			}
			s.fromEmpty = true
		case "trailing":
			if p.handler != HandlerPHPSerialize {
				return nil, p.errAt(at, "@trailing needs @handler = php_serialize before it")
			}
			if trailingSet {
				return nil, p.errAt(at, "@trailing is given twice")
			}
			if p.peek() != '"' {
				return nil, p.expected("a quoted string after @trailing =")
			}
			t, err := p.str()
			if err != nil {
				return nil, err
			}
			s.Trailing, trailingSet = t, true
		default:
			return nil, p.errAt(at, "unknown directive @%s (known: @handler, @root, @trailing, @empty)", name)
		}
	}
	if p.handler == "" {
		return nil, p.expected(`"@handler = php" (or php_binary, php_serialize)`)
	}
	s.Handler = p.handler
	if !rootSet {
		s.Root = Array(entries...)
	}
	return s, nil
}

// entry parses "key = value".
func (p *textParser) entry(top, inObject bool) (Entry, error) {
	at := p.i
	k, err := p.key(inObject)
	if err != nil {
		return Entry{}, err
	}
	if top && p.handler != HandlerPHPSerialize {
		switch {
		case k.IsInt:
			return Entry{}, p.errAt(at, "the %s handler stores top-level keys as strings: write the key in quotes", p.handler)
		case p.handler == HandlerPHP && strings.IndexByte(k.Str, '|') >= 0:
			return Entry{}, p.errAt(at, `the php handler cannot store a key containing "|"`)
		case p.handler == HandlerPHPBinary && len(k.Str) > 127:
			return Entry{}, p.errAt(at, "the php_binary handler cannot store a key longer than 127 bytes (this one has %d)", len(k.Str))
		}
	}
	p.skip()
	if p.peek() != '=' {
		return Entry{}, p.expected("'=' after the key")
	}
	p.i++
	p.skip()
	v, err := p.value()
	if err != nil {
		return Entry{}, err
	}
	return Entry{Key: k, Val: v}, nil
}

// key parses a key: 7, name, "text", raw "token", or in an object
// protected name / private(Class) name / public name.
func (p *textParser) key(inObject bool) (Key, error) {
	c := p.peek()
	switch {
	case c == '"':
		s, err := p.str()
		return StrKey(s), err
	case c == '-' || c == '+' || (c >= '0' && c <= '9'):
		at := p.i
		tok := p.numberToken()
		if !isIntText(tok) {
			p.i = at
			return Key{}, p.expected("an int key")
		}
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil {
			p.i = at
			return Key{}, p.errAt(at, "int key %s is out of the 64-bit range", tok)
		}
		k := IntKey(n)
		if tok != strconv.FormatInt(n, 10) {
			k.Raw = "i:" + tok + ";"
		}
		return k, nil
	case !isWordStart(c):
		return Key{}, p.expected("a key (name, \"text\" or int)")
	}
	w := p.word(false)
	after := p.i
	p.skip()
	if p.peek() == '=' {
		p.i = after
		return StrKey(w), nil
	}
	switch {
	case w == "raw" && p.peek() == '"':
		tok, err := p.str()
		if err != nil {
			return Key{}, err
		}
		p.skip()
		if p.peek() == '=' {
			return Key{}, p.expected(`the key after raw "..."`)
		}
		k, err := p.key(inObject)
		k.Raw = tok
		return k, err
	case inObject && (w == "public" || w == "protected" || w == "private"):
		vis, class := Public, ""
		switch w {
		case "protected":
			vis = Protected
		case "private":
			vis = Private
			if p.peek() != '(' {
				return Key{}, p.expected("'(' and the declaring class after private")
			}
			p.i++
			p.skip()
			if p.peek() == '"' {
				var err error
				if class, err = p.str(); err != nil {
					return Key{}, err
				}
			} else {
				class = p.word(true)
			}
			p.skip()
			if p.peek() != ')' {
				return Key{}, p.expected("')' after the declaring class")
			}
			p.i++
			p.skip()
		}
		var name string
		switch c := p.peek(); {
		case c == '"':
			var err error
			if name, err = p.str(); err != nil {
				return Key{}, err
			}
		case isWordStart(c):
			name = p.word(false)
		default:
			return Key{}, p.expected("a property name after " + w)
		}
		return PropKey(name, vis, class), nil
	}
	p.i = after
	return StrKey(w), nil
}

// label reads a positive decimal anchor label.
func (p *textParser) label() (int64, error) {
	at := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(string(p.b[at:p.i]), 10, 64)
	if err != nil || n <= 0 {
		p.i = at
		return 0, p.expected("a label (a positive number)")
	}
	return n, nil
}

// value parses [&N] body.
func (p *textParser) value() (Value, error) {
	var anchor int64
	anchorAt := p.i
	if p.peek() == '&' {
		p.i++
		n, err := p.label()
		if err != nil {
			return Value{}, err
		}
		if _, dup := p.anchors[n]; dup {
			return Value{}, p.errAt(anchorAt, "label &%d is used twice", n)
		}
		anchor = n
		p.skip()
	}
	var raw string
	rawSet := false
	if p.i+3 <= len(p.b) && string(p.b[p.i:p.i+3]) == "raw" && (p.i+3 == len(p.b) || !isWordStart(p.b[p.i+3]) && (p.b[p.i+3] < '0' || p.b[p.i+3] > '9')) {
		save := p.i
		p.i += 3
		p.skip()
		if p.peek() != '"' {
			p.i = save
			return Value{}, p.expected(`a quoted token after raw (raw "d:1.0;" 1.0)`)
		}
		var err error
		if raw, err = p.str(); err != nil {
			return Value{}, err
		}
		rawSet = true
		p.skip()
	}
	v, err := p.body(anchor, anchorAt)
	if err != nil {
		return Value{}, err
	}
	if rawSet {
		v.Raw = raw
	}
	return v, nil
}

// body parses a value after its label and raw annotation.
func (p *textParser) body(anchor int64, anchorAt int) (Value, error) {
	at := p.i
	c := p.peek()
	var v Value
	var err error
	switch {
	case c == '*' || c == '@':
		if anchor != 0 && c == '*' {
			return Value{}, p.errAt(anchorAt, "a PHP reference (*N) cannot carry a label of its own")
		}
		p.i++
		n, lerr := p.label()
		if lerr != nil {
			return Value{}, lerr
		}
		k, ok := p.anchors[n]
		if !ok {
			return Value{}, p.errAt(at, "%c%d: no value is marked &%d before this point", c, n, n)
		}
		v = Value{Kind: KindRef, Int: n}
		if c == '@' {
			if k != KindObject && k != KindCustom && k != KindEnum && k != KindObjRef {
				return Value{}, p.errAt(at, "@%d: the value marked &%d is a %s, and @ only points to objects (use *%d for a PHP reference)", n, n, k, n)
			}
			v.Kind = KindObjRef
		}
	case c == '[':
		if anchor != 0 {
			p.anchors[anchor] = KindArray
		}
		v, err = p.container(KindArray, "", ']')
	case c == '"':
		var s string
		s, err = p.str()
		v = String(s)
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		v, err = p.number()
	case isWordStart(c):
		v, err = p.wordValue(anchor)
	default:
		return Value{}, p.expected("a value")
	}
	if err != nil {
		return Value{}, err
	}
	if anchor != 0 {
		v.Anchor = anchor
		p.anchors[anchor] = v.Kind
	}
	return v, nil
}

// wordValue parses a value that starts with a word: null, true, false,
// INF, NAN, raw "token", object, serializable, enum.
func (p *textParser) wordValue(anchor int64) (Value, error) {
	at := p.i
	w := p.word(false)
	switch w {
	case "null":
		return Null(), nil
	case "true":
		return Bool(true), nil
	case "false":
		return Bool(false), nil
	case "INF":
		return Float(math.Inf(1)), nil
	case "NAN":
		return Float(math.NaN()), nil
	case "object", "serializable", "enum":
		p.skip()
		nameAt := p.i
		var name string
		if p.peek() == '"' {
			var err error
			if name, err = p.str(); err != nil {
				return Value{}, err
			}
		} else {
			name = p.word(true)
		}
		if w == "enum" {
			if p.i+1 < len(p.b) && p.b[p.i] == ':' && p.b[p.i+1] == ':' && name != "" {
				p.i += 2
				name += ":" + p.word(false)
			}
			if !validEnumName(name) {
				return Value{}, p.errAt(nameAt, "expected an enum case (Class::Case), found %q", name)
			}
			return Enum(name), nil
		}
		if !validClassName(name) {
			p.i = nameAt
			return Value{}, p.expected("a PHP class name")
		}
		p.skip()
		if w == "serializable" {
			if p.peek() == '(' {
				if anchor != 0 {
					p.anchors[anchor] = KindCustom
				}
				return p.payloadParts(name)
			}
			if p.peek() != '"' {
				return Value{}, p.expected("the payload in quotes, or '(', after the class name")
			}
			payload, err := p.str()
			if err != nil {
				return Value{}, err
			}
			return Custom(name, payload), nil
		}
		if p.peek() != '{' {
			return Value{}, p.expected("'{' after the class name")
		}
		if anchor != 0 {
			p.anchors[anchor] = KindObject
		}
		return p.container(KindObject, name, '}')
	}
	p.i = at
	return Value{}, p.expected("a value (null, true, false, a number, \"text\", [ ], object, serializable, enum)")
}

// payloadParts parses ( "glue" = value ... [tail "bytes"] ): the values PHP
// reads from a Serializable payload, each after the payload bytes that
// precede it.
func (p *textParser) payloadParts(class string) (Value, error) {
	if p.depth >= DefaultMaxDepth {
		return Value{}, p.errAt(p.i, "nesting deeper than %d levels", DefaultMaxDepth)
	}
	p.depth++
	defer func() { p.depth-- }()
	open := p.i
	p.i++
	v := Value{Kind: KindCustom, Str: class}
	tail := ""
	for {
		p.skip()
		if p.i >= len(p.b) {
			return Value{}, p.expected("')' to close the serializable payload")
		}
		if p.peek() == ')' {
			p.i++
			break
		}
		if tail != "" {
			return Value{}, p.expected("')' after the payload's tail")
		}
		if p.peek() != '"' {
			save := p.i
			if p.word(false) == "tail" {
				p.skip()
				if p.peek() == '"' {
					t, err := p.str()
					if err != nil {
						return Value{}, err
					}
					if t == "" {
						return Value{}, p.errAt(save, "an empty tail: leave the line out")
					}
					tail = t
					continue
				}
			}
			p.i = save
			return Value{}, p.expected(`"the payload bytes before a value" = value, tail "bytes", or ')'`)
		}
		glue, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.skip()
		if p.peek() != '=' {
			return Value{}, p.expected("'=' after the payload bytes")
		}
		p.i++
		p.skip()
		val, err := p.value()
		if err != nil {
			return Value{}, err
		}
		v.Elems = append(v.Elems, Entry{Key: Key{IsInt: true, Int: int64(len(v.Elems)), Str: glue}, Val: val})
	}
	if len(v.Elems) == 0 {
		return Value{}, p.errAt(open, `a serializable payload without values: write it as serializable %s "payload"`, class)
	}
	v.Payload, v.Int = tail, int64(len(tail))
	v.Payload = customPayload(&v)
	return v, nil
}

// container parses the entries of an array or object up to close.
func (p *textParser) container(k Kind, class string, close byte) (Value, error) {
	if p.depth >= DefaultMaxDepth {
		return Value{}, p.errAt(p.i, "nesting deeper than %d levels", DefaultMaxDepth)
	}
	p.depth++
	defer func() { p.depth-- }()
	p.i++
	v := Value{Kind: k, Str: class}
	for {
		p.skip()
		if p.i >= len(p.b) {
			return Value{}, p.expected(fmt.Sprintf("'%c' to close the %s", close, k))
		}
		if p.peek() == close {
			p.i++
			return v, nil
		}
		e, err := p.entry(false, k == KindObject)
		if err != nil {
			return Value{}, err
		}
		v.Elems = append(v.Elems, e)
	}
}

// numberToken reads the characters a number may be made of.
func (p *textParser) numberToken() string {
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '+' || c == '-' || c == '.' || c == '_' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z') {
			p.i++
			continue
		}
		break
	}
	return string(p.b[start:p.i])
}

// number parses an int (42, kept as typed when not canonical: 05, +5) or a
// float (with '.' or an exponent; -INF).
func (p *textParser) number() (Value, error) {
	at := p.i
	tok := p.numberToken()
	v, err := numberValue(tok)
	if err != nil {
		p.i = at
		return Value{}, p.errAt(at, "%v", err)
	}
	return v, nil
}

// numberValue is the value of a number token of the text form.
func numberValue(tok string) (Value, error) {
	switch {
	case tok == "-INF":
		return Float(math.Inf(-1)), nil
	case isIntText(tok):
		n, err := strconv.ParseInt(tok, 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("int %s is out of the 64-bit range (write raw \"i:%s;\" to store it as PHP would read it, clamped)", tok, tok)
		}
		v := Int(n)
		if tok != strconv.FormatInt(n, 10) {
			v.Raw = "i:" + tok + ";"
		}
		return v, nil
	case isFloatText(tok):
		f, err := strconv.ParseFloat(tok, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return Value{}, fmt.Errorf("expected a number, found %q", tok)
		}
		v := Float(f)
		if tok != string(appendTextFloat(nil, f)) {
			v.Raw = "d:" + tok + ";"
		}
		return v, nil
	}
	return Value{}, fmt.Errorf("expected a number (42, 1.5, 1.0E+25, INF, -INF, NAN), found %q", tok)
}

// isIntText reports whether t is [+-]?[0-9]+.
func isIntText(t string) bool {
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return false
		}
	}
	return true
}

// isFloatText reports whether t is a float as PHP's d: accepts it and has
// a '.' or an exponent: [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?.
func isFloatText(t string) bool {
	if t != "" && (t[0] == '+' || t[0] == '-') {
		t = t[1:]
	}
	i, n := 0, 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
		n++
	}
	dot := false
	if i < len(t) && t[i] == '.' {
		dot = true
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
			n++
		}
	}
	if n == 0 {
		return false
	}
	exp := false
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		exp = true
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		d := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
			d++
		}
		if d == 0 {
			return false
		}
	}
	return i == len(t) && (dot || exp)
}

// str parses a double-quoted string with the escapes \" \\ \n \t \r \0
// \xNN; any other byte (newlines and invalid UTF-8 included) is itself.
func (p *textParser) str() (string, error) {
	p.i++
	start := p.i
	var b []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			var s string
			if b == nil {
				s = p.text(start, p.i)
			} else {
				s = string(append(b, p.b[start:p.i]...))
			}
			p.i++
			return s, nil
		}
		if c != '\\' {
			p.i++
			continue
		}
		b = append(b, p.b[start:p.i]...)
		at := p.i
		p.i++
		switch p.peek() {
		case '"', '\\':
			b = append(b, p.b[p.i])
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case '0':
			b = append(b, 0)
		case 'x':
			if p.i+2 < len(p.b) && isHex(p.b[p.i+1]) && isHex(p.b[p.i+2]) {
				x, _ := strconv.ParseUint(string(p.b[p.i+1:p.i+3]), 16, 8)
				b = append(b, byte(x))
				p.i += 2
				break
			}
			return "", p.errAt(at, `expected two hex digits after \x`)
		default:
			return "", p.errAt(at, `expected an escape (\" \\ \n \t \r \0 \xNN), found %s`, p.foundAt(at))
		}
		p.i++
		start = p.i
	}
	return "", p.expected(`'"' to close the string`)
}

func (p *textParser) foundAt(at int) string {
	end := min(at+2, len(p.b))
	return strconv.Quote(string(p.b[at:end]))
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// parseScalarText parses b as exactly one scalar of the text form.
func parseScalarText(b []byte) (Value, error) {
	p := textParser{b: b, anchors: map[int64]Kind{}}
	v, err := p.value()
	if err == nil && p.i != len(b) {
		err = p.expected("the end of the value")
	}
	return v, err
}

// parseKeyText parses b as exactly one key of the text form.
func parseKeyText(b []byte, inObject bool) (Key, error) {
	p := textParser{b: append(append([]byte(nil), b...), " ="...), anchors: map[int64]Kind{}}
	k, err := p.key(inObject)
	if err == nil && p.i != len(b) {
		err = p.expected("the end of the key")
	}
	return k, err
}
