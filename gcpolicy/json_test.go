package gcpolicy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestJSONSeconds(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want []string
	}{
		{Dist{Mean: 90 * time.Second, P50: time.Minute, P99: 2 * time.Minute, Unbounded: true}, []string{`"mean_seconds":90`, `"p50_seconds":60`, `"max_seconds":null`, `"unbounded":true`}},
		{Dist{Max: 15 * time.Minute}, []string{`"max_seconds":900`}},
		{RateEstimate{Window: 24 * time.Minute, Files: 3, PerSecond: 0.5}, []string{`"window_seconds":1440`, `"per_hour":1800`, `"files":3`}},
		{SimResult{Simulated: time.Hour, Sweeps: 4}, []string{`"simulated_seconds":3600`, `"sweeps":4`}},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %s", b, w)
			}
		}
		if strings.Count(string(b), `"window_seconds"`) > 1 || strings.Count(string(b), `"simulated_seconds"`) > 1 {
			t.Errorf("duplicate field in %s", b)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	a, err := Analyze(Settings{Probability: 1, Divisor: 100, MaxLifetime: 1440 * time.Second, RequestRate: 3, NewSessionRate: 1, Cron: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Simulate(a.Settings, SimOptions{Duration: 10 * time.Hour, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := RateEstimate{Window: time.Minute, Files: 2, PerSecond: 2.0 / 60}
	for _, v := range []any{&a, &m, &r} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem())
		if err := json.Unmarshal(b, back.Interface()); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		b2, _ := json.Marshal(back.Interface())
		if string(b) != string(b2) {
			t.Errorf("round trip changed\n%s\n%s", b, b2)
		}
	}
}
