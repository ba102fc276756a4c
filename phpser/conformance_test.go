package phpser_test

// Conformance: phpser against the files real PHP wrote (testdata/sessions)
// and against PHP's recorded verdicts on bad and lenient input
// (testdata/malformed/verdicts.json). Neither test needs php at run time;
// testdata_test.go checks that the files are still what PHP writes, and
// differential_test.go asks a live PHP.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/phpser"
)

// tdDir is the repository's testdata directory, seen from phpser/.
const tdDir = "../testdata"

var tdHandlers = []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize}

// tdSessionFile is one file of testdata/sessions.
type tdSessionFile struct {
	handler phpser.Handler
	name    string // "php/sess_scalars"
	data    []byte
}

func tdSessions(t testing.TB) []tdSessionFile {
	t.Helper()
	var files []tdSessionFile
	for _, h := range tdHandlers {
		paths, err := filepath.Glob(filepath.Join(tdDir, "sessions", string(h), "sess_*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) < 20 {
			t.Fatalf("only %d files in testdata/sessions/%s: testdata missing?", len(paths), h)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, tdSessionFile{h, string(h) + "/" + filepath.Base(p), b})
		}
	}
	return files
}

// tdVerdict is one record of testdata/malformed/verdicts.json.
type tdVerdict struct {
	File           string          `json:"file"`
	Handler        phpser.Handler  `json:"handler"`
	Verdict        string          `json:"verdict"`
	Value          json.RawMessage `json:"value"`
	ValueOmitted   string          `json:"value_omitted"`
	EncodedHex     string          `json:"encoded_hex"`
	Destroyed      bool            `json:"destroyed"`
	Exception      string          `json:"exception"`
	ClassDependent bool            `json:"class_dependent"`
	Messages       []string        `json:"messages"`
}

func tdVerdicts(t testing.TB) []tdVerdict {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tdDir, "malformed", "verdicts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []tdVerdict
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("verdicts.json: %v", err)
	}
	if len(vs) < 100 {
		t.Fatalf("only %d verdicts", len(vs))
	}
	return vs
}

func TestConformanceSessions(t *testing.T) {
	for _, f := range tdSessions(t) {
		t.Run(f.name, func(t *testing.T) {
			s, err := phpser.DecodeSession(f.data, f.handler)
			if err != nil {
				t.Fatalf("DecodeSession(%s): %v\ninput %q", f.handler, err, tdShort(f.data))
			}
			if s.Handler != f.handler {
				t.Errorf("Session.Handler = %q, want %q", s.Handler, f.handler)
			}
			enc, err := phpser.EncodeSession(s)
			if err != nil {
				t.Fatalf("EncodeSession: %v", err)
			}
			if !bytes.Equal(enc, f.data) {
				t.Errorf("decode+encode not byte-identical:\n got %q\nwant %q", tdShort(enc), tdShort(f.data))
			}

			h, ok := phpser.Detect(f.data)
			switch {
			case len(f.data) == 0:
				// Every handler reads an empty file as an empty session.
			case !ok:
				t.Errorf("Detect: cannot decide, want %s", f.handler)
			case h != f.handler:
				t.Errorf("Detect = %s, want %s", h, f.handler)
			}
			auto, err := phpser.DecodeSession(f.data, phpser.HandlerAuto)
			if err != nil {
				t.Fatalf("DecodeSession(auto): %v", err)
			}
			if len(f.data) > 0 && auto.Handler != f.handler {
				t.Errorf("DecodeSession(auto).Handler = %s, want %s", auto.Handler, f.handler)
			}
			if enc, err := phpser.EncodeSession(auto); err != nil || !bytes.Equal(enc, f.data) {
				t.Errorf("auto: decode+encode = %q, %v; want the input back", tdShort(enc), err)
			}
		})
	}
}

// The same case written by the three handlers holds the same variables
// (minus what a handler cannot store: int keys under php and php_binary,
// keys over 127 bytes under php_binary, everything when a key has '|' under
// php).
func TestConformanceHandlersAgree(t *testing.T) {
	byCase := map[string]map[phpser.Handler][]byte{}
	for _, f := range tdSessions(t) {
		c := strings.TrimPrefix(filepath.Base(f.name), "sess_")
		if byCase[c] == nil {
			byCase[c] = map[phpser.Handler][]byte{}
		}
		byCase[c][f.handler] = f.data
	}
	skip := map[string]bool{"int-keys": true, "pipe-key": true, "session-keys": true}
	for c, files := range byCase {
		if skip[c] {
			continue
		}
		var want []byte
		for _, h := range tdHandlers {
			s, err := phpser.DecodeSession(files[h], h)
			if err != nil {
				t.Errorf("%s/%s: %v", h, c, err)
				continue
			}
			got, err := tdDumpSession(s)
			if err != nil {
				t.Errorf("%s/%s: %v", h, c, err)
				continue
			}
			if want == nil {
				want = got
			} else if !bytes.Equal(got, want) {
				t.Errorf("%s: %s decodes to\n%s\nbut php decodes to\n%s", c, h, tdShort(got), tdShort(want))
			}
		}
	}
}

