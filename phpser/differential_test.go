package phpser_test

// Differential tests: phpser and a live PHP 8 decode the same bytes and must
// agree on accept or reject and on the decoded value: on every testdata
// file, on thousands of generated values and sessions (encoded by phpser;
// PHP's re-encoding must give the same bytes back), and on mutated and
// corrupted payloads. One php process (testdata/php/decode_worker.php)
// answers all requests of a test.
//
// SESSTOOL_DIFF_SEED sets the generator's seed (default 1) and
// SESSTOOL_DIFF_N the number of generated values (default 2000; -short 300).

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/phpser"
)

// diffReq is one decode request to the worker.
type diffReq struct {
	M string         `json:"m"` // "s" session, "v" value
	H phpser.Handler `json:"h,omitempty"`
	X string         `json:"x"`

	label string // where the payload came from, for messages
	data  []byte
	canon []byte // with canonical: what PHP must re-encode it to (nil: data)
}

// diffResp is the worker's answer.
type diffResp struct {
	OK  bool            `json:"ok"`
	V   json.RawMessage `json:"v"`
	VO  string          `json:"vo"`
	E   *string         `json:"e"`
	Msg []string        `json:"msg"`
	Exc string          `json:"exc"`

	Crash bool `json:"-"` // PHP crashed instead of answering
}

func sessReq(label string, h phpser.Handler, data []byte) diffReq {
	return diffReq{M: "s", H: h, X: hex.EncodeToString(data), label: label, data: data}
}

func valReq(label string, data []byte) diffReq {
	return diffReq{M: "v", X: hex.EncodeToString(data), label: label, data: data}
}

// diffAsk runs all requests through one PHP worker process. A request on
// which PHP itself crashes (igbinary and msgpack segfault on some mutated
// input) is answered with Crash set, and logged.
func diffAsk(t *testing.T, reqs []diffReq) []diffResp {
	t.Helper()
	resps, crashed := phptest.AskWorkerCrashes[diffReq, diffResp](t, filepath.Join(tdDir, "php", "decode_worker.php"), reqs, 50)
	for _, c := range crashed {
		resps[c.Index].Crash = true
		t.Logf("PHP crashed on %s (%s payload %x): %.120s", reqs[c.Index].label, reqs[c.Index].H, tdShort(reqs[c.Index].data), c.Why)
	}
	return resps
}

// classDependent reports whether PHP's answer depends on which classes are
// loaded (enums, typed properties, unserialize() of a class), which a codec
// that knows no classes cannot reproduce.
func classDependent(r diffResp) bool {
	if r.Exc != "" {
		return true
	}
	for _, m := range r.Msg {
		for _, s := range []string{"Class '", "not an enum", "Undefined constant", "Erroneous data format",
			"has no unserializer", "dynamic property", "Cannot assign", "must be of type",
			// only checked for classes that declare properties
			"Corrupt member variable name"} {
			if strings.Contains(m, s) {
				return true
			}
		}
	}
	return false
}

// classSpecific names classes whose objects PHP fills from declarations
// (defaults, declaration order), so their dumps differ from the bytes.
var classSpecific = map[string]string{"user": "User", "basemodel": "BaseModel", "childmodel": "ChildModel", "typed": "Typed",
	// Their payloads hold references numbered in the session's table,
	// which serialize() on its own (dump.php) numbers afresh; the values
	// are compared by TestPayloadsAgainstPHP.
	"legacycart": "LegacyCart", "legacypair": "LegacyPair"}

// declared spells known class names as declared (PHP looks classes up
// case-insensitively and reports the declared name).
var declared = map[string]string{"money": "Money", "legacytoken": "LegacyToken", "stdclass": "stdClass", "suit": "Suit", "status": "Status"}

