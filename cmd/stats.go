package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/store"
)

// StatsOptions are stats' flags and what it needs from the Factory.
type StatsOptions struct {
	IO      *IOStreams
	Open    func() (Backend, *Settings, error)
	Now     func() time.Time
	Output  string
	Check   bool   // name the corrupt sessions
	By      string // --by KEY: distinct values of a key
	Top     int    // how many biggest sessions, keys and --by values
	Handler string // --serialize-handler given to the command
}

// NewCmdStats builds "sesstool stats".
func NewCmdStats(f *Factory, runF func(context.Context, *StatsOptions) error) *cobra.Command {
	opts := &StatsOptions{IO: f.IO, Open: f.OpenBackend, Now: f.Now}
	c := &cobra.Command{
		Use:   "stats",
		Short: "One screen about a store: how many sessions, how big, how old, who holds locks",
		Long: `Read every session once (in parallel, under the same shared locks as
ls --check) and print one screen about the store: sessions and bytes, ages
(on Redis and Memcached: TTLs) and sizes as histograms, sessions active in the
last 5, 15 and 60 minutes, empty and corrupt sessions, locks held now, keys
without a TTL, the serialize handlers seen, the biggest sessions and the
top-level keys that hold the most bytes.

--by KEY counts the distinct values of a key (a top-level key or a JSON
Pointer such as /user/id): how many users are logged in, and who has the most
sessions. Memory grows with the number of distinct values, not of sessions.`,
		Example: `  sesstool stats
  sesstool stats --by user_id
  sesstool stats -o json | jq .sessions`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return statsRun(c.Context(), opts)
		},
	}
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON)
	c.Flags().BoolVar(&opts.Check, "check", false, "also name the corrupt sessions")
	c.Flags().StringVar(&opts.By, "by", "", "count the distinct values of `KEY` (a top-level key or a JSON Pointer)")
	c.Flags().IntVar(&opts.Top, "top", 10, "how many of the biggest sessions, keys and --by values to show")
	c.Flags().StringVar(&opts.Handler, "serialize-handler", "", "decode with this handler (php, php_serialize, php_binary, igbinary, msgpack, auto)")
	return c
}

// Histogram bucket bounds (upper, exclusive) and their labels.
var (
	ageBounds  = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	ageLabels  = []string{"< 5m", "5m-15m", "15m-1h", "1h-6h", "6h-24h", "1d-7d", ">= 7d"}
	sizeBounds = []int64{1, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}
	sizeLabels = []string{"0 B", "< 1 KiB", "1-4 KiB", "4-16 KiB", "16-64 KiB", "64-256 KiB", "256 KiB-1 MiB", ">= 1 MiB"}
)

// statsBucket is one histogram bar.
type statsBucket struct {
	Label string `json:"label"`
	Count int64  `json:"count"`
}

// statsSession is one of the biggest sessions.
type statsSession struct {
	ID   string `json:"id"`
	Size int64  `json:"size"`
}

// statsKey is a top-level key and what it holds over every session.
type statsKey struct {
	Key      string `json:"key"`
	Bytes    int64  `json:"bytes"`
	Sessions int64  `json:"sessions"`
}

// statsValue is one --by value and its sessions.
type statsValue struct {
	Value    string `json:"value"` // JSON
	Sessions int64  `json:"sessions"`
}

// statsLock is a lock held now: the fields of locks -o json.
type statsLock = lockJSON

// Caps on what stats keeps of unbounded lists: the corrupt sessions it
// names (all are counted), and the distinct top-level keys it tallies.
// Variables for tests.
var (
	maxCorruptIDs = 100
	maxTopKeys    = 100_000
)

