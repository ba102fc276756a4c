package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/gcpolicy"
	"github.com/sesstool/sesstool/internal/tableprinter"
	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// LsOptions are the inputs of the ls command.
type LsOptions struct {
	IO      *IOStreams
	Now     func() time.Time
	Open    func() (Backend, *Settings, error)
	Handler string // --serialize-handler, "" for auto
	NoLock  bool   // --no-lock: corrupt may be a write in progress

	OlderThan, NewerThan       time.Duration
	OlderThanSet, NewerThanSet bool
	Sort                       string
	Where                      []string
	Grep                       []string
	Quiet                      bool
	Check                      bool
	Corrupt                    bool
	Expired                    bool     // only what gc would consider now
	Columns                    []string // --columns: values shown per row
	Decode                     bool     // --decode: rows carry the whole session
	SortSet                    bool
	Reverse                    bool // --reverse: the sort order turned round
	Limit                      int  // --limit N: at most N rows (0: all)
	NoHeaders                  bool // --no-headers: no header line on a terminal either
	Output                     string
}

// NewCmdLs builds "sesstool ls". runF replaces lsRun in tests.
func NewCmdLs(f *Factory, runF func(context.Context, *LsOptions) error) *cobra.Command {
	opts := &LsOptions{IO: f.IO, Now: f.Now, Open: f.OpenBackend}
	c := &cobra.Command{
		Use:   "ls",
		Short: "List sessions: id, size, age",
		Long: `List the sessions of the save_path: id, size, age and last modification,
newest first. Plain ls reads only file metadata; --check and --where decode
each session (under a shared lock) and flag those PHP would refuse and destroy.

On a terminal the rows are a table with a header and a footer; into a pipe
they are tab-separated with exact values (id, bytes, age in seconds, mtime
in RFC 3339, then status and --columns cells), without header or footer.`,
		Example: `  sesstool ls --save-path testdata/demo
  sesstool ls --older-than 24m --sort size
  sesstool ls --where user_id=42 -q
  sesstool ls --sort none -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Handler = f.Global.SerializeHandler
			opts.NoLock = f.Global.NoLock
			opts.OlderThanSet = c.Flags().Changed("older-than")
			opts.NewerThanSet = c.Flags().Changed("newer-than")
			if err := checkFormat(opts.Output, FormatHuman, FormatJSON, FormatJSONL); err != nil {
				return err
			}
			opts.SortSet = c.Flags().Changed("sort")
			if opts.Limit < 0 {
				return UsageErrorf("invalid --limit %d: want a number of sessions >= 1", opts.Limit)
			}
			if opts.Reverse && opts.Sort == "none" && opts.SortSet {
				return UsageErrorf("--reverse needs an order: --sort age, id or size")
			}
			if opts.Output == FormatJSONL && !opts.SortSet {
				opts.Sort = "none" // one object per line, streamed: the bulk export
			}
			for _, k := range opts.Columns {
				if k == "" {
					return UsageErrorf("--columns: an empty key")
				}
				if err := checkKey(k); err != nil {
					return err
				}
			}
			if !slices.Contains([]string{"age", "id", "size", "none"}, opts.Sort) {
				return UsageErrorf("invalid --sort %q: want age, id, size or none", opts.Sort)
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return lsRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.Var(newDurationValue(&opts.OlderThan, 0), "older-than", "only sessions not modified for longer than `D` (e.g. 24m, 7d)")
	fl.Var(newDurationValue(&opts.NewerThan, 0), "newer-than", "only sessions modified less than `D` ago")
	hideDefault(fl, "older-than", "newer-than")
	fl.StringVar(&opts.Sort, "sort", "age", "order: age (newest first), id, size (largest first), none (directory order, streamed)")
	fl.StringArrayVar(&opts.Where, "where", nil, "only sessions where `SEL` holds: KEY=VALUE, KEY!=VALUE, KEY<N (<= > >=), KEY~RE, KEY@VALUE, KEY, !KEY (repeatable: all must hold)")
	_ = c.RegisterFlagCompletionFunc("where", completeKeyFlag(f, true))
	fl.StringArrayVar(&opts.Grep, "grep", nil, "only sessions where `RE` matches a string value or key anywhere, Serializable payloads included (repeatable)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print ids only, one per line")
	fl.BoolVar(&opts.Check, "check", false, "decode each session and flag those PHP would refuse")
	fl.BoolVar(&opts.Corrupt, "corrupt", false, "only the sessions PHP would refuse and destroy (decodes each session)")
	fl.BoolVar(&opts.Reverse, "reverse", false, "reverse the order of --sort")
	fl.BoolVar(&opts.NoHeaders, "no-headers", false, "print no header line (a pipe never gets one)")
	fl.IntVar(&opts.Limit, "limit", 0, "list at most `N` sessions (after sorting; with --sort none, the first N found)")
	fl.StringSliceVar(&opts.Columns, "columns", nil, "extra columns with each session's value at these `K1,K2,...` (keys or JSON Pointers); -o json/jsonl rows carry \"data\": {K: value}")
	fl.BoolVar(&opts.Decode, "decode", false, "rows carry the whole session as \"data\" (-o jsonl: the bulk export, streamed)")
	fl.BoolVar(&opts.Expired, "expired", false, "only the sessions a gc run would consider now: age (whole seconds) greater than session.gc_maxlifetime")
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON, FormatJSONL)
	_ = c.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions([]string{"age", "id", "size", "none"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// lsRow is one listed session.
type lsRow struct {
	sessfile.Info
	Status  string // "" ok; "corrupt: ..."; "locked"; "unreadable: ..."
	Bad     bool   // Status says PHP would refuse it (corrupt)
	Locked  bool
	miss    missKind // why a selection could not test it (not listed)
	Skipped bool     // not read: larger than --max-size, or sparse
	Data    []byte   // --columns / --decode: the JSON of "data"
	Checked bool     // --check: status and locked are known
	ttl     int64    // seconds until gc may expire it (files: maxlifetime - age; else the TTL, noTTL for none)
	cells   []string // --columns: each value's JSON for a table ("" missing)
}

// holderText is a lock holder as a table shows it: a value read from a
// server, quoted when it holds anything a terminal would act on.
// lockText is a key-value session's LOCK cell: the holder when the store
// names one (phpredis' host|pid), "locked" when it cannot (Memcached).
func lockText(in sessfile.Info) string {
	switch {
	case in.LockHolder != "":
		return printable(in.LockHolder)
	case in.Locked:
		return "locked"
	}
	return ""
}

// noTTL is lsRow.ttl of a key without expiry (JSON null).
const noTTL = math.MinInt64

// missKind says why a selection could not test a session.
type missKind uint8

const (
	missNone missKind = iota
	missCorrupt
	missLocked
	missUnreadable
	missTooLarge
	missMidWrite
)

type lsTotals struct {
	count, corrupt, locked, failed, skipped int
	bytes                                   int64
	lockedIDs                               []string
	// Sessions a selection (--where) could not test, so not listed:
	// corrupt, locked past --lock-timeout, unreadable.
	unmatched unmatchedCounts
}

// unmatchedCounts counts the sessions a selection could not test.
type unmatchedCounts struct {
	corrupt, locked, unreadable, tooLarge, midWrite int
	unreadableErrs                                  []string // `"id": error` of each unreadable one
}

func (u unmatchedCounts) total() int {
	return u.corrupt + u.locked + u.unreadable + u.tooLarge + u.midWrite
}

// selectionWarning is the one stderr line about the sessions a selection
// left out because it could not test them (empty when there are none).
func selectionWarning(u unmatchedCounts, flag string) string {
	n := u.total()
	if n == 0 {
		return ""
	}
	var why []string
	for _, c := range []struct {
		n    int
		what string
	}{{u.corrupt, "corrupt"}, {u.locked, "locked"}, {u.unreadable, "unreadable"}, {u.tooLarge, "larger than --max-size or sparse, not read"}, {u.midWrite, "0 bytes when read with --no-lock: a write may be in progress"}} {
		if c.n > 0 {
			why = append(why, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	return fmt.Sprintf("sesstool: warning: %d session%s could not be decoded to test %s and %s not listed (%s); see ls --corrupt",
		n, plural(n), flag, wasWere(n), strings.Join(why, ", "))
}

func lsRun(ctx context.Context, opts *LsOptions) error {
	wheres, err := ParseWheres(opts.Where, opts.Grep...)
	if err != nil {
		return err
	}
	store, st, err := opts.Open()
	if err != nil {
		return err
	}
	defer store.Close()
	now := opts.Now()
	decode := opts.Check || opts.Corrupt || len(wheres) > 0 || len(opts.Columns) > 0 || opts.Decode
	handler := phpser.HandlerAuto
	if decode {
		// Only a listing that decodes needs to know the serializer.
		if handler, err = st.handlerFor(opts.Handler); err != nil {
			return err
		}
	}
	fallback := st.FallbackHandler()
	// Not a terminal: tab-separated rows, exact values, no header, rule or
	// footer (CLI.md "Output").
	tsv := !opts.IO.OutTTY && !opts.Quiet && opts.Output != FormatJSON && opts.Output != FormatJSONL
	// selecting: rows are matches only, and what could not be tested is
	// one warning line (CLI.md "Selecting by content").
	selecting := len(wheres) > 0 && !opts.Check && !opts.Corrupt
	statusCol := opts.Check || opts.Corrupt
	var unmatched unmatchedCounts
	var tot lsTotals
	sel := newSelector(wheres, opts.Columns, false)

	// --expired is exactly gc's test (gcpolicy.OlderThan), whole seconds.
	expired := gcpolicy.OlderThan(now, st.MaxLifetime())

	// keep decides whether info is listed, reading and decoding it if asked.
	mlSeconds := int64(st.MaxLifetime() / time.Second)
	kv := store.Capabilities().TTL // a key-value store: TTLs, no mtimes
	// The walk's stat is needed where a session is filtered on its age
	// before it is read, and for --no-lock's test of a write in progress
	// (listed with bytes, read as none); otherwise a files walk gives ids
	// only and each row's size and time come from the read.
	filtered := opts.Expired || opts.OlderThanSet || opts.NewerThanSet
	rd := newManyReader(store, filtered || opts.NoLock)
	ttlOf := func(info sessfile.Info) int64 {
		switch {
		case !kv:
			return mlSeconds - ageSeconds(now, info.ModTime)
		case info.HasTTL:
			return int64(info.TTL / time.Second)
		}
		return noTTL
	}
	keep := func(info sessfile.Info) (lsRow, bool, error) {
		row := lsRow{Info: info, Checked: opts.Check}
		row.ttl = ttlOf(info)
		if info.ModTime.IsZero() && (opts.Expired || opts.OlderThanSet || opts.NewerThanSet) {
			return row, false, nil // no last write known: no age to compare
		}
		if opts.Expired && !expired(info.ModTime) {
			return row, false, nil
		}
		age := now.Sub(info.ModTime)
		if opts.OlderThanSet && !(age > opts.OlderThan) {
			return row, false, nil
		}
		if opts.NewerThanSet && !(age < opts.NewerThan) {
			return row, false, nil
		}
		if !decode {
			return row, true, nil
		}
		data, read, release, err := rd.read(ctx, info)
		defer release()
		if info.Size < 0 {
			row.Info = read
			row.ttl = ttlOf(read)
		}
		var tooLarge *sessfile.TooLargeError
		if err == nil && opts.NoLock && len(data) == 0 && info.Size > 0 {
			// Listed with bytes, read as none: PHP truncates before it
			// writes, so this is likely a write in progress.
			if selecting {
				row.miss = missMidWrite
				return row, false, nil
			}
			row.Status = fmt.Sprintf("0 bytes when read with --no-lock (%d when listed): a write may be in progress", info.Size)
			row.Skipped = true
			return row, !opts.Corrupt, nil
		}
		switch {
		case errors.Is(err, sessfile.ErrNotFound):
			return row, false, nil // vanished since the walk saw it
		case errors.Is(err, sessfile.ErrLockTimeout):
			if selecting {
				row.miss = missLocked
				return row, false, nil
			}
			row.Locked, row.Status = true, "locked"
			return row, !opts.Corrupt, nil
		case errors.As(err, &tooLarge):
			// Listed, not read: larger than --max-size, or sparse.
			if selecting {
				row.miss = missTooLarge
				return row, false, nil
			}
			row.Status, row.Skipped = tooLarge.Error(), true
			return row, !opts.Corrupt, nil
		case err != nil:
			if ctx.Err() != nil {
				return row, false, ctx.Err()
			}
			if selecting {
				row.miss, row.Status = missUnreadable, err.Error()
				return row, false, nil
			}
			row.Status = "unreadable: " + err.Error()
			return row, !opts.Corrupt, nil
		}
		if !opts.Decode {
			r := sel.decode(data, handler, fallback, st.DecodeOptions())
			if r.Err != nil {
				if selecting {
					row.miss = missCorrupt
					return row, false, nil
				}
				row.Bad, row.Status = true, "corrupt: "+r.Err.Error()
				if opts.NoLock {
					row.Status += " (read with --no-lock: may be a write in progress)"
				}
				return row, true, nil
			}
			if opts.Corrupt || !r.Match {
				return row, false, nil
			}
			if len(opts.Columns) > 0 {
				row.Data, row.cells = columnsJSON(r.Sess, opts.Columns)
			}
			return row, true, nil
		}
		d := decodeStored(data, handler, fallback, st.DecodeOptions())
		if d.Err != nil {
			if selecting {
				// Never a match, in any output format.
				row.miss = missCorrupt
				return row, false, nil
			}
			row.Bad, row.Status = true, "corrupt: "+d.Err.Error()
			if opts.NoLock {
				row.Status += " (read with --no-lock: may be a write in progress)"
			}
			return row, true, nil
		}
		if opts.Corrupt {
			return row, false, nil
		}
		for _, w := range wheres {
			if !w.Match(d.Sess) {
				return row, false, nil
			}
		}
		switch {
		case opts.Decode:
			row.Data, _ = d.Sess.MarshalJSON()
		case len(opts.Columns) > 0:
			row.Data, row.cells = columnsJSON(d.Sess, opts.Columns)
		}
		return row, true, nil
	}

	// walkRows walks the store and calls emit with every kept row, in walk
	// order; sessions that are read are read readWorkers at a time.
	walkRows := func(emit func(lsRow) error) error {
		if !decode {
			return store.Walk(ctx, func(info sessfile.Info) error {
				row, ok, err := keep(info)
				if err != nil || !ok {
					return err
				}
				return emit(row)
			})
		}
		type kept struct {
			row lsRow
			ok  bool
		}
		manyReadGC()
		return walkOrdered(ctx, rd.walk, readWorkers, func(info sessfile.Info) (kept, error) {
			row, ok, err := keep(info)
			return kept{row, ok}, err
		}, func(k kept) error {
			switch k.row.miss {
			case missCorrupt:
				unmatched.corrupt++
			case missLocked:
				unmatched.locked++
				tot.lockedIDs = append(tot.lockedIDs, k.row.ID)
			case missTooLarge:
				unmatched.tooLarge++
			case missMidWrite:
				unmatched.midWrite++
			case missUnreadable:
				unmatched.unreadable++
				unmatched.unreadableErrs = append(unmatched.unreadableErrs, fmt.Sprintf("%q: %s", k.row.ID, k.row.Status))
			}
			if !k.ok {
				return nil
			}
			return emit(k.row)
		})
	}

	// finish warns about what a selection could not test and works out
	// the exit status, once everything that could be listed was printed.
	finish := func(walkErr error) error {
		quietWarning(opts, tot)
		tot.unmatched = unmatched
		err := lsErr(st, tot, walkErr)
		if tot.skipped > 0 && (opts.Quiet || opts.Output == FormatJSON || tsv) {
			// The footer says it on a table; elsewhere one line does.
			w := fmt.Sprintf("%d session%s not read: larger than --max-size or sparse", tot.skipped, plural(tot.skipped))
			if err == nil {
				fmt.Fprintln(opts.IO.ErrOut, "sesstool: warning: "+w)
			} else {
				err = withNote(err, w)
			}
		}
		if w := selectionWarning(unmatched, "--where"); w != "" {
			if err == nil {
				fmt.Fprintln(opts.IO.ErrOut, w)
			} else {
				// One line on stderr: the warning joins the error.
				err = withNote(err, strings.TrimPrefix(w, "sesstool: warning: "))
			}
		}
		return err
	}
	count := func(r lsRow) {
		tot.count++
		tot.bytes += r.Size
		switch {
		case r.Bad:
			tot.corrupt++
		case r.Locked:
			tot.locked++
			tot.lockedIDs = append(tot.lockedIDs, r.ID)
		case r.Skipped:
			tot.skipped++
		case r.Status != "":
			tot.failed++
		}
	}
	sty := NewStyles(opts.IO)
	out := opts.IO.Out

	if opts.Sort == "none" {
		// Stream in directory order: print each row as it comes, through
		// one buffer (a write per row costs more than the row itself).
		bw := bufio.NewWriterSize(out, 64<<10)
		first := true
		var line []byte
		table := opts.Output == FormatHuman && !opts.Quiet
		tp := newLsTable(opts, sty, statusCol, true, kv)
		if opts.Output == FormatJSON {
			bw.WriteString("[")
		}
		shown := 0
		var cells []tableprinter.Cell
		err := walkRows(func(row lsRow) error {
			var err error
			if opts.Limit > 0 && shown >= opts.Limit {
				return errLimit
			}
			shown++
			count(row)
			switch {
			case opts.Output == FormatJSONL:
				line = appendRowJSON(line[:0], row, now)
				line = append(line, '\n')
				_, err = bw.Write(line)
				return err
			case opts.Output == FormatJSON:
				line = line[:0]
				if first {
					line = append(line, "\n  "...)
				} else {
					line = append(line, ",\n  "...)
				}
				first = false
				line = appendRowJSON(line, row, now)
				_, err = bw.Write(line)
				return err
			case opts.Quiet:
				if !quietShows(opts, row) {
					return nil
				}
				bw.WriteString(row.ID)
				return bw.WriteByte('\n')
			default:
				cells = lsCells(cells[:0], row, now, tp.TTY(), statusCol, kv, opts.Columns, sty, expired)
				tp.StreamRow(cells...)
				return nil
			}
		})
		if errors.Is(err, errLimit) {
			err = nil
		}
		if tot.count == 0 && savePathUnreadable(err) {
			// Nothing was listed: no header, summary or empty array
			// before the error (all still in the buffer).
			bw.Reset(out)
			tp.Discard(out)
			return finish(err)
		}
		if opts.Output == FormatJSON {
			end := "\n]\n"
			if first {
				end = "]\n"
			}
			bw.WriteString(end)
		}
		if err != nil && ctx.Err() != nil {
			bw.Flush()
			tp.Flush()
			return fmt.Errorf("listing %s: %w", st.Where(), err)
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if table {
			tp.SetFooter(sty.Dim.Render(footer(tot)))
			if err := tp.End(); err != nil {
				return err
			}
		}
		if tot.count == 0 && err == nil {
			lsLevelHint(opts, st)
		}
		return finish(err)
	}

	// The rows are held until sorted: compactly (rowStore), or with
	// --limit only the first N of the order (topRows).
	var rs *rowStore
	var top *topRows
	if opts.Limit > 0 {
		top = &topRows{limit: opts.Limit, less: func(a, b lsRow) bool {
			c := rowOrder(opts.Sort, a, b)
			if opts.Reverse {
				c = -c
			}
			return c < 0
		}}
	} else {
		rs = &rowStore{checked: opts.Check, paths: opts.Output == FormatJSON || opts.Output == FormatJSONL}

		if fs, ok := store.(interface{ SavePath() sessfile.SavePath }); ok && !kv {
			sp := fs.SavePath()
			rs.pathOf = func(id string) string {
				rel, _ := sp.RelPath(id)
				return sp.Dir + "/" + rel
			}
			rs.pathIs = func(p, id string) bool {
				// p == sp.Dir + "/" + one level per id character + "sess_" + id
				if len(p) != len(sp.Dir)+1+2*sp.Depth+len("sess_")+len(id) || len(id) < sp.Depth ||
					!strings.HasPrefix(p, sp.Dir) || p[len(sp.Dir)] != '/' {
					return false
				}
				q := p[len(sp.Dir)+1:]
				for i := range sp.Depth {
					if q[2*i] != id[i] || q[2*i+1] != '/' {
						return false
					}
				}
				q = q[2*sp.Depth:]
				return q[:5] == "sess_" && q[5:] == id
			}
			rs.ttlOf = func(t time.Time) int64 { return mlSeconds - ageSeconds(now, t) }
		}
	}
	gcPercent := -2 // not changed
	defer func() {
		if gcPercent != -2 {
			debug.SetGCPercent(gcPercent)
		}
	}()
	err = walkRows(func(row lsRow) error {
		if top != nil {
			top.add(row)
			return nil
		}
		rs.add(row)
		if rs.n == 1<<16 {
			// Many rows: they are most of the heap, and hold no pointers
			// (nothing for the collector to mark, so a cycle costs little):
			// collect at 5% growth, not 100%.
			gcPercent = debug.SetGCPercent(5)
		}
		return nil
	})
	// A walk error (a level directory that cannot be read) does not hide
	// what was listed: the rows are printed, then the error is returned.
	walkErr := err
	if walkErr != nil && ctx.Err() != nil {
		return fmt.Errorf("listing %s: %w", st.Where(), walkErr)
	}
	var nrows int
	var rowAt func(i int) lsRow
	var idx []uint32
	if top != nil {
		kept := top.listing()
		nrows, rowAt = len(kept), func(i int) lsRow { return kept[i] }
	} else {
		idx = rs.sorted(opts.Sort, opts.Reverse)
		nrows, rowAt = len(idx), func(i int) lsRow { return rs.row(int(idx[i])) }
	}
	if nrows == 0 && savePathUnreadable(walkErr) {
		return finish(walkErr) // nothing listed: the error alone
	}
	for i := range nrows {
		if rs != nil {
			if size, ok := rs.plainSize(int(idx[i])); ok {
				tot.count++
				tot.bytes += size
				continue
			}
		}
		count(rowAt(i))
	}
	switch {
	case opts.Output == FormatJSONL:
		bw := bufio.NewWriterSize(out, 64<<10)
		var line []byte
		for i := range nrows {
			line = append(appendRowJSON(line[:0], rowAt(i), now), '\n')
			bw.Write(line)
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	case opts.Output == FormatJSON:
		// One element per line, written as it is made (as --sort none
		// does): the array is never built in memory a second time.
		bw := bufio.NewWriterSize(out, 64<<10)
		bw.WriteString("[")
		var line []byte
		for i := range nrows {
			r := rowAt(i)
			line = line[:0]
			if i > 0 {
				line = append(line, ',')
			}
			line = append(line, "\n  "...)
			line = appendRowJSON(line, r, now)
			bw.Write(line)
		}
		if nrows > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
		if err := bw.Flush(); err != nil {
			return err
		}
	case opts.Quiet:
		bw := bufio.NewWriterSize(out, 64<<10)
		for i := range nrows {
			if r := rowAt(i); quietShows(opts, r) {
				bw.WriteString(r.ID)
				bw.WriteByte('\n')
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	default:
		tp := newLsTable(opts, sty, statusCol, false, kv)
		tp.SetFooter(sty.Dim.Render(footer(tot)))
		err := tp.RenderFunc(nrows, func(i int, dst []tableprinter.Cell) []tableprinter.Cell {
			return lsCells(dst, rowAt(i), now, tp.TTY(), statusCol, kv, opts.Columns, sty, expired)
		})
		if err != nil {
			return err
		}
	}
	if tot.count == 0 && walkErr == nil {
		lsLevelHint(opts, st)
	}
	return finish(walkErr)
}

// errLimit stops a streamed listing at --limit.
var errLimit = errors.New("--limit reached")

// quietShows decides which ids -q prints: with --corrupt the sessions PHP
// would refuse (a list to act on), with --check every listed one,
// otherwise only sessions that were read and matched; the ones that could
// not be read or decoded are never printed as matches (see quietWarning).
func quietShows(opts *LsOptions, r lsRow) bool {
	switch {
	case opts.Corrupt:
		return r.Bad
	case opts.Check:
		return true // --check adds a status to every row; it selects nothing
	}
	return r.Status == ""
}

// quietWarning says on stderr which sessions -q --where left out because
// they could not be decoded, so they are not silently hidden.
func quietWarning(opts *LsOptions, t lsTotals) {
	if !opts.Quiet || opts.Check || opts.Corrupt || t.corrupt+t.failed == 0 {
		return
	}
	n := t.corrupt + t.failed
	fmt.Fprintf(opts.IO.ErrOut, "sesstool: warning: %d session%s could not be decoded to check --where and %s not listed (see ls --check)\n", n, plural(n), wasWere(n))
}

// columnsJSON is the "data" of --columns: {K: value} in the order given,
// null where the session has no such key; and the same values as table
// cells ("" where missing).
func columnsJSON(s *phpser.Session, keys []string) ([]byte, []string) {
	b := []byte{'{'}
	cells := make([]string, len(keys))
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = phpser.AppendJSONString(b, k)
		b = append(b, ':')
		if v, ok := s.Lookup(k); ok {
			start := len(b)
			b = phpser.AppendJSON(b, s, v)
			if c := string(b[start:]); c != "null" {
				cells[i] = c
			}
		} else {
			b = append(b, "null"...)
		}
	}
	return append(b, '}'), cells
}

// columnCells are the --columns cells of a row for a table.
func columnCells(r lsRow, keys []string) []string {
	if len(r.cells) == len(keys) {
		return r.cells
	}
	return make([]string, len(keys))
}

// appendRowJSON appends r as one element of ls -o json, the same object
// lsJSON in the tests describes, without reflection: ls writes a million of them.
func appendRowJSON(dst []byte, r lsRow, now time.Time) []byte {
	dst = append(dst, `{"id":`...)
	dst = phpser.AppendJSONString(dst, r.ID)
	kv := r.Path == "" // a key-value store names a server, not a file
	if kv {
		dst = append(dst, `,"server":`...)
		dst = phpser.AppendJSONString(dst, r.Server)
		if len(r.Info.Servers) > 0 {
			// Every server holding a copy (redundant or replicated stores).
			dst = append(dst, `,"servers":[`...)
			for i, sv := range r.Info.Servers {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = phpser.AppendJSONString(dst, sv)
			}
			dst = append(dst, ']')
		}
	} else {
		dst = append(dst, `,"path":`...)
		dst = phpser.AppendJSONString(dst, r.Path)
	}
	dst = append(dst, `,"size":`...)
	dst = strconv.AppendInt(dst, r.Size, 10)
	if r.ModTime.IsZero() {
		dst = append(dst, `,"mtime":null,"age_seconds":null`...)
	} else {
		dst = append(dst, `,"mtime":"`...)
		dst = r.ModTime.AppendFormat(dst, time.RFC3339)
		dst = append(dst, `","age_seconds":`...)
		dst = strconv.AppendInt(dst, ageSeconds(now, r.ModTime), 10)
	}
	dst = append(dst, `,"ttl_seconds":`...)
	if r.ttl == noTTL {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendInt(dst, r.ttl, 10)
	}
	if kv {
		dst = append(dst, `,"locked":`...)
		dst = strconv.AppendBool(dst, r.Info.Locked)
		if r.Info.Locked {
			dst = append(dst, `,"lock_holder":`...)
			dst = phpser.AppendJSONString(dst, r.LockHolder)
		}
	}
	switch {
	case r.Bad:
		dst = append(dst, `,"corrupt":`...)
		dst = phpser.AppendJSONString(dst, strings.TrimPrefix(r.Status, "corrupt: "))
	case r.Status != "":
		dst = append(dst, `,"error":`...)
		dst = phpser.AppendJSONString(dst, r.Status)
	}
	if r.Checked && !kv {
		dst = append(dst, `,"locked":`...)
		dst = strconv.AppendBool(dst, r.Locked)
	}
	if r.Checked {
		dst = append(dst, `,"status":`...)
		status := r.Status
		if status == "" {
			status = "ok"
		}
		dst = phpser.AppendJSONString(dst, status)
	}
	if r.Data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, r.Data...)
	}
	return append(dst, '}')
}

