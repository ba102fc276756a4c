package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// secureINI is a php.ini that passes every configuration rule.
func secureINI(savePath string) string {
	return "[Session]\nsession.save_handler = files\nsession.save_path = \"" + savePath + "\"\n" +
		"session.use_strict_mode = 1\nsession.use_only_cookies = 1\nsession.use_trans_sid = 0\n" +
		"session.cookie_httponly = 1\nsession.cookie_secure = 1\nsession.cookie_samesite = Lax\n" +
		"session.gc_probability = 1\nsession.sid_length = 32\nsession.sid_bits_per_character = 5\n"
}

// auditFindings runs audit -o json with args and returns its findings and
// exit code.
func auditFindings(t *testing.T, args ...string) ([]Finding, int) {
	t.Helper()
	r := runCLI(t, append([]string{"audit", "-o", "json"}, args...)...)
	var fs []Finding
	if err := json.Unmarshal([]byte(r.out), &fs); err != nil {
		t.Fatalf("audit -o json: %v (exit %d, %v)\n%s", err, r.code, r.err, r.out)
	}
	return fs, r.code
}

func findRule(fs []Finding, rule string) (Finding, bool) {
	for _, f := range fs {
		if f.Rule == rule {
			return f, true
		}
	}
	return Finding{}, false
}

