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
}

// Entries returns the top-level entries, or nil when Root is not an array.
func (s *Session) Entries() []Entry {
	if s == nil || s.Root.Kind != KindArray {
		return nil
	}
	return s.Root.Elems
}
