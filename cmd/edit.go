package cmd

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// EditOptions are the inputs of the edit command.
type EditOptions struct {
	IO      *IOStreams
	Open    func() (Backend, *Settings, error)
	Getenv  func(string) string
	Handler string
	ID      string
	// TempDir is where the text is written for the editor ("" = os.TempDir()).
	TempDir string
}

// NewCmdEdit builds "sesstool edit ID". runF replaces editRun in tests.
func NewCmdEdit(f *Factory, runF func(context.Context, *EditOptions) error) *cobra.Command {
	opts := &EditOptions{IO: f.IO, Open: f.OpenBackend, Getenv: f.Getenv}
	c := &cobra.Command{
		Use:   "edit ID",
		Short: "Edit a session in $VISUAL / $EDITOR as readable text",
		Long: `Open $VISUAL, else $EDITOR, else vi, on a lossless, human-editable text of
the session (its syntax: README.md, "The text form of edit"). No lock is held while the editor is
open. On save the text is parsed, re-encoded in the session's own handler and
written under an exclusive lock, unless the session changed meanwhile: then
nothing is written and the edited text is kept in a file (exit 1). An
unchanged document writes nothing. A document that does not parse gives a
positioned error and leaves the session untouched; on a terminal you may
edit again.`,
		Example:           "  sesstool edit 3kq8vdl0b1m5e7hn2cfs9ruo4a\n  EDITOR='code --wait' sesstool edit 3kq8vdl0b1m5e7hn2cfs9ruo4a",
		Args:              exactArgs(1, "a session ID"),
		ValidArgsFunction: completeIDs(f, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ID = args[0]
			opts.Handler = f.Global.SerializeHandler
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return editRun(c.Context(), opts)
		},
	}
	addTouchFlag(c, f)
	return c
}

// editor returns the editor command line: $VISUAL, else $EDITOR, else vi.
func editor(getenv func(string) string) string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := strings.TrimSpace(getenv(v)); e != "" {
			return e
		}
	}
	return "vi"
}

// errConflict marks an edit refused because the session changed meanwhile.
var errConflict = errors.New("the session changed while the editor was open")

