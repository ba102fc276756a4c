package gcpolicy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// SimOptions bound a Monte Carlo run.
type SimOptions struct {
	Duration    time.Duration // simulated time, after the warm-up
	Seed        uint64        // the same seed gives the same result
	MaxRequests int64         // stop early past this many requests or files on disk (0: 20 million)
	MaxSamples  int           // reservoir size for quantiles (0: 200,000)
}

// SimResult is what a Monte Carlo run measured, in the same terms as
// [Analysis] so the two can be compared.
type SimResult struct {
	Simulated       time.Duration `json:"simulated_seconds"` // measured time (after warm-up)
	Truncated       bool          `json:"truncated"`         // MaxRequests cut the run short
	Requests        int64         `json:"requests"`
	Sweeps          int64         `json:"sweeps"` // PHP's own sweeps
	SweepRate       float64       `json:"sweeps_per_hour"`
	RequestsBetween float64       `json:"requests_between_sweeps"`
	Between         Dist          `json:"time_between_sweeps"`
	AgeAtDeletion   Dist          `json:"age_at_deletion"` // Max is the largest seen
	Deleted         int64         `json:"deleted"`
	FilesOnDisk     float64       `json:"files_on_disk"` // time average (sampled at requests)
	ScannedPerSweep float64       `json:"scanned_per_sweep"`
}

// ErrNoEvents is returned by [Simulate] when the settings produce no
// requests and no sessions to simulate.
var ErrNoEvents = errors.New("gcpolicy: nothing to simulate (request rate and new-session rate are both 0)")

// Simulate runs PHP's GC with the settings on a simulated clock: requests
// arrive as a Poisson process and each rolls PHP's dice ([Roll]); new
// sessions arrive as a Poisson process and are abandoned at once; a sweep
// (a request that won the roll, or the cron) deletes every session older
// than maxlifetime. A warm-up of maxlifetime + 10 mean sweep gaps runs
// first, unmeasured, so the disk starts in steady state. The run is fully
// determined by the seed.
func Simulate(s Settings, o SimOptions) (SimResult, error) {
	if err := s.Validate(); err != nil {
		return SimResult{}, err
	}
	if s.RequestRate == 0 && s.NewSessionRate == 0 {
		return SimResult{}, ErrNoEvents
	}
	if o.Duration <= 0 {
		return SimResult{}, fmt.Errorf("gcpolicy: simulation duration %v must be positive", o.Duration)
	}
	if o.MaxRequests <= 0 {
		o.MaxRequests = 20_000_000
	}
	if o.MaxSamples <= 0 {
		o.MaxSamples = 200_000
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	ch := ChanceOf(s.Probability, s.Divisor, s.Rule)
	phpSweeps := s.Depth == 0
	ml := s.MaxLifetime.Seconds()
	cron := s.Cron.Seconds()

	warm := ml
	if sw := s.RequestRate * ch.P; sw > 0 && phpSweeps {
		warm += 10 / sw
	} else if cron > 0 {
		warm += 2 * cron
	}
	end := warm + o.Duration.Seconds()

	next := func(rate float64) float64 {
		if rate <= 0 {
			return math.Inf(1)
		}
		return rng.ExpFloat64() / rate
	}
	tReq := next(s.RequestRate)
	tNew := next(s.NewSessionRate)
	tCron := math.Inf(1)
	if cron > 0 {
		tCron = rng.Float64() * cron
	}

	var (
		r          SimResult
		queue      []float64 // creation times of files on disk, oldest first
		head       int
		lastSweep  = math.NaN()
		lastReqs   int64
		gaps       = newReservoir(o.MaxSamples, rng)
		ages       = newReservoir(o.MaxSamples, rng)
		gapSum     float64
		gapReqSum  float64
		gapN       int64
		ageSum     float64
		ageMax     float64
		diskSum    float64
		diskN      int64
		scannedSum float64
	)
	sweep := func(t float64, measured bool) int {
		n := len(queue) - head
		for head < len(queue) && t-queue[head] > ml {
			if measured {
				age := t - queue[head]
				ageSum += age
				ageMax = max(ageMax, age)
				ages.add(age)
				r.Deleted++
			}
			head++
		}
		if head > 4096 && head*2 > len(queue) { // compact
			queue = append(queue[:0], queue[head:]...)
			head = 0
		}
		return n
	}
	for {
		t := min(tReq, tNew, tCron)
		if t > end || math.IsInf(t, 1) {
			break
		}
		measured := t >= warm
		switch t {
		case tNew:
			queue = append(queue, t)
			tNew += next(s.NewSessionRate)
			if int64(len(queue)-head) >= o.MaxRequests { // never-collected runs grow without bound
				r.Truncated = true
				end = t
			}
		case tCron:
			sweep(t, measured)
			tCron += cron
		default: // a request
			tReq += next(s.RequestRate)
			if measured {
				r.Requests++
				diskSum += float64(len(queue) - head)
				diskN++
				if r.Requests >= o.MaxRequests {
					r.Truncated = true
					end = t
				}
			}
			if phpSweeps && Roll(ch, s.Rule, rng.Float64()) {
				n := sweep(t, measured)
				if measured {
					r.Sweeps++
					scannedSum += float64(n)
					if !math.IsNaN(lastSweep) {
						g := t - lastSweep
						gapSum += g
						gapReqSum += float64(r.Requests - lastReqs)
						gapN++
						gaps.add(g)
					}
					lastSweep, lastReqs = t, r.Requests
				}
			}
		}
	}
	r.Simulated = secs(end - warm)
	if hours := (end - warm) / 3600; hours > 0 {
		r.SweepRate = float64(r.Sweeps) / hours
	}
	if gapN > 0 {
		r.RequestsBetween = gapReqSum / float64(gapN)
		r.Between = Dist{Mean: secs(gapSum / float64(gapN)), P50: secs(gaps.quantile(0.5)), P99: secs(gaps.quantile(0.99)), Max: secs(gaps.max)}
	}
	if r.Deleted > 0 {
		r.AgeAtDeletion = Dist{Mean: secs(ageSum / float64(r.Deleted)), P50: secs(ages.quantile(0.5)), P99: secs(ages.quantile(0.99)), Max: secs(ageMax)}
	}
	if diskN > 0 {
		r.FilesOnDisk = diskSum / float64(diskN)
	}
	if r.Sweeps > 0 {
		r.ScannedPerSweep = scannedSum / float64(r.Sweeps)
	}
	return r, nil
}

// reservoir keeps a uniform sample of at most cap values (Algorithm R).
type reservoir struct {
	cap  int
	seen int64
	v    []float64
	max  float64
	rng  *rand.Rand
}

func newReservoir(n int, rng *rand.Rand) *reservoir { return &reservoir{cap: n, rng: rng} }

func (r *reservoir) add(x float64) {
	r.seen++
	r.max = max(r.max, x)
	if len(r.v) < r.cap {
		r.v = append(r.v, x)
		return
	}
	if j := r.rng.Int64N(r.seen); j < int64(r.cap) {
		r.v[j] = x
	}
}

func (r *reservoir) quantile(q float64) float64 {
	if len(r.v) == 0 {
		return 0
	}
	slices.Sort(r.v)
	i := int(math.Ceil(q*float64(len(r.v)))) - 1
	return r.v[max(0, min(i, len(r.v)-1))]
}
