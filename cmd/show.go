package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/sesstool/sesstool/gcpolicy"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// ShowOptions are the inputs of the show command.
type ShowOptions struct {
	IO      *IOStreams
	Now     func() time.Time
	Open    func() (Backend, *Settings, error)
	Handler string // --serialize-handler, "" for auto

	NoLock bool // --no-lock: a decode error may be a write in progress

	ID      string   // the first of IDs
	IDs     []string // every ID given
	Key     string
	KeySet  bool
	Partial bool // --partial: show what decodes of a corrupt session
	Output  string
}

// NewCmdShow builds "sesstool show ID". runF replaces showRun in tests.
func NewCmdShow(f *Factory, runF func(context.Context, *ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IO, Now: f.Now, Open: f.OpenBackend}
	c := &cobra.Command{
		Use:   "show ID...",
		Short: "Decode sessions and show their keys and values",
		Long: `Decode sessions (each read under a shared lock) and show every key with
its type and value. -o json prints the JSON mapping of CLI.md (several ids: an
array of {"id","data"}; -o jsonl one such object per line), -o raw the stored
bytes unchanged, --key K one value only, never cut (K a top-level key or a
JSON Pointer; with -o raw a string's bytes as they are, any other value as
PHP's serialize() writes it).`,
		Example: `  sesstool show 3kq8vdl0b1m5e7hn2cfs9ruo4a
  sesstool show a0c7g4m1r9d2pk5hu8ntle3sbq --key /cart/items/0
  sesstool show 3kq8vdl0b1m5e7hn2cfs9ruo4a -o json
  sesstool show 3kq8vdl0b1m5e7hn2cfs9ruo4a 8fj2u0n6pq4tk1cg7sd3bmhe5v -o jsonl`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return UsageErrorf("show needs a session ID")
			}
			return nil
		},
		ValidArgsFunction: completeIDs(f, -1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ID, opts.IDs = args[0], args
			opts.Handler = f.Global.SerializeHandler
			opts.NoLock = f.Global.NoLock
			opts.KeySet = c.Flags().Changed("key")
			if err := checkFormat(opts.Output, FormatHuman, FormatJSON, FormatJSONL, FormatRaw); err != nil {
				return err
			}
			if opts.Output == FormatRaw && len(opts.IDs) > 1 {
				return UsageErrorf("-o raw prints one session's bytes: give one ID")
			}
			if opts.KeySet {
				if err := checkKey(opts.Key); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return showRun(c.Context(), opts)
		},
	}
	c.Flags().StringVar(&opts.Key, "key", "", "show only the value of `K` (top-level key or JSON Pointer)")
	_ = c.RegisterFlagCompletionFunc("key", completeKeyFlag(f, false))
	c.Flags().BoolVar(&opts.Partial, "partial", false, "for a session that does not decode: what decodes before the error, then the error with the bytes around it")
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON, FormatJSONL, FormatRaw)
	return c
}

