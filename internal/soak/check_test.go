package soak

import (
	"fmt"
	"strings"
	"time"
)

// tally is what the checks found, for the figures and the verdict.
type tally struct {
	requestsOK, requestsFailed  int
	resetsByDestroy, resetsByGC int
	lostUpdates                 []string // PHP's or sesstool's write lost
	phpErrors                   []string // the app failed (500) or warned
	toolWritesVerified          int      // a later request saw sesstool's write
	toolWritesSuperseded        int      // the next sesstool write came first
	toolWritesCleared           int      // the session was reset (destroy/gc) first
	regenRaces                  []string // lost across session_regenerate_id(true), see report
	expiredRaces                []string // an expired session deleted as a request came back to it
}

// checkClient replays one client's requests against the model: each
// successful request increments the counter by one; the counter restarts
// at 1 only after a successful destroy of the id the client sent, or after
// the client was idle longer than maxlifetime (gc may then delete it). A
// failed request may or may not have counted.
func checkClient(c *client, ops []op, maxLife time.Duration, tl *tally) {
	consumed := map[int]bool{}
	var prev, prevprev *request
	uncertain := 0
	chainStart := time.Time{}
	for i := range c.reqs {
		r := &c.reqs[i]
		if !r.ok() {
			tl.requestsFailed++
			uncertain++
			tl.phpErrors = append(tl.phpErrors, fmt.Sprintf("client %d request at %s: status %d err %q body %q",
				c.idx, r.send.Format(time.StampMilli), r.status, r.err, r.body))
			continue
		}
		tl.requestsOK++
		if len(r.reply.Warnings) > 0 || !r.reply.ListOK {
			tl.phpErrors = append(tl.phpErrors, fmt.Sprintf("client %d id %s counter %d: warnings %q, list_ok %v",
				c.idx, r.reply.IDBefore, r.reply.Counter, r.reply.Warnings, r.reply.ListOK))
		}
		got := r.reply.Counter
		switch {
		case prev == nil:
			if got != 1 {
				tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf("client %d: first request saw counter %d, want 1", c.idx, got))
			}
			chainStart = r.send
		case got >= prev.reply.Counter+1 && got <= prev.reply.Counter+1+int64(uncertain):
		case got == 1:
			found := -1
			for j := range ops {
				o := &ops[j]
				if o.kind == "destroy" && o.success() && !consumed[j] && o.id == r.reply.IDBefore &&
					o.res.start.Before(r.recv) && o.res.end.After(chainStart) {
					found = j
					break
				}
			}
			switch {
			case r.recv.Sub(prev.send) > maxLife:
				tl.resetsByGC++ // idle long enough for gc; leave any destroy for a later reset
			case found >= 0:
				consumed[found] = true
				tl.resetsByDestroy++
			case prevprev != nil && prev.recv.Sub(prevprev.send) > maxLife && !prev.hold:
				// The previous request came back to a session idle past
				// maxlifetime: PHP opened the file, gc locked it first,
				// found it expired and unlinked it, and PHP then wrote into
				// the unlinked inode. The session was expired when gc
				// looked; no tool can see a request waiting to lock.
				tl.expiredRaces = append(tl.expiredRaces, fmt.Sprintf(
					"client %d: id %s reset after a request that came back after %v idle (maxlifetime %v)",
					c.idx, r.reply.IDBefore, prev.recv.Sub(prevprev.send).Round(time.Millisecond), maxLife))
			default:
				tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf(
					"client %d: id %s restarted at counter 1 (had %d) with no destroy of it and only %v since the previous request was sent (maxlifetime %v): the session was deleted or emptied while in use",
					c.idx, r.reply.IDBefore, prev.reply.Counter, r.recv.Sub(prev.send).Round(time.Millisecond), maxLife)+
					"; context: "+requestContext(c, i, ops))
			}
			chainStart = r.send
		default:
			tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf(
				"client %d: id %s counter %d after %d (%d failed requests between): a PHP write was lost (request sent %s)",
				c.idx, r.reply.IDBefore, got, prev.reply.Counter, uncertain, r.send.Format(time.StampMilli))+
				"; context: "+requestContext(c, i, ops))
		}
		prev, prevprev, uncertain = r, prev, 0
	}
	checkMarks(c, ops, tl)
}

