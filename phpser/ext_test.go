package phpser_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/phpser"
)

// Byte vectors written by PHP 8.2 with igbinary 3.2.13 and msgpack 2.2.0RC2
// (shared/STORES-FACTS.md 13.5): each decodes, encodes back to itself, and
// is recognised by Detect.
var extVectors = []struct {
	name string
	h    phpser.Handler
	hex  string
	json string
}{
	{"igb cow", phpser.HandlerIgbinary, "000000021402110178140206000601060106021101790101", `{"x":[1,2],"y":[1,2]}`},
	{"igb empty arrays", phpser.HandlerIgbinary, "000000021402110265311400110265320101", `{"e1":[],"e2":[]}`},
	{"igb refarr", phpser.HandlerIgbinary, "00000002140211017825140106000601110179250101", `{"x":[1],"y":[1]}`},
	{"igb enum", phpser.HandlerIgbinary, "0000000214021101651704537569742711064865617274731101662201", `{"e":{"__enum":"Suit:Hearts"},"f":{"__enum":"Suit:Hearts"}}`},
	{"igb serializable", phpser.HandlerIgbinary, "0000000214011101731701531d03726177", `{"s":{"__class":"S","__serialized":"raw"}}`},
	{"igb __serialize", phpser.HandlerIgbinary, "00000002140111016d17014d140211017a060911016b140106000601", `{"m":{"__class":"M","z":9,"k":[1]}}`},
	{"igb stdClass", phpser.HandlerIgbinary, "00000002140211016f1708737464436c617373140111017006011102656f1a011400", `{"o":{"__class":"stdClass","p":1},"eo":{"__class":"stdClass"}}`},
	{"igb compact off", phpser.HandlerIgbinary, "00000002140311016b11016b110150170150140111016106011101511a0314011101610601", ""},
	{"igb empty", phpser.HandlerIgbinary, "000000021400", `{}`},
	{"msg cow", phpser.HandlerMsgpack, "83c001a178920102a179920102", `{"x":[1,2],"y":[1,2]}`},
	{"msg empty arrays", phpser.HandlerMsgpack, "83c001a2653190a2653290", `{"e1":[],"e2":[]}`},
	{"msg refarr", phpser.HandlerMsgpack, "83c001a17882c0010001a17982c0020002", `{"x":[1],"y":[1]}`},
	{"msg serializable", phpser.HandlerMsgpack, "82c001a17382c003a153a3726177", `{"s":{"__class":"S","__serialized":"raw"}}`},
	{"msg __serialize", phpser.HandlerMsgpack, "82c001a16d82c0a14dc082a17a09a16b9101", `{"m":{"__class":"M","z":9,"k":[1]}}`},
	{"msg stdClass", phpser.HandlerMsgpack, "83c001a16f82c0a8737464436c617373a17001a2656f81c0a8737464436c617373", `{"o":{"__class":"stdClass","p":1},"eo":{"__class":"stdClass"}}`},
	{"msg empty", phpser.HandlerMsgpack, "90", `{}`},
	{"msg 2.2 enum", phpser.HandlerMsgpack, "83c001a16583c0a453756974a46e616d65a6486561727473a576616c7565a148a16682c0040002", `{"e":{"__class":"Suit","name":"Hearts","value":"H"},"f":{"__class":"Suit","name":"Hearts","value":"H"}}`},
}

func TestExtVectors(t *testing.T) {
	for _, v := range extVectors {
		data, err := hex.DecodeString(v.hex)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		s, err := phpser.DecodeSession(data, v.h)
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		if !s.Canonical() {
			t.Errorf("%s: not canonical", v.name)
		}
		enc, err := phpser.EncodeSession(s)
		if err != nil || !bytes.Equal(enc, data) {
			t.Errorf("%s: encode = %x, %v; want the input", v.name, enc, err)
		}
		if h, ok := phpser.Detect(data); !ok || h != v.h {
			t.Errorf("%s: Detect = %s %v", v.name, h, ok)
		}
		if v.json != "" {
			j, _ := s.MarshalJSON()
			if string(j) != v.json {
				t.Errorf("%s: JSON %s, want %s", v.name, j, v.json)
			}
		}
	}
}