func showRun(ctx context.Context, opts *ShowOptions) error {
	ids := opts.IDs
	if len(ids) == 0 {
		ids = []string{opts.ID}
	}
	for _, id := range ids {
		if err := sessfile.ValidateID(id); err != nil {
			return err
		}
	}
	store, st, err := opts.Open()
	if err != nil {
		return err
	}
	defer store.Close()
	out := opts.IO.Out
	if len(ids) == 1 && opts.Output != FormatJSONL {
		return showOne(ctx, opts, store, st, ids[0], out, false)
	}
	// Several: each in turn; one that fails is named at the end (exit 1)
	// and the others are still shown.
	bw := bufio.NewWriterSize(out, 64<<10)
	var failed []string
	var firstErr error
	if opts.Output == FormatJSON {
		bw.WriteString("[")
	}
	n := 0
	for _, id := range ids {
		var one bytes.Buffer
		if err := showOne(ctx, opts, store, st, id, &one, true); err != nil {
			if ctx.Err() != nil {
				bw.Flush()
				return ctx.Err()
			}
			failed = append(failed, id)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		switch opts.Output {
		case FormatJSON:
			if n > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n  ")
			bw.Write(bytes.TrimRight(one.Bytes(), "\n"))
		case FormatJSONL:
			bw.Write(one.Bytes())
		default:
			if n > 0 {
				bw.WriteString("\n")
			}
			bw.Write(one.Bytes())
		}
		n++
	}
	if opts.Output == FormatJSON {
		if n > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	switch {
	case len(failed) == 1:
		return firstErr
	case len(failed) > 1:
		return fmt.Errorf("%d of %d sessions not shown (%s); the first: %w", len(failed), len(ids), quoteIDs(failed), firstErr)
	}
	return nil
}

// showOne shows session id on out; wrap makes the JSON forms one
// {"id","data"} object on a line (show with several ids, -o jsonl).
func showOne(ctx context.Context, opts *ShowOptions, store Backend, st *Settings, id string, out io.Writer, wrap bool) error {
	data, info, err := store.Read(ctx, id)
	if err != nil {
		return sessionErr(id, st, err)
	}
	if opts.NoLock && len(data) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "sesstool: warning: session %q is 0 bytes; read with --no-lock, it may be in the middle of a write (PHP truncates a session before writing it)\n", id)
	}
	if opts.Output == FormatRaw && !opts.KeySet {
		_, err := out.Write(data)
		return err
	}
	h, err := st.handlerFor(opts.Handler)
	if err != nil {
		return err
	}
	if streamShow && !opts.KeySet && opts.Output != FormatRaw {
		// A php or php_binary session is shown an entry at a time, never
		// held as a whole tree (what does not stream, or does not decode,
		// takes the whole decode below).
		if handled, err := showStreamed(opts, st, id, data, info, h, out, wrap); handled {
			return err
		}
	}
	var d decoded
	if opts.KeySet && streamShow {
		// One key: only its top-level value is decoded (phpser's scan);
		// what the scan does not take, or does not decode, is decoded whole.
		d = decodeKey(data, h, st, opts.Key)
	}
	if d.Sess == nil {
		d = decodeStored(data, h, st.FallbackHandler(), st.DecodeOptions())
	}
	if d.Err != nil {
		err := decodeErr(fmt.Sprintf("session %q", id), d, data)
		if de, ok := err.(*DecodeError); ok {
			de.NoLock = opts.NoLock
		}
		if opts.Partial && opts.Output == FormatHuman {
			showPartial(opts, st, id, data, d, out)
		}
		return err
	}
	val := d.Sess.Root
	if opts.KeySet {
		v, ok := d.Sess.Lookup(opts.Key)
		if !ok {
			return fmt.Errorf("session %q has no key %q", id, opts.Key)
		}
		val = v
	}
	if opts.Output == FormatRaw {
		// --key K -o raw: a string as its bytes, anything else as PHP's
		// serialize() writes it.
		if val.Kind == phpser.KindString {
			_, err := out.Write([]byte(val.Str))
			return err
		}
		b, err := phpser.EncodeValue(val)
		if err != nil {
			return fmt.Errorf("session %q, key %q: %w", id, opts.Key, err)
		}
		_, err = out.Write(b)
		return err
	}
	if opts.Output == FormatJSON || opts.Output == FormatJSONL {
		bw := bufio.NewWriterSize(out, 64<<10)
		if wrap {
			bw.WriteString(`{"id":`)
			bw.Write(phpser.AppendJSONString(nil, id))
			bw.WriteString(`,"data":`)
		}
		if opts.KeySet {
			bw.Write(phpser.AppendJSON(nil, d.Sess, val))
		} else if err := d.Sess.WriteJSON(bw); err != nil { // streamed: a large session is not held twice
			return err
		}
		if wrap {
			bw.WriteString("}")
		}
		bw.WriteByte('\n')
		return bw.Flush()
	}
	sty := NewStyles(opts.IO)
	vw := newViewer(sty, d.Sess)
	if d.Named {
		for a := range vw.anchors {
			vw.targets[a] = true // named by a reference in another variable
		}
	}
	if opts.KeySet {
		vw.full = true // one value: never cut
		_, err := fmt.Fprintln(out, vw.valueTree(opts.Key, val))
		return err
	}
	title := sty.Header.Render(id) + sty.Dim.Render("  "+showFacts(info, opts.Now())+" · "+handlerNote(d, st))
	_, err = fmt.Fprintln(out, fitLines(vw.sessionTree(title), opts.IO))
	return err
}