func TestConformanceMalformed(t *testing.T) {
	for _, v := range tdVerdicts(t) {
		t.Run(v.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(tdDir, "malformed", v.File))
			if err != nil {
				t.Fatal(err)
			}
			s, err := phpser.DecodeSession(data, v.Handler)
			if v.ClassDependent {
				t.Logf("class-dependent: PHP %s (%s %s), phpser err=%v", v.Verdict, v.Exception, strings.Join(v.Messages, "; "), err)
				return
			}
			if v.Verdict == "reject" {
				tdCheckReject(t, data, err)
				return
			}
			if err != nil {
				t.Fatalf("PHP accepts %q, phpser: %v", tdShort(data), err)
			}
			if v.Value != nil {
				got, err := tdDumpSession(s)
				if err != nil {
					t.Fatal(err)
				}
				want, err := tdNormalizePHPDump(v.Value)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("value differs from PHP's for %q\nphpser %s\nPHP    %s", tdShort(data), tdShort(got), tdShort(want))
				}
			}
			enc, err := phpser.EncodeSession(s)
			if err != nil {
				t.Fatalf("EncodeSession: %v", err)
			}
			if !bytes.Equal(enc, data) {
				t.Errorf("decode+encode not byte-identical:\n got %q\nwant %q", tdShort(enc), tdShort(data))
			}
		})
	}
}

// tdCheckReject asserts err is a *SyntaxError with an offset inside the
// input and a one-line message.
func tdCheckReject(t *testing.T, data []byte, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("PHP rejects (destroys) %q, phpser accepts it", tdShort(data))
	}
	var se *phpser.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *SyntaxError", err, err)
	}
	if se.Offset < 0 || se.Offset > len(data) {
		t.Errorf("offset %d outside the %d-byte input: %v", se.Offset, len(data), err)
	}
	if se.Expected == "" || se.Found == "" {
		t.Errorf("error lacks expected/found: %+v", se)
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
		t.Errorf("message spans lines: %q", msg)
	}
}

// Offsets for rejects whose failing place is unambiguous: the error must
// point into the bad token (its start or the offending byte), not
// elsewhere.
func TestConformanceRejectOffsets(t *testing.T) {
	for _, tc := range []struct {
		h        phpser.Handler
		in       string
		min, max int
	}{
		{phpser.HandlerPHP, "a|b:2;", 2, 4},                            // b:2 (token or digit)
		{phpser.HandlerPHP, "a|s:5:\"abc\";b|i:1;", 12, 12},            // the closing quote must be here
		{phpser.HandlerPHP, "a|i:1;b|R:2;", 8, 10},                     // R:2
		{phpser.HandlerPHP, "a|a:1:{i:0;i:1;i:1;i:2;}", 15, 15},        // the extra element instead of }
		{phpser.HandlerPHP, "x|i:1;\n", 6, 7},                          // the newline, or the end where '|' is missing
		{phpser.HandlerPHPSerialize, "a:1:{s:1:\"a\";d:inf;}", 13, 15}, // d:inf
		{phpser.HandlerPHPSerialize, "a:1:{s:1:\"a\";i:1;", 17, 17},    // end of input instead of }
		{phpser.HandlerPHPBinary, "\x05abi:1;", 0, 6},
	} {
		_, err := phpser.DecodeSession([]byte(tc.in), tc.h)
		var se *phpser.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s %q: err %v, want *SyntaxError", tc.h, tc.in, err)
			continue
		}
		if se.Offset < tc.min || se.Offset > tc.max {
			t.Errorf("%s %q: offset %d, want %d..%d (%v)", tc.h, tc.in, se.Offset, tc.min, tc.max, err)
		}
	}
}

// ---------------------------------------------------------------------
// Precise dumps: phpser values in the JSON form of testdata/php/dump.php.

