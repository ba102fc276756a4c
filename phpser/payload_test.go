package phpser_test

// Serializable (C:) payloads whose values take reference slots
// (PHP-FACTS 4.7), checked against real PHP with the classes loaded.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/phpser"
)

// cPayload builds C:<len>:"class":<n>:{payload}.
func cPayload(class, payload string) string {
	return fmt.Sprintf("C:%d:%q:%d:{%s}", len(class), class, len(payload), payload)
}

// The issue's example, without PHP: e = &b after a payload of two values.
func TestPayloadSlotsIssueExample(t *testing.T) {
	data := []byte(`foo|C:3:"Foo":18:{a:1:{i:0;s:1:"a";}}b|s:1:"B";c|s:1:"C";d|s:1:"D";e|R:4;`)
	s, err := phpser.DecodeSession(data, phpser.HandlerPHP)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Lookup("e"); !ok || v.Kind != phpser.KindString || v.Str != "B" {
		t.Fatalf("e = %+v, want \"B\"", v)
	}
	j, _ := s.MarshalJSON()
	if !bytes.Contains(j, []byte(`"e":"B"`)) {
		t.Errorf("JSON %s: e is not \"B\"", j)
	}
	enc, err := phpser.EncodeSession(s)
	if err != nil || !bytes.Equal(enc, data) {
		t.Fatalf("re-encoded %q, %v", enc, err)
	}
	// A reference into the payload, and r: after it, which a one-slot
	// count would call corrupt.
	data = []byte(`o|O:8:"stdClass":0:{}foo|C:3:"Foo":14:{a:1:{i:0;r:1;}}b|r:4;x|R:3;`)
	if s, err = phpser.DecodeSession(data, phpser.HandlerPHP); err != nil {
		t.Fatalf("r: after a payload: %v", err)
	}
	if v, ok := s.Lookup("b"); !ok || v.Kind != phpser.KindObject || v.Str != "stdClass" {
		t.Errorf("b = %+v, want the stdClass", v)
	}
	// Growing a value before the payload moves the slots inside and after.
	data = []byte(`foo|C:3:"Foo":18:{a:1:{i:0;s:1:"a";}}b|s:1:"B";c|s:1:"C";d|s:1:"D";e|R:4;`)
	s, _ = phpser.DecodeSession(data, phpser.HandlerPHP)
	s2 := []byte(`z|a:2:{i:0;i:1;i:1;i:2;}`)
	pre, _ := phpser.DecodeSession(append(s2, data...), phpser.HandlerPHP)
	enc, err = phpser.EncodeSession(pre)
	if err != nil || !bytes.Equal(enc, append(s2, []byte(`foo|C:3:"Foo":18:{a:1:{i:0;s:1:"a";}}b|s:1:"B";c|s:1:"C";d|s:1:"D";e|R:4;`)...)) {
		t.Fatalf("%q, %v", enc, err)
	}
	if err := s.Set("c", phpser.Array(phpser.Entry{Key: phpser.IntKey(0), Val: phpser.Int(1)}, phpser.Entry{Key: phpser.IntKey(1), Val: phpser.Int(2)})); err != nil {
		t.Fatal(err)
	}
	enc, _ = phpser.EncodeSession(s)
	if want := `foo|C:3:"Foo":18:{a:1:{i:0;s:1:"a";}}b|s:1:"B";c|a:2:{i:0;i:1;i:1;i:2;}d|s:1:"D";e|R:4;`; string(enc) != want {
		t.Errorf("after set c: %q, want %q", enc, want)
	}
}