// decodeKey decodes from data only the top-level value key lies under
// (phpser.DecodeSelected), for a php, php_binary or php_serialize session
// the scan takes; otherwise a decoded with no session.
func decodeKey(data []byte, h phpser.Handler, st *Settings, key string) decoded {
	if len(data) == 0 {
		return decoded{}
	}
	boundMemory(len(data))
	o := st.DecodeOptions()
	o.Borrow = true
	want := phpser.Selection{Keys: []string{key}, Linked: true, Deep: true} // only what key's pointer goes through
	var sel phpser.Selected
	var err error
	d := decoded{Handler: h}
	used := h
	if ext := phpser.DetectExtension(data); ext != "" && (h == phpser.HandlerAuto || h == "") {
		used, d.Handler, d.Detected = ext, ext, true
	}
	if used == phpser.HandlerIgbinary || used == phpser.HandlerMsgpack {
		// Only the entries of key's top-level key (phpser.TopEntries: a
		// walk a variable at a time, where EachTop streams the session).
		top, ok := phpser.TopKey(key)
		if !ok {
			return decoded{}
		}
		entries, _, ok, _ := o.TopEntries(data, used, top)
		if !ok {
			return decoded{}
		}
		d.Sess = &phpser.Session{Handler: used, Root: phpser.Array(entries...)}
		return d
	}
	if h == phpser.HandlerAuto || h == "" {
		sel, d.Handler, err = o.DecodeSelectedAuto(data, want)
		d.Detected = true
	} else {
		sel, err = o.DecodeSelected(data, h, want)
	}
	if err != nil || sel.Sess == nil {
		return decoded{}
	}
	if sel.Linked {
		// What the key's references name lies in other variables: the
		// whole decode shows it. A value of theirs that references
		// elsewhere name is shown as one (decoded.Named).
		for i := range sel.Sess.Root.Elems {
			if sel.Sess.Root.Elems[i].Val.Any(phpser.IsRef) {
				return decoded{}
			}
		}
		d.Named = true
	}
	d.Sess = sel.Sess
	return d
}

// streamShow lets showOne use showStreamed and decodeKey (a test turns it
// off to compare).
var streamShow = true

// showStreamed is showOne for a session phpser.EachTop decodes: JSON is
// written as the entries come (when no top-level key repeats: JSON keeps
// one, which a walk cannot know before the end), the human view draws the
// first maxShownEntries and counts the rest. handled false: nothing was
// written, decode it whole.
func showStreamed(opts *ShowOptions, st *Settings, id string, data []byte, info sessfile.Info, h phpser.Handler, out io.Writer, wrap bool) (bool, error) {
	o := st.DecodeOptions()
	if opts.Output == FormatJSON || opts.Output == FormatJSONL {
		if ok, err := streamJSON(st, id, data, h, out, wrap); ok {
			return true, err
		}
		// First pass: do keys repeat? 8 bytes a key (a hash; on a
		// collision the whole decode decides).
		keys := phpser.NewKeyHashes(0)
		d, handled, err := streamTops(data, h, o, func(_ phpser.Handler, e *phpser.Entry, _ []byte) error {
			keys.Add(e.Key)
			return nil
		})
		if !handled || d.Err != nil {
			return false, nil
		}
		if err != nil {
			return true, err // the scan and the decoder disagree: fail, never show half
		}
		if keys.Repeats() {
			return false, nil
		}
		bw := bufio.NewWriterSize(out, 64<<10)
		if wrap {
			bw.WriteString(`{"id":`)
			bw.Write(phpser.AppendJSONString(nil, id))
			bw.WriteString(`,"data":`)
		}
		bw.WriteByte('{')
		var buf []byte
		n := 0
		var tj phpser.TopJSON // a reference is written as what it names in an earlier entry
		_, _, err = streamTops(data, d.Handler, o, func(_ phpser.Handler, e *phpser.Entry, _ []byte) error {
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			buf = tj.Append(buf[:0], e)
			_, err := bw.Write(buf)
			return err
		})
		if err != nil {
			return true, err
		}
		bw.WriteByte('}')
		if wrap {
			bw.WriteString("}")
		}
		bw.WriteByte('\n')
		return true, bw.Flush()
	}
	shown := &phpser.Session{Root: phpser.Array()}
	total := 0
	referenced := map[int64]bool{}
	// What the view draws of a wide array or object, its first entries,
	// is all that is kept of it (values that stand apart: phpser.Shown).
	o.Shown = maxShownEntries
	d, handled, werr := streamTops(data, h, o, func(_ phpser.Handler, e *phpser.Entry, _ []byte) error {
		if total < maxShownEntries {
			shown.Root.Elems = append(shown.Root.Elems, *e)
		} else {
			refsIn(&e.Val, referenced)
		}
		total++
		return nil
	})
	if !handled || d.Err != nil {
		return false, nil
	}
	if werr != nil {
		return true, werr
	}
	shown.Handler = d.Handler
	sty := NewStyles(opts.IO)
	vw := newViewer(sty, shown)
	vw.rootTotal = total
	for a := range referenced {
		vw.targets[a] = true // named by a reference in an entry not drawn
	}
	title := sty.Header.Render(id) + sty.Dim.Render("  "+showFacts(info, opts.Now())+" · "+handlerNote(d, st))
	_, err := fmt.Fprintln(out, fitLines(vw.sessionTree(title), opts.IO))
	return true, err
}

