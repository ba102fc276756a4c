package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/sessmemcache"
)

// DestroyOptions are the inputs of the destroy command.
type DestroyOptions struct {
	IO      *IOStreams
	Open    func() (Backend, *Settings, error)
	Handler string

	IDs    []string
	Where  []string
	Grep   []string
	DryRun bool
	Yes    bool
	Output string
}

// NewCmdDestroy builds "sesstool destroy ID...". runF replaces destroyRun in tests.
func NewCmdDestroy(f *Factory, runF func(context.Context, *DestroyOptions) error) *cobra.Command {
	opts := &DestroyOptions{IO: f.IO, Open: f.OpenBackend}
	c := &cobra.Command{
		Use:   "destroy [ID...]",
		Short: "Delete sessions by id or by content",
		Long: `Delete sessions, each under an exclusive lock: a running request holding a
session finishes first (up to --lock-timeout); a session still locked then is
reported and the exit code is 3. --where KEY=VALUE selects by content ("log
user 42 out everywhere"); on a terminal it asks before deleting unless --yes.
--dry-run prints each id it would destroy and deletes nothing.`,
		Example: `  sesstool destroy 3kq8vdl0b1m5e7hn2cfs9ruo4a
  sesstool destroy --where user_id=42 --dry-run
  sesstool destroy --where /_sf2_attributes/user_id=42 --yes`,
		ValidArgsFunction: completeIDs(f, -1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.IDs = args
			opts.Handler = f.Global.SerializeHandler
			if err := checkFormat(opts.Output, FormatHuman, FormatJSON, FormatJSONL); err != nil {
				return err
			}
			if len(args) == 0 && len(opts.Where) == 0 && len(opts.Grep) == 0 {
				return UsageErrorf("destroy needs session ids or --where KEY=VALUE")
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return destroyRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&opts.Where, "where", nil, "destroy sessions where `SEL` holds (as ls --where; repeatable: all must hold)")
	_ = c.RegisterFlagCompletionFunc("where", completeKeyFlag(f, true))
	fl.StringArrayVar(&opts.Grep, "grep", nil, "destroy sessions where `RE` matches a string value or key anywhere (repeatable)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the ids that would be destroyed; delete nothing")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask before destroying sessions selected by --where")
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON, FormatJSONL)
	return c
}

// destroyProblems collects what went wrong while destroying several sessions.
type destroyProblems struct {
	locked     []string
	failures   []string // one message each
	corrupt    []string // --where could not examine them
	changed    []string // matched --where, but no longer did under LOCK_EX
	passedOver []passedOverID
}

// passedOverDestroyer is a store that says which servers of a session's
// copies a destroy could not reach and passed over (Memcached: their
// copies are left, as PHP leaves them).
type passedOverDestroyer interface {
	DestroyPassedOver(ctx context.Context, id string) (sessmemcache.PassedOver, error)
	DestroyIfPassedOver(ctx context.Context, id string, match func(data []byte) (bool, error)) (bool, sessmemcache.PassedOver, error)
}

// passedOverID is a session destroyed without some of its servers.
type passedOverID struct {
	id string
	sessmemcache.PassedOver
}

// passedOverNote is one sentence for the sessions destroyed without some
// of their servers: the store's own warning for one session, else the
// servers passed over and the sessions of each.
func (pr *destroyProblems) passedOverNote() string {
	if len(pr.passedOver) == 1 {
		return pr.passedOver[0].Warning
	}
	var order []string
	ids := map[string][]string{}
	for _, p := range pr.passedOver {
		k := strings.Join(p.Servers, ", ")
		if _, ok := ids[k]; !ok {
			order = append(order, k)
		}
		ids[k] = append(ids[k], p.id)
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("memcached %s: cannot reach it; %d session%s destroyed on their other servers only, the copies it holds left as they were (PHP may read them again once it is back, unless it restarted empty): %s", k, len(ids[k]), map[bool]string{true: "s were", false: " was"}[len(ids[k]) != 1], quoteIDs(ids[k])))
	}
	return strings.Join(parts, "; ")
}

