package store

import (
	"context"
	"hash/fnv"
	"time"
)

// polled is what poll remembers of a session: its size and a hash of its
// bytes (8 bytes a session, never the bytes).
type polled struct {
	info Info
	sum  uint64
}

// Poll is Watch by comparing listings, for stores without notifications
// (or with --poll): it compares the store every opts.Poll: a new session is created, one
// whose bytes changed (by a hash: a same-sized change with its TTL kept is
// one too) is modified, one gone is deleted. Each round reads every
// session (its Read), so --poll costs a read per session per round.
func Poll(ctx context.Context, s Store, opts WatchOptions) <-chan Event {
	out := make(chan Event, 64)
	only := map[string]bool{}
	for _, id := range opts.IDs {
		only[id] = true
	}
	prev := map[string]polled{}
	first := true
	send := func(ev Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// round lists and reads every session once and sends what changed
	// since the last round; false ends the watch.
	round := func() bool {
		cur := map[string]polled{}
		var ids []string
		err := s.Walk(ctx, func(in Info) error {
			if len(only) == 0 || only[in.ID] {
				ids = append(ids, in.ID)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				send(Event{Time: time.Now(), Err: err})
			}
			return false
		}
		for _, id := range ids {
			data, in, err := s.Read(ctx, id)
			if err != nil {
				continue // gone meanwhile
			}
			h := fnv.New64a()
			h.Write(data)
			p := polled{info: in, sum: h.Sum64()}
			cur[id] = p
			if first {
				continue
			}
			old, ok := prev[id]
			switch {
			case !ok:
				if !send(Event{Time: time.Now(), Kind: Created, Info: in, Data: data}) {
					return false
				}
			case old.sum != p.sum:
				if !send(Event{Time: time.Now(), Kind: Modified, Info: in, Data: data}) {
					return false
				}
			}
		}
		if !first {
			for id, p := range prev {
				if _, ok := cur[id]; !ok {
					if !send(Event{Time: time.Now(), Kind: Deleted, Info: Info{ID: id, Server: p.info.Server}}) {
						return false
					}
				}
			}
		}
		prev, first = cur, false
		return true
	}
	// The first round is the baseline, taken before Watch returns: what
	// changes after it is reported.
	ok := round()
	go func() {
		defer close(out)
		if !ok {
			return
		}
		tick := time.NewTicker(opts.Poll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if !round() {
				return
			}
		}
	}()
	return out
}
