package cmd

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/internal/phpini"
	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/sessmemcache"
	"github.com/sesstool/sesstool/sessredis"
	"github.com/sesstool/sesstool/store"
)

// Severities, highest first.
var severities = []string{"high", "medium", "low", "info"}

func severityRank(s string) int { return slices.Index(severities, s) }

// Finding is one thing audit found.
type Finding struct {
	Severity string `json:"severity"`
	Rule     string `json:"rule"`  // stable id: "use_strict_mode", "save_path_mode", ...
	What     string `json:"what"`  // what is wrong
	Where    string `json:"where"` // file:line, path or key it comes from
	Scope    string `json:"scope"` // the SAPI, pool or store it concerns
	Fix      string `json:"fix"`
}

// AuditOptions are audit's flags and what it needs from the Factory.
type AuditOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	Open     func() (Backend, *Settings, error)
	Getenv   func(string) string
	Global   *GlobalOptions
	Output   string
	FailOn   string
	NoStore  bool // configuration only
}

// NewCmdAudit builds "sesstool audit".
func NewCmdAudit(f *Factory, runF func(context.Context, *AuditOptions) error) *cobra.Command {
	opts := &AuditOptions{IO: f.IO, Settings: f.Settings, Open: f.OpenBackend, Getenv: f.Getenv, Global: &f.Global}
	c := &cobra.Command{
		Use:   "audit",
		Short: "Check the session configuration and store against PHP's security rules",
		Long: `Check the configuration of every SAPI's php.ini and each PHP-FPM pool (or
the one --php-ini names), and the store, against PHP's security and hygiene
rules: strict mode, cookie-only ids, cookie flags, id entropy, a GC that
never runs, the save_path's mode and owner, session files other users can
read or the PHP user does not own, a gc_maxlifetime above 30 days on
memcached, phpredis locking off, Redis or Memcached reachable without auth
on a non-loopback address, keys without a TTL.

Each finding has a severity (high, medium, low, info), what is wrong, where
it comes from (file:line, path or key), the SAPI or pool it concerns, and the
fix. Exit 1 when a finding at or above --fail-on (default high) exists, else
0: for CI and monitoring.`,
		Example: `  sesstool audit --config-only --php-ini testdata/audit/php.ini
  sesstool audit --save-path testdata/demo --php-ini testdata/audit/php.ini --fail-on high -o json`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return auditRun(c.Context(), opts)
		},
	}
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON, FormatJSONL)
	c.Flags().StringVar(&opts.FailOn, "fail-on", "high", "exit 1 when a finding of this `severity` or higher exists: high, medium, low, info")
	c.Flags().BoolVar(&opts.NoStore, "config-only", false, "check the configuration only, not the store")
	return c
}

// auditScope is one configuration PHP runs with: a SAPI's php.ini and
// conf.d, or a pool's overrides on top of its SAPI's.
type auditScope struct {
	Name     string
	SAPI     string // fpm, apache2, cgi, cli, ...; "" for --php-ini
	Version  string // "8.2"; "" for --php-ini
	Pool     string // the PHP-FPM pool; "" for a SAPI
	defaults bool   // no php.ini: PHP's defaults and the flags
	get      func(key string) (phpini.Entry, bool)
	files    bool // its save_handler is files
}

// value returns a setting's value and where it comes from (or PHP's
// default and "default").
func (s auditScope) value(key, def string) (string, string) {
	if e, ok := s.get(key); ok {
		return e.Value, e.Where()
	}
	return def, "default"
}

// savePath is the files save_path this scope's PHP keeps its sessions in:
// session.save_path; when a SAPI's or pool's configuration under /etc/php
// (Debian's layout) does not set it, the one Debian compiles in; when it
// is empty PHP's temporary directory (sys_temp_dir, else /tmp). ok is
// false for a value PHP reads leniently and sesstool refuses.
func (s auditScope) savePath() (sp sessfile.SavePath, value, where string, ok bool) {
	def := ""
	if s.SAPI != "" {
		def = DebianSavePath
	}
	value, where = s.value("session.save_path", def)
	v := value
	if strings.TrimSpace(v) == "" {
		v = "/tmp"
		if t, _ := s.value("sys_temp_dir", ""); t != "" {
			v = t
		}
	}
	sp, err := sessfile.ParseSavePath(v)
	return sp, value, where, err == nil
}

