package gcpolicy

import (
	"encoding/json"
	"time"
)

// The JSON forms below give every duration in seconds (a float), as the
// field names say; an unbounded maximum is null.

func jsonSeconds(d time.Duration) float64 { return d.Seconds() }

// MarshalJSON writes the distribution with durations in seconds and a null
// max when the distribution is unbounded.
func (d Dist) MarshalJSON() ([]byte, error) {
	var mx *float64
	if !d.Unbounded {
		v := jsonSeconds(d.Max)
		mx = &v
	}
	return json.Marshal(struct {
		Mean      float64  `json:"mean_seconds"`
		P50       float64  `json:"p50_seconds"`
		P99       float64  `json:"p99_seconds"`
		Max       *float64 `json:"max_seconds"`
		Unbounded bool     `json:"unbounded"`
	}{jsonSeconds(d.Mean), jsonSeconds(d.P50), jsonSeconds(d.P99), mx, d.Unbounded})
}

// MarshalJSON writes the estimate with its window in seconds.
func (r RateEstimate) MarshalJSON() ([]byte, error) {
	type plain RateEstimate
	return json.Marshal(struct {
		plain
		Window  float64 `json:"window_seconds"`
		PerHour float64 `json:"per_hour"`
	}{plain(r), jsonSeconds(r.Window), r.PerHour()})
}

// MarshalJSON writes the result with the simulated time in seconds.
func (r SimResult) MarshalJSON() ([]byte, error) {
	type plain SimResult
	return json.Marshal(struct {
		plain
		Simulated float64 `json:"simulated_seconds"`
	}{plain(r), jsonSeconds(r.Simulated)})
}

func fromSeconds(f float64) time.Duration { return secs(f) }

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Dist) UnmarshalJSON(b []byte) error {
	var v struct {
		Mean      float64  `json:"mean_seconds"`
		P50       float64  `json:"p50_seconds"`
		P99       float64  `json:"p99_seconds"`
		Max       *float64 `json:"max_seconds"`
		Unbounded bool     `json:"unbounded"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Dist{Mean: fromSeconds(v.Mean), P50: fromSeconds(v.P50), P99: fromSeconds(v.P99), Unbounded: v.Unbounded}
	if v.Max != nil {
		d.Max = fromSeconds(*v.Max)
	}
	return nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *RateEstimate) UnmarshalJSON(b []byte) error {
	type plain RateEstimate
	var v struct {
		plain
		Window float64 `json:"window_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = RateEstimate(v.plain)
	r.Window = fromSeconds(v.Window)
	return nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *SimResult) UnmarshalJSON(b []byte) error {
	type plain SimResult
	var v struct {
		plain
		Simulated float64 `json:"simulated_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = SimResult(v.plain)
	r.Simulated = fromSeconds(v.Simulated)
	return nil
}