// ruleIDs are the rule ids of findings, sorted, each once.
func ruleIDs(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		if !slices.Contains(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestAuditConfigRules: each configuration rule, on a fake /etc with one
// SAPI: the secure php.ini has no finding; one changed line gives exactly
// the rules listed (the first with its severity and the file:line it comes
// from), and nothing else; a line that is fine gives none; --fail-on sets
// the exit code.
func TestAuditConfigRules(t *testing.T) {
	for _, c := range []struct {
		line     string
		rules    []string // exactly these, sorted; none: no finding
		severity string   // of rules[0]
	}{
		{"session.use_strict_mode = 0", []string{"use_strict_mode"}, "high"},
		{"session.use_only_cookies = 0", []string{"use_only_cookies"}, "high"},
		{"session.use_trans_sid = 1", []string{"use_trans_sid"}, "high"},
		{"session.cookie_httponly = 0", []string{"cookie_httponly"}, "medium"},
		{"session.cookie_secure = 0", []string{"cookie_secure"}, "low"},
		{"session.cookie_samesite = None", []string{"cookie_samesite"}, "low"},
		{"session.cookie_lifetime = 86400", []string{"cookie_lifetime"}, "low"},
		{"session.sid_length = 22", []string{"sid_entropy"}, "high"}, // 22 × 5 = 110 bits
		{"session.sid_length = 26", nil, ""},                         // 130 bits
		{"session.gc_probability = 0", []string{"gc_never_runs"}, "high"},
		{"session.save_path = \"0;0644;SAVE\"", []string{"save_path_mode"}, "high"},
		{"session.save_path = \"0;0600;SAVE\"", nil, ""},
		{"session.save_path = \"2;SAVE\"", []string{"gc_never_runs"}, "high"}, // levels: PHP's GC never sweeps
		{"session.save_handler = redis\nsession.save_path = \"tcp://127.0.0.1:6379\"", []string{"redis_locking"}, "medium"},
		{"session.save_handler = redis\nsession.save_path = \"tcp://127.0.0.1:6379\"\nredis.session.locking_enabled = 1", nil, ""},
		{"session.save_handler = redis\nsession.save_path = \"tcp://10.1.2.3:6379\"\nredis.session.locking_enabled = 1", []string{"store_no_auth"}, "high"},
		{"session.save_handler = redis\nsession.save_path = \"tcp://10.1.2.3:6379?auth=pw\"\nredis.session.locking_enabled = 1", nil, ""},
		// rediscluster: phpredis never locks there, whatever
		// locking_enabled says; only auth= in save_path authenticates it
		// (redis.clusters.auth is for new RedisCluster(NAME)).
		{"session.save_handler = rediscluster\nsession.save_path = \"seed[]=127.0.0.1:7000&seed[]=127.0.0.1:7001\"\nredis.session.locking_enabled = 1", []string{"redis_locking"}, "medium"},
		{"session.save_handler = rediscluster\nsession.save_path = \"seed[]=10.0.0.5:7000&seed[]=10.0.0.6:7000\"", []string{"redis_locking", "store_no_auth"}, "medium"},
		{"session.save_handler = rediscluster\nsession.save_path = \"seed[]=10.0.0.5:7000&auth=secret\"", []string{"redis_locking"}, "medium"},
		{"session.save_handler = rediscluster\nsession.save_path = \"seed[]=10.0.0.5:7000\"\nredis.clusters.auth = secret\nredis.clusters.seeds = \"x[]=10.0.0.5:7000\"", []string{"redis_locking", "store_no_auth"}, "medium"},
		{"session.save_handler = memcached\nsession.save_path = \"127.0.0.1:11211\"\nsession.gc_maxlifetime = 3000000", []string{"memcached_lifetime"}, "medium"},
		{"session.save_handler = memcached\nsession.save_path = \"127.0.0.1:11211\"\nsession.gc_maxlifetime = 2592000", nil, ""},
		{"session.save_handler = memcache\nsession.save_path = \"tcp://192.0.2.7:11211\"", []string{"store_no_auth"}, "high"},
		{"session.save_handler = memcache\nsession.save_path = \"tcp://127.0.0.1:11211\"", nil, ""},
	} {
		name := "none"
		if len(c.rules) > 0 {
			name = strings.Join(c.rules, "+")
		}
		t.Run(name+" "+strings.Fields(c.line)[0], func(t *testing.T) {
			root := t.TempDir()
			save := filepath.Join(root, "sessions")
			mustDo(t, os.MkdirAll(save, 0o700))
			ini := filepath.Join(root, "etc/php/8.2/fpm/php.ini")
			mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save))
			fs, code := auditFindings(t, "--etc-root", root, "--config-only")
			if len(fs) != 0 || code != 0 {
				t.Fatalf("secure php.ini: exit %d, findings %+v", code, fs)
			}
			text := secureINI(save) + strings.ReplaceAll(c.line, "SAVE", save) + "\n"
			mkFile(t, root, "etc/php/8.2/fpm/php.ini", text)
			fs, code = auditFindings(t, "--etc-root", root, "--config-only", "--fail-on", "info")
			if got := ruleIDs(fs); !slices.Equal(got, c.rules) {
				t.Fatalf("%q: rules %q, want exactly %q: %+v", c.line, got, c.rules, fs)
			}
			if len(c.rules) == 0 {
				if code != 0 {
					t.Errorf("no finding, exit %d", code)
				}
				return
			}
			f, _ := findRule(fs, c.rules[0])
			if f.Severity != c.severity {
				t.Errorf("%s: severity %s, want %s", f.Rule, f.Severity, c.severity)
			}
			if c.rules[0] != "gc_never_runs" && c.rules[0] != "store_no_auth" && c.rules[0] != "redis_locking" && !strings.HasPrefix(f.Where, ini+":") {
				t.Errorf("where %q, want %s:N", f.Where, ini)
			}
			if f.Scope != "PHP 8.2 fpm" || f.Fix == "" || code != 1 {
				t.Errorf("finding %+v, exit %d (want scope PHP 8.2 fpm, a fix, exit 1)", f, code)
			}
			if f, ok := findRule(fs, "store_no_auth"); ok && strings.Contains(c.line, "redis.clusters.auth") && !strings.Contains(f.What, "redis.clusters.auth") {
				t.Errorf("store_no_auth with redis.clusters.auth set does not say it is not read: %q", f.What)
			}
			high := slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == "high" })
			if _, code := auditFindings(t, "--etc-root", root, "--config-only", "--fail-on", "high"); high != (code == 1) {
				t.Errorf("--fail-on high: exit %d for findings %+v", code, fs)
			}
		})
	}
}

