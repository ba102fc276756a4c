package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sesstool/sesstool/gcpolicy"
	"github.com/sesstool/sesstool/store"
)

// gcKVRun is gc on Redis and Memcached sessions: the store expires them
// by TTL, so the sweep deletes only what never expires (CLI.md "Shared
// stores"): session keys without a TTL idle longer than maxlifetime, and
// stale lock keys.
func gcKVRun(ctx context.Context, opts *GCOptions) error {
	b, st, err := opts.OpenBackend()
	if err != nil {
		return err
	}
	defer b.Close()
	rs, ok := b.(store.Sweeper)
	if !ok {
		return fmt.Errorf("gc: the %s store has no sweep", b.Capabilities().Handler)
	}
	ml := opts.MaxLifetime
	mlFrom := "--maxlifetime"
	if !opts.MaxLifetimeSet {
		ml, mlFrom = st.MaxLifetime(), "session.gc_maxlifetime, "+st.GCMaxlifetime.Source
	}
	var (
		mu    sync.Mutex
		ids   []string
		listW = bufio.NewWriter(opts.IO.Out)
		line  []byte
	)
	o := store.SweepOptions{IdleMax: ml, LockAge: opts.LockAge, DryRun: opts.DryRun}
	o.OnError = func(id string, err error) {
		fmt.Fprintf(opts.IO.ErrOut, "sesstool: session %q: %s\n", id, oneLine(err.Error()))
	}
	if opts.List {
		o.OnDeleted = func(id string, n int64, lock bool) {
			mu.Lock()
			defer mu.Unlock()
			what := id
			if lock {
				what = id + " (stale lock)"
			}
			switch opts.Output {
			case FormatJSON:
				if !lock {
					ids = append(ids, id)
				}
			case FormatJSONL:
				kind := "session"
				if lock {
					kind = "stale lock"
				}
				line = appendGCListLine(line[:0], id, `"kind":`, kind, n, opts.DryRun)
				listW.Write(line)
			default:
				if !opts.Quiet {
					listW.WriteString(gcListVerb(opts.DryRun) + what + "\n")
				}
			}
		}
	}
	res, fatal := rs.Sweep(ctx, o)
	if err := listW.Flush(); err != nil && fatal == nil {
		fatal = err
	}
	stats := gcStats{Scanned: res.Scanned, Deleted: res.Deleted, BytesFreed: res.BytesFreed, SkippedInUse: res.SkippedInUse, Errors: res.Errors}
	// A sweep that went on without a server it could not reach (Memcached)
	// prints its summary of the others, then names that server on its
	// one error line (exit 1), as ls and locks do.
	var partial error
	var pe interface{ Partial() bool }
	if fatal != nil && errors.As(fatal, &pe) && pe.Partial() {
		partial, fatal = fatal, nil
	}
	if fatal != nil && !errors.Is(fatal, context.Canceled) {
		return fatal
	}
	switch opts.Output {
	case FormatJSON:
		doc := newGCJSON(stats, opts.DryRun)
		if opts.List {
			slices.Sort(ids)
			if ids == nil {
				ids = []string{}
			}
			doc.IDs = &ids
		}
		n := res.StaleLocks
		doc.StaleLocks = &n
		if err := writeJSON(opts.IO.Out, doc); err != nil {
			return err
		}
	case FormatJSONL:
	default:
		if !opts.Quiet {
			sty := NewStyles(opts.IO)
			kind := "Redis"
			if !st.IsRedis() {
				kind = "memcached"
			}
			fmt.Fprintf(opts.IO.Out, "%s %s %s\n", sty.Header.Render("gc"), b.Where(),
				sty.Dim.Render(fmt.Sprintf("(%s expires sessions by TTL; swept: keys without a TTL idle over %s from %s, lock keys without expiry idle over %s)", kind,
					gcpolicy.ShortDuration(time.Duration(gcpolicy.Seconds(ml))*time.Second), mlFrom, gcpolicy.ShortDuration(opts.LockAge))))
			line := gcSummaryLine(sty, stats, opts.DryRun)
			verb := "stale locks deleted"
			if opts.DryRun {
				verb = "stale locks to delete"
			}
			fmt.Fprintf(opts.IO.Out, "%s, %s %d\n", line, verb, res.StaleLocks)
		}
	}
	if fatal != nil {
		return gcInterrupted(stats, opts.DryRun)
	}
	if partial != nil {
		return partial
	}
	if stats.Errors > 0 {
		return &SilentError{Code: ExitFailure}
	}
	return nil
}
