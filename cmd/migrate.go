package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/store"
)

// MigrateOptions are migrate's flags and what it needs from the Factory.
type MigrateOptions struct {
	IO         *IOStreams
	Open       func() (Backend, *Settings, error)
	OpenTarget func() (Backend, *Settings, error)
	Now        func() time.Time
	IDs        []string
	Where      []string
	Grep       []string
	ToHandler  string // --to-save-handler
	ToPath     string // --to-save-path
	ToSerial   string // --to-serialize-handler
	DryRun     bool
	Move       bool
	Overwrite  bool
	Output     string
	Quiet      bool // -q: nothing on success
	List       bool // --list: name every session copied, moved or kept
	MaxPasses  int
	// LockTimeout bounds the wait for a key-value source session's lock
	// (--lock-timeout; files sources apply it in the store).
	LockTimeout time.Duration
}

// migrateSlack is how much later a target session's last write must be
// than the source's to count as newer: the stores know a write time to
// the second (memcached's expiry, a TTL read as whole seconds, the age
// carried in a copy's TTL), so a copy sesstool made, or a source rewritten
// in the same second as it, must never read as newer than the source.
const migrateSlack = 2 * time.Second

// NewCmdMigrate builds "sesstool migrate".
func NewCmdMigrate(f *Factory, runF func(context.Context, *MigrateOptions) error) *cobra.Command {
	opts := &MigrateOptions{IO: f.IO, Open: f.OpenBackend, Now: f.Now, MaxPasses: 3, LockTimeout: DefaultLockTimeout}
	c := &cobra.Command{
		Use:   "migrate [ID...] --to-save-handler H --to-save-path P",
		Short: "Copy (or move) sessions to another store or serializer, while the site runs",
		Long: `Copy every session (or the ids given, or those --where / --grep select) from
the configured store to another: --to-save-handler and --to-save-path name it
(files, redis, rediscluster, memcached, memcache, with the save_path in that
handler's syntax; the target's extension settings come from the same php.ini).
--to-serialize-handler converts the serializer through the decoded values; a
session the target serializer cannot hold is named and skipped (exit 1),
never written half-converted.

Each session is read under the source's lock and written under the target's,
keeping its remaining lifetime (files: its age, as an mtime on a files target
or maxlifetime - age as a TTL; key-value: its TTL). A key-value session that a
request holds locked is read once the lock is let go (up to --lock-timeout).
An expired session is not copied. A target session written more than 2 s
after the source's last write (the stores know write times to the second) is
left alone unless --overwrite; one with the same bytes is up to date. A
session that changes at the source during the copy is copied again by a next
pass (up to 3 passes; the summary says how many ran). --move destroys each
source session once its copy was read back equal and only if it did not
change meanwhile (one that changed is moved by the next pass; one still
changing after the last is an error, kept at the source). --dry-run reads
both stores and says what would be copied, writing nothing. Running it again
copies only what is missing or older.`,
		Example: `  sesstool migrate --to-save-handler redis --to-save-path tcp://127.0.0.1:6379
  sesstool migrate --to-save-handler files --to-save-path "2;/var/lib/php/sessions2" --dry-run
  sesstool --save-handler redis --save-path tcp://127.0.0.1:6379 migrate --to-save-handler redis --to-save-path tcp://127.0.0.1:6379 --to-serialize-handler igbinary`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.IDs = args
			for _, id := range args {
				if err := store.ValidateID(id); err != nil {
					return usage(err)
				}
			}
			if opts.ToHandler == "" && opts.ToPath == "" && opts.ToSerial == "" {
				return UsageErrorf("migrate needs a target: --to-save-handler, --to-save-path or --to-serialize-handler")
			}
			tf := *f
			tf.Global = f.Global
			if opts.ToHandler != "" {
				if !slices.Contains(saveHandlers, opts.ToHandler) {
					return UsageErrorf("--to-save-handler %q: sesstool serves %v", opts.ToHandler, saveHandlers)
				}
				tf.Global.SaveHandler, tf.Global.SaveHandlerFrom = opts.ToHandler, "flag --to-save-handler"
			}
			if opts.ToPath != "" {
				tf.Global.SavePath, tf.Global.SavePathSet, tf.Global.SavePathFrom = opts.ToPath, true, "flag --to-save-path"
			}
			opts.OpenTarget = tf.OpenBackend
			opts.LockTimeout = f.Global.LockTimeout
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return migrateRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.ToHandler, "to-save-handler", "", "the target store: files, redis, rediscluster, memcached, memcache (default: the source's)")
	fl.StringVar(&opts.ToPath, "to-save-path", "", "the target's save_path, in its handler's syntax (default: the source's)")
	fl.StringVar(&opts.ToSerial, "to-serialize-handler", "", "convert to this serializer: php, php_serialize, php_binary, igbinary, msgpack")
	fl.StringArrayVar(&opts.Where, "where", nil, "copy only sessions matching `SEL` (as ls --where)")
	fl.StringArrayVar(&opts.Grep, "grep", nil, "copy only sessions whose bytes match `RE`")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "say what would be copied; write nothing")
	fl.BoolVar(&opts.Move, "move", false, "destroy each source session once its copy is read back equal")
	fl.BoolVar(&opts.Overwrite, "overwrite", false, "replace target sessions even when they are newer than the source's")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing on success (errors still go to stderr)")
	fl.BoolVar(&opts.List, "list", false, `name every session copied, moved or kept newer (with --dry-run: that would be); -o json adds "ids"`)
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON, FormatJSONL)
	return c
}