// An opaque payload (a class with a format of its own) takes no slots; a
// payload that is serialize() output with bytes after it is opaque too.
func TestPayloadOpaque(t *testing.T) {
	for _, c := range []struct{ data, key, want string }{
		{`t|` + cPayload("Tok", `id=5;name=x`) + `b|s:1:"B";x|R:2;`, "x", "B"},
		{`t|` + cPayload("Tok", `a:1:{i:0;s:1:"a";}xyz`) + `b|s:1:"B";x|R:2;`, "x", "B"},
		{`t|` + cPayload("Tok", ``) + `b|s:1:"B";x|R:2;`, "x", "B"},
		{`t|` + cPayload("Tok", `a:1:{i:0;R:9;}`) + `b|s:1:"B";x|R:2;`, "x", "B"}, // a dangling R: inside: not one value PHP reads
	} {
		s, err := phpser.DecodeSession([]byte(c.data), phpser.HandlerPHP)
		if err != nil {
			t.Errorf("%s: %v", c.data, err)
			continue
		}
		if v, ok := s.Lookup(c.key); !ok || v.Str != c.want {
			t.Errorf("%s: %s = %+v, want %q", c.data, c.key, v, c.want)
		}
		if enc, err := phpser.EncodeSession(s); err != nil || string(enc) != c.data {
			t.Errorf("%s: re-encoded %q, %v", c.data, enc, err)
		}
	}
}

// payloadReq asks the worker to decode a session with the classes loaded,
// apply ops, and answer the JSON mapping and session_encode().
type payloadReq struct {
	M   string         `json:"m"`
	H   phpser.Handler `json:"h"`
	X   string         `json:"x"`
	Ops []payloadOp    `json:"ops,omitempty"`
}

type payloadOp struct {
	Op string `json:"op"`
	K  string `json:"k"`
	J  string `json:"j,omitempty"`
}

type payloadResp struct {
	OK  bool     `json:"ok"`
	J   string   `json:"j"`
	E   *string  `json:"e"`
	Msg []string `json:"msg"`
	Exc string   `json:"exc"`
}

func payloadAsk(t *testing.T, reqs []payloadReq) []payloadResp {
	t.Helper()
	return phptest.AskWorker[payloadReq, payloadResp](t, filepath.Join(tdDir, "php", "decode_worker.php"), reqs)
}

// mappingOf parses a JSON mapping, with every "__serialized" member's
// value blanked (PHP writes a payload again only by calling serialize())
// and class names lower-cased (PHP reports the declared spelling).
func mappingOf(t *testing.T, j []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("JSON %s: %v", j, err)
	}
	var blank func(any)
	blank = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if _, ok := x["__serialized"]; ok {
				x["__serialized"] = nil
			}
			if c, ok := x["__class"].(string); ok {
				// PHP reports a class by its declared name.
				x["__class"] = strings.ToLower(c)
			}
			for _, e := range x {
				blank(e)
			}
		case []any:
			for _, e := range x {
				blank(e)
			}
		}
	}
	blank(v)
	return v
}

