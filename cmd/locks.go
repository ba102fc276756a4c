package cmd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/gcpolicy"
	"github.com/sesstool/sesstool/internal/tableprinter"
	"github.com/sesstool/sesstool/store"
)

// LocksOptions are the inputs of the locks command.
type LocksOptions struct {
	IO     *IOStreams
	Open   func() (Backend, *Settings, error)
	Now    func() time.Time
	Output string
}

// NewCmdLocks builds "sesstool locks". runF replaces locksRun in tests.
func NewCmdLocks(f *Factory, runF func(context.Context, *LocksOptions) error) *cobra.Command {
	opts := &LocksOptions{IO: f.IO, Open: f.OpenBackend, Now: f.Now}
	c := &cobra.Command{
		Use:   "locks",
		Short: "List the session locks held now, and who holds them",
		Long: `List the session locks held now. On files: every sess_* file under an
flock (PHP holds LOCK_EX for the length of a request), with the holder's pid
and command from /proc/locks (matched to the file through /proc/PID/fd and
fdinfo where the devices differ, as on btrfs or overlayfs) and since when it
has held it (at most: since the file's access time, which PHP's read after
locking sets under relatime). On Redis: every <key>_LOCK key with its secret
(phpredis: host|pid), how long it has been held and its TTL ("no expiry" for
a lock taken by a CLI or max_execution_time=0 request, which stays until
someone removes it: see unlock). On Memcached: php-memcached's lock.<id> keys
and pecl memcache's <id>.lock items that are held (not set back to "0"), with
how long ago they were taken and their TTL.

-o json (an array) and -o jsonl (one lock a line) give id, holder, kind,
where, held_seconds, since (RFC 3339; null where it cannot be told) and
ttl_seconds (null: no expiry).`,
		Example: `  sesstool locks
  sesstool locks -o json | jq -r '.[].id'`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return locksRun(c.Context(), opts)
		},
	}
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON, FormatJSONL)
	return c
}

func locksRun(ctx context.Context, opts *LocksOptions) error {
	if err := checkFormat(opts.Output, FormatHuman, FormatJSON, FormatJSONL); err != nil {
		return err
	}
	st, _, err := opts.Open()
	if err != nil {
		return err
	}
	defer st.Close()
	var locks []store.Lock
	if err := st.Locks(ctx, func(l store.Lock) error { locks = append(locks, l); return nil }); err != nil {
		return err
	}
	slices.SortFunc(locks, func(a, b store.Lock) int { return strings.Compare(a.ID, b.ID) })
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	out := opts.IO.Out
	switch opts.Output {
	case FormatJSON, FormatJSONL:
		var b []byte
		if opts.Output == FormatJSON {
			b = append(b, '[')
		}
		for i, l := range locks {
			if opts.Output == FormatJSON {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, "\n  "...)
			}
			j, err := jsonCompact(newLockJSON(l, now))
			if err != nil {
				return err
			}
			b = append(b, j...)
			if opts.Output == FormatJSONL {
				b = append(b, '\n')
			}
		}
		if opts.Output == FormatJSON {
			if len(locks) > 0 {
				b = append(b, '\n')
			}
			b = append(b, "]\n"...)
		}
		_, err := out.Write(b)
		return err
	}
	sty := NewStyles(opts.IO)
	t := newTable(opts.IO, sty, false,
		tableprinter.Column{Header: "ID", Fixed: true},
		tableprinter.Column{Header: "HOLDER"},
		tableprinter.Column{Header: "HELD", Fixed: true},
		tableprinter.Column{Header: "EXPIRES", Fixed: true},
		tableprinter.Column{Header: "LOCK"})
	for _, l := range locks {
		held, exp := "-", "no expiry"
		if l.Age > 0 {
			held = gcpolicy.ShortDuration(l.Age.Truncate(time.Second))
			if !opts.IO.OutTTY {
				held = now.Add(-l.Age).Truncate(time.Second).Format(time.RFC3339) // since when, exact, in a pipe
			}
		}
		lock := l.Kind + " (" + l.Where + ")"
		if l.HasTTL {
			exp = "in " + gcpolicy.ShortDuration(l.TTL.Truncate(time.Second))
		} else if kind, ok := strings.CutPrefix(l.Kind, "flock LOCK_"); ok {
			// The path is the id's file (in -o json): the holder gets the room.
			exp, lock = "on release", "flock "+kind
		}
		t.AddRow(tableprinter.Cell{Text: l.ID}, tableprinter.Cell{Text: printable(l.Holder)}, tableprinter.Cell{Text: held}, tableprinter.Cell{Text: exp}, tableprinter.Cell{Text: lock})
	}
	t.SetFooter(sty.Dim.Render(fmt.Sprintf("%d lock%s held on %s", len(locks), plural(len(locks)), st.Where())))
	return t.Render()
}

// lockJSON is one lock in locks -o json / jsonl and stats -o json.
type lockJSON struct {
	ID     string  `json:"id"`
	Holder string  `json:"holder"`
	Kind   string  `json:"kind"`
	Where  string  `json:"where"`
	Held   int64   `json:"held_seconds"`
	Since  *string `json:"since"`       // RFC 3339; null when not known
	TTL    *int64  `json:"ttl_seconds"` // null: no expiry
}

