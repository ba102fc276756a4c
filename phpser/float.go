package phpser

import (
	"math"
	"strconv"
)

// appendFloat appends f as PHP's serialize() writes it with
// serialize_precision = -1: the shortest digits that round-trip, laid out
// by zend_gcvt with PHP's threshold of 17 (1, 0.1, -0, 1.0E+25, 1.0E-5,
// INF, -INF, NAN).
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NAN"...)
	case math.IsInf(f, 1):
		return append(dst, "INF"...)
	case math.IsInf(f, -1):
		return append(dst, "-INF"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // [-]d[.ddd]e±XX
	if b[0] == '-' {
		dst = append(dst, '-')
		b = b[1:]
	}
	ei := len(b) - 1
	for b[ei] != 'e' {
		ei--
	}
	exp := 0
	for _, c := range b[ei+2:] {
		exp = exp*10 + int(c-'0')
	}
	if b[ei+1] == '-' {
		exp = -exp
	}
	// The significant digits, without the point.
	var dig [24]byte
	digits := append(dig[:0], b[0])
	if ei > 1 {
		digits = append(digits, b[2:ei]...)
	}
	decpt := exp + 1 // value = 0.digits * 10^decpt
	switch {
	case decpt > 17 || decpt < -3:
		dst = append(dst, digits[0], '.')
		if len(digits) > 1 {
			dst = append(dst, digits[1:]...)
		} else {
			dst = append(dst, '0')
		}
		dst = append(dst, 'E')
		if exp < 0 {
			dst = append(dst, '-')
			exp = -exp
		} else {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, int64(exp), 10)
	case decpt <= 0:
		dst = append(dst, '0', '.')
		for range -decpt {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	case decpt >= len(digits):
		dst = append(dst, digits...)
		for range decpt - len(digits) {
			dst = append(dst, '0')
		}
		return dst
	default:
		dst = append(dst, digits[:decpt]...)
		dst = append(dst, '.')
		return append(dst, digits[decpt:]...)
	}
}