// normalizeClasses rewrites known class names in a dump to their declared
// spelling and reports whether the dump holds a class-specific object.
func normalizeClasses(dump []byte) ([]byte, bool) {
	var tree any
	dec := json.NewDecoder(bytes.NewReader(dump))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return dump, false
	}
	specific := false
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if c, ok := x["class"].(string); ok {
				lc := strings.ToLower(c)
				if _, ok := classSpecific[lc]; ok {
					specific = true
				}
				if d, ok := declared[lc]; ok {
					x["class"] = d
				}
			}
			if x["t"] == "enum" {
				if v, ok := x["v"].(string); ok {
					if i := strings.IndexByte(v, ':'); i >= 0 {
						if d, ok := declared[strings.ToLower(v[:i])]; ok {
							x["v"] = d + v[i:]
						}
					}
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(tree)
	out, err := json.Marshal(tree)
	if err != nil {
		return dump, specific
	}
	return out, specific
}

// diffReport collects disagreements and reports them once.
type diffReport struct {
	t        *testing.T
	n        int
	shown    int
	classDep int
	crashes  int
	lenient  int     // msgpack mutants PHP reads leniently and phpser refuses
	cur      diffReq // the request being compared (DIFFHEX=1 logs its bytes)
}

func (d *diffReport) add(format string, args ...any) {
	d.t.Helper()
	if os.Getenv("DIFFHEX") != "" {
		d.t.Logf("HEX %s %x", d.cur.H, d.cur.data)
	}
	d.n++
	if d.shown < 40 {
		d.shown++
		d.t.Errorf(format, args...)
	}
}

func (d *diffReport) done(total int) {
	d.t.Helper()
	d.t.Logf("%d payloads, %d disagreements, %d class-dependent answers not compared, %d on which PHP crashed, %d msgpack mutants PHP reads leniently", total, d.n, d.classDep, d.crashes, d.lenient)
	if d.n > d.shown {
		d.t.Errorf("... and %d more disagreements", d.n-d.shown)
	}
}

// msgpackable rewrites what msgpack-php 2.2 cannot store in a generated
// tree: enum cases (it writes them as objects it cannot read back) become
// strings, and references to scalars and empty arrays (it writes the value
// and loses the reference) become copies of the value.
func msgpackable(root *phpser.Value) {
	targets := map[int64]*phpser.Value{}
	var index func(v *phpser.Value)
	index = func(v *phpser.Value) {
		if v.Anchor != 0 {
			targets[v.Anchor] = v
		}
		for i := range v.Elems {
			index(&v.Elems[i].Val)
		}
	}
	index(root)
	var refs, enums func(v *phpser.Value)
	refs = func(v *phpser.Value) {
		if t := targets[v.Int]; t != nil && (v.Kind == phpser.KindRef || v.Kind == phpser.KindObjRef) {
			if t.Kind == phpser.KindEnum || (v.Kind == phpser.KindRef && (!t.IsContainer() && t.Kind != phpser.KindCustom || t.Kind == phpser.KindArray && len(t.Elems) == 0)) {
				c := *t
				c.Anchor = 0
				*v = c
			}
		}
		for i := range v.Elems {
			refs(&v.Elems[i].Val)
		}
	}
	enums = func(v *phpser.Value) {
		if v.Kind == phpser.KindEnum {
			*v = phpser.String(v.Str)
		}
		for i := range v.Elems {
			enums(&v.Elems[i].Val)
		}
	}
	refs(root)
	enums(root)
}

// msgpackClassDependent reports whether a msgpack session holds what PHP
// reads differently by class: __serialize data of a class the application
// does not have (PHP drops it), and Serializable payloads (msgpack-php 2.2
// hands unserialize() the payload with a NUL byte appended).
func msgpackClassDependent(data []byte) bool {
	s, err := phpser.DecodeSession(data, phpser.HandlerMsgpack)
	if err != nil {
		return false
	}
	dep := false
	var walk func(v *phpser.Value)
	walk = func(v *phpser.Value) {
		switch {
		case v.Kind == phpser.KindCustom:
			dep = true
		case v.Kind == phpser.KindObject && v.Flags&phpser.FlagSerialize != 0:
			if _, ok := declared[strings.ToLower(v.Str)]; !ok {
				dep = true
			}
		}
		for i := range v.Elems {
			walk(&v.Elems[i].Val)
		}
	}
	walk(&s.Root)
	return dep
}

// canonicalMsgpack reports whether data is a msgpack session in the form
// msgpack-php's encoder writes.
func canonicalMsgpack(data []byte) bool {
	s, err := phpser.DecodeSession(data, phpser.HandlerMsgpack)
	return err == nil && s.Canonical()
}

// phpEmpty reports whether a dump.php tree is an empty array.
func phpEmpty(v json.RawMessage) bool {
	var tree struct {
		T string            `json:"t"`
		E []json.RawMessage `json:"e"`
	}
	return json.Unmarshal(v, &tree) == nil && tree.T == "array" && len(tree.E) == 0
}

// compare checks one payload's phpser decoding against PHP's answer.
// canonical additionally requires PHP's re-encoding to equal the payload.
func (d *diffReport) compare(req diffReq, resp diffResp, canonical bool) {
	d.t.Helper()
	d.cur = req
	defer func() {
		if p := recover(); p != nil {
			d.add("%s: panic (in phpser or in this test's model): %v\npayload %q\n%s", req.label, p, tdShort(req.data), debug.Stack())
		}
	}()
	var (
		dump     []byte
		err      error // phpser's verdict
		modelErr error // the dump found a reference PHP cannot resolve
		encErr   error
		enc      []byte
		jsonOut  []byte // phpser's JSON mapping of the session
	)
	if req.M == "s" {
		var s *phpser.Session
		s, err = phpser.DecodeSession(req.data, req.H)
		if err == nil {
			dump, modelErr = tdDumpSession(s)
			enc, encErr = phpser.EncodeSession(s)
			jsonOut, _ = s.MarshalJSON()
		}
	} else {
		var v phpser.Value
		var n int
		v, n, err = phpser.DecodeValue(req.data)
		if err == nil {
			dump, modelErr = tdDumpValue(v)
			enc, encErr = phpser.EncodeValue(v)
			enc = append(enc, req.data[n:]...)
		}
	}
	what := req.M
	if req.M == "s" {
		what = string(req.H)
	}
	if resp.Crash {
		d.crashes++
		return
	}
	if classDependent(resp) || (req.H == phpser.HandlerMsgpack && msgpackClassDependent(req.data)) {
		d.classDep++
		return
	}
	switch {
	case resp.OK && err != nil && req.M == "s" && req.H == phpser.HandlerMsgpack && phpEmpty(resp.V):
		// msgpack's session decoder never fails: what it cannot read is an
		// empty session (which its next write overwrites).
		return
	case resp.OK && err != nil && req.M == "s" && req.H == phpser.HandlerMsgpack && strings.HasPrefix(req.label, "mutation"):
		// msgpack-php also reads what its encoder never writes (a map or a
		// float as a map key becomes the key "Array" or its digits, an
		// unknown type marker is skipped, ...); phpser refuses such input.
		d.lenient++
		if d.lenient <= 3 {
			d.t.Logf("%s [%s]: PHP's msgpack reads it leniently, phpser rejects: %v", req.label, what, err)
		}
		return
	case resp.OK && err != nil && strings.HasPrefix(req.label, "malformed/") && tdKnownDeviations[strings.TrimPrefix(req.label, "malformed/")] != "":
		return
	case resp.OK && err != nil:
		d.add("%s [%s]: PHP accepts, phpser rejects: %v\npayload %q", req.label, what, err, tdShort(req.data))
		return
	case !resp.OK && err == nil && modelErr != nil:
		d.add("%s [%s]: PHP rejects (%s), phpser accepts (the reference model agrees with PHP: %v)\npayload %q", req.label, what, strings.Join(resp.Msg, "; "), modelErr, tdShort(req.data))
		return
	case !resp.OK && err == nil:
		d.add("%s [%s]: PHP rejects (%s), phpser accepts\npayload %q", req.label, what, strings.Join(resp.Msg, "; "), tdShort(req.data))
		return
	case !resp.OK:
		return
	case modelErr != nil:
		d.add("%s [%s]: both accept, but the test's model of PHP fails: %v\npayload %q", req.label, what, modelErr, tdShort(req.data))
		return
	case encErr != nil:
		d.add("%s [%s]: phpser cannot re-encode what it decoded: %v\npayload %q", req.label, what, encErr, tdShort(req.data))
		return
	}
	if req.M == "s" && req.H == phpser.HandlerMsgpack && strings.HasPrefix(req.label, "mutation") && !canonicalMsgpack(req.data) {
		// Forms msgpack-php's encoder never writes, which its decoder takes
		// in ways phpser models only in part (see msgpack.go).
		d.lenient++
		return
	}
	if !bytes.Equal(enc, req.data) {
		d.add("%s [%s]: phpser decode+encode changed the bytes\n got %q\nwant %q", req.label, what, tdShort(enc), tdShort(req.data))
	}
	if canonical {
		want := req.data
		if req.canon != nil {
			want = req.canon
		}
		if resp.E == nil && len(want) == 0 {
			// session_encode() of an empty php/php_binary session is
			// false; PHP writes a 0-byte file, as phpser does.
		} else if resp.E == nil {
			d.add("%s [%s]: PHP has no re-encoding (%s)\npayload %q", req.label, what, strings.Join(resp.Msg, "; "), tdShort(req.data))
		} else if phpEnc, _ := hex.DecodeString(*resp.E); !bytes.Equal(phpEnc, want) {
			d.add("%s [%s]: PHP re-encodes differently from phpser's canonical encoding\npayload %q\nphpser %q\nPHP    %q", req.label, what, tdShort(req.data), tdShort(want), tdShort(phpEnc))
		}
	}
	if resp.V == nil {
		return // too deep for JSON
	}
	want, err := tdNormalizePHPDump(resp.V)
	if err != nil {
		d.t.Fatalf("%s: PHP dump: %v", req.label, err)
	}
	want, specificW := normalizeClasses(want)
	got, specificG := normalizeClasses(dump)
	if specificW || specificG {
		d.classDep++
		return
	}
	if !bytes.Equal(got, want) {
		d.add("%s [%s]: decoded values differ\npayload %q\nphpser %s\nPHP    %s", req.label, what, tdShort(req.data), tdShort(got), tdShort(want))
	}
	if jsonOut != nil {
		d.compareJSON(req, what, resp.V, jsonOut)
	}
}

// compareJSON checks phpser's JSON mapping of a session (show -o json)
// against the mapping of shared/CLI.md applied to the value PHP decoded.
func (d *diffReport) compareJSON(req diffReq, what string, phpDump json.RawMessage, got []byte) {
	d.t.Helper()
	dec := json.NewDecoder(bytes.NewReader(phpDump))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		d.t.Fatalf("%s: PHP dump: %v", req.label, err)
	}
	m := &cliMapper{refs: map[string]any{}, objs: map[string]any{}, active: map[uintptr]bool{}}
	m.index(tree)
	want := m.session(tree, req.H)
	if m.skip != "" {
		return
	}
	gotTree, err := parseOrderedJSON(got)
	if err != nil {
		d.add("%s [%s]: phpser's JSON does not parse: %v\n%s", req.label, what, err, tdShort(got))
		return
	}
	if why := cliEqual(gotTree, want); why != "" {
		wantJSON, _ := json.Marshal(want)
		d.add("%s [%s]: JSON mapping differs from PHP's value (%s)\npayload %q\nphpser %s\nPHP    %s", req.label, what, why, tdShort(req.data), tdShort(got), tdShort(wantJSON))
	}
}

