package gcpolicy

import (
	"fmt"
	"strconv"
	"strings"
)

// Rule is how a PHP version rolls the GC dice in php_session_gc.
type Rule int

const (
	// RuleLCG is PHP 7.4 to 8.3: nrand = (long)(gc_divisor × lcg()), lcg in
	// [0,1); sweep iff gc_probability > 0 && nrand < gc_probability. Neither
	// setting is validated: a divisor ≤ 0 with a positive probability, or a
	// probability ≥ divisor, sweeps on every request.
	RuleLCG Rule = iota
	// RulePCG is PHP 8.4 and later: sweep iff random_range(0, divisor−1) <
	// probability. The ini handlers refuse gc_probability < 0 and
	// gc_divisor ≤ 0 with a warning, so such a php.ini value leaves the
	// built-in default (probability 1, divisor 100) in effect.
	RulePCG
)

// String names the versions the rule belongs to.
func (r Rule) String() string {
	if r == RulePCG {
		return "PHP 8.4+"
	}
	return "PHP 7.4–8.3"
}

// RuleFor returns the rule of a PHP version written "MAJOR.MINOR" (more
// parts are ignored): 8.4 and later roll with [RulePCG], earlier versions
// with [RuleLCG].
func RuleFor(version string) (Rule, error) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return 0, fmt.Errorf("gcpolicy: PHP version %q: want MAJOR.MINOR", version)
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || maj < 0 || mnr < 0 {
		return 0, fmt.Errorf("gcpolicy: PHP version %q: want MAJOR.MINOR", version)
	}
	if maj > 8 || (maj == 8 && mnr >= 4) {
		return RulePCG, nil
	}
	return RuleLCG, nil
}

// Built-in defaults of session.gc_probability and session.gc_divisor.
const (
	DefaultProbability = 1
	DefaultDivisor     = 100
)

// Chance is the chance that one request sweeps, with the settings PHP
// actually uses and notes on any quirk that applied.
type Chance struct {
	P           float64  `json:"p"`           // chance per request, 0..1
	Probability int64    `json:"probability"` // gc_probability in effect
	Divisor     int64    `json:"divisor"`     // gc_divisor in effect
	Notes       []string `json:"notes,omitempty"`
}

// ChanceOf applies PHP's rule to gc_probability and gc_divisor.
func ChanceOf(probability, divisor int64, rule Rule) Chance {
	c := Chance{Probability: probability, Divisor: divisor}
	if rule == RulePCG {
		if c.Probability < 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%v refuses gc_probability=%d; the default %d stays in effect", rule, probability, DefaultProbability))
			c.Probability = DefaultProbability
		}
		if c.Divisor <= 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%v refuses gc_divisor=%d; the default %d stays in effect", rule, divisor, DefaultDivisor))
			c.Divisor = DefaultDivisor
		}
	}
	switch {
	case c.Probability <= 0:
		c.P = 0
		c.Notes = append(c.Notes, "gc_probability ≤ 0: requests never sweep")
	case c.Divisor <= 0:
		c.P = 1
		c.Notes = append(c.Notes, fmt.Sprintf("gc_divisor=%d with %v: every request sweeps", c.Divisor, rule))
	case c.Probability >= c.Divisor:
		c.P = 1
		c.Notes = append(c.Notes, "gc_probability ≥ gc_divisor: every request sweeps")
	default:
		c.P = float64(c.Probability) / float64(c.Divisor)
	}
	return c
}

// Roll is one request's dice under the rule, given the settings in effect
// (as in [Chance]) and a uniform u in [0,1). It mirrors php_session_gc so
// that a simulation checks the closed form rather than restating it.
func Roll(c Chance, rule Rule, u float64) bool {
	if c.Probability <= 0 {
		return false
	}
	if rule == RulePCG {
		// random_range(0, divisor-1): uniform integer; divisor > 0 here.
		n := int64(u * float64(c.Divisor))
		return n < c.Probability
	}
	nrand := int64(float64(float32(c.Divisor)) * u)
	return nrand < c.Probability
}