func destroyRun(ctx context.Context, opts *DestroyOptions) error {
	for _, id := range opts.IDs {
		if err := sessfile.ValidateID(id); err != nil {
			return err
		}
	}
	wheres, err := ParseWheres(opts.Where, opts.Grep...)
	if err != nil {
		return err
	}
	store, st, err := opts.Open()
	if err != nil {
		return err
	}
	defer store.Close()

	var pr destroyProblems
	explicit := map[string]bool{}
	var targets []string
	for _, id := range opts.IDs {
		if !explicit[id] {
			explicit[id] = true
			targets = append(targets, id)
		}
	}
	if len(wheres) > 0 {
		fallback := st.FallbackHandler()
		h, err := st.handlerFor(opts.Handler)
		if err != nil {
			return err
		}
		// Sessions are read readWorkers at a time (a locked one is waited
		// for while the others are read); the outcomes are gathered in
		// walk order.
		type outcome struct {
			id                     string
			match, locked, corrupt bool
			failure                string
		}
		rd := newManyReader(store, false)
		sel := newSelector(wheres, nil, false)
		manyReadGC()
		err = walkOrdered(ctx, rd.walk, readWorkers, func(info sessfile.Info) (outcome, error) {
			o := outcome{id: info.ID}
			if explicit[info.ID] {
				return o, nil
			}
			data, _, release, err := rd.read(ctx, info)
			defer release()
			switch {
			case errors.Is(err, sessfile.ErrNotFound):
				return o, nil
			case errors.Is(err, sessfile.ErrLockTimeout):
				o.locked = true
				return o, nil
			case err != nil:
				if ctx.Err() != nil {
					return o, ctx.Err()
				}
				o.failure = err.Error()
				return o, nil
			}
			d := sel.decode(data, h, fallback, st.DecodeOptions())
			if d.Err != nil {
				o.corrupt = true
				return o, nil
			}
			o.match = d.Match
			return o, nil
		}, func(o outcome) error {
			switch {
			case o.locked:
				pr.locked = append(pr.locked, o.id)
			case o.failure != "":
				pr.failures = append(pr.failures, o.failure)
			case o.corrupt:
				pr.corrupt = append(pr.corrupt, o.id)
			case o.match:
				targets = append(targets, o.id)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("searching %s: %w", st.Where(), err)
		}
	}

	out := opts.IO.Out
	if opts.DryRun {
		if err := printIDs(opts, targets); err != nil {
			return err
		}
		return pr.err(0, opts.IO)
	}
	if len(wheres) > 0 && len(targets) > 0 && opts.IO.InTTY && !opts.Yes {
		ok, err := confirm(ctx, opts.IO, fmt.Sprintf("Destroy %d session%s matching %s?", len(targets), plural(len(targets)), strings.Join(append(append([]string{}, opts.Where...), grepText(opts.Grep)...), " and ")))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("nothing destroyed: not confirmed")
		}
	}
	// A session selected by --where is deleted only if it still matches
	// when read again under the LOCK_EX the unlink happens under: a request
	// that changed it since the search wins.
	stillMatches := func(data []byte) (bool, error) {
		h, err := st.handlerFor(opts.Handler)
		if err != nil {
			return false, err
		}
		d := decodeStored(data, h, st.FallbackHandler(), st.DecodeOptions())
		if d.Err != nil {
			return false, nil
		}
		for _, w := range wheres {
			if !w.Match(d.Sess) {
				return false, nil
			}
		}
		return true, nil
	}
	var done []string
	po, _ := store.(passedOverDestroyer)
	for _, id := range targets {
		var err error
		var passed sessmemcache.PassedOver
		switch {
		case explicit[id] && po != nil:
			passed, err = po.DestroyPassedOver(ctx, id)
		case explicit[id]:
			err = store.Destroy(ctx, id)
		default:
			var gone bool
			if po != nil {
				gone, passed, err = po.DestroyIfPassedOver(ctx, id, stillMatches)
			} else {
				gone, err = store.DestroyIf(ctx, id, stillMatches)
			}
			if err == nil && !gone {
				pr.changed = append(pr.changed, id)
				continue
			}
		}
		switch {
		case err == nil:
			done = append(done, id)
			if len(passed.Servers) > 0 {
				pr.passedOver = append(pr.passedOver, passedOverID{id, passed})
			}
		case errors.Is(err, sessfile.ErrNotFound) && !explicit[id]:
			// matched, then ended by its own request meanwhile: gone anyway
		case errors.Is(err, sessfile.ErrLockTimeout):
			pr.locked = append(pr.locked, id)
		case ctx.Err() != nil:
			printIDs(opts, done)
			return ctx.Err()
		default:
			pr.failures = append(pr.failures, sessionErr(id, st, err).Error())
		}
	}
	if opts.Output == FormatJSON || opts.Output == FormatJSONL {
		if err := printIDs(opts, done); err != nil {
			return err
		}
	} else {
		sty := NewStyles(opts.IO)
		for _, id := range done {
			fmt.Fprintf(out, "destroyed %s\n", id)
		}
		fmt.Fprintln(out, sty.Dim.Render(fmt.Sprintf("%d session%s destroyed", len(done), plural(len(done)))))
	}
	return pr.err(len(done), opts.IO)
}

// printIDs prints ids one per line, or as a JSON array with -o json.
func printIDs(opts *DestroyOptions, ids []string) error {
	if opts.Output == FormatJSON {
		if ids == nil {
			ids = []string{}
		}
		return writeJSON(opts.IO.Out, ids)
	}
	var b strings.Builder
	if opts.Output == FormatJSONL {
		for _, id := range ids {
			b.WriteString(`{"id":`)
			b.Write(phpser.AppendJSONString(nil, id))
			b.WriteString("}\n")
		}
		_, err := io.WriteString(opts.IO.Out, b.String())
		return err
	}
	for _, id := range ids {
		b.WriteString(id)
		b.WriteByte('\n')
	}
	_, err := opts.IO.Out.Write([]byte(b.String()))
	return err
}

// err sums up the problems as one error (one stderr line): lock timeouts
// alone exit 3, anything else 1. Sessions --where could not decode are not
// destroyed and never silently skipped: they are named in the error, or,
// when nothing else went wrong, in a warning line on stderr (exit 0).
func (pr *destroyProblems) err(done int, io *IOStreams) error {
	var parts []string
	if len(pr.failures) > 0 {
		parts = append(parts, strings.Join(pr.failures, "; "))
	}
	if len(pr.locked) > 0 {
		parts = append(parts, (&LockedSessionsError{IDs: pr.locked}).Error())
	}
	note := ""
	if len(pr.corrupt) > 0 {
		note = fmt.Sprintf("%d session%s could not be decoded to check --where and %s left alone: %s", len(pr.corrupt), plural(len(pr.corrupt)), wasWere(len(pr.corrupt)), quoteIDs(pr.corrupt))
	}
	if len(pr.changed) > 0 {
		if note != "" {
			note += "; "
		}
		note += fmt.Sprintf("%d session%s changed since the search and no longer matched, so %s left alone: %s", len(pr.changed), plural(len(pr.changed)), wasWere(len(pr.changed)), quoteIDs(pr.changed))
	}
	if len(pr.passedOver) > 0 {
		if note != "" {
			note += "; "
		}
		note += pr.passedOverNote()
	}
	switch {
	case len(parts) == 0 && note != "":
		fmt.Fprintf(io.ErrOut, "sesstool: warning: %s\n", note)
		return nil
	case len(parts) == 0:
		return nil
	case len(pr.failures) == 0 && note == "":
		return &LockedSessionsError{IDs: pr.locked}
	}
	if note != "" {
		parts = append(parts, note)
	}
	if len(pr.failures) == 0 {
		return &lockedWithNote{LockedSessionsError{IDs: pr.locked}, strings.Join(parts, "; ")}
	}
	return errors.New(strings.Join(parts, "; "))
}

// lockedWithNote is a LockedSessionsError (exit 3) with more to say.
type lockedWithNote struct {
	LockedSessionsError
	msg string
}

func (e *lockedWithNote) Error() string { return e.msg }

func wasWere(n int) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

// quoteIDs quotes up to three ids and counts the rest.
func quoteIDs(ids []string) string {
	more := ""
	if len(ids) > 3 {
		ids, more = ids[:3], fmt.Sprintf(" and %d more", len(ids)-3)
	}
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, ", ") + more
}

