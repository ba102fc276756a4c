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

var tdHandlers = []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize, phpser.HandlerIgbinary, phpser.HandlerMsgpack}

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
	// SilentlyEmpty (msgpack): PHP "accepts" with an empty $_SESSION only
	// because it could not read the payload; its msgpack session decoder
	// never fails.
	SilentlyEmpty bool `json:"silently_empty"`
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

// The same case written by every handler holds the same variables
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
	skip := map[string]bool{"int-keys": true, "pipe-key": true, "session-keys": true,
		// Slot numbers inside C: payloads are one higher under
		// php_serialize: the payload bytes differ by handler.
		"serializable-nested": true}
	// msgpack-php 2.2 writes a reference to a scalar as the plain value and
	// an enum case as an object of the enum's class (which PHP cannot read
	// back): these cases hold other values under msgpack.
	lossy := map[string]bool{"refs": true, "serializable-refs": true, "enums": true}
	for c, files := range byCase {
		if skip[c] {
			continue
		}
		var want []byte
		for _, h := range tdHandlers {
			if h == phpser.HandlerMsgpack && lossy[c] {
				continue
			}
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

// tdKnownDeviations are verdicts phpser does not follow, with the reason.
var tdKnownDeviations = map[string]string{
	"igbinary/refref-to-root": "25 01 00 is a reference to the session array while it is read; PHP builds an array " +
		"that holds a reference to itself, which its encoder never writes. phpser refuses it.",
}

func TestConformanceMalformed(t *testing.T) {
	for _, v := range tdVerdicts(t) {
		t.Run(v.File, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(tdDir, "malformed", v.File))
			if err != nil {
				t.Fatal(err)
			}
			s, err := phpser.DecodeSession(data, v.Handler)
			if why, ok := tdKnownDeviations[v.File]; ok {
				t.Logf("known deviation: PHP %s, phpser err=%v: %s", v.Verdict, err, why)
				if err == nil {
					t.Errorf("phpser now accepts it: update tdKnownDeviations")
				}
				return
			}
			if v.ClassDependent {
				t.Logf("class-dependent: PHP %s (%s %s), phpser err=%v", v.Verdict, v.Exception, strings.Join(v.Messages, "; "), err)
				return
			}
			if v.Verdict == "reject" || v.SilentlyEmpty {
				// A msgpack session PHP reads as empty because it cannot
				// read it is what the other handlers reject: phpser
				// reports a *SyntaxError, not an empty session.
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
//
// phpser keeps what the bytes say (duplicate keys, every reference); the
// dumper computes what PHP holds after decoding them, following PHP 8.2's
// var_unserializer exactly where they differ:
//
//   - a duplicate key replaces the earlier value in place (first key's
//     position). Inside an array or object the reference slot of the
//     replaced value aliases the bucket, so a later R:/r: to it reaches the
//     new value; at the top level of a php/php_binary session the replaced
//     value lives on and later references reach it;
//   - R: makes a reference; a reference is reported as one only while two
//     or more places hold it (PHP ignores references with refcount 1);
//   - $_SESSION (and unserialize()'s result) is a copy of the root value,
//     never a place of its own.

// tdDumpSession dumps $_SESSION as PHP holds it after decoding s.
func tdDumpSession(s *phpser.Session) ([]byte, error) {
	d := newTDDumper()
	root := s.Root
	if s.Handler != phpser.HandlerPHPSerialize {
		d.sessionRoot = &root
		d.simulateEntries(&root, false)
		d.count(&root, true)
		tree := map[string]any{"t": "array", "e": d.entries(&root)}
		if d.err != nil {
			return nil, d.err
		}
		return json.Marshal(tree)
	}
	if root.Kind == phpser.KindNull {
		// PHP turns a null $_SESSION into an empty array.
		return json.Marshal(map[string]any{"t": "array", "e": []any{}})
	}
	// The session keeps the root zval: a reference to it has two places.
	return d.dumpRoot(&root, true)
}

// tdDumpValue dumps a value as unserialize() returns it.
func tdDumpValue(v phpser.Value) ([]byte, error) {
	// unserialize() returns a dereferenced copy: the root is no place.
	return newTDDumper().dumpRoot(&v, false)
}

func (d *tdDumper) dumpRoot(root *phpser.Value, rootIsPlace bool) ([]byte, error) {
	d.simulate(root, nil)
	d.count(root, !rootIsPlace)
	tree := d.inner(root)
	if d.err != nil {
		return nil, d.err
	}
	return json.Marshal(tree)
}

// Classes of testdata/php/classes.php that change how PHP holds a value.
var (
	tdSerializableClasses = map[string]bool{"legacytoken": true, "legacycart": true, "legacypair": true} // C: payload kept
	tdKnownClasses        = map[string]bool{"user": true, "basemodel": true, "childmodel": true, "typed": true,
		"legacytoken": true, "legacycart": true, "legacypair": true, "money": true, "suit": true, "status": true, "stdclass": true}
)

// tdBucket is one array or object slot: what it holds changes when a
// duplicate key overwrites it.
type tdBucket struct{ val *phpser.Value }

type tdDumper struct {
	slotBucket map[int64]*tdBucket     // anchor -> the bucket its value sits in
	slotFixed  map[int64]*phpser.Value // anchor -> value, for values in no bucket
	resolved   map[*phpser.Value]*phpser.Value
	rTargets   map[*phpser.Value]bool // values some R: resolved to
	places     map[*phpser.Value]int  // places holding each R: target
	counted    map[*phpser.Value]bool
	objCounted map[*phpser.Value]bool
	refIdx     map[*phpser.Value]int
	objIdx     map[*phpser.Value]int
	final      map[*phpser.Value][]*phpser.Entry // container -> entries after dedupe
	// sessionRoot is a php/php_binary session's root: keys kept as
	// written, duplicates without bucket aliasing.
	sessionRoot *phpser.Value
	err         error
}

func newTDDumper() *tdDumper {
	return &tdDumper{
		slotBucket: map[int64]*tdBucket{},
		slotFixed:  map[int64]*phpser.Value{},
		resolved:   map[*phpser.Value]*phpser.Value{},
		rTargets:   map[*phpser.Value]bool{},
		places:     map[*phpser.Value]int{},
		counted:    map[*phpser.Value]bool{},
		objCounted: map[*phpser.Value]bool{},
		refIdx:     map[*phpser.Value]int{},
		objIdx:     map[*phpser.Value]int{},
		final:      map[*phpser.Value][]*phpser.Entry{},
	}
}

func (d *tdDumper) fail(format string, args ...any) map[string]any {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
	return map[string]any{"t": "error"}
}

func (d *tdDumper) current(slot int64) *phpser.Value {
	if b := d.slotBucket[slot]; b != nil {
		return b.val
	}
	return d.slotFixed[slot]
}

// simulate walks v in document order as PHP's parser does, resolving each
// R:/r: to the value its slot holds at that moment. b is the bucket v sits
// in (nil at a session's top level or for the root).
func (d *tdDumper) simulate(v *phpser.Value, b *tdBucket) {
	if v.Kind == phpser.KindRef || v.Kind == phpser.KindObjRef {
		t := d.current(v.Int)
		if t == nil {
			d.fail("%v to slot %d: no such value", v.Kind, v.Int)
			return
		}
		if t == v {
			// The bucket this value is being parsed into: PHP fails.
			d.fail("%v to slot %d: the slot is being overwritten by this very value", v.Kind, v.Int)
			return
		}
		d.resolved[v] = t
		if v.Kind == phpser.KindRef {
			d.rTargets[t] = true
			return
		}
		o := t
		for hops := 0; o != nil && o.Kind == phpser.KindObjRef && hops < 64; hops++ {
			o = d.resolved[o]
		}
		if o == nil || (o.Kind != phpser.KindObject && o.Kind != phpser.KindCustom && o.Kind != phpser.KindEnum) {
			// A duplicate key replaced the object in that slot's bucket.
			d.fail("r:%d: slot %d no longer holds an object", v.Int, v.Int)
			return
		}
	}
	if v.Anchor != 0 {
		if b != nil {
			d.slotBucket[v.Anchor] = b
		} else {
			d.slotFixed[v.Anchor] = v
		}
	}
	if v.Kind == phpser.KindArray || v.Kind == phpser.KindObject {
		d.simulateEntries(v, true)
	}
	if v.Kind == phpser.KindCustom {
		// The values a Serializable's reader got from its payload: each
		// a place of its own (PHP-FACTS 4.7).
		for i := range v.Elems {
			d.simulate(&v.Elems[i].Val, nil)
		}
	}
}

// simulateEntries walks a container's entries; with buckets, a duplicate
// key overwrites the earlier value's bucket (arrays, objects), else the
// earlier value stays alive on its own (a php/php_binary session).
func (d *tdDumper) simulateEntries(v *phpser.Value, buckets bool) {
	type place struct {
		b   *tdBucket
		pos int
	}
	byKey := map[string]place{}
	var out []*phpser.Entry
	for i := range v.Elems {
		e := &v.Elems[i]
		id := tdKeyID(e.Key, v != d.sessionRoot)
		pl, dup := byKey[id]
		if !dup {
			pl = place{&tdBucket{}, len(out)}
			byKey[id] = pl
			out = append(out, e)
		} else {
			out[pl.pos] = e
		}
		pl.b.val = &e.Val
		if buckets {
			d.simulate(&e.Val, pl.b)
		} else {
			d.simulate(&e.Val, nil)
		}
	}
	d.final[v] = out
}

// tdKeyID identifies a key as PHP's hash does: numeric strings are ints in
// arrays and objects, kept as written at a session's top level.
func tdKeyID(k phpser.Key, normalize bool) string {
	if k.IsInt {
		return "i" + strconv.FormatInt(k.Int, 10)
	}
	if n, ok := tdNumericKey(k.Str); ok && normalize {
		return "i" + strconv.FormatInt(n, 10)
	}
	return "s" + k.Str
}

// count counts the places holding each R: target: the target's own place
// in the final tree and every R: resolved to it. A target no longer in the
// tree (an overwritten session value, the root) is walked through its
// first reference.
func (d *tdDumper) count(v *phpser.Value, root bool) {
	if v.Kind == phpser.KindRef {
		t := d.resolved[v]
		if t == nil {
			return // simulate could not resolve it, and d.err says why
		}
		d.places[t]++
		if !d.counted[t] {
			d.counted[t] = true
			d.countChildren(t)
		}
		return
	}
	if !root && d.rTargets[v] {
		d.places[v]++
		if d.counted[v] {
			return
		}
		d.counted[v] = true
	}
	d.countChildren(v)
}

func (d *tdDumper) countChildren(v *phpser.Value) {
	if v.Kind == phpser.KindObject {
		// An object is a handle: reaching it again (through a reference
		// to the root object, say) reaches the same places. An array
		// reached through a reference is a copy with places of its own.
		if d.objCounted[v] {
			return
		}
		d.objCounted[v] = true
	}
	for _, e := range d.final[v] {
		d.count(&e.Val, false)
	}
	if v.Kind == phpser.KindCustom {
		for i := range v.Elems {
			d.count(&v.Elems[i].Val, false)
		}
	}
}

func (d *tdDumper) value(v *phpser.Value) any {
	if d.err != nil {
		return nil // the dump is discarded; do not follow broken links
	}
	t := v
	if v.Kind == phpser.KindRef {
		t = d.resolved[v]
		if t == nil {
			return d.fail("unresolved R:%d", v.Int)
		}
	}
	if d.places[t] >= 2 {
		if k, ok := d.refIdx[t]; ok {
			return map[string]any{"t": "refto", "n": k}
		}
		k := len(d.refIdx)
		d.refIdx[t] = k
		return map[string]any{"t": "ref", "n": k, "v": d.inner(t)}
	}
	return d.inner(t)
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
		return map[string]any{"t": "array", "e": d.entries(v)}
	case phpser.KindEnum:
		return map[string]any{"t": "enum", "v": v.Str}
	case phpser.KindRef:
		return d.value(v)
	case phpser.KindObjRef:
		t := d.resolved[v]
		for hops := 0; t != nil && t.Kind == phpser.KindObjRef && hops < 64; hops++ {
			t = d.resolved[t]
		}
		if t == nil {
			return d.fail("r:%d has no target", v.Int)
		}
		if t.Kind == phpser.KindEnum {
			return map[string]any{"t": "enum", "v": t.Str}
		}
		if k, ok := d.objIdx[t]; ok {
			return map[string]any{"t": "same", "n": k}
		}
		if t.Kind != phpser.KindObject && t.Kind != phpser.KindCustom {
			return d.fail("r:%d: not an object", v.Int)
		}
		return d.inner(t)
	case phpser.KindObject, phpser.KindCustom:
		if k, ok := d.objIdx[v]; ok {
			// Already met through an r: handle or another reference.
			return map[string]any{"t": "same", "n": k}
		}
		d.objIdx[v] = len(d.objIdx)
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
		return map[string]any{"t": "object", "class": v.Str, "e": d.entries(v)}
	}
	return d.fail("unknown kind %v", v.Kind)
}

// entries dumps a container's entries after dedupe, keys as PHP holds
// them (numeric strings as ints in arrays and objects).
func (d *tdDumper) entries(v *phpser.Value) []any {
	normalize := v != d.sessionRoot
	if _, ok := d.final[v]; !ok && len(v.Elems) > 0 {
		return []any{d.fail("container not simulated")}
	}
	out := make([]any, 0, len(d.final[v]))
	for _, e := range d.final[v] {
		var key any
		id := tdKeyID(e.Key, normalize)
		if id[0] == 'i' {
			key = map[string]any{"i": id[1:]}
		} else {
			key = map[string]any{"s": hex.EncodeToString([]byte(id[1:]))}
		}
		out = append(out, []any{key, d.value(&e.Val)})
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
