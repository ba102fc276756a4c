package gcpolicy

import (
	"math"
	"time"
)

// RateEstimate is an estimate of the new-session rate from the files' times.
//
// Each session file carries the time of its last write, and a session is
// last written once: so in steady state the number of files last modified
// within the window before now, divided by the window, is the rate at which
// sessions end, which equals the rate at which they begin. The window must
// be no longer than the maxlifetime the site runs with (younger files are
// never collected, so none are missing) and should be much longer than a
// typical visit (sessions still in use are counted too, which biases the
// estimate up by about visit length / window).
type RateEstimate struct {
	Window    time.Duration `json:"window_seconds"` // look-back used
	Files     int64         `json:"files"`          // files with 0 ≤ age ≤ window
	PerSecond float64       `json:"per_second"`     // Files / window
	StdErr    float64       `json:"std_err"`        // Poisson standard error of PerSecond
}

// PerHour is the estimate in sessions per hour.
func (r RateEstimate) PerHour() float64 { return r.PerSecond * 3600 }

// RateCounter accumulates files for a [RateEstimate].
type RateCounter struct {
	Now    time.Time
	Window time.Duration
	n      int64
}

// Add counts f when its age is within the window.
func (c *RateCounter) Add(f FileFact) {
	age := AgeSeconds(f.MTime, c.Now)
	if age >= 0 && age <= Seconds(c.Window) {
		c.n++
	}
}

// Estimate returns the estimate; a window under one second gives zero.
func (c *RateCounter) Estimate() RateEstimate {
	w := Seconds(c.Window)
	r := RateEstimate{Window: time.Duration(w) * time.Second, Files: c.n}
	if w > 0 {
		r.PerSecond = float64(c.n) / float64(w)
		r.StdErr = math.Sqrt(float64(c.n)) / float64(w)
	}
	return r
}