// TestAuditPoolsAndExternalSweep: a PHP-FPM pool's php_admin_value is
// audited as its own scope (naming the pool), and gc_probability = 0 is no
// finding when Debian's phpsessionclean timer is installed.
func TestAuditPoolsAndExternalSweep(t *testing.T) {
	root := t.TempDir()
	save := filepath.Join(root, "sessions")
	mustDo(t, os.MkdirAll(save, 0o700))
	mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save)+"session.gc_probability = 0\n")
	mkFile(t, root, "etc/php/8.2/fpm/php-fpm.conf", "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
	pool := mkFile(t, root, "etc/php/8.2/fpm/pool.d/shop.conf", "[shop]\nuser = nobody\nphp_admin_value[session.use_strict_mode] = 0\n")
	fs, _ := auditFindings(t, "--etc-root", root, "--config-only")
	f, ok := findRule(fs, "use_strict_mode")
	if !ok || f.Scope != "PHP 8.2 fpm pool shop" || !strings.HasPrefix(f.Where, pool+":") {
		t.Errorf("pool override: %+v, want use_strict_mode from %s in pool shop", fs, pool)
	}
	if _, ok := findRule(fs, "gc_never_runs"); !ok {
		t.Errorf("gc_probability 0 without a sweep: no gc_never_runs in %+v", fs)
	}
	// Debian's php-common: the timer, its service, and the timer enabled.
	mkFile(t, root, "lib/systemd/system/phpsessionclean.timer", "[Timer]\nOnCalendar=*-*-* *:09,39:00\n")
	mkFile(t, root, "lib/systemd/system/phpsessionclean.service", "[Service]\nExecStart=/usr/lib/php/sessionclean\n")
	mkFile(t, root, "etc/systemd/system/timers.target.wants/phpsessionclean.timer", "[Timer]\nOnCalendar=*-*-* *:09,39:00\n")
	fs, _ = auditFindings(t, "--etc-root", root, "--config-only")
	if f, ok := findRule(fs, "gc_never_runs"); ok {
		t.Errorf("with phpsessionclean's timer installed: %+v", f)
	}
}

// TestAuditSavePath: the store rules on real directories and files with
// real modes and owners: a world-readable save_path, a world-writable one
// without the sticky bit, session files others can read, and (as root) a
// file not owned by the PHP user the FPM pool names.
func TestAuditSavePath(t *testing.T) {
	root := t.TempDir()
	save := filepath.Join(root, "sessions")
	mustDo(t, os.MkdirAll(save, 0o700))
	mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save))
	audit := func() []Finding {
		fs, _ := auditFindings(t, "--etc-root", root, "--sapi", "fpm")
		return fs
	}
	putSess(t, save, "auditfile0000000000000001", "a|i:1;", 0)
	if fs := audit(); len(fs) != 0 {
		t.Fatalf("mode 0700 directory, 0600 file: %+v", fs)
	}
	mustDo(t, os.Chmod(save, 0o755))
	if f, ok := findRule(audit(), "save_path_perms"); !ok || f.Severity != "medium" {
		t.Errorf("0755 save_path: %+v", f)
	}
	mustDo(t, os.Chmod(save, 0o777))
	if f, ok := findRule(audit(), "save_path_perms"); !ok || f.Severity != "high" {
		t.Errorf("0777 save_path: %+v", f)
	}
	mustDo(t, os.Chmod(save, os.ModeSticky|0o733))
	if f, ok := findRule(audit(), "save_path_perms"); ok {
		t.Errorf("1733 save_path (Debian's): %+v", f)
	}
	mustDo(t, os.Chmod(filepath.Join(save, "sess_auditfile0000000000000001"), 0o644))
	if f, ok := findRule(audit(), "session_file_mode"); !ok || f.Severity != "high" || !strings.Contains(f.Where, "sess_auditfile") {
		t.Errorf("a 0644 session file: %+v", f)
	}
	if os.Geteuid() != 0 {
		t.Skip("the owner rule needs root (chown): not root")
	}
	mkFile(t, root, "etc/php/8.2/fpm/php-fpm.conf", "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
	mkFile(t, root, "etc/php/8.2/fpm/pool.d/www.conf", "[www]\nuser = nobody\n")
	f, ok := findRule(audit(), "session_file_owner")
	if !ok || !strings.Contains(f.What, "nobody") {
		t.Errorf("a root-owned session file with PHP running as nobody: %+v", f)
	}
}

// findScoped is the finding of rule whose scope is scope.
func findScoped(fs []Finding, rule, scope string) (Finding, bool) {
	for _, f := range fs {
		if f.Rule == rule && f.Scope == scope {
			return f, true
		}
	}
	return Finding{}, false
}

