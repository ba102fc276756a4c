package cmd

import (
	"fmt"

	"github.com/sesstool/sesstool/internal/tableprinter"
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
	// SavePath is session.save_path parsed in its handler's syntax: the
	// files layout, or each server.
	SavePath []savePathPart `json:"save_path_parts"`
	Warnings []string       `json:"warnings"`
}

func configRun(opts *ConfigOptions) error {
	st, err := opts.Settings()
	if err != nil {
		return err
	}
	if opts.Output == FormatJSON {
		doc := configJSON{SAPI: st.SAPI, Version: st.Version, Files: st.Files, Settings: st.All(), SavePath: savePathParts(st), Warnings: st.Warnings}
		if doc.SavePath == nil {
			doc.SavePath = []savePathPart{}
		}
		if doc.Files == nil {
			doc.Files = []string{}
		}
		if doc.Warnings == nil {
			doc.Warnings = []string{}
		}
		return writeJSON(opts.IO.Out, doc)
	}
	sty := NewStyles(opts.IO)
	out := opts.IO.Out
	t := newTable(opts.IO, sty, false,
		tableprinter.Column{Header: "SETTING", Fixed: true},
		tableprinter.Column{Header: "VALUE"},
		tableprinter.Column{Header: "SOURCE", Min: 12})
	if !t.TTY() {
		// A pipe gets the rows alone, values exact; warnings go to stderr.
		for _, s := range st.All() {
			t.AddRow(tableprinter.Cell{Text: s.Name}, tableprinter.Cell{Text: s.Value}, tableprinter.Cell{Text: s.Source})
		}
		if err := t.Render(); err != nil {
			return err
		}
		for _, w := range st.Warnings {
			fmt.Fprintln(opts.IO.ErrOut, "sesstool: warning: "+w)
		}
		return nil
	}
	dim := styleFunc(sty, sty.Dim)
	for _, s := range st.All() {
		t.AddRow(tableprinter.Cell{Text: s.Name}, tableprinter.Cell{Text: fmt.Sprintf("%q", s.Value)}, tableprinter.Cell{Text: s.Source, Style: dim})
	}
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
	if err := t.Render(); err != nil {
		return err
	}
	if parts := savePathParts(st); len(parts) > 0 {
		fmt.Fprintln(out, sty.Dim.Render("session.save_path, as "+st.StoreHandler()+" reads it:"))
		for _, p := range parts {
			fmt.Fprintf(out, "  %s\n", p)
		}
	}
	for _, w := range st.Warnings {
		fmt.Fprintln(out, sty.Warn.Render("warning: "+w))
	}
	return nil
}