// Errors are positioned *SyntaxErrors with the key path; lengths and
// counts beyond the input fail before anything is allocated for them.
func TestExtErrors(t *testing.T) {
	for _, c := range []struct {
		h    phpser.Handler
		hex  string
		want string
	}{
		{phpser.HandlerIgbinary, "0000000214011101611101", "offset 9 (at a): expected a string length that fits the rest of the input"},
		{phpser.HandlerIgbinary, "0000000216ffffffff", "offset 4: expected an array count that fits the rest of the input (4294967295 entries)"},
		{phpser.HandlerIgbinary, "00000002140111016128", "offset 9 (at a): expected an igbinary value (type byte 00-27), found bytes 28"},
		{phpser.HandlerIgbinary, "00000003140111016106", "offset 0: expected the igbinary header 00 00 00 02"},
		{phpser.HandlerIgbinary, "0000000214011101610e05", "offset 9 (at a): expected a string id below 1"},
		{phpser.HandlerIgbinary, "000000021401110161250109", "offset 10 (at a): expected a back-reference to an earlier value (1-0)"},
		{phpser.HandlerMsgpack, "82c001a161dbffffffff", "offset 5 (at a): expected a string length that fits the rest of the input"},
		{phpser.HandlerMsgpack, "df7fffffff", "offset 0: expected a map count that fits the rest of the input"},
		{phpser.HandlerMsgpack, "82c001a161c1", "offset 5 (at a): expected a msgpack value (c1 is never used)"},
		{phpser.HandlerMsgpack, "2a", "offset 0: expected a msgpack map of the session's variables"},
	} {
		data, _ := hex.DecodeString(c.hex)
		_, err := phpser.DecodeSession(data, c.h)
		var se *phpser.SyntaxError
		if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.h, c.hex, err, c.want)
		}
	}
	// Nesting: msgpack-php reads 1024 containers (the session's included),
	// igbinary has no limit of its own.
	nest := func(open, leaf string, n int) []byte {
		b, _ := hex.DecodeString("82c001a161" + strings.Repeat(open, n) + leaf)
		return b
	}
	if _, err := phpser.DecodeSession(nest("91", "90", 1022), phpser.HandlerMsgpack); err != nil {
		t.Errorf("msgpack 1024 containers: %v", err)
	}
	if _, err := phpser.DecodeSession(nest("91", "90", 1023), phpser.HandlerMsgpack); err == nil {
		t.Errorf("msgpack 1025 containers accepted")
	}
	deep := append([]byte("\x00\x00\x00\x02\x14\x01\x11\x01a"), bytes.Repeat([]byte{0x14, 0x01, 0x06, 0x00}, 10000)...)
	deep = append(deep, 0x06, 0x01)
	if _, err := phpser.DecodeSession(deep, phpser.HandlerIgbinary); err != nil {
		t.Errorf("igbinary 10000 levels: %v", err)
	}
}

// Copies of copies (igbinary 01 n) cannot grow without bound: each copy
// counts against the entry budget.
func TestIgbinaryCopyBomb(t *testing.T) {
	// a = [1,1,1,1], then b = [01 1, 01 1, ...], c = [01 b, 01 b, ...], ...
	var b strings.Builder
	b.WriteString("\x00\x00\x00\x02\x14\x20")
	b.WriteString("\x11\x01a\x14\x04\x06\x00\x06\x01\x06\x01\x06\x01\x06\x02\x06\x01\x06\x03\x06\x01")
	for i := 1; i < 32; i++ {
		fmt.Fprintf(&b, "\x11\x02k%c\x14\x04\x06\x00\x01%c\x06\x01\x01%c\x06\x02\x01%c\x06\x03\x01%c", 'A'+i, i, i, i, i)
	}
	_, err := phpser.DecodeSession([]byte(b.String()), phpser.HandlerIgbinary)
	if err == nil || !strings.Contains(err.Error(), "entry budget") {
		t.Errorf("copy bomb: %v", err)
	}
}