// checkMarks checks that every successful set/unset/edit of tool_mark on
// the client's session is what the next request of that client saw, unless
// another sesstool write or a reset of the session came first.
func checkMarks(c *client, ops []op, tl *tally) {
	var writes []*op
	for j := range ops {
		o := &ops[j]
		if !o.success() {
			continue
		}
		switch o.kind {
		case "set", "unset", "destroy":
			writes = append(writes, o)
		case "edit":
			if o.edited {
				writes = append(writes, o)
			}
		}
	}
	for k, o := range writes {
		var r *request
		for i := range c.reqs {
			if c.reqs[i].ok() && c.reqs[i].send.After(o.res.end) {
				r = &c.reqs[i]
				break
			}
		}
		if r == nil {
			continue // checked on the final file
		}
		if k+1 < len(writes) && writes[k+1].res.start.Before(r.recv) {
			tl.toolWritesSuperseded++
			continue
		}
		if o.kind == "destroy" {
			// The reset may show in a request that was in flight while
			// destroy ran (it opened the path after the unlink).
			reset := false
			for i := range c.reqs {
				q := &c.reqs[i]
				if q.ok() && q.recv.After(o.res.start) && !q.send.After(r.send) && q.reply.IDBefore == o.id && q.reply.Counter == 1 {
					reset = true
				}
			}
			if r.reply.IDBefore == o.id && !reset {
				tl.lostUpdates = append(tl.lostUpdates, fmt.Sprintf(
					"client %d: destroy %s exited 0 at %s but the next request on that id saw counter %d (session not deleted)",
					c.idx, o.id, o.res.end.Format(time.StampMilli), r.reply.Counter))
			}
			continue
		}
		if r.reply.Counter == 1 {
			tl.toolWritesCleared++
			continue
		}
		wantMark := o.kind != "unset"
		ok := r.reply.HasMark == wantMark && (!wantMark || (r.reply.Mark != nil && *r.reply.Mark == o.value))
		if ok {
			tl.toolWritesVerified++
			continue
		}
		saw := "no tool_mark"
		if r.reply.HasMark {
			saw = "tool_mark=null"
			if r.reply.Mark != nil {
				saw = fmt.Sprintf("tool_mark=%d", *r.reply.Mark)
			}
		}
		msg := fmt.Sprintf("client %d: %s (value %d) on %s exited 0 at %s, but the next request (sent %s, id %s, counter %d) saw %s",
			c.idx, o.kind, o.value, o.id, o.res.end.Format(time.StampMilli), r.send.Format(time.StampMilli),
			r.reply.IDBefore, r.reply.Counter, saw)
		if regenOverlaps(c, o) {
			tl.regenRaces = append(tl.regenRaces, msg+" (a request regenerating that id overlapped the command)")
		} else {
			tl.lostUpdates = append(tl.lostUpdates, msg)
		}
	}
}

// regenOverlaps reports whether a request of c that regenerated the id was
// in flight while o ran.
func regenOverlaps(c *client, o *op) bool {
	for i := range c.reqs {
		r := &c.reqs[i]
		if r.regen && r.send.Before(o.res.end) && r.recv.After(o.res.start) {
			return true
		}
	}
	return false
}

// requestContext describes the requests of c before request i and the
// sesstool runs on c around them, for a failure message.
func requestContext(c *client, i int, ops []op) string {
	var b strings.Builder
	from := max(0, i-3)
	for j := from; j <= i; j++ {
		r := &c.reqs[j]
		fmt.Fprintf(&b, "[req %s..%s id %s->%s counter %d hold %v regen %v] ", r.send.Format(time.StampMilli),
			r.recv.Format(time.StampMilli), r.reply.IDBefore, r.reply.ID, r.reply.Counter, r.hold, r.regen)
	}
	lo, hi := c.reqs[from].send.Add(-5*time.Second), c.reqs[i].recv
	for _, o := range ops {
		if o.res.end.After(lo) && o.res.start.Before(hi) {
			fmt.Fprintf(&b, "[%s %s %s..%s exit %d] ", o.kind, o.id, o.res.start.Format(time.StampMilli), o.res.end.Format(time.StampMilli), o.res.exit)
		}
	}
	return b.String()
}