// auditScopes are every SAPI and pool configuration found under etcRoot,
// or the one --php-ini names.
func auditScopes(g *GlobalOptions, getenv func(string) string) []auditScope {
	etcRoot := g.EtcRoot
	if etcRoot == "" {
		etcRoot = "/"
	}
	if g.PHPIni != "" {
		return []auditScope{newAuditScope(g.PHPIni, "", "", phpini.Load([]string{g.PHPIni}, getenv), nil)}
	}
	return machineScopes(etcRoot, getenv)
}

// machineScopes are every SAPI's and PHP-FPM pool's configuration under
// etcRoot.
func machineScopes(etcRoot string, getenv func(string) string) []auditScope {
	var out []auditScope
	_ = eachSAPIConfig(etcRoot, getenv, func(ver, sapi, dir, _ string, cfg *phpini.Config) {
		out = append(out, newAuditScope(fmt.Sprintf("PHP %s %s", ver, sapi), sapi, ver, cfg, nil))
		if sapi != "fpm" {
			return
		}
		fpm, err := phpini.LoadFPM(filepath.Join(dir, "php-fpm.conf"), etcRoot, getenv)
		if err != nil {
			return
		}
		for _, pool := range fpm.Pools {
			out = append(out, newAuditScope(fmt.Sprintf("PHP %s fpm pool %s", ver, pool.Name), sapi, ver, cfg, pool))
		}
	})
	return out
}

func newAuditScope(name, sapi, ver string, cfg *phpini.Config, pool *phpini.FPMPool) auditScope {
	get := func(key string) (phpini.Entry, bool) {
		if pool != nil {
			if e, ok := pool.Values[key]; ok {
				return e, true
			}
		}
		return cfg.Get(key)
	}
	s := auditScope{Name: name, SAPI: sapi, Version: ver, get: get}
	if pool != nil {
		s.Pool = pool.Name
	}
	h, _ := s.value("session.save_handler", "files")
	s.files = strings.EqualFold(strings.TrimSpace(h), "files")
	return s
}

// sweepCover tells which files save_paths the external sweeps installed
// on the machine (findCleaners) delete old sessions from.
type sweepCover struct {
	cleaners []cleaner
	etcRoot  string
	getenv   func(string) string
	// sessionclean's directories: each SAPI's php.ini (and conf.d)
	// save_path with save_handler files, as /usr/lib/php/sessionclean
	// reads it (everything up to the last ';' dropped), where it is a
	// directory; all: every save_path of every SAPI and pool.
	sessionclean, all map[string]bool
}

func newSweepCover(cleaners []cleaner, etcRoot string, getenv func(string) string) *sweepCover {
	return &sweepCover{cleaners: cleaners, etcRoot: etcRoot, getenv: getenv}
}

func (c *sweepCover) load() {
	if c.all != nil {
		return
	}
	c.sessionclean, c.all = map[string]bool{}, map[string]bool{}
	for _, s := range machineScopes(c.etcRoot, c.getenv) {
		if !s.files {
			continue
		}
		if sp, _, _, ok := s.savePath(); ok {
			c.all[filepath.Clean(sp.Dir)] = true
		}
		if s.Pool != "" || !slices.Contains(gcAllSAPIs, s.SAPI) {
			continue // sessionclean runs php -c php.ini: no pool's values
		}
		v, _ := s.value("session.save_path", "")
		if i := strings.LastIndexByte(v, ';'); i >= 0 {
			v = v[i+1:]
		}
		if fi, err := os.Stat(v); v != "" && err == nil && fi.IsDir() {
			c.sessionclean[filepath.Clean(v)] = true
		}
	}
}