// Conversion between handlers: a tree from any handler encodes in any
// other that can hold its values, else an *EncodeError names the first
// value that cannot be converted.
func TestExtConversion(t *testing.T) {
	all := []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize, phpser.HandlerIgbinary, phpser.HandlerMsgpack}
	for _, f := range tdSessions(t) {
		src, err := phpser.DecodeSession(f.data, f.handler)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range all {
			if h == f.handler || h == phpser.HandlerPHPSerialize || f.handler == phpser.HandlerPHPSerialize {
				continue // php_serialize holds the session as one value
			}
			conv := *src
			conv.Handler = h
			out, err := phpser.EncodeSession(&conv)
			if err != nil {
				var ee *phpser.EncodeError
				if !errors.As(err, &ee) {
					t.Errorf("%s -> %s: %v is not an *EncodeError", f.name, h, err)
				}
				continue
			}
			back, err := phpser.DecodeSession(out, h)
			if err != nil {
				t.Errorf("%s -> %s: the result does not decode: %v", f.name, h, err)
				continue
			}
			j1, _ := src.MarshalJSON()
			j2, _ := back.MarshalJSON()
			if !bytes.Equal(j1, j2) && !strings.Contains(f.name, "serializable") {
				t.Errorf("%s -> %s: JSON differs\n%s\n%s", f.name, h, j1, j2)
			}
		}
	}
	// What a target cannot hold.
	refs, _ := phpser.DecodeSession([]byte(`a|i:7;b|R:1;`), phpser.HandlerPHP)
	refs.Handler = phpser.HandlerMsgpack
	if _, err := phpser.EncodeSession(refs); err == nil || !strings.Contains(err.Error(), `"b"`) || !strings.Contains(err.Error(), "reference to a int") {
		t.Errorf("msgpack, reference to a scalar: %v", err)
	}
	enum, _ := phpser.DecodeSession([]byte(`x|a:1:{i:0;E:10:"Suit:Clubs";}`), phpser.HandlerPHP)
	enum.Handler = phpser.HandlerMsgpack
	if _, err := phpser.EncodeSession(enum); err == nil || !strings.Contains(err.Error(), `x[0]`) {
		t.Errorf("msgpack, enum: %v", err)
	}
	long, _ := phpser.DecodeSession(append(append([]byte("\x00\x00\x00\x02\x14\x01\x12\x00\x80"), strings.Repeat("k", 128)...), 0x06, 0x01), phpser.HandlerIgbinary)
	long.Handler = phpser.HandlerPHPBinary
	if _, err := phpser.EncodeSession(long); err == nil || !strings.Contains(err.Error(), "127") {
		t.Errorf("php_binary, long key: %v", err)
	}
	pipe, _ := phpser.DecodeSession([]byte("\x82\xc0\x01\xa3a|b\x01"), phpser.HandlerMsgpack)
	pipe.Handler = phpser.HandlerPHP
	if _, err := phpser.EncodeSession(pipe); err == nil || !strings.Contains(err.Error(), "'|'") {
		t.Errorf("php, key with |: %v", err)
	}
}

