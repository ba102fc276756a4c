package phpser

// Detect guesses which handler wrote data. ok is false when it cannot
// decide (empty input: every handler reads it as an empty session).
//
// The rule, applied in order (the first that holds wins):
//
//  1. php_serialize, when data is one serialized value with nothing after it;
//  2. php_binary, when the whole of data decodes as php_binary;
//  3. php, when the whole of data decodes as php;
//  4. php_serialize, when data starts with a value and has trailing bytes
//     (PHP ignores them);
//  5. nothing decodes: the handler the first bytes point to, so that the
//     error of a corrupt session names a sensible handler: php_serialize
//     when data starts like a value ("a:", "O:", "N;", ... and no '|'
//     before the first ':' or ';'), php_binary when the first byte is
//     a control byte (a key length below 32), php otherwise.
//
// Payloads PHP writes are never ambiguous between 1-3: a php_serialize
// payload holds no '|' ahead of its first value and starts with a letter,
// not a length byte; a php payload's first key is followed by '|'.
func Detect(data []byte) (h Handler, ok bool) {
	if len(data) == 0 {
		return "", false
	}
	_, h, _ = DecodeOptions{}.detect(string(data))
	return h, true
}

// detect decodes s with the handler Detect picks and returns the session
// (nil with the error when even that handler refuses it).
func (o DecodeOptions) detect(s string) (*Session, Handler, error) {
	if len(s) == 0 {
		sess, err := o.decodeSession(s, HandlerPHP)
		return sess, HandlerPHP, err
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
	if int(s[0]&0x7f) < len(s)-1 {
		if sess, err := o.decodeSession(s, HandlerPHPBinary); err == nil {
			return sess, HandlerPHPBinary, nil
		}
	}
	sess, errPHP := o.decodeSession(s, HandlerPHP)
	if errPHP == nil {
		return sess, HandlerPHP, nil
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