// covers returns the cleaner that sweeps dir, a files save_path.
func (c *sweepCover) covers(dir string) (cleaner, bool) {
	dir = filepath.Clean(dir)
	for _, cl := range c.cleaners {
		sw := cl.Sweep
		if h := strings.ToLower(sw.SaveHandler); h != "" && h != "files" {
			continue
		}
		switch {
		case sw.SessionClean:
			c.load()
			if c.sessionclean[dir] {
				return cl, true
			}
		case sw.SavePath != "":
			if sp, err := sessfile.ParseSavePath(sw.SavePath); err == nil && filepath.Clean(sp.Dir) == dir {
				return cl, true
			}
		case sw.All:
			c.load()
			if c.all[dir] {
				return cl, true
			}
		default:
			// sesstool gc with the settings of --php-ini, else of the
			// SAPI it finds first (as every command finds them).
			var files []string
			if sw.PHPIni != "" {
				files = []string{filepath.Join(c.etcRoot, sw.PHPIni)}
			} else if loc, _, err := phpini.Discover(c.etcRoot, sw.SAPI); err == nil && loc != nil {
				files = loc.Files
			}
			if len(files) == 0 {
				continue
			}
			cfg := phpini.Load(files, c.getenv)
			s := auditScope{get: cfg.Get}
			if sp, _, _, ok := s.savePath(); ok && filepath.Clean(sp.Dir) == dir {
				return cl, true
			}
		}
	}
	return cleaner{}, false
}

func auditRun(ctx context.Context, opts *AuditOptions) error {
	if err := checkFormat(opts.Output, FormatHuman, FormatJSON, FormatJSONL); err != nil {
		return err
	}
	if severityRank(opts.FailOn) < 0 {
		return UsageErrorf("--fail-on %q: want one of %s", opts.FailOn, strings.Join(severities, ", "))
	}
	etcRoot := opts.Global.EtcRoot
	if etcRoot == "" {
		etcRoot = "/"
	}
	var fs []Finding
	add := func(f Finding) { fs = append(fs, f) }
	scopes := auditScopes(opts.Global, opts.Getenv)
	st, err := opts.Settings()
	if err != nil {
		return err
	}
	if len(scopes) == 0 {
		// No php.ini found: PHP's defaults (and the flags) are what runs.
		scopes = []auditScope{{Name: "PHP defaults", defaults: true, get: func(string) (phpini.Entry, bool) { return phpini.Entry{}, false }, files: st.StoreHandler() == "files"}}
	}
	cover := newSweepCover(findCleaners(etcRoot), etcRoot, opts.Getenv)
	for _, s := range scopes {
		auditConfig(s, cover, add)
	}
	if !opts.NoStore {
		auditStore(ctx, opts, st, scopes, etcRoot, add)
	}
	// Deduplicate (a pool without overrides repeats its SAPI's findings for
	// the same file:line) and sort: severity, rule, where.
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Where, b.Where), cmp.Compare(a.Scope, b.Scope))
	})
	fs = slices.CompactFunc(fs, func(a, b Finding) bool {
		return a.Rule == b.Rule && a.Where == b.Where && a.What == b.What && a.Where != "default"
	})
	if fs == nil {
		fs = []Finding{}
	}
	switch opts.Output {
	case FormatJSON:
		if err := writeJSON(opts.IO.Out, fs); err != nil {
			return err
		}
	case FormatJSONL:
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetEscapeHTML(false)
		for _, f := range fs {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
	default:
		printFindings(opts.IO, fs, len(scopes), !opts.NoStore)
	}
	for _, f := range fs {
		if severityRank(f.Severity) <= severityRank(opts.FailOn) {
			return &SilentError{Code: ExitFailure}
		}
	}
	return nil
}