// TestExtChangesAgainstPHP: PHP with the classes loaded reads each
// igbinary and msgpack session of testdata, applies each change and
// re-encodes; phpser must write exactly PHP's session_encode() bytes after
// each change (the values are compared by TestDifferentialTestdata).
func TestExtChangesAgainstPHP(t *testing.T) {
	phptest.Extensions(t, "igbinary", "msgpack")
	type job struct {
		name string
		h    phpser.Handler
		data []byte
		ops  []payloadOp
	}
	var jobs []job
	var reqs []payloadReq
	for _, f := range tdSessions(t) {
		if f.handler != phpser.HandlerIgbinary && f.handler != phpser.HandlerMsgpack {
			continue
		}
		if f.handler == phpser.HandlerMsgpack && (strings.Contains(f.name, "enums") || strings.Contains(f.name, "serializable")) {
			// PHP fails on msgpack 2.2's enums ("Cannot instantiate enum"),
			// and appends a NUL to every Serializable payload it reads.
			continue
		}
		s, err := phpser.DecodeSession(f.data, f.handler)
		if err != nil {
			t.Fatal(err)
		}
		ops := payloadOps(s)[1:]
		ops = append(ops, []payloadOp{{Op: "set", K: "zz_e", J: `[]`}, {Op: "set", K: "zz_f", J: `{"a":[]}`}})
		for _, o := range ops {
			jobs = append(jobs, job{f.name, f.handler, f.data, o})
			reqs = append(reqs, payloadReq{M: "c", H: f.handler, X: hex.EncodeToString(f.data), Ops: o})
		}
	}
	if len(jobs) < 100 {
		t.Fatalf("only %d changes", len(jobs))
	}
	resps := payloadAsk(t, reqs)
	bad := 0
	for i, j := range jobs {
		r := resps[i]
		if !r.OK {
			t.Errorf("%s %v: PHP cannot read it: %s %v", j.name, j.ops, r.Exc, r.Msg)
			continue
		}
		s, _ := phpser.DecodeSession(j.data, j.h)
		applyOps(t, j.name, s, j.ops)
		enc, err := phpser.EncodeSession(s)
		phpEnc := []byte{}
		if r.E != nil {
			phpEnc, _ = hex.DecodeString(*r.E)
		}
		if err != nil || !bytes.Equal(enc, phpEnc) {
			bad++
			t.Errorf("%s %v: phpser writes\n%x (%v)\nPHP writes\n%x", j.name, j.ops, enc, err, phpEnc)
		}
	}
	t.Logf("%d changes to %s sessions compared with PHP, %d differ", len(jobs), "igbinary and msgpack", bad)
}

// Detection order: igbinary and msgpack first. Bytes contrived to be both
// a php_binary session ({"\xc0\x01": 1}) and a msgpack one ({105: 58} and
// two bytes PHP ignores) are read as msgpack.
func TestExtDetectOrder(t *testing.T) {
	data := []byte("\x82\xc0\x01i:1;")
	if _, err := phpser.DecodeSession(data, phpser.HandlerPHPBinary); err != nil {
		t.Fatalf("not php_binary: %v", err)
	}
	if _, err := phpser.DecodeSession(data, phpser.HandlerMsgpack); err != nil {
		t.Fatalf("not msgpack: %v", err)
	}
	if h, ok := phpser.Detect(data); !ok || h != phpser.HandlerMsgpack {
		t.Errorf("Detect = %s %v, want msgpack", h, ok)
	}
	// No session of the built-in handlers in testdata is taken for one of
	// the extensions' (TestConformanceSessions checks every Detect).
	for _, f := range tdSessions(t) {
		if h, _ := phpser.Detect(f.data); (h == phpser.HandlerIgbinary || h == phpser.HandlerMsgpack) && h != f.handler {
			t.Errorf("%s detected as %s", f.name, h)
		}
	}
}

// Large hostile sessions decode and re-encode in linear time: 100,000
// references to 100,000 values, 100,000 distinct class names (a quadratic
// lookup would take minutes here; the test's deadline catches it).
func TestExtLargeLinear(t *testing.T) {
	const n = 100000
	be := func(b []byte, x int) []byte { return binary.BigEndian.AppendUint32(b, uint32(x)) }
	b := []byte("\x00\x00\x00\x02\x14\x02\x11\x01a\x16")
	b = be(b, 2*n)
	for i := range n {
		b = append(be(append(b, 0x0a), 2*i), 0x25, 0x06, 0x07)
		b = be(append(be(append(b, 0x0a), 2*i+1), 0x25, 0x03), 2+i)
	}
	b = be(append(b, "\x11\x01b\x16"...), n)
	for i := range n {
		name := fmt.Sprintf("C%d", i)
		b = append(be(append(b, 0x0a), i), 0x17, byte(len(name)))
		b = append(append(b, name...), 0x14, 0x00)
	}
	s, err := phpser.DecodeSession(b, phpser.HandlerIgbinary)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set("c", phpser.Int(1)); err != nil {
		t.Fatal(err)
	}
	out, err := phpser.EncodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := phpser.DecodeSession(out, phpser.HandlerIgbinary)
	if err != nil || !back.Canonical() {
		t.Fatalf("re-encoded: %v, canonical %v", err, back != nil && back.Canonical())
	}
	mp := back
	mp.Handler = phpser.HandlerMsgpack
	if _, err := phpser.EncodeSession(mp); err == nil {
		t.Errorf("msgpack took references to scalars")
	}
}