// tdDumpSession dumps $_SESSION as PHP holds it after decoding s.
func tdDumpSession(s *phpser.Session) ([]byte, error) {
	d := newTDDumper()
	root := s.Root
	d.collect(&root)
	var tree any
	switch {
	case s.Handler != phpser.HandlerPHPSerialize:
		tree = map[string]any{"t": "array", "e": d.entries(root.Elems, tdKeysSession)}
	case root.Kind == phpser.KindNull:
		// PHP turns a null $_SESSION into an empty array.
		tree = map[string]any{"t": "array", "e": []any{}}
	default:
		// $_SESSION holds a copy of the root, never a reference: an R:
		// to slot 1 references a copy (as PHP's dump shows).
		tree = d.inner(&root)
	}
	if d.err != nil {
		return nil, d.err
	}
	return json.Marshal(tree)
}

// tdDumpValue dumps a value as unserialize() returns it.
func tdDumpValue(v phpser.Value) ([]byte, error) {
	d := newTDDumper()
	d.collect(&v)
	tree := d.inner(&v)
	if d.err != nil {
		return nil, d.err
	}
	return json.Marshal(tree)
}

// Classes of testdata/php/classes.php that change how PHP holds a value.
var (
	tdSerializableClasses = map[string]bool{"legacytoken": true} // C: payload kept
	tdKnownClasses        = map[string]bool{"user": true, "basemodel": true, "childmodel": true, "typed": true,
		"legacytoken": true, "money": true, "suit": true, "status": true, "stdclass": true}
)

type tdKeyMode int

const (
	tdKeysArray   tdKeyMode = iota // numeric strings become ints
	tdKeysSession                  // php/php_binary top level: kept as written
)

type tdDumper struct {
	anchors    map[int64]*phpser.Value
	refTargets map[int64]bool
	objIdx     map[int64]int
	nobj       int
	refIdx     map[int64]int
	err        error
}

func newTDDumper() *tdDumper {
	return &tdDumper{
		anchors:    map[int64]*phpser.Value{},
		refTargets: map[int64]bool{},
		objIdx:     map[int64]int{},
		refIdx:     map[int64]int{},
	}
}

// collect indexes anchors and the anchors that R: references target.
func (d *tdDumper) collect(v *phpser.Value) {
	if v.Anchor != 0 {
		if _, dup := d.anchors[v.Anchor]; !dup {
			d.anchors[v.Anchor] = v
		}
	}
	if v.Kind == phpser.KindRef {
		d.refTargets[v.Int] = true
	}
	for i := range v.Elems {
		d.collect(&v.Elems[i].Val)
	}
}

func (d *tdDumper) fail(format string, args ...any) map[string]any {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	return map[string]any{"t": "error"}
}

func (d *tdDumper) value(v *phpser.Value) any {
	if v.Kind == phpser.KindRef {
		if k, ok := d.refIdx[v.Int]; ok {
			return map[string]any{"t": "refto", "n": k}
		}
		target := d.anchors[v.Int]
		if target == nil {
			return d.fail("R:%d has no target", v.Int)
		}
		k := len(d.refIdx)
		d.refIdx[v.Int] = k
		return map[string]any{"t": "ref", "n": k, "v": d.inner(target)}
	}
	if v.Anchor != 0 && d.refTargets[v.Anchor] {
		if k, ok := d.refIdx[v.Anchor]; ok {
			return map[string]any{"t": "refto", "n": k}
		}
		k := len(d.refIdx)
		d.refIdx[v.Anchor] = k
		return map[string]any{"t": "ref", "n": k, "v": d.inner(v)}
	}
	return d.inner(v)
}