// auditConfig checks one scope's settings (PHP-FACTS section 7).
func auditConfig(s auditScope, cover *sweepCover, add func(Finding)) {
	f := func(sev, rule, what, where, fix string) {
		add(Finding{Severity: sev, Rule: rule, What: what, Where: where, Scope: s.Name, Fix: fix})
	}
	on := func(key, def string) (bool, string, string) {
		v, w := s.value(key, def)
		return iniBool(v), v, w
	}
	if ok, v, w := on("session.use_strict_mode", "0"); !ok {
		sev := "medium"
		if s.files {
			sev = "high" // any client can then create sess_<its id> files
		}
		f(sev, "use_strict_mode", fmt.Sprintf("session.use_strict_mode is %q: PHP adopts session ids the client makes up (session fixation)", v), w, "session.use_strict_mode = 1")
	}
	if ok, v, w := on("session.use_only_cookies", "1"); !ok {
		f("high", "use_only_cookies", fmt.Sprintf("session.use_only_cookies is %q: ids are accepted from URLs and forms", v), w, "session.use_only_cookies = 1")
	}
	if ok, v, w := on("session.use_trans_sid", "0"); ok {
		f("high", "use_trans_sid", fmt.Sprintf("session.use_trans_sid is %q: ids are written into URLs, where they leak (Referer, logs)", v), w, "session.use_trans_sid = 0")
	}
	if ok, v, w := on("session.cookie_httponly", "0"); !ok {
		f("medium", "cookie_httponly", fmt.Sprintf("session.cookie_httponly is %q: scripts in the page can read the session cookie", v), w, "session.cookie_httponly = 1")
	}
	secure, sv, sw := on("session.cookie_secure", "0")
	if !secure {
		f("low", "cookie_secure", fmt.Sprintf("session.cookie_secure is %q: the cookie is also sent over plain HTTP", sv), sw, "session.cookie_secure = 1 (on a site served over HTTPS only)")
	}
	switch v, w := s.value("session.cookie_samesite", ""); strings.ToLower(strings.TrimSpace(v)) {
	case "lax", "strict":
	case "none":
		if !secure {
			f("medium", "cookie_samesite", `session.cookie_samesite is "None" without cookie_secure: browsers refuse the cookie`, w, "session.cookie_samesite = Lax, or cookie_secure = 1")
		} else {
			f("low", "cookie_samesite", `session.cookie_samesite is "None": the cookie goes with cross-site requests (CSRF)`, w, "session.cookie_samesite = Lax")
		}
	default:
		f("low", "cookie_samesite", fmt.Sprintf("session.cookie_samesite is %q: the cookie goes with cross-site requests (CSRF)", v), w, "session.cookie_samesite = Lax")
	}
	if v, w := s.value("session.cookie_lifetime", "0"); phpLong(v) > 0 {
		f("low", "cookie_lifetime", fmt.Sprintf("session.cookie_lifetime is %s: the session cookie outlives the browser", v), w, "session.cookie_lifetime = 0")
	}
	lv, lw := s.value("session.sid_length", "32")
	bv, bw := s.value("session.sid_bits_per_character", "4")
	if bits := phpLong(lv) * phpLong(bv); bits < 128 {
		where := lw
		if lw == "default" {
			where = bw
		}
		f("high", "sid_entropy", fmt.Sprintf("session ids carry %d bits (sid_length %s × sid_bits_per_character %s): fewer than 128 can be guessed", bits, lv, bv), where, "session.sid_length = 32 and session.sid_bits_per_character = 4 (or more)")
	}
	handler, _ := s.value("session.save_handler", "files")
	handler = strings.ToLower(strings.TrimSpace(handler))
	spv, spw := s.value("session.save_path", "")
	if s.files {
		pv, pw := s.value("session.gc_probability", "1")
		depth := 0
		if sp, err := sessfile.ParseSavePath(spv); err == nil {
			depth = sp.Depth
			if sp.Mode&0o044 != 0 {
				f("high", "save_path_mode", fmt.Sprintf("session.save_path %q creates session files with mode %04o: other users can read them", spv, sp.Mode), spw, "drop the MODE part (PHP then uses 0600) or give 600")
			}
		}
		runs := phpLong(pv) > 0 && depth == 0
		if !runs {
			dir := ""
			covered := false
			if sp, _, _, ok := s.savePath(); ok {
				dir = sp.Dir
				_, covered = cover.covers(dir)
			}
			if !covered {
				why := fmt.Sprintf("session.gc_probability is %s", pv)
				where := pw
				if depth > 0 {
					why, where = fmt.Sprintf("session.save_path %q has %d directory levels, which PHP's GC never sweeps", spv, depth), spw
				}
				what := "no external sweep (Debian's phpsessionclean, a sesstool gc cron job or timer) covers this save_path"
				if dir != "" {
					what = fmt.Sprintf("no external sweep (Debian's phpsessionclean, which sweeps each SAPI's php.ini save_path but no pool's own; a sesstool gc cron job or timer for it) covers %s", dir)
				}
				f("high", "gc_never_runs", why+", and "+what+": sessions are never deleted", where, "install sesstool's contrib/cron.d job (sesstool gc --all -q), or set session.gc_probability = 1")
			}
		}
	}
	if handler == "memcached" || handler == "memcache" {
		if v, w := s.value("session.gc_maxlifetime", "1440"); phpLong(v) > 30*24*3600 {
			f("medium", "memcached_lifetime", fmt.Sprintf("session.gc_maxlifetime is %s (over 30 days) with save_handler %s: memcached reads it as an absolute time, so the TTL moves with clock skew between web servers and memcached", v, handler), w, "a gc_maxlifetime of at most 2592000 (30 days)")
		}
	}
	switch handler {
	case "redis":
		if ok, v, w := on("redis.session.locking_enabled", "0"); !ok {
			f("medium", "redis_locking", fmt.Sprintf("redis.session.locking_enabled is %q: two requests of one session overwrite each other's changes", v), w, "redis.session.locking_enabled = 1 (with lock_expire and lock_wait_time to taste)")
		}
	case "rediscluster":
		// phpredis' cluster handler takes no lock in any release (5.3.7
		// through 6.x): redis.session.locking_enabled does not change that.
		_, v, w := on("redis.session.locking_enabled", "0")
		hw, _ := s.get("session.save_handler")
		if w == "default" {
			w = hw.Where()
		}
		f("medium", "redis_locking", fmt.Sprintf("save_handler rediscluster: phpredis takes no session lock in cluster mode (redis.session.locking_enabled is %q and is not read there): two requests of one session overwrite each other's changes", v), w, "save_handler redis on one master with redis.session.locking_enabled = 1 where requests of one session run concurrently")
	}
	if addrs := unauthenticated(handler, spv); len(addrs) > 0 {
		what := fmt.Sprintf("save_handler %s reaches %s without authentication on a non-loopback address: anyone who can reach it reads and changes sessions", handler, strings.Join(addrs, ", "))
		if ca, caw := s.value("redis.clusters.auth", ""); handler == "rediscluster" && ca != "" {
			what += fmt.Sprintf(" (redis.clusters.auth, %s, is read by new RedisCluster(NAME) only, never by the session handler: only auth= in save_path authenticates it)", caw)
		}
		f("high", "store_no_auth", what, spw, "bind the server to loopback or a private network and require auth (Redis: requirepass and auth= in save_path; memcached: SASL or a firewall)")
	}
}

