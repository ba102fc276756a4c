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
	ID         string          `json:"id"`
	Path       string          `json:"path"`
	Size       int64           `json:"size"`
	MTime      string          `json:"mtime"`
	AgeSeconds int64           `json:"age_seconds"`
	TTLSeconds int64           `json:"ttl_seconds"`
	Handler    string          `json:"handler,omitempty"`
	Corrupt    string          `json:"corrupt,omitempty"`
	Error      string          `json:"error,omitempty"`
	Locked     *bool           `json:"locked,omitempty"`
	Status     string          `json:"status,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
}

func rowJSON(r lsRow, now time.Time) lsJSON {
	j := lsJSON{ID: r.ID, Path: r.Path, Size: r.Size, MTime: rfc3339(r.ModTime), AgeSeconds: ageSeconds(now, r.ModTime), TTLSeconds: r.ttl}
	switch {
	case r.Bad:
		j.Corrupt = strings.TrimPrefix(r.Status, "corrupt: ")
	case r.Status != "":
		j.Error = r.Status
	}
	if r.Checked {
		locked := r.Locked
		j.Locked, j.Status = &locked, r.Status
		if j.Status == "" {
			j.Status = "ok"
		}
	}
	j.Data = r.Data
	return j
}

func TestAppendRowJSONMatchesEncodingJSON(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.Local)
	mt := now.Add(-90 * time.Second)
	rows := []lsRow{
		{Info: sessfile.Info{ID: "abc", Path: "/var/lib/php/sessions/sess_abc", Size: 42, ModTime: mt}},
		{Info: sessfile.Info{ID: "x-1,2", Path: "/odd dir/\"q\"/\x01\xff/sess_x-1,2", Size: 0, ModTime: mt}, Bad: true, Status: "corrupt: offset 6: expected '|'"},
		{Info: sessfile.Info{ID: "lk", Path: "/p/sess_lk", Size: 7, ModTime: mt}, Locked: true, Status: "locked", Checked: true, ttl: -5},
		{Info: sessfile.Info{ID: "ok1", Path: "/p/sess_ok1", Size: 7, ModTime: mt}, Checked: true, ttl: 1350, Data: []byte(`{"uid":42,"x":null}`)},
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

// TestLsColumnsDecodeJSONL: --columns adds values per row (table columns,
// "data" in JSON), --decode the whole session, -o jsonl one object per
// line (streamed in store order unless --sort is given).
func TestLsColumnsDecodeJSONL(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "u1", `uid|i:42;name|s:5:"alice";cart|a:1:{i:0;s:3:"pen";}`, time.Minute)
	putSess(t, dir, "u2", `uid|s:2:"43";`, 2*time.Minute)
	r := runCLI(t, "--save-path", dir, "ls", "--columns", "uid,/cart/0,name", "-o", "jsonl", "--sort", "id")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.err != nil || len(lines) != 2 {
		t.Fatalf("ls --columns -o jsonl: %q %v", r.out, r.err)
	}
	var row struct {
		ID   string         `json:"id"`
		TTL  int64          `json:"ttl_seconds"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil || row.ID != "u1" || row.Data["uid"] != 42.0 || row.Data["/cart/0"] != "pen" || row.Data["name"] != "alice" || row.TTL <= 0 {
		t.Errorf("row %q: %+v %v", lines[0], row, err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &row); err != nil || row.Data["uid"] != "43" || row.Data["name"] != nil {
		t.Errorf("row %q: %+v %v", lines[1], row, err)
	}
	r = runCLI(t, "--save-path", dir, "ls", "--decode", "-o", "json", "--sort", "id")
	var all []struct {
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.out), &all); err != nil || len(all) != 2 || string(all[1].Data) != `{"uid":"43"}` {
		t.Errorf("ls --decode -o json: %q %v", r.out, err)
	}
	r = runTTY(t, "--save-path", dir, "ls", "--columns", "uid", "--sort", "id")
	if r.err != nil || !strings.Contains(r.out, "uid") || !strings.Contains(r.out, "42") || !strings.Contains(r.out, `"43"`) {
		t.Errorf("ls --columns table:\n%s", r.out)
	}
	r = runCLI(t, "--save-path", dir, "ls", "--check", "-o", "jsonl")
	if !strings.Contains(r.out, `"status":"ok"`) || !strings.Contains(r.out, `"locked":false`) {
		t.Errorf("ls --check -o jsonl: %q", r.out)
	}
	wantErrLine(t, runCLI(t, "--save-path", dir, "ls", "--columns", "/a~2"), 2, "JSON Pointer")
}