func editRun(ctx context.Context, opts *EditOptions) error {
	if err := sessfile.ValidateID(opts.ID); err != nil {
		return err
	}
	store, st, err := opts.Open()
	if err != nil {
		return err
	}
	defer store.Close()
	orig, _, err := store.Read(ctx, opts.ID)
	if err != nil {
		return sessionErr(opts.ID, st, err)
	}
	h, err := st.handlerFor(opts.Handler)
	if err != nil {
		return err
	}
	origSum, origLen := sha256.Sum256(orig), len(orig)
	sameAsOrig := func(b []byte) bool { return len(b) == origLen && sha256.Sum256(b) == origSum }

	// The text holds the session in plain: a directory of its own (0700),
	// the file 0600, both removed on success, on failure and on SIGINT or
	// SIGTERM (which end the editor wait), kept only when it holds edits
	// that were not written. It is made before the session is decoded, so
	// that a php or php_binary session can be written to it an entry at a
	// time (never held as a whole tree), and so can an igbinary or msgpack
	// one without references.
	tmpDir, err := os.MkdirTemp(opts.TempDir, "sesstool-edit-")
	if err != nil {
		return fmt.Errorf("creating the directory for the text to edit: %w", err)
	}
	if err := os.Chmod(tmpDir, 0o700); err != nil {
		os.Remove(tmpDir)
		return fmt.Errorf("creating the directory for the text to edit: %w", err)
	}
	tmpName := filepath.Join(tmpDir, opts.ID+".txt")
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(tmpDir)
		}
	}()
	var sess *phpser.Session
	var handler phpser.Handler
	var textSum [sha256.Size]byte
	var textLen int64
	tw, err := newTextFile(tmpName)
	if err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	// An igbinary or msgpack session streamed so leaves facts: what its
	// tree says that its text does not show (Session.Adopt's), kept in
	// place of the tree while the editor runs.
	var facts *phpser.ExtFacts
	d, handled, werr := streamTopsFacts(orig, h, st.DecodeOptions(), func(h phpser.Handler, e *phpser.Entry, _ []byte) error {
		return tw.entry(h, e)
	}, &facts)
	switch {
	case handled && d.Err != nil:
		tw.abort()
		return fmt.Errorf("cannot edit: %w", decodeErr(fmt.Sprintf("session %q", opts.ID), d, orig))
	case handled:
		handler = d.Handler
		textSum, textLen, err = tw.close(werr)
	default:
		if len(orig) == 0 {
			if h == phpser.HandlerAuto {
				h = st.FallbackHandler()
			}
			sess = &phpser.Session{Handler: h, Root: phpser.Array()}
		} else {
			d := decodeStored(orig, h, st.FallbackHandler(), st.DecodeOptions())
			if d.Err != nil {
				tw.abort()
				return fmt.Errorf("cannot edit: %w", decodeErr(fmt.Sprintf("session %q", opts.ID), d, orig))
			}
			sess = d.Sess
		}
		handler = sess.Handler
		textSum, textLen, err = tw.close(phpser.WriteText(tw.out, sess))
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", tmpName, err)
	}
	// Neither the tree nor the bytes stay in memory while the editor
	// runs (a large session is then held about once at a time), except
	// the tree of an igbinary or msgpack session decoded whole (one with
	// references), whose encoding facts the text does not show
	// (phpser.Session.Adopt); one streamed leaves only its facts.
	var adoptFrom *phpser.Session
	if sess != nil && (handler == phpser.HandlerIgbinary || handler == phpser.HandlerMsgpack) {
		adoptFrom = sess
	}
	sess, orig = nil, nil
	if origLen >= 4<<20 {
		// Hand the bytes, the tree and the text back before the editor
		// (another large process) starts and the text is parsed.
		debug.FreeOSMemory()
	}

	// textChanged: the mapped text changed while it was read.
	textChanged := func(err error) error {
		keep = true
		return fmt.Errorf("session %q: %v: nothing written; your edited text is in %s", opts.ID, err, tmpName)
	}
	var edited *phpser.Session
	var nb []byte
	for {
		if err := runEditor(ctx, opts, tmpName); err != nil {
			return err
		}
		et, err := readEditedText(tmpName)
		if err != nil {
			return fmt.Errorf("reading the edited text %s: %w", tmpName, err)
		}
		got := et.b
		var same bool
		if rerr := et.read(func() { same = int64(len(got)) == textLen && sha256.Sum256(got) == textSum }); rerr != nil {
			return textChanged(rerr)
		}
		if same {
			fmt.Fprintf(opts.IO.Out, "session %s unchanged\n", opts.ID)
			return nil
		}
		et.dropAll() // read again as it is parsed
		if handler == phpser.HandlerPHP || handler == phpser.HandlerPHPBinary || handler == phpser.HandlerPHPSerialize || facts != nil {
			// Encoded as it is parsed, an entry at a time: the edited
			// tree is never held whole.
			var th phpser.Handler
			if rerr := et.read(func() {
				nb, th, err = phpser.AppendEncodedTextAdopting(make([]byte, 0, origLen+origLen/16+64), got, facts, et.drop)
			}); rerr != nil {
				return textChanged(rerr)
			}
			got = nil
			et.dropAll() // parsed: its pages go before the write takes its memory
			encErr := errors.As(err, new(*phpser.EncodeError))
			if th != "" && th != handler && (err == nil || encErr) {
				nb, err = nil, fmt.Errorf("@handler changed from %s to %s: sesstool keeps the session's own handler", handler, th)
			} else if encErr {
				keep = true
				return usage(fmt.Errorf("session %q: cannot encode the edited text, nothing written (kept in %s): %w", opts.ID, tmpName, err))
			}
			if err == nil {
				break
			}
		} else if rerr := et.read(func() { edited, err = phpser.ParseText(got) }); rerr != nil {
			return textChanged(rerr)
		} else {
			et.dropAll()
		}
		got = nil
		if err == nil && edited.Handler != handler {
			err = fmt.Errorf("@handler changed from %s to %s: sesstool keeps the session's own handler", handler, edited.Handler)
		}
		if err == nil {
			edited.Adopt(adoptFrom)
		}
		if err == nil {
			break
		}
		perr := textErr(opts.ID, tmpName, err)
		if !opts.IO.InTTY {
			keep = true
			return perr
		}
		fmt.Fprintf(opts.IO.ErrOut, "sesstool: %v\n", perr)
		again, err := confirmDefaultYes(ctx, opts.IO, "Edit again?")
		if err != nil {
			keep = true
			return err
		}
		if !again {
			keep = true
			return &SilentError{Code: ExitFailure}
		}
	}
	if origLen >= 4<<20 {
		// The edited text is parsed: hand its memory back before the
		// encoding, the read-back check and the store's read of the
		// current bytes take theirs (a collection meanwhile would come
		// too late for the first large allocation).
		debug.FreeOSMemory()
	}
	if edited != nil {
		nb, err = phpser.AppendSession(make([]byte, 0, origLen+origLen/16+64), edited)
		edited, adoptFrom = nil, nil
		if err != nil {
			keep = true
			return usage(fmt.Errorf("session %q: cannot encode the edited text, nothing written (kept in %s): %w", opts.ID, tmpName, err))
		}
	}
	if sameAsOrig(nb) {
		fmt.Fprintf(opts.IO.Out, "session %s unchanged\n", opts.ID)
		return nil
	}
	if err := checkReadBack(st, nb, handler); err != nil {
		keep = true
		return fmt.Errorf("session %q: %w (your edited text is in %s)", opts.ID, err, tmpName)
	}
	res, err := store.Update(ctx, opts.ID, false, func(cur []byte, exists bool) ([]byte, error) {
		if !sameAsOrig(cur) {
			return nil, errConflict
		}
		return nb, nil
	})
	switch {
	case err == nil:
		fmt.Fprintf(opts.IO.Out, "session %s saved (%d bytes)\n", opts.ID, len(nb))
		if res.Warning != "" {
			fmt.Fprintf(opts.IO.ErrOut, "sesstool: warning: %s\n", oneLine(res.Warning))
		}
		return nil
	case errors.Is(err, errConflict):
		keep = true
		return fmt.Errorf("session %q changed while the editor was open: nothing written; your edited text is in %s", opts.ID, tmpName)
	case errors.Is(err, sessfile.ErrNotFound):
		keep = true
		return fmt.Errorf("session %q was destroyed while the editor was open: nothing written; your edited text is in %s", opts.ID, tmpName)
	default:
		keep = true
		return fmt.Errorf("%w (your edited text is in %s)", sessionErr(opts.ID, st, err), tmpName)
	}
}

