package cmd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/sessfile"
)

// lsJSON is one element of ls -o json, as encoding/json would write it: the
// reference appendRowJSON is checked against.
type lsJSON struct {
	ID         string `json:"id"`
	Path       string `json:"path"`
	Size       int64  `json:"size"`
	MTime      string `json:"mtime"`
	AgeSeconds int64  `json:"age_seconds"`
	Handler    string `json:"handler,omitempty"`
	Corrupt    string `json:"corrupt,omitempty"`
	Error      string `json:"error,omitempty"`
}

func rowJSON(r lsRow, now time.Time) lsJSON {
	j := lsJSON{ID: r.ID, Path: r.Path, Size: r.Size, MTime: rfc3339(r.ModTime), AgeSeconds: ageSeconds(now, r.ModTime)}
	switch {
	case r.Bad:
		j.Corrupt = strings.TrimPrefix(r.Status, "corrupt: ")
	case r.Status != "":
		j.Error = r.Status
	}
	return j
}

func TestAppendRowJSONMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.Local)
	mt := now.Add(-90 * time.Second)
	rows := []lsRow{
		{Info: sessfile.Info{ID: "abc", Path: "/var/lib/php/sessions/sess_abc", Size: 42, ModTime: mt}},
		{Info: sessfile.Info{ID: "x-1,2", Path: "/odd dir/\"q\"/\x01\xff/sess_x-1,2", Size: 0, ModTime: mt}, Bad: true, Status: "corrupt: offset 6: expected '|'"},
		{Info: sessfile.Info{ID: "lk", Path: "/p/sess_lk", Size: 7, ModTime: mt}, Locked: true, Status: "locked"},
	}
	for _, r := range rows {
		want, err := json.Marshal(rowJSON(r, now))
		if err != nil {
			t.Fatal(err)
		}
		got := appendRowJSON(nil, r, now)
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("appendRowJSON wrote invalid JSON %s: %v", got, err)
		}
		json.Unmarshal(want, &b)
		if ga, _ := json.Marshal(a); string(ga) != strings.TrimSpace(string(mustJSON(t, b))) {
			t.Errorf("appendRowJSON = %s\nwant          %s", got, want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
