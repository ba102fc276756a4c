package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func mkFile(t *testing.T, root, rel, text string) string {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type configDoc struct {
	SAPI     string    `json:"sapi"`
	Files    []string  `json:"files"`
	Settings []Setting `json:"settings"`
	Warnings []string  `json:"warnings"`
}

func configOf(t *testing.T, env map[string]string, args ...string) (map[string]Setting, configDoc) {
	t.Helper()
	r := runCLIEnv(t, "", env, append(args, "config", "-o", "json")...)
	if r.err != nil {
		t.Fatalf("%v: %v", args, r.err)
	}
	var doc configDoc
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	m := map[string]Setting{}
	for _, s := range doc.Settings {
		m[s.Name] = s
	}
	return m, doc
}

func TestConfigDiscovery(t *testing.T) {
	root := t.TempDir()
	fpm := mkFile(t, root, "etc/php/8.2/fpm/php.ini", "[Session]\nsession.save_handler = files\nsession.serialize_handler = php_serialize\nsession.gc_maxlifetime = 1440\n")
	mkFile(t, root, "etc/php/8.2/fpm/conf.d/50-sess.ini", "; local\nsession.gc_maxlifetime = 7200\nsession.save_path = 2;/var/lib/php/sessions\n")
	mkFile(t, root, "etc/php/8.2/cli/php.ini", "session.save_path = /cli/sessions\n")

	m, doc := configOf(t, nil, "--etc-root", root)
	if doc.SAPI != "fpm" || len(doc.Files) != 2 {
		t.Errorf("sapi %q files %v", doc.SAPI, doc.Files)
	}
	want := map[string][2]string{
		"session.save_path":         {"2", filepath.Join(root, "etc/php/8.2/fpm/conf.d/50-sess.ini") + ":3"},
		"session.serialize_handler": {"php_serialize", fpm + ":3"},
		"session.gc_maxlifetime":    {"7200", filepath.Join(root, "etc/php/8.2/fpm/conf.d/50-sess.ini") + ":2"},
		"session.gc_probability":    {"1", "default"},
		"session.gc_divisor":        {"100", "default"},
		"session.save_handler":      {"files", fpm + ":2"},
		"session.sid_length":        {"32", "default"},
	}
	for k, w := range want {
		if m[k].Value != w[0] || m[k].Source != w[1] {
			t.Errorf("%s = %q from %q, want %q from %q", k, m[k].Value, m[k].Source, w[0], w[1])
		}
	}
	if len(doc.Warnings) != 1 || !strings.Contains(doc.Warnings[0], `";/var/lib/php/sessions"`) {
		t.Errorf("no warning about the ';' comment: %v", doc.Warnings)
	}

	// --sapi cli
	m, _ = configOf(t, nil, "--etc-root", root, "--sapi", "cli")
	if m["session.save_path"].Value != "/cli/sessions" {
		t.Errorf("--sapi cli: %+v", m["session.save_path"])
	}
	// Debian layout without save_path anywhere: the compiled-in directory
	root2 := t.TempDir()
	mkFile(t, root2, "etc/php/8.2/apache2/php.ini", "session.name = X\n")
	m, _ = configOf(t, nil, "--etc-root", root2)
	if s := m["session.save_path"]; s.Value != DebianSavePath || !strings.Contains(s.Source, "Debian") {
		t.Errorf("Debian default: %+v", s)
	}
	// no /etc/php: PHP's upstream default, the temp dir
	m, _ = configOf(t, map[string]string{"TMPDIR": "/var/tmp/"}, "--etc-root", t.TempDir())
	if s := m["session.save_path"]; s.Value != "/var/tmp" || !strings.Contains(s.Source, "TMPDIR") {
		t.Errorf("temp default: %+v", s)
	}
	// --php-ini, flag and env
	ini := mkFile(t, t.TempDir(), "my.ini", "session.save_path = \"1;0700;/srv/s\"\n")
	m, _ = configOf(t, nil, "--etc-root", root, "--php-ini", ini)
	if s := m["session.save_path"]; s.Value != "1;0700;/srv/s" || s.Source != ini+":1" {
		t.Errorf("--php-ini: %+v", s)
	}
	m, _ = configOf(t, map[string]string{"SESSTOOL_SAVE_PATH": "/env/s"}, "--etc-root", root)
	if s := m["session.save_path"]; s.Value != "/env/s" || s.Source != "env SESSTOOL_SAVE_PATH" {
		t.Errorf("env: %+v", s)
	}
	m, _ = configOf(t, map[string]string{"SESSTOOL_SAVE_PATH": "/env/s"}, "--etc-root", root, "--save-path", "/flag/s", "--serialize-handler", "php_binary")
	if s := m["session.save_path"]; s.Value != "/flag/s" || s.Source != "flag --save-path" {
		t.Errorf("flag: %+v", s)
	}
	if s := m["session.serialize_handler"]; s.Value != "php_binary" {
		t.Errorf("handler flag: %+v", s)
	}

	// human output names values and sources
	r := runTTY(t, "--etc-root", root, "config")
	for _, w := range []string{"SETTING", "session.save_path", `"2"`, "50-sess.ini:3", "warning:", "php.ini of SAPI fpm (PHP 8.2)"} {
		if !strings.Contains(r.out, w) {
			t.Errorf("config lacks %q:\n%s", w, r.out)
		}
	}
	// In a pipe: the rows alone, tab-separated, values exact; warnings on
	// stderr.
	r = runCLI(t, "--etc-root", root, "config")
	if !strings.Contains(r.out, "session.save_path\t2\t"+root) || strings.Contains(r.out, "SETTING") || strings.Contains(r.out, "read php.ini") {
		t.Errorf("config into a pipe:\n%s", r.out)
	}
	if !strings.HasPrefix(r.errOut, "sesstool: warning: ") {
		t.Errorf("config's warnings into a pipe go to stderr: %q", r.errOut)
	}
	wantErrLine(t, runCLI(t, "--etc-root", root, "--sapi", "litespeed", "config"), 2, `invalid --sapi "litespeed"`)
	wantErrLine(t, runCLI(t, "--etc-root", root, "--php-ini", "/nonexistent.ini", "config"), 2, "--php-ini")
}

func TestRootHelpAndUsage(t *testing.T) {
	r := runCLI(t, "--help")
	if r.err != nil || !strings.Contains(r.out, "Usage:") || r.errOut != "" {
		t.Errorf("help must go to stdout: out %q err %q", r.out, r.errOut)
	}
	wantErrLine(t, runCLI(t, "lss"), 2, `(did you mean "ls"?)`)
	wantErrLine(t, runCLI(t, "ls", "--bogus"), 2, "unknown flag: --bogus")
	wantErrLine(t, runCLI(t, "--lock-timeout", "forever", "ls"), 2, `invalid duration "forever"`)
	r = runCLI(t, "version")
	if !strings.HasPrefix(r.out, "sesstool ") {
		t.Errorf("version: %q", r.out)
	}
}

func TestCompletionOfIDs(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "abc1", "", 0)
	putSess(t, dir, "abd2", "", 0)
	putSess(t, dir, "xyz3", "", 0)
	r := runCLI(t, "__complete", "--save-path", dir, "show", "ab")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	got := sortedCopy(lines[:len(lines)-1])
	if strings.Join(got, " ") != "abc1 abd2" {
		t.Errorf("completion: %q", r.out)
	}
	r = runCLI(t, "completion", "bash")
	if r.err != nil || !strings.Contains(r.out, "bash completion") {
		t.Errorf("completion bash: %v", r.err)
	}
}

