package gcpolicy

import (
	"slices"
	"time"
)

// FileFact is what the policy knows about one session file: its id, its
// size in bytes and its modification time. Nothing else is ever needed.
type FileFact struct {
	ID    string
	Size  int64
	MTime time.Time
}

// Tally counts files and their bytes.
type Tally struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

func (t *Tally) add(size int64) {
	t.Files++
	t.Bytes += size
}

// Plan is what a sweep at Now would do for each of several maxlifetimes.
// Feed it facts with [Plan.Add]; it keeps only counters, so memory stays
// flat however many files there are.
type Plan struct {
	Now          time.Time
	MaxLifetimes []time.Duration // in the order given, duplicates removed

	Total   Tally   // every file seen
	Expired []Tally // Expired[i]: what a sweep with MaxLifetimes[i] deletes
}

// NewPlan starts a sweep plan at now for the given maxlifetimes.
func NewPlan(now time.Time, maxLifetimes ...time.Duration) *Plan {
	var mls []time.Duration
	for _, ml := range maxLifetimes {
		if !slices.Contains(mls, ml) {
			mls = append(mls, ml)
		}
	}
	return &Plan{Now: now, MaxLifetimes: mls, Expired: make([]Tally, len(mls))}
}

// Add accounts for one file and reports whether it is expired for the first
// maxlifetime of the plan.
func (p *Plan) Add(f FileFact) bool {
	p.Total.add(f.Size)
	first := false
	for i, ml := range p.MaxLifetimes {
		if Expired(f.MTime, p.Now, ml) {
			p.Expired[i].add(f.Size)
			if i == 0 {
				first = true
			}
		}
	}
	return first
}

// Select returns the facts that a sweep at now with maxLifetime would
// delete, in the order given (a convenience for small sets and tests).
func Select(facts []FileFact, now time.Time, maxLifetime time.Duration) []FileFact {
	var out []FileFact
	for _, f := range facts {
		if Expired(f.MTime, now, maxLifetime) {
			out = append(out, f)
		}
	}
	return out
}
