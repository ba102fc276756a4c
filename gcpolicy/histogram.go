package gcpolicy

import (
	"fmt"
	"time"
)

// DefaultAgeBounds are the upper bounds of the age buckets sesstool shows:
// roughly logarithmic from a minute to a month, with PHP's default
// maxlifetime (24 min) as one of the edges.
var DefaultAgeBounds = []time.Duration{
	time.Minute, 5 * time.Minute, 15 * time.Minute, 24 * time.Minute,
	time.Hour, 3 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	7 * 24 * time.Hour, 30 * 24 * time.Hour,
}

// Bucket is one bar of an age histogram: files whose age (now − mtime, whole
// seconds) is at least Lo and below Hi. The last bucket has Open set and no
// upper bound; Future counts files whose mtime is after now.
type Bucket struct {
	Lo, Hi time.Duration
	Open   bool
	Tally
}

// Label is a short human name for the bucket, like "5m–15m" or "≥30d".
func (b Bucket) Label() string {
	if b.Open {
		return "≥" + ShortDuration(b.Lo)
	}
	return ShortDuration(b.Lo) + "–" + ShortDuration(b.Hi)
}

// Histogram counts files by age. Build it with [NewHistogram] and feed it
// with [Histogram.Add]; memory does not grow with the number of files.
type Histogram struct {
	Now     time.Time
	Buckets []Bucket
	Future  Tally // files modified after Now (clock skew, restored backups)
}

// NewHistogram makes a histogram at now with the given strictly increasing
// positive upper bounds (nil: [DefaultAgeBounds]). Bounds that are not
// increasing are an error.
func NewHistogram(now time.Time, bounds []time.Duration) (*Histogram, error) {
	if bounds == nil {
		bounds = DefaultAgeBounds
	}
	h := &Histogram{Now: now}
	lo := time.Duration(0)
	for i, b := range bounds {
		if b <= lo {
			return nil, fmt.Errorf("gcpolicy: histogram bound %d (%v) is not greater than %v", i, b, lo)
		}
		h.Buckets = append(h.Buckets, Bucket{Lo: lo, Hi: b})
		lo = b
	}
	h.Buckets = append(h.Buckets, Bucket{Lo: lo, Open: true})
	return h, nil
}

// Add puts one file in its bucket.
func (h *Histogram) Add(f FileFact) {
	age := AgeSeconds(f.MTime, h.Now)
	if age < 0 {
		h.Future.add(f.Size)
		return
	}
	d := time.Duration(age) * time.Second
	for i := range h.Buckets {
		b := &h.Buckets[i]
		if b.Open || d < b.Hi {
			b.add(f.Size)
			return
		}
	}
}

// Max is the largest file count of any bucket (for scaling bars).
func (h *Histogram) Max() int64 {
	var m int64
	for _, b := range h.Buckets {
		m = max(m, b.Files)
	}
	return max(m, h.Future.Files)
}

// ShortDuration prints d compactly in the largest whole unit that fits:
// 90s, 24m, 36h, 7d; fractions fall back to Go's form.
func ShortDuration(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d == 0:
		return "0s"
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
