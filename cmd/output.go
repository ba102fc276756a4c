package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/sesstool/sesstool/internal/tableprinter"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Output formats of -o.
const (
	FormatHuman = "human"
	FormatJSON  = "json"
	FormatJSONL = "jsonl"
	FormatRaw   = "raw"
)

// Styles are the lipgloss styles of human output. Built by NewStyles, they
// render plain text when colour is off.
type Styles struct {
	R       *lipgloss.Renderer
	Header  lipgloss.Style
	Key     lipgloss.Style
	Type    lipgloss.Style
	Value   lipgloss.Style
	Dim     lipgloss.Style
	Warn    lipgloss.Style
	Bad     lipgloss.Style
	Good    lipgloss.Style
	Bar     lipgloss.Style // stats' histogram bars
	Colored bool
}

// NewStyles returns the styles for io: the one place that decides colour.
// Colour is on only when io.Color is true (stdout is a terminal and NO_COLOR
// is unset, see SystemIO).
func NewStyles(io *IOStreams) *Styles {
	r := lipgloss.NewRenderer(io.Out)
	if io.Color {
		r.SetColorProfile(termenv.ANSI256)
	} else {
		r.SetColorProfile(termenv.Ascii)
	}
	s := &Styles{R: r, Colored: io.Color}
	s.Header = r.NewStyle().Bold(true)
	s.Key = r.NewStyle().Foreground(lipgloss.Color("12")).Bold(true)
	s.Type = r.NewStyle().Foreground(lipgloss.Color("8"))
	s.Value = r.NewStyle()
	s.Dim = r.NewStyle().Foreground(lipgloss.Color("8"))
	s.Warn = r.NewStyle().Foreground(lipgloss.Color("11"))
	s.Bad = r.NewStyle().Foreground(lipgloss.Color("9")).Bold(true)
	s.Good = r.NewStyle().Foreground(lipgloss.Color("10"))
	s.Bar = r.NewStyle().Foreground(lipgloss.Color("12"))
	return s
}

// addOutputFlag adds -o/--output with the given allowed formats (the first
// is the default).
func addOutputFlag(c *cobra.Command, dst *string, allowed ...string) {
	*dst = allowed[0]
	c.Flags().StringVarP(dst, "output", "o", allowed[0], "output format: "+strings.Join(allowed, ", "))
	_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

// checkFormat refuses a -o value outside allowed as a usage error.
func checkFormat(got string, allowed ...string) error {
	if slices.Contains(allowed, got) {
		return nil
	}
	return UsageErrorf("invalid --output %q: want %s", got, strings.Join(allowed, ", "))
}

// HumanSize formats a byte count with 1024-based units: "0 B", "512 B",
// "1.2 KB", "3.4 MB".
func HumanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KB", "MB", "GB", "TB", "PB", "EB"}
	f := float64(n) / 1024
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f < 10 {
		return strconv.FormatFloat(f, 'f', 1, 64) + " " + units[i]
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + " " + units[i]
}

// HumanAge formats how long ago something happened: "12s ago", "3m ago",
// "5h ago", "2d ago"; times in the future say "in the future".
func HumanAge(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int64(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int64(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int64(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int64(d/(24*time.Hour)))
	}
}

// ageSeconds is CLI.md's age: now − mtime in whole seconds.
func ageSeconds(now, mtime time.Time) int64 {
	return int64(now.Sub(mtime) / time.Second)
}

// writeJSON writes v as one indented JSON document and a newline, without
// HTML escaping.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonLine writes v as compact JSON without a newline, without HTML escaping.
func jsonCompact(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// rfc3339 formats t as CLI.md's times (RFC 3339, local zone, seconds).
func rfc3339(t time.Time) string { return t.Format(time.RFC3339) }

// newTable returns a table printer for io: fitted to the terminal's width
// and styled with sty on a terminal, tab-separated rows elsewhere.
func newTable(io *IOStreams, sty *Styles, noHeader bool, cols ...tableprinter.Column) *tableprinter.Printer {
	return tableprinter.New(io.Out, tableprinter.Options{
		TTY:         io.OutTTY,
		Width:       io.Width,
		NoHeader:    noHeader,
		HeaderStyle: styleFunc(sty, sty.Header),
		RuleStyle:   styleFunc(sty, sty.Dim),
	}, cols...)
}

// fitLines cuts every line of s wider than the terminal with "…" (a tree
// is never wrapped); off a terminal, or with no width known, s is whole.
func fitLines(s string, io *IOStreams) string {
	if !io.OutTTY || io.Width <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = tableprinter.Cut(l, io.Width)
	}
	return strings.Join(lines, "\n")
}

// styleFunc renders with st when colour is on, else returns nil (plain
// text through lipgloss costs time for nothing).
func styleFunc(sty *Styles, st lipgloss.Style) func(string) string {
	if !sty.Colored {
		return nil
	}
	return func(s string) string { return st.Render(s) }
}

// lipglossStyle is lipgloss.Style, named here so command files need not
// import lipgloss.
type lipglossStyle = lipgloss.Style

// hideDefault keeps cobra from adding "(default …)" to flags whose usage
// states their default itself (a php.ini value, else a built-in one).
func hideDefault(fl *pflag.FlagSet, names ...string) {
	for _, n := range names {
		if f := fl.Lookup(n); f != nil {
			f.DefValue = "0" // pflag prints no default for a zero value
		}
	}
}
