package phpser

import (
	"math"
	"testing"
)

func TestEqual(t *testing.T) {
	arr := func(es ...Entry) Value { return Array(es...) }
	tests := []struct {
		name string
		a, b Value
		want bool
	}{
		{"null", Null(), Null(), true},
		{"int", Int(42), Int(42), true},
		{"int vs string", Int(42), String("42"), false},
		{"int vs float", Int(42), Float(42), false},
		{"int differs", Int(42), Int(43), false},
		{"bool", Bool(true), Bool(true), true},
		{"bool vs int", Bool(true), Int(1), false},
		{"float raw ignored", Float(0.1), Value{Kind: KindFloat, Float: 0.1, Raw: "d:0.10000000000000001;"}, true},
		{"NaN equals NaN", Float(math.NaN()), Float(math.NaN()), true},
		{"NaN vs 0", Float(math.NaN()), Float(0), false},
		{"-0 vs 0", Float(math.Copysign(0, -1)), Float(0), false},
		{"-0 vs -0", Float(math.Copysign(0, -1)), Float(math.Copysign(0, -1)), true},
		{"INF", Float(math.Inf(1)), Float(math.Inf(1)), true},
		{"string", String("a"), String("a"), true},
		{"string S: raw ignored", String("abc"), Value{Kind: KindString, Str: "abc", Raw: `S:3:"\61bc";`}, true},
		{"anchor ignored", Int(7), Value{Kind: KindInt, Int: 7, Anchor: 3}, true},
		{"array", arr(Entry{IntKey(0), Int(1)}), arr(Entry{IntKey(0), Int(1)}), true},
		{"array key kind", arr(Entry{IntKey(5), Int(1)}), arr(Entry{StrKey("5"), Int(1)}), false},
		{"array key raw ignored", arr(Entry{IntKey(5), Int(1)}), arr(Entry{Key{IsInt: true, Int: 5, Raw: "i:05;"}, Int(1)}), true},
		{"array order", arr(Entry{StrKey("a"), Int(1)}, Entry{StrKey("b"), Int(2)}), arr(Entry{StrKey("b"), Int(2)}, Entry{StrKey("a"), Int(1)}), false},
		{"array length", arr(Entry{IntKey(0), Int(1)}), arr(), false},
		{"array vs object", arr(), Object("stdClass"), false},
		{"object class", Object("A"), Object("B"), false},
		{"object props", Object("A", Entry{PropKey("p", Protected, ""), Int(1)}), Object("A", Entry{PropKey("p", Public, ""), Int(1)}), false},
		{"custom", Custom("A", "x"), Custom("A", "x"), true},
		{"custom payload", Custom("A", "x"), Custom("A", "y"), false},
		{"enum", Enum("S:H"), Enum("S:H"), true},
		{"enum case", Enum("S:H"), Enum("S:D"), false},
		{"ref same", Value{Kind: KindRef, Int: 1}, Value{Kind: KindRef, Int: 1}, true},
		{"ref vs objref", Value{Kind: KindRef, Int: 1}, Value{Kind: KindObjRef, Int: 1}, false},
		{"nested", arr(Entry{StrKey("a"), arr(Entry{IntKey(0), Float(math.NaN())})}), arr(Entry{StrKey("a"), arr(Entry{IntKey(0), Float(math.NaN())})}), true},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
		if got := Equal(tt.b, tt.a); got != tt.want {
			t.Errorf("%s: Equal (swapped) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
