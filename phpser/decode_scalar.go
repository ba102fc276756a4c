package phpser

// Scalar tokens of the serialize() grammar: numbers, strings, enums.

import (
	"math"
	"strconv"
	"strings"
)

// parseUIV scans [0-9]+ at p as PHP's parse_uiv does (a size_t that wraps
// on overflow). canon is false for leading zeros or more than 19 digits.
func parseUIV(s string, p int) (u uint64, q int, canon, ok bool) {
	q = p
	for q < len(s) {
		c := s[q] - '0'
		if c > 9 {
			break
		}
		u = u*10 + uint64(c)
		q++
	}
	nd := q - p
	if nd == 0 {
		return 0, q, false, false
	}
	canon = nd <= 19 && (nd == 1 || s[p] != '0')
	return u, q, canon, true
}

// parseIV scans [+-]?[0-9]* at p as PHP's parse_iv2 does: leading zeros
// skipped, values beyond 64 bits clamped to the int64 range. digits reports
// whether any digit was seen; canon whether PHP's encoder would write the
// same text for the result.
func parseIV(s string, p int) (n int64, q int, canon, digits bool) {
	// Fast path: a positive number without leading zeros, up to 18 digits.
	if p < len(s) && s[p]-'1' <= 8 {
		u := uint64(s[p] - '0')
		q = p + 1
		for q < len(s) && q-p < 18 {
			c := s[q] - '0'
			if c > 9 {
				return int64(u), q, true, true
			}
			u = u*10 + uint64(c)
			q++
		}
		if q >= len(s) || s[q]-'0' > 9 {
			return int64(u), q, true, true
		}
	}
	neg := false
	canon = true
	if p < len(s) {
		switch s[p] {
		case '-':
			neg = true
			p++
		case '+':
			canon = false
			p++
		}
	}
	start := p
	for p < len(s) && s[p] == '0' {
		p++
	}
	zeros := p - start
	ds := p
	var u uint64
	for p < len(s) {
		c := s[p] - '0'
		if c > 9 {
			break
		}
		u = u*10 + uint64(c)
		p++
	}
	nd := p - ds
	if zeros+nd == 0 {
		return 0, p, false, false
	}
	if zeros > 0 && (nd > 0 || zeros > 1 || neg) {
		canon = false
	}
	var lim uint64 = math.MaxInt64
	if neg {
		lim++
	}
	if nd > 19 || u > lim {
		if neg {
			return math.MinInt64, p, false, true
		}
		return math.MaxInt64, p, false, true
	}
	if neg {
		return int64(-u), p, canon, true
	}
	return int64(u), p, canon, true
}

// float decodes d:<number>; with PHP's grammar: [+-]? digits with an
// optional fraction and exponent, or NAN, INF, -INF.
func (d *decoder) float(p int, v *Value) int {
	s := d.s
	q := p + 2
	var f float64
	switch {
	case strings.HasPrefix(s[q:], "NAN;"):
		f, q = math.NaN(), q+3
	case strings.HasPrefix(s[q:], "INF;"):
		f, q = math.Inf(1), q+3
	case strings.HasPrefix(s[q:], "-INF;"):
		f, q = math.Inf(-1), q+4
	default:
		sign := byte(0)
		if q < len(s) && (s[q] == '+' || s[q] == '-') {
			sign = s[q]
			q++
		}
		i0 := q
		var m uint64
		for q < len(s) && s[q]-'0' <= 9 {
			m = m*10 + uint64(s[q]-'0')
			q++
		}
		intDigits := q - i0
		fracDigits, fracZeros := 0, 0
		dot := false
		if q < len(s) && s[q] == '.' {
			dot = true
			q++
			f0 := q
			for q < len(s) && s[q] == '0' && m == 0 {
				q++
			}
			fracZeros = q - f0
			for q < len(s) && s[q]-'0' <= 9 {
				m = m*10 + uint64(s[q]-'0')
				q++
			}
			fracDigits = q - f0
		}
		if intDigits+fracDigits == 0 {
			return d.fail(p, "d:<number>;")
		}
		exp := false
		if q < len(s) && (s[q] == 'e' || s[q] == 'E') {
			exp = true
			q++
			if q < len(s) && (s[q] == '+' || s[q] == '-') {
				q++
			}
			e0 := q
			for q < len(s) && s[q]-'0' <= 9 {
				q++
			}
			if q == e0 {
				return d.fail(p, "d:<number>;")
			}
		}
		if q >= len(s) || s[q] != ';' {
			return d.fail(p, "d:<number>;")
		}
		// Fast path: plain decimal text with at most 15 significant digits
		// is exact in m / 10^k and, without trailing fraction zeros, is
		// the shortest text for its value, so PHP writes it the same way.
		sig := intDigits + fracDigits
		if intDigits == 1 && s[i0] == '0' {
			sig = fracDigits - fracZeros
		}
		if !exp && sign != '+' && intDigits > 0 && sig <= 15 && fracDigits <= 18 &&
			(intDigits == 1 || s[i0] != '0') && (!dot || fracDigits > 0 && s[q-1] != '0') &&
			fracZeros <= 3 {
			f = float64(m) / pow10tab[fracDigits]
			if sign == '-' {
				f = -f
			}
			d.mark(v)
			v.Kind, v.Float = KindFloat, f
			return q + 1
		}
		var err error
		f, err = strconv.ParseFloat(s[p+2:q], 64)
		if err != nil && !math.IsInf(f, 0) && f != 0 {
			return d.fail(p+2, "a decimal number")
		}
	}
	d.mark(v)
	v.Kind, v.Float = KindFloat, f
	var buf [40]byte
	if string(appendFloat(buf[:0], f)) != s[p+2:q] {
		v.Raw = s[p : q+1]
	}
	return q + 1
}

