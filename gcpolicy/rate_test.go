package gcpolicy

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// Sessions start as a Poisson process of known rate, each lives a random
// visit of up to 10 minutes; files older than the window were collected
// (removed) already. The estimate must find the rate within 4 standard
// errors plus the stated visit-length bias.
func TestRateEstimate(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const lambda = 0.5 // sessions per second
	window := 24 * time.Minute
	rng := rand.New(rand.NewPCG(1, 2))
	c := RateCounter{Now: now, Window: window}
	for start := -3 * 3600.0; start < 0; start += rng.ExpFloat64() / lambda {
		last := min(start+rng.Float64()*600, 0)
		c.Add(FileFact{MTime: now.Add(time.Duration(last * float64(time.Second)))})
	}
	e := c.Estimate()
	if e.Window != window {
		t.Errorf("window %v", e.Window)
	}
	bias := lambda * 300 / window.Seconds() // mean visit 300 s
	if d := math.Abs(e.PerSecond - lambda); d > 4*e.StdErr+bias {
		t.Errorf("estimate %.4f/s, want %.4f ± %.4f", e.PerSecond, lambda, 4*e.StdErr+bias)
	}
	if e.PerHour() != e.PerSecond*3600 {
		t.Error("PerHour")
	}
	if (&RateCounter{Now: now}).Estimate().PerSecond != 0 {
		t.Error("zero window must give zero")
	}
}
