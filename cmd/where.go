package cmd

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/sesstool/sesstool/phpser"
)

// whereOp is the test a --where selector makes (CLI.md "Selecting by
// content").
type whereOp uint8

const (
	opEq        whereOp = iota // KEY=VALUE
	opNe                       // KEY!=VALUE
	opLt                       // KEY<N
	opLe                       // KEY<=N
	opGt                       // KEY>N
	opGe                       // KEY>=N
	opMatch                    // KEY~RE
	opExists                   // KEY
	opNotExists                // !KEY
	opHas                      // KEY@VALUE
	opGrep                     // --grep RE: any string or key anywhere
)

var opText = map[whereOp]string{opEq: "=", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=", opMatch: "~", opHas: "@"}

// Where is one parsed selector: a --where KEY OP VALUE, a bare KEY or
// !KEY test, or a --grep RE.
type Where struct {
	Key   string       // KEY as given (a top-level key or a JSON Pointer)
	Op    whereOp      // the test
	Value phpser.Value // VALUE: the JSON literal, else the plain string
	Raw   string       // VALUE as given
	num   float64      // N of <, <=, >, >=
	isInt bool         // N is an integer (compared exactly with ints)
	re    *regexp.Regexp
	sel   string // the selector as given
}

// ParseWhere parses one --where selector: KEY=VALUE, KEY!=VALUE, KEY<N,
// KEY<=N, KEY>N, KEY>=N, KEY~RE, KEY@VALUE, KEY or !KEY. VALUE is a JSON
// literal when it parses as one (42 is an int, 4.2 and 42.0 floats, "42" a
// string, true, null, [..], {..}), else a plain string; N is a JSON number;
// RE is Go RE2 syntax. In a JSON Pointer KEY, ~0 and ~1 are its escapes;
// any other ~ starts ~RE. A KEY that ends in one of ! < > ~ @ is refused,
// so that a typo never reads as a key name. Errors are usage errors naming
// the selector.
func ParseWhere(sel string) (*Where, error) {
	w := &Where{sel: sel}
	key, raw, found := "", "", false
	pointer := strings.HasPrefix(sel, "/")
	for i := 0; i < len(sel); i++ {
		c := sel[i]
		if pointer && c == '~' && i+1 < len(sel) && (sel[i+1] == '0' || sel[i+1] == '1') {
			i++ // a JSON Pointer escape (~0 is "~", ~1 is "/"), not ~RE
			continue
		}
		two := i+1 < len(sel) && sel[i+1] == '='
		switch {
		case c == '!' && two && i > 0:
			w.Op, key, raw, found = opNe, sel[:i], sel[i+2:], true
		case c == '<' && two:
			w.Op, key, raw, found = opLe, sel[:i], sel[i+2:], true
		case c == '>' && two:
			w.Op, key, raw, found = opGe, sel[:i], sel[i+2:], true
		case c == '=':
			w.Op, key, raw, found = opEq, sel[:i], sel[i+1:], true
		case c == '<':
			w.Op, key, raw, found = opLt, sel[:i], sel[i+1:], true
		case c == '>':
			w.Op, key, raw, found = opGt, sel[:i], sel[i+1:], true
		case c == '~':
			w.Op, key, raw, found = opMatch, sel[:i], sel[i+1:], true
		case c == '@':
			w.Op, key, raw, found = opHas, sel[:i], sel[i+1:], true
		}
		if found {
			break
		}
	}
	if !found {
		key, w.Op = sel, opExists
		if rest, ok := strings.CutPrefix(sel, "!"); ok {
			key, w.Op = rest, opNotExists
		}
	}
	if key == "" {
		return nil, UsageErrorf("invalid --where %q: empty KEY (want KEY=VALUE, KEY!=VALUE, KEY<N, KEY~RE, KEY@VALUE, KEY or !KEY)", sel)
	}
	if strings.ContainsAny(key[len(key)-1:], "!<>~@") {
		return nil, UsageErrorf("invalid --where %q: KEY %q ends in %q, an operator character (a typo?)", sel, key, key[len(key)-1:])
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	w.Key, w.Raw = key, raw
	switch w.Op {
	case opLt, opLe, opGt, opGe:
		v, err := phpser.ParseJSON([]byte(raw))
		if err != nil || (v.Kind != phpser.KindInt && v.Kind != phpser.KindFloat) {
			return nil, UsageErrorf("invalid --where %q: %q after %s is not a number", sel, raw, opText[w.Op])
		}
		w.Value = v
		if v.Kind == phpser.KindInt {
			w.num, w.isInt = float64(v.Int), true
		} else {
			w.num = v.Float
		}
	case opMatch:
		re, err := regexp.Compile(raw)
		if err != nil {
			return nil, UsageErrorf("invalid --where %q: %v", sel, err)
		}
		w.re = re
	case opEq, opNe, opHas:
		if v, err := phpser.ParseJSON([]byte(raw)); err == nil {
			w.Value = v
		} else {
			w.Value = phpser.String(raw)
		}
	}
	return w, nil
}

// ParseGrep parses a --grep RE (Go RE2 syntax).
func ParseGrep(expr string) (*Where, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, UsageErrorf("invalid --grep %q: %v", expr, err)
	}
	return &Where{Op: opGrep, re: re, Raw: expr, sel: expr}, nil
}

// Match reports whether the session passes the test (CLI.md "Selecting by
// content"): = by type and value (phpser.Equal), except that an int VALUE
// also matches a string holding its canonical decimal form ("42" for 42;
// not "042", "42 " or "+42"); != when KEY exists and does not hold VALUE;
// <, <=, >, >= on an int, float or numeric string; ~ on a string; KEY and
// !KEY on existence (null counts); @ when KEY holds an array one of whose
// elements holds VALUE; --grep on any string value or key anywhere,
// Serializable payloads included.
func (w *Where) Match(s *phpser.Session) bool {
	if w.Op == opGrep {
		return grepSession(s, w.re)
	}
	v, ok := s.Lookup(w.Key)
	switch w.Op {
	case opExists:
		return ok
	case opNotExists:
		return !ok
	}
	if !ok {
		return false
	}
	switch w.Op {
	case opEq:
		return holds(v, w.Value)
	case opNe:
		return !holds(v, w.Value)
	case opMatch:
		return v.Kind == phpser.KindString && w.re.MatchString(v.Str)
	case opHas:
		if v.Kind != phpser.KindArray {
			return false
		}
		for _, e := range v.Elems {
			ev, ok := s.Deref(e.Val)
			if ok && holds(ev, w.Value) {
				return true
			}
		}
		return false
	case opLt, opLe, opGt, opGe:
		c, ok := w.compare(v)
		if !ok {
			return false
		}
		switch w.Op {
		case opLt:
			return c < 0
		case opLe:
			return c <= 0
		case opGt:
			return c > 0
		}
		return c >= 0
	}
	return false
}

// holds is the = test: same type and value, or an int VALUE and a string
// holding its canonical decimal form.
func holds(v, want phpser.Value) bool {
	if phpser.Equal(v, want) {
		return true
	}
	return want.Kind == phpser.KindInt && v.Kind == phpser.KindString && v.Str == strconv.FormatInt(want.Int, 10)
}

// compare compares v with N: -1, 0 or 1, and ok false when v is not a
// number (an int, a float, or a string PHP reads as a number).
func (w *Where) compare(v phpser.Value) (int, bool) {
	switch v.Kind {
	case phpser.KindInt:
		if w.isInt {
			n := w.Value.Int
			switch {
			case v.Int < n:
				return -1, true
			case v.Int > n:
				return 1, true
			}
			return 0, true
		}
		return cmpFloat(float64(v.Int), w.num)
	case phpser.KindFloat:
		return cmpFloat(v.Float, w.num)
	case phpser.KindString:
		if n, err := strconv.ParseInt(strings.TrimSpace(v.Str), 10, 64); err == nil && w.isInt {
			return w.compare(phpser.Int(n))
		}
		f, ok := numericString(v.Str)
		if !ok {
			return 0, false
		}
		return cmpFloat(f, w.num)
	}
	return 0, false
}

func cmpFloat(a, b float64) (int, bool) {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return 0, false
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

// numericString reads s as PHP 8 reads a numeric string: optional
// whitespace around a decimal integer or float (no hex, INF or NAN).
func numericString(s string) (float64, bool) {
	t := strings.Trim(s, " \t\n\r\v\f")
	if t == "" {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	return f, err == nil
}

// grepSession reports whether re matches a string value or a key anywhere
// in the session: nested arrays, object properties (by their plain names),
// Serializable payloads (their bytes, and the values PHP reads from them).
func grepSession(s *phpser.Session, re *regexp.Regexp) bool {
	return s.Strings(re.MatchString)
}

// String returns the selector as given.
func (w *Where) String() string { return w.sel }

// checkKey refuses a JSON Pointer KEY with a bad "~" escape (RFC 6901: "~"
// must be followed by 0 or 1) as a usage error.
func checkKey(key string) error {
	if !strings.HasPrefix(key, "/") {
		return nil
	}
	for j := 0; j < len(key); j++ {
		if key[j] == '~' && (j+1 >= len(key) || (key[j+1] != '0' && key[j+1] != '1')) {
			return UsageErrorf("invalid JSON Pointer %q: %q must be followed by 0 or 1", key, "~")
		}
	}
	return nil
}

// ParseWheres parses every --where selector and --grep expression of a
// command (all must match).
func ParseWheres(sels []string, greps ...string) ([]*Where, error) {
	var ws []*Where
	for _, sel := range sels {
		w, err := ParseWhere(sel)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	for _, g := range greps {
		w, err := ParseGrep(g)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}
