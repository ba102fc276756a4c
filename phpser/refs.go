package phpser

// Deref follows a KindRef or KindObjRef value to the value in the session
// carrying that Anchor. Any other value is returned as is with ok true; ok
// is false when the reference is dangling.
func (s *Session) Deref(v Value) (Value, bool) {
	if v.Kind != KindRef && v.Kind != KindObjRef {
		return v, true
	}
	return Value{}, false
}
