// Command sesstool inspects and administers PHP session storage (the files
// save handler). See README.md for every command.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesstool/sesstool/cmd"
)

// signalCause is why the command's context was cancelled: a signal.
type signalCause struct{ sig syscall.Signal }

func (c signalCause) Error() string { return "interrupted by " + sigName(c.sig) }

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// exitCode is the exit status after sig: 128 + its number, and SIGQUIT is
// treated like SIGTERM (CLI.md).
func exitCode(sig syscall.Signal) int {
	if sig == syscall.SIGQUIT {
		return 128 + int(syscall.SIGTERM)
	}
	return 128 + int(sig)
}

func main() {
	// SIGINT, SIGTERM, SIGQUIT and SIGHUP never end the process by
	// themselves: they cancel the context, which commands look at between
	// sessions, never inside a write, so no signal tears a session.
	// SIGQUIT gives no Go stack dump. Later signals are caught too.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			if sig, ok := s.(syscall.Signal); ok {
				cancel(signalCause{sig})
			}
		}
	}()
	f := cmd.NewFactory()
	err := cmd.Execute(ctx, cmd.NewCmdRoot(f), os.Args[1:])
	code := cmd.ExitCode(err)
	line := cmd.ErrorLine(err)
	var sc signalCause
	if err != nil && errors.Is(err, context.Canceled) && errors.As(context.Cause(ctx), &sc) {
		code = exitCode(sc.sig)
		if line == "interrupted" {
			line = sc.Error()
		}
	}
	if line != "" {
		fmt.Fprintln(os.Stderr, "sesstool: "+line)
	}
	os.Exit(code)
}
