package cmd

import (
	"fmt"
	"io"
	"sync"
)

// statusLine is the progress line a command keeps on a terminal's stderr
// ("\r\x1b[K" and the text, no newline), shared with whatever else prints
// there meanwhile (a lock-wait notice): a line printed clears it first, so
// that the two never run together; the next tick draws it again.
type statusLine struct {
	mu    sync.Mutex
	shown bool
}

// statusLines holds each IOStreams' status line.
var statusLines sync.Map // *IOStreams → *statusLine

func (s *IOStreams) status() *statusLine {
	v, _ := statusLines.LoadOrStore(s, &statusLine{})
	return v.(*statusLine)
}

// show draws text as the progress line.
func (l *statusLine) show(w io.Writer, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprint(w, "\r\x1b[K"+text)
	l.shown = true
}

// clear removes the progress line, if shown.
func (l *statusLine) clear(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked(w)
}

func (l *statusLine) clearLocked(w io.Writer) {
	if l.shown {
		fmt.Fprint(w, "\r\x1b[K")
		l.shown = false
	}
}

// println prints line (a newline added) on a line of its own.
func (l *statusLine) println(w io.Writer, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked(w)
	fmt.Fprintln(w, line)
}
