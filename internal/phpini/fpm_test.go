package phpini

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFPM(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc/php/8.2/fpm")
	writeFile(t, filepath.Join(etc, "php-fpm.conf"), `[global]
pid = /run/php/php8.2-fpm.pid
; pools come from here (absolute path: re-rooted under root)
include=/etc/php/8.2/fpm/pool.d/*.conf
`)
	writeFile(t, filepath.Join(etc, "pool.d/a.conf"), `[www]
user = www-data
php_value[session.save_path] = "2;/srv/sess/$pool"
php_value[session.gc_maxlifetime] = 100
php_admin_value[session.gc_maxlifetime] = 7200
php_value[session.gc_maxlifetime] = 300
php_value[session.serialize_handler] = first
php_value[session.serialize_handler] = second

[shop]
php_admin_value[session.save_path] = /srv/shop
php_admin_flag[session.use_strict_mode] = on
`)
	writeFile(t, filepath.Join(etc, "pool.d/b.conf"), `[www]
php_admin_value[session.save_handler] = redis
`)
	writeFile(t, filepath.Join(etc, "pool.d/c.conf.disabled"), "[off]\nphp_value[session.save_path]=/nope\n")

	cfg, err := LoadFPM(filepath.Join(etc, "php-fpm.conf"), root, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Files) != 3 {
		t.Errorf("files read: %v (warnings %v)", cfg.Files, cfg.Warnings)
	}
	if len(cfg.Pools) != 2 || cfg.Pools[0].Name != "www" || cfg.Pools[1].Name != "shop" {
		t.Fatalf("pools: %+v", cfg.Pools)
	}
	www, shop := cfg.Pools[0], cfg.Pools[1]
	tests := []struct {
		pool      *FPMPool
		key, want string
		line      int
	}{
		{www, "session.save_path", "2;/srv/sess/www", 3},
		{www, "session.gc_maxlifetime", "7200", 5},     // admin beats value
		{www, "session.serialize_handler", "first", 7}, // first php_value wins
		{www, "session.save_handler", "redis", 2},      // pool re-opened in b.conf
		{shop, "session.save_path", "/srv/shop", 11},
	}
	for _, tt := range tests {
		e, ok := tt.pool.Values[tt.key]
		if !ok || e.Value != tt.want || e.Line != tt.line {
			t.Errorf("[%s] %s = %+v, want %q at line %d", tt.pool.Name, tt.key, e, tt.want, tt.line)
		}
	}
	if www.Line != 1 || !strings.HasSuffix(www.File, "pool.d/a.conf") {
		t.Errorf("www section at %s:%d", www.File, www.Line)
	}
	if _, err := LoadFPM(filepath.Join(root, "missing.conf"), root, nil); err == nil {
		t.Error("missing php-fpm.conf accepted")
	}
}

func TestLoadFPMIncludeLoop(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "php-fpm.conf"), "include=php-fpm.conf\n[p]\nphp_value[session.save_path]=/x\n")
	cfg, err := LoadFPM(filepath.Join(dir, "php-fpm.conf"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) == 0 {
		t.Error("include loop not reported")
	}
	if len(cfg.Pools) != 1 || cfg.Pools[0].Values["session.save_path"].Value != "/x" {
		t.Errorf("pools %+v", cfg.Pools)
	}
}