// An uninitialised typed property's null key stays in place, also when the
// properties after it are removed.
func TestIgbinaryNullKeysAfterUnset(t *testing.T) {
	data := []byte("\x00\x00\x00\x02\x14\x01\x11\x01o\x17\x01T\x14\x03\x11\x01a\x06\x01\x11\x01b\x06\x02\x00")
	s, err := phpser.DecodeSession(data, phpser.HandlerIgbinary)
	if err != nil || !s.Canonical() {
		t.Fatalf("decode: %v, canonical %v", err, s != nil && s.Canonical())
	}
	if out, _ := phpser.EncodeSession(s); !bytes.Equal(out, data) {
		t.Fatalf("round trip: %x", out)
	}
	if _, err := s.Unset("/o/b"); err != nil {
		t.Fatal(err)
	}
	out, err := phpser.EncodeSession(s)
	if want := "\x00\x00\x00\x02\x14\x01\x11\x01o\x17\x01T\x14\x02\x11\x01a\x06\x01\x00"; err != nil || string(out) != want {
		t.Errorf("after unset: %x, %v; want %x", out, err, want)
	}
}

// The same object in a PHP reference and outside one ($a = &$o; $b = $o):
// msgpack-php writes the second as an OBJECT marker (4), reads that back as
// a reference and then writes a reference marker (5). sesstool writes what
// PHP writes for each state and shows what PHP reads (both hex strings are
// PHP 8.2 with msgpack 2.2.0RC2: session_encode, then session_decode and
// session_encode again).
func TestMsgpackObjectInReference(t *testing.T) {
	const written = "83c001a16183c001c0a8737464436c617373a17801a16282c0040002"
	const rewritten = "83c001a16183c001c0a8737464436c617373a17801a16282c0050002"
	data, _ := hex.DecodeString(written)
	s, err := phpser.DecodeSession(data, phpser.HandlerMsgpack)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Lookup("a")
	if a.Kind != phpser.KindObject || a.Flags&phpser.FlagRef == 0 || a.Anchor == 0 {
		t.Fatalf("a = %+v, want an object in a reference", a)
	}
	// Back to the state PHP wrote: b the same object, not a reference.
	if _, err := s.Unset("b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("b", phpser.Value{Kind: phpser.KindObjRef, Int: a.Anchor}); err != nil {
		t.Fatal(err)
	}
	out, err := phpser.EncodeSession(s)
	if err != nil || hex.EncodeToString(out) != written {
		t.Fatalf("encode = %x, %v; want %s", out, err, written)
	}
	back, err := phpser.DecodeSession(out, phpser.HandlerMsgpack)
	if err != nil {
		t.Fatal(err)
	}
	if back.Canonical() {
		t.Error("PHP does not write these bytes for what it reads from them: want exotic")
	}
	if el := back.Entries(); len(el) != 2 || el[1].Val.Kind != phpser.KindRef {
		t.Errorf("entries %+v: want b a reference (as PHP reads it)", el)
	}
	if again, _ := phpser.EncodeSession(back); !bytes.Equal(again, out) {
		t.Errorf("unchanged: %x, want the bytes read", again)
	}
	if err := back.Set("zz", phpser.Int(1)); err != nil {
		t.Fatal(err)
	}
	if got, _ := phpser.EncodeSession(back); hex.EncodeToString(got) != "84"+rewritten[2:]+"a27a7a01" {
		t.Errorf("changed: %x, want %s + zz", got, rewritten)
	}
}
