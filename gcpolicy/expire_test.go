package gcpolicy

import (
	"testing"
	"time"
)

func TestExpired(t *testing.T) {
	now := time.Unix(1_800_000_000, 500_000_000) // .5 s past a whole second
	ml := 1440 * time.Second
	tests := []struct {
		name  string
		mtime time.Time
		ml    time.Duration
		want  bool
	}{
		{"exactly maxlifetime is kept (strict >)", time.Unix(now.Unix()-1440, 0), ml, false},
		{"one second more is expired", time.Unix(now.Unix()-1441, 0), ml, true},
		{"real age 1440.4 s is 1440 whole seconds", time.Unix(now.Unix()-1440, -400_000_000+500_000_000), ml, false},
		{"mtime in the previous second counts whole", time.Unix(now.Unix()-1441, 999_999_999), ml, true},
		{"fresh file", now, ml, false},
		{"future mtime never expires", now.Add(time.Hour), ml, false},
		{"maxlifetime 0: one second old expires", time.Unix(now.Unix()-1, 0), 0, true},
		{"maxlifetime 0: same second kept", time.Unix(now.Unix(), 0), 0, false},
		{"sub-second maxlifetime rounds down to 0", time.Unix(now.Unix()-1, 0), 900 * time.Millisecond, true},
		{"negative maxlifetime counts as 0", time.Unix(now.Unix(), 0), -time.Hour, false},
		{"days", now.Add(-8 * 24 * time.Hour), 7 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expired(tt.mtime, now, tt.ml); got != tt.want {
				t.Errorf("Expired(age %ds, ml %v) = %v, want %v", AgeSeconds(tt.mtime, now), tt.ml, got, tt.want)
			}
			if got := OlderThan(now, tt.ml)(tt.mtime); got != tt.want {
				t.Errorf("OlderThan = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ago := func(s int64) time.Time { return time.Unix(now.Unix()-s, 0) }
	facts := []FileFact{
		{"a", 10, ago(10)},
		{"b", 20, ago(1441)},
		{"c", 30, ago(3601)},
		{"d", 40, ago(86401)},
		{"e", 50, ago(-5)},
	}
	p := NewPlan(now, 1440*time.Second, time.Hour, 24*time.Hour, time.Hour)
	if len(p.MaxLifetimes) != 3 {
		t.Fatalf("duplicate maxlifetime kept: %v", p.MaxLifetimes)
	}
	var first []string
	for _, f := range facts {
		if p.Add(f) {
			first = append(first, f.ID)
		}
	}
	if p.Total != (Tally{5, 150}) {
		t.Errorf("total = %+v", p.Total)
	}
	want := []Tally{{3, 90}, {2, 70}, {1, 40}}
	for i, w := range want {
		if p.Expired[i] != w {
			t.Errorf("expired[%v] = %+v, want %+v", p.MaxLifetimes[i], p.Expired[i], w)
		}
	}
	if got := len(Select(facts, now, 1440*time.Second)); got != 3 || len(first) != 3 {
		t.Errorf("Select gave %d, Add flagged %v", got, first)
	}
}

func TestHistogram(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	h, err := NewHistogram(now, []time.Duration{time.Minute, time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{0, 59 * time.Second, time.Minute, 59 * time.Minute, time.Hour, 100 * time.Hour, -time.Minute} {
		h.Add(FileFact{Size: 1, MTime: ago(d)})
	}
	got := []int64{h.Buckets[0].Files, h.Buckets[1].Files, h.Buckets[2].Files, h.Future.Files}
	want := []int64{2, 2, 2, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("bucket counts %v, want %v", got, want)
		}
	}
	if l := h.Buckets[1].Label(); l != "1m–1h" {
		t.Errorf("label %q", l)
	}
	if l := h.Buckets[2].Label(); l != "≥1h" {
		t.Errorf("label %q", l)
	}
	if h.Max() != 2 {
		t.Errorf("max %d", h.Max())
	}
	if _, err := NewHistogram(now, []time.Duration{time.Hour, time.Minute}); err == nil {
		t.Error("decreasing bounds accepted")
	}
	if _, err := NewHistogram(now, []time.Duration{0}); err == nil {
		t.Error("zero bound accepted")
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 90 * time.Second: "90s", 24 * time.Minute: "24m", 36 * time.Hour: "36h",
		7 * 24 * time.Hour: "7d", 1500 * time.Millisecond: "1.5s",
	} {
		if got := ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