// Session keys complete after unset ID, set ID, show ID --key (JSON
// Pointers after a '/', one level down) and --where (keys of the first
// sessions, no space after: an operator follows).
func TestCompletionKeys(t *testing.T) {
	dir := t.TempDir()
	putSess(t, dir, "abc1", `user_id|i:42;cart|a:1:{s:3:"sku";i:1;}`, time.Minute)
	putSess(t, dir, "abc2", `username|s:3:"bob";`, time.Minute)
	lines := func(r cliResult) []string { return strings.Split(strings.TrimSpace(r.out), "\n") }
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"unset", "abc1", ""}, []string{"cart", "user_id", ":4"}},
		{[]string{"set", "abc1", "us"}, []string{"user_id", ":4"}},
		{[]string{"show", "abc1", "--key", "/"}, []string{"/cart", "/user_id", ":4"}},
		{[]string{"show", "abc1", "--key", "/cart/"}, []string{"/cart/sku", ":4"}},
		{[]string{"ls", "--where", "user"}, []string{"user_id", "username", ":6"}},
		{[]string{"destroy", "--where", "c"}, []string{"cart", ":6"}},
		{[]string{"unset", "abc1", "cart", ""}, []string{":4"}},
	} {
		r := runCLI(t, append([]string{"__complete", "--save-path", dir}, tt.args...)...)
		if got := lines(r); !slices.Equal(got, tt.want) {
			t.Errorf("%v: %q, want %q", tt.args, got, tt.want)
		}
	}
}