// confirm asks a yes/no question on stderr and reads the answer from stdin;
// Ctrl-C (ctx cancelled) aborts at once with ctx's error.
func confirm(ctx context.Context, ios *IOStreams, question string) (bool, error) {
	a, err := ask(ctx, ios, question+" [y/N] ")
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	return a == "y" || a == "yes", err
}

// ask prints question on stderr and returns the answer line, trimmed and
// lower-cased, or io.EOF when input ended before any answer. A signal
// cancels ctx and the question ends at once: the reader is left blocked on
// stdin, which the process's exit closes.
func ask(ctx context.Context, ios *IOStreams, question string) (string, error) {
	fmt.Fprint(ios.ErrOut, question)
	type answer struct {
		line string
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		line, err := bufio.NewReader(ios.In).ReadString('\n')
		if err != nil && line == "" {
			got <- answer{err: io.EOF}
			return
		}
		got <- answer{line: strings.ToLower(strings.TrimSpace(line))}
	}()
	select {
	case a := <-got:
		return a.line, a.err
	case <-ctx.Done():
		fmt.Fprintln(ios.ErrOut)
		return "", ctx.Err()
	}
}

// grepText words --grep expressions for the confirmation question.
func grepText(greps []string) []string {
	out := make([]string, len(greps))
	for i, g := range greps {
		out[i] = "--grep " + g
	}
	return out
}