// streamJSON is showStreamed's JSON for a session whose values stand
// apart: written as it is decoded, each entry of a top-level array or
// object too (phpser.StreamJSON), so that one wide variable is never held
// whole. handled false: nothing was written.
func streamJSON(st *Settings, id string, data []byte, h phpser.Handler, out io.Writer, wrap bool) (bool, error) {
	o := st.DecodeOptions()
	boundMemory(len(data))
	var prefix []byte
	if wrap {
		prefix = append(phpser.AppendJSONString([]byte(`{"id":`), id), `,"data":`...)
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	ok, err := o.StreamJSON(bw, data, h, prefix) // auto: detected by its scan (a session it declines is not decoded)
	if !ok || err != nil {
		return ok, err
	}
	if wrap {
		bw.WriteString("}")
	}
	bw.WriteByte('\n')
	return true, bw.Flush()
}

// refsIn adds the anchors references in v name to m.
func refsIn(v *phpser.Value, m map[int64]bool) {
	v.Any(func(x *phpser.Value) bool {
		if phpser.IsRef(x) {
			m[x.Int] = true
		}
		return false // on through every value
	})
}

// showFacts is show's header after the id: size and modification time on
// files; size, TTL, last write and lock holder on a key-value store.
func showFacts(info sessfile.Info, now time.Time) string {
	if info.Path != "" {
		return fmt.Sprintf("%s · modified %s (%s)", HumanSize(info.Size), HumanAge(now.Sub(info.ModTime)), info.ModTime.Local().Format("2006-01-02 15:04:05"))
	}
	on := info.Server
	if len(info.Servers) > 1 {
		on = strings.Join(info.Servers, ", ") // PHP's first server first
	}
	parts := []string{HumanSize(info.Size) + " on " + on}
	if info.HasTTL {
		parts = append(parts, "TTL "+gcpolicy.ShortDuration(info.TTL.Truncate(time.Second)))
	} else {
		parts = append(parts, "no TTL (never expires)")
	}
	if !info.ModTime.IsZero() {
		parts = append(parts, "last write "+HumanAge(now.Sub(info.ModTime)))
	}
	switch {
	case info.Locked && info.LockHolder != "":
		parts = append(parts, "locked by "+strconv.Quote(info.LockHolder))
	case info.Locked:
		parts = append(parts, "locked (a request is running)")
	}
	return strings.Join(parts, " · ")
}

// handlerNote says which handler decoded a session and why.
func handlerNote(d decoded, st *Settings) string {
	switch {
	case d.FellBack:
		src := "PHP's default"
		if st != nil && st.SerializeHandler.Source != "default" {
			src = "session.serialize_handler from " + st.SerializeHandler.Source
		}
		return fmt.Sprintf("handler %s (detection could not decide; %s)", d.Handler, src)
	case d.Detected:
		return fmt.Sprintf("handler %s (detected)", d.Handler)
	}
	return fmt.Sprintf("handler %s", d.Handler)
}

// decodeErr describes a session that does not decode: what, with which
// handler, at which offset, what was expected; PHP 8 would destroy it.
func decodeErr(what string, d decoded, data []byte) error {
	how := string(d.Handler)
	if d.Detected {
		how += ", detected"
	} else if d.FellBack {
		how += ", detection could not decide"
	}
	e := &DecodeError{What: what, Handler: how, Err: d.Err, Fate: phpFate(d.Handler)}
	if !d.Detected && !d.FellBack {
		// A handler was configured: say so when the bytes are another
		// handler's session (a site that sets serialize_handler at runtime).
		if h, ok := decodesAs(data); ok && h != d.Handler {
			e.Hint = fmt.Sprintf("it decodes as a %s session: try --serialize-handler auto", h)
		}
	}
	return e
}

// decodesAs returns the handler detection picks for data (as
// phpser.Detect) and whether data decodes with it, holding as little as
// it can: a scan, or a walk a variable at a time (an igbinary or msgpack
// session of 100 MB given the wrong handler took 33 s and 2.5 GB to be
// refused, two whole trees built for the hint).
func decodesAs(data []byte) (phpser.Handler, bool) {
	if len(data) == 0 {
		return "", false
	}
	boundMemory(len(data))
	o := phpser.DecodeOptions{Borrow: true}
	if h := phpser.DetectExtension(data); h != "" {
		return h, o.ValidateSession(data, h) == nil
	}
	_, h, err := o.DecodeSelectedAuto(data, phpser.Selection{Linked: true})
	return h, err == nil
}

// DecodeError is a session payload that does not decode (exit 1). Its
// message carries the decoder's byte offset and expectation.
type DecodeError struct {
	What    string // `session "id"` or the file name
	Handler string
	Err     error
	NoLock  bool   // read with --no-lock: a write in progress can look corrupt
	Hint    string // what else the bytes decode as, when a handler was forced
	Fate    string // what PHP does with such a session ("" : it destroys it)
}

// phpFate says what PHP does with a session its handler cannot decode,
// where that is not PHP 8's "destroy it".
func phpFate(h phpser.Handler) string {
	switch h {
	case phpser.HandlerIgbinary:
		return "PHP's igbinary serializer fails on it, and PHP destroys the session"
	case phpser.HandlerMsgpack:
		return "PHP's msgpack serializer reads it as an empty session, without a warning, and its next write overwrites it: the data is lost"
	}
	return ""
}

// Error names what did not decode, the handler, the decoder's offset and
// expectation, and that PHP would destroy such a session.
func (e *DecodeError) Error() string {
	fate := e.Fate
	if fate == "" {
		fate = "PHP would destroy it"
	}
	msg := fmt.Sprintf("%s does not decode (handler %s): %v; %s", e.What, e.Handler, e.Err, fate)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	if e.NoLock {
		msg += " (read with --no-lock: a write in progress can look like this)"
	}
	return msg
}

// Unwrap returns the decoder's error (a *phpser.SyntaxError).
func (e *DecodeError) Unwrap() error { return e.Err }

// sessionErr words a store error about one session: not found names the
// save_path; others pass through (they already name the session or file).
func sessionErr(id string, st *Settings, err error) error {
	var pe *fs.PathError
	if errors.Is(err, sessfile.ErrNotFound) && !(errors.As(err, &pe) && strings.Contains(pe.Op, "level directory")) {
		where := ""
		if st != nil {
			where = fmt.Sprintf(" in save_path %q", st.Where())
		}
		return &notFoundError{msg: fmt.Sprintf("session %q not found%s", id, where), err: err}
	}
	return err
}

type notFoundError struct {
	msg string
	err error
}

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return e.err }