// phpLong reads an ini integer as PHP does (leading digits).
func phpLong(v string) int64 {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && (v[end] >= '0' && v[end] <= '9' || end == 0 && v[end] == '-') {
		end++
	}
	n, _ := strconv.ParseInt(v[:end], 10, 64)
	return n
}

// unauthenticated lists the non-loopback servers of a Redis or Memcached
// save_path that are reached without a password.
func unauthenticated(handler, savePath string) []string {
	var out []string
	remote := func(addr string) bool {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if host == "localhost" || strings.HasPrefix(addr, "/") {
			return false
		}
		ip := net.ParseIP(strings.Trim(host, "[]"))
		return ip == nil || !ip.IsLoopback()
	}
	switch handler {
	case "redis":
		sp, err := sessredis.ParseSavePath(savePath)
		if err != nil {
			return nil
		}
		for _, h := range sp.Hosts {
			if h.Network == "tcp" && h.Password == "" && remote(h.Addr) {
				out = append(out, h.Addr)
			}
		}
	case "rediscluster":
		// Only the save_path's own seed[] and auth= are read by
		// PS_OPEN_FUNC(rediscluster); redis.clusters.seeds and .auth
		// belong to named RedisCluster objects.
		sp, err := sessredis.ParseClusterSavePath(savePath)
		if err != nil || sp.Password != "" {
			return nil
		}
		for _, a := range sp.Seeds {
			if remote(a) {
				out = append(out, a)
			}
		}
	case "memcached":
		sp, err := sessmemcache.ParseSavePath(savePath)
		if err != nil {
			return nil
		}
		for _, s := range sp.Servers {
			if remote(s.Addr()) {
				out = append(out, s.Addr())
			}
		}
	case "memcache":
		sp, err := sessmemcache.ParseMemcacheSavePath(savePath)
		if err != nil {
			return nil
		}
		for _, s := range sp.Servers {
			if s.Network == "tcp" && remote(s.Addr) {
				out = append(out, s.Addr)
			}
		}
	}
	return out
}