// statsReport is every figure of stats (its -o json).
type statsReport struct {
	Store      string         `json:"store"`
	Handler    string         `json:"save_handler"`
	Sessions   int64          `json:"sessions"`
	Bytes      int64          `json:"bytes"`
	Empty      int64          `json:"empty"`
	Corrupt    int64          `json:"corrupt"`
	CorruptIDs []string       `json:"corrupt_ids,omitempty"` // with --check: the first maxCorruptIDs
	CorruptCut bool           `json:"corrupt_ids_capped,omitempty"`
	Unread     int64          `json:"unread"` // locked past --lock-timeout, too large, unreadable
	Active     map[string]int `json:"active"` // "5m", "15m", "60m"
	NoTTL      *int64         `json:"no_ttl,omitempty"`
	AgeKind    string         `json:"age_kind"` // "age" or "ttl"
	Ages       []statsBucket  `json:"ages"`
	Sizes      []statsBucket  `json:"sizes"`
	Handlers   map[string]int `json:"serialize_handlers"`
	Biggest    []statsSession `json:"biggest"`
	TopKeys    []statsKey     `json:"top_keys"`
	KeysCapped bool           `json:"top_keys_capped,omitempty"` // the tally stopped at maxTopKeys distinct keys
	Locks      []statsLock    `json:"locks"`
	By         *statsBy       `json:"by,omitempty"`
}

type statsBy struct {
	Key      string       `json:"key"`
	Distinct int64        `json:"distinct"`
	Missing  int64        `json:"sessions_without"`
	Top      []statsValue `json:"top"`
}

// statsRead is what the readers learn of one session.
type statsRead struct {
	info    sessfile.Info
	unread  bool
	corrupt bool
	handler phpser.Handler
	keys    []statsKey // per top-level key: its serialized bytes
	by      string     // the --by value as JSON; "" when missing
}

// topKeyName is a top-level key as stats names it.
func topKeyName(k phpser.Key) string {
	if k.IsInt {
		return strconv.FormatInt(k.Int, 10)
	}
	return k.Str
}