// migrateWorkers is how many sessions migrate copies at once (each copy
// waits on two stores' round trips and locks).
const migrateWorkers = 16

// On a target that pipelines (Redis), migrateBatchers goroutines write what
// the workers read, up to migrateBatch sessions a round trip.
const (
	migrateBatchers = 2
	migrateBatch    = 128
)

// warnPutter is a files target's Put with its owner warning.
type warnPutter interface {
	PutWarn(ctx context.Context, id string, data []byte, life store.Lifetime, keep func(cur []byte) bool) (bool, string, error)
}

// putJob is a write handed to a batcher: the session as read, and what to
// put.
type putJob struct {
	info sessfile.Info
	sum  uint64
	item store.PutItem
}

// migrateStats is migrate's summary (its -o json).
type migrateStats struct {
	Scanned      int64     `json:"scanned"`
	Copied       int64     `json:"copied"`
	UpToDate     int64     `json:"up_to_date"`
	KeptNewer    int64     `json:"kept_newer"`
	Expired      int64     `json:"expired"`
	NotSelected  int64     `json:"not_selected"`
	NotConverted int64     `json:"not_converted"`
	Moved        int64     `json:"moved"`
	Errors       int64     `json:"errors"`
	Passes       int       `json:"passes"`
	DryRun       bool      `json:"dry_run"`
	Failed       []string  `json:"failed"`
	IDs          *[]string `json:"ids,omitempty"` // --list: copied or moved (or would be)
	listed       []string
}

