package sessfile

import (
	"os"
	"strconv"
	"strings"
)

// DefaultMode is the mode of session files when save_path gives none.
const DefaultMode os.FileMode = 0o600

// MaxDepth is the largest N of an "N;DIR" save_path sesstool accepts: an id
// must be longer than N and no storable id is longer than MaxIDLen.
const MaxDepth = MaxIDLen - 1

// SavePath is a parsed session.save_path: DIR, N;DIR or N;MODE;DIR.
//
// Depth is N, the number of one-character directory levels. Mode is the
// permission of created session files (permission bits plus, possibly,
// os.ModeSetuid, os.ModeSetgid, os.ModeSticky); 0 means DefaultMode. Dir is
// the directory, verbatim (relative paths allowed).
type SavePath struct {
	Depth int
	Mode  os.FileMode
	Dir   string
}

// ParseSavePath parses a session.save_path value the way PHP splits it (on
// ';', at most twice, so a third field may itself contain ';'), but refuses
// what PHP would read leniently: an empty value or DIR, an N that is not a
// plain decimal number (or is larger than MaxDepth), a MODE that is not 1 to
// 4 octal digits, or MODE 0. Errors are *SavePathError naming the value.
func ParseSavePath(v string) (SavePath, error) {
	bad := func(reason string) (SavePath, error) {
		return SavePath{}, &SavePathError{Value: v, Reason: reason}
	}
	if v == "" {
		return bad("empty (PHP would use the system temp directory; give the directory explicitly)")
	}
	if strings.IndexByte(v, 0) >= 0 {
		return bad("contains a NUL byte")
	}
	fields := strings.SplitN(v, ";", 3)
	p := SavePath{Mode: DefaultMode}
	switch len(fields) {
	case 1:
		p.Dir = fields[0]
	case 2, 3:
		n := fields[0]
		if n == "" || len(n) > 3 || strings.Trim(n, "0123456789") != "" {
			return bad("depth N " + strconv.Quote(n) + " is not a decimal number")
		}
		d, _ := strconv.Atoi(n)
		if d > MaxDepth {
			return bad("depth " + n + " is larger than " + strconv.Itoa(MaxDepth) + " (no storable id is that long)")
		}
		p.Depth = d
		if len(fields) == 2 {
			p.Dir = fields[1]
			break
		}
		m := fields[1]
		if m == "" || len(m) > 4 || strings.Trim(m, "01234567") != "" {
			return bad("MODE " + strconv.Quote(m) + " is not 1 to 4 octal digits")
		}
		u, _ := strconv.ParseUint(m, 8, 32)
		if u&0o777 == 0 {
			return bad("MODE " + m + " gives no one access to the session files")
		}
		p.Mode = modeFromUnix(uint32(u))
		p.Dir = fields[2]
	}
	if p.Dir == "" {
		return bad("empty directory")
	}
	return p, nil
}

// String formats p as a save_path value that ParseSavePath reads back to p:
// "DIR" when that is enough, "N;DIR" for a layout with the default mode, else
// "N;MODE;DIR" (always used when DIR contains ';').
func (p SavePath) String() string {
	mode := p.mode()
	if mode != DefaultMode || strings.Contains(p.Dir, ";") {
		return strconv.Itoa(p.Depth) + ";" + formatOctal(unixMode(mode)) + ";" + p.Dir
	}
	if p.Depth != 0 {
		return strconv.Itoa(p.Depth) + ";" + p.Dir
	}
	return p.Dir
}

// mode returns the mode of created files, DefaultMode when p.Mode is 0.
func (p SavePath) mode() os.FileMode {
	if p.Mode == 0 {
		return DefaultMode
	}
	return p.Mode
}

func formatOctal(u uint32) string {
	s := strconv.FormatUint(uint64(u), 8)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

// modeFromUnix converts unix permission bits (07777) to an os.FileMode.
func modeFromUnix(u uint32) os.FileMode {
	m := os.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// unixMode converts an os.FileMode's permission and special bits to unix bits.
func unixMode(m os.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// RelPath returns the session file's path relative to Dir, built exactly as
// PHP builds it: with depth N, the first N characters of the id as one
// directory each, then "sess_" and the whole id ("a/b/sess_abcdef"). The id
// is validated first (ValidateID, and it must be longer than N).
func (p SavePath) RelPath(id string) (string, error) {
	if err := p.checkID(id); err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(2*p.Depth + len(filePrefix) + len(id))
	for i := range p.Depth {
		b.WriteByte(id[i])
		b.WriteByte('/')
	}
	b.WriteString(filePrefix)
	b.WriteString(id)
	return b.String(), nil
}

// Path returns Dir joined with RelPath(id), the full path as PHP names it
// (Dir verbatim, so a trailing '/' in Dir gives a harmless "//" as in PHP).
func (p SavePath) Path(id string) (string, error) {
	rel, err := p.RelPath(id)
	if err != nil {
		return "", err
	}
	return p.join(rel), nil
}

func (p SavePath) join(rel string) string {
	return p.Dir + "/" + rel
}

// checkID validates id and its length against the layout depth.
func (p SavePath) checkID(id string) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	if len(id) <= p.Depth {
		return &InvalidIDError{ID: id, Reason: "must be longer than the save_path depth " + strconv.Itoa(p.Depth)}
	}
	return nil
}