func statsRun(ctx context.Context, opts *StatsOptions) error {
	if err := checkFormat(opts.Output, FormatHuman, FormatJSON); err != nil {
		return err
	}
	if opts.Top < 0 {
		return UsageErrorf("--top must not be negative")
	}
	st, settings, err := opts.Open()
	if err != nil {
		return err
	}
	defer st.Close()
	handler, err := settings.handlerFor(opts.Handler)
	if err != nil {
		return err
	}
	fallback := settings.FallbackHandler()
	now := opts.Now()
	kv := st.Capabilities().TTL
	rep := &statsReport{
		Store: st.Where(), Handler: st.Capabilities().Handler,
		Active:   map[string]int{"5m": 0, "15m": 0, "60m": 0},
		Handlers: map[string]int{}, AgeKind: "age",
		Biggest: []statsSession{}, TopKeys: []statsKey{}, Locks: []statsLock{},
	}
	if kv {
		rep.AgeKind = "ttl"
		rep.NoTTL = new(int64)
	}
	ages := make([]int64, len(ageLabels)+1) // the last: no TTL (kv)
	sizes := make([]int64, len(sizeLabels))
	keys := map[string]*statsKey{}
	byValues := map[string]int64{}
	var byMissing int64

	// Sessions are counted as their reads complete, not in walk order:
	// one waited for behind its lock does not hold the count back.
	var read atomic.Int64
	stopProgress := make(chan struct{})
	var progressDone sync.WaitGroup
	if opts.IO.ErrTTY && opts.Output == FormatHuman {
		line := opts.IO.status() // shared with the lock-wait notice
		progressDone.Add(1)
		go func() {
			defer progressDone.Done()
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					line.clear(opts.IO.ErrOut)
					return
				case <-t.C:
					line.show(opts.IO.ErrOut, fmt.Sprintf("read %d sessions", read.Load()))
				}
			}
		}()
	}
	rd := newManyReader(st, false)
	var extra []string
	if opts.By != "" {
		extra = []string{opts.By}
	}
	sel := newSelector(nil, extra, true)
	walkErr := walkOrdered(ctx, rd.walk, readWorkers, func(info sessfile.Info) (statsRead, error) {
		data, in, release, err := rd.read(ctx, info)
		defer release()
		read.Add(1)
		r := statsRead{info: in}
		switch {
		case errors.Is(err, store.ErrNotFound):
			r.info.ID = "" // gone since the walk saw it
			return r, nil
		case err != nil:
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			r.unread = true
			return r, nil
		}
		d := sel.decode(data, handler, fallback, settings.DecodeOptions())
		if d.Err != nil {
			r.corrupt = true
			return r, nil
		}
		r.handler = d.Handler
		if d.Full {
			for _, e := range d.Sess.Entries() {
				v, err := phpser.EncodeValue(e.Val)
				if err != nil {
					continue
				}
				r.keys = append(r.keys, statsKey{Key: topKeyName(e.Key), Bytes: int64(len(topKeyName(e.Key)) + len(v))})
			}
		} else {
			// Without references a value's encoding is its bytes in the
			// session (phpser's differential test holds it to that).
			for _, t := range d.Sizes {
				name := topKeyName(t.Key)
				r.keys = append(r.keys, statsKey{Key: name, Bytes: int64(len(name) + t.Size)})
			}
		}
		if opts.By != "" {
			if v, ok := d.Sess.Lookup(opts.By); ok {
				r.by = string(phpser.AppendJSON(nil, d.Sess, v))
			}
		}
		return r, nil
	}, func(r statsRead) error {
		in := r.info
		if in.ID == "" {
			return nil
		}
		rep.Sessions++
		rep.Bytes += in.Size
		if in.Size == 0 {
			rep.Empty++
		}
		sizes[bucketOf(sizeBounds, in.Size)]++
		switch {
		case kv && !in.HasTTL:
			*rep.NoTTL++
			ages[len(ageLabels)]++
		case kv:
			ages[bucketOfDuration(ageBounds, in.TTL)]++
		default:
			ages[bucketOfDuration(ageBounds, now.Sub(in.ModTime))]++
		}
		if !in.ModTime.IsZero() {
			age := now.Sub(in.ModTime)
			for _, w := range []struct {
				k string
				d time.Duration
			}{{"5m", 5 * time.Minute}, {"15m", 15 * time.Minute}, {"60m", time.Hour}} {
				if age < w.d {
					rep.Active[w.k]++
				}
			}
		}
		rep.Biggest = topSessions(rep.Biggest, statsSession{in.ID, in.Size}, opts.Top)
		switch {
		case r.unread:
			rep.Unread++
			return nil
		case r.corrupt:
			rep.Corrupt++
			if opts.Check {
				if len(rep.CorruptIDs) < maxCorruptIDs {
					rep.CorruptIDs = append(rep.CorruptIDs, in.ID)
				} else {
					rep.CorruptCut = true
				}
			}
			return nil
		}
		rep.Handlers[string(r.handler)]++
		for _, k := range r.keys {
			sk := keys[k.Key]
			if sk == nil {
				if len(keys) >= maxTopKeys {
					rep.KeysCapped = true
					continue // enough distinct keys: memory stays bounded
				}
				sk = &statsKey{Key: k.Key}
				keys[k.Key] = sk
			}
			sk.Bytes += k.Bytes
			sk.Sessions++
		}
		if opts.By != "" {
			if r.by == "" {
				byMissing++
			} else {
				byValues[r.by]++
			}
		}
		return nil
	})
	close(stopProgress)
	progressDone.Wait()
	if walkErr != nil {
		return walkErr
	}
	if err := st.Locks(ctx, func(l store.Lock) error {
		rep.Locks = append(rep.Locks, newLockJSON(l, now))
		return nil
	}); err != nil && !errors.Is(err, store.ErrUnsupported) {
		return err
	}
	for i, l := range ageLabels {
		rep.Ages = append(rep.Ages, statsBucket{l, ages[i]})
	}
	if kv {
		rep.Ages = append(rep.Ages, statsBucket{"no TTL", ages[len(ageLabels)]})
	}
	for i, l := range sizeLabels {
		rep.Sizes = append(rep.Sizes, statsBucket{l, sizes[i]})
	}
	for _, k := range keys {
		rep.TopKeys = append(rep.TopKeys, *k)
	}
	slices.SortFunc(rep.TopKeys, func(a, b statsKey) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Key, b.Key))
	})
	rep.TopKeys = rep.TopKeys[:min(len(rep.TopKeys), opts.Top)]
	if opts.By != "" {
		b := &statsBy{Key: opts.By, Distinct: int64(len(byValues)), Missing: byMissing, Top: []statsValue{}}
		for v, n := range byValues {
			b.Top = append(b.Top, statsValue{v, n})
		}
		slices.SortFunc(b.Top, func(a, c statsValue) int {
			return cmp.Or(cmp.Compare(c.Sessions, a.Sessions), cmp.Compare(a.Value, c.Value))
		})
		b.Top = b.Top[:min(len(b.Top), opts.Top)]
		rep.By = b
	}
	if opts.Output == FormatJSON {
		return writeJSON(opts.IO.Out, rep)
	}
	return printStats(opts.IO, rep)
}

