package gcpolicy

import (
	"fmt"
	"math"
	"time"
)

// Settings are the GC settings of one save_path and the traffic it sees.
type Settings struct {
	Probability int64         // session.gc_probability
	Divisor     int64         // session.gc_divisor
	MaxLifetime time.Duration // session.gc_maxlifetime
	Depth       int           // levels N of an "N;DIR" save_path; PHP's GC does nothing when N > 0
	Rule        Rule          // how this PHP version rolls the dice

	RequestRate    float64       // requests per second that start a session (Poisson arrivals)
	NewSessionRate float64       // new sessions per second (each abandoned after its last write)
	Cron           time.Duration // an external sweep every Cron (0: none), e.g. sesstool gc from cron
}

// Validate reports settings the model cannot work with.
func (s Settings) Validate() error {
	switch {
	case s.MaxLifetime < 0:
		return fmt.Errorf("gcpolicy: negative maxlifetime %v", s.MaxLifetime)
	case s.Depth < 0:
		return fmt.Errorf("gcpolicy: negative save_path depth %d", s.Depth)
	case s.RequestRate < 0 || math.IsNaN(s.RequestRate) || math.IsInf(s.RequestRate, 0):
		return fmt.Errorf("gcpolicy: request rate %v is not a finite number ≥ 0", s.RequestRate)
	case s.NewSessionRate < 0 || math.IsNaN(s.NewSessionRate) || math.IsInf(s.NewSessionRate, 0):
		return fmt.Errorf("gcpolicy: new-session rate %v is not a finite number ≥ 0", s.NewSessionRate)
	case s.Cron < 0:
		return fmt.Errorf("gcpolicy: negative cron interval %v", s.Cron)
	}
	return nil
}

// Dist summarises a distribution of durations. When Unbounded is set there
// is no finite maximum (an exponential tail) and Max is zero.
type Dist struct {
	Mean      time.Duration `json:"mean_seconds"`
	P50       time.Duration `json:"p50_seconds"`
	P99       time.Duration `json:"p99_seconds"`
	Max       time.Duration `json:"max_seconds"`
	Unbounded bool          `json:"unbounded"`
}

// Analysis is the closed-form model of PHP's probabilistic GC (plus an
// optional external cron sweep) for one [Settings].
//
// Model: requests arrive as a Poisson process of rate r and each sweeps with
// chance p, so PHP's sweeps form a Poisson process of rate s = r·p (time
// between sweeps exponential: mean 1/s, p50 ln2/s, p99 ln100/s; requests
// between sweeps geometric, mean 1/p). A session abandoned at time t is
// eligible at t + maxlifetime and deleted at the next sweep after that: its
// age at deletion is maxlifetime + W, W the wait for the next sweep (by
// memorylessness Exp(s); with a cron sweep every C as well, min(Exp(s),
// Uniform(0,C))). By Little's law the files on disk in steady state are
// λ·(maxlifetime + E[W]) for a new-session rate λ, and by PASTA a sweeping
// request scans that many files on average. Ages are continuous here;
// PHP's whole-second comparison adds up to one second.
type Analysis struct {
	Settings Settings `json:"-"`
	Chance   Chance   `json:"chance"`

	// Never is set when nothing ever deletes an abandoned session; Reasons
	// says why in plain words (also filled, as warnings, when cron saves
	// the day).
	Never   bool     `json:"never_collected"`
	Reasons []string `json:"reasons,omitempty"`

	SweepRate       float64 `json:"sweeps_per_hour"`           // PHP's own sweeps per hour
	RequestsBetween float64 `json:"requests_between_sweeps"`   // mean requests between PHP sweeps (0: none)
	Between         Dist    `json:"time_between_sweeps"`       // between PHP's own sweeps
	AgeAtDeletion   Dist    `json:"age_at_deletion"`           // of an abandoned session
	FilesOnDisk     float64 `json:"files_on_disk"`             // steady-state mean (when not Never)
	GrowthPerHour   float64 `json:"growth_per_hour,omitempty"` // files added per hour when Never
	ScannedPerSweep float64 `json:"scanned_per_sweep"`         // files a sweeping request stats
	DeletedPerSweep float64 `json:"deleted_per_sweep"`         // files each sweep deletes on average
}