// cliKV is one member of a JSON object, kept in order.
type cliKV struct {
	K string
	V any
}

// cliFloat is a float the mapping must write with a fraction or exponent.
type cliFloat float64

// cliMapper applies shared/CLI.md's JSON mapping to a dump.php tree.
type cliMapper struct {
	refs   map[string]any // ref number -> its value node
	objs   map[string]any // object number -> its node
	nobj   int
	active map[uintptr]bool // nodes being written (recursion is written as null)
	skip   string           // why this value cannot be compared
}

// index numbers the refs and objects of the dump as dump.php did.
func (m *cliMapper) index(x any) {
	switch x := x.(type) {
	case map[string]any:
		switch x["t"] {
		case "ref":
			m.refs[fmt.Sprint(x["n"])] = x["v"]
		case "object", "custom":
			m.objs[strconv.Itoa(m.nobj)] = x
			m.nobj++
		}
		for _, k := range []string{"v", "e"} {
			if v, ok := x[k]; ok {
				m.index(v)
			}
		}
	case []any:
		for _, v := range x {
			m.index(v)
		}
	}
}

func (m *cliMapper) session(x any, h phpser.Handler) any {
	node, _ := x.(map[string]any)
	if node["t"] == "array" {
		// The session itself is always a JSON object.
		return m.members(node, false)
	}
	return m.value(x)
}