// bucketOf is the index of the first bound above n (len(bounds) past them).
func bucketOf(bounds []int64, n int64) int {
	for i, b := range bounds {
		if n < b {
			return i
		}
	}
	return len(bounds)
}

func bucketOfDuration(bounds []time.Duration, d time.Duration) int {
	for i, b := range bounds {
		if d < b {
			return i
		}
	}
	return len(bounds)
}

// topSessions keeps the n biggest sessions, biggest first.
func topSessions(top []statsSession, s statsSession, n int) []statsSession {
	if n == 0 || len(top) == n && s.Size <= top[n-1].Size {
		return top
	}
	i, _ := slices.BinarySearchFunc(top, s, func(a, b statsSession) int { return cmp.Compare(b.Size, a.Size) })
	for i < len(top) && top[i].Size == s.Size {
		i++
	}
	top = slices.Insert(top, i, s)
	return top[:min(len(top), n)]
}

// printStats prints the report as one screen, its bars fitted to the
// terminal's width.
func printStats(io_ *IOStreams, rep *statsReport) error {
	sty := NewStyles(io_)
	var b strings.Builder
	kind := "files"
	if rep.Handler != "files" {
		kind = rep.Handler
	}
	width := io_.Width
	if width <= 0 {
		width = 80
	}
	// The store's name, cut at its start (its end names it best) to fit.
	where := rep.Store
	if room := width - len("stats  ()") - len(kind); utf8.RuneCountInString(where) > room && room > 8 {
		r := []rune(where)
		where = "…" + string(r[len(r)-(room-1):])
	}
	fmt.Fprintf(&b, "%s %s %s\n", sty.Header.Render("stats"), where, sty.Dim.Render("("+kind+")"))
	parts := []string{fmt.Sprintf("sessions %d", rep.Sessions), HumanSize(rep.Bytes), fmt.Sprintf("empty %d", rep.Empty), fmt.Sprintf("corrupt %d", rep.Corrupt)}
	if rep.Unread > 0 {
		parts = append(parts, fmt.Sprintf("not read %d (locked, too large or unreadable)", rep.Unread))
	}
	if rep.NoTTL != nil {
		parts = append(parts, fmt.Sprintf("without TTL %d", *rep.NoTTL))
	}
	b.WriteString(joinFit(parts, width))
	b.WriteString(joinFit([]string{fmt.Sprintf("active   last 5m %d", rep.Active["5m"]), fmt.Sprintf("15m %d", rep.Active["15m"]), fmt.Sprintf("60m %d", rep.Active["60m"])}, width))
	title := "age"
	if rep.AgeKind == "ttl" {
		title = "TTL left"
	}
	writeHistogram(&b, sty, title, rep.Ages, width)
	writeHistogram(&b, sty, "size", rep.Sizes, width)
	if len(rep.Handlers) > 0 {
		var hs []string
		for _, h := range slices.Sorted(maps.Keys(rep.Handlers)) {
			hs = append(hs, fmt.Sprintf("%s %d", h, rep.Handlers[h]))
		}
		hs[0] = "handlers " + hs[0]
		b.WriteString(joinFit(hs, width))
	}
	if len(rep.Biggest) > 0 {
		b.WriteString(sty.Header.Render("biggest") + "\n")
		for _, s := range rep.Biggest {
			fmt.Fprintf(&b, "  %-*s %s\n", idWidth(rep.Biggest), s.ID, HumanSize(s.Size))
		}
	}
	if len(rep.TopKeys) > 0 {
		title := "keys holding the most bytes"
		if rep.KeysCapped {
			title += fmt.Sprintf(" (of the first %d distinct keys: the tally stopped there)", maxTopKeys)
		}
		b.WriteString(sty.Header.Render(cutTo(title, max(width, 8))) + "\n")
		for _, k := range rep.TopKeys {
			fmt.Fprintf(&b, "  %-24s %10s in %d session%s\n", cutTo(printable(k.Key), max(width-32, 8)), HumanSize(k.Bytes), k.Sessions, plural(int(k.Sessions)))
		}
	}
	fmt.Fprintf(&b, "%s %d\n", sty.Header.Render("locks held now"), len(rep.Locks))
	for _, l := range rep.Locks[:min(len(rep.Locks), 10)] {
		who := l.Holder
		if who == "" {
			who = "-"
		}
		line := "  " + l.ID + "  " + who
		if utf8.RuneCountInString(line)+2+len(l.Kind) <= width {
			line += "  " + sty.Dim.Render(l.Kind)
		}
		b.WriteString(line + "\n")
	}
	if rep.By != nil {
		with := rep.Sessions - rep.By.Missing - rep.Corrupt - rep.Unread
		fmt.Fprintf(&b, "%s %d distinct value%s in %d session%s (%d without it)\n", sty.Header.Render("by "+rep.By.Key), rep.By.Distinct, plural(int(rep.By.Distinct)), with, plural(int(with)), rep.By.Missing)
		for _, v := range rep.By.Top {
			fmt.Fprintf(&b, "  %-24s %d session%s\n", cutTo(v.Value, max(width-20, 8)), v.Sessions, plural(int(v.Sessions)))
		}
	}
	if len(rep.CorruptIDs) > 0 {
		title := "corrupt"
		if rep.CorruptCut {
			title += fmt.Sprintf(" (the first %d of %d)", len(rep.CorruptIDs), rep.Corrupt)
		}
		b.WriteString(sty.Header.Render(title) + "\n")
		for _, id := range rep.CorruptIDs {
			fmt.Fprintf(&b, "  %s\n", id)
		}
	}
	_, err := io.WriteString(io_.Out, b.String())
	return err
}