// showPartial prints, for a session that does not decode, the variables
// decoded before the error, then the error with a hex/ASCII window around
// its offset, and a hint when only whitespace follows it (the classic
// newline an editor adds).
func showPartial(opts *ShowOptions, st *Settings, id string, data []byte, d decoded, out io.Writer) {
	o := st.DecodeOptions()
	o.Borrow = true
	part, _ := o.DecodePartial(data, d.Handler)
	sty := NewStyles(opts.IO)
	title := sty.Header.Render(id) + sty.Dim.Render(fmt.Sprintf("  %s · handler %s · does not decode: what decodes before the error", HumanSize(int64(len(data))), d.Handler))
	if part != nil {
		fmt.Fprintln(out, fitLines(newViewer(sty, part).sessionTree(title), opts.IO))
	}
	var se *phpser.SyntaxError
	if !errors.As(d.Err, &se) {
		fmt.Fprintf(out, "error: %v\n", d.Err)
		return
	}
	fmt.Fprintf(out, "error: %v\n", d.Err)
	fmt.Fprint(out, hexWindow(data, se.Offset))
	if rest := data[min(se.Offset, len(data)):]; len(rest) > 0 && len(bytes.TrimSpace(rest)) == 0 {
		fmt.Fprintf(out, "hint: only whitespace (%q) follows the offset: an editor's trailing newline? PHP 8 refuses such a session; remove it (sesstool edit writes none)\n", rest)
	}
}

// hexWindow dumps the 16-byte lines of data around offset, with a caret
// under the byte at offset.
func hexWindow(data []byte, offset int) string {
	var b strings.Builder
	start := max(0, offset/16*16-16)
	end := min(len(data), offset/16*16+32)
	for line := start; line < end; line += 16 {
		fmt.Fprintf(&b, "  %08x  ", line)
		for i := line; i < line+16; i++ {
			if i < len(data) {
				fmt.Fprintf(&b, "%02x ", data[i])
			} else {
				b.WriteString("   ")
			}
		}
		b.WriteString(" |")
		for i := line; i < min(line+16, len(data)); i++ {
			c := data[i]
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b.WriteByte(c)
		}
		b.WriteString("|\n")
		if offset >= line && offset < line+16 {
			b.WriteString(strings.Repeat(" ", 12+3*(offset-line)) + "^^\n")
		}
	}
	if offset >= len(data) && (offset < end+16) {
		b.WriteString("  (the offset is the end of the data)\n")
	}
	return b.String()
}