func cliString(hexStr any) string {
	b, _ := hex.DecodeString(fmt.Sprint(hexStr))
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r) // RuneError for each byte that is not UTF-8
		b = b[n:]
	}
	return sb.String()
}

func cliKey(k any) string {
	km, _ := k.(map[string]any)
	if i, ok := km["i"]; ok {
		return fmt.Sprint(i)
	}
	return cliString(km["s"])
}

// members maps array entries to a JSON object (object: property names
// without their visibility prefix).
func (m *cliMapper) members(node map[string]any, props bool) []cliKV {
	es, _ := node["e"].([]any)
	out := []cliKV{}
	seen := map[string]bool{}
	for _, e := range es {
		pair, _ := e.([]any)
		if len(pair) != 2 {
			continue
		}
		k := cliKey(pair[0])
		if props && strings.HasPrefix(k, "\x00") {
			if i := strings.IndexByte(k[1:], 0); i >= 0 {
				k = k[i+2:]
			}
		}
		if seen[k] {
			m.skip = "two properties with one plain name"
		}
		seen[k] = true
		out = append(out, cliKV{k, m.value(pair[1])})
	}
	return out
}

func (m *cliMapper) value(x any) any {
	node, _ := x.(map[string]any)
	switch node["t"] {
	case "null":
		return nil
	case "bool":
		return node["v"]
	case "int":
		return json.Number(fmt.Sprint(node["v"])) // dump.php writes ints as decimal strings
	case "float":
		switch v := fmt.Sprint(node["v"]); v {
		case "INF", "-INF", "NAN":
			return v
		default:
			f, _ := strconv.ParseFloat(v, 64)
			return cliFloat(f)
		}
	case "string":
		return cliString(node["hex"])
	case "array":
		es, _ := node["e"].([]any)
		list := true
		for i, e := range es {
			pair, _ := e.([]any)
			km, _ := pair[0].(map[string]any)
			if fmt.Sprint(km["i"]) != strconv.Itoa(i) {
				list = false
				break
			}
		}
		if !list {
			return m.members(node, false)
		}
		out := []any{}
		for _, e := range es {
			pair, _ := e.([]any)
			out = append(out, m.value(pair[1]))
		}
		return out
	case "object":
		id := nodeID(x)
		if m.active[id] {
			return nil
		}
		m.active[id] = true
		defer delete(m.active, id)
		return append([]cliKV{{"__class", node["class"]}}, m.members(node, true)...)
	case "custom":
		if !tdSerializableClasses[strings.ToLower(fmt.Sprint(node["class"]))] {
			m.skip = "C: of a class PHP cannot unserialize"
		}
		return []cliKV{{"__class", node["class"]}, {"__serialized", cliString(node["hex"])}}
	case "enum":
		return []cliKV{{"__enum", node["v"]}}
	case "ref":
		// The first place of a reference: what it holds is being written.
		v := node["v"]
		if vm, ok := v.(map[string]any); ok && vm["t"] == "array" {
			id := nodeID(v)
			m.active[id] = true
			defer delete(m.active, id)
		}
		return m.value(v)
	case "refto", "same":
		table := m.refs
		if node["t"] == "same" {
			table = m.objs
		}
		target := table[fmt.Sprint(node["n"])]
		id := nodeID(target)
		if m.active[id] {
			return nil // a reference back into a value being written
		}
		if tm, ok := target.(map[string]any); ok && tm["t"] == "array" {
			m.active[id] = true
			defer delete(m.active, id)
		}
		return m.value(target)
	}
	m.skip = fmt.Sprintf("dump node %v", node["t"])
	return nil
}

// nodeID identifies a dump node (a JSON object decoded as a map).
func nodeID(x any) uintptr {
	if x == nil {
		return 0
	}
	return reflect.ValueOf(x).Pointer()
}

