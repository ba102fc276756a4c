package cmd

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss/tree"

	"github.com/sesstool/sesstool/phpser"
)

// maxShownString is how many bytes of a string value the human view shows
// before cutting it (the full length is always shown).
const maxShownString = 80

// maxShownEntries bounds how many entries of one array, object or session
// the human view draws; the rest are counted in one line (-o json and
// --key show everything). A person cannot read more, and drawing a
// million-entry session would take more memory than the session.
const maxShownEntries = 1000

// moreLine counts the entries a view left out.
func (v *viewer) moreLine(n int) string {
	return v.sty.Dim.Render(fmt.Sprintf("… %d more entries (see them with -o json or --key)", n))
}

// maxShownDepth bounds how deeply the human view descends into nested
// values; deeper levels are summarised.
const maxShownDepth = 64

// viewer renders PHP values for people: a lipgloss tree of keys with types.
type viewer struct {
	full    bool // show --key: strings and entries are never cut
	sty     *Styles
	s       *phpser.Session
	anchors map[int64]string // anchor -> JSON Pointer of the value it marks
	targets map[int64]bool   // anchors some reference points to
	// rootTotal, when larger than the root's entries, is how many the
	// session holds (show an entry at a time keeps only those drawn).
	rootTotal int
}

func newViewer(sty *Styles, s *phpser.Session) *viewer {
	v := &viewer{sty: sty, s: s, anchors: map[int64]string{}, targets: map[int64]bool{}}
	if s != nil {
		v.index(s.Root, "", 0)
	}
	return v
}

// index records where each referenced value lives, for "reference to ...".
func (v *viewer) index(val phpser.Value, path string, depth int) {
	if val.Kind == phpser.KindRef || val.Kind == phpser.KindObjRef {
		v.targets[val.Int] = true
	}
	if val.Anchor != 0 {
		if _, ok := v.anchors[val.Anchor]; !ok {
			p := path
			if p == "" {
				p = "/"
			}
			v.anchors[val.Anchor] = p
		}
	}
	if depth > phpser.DefaultMaxDepth {
		return
	}
	if val.Kind == phpser.KindCustom {
		// The values PHP reads from a Serializable payload.
		for i, e := range val.Elems {
			v.index(e.Val, path+payloadLabel(i, len(val.Elems)), depth+1)
		}
		return
	}
	if !val.IsContainer() {
		return
	}
	for _, e := range val.Elems {
		v.index(e.Val, path+"/"+pointerToken(keyText(e.Key, val.Kind == phpser.KindObject)), depth+1)
	}
}

// payloadLabel names value i of the n that PHP reads from a Serializable
// payload: "[payload]" when it is the only one, else "[payload i]".
func payloadLabel(i, n int) string {
	if n == 1 {
		return "[payload]"
	}
	return "[payload " + strconv.Itoa(i) + "]"
}

// pointerToken escapes a key for a JSON Pointer.
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// keyText is a key as a plain string (property names unmangled).
func keyText(k phpser.Key, isObject bool) string {
	if k.IsInt {
		return strconv.FormatInt(k.Int, 10)
	}
	if isObject {
		name, _, _ := k.Prop()
		return name
	}
	return k.Str
}

// showKey renders a key for the tree: plain when printable, else quoted.
func (v *viewer) showKey(k phpser.Key, isObject bool) string {
	var s string
	switch {
	case k.IsInt:
		s = strconv.FormatInt(k.Int, 10)
	case isObject:
		name, vis, class := k.Prop()
		s = printable(name)
		switch vis {
		case phpser.Protected:
			s += v.sty.Dim.Render(" (protected)")
		case phpser.Private:
			s += v.sty.Dim.Render(" (private " + printable(class) + ")")
		}
		return v.sty.Key.Render(printable(name)) + strings.TrimPrefix(s, printable(name))
	default:
		s = printable(k.Str)
	}
	return v.sty.Key.Render(s)
}

// printable returns s unchanged when it is non-empty printable UTF-8
// without quotes or spaces at its ends, else Go-quoted.
func printable(s string) string {
	if s == "" || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}

// quoteCut quotes a string value (binary bytes escaped), cut after
// maxShownString bytes with the rest summarised.
func quoteCut(s string) string {
	if len(s) <= maxShownString {
		return strconv.Quote(s)
	}
	cut := maxShownString
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}

// phpFloat formats f as PHP's var_export would read back (shortest repr).
func phpFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NAN"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEIN") {
		s += ".0"
	}
	return s
}

