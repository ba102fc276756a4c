package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sesstool/sesstool/phpser"
)

// Where is a parsed --where KEY=VALUE selector (CLI.md, "Selecting by
// content").
type Where struct {
	Key   string       // KEY as given
	Value phpser.Value // VALUE: the JSON literal, else the plain string
	Raw   string       // VALUE as given
}

// ParseWhere parses KEY=VALUE. VALUE is a JSON literal when it parses as one
// (42 is an int, 4.2 and 42.0 floats, "42" a string, true, null, [..], {..}),
// else a plain string. Errors are usage errors naming the selector.
func ParseWhere(sel string) (*Where, error) {
	i := strings.IndexByte(sel, '=')
	if i < 0 {
		return nil, UsageErrorf("invalid --where %q: want KEY=VALUE", sel)
	}
	key, raw := sel[:i], sel[i+1:]
	if key == "" {
		return nil, UsageErrorf("invalid --where %q: empty KEY", sel)
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	w := &Where{Key: key, Raw: raw}
	if v, ok := jsonLiteral(raw); ok {
		w.Value = v
	} else {
		w.Value = phpser.String(raw)
	}
	return w, nil
}

// Match reports whether the session holds VALUE at KEY, by type and value
// (phpser.Equal), except that an int VALUE also matches a string holding its
// canonical decimal form ("42" for 42; not "042", "42 " or "+42").
func (w *Where) Match(s *phpser.Session) bool {
	v, ok := s.Lookup(w.Key)
	if !ok {
		return false
	}
	if phpser.Equal(v, w.Value) {
		return true
	}
	return w.Value.Kind == phpser.KindInt && v.Kind == phpser.KindString &&
		v.Str == strconv.FormatInt(w.Value.Int, 10)
}

// String returns the selector as given.
func (w *Where) String() string { return w.Key + "=" + w.Raw }

// jsonLiteral converts a complete JSON text to a PHP value: integers that
// fit in 64 bits become ints, other numbers floats, objects arrays with
// string keys (canonical decimal keys become int keys, as PHP arrays do).
func jsonLiteral(s string) (phpser.Value, bool) {
	if !json.Valid([]byte(s)) {
		return phpser.Value{}, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := jsonToValue(dec, 0)
	if err != nil {
		return phpser.Value{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return phpser.Value{}, false
	}
	return v, true
}

func jsonToValue(dec *json.Decoder, depth int) (phpser.Value, error) {
	if depth > phpser.DefaultMaxDepth {
		return phpser.Value{}, fmt.Errorf("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return phpser.Value{}, err
	}
	switch t := tok.(type) {
	case nil:
		return phpser.Null(), nil
	case bool:
		return phpser.Bool(t), nil
	case string:
		return phpser.String(t), nil
	case json.Number:
		return jsonNumber(string(t))
	case json.Delim:
		var elems []phpser.Entry
		switch t {
		case '[':
			for n := int64(0); dec.More(); n++ {
				v, err := jsonToValue(dec, depth+1)
				if err != nil {
					return phpser.Value{}, err
				}
				elems = append(elems, phpser.Entry{Key: phpser.IntKey(n), Val: v})
			}
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return phpser.Value{}, err
				}
				k, _ := kt.(string)
				v, err := jsonToValue(dec, depth+1)
				if err != nil {
					return phpser.Value{}, err
				}
				elems = setEntry(elems, phpser.ArrayKey(k), v)
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return phpser.Value{}, err
		}
		return phpser.Array(elems...), nil
	}
	return phpser.Value{}, fmt.Errorf("unexpected JSON token %v", tok)
}

// jsonNumber maps a JSON number: no fraction or exponent and fits int64 -> int,
// else float (PHP's json_decode does the same).
func jsonNumber(s string) (phpser.Value, error) {
	if !strings.ContainsAny(s, ".eE") {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return phpser.Int(n), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) {
		return phpser.Value{}, err
	}
	return phpser.Float(f), nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// setEntry sets key to v in elems, replacing an existing key in place.
func setEntry(elems []phpser.Entry, k phpser.Key, v phpser.Value) []phpser.Entry {
	for i := range elems {
		if elems[i].Key.IsInt == k.IsInt && elems[i].Key.Int == k.Int && elems[i].Key.Str == k.Str {
			elems[i].Val = v
			return elems
		}
	}
	return append(elems, phpser.Entry{Key: k, Val: v})
}


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
