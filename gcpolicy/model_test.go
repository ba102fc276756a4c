package gcpolicy

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestNeverCollected(t *testing.T) {
	tests := []struct {
		name   string
		s      Settings
		never  bool
		reason string
	}{
		{"debian: probability 0, no cron", Settings{Probability: 0, Divisor: 1000, MaxLifetime: 1440 * time.Second, RequestRate: 10, NewSessionRate: 1}, true, "gc_probability = 0"},
		{"N; layout", Settings{Probability: 1, Divisor: 100, MaxLifetime: 1440 * time.Second, Depth: 2, RequestRate: 10, NewSessionRate: 1}, true, "directory levels"},
		{"no traffic", Settings{Probability: 1, Divisor: 100, MaxLifetime: time.Hour}, true, "no requests"},
		{"debian with cron", Settings{Probability: 0, Divisor: 1000, MaxLifetime: 1440 * time.Second, RequestRate: 10, NewSessionRate: 1, Cron: 30 * time.Minute}, false, "only the external sweep"},
		{"default", Settings{Probability: 1, Divisor: 100, MaxLifetime: 1440 * time.Second, RequestRate: 10, NewSessionRate: 1}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Analyze(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if a.Never != tt.never {
				t.Errorf("Never = %v, want %v (%v)", a.Never, tt.never, a.Reasons)
			}
			if got := strings.Join(a.Reasons, "; "); !strings.Contains(got, tt.reason) {
				t.Errorf("reasons %q lack %q", got, tt.reason)
			}
			if tt.never {
				if !a.AgeAtDeletion.Unbounded || a.SweepRate != 0 {
					t.Errorf("never collected but %+v", a)
				}
				if a.GrowthPerHour != tt.s.NewSessionRate*3600 {
					t.Errorf("growth %v", a.GrowthPerHour)
				}
			}
		})
	}
}