// TestAuditEveryScopesSavePath: the store rules run on the save_path of
// every SAPI and PHP-FPM pool, not only the one the settings pick: a
// pool's php_admin_value[session.save_path] pointing to a 0777 directory
// with a 0644 session, and a CLI php.ini keeping sessions in /tmp, are
// found, each naming its pool or SAPI; the secure fpm save_path has none.
func TestAuditEveryScopesSavePath(t *testing.T) {
	root := t.TempDir()
	save := filepath.Join(root, "sessions")
	mustDo(t, os.MkdirAll(save, 0o700))
	shop := filepath.Join(root, "shop-sessions")
	mustDo(t, os.MkdirAll(shop, 0o777))
	mustDo(t, os.Chmod(shop, 0o777))
	putSess(t, shop, "auditpool0000000000000001", "a|i:1;", 0)
	mustDo(t, os.Chmod(filepath.Join(shop, "sess_auditpool0000000000000001"), 0o644))
	mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save))
	mkFile(t, root, "etc/php/8.2/cli/php.ini", secureINI("/tmp"))
	mkFile(t, root, "etc/php/8.2/fpm/php-fpm.conf", "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
	mkFile(t, root, "etc/php/8.2/fpm/pool.d/shop.conf", "[shop]\nuser = nobody\nphp_admin_value[session.save_path] = "+shop+"\n")
	fs, code := auditFindings(t, "--etc-root", root)
	const scope = "PHP 8.2 fpm pool shop"
	if f, ok := findScoped(fs, "save_path_perms", scope); !ok || f.Severity != "high" || f.Where != shop {
		t.Errorf("the pool's 0777 save_path: %+v, want save_path_perms high at %s in %s", fs, shop, scope)
	}
	if f, ok := findScoped(fs, "session_file_mode", scope); !ok || !strings.Contains(f.Where, "sess_auditpool") {
		t.Errorf("the pool's 0644 session: %+v", fs)
	}
	if f, ok := findScoped(fs, "save_path_shared", "PHP 8.2 cli"); !ok || !strings.HasPrefix(f.Where, filepath.Join(root, "etc/php/8.2/cli/php.ini")+":") {
		t.Errorf("the CLI's /tmp: %+v, want save_path_shared naming PHP 8.2 cli and its php.ini line", fs)
	}
	for _, f := range fs {
		if strings.Contains(f.Where, save+"/") || f.Where == save {
			t.Errorf("a finding on the secure fpm save_path: %+v", f)
		}
	}
	if code != 1 {
		t.Errorf("exit %d with high findings", code)
	}
	// --config-only looks at no directory.
	fs, _ = auditFindings(t, "--etc-root", root, "--config-only")
	if _, ok := findRule(fs, "save_path_perms"); ok {
		t.Errorf("--config-only checked directories: %+v", fs)
	}
}

// TestAuditSavePathOwner: a save_path that others can write and that a
// user other than root owns is a finding (low); a 0700 one, or root's
// Debian-style 1733, is not.
func TestAuditSavePathOwner(t *testing.T) {
	root := t.TempDir()
	save := filepath.Join(root, "sessions")
	mustDo(t, os.MkdirAll(save, 0o700))
	mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save))
	uid := os.Getuid()
	if uid == 0 {
		uid = 65534 // nobody
		mustDo(t, os.Chown(save, uid, -1))
	}
	if _, ok := findRule(mustAudit(t, root), "save_path_owner"); ok {
		t.Errorf("0700 save_path owned by uid %d: save_path_owner", uid)
	}
	mustDo(t, os.Chmod(save, os.ModeSticky|0o733))
	f, ok := findRule(mustAudit(t, root), "save_path_owner")
	if !ok || f.Severity != "low" || f.Where != save || !strings.Contains(f.What, fmt.Sprintf("uid %d", uid)) || f.Scope != "PHP 8.2 fpm" {
		t.Errorf("1733 save_path owned by uid %d: %+v", uid, f)
	}
	if os.Getuid() == 0 {
		mustDo(t, os.Chown(save, 0, -1))
		if f, ok := findRule(mustAudit(t, root), "save_path_owner"); ok {
			t.Errorf("root-owned 1733 save_path: %+v", f)
		}
	}
}

