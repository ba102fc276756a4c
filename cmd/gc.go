package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/gcpolicy"
	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// GCOptions are the inputs of the gc command.
type GCOptions struct {
	IO        *IOStreams
	Now       func() time.Time
	Settings  func() (*Settings, error)
	OpenStore func() (*sessfile.Store, *Settings, error)
	// OpenBackend opens the configured store (a key-value store's sweep
	// goes through it).
	OpenBackend func() (Backend, *Settings, error)
	EtcRoot     string              // root of the /etc/php tree for --all
	Getenv      func(string) string // for ${VAR} in ini files

	MaxLifetime    time.Duration
	MaxLifetimeSet bool
	DryRun         bool
	All            bool
	Quiet          bool
	List           bool // --list: name every session deleted (or, dry, to delete)
	Output         string
	Workers        int // goroutines calling Expire (0: 8)
	// LockAge: on Redis and Memcached, a lock key without expiry idle this long is stale.
	LockAge time.Duration

	// beforeExpire, when set, runs for each candidate between the walk
	// that found it expired and the Expire call (a test seam).
	beforeExpire func(sessfile.Info)
	// onDeleted, when set, is called (from several goroutines) for each
	// session deleted or, dry, that would be (--list).
	onDeleted func(in sessfile.Info, bytes int64)
}

// NewCmdGC builds "sesstool gc" and its "simulate" subcommand. runF
// replaces gcRun in tests.
func NewCmdGC(f *Factory, runF func(*GCOptions) error) *cobra.Command {
	opts := &GCOptions{IO: f.IO, Now: f.Now, Settings: f.Settings, OpenStore: f.OpenStore, OpenBackend: f.OpenBackend, Getenv: f.Getenv}
	c := &cobra.Command{
		Use:   "gc",
		Short: "Delete expired sessions safely (for cron), like PHP's own GC",
		Long: `Delete every session whose age (now − mtime, in whole seconds) is greater
than --maxlifetime: the sessions PHP's own garbage collector would delete.

Unlike PHP's GC, each candidate is first locked with a non-blocking
flock(LOCK_EX), as PHP locks a session during a request: a session in use is
skipped, and so is one modified between the scan and the lock (its mtime is
checked again under the lock). Symlinks, directories and other entries that
are not regular files are never touched. Every level of an "N;DIR" save_path
is swept (PHP's own GC does nothing there). --dry-run takes the same locks and
reports exactly what a real run would do, deleting nothing.

Age is taken from the modification time (mtime), as PHP does. Debian's
sessionclean uses the inode change time (find -cmin): after a restore or an
rsync migration every ctime is recent, so sessionclean deletes nothing for a
whole maxlifetime; sesstool gc is not fooled.

--all sweeps every save_path in use on the machine, each with its own
gc_maxlifetime, found the way Debian's sessionclean finds them (the php.ini
and conf.d of each SAPI: apache2, apache2filter, cgi, fpm, cli, of each PHP
version under /etc/php) and also in what sessionclean misses: PHP-FPM pool
files (php_value/php_admin_value[session.save_path] and
[session.gc_maxlifetime]). A path shared by several sources is swept with
the longest maxlifetime. --all --dry-run lists what it found and where from.

With -q nothing is printed on success, so cron mails only on trouble. Each
error is one line on stderr and makes the exit status 1.`,
		Example: `  sesstool gc --dry-run
  sesstool gc --maxlifetime 2h
  sesstool gc --all -q                 # from cron
  sesstool gc --all --dry-run          # what would --all sweep, and why
  sesstool gc simulate --rate 20 --maxlifetime 1440,3600,86400`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkFormat(opts.Output, FormatHuman, FormatJSON, FormatJSONL); err != nil {
				return err
			}
			if opts.Output == FormatJSONL && !opts.List {
				return UsageErrorf("-o jsonl lists sessions: use it with --list")
			}
			if opts.All && opts.List {
				return UsageErrorf("--list is for one save_path, not --all")
			}
			opts.MaxLifetimeSet = c.Flags().Changed("maxlifetime")
			opts.EtcRoot = f.Global.EtcRoot
			if opts.All && opts.MaxLifetimeSet {
				return UsageErrorf("--maxlifetime cannot be used with --all: each save_path is swept with its own gc_maxlifetime")
			}
			if opts.All && f.Global.SavePathSet {
				if f.Global.SavePathFrom == savePathFromEnv {
					return UsageErrorf("SESSTOOL_SAVE_PATH is set (%q): --all finds every save_path itself (unset it, or run gc without --all)", f.Global.SavePath)
				}
				return UsageErrorf("--save-path cannot be used with --all: --all finds every save_path itself")
			}
			if runF != nil {
				return runF(opts)
			}
			return gcRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.Var(newDurationValue(&opts.MaxLifetime, gcpolicy.DefaultMaxLifetime), "maxlifetime", "delete sessions older than this (default: php.ini session.gc_maxlifetime, else 1440s)")
	hideDefault(fl, "maxlifetime")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "take the same locks and report what would be deleted, deleting nothing")
	fl.BoolVar(&opts.All, "all", false, "sweep every save_path found in /etc/php (each SAPI's php.ini and conf.d, PHP-FPM pools)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing on success (errors still go to stderr)")
	fl.BoolVar(&opts.List, "list", false, `name every session deleted (with --dry-run: that would be); -o json adds "ids", -o jsonl prints one line per session`)
	fl.Var(newDurationValue(&opts.LockAge, time.Hour), "lock-age", "on Redis and Memcached: delete lock keys without expiry idle longer than this whose session was not written meanwhile")
	fl.IntVar(&opts.Workers, "workers", 8, "goroutines locking and deleting in parallel (unlink waits on the journal: more than the cores pays)")
	_ = fl.MarkHidden("workers")
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON, FormatJSONL)
	c.AddCommand(NewCmdGCSimulate(f, nil))
	return c
}