func TestAnalyzeClosedForm(t *testing.T) {
	// 10 req/s, 1/100: 0.1 sweeps/s = 360/h, mean gap 10 s.
	a, err := Analyze(Settings{Probability: 1, Divisor: 100, MaxLifetime: 1440 * time.Second, RequestRate: 10, NewSessionRate: 2})
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("sweeps/h", a.SweepRate, 360)
	near("requests between", a.RequestsBetween, 100)
	near("mean gap", a.Between.Mean.Seconds(), 10)
	near("p50 gap", a.Between.P50.Seconds(), 10*math.Ln2)
	near("p99 gap", a.Between.P99.Seconds(), 10*math.Log(100))
	near("age mean", a.AgeAtDeletion.Mean.Seconds(), 1450)
	near("files", a.FilesOnDisk, 2*1450)
	near("deleted per sweep", a.DeletedPerSweep, 20)
	if !a.AgeAtDeletion.Unbounded || !a.Between.Unbounded {
		t.Error("exponential tails must be unbounded")
	}
	// Cron only: wait uniform on [0, C).
	c, err := Analyze(Settings{Probability: 0, Divisor: 1, MaxLifetime: 600 * time.Second, NewSessionRate: 1, Cron: 300 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	near("cron mean", c.AgeAtDeletion.Mean.Seconds(), 750)
	near("cron p99", c.AgeAtDeletion.P99.Seconds(), 600+297)
	near("cron max", c.AgeAtDeletion.Max.Seconds(), 900)
	if c.AgeAtDeletion.Unbounded {
		t.Error("cron bounds the age")
	}
	for _, bad := range []Settings{{MaxLifetime: -1}, {RequestRate: math.NaN()}, {NewSessionRate: -1}, {Depth: -1}, {Cron: -1}} {
		if _, err := Analyze(bad); err == nil {
			t.Errorf("Analyze(%+v) accepted", bad)
		}
	}
}

// The stated tolerance between the closed form and a seeded Monte Carlo run
// of at least ~100k sweeps or deletions: means and medians within 3 %,
// 99th percentiles within 6 %.
const (
	tolMean = 0.03
	tolP99  = 0.06
)

func TestClosedFormMatchesMonteCarlo(t *testing.T) {
	if testing.Short() {
		t.Skip("Monte Carlo comparison skipped in -short mode")
	}
	tests := []struct {
		name string
		s    Settings
		dur  time.Duration
	}{
		{"php only, gap comparable to maxlifetime", Settings{Probability: 1, Divisor: 40, MaxLifetime: 60 * time.Second, RequestRate: 2, NewSessionRate: 2, Rule: RuleLCG}, 2_000_000 * time.Second},
		{"php only, 8.4 dice", Settings{Probability: 3, Divisor: 100, MaxLifetime: 30 * time.Second, RequestRate: 1, NewSessionRate: 1, Rule: RulePCG}, 3_500_000 * time.Second},
		{"cron only (debian + sesstool)", Settings{Probability: 0, Divisor: 1000, MaxLifetime: 600 * time.Second, RequestRate: 0.5, NewSessionRate: 1, Cron: 300 * time.Second}, 200_000 * time.Second},
		{"php and cron", Settings{Probability: 1, Divisor: 100, MaxLifetime: 120 * time.Second, RequestRate: 1, NewSessionRate: 1, Cron: 100 * time.Second}, 3_000_000 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Analyze(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Simulate(tt.s, SimOptions{Duration: tt.dur, Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			if m.Truncated {
				t.Fatalf("run truncated at %d requests", m.Requests)
			}
			t.Logf("closed %+v", a)
			t.Logf("monte  %+v", m)
			check := func(name string, got, want, tol float64) {
				t.Helper()
				if want == 0 && got == 0 {
					return
				}
				if rel := math.Abs(got-want) / want; rel > tol {
					t.Errorf("%s: monte carlo %.4g, closed form %.4g (off by %.1f%%, tolerance %.0f%%)", name, got, want, 100*rel, 100*tol)
				}
			}
			check("sweeps/h", m.SweepRate, a.SweepRate, tolMean)
			check("requests between", m.RequestsBetween, a.RequestsBetween, tolMean)
			check("gap mean", m.Between.Mean.Seconds(), a.Between.Mean.Seconds(), tolMean)
			check("gap p50", m.Between.P50.Seconds(), a.Between.P50.Seconds(), tolMean)
			check("gap p99", m.Between.P99.Seconds(), a.Between.P99.Seconds(), tolP99)
			check("age mean", m.AgeAtDeletion.Mean.Seconds(), a.AgeAtDeletion.Mean.Seconds(), tolMean)
			check("age p50", m.AgeAtDeletion.P50.Seconds(), a.AgeAtDeletion.P50.Seconds(), tolMean)
			check("age p99", m.AgeAtDeletion.P99.Seconds(), a.AgeAtDeletion.P99.Seconds(), tolP99)
			check("files on disk", m.FilesOnDisk, a.FilesOnDisk, tolMean)
			check("scanned per sweep", m.ScannedPerSweep, a.ScannedPerSweep, tolMean)
			if !a.AgeAtDeletion.Unbounded && m.AgeAtDeletion.Max > a.AgeAtDeletion.Max {
				t.Errorf("simulated age %v beyond the bound %v", m.AgeAtDeletion.Max, a.AgeAtDeletion.Max)
			}
		})
	}
}

func TestSimulateDeterministic(t *testing.T) {
	s := Settings{Probability: 1, Divisor: 10, MaxLifetime: 30 * time.Second, RequestRate: 5, NewSessionRate: 1}
	o := SimOptions{Duration: 20_000 * time.Second, Seed: 9}
	a, err1 := Simulate(s, o)
	b, err2 := Simulate(s, o)
	if err1 != nil || err2 != nil || a != b {
		t.Fatalf("same seed, different results:\n%+v\n%+v", a, b)
	}
	o.Seed = 10
	if c, _ := Simulate(s, o); c == a {
		t.Error("different seed, same result")
	}
}

func TestSimulateBounds(t *testing.T) {
	if _, err := Simulate(Settings{MaxLifetime: time.Minute}, SimOptions{Duration: time.Hour}); err == nil {
		t.Error("no events accepted")
	}
	if _, err := Simulate(Settings{RequestRate: 1}, SimOptions{}); err == nil {
		t.Error("zero duration accepted")
	}
	// Never collected: the disk only grows; the run stops at the cap.
	m, err := Simulate(Settings{Probability: 0, Divisor: 100, MaxLifetime: time.Minute, RequestRate: 1, NewSessionRate: 100},
		SimOptions{Duration: 1e6 * time.Second, MaxRequests: 50_000, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || m.Sweeps != 0 || m.Deleted != 0 {
		t.Errorf("never-collected run: %+v", m)
	}
}