func mustAudit(t *testing.T, root string) []Finding {
	t.Helper()
	fs, _ := auditFindings(t, "--etc-root", root, "--sapi", "fpm")
	return fs
}

// TestAuditGCCoveredPerSavePath: gc_probability = 0 is silenced only by a
// sweep that covers that save_path: Debian's sessionclean covers the
// SAPI's php.ini save_path but not a pool's own; a cron.d sesstool gc line
// covers the save_path it names (not another one, nor any with
// --save-handler redis); gc --all covers the pools too.
func TestAuditGCCoveredPerSavePath(t *testing.T) {
	for _, c := range []struct {
		name      string
		files     map[string]string
		fpm, pool bool // gc_never_runs for the fpm SAPI, for pool shop
	}{
		{name: "no sweep", fpm: true, pool: true},
		{name: "sessionclean timer", files: map[string]string{
			"lib/systemd/system/phpsessionclean.timer":                     "[Timer]\nOnCalendar=*-*-* *:09,39:00\n",
			"lib/systemd/system/phpsessionclean.service":                   "[Service]\nExecStart=/usr/lib/php/sessionclean\n",
			"etc/systemd/system/timers.target.wants/phpsessionclean.timer": "",
		}, fpm: false, pool: true},
		{name: "sessionclean cron.d", files: map[string]string{
			"etc/cron.d/php": "09,39 *     * * *     root   [ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi\n",
		}, fpm: false, pool: true},
		{name: "sesstool gc for the fpm save_path", files: map[string]string{
			"etc/cron.d/sess": "*/15 * * * * root /usr/local/bin/sesstool gc -q --save-path @SAVE@\n",
		}, fpm: false, pool: true},
		{name: "sesstool gc for the pool's save_path", files: map[string]string{
			"etc/cron.d/sess": "*/15 * * * * root SESSTOOL_SAVE_PATH=@SHOP@ /usr/local/bin/sesstool gc -q\n",
		}, fpm: true, pool: false},
		{name: "sesstool gc for another save_path", files: map[string]string{
			"etc/cron.d/sess": "*/15 * * * * root /usr/local/bin/sesstool gc -q --save-path=/var/lib/other\n",
		}, fpm: true, pool: true},
		{name: "sesstool gc on redis", files: map[string]string{
			"etc/cron.d/sess": "*/15 * * * * root /usr/local/bin/sesstool --save-handler redis --save-path @SAVE@ gc -q\n",
		}, fpm: true, pool: true},
		{name: "sesstool gc simulate", files: map[string]string{
			"etc/cron.d/sess": "*/15 * * * * root /usr/local/bin/sesstool gc simulate --save-path @SAVE@\n",
		}, fpm: true, pool: true},
		{name: "sesstool gc --all", files: map[string]string{
			"etc/cron.d/sess": "09,39 * * * * root if [ -x /usr/local/bin/sesstool ]; then /usr/local/bin/sesstool gc --all -q; fi\n",
		}, fpm: false, pool: false},
		{name: "@hourly in cron.d", files: map[string]string{
			"etc/cron.d/sess": "@hourly root /usr/local/bin/sesstool gc --all -q\n",
		}, fpm: false, pool: false},
		{name: "@daily in /etc/crontab", files: map[string]string{
			"etc/crontab": "SHELL=/bin/sh\n@daily www-data /usr/local/bin/sesstool gc -q --save-path @SHOP@\n",
		}, fpm: true, pool: false},
		{name: "@reboot", files: map[string]string{
			"etc/cron.d/sess": "@reboot root /usr/local/bin/sesstool gc --all -q\n",
		}, fpm: false, pool: false},
		{name: "every 6 hours", files: map[string]string{
			"etc/cron.d/sess": "0 */6 * * * root /usr/local/bin/sesstool gc -q --save-path @SAVE@\n",
		}, fpm: false, pool: true},
		{name: "root's crontab", files: map[string]string{
			"var/spool/cron/crontabs/root": "# DO NOT EDIT THIS FILE\n*/6 * * * * /usr/local/bin/sesstool gc --all -q\n",
		}, fpm: false, pool: false},
		{name: "a user's crontab, @hourly", files: map[string]string{
			"var/spool/cron/crontabs/www-data": "@hourly /usr/local/bin/sesstool gc -q --save-path @SAVE@\n",
		}, fpm: false, pool: true},
		{name: "gc --dry-run", files: map[string]string{
			"etc/cron.d/sess": "*/15 * * * * root /usr/local/bin/sesstool gc --all --dry-run -q\n",
		}, fpm: true, pool: true},
		{name: "gc --dry-run in root's crontab", files: map[string]string{
			"var/spool/cron/crontabs/root": "@hourly /usr/local/bin/sesstool gc --dry-run --save-path @SAVE@\n",
		}, fpm: true, pool: true},
		{name: "cron.d file cron never runs (.disabled)", files: map[string]string{
			"etc/cron.d/sess.disabled": "@hourly root /usr/local/bin/sesstool gc --all -q\n",
		}, fpm: true, pool: true},
		{name: "cron.d file cron never runs (~)", files: map[string]string{
			"etc/cron.d/sess~": "*/15 * * * * root /usr/local/bin/sesstool gc --all -q\n",
		}, fpm: true, pool: true},
		{name: "cron.d file cron never runs (.dpkg-old)", files: map[string]string{
			"etc/cron.d/php.dpkg-old": "09,39 *     * * *     root   [ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean\n",
		}, fpm: true, pool: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			save := filepath.Join(root, "sessions")
			shop := filepath.Join(root, "shop")
			mustDo(t, os.MkdirAll(save, 0o700))
			mustDo(t, os.MkdirAll(shop, 0o700))
			mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save)+"session.gc_probability = 0\n")
			mkFile(t, root, "etc/php/8.2/fpm/php-fpm.conf", "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
			mkFile(t, root, "etc/php/8.2/fpm/pool.d/shop.conf", "[shop]\nuser = nobody\nphp_admin_value[session.save_path] = "+shop+"\n")
			for rel, text := range c.files {
				text = strings.ReplaceAll(strings.ReplaceAll(text, "@SAVE@", save), "@SHOP@", shop)
				mkFile(t, root, rel, text)
			}
			fs, _ := auditFindings(t, "--etc-root", root, "--config-only")
			if _, got := findScoped(fs, "gc_never_runs", "PHP 8.2 fpm"); got != c.fpm {
				t.Errorf("gc_never_runs for PHP 8.2 fpm (%s): %v, want %v: %+v", save, got, c.fpm, fs)
			}
			f, got := findScoped(fs, "gc_never_runs", "PHP 8.2 fpm pool shop")
			if got != c.pool {
				t.Errorf("gc_never_runs for pool shop (%s): %v, want %v: %+v", shop, got, c.pool, fs)
			}
			if got && !strings.Contains(f.What, shop) {
				t.Errorf("gc_never_runs does not name %s: %q", shop, f.What)
			}
		})
	}
}

