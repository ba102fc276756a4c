package cmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration as CLI.md specifies: Go's forms ("90s",
// "1h30m", "500ms"), days ("7d", "1d12h"), and a bare number of seconds
// ("1440", as in php.ini). Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, fmt.Errorf("invalid duration %q: empty", s)
	}
	if n, err := strconv.ParseUint(in, 10, 63); err == nil {
		if n > uint64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	if in[0] == '-' {
		return 0, fmt.Errorf("invalid duration %q: negative", s)
	}
	// Split off a leading "<N>d" part; Go's parser handles the rest.
	var days time.Duration
	rest := in
	if i := strings.IndexByte(in, 'd'); i >= 0 {
		n, err := strconv.ParseUint(in[:i], 10, 63)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 90s, 24m, 36h, 7d or a number of seconds", s)
		}
		if n > uint64(math.MaxInt64/int64(24*time.Hour)) {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = in[i+1:]
		if rest == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil || d < 0 || (rest != in && (rest[0] == '+' || rest[0] == '-')) {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 90s, 24m, 36h, 7d or a number of seconds", s)
	}
	if d > math.MaxInt64-days {
		return 0, fmt.Errorf("invalid duration %q: too large", s)
	}
	return days + d, nil
}

// durationValue is a pflag.Value for durations in ParseDuration's forms.
type durationValue struct{ d *time.Duration }

func newDurationValue(d *time.Duration, def time.Duration) *durationValue {
	*d = def
	return &durationValue{d: d}
}

// Set parses s with ParseDuration.
func (v *durationValue) Set(s string) error {
	d, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// String formats the current value.
func (v *durationValue) String() string {
	if v.d == nil {
		return "0s"
	}
	return FormatDuration(*v.d)
}

// Type names the flag type in help.
func (v *durationValue) Type() string { return "duration" }

// FormatDuration prints d the way ParseDuration reads it, using days for
// whole multiples of 24h ("7d", "1d2h0m0s", "90s").
func FormatDuration(d time.Duration) string {
	day := 24 * time.Hour
	if d >= day {
		days := d / day
		rest := d % day
		if rest == 0 {
			return strconv.FormatInt(int64(days), 10) + "d"
		}
		return strconv.FormatInt(int64(days), 10) + "d" + rest.String()
	}
	return d.String()
}
