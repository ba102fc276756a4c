// Package tableprinter prints every table sesstool shows, in one layout.
//
// On a terminal a table is fitted to the terminal's width: columns two
// spaces apart, a rule under the header, long cells cut with "…" (never
// wrapped) and an error message cut in its cell printed in full below the
// table. Anywhere else a table is tab-separated rows without a header, rule
// or footer, every cell whole (like gh's tableprinter), a tab, newline or
// carriage return in a cell written as \t, \n, \r.
//
// Three ways to fill a table: AddRow then Render (the widths measured over
// every row), RenderFunc (the same for many rows, asked for twice instead of
// held), and StreamRow (rows printed as they come, at the widths the
// Columns give).
package tableprinter

import (
	"bufio"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Gap is the space between two columns on a terminal.
const Gap = 2

// Ellipsis ends a cut cell.
const Ellipsis = "…"

// Column is one column of a table.
type Column struct {
	Header string
	// Right aligns the column's cells to the right (sizes, counts).
	Right bool
	// Fixed columns are never cut (an id, a size, a time: a cut one means
	// nothing); the others give way to fit the width.
	Fixed bool
	// Width is the column's width in a streamed table; a cell wider than
	// that is cut unless the column is Fixed. Measured tables ignore it.
	Width int
	// Min is the narrowest a cut column gets (default: its header's width,
	// at least 8).
	Min int
}

// Cell is one cell: its text (plain, without escape sequences) and how it
// looks.
type Cell struct {
	Text string
	// Style renders the text on a terminal after it was cut (nil: as is).
	Style func(string) string
	// Note marks an error message: cut in its cell, it is printed in full
	// below the table, after the row's first cell.
	Note bool
}

// Options says where a table goes.
type Options struct {
	// TTY is true when the output is a terminal: an aligned table then,
	// tab-separated rows otherwise.
	TTY bool
	// Width is the terminal's width in columns; 0 is no limit.
	Width int
	// NoHeader drops the header and its rule on a terminal too.
	NoHeader bool
	// HeaderStyle and RuleStyle render the header line and the rule under
	// it (nil: plain).
	HeaderStyle, RuleStyle func(string) string
	// NoteStyle renders the notes below the table (nil: plain).
	NoteStyle func(string) string
}

// Printer prints one table.
type Printer struct {
	w      *bufio.Writer
	opts   Options
	cols   []Column
	rows   [][]Cell
	notes  []string
	line   []byte
	widths []int
	began  bool
	noCut  bool
	over   bool // the columns at their narrowest are wider than Width
	footer string
	err    error
}

// New returns a Printer of a table with cols onto w.
func New(w io.Writer, opts Options, cols ...Column) *Printer {
	return &Printer{w: bufio.NewWriterSize(w, 64<<10), opts: opts, cols: cols}
}

// TTY reports whether the table is laid out for a terminal (else rows are
// tab-separated and cells should hold exact values).
func (p *Printer) TTY() bool { return p.opts.TTY }

// AddRow adds a row. On a terminal it is held until Render; elsewhere it is
// written at once.
func (p *Printer) AddRow(cells ...Cell) {
	if !p.opts.TTY {
		p.writeTSV(cells)
		return
	}
	p.rows = append(p.rows, cells)
}

// Render prints the rows added, then the notes, and flushes.
func (p *Printer) Render() error {
	if !p.opts.TTY {
		return p.flush()
	}
	return p.RenderFunc(len(p.rows), func(i int, _ []Cell) []Cell { return p.rows[i] })
}

// RenderFunc prints n rows made by row (given a slice to reuse), asking for
// each row twice on a terminal (to measure, then to print) so that the rows
// are never all held; then the notes; then it flushes.
func (p *Printer) RenderFunc(n int, row func(i int, dst []Cell) []Cell) error {
	var buf []Cell
	if !p.opts.TTY {
		for i := range n {
			buf = row(i, buf[:0])
			p.writeTSV(buf)
		}
		return p.flush()
	}
	natural := make([]int, len(p.cols))
	if p.header() {
		for i, c := range p.cols {
			natural[i] = Width(c.Header)
		}
	}
	for i := range n {
		buf = row(i, buf[:0])
		for j, c := range buf {
			if j < len(natural) {
				natural[j] = max(natural[j], Width(c.Text))
			}
		}
	}
	p.widths = Fit(p.cols, natural, p.opts.Width)
	if n > 0 {
		p.writeHeader()
	}
	for i := range n {
		buf = row(i, buf[:0])
		p.writeRow(buf)
	}
	return p.End()
}

// StreamRow prints one row of a streamed table at the Columns' widths
// (the header first, before the first row). On a terminal of known width
// the last column, unless Fixed, takes what the others leave; with no
// width limit no cell is cut.
func (p *Printer) StreamRow(cells ...Cell) {
	if !p.opts.TTY {
		p.writeTSV(cells)
		return
	}
	p.Begin()
	p.writeRow(cells)
}

// Begin prints a streamed table's header (once) without waiting for a row.
func (p *Printer) Begin() {
	if !p.opts.TTY || p.began {
		return
	}
	natural := make([]int, len(p.cols))
	for i, c := range p.cols {
		natural[i] = max(c.Width, Width(c.Header))
	}
	p.widths = Fit(p.cols, natural, p.opts.Width)
	p.noCut = p.opts.Width <= 0
	if last := len(p.widths) - 1; last >= 0 && !p.cols[last].Fixed && !p.noCut {
		used := 0
		for _, w := range p.widths[:last] {
			used += w + Gap
		}
		p.widths[last] = max(p.widths[last], p.opts.Width-used)
	}
	p.writeHeader()
}

// fitted notes the widths chosen and whether a line can still be wider
// than the terminal (columns that cannot give way any more).
func (p *Printer) fitted() {
	total := 0
	for i, w := range p.widths {
		total += w
		if i > 0 {
			total += Gap
		}
	}
	p.over = p.opts.Width > 0 && total > p.opts.Width
}

// SetFooter sets a line printed under the rows on a terminal (before the
// notes); tab-separated output has none.
func (p *Printer) SetFooter(line string) { p.footer = line }

// End prints the footer and the notes of cut error messages, and flushes.
func (p *Printer) End() error {
	if p.opts.TTY && p.footer != "" {
		p.w.WriteString(p.footer)
		p.w.WriteByte('\n')
	}
	for _, n := range p.notes {
		p.w.WriteString(style(p.opts.NoteStyle, n))
		p.w.WriteByte('\n')
	}
	p.notes = p.notes[:0]
	return p.flush()
}

// Discard drops everything printed and not yet flushed (a listing that
// ends in an error before its first row prints nothing).
func (p *Printer) Discard(w io.Writer) {
	p.w.Reset(w)
	p.began = false
	p.notes = nil
}

// Flush writes out what is buffered (a streamed table's rows so far).
func (p *Printer) Flush() error { return p.flush() }

func (p *Printer) flush() error {
	if err := p.w.Flush(); err != nil && p.err == nil {
		p.err = err
	}
	return p.err
}

func (p *Printer) header() bool { return p.opts.TTY && !p.opts.NoHeader }

func (p *Printer) writeHeader() {
	p.began = true
	p.fitted()
	if !p.header() {
		return
	}
	cells := make([]Cell, len(p.cols))
	for i, c := range p.cols {
		cells[i] = Cell{Text: c.Header, Style: p.opts.HeaderStyle}
	}
	p.writeCells(cells, false)
	total := 0
	for i, w := range p.widths {
		total += w
		if i > 0 {
			total += Gap
		}
	}
	if p.opts.Width > 0 {
		total = min(total, p.opts.Width)
	}
	p.w.WriteString(style(p.opts.RuleStyle, strings.Repeat("─", total)))
	p.w.WriteByte('\n')
}

func (p *Printer) writeRow(cells []Cell) { p.writeCells(cells, true) }

// writeCells writes one aligned line: each cell cut to its column's width
// (unless Fixed), padded, styled; no trailing blanks.
func (p *Printer) writeCells(cells []Cell, notes bool) {
	b := p.line[:0]
	pending := 0 // blanks owed before the next non-empty text
	for i, c := range cells {
		w := 0
		var col Column
		if i < len(p.widths) {
			w, col = p.widths[i], p.cols[i]
		}
		text := c.Text
		tw := Width(text)
		if tw > w && !col.Fixed && !p.noCut && i < len(p.widths) {
			text = Cut(text, w)
			tw = Width(text)
			if notes && c.Note && len(cells) > 0 {
				p.notes = append(p.notes, cells[0].Text+": "+c.Text)
			}
		}
		pad := max(w-tw, 0)
		if i > 0 {
			pending += Gap
		}
		if col.Right {
			pending += pad
		}
		if text != "" {
			b = appendBlanks(b, pending)
			pending = 0
			b = append(b, style(c.Style, text)...)
		}
		if !col.Right {
			pending += pad
		}
	}
	if p.over && Width(string(b)) > p.opts.Width {
		// Never wrapped: a line the columns could not fit is cut.
		b = append(b[:0], ansi.Truncate(string(b), p.opts.Width, Ellipsis)...)
	}
	b = append(b, '\n')
	p.line = b
	p.w.Write(b)
}

func appendBlanks(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

func (p *Printer) writeTSV(cells []Cell) {
	b := p.line[:0]
	for i, c := range cells {
		if i > 0 {
			b = append(b, '\t')
		}
		b = AppendTSVCell(b, c.Text)
	}
	b = append(b, '\n')
	p.line = b
	p.w.Write(b)
}

// AppendTSVCell appends s as one tab-separated cell: a tab, newline or
// carriage return in it as \t, \n, \r.
func AppendTSVCell(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func style(f func(string) string, s string) string {
	if f == nil {
		return s
	}
	return f(s)
}

// Fit returns the width of each column for a table whose cells are at most
// natural wide, fitted into width (0: no limit): Fixed columns keep their
// natural width; the others are capped at one common width, as wide as
// fits, never narrower than their Min; what is left after the cap goes to
// the capped columns in order.
func Fit(cols []Column, natural []int, width int) []int {
	out := make([]int, len(natural))
	copy(out, natural)
	if width <= 0 || len(natural) == 0 {
		return out
	}
	avail := width - Gap*(len(natural)-1)
	var flex []int
	for i, n := range natural {
		if i < len(cols) && cols[i].Fixed {
			avail -= n
		} else {
			flex = append(flex, i)
		}
	}
	sum := func(limit int) int {
		s := 0
		for _, i := range flex {
			s += max(min(natural[i], limit), minWidth(cols, natural, i))
		}
		return s
	}
	most := 0
	for _, i := range flex {
		most = max(most, natural[i])
	}
	if sum(most) <= avail {
		return out
	}
	// The largest cap whose columns fit (sum is monotone in the cap).
	lo, hi := 0, most
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if sum(mid) <= avail {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	left := avail - sum(lo)
	for _, i := range flex {
		out[i] = max(min(natural[i], lo), minWidth(cols, natural, i))
		if left > 0 && out[i] < natural[i] {
			out[i]++
			left--
		}
	}
	return out
}

func minWidth(cols []Column, natural []int, i int) int {
	m := 8
	if i < len(cols) {
		if cols[i].Min > 0 {
			m = cols[i].Min
		} else {
			m = max(m, Width(cols[i].Header))
		}
	}
	return min(m, natural[i])
}

// Width is the display width of s (wide runes count two; escape sequences
// none).
func Width(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c == 0x1b {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// Cut shortens s to at most w columns, ending it with "…" when it was cut.
func Cut(s string, w int) string {
	if Width(s) <= w {
		return s
	}
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, Ellipsis)
}