// Analyze computes the closed-form model for s.
func Analyze(s Settings) (Analysis, error) {
	if err := s.Validate(); err != nil {
		return Analysis{}, err
	}
	a := Analysis{Settings: s, Chance: ChanceOf(s.Probability, s.Divisor, s.Rule)}
	p := a.Chance.P
	var php []string // why PHP itself never sweeps
	if s.Depth > 0 {
		php = append(php, fmt.Sprintf("save_path has %d directory levels (\"%d;DIR\"): PHP's own GC does nothing there", s.Depth, s.Depth))
		p = 0
	}
	if a.Chance.P == 0 {
		php = append(php, "gc_probability = 0 (Debian's default): no request ever sweeps")
	}
	if s.RequestRate == 0 && p > 0 {
		php = append(php, "no requests: no request ever sweeps")
	}
	rate := s.RequestRate * p // PHP's sweeps per second
	if rate > 0 {
		a.RequestsBetween = 1 / p
		a.Between = expDist(rate)
	}
	a.SweepRate = rate * 3600
	if rate == 0 && s.Cron == 0 {
		a.Never = true
		a.Reasons = append(php, "no external sweep (cron) either: abandoned sessions are never collected")
		a.AgeAtDeletion = Dist{Unbounded: true}
		a.GrowthPerHour = s.NewSessionRate * 3600
		return a, nil
	}
	if rate == 0 {
		a.Reasons = append(php, fmt.Sprintf("only the external sweep every %v collects sessions", s.Cron))
	}
	w := waitDist(rate, s.Cron.Seconds())
	ml := s.MaxLifetime
	a.AgeAtDeletion = Dist{
		Mean: ml + secs(w.mean), P50: ml + secs(w.p50), P99: ml + secs(w.p99),
		Unbounded: w.unbounded,
	}
	if !w.unbounded {
		a.AgeAtDeletion.Max = ml + s.Cron
	}
	a.FilesOnDisk = s.NewSessionRate * (ml.Seconds() + w.mean)
	if rate > 0 {
		a.ScannedPerSweep = a.FilesOnDisk // PASTA: a sweeping request sees the time average
	}
	total := rate
	if s.Cron > 0 {
		total += 1 / s.Cron.Seconds()
	}
	a.DeletedPerSweep = s.NewSessionRate / total
	return a, nil
}

func secs(f float64) time.Duration {
	if f > float64(math.MaxInt64)/1e9 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Round(f * float64(time.Second)))
}

func expDist(rate float64) Dist {
	return Dist{
		Mean:      secs(1 / rate),
		P50:       secs(math.Ln2 / rate),
		P99:       secs(math.Log(100) / rate),
		Unbounded: true,
	}
}

type wait struct {
	mean, p50, p99 float64
	unbounded      bool
}

// waitDist is the distribution of W = min(Exp(rate), Uniform(0,c)), the
// wait from a session becoming eligible to the next sweep when PHP sweeps
// at Poisson rate rate and a cron sweeps every c seconds (either may be 0
// for "none", not both). Survival: S(w) = e^(−rate·w)·(1 − w/c) on [0,c).
func waitDist(rate, c float64) wait {
	if c <= 0 {
		return wait{mean: 1 / rate, p50: math.Ln2 / rate, p99: math.Log(100) / rate, unbounded: true}
	}
	surv := func(w float64) float64 {
		if w >= c {
			return 0
		}
		return math.Exp(-rate*w) * (1 - w/c)
	}
	quant := func(q float64) float64 { // smallest w with S(w) ≤ 1−q
		lo, hi := 0.0, c
		for range 200 {
			mid := (lo + hi) / 2
			if surv(mid) > 1-q {
				lo = mid
			} else {
				hi = mid
			}
		}
		return hi
	}
	var mean float64
	if x := rate * c; x < 1e-6 {
		mean = c / 2 * (1 - x/3) // series of the closed form for small rate·c
	} else {
		e := math.Exp(-x)
		mean = (1-e)/rate - (1-e*(1+x))/(rate*rate*c)
	}
	return wait{mean: mean, p50: quant(0.5), p99: quant(0.99)}
}
