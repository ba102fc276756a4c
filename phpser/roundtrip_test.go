package phpser

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// valueGen builds random value trees with every kind, PHP-style keys and
// consistent references (targets precede their refs in slot order).
type valueGen struct {
	r       *rand.Rand
	seen    []*Value // non-ref values generated so far, in slot order
	anchors int64
	maxLen  int
}

func newValueGen(seed uint64) *valueGen {
	return &valueGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), maxLen: 6}
}

var genStrings = []string{"", "a", "Zoë", "x\x00y", `|;:"{}`, "5", "05", "-0", "-3", "\xff\xfe", "line\nbreak", "9223372036854775808", strings.Repeat("long", 20)}

func (g *valueGen) str() string {
	if g.r.IntN(4) == 0 {
		b := make([]byte, g.r.IntN(12))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return string(b)
	}
	return genStrings[g.r.IntN(len(genStrings))]
}

var genFloats = []float64{0, 0.1, 1, -1.5, 1e25, 1e-5, 1e16, 1e17, 1.0 / 3, math.MaxFloat64, 5e-324, math.Inf(1), math.Inf(-1), math.NaN(), math.Copysign(0, -1), 100, 0.0001}

func (g *valueGen) key(array bool) Key {
	switch g.r.IntN(3) {
	case 0:
		return IntKey(g.r.Int64N(20) - 5)
	case 1:
		if g.r.IntN(8) == 0 {
			return IntKey(int64(g.r.Uint64()))
		}
	}
	s := g.str()
	if array {
		// PHP arrays never hold numeric string keys: they become ints.
		if n, ok := numericKey(s); ok {
			return IntKey(n)
		}
	}
	return StrKey(s)
}

func (g *valueGen) anchor(v *Value) int64 {
	if v.Anchor == 0 {
		g.anchors += 1 + g.r.Int64N(5)
		v.Anchor = g.anchors
	}
	return v.Anchor
}

func (g *valueGen) value(v *Value, depth int) {
	k := g.r.IntN(13)
	if depth <= 0 && (k == 5 || k == 6) {
		k = 2
	}
	switch k {
	case 0:
		*v = Null()
	case 1:
		*v = Bool(g.r.IntN(2) == 0)
	case 2:
		n := g.r.Int64N(2000) - 1000
		if g.r.IntN(5) == 0 {
			n = int64(g.r.Uint64())
		}
		*v = Int(n)
	case 3:
		f := genFloats[g.r.IntN(len(genFloats))]
		if g.r.IntN(2) == 0 {
			f = math.Float64frombits(g.r.Uint64())
		}
		*v = Float(f)
	case 4:
		*v = String(g.str())
	case 5, 6:
		array := k == 5
		n := g.r.IntN(g.maxLen)
		if array {
			*v = Value{Kind: KindArray}
		} else {
			*v = Object([]string{"User", "stdClass", "App\\Model\\Cart", "X"}[g.r.IntN(4)])
		}
		if n > 0 {
			v.Elems = make([]Entry, n)
		}
		g.seen = append(g.seen, v)
		used := map[Key]bool{}
		for i := range v.Elems {
			// PHP arrays and objects hold each key once.
			k := g.key(array)
			for j := 0; used[dupKey(k, !array)]; j++ {
				k = IntKey(int64(100000 + 7*i + j))
			}
			used[dupKey(k, !array)] = true
			v.Elems[i].Key = k
			g.value(&v.Elems[i].Val, depth-1)
		}
		return
	case 7:
		*v = Custom("Ser", g.str())
	case 8:
		*v = Enum("Suit:Hearts")
	case 9, 10:
		if len(g.seen) > 0 {
			t := g.seen[g.r.IntN(len(g.seen))]
			*v = Value{Kind: KindRef, Int: g.anchor(t)}
			return // R: takes no slot
		}
		*v = Null()
	case 11, 12:
		var objs []*Value
		for _, s := range g.seen {
			if s.Kind == KindObject || s.Kind == KindCustom || s.Kind == KindEnum || s.Kind == KindObjRef {
				objs = append(objs, s)
			}
		}
		if len(objs) > 0 {
			t := objs[g.r.IntN(len(objs))]
			*v = Value{Kind: KindObjRef, Int: g.anchor(t)}
		} else {
			*v = Int(1)
		}
	}
	g.seen = append(g.seen, v)
}

func (g *valueGen) session(h Handler) *Session {
	s := &Session{Handler: h}
	if h == HandlerPHPSerialize {
		g.value(&s.Root, 4)
		return s
	}
	n := g.r.IntN(6)
	s.Root = Value{Kind: KindArray, Elems: make([]Entry, n)}
	for i := range s.Root.Elems {
		k := strings.ReplaceAll(g.str(), "|", "")
		if len(k) > 127 {
			k = k[:127]
		}
		s.Root.Elems[i].Key = StrKey(k)
		g.value(&s.Root.Elems[i].Val, 4)
	}
	return s
}