// textErr words a parse error of the edited text as "FILE:LINE:COL: msg".
// textFile writes the text to edit to a new file (0600) through a
// digest: the header when the handler is known (head), the entries as
// they come (entry).
type textFile struct {
	f       *os.File
	h       hash.Hash
	out     *countWriter
	buf     []byte
	started bool
}

func newTextFile(name string) (*textFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	t := &textFile{f: f, h: sha256.New()}
	t.out = &countWriter{w: io.MultiWriter(f, t.h)}
	return t, nil
}

// entry adds one top-level entry, after the header for handler h first.
func (t *textFile) entry(h phpser.Handler, e *phpser.Entry) error {
	if !t.started {
		t.started = true
		t.buf = phpser.AppendTextHead(t.buf, h)
	}
	t.buf = phpser.AppendTextEntry(t.buf, e)
	if len(t.buf) >= 64<<10 {
		_, err := t.out.Write(t.buf)
		t.buf = t.buf[:0]
		return err
	}
	return nil
}

// close flushes and closes the file and returns its digest and length.
func (t *textFile) close(err error) (sum [sha256.Size]byte, n int64, _ error) {
	if err == nil && len(t.buf) > 0 {
		_, err = t.out.Write(t.buf)
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.h.Sum(sum[:0])
	return sum, t.out.n, err
}

// abort closes the file (the directory is removed by the caller).
func (t *textFile) abort() { t.f.Close() }

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func textErr(id, file string, err error) error {
	loc, msg := file, err.Error()
	var te *phpser.TextError
	if errors.As(err, &te) {
		loc, msg = fmt.Sprintf("%s:%d:%d", file, te.Line, te.Col), te.Msg
	}
	return &wrapped{msg: fmt.Sprintf("edited text does not parse, session %q untouched: %s: %s", id, loc, msg), err: err}
}

// wrapped is an error with its own message around another error.
type wrapped struct {
	msg string
	err error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }

// runEditor runs the editor on file through sh -c, so EDITOR may carry
// arguments ("code --wait").
func runEditor(ctx context.Context, opts *EditOptions, file string) error {
	ed := editor(opts.Getenv)
	// exec: the editor is sh's own process, so that a SIGINT or SIGTERM
	// that ends sesstool's wait reaches it (as SIGTERM; SIGKILL 5 s later).
	c := exec.CommandContext(ctx, "sh", "-c", "exec "+ed+` "$@"`, "sh", file)
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 5 * time.Second
	// The editor gets the terminal; an injected reader (tests) is kept for
	// the re-edit prompt rather than copied into the editor's stdin.
	if in, ok := opts.IO.In.(*os.File); ok {
		c.Stdin = in
	}
	c.Stdout, c.Stderr = opts.IO.Out, opts.IO.ErrOut
	if err := c.Run(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("editor %q stopped: %w; session %q untouched", ed, cerr, opts.ID)
		}
		return fmt.Errorf("editor %q failed: %w; session %q untouched", ed, err, opts.ID)
	}
	return nil
}

// confirmDefaultYes asks a question whose default is yes.
func confirmDefaultYes(ctx context.Context, ios *IOStreams, question string) (bool, error) {
	a, err := ask(ctx, ios, question+" [Y/n] ")
	if errors.Is(err, io.EOF) {
		return false, nil
	}
	return err == nil && (a == "" || a == "y" || a == "yes"), err
}
