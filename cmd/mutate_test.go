package cmd

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/phpser"
)

// genSession writes a php, php_binary or php_serialize session of n variables drawn
// from few keys (so some repeat), with nested arrays and objects and, when
// tied is set, a reference or a Serializable payload somewhere.
func genSession(r *rand.Rand, h phpser.Handler, n int, tied bool) []byte {
	var b strings.Builder
	keys := []string{"a", "b", "user", "cart", "k|x", "n", "z", "/a", "/"}
	val := func() string {
		switch r.IntN(6) {
		case 0:
			return fmt.Sprintf("i:%d;", r.IntN(1000)-500)
		case 1:
			s := strings.Repeat("x", r.IntN(40))
			return fmt.Sprintf(`s:%d:"%s";`, len(s), s)
		case 2:
			return fmt.Sprintf(`a:2:{s:2:"id";i:%d;s:3:"sub";a:1:{i:0;b:1;}}`, r.IntN(100))
		case 3:
			return `O:8:"stdClass":1:{s:1:"p";d:0.5;}`
		case 4:
			return "N;"
		}
		return "a:0:{}"
	}
	if h == phpser.HandlerPHPSerialize {
		keys = append(keys, "5", "-1")
		fmt.Fprintf(&b, "a:%d:{", n)
	}
	for i := range n {
		k := keys[r.IntN(len(keys))]
		switch {
		case h == phpser.HandlerPHPSerialize && (k == "5" || k == "-1"):
			b.WriteString("i:" + k + ";")
		case h == phpser.HandlerPHPSerialize:
			fmt.Fprintf(&b, `s:%d:"%s";`, len(k), k)
		case h == phpser.HandlerPHP:
			k = strings.ReplaceAll(k, "|", "")
			b.WriteString(k + "|")
		default:
			b.WriteByte(byte(len(k)))
			b.WriteString(k)
		}
		if tied && i == n-1 {
			if r.IntN(2) == 0 {
				// php_serialize: slot 1 is the root array, 2 the first
				// entry's value (R:1 there has the whole decode decide).
				ref := "R:1;"
				if h == phpser.HandlerPHPSerialize && r.IntN(4) > 0 {
					ref = "R:2;"
				}
				b.WriteString(ref)
			} else {
				b.WriteString(`C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}`)
			}
			continue
		}
		b.WriteString(val())
	}
	if h == phpser.HandlerPHPSerialize {
		b.WriteByte('}')
		if r.IntN(8) == 0 {
			b.WriteString("trailing")
		}
	}
	return []byte(b.String())
}