// Encode, decode, encode: the bytes are stable and the decoder accepts all
// of what the encoder writes.
func TestRoundTripGeneratedValues(t *testing.T) {
	for seed := range uint64(3000) {
		g := newValueGen(seed)
		var v Value
		g.value(&v, 5)
		b1, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("seed %d: encode: %v", seed, err)
		}
		v2, n, err := DecodeValue(b1)
		if err != nil || n != len(b1) {
			t.Fatalf("seed %d: decode %q: n=%d %v", seed, b1, n, err)
		}
		b2, err := EncodeValue(v2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("seed %d: re-encode differs:\n%q\n%q %v", seed, b1, b2, err)
		}
		if !hasRefs(&v) && !Equal(v, v2) {
			t.Fatalf("seed %d: tree differs after round trip: %q", seed, b1)
		}
	}
}

func TestRoundTripGeneratedSessions(t *testing.T) {
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
		for seed := range uint64(1000) {
			s := newValueGen(seed).session(h)
			b1, err := EncodeSession(s)
			if err != nil {
				t.Fatalf("%s seed %d: encode: %v", h, seed, err)
			}
			s2, err := DecodeSession(b1, h)
			if err != nil {
				t.Fatalf("%s seed %d: decode %q: %v", h, seed, b1, err)
			}
			b2, err := EncodeSession(s2)
			if err != nil || !bytes.Equal(b1, b2) {
				t.Fatalf("%s seed %d: re-encode differs:\n%q\n%q %v", h, seed, b1, b2, err)
			}
		}
	}
}

func hasRefs(v *Value) bool { return v.Any(IsLinked) }

// mutate returns a deterministic corruption of b: byte changes, inserts,
// deletes, duplicated chunks, truncation, with serialize-grammar bytes.
func mutate(r *rand.Rand, b []byte) []byte {
	const alphabet = "0123456789:;{}\"aisdbNOCSErR-+.eE|\\\x00\x01\x7f\x80x"
	out := append([]byte(nil), b...)
	for range 1 + r.IntN(3) {
		if len(out) == 0 {
			out = append(out, alphabet[r.IntN(len(alphabet))])
			continue
		}
		i := r.IntN(len(out))
		switch r.IntN(6) {
		case 0:
			out[i] = alphabet[r.IntN(len(alphabet))]
		case 1:
			out = append(out[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, out[i:]...)...)
		case 2:
			out = append(out[:i], out[i+1:]...)
		case 3:
			j := min(len(out), i+1+r.IntN(12))
			out = append(out[:j], append(append([]byte(nil), out[i:j]...), out[j:]...)...)
		case 4:
			out = out[:i]
		case 5:
			if out[i] >= '0' && out[i] <= '9' {
				out[i] = byte('0' + (int(out[i]-'0')+1+r.IntN(9))%10)
			}
		}
	}
	return out
}

// Lossless: whatever decodes, however odd, encodes back to the same bytes.
func TestMutantsRoundTripByteExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seeds := [][]byte{[]byte(vec91Serialize), []byte(vecRefsSerialize)}
	for seed := range uint64(200) {
		g := newValueGen(seed)
		var v Value
		g.value(&v, 4)
		b, _ := EncodeValue(v)
		seeds = append(seeds, b)
	}
	accepted := 0
	for i := range 40000 {
		m := mutate(r, seeds[i%len(seeds)])
		v, n, err := DecodeValue(m)
		if err != nil {
			continue
		}
		accepted++
		out, err := EncodeValue(v)
		if err != nil || !bytes.Equal(out, m[:n]) {
			t.Fatalf("mutant %q: decoded n=%d, re-encoded %q, %v", m, n, out, err)
		}
	}
	t.Logf("%d of 40000 mutants decoded and re-encoded byte-exact", accepted)
	if accepted < 1000 {
		t.Errorf("only %d mutants decoded: the mutator is too destructive to test anything", accepted)
	}
}

func TestMutantSessionsRoundTripByteExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, h := range []Handler{HandlerPHP, HandlerPHPBinary, HandlerPHPSerialize} {
		var seeds [][]byte
		for seed := range uint64(100) {
			b, _ := EncodeSession(newValueGen(seed).session(h))
			seeds = append(seeds, b)
		}
		accepted := 0
		for i := range 20000 {
			m := mutate(r, seeds[i%len(seeds)])
			s, err := DecodeSession(m, h)
			if err != nil {
				continue
			}
			accepted++
			out, err := EncodeSession(s)
			if err != nil || !bytes.Equal(out, m) {
				t.Fatalf("%s mutant %q: re-encoded %q, %v", h, m, out, err)
			}
		}
		t.Logf("%s: %d of 20000 mutants decoded and re-encoded byte-exact", h, accepted)
	}
}
