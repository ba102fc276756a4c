package phpurl

import (
	"strconv"
	"strings"
)

// Var is one variable of a query string as PHP's parse_str registers
// it: its name without brackets, and whether it was an array element
// ("seed[]=...").
type Var struct {
	Name  string
	Array bool
	Value string
}

// Query is a parsed query string, in order.
type Query []Var

// ParseQuery reads s as PHP's treat_data(PARSE_STRING) does for phpredis:
// variables split at '&', name and value URL-decoded ('+' is a blank),
// a variable without '=' has the empty value, "name[...]" is an array
// element, leading blanks of a name are dropped and an empty name is
// skipped.
func ParseQuery(s string) Query {
	var q Query
	for _, part := range strings.Split(s, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		name = strings.TrimLeft(Decode(name), " ")
		value = Decode(value)
		array := false
		if i := strings.IndexByte(name, '['); i > 0 && strings.Contains(name[i:], "]") {
			name, array = name[:i], true
		}
		if name == "" {
			continue
		}
		q = append(q, Var{Name: name, Array: array, Value: value})
	}
	return q
}

// Get returns the last value given to name as PHP's array holds it: a
// scalar, or "Array" when the last assignment made it an array (as
// zval_get_string says).
func (q Query) Get(name string) (string, bool) {
	for i := len(q) - 1; i >= 0; i-- {
		if q[i].Name == name {
			if q[i].Array {
				return "Array", true
			}
			return q[i].Value, true
		}
	}
	return "", false
}

// List returns name's array elements, in order, after its last scalar
// assignment (which replaces the array).
func (q Query) List(name string) (vals []string, isArray bool) {
	for _, v := range q {
		if v.Name != name {
			continue
		}
		if !v.Array {
			vals, isArray = nil, false
			continue
		}
		vals, isArray = append(vals, v.Value), true
	}
	return vals, isArray
}

// Decode is php_url_decode: '+' is a blank, %XX a byte, a '%' not
// followed by two hex digits stays.
func Decode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(n))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Long is zval_get_long of a string: its leading number (blanks, a
// sign, digits, a fraction or exponent truncated), else 0.
func Long(s string) int64 {
	f, isFloat := leadingNumber(s)
	if isFloat {
		if f >= 9.2e18 || f <= -9.2e18 {
			return 0
		}
		return int64(f)
	}
	n, _ := strtol(s)
	return n
}

// Double is zval_get_double of a string: its leading number, else 0.
func Double(s string) float64 {
	f, _ := leadingNumber(s)
	return f
}

// leadingNumber reads the longest number at the start of s (after blanks)
// as strtod would; isFloat says it had a fraction or an exponent.
func leadingNumber(s string) (float64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	isFloat := false
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j, digits = j+1, digits+1
		}
		if digits > 0 {
			i, isFloat = j, true
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && '0' <= s[k] && s[k] <= '9' {
			k++
		}
		if k > j {
			i, isFloat = k, true
		}
	}
	f, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil {
		return 0, false
	}
	return f, isFloat
}

// Entry is one entry of a save_path list, with its byte offset.
type Entry struct {
	Offset int
	Text   string
}

// Entries splits a save_path list as phpredis and pecl memcache do: entries
// separated by commas and/or blanks (C's isspace), empty ones skipped.
func Entries(v string) []Entry {
	isSep := func(c byte) bool { return c == ',' || c == ' ' || c >= '\t' && c <= '\r' }
	var out []Entry
	for i := 0; i < len(v); {
		for i < len(v) && isSep(v[i]) {
			i++
		}
		j := i
		for j < len(v) && !isSep(v[j]) {
			j++
		}
		if i < j {
			out = append(out, Entry{i, v[i:j]})
		}
		i = j + 1
	}
	return out
}