// TestMutateTopMatchesMutateWhole: set and unset changing a session an
// entry at a time give the bytes, or the error, of changing the whole
// decoded tree, for keys that are there once, several times or not at
// all, nested JSON Pointers, keys the handler cannot store, and sessions
// with a reference or payload (walked a variable at a time when no key repeats, and a php_serialize one when nothing names its root).
func TestMutateTopMatchesMutateWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	type change struct {
		name string
		top  string
		f    mutation
		key  string
	}
	set := func(key string, v phpser.Value) change {
		return change{"set " + key, topOf(key), func(s *phpser.Session) (bool, error) {
			if err := s.Set(key, v); err != nil {
				return false, pathErr(fmt.Errorf("cannot set %q: %w", key, err))
			}
			return true, nil
		}, key}
	}
	unset := func(key string) change {
		return change{"unset " + key, topOf(key), func(s *phpser.Session) (bool, error) {
			removed, err := s.Unset(key)
			if err != nil {
				return false, pathErr(fmt.Errorf("cannot unset %q: %w", key, err))
			}
			return removed, nil
		}, key}
	}
	changes := []change{
		set("a", phpser.Int(7)), set("new", phpser.String("v")), set("/user/id", phpser.Int(42)),
		set("/user/sub/5", phpser.Bool(false)), set("/cart/x/y", phpser.Null()), set("k|x", phpser.Int(1)),
		set("/n", phpser.Array()), set("z", phpser.String(strings.Repeat("long", 100))),
		unset("a"), unset("/user/sub"), unset("missing"), unset("/b/id"), unset("k|x"),
		set("/~1a", phpser.Int(5)), unset("/~1a"), set("/~1a/b", phpser.Int(2)), set("/~1", phpser.Null()),
		set("5", phpser.Int(6)), unset("5"), set("/-1/x", phpser.Int(1)), unset("-1"), set("7", phpser.Null()),
		unset("/user/sub/0"), set("/user/sub/0", phpser.Int(3)), set("/user/name", phpser.String("n")), set("/user/sub/-", phpser.Int(1)),
		set("/cart/p", phpser.Array(phpser.Entry{Key: phpser.StrKey("q"), Val: phpser.Int(1)})), unset("/n/0"), set("/5/x", phpser.Int(1)),
	}
	// Changes below the top level spliced into the old bytes (mutateDeep),
	// whatever the session's size here.
	defer func(n int) { deepChangeMin = n }(deepChangeMin)
	deepChangeMin = 0
	deep := map[phpser.Handler]int{}
	streamed, whole := 0, 0
	by, linked := map[phpser.Handler]int{}, map[phpser.Handler]int{}
	for i := range 600 {
		h := []phpser.Handler{phpser.HandlerPHP, phpser.HandlerPHPBinary, phpser.HandlerPHPSerialize}[i%3]
		old := genSession(r, h, 1+r.IntN(12), i%4 == 0)
		if i%11 == 0 {
			old = old[:len(old)-1-r.IntN(len(old))] // often not a session
		}
		for _, c := range changes {
			for _, used := range []phpser.Handler{h, phpser.HandlerAuto} {
				want, werr := mutateWhole(nil, old, used, phpser.HandlerPHP, c.f)
				if dgot, handled, derr := mutateDeep(nil, old, used, c.key, c.f); handled {
					deep[h]++
					if fmt.Sprint(derr) != fmt.Sprint(werr) || string(dgot) != string(want) {
						t.Fatalf("%s %s on %q (%s): spliced %q %v, whole tree %q %v", h, c.name, old, used, dgot, derr, want, werr)
					}
				}
				got, handled, gerr := mutateTop(nil, old, used, c.top, c.f)
				if !handled {
					whole++
					continue
				}
				streamed++
				by[h]++
				if full, err := phpser.DecodeSession(old, h); err == nil && full.Root.Any(phpser.IsLinked) {
					linked[h]++
				}
				if fmt.Sprint(gerr) != fmt.Sprint(werr) || string(got) != string(want) {
					t.Fatalf("%s %s on %q (%s): entry at a time %q %v, whole tree %q %v", h, c.name, old, used, got, gerr, want, werr)
				}
			}
		}
	}
	for i := range 400 {
		h := []phpser.Handler{phpser.HandlerIgbinary, phpser.HandlerMsgpack}[i%2]
		old := genExtSession(r, h, 1+r.IntN(12), i%7 == 0)
		if i%11 == 0 {
			old = old[:len(old)-1-r.IntN(len(old))] // often not a session
		}
		for _, c := range changes {
			for _, used := range []phpser.Handler{h, phpser.HandlerAuto} {
				want, werr := mutateWhole(nil, old, used, phpser.HandlerPHP, c.f)
				got, handled, gerr := mutateTop(nil, old, used, c.top, c.f)
				if !handled {
					whole++
					continue
				}
				streamed++
				by[h]++
				if fmt.Sprint(gerr) != fmt.Sprint(werr) || string(got) != string(want) {
					t.Fatalf("%s %s on %x (%s): entry at a time %x %v, whole tree %x %v", h, c.name, old, used, got, gerr, want, werr)
				}
			}
		}
	}
	t.Logf("%d changes an entry at a time (%v; of sessions with references %v), %d on the whole tree; spliced below the top level: %v", streamed, by, linked, whole, deep)
	if min(deep[phpser.HandlerPHP], deep[phpser.HandlerPHPBinary], deep[phpser.HandlerPHPSerialize]) < 100 {
		t.Errorf("changes below the top level spliced: %v", deep)
	}
	if min(linked[phpser.HandlerPHP], linked[phpser.HandlerPHPBinary], linked[phpser.HandlerPHPSerialize]) < 150 {
		t.Fatalf("changes of sessions with references streamed: %v", linked)
	}
	if min(by[phpser.HandlerIgbinary], by[phpser.HandlerMsgpack]) < 1000 {
		t.Fatalf("igbinary and msgpack changes streamed: %v", by)
	}
	if streamed < 1000 || whole < 100 || len(by) < 3 || min(by[phpser.HandlerPHP], by[phpser.HandlerPHPBinary], by[phpser.HandlerPHPSerialize]) < 1000 {
		t.Fatalf("%d changes streamed, %d whole: the generator misses a path", streamed, whole)
	}
}

// genExtSession is genSession for igbinary and msgpack: a session of n
// variables drawn from few keys (some repeat), values sharing strings and
// empty arrays (igbinary's string table and shared empty array), and,
// when tied is set, a reference.
func genExtSession(r *rand.Rand, h phpser.Handler, n int, tied bool) []byte {
	keys := []string{"a", "b", "user", "cart", "k|x", "n", "z", "/a", "/", "abc"}
	val := func() phpser.Value {
		switch r.IntN(7) {
		case 0:
			return phpser.Int(int64(r.IntN(100000) - 500))
		case 1:
			return phpser.String(strings.Repeat("x", r.IntN(300)))
		case 2:
			return phpser.Array(phpser.Entry{Key: phpser.StrKey("id"), Val: phpser.Int(int64(r.IntN(100)))},
				phpser.Entry{Key: phpser.StrKey("sub"), Val: phpser.Array(phpser.Entry{Key: phpser.IntKey(0), Val: phpser.Bool(true)})},
				phpser.Entry{Key: phpser.StrKey("name"), Val: phpser.String("abc")})
		case 3:
			return phpser.Value{Kind: phpser.KindObject, Str: "stdClass", Elems: []phpser.Entry{{Key: phpser.StrKey("p"), Val: phpser.Float(0.5)}, {Key: phpser.StrKey("user"), Val: phpser.Array()}}}
		case 4:
			return phpser.Null()
		case 5:
			return phpser.String("abc")
		}
		return phpser.Array()
	}
	s := &phpser.Session{Handler: h, Root: phpser.Array()}
	for range n {
		s.Root.Elems = append(s.Root.Elems, phpser.Entry{Key: phpser.StrKey(keys[r.IntN(len(keys))]), Val: val()})
	}
	if tied {
		s.Root.Elems = append(s.Root.Elems,
			phpser.Entry{Key: phpser.StrKey("t"), Val: phpser.Value{Kind: phpser.KindArray, Anchor: 1, Elems: []phpser.Entry{{Key: phpser.IntKey(0), Val: phpser.Int(1)}}}},
			phpser.Entry{Key: phpser.StrKey("r"), Val: phpser.Value{Kind: phpser.KindRef, Int: 1}})
	}
	b, err := phpser.EncodeSession(s)
	if err != nil {
		panic(err)
	}
	return b
}
