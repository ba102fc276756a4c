package phpser

// AppendValue appends the serialized form of v to dst, as PHP's serialize()
// writes it (Raw tokens verbatim). References are numbered as in a lone
// unserialize() call: v itself is slot 1.
func AppendValue(dst []byte, v Value) ([]byte, error) {
	return dst, &EncodeError{Reason: "not implemented"}
}

// EncodeValue returns the serialized form of v (see AppendValue).
func EncodeValue(v Value) ([]byte, error) {
	return AppendValue(nil, v)
}