// pow10tab holds the powers of ten that are exact in a float64.
var pow10tab = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// str decodes s:<len>:"<bytes>";.
func (d *decoder) str(p int, v *Value) int {
	s := d.s
	n, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return d.fail(p, `s:<length>:"`)
	}
	start := q + 2
	end := start + int(n)
	if rem := uint64(len(s) - start); n > rem || rem-n < 2 || s[end] != '"' || s[end+1] != ';' {
		return d.strFail(p, start, n, "string")
	}
	d.mark(v)
	v.Kind, v.Str = KindString, s[start:end]
	if !canon {
		v.Raw = s[p : end+2]
	}
	return end + 2
}

// strFail records why the string of declared length n at start is bad.
func (d *decoder) strFail(p, start int, n uint64, what string) int {
	s := d.s
	if uint64(len(s)-start) < n {
		return d.fail(p+2, "a string length the remaining input can hold")
	}
	end := start + int(n)
	if end >= len(s) || s[end] != '"' {
		return d.fail(end, `'"' after `+what+` of declared length`)
	}
	return d.fail(end+1, `';' after `+what)
}

// escStr decodes S:<len>:"<escaped>"; (\xx hex escapes; len is decoded).
func (d *decoder) escStr(p int, v *Value) int {
	str, q := d.escString(p)
	if q < 0 {
		return q
	}
	d.mark(v)
	v.Kind, v.Str, v.Raw = KindString, str, d.s[p:q]
	return q
}

func (d *decoder) escString(p int) (string, int) {
	s := d.s
	n, q, _, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return "", d.fail(p, `S:<length>:"`)
	}
	q += 2
	if uint64(len(s)-q) < n {
		return "", d.fail(p+2, "a string length the remaining input can hold")
	}
	var b strings.Builder
	b.Grow(int(n))
	for i := uint64(0); i < n; i++ {
		if q >= len(s) {
			return "", d.fail(q, "more escaped-string bytes")
		}
		c := s[q]
		if c == '\\' {
			if q+2 >= len(s) {
				return "", d.fail(q, `\ and two hex digits`)
			}
			h, ok1 := unhex(s[q+1])
			l, ok2 := unhex(s[q+2])
			if !ok1 || !ok2 {
				return "", d.fail(q, `\ and two hex digits`)
			}
			c = h<<4 | l
			q += 2
		}
		b.WriteByte(c)
		q++
	}
	if q >= len(s) || s[q] != '"' {
		return "", d.fail(q, `'"' after escaped string`)
	}
	if q+1 >= len(s) || s[q+1] != ';' {
		return "", d.fail(q+1, `';' after string`)
	}
	return b.String(), q + 2
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// enumNameOK reports whether name is "Class:Case" with a class name PHP
// could look up (one leading '\' allowed) and a case name that is an
// identifier: PHP refuses anything else whatever classes exist.
func enumNameOK(name string) bool {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return false
	}
	class, cs := name[:i], name[i+1:]
	if len(class) > 0 && class[0] == '\\' {
		class = class[1:]
	}
	if !phpClassNameOK(class) || cs == "" || cs[0] >= '0' && cs[0] <= '9' {
		return false
	}
	for j := 0; j < len(cs); j++ {
		c := cs[j]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80) {
			return false
		}
	}
	return true
}

// enum decodes E:<len>:"<Class>:<Case>";.
func (d *decoder) enum(p int, v *Value) int {
	s := d.s
	n, q, canon, ok := parseUIV(s, p+2)
	if !ok || q+1 >= len(s) || s[q] != ':' || s[q+1] != '"' {
		return d.fail(p, `E:<length>:"`)
	}
	start := q + 2
	if uint64(len(s)-start) < n || n == 0 {
		return d.fail(p+2, "an enum name length the remaining input can hold")
	}
	end := start + int(n)
	if end >= len(s) || s[end] != '"' {
		return d.fail(end, `'"' after enum name`)
	}
	if end+1 >= len(s) || s[end+1] != ';' {
		return d.fail(end+1, `';' after enum`)
	}
	name := s[start:end]
	if !enumNameOK(name) {
		return d.fail(start, `an enum name "Class:Case"`)
	}
	d.mark(v)
	v.Kind, v.Str = KindEnum, name
	if !canon {
		v.Raw = s[p : end+2]
	}
	return end + 2
}
