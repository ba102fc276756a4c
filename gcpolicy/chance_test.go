package gcpolicy

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestChanceOf(t *testing.T) {
	tests := []struct {
		name           string
		prob, div      int64
		rule           Rule
		want           float64
		wantP, wantDiv int64
	}{
		{"default", 1, 100, RuleLCG, 0.01, 1, 100},
		{"production ini", 1, 1000, RulePCG, 0.001, 1, 1000},
		{"debian", 0, 1000, RuleLCG, 0, 0, 1000},
		{"probability = divisor", 100, 100, RuleLCG, 1, 100, 100},
		{"probability > divisor", 150, 100, RulePCG, 1, 150, 100},
		{"divisor 0 sweeps always before 8.4", 1, 0, RuleLCG, 1, 1, 0},
		{"negative divisor sweeps always before 8.4", 1, -5, RuleLCG, 1, 1, -5},
		{"divisor 0 refused by 8.4: default 100", 5, 0, RulePCG, 0.05, 5, 100},
		{"negative probability never before 8.4", -1, 100, RuleLCG, 0, -1, 100},
		{"negative probability refused by 8.4: default 1", -1, 100, RulePCG, 0.01, 1, 100},
		{"probability 0 with divisor 0", 0, 0, RuleLCG, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ChanceOf(tt.prob, tt.div, tt.rule)
			if c.P != tt.want || c.Probability != tt.wantP || c.Divisor != tt.wantDiv {
				t.Errorf("ChanceOf(%d, %d, %v) = %+v, want p=%v in effect %d/%d", tt.prob, tt.div, tt.rule, c, tt.want, tt.wantP, tt.wantDiv)
			}
		})
	}
}

// Rolling PHP's dice many times gives the closed-form chance (within 5
// binomial standard deviations).
func TestRollMatchesChance(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct {
		prob, div int64
		rule      Rule
	}{{1, 100, RuleLCG}, {1, 100, RulePCG}, {3, 7, RuleLCG}, {3, 7, RulePCG}, {0, 10, RuleLCG}, {1, 0, RuleLCG}, {9, 3, RulePCG}, {1, 1000, RuleLCG}} {
		c := ChanceOf(tc.prob, tc.div, tc.rule)
		const n = 400_000
		hits := 0
		for range n {
			if Roll(c, tc.rule, rng.Float64()) {
				hits++
			}
		}
		got := float64(hits) / n
		sd := math.Sqrt(c.P * (1 - c.P) / n)
		if math.Abs(got-c.P) > 5*sd+1e-12 {
			t.Errorf("%d/%d %v: rolled %.5f, closed form %.5f", tc.prob, tc.div, tc.rule, got, c.P)
		}
	}
}

func TestRuleFor(t *testing.T) {
	for v, want := range map[string]Rule{"7.4": RuleLCG, "8.2.36": RuleLCG, "8.3": RuleLCG, "8.4": RulePCG, "8.5.1": RulePCG, "9.0": RulePCG} {
		got, err := RuleFor(v)
		if err != nil || got != want {
			t.Errorf("RuleFor(%q) = %v, %v", v, got, err)
		}
	}
	for _, bad := range []string{"", "8", "x.y", "8.-1"} {
		if _, err := RuleFor(bad); err == nil {
			t.Errorf("RuleFor(%q) accepted", bad)
		}
	}
}
