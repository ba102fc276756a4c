package cmd

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether fd is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// SystemIO returns IOStreams on the process's stdin, stdout and stderr, with
// the terminal and colour decisions made here and nowhere else: colour only
// when stdout is a terminal and NO_COLOR is unset (any value, even empty).
func SystemIO() *IOStreams {
	io := &IOStreams{
		In:     os.Stdin,
		Out:    os.Stdout,
		ErrOut: os.Stderr,
		InTTY:  isTerminal(os.Stdin),
		OutTTY: isTerminal(os.Stdout),
		ErrTTY: isTerminal(os.Stderr),
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	io.Color = io.OutTTY && !noColor
	return io
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
