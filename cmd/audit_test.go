package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
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

// TestAuditConfigRules: each configuration rule, on a fake /etc with one
// SAPI: the secure php.ini has no finding; one changed line gives exactly
// its rule, with its severity and the file:line it comes from; --fail-on
// sets the exit code.
func TestAuditConfigRules(t *testing.T) {
	for _, c := range []struct {
		line, rule, severity string
	}{
		{"session.use_strict_mode = 0", "use_strict_mode", "high"},
		{"session.use_only_cookies = 0", "use_only_cookies", "high"},
		{"session.use_trans_sid = 1", "use_trans_sid", "high"},
		{"session.cookie_httponly = 0", "cookie_httponly", "medium"},
		{"session.cookie_secure = 0", "cookie_secure", "low"},
		{"session.cookie_samesite = None", "cookie_samesite", "low"},
		{"session.cookie_lifetime = 86400", "cookie_lifetime", "low"},
		{"session.sid_length = 22", "sid_entropy", "high"}, // 22 × 5 = 110 bits
		{"session.gc_probability = 0", "gc_never_runs", "high"},
		{"session.save_path = \"0;0644;SAVE\"", "save_path_mode", "high"},
		{"session.save_path = \"2;SAVE\"", "gc_never_runs", "high"}, // levels: PHP's GC never sweeps
		{"session.save_handler = redis\nsession.save_path = \"tcp://127.0.0.1:6379\"", "redis_locking", "medium"},
		{"session.save_handler = redis\nsession.save_path = \"tcp://10.1.2.3:6379\"\nredis.session.locking_enabled = 1", "store_no_auth", "high"},
		{"session.save_handler = memcached\nsession.save_path = \"127.0.0.1:11211\"\nsession.gc_maxlifetime = 3000000", "memcached_lifetime", "medium"},
		{"session.save_handler = memcache\nsession.save_path = \"tcp://192.0.2.7:11211\"", "store_no_auth", "high"},
	} {
		t.Run(c.rule+" "+strings.Fields(c.line)[0], func(t *testing.T) {
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
			f, ok := findRule(fs, c.rule)
			if !ok || f.Severity != c.severity {
				t.Fatalf("%q: findings %+v, want %s (%s)", c.line, fs, c.rule, c.severity)
			}
			if c.rule != "gc_never_runs" && c.rule != "store_no_auth" && c.rule != "redis_locking" && !strings.HasPrefix(f.Where, ini+":") {
				t.Errorf("where %q, want %s:N", f.Where, ini)
			}
			if f.Scope != "PHP 8.2 fpm" || f.Fix == "" || code != 1 {
				t.Errorf("finding %+v, exit %d (want scope PHP 8.2 fpm, a fix, exit 1)", f, code)
			}
			if _, code := auditFindings(t, "--etc-root", root, "--config-only", "--fail-on", "high"); (c.severity == "high") != (code == 1) {
				t.Errorf("--fail-on high: exit %d for a %s finding", code, c.severity)
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