// label is the one-line description of a value: type, then value.
func (v *viewer) label(val phpser.Value) string {
	t := v.sty.Type.Render
	switch val.Kind {
	case phpser.KindNull:
		return t("null")
	case phpser.KindBool:
		return t("bool ") + strconv.FormatBool(val.IsTrue())
	case phpser.KindInt:
		return t("int ") + strconv.FormatInt(val.Int, 10)
	case phpser.KindFloat:
		return t("float ") + phpFloat(val.Float)
	case phpser.KindString:
		if v.full {
			return t(fmt.Sprintf("string(%d) ", len(val.Str))) + v.sty.Value.Render(strconv.Quote(val.Str))
		}
		return t(fmt.Sprintf("string(%d) ", len(val.Str))) + v.sty.Value.Render(quoteCut(val.Str))
	case phpser.KindArray:
		return t(fmt.Sprintf("array(%d)", val.Count()))
	case phpser.KindObject:
		return t("object ") + printable(val.Str) + t(fmt.Sprintf(" (%d properties)", val.Count()))
	case phpser.KindCustom:
		return t("serializable ") + printable(val.Str) + t(fmt.Sprintf(" payload(%d) ", len(val.Payload))) + quoteCut(val.Payload)
	case phpser.KindEnum:
		return t("enum ") + printable(val.Str)
	case phpser.KindRef:
		return t("reference") + " → " + v.target(val.Int)
	case phpser.KindObjRef:
		return t("object-reference") + " → " + v.target(val.Int)
	}
	return t(val.Kind.String())
}

func (v *viewer) target(a int64) string {
	if p, ok := v.anchors[a]; ok {
		return p
	}
	return fmt.Sprintf("slot %d (missing)", a)
}

// node builds the tree node for one entry (or the root when key is nil).
func (v *viewer) node(head string, val phpser.Value, depth int) any {
	head += v.label(val)
	if val.Anchor != 0 && v.targets[val.Anchor] {
		head += v.sty.Dim.Render(" (referenced)")
	}
	if val.Kind == phpser.KindArray && val.Flags&phpser.FlagCopy != 0 {
		// igbinary wrote it as the array PHP shared, copy-on-write.
		head += v.sty.Dim.Render(" (shared with " + v.target(val.Int) + ")")
	}
	if !val.IsContainer() && val.Kind != phpser.KindCustom || len(val.Elems) == 0 {
		return head
	}
	t := tree.Root(head).EnumeratorStyle(v.sty.Dim.PaddingRight(1))
	if depth >= maxShownDepth {
		return t.Child(v.sty.Dim.Render("… nested too deeply to show"))
	}
	if val.Kind == phpser.KindCustom {
		for i, e := range val.Elems {
			t.Child(v.node(v.sty.Dim.Render(payloadLabel(i, len(val.Elems)))+"  ", e.Val, depth+1))
		}
		return t
	}
	isObj := val.Kind == phpser.KindObject
	for i, e := range val.Elems {
		if i == maxShownEntries && !v.full {
			t.Child(v.moreLine(len(val.Elems) - i))
			break
		}
		t.Child(v.node(v.showKey(e.Key, isObj)+"  ", e.Val, depth+1))
	}
	if n := val.Count(); n > len(val.Elems) {
		t.Child(v.moreLine(n - len(val.Elems))) // decoded for this view: the first maxShownEntries (phpser's Shown)
	}
	return t
}

// sessionTree renders the whole session under title.
func (v *viewer) sessionTree(title string) string {
	t := tree.Root(title).EnumeratorStyle(v.sty.Dim.PaddingRight(1))
	root := v.s.Root
	switch {
	case root.Kind != phpser.KindArray:
		t.Child(v.node("(the whole session is one value)  ", root, 0))
	case len(root.Elems) == 0:
		t.Child(v.sty.Dim.Render("(empty session)"))
	default:
		for i, e := range root.Elems {
			if i == maxShownEntries {
				break
			}
			t.Child(v.node(v.showKey(e.Key, false)+"  ", e.Val, 1))
		}
		shown := min(len(root.Elems), maxShownEntries)
		if total := max(len(root.Elems), v.rootTotal); total > shown {
			t.Child(v.moreLine(total - shown))
		}
	}
	return t.String()
}

// valueTree renders one value (show --key) under its key.
func (v *viewer) valueTree(key string, val phpser.Value) string {
	n := v.node(v.sty.Key.Render(printable(key))+"  ", val, 0)
	if t, ok := n.(*tree.Tree); ok {
		return t.String()
	}
	return n.(string)
}
