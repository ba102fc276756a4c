package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sesstool/sesstool/internal/tableprinter"
	"github.com/spf13/cobra"
	"strconv"

	"github.com/sesstool/sesstool/gcpolicy"
	"github.com/sesstool/sesstool/sessfile"
)

// GCSimulateOptions are the inputs of "gc simulate".
type GCSimulateOptions struct {
	IO            *IOStreams
	Now           func() time.Time
	Settings      func() (*Settings, error)
	OpenStore     func() (*sessfile.Store, *Settings, error)
	SavePathGiven bool // --save-path or SESSTOOL_SAVE_PATH: a save_path that cannot be read is an error

	Probability, Divisor int64
	ProbSet, DivSet      bool
	MaxLifetimes         []time.Duration
	MaxLifetimeSet       bool
	Rate                 float64 // requests per second
	NewSessionRate       float64 // new sessions per second
	NewSessionRateSet    bool
	Duration             time.Duration // Monte Carlo run length (0: none)
	Cron                 time.Duration // external sweep interval (0: none)
	CronSet              bool          // --cron given: no cleaner detection
	EtcRoot              string        // where /etc is looked at for cleaners
	PHPVersion           string
	Seed                 uint64
	NoSavePath           bool
	Output               string
}

// NewCmdGCSimulate builds "sesstool gc simulate". runF replaces
// gcSimulateRun in tests.
func NewCmdGCSimulate(f *Factory, runF func(*GCSimulateOptions) error) *cobra.Command {
	opts := &GCSimulateOptions{IO: f.IO, Now: f.Now, Settings: f.Settings, OpenStore: f.OpenStore}
	c := &cobra.Command{
		Use:   "simulate",
		Short: "Model PHP's probabilistic GC and what a sweep would delete now",
		Long: `Model PHP's own probabilistic session GC: each request that starts a session
sweeps with chance gc_probability/gc_divisor (with PHP's quirks: a divisor ≤ 0
or a probability ≥ divisor sweeps every time before PHP 8.4; 8.4 refuses such
values and keeps the defaults). From the request rate it gives sweeps per
hour, the time between sweeps (mean, p50, p99), how old an abandoned session
gets before it is deleted (mean, p99, max), the files on disk in steady
state for a new-session rate and the files a sweeping request has to scan.
It says plainly when sessions are never collected (gc_probability = 0 with
no cron, Debian's default; an "N;DIR" save_path, where PHP's GC does nothing).

The closed-form figures are checked by a seeded Monte Carlo run over
--duration of simulated time (0 skips it).

Against the save_path (--save-path, or the one php.ini names) it also shows,
for each --maxlifetime given, what a sweep would delete now (files, bytes),
an age histogram, and the new-session rate estimated from the files' times
(files modified within the first maxlifetime, divided by it), which is used
when --new-session-rate is not given.

Settings not given come from php.ini (session.gc_probability, gc_divisor,
gc_maxlifetime), else PHP's defaults.`,
		Example: `  sesstool gc simulate --rate 20
  sesstool gc simulate --rate 50 --probability 1 --divisor 1000 --maxlifetime 1440,3600,86400
  sesstool gc simulate --probability 0 --cron 30m --new-session-rate 2 -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(opts.Output, FormatHuman, FormatJSON); err != nil {
				return err
			}
			fl := c.Flags()
			opts.ProbSet, opts.DivSet = fl.Changed("probability"), fl.Changed("divisor")
			opts.MaxLifetimeSet = fl.Changed("maxlifetime")
			opts.NewSessionRateSet = fl.Changed("new-session-rate")
			opts.SavePathGiven = f.Global.SavePathSet
			opts.CronSet = fl.Changed("cron")
			opts.EtcRoot = f.Global.EtcRoot
			for name, v := range map[string]float64{"rate": opts.Rate, "new-session-rate": opts.NewSessionRate} {
				if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
					return UsageErrorf("--%s %v: want a number ≥ 0 (per second)", name, v)
				}
			}
			if opts.PHPVersion != "" {
				if _, err := gcpolicy.RuleFor(opts.PHPVersion); err != nil {
					return usage(fmt.Errorf("--php-version: %w", err))
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return gcSimulateRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.Int64Var(&opts.Probability, "probability", gcpolicy.DefaultProbability, "session.gc_probability (default: php.ini, else 1)")
	fl.Int64Var(&opts.Divisor, "divisor", gcpolicy.DefaultDivisor, "session.gc_divisor (default: php.ini, else 100)")
	hideDefault(fl, "probability", "divisor")
	fl.Var(&durationListValue{d: &opts.MaxLifetimes}, "maxlifetime", "session.gc_maxlifetime, or a comma-separated `list` (1440,3600,86400 or 24m,1h,1d; default: php.ini, else 1440)")
	fl.Float64Var(&opts.Rate, "rate", 0, "requests per second that start a session (needed to model PHP's sweeps)")
	fl.Float64Var(&opts.NewSessionRate, "new-session-rate", 0, "new sessions per second (default: estimated from the save_path's files)")
	fl.Var(newDurationValue(&opts.Duration, 7*24*time.Hour), "duration", "simulated time of the Monte Carlo check (0: skip it)")
	fl.Var(newDurationValue(&opts.Cron, 0), "cron", "an external sweep (sesstool gc, sessionclean) every `interval` (0: none; default: the sweeps found on this machine)")
	hideDefault(fl, "cron")
	fl.StringVar(&opts.PHPVersion, "php-version", "", "PHP version whose dice rules apply, e.g. 8.2 or 8.4 (default: the php.ini's version directory, else 7.4–8.3 rules)")
	fl.Uint64Var(&opts.Seed, "seed", 1, "seed of the Monte Carlo run (same seed, same figures)")
	fl.BoolVar(&opts.NoSavePath, "no-save-path", false, "model only: do not look at the save_path")
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON)
	return c
}

// durationListValue is a pflag.Value for a comma-separated list of
// durations in ParseDuration's forms.
type durationListValue struct{ d *[]time.Duration }

func (v *durationListValue) Set(s string) error {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := ParseDuration(part)
		if err != nil {
			return err
		}
		out = append(out, d)
	}
	*v.d = out
	return nil
}

func (v *durationListValue) String() string {
	if v.d == nil {
		return ""
	}
	parts := make([]string, len(*v.d))
	for i, d := range *v.d {
		parts[i] = FormatDuration(d)
	}
	return strings.Join(parts, ",")
}

func (v *durationListValue) Type() string { return "durations" }

// simSavePath is what the save_path holds now.
type simSavePath struct {
	SavePath  string                 `json:"save_path"`
	Files     int64                  `json:"files"`
	Bytes     int64                  `json:"bytes"`
	SweepNow  []simSweepNow          `json:"sweep_now"`
	Histogram []simBucket            `json:"age_histogram"`
	Future    gcpolicy.Tally         `json:"future"`
	Rate      *gcpolicy.RateEstimate `json:"new_session_rate"`
	Errors    []string               `json:"errors,omitempty"`
}

type simSweepNow struct {
	MaxSeconds int64 `json:"maxlifetime_seconds"`
	Files      int64 `json:"files"`
	Bytes      int64 `json:"bytes"`
}

type simBucket struct {
	Lo    float64  `json:"min_age_seconds"`
	Hi    *float64 `json:"max_age_seconds"` // exclusive; null for the last bucket
	Files int64    `json:"files"`
	Bytes int64    `json:"bytes"`
}

type simModel struct {
	MaxSeconds int64               `json:"maxlifetime_seconds"`
	Analysis   gcpolicy.Analysis   `json:"closed_form"`
	Simulation *gcpolicy.SimResult `json:"monte_carlo"`
}

type simJSON struct {
	Probability      int64        `json:"probability"`
	Divisor          int64        `json:"divisor"`
	Rule             string       `json:"php_rule"`
	Rate             float64      `json:"rate"`
	NewSessionRate   float64      `json:"new_session_rate"`
	NewSessionSource string       `json:"new_session_rate_source"`
	CronSeconds      float64      `json:"cron_seconds"`
	Cleaners         []simCleaner `json:"cleaners"`
	Depth            int          `json:"save_path_depth"`
	Seed             uint64       `json:"seed"`
	Models           []simModel   `json:"models"`
	SavePath         *simSavePath `json:"save_path"`
	Notes            []string     `json:"notes"`
}

func gcSimulateRun(ctx context.Context, opts *GCSimulateOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := opts.Settings()
	if err != nil {
		return err
	}
	doc := simJSON{Seed: opts.Seed, Rate: opts.Rate, Notes: []string{}, Cleaners: []simCleaner{}}
	if !opts.CronSet {
		// The sweeps this machine runs (Debian's phpsessionclean, sesstool's
		// own job) are modelled as the external sweep.
		what := ""
		for _, c := range findCleaners(opts.EtcRoot) {
			doc.Cleaners = append(doc.Cleaners, simCleaner{What: c.What, File: c.Where, EverySeconds: c.Every.Seconds()})
			if c.Every > 0 && (opts.Cron == 0 || c.Every < opts.Cron) { // @reboot (0) sets no interval
				opts.Cron, what = c.Every, c.What // the most frequent one
			}
		}
		if what != "" {
			doc.Notes = append(doc.Notes, fmt.Sprintf("external sweep found on this machine: %s (every %s; --cron 0 models without it)", what, fmtDur(opts.Cron)))
		}
	}
	doc.CronSeconds = opts.Cron.Seconds()
	doc.Probability, doc.Divisor = opts.Probability, opts.Divisor
	if !opts.ProbSet {
		if n, ok := st.GCProbability.Int(); ok {
			doc.Probability = n
		}
	}
	if !opts.DivSet {
		if n, ok := st.GCDivisor.Int(); ok {
			doc.Divisor = n
		}
	}
	mls := opts.MaxLifetimes
	if !opts.MaxLifetimeSet || len(mls) == 0 {
		mls = []time.Duration{st.MaxLifetime()}
	}
	rule := gcpolicy.RuleLCG
	version := opts.PHPVersion
	if version == "" {
		version = st.Version
	}
	if version != "" {
		if r, err := gcpolicy.RuleFor(version); err == nil {
			rule = r
		}
	}
	doc.Rule = rule.String()

	now := opts.Now()
	if !opts.NoSavePath {
		sp, depth, err := simScanSavePath(ctx, opts, now, mls)
		switch {
		case err != nil && opts.SavePathGiven:
			return err
		case err != nil:
			doc.Notes = append(doc.Notes, fmt.Sprintf("save_path not examined: %s", ErrorLine(err)))
		default:
			doc.SavePath, doc.Depth = sp, depth
		}
	}
	doc.NewSessionRate, doc.NewSessionSource = opts.NewSessionRate, "--new-session-rate"
	if !opts.NewSessionRateSet {
		if doc.SavePath != nil && doc.SavePath.Rate != nil {
			doc.NewSessionRate = doc.SavePath.Rate.PerSecond
			doc.NewSessionSource = "estimated from the save_path's files"
		} else {
			doc.NewSessionSource = "not given (0)"
		}
	}
	if opts.Rate == 0 {
		doc.Notes = append(doc.Notes, "no --rate given: PHP's own sweeps are not modelled (give requests per second)")
	}
	if doc.NewSessionRate == 0 {
		doc.Notes = append(doc.Notes, "no new-session rate (--new-session-rate, or a save_path to estimate it from): files on disk are not modelled")
	}
	for _, ml := range mls {
		s := gcpolicy.Settings{
			Probability: doc.Probability, Divisor: doc.Divisor, MaxLifetime: ml, Depth: doc.Depth, Rule: rule,
			RequestRate: opts.Rate, NewSessionRate: doc.NewSessionRate, Cron: opts.Cron,
		}
		a, err := gcpolicy.Analyze(s)
		if err != nil {
			return usage(err)
		}
		m := simModel{MaxSeconds: gcpolicy.Seconds(ml), Analysis: a}
		if opts.Duration > 0 {
			r, err := gcpolicy.Simulate(s, gcpolicy.SimOptions{Duration: opts.Duration, Seed: opts.Seed})
			switch {
			case errors.Is(err, gcpolicy.ErrNoEvents):
			case err != nil:
				return err
			default:
				m.Simulation = &r
			}
		}
		doc.Models = append(doc.Models, m)
	}
	if opts.Output == FormatJSON {
		return writeJSON(opts.IO.Out, doc)
	}
	return simPrint(opts.IO, doc)
}

// simCleaner is an external sweep found on the machine.
type simCleaner struct {
	What         string  `json:"what"`
	File         string  `json:"file"`
	EverySeconds float64 `json:"every_seconds"`
}

// simScanSavePath walks the save_path once for the sweep-now counts, the
// age histogram and the rate estimate.
func simScanSavePath(ctx context.Context, opts *GCSimulateOptions, now time.Time, mls []time.Duration) (*simSavePath, int, error) {
	store, _, err := opts.OpenStore()
	if err != nil {
		return nil, 0, err
	}
	defer store.Close()
	plan := gcpolicy.NewPlan(now, mls...)
	hist, err := gcpolicy.NewHistogram(now, nil)
	if err != nil {
		return nil, 0, err
	}
	rc := gcpolicy.RateCounter{Now: now, Window: max(mls[0], time.Second)}
	out := &simSavePath{SavePath: store.SavePath().String()}
	for in, err := range store.All(ctx) {
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, ctx.Err()
			}
			out.Errors = append(out.Errors, ErrorLine(err))
			continue
		}
		f := gcpolicy.FileFact{ID: in.ID, Size: in.Size, MTime: in.ModTime}
		plan.Add(f)
		hist.Add(f)
		rc.Add(f)
	}
	out.Files, out.Bytes = plan.Total.Files, plan.Total.Bytes
	for i, ml := range plan.MaxLifetimes {
		out.SweepNow = append(out.SweepNow, simSweepNow{MaxSeconds: gcpolicy.Seconds(ml), Files: plan.Expired[i].Files, Bytes: plan.Expired[i].Bytes})
	}
	for _, b := range hist.Buckets {
		sb := simBucket{Lo: b.Lo.Seconds(), Files: b.Files, Bytes: b.Bytes}
		if !b.Open {
			hi := b.Hi.Seconds()
			sb.Hi = &hi
		}
		out.Histogram = append(out.Histogram, sb)
	}
	out.Future = hist.Future
	est := rc.Estimate()
	out.Rate = &est
	return out, store.SavePath().Depth, nil
}

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < 10*time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	d = d.Round(time.Minute)
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}

func fmtNum(f float64) string {
	switch {
	case f == 0:
		return "0"
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 1:
		return fmt.Sprintf("%.1f", f)
	}
	return fmt.Sprintf("%.3g", f)
}

func simPrint(io *IOStreams, doc simJSON) error {
	sty := NewStyles(io)
	w := io.Out
	c := gcpolicy.ChanceOf(doc.Probability, doc.Divisor, ruleByName(doc.Rule))
	fmt.Fprintf(w, "%s gc_probability %d / gc_divisor %d → %s per request (%s rules)\n",
		sty.Header.Render("PHP GC"), doc.Probability, doc.Divisor, fmtPercent(c.P), doc.Rule)
	fmt.Fprintf(w, "  requests %s/s, new sessions %s/s (%s)", fmtNum(doc.Rate), fmtNum(doc.NewSessionRate), doc.NewSessionSource)
	if doc.CronSeconds > 0 {
		fmt.Fprintf(w, ", external sweep every %s", fmtDur(time.Duration(doc.CronSeconds*float64(time.Second))))
	}
	fmt.Fprintln(w)
	for _, n := range append(c.Notes, doc.Notes...) {
		fmt.Fprintln(w, "  "+sty.Dim.Render(n))
	}
	if len(doc.Models) > 0 {
		a := doc.Models[0].Analysis
		if a.Never {
			fmt.Fprintln(w, sty.Bad.Render("NEVER COLLECTED")+": "+strings.Join(a.Reasons, "; "))
			if a.GrowthPerHour > 0 {
				fmt.Fprintf(w, "  files on disk grow by %s per hour, for ever\n", fmtNum(a.GrowthPerHour))
			}
		} else {
			for _, r := range a.Reasons {
				fmt.Fprintln(w, "  "+sty.Warn.Render(r))
			}
		}
		if a.SweepRate > 0 {
			sim := doc.Models[0].Simulation
			fmt.Fprintf(w, "  sweeps per hour %s%s, one every %s requests on average\n", fmtNum(a.SweepRate), simNote(sim, func(r *gcpolicy.SimResult) string { return fmtNum(r.SweepRate) }), fmtNum(a.RequestsBetween))
			fmt.Fprintf(w, "  time between sweeps: mean %s, p50 %s, p99 %s%s, no upper bound\n", fmtDur(a.Between.Mean), fmtDur(a.Between.P50), fmtDur(a.Between.P99),
				simNote(sim, func(r *gcpolicy.SimResult) string {
					return fmt.Sprintf("mean %s, p50 %s, p99 %s", fmtDur(r.Between.Mean), fmtDur(r.Between.P50), fmtDur(r.Between.P99))
				}))
		}
	}
	fmt.Fprintln(w)
	// The models' table: a row per figure, a column per maxlifetime. In a
	// pipe its rows are tab-separated, the maxlifetimes a first row.
	cols := []tableprinter.Column{{Header: "MAXLIFETIME", Fixed: true}}
	for _, m := range doc.Models {
		cols = append(cols, tableprinter.Column{Header: gcpolicy.ShortDuration(time.Duration(m.MaxSeconds) * time.Second)})
	}
	t := newTable(io, sty, false, cols...)
	if !t.TTY() {
		r := []tableprinter.Cell{{Text: "maxlifetime_seconds"}}
		for _, m := range doc.Models {
			r = append(r, tableprinter.Cell{Text: strconv.FormatInt(m.MaxSeconds, 10)})
		}
		t.AddRow(r...)
	}
	key := styleFunc(sty, sty.Key)
	row := func(name string, cell func(m simModel) string) {
		if !t.TTY() && strings.HasPrefix(name, "  ") {
			name = "age at deletion: " + strings.TrimSpace(name) // a row of its own
		}
		r := []tableprinter.Cell{{Text: name, Style: key}}
		for _, m := range doc.Models {
			r = append(r, tableprinter.Cell{Text: cell(m)})
		}
		t.AddRow(r...)
	}
	row("age at deletion: mean", func(m simModel) string {
		if m.Analysis.Never {
			return "never"
		}
		return fmtDur(m.Analysis.AgeAtDeletion.Mean) + simNote(deletedSome(m.Simulation), func(r *gcpolicy.SimResult) string { return fmtDur(r.AgeAtDeletion.Mean) })
	})
	row("  p99", func(m simModel) string {
		if m.Analysis.Never {
			return "never"
		}
		return fmtDur(m.Analysis.AgeAtDeletion.P99) + simNote(deletedSome(m.Simulation), func(r *gcpolicy.SimResult) string { return fmtDur(r.AgeAtDeletion.P99) })
	})
	row("  max", func(m simModel) string {
		if m.Analysis.AgeAtDeletion.Unbounded {
			return "unbounded"
		}
		return fmtDur(m.Analysis.AgeAtDeletion.Max)
	})
	row("files on disk (steady)", func(m simModel) string {
		if m.Analysis.Never {
			return "grows for ever"
		}
		if doc.NewSessionRate == 0 {
			return "- (no new-session rate)"
		}
		return fmtNum(m.Analysis.FilesOnDisk) + simNote(m.Simulation, func(r *gcpolicy.SimResult) string { return fmtNum(r.FilesOnDisk) })
	})
	row("files scanned per sweep", func(m simModel) string {
		if m.Analysis.ScannedPerSweep == 0 || doc.NewSessionRate == 0 {
			return "-"
		}
		return fmtNum(m.Analysis.ScannedPerSweep) + simNote(m.Simulation, func(r *gcpolicy.SimResult) string { return fmtNum(r.ScannedPerSweep) })
	})
	row("deleted per sweep", func(m simModel) string {
		if m.Analysis.Never {
			return "-"
		}
		return fmtNum(m.Analysis.DeletedPerSweep)
	})
	if sp := doc.SavePath; sp != nil {
		row("would delete now", func(m simModel) string {
			for _, s := range sp.SweepNow {
				if s.MaxSeconds == m.MaxSeconds {
					return fmt.Sprintf("%d (%s)", s.Files, HumanSize(s.Bytes))
				}
			}
			return "-"
		})
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(doc.Models) > 0 && doc.Models[0].Simulation != nil {
		r := doc.Models[0].Simulation
		fmt.Fprintln(w, sty.Dim.Render(fmt.Sprintf("(in brackets: a Monte Carlo run of %s simulated, seed %d, %d requests)", fmtDur(r.Simulated), doc.Seed, r.Requests)))
	}
	if sp := doc.SavePath; sp != nil {
		fmt.Fprintln(w)
		simPrintSavePath(w, sty, sp)
	}
	return nil
}

// deletedSome is r when the run deleted at least one session (so its ages
// mean something), else nil.
func deletedSome(r *gcpolicy.SimResult) *gcpolicy.SimResult {
	if r == nil || r.Deleted == 0 {
		return nil
	}
	return r
}

func simNote(r *gcpolicy.SimResult, f func(*gcpolicy.SimResult) string) string {
	if r == nil {
		return ""
	}
	return " [" + f(r) + "]"
}

func fmtPercent(p float64) string {
	switch {
	case p == 0:
		return "0% (never)"
	case p == 1:
		return "100% (every request)"
	}
	return fmt.Sprintf("%.4g%%", 100*p)
}

func ruleByName(s string) gcpolicy.Rule {
	if s == gcpolicy.RulePCG.String() {
		return gcpolicy.RulePCG
	}
	return gcpolicy.RuleLCG
}

// simPrintSavePath draws the age histogram and the rate estimate.
func simPrintSavePath(w io.Writer, sty *Styles, sp *simSavePath) {
	fmt.Fprintf(w, "%s %s: %d files, %s\n", sty.Header.Render("save_path"), sp.SavePath, sp.Files, HumanSize(sp.Bytes))
	var most int64 = 1
	for _, b := range sp.Histogram {
		most = max(most, b.Files)
	}
	const width = 40
	for _, b := range sp.Histogram {
		lo := gcpolicy.ShortDuration(time.Duration(b.Lo * float64(time.Second)))
		label := "≥" + lo
		if b.Hi != nil {
			label = lo + "–" + gcpolicy.ShortDuration(time.Duration(*b.Hi*float64(time.Second)))
		}
		n := int(math.Ceil(float64(b.Files) / float64(most) * width))
		fmt.Fprintf(w, "  %-9s %s%s %d\n", label, sty.Good.Render(strings.Repeat("█", n)), strings.Repeat(" ", width-n), b.Files)
	}
	if sp.Future.Files > 0 {
		fmt.Fprintf(w, "  %s\n", sty.Warn.Render(fmt.Sprintf("%d files have an mtime in the future", sp.Future.Files)))
	}
	if r := sp.Rate; r != nil {
		fmt.Fprintf(w, "  new-session rate ≈ %s/s (%s/h ± %s/h): %d files modified in the last %s\n",
			fmtNum(r.PerSecond), fmtNum(r.PerHour()), fmtNum(r.StdErr*3600), r.Files, gcpolicy.ShortDuration(r.Window))
	}
	for _, e := range sp.Errors {
		fmt.Fprintln(w, "  "+sty.Bad.Render("error: ")+e)
	}
}