func footer(t lsTotals) string {
	s := fmt.Sprintf("%d session%s, %s", t.count, plural(t.count), HumanSize(t.bytes))
	if t.corrupt > 0 {
		s += fmt.Sprintf(", %d corrupt (PHP would destroy them)", t.corrupt)
	}
	if t.locked > 0 {
		s += fmt.Sprintf(", %d locked", t.locked)
	}
	if t.failed > 0 {
		s += fmt.Sprintf(", %d unreadable", t.failed)
	}
	if t.skipped > 0 {
		s += fmt.Sprintf(", %d not read (--max-size or sparse)", t.skipped)
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// lockedErr reports sessions that --where/--check could not read because
// they stayed locked: they are listed, and the exit code says so (3).
// lsErr is how ls ends once everything it could list was printed: exit 1
// when a level directory or a session could not be read, else exit 3 when a
// session stayed locked past --lock-timeout, else success.
func lsErr(st *Settings, t lsTotals, walkErr error) error {
	var problems []string
	if t.failed > 0 {
		problems = append(problems, fmt.Sprintf("%d session%s could not be read (marked unreadable above)", t.failed, plural(t.failed)))
	}
	if n := t.unmatched.unreadable; n > 0 {
		errs := t.unmatched.unreadableErrs
		more := ""
		if len(errs) > 3 {
			errs, more = errs[:3], fmt.Sprintf(" and %d more", len(errs)-3)
		}
		problems = append(problems, fmt.Sprintf("%d session%s could not be read: %s%s", n, plural(n), strings.Join(errs, "; "), more))
	}
	locked := t.locked + t.unmatched.locked
	if walkErr == nil && len(problems) == 0 {
		if locked == 0 {
			return nil
		}
		return &lockedWithNote{LockedSessionsError{IDs: t.lockedIDs}, lockedMsg(t)}
	}
	if locked > 0 {
		problems = append(problems, lockedMsg(t))
	}
	if walkErr == nil {
		return errors.New(strings.Join(problems, "; "))
	}
	// The walk's error first, wrapped (its hints and errors.Is still see it).
	rest := ""
	if len(problems) > 0 {
		rest = "; " + strings.Join(problems, "; ")
	}
	return fmt.Errorf("listing %s: %w%s", st.Where(), walkErr, rest)
}

// lockedMsg words the sessions that stayed locked past --lock-timeout.
func lockedMsg(t lsTotals) string {
	msg := (&LockedSessionsError{IDs: t.lockedIDs}).Error()
	if t.unmatched.locked > 0 {
		msg += " (not tested against the selection, so not listed)"
	}
	return msg
}

func statusStyle(sty *Styles, r lsRow) lipglossStyle {
	switch {
	case r.Bad:
		return sty.Bad
	case r.Status != "":
		return sty.Warn
	}
	return sty.Value
}

// withNote appends note to err's message, keeping what errors.Is and the
// exit code see.
func withNote(err error, note string) error {
	return &notedError{err, note}
}

type notedError struct {
	err  error
	note string
}

func (e *notedError) Error() string { return e.err.Error() + "; " + e.note }
func (e *notedError) Unwrap() error { return e.err }

// lsLevelHint prints, on stderr, the hint for a save_path whose sessions
// sit in level directories that --save-path did not name.
func lsLevelHint(opts *LsOptions, st *Settings) {
	sp, err := sessfile.ParseSavePath(st.SavePath.Value)
	if err != nil {
		return
	}
	if h := levelHint(sp); h != "" {
		fmt.Fprintln(opts.IO.ErrOut, "sesstool: hint: "+h)
	}
}

// newLsTable is ls's table: on a terminal ID, SIZE, AGE, MODIFIED (never
// cut), STATUS (with --check or --corrupt; an error cut there is printed in
// full below) and the --columns cells, fitted to the terminal; elsewhere
// tab-separated rows. streamed tables have fixed widths.
func newLsTable(opts *LsOptions, sty *Styles, statusCol, streamed, kv bool) *tableprinter.Printer {
	cols := []tableprinter.Column{
		{Header: "ID", Fixed: true, Width: 32},
		{Header: "SIZE", Right: true, Fixed: true, Width: 9},
		{Header: "AGE", Fixed: true, Width: 8},
		{Header: "MODIFIED", Fixed: true, Width: 19},
	}
	if kv {
		// A key-value store: the TTL, the last write PHP's SETEX tells
		// (maxlifetime − TTL), the lock holder.
		cols = []tableprinter.Column{
			{Header: "ID", Fixed: true, Width: 32},
			{Header: "SIZE", Right: true, Fixed: true, Width: 9},
			{Header: "TTL", Right: true, Fixed: true, Width: 7},
			{Header: "LAST WRITE", Fixed: true, Width: 10},
			{Header: "LOCK", Width: 16},
		}
	}
	if statusCol {
		cols = append(cols, tableprinter.Column{Header: "STATUS", Width: 8})
	}
	for _, k := range opts.Columns {
		cols = append(cols, tableprinter.Column{Header: k, Width: max(12, tableprinter.Width(k))})
	}
	if !streamed {
		for i := range cols {
			cols[i].Width = 0
		}
	}
	return newTable(opts.IO, sty, opts.NoHeaders, cols...)
}

// lsCells appends r's cells to dst: human values on a terminal (the age
// dimmed once gc may delete the session), exact ones elsewhere (size in
// bytes, age in whole seconds, mtime in RFC 3339).
func lsCells(dst []tableprinter.Cell, r lsRow, now time.Time, tty, statusCol, kv bool, columns []string, sty *Styles, expired func(time.Time) bool) []tableprinter.Cell {
	switch {
	case kv && tty:
		ttl, last := "none", "-"
		if r.HasTTL {
			ttl = gcpolicy.ShortDuration(r.TTL.Truncate(time.Second))
		}
		if !r.ModTime.IsZero() {
			last = HumanAge(now.Sub(r.ModTime))
		}
		dst = append(dst,
			tableprinter.Cell{Text: r.ID},
			tableprinter.Cell{Text: HumanSize(r.Size)},
			tableprinter.Cell{Text: ttl},
			tableprinter.Cell{Text: last},
			tableprinter.Cell{Text: lockText(r.Info)})
	case kv:
		ttl, last := "-", "-"
		if r.HasTTL {
			ttl = strconv.FormatInt(int64(r.TTL/time.Second), 10)
		}
		if !r.ModTime.IsZero() {
			last = r.ModTime.Local().Format(time.RFC3339)
		}
		dst = append(dst,
			tableprinter.Cell{Text: r.ID},
			tableprinter.Cell{Text: strconv.FormatInt(r.Size, 10)},
			tableprinter.Cell{Text: ttl},
			tableprinter.Cell{Text: last},
			tableprinter.Cell{Text: lockText(r.Info)})
	case tty:
		age := tableprinter.Cell{Text: HumanAge(now.Sub(r.ModTime))}
		if expired(r.ModTime) {
			age.Style = styleFunc(sty, sty.Dim)
		}
		dst = append(dst,
			tableprinter.Cell{Text: r.ID},
			tableprinter.Cell{Text: HumanSize(r.Size)},
			age,
			tableprinter.Cell{Text: r.ModTime.Local().Format("2006-01-02 15:04:05")})
	default:
		dst = append(dst,
			tableprinter.Cell{Text: r.ID},
			tableprinter.Cell{Text: strconv.FormatInt(r.Size, 10)},
			tableprinter.Cell{Text: strconv.FormatInt(ageSeconds(now, r.ModTime), 10)},
			tableprinter.Cell{Text: r.ModTime.Local().Format(time.RFC3339)})
	}
	if statusCol {
		st := r.Status
		if st == "" {
			st = "ok"
		}
		var f func(string) string
		if r.Status != "" {
			f = styleFunc(sty, statusStyle(sty, r))
		}
		dst = append(dst, tableprinter.Cell{Text: st, Style: f, Note: true})
	}
	for _, c := range columnCells(r, columns) {
		dst = append(dst, tableprinter.Cell{Text: c})
	}
	return dst
}
