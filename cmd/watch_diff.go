package cmd

import (
	"strconv"

	"github.com/sesstool/sesstool/phpser"
)

// Operations on a session key, as watch --decode reports them.
const (
	opAdded   = "added"
	opRemoved = "removed"
	opChanged = "changed"
)

// keyChange is one top-level key of a session that was added, removed or
// changed between two decoded states. Val is the new value (unset for
// removed keys).
type keyChange struct {
	Key string
	Op  string
	Val phpser.Value
}

// keyName is how a top-level key is shown: a string key as its bytes, an
// int key (php_serialize) in decimal.
func keyName(k phpser.Key) string {
	if k.IsInt {
		return strconv.FormatInt(k.Int, 10)
	}
	return k.Str
}

// keyIdentity tells an int key 5 from a string key "5".
func keyIdentity(k phpser.Key) string {
	if k.IsInt {
		return "i" + strconv.FormatInt(k.Int, 10)
	}
	return "s" + k.Str
}

// lastEntries returns the session's top-level entries with duplicates
// resolved as PHP resolves them when it decodes (the last one wins), in the
// order of their last occurrence, and an index from key identity to entry.
func lastEntries(s *phpser.Session) ([]phpser.Entry, map[string]int) {
	ents := s.Entries()
	last := make(map[string]int, len(ents))
	for i, e := range ents {
		last[keyIdentity(e.Key)] = i
	}
	out := make([]phpser.Entry, 0, len(last))
	idx := make(map[string]int, len(last))
	for i, e := range ents {
		id := keyIdentity(e.Key)
		if last[id] == i {
			idx[id] = len(out)
			out = append(out, e)
		}
	}
	return out, idx
}

// diffSessions returns the top-level keys that differ between old and cur:
// added and changed keys in cur's order, then removed keys in old's order.
// A nil old means an empty session (everything in cur is added).
func diffSessions(old, cur *phpser.Session) []keyChange {
	var oldEnts []phpser.Entry
	oldIdx := map[string]int{}
	if old != nil {
		oldEnts, oldIdx = lastEntries(old)
	}
	curEnts, curIdx := lastEntries(cur)
	var out []keyChange
	for _, e := range curEnts {
		i, ok := oldIdx[keyIdentity(e.Key)]
		switch {
		case !ok:
			out = append(out, keyChange{Key: keyName(e.Key), Op: opAdded, Val: e.Val})
		case !phpser.Equal(oldEnts[i].Val, e.Val):
			out = append(out, keyChange{Key: keyName(e.Key), Op: opChanged, Val: e.Val})
		}
	}
	for _, e := range oldEnts {
		if _, ok := curIdx[keyIdentity(e.Key)]; !ok {
			out = append(out, keyChange{Key: keyName(e.Key), Op: opRemoved})
		}
	}
	return out
}
