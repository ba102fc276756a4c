package phpser

// Detect guesses which handler wrote data. ok is false when it cannot
// decide (empty input: every handler reads it as an empty session).
//
// The rule, applied in order (the first that holds wins):
//
//  0. igbinary or msgpack, when data starts with their session header (see
//     detectExtension);
//  1. php_serialize, when data is one serialized value with nothing after it;
//  2. php, when the whole of data decodes as php;
//  3. php_binary, when the whole of data decodes as php_binary;
//  4. php_serialize, when data starts with a value and has trailing bytes
//     (PHP ignores them);
//  5. nothing decodes: the handler the first bytes point to, so that the
//     error of a corrupt session names a sensible handler: php_serialize
//     when data starts like a value ("a:", "O:", "N;", ... and no '|'
//     before the first ':' or ';'), php_binary when the first byte is
//     a control byte (a key length below 32), php otherwise.
//
// php is tried before php_binary because a php payload often also frames
// as php_binary by chance: "uid|i:42;..." starts with 'u' (117), and when
// byte 118 happens to start a value that runs to the end, it decodes as
// one php_binary entry with a 117-byte key. The converse needs '|' bytes
// at exactly the right places and is much rarer; php is also PHP's default.
// A php_serialize payload starts with a value's letter and ':' or ';',
// which no php key followed by '|' can do as a whole value.
func Detect(data []byte) (h Handler, ok bool) {
	return DecodeOptions{Borrow: true}.Detect(data)
}

// DecodeAuto decodes data with the handler Detect picks, in one pass, and
// returns that handler also when the session does not decode (the error is
// then that handler's). Empty data is an empty php session.
func (o DecodeOptions) DecodeAuto(data []byte) (*Session, Handler, error) {
	return o.detect(o.input(data))
}

// Detect is Detect with these options.
func (o DecodeOptions) Detect(data []byte) (h Handler, ok bool) {
	if len(data) == 0 {
		return "", false
	}
	_, h, _ = o.detect(o.input(data))
	return h, true
}

// detect decodes s with the handler Detect picks and returns the session
// (nil with the error when even that handler refuses it).
func (o DecodeOptions) detect(s string) (*Session, Handler, error) {
	if len(s) == 0 {
		sess, err := o.decodeSession(s, HandlerPHP)
		return sess, HandlerPHP, err
	}
	if h := detectExtension(s); h != "" {
		sess, err := o.DecodeSession([]byte(s), h)
		return sess, h, err
	}
	var trailing *Session
	if startsLikeValue(s) {
		sess, err := o.decodeSession(s, HandlerPHPSerialize)
		if err == nil {
			if sess.Trailing == "" {
				return sess, HandlerPHPSerialize, nil
			}
			trailing = sess
		}
	}
	sess, errPHP := o.decodeSession(s, HandlerPHP)
	if errPHP == nil {
		return sess, HandlerPHP, nil
	}
	if int(s[0]&0x7f) < len(s)-1 {
		if sess, err := o.decodeSession(s, HandlerPHPBinary); err == nil {
			return sess, HandlerPHPBinary, nil
		}
	}
	if trailing != nil {
		return trailing, HandlerPHPSerialize, nil
	}
	switch {
	case startsLikeValue(s):
		_, err := o.decodeSession(s, HandlerPHPSerialize)
		return nil, HandlerPHPSerialize, err
	case s[0] < 0x20:
		_, err := o.decodeSession(s, HandlerPHPBinary)
		return nil, HandlerPHPBinary, err
	}
	return nil, HandlerPHP, errPHP
}

// detectExtension recognises the sessions of the extensions' serializers:
// igbinary's 00 00 00 02 header (or igbinary 1's 00 00 00 01, which PHP's
// igbinary still reads), and msgpack's session map, whose first entry is
// nil -> 1 (a fixmap, map16 or map32 starting c0 01), or its empty session
// 90. They are tried first. igbinary's header takes nothing from the other
// handlers: php and php_serialize start with a printable byte, and a
// php_binary session starting 00 is a key of length 0 whose value would
// have to start 00 or 02, which no serialize() value does. msgpack's map
// header could in principle frame as a php_binary key (0x80-0x8f: the
// 0x80 bit is ignored, so a key of 0-15 bytes starting c0 01) followed by a
// serialized value, but only for contrived bytes; such input is read as
// the msgpack session it is. A msgpack session that does not start nil -> 1
// (which msgpack-php never writes) is left to the later rules; with
// --serialize-handler msgpack it is read as msgpack.
func detectExtension(s string) Handler {
	if len(s) >= 4 && s[:4] == "\x00\x00\x00\x02" || len(s) > 4 && s[:4] == "\x00\x00\x00\x01" {
		return HandlerIgbinary // igbinary 2 and later also read version 1
	}
	if s == "\x90" {
		return HandlerMsgpack // msgpack's empty session (an empty array)
	}
	var rest string
	switch c := s[0]; {
	case c >= 0x80 && c <= 0x8f:
		rest = s[1:]
	case c == 0xde && len(s) >= 3:
		rest = s[3:]
	case c == 0xdf && len(s) >= 5:
		rest = s[5:]
	}
	if len(rest) >= 2 && rest[0] == 0xc0 && rest[1] == 0x01 {
		return HandlerMsgpack
	}
	return ""
}

// startsLikeValue reports whether s starts with a serialized value's
// type letter and separator, with no '|' before it (a php key).
func startsLikeValue(s string) bool {
	if len(s) < 2 {
		return false
	}
	switch s[0] {
	case 'N':
		return s[1] == ';'
	case 'b', 'i', 'd', 's', 'S', 'a', 'O', 'C', 'E', 'r', 'R':
		return s[1] == ':'
	}
	return false
}