func migrateRun(ctx context.Context, opts *MigrateOptions) error {
	if err := checkFormat(opts.Output, FormatHuman, FormatJSON, FormatJSONL); err != nil {
		return err
	}
	wheres, err := ParseWheres(opts.Where, opts.Grep...)
	if err != nil {
		return err
	}
	sel := newSelector(wheres, nil, false)
	var toHandler phpser.Handler
	if opts.ToSerial != "" {
		if toHandler, err = phpser.ParseHandler(opts.ToSerial); err != nil || toHandler == phpser.HandlerAuto {
			return UsageErrorf("--to-serialize-handler %q: want php, php_serialize, php_binary, igbinary or msgpack", opts.ToSerial)
		}
	}
	src, st, err := opts.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	dst, tst, err := opts.OpenTarget()
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	defer dst.Close()
	if src.Where() == dst.Where() && src.Capabilities().Handler == dst.Capabilities().Handler && toHandler == "" {
		return UsageErrorf("the target is the source (%s %s): give another --to-save-path or --to-serialize-handler", src.Capabilities().Handler, src.Where())
	}
	putter, ok := dst.(store.Putter)
	if !ok {
		return fmt.Errorf("target %s cannot take copies", dst.Capabilities().Handler)
	}
	handler, err := st.handlerFor("")
	if err != nil {
		return err
	}
	fallback := st.FallbackHandler()
	srcML, dstML := st.MaxLifetime(), tst.MaxLifetime()
	srcKV, dstKV := src.Capabilities().TTL, dst.Capabilities().TTL
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	var stats migrateStats
	stats.DryRun = opts.DryRun
	// The sessions are copied by several workers: mu guards the figures,
	// the maps and the output.
	var mu sync.Mutex
	// The progress line on a terminal's stderr, shared with the lock-wait
	// notices the stores print: anything printed clears it first.
	status := opts.IO.status()
	count := func(n *int64) {
		mu.Lock()
		*n++
		mu.Unlock()
	}
	only := map[string]bool{}
	for _, id := range opts.IDs {
		only[id] = true
	}
	// copied remembers a hash of what each session held when copied (and,
	// on files, its mtime and size as read under the lock), so that a next
	// pass copies only what changed at the source since, and on files
	// reads only what the walk shows changed.
	type seen struct {
		sum  uint64
		mod  int64 // Unix ns
		size int64
	}
	copied := map[string]seen{}
	setCopied := func(in sessfile.Info, h uint64) {
		mu.Lock()
		copied[in.ID] = seen{h, in.ModTime.UnixNano(), in.Size}
		mu.Unlock()
	}
	getCopied := func(id string) (seen, bool) {
		mu.Lock()
		defer mu.Unlock()
		h, ok := copied[id]
		return h, ok
	}
	sum := func(b []byte) uint64 {
		h := fnv.New64a()
		h.Write(b)
		return h.Sum64()
	}
	report := func(kind, id, detail string) {
		mu.Lock()
		defer mu.Unlock()
		status.clear(opts.IO.ErrOut) // the progress line goes; it comes back with the next tick
		switch opts.Output {
		case FormatJSONL:
			line := []byte(`{"id":`)
			line = phpser.AppendJSONString(line, id)
			line = append(line, `,"result":`...)
			line = phpser.AppendJSONString(line, kind)
			if detail != "" {
				line = append(line, `,"detail":`...)
				line = phpser.AppendJSONString(line, detail)
			}
			line = append(line, "}\n"...)
			opts.IO.Out.Write(line)
		case FormatJSON:
			if opts.List && (kind == "copied" || kind == "would copy" || kind == "moved") {
				stats.listed = append(stats.listed, id)
			}
		}
		if opts.Output != FormatJSONL {
			msg := kind + " " + id
			if detail != "" {
				msg += ": " + detail
			}
			switch kind {
			case "error", "not converted":
				fmt.Fprintln(opts.IO.ErrOut, "sesstool: "+msg)
			case "copied", "would copy", "moved", "kept newer":
				if opts.Output == FormatHuman && opts.List && !opts.Quiet {
					fmt.Fprintln(opts.IO.Out, msg)
				}
			}
		}
	}
	failed := map[string]bool{}
	addFailed := func(id string) {
		mu.Lock()
		defer mu.Unlock()
		if !failed[id] {
			failed[id] = true
			stats.Failed = append(stats.Failed, id)
		}
	}
	fail := func(id string, err error) {
		count(&stats.Errors)
		addFailed(id)
		report("error", id, oneLine(ErrorLine(err)))
	}
	// notMoved holds the --move copies whose source changed before it
	// could be destroyed: a next pass copies and moves them again.
	notMoved := map[string]bool{}
	setNotMoved := func(id string, v bool) {
		mu.Lock()
		defer mu.Unlock()
		if v {
			notMoved[id] = true
		} else {
			delete(notMoved, id)
		}
	}
	// readSource reads a session as the source's lock allows: a files
	// store under LOCK_SH (its own wait); a key-value one after any lock a
	// request holds on it is let go, so that a copy is never of a session
	// a running request is about to write.
	readSource := func(id string) ([]byte, sessfile.Info, error) {
		data, in, err := src.Read(ctx, id)
		if err != nil || !srcKV || !in.Locked {
			return data, in, err
		}
		deadline := time.Now().Add(opts.LockTimeout)
		backoff := 5 * time.Millisecond
		for in.Locked {
			if !time.Now().Before(deadline) {
				return nil, in, &store.LockTimeoutError{ID: id, Timeout: opts.LockTimeout, Holder: in.LockHolder}
			}
			select {
			case <-ctx.Done():
				return nil, in, ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 100*time.Millisecond)
			if data, in, err = src.Read(ctx, id); err != nil {
				return nil, in, err
			}
		}
		return data, in, nil
	}
	// putDone accounts for a PutIf (or PutMany) outcome; it reports
	// whether the session was written.
	putDone := func(info sessfile.Info, dataSum uint64, res store.PutResult, err error) bool {
		if err != nil {
			fail(info.ID, err)
			return false
		}
		setCopied(info, dataSum)
		switch res {
		case store.PutSame:
			count(&stats.UpToDate)
			report("up to date", info.ID, "")
			return false
		case store.PutNewer:
			count(&stats.KeptNewer)
			report("kept newer", info.ID, "")
			return false
		}
		return true
	}
	var warnOnce sync.Once // a files target's owner warning, said once
	// batchCh, when set (a pass on a target that pipelines, without
	// --move), takes one's writes to the batchers.
	var batchCh chan putJob
	many, _ := dst.(store.ManyPutter)
	// one copies one session; it reports whether it copied (or would).
	one := func(listed sessfile.Info, pass int) bool {
		// The session's bytes, and its Info as the read saw it (on files,
		// its mtime and size under the lock; the walk may not stat).
		data, info, err := readSource(listed.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return false // gone meanwhile
		case err != nil:
			fail(listed.ID, err)
			return false
		}
		if info.ID == "" {
			info.ID = listed.ID
		}
		t := now()
		// The lifetime left at the source, carried to the target.
		var life store.Lifetime
		var srcWrite time.Time // the source's last write, to compare with the target's
		switch {
		case !srcKV:
			age := t.Sub(info.ModTime)
			if age > srcML {
				if pass == 1 {
					count(&stats.Expired)
				}
				return false
			}
			srcWrite = info.ModTime
			if dstKV {
				life = store.Lifetime{TTL: srcML - age, HasTTL: true}
			} else {
				life = store.Lifetime{ModTime: info.ModTime}
			}
		case info.HasTTL:
			srcWrite = info.ModTime
			if dstKV {
				life = store.Lifetime{TTL: info.TTL, HasTTL: true}
			} else {
				life = store.Lifetime{ModTime: t.Add(-max(dstML-info.TTL, 0))}
			}
		default:
			if !dstKV {
				life = store.Lifetime{ModTime: t}
			}
		}
		dataSum := sum(data)
		if h, ok := getCopied(info.ID); ok && h.sum == dataSum {
			return false // copied already, unchanged since
		}
		out := data
		if len(wheres) > 0 && toHandler == "" {
			// Only the selectors need the session: decode what they test.
			if r := sel.decode(data, handler, fallback, st.DecodeOptions()); r.Err != nil || !r.Match {
				if pass == 1 {
					count(&stats.NotSelected) // does not decode: never matches
				}
				return false
			}
		} else if len(wheres) > 0 || toHandler != "" {
			d := decodeStored(data, handler, fallback, st.DecodeOptions())
			if d.Err != nil {
				if len(wheres) > 0 {
					if pass == 1 {
						count(&stats.NotSelected) // does not decode: never matches
					}
					return false
				}
				count(&stats.NotConverted)
				addFailed(info.ID)
				setCopied(info, dataSum) // a next pass tries again only if it changes
				report("not converted", info.ID, "does not decode with "+string(handler)+": "+oneLine(d.Err.Error()))
				return false
			}
			for _, w := range wheres {
				if !w.Match(d.Sess) {
					if pass == 1 {
						count(&stats.NotSelected)
					}
					return false
				}
			}
			if toHandler != "" && toHandler != d.Handler {
				conv, err := convertSession(d.Sess, toHandler)
				if err != nil {
					count(&stats.NotConverted)
					addFailed(info.ID)
					setCopied(info, dataSum)
					report("not converted", info.ID, oneLine(err.Error()))
					return false
				}
				out = conv
			}
		}
		// newer says whether a target session written at tw is to be
		// left alone (unless --overwrite).
		newer := func(tw time.Time) bool {
			return !opts.Overwrite && !tw.IsZero() && !srcWrite.IsZero() && tw.After(srcWrite.Add(migrateSlack))
		}
		ip, oneStep := dst.(store.IfPutter)
		if opts.DryRun {
			// What a copy would find, read without writing.
			if cur, ti, err := dst.Read(ctx, info.ID); err == nil {
				switch {
				case bytes.Equal(cur, out):
					count(&stats.UpToDate)
					setCopied(info, dataSum)
					report("up to date", info.ID, "")
					return false
				case newer(ti.ModTime):
					count(&stats.KeptNewer)
					setCopied(info, dataSum)
					report("kept newer", info.ID, "")
					return false
				}
			}
			count(&stats.Copied)
			setCopied(info, dataSum)
			report("would copy", info.ID, "")
			return true
		}
		if oneStep {
			// Checked and written in one step on the server.
			var after time.Time // a target written later than this is newer
			if !srcWrite.IsZero() {
				after = srcWrite.Add(migrateSlack)
			}
			po := store.PutOptions{Life: life, SourceWrite: after, Overwrite: opts.Overwrite}
			if batchCh != nil {
				// Pipelined with others by a batcher, which finishes it.
				batchCh <- putJob{info: info, sum: dataSum, item: store.PutItem{ID: info.ID, Data: out, Opts: po}}
				return false
			}
			res, err := ip.PutIf(ctx, info.ID, out, po)
			if !putDone(info, dataSum, res, err) {
				return false
			}
		} else {
			same, kept := false, false
			put := putter.Put
			if wp, ok := dst.(warnPutter); ok {
				put = func(ctx context.Context, id string, data []byte, life store.Lifetime, keep func([]byte) bool) (bool, error) {
					wrote, warning, err := wp.PutWarn(ctx, id, data, life, keep)
					if warning != "" {
						warnOnce.Do(func() {
							status.println(opts.IO.ErrOut, fmt.Sprintf("sesstool: warning: %s (and so for every session created)", oneLine(warning)))
						})
					}
					return wrote, err
				}
			}
			wrote, err := put(ctx, info.ID, out, life, func(cur []byte) bool {
				// Under the target's lock: its last write cannot move.
				same, kept = bytes.Equal(cur, out), false
				if !same {
					if ti, err := dst.Stat(info.ID); err == nil && newer(ti.ModTime) {
						kept = true
					}
				}
				return !same && !kept
			})
			if err != nil {
				fail(info.ID, err)
				return false
			}
			setCopied(info, dataSum)
			switch {
			case !wrote && same:
				count(&stats.UpToDate)
				report("up to date", info.ID, "")
				return false
			case !wrote && kept:
				count(&stats.KeptNewer)
				report("kept newer", info.ID, "")
				return false
			}
		}
		count(&stats.Copied)
		if !opts.Move {
			report("copied", info.ID, "")
			return true
		}
		// --move: destroy the source only once the copy reads back equal
		// and the source still holds what was copied.
		back, _, err := dst.Read(ctx, info.ID)
		if err != nil || !bytes.Equal(back, out) {
			fail(info.ID, fmt.Errorf("the copy did not read back equal; source kept: %v", err))
			return true
		}
		done, err := src.DestroyIf(ctx, info.ID, func(cur []byte) (bool, error) { return bytes.Equal(cur, data), nil })
		switch {
		case err != nil:
			fail(info.ID, err)
		case done:
			setNotMoved(info.ID, false)
			count(&stats.Moved)
			report("moved", info.ID, "")
		default:
			setNotMoved(info.ID, true)
			report("copied", info.ID, "changed at the source meanwhile: kept there, moved by a next pass")
		}
		return true
	}
	// Progress on a terminal's stderr (never into a pipe or a cron mail).
	var done atomic.Int64
	var curPass atomic.Int64
	if opts.IO.ErrTTY && opts.Output == FormatHuman && !opts.Quiet {
		stopProgress := make(chan struct{})
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					status.clear(opts.IO.ErrOut)
					return
				case <-t.C:
					mu.Lock() // never between report's clear and its line
					status.show(opts.IO.ErrOut, fmt.Sprintf("pass %d: %d sessions looked at, %d copied", curPass.Load(), done.Load(), stats.Copied))
					mu.Unlock()
				}
			}
		}()
		defer func() { close(stopProgress); <-finished }()
	}
	for pass := 1; pass <= opts.MaxPasses; pass++ {
		curPass.Store(int64(pass))
		done.Store(0)
		stats.Passes = pass
		var changed atomic.Int64
		var scanned int64
		jobs := make(chan sessfile.Info, 2*migrateWorkers)
		var wg sync.WaitGroup
		var bwg sync.WaitGroup
		batchCh = nil
		if many != nil && !opts.Move && !opts.DryRun {
			// Writes go to the target a batch at a time (one round trip
			// for many sessions), while the workers go on reading.
			batchCh = make(chan putJob, 4*migrateBatch)
			for range migrateBatchers {
				bwg.Add(1)
				go func() {
					defer bwg.Done()
					batch := make([]putJob, 0, migrateBatch)
					items := make([]store.PutItem, 0, migrateBatch)
					for j := range batchCh {
						batch = append(batch[:0], j)
					more:
						for len(batch) < migrateBatch {
							select {
							case j, ok := <-batchCh:
								if !ok {
									break more
								}
								batch = append(batch, j)
							default:
								break more
							}
						}
						items = items[:0]
						for _, j := range batch {
							items = append(items, j.item)
						}
						// Sessions read are written whole even after Ctrl-C.
						for k, o := range many.PutMany(context.WithoutCancel(ctx), items) {
							if putDone(batch[k].info, batch[k].sum, o.Res, o.Err) {
								count(&stats.Copied)
								report("copied", batch[k].info.ID, "")
								changed.Add(1)
							}
						}
						clear(batch)
						clear(items)
					}
				}()
			}
		}
		for range migrateWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for in := range jobs {
					if one(in, pass) {
						changed.Add(1)
					}
					done.Add(1)
				}
			}()
		}
		feed := func(in sessfile.Info) error {
			if len(only) > 0 && !only[in.ID] {
				return nil
			}
			scanned++
			if pass > 1 && !srcKV && in.Size >= 0 {
				// Unchanged since the last pass read it: nothing to do.
				if h, ok := getCopied(in.ID); ok && h.size == in.Size && h.mod == in.ModTime.UnixNano() {
					return nil
				}
			}
			select {
			case jobs <- in:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var err error
		if h := src.Capabilities().Handler; h == "memcached" || h == "memcache" {
			// Nothing may be asked of a memcached server while its listing
			// is read (see sessmemcache.Walk): list first, then copy.
			var infos []sessfile.Info
			if err = src.Walk(ctx, func(in sessfile.Info) error { infos = append(infos, in); return nil }); err == nil {
				for _, in := range infos {
					if err = feed(in); err != nil {
						break
					}
				}
			}
		} else if iw, ok := src.(idWalker); ok && pass == 1 {
			// Files, first pass: every session is read, and its read says
			// its mtime and size; the walk need not stat.
			err = iw.WalkIDs(ctx, feed)
		} else {
			// Streamed: memory stays flat whatever the number of sessions.
			err = src.Walk(ctx, feed)
		}
		close(jobs)
		wg.Wait()
		if batchCh != nil {
			close(batchCh)
			bwg.Wait()
		}
		if pass == 1 {
			stats.Scanned = scanned
		}
		if ctx.Err() != nil {
			return migrateSummary(opts, &stats, ctx.Err())
		}
		if err != nil {
			return err
		}
		if changed.Load() == 0 || opts.DryRun {
			break
		}
	}
	// --move: a session still changing at the source after the last pass
	// stays there, and its copy may be behind it.
	for _, id := range slices.Sorted(maps.Keys(notMoved)) {
		fail(id, fmt.Errorf("session %q changed at the source in every pass: kept there, its copy at the target may be older", id))
	}
	return migrateSummary(opts, &stats, nil)
}