// parseOrderedJSON parses JSON keeping object member order.
func parseOrderedJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var parse func() (any, error)
	parse = func() (any, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch tok {
		case json.Delim('{'):
			obj := []cliKV{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parse()
				if err != nil {
					return nil, err
				}
				obj = append(obj, cliKV{fmt.Sprint(kt), v})
			}
			_, err := dec.Token()
			return obj, err
		case json.Delim('['):
			arr := []any{}
			for dec.More() {
				v, err := parse()
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return tok, nil
	}
	return parse()
}

// cliEqual compares phpser's parsed JSON with the expected mapping and
// says where they differ ("" when equal).
func cliEqual(got, want any) string {
	switch w := want.(type) {
	case nil:
		if got != nil {
			return fmt.Sprintf("%v instead of null", got)
		}
	case bool:
		if got != w {
			return fmt.Sprintf("%v instead of %v", got, w)
		}
	case string:
		if got != w {
			return fmt.Sprintf("%q instead of %q", got, w)
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok || g.String() != w.String() {
			return fmt.Sprintf("%v instead of int %v", got, w)
		}
	case cliFloat:
		g, ok := got.(json.Number)
		if !ok || !strings.ContainsAny(g.String(), ".eE") {
			return fmt.Sprintf("%v instead of float %v (needs a fraction or exponent)", got, float64(w))
		}
		f, err := strconv.ParseFloat(g.String(), 64)
		if err != nil || f != float64(w) || math.Signbit(f) != math.Signbit(float64(w)) {
			return fmt.Sprintf("%v instead of float %v", g, float64(w))
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%.80v instead of a %d-element array", got, len(w))
		}
		for i := range w {
			if why := cliEqual(g[i], w[i]); why != "" {
				return fmt.Sprintf("[%d]: %s", i, why)
			}
		}
	case []cliKV:
		g, ok := got.([]cliKV)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%.80v instead of a %d-member object", got, len(w))
		}
		for i := range w {
			if g[i].K != w[i].K {
				return fmt.Sprintf("member %d is %q instead of %q", i, g[i].K, w[i].K)
			}
			if w[i].K == "__class" && strings.EqualFold(fmt.Sprint(g[i].V), fmt.Sprint(w[i].V)) {
				continue // PHP reports a known class by its declared spelling
			}
			if w[i].K == "__enum" {
				gc, gcase, _ := strings.Cut(fmt.Sprint(g[i].V), ":")
				wc, wcase, _ := strings.Cut(fmt.Sprint(w[i].V), ":")
				if strings.EqualFold(gc, wc) && gcase == wcase {
					continue // the enum's class by its declared spelling
				}
			}
			if why := cliEqual(g[i].V, w[i].V); why != "" {
				return fmt.Sprintf("%q: %s", w[i].K, why)
			}
		}
	default:
		return fmt.Sprintf("unexpected %T", want)
	}
	return ""
}

// diffTestdataReqs returns a request for every testdata payload: sessions
// and demo under their handler, malformed under theirs, and php_serialize
// payloads also as plain values.
func diffTestdataReqs(t *testing.T) []diffReq {
	var reqs []diffReq
	for _, f := range tdSessions(t) {
		reqs = append(reqs, sessReq("sessions/"+f.name, f.handler, f.data))
		if f.handler == phpser.HandlerPHPSerialize && len(f.data) > 0 {
			reqs = append(reqs, valReq("sessions/"+f.name, f.data))
		}
	}
	demo, _ := filepath.Glob(filepath.Join(tdDir, "demo", "sess_*"))
	for _, p := range demo {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, sessReq("demo/"+filepath.Base(p), phpser.HandlerPHP, b))
	}
	for _, v := range tdVerdicts(t) {
		b, err := os.ReadFile(filepath.Join(tdDir, "malformed", v.File))
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, sessReq("malformed/"+v.File, v.Handler, b))
		if v.Handler == phpser.HandlerPHPSerialize && len(b) > 0 {
			reqs = append(reqs, valReq("malformed/"+v.File, b))
		}
	}
	return reqs
}

func TestDifferentialTestdata(t *testing.T) {
	phptest.Extensions(t, "igbinary", "msgpack")
	reqs := diffTestdataReqs(t)
	resps := diffAsk(t, reqs)
	rep := &diffReport{t: t}
	for i, req := range reqs {
		rep.compare(req, resps[i], false)
	}
	rep.done(len(reqs))
}

func diffSeedN(t *testing.T) (uint64, int) {
	seed, n := uint64(1), 2000
	if testing.Short() {
		n = 300
	}
	if s := os.Getenv("SESSTOOL_DIFF_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SESSTOOL_DIFF_SEED: %v", err)
		}
		seed = v
	}
	if s := os.Getenv("SESSTOOL_DIFF_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("SESSTOOL_DIFF_N: %v", err)
		}
		n = v
	}
	return seed, n
}

// TestDifferentialGenerated: random values and sessions, encoded by
// phpser, must be read by PHP as the same value and re-encoded by PHP to
// the same bytes.
func TestDifferentialGenerated(t *testing.T) {
	phptest.Extensions(t, "igbinary", "msgpack")
	seed, n := diffSeedN(t)
	t.Logf("seed %d, %d values, %d sessions per handler (SESSTOOL_DIFF_SEED, SESSTOOL_DIFF_N)", seed, n, n/4)
	g := newValueGen(seed)
	var reqs []diffReq
	for i := range n {
		v := g.value()
		data, err := phpser.EncodeValue(v)
		if err != nil {
			t.Fatalf("generated value %d: EncodeValue: %v", i, err)
		}
		reqs = append(reqs, valReq(fmt.Sprintf("value #%d", i), data))
	}
	for _, h := range tdHandlers {
		for i := range n / 4 {
			s := g.session(h)
			if h == phpser.HandlerMsgpack {
				msgpackable(&s.Root)
			}
			data, err := phpser.EncodeSession(s)
			if err != nil {
				t.Fatalf("generated %s session %d: EncodeSession: %v", h, i, err)
			}
			reqs = append(reqs, sessReq(fmt.Sprintf("%s session #%d", h, i), h, data))
		}
	}
	// The generator must actually produce every construct.
	counts := map[string]int{"R:": 0, "r:": 0, "O:": 0, "C:": 0, "E:": 0, "d:": 0, "a:0:{}": 0, "\x00*\x00": 0}
	for _, req := range reqs {
		for _, tok := range []string{"R:", "r:", "O:", "C:", "E:", "d:", "a:0:{}", "\x00*\x00"} {
			if bytes.Contains(req.data, []byte(tok)) {
				counts[tok]++
			}
		}
	}
	t.Logf("payloads containing each token: %v", counts)
	for tok, c := range counts {
		if c == 0 && n >= 300 {
			t.Errorf("no generated payload contains %q", tok)
		}
	}
	// Detection is a guess where bytes are valid under two handlers
	// (php key "\x05abcd" and php_binary key "abcd|" are the same bytes);
	// generated keys hold control bytes, so count, do not fail.
	misdetected, example := 0, ""
	for _, req := range reqs {
		if req.M != "s" || len(req.data) == 0 {
			continue
		}
		if h, _ := phpser.Detect(req.data); h != req.H {
			if misdetected == 0 {
				example = fmt.Sprintf("%s payload %q detected as %s", req.H, tdShort(req.data), h)
			}
			misdetected++
		}
	}
	t.Logf("Detect: %d of %d generated sessions detected as another handler; first: %s", misdetected, 3*(n/4), example)
	resps := diffAsk(t, reqs)
	rep := &diffReport{t: t}
	for i, req := range reqs {
		rep.compare(req, resps[i], true)
	}
	rep.done(len(reqs))
}