// joinFit joins parts with " · " into lines of at most width columns (a
// part longer than a line stands alone), each ending in a newline; the
// lines after the first are indented.
func joinFit(parts []string, width int) string {
	var b strings.Builder
	line := 0
	for i, p := range parts {
		n := utf8.RuneCountInString(p)
		switch {
		case i == 0:
		case line+3+n <= width:
			b.WriteString(" · ")
			line += 3
		default:
			b.WriteString("\n  ")
			line = 2
		}
		b.WriteString(p)
		line += n
	}
	b.WriteString("\n")
	return b.String()
}

// cutTo cuts s to n columns, ending in "…" when cut.
func cutTo(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func idWidth(ss []statsSession) int {
	w := 0
	for _, s := range ss {
		w = max(w, len(s.ID))
	}
	return w
}

// writeHistogram writes one histogram: a label column, a bar scaled to the
// largest bucket within the width left, and the count.
func writeHistogram(b *strings.Builder, sty *Styles, title string, buckets []statsBucket, width int) {
	var most int64
	labelW := 0
	for _, k := range buckets {
		most = max(most, k.Count)
		labelW = max(labelW, len(k.Label))
	}
	countW := len(strconv.FormatInt(most, 10))
	barW := max(width-labelW-countW-6, 4)
	b.WriteString(sty.Header.Render(title) + "\n")
	for _, k := range buckets {
		n := 0
		if most > 0 {
			n = int((k.Count*int64(barW) + most - 1) / most)
		}
		bar := strings.Repeat("█", n)
		fmt.Fprintf(b, "  %-*s %s%s %*d\n", labelW, k.Label, sty.Bar.Render(bar), strings.Repeat(" ", barW-n), countW, k.Count)
	}
}
