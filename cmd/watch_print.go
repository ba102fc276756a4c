package cmd

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"

	"github.com/sesstool/sesstool/phpser"
)

// watchTimeFormat is RFC 3339 with milliseconds: events come faster than
// one a second.
const watchTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// maxShownValue is how many characters of a value a human line shows.
const maxShownValue = 72

// watchPrinter writes sessionEvents, one write per event so that each line
// (or block of lines) reaches a pipe whole and at once.
type watchPrinter struct {
	out    io.Writer
	json   bool
	decode bool
	sty    *Styles
	kinds  map[string]lipgloss.Style // colour per event type
}

func newWatchPrinter(ios *IOStreams, jsonOut, decode bool) *watchPrinter {
	p := &watchPrinter{out: ios.Out, json: jsonOut, decode: decode}
	if !jsonOut {
		p.sty = NewStyles(ios)
		r := p.sty.R
		p.kinds = map[string]lipgloss.Style{
			evCreated:  r.NewStyle().Foreground(lipgloss.Color("10")).Bold(true),
			evModified: r.NewStyle().Foreground(lipgloss.Color("11")).Bold(true),
			evDeleted:  r.NewStyle().Foreground(lipgloss.Color("9")).Bold(true),
		}
	}
	return p
}

// print writes ev and flushes it when the writer buffers.
func (p *watchPrinter) print(ev sessionEvent) error {
	var b []byte
	if p.json {
		b = appendWatchJSON(nil, ev, p.decode)
	} else {
		b = p.appendHuman(nil, ev)
	}
	if _, err := p.out.Write(b); err != nil {
		return err
	}
	if f, ok := p.out.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// appendWatchJSON appends ev as one line of JSON:
// {"time","event","id","path","size"} and, with decode, "changes" (absent
// when watch had no earlier state to compare with). A session that stopped
// matching --where also carries "matches": false.
func appendWatchJSON(b []byte, ev sessionEvent, decode bool) []byte {
	b = append(b, `{"time":`...)
	b = appendJSONString(b, ev.Time.Format(watchTimeFormat))
	b = append(b, `,"event":`...)
	b = appendJSONString(b, ev.Event)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, ev.ID)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, ev.Path)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, ev.Size, 10)
	if decode && ev.HasBaseline {
		b = append(b, `,"changes":[`...)
		for i, c := range ev.Changes {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"key":`...)
			b = appendJSONString(b, c.Key)
			b = append(b, `,"op":`...)
			b = appendJSONString(b, c.Op)
			if c.Op != opRemoved {
				b = append(b, `,"value":`...)
				b = phpser.AppendJSON(b, ev.Session, c.Val)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if ev.NoLongerMatches {
		b = append(b, `,"matches":false`...)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string (invalid UTF-8 as U+FFFD, no
// HTML escaping).
func appendJSONString(b []byte, s string) []byte {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, strings.TrimSuffix(sb.String(), "\n")...)
}

// appendHuman appends ev as a line "TIME EVENT ID SIZE" and, with decode,
// one indented line per changed key.
func (p *watchPrinter) appendHuman(b []byte, ev sessionEvent) []byte {
	s := p.sty
	b = append(b, s.Dim.Render(ev.Time.Format(time.TimeOnly+".000"))...)
	b = append(b, ' ')
	b = append(b, p.kinds[ev.Event].Render(padRight(ev.Event, len(evModified)))...)
	b = append(b, ' ')
	b = append(b, s.Key.Render(ev.ID)...)
	if ev.Event != evDeleted {
		b = append(b, ' ')
		b = append(b, HumanSize(ev.Size)...)
	}
	if ev.NoLongerMatches {
		b = append(b, ' ')
		b = append(b, s.Warn.Render("(no longer matches --where; not followed any more)")...)
	}
	b = append(b, '\n')
	if !p.decode {
		return b
	}
	const indent = "    "
	switch {
	case ev.DecodeErr != nil:
		b = append(b, indent...)
		b = append(b, s.Bad.Render("cannot decode: "+oneLine(ev.DecodeErr.Error()))...)
		b = append(b, '\n')
	case !ev.HasBaseline && ev.Event == evModified:
		b = append(b, indent...)
		b = append(b, s.Dim.Render("(first change seen since start: key changes are shown from the next one)")...)
		b = append(b, '\n')
	}
	for _, c := range ev.Changes {
		b = append(b, indent...)
		switch c.Op {
		case opAdded:
			b = append(b, p.kinds[evCreated].Render("+")...)
		case opRemoved:
			b = append(b, p.kinds[evDeleted].Render("-")...)
		default:
			b = append(b, p.kinds[evModified].Render("~")...)
		}
		b = append(b, ' ')
		b = append(b, s.Key.Render(shorten(escapeKey(c.Key), 40))...)
		if c.Op != opRemoved {
			b = append(b, " = "...)
			b = append(b, s.Value.Render(shorten(string(phpser.AppendJSON(nil, ev.Session, c.Val)), maxShownValue))...)
		}
		b = append(b, '\n')
	}
	return b
}

// escapeKey shows a key's bytes as Go would quote them, without the quotes,
// so that control bytes cannot break the line.
func escapeKey(k string) string {
	q := strconv.Quote(k)
	return q[1 : len(q)-1]
}

// padRight pads s with spaces to n characters.
func padRight(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// shorten cuts s to at most n characters, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// oneLine replaces line breaks so that a message stays on one line, and
// escapes every other control character (an escape sequence in a path or
// a session never reaches the terminal as such).
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
