package phpser

import (
	"math"
	"testing"
)

// PHP-FACTS 9.2: floats as PHP 8.2 serializes them (serialize_precision=-1).
func TestFloatVectors92(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{1.0, "d:1;"}, {0.1, "d:0.1;"}, {math.Copysign(0, -1), "d:-0;"}, {0.0, "d:0;"},
		{1.5, "d:1.5;"}, {1e15, "d:1000000000000000;"}, {1e16, "d:10000000000000000;"},
		{1e17, "d:1.0E+17;"}, {1e25, "d:1.0E+25;"}, {1e-4, "d:0.0001;"}, {1e-5, "d:1.0E-5;"},
		{0.00012345, "d:0.00012345;"}, {123456789012345678.0, "d:1.2345678901234568E+17;"},
		{math.Inf(1), "d:INF;"}, {math.Inf(-1), "d:-INF;"}, {math.NaN(), "d:NAN;"},
		{-math.NaN(), "d:NAN;"}, {1.0 / 3, "d:0.3333333333333333;"},
		{math.MaxFloat64, "d:1.7976931348623157E+308;"}, {2.2250738585072014e-308, "d:2.2250738585072014E-308;"},
		{5e-324, "d:5.0E-324;"}, {1.25e-7, "d:1.25E-7;"}, {100.0, "d:100;"},
		{-1.5, "d:-1.5;"}, {-1e25, "d:-1.0E+25;"}, {12.5, "d:12.5;"}, {0.001, "d:0.001;"},
	}
	for _, tt := range tests {
		got, err := EncodeValue(Float(tt.f))
		if err != nil || string(got) != tt.want {
			t.Errorf("%v: got %q, %v; want %q", tt.f, got, err, tt.want)
			continue
		}
		// PHP's own output decodes to the same float with no Raw.
		v, n, err := DecodeValue([]byte(tt.want))
		if err != nil || n != len(tt.want) || v.Kind != KindFloat || v.Raw != "" {
			t.Errorf("decode %q: %#v n=%d %v", tt.want, v, n, err)
			continue
		}
		if math.Float64bits(v.Float) != math.Float64bits(tt.f) && !(math.IsNaN(tt.f) && math.IsNaN(v.Float)) {
			t.Errorf("decode %q = %v, want %v", tt.want, v.Float, tt.f)
		}
	}
}

// Non-canonical float text decodes to the right value, keeps its Raw and
// re-encodes byte-exact; a changed value drops the stale Raw.
func TestFloatNonCanonical(t *testing.T) {
	tests := []struct {
		in string
		f  float64
	}{
		{"d:0.10000000000000001;", 0.1}, {"d:1.0;", 1}, {"d:.5;", 0.5}, {"d:5.;", 5},
		{"d:1e5;", 1e5}, {"d:1E5;", 1e5}, {"d:+1;", 1}, {"d:-.5;", -0.5}, {"d:+.5E+2;", 50},
		{"d:1e400;", math.Inf(1)}, {"d:-1e400;", math.Inf(-1)}, {"d:1e-400;", 0}, {"d:0.33333333333333331;", 1.0 / 3},
		{"d:01;", 1}, {"d:1.0E+25;", 1e25},
	}
	for _, tt := range tests {
		v, _, err := DecodeValue([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if v.Float != tt.f {
			t.Errorf("%q = %v want %v", tt.in, v.Float, tt.f)
		}
		canonical := tt.in == "d:1.0E+25;"
		if (v.Raw == "") != canonical {
			t.Errorf("%q: Raw = %q", tt.in, v.Raw)
		}
		out, _ := EncodeValue(v)
		if string(out) != tt.in {
			t.Errorf("%q re-encodes as %q", tt.in, out)
		}
		v.Float++ // a changed value must not be written with the old text
		out, _ = EncodeValue(v)
		if string(out) == tt.in && !math.IsInf(tt.f, 0) && tt.f+1 != tt.f-1 {
			t.Errorf("%q: stale Raw written after change", tt.in)
		}
	}
	for _, bad := range []string{"d:-NAN;", "d:+INF;", "d:inf;", "d:0x1A;", "d:1_0;", "d:e5;", "d:1e;", "d:.;", "d: 1;", "d:1", "d:;"} {
		if _, _, err := DecodeValue([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
