package phpser

// DecodeOptions tunes decoding. The zero value decodes as PHP does with its
// default ini settings.
type DecodeOptions struct {
	// MaxDepth is unserialize_max_depth: the deepest nesting of arrays and
	// objects allowed. 0 means DefaultMaxDepth; a negative value means no limit.
	MaxDepth int
}

// DecodeValue decodes one serialized value from the start of data. n is the
// number of bytes consumed; bytes after the value are not an error
// (unserialize ignores them). A failure is a *SyntaxError.
func DecodeValue(data []byte) (v Value, n int, err error) {
	return DecodeOptions{}.DecodeValue(data)
}

// DecodeValue is DecodeValue with these options.
func (o DecodeOptions) DecodeValue(data []byte) (v Value, n int, err error) {
	return Value{}, 0, &SyntaxError{Expected: "value", Found: "end of input"}
}