// appendGCListLine appends one -o jsonl line of gc --list: the id, where
// (a member name and its string value, or none when member is empty), the
// bytes freed and dry_run.
func appendGCListLine(line []byte, id, member, where string, n int64, dry bool) []byte {
	line = append(line, `{"id":`...)
	line = phpser.AppendJSONString(line, id)
	if member != "" {
		line = append(line, ',')
		line = append(line, member...)
		line = phpser.AppendJSONString(line, where)
	}
	line = append(line, `,"bytes":`...)
	line = strconv.AppendInt(line, n, 10)
	line = append(line, `,"dry_run":`...)
	line = strconv.AppendBool(line, dry)
	return append(line, "}\n"...)
}

// gcListVerb starts a human line of gc --list.
func gcListVerb(dry bool) string {
	if dry {
		return "would delete "
	}
	return "deleted "
}

// gcStats are the counters of one sweep.
type gcStats struct {
	Scanned        int64
	Deleted        int64
	BytesFreed     int64
	SkippedInUse   int64
	SkippedTouched int64
	Vanished       int64
	Errors         int64
}

func (s *gcStats) add(o gcStats) {
	s.Scanned += o.Scanned
	s.Deleted += o.Deleted
	s.BytesFreed += o.BytesFreed
	s.SkippedInUse += o.SkippedInUse
	s.SkippedTouched += o.SkippedTouched
	s.Vanished += o.Vanished
	s.Errors += o.Errors
}

// gcJSON is CLI.md's gc -o json document; Paths only with --all.
type gcJSON struct {
	Scanned      int64          `json:"scanned"`
	Deleted      int64          `json:"deleted"`
	BytesFreed   int64          `json:"bytes_freed"`
	SkippedInUse int64          `json:"skipped_in_use"`
	Errors       int64          `json:"errors"`
	DryRun       bool           `json:"dry_run"`
	IDs          *[]string      `json:"ids,omitempty"`         // with --list
	StaleLocks   *int64         `json:"stale_locks,omitempty"` // Redis, Memcached: lock keys deleted
	Paths        []gcPathReport `json:"paths,omitempty"`
}

func newGCJSON(s gcStats, dry bool) gcJSON {
	return gcJSON{Scanned: s.Scanned, Deleted: s.Deleted, BytesFreed: s.BytesFreed, SkippedInUse: s.SkippedInUse, Errors: s.Errors, DryRun: dry}
}

// gcReporter prints error lines and the progress line on stderr, never
// interleaved.
type gcReporter struct {
	mu       sync.Mutex
	w        io.Writer
	progress bool // a progress line may be on screen
	shown    bool
	start    time.Time
	scanned  atomic.Int64
	deleted  atomic.Int64
	errors   atomic.Int64
}

