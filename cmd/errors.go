package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Exit codes of CLI.md.
const (
	ExitOK      = 0 // success
	ExitFailure = 1 // not found, cannot decode, I/O
	ExitUsage   = 2 // bad flag, invalid id or save_path, bad VALUE
	ExitLocked  = 3 // the session stayed locked past --lock-timeout
)

// UsageError is a mistake in how sesstool was called: a bad flag or
// argument, an invalid id or save_path, a VALUE that is not valid. It maps
// to exit code 2.
type UsageError struct{ Err error }

// Error returns the message of the underlying error.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UsageError) Unwrap() error { return e.Err }

// UsageErrorf returns a *UsageError with a formatted message; %w wraps.
func UsageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// usage wraps err as a usage error (nil stays nil).
func usage(err error) error {
	if err == nil {
		return nil
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return err
	}
	return &UsageError{Err: err}
}

// SilentError reports a failure whose message was already printed; main
// prints nothing more and exits with Code.
type SilentError struct{ Code int }

// Error says which exit status the silent failure carries.
func (e *SilentError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitCode maps an error returned by a command to the process exit code of
// CLI.md: 0 for nil, 3 for a lock timeout, 2 for usage errors (bad flags,
// invalid ids or save_paths, bad values), 1 for everything else.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var se *SilentError
	if errors.As(err, &se) {
		return se.Code
	}
	if isLockTimeout(err) {
		return ExitLocked
	}
	var ue *UsageError
	if errors.As(err, &ue) || isStoreUsageError(err) || isCobraUsageError(err) {
		return ExitUsage
	}
	return ExitFailure
}

// ErrorLine returns the one line main prints after "sesstool: " for err,
// or "" when nothing should be printed. Cobra's multi-line messages ("Did
// you mean this?") are folded into one line.
func ErrorLine(err error) string {
	if err == nil {
		return ""
	}
	var se *SilentError
	if errors.As(err, &se) {
		return ""
	}
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = "interrupted"
	}
	if i := strings.Index(msg, "\n\nDid you mean this?"); i >= 0 {
		var sugg []string
		for _, l := range strings.Split(msg[i:], "\n") {
			l = strings.TrimSpace(l)
			if l != "" && l != "Did you mean this?" {
				sugg = append(sugg, fmt.Sprintf("%q", l))
			}
		}
		msg = msg[:i] + " (did you mean " + strings.Join(sugg, " or ") + "?)"
	}
	msg = strings.TrimSpace(msg) + errorHint(err)
	// Whatever is left must not span lines.
	msg = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(msg)
	return msg
}

// isCobraUsageError recognises the untyped errors cobra returns for an
// unknown command or bad arguments.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command ", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument ", "accepts ", "requires at least ", "requires at most ", "received "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