// newLockJSON is l as JSON at now. An flock's since is unknown (null)
// where the filesystem keeps no access time (held_seconds 0).
func newLockJSON(l store.Lock, now time.Time) lockJSON {
	j := lockJSON{ID: l.ID, Holder: l.Holder, Kind: l.Kind, Where: l.Where, Held: int64(l.Age / time.Second)}
	if l.Age > 0 || !strings.HasPrefix(l.Kind, "flock") {
		since := now.Add(-l.Age).Truncate(time.Second).Format(time.RFC3339)
		j.Since = &since
	}
	if l.HasTTL {
		ttl := int64(l.TTL / time.Second)
		j.TTL = &ttl
	}
	return j
}

// UnlockOptions are the inputs of the unlock command.
type UnlockOptions struct {
	IO           *IOStreams
	Open         func() (Backend, *Settings, error)
	IDs          []string
	OlderThan    time.Duration
	OlderThanSet bool
	Force        bool
}

// NewCmdUnlock builds "sesstool unlock ID...".
func NewCmdUnlock(f *Factory, runF func(context.Context, *UnlockOptions) error) *cobra.Command {
	opts := &UnlockOptions{IO: f.IO, Open: f.OpenBackend}
	c := &cobra.Command{
		Use:   "unlock ID...",
		Short: "Remove a stale session lock on Redis or Memcached",
		Long: `Remove the lock key of each session on Redis (<key>_LOCK) or Memcached
(php-memcached's lock.<id>, pecl memcache's <id>.lock), left by a request
that died holding it: phpredis 5.3.7 then keeps the session read-only, and
6.x and php-memcached fail session_start(), until the key is gone. Only a
lock held longer than --older-than is removed (default: the extension's lock
expiry, else 5m: the expiry the extension gives its locks, phpredis'
redis.session.lock_expire and php-memcached's memcached.sess_lock_expire,
each else max_execution_time, pecl memcache's memcache.lock_timeout; 5m
when that is 0, no expiry), unless --force. A
lock taken again meanwhile by a new request is never removed.

On files a lock is an flock of a live process: unlock names the holder and
exits 1 (stop the process, not the lock).`,
		Example: `  sesstool --save-handler redis --save-path tcp://127.0.0.1:6379 unlock a0c7g4m1r9d2pk5hu8ntle3sbq
  sesstool unlock --force a0c7g4m1r9d2pk5hu8ntle3sbq   # php.ini says save_handler = redis`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return UsageErrorf("unlock needs at least one session id")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.IDs = args
			opts.OlderThanSet = c.Flags().Changed("older-than")
			for _, id := range args {
				if err := store.ValidateID(id); err != nil {
					return usage(err)
				}
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return unlockRun(c.Context(), opts)
		},
	}
	c.Flags().Var(newDurationValue(&opts.OlderThan, 5*time.Minute), "older-than", "remove only a lock held longer than `D` (default: the extension's lock expiry, else 5m)")
	hideDefault(c.Flags(), "older-than")
	c.Flags().BoolVar(&opts.Force, "force", false, "remove the lock however young it is")
	return c
}

func unlockRun(ctx context.Context, opts *UnlockOptions) error {
	b, st, err := opts.Open()
	if err != nil {
		return err
	}
	defer b.Close()
	rs, ok := b.(store.Unlocker)
	if !ok {
		// Files: a lock is a live process's flock.
		held := map[string]store.Lock{}
		if err := b.Locks(ctx, func(l store.Lock) error { held[l.ID] = l; return nil }); err != nil {
			return err
		}
		var msgs []string
		for _, id := range opts.IDs {
			if l, ok := held[id]; ok {
				msgs = append(msgs, fmt.Sprintf("session %q is locked by %s (%s): a flock belongs to a live process and ends with it; stop the process, not the lock", id, l.Holder, l.Kind))
			} else {
				msgs = append(msgs, fmt.Sprintf("session %q is not locked", id))
			}
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	minAge := opts.OlderThan
	if !opts.OlderThanSet {
		minAge = 5 * time.Minute
		lockExpire := st.Redis.LockExpire
		switch st.StoreHandler() {
		case "memcached":
			lockExpire = st.Memcached.LockExpire
		case "memcache":
			lockExpire = st.Memcache.LockTimeout
		}
		if n, ok := lockExpire.Int(); ok && n > 0 {
			minAge = time.Duration(n) * time.Second
		} else if n, ok := st.Redis.MaxExecutionTime.Int(); ok && n > 0 && st.StoreHandler() != "memcache" {
			minAge = time.Duration(n) * time.Second
		}
	}
	var failed []string
	for _, id := range opts.IDs {
		l, err := rs.Unlock(ctx, id, minAge, opts.Force)
		if err != nil {
			failed = append(failed, oneLine(err.Error()))
			continue
		}
		by := fmt.Sprintf("by %q ", l.Holder)
		if l.Holder == "" {
			by = "on " + l.Where + " "
		}
		fmt.Fprintf(opts.IO.Out, "unlocked %s (lock held %sfor %s)\n", id, by, gcpolicy.ShortDuration(l.Age.Truncate(time.Second)))
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}