// auditStore checks the store: on a key-value store, keys without a TTL;
// on files, every save_path directory PHP keeps sessions in (each SAPI's
// and PHP-FPM pool's own, and the configured one): its mode and owner,
// and its session files' mode and owner, each finding naming the SAPIs
// and pools that use it.
func auditStore(ctx context.Context, opts *AuditOptions, st *Settings, scopes []auditScope, etcRoot string, add func(Finding)) {
	if st.IsKV() {
		b, _, err := opts.Open()
		if err != nil {
			add(Finding{Severity: "info", Rule: "store_unreachable", What: "the store could not be checked: " + ErrorLine(err), Where: st.Where(), Scope: "store", Fix: "run audit where the store can be reached"})
		} else {
			defer b.Close()
			var n int64
			var first string
			err = b.Walk(ctx, func(in store.Info) error {
				if !in.HasTTL {
					if n == 0 {
						first = in.ID
					}
					n++
				}
				return nil
			})
			if err == nil && n > 0 {
				add(Finding{Severity: "low", Rule: "keys_without_ttl", What: fmt.Sprintf("%d session key%s without a TTL never expire (PHP always sets one: these are leftovers)", n, plural(int(n))), Where: "session " + first, Scope: "store " + st.Where(), Fix: "sesstool gc (deletes those idle longer than gc_maxlifetime)"})
			}
		}
	}
	type dirCheck struct {
		sp     sessfile.SavePath
		source string   // where the save_path comes from
		scopes []string // the SAPIs and pools that use it
		st     Settings // for findPHPUser: the save_path value, SAPI, version
	}
	var dirs []*dirCheck
	byDir := map[string]*dirCheck{}
	addDir := func(sp sessfile.SavePath, source, scope string, s Settings) {
		k := filepath.Clean(sp.Dir)
		if d := byDir[k]; d != nil {
			if scope != "" && !slices.Contains(d.scopes, scope) {
				d.scopes = append(d.scopes, scope)
			}
			return
		}
		d := &dirCheck{sp: sp, source: source, st: s}
		if scope != "" {
			d.scopes = []string{scope}
		}
		byDir[k] = d
		dirs = append(dirs, d)
	}
	if !st.IsKV() {
		if sp, err := sessfile.ParseSavePath(st.SavePath.Value); err == nil {
			addDir(sp, st.SavePath.Source, "", *st)
		}
	}
	for _, s := range scopes {
		if !s.files || s.defaults {
			continue
		}
		sp, value, where, ok := s.savePath()
		if !ok {
			continue
		}
		c := *st
		c.SavePath.Value, c.SAPI, c.Version = value, s.SAPI, s.Version
		addDir(sp, where, s.Name, c)
	}
	for _, d := range dirs {
		scope := "store " + d.sp.Dir
		if len(d.scopes) > 0 {
			scope = strings.Join(d.scopes, ", ")
		}
		auditSaveDir(ctx, d.sp, d.source, scope, &d.st, etcRoot, add)
	}
}

