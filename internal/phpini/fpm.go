package phpini

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FPMPool is one PHP-FPM pool section and the ini settings its php_value[]
// and php_admin_value[] directives give the pool's workers.
type FPMPool struct {
	Name string // section name, e.g. "www"
	File string // file where the section was first opened
	Line int    // line of that section header

	// Values maps an ini name ("session.save_path") to the directive that
	// is in effect for the pool's workers, as FPM applies them: every
	// php_value first, then every php_admin_value (so an admin value beats a
	// plain one), and within one kind the list is applied in reverse file
	// order (fpm_conf_set_array prepends), so the first occurrence wins.
	// Entry.Key is the directive as written ("php_admin_value[...]").
	Values map[string]Entry

	// User and Group are the pool's user = and group = directives (the
	// user its workers run as, who owns the sessions they create); empty
	// Value when not set.
	User, Group Entry
}

// FPMConfig is what LoadFPM read: the pools in order of first appearance,
// the files read, and warnings (unreadable includes, syntax errors).
type FPMConfig struct {
	Pools    []*FPMPool
	Files    []string
	Warnings []string
}

// maxFPMIncludes bounds the files one LoadFPM reads (include loops).
const maxFPMIncludes = 1000

// LoadFPM reads a php-fpm.conf and every file its include= directives name
// (glob patterns, in sorted order, included where the directive stands, as
// FPM does), and collects each pool's php_value / php_admin_value settings.
// "$pool" in a value is replaced by the pool's name, as FPM does. root
// re-roots absolute paths (include targets) for tests; "" or "/" means the
// real filesystem. A relative include is taken relative to the including
// file's directory (FPM uses its --prefix or working directory; Debian's
// configuration uses absolute paths). A missing conf is an error; problems
// in included files are warnings.
func LoadFPM(conf, root string, getenv func(string) string) (*FPMConfig, error) {
	if _, err := os.Stat(conf); err != nil {
		return nil, fmt.Errorf("reading FPM configuration %s: %w", conf, err)
	}
	l := &fpmLoader{root: root, getenv: getenv, cfg: &FPMConfig{}, byName: map[string]*fpmPoolBuild{}, vars: map[string]string{}}
	l.load(conf, 0)
	for _, b := range l.order {
		l.cfg.Pools = append(l.cfg.Pools, b.finish())
	}
	return l.cfg, nil
}

type fpmLoader struct {
	root   string
	getenv func(string) string
	cfg    *FPMConfig
	byName map[string]*fpmPoolBuild
	order  []*fpmPoolBuild
	vars   map[string]string
	cur    *fpmPoolBuild
	reads  int
}

type fpmPoolBuild struct {
	pool        *FPMPool
	value, admn []Entry // in file order
}

// finish applies FPM's order: php_value list (reverse file order), then
// php_admin_value list (reverse file order); the last applied wins.
func (b *fpmPoolBuild) finish() *FPMPool {
	b.pool.Values = map[string]Entry{}
	for _, list := range [][]Entry{b.value, b.admn} {
		for _, e := range slices.Backward(list) {
			b.pool.Values[fpmIniName(e.Key)] = e
		}
	}
	return b.pool
}

// fpmIniName returns "x" for "php_value[x]" or "php_admin_value[x]".
func fpmIniName(key string) string {
	i := strings.IndexByte(key, '[')
	return strings.TrimSpace(strings.TrimSuffix(key[i+1:], "]"))
}

// fpmKind classifies a pool directive: 1 php_value/php_flag, 2
// php_admin_value/php_admin_flag, 0 anything else.
func fpmKind(key string) int {
	i := strings.IndexByte(key, '[')
	if i < 0 || !strings.HasSuffix(key, "]") {
		return 0
	}
	switch strings.TrimSpace(key[:i]) {
	case "php_value", "php_flag":
		return 1
	case "php_admin_value", "php_admin_flag":
		return 2
	}
	return 0
}

func (l *fpmLoader) reroot(p string) string {
	if l.root == "" || l.root == "/" || !filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.root, p)
}

func (l *fpmLoader) load(file string, depth int) {
	l.reads++
	if l.reads > maxFPMIncludes || depth > 32 {
		l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("%s: too many nested or repeated includes, not read", file))
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("cannot read %s: %v", file, err))
		return
	}
	l.cfg.Files = append(l.cfg.Files, file)
	text := string(b)
	sections := sectionLines(text)
	ents, perr := Parse(text, file, l.getenv, l.vars)
	si := 0
	for _, e := range ents {
		for si < len(sections) && sections[si].line < e.Line {
			l.section(sections[si].name, file, sections[si].line)
			si++
		}
		l.vars[e.Key] = e.Value
		switch {
		case e.Key == "include":
			l.include(file, e, depth)
		case (e.Key == "user" || e.Key == "group") && l.cur != nil:
			e.Value = strings.ReplaceAll(e.Value, "$pool", l.cur.pool.Name)
			if e.Key == "user" {
				l.cur.pool.User = e
			} else {
				l.cur.pool.Group = e
			}
		case fpmKind(e.Key) != 0 && l.cur != nil:
			e.Value = strings.ReplaceAll(e.Value, "$pool", l.cur.pool.Name)
			if fpmKind(e.Key) == 1 {
				l.cur.value = append(l.cur.value, e)
			} else {
				l.cur.admn = append(l.cur.admn, e)
			}
		case fpmKind(e.Key) != 0:
			l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("%s: %s outside a pool section, ignored", e.Where(), e.Key))
		}
	}
	for ; si < len(sections); si++ {
		l.section(sections[si].name, file, sections[si].line)
	}
	if perr != nil {
		l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("%v (FPM refuses to start with this file)", perr))
	}
}

// section opens (or re-opens) a pool; [global] closes the current pool.
func (l *fpmLoader) section(name, file string, line int) {
	if strings.EqualFold(name, "global") {
		l.cur = nil
		return
	}
	if b, ok := l.byName[name]; ok {
		l.cur = b
		return
	}
	b := &fpmPoolBuild{pool: &FPMPool{Name: name, File: file, Line: line}}
	l.byName[name] = b
	l.order = append(l.order, b)
	l.cur = b
}

func (l *fpmLoader) include(from string, e Entry, depth int) {
	pat := e.Value
	if !filepath.IsAbs(pat) {
		pat = filepath.Join(filepath.Dir(from), pat)
	} else {
		pat = l.reroot(pat)
	}
	matches, err := filepath.Glob(pat)
	if err != nil {
		l.cfg.Warnings = append(l.cfg.Warnings, fmt.Sprintf("%s: include %q: %v", e.Where(), e.Value, err))
		return
	}
	slices.Sort(matches)
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
			l.load(m, depth+1)
		}
	}
}

type sectionLine struct {
	line int
	name string
}

// sectionLines finds the [name] headers of ini text with their lines.
func sectionLines(text string) []sectionLine {
	var out []sectionLine
	for i, ln := range strings.Split(text, "\n") {
		s := strings.TrimSpace(ln)
		if len(s) > 2 && s[0] == '[' {
			if j := strings.IndexByte(s, ']'); j > 1 {
				out = append(out, sectionLine{line: i + 1, name: strings.TrimSpace(s[1:j])})
			}
		}
	}
	return out
}
