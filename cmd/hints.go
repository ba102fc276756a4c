package cmd

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sesstool/sesstool/sessfile"
)

// Hints instead of silence: the mistakes people make with save_paths get a
// line that says what they probably meant.

// errorHint returns a parenthesised hint for err ("" when none applies):
// a save_path that is only a number (an unquoted "N;DIR" the shell cut at
// ';'), permission denied to a user who is not root.
func errorHint(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Op == "open save_path" && errors.Is(pe.Err, fs.ErrNotExist) && isDigits(pe.Path) {
		return " (did you quote N;DIR? unquoted, the shell ends the value at ';': --save-path '" + pe.Path + ";/var/lib/php/sessions')"
	}
	if errors.Is(err, fs.ErrPermission) && geteuid() != 0 {
		return " (run as root or as the PHP user)"
	}
	return ""
}

// geteuid is os.Geteuid (a seam: tests run as root).
var geteuid = os.Geteuid

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// savePathUnreadable reports whether err is the save_path itself not
// opening (nothing was listed: no "0 sessions" summary before the error).
func savePathUnreadable(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Op == "open save_path"
}

// levelHint returns a hint when a save_path without levels holds no sess_*
// files but one-character directories, as a save_path with N levels does:
// the N the directories suggest, or "" when the layout does not look so.
func levelHint(sp sessfile.SavePath) string {
	if sp.Depth != 0 {
		return ""
	}
	n, dirs := 0, sp.Dir
	for n < sessfile.MaxDepth {
		ents, err := os.ReadDir(dirs)
		if err != nil {
			break
		}
		var level []string
		sess := false
		for _, e := range ents {
			name := e.Name()
			switch {
			case strings.HasPrefix(name, "sess_"):
				sess = true
			case e.IsDir() && len(name) == 1 && sessfile.ValidateID(name) == nil:
				level = append(level, name)
			}
		}
		if sess || len(level) == 0 {
			if n == 0 || !sess {
				return "" // sessions at the top, or no level directories
			}
			break
		}
		slices.Sort(level)
		n++
		dirs = filepath.Join(dirs, level[0])
	}
	if n == 0 {
		return ""
	}
	v := strconv.Itoa(n) + ";" + sp.Dir
	return "no sess_* files in " + sp.Dir + ", but one-character level directories: did you mean --save-path '" + v + "'?"
}
