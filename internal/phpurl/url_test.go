package phpurl

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
)

// urlCorpus is hand-picked save_path entries: the forms phpredis documents
// and the corners of php_url_parse_ex.
var urlCorpus = []string{
	"tcp://127.0.0.1:6379?weight=2&prefix=a:", "127.0.0.1:6379", "localhost", "localhost:6379?database=2",
	"file:///var/run/r.sock?prefix=x", "file:/run/r.sock", "tls://h:1", "tcp://h", "tcp://[::1]:6379", "h:99999",
	"tcp://h:0", "tcp://:6379", "tcp://u:p@h:1/x?y#z", "tcp://h:12ab", "/run/redis.sock", "redis://h:6379",
	"tcp://h:6379?a=b#frag", "h:6379/", ":6379", "//h:1", "//h", "a:", "a:b", "1.2.3.4:", "h:123456", "tcp://h:65536",
	"tcp://h:-1", "tcp://[::1]", "tcp://@h:1", "tcp://u@h", "x:/y", "x://", "x:///", "file:///c:/x", "tcp://h?", "tcp://h#",
	"tcp://h:6379?weight=0", "tcp://h\x01:1", "?a=1", "#x", "h:6379?q", "tcp:h:1",
}

// TestParseURLMatchesPHP: parseURL gives what PHP's parse_url gives (the
// same php_url_parse_ex2), on the corpus and on 3,000 random strings of
// URL characters.
func TestParseURLMatchesPHP(t *testing.T) {
	php := `<?php
$in = json_decode(stream_get_contents(STDIN));
$out = [];
foreach ($in as $s) { $out[] = parse_url($s); }
echo json_encode($out);`
	inputs := append([]string{}, urlCorpus...)
	r := rand.New(rand.NewPCG(1, 2))
	const alpha = "tcp:/?#@[]16.hx=&:::/"
	for range 3000 {
		b := make([]byte, 1+r.IntN(16))
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		inputs = append(inputs, string(b))
	}
	in, _ := json.Marshal(inputs)
	out, err := phptest.Input(t, php, in, nil)
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	var want []json.RawMessage
	if err := json.Unmarshal(out, &want); err != nil || len(want) != len(inputs) {
		t.Fatalf("php printed %.200s: %v", out, err)
	}
	bad := 0
	for i, s := range inputs {
		got := urlJSON(s)
		if !jsonEqual(got, want[i]) {
			bad++
			if bad <= 10 {
				t.Errorf("Parse(%q) = %s, PHP %s", s, got, want[i])
			}
		}
	}
	if bad > 10 {
		t.Errorf("%d of %d inputs differ", bad, len(inputs))
	}
}

// urlJSON is parseURL's result in parse_url's JSON shape.
func urlJSON(s string) []byte {
	u, ok := Parse(s)
	if !ok {
		return []byte("false")
	}
	m := map[string]any{}
	put := func(k string, v *string) {
		if v != nil {
			m[k] = *v
		}
	}
	put("scheme", u.Scheme)
	put("host", u.Host)
	if u.HasPort {
		m["port"] = u.Port
	}
	put("user", u.User)
	put("pass", u.Pass)
	put("path", u.Path)
	put("query", u.Query)
	put("fragment", u.Fragment)
	b, _ := json.Marshal(m)
	return b
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	if m, ok := y.([]any); ok && len(m) == 0 {
		y = map[string]any{} // PHP encodes an empty array as []
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

// TestParseQueryMatchesPHP: the query values phpredis reads are those of
// PHP's parse_str.
func TestParseQueryMatchesPHP(t *testing.T) {
	queries := []string{
		"weight=2&prefix=a:", "prefix=a%3Ab+c&auth=p%40ss", "auth[]=user&auth[]=pw", "weight=1&weight=3", "prefix=",
		"seed[]=127.0.0.1:7000&seed[]=127.0.0.1:7001&timeout=2.5&failover=error", "a&b=", "%zz=1&x=%2", " weight=4",
		"auth=x&auth[]=y", "auth[]=y&auth=x",
	}
	php := `<?php
$in = json_decode(stream_get_contents(STDIN));
$out = [];
foreach ($in as $s) { parse_str($s, $r); $out[] = $r; }
echo json_encode($out);`
	in, _ := json.Marshal(queries)
	out, err := phptest.Input(t, php, in, nil)
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	var want []map[string]any
	if err := json.Unmarshal(out, &want); err != nil {
		// PHP prints [] for an empty result; none of these is empty.
		t.Fatalf("php printed %s: %v", out, err)
	}
	for i, s := range queries {
		q := ParseQuery(s)
		for k, v := range want[i] {
			switch v := v.(type) {
			case string:
				if got, ok := q.Get(k); !ok || got != v {
					t.Errorf("%q: %s = %q, PHP %q", s, k, got, v)
				}
			case []any:
				got, isArray := q.List(k)
				if !isArray || fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("%q: %s[] = %q, PHP %v", s, k, got, v)
				}
			}
		}
	}
}

func TestLongDouble(t *testing.T) {
	for s, want := range map[string]int64{"2": 2, " 2abc": 2, "abc": 0, "2.9": 2, "1e3": 1000, "-7": -7} {
		if got := Long(s); got != want {
			t.Errorf("Long(%q) = %d, want %d", s, got, want)
		}
	}
	if d := Double("2.5s"); d != 2.5 {
		t.Errorf("Double = %v", d)
	}
}