// splPayloadCases are the C: forms of the SPL classes (which PHP 8.2
// itself writes as O:), and hand-made payloads around them, each followed
// by references that land inside or after the payload.
func splPayloadCases() []string {
	ao := `x:i:0;a:1:{s:1:"k";s:1:"v";};m:a:0:{}`
	return []string{
		`ao|` + cPayload("ArrayObject", ao) + `b|s:1:"B";x|R:4;y|R:6;`,
		`ao|` + cPayload("arrayobject", ao) + `b|s:1:"B";x|R:6;`,
		`ao|` + cPayload("ArrayIterator", ao) + `b|s:1:"B";x|R:4;`,
		`ao|` + cPayload("RecursiveArrayIterator", ao) + `b|s:1:"B";x|R:4;`,
		`ao|` + cPayload("ArrayObject", ao+`Z`) + `b|s:1:"B";x|R:4;y|R:6;`,
		`ao|` + cPayload("ArrayObject", `x:i:0;O:8:"stdClass":1:{s:1:"p";i:1;};m:a:0:{}`) + `b|r:3;`,
		`ao|` + cPayload("ArrayObject", `x:i:0;a:0:{};m:a:1:{s:1:"p";i:5;}`) + `b|R:5;`,
		`ao|` + cPayload("ArrayObject", `x:i:0;r:1;;m:a:0:{}`) + `b|i:1;`,
		`ao|` + cPayload("ArrayObject", `x:i:16777216;;m:a:0:{}`) + `b|i:1;`,
		`ao|` + cPayload("ArrayObject", `x:s:1:"a";a:0:{};m:a:0:{}`) + `b|i:1;`,
		`ao|` + cPayload("ArrayObject", `x:i:0;s:1:"a";;m:a:0:{}`) + `b|i:1;`,
		`ao|` + cPayload("ArrayObject", `x:i:0;a:0:{};m:i:0;`) + `b|i:1;`,
		`ao|` + cPayload("ArrayObject", `x:i:0;a:0:{}`) + `b|i:1;`,
		`ao|` + cPayload("ArrayObject", `garbage`) + `b|i:1;`,
		`ao|` + cPayload("ArrayObject", ``) + `b|s:1:"B";x|R:2;`,
		`l|` + cPayload("SplDoublyLinkedList", `i:0;:s:1:"a";:s:1:"b";`) + `b|s:1:"B";y|R:5;z|R:3;`,
		`l|` + cPayload("SplQueue", `i:4;:s:1:"a";:a:1:{i:0;s:1:"c";}`) + `b|s:1:"B";y|R:6;z|R:5;`,
		`l|` + cPayload("SplStack", `i:6;`) + `b|s:1:"B";y|R:3;`,
		`l|` + cPayload("SplDoublyLinkedList", `i:0;:s:1:"a";:s:1:"b";x`) + `b|s:1:"B";`,
		`l|` + cPayload("SplDoublyLinkedList", `s:1:"a";`) + `b|s:1:"B";`,
		`st|` + cPayload("SplObjectStorage", `x:i:1;O:8:"stdClass":0:{},s:1:"i";;m:a:0:{}`) + `b|s:1:"B";y|R:6;z|R:4;`,
		`st|` + cPayload("SplObjectStorage", `x:i:1;O:8:"stdClass":0:{};m:a:0:{}`) + `b|s:1:"B";y|R:5;`,
		`st|` + cPayload("SplObjectStorage", `x:i:2;O:8:"stdClass":0:{},i:1;;r:3;,i:2;;m:a:0:{}`) + `b|s:1:"B";y|R:5;`,
		`st|` + cPayload("SplObjectStorage", `x:i:1;s:1:"a";;m:a:0:{}`) + `b|s:1:"B";`,
		`st|` + cPayload("SplObjectStorage", `x:i:-1;;m:a:0:{}`) + `b|s:1:"B";`,
		`st|` + cPayload("SplObjectStorage", `x:i:0;;m:a:0:{}X`) + `b|s:1:"B";y|R:5;`,
		`st|` + cPayload("SplObjectStorage", `x:i:0;m:a:0:{}`) + `b|s:1:"B";y|R:4;`,
		`st|` + cPayload("SplObjectStorage", `x:i:0;m:a:0:{}X`) + `b|s:1:"B";y|R:4;`,
		`st|` + cPayload("SplObjectStorage", `x:i:2;O:8:"stdClass":0:{},i:1;;O:8:"stdClass":0:{};m:a:0:{}`) + `b|s:1:"B";y|R:6;`,
		`ao|` + cPayload("ArrayObject", `x:i:0;a:1:{s:1:"k";s:1:"v";};m:a:1:{s:1:"p";i:1;}`) + `x|R:2;`,
		`o|O:8:"stdClass":0:{}c|` + cPayload("LegacyCart", `a:1:{i:0;r:1;}`) + `b|r:4;`,
		`q|i:1;c|` + cPayload("LegacyCart", `a:1:{i:0;R:1;}`) + `b|s:1:"B";x|R:4;`,
		// "~": an R: to the value the reader got from the payload, which
		// PHP holds as a copy and writes out in full; phpser keeps the R:
		// (decode then encode stays byte-exact): compared by read-back.
		`~c|` + cPayload("LegacyCart", `a:1:{i:0;s:1:"a";}`) + `b|s:1:"B";x|R:2;`,
		`~ao|` + cPayload("ArrayObject", `x:i:0;a:0:{};m:a:1:{s:1:"p";i:5;}`) + `b|R:4;`,
		`c|` + cPayload("LegacyCart", `a:1:{i:0;s:1:"a";}`) + `b|s:1:"B";x|R:3;`,
		`c|` + cPayload("LegacyCart", `a:2:{i:0;`+cPayload("LegacyCart", `a:1:{i:0;s:1:"z";}`)+`i:1;R:5;}`) + `b|R:5;y|R:7;`,
		`c|` + cPayload("LegacyCart", `i:5;`) + `b|s:1:"B";x|R:3;`,
		`c|` + cPayload("LegacyCart", `a:1:{i:0;s:1:"a";}`) + `b|s:1:"B";x|R:4;`,
	}
}