// TestDifferentialMutated: corrupted and mutated payloads (from generated
// values and every testdata file); PHP and phpser must agree on accept or
// reject, and on the value when both accept.
func TestDifferentialMutated(t *testing.T) {
	phptest.Extensions(t, "igbinary", "msgpack")
	seed, n := diffSeedN(t)
	g := newValueGen(seed + 1000)
	r := rand.New(rand.NewPCG(seed, 0x6d757461))
	var base []diffReq
	for _, req := range diffTestdataReqs(t) {
		if len(req.data) > 0 && len(req.data) < 4096 {
			base = append(base, req)
		}
	}
	for i := range n / 4 {
		if data, err := phpser.EncodeValue(g.value()); err == nil {
			base = append(base, valReq(fmt.Sprintf("value #%d", i), data))
		}
		h := tdHandlers[i%3]
		if data, err := phpser.EncodeSession(g.session(h)); err == nil && len(data) > 0 {
			base = append(base, sessReq(fmt.Sprintf("%s session #%d", h, i), h, data))
		}
	}
	var reqs []diffReq
	for i := range 2 * n {
		b := base[r.IntN(len(base))]
		m, how := mutate(r, b.data)
		req := b
		req.data, req.X = m, hex.EncodeToString(m)
		req.label = fmt.Sprintf("mutation #%d (%s of %s)", i, how, b.label)
		reqs = append(reqs, req)
	}
	resps := diffAsk(t, reqs)
	rep := &diffReport{t: t}
	for i, req := range reqs {
		rep.compare(req, resps[i], false)
	}
	rep.done(len(reqs))
}

// TestDifferentialLenient: generated values written partly in spellings
// PHP reads but never writes (i:+5; i:007; d:.5; d:1.00000000000000000e+00;
// S: escaped strings, such keys too). phpser must give back the same bytes
// (Raw) and the same value as PHP, and PHP's canonical re-encoding must be
// phpser's encoding of the value with the spellings dropped.
func TestDifferentialLenient(t *testing.T) {
	phptest.Extensions(t, "igbinary", "msgpack")
	seed, n := diffSeedN(t)
	g := newValueGen(seed + 2000)
	var reqs []diffReq
	raws := 0
	for i := range n {
		v := g.value()
		canon, err := phpser.EncodeValue(v)
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		raws += g.lenient(&v)
		data, err := phpser.EncodeValue(v)
		if err != nil {
			t.Fatalf("lenient value %d: %v", i, err)
		}
		req := valReq(fmt.Sprintf("lenient value #%d", i), data)
		req.canon = canon
		reqs = append(reqs, req)
	}
	differ, example := 0, []byte(nil)
	for _, req := range reqs {
		if !bytes.Equal(req.data, req.canon) {
			differ++
			example = req.data
		}
	}
	t.Logf("%d values, %d tokens respelled, %d payloads non-canonical; e.g. %q", n, raws, differ, tdShort(example))
	if differ < n/5 {
		t.Fatalf("only %d of %d payloads respelled", differ, n)
	}
	resps := diffAsk(t, reqs)
	rep := &diffReport{t: t}
	for i, req := range reqs {
		rep.compare(req, resps[i], true)
	}
	rep.done(len(reqs))
}

// lenient respells some scalars and keys of v in forms PHP accepts but
// never writes, through Raw, and returns how many it respelled.
func (g *valueGen) lenient(v *phpser.Value) int {
	n := 0
	r := g.r
	if r.IntN(3) == 0 {
		switch v.Kind {
		case phpser.KindInt:
			v.Raw = "i:" + lenientInt(r, v.Int) + ";"
			n++
		case phpser.KindFloat:
			if !math.IsInf(v.Float, 0) && !math.IsNaN(v.Float) {
				spell := []string{
					strconv.FormatFloat(v.Float, 'e', 20, 64),
					strconv.FormatFloat(v.Float, 'E', -1, 64),
					strconv.FormatFloat(v.Float, 'f', -1, 64),
				}[r.IntN(3)]
				if !strings.HasPrefix(spell, "-") && r.IntN(2) == 0 {
					spell = "+" + spell
				}
				if v.Float == math.Trunc(v.Float) && math.Abs(v.Float) < 1e15 && r.IntN(2) == 0 {
					spell = strconv.FormatFloat(v.Float, 'f', 0, 64) + "." // d:5.;
				}
				if v.Float == 0 && math.Signbit(v.Float) {
					spell = "-0.0"
				}
				v.Raw = "d:" + spell + ";"
				n++
			}
		case phpser.KindString:
			v.Raw = lenientString(r, v.Str) + ";"
			n++
		}
	}
	for i := range v.Elems {
		e := &v.Elems[i]
		if v.Kind == phpser.KindArray && r.IntN(4) == 0 {
			if e.Key.IsInt {
				e.Key.Raw = "i:" + lenientInt(r, e.Key.Int) + ";"
			} else {
				e.Key.Raw = lenientString(r, e.Key.Str) + ";"
			}
			n++
		}
		n += g.lenient(&e.Val)
	}
	return n
}

func lenientInt(r *rand.Rand, i int64) string {
	s := strconv.FormatInt(i, 10)
	digits, sign := strings.TrimPrefix(s, "-"), ""
	if i < 0 {
		sign = "-"
	} else if r.IntN(2) == 0 {
		sign = "+"
	}
	return sign + strings.Repeat("0", r.IntN(3)) + digits
}