func (d *tdDumper) inner(v *phpser.Value) any {
	switch v.Kind {
	case phpser.KindNull:
		return map[string]any{"t": "null"}
	case phpser.KindBool:
		return map[string]any{"t": "bool", "v": v.Int != 0}
	case phpser.KindInt:
		return map[string]any{"t": "int", "v": strconv.FormatInt(v.Int, 10)}
	case phpser.KindFloat:
		return map[string]any{"t": "float", "v": tdCanonFloat(v.Float)}
	case phpser.KindString:
		return map[string]any{"t": "string", "hex": hex.EncodeToString([]byte(v.Str))}
	case phpser.KindArray:
		return map[string]any{"t": "array", "e": d.entries(v.Elems, tdKeysArray)}
	case phpser.KindEnum:
		return map[string]any{"t": "enum", "v": v.Str}
	case phpser.KindObjRef:
		target := d.anchors[v.Int]
		for hops := 0; target != nil && target.Kind == phpser.KindObjRef && hops < 64; hops++ {
			target = d.anchors[target.Int]
		}
		if target == nil {
			return d.fail("r:%d has no target", v.Int)
		}
		if target.Kind == phpser.KindEnum {
			return map[string]any{"t": "enum", "v": target.Str}
		}
		if k, ok := d.objIdx[target.Anchor]; ok {
			return map[string]any{"t": "same", "n": k}
		}
		return d.inner(target)
	case phpser.KindObject, phpser.KindCustom:
		k := d.nobj
		d.nobj++
		if v.Anchor != 0 {
			d.objIdx[v.Anchor] = k
		}
		lc := strings.ToLower(v.Str)
		if v.Kind == phpser.KindCustom {
			if tdSerializableClasses[lc] || tdKnownClasses[lc] {
				return map[string]any{"t": "custom", "class": v.Str, "hex": hex.EncodeToString([]byte(v.Payload))}
			}
			// Unknown class: __PHP_Incomplete_Class without the payload.
			return map[string]any{"t": "object", "class": v.Str, "e": []any{}}
		}
		// dump.php reads properties through an (array) cast, which turns
		// "5" into 5 as arrays do, so the dump compares keys as arrays.
		return map[string]any{"t": "object", "class": v.Str, "e": d.entries(v.Elems, tdKeysArray)}
	}
	return d.fail("unknown kind %v", v.Kind)
}

// entries applies PHP's key rules (normalisation, last duplicate wins at
// the first one's position) and dumps the result in order.
func (d *tdDumper) entries(elems []phpser.Entry, mode tdKeyMode) []any {
	type slot struct {
		key any
		val *phpser.Value
	}
	var order []slot
	pos := map[string]int{}
	for i := range elems {
		e := &elems[i]
		var key any
		var id string
		switch {
		case e.Key.IsInt:
			key, id = map[string]any{"i": strconv.FormatInt(e.Key.Int, 10)}, "i"+strconv.FormatInt(e.Key.Int, 10)
		default:
			if n, ok := tdNumericKey(e.Key.Str); ok && mode == tdKeysArray {
				key, id = map[string]any{"i": strconv.FormatInt(n, 10)}, "i"+strconv.FormatInt(n, 10)
			} else {
				key, id = map[string]any{"s": hex.EncodeToString([]byte(e.Key.Str))}, "s"+e.Key.Str
			}
		}
		if p, dup := pos[id]; dup {
			order[p].val = &e.Val
			continue
		}
		pos[id] = len(order)
		order = append(order, slot{key, &e.Val})
	}
	out := make([]any, 0, len(order))
	for _, s := range order {
		out = append(out, []any{s.key, d.value(s.val)})
	}
	return out
}

// tdNumericKey is PHP's ZEND_HANDLE_NUMERIC_STR rule, written here
// independently of phpser's: "-"?, then "0" or [1-9][0-9]*, in int64 range.
func tdNumericKey(s string) (int64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 19 || (digits[0] == '0' && len(digits) > 1) || s == "-0" {
		return 0, false
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// tdCanonFloat is one spelling per float64 (NaNs are all "NAN").
func tdCanonFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NAN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case f == 0 && math.Signbit(f):
		return "-0"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// tdNormalizePHPDump re-marshals a dump.php tree with floats in
// tdCanonFloat's spelling, so it compares byte-for-byte with tdDump*.
func tdNormalizePHPDump(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var walk func(any) error
	walk = func(x any) error {
		switch x := x.(type) {
		case map[string]any:
			if x["t"] == "float" {
				s, _ := x["v"].(string)
				f, err := tdParsePHPFloat(s)
				if err != nil {
					return err
				}
				x["v"] = tdCanonFloat(f)
			}
			for _, v := range x {
				if err := walk(v); err != nil {
					return err
				}
			}
		case []any:
			for _, v := range x {
				if err := walk(v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(tree); err != nil {
		return nil, err
	}
	return json.Marshal(tree)
}

func tdParsePHPFloat(s string) (float64, error) {
	switch s {
	case "INF":
		return math.Inf(1), nil
	case "-INF":
		return math.Inf(-1), nil
	case "NAN":
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// tdShort shortens long inputs in messages.
func tdShort(b []byte) []byte {
	if len(b) <= 600 {
		return b
	}
	return slices.Concat(b[:300], []byte(fmt.Sprintf(" …(%d bytes)… ", len(b)-600)), b[len(b)-300:])
}
