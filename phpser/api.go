package phpser

// This file fixes the package's exported surface; the implementations live in
// decode.go, encode.go, session.go, json.go, text.go and path.go.

// Handler names a session serialize handler (session.serialize_handler).
type Handler string

// The session serialize handlers sesstool knows, and "auto" for detection.
// igbinary and msgpack are the extensions' handlers (php-igbinary,
// php-msgpack); Detect recognises their sessions.
const (
	HandlerPHP          Handler = "php"
	HandlerPHPBinary    Handler = "php_binary"
	HandlerPHPSerialize Handler = "php_serialize"
	HandlerIgbinary     Handler = "igbinary"
	HandlerMsgpack      Handler = "msgpack"
	HandlerAuto         Handler = "auto"
)

// DefaultMaxDepth is PHP's default unserialize_max_depth.
const DefaultMaxDepth = 4096

// Session is one decoded session payload.
//
// Root is the session's variables as an array (KindArray): for php and
// php_binary its Elems are the top-level entries in file order (string keys,
// not numerically normalised, duplicates kept as written); for
// php_serialize Root is the serialized value itself, which PHP 8 accepts even
// when it is not an array. Trailing holds bytes after a php_serialize value,
// which PHP ignores; they are kept so that encoding is byte-exact.
type Session struct {
	Handler  Handler
	Root     Value
	Trailing string

	// fromEmpty marks a php_serialize session decoded from 0 bytes: left
	// empty, it encodes back to 0 bytes rather than a:0:{}.
	fromEmpty bool

	// ext is what an igbinary or msgpack session needs beyond the tree.
	ext extState
}

// extState holds the encoding choices of an igbinary or msgpack session
// that its tree does not carry, and, for a session written in a form the
// extension's encoder would not produce (non-minimal widths, a lone
// reference, int keys at the top, bytes after the session, ...), those
// bytes with a copy of the tree decoded from them: while the tree still
// equals that copy it encodes back to exactly these bytes; once changed,
// to what PHP's session_encode() writes for it after reading the session.
type extState struct {
	opts uint8 // extIgLiteral, extMsgNoStr8
	h    Handler
	orig string
	snap *Value
}

const (
	extIgLiteral uint8 = 1 << iota // igbinary.compact_strings=0: repeated strings written again
	extMsgNoStr8                   // msgpack.use_str8_serialization=0: no str8 (d9)
)

// keepExact records data as the exact bytes of a session of handler h
// whose tree is root.
func (x *extState) keepExact(h Handler, data string, root *Value) {
	x.h = h
	x.orig = data
	c := deepCopy(*root)
	x.snap = &c
}

// exact returns the bytes kept by keepExact when s still has their
// handler and a tree equal to the one decoded from them.
func (x *extState) exact(s *Session) (string, bool) {
	if x.snap == nil || s.Handler != x.h || !Equal(s.Root, *x.snap) {
		return "", false
	}
	return x.orig, true
}

// Canonical reports whether the session's bytes are what PHP's encoder
// writes for the values PHP reads from them. It is false for an igbinary or
// msgpack session written in another form (non-minimal widths, int keys at
// the top, a lone reference, trailing bytes, forms only PHP's decoder
// takes): phpser keeps those bytes while the session is unchanged, and
// writes PHP's own encoding once it changes. It is true for the other
// handlers, whose lenient spellings Value.Raw keeps.
func (s *Session) Canonical() bool { return s == nil || s.ext.snap == nil }

// Entries returns the top-level entries, or nil when Root is not an array.
func (s *Session) Entries() []Entry {
	if s == nil || s.Root.Kind != KindArray {
		return nil
	}
	return s.Root.Elems
}