// errorf prints one "sesstool: ..." line for err and counts it.
func (r *gcReporter) error(err error) {
	r.errors.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clearLocked()
	fmt.Fprintln(r.w, "sesstool: "+ErrorLine(err))
}

func (r *gcReporter) clearLocked() {
	if r.shown {
		fmt.Fprint(r.w, "\r\x1b[K")
		r.shown = false
	}
}

func (r *gcReporter) tick(dry bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.scanned.Load()
	rate := float64(n) / max(time.Since(r.start).Seconds(), 1e-3)
	verb := "deleted"
	if dry {
		verb = "would delete"
	}
	fmt.Fprintf(r.w, "\r\x1b[Kscanned %d, %s %d (%.0f files/s)", n, verb, r.deleted.Load(), rate)
	r.shown = true
}

// runProgress shows the progress line every 250 ms until stop is closed.
func (r *gcReporter) runProgress(dry bool, stop <-chan struct{}) {
	if !r.progress {
		return
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			r.mu.Lock()
			r.clearLocked()
			r.mu.Unlock()
			return
		case <-t.C:
			r.tick(dry)
		}
	}
}

// gcSweep sweeps one store: the walk streams every session on this
// goroutine; the expired ones go to workers that lock, recheck and unlink
// through Store.Expire. Memory stays flat whatever the number of files.
func gcSweep(ctx context.Context, store *sessfile.Store, maxLifetime time.Duration, now time.Time, opts *GCOptions, rep *gcReporter) (gcStats, error) {
	older := gcpolicy.OlderThan(now, maxLifetime)
	workers := opts.Workers
	if workers <= 0 {
		workers = 8
	}
	var (
		st        gcStats
		deleted   atomic.Int64
		freed     atomic.Int64
		inUse     atomic.Int64
		touched   atomic.Int64
		vanished  atomic.Int64
		errs      atomic.Int64
		wg        sync.WaitGroup
		cands     = make(chan sessfile.Info, 1024)
		cancelled atomic.Bool
	)
	for range workers {
		wg.Go(func() {
			for in := range cands {
				if ctx.Err() != nil {
					cancelled.Store(true)
					continue
				}
				if opts.beforeExpire != nil {
					opts.beforeExpire(in)
				}
				res, err := store.Expire(ctx, in, older, opts.DryRun)
				if err != nil {
					if ctx.Err() != nil {
						cancelled.Store(true)
						continue
					}
					errs.Add(1)
					rep.error(fmt.Errorf("gc: %w", err))
					continue
				}
				switch res.Outcome {
				case sessfile.ExpireDeleted:
					deleted.Add(1)
					rep.deleted.Add(1)
					freed.Add(res.Bytes)
					if opts.onDeleted != nil {
						opts.onDeleted(in, res.Bytes)
					}
				case sessfile.ExpireSkippedInUse:
					inUse.Add(1)
				case sessfile.ExpireSkippedTouched:
					touched.Add(1)
				case sessfile.ExpireVanished:
					vanished.Add(1)
				}
			}
		})
	}
	var fatal error
	for in, err := range store.All(ctx) {
		if err != nil {
			if ctx.Err() != nil {
				fatal = ctx.Err()
				break
			}
			errs.Add(1)
			rep.error(fmt.Errorf("gc: %w", err))
			continue
		}
		st.Scanned++
		rep.scanned.Add(1)
		if older(in.ModTime) {
			cands <- in
		}
	}
	close(cands)
	wg.Wait()
	if fatal == nil && (cancelled.Load() || ctx.Err() != nil) {
		fatal = ctx.Err()
	}
	st.Deleted, st.BytesFreed = deleted.Load(), freed.Load()
	st.SkippedInUse, st.SkippedTouched, st.Vanished = inUse.Load(), touched.Load(), vanished.Load()
	st.Errors = errs.Load()
	return st, fatal
}

func newGCReporter(opts *GCOptions) *gcReporter {
	return &gcReporter{
		w:        opts.IO.ErrOut,
		progress: opts.IO.ErrTTY && opts.Output != FormatJSON && !opts.Quiet,
		start:    time.Now(),
	}
}

