package sessfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// watchTree knows the shape of one save_path: its root directory and the
// number of one-character directory levels above the session files.
type watchTree struct {
	root  string // cleaned save_path directory
	depth int
}

// pathKind is what a path inside the tree is, as far as watch cares.
type pathKind int

const (
	pathOther   pathKind = iota // not something watch follows
	pathLevel                   // a level directory (depth > 0), or the root
	pathSession                 // a sess_<id> file where PHP would look for it
)

// classify says what name (a path under t.root) is by its place in the tree
// and its name alone, without touching the disk. For a level directory
// level is its distance from the root (1 for "root/a"); for a session id is
// its id.
func (t watchTree) classify(name string) (kind pathKind, level int, id string) {
	if name == t.root {
		return pathLevel, 0, ""
	}
	rel, ok := strings.CutPrefix(name, t.root+string(filepath.Separator))
	if !ok || rel == "" {
		return pathOther, 0, ""
	}
	parts := strings.Split(rel, string(filepath.Separator))
	last := parts[len(parts)-1]
	if len(parts) == t.depth+1 && strings.HasPrefix(last, filePrefix) {
		id = last[len(filePrefix):]
		if ValidateID(id) != nil || len(id) <= t.depth {
			return pathOther, 0, ""
		}
		for i, p := range parts[:t.depth] {
			if p != id[i:i+1] {
				return pathOther, 0, ""
			}
		}
		return pathSession, 0, id
	}
	if len(parts) <= t.depth {
		for _, p := range parts {
			if len(p) != 1 || ValidateID(p) != nil {
				return pathOther, 0, ""
			}
		}
		return pathLevel, len(parts), ""
	}
	return pathOther, 0, ""
}

// sessionPath is where the files handler keeps session id in this tree.
func (t watchTree) sessionPath(id string) string {
	parts := make([]string, 0, t.depth+2)
	parts = append(parts, t.root)
	for i := 0; i < t.depth && i < len(id); i++ {
		parts = append(parts, id[i:i+1])
	}
	return filepath.Join(append(parts, filePrefix+id)...)
}

// dirBatch is how many directory entries are read at a time, so that a
// directory of a million sessions never sits in memory as a whole.
const dirBatch = 1024

// eachEntry calls fn for every entry of dir, reading it in batches. A
// directory that vanished is empty, not an error.
func eachEntry(dir string, fn func(fs.DirEntry) error) error {
	f, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	for {
		ents, err := f.ReadDir(dirBatch)
		for _, e := range ents {
			if ferr := fn(e); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read directory %s: %w", dir, err)
		}
	}
}
