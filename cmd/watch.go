package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/store"
)

// WatchOptions are the inputs of the watch command.
type WatchOptions struct {
	IO      *IOStreams
	Factory *Factory

	// Ctx ends the watch (exit 0) when it is done; the command sets it
	// from SIGINT/SIGTERM, tests cancel it.
	Ctx context.Context

	Decode bool          // --decode
	Where  []string      // --where SEL (all must hold)
	Grep   []string      // --grep RE
	ID     string        // --id ID
	Output string        // -o human|json
	Poll   time.Duration // --poll D: compare listings every D
}

// NewCmdWatch builds "sesstool watch". runF replaces watchRun in tests.
func NewCmdWatch(f *Factory, runF func(*WatchOptions) error) *cobra.Command {
	opts := &WatchOptions{IO: f.IO, Factory: f}
	c := &cobra.Command{
		Use:   "watch",
		Short: "Follow a save_path and print sessions as they are created, modified and deleted",
		Long: `Follow the save_path (every level of an N; layout, including level
directories created later) and print each session that is created, modified
or deleted, within 250 ms, a burst of writes to one session coalesced into one
event. A session locked by a running request is read (under LOCK_SH) and
reported once the request releases it.

--decode adds which top-level keys were added, removed or changed, with their
new values; it compares with the last state watch saw, so the first change of
a session that existed before watch started has no key list. --where KEY=VALUE
follows only sessions that match; --id ID follows one session.

A one-line snapshot (sessions, total size) goes to stderr at start. Runs until
SIGINT or SIGTERM, then exits 0; exits 1 if the save_path disappears or an
inotify limit is reached.

On Redis, watch follows keyspace notifications on every host or cluster
master; a server that has them off is named with the CONFIG SET that turns
them on (sesstool never changes a server's configuration), and --poll D
compares listings every D instead. Memcached cannot notify: there --poll D
is the way (each round lists and reads every session).`,
		Example: `  sesstool watch --save-path "2;/var/lib/php/sessions"
  sesstool watch --decode --where user_id=42
  sesstool watch -o json | jq -c 'select(.event == "deleted")'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if opts.Ctx == nil {
				ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				opts.Ctx = ctx
			}
			if runF != nil {
				return runF(opts)
			}
			return watchRun(opts)
		},
	}
	c.Flags().BoolVar(&opts.Decode, "decode", false, "show which keys were added, removed or changed")
	c.Flags().StringArrayVar(&opts.Where, "where", nil, "follow only sessions where `SEL` holds (as ls --where; repeatable)")
	_ = c.RegisterFlagCompletionFunc("where", completeKeyFlag(f, true))
	c.Flags().StringArrayVar(&opts.Grep, "grep", nil, "follow only sessions where `RE` matches a string value or key anywhere (repeatable)")
	c.Flags().StringVar(&opts.ID, "id", "", "follow only the session `ID`")
	c.Flags().Var(newDurationValue(&opts.Poll, 0), "poll", "compare listings every `D` instead of the store's notifications (Redis without keyspace notifications, Memcached)")
	hideDefault(c.Flags(), "poll")
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON)
	return c
}

// watchRun follows the save_path until opts.Ctx is done.
func watchRun(opts *WatchOptions) error {
	if err := checkFormat(opts.Output, FormatHuman, FormatJSON); err != nil {
		return err
	}
	wheres, err := ParseWheres(opts.Where, opts.Grep...)
	if err != nil {
		return err
	}
	if opts.ID != "" {
		if err := store.ValidateID(opts.ID); err != nil {
			return usage(fmt.Errorf("--id: %w", err))
		}
	}
	ctx := opts.Ctx
	if ctx == nil {
		ctx = context.Background()
	}

	store, st, err := opts.Factory.OpenBackend()
	if err != nil {
		return err
	}
	defer store.Close()
	if opts.ID != "" {
		// The store refuses an id it could never hold (files: one not
		// longer than the save_path's levels).
		if _, err := store.Stat(opts.ID); isStoreUsageError(err) {
			return usage(fmt.Errorf("--id: %w", err))
		}
	}

	handler, err := st.Handler(opts.Factory)
	if err != nil {
		return err
	}
	fallback := st.FallbackHandler()
	decode := func(data []byte) (*phpser.Session, error) {
		if handler == phpser.HandlerAuto && len(data) > 0 {
			s, _, err := st.DecodeOptions().DecodeAuto(data) // one decode, not Detect's and another
			return s, err
		}
		h := handler
		if h == phpser.HandlerAuto {
			h = fallback
		}
		return st.DecodeOptions().DecodeSession(data, h)
	}

	pr := newWatchPrinter(opts.IO, opts.Output == FormatJSON, opts.Decode)
	errOut := opts.IO.ErrOut
	cfg := watchConfig{
		Store:  store,
		ID:     opts.ID,
		Poll:   opts.Poll,
		NoLock: opts.Factory.Global.NoLock,
		Decode: opts.Decode,
		Now:    opts.Factory.Now,
		Warn: func(msg string) {
			fmt.Fprintf(errOut, "sesstool: warning: %s\n", oneLine(msg))
		},
		Snap: func(s snapshot) {
			fmt.Fprintln(errOut, snapshotLine(store.Where(), s))
		},
		Emit: func(ev sessionEvent) error {
			if ev.DecodeErr != nil && opts.Decode && opts.Output == FormatJSON {
				fmt.Fprintf(errOut, "sesstool: warning: session %s: cannot decode: %s\n", ev.ID, oneLine(ev.DecodeErr.Error()))
			}
			if err := pr.print(ev); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		},
	}
	if opts.Decode || len(wheres) > 0 {
		cfg.DecodeFn = decode
	}
	if len(wheres) > 0 {
		cfg.Match = func(s *phpser.Session) bool {
			for _, w := range wheres {
				if !w.Match(s) {
					return false
				}
			}
			return true
		}
	}
	return runWatch(ctx, cfg)
}

// snapshotLine is the start-up line: what watch follows and what is there.
func snapshotLine(where string, s snapshot) string {
	// The save_path is quoted: a newline or an escape sequence in a path
	// never reaches the terminal as such.
	line := fmt.Sprintf("watching %q: %d sessions, %s", where, s.Sessions, HumanSize(s.Bytes))
	if s.Err != nil {
		line += fmt.Sprintf(" (partial count: %s)", oneLine(s.Err.Error()))
	}
	return line
}
