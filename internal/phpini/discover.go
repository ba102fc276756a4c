package phpini

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// SAPIs are the server APIs Discover knows, in the default search order:
// the web SAPIs first, because that is where sessions live.
var SAPIs = []string{"fpm", "apache2", "cgi", "cli"}

// Location is the set of ini files PHP would load for one SAPI.
type Location struct {
	SAPI    string   // fpm, apache2, cgi or cli
	Version string   // e.g. "8.2"
	IniFile string   // /etc/php/<ver>/<sapi>/php.ini
	ScanDir string   // /etc/php/<ver>/<sapi>/conf.d (may not exist)
	Files   []string // IniFile, then the scan dir's *.ini files in alphabetical order
}

// Discover finds the php.ini of sapi (or, when sapi is "", of the first of
// SAPIs that exists) for the newest PHP version under etcRoot/etc/php, the
// Debian layout /etc/php/<ver>/<sapi>/php.ini with conf.d beside it. It
// returns nil and no error when no php.ini exists; debian reports whether
// etcRoot/etc/php exists at all (a Debian-style install).
func Discover(etcRoot, sapi string) (loc *Location, debian bool, err error) {
	base := filepath.Join(etcRoot, "etc", "php")
	ents, err := os.ReadDir(base)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("reading %s: %w", base, err)
	}
	var versions []string
	for _, e := range ents {
		if e.IsDir() && isVersion(e.Name()) {
			versions = append(versions, e.Name())
		}
	}
	slices.SortFunc(versions, func(a, b string) int { return -compareVersions(a, b) })
	sapis := SAPIs
	if sapi != "" {
		sapis = []string{sapi}
	}
	for _, s := range sapis {
		for _, v := range versions {
			ini := filepath.Join(base, v, s, "php.ini")
			if st, err := os.Stat(ini); err == nil && st.Mode().IsRegular() {
				loc := &Location{SAPI: s, Version: v, IniFile: ini, ScanDir: filepath.Join(base, v, s, "conf.d")}
				loc.Files = append([]string{ini}, ScanDir(loc.ScanDir)...)
				return loc, true, nil
			}
		}
	}
	return nil, true, nil
}

// ScanDir lists the *.ini regular files of dir in alphabetical order, as PHP
// reads its scan directory (PHP_INI_SCAN_DIR). A missing dir gives nil.
func ScanDir(dir string) []string {
	ents, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".ini") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		out = append(out, p)
	}
	return out
}

func isVersion(s string) bool {
	for _, f := range strings.Split(s, ".") {
		if _, err := strconv.Atoi(f); err != nil {
			return false
		}
	}
	return true
}

func compareVersions(a, b string) int {
	fa, fb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(fa) || i < len(fb); i++ {
		var x, y int
		if i < len(fa) {
			x, _ = strconv.Atoi(fa[i])
		}
		if i < len(fb) {
			y, _ = strconv.Atoi(fb[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// Config is the result of loading ini files in order: the last directive of
// each key wins.
type Config struct {
	Files    []string         // files read, in order
	Entries  map[string]Entry // effective directive per key
	Warnings []string         // syntax errors and unreadable files
}

// Load parses files in order, later values overriding earlier ones, the way
// PHP applies php.ini and then its scan directory.
func Load(files []string, getenv func(string) string) *Config {
	c := &Config{Entries: map[string]Entry{}}
	vars := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if errorsIsNotExist(err) {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s: not found", f))
			} else {
				c.Warnings = append(c.Warnings, fmt.Sprintf("cannot read %s: %v", f, err))
			}
			continue
		}
		c.Files = append(c.Files, f)
		ents, perr := Parse(string(b), f, getenv, vars)
		for _, e := range ents {
			c.Entries[e.Key] = e
			vars[e.Key] = e.Value
		}
		if perr != nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%v (PHP ignores the rest of the file)", perr))
		}
	}
	return c
}

func errorsIsNotExist(err error) bool {
	return err != nil && os.IsNotExist(err) || err == fs.ErrNotExist
}

// Get returns the effective directive for key.
func (c *Config) Get(key string) (Entry, bool) {
	e, ok := c.Entries[key]
	return e, ok
}
