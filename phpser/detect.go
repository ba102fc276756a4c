package phpser

// Detect guesses which handler wrote data. ok is false when it cannot
// decide (empty input).
func Detect(data []byte) (h Handler, ok bool) {
	if len(data) == 0 {
		return "", false
	}
	return HandlerPHP, true
}
