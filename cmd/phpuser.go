package cmd

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sesstool/sesstool/internal/phpini"
	"github.com/sesstool/sesstool/sessfile"
)

// phpUser is the user PHP's workers run as, found in the SAPI's
// configuration: who owns the sessions PHP creates.
type phpUser struct {
	UID, GID int
	Name     string
	Where    string // "user = www-data in /etc/php/8.2/fpm/pool.d/www.conf:23 [pool www]"
}

// findPHPUser works out the PHP user for the sessions of st's save_path
// from the configuration PHP's SAPIs run with, never from the files in the
// save_path (on Debian's 1733 save_path any local user can plant one):
//
//   - PHP-FPM: the user = of the pools whose session.save_path is this one
//     (a pool's php_value / php_admin_value, else the FPM SAPI's php.ini and
//     conf.d, else Debian's compiled-in one: a pool without an override
//     uses that one save_path, not every save_path);
//   - Apache with mod_php: APACHE_RUN_USER / APACHE_RUN_GROUP of
//     /etc/apache2/envvars, when the apache2 SAPI's php.ini save_path is
//     this one.
//
// The SAPI whose php.ini was used is looked at, or both when none was. ok
// is false when no user, or more than one, is named; why then says so.
func findPHPUser(st *Settings, etcRoot string) (u phpUser, ok bool, why string) {
	return findPHPUserOf(st, etcRoot, false)
}

// findPHPUserOf is findPHPUser; strict (audit, which knows every
// save_path PHP is configured with) counts a pool without a save_path of
// its own only for its SAPI's php.ini one, and mod_php's user only for the
// apache2 SAPI's. Otherwise (sesstool creating a session in the save_path
// it was given, which an application may also set at run time) such a pool
// and mod_php count for any save_path.
func findPHPUserOf(st *Settings, etcRoot string, strict bool) (u phpUser, ok bool, why string) {
	type cand struct{ name, group, where string }
	var cands []cand
	sapis := []string{"fpm", "apache2"}
	if st.SAPI == "fpm" || st.SAPI == "apache2" {
		sapis = []string{st.SAPI}
	}
	versions := []string{st.Version}
	if st.Version == "" {
		dirs, _ := filepath.Glob(filepath.Join(etcRoot, "etc", "php", "*"))
		versions = nil
		for _, d := range dirs {
			versions = append(versions, filepath.Base(d))
		}
	}
	for _, sapi := range sapis {
		for _, v := range versions {
			switch sapi {
			case "fpm":
				conf := filepath.Join(etcRoot, "etc", "php", v, "fpm", "php-fpm.conf")
				if _, err := os.Stat(conf); err != nil {
					continue
				}
				fpm, err := phpini.LoadFPM(conf, etcRoot, os.Getenv)
				if err != nil {
					continue
				}
				sapiPath := sapiSavePath(etcRoot, v, sapi)
				for _, p := range fpm.Pools {
					if p.User.Value == "" {
						continue
					}
					e, set := p.Values["session.save_path"]
					sp := sapiPath
					if set {
						sp = e.Value
					}
					if (strict || set) && !sameSavePath(sp, st.SavePath.Value) {
						continue // this pool keeps its sessions elsewhere
					}
					cands = append(cands, cand{p.User.Value, p.Group.Value, fmt.Sprintf("user = %s in %s [pool %s]", p.User.Value, p.User.Where(), p.Name)})
				}
			case "apache2":
				if _, err := os.Stat(filepath.Join(etcRoot, "etc", "php", v, "apache2")); err != nil {
					continue
				}
				if strict && !sameSavePath(sapiSavePath(etcRoot, v, sapi), st.SavePath.Value) {
					continue // mod_php keeps its sessions elsewhere
				}
				envvars := filepath.Join(etcRoot, "etc", "apache2", "envvars")
				name, group, line := apacheRunUser(envvars)
				if name != "" {
					cands = append(cands, cand{name, group, fmt.Sprintf("APACHE_RUN_USER=%s in %s:%d", name, envvars, line)})
				}
			}
		}
	}
	var names []string
	for _, c := range cands {
		if !slices.Contains(names, c.name) {
			names = append(names, c.name)
		}
	}
	switch len(names) {
	case 0:
		return u, false, "no PHP-FPM pool or Apache configuration names the PHP user"
	case 1:
	default:
		return u, false, fmt.Sprintf("the configuration names several PHP users (%s)", strings.Join(names, ", "))
	}
	c := cands[0]
	pw, err := user.Lookup(c.name)
	if err != nil {
		return u, false, fmt.Sprintf("%s, but there is no such user", c.where)
	}
	uid, err1 := strconv.Atoi(pw.Uid)
	gid, err2 := strconv.Atoi(pw.Gid)
	if err1 != nil || err2 != nil {
		return u, false, fmt.Sprintf("%s: uid/gid %q/%q are not numbers", c.where, pw.Uid, pw.Gid)
	}
	if c.group != "" {
		if g, err := user.LookupGroup(c.group); err == nil {
			if n, err := strconv.Atoi(g.Gid); err == nil {
				gid = n
			}
		}
	}
	return phpUser{UID: uid, GID: gid, Name: c.name, Where: c.where}, true, ""
}

// apacheRunUser reads APACHE_RUN_USER and APACHE_RUN_GROUP from Debian's
// /etc/apache2/envvars ("export APACHE_RUN_USER=www-data"), with the line
// of the user.
func apacheRunUser(path string) (name, group string, line int) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimSpace(sc.Text())
		l = strings.TrimSpace(strings.TrimPrefix(l, "export "))
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		if strings.ContainsAny(v, "$`; ") {
			continue // computed values: not something to trust
		}
		switch k {
		case "APACHE_RUN_USER":
			name, line = v, n
		case "APACHE_RUN_GROUP":
			group = v
		}
	}
	return name, group, line
}

// sapiSavePath is the session.save_path of PHP ver's sapi as its php.ini
// and conf.d set it, else Debian's compiled-in one (an /etc/php/VER tree
// is Debian's layout).
func sapiSavePath(etcRoot, ver, sapi string) string {
	dir := filepath.Join(etcRoot, "etc", "php", ver, sapi)
	cfg := phpini.Load(append([]string{filepath.Join(dir, "php.ini")}, phpini.ScanDir(filepath.Join(dir, "conf.d"))...), os.Getenv)
	if e, ok := cfg.Get("session.save_path"); ok {
		return e.Value
	}
	return DebianSavePath
}

// sameSavePath reports whether two session.save_path values name the same
// directory (an empty one: PHP's temporary directory, taken as /tmp).
func sameSavePath(a, b string) bool {
	if a == b {
		return true
	}
	dir := func(v string) (string, bool) {
		if strings.TrimSpace(v) == "" {
			return "/tmp", true
		}
		sp, err := sessfile.ParseSavePath(v)
		if err != nil {
			return "", false
		}
		return filepath.Clean(sp.Dir), true
	}
	da, okA := dir(a)
	db, okB := dir(b)
	return okA && okB && da == db
}