// payloadOps are the changes applied to every case: none, a new key at
// the end, a value before the payload grown (slots move), removals.
func payloadOps(s *phpser.Session) [][]payloadOp {
	ops := [][]payloadOp{nil, {{Op: "set", K: "zz_new", J: `[1,"two",{"k":3}]`}}}
	if len(s.Root.Elems) > 0 {
		first := s.Root.Elems[0].Key.Str
		last := s.Root.Elems[len(s.Root.Elems)-1].Key.Str
		ops = append(ops,
			[]payloadOp{{Op: "set", K: first, J: `[1,2,3]`}},
			[]payloadOp{{Op: "unset", K: first}},
			[]payloadOp{{Op: "set", K: last, J: `"changed"`}},
			[]payloadOp{{Op: "unset", K: last}},
		)
		if len(s.Root.Elems) > 2 {
			mid := s.Root.Elems[len(s.Root.Elems)/2].Key.Str
			ops = append(ops, []payloadOp{{Op: "set", K: mid, J: `{"a":[true,null]}`}}, []payloadOp{{Op: "unset", K: mid}})
		}
	}
	return ops
}

// applyOps applies the worker's changes to s with Set and Unset.
func applyOps(t *testing.T, label string, s *phpser.Session, ops []payloadOp) {
	t.Helper()
	for _, op := range ops {
		var err error
		if op.Op == "set" {
			var v phpser.Value
			if v, err = phpser.ParseJSON([]byte(op.J)); err == nil {
				err = s.Set(op.K, v)
			}
		} else {
			_, err = s.Unset(op.K)
		}
		if err != nil {
			t.Fatalf("%s: %s %s: %v", label, op.Op, op.K, err)
		}
	}
}

// splClass reports whether data holds an SPL class in C: form, which PHP 8.2
// writes back as O: (sesstool keeps the C: bytes; both read the same).
func splClass(data []byte) bool {
	l := strings.ToLower(string(data))
	return strings.Contains(l, `"arrayobject"`) || strings.Contains(l, `"arrayiterator"`) || strings.Contains(l, `"recursivearrayiterator"`) || strings.Contains(l, `"spl`)
}

