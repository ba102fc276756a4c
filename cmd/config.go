package cmd

import (
	"fmt"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/spf13/cobra"
)

// ConfigOptions are the inputs of the config command.
type ConfigOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	Output   string
}

// NewCmdConfig builds "sesstool config". runF replaces configRun in tests.
func NewCmdConfig(f *Factory, runF func(*ConfigOptions) error) *cobra.Command {
	opts := &ConfigOptions{IO: f.IO, Settings: f.Settings}
	c := &cobra.Command{
		Use:   "config",
		Short: "Show the effective session settings and where each came from",
		Long: `Show the effective session settings (save_path, save_handler,
serialize_handler, gc_*, sid_*) and where each value came from: a flag, the
environment, a php.ini file and line, or PHP's built-in default.`,
		Example: "  sesstool config\n  sesstool config --sapi cli -o json",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(opts.Output, FormatHuman, FormatJSON); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return configRun(opts)
		},
	}
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON)
	return c
}

type configJSON struct {
	SAPI     string    `json:"sapi,omitempty"`
	Version  string    `json:"php_version,omitempty"`
	Files    []string  `json:"files"`
	Settings []Setting `json:"settings"`
	Warnings []string  `json:"warnings"`
}

func configRun(opts *ConfigOptions) error {
	st, err := opts.Settings()
	if err != nil {
		return err
	}
	if opts.Output == FormatJSON {
		doc := configJSON{SAPI: st.SAPI, Version: st.Version, Files: st.Files, Settings: st.All(), Warnings: st.Warnings}
		if doc.Files == nil {
			doc.Files = []string{}
		}
		if doc.Warnings == nil {
			doc.Warnings = []string{}
		}
		return writeJSON(opts.IO.Out, doc)
	}
	sty := NewStyles(opts.IO)
	t := plainTable(sty).Headers("SETTING", "VALUE", "SOURCE")
	t.StyleFunc(func(row, col int) lipgloss.Style {
		if row == table.HeaderRow {
			return sty.Header.PaddingRight(2)
		}
		if col == 2 {
			return sty.Dim
		}
		return sty.Value.PaddingRight(2)
	})
	for _, s := range st.All() {
		t.Row(s.Name, fmt.Sprintf("%q", s.Value), s.Source)
	}
	out := opts.IO.Out
	if len(st.Files) > 0 {
		what := "php.ini"
		if st.SAPI != "" {
			what = fmt.Sprintf("php.ini of SAPI %s (PHP %s)", st.SAPI, st.Version)
		}
		fmt.Fprintf(out, "%s\n", sty.Dim.Render("read "+what+":"))
		for _, f := range st.Files {
			fmt.Fprintf(out, "  %s\n", f)
		}
	} else {
		fmt.Fprintln(out, sty.Dim.Render("no php.ini read: PHP's built-in defaults"))
	}
	fmt.Fprintln(out, renderTable(t))
	for _, w := range st.Warnings {
		fmt.Fprintln(out, sty.Warn.Render("warning: "+w))
	}
	return nil
}