// TestAuditJSONL: audit -o jsonl prints the findings of -o json, one JSON
// object a line, with the same exit code; the human summary of
// --config-only does not claim the store was checked.
func TestAuditJSONL(t *testing.T) {
	root := t.TempDir()
	save := filepath.Join(root, "sessions")
	mustDo(t, os.MkdirAll(save, 0o700))
	mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save)+"session.use_strict_mode = 0\nsession.cookie_httponly = 0\n")
	fs, code := auditFindings(t, "--etc-root", root, "--config-only")
	r := runCLI(t, "audit", "--etc-root", root, "--config-only", "-o", "jsonl")
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	if len(fs) != 2 || len(lines) != len(fs) || r.code != code {
		t.Fatalf("-o jsonl: exit %d %q; -o json: exit %d %+v", r.code, r.out, code, fs)
	}
	for i, l := range lines {
		var f Finding
		mustDo(t, json.Unmarshal([]byte(l), &f))
		if f != fs[i] {
			t.Errorf("line %d: %+v, want %+v", i+1, f, fs[i])
		}
	}
	h := runCLI(t, "audit", "--etc-root", root, "--config-only")
	if !strings.Contains(h.out, "in 1 configuration\n") || strings.Contains(h.out, "the store") {
		t.Errorf("--config-only summary:\n%s", h.out)
	}
	if h := runCLI(t, "audit", "--etc-root", root); !strings.Contains(h.out, "and the store\n") {
		t.Errorf("summary:\n%s", h.out)
	}
}

