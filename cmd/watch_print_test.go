package cmd

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/phpser"
)

func TestDiffSessions(t *testing.T) {
	s := func(ents ...phpser.Entry) *phpser.Session {
		return &phpser.Session{Handler: phpser.HandlerPHP, Root: phpser.Array(ents...)}
	}
	e := func(k string, v phpser.Value) phpser.Entry { return phpser.Entry{Key: phpser.StrKey(k), Val: v} }
	ik := func(k int64, v phpser.Value) phpser.Entry { return phpser.Entry{Key: phpser.IntKey(k), Val: v} }
	tests := []struct {
		name     string
		old, cur *phpser.Session
		want     string
	}{
		{"nil old: all added", nil, s(e("a", phpser.Int(1)), e("b", phpser.Null())), "added a 1; added b null"},
		{"no change", s(e("a", phpser.Int(1))), s(e("a", phpser.Int(1))), ""},
		{"spelling only", s(e("f", phpser.Value{Kind: phpser.KindFloat, Float: 0.1, Raw: "d:0.10000000000000001;"})), s(e("f", phpser.Float(0.1))), ""},
		{"type change", s(e("a", phpser.Int(42))), s(e("a", phpser.String("42"))), `changed a "42"`},
		{"float sign", s(e("a", phpser.Float(0))), s(e("a", phpser.Float(math.Copysign(0, -1)))), "changed a -0.0"},
		{"removed and added", s(e("a", phpser.Int(1)), e("b", phpser.Int(2))), s(e("c", phpser.Int(3)), e("b", phpser.Int(2))), "added c 3; removed a"},
		{"nested change", s(e("a", phpser.Array(ik(0, phpser.Int(1))))), s(e("a", phpser.Array(ik(0, phpser.Int(2))))), "changed a [2]"},
		{"duplicate key: last wins", s(e("a", phpser.Int(1)), e("a", phpser.Int(2))), s(e("a", phpser.Int(2))), ""},
		{"int key vs string key", s(ik(5, phpser.Int(1))), s(e("5", phpser.Int(1))), "added 5 1; removed 5"},
		{"to empty", s(e("a", phpser.Int(1))), s(), "removed a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parts []string
			for _, c := range diffSessions(tt.old, tt.cur) {
				p := c.Op + " " + c.Key
				if c.Op != opRemoved {
					p += " " + string(phpser.AppendJSON(nil, tt.cur, c.Val))
				}
				parts = append(parts, p)
			}
			if got := strings.Join(parts, "; "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWatchPrinter(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	sess := &phpser.Session{Handler: phpser.HandlerPHP, Root: phpser.Array(
		phpser.Entry{Key: phpser.StrKey("user"), Val: phpser.Int(42)},
		phpser.Entry{Key: phpser.StrKey("name"), Val: phpser.String("<b>\xff")},
	)}
	created := sessionEvent{Time: at, Event: evCreated, ID: "abc", Path: "/sp/sess_abc", Size: 31,
		Session: sess, HasBaseline: true, Changes: diffSessions(nil, sess)}
	modified := sessionEvent{Time: at, Event: evModified, ID: "abc", Path: "/sp/sess_abc", Size: 31, Session: sess}
	deleted := sessionEvent{Time: at, Event: evDeleted, ID: "abc", Path: "/sp/sess_abc", HasBaseline: true,
		Changes: []keyChange{{Key: "user", Op: opRemoved}}}
	left := sessionEvent{Time: at, Event: evModified, ID: "abc", Path: "/sp/sess_abc", Size: 3, NoLongerMatches: true}
	broken := sessionEvent{Time: at, Event: evModified, ID: "abc", Path: "/sp/sess_abc", Size: 3, DecodeErr: errors.New("offset 2:\nexpected ';'")}

	tests := []struct {
		name          string
		ev            sessionEvent
		json, decode  bool
		color         bool
		want          string
		wantANSI      bool
		wantLineCount int
	}{
		{"json plain", created, true, false, true, // colour never in JSON
			`{"time":"2026-03-04T05:06:07.890Z","event":"created","id":"abc","path":"/sp/sess_abc","size":31}` + "\n", false, 1},
		{"json decode", created, true, true, false,
			`{"time":"2026-03-04T05:06:07.890Z","event":"created","id":"abc","path":"/sp/sess_abc","size":31,"changes":[{"key":"user","op":"added","value":42},{"key":"name","op":"added","value":"<b>` + "\uFFFD" + `"}]}` + "\n", false, 1},
		{"json no baseline", modified, true, true, false,
			`{"time":"2026-03-04T05:06:07.890Z","event":"modified","id":"abc","path":"/sp/sess_abc","size":31}` + "\n", false, 1},
		{"json removed has no value", deleted, true, true, false,
			`{"time":"2026-03-04T05:06:07.890Z","event":"deleted","id":"abc","path":"/sp/sess_abc","size":0,"changes":[{"key":"user","op":"removed"}]}` + "\n", false, 1},
		{"json left where", left, true, false, false,
			`{"time":"2026-03-04T05:06:07.890Z","event":"modified","id":"abc","path":"/sp/sess_abc","size":3,"matches":false}` + "\n", false, 1},
		{"human", created, false, false, false, "05:06:07.890 created  abc 31 B\n", false, 1},
		{"human decode", created, false, true, false,
			"05:06:07.890 created  abc 31 B\n    + user = 42\n    + name = \"<b>\uFFFD\"\n", false, 3},
		{"human deleted", deleted, false, true, false, "05:06:07.890 deleted  abc\n    - user\n", false, 2},
		{"human decode error stays one line", broken, false, true, false,
			"05:06:07.890 modified abc 3 B\n    cannot decode: offset 2: expected ';'\n", false, 2},
		{"human colour on a terminal", created, false, false, true, "", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newWatchPrinter(&IOStreams{Out: &out, Color: tt.color}, tt.json, tt.decode)
			if err := p.print(tt.ev); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if tt.want != "" && got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			if hasANSI := strings.Contains(got, "\x1b["); hasANSI != tt.wantANSI {
				t.Errorf("ANSI escapes: %v, want %v in %q", hasANSI, tt.wantANSI, got)
			}
			if n := strings.Count(got, "\n"); n != tt.wantLineCount {
				t.Errorf("%d lines, want %d: %q", n, tt.wantLineCount, got)
			}
			if tt.json {
				var m map[string]any
				if err := json.Unmarshal([]byte(got), &m); err != nil {
					t.Errorf("not JSON: %v", err)
				}
			}
		})
	}
}