// lenientString writes s as S:<len>:"..." with some bytes as \xx escapes
// (either case) and every backslash escaped.
func lenientString(r *rand.Rand, s string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "S:%d:\"", len(s))
	for _, c := range []byte(s) {
		switch {
		case c == '\\' || r.IntN(3) == 0:
			if r.IntN(2) == 0 {
				fmt.Fprintf(&b, "\\%02x", c)
			} else {
				fmt.Fprintf(&b, "\\%02X", c)
			}
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString("\"")
	return b.String()
}

// mutate returns a corrupted copy of data and what was done.
func mutate(r *rand.Rand, data []byte) ([]byte, string) {
	const alphabet = "0123456789:;{}\"|aisdbNOCERrS-+.eE\n\x00\x7f\x81"
	b := bytes.Clone(data)
	p := r.IntN(len(b) + 1)
	switch r.IntN(7) {
	case 0:
		return b[:p], "truncate"
	case 1:
		if p < len(b) {
			return append(b[:p], b[p+1:]...), "delete"
		}
		return b, "none"
	case 2:
		c := alphabet[r.IntN(len(alphabet))]
		return append(b[:p], append([]byte{c}, b[p:]...)...), "insert"
	case 3:
		if p < len(b) {
			b[p] = alphabet[r.IntN(len(alphabet))]
		}
		return b, "replace"
	case 4:
		// Change a number: lengths, counts, slots.
		for i := p; i < len(b); i++ {
			if b[i] >= '0' && b[i] <= '9' {
				j := i
				for j < len(b) && b[j] >= '0' && b[j] <= '9' {
					j++
				}
				nums := []string{"0", "1", "2", "3", "9", "10", "99", "4096", "999999999", "99999999999999999999", "-1"}
				return concatBytes(b[:i], []byte(nums[r.IntN(len(nums))]), b[j:]), "renumber"
			}
		}
		return b, "none"
	case 5:
		q := p + r.IntN(len(b)-p+1)
		return concatBytes(b[:q], b[p:q], b[q:]), "duplicate"
	default:
		return append(b, "\n"[0]), "append newline"
	}
}

func concatBytes(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ---------------------------------------------------------------------
// A seeded generator of PHP values that phpser encodes canonically: the
// bytes PHP's serialize() would write for the same value.

type valueGen struct {
	r *rand.Rand

	slot    int64            // slots numbered so far
	done    []int64          // slots of completed non-object values (R: targets)
	objs    []int64          // slots of objects, completed or open (r: targets)
	enums   map[string]int64 // enum case -> slot of its first E:
	targets map[int64]bool   // slots some R:/r: names
}

func newValueGen(seed uint64) *valueGen {
	return &valueGen{r: rand.New(rand.NewPCG(seed, 0x73657373))}
}

func (g *valueGen) reset() {
	g.slot, g.done, g.objs = 0, nil, nil
	g.enums = map[string]int64{}
	g.targets = map[int64]bool{}
}

// value returns one random value (a lone unserialize() input: slot 1).
func (g *valueGen) value() phpser.Value {
	g.reset()
	v := g.gen(0)
	g.anchor(&v, false)
	return v
}

// session returns a random session for handler h.
func (g *valueGen) session(h phpser.Handler) *phpser.Session {
	g.reset()
	n := g.r.IntN(6)
	var root phpser.Value
	if h == phpser.HandlerPHPSerialize {
		g.slot++ // the $_SESSION array is slot 1
		root = phpser.Array(g.entries(n, 1)...)
	} else {
		seen := map[string]bool{}
		var es []phpser.Entry
		for range n {
			k := g.str()
			if h == phpser.HandlerPHP {
				k = strings.ReplaceAll(k, "|", "")
			}
			if len(k) > 127 || seen[k] || h == phpser.HandlerMsgpack && phpser.ArrayKey(k).IsInt {
				continue
			}
			seen[k] = true
			es = append(es, phpser.Entry{Key: phpser.StrKey(k), Val: g.gen(1)})
		}
		root = phpser.Array(es...)
	}
	g.anchor(&root, h != phpser.HandlerPHPSerialize)
	return &phpser.Session{Handler: h, Root: root}
}

// anchor sets Anchor on every value some reference names, numbering slots
// as PHP does (every value but R: takes one; keys take none). With entries
// set, root is a php/php_binary session: its entries are the top-level
// values and root itself takes no slot.
func (g *valueGen) anchor(root *phpser.Value, entries bool) {
	var slot int64
	var walk func(v *phpser.Value)
	walk = func(v *phpser.Value) {
		if v.Kind != phpser.KindRef {
			slot++
			if g.targets[slot] {
				v.Anchor = slot
			}
		}
		for i := range v.Elems {
			walk(&v.Elems[i].Val)
		}
	}
	if !entries {
		walk(root)
		return
	}
	for i := range root.Elems {
		walk(&root.Elems[i].Val)
	}
}

func (g *valueGen) gen(depth int) phpser.Value {
	r := g.r
	// References to earlier values.
	if depth > 0 && r.IntN(12) == 0 {
		if len(g.done) > 0 && r.IntN(2) == 0 {
			t := g.done[r.IntN(len(g.done))]
			g.targets[t] = true
			return phpser.Value{Kind: phpser.KindRef, Int: t}
		}
		if len(g.objs) > 0 {
			t := g.objs[r.IntN(len(g.objs))]
			g.targets[t] = true
			g.slot++
			return phpser.Value{Kind: phpser.KindObjRef, Int: t}
		}
	}
	g.slot++
	my := g.slot
	var v phpser.Value
	k := r.IntN(14)
	if depth >= 4 && k >= 9 {
		k = r.IntN(9)
	}
	switch k {
	case 0:
		v = phpser.Null()
	case 1:
		v = phpser.Bool(r.IntN(2) == 0)
	case 2, 3:
		v = phpser.Int(g.int())
	case 4, 5:
		v = phpser.Float(g.float())
	case 6, 7, 8:
		v = phpser.String(g.str())
	case 9, 10:
		v = phpser.Array(g.entries(r.IntN(5), depth+1)...)
	case 11:
		classes := []string{"stdClass", "stdClass", "Gen\\Thing", "Missing_Model", "Money"}
		c := classes[r.IntN(len(classes))]
		g.objs = append(g.objs, my)
		if c == "Money" {
			v = phpser.Object(c, g.entries(r.IntN(4), depth+1)...)
		} else {
			v = phpser.Object(c, g.props(c, r.IntN(4), depth+1)...)
		}
		return v // objects are r: targets, never R: targets here
	case 12:
		g.objs = append(g.objs, my)
		return phpser.Custom("LegacyToken", g.str())
	default:
		cases := []string{"Suit:Hearts", "Suit:Spades", "Status:Active", "Status:Banned"}
		c := cases[r.IntN(len(cases))]
		if s, ok := g.enums[c]; ok {
			g.targets[s] = true
			return phpser.Value{Kind: phpser.KindObjRef, Int: s}
		}
		g.enums[c] = my
		g.objs = append(g.objs, my)
		return phpser.Enum(c)
	}
	if v.Kind != phpser.KindArray || r.IntN(3) == 0 {
		g.done = append(g.done, my)
	}
	return v
}

// entries returns n array entries with distinct keys, numeric strings
// written as ints (as PHP holds them).
func (g *valueGen) entries(n, depth int) []phpser.Entry {
	es := make([]phpser.Entry, 0, n)
	seen := map[string]bool{}
	for range n {
		var key phpser.Key
		if g.r.IntN(2) == 0 {
			key = phpser.IntKey(g.int())
		} else {
			s := g.str()
			if i, ok := tdNumericKey(s); ok {
				key = phpser.IntKey(i)
			} else {
				key = phpser.StrKey(s)
			}
		}
		id := fmt.Sprint(key.IsInt, key.Int, key.Str)
		if seen[id] {
			continue
		}
		seen[id] = true
		es = append(es, phpser.Entry{Key: key, Val: g.gen(depth)})
	}
	return es
}

// props returns n properties with distinct non-numeric names, some
// protected or private.
func (g *valueGen) props(class string, n, depth int) []phpser.Entry {
	es := make([]phpser.Entry, 0, n)
	seen := map[string]bool{}
	for range n {
		name := g.str()
		if _, numeric := tdNumericKey(name); numeric || name == "" || strings.IndexByte(name, 0) >= 0 {
			name = "p" + strconv.Itoa(g.r.IntN(100))
		}
		key := phpser.StrKey(name)
		switch g.r.IntN(4) {
		case 0:
			key = phpser.PropKey(name, phpser.Protected, "")
		case 1:
			key = phpser.PropKey(name, phpser.Private, class)
		}
		if seen[key.Str] {
			continue
		}
		seen[key.Str] = true
		es = append(es, phpser.Entry{Key: key, Val: g.gen(depth)})
	}
	return es
}

func (g *valueGen) int() int64 {
	switch g.r.IntN(4) {
	case 0:
		edge := []int64{0, 1, -1, 7, 42, -42, math.MaxInt64, math.MinInt64, 1 << 53, -(1 << 53), 1763715600}
		return edge[g.r.IntN(len(edge))]
	case 1:
		return int64(g.r.Uint64())
	}
	return int64(g.r.IntN(2000)) - 1000
}

func (g *valueGen) float() float64 {
	switch g.r.IntN(5) {
	case 0:
		edge := []float64{0.1, 1.0, math.Copysign(0, -1), 0, 1.5, 1e15, 1e16, 1e17, 1e25, 1e-4, 1e-5,
			0.00012345, 123456789012345678.0, math.Inf(1), math.Inf(-1), math.NaN(), 1.0 / 3,
			math.MaxFloat64, 2.2250738585072014e-308, 5e-324, 1.25e-7, 100.0, 19.99, -2.5, 1 << 53}
		return edge[g.r.IntN(len(edge))]
	case 1:
		return math.Float64frombits(g.r.Uint64())
	case 2:
		return float64(g.r.IntN(1_000_000)-500_000) / 100
	case 3:
		return math.Pow(10, float64(g.r.IntN(60)-30)) * float64(g.r.IntN(9)+1)
	}
	return g.r.NormFloat64() * 1e6
}

func (g *valueGen) str() string {
	pools := []string{
		"abcdefghijklmnopqrstuvwxyz_ABC",
		"|;:\"{}\\\x00\n\r ",
		"0123456789-+.eE",
	}
	n := g.r.IntN(12)
	if g.r.IntN(20) == 0 {
		n = g.r.IntN(300)
	}
	var b strings.Builder
	for range n {
		switch g.r.IntN(8) {
		case 0:
			b.WriteString([]string{"é", "日本", "🎉", "Zoë"}[g.r.IntN(4)])
		case 1:
			b.WriteByte(byte(g.r.IntN(256)))
		default:
			p := pools[g.r.IntN(len(pools))]
			b.WriteByte(p[g.r.IntN(len(p))])
		}
	}
	return b.String()
}
