package tableprinter

import (
	"slices"
	"strings"
	"testing"
)

func cells(s ...string) []Cell {
	c := make([]Cell, len(s))
	for i, t := range s {
		c[i] = Cell{Text: t}
	}
	return c
}

func TestTerminalLayout(t *testing.T) {
	var b strings.Builder
	p := New(&b, Options{TTY: true}, Column{Header: "ID", Fixed: true}, Column{Header: "SIZE", Right: true, Fixed: true}, Column{Header: "NOTE"})
	p.AddRow(cells("a", "1 B", "x")...)
	p.AddRow(cells("bbbb", "10 kB", "")...)
	if err := p.Render(); err != nil {
		t.Fatal(err)
	}
	want := "ID     SIZE  NOTE\n" +
		"─────────────────\n" +
		"a       1 B  x\n" +
		"bbbb  10 kB\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestFitCutsAndNotes(t *testing.T) {
	var b strings.Builder
	p := New(&b, Options{TTY: true, Width: 30, NoHeader: true}, Column{Header: "ID", Fixed: true}, Column{Header: "STATUS"})
	long := "corrupt: offset 3: unexpected end of data"
	p.AddRow(cells("abcdef", "ok")...)
	p.AddRow(Cell{Text: "ghijkl"}, Cell{Text: long, Note: true})
	if err := p.Render(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 2 rows and 1 note, got %q", lines)
	}
	for _, l := range lines[:2] {
		if w := Width(l); w > 30 {
			t.Errorf("line %q is %d wide, more than 30", l, w)
		}
	}
	if !strings.HasSuffix(lines[1], Ellipsis) || Width(lines[1]) != 30 {
		t.Errorf("cut row %q: want 30 columns ending in …", lines[1])
	}
	if lines[2] != "ghijkl: "+long {
		t.Errorf("note %q: want the full message after the row's id", lines[2])
	}
}

func TestTSV(t *testing.T) {
	var b strings.Builder
	p := New(&b, Options{TTY: false, Width: 10}, Column{Header: "ID"}, Column{Header: "V"})
	p.AddRow(cells("a", "tab\there\nnl and a very long cell that is never cut")...)
	p.AddRow(cells("b", "")...)
	if err := p.Render(); err != nil {
		t.Fatal(err)
	}
	want := "a\ttab\\there\\nnl and a very long cell that is never cut\nb\t\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func TestStreamedWidths(t *testing.T) {
	var b strings.Builder
	p := New(&b, Options{TTY: true, Width: 40}, Column{Header: "ID", Width: 6, Fixed: true}, Column{Header: "N", Width: 3, Right: true}, Column{Header: "WHAT", Width: 40})
	p.StreamRow(cells("abc", "7", strings.Repeat("w", 50))...)
	p.StreamRow(cells("toolongid", "12", "x")...)
	if err := p.End(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if lines[0] != "ID        N  WHAT" {
		t.Errorf("header %q", lines[0])
	}
	if Width(lines[2]) != 40 || !strings.HasPrefix(lines[2], "abc       7  www") {
		t.Errorf("row %q: want the last column cut to the width", lines[2])
	}
	if !strings.HasPrefix(lines[3], "toolongid") {
		t.Errorf("a Fixed cell is never cut: %q", lines[3])
	}
}

func TestFit(t *testing.T) {
	cols := []Column{{Fixed: true}, {}, {}}
	for _, tc := range []struct {
		natural []int
		width   int
		want    []int
	}{
		{[]int{10, 5, 5}, 0, []int{10, 5, 5}},
		{[]int{10, 5, 5}, 80, []int{10, 5, 5}},
		{[]int{10, 40, 40}, 50, []int{10, 18, 18}},
		{[]int{10, 5, 40}, 40, []int{10, 5, 21}},
		{[]int{10, 40, 40}, 12, []int{10, 8, 8}}, // never below Min
		{[]int{10, 40, 40}, 51, []int{10, 19, 18}},
	} {
		if got := Fit(cols, tc.natural, tc.width); !slices.Equal(got, tc.want) {
			t.Errorf("Fit(%v, %d) = %v, want %v", tc.natural, tc.width, got, tc.want)
		}
	}
}

func TestCutWide(t *testing.T) {
	if got := Cut("日本語テキスト", 7); Width(got) > 7 || !strings.HasSuffix(got, Ellipsis) {
		t.Errorf("Cut of wide runes = %q (width %d)", got, Width(got))
	}
	if got := Cut("short", 8); got != "short" {
		t.Errorf("Cut kept %q", got)
	}
}

// TestNeverWider: when the columns that are never cut leave no room, each
// line and the rule are cut at the width instead of wrapping.
func TestNeverWider(t *testing.T) {
	var b strings.Builder
	p := New(&b, Options{TTY: true, Width: 20}, Column{Header: "ID", Fixed: true}, Column{Header: "WHEN", Fixed: true}, Column{Header: "V"})
	p.AddRow(cells("0123456789abcdef", "2026-12-03 07:08:28", "value")...)
	if err := p.Render(); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if Width(l) > 20 {
			t.Errorf("line %q is %d wide, more than 20", l, Width(l))
		}
	}
}