// TestAuditOwnerPerPoolSavePath: Debian's layout with two pools, www (user
// www-data, no session.save_path of its own: the FPM php.ini's) and shop
// (user nobody, its own save_path). Each save_path's owner rule goes by
// the pools that use it, not by every pool: a root-owned session in shop's
// save_path is a session_file_owner finding naming pool shop and nobody,
// one in the FPM save_path names www-data; files owned by each pool's user
// are none.
func TestAuditOwnerPerPoolSavePath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the owner rule needs root (chown): not root")
	}
	uid := func(name string) int {
		u, err := user.Lookup(name)
		if err != nil {
			t.Skipf("no user %s", name)
		}
		n, _ := strconv.Atoi(u.Uid)
		return n
	}
	wwwUID, nobodyUID := uid("www-data"), uid("nobody")
	root := t.TempDir()
	save := filepath.Join(root, "sessions")
	shop := filepath.Join(root, "shop-sessions")
	for _, d := range []string{save, shop} {
		mustDo(t, os.MkdirAll(d, 0o700))
	}
	mkFile(t, root, "etc/php/8.2/fpm/php.ini", secureINI(save))
	mkFile(t, root, "etc/php/8.2/fpm/php-fpm.conf", "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
	mkFile(t, root, "etc/php/8.2/fpm/pool.d/www.conf", "[www]\nuser = www-data\ngroup = www-data\n")
	mkFile(t, root, "etc/php/8.2/fpm/pool.d/shop.conf", "[shop]\nuser = nobody\nphp_admin_value[session.save_path] = "+shop+"\n")
	shopSess := putSess(t, shop, "auditshop0000000000000001", "a|i:1;", 0)
	wwwSess := putSess(t, save, "auditwww00000000000000001", "a|i:1;", 0)
	mustDo(t, os.Chown(shopSess, nobodyUID, -1))
	mustDo(t, os.Chown(wwwSess, wwwUID, -1))
	fs, _ := auditFindings(t, "--etc-root", root)
	if f, ok := findRule(fs, "session_file_owner"); ok {
		t.Errorf("each session owned by its pool's user: %+v", f)
	}
	mustDo(t, os.Chown(shopSess, 0, -1))
	mustDo(t, os.Chown(wwwSess, 0, -1))
	fs, _ = auditFindings(t, "--etc-root", root)
	if f, ok := findScoped(fs, "session_file_owner", "PHP 8.2 fpm pool shop"); !ok || !strings.Contains(f.What, "nobody") || !strings.Contains(f.What, "[pool shop]") || !strings.Contains(f.Where, shopSess) {
		t.Errorf("a root-owned session in pool shop's save_path: %+v, want session_file_owner naming pool shop and nobody", fs)
	}
	var www []Finding
	for _, f := range fs {
		if f.Rule == "session_file_owner" && strings.Contains(f.Where, wwwSess) {
			www = append(www, f)
		}
	}
	if len(www) != 1 || !strings.Contains(www[0].What, "www-data") || !strings.Contains(www[0].What, "[pool www]") {
		t.Errorf("a root-owned session in the FPM save_path (pool www's): %+v, want one finding naming www-data", www)
	}
}

// TestAuditDebianDefaultSavePath: a SAPI whose php.ini leaves
// session.save_path commented out (Debian's) keeps its sessions in the
// save_path Debian compiles in, not in /tmp: no save_path_shared finding,
// and the store rules look at /var/lib/php/sessions.
func TestAuditDebianDefaultSavePath(t *testing.T) {
	root := t.TempDir()
	ini := strings.Replace(secureINI("x"), "session.save_path = \"x\"\n", "", 1)
	mkFile(t, root, "etc/php/8.2/fpm/php.ini", ini)
	fs, _ := auditFindings(t, "--etc-root", root)
	if f, ok := findRule(fs, "save_path_shared"); ok {
		t.Errorf("Debian's default save_path taken for /tmp: %+v", f)
	}
	found := false
	for _, f := range fs {
		if strings.Contains(f.What, DebianSavePath) || f.Where == DebianSavePath {
			found = true
		}
	}
	if _, err := os.Stat(DebianSavePath); err != nil && !found {
		t.Errorf("no finding on the missing %s: %+v", DebianSavePath, fs)
	}
}