// convertSession re-encodes a decoded session with another serializer: the
// values stay, the framing changes; what the target cannot hold is an
// error naming it.
func convertSession(s *phpser.Session, to phpser.Handler) ([]byte, error) {
	c := &phpser.Session{Handler: to, Root: s.Root}
	b, err := phpser.EncodeSession(c)
	if err != nil {
		return nil, fmt.Errorf("cannot be written as %s: %w", to, err)
	}
	back, err := phpser.DecodeSession(b, to)
	if err != nil || !phpser.Equal(back.Root, s.Root) {
		return nil, fmt.Errorf("does not read back the same as %s", to)
	}
	return b, nil
}

func migrateSummary(opts *MigrateOptions, s *migrateStats, stop error) error {
	if s.Failed == nil {
		s.Failed = []string{}
	}
	switch opts.Output {
	case FormatJSON:
		if opts.List {
			ids := slices.Compact(slices.Sorted(slices.Values(s.listed)))
			if ids == nil {
				ids = []string{}
			}
			s.IDs = &ids
		}
		if err := writeJSON(opts.IO.Out, s); err != nil {
			return err
		}
	case FormatJSONL:
	default:
		if opts.Quiet && stop == nil && s.Errors == 0 && s.NotConverted == 0 {
			break
		}
		verb := "copied"
		if s.DryRun {
			verb = "would copy"
		}
		fmt.Fprintf(opts.IO.Out, "scanned %d, %s %d, up to date %d, kept newer %d, expired %d, not selected %d, not converted %d, moved %d, errors %d (%d pass%s)\n",
			s.Scanned, verb, s.Copied, s.UpToDate, s.KeptNewer, s.Expired, s.NotSelected, s.NotConverted, s.Moved, s.Errors, s.Passes, map[bool]string{true: "", false: "es"}[s.Passes == 1])
	}
	if stop != nil {
		return stop
	}
	if s.Errors > 0 || s.NotConverted > 0 {
		return &SilentError{Code: ExitFailure}
	}
	return nil
}
