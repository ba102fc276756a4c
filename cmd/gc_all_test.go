package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeText(t *testing.T, path, text string) {
	t.Helper()
	mustDo(t, os.MkdirAll(filepath.Dir(path), 0o755))
	mustDo(t, os.WriteFile(path, []byte(text), 0o644))
}

// gcAllTree builds a fake /etc/php under root: PHP 8.2 with cli, apache2
// and fpm (php.ini, conf.d, php-fpm.conf including pool.d/*.conf with two
// pools), and a leftover PHP 8.1 apache2 whose save_path does not exist.
// It returns the three save_path directories it uses.
func gcAllTree(t *testing.T, root string) (shared, pool, admin string) {
	data := t.TempDir()
	shared = filepath.Join(data, "shared")
	pool = filepath.Join(data, "pool")
	admin = filepath.Join(data, "admin")
	for _, d := range []string{shared, pool, admin} {
		mustDo(t, os.MkdirAll(d, 0o733))
	}
	etc := filepath.Join(root, "etc/php")
	writeText(t, filepath.Join(etc, "8.2/cli/php.ini"), "[Session]\nsession.save_path = \""+shared+"\"\nsession.gc_maxlifetime = 600\n")
	writeText(t, filepath.Join(etc, "8.2/apache2/php.ini"), "[Session]\nsession.save_path = \""+shared+"\"\nsession.gc_maxlifetime = 1440\n")
	writeText(t, filepath.Join(etc, "8.2/apache2/conf.d/90-long.ini"), "session.gc_maxlifetime = 7200\n")
	writeText(t, filepath.Join(etc, "8.2/fpm/php.ini"), "[Session]\nsession.save_path = \""+shared+"\"\nsession.gc_maxlifetime = 1440\n")
	writeText(t, filepath.Join(etc, "8.2/fpm/php-fpm.conf"), "[global]\npid = /run/php/php8.2-fpm.pid\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
	writeText(t, filepath.Join(etc, "8.2/fpm/pool.d/www.conf"), `[www]
user = www-data
listen = /run/php/php8.2-fpm.sock
php_value[session.save_path] = "2;`+pool+`"
php_value[session.gc_maxlifetime] = 3600
`)
	writeText(t, filepath.Join(etc, "8.2/fpm/pool.d/shop.conf"), `[shop]
php_admin_value[session.save_path] = `+admin+`
php_admin_value[session.gc_maxlifetime] = 86400
php_value[session.gc_maxlifetime] = 60
`)
	writeText(t, filepath.Join(etc, "8.2/fpm/pool.d/cache.conf"), `[cache]
php_admin_value[session.save_handler] = redis
php_admin_value[session.save_path] = "tcp://127.0.0.1:6379"
`)
	writeText(t, filepath.Join(etc, "8.1/apache2/php.ini"), "session.save_path = "+filepath.Join(data, "gone")+"\n")
	writeText(t, filepath.Join(etc, "8.2/mods-available/x.ini"), "session.save_path = /nope\n")
	return shared, pool, admin
}

func TestGCAll(t *testing.T) {
	root := t.TempDir()
	shared, pool, admin := gcAllTree(t, root)
	// shared: swept with 7200 s (apache2's conf.d), the longest of cli 600,
	// apache2 7200, fpm 1440. pool: 2 levels, 3600 s. admin: 86400 s (the
	// admin value beats the pool's php_value).
	files := []struct {
		path string
		age  time.Duration
		gone bool
	}{
		{filepath.Join(shared, "sess_s1"), 1000 * time.Second, false},
		{filepath.Join(shared, "sess_s2"), 7201 * time.Second, true},
		{levelPath(pool, 2, "ab1"), 3601 * time.Second, true},
		{levelPath(pool, 2, "cd2"), 3000 * time.Second, false},
		{filepath.Join(admin, "sess_a1"), 2 * time.Hour, false},
		{filepath.Join(admin, "sess_a2"), 25 * time.Hour, true},
	}
	for _, f := range files {
		sessFile(t, f.path, 5, f.age)
	}

	out, errOut, code := gcRunCmd(t, nil, "gc", "--all", "--dry-run", "--etc-root", root)
	if code != 0 || errOut != "" {
		t.Fatalf("dry run: exit %d, stderr %q\n%s", code, errOut, out)
	}
	for _, w := range []string{
		"gc " + shared + " (maxlifetime 2h,",
		"conf.d/90-long.ini:1",
		"pool.d/www.conf [pool www]",
		"gc 2;" + pool,
		"pool.d/shop.conf [pool shop]",
		"not swept:",
		`session.save_handler is "redis"`,
		"is not an existing directory",
		"would delete 1",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("--all --dry-run output lacks %q:\n%s", w, out)
		}
	}
	for _, f := range files {
		if !exists(f.path) {
			t.Fatalf("dry run deleted %s", f.path)
		}
	}

	out, errOut, code = gcRunCmd(t, nil, "gc", "--all", "-o", "json", "--etc-root", root)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc gcJSON
	mustDo(t, json.Unmarshal([]byte(out), &doc))
	if doc.Scanned != 6 || doc.Deleted != 3 || doc.BytesFreed != 15 || doc.DryRun {
		t.Errorf("totals %+v", doc)
	}
	want := map[string]int64{shared: 7200, "2;" + pool: 3600, admin: 86400}
	if len(doc.Paths) != len(want) {
		t.Fatalf("paths %+v", doc.Paths)
	}
	for _, p := range doc.Paths {
		if want[p.SavePath] != p.MaxSeconds {
			t.Errorf("%s swept with %d s, want %d", p.SavePath, p.MaxSeconds, want[p.SavePath])
		}
		if p.SavePath == shared && len(p.Sources) != 3 {
			t.Errorf("shared path sources: %+v", p.Sources)
		}
	}
	for _, f := range files {
		if exists(f.path) == f.gone {
			t.Errorf("%s (age %v): deleted=%v, want %v", f.path, f.age, !exists(f.path), f.gone)
		}
	}

	// -q: silent on success.
	out, errOut, code = gcRunCmd(t, nil, "gc", "--all", "-q", "--etc-root", root)
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("-q: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// A save_path value sesstool refuses is an error of --all (exit 1, one
// line naming the file), and the other paths are still swept.
func TestGCAllBadSavePath(t *testing.T) {
	root := t.TempDir()
	good := t.TempDir()
	sessFile(t, filepath.Join(good, "sess_old"), 1, 48*time.Hour)
	writeText(t, filepath.Join(root, "etc/php/8.2/cli/php.ini"), "session.save_path = \"x;"+good+"\"\n")
	writeText(t, filepath.Join(root, "etc/php/8.2/cgi/php.ini"), "session.save_path = "+good+"\n")
	out, errOut, code := gcRunCmd(t, nil, "gc", "--all", "-q", "--etc-root", root)
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "8.2/cli/php.ini") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if exists(filepath.Join(good, "sess_old")) {
		t.Error("the good path was not swept")
	}
}

func TestGCAllNothingFound(t *testing.T) {
	out, errOut, code := gcRunCmd(t, nil, "gc", "--all", "--etc-root", t.TempDir())
	if code != 0 || errOut != "" || !strings.Contains(out, "no save_path found") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