func gcRun(ctx context.Context, opts *GCOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.All {
		return gcAllRun(ctx, opts)
	}
	if opts.OpenBackend != nil && opts.Settings != nil {
		if st, err := opts.Settings(); err == nil && st.IsKV() {
			return gcKVRun(ctx, opts)
		}
	}
	store, st, err := opts.OpenStore()
	if err != nil {
		return err
	}
	defer store.Close()
	ml := opts.MaxLifetime
	mlFrom := "--maxlifetime"
	if !opts.MaxLifetimeSet {
		ml = st.MaxLifetime()
		mlFrom = "session.gc_maxlifetime, " + st.GCMaxlifetime.Source
	}
	rep := newGCReporter(opts)
	// --list: the ids for -o json, or a line per session as it goes.
	var (
		listMu sync.Mutex
		ids    []string
		listW  = bufio.NewWriter(opts.IO.Out)
		line   []byte
	)
	if opts.List {
		opts.onDeleted = func(in sessfile.Info, n int64) {
			listMu.Lock()
			defer listMu.Unlock()
			switch opts.Output {
			case FormatJSON:
				ids = append(ids, in.ID)
			case FormatJSONL:
				line = appendGCListLine(line[:0], in.ID, `"path":`, in.Path, n, opts.DryRun)
				listW.Write(line)
			default:
				if !opts.Quiet {
					listW.WriteString(gcListVerb(opts.DryRun) + in.ID + "\n")
				}
			}
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { rep.runProgress(opts.DryRun, stop); close(done) }()
	stats, fatal := gcSweep(ctx, store, ml, opts.Now(), opts, rep)
	if err := listW.Flush(); err != nil && fatal == nil {
		fatal = err
	}
	slices.Sort(ids)
	close(stop)
	<-done
	// SIGINT/SIGTERM stop the sweep between files: every session is whole
	// (each delete is one unlink under the lock); say what was done.
	if fatal != nil && !errors.Is(fatal, context.Canceled) {
		return fatal
	}
	if opts.Output == FormatJSON {
		doc := newGCJSON(stats, opts.DryRun)
		if opts.List {
			if ids == nil {
				ids = []string{}
			}
			doc.IDs = &ids
		}
		if err := writeJSON(opts.IO.Out, doc); err != nil {
			return err
		}
	} else if opts.Output == FormatJSONL {
		// The lines were the output.
	} else if !opts.Quiet {
		sty := NewStyles(opts.IO)
		fmt.Fprintf(opts.IO.Out, "%s %s %s\n", sty.Header.Render("gc"), store.SavePath().String(),
			sty.Dim.Render(fmt.Sprintf("(maxlifetime %s from %s; age by mtime)", gcpolicy.ShortDuration(time.Duration(gcpolicy.Seconds(ml))*time.Second), mlFrom)))
		fmt.Fprintln(opts.IO.Out, gcSummaryLine(sty, stats, opts.DryRun))
	}
	if fatal != nil {
		return gcInterrupted(stats, opts.DryRun)
	}
	if stats.Errors > 0 {
		return &SilentError{Code: ExitFailure}
	}
	return nil
}

// gcInterrupted is the error of a sweep stopped by SIGINT/SIGTERM (exit 1),
// printed after its summary: it stopped between files.
func gcInterrupted(s gcStats, dry bool) error {
	verb := "deleted"
	if dry {
		verb = "would have deleted"
	}
	return fmt.Errorf("gc interrupted: stopped between files after scanning %d and having %s %d; no session was left half-removed", s.Scanned, verb, s.Deleted)
}

// gcSummaryLine is the human summary of a sweep.
func gcSummaryLine(sty *Styles, s gcStats, dry bool) string {
	verb := "deleted"
	if dry {
		verb = "would delete"
	}
	parts := []string{
		fmt.Sprintf("scanned %d", s.Scanned),
		sty.Good.Render(fmt.Sprintf("%s %d", verb, s.Deleted)) + fmt.Sprintf(" (%s)", HumanSize(s.BytesFreed)),
		fmt.Sprintf("skipped in use %d", s.SkippedInUse),
	}
	if s.SkippedTouched > 0 {
		parts = append(parts, fmt.Sprintf("touched meanwhile %d", s.SkippedTouched))
	}
	if s.Vanished > 0 {
		parts = append(parts, fmt.Sprintf("vanished %d", s.Vanished))
	}
	e := fmt.Sprintf("errors %d", s.Errors)
	if s.Errors > 0 {
		e = sty.Bad.Render(e)
	}
	parts = append(parts, e)
	if dry {
		parts = append(parts, sty.Dim.Render("(dry run: nothing deleted)"))
	}
	return strings.Join(parts, ", ")
}
