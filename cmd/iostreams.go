package cmd

import (
	"os"
	"strconv"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/mattn/go-isatty"
	"github.com/muesli/termenv"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool { return isatty.IsTerminal(f.Fd()) }

// colorWanted decides colour on stdout: termenv's own detection of the
// terminal and its CLICOLOR and CLICOLOR_FORCE rules, and never with
// TERM=dumb or a non-empty NO_COLOR, whatever forces it.
func colorWanted(out *os.File, getenv func(string) string) bool {
	if getenv("TERM") == "dumb" || getenv("NO_COLOR") != "" {
		return false
	}
	return termenv.NewOutput(out, termenv.WithEnvironment(envOf(getenv))).EnvColorProfile() != termenv.Ascii
}

// envOf is a termenv.Environ over a getenv function.
type envOf func(string) string

func (e envOf) Getenv(k string) string { return e(k) }
func (e envOf) Environ() []string      { return nil }

// SystemIO returns IOStreams on the process's stdin, stdout and stderr, with
// the terminal and colour decisions made here and nowhere else.
func SystemIO() *IOStreams {
	io := &IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		InTTY:  isTerminal(os.Stdin),
		OutTTY: isTerminal(os.Stdout),
		ErrTTY: isTerminal(os.Stderr),
	}
	io.Color = colorWanted(os.Stdout, os.Getenv)
	if io.OutTTY {
		io.Width = termWidth(os.Stdout, os.Getenv)
	}
	return io
}

// termWidth is the width of the terminal f: $COLUMNS when it is a positive
// number (as shells and less(1) honour it), else the terminal's own size,
// else 80.
func termWidth(f *os.File, getenv func(string) string) int {
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if w, _, err := term.GetSize(f.Fd()); err == nil && w > 0 {
		return w
	}
	return 80
}

// NewFactory returns the Factory for a real process: system IO, the real
// clock and the process environment.
func NewFactory() *Factory {
	return &Factory{
		IO:     SystemIO(),
		Now:    time.Now,
		Getenv: os.Getenv,
	}
}
