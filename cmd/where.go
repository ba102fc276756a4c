package cmd

import (
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
	if v, err := phpser.ParseJSON([]byte(raw)); err == nil {
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

// ParseWheres parses every --where selector of a command (all must match).
func ParseWheres(sels []string) ([]*Where, error) {
	var ws []*Where
	for _, sel := range sels {
		w, err := ParseWhere(sel)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}
