package phpser

import (
	"fmt"
	"strings"
)

// ParseHandler parses a session.serialize_handler name, case-insensitively
// as PHP does; "auto" is accepted too.
func ParseHandler(s string) (Handler, error) {
	switch h := Handler(strings.ToLower(s)); h {
	case HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize, HandlerAuto:
		return h, nil
	}
	return "", fmt.Errorf("unknown serialize handler %q (want php, php_binary, php_serialize or auto)", s)
}

// DecodeSession decodes a session payload written by handler h.
func DecodeSession(data []byte, h Handler) (*Session, error) {
	return DecodeOptions{}.DecodeSession(data, h)
}

// DecodeSession is DecodeSession with these options.
func (o DecodeOptions) DecodeSession(data []byte, h Handler) (*Session, error) {
	return nil, &SyntaxError{Expected: "session", Found: "end of input"}
}

// EncodeSession encodes s with its Handler.
func EncodeSession(s *Session) ([]byte, error) {
	return AppendSession(nil, s)
}

// AppendSession appends the encoding of s with its Handler to dst.
func AppendSession(dst []byte, s *Session) ([]byte, error) {
	return dst, &EncodeError{Reason: "not implemented"}
}