// auditSaveDir checks one files save_path directory and its sessions.
func auditSaveDir(ctx context.Context, sp sessfile.SavePath, source, scope string, st *Settings, etcRoot string, add func(Finding)) {
	fi, err := os.Stat(sp.Dir)
	if err != nil {
		add(Finding{Severity: "info", Rule: "save_path_missing", What: fmt.Sprintf("the save_path %s cannot be checked: %v", sp.Dir, errors.Unwrap(err)), Where: source, Scope: scope, Fix: "create it as PHP's user with mode 1733, or fix session.save_path"})
		return
	}
	mode := fi.Mode()
	sys, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case mode.Perm()&0o002 != 0 && mode&fs.ModeSticky == 0:
		add(Finding{Severity: "high", Rule: "save_path_perms", What: fmt.Sprintf("%s is world-writable (%04o) without the sticky bit: any local user can delete or replace sessions", sp.Dir, mode.Perm()), Where: sp.Dir, Scope: scope, Fix: "chmod 1733 " + sp.Dir})
	case mode.Perm()&0o004 != 0:
		add(Finding{Severity: "medium", Rule: "save_path_perms", What: fmt.Sprintf("%s is world-readable (%04o): any local user can list the session ids and take over sessions", sp.Dir, mode.Perm()), Where: sp.Dir, Scope: scope, Fix: "chmod o-r " + sp.Dir + " (Debian's is 1733, root-owned)"})
	}
	if clean := filepath.Clean(sp.Dir); clean == "/tmp" || clean == "/var/tmp" {
		add(Finding{Severity: "medium", Rule: "save_path_shared", What: fmt.Sprintf("sessions are kept in the shared %s, among every user's files", clean), Where: source, Scope: scope, Fix: "a directory of its own, such as /var/lib/php/sessions (mode 1733)"})
	}
	if sys != nil && sys.Uid != 0 && mode.Perm()&0o022 != 0 {
		add(Finding{Severity: "low", Rule: "save_path_owner", What: fmt.Sprintf("%s is owned by uid %d and writable by others", sp.Dir, sys.Uid), Where: sp.Dir, Scope: scope, Fix: "chown root " + sp.Dir + "; chmod 1733 " + sp.Dir})
	}
	u, haveUser, _ := findPHPUserOf(st, etcRoot, true)
	if haveUser && u.UID == 0 {
		haveUser = false // root may own anything
	}
	var readable, foreign int64
	var firstReadable, firstForeign string
	s, err := sessfile.Open(sp, sessfile.Options{})
	if err != nil {
		return
	}
	defer s.Close()
	deadline := time.Now().Add(time.Minute)
	_ = s.Walk(ctx, func(in sessfile.Info) error {
		if time.Now().After(deadline) {
			return errStopWalk
		}
		fi, err := os.Lstat(in.Path)
		if err != nil {
			return nil
		}
		if fi.Mode().Perm()&0o044 != 0 {
			if readable == 0 {
				firstReadable = in.Path
			}
			readable++
		}
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok && haveUser && int(sys.Uid) != u.UID {
			if foreign == 0 {
				firstForeign = fmt.Sprintf("%s (uid %d)", in.Path, sys.Uid)
			}
			foreign++
		}
		return nil
	})
	if readable > 0 {
		add(Finding{Severity: "high", Rule: "session_file_mode", What: fmt.Sprintf("%d session file%s readable by other users (group or world)", readable, plural(int(readable))), Where: firstReadable, Scope: scope, Fix: "chmod 600 the files, and drop the MODE part of session.save_path"})
	}
	if foreign > 0 {
		add(Finding{Severity: "medium", Rule: "session_file_owner", What: fmt.Sprintf("%d session file%s not owned by the PHP user %s (%s): PHP refuses to open files other non-root users own", foreign, plural(int(foreign)), u.Name, u.Where), Where: firstForeign, Scope: scope, Fix: "chown " + u.Name + " the files (or find who planted them)"})
	}
}

var errStopWalk = errors.New("stop")

// printFindings prints findings as blocks: severity and what, then where
// and the fix.
func printFindings(io_ *IOStreams, fs []Finding, scopes int, store bool) {
	sty := NewStyles(io_)
	var b strings.Builder
	for _, f := range fs {
		sev := f.Severity
		switch sev {
		case "high":
			sev = sty.Bad.Render(fmt.Sprintf("%-6s", sev))
		case "medium":
			sev = sty.Warn.Render(fmt.Sprintf("%-6s", sev))
		default:
			sev = fmt.Sprintf("%-6s", sev)
		}
		fmt.Fprintf(&b, "%s %s\n", sev, f.What)
		fmt.Fprintf(&b, "       %s %s (%s)\n", sty.Dim.Render("where"), f.Where, f.Scope)
		fmt.Fprintf(&b, "       %s %s\n", sty.Dim.Render("fix  "), f.Fix)
	}
	counts := map[string]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	var parts []string
	for _, s := range severities {
		parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
	}
	and := ""
	if store {
		and = " and the store"
	}
	fmt.Fprintf(&b, "%d finding%s (%s) in %d configuration%s%s\n", len(fs), plural(len(fs)), strings.Join(parts, ", "), scopes, plural(scopes), and)
	fmt.Fprint(io_.Out, b.String())
}
