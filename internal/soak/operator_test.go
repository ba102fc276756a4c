package soak

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// op is one sesstool run by the operator or the sweeper.
type op struct {
	kind   string // set, unset, edit, destroy, gc, ls-where
	client int    // target client (-1 for gc)
	id     string // target session id
	value  int64  // set/edit: the tool_mark written; ls-where: the one searched
	edited bool   // edit: the editor script changed the document
	res    toolResult

	// gc: the JSON summary; ls-where: the ids listed.
	gc     gcSummary
	listed []string
}

// success reports whether the run exited 0.
func (o *op) success() bool { return o.res.exit == 0 && o.res.problem() == "" }

// gcSummary is gc -o json.
type gcSummary struct {
	Scanned      int64 `json:"scanned"`
	Deleted      int64 `json:"deleted"`
	BytesFreed   int64 `json:"bytes_freed"`
	SkippedInUse int64 `json:"skipped_in_use"`
	Errors       int64 `json:"errors"`
	DryRun       bool  `json:"dry_run"`
}

// lsEntry is one element of ls -o json.
type lsEntry struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// operator runs sesstool against live sessions: one command at a time, so
// the order of its writes is known.
type operator struct {
	bin      string
	savePath string
	editor   string // path of the scripted EDITOR
	work     string // directory for the editor's reports
	clients  []*client
	maxLife  time.Duration

	mu        sync.Mutex
	ops       []op
	nextValue int64
}

func (o *operator) record(x op) {
	o.mu.Lock()
	o.ops = append(o.ops, x)
	o.mu.Unlock()
}

func (o *operator) tool(env []string, args ...string) toolResult {
	return runTool(o.bin, env, append([]string{"--save-path", o.savePath}, args...)...)
}

// write runs a command that locks a session, with soakLockTimeout.
func (o *operator) write(env []string, args ...string) toolResult {
	return o.tool(env, append([]string{"--lock-timeout", soakLockTimeout.String()}, args...)...)
}

// runWriter changes sessions until ctx ends: set (most), unset, edit and
// destroy (rarely), on the session of a random client. set/unset/edit go
// only to clients that never idle past maxlifetime, so gc never races them.
func (o *operator) runWriter(ctx context.Context, rng *rand.Rand) {
	for ctx.Err() == nil {
		var x op
		roll := rng.IntN(100)
		switch {
		case roll < 8:
			x.kind = "destroy"
		case roll < 55:
			x.kind = "set"
		case roll < 68:
			x.kind = "unset"
		default:
			x.kind = "edit"
		}
		var c *client
		for range 20 {
			c = o.clients[rng.IntN(len(o.clients))]
			if x.kind == "destroy" || !c.sleepy {
				break
			}
		}
		if x.kind != "destroy" && c.sleepy {
			continue
		}
		x.client, x.id = c.idx, c.currentID()
		if x.id == "" {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		o.mu.Lock()
		o.nextValue++
		x.value = o.nextValue
		o.mu.Unlock()
		switch x.kind {
		case "set":
			x.res = o.write(nil, "set", x.id, "tool_mark", strconv.FormatInt(x.value, 10))
		case "unset":
			x.res = o.write(nil, "unset", x.id, "tool_mark")
		case "destroy":
			x.res = o.write(nil, "destroy", x.id)
		case "edit":
			report := filepath.Join(o.work, "edit-"+strconv.FormatInt(x.value, 10))
			x.res = o.write([]string{"VISUAL=", "EDITOR=" + o.editor,
				"SOAK_EDIT_VALUE=" + strconv.FormatInt(x.value, 10), "SOAK_EDIT_REPORT=" + report,
				"TMPDIR=" + o.work}, "edit", x.id)
			b, _ := os.ReadFile(report)
			x.edited = strings.TrimSpace(string(b)) == "changed"
		}
		o.record(x)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(5+rng.IntN(30)) * time.Millisecond):
		}
	}
}

// runSweeper runs gc with a short maxlifetime and ls --where until ctx
// ends, alternately, about once a second.
func (o *operator) runSweeper(ctx context.Context, rng *rand.Rand) {
	for i := 0; ctx.Err() == nil; i++ {
		if i%2 == 0 {
			x := op{kind: "gc", client: -1}
			x.res = o.tool(nil, "gc", "--maxlifetime", strconv.Itoa(int(o.maxLife/time.Second))+"s", "-o", "json")
			if x.res.exit <= 1 && x.res.problem() == "" {
				if err := json.Unmarshal([]byte(x.res.stdout), &x.gc); err != nil {
					x.res.runErr = err // a summary that does not parse breaks the contract
				}
			}
			o.record(x)
		} else {
			o.mu.Lock()
			var pick *op
			for j := len(o.ops) - 1; j >= 0 && j > len(o.ops)-40; j-- {
				if o.ops[j].kind == "set" && o.ops[j].success() {
					pick = &o.ops[j]
					break
				}
			}
			var x op
			if pick != nil {
				x = op{kind: "ls-where", client: pick.client, value: pick.value}
			}
			o.mu.Unlock()
			if pick != nil {
				x.res = o.tool(nil, "ls", "--where", "tool_mark="+strconv.FormatInt(x.value, 10), "-o", "json")
				if x.res.exit <= 1 && x.res.problem() == "" {
					var es []lsEntry
					if err := json.Unmarshal([]byte(x.res.stdout), &es); err != nil {
						x.res.runErr = err
					}
					for _, e := range es {
						x.listed = append(x.listed, e.ID)
					}
				}
				o.record(x)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(400+rng.IntN(600)) * time.Millisecond):
		}
	}
}