// TestPayloadsAgainstPHP: PHP with the classes loaded decodes each case,
// applies each change and re-encodes; phpser must give the same verdict,
// the same JSON mapping (references into and out of payloads resolved),
// and after each change exactly PHP's session_encode() bytes (for the SPL
// C: forms, which PHP rewrites as O:, bytes that PHP reads back to the same
// values).
func TestPayloadsAgainstPHP(t *testing.T) {
	phptest.Extensions(t, "igbinary", "msgpack")
	type tcase struct {
		label string
		h     phpser.Handler
		data  []byte
	}
	var cases []tcase
	for _, f := range tdSessions(t) {
		// msgpack-php 2.2 hands Serializable::unserialize() the payload
		// with a NUL byte appended, so these classes read other values
		// under msgpack (ext_test.go covers msgpack).
		if strings.Contains(f.name, "serializable") && f.handler != phpser.HandlerMsgpack {
			cases = append(cases, tcase{"sessions/" + f.name, f.handler, f.data})
		}
	}
	if len(cases) < 6 {
		t.Fatalf("only %d serializable sessions in testdata", len(cases))
	}
	readBackOnly := map[string]bool{}
	for i, c := range splPayloadCases() {
		label := fmt.Sprintf("spl-%d", i)
		if rest, ok := strings.CutPrefix(c, "~"); ok {
			c, readBackOnly[label] = rest, true
		}
		cases = append(cases, tcase{label, phpser.HandlerPHP, []byte(c)})
	}
	// The first pass: PHP's verdicts, mappings and encodings after each change.
	type job struct {
		c   tcase
		s   *phpser.Session
		err error
		ops []payloadOp
	}
	var jobs []job
	var reqs []payloadReq
	for _, c := range cases {
		s, err := phpser.DecodeSession(c.data, c.h)
		opsList := [][]payloadOp{nil}
		if err == nil {
			opsList = payloadOps(s)
			if c.h == phpser.HandlerIgbinary {
				// Unchanged, an igbinary session keeps its bytes even where
				// PHP's re-encoding differs (a reference whose other half
				// was inside a payload): only changes are compared.
				opsList = opsList[1:]
			}
		}
		for _, ops := range opsList {
			jobs = append(jobs, job{c, s, err, ops})
			reqs = append(reqs, payloadReq{M: "c", H: c.h, X: hex.EncodeToString(c.data), Ops: ops})
		}
	}
	resps := payloadAsk(t, reqs)
	var back []payloadReq
	var backOf []int
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 20 {
			t.Errorf(format, args...)
		}
	}
	for i, j := range jobs {
		r := resps[i]
		if r.OK != (j.err == nil) {
			report("%s: PHP ok=%v (%s %v), phpser err=%v\n%q", j.c.label, r.OK, r.Exc, r.Msg, j.err, j.c.data)
			continue
		}
		if !r.OK {
			continue
		}
		s, _ := phpser.DecodeSession(j.c.data, j.c.h) // a fresh copy per change
		applyOps(t, j.c.label, s, j.ops)
		got, _ := s.MarshalJSON()
		if g, w := mappingOf(t, got), mappingOf(t, []byte(r.J)); !reflect.DeepEqual(g, w) {
			report("%s %v: JSON mapping differs\nphpser %s\nPHP    %s", j.c.label, j.ops, got, r.J)
			continue
		}
		enc, err := phpser.EncodeSession(s)
		if err != nil {
			report("%s %v: encode: %v", j.c.label, j.ops, err)
			continue
		}
		phpEnc := []byte{}
		if r.E != nil {
			phpEnc, _ = hex.DecodeString(*r.E)
		}
		if !splClass(j.c.data) && !readBackOnly[j.c.label] && !bytes.Equal(enc, phpEnc) {
			report("%s %v: phpser writes\n%q\nPHP writes\n%q", j.c.label, j.ops, enc, phpEnc)
			continue
		}
		back = append(back, payloadReq{M: "c", H: j.c.h, X: hex.EncodeToString(enc)})
		backOf = append(backOf, i)
	}
	// The second pass: PHP reads what phpser wrote to the values it had.
	for k, r := range payloadAsk(t, back) {
		i := backOf[k]
		if !r.OK {
			report("%s %v: PHP cannot read what phpser wrote (%s %v)", jobs[i].c.label, jobs[i].ops, r.Exc, r.Msg)
			continue
		}
		if g, w := mappingOf(t, []byte(r.J)), mappingOf(t, []byte(resps[i].J)); !reflect.DeepEqual(g, w) {
			report("%s %v: PHP reads phpser's bytes as\n%s\nnot\n%s", jobs[i].c.label, jobs[i].ops, r.J, resps[i].J)
		}
	}
	t.Logf("%d cases, %d decode+change requests, %d read back", len(cases), len(jobs), len(back))
	if bad > 20 {
		t.Errorf("... %d disagreements in all", bad)
	}
}
