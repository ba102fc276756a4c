package phpini

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
)

// iniCases are php.ini texts and the value PHP gives session.save_path.
var iniCases = []struct {
	name, text, want string
	cut              bool // the value ran into a ';' comment
}{
	{"plain", "session.save_path = /var/lib/php/sessions\n", "/var/lib/php/sessions", false},
	{"comment cut", "session.save_path = 2;/var/lib/php/sessions\n", "2", true},
	{"comment after space", "session.save_path = /tmp/s ; where\n", "/tmp/s", false},
	{"double quoted", "session.save_path = \"2;/var/lib/php/sessions\"\n", "2;/var/lib/php/sessions", false},
	{"single quoted", "session.save_path = '2;0700;/srv/s'\n", "2;0700;/srv/s", false},
	{"concatenation", "session.save_path = 'a;b' \"c;d\"  e\n", "a;bc;de", false},
	{"inner spaces kept", "session.save_path =   spaced value   ;c\n", "spaced value", false},
	{"escapes", "session.save_path = \"x\\\"y\\n\\\\z\"\n", "x\"y\\n\\z", false},
	{"env", "session.save_path = \"${SESSTOOL_T_HOME}/s\"\n", "/home/t/s", false},
	{"env unquoted", "session.save_path = ${SESSTOOL_T_HOME}/s\n", "/home/t/s", false},
	{"earlier directive", "session.name = foo\nsession.save_path = ${session.name}/q\n", "foo/q", false},
	{"none", "session.save_path = none\n", "", false},
	{"Off", "session.save_path = Off\n", "", false},
	{"On", "session.save_path = On\n", "1", false},
	{"yes/ prefix is text", "session.save_path = yes/foo\n", "yes/foo", false},
	{"later wins", "session.save_path = /a\nsession.save_path = /b\n", "/b", false},
	{"PATH section ignored", "session.save_path = /a\n[PATH=/var/www]\nsession.save_path = /b\n", "/a", false},
	{"HOST section sticks to the end of the file", "session.save_path = /a\n[HOST=x]\nsession.save_path = /h\n[Session]\nsession.save_path = /s\n", "/a", false},
	{"multi-line string", "session.save_path = \"/a\nb\"\n", "/a\nb", false},
	{"empty", "session.save_path =\n", "", false},
	{"crlf", "session.save_path = /a\r\nsession.name = x\r\n", "/a", false},
	{"no spaces", "session.save_path=/nospace\n", "/nospace", false},
	{"empty quoted", "session.save_path = \"\"\n", "", false},
}

func TestParse(t *testing.T) {
	env := map[string]string{"SESSTOOL_T_HOME": "/home/t"}
	for _, tt := range iniCases {
		ents, err := Parse(tt.text, "php.ini", func(k string) string { return env[k] }, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var got *Entry
		for i := range ents {
			if ents[i].Key == "session.save_path" {
				got = &ents[i]
			}
		}
		if got == nil {
			t.Errorf("%s: no session.save_path", tt.name)
			continue
		}
		if got.Value != tt.want || got.CommentCut != tt.cut {
			t.Errorf("%s: %q cut=%v, want %q cut=%v", tt.name, got.Value, got.CommentCut, tt.want, tt.cut)
		}
	}
}

func TestParseErrorsKeepEarlierEntries(t *testing.T) {
	ents, err := Parse("session.save_path = /a\nsession.name = \"open\n", "x.ini", nil, nil)
	var pe *Error
	if err == nil || !errorsAs(err, &pe) || pe.Line != 2 {
		t.Fatalf("want an *Error at line 2, got %v", err)
	}
	if len(ents) != 1 || ents[0].Value != "/a" || ents[0].Line != 1 {
		t.Errorf("entries before the error: %+v", ents)
	}
}

func errorsAs(err error, pe **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*pe = e
	}
	return ok
}

// TestParseAgainstPHP asks real PHP what each ini text means.
func TestParseAgainstPHP(t *testing.T) {
	phptest.PHP(t)
	for _, tt := range iniCases {
		if strings.Contains(tt.text, "session.name") && !strings.Contains(tt.name, "earlier") {
			continue
		}
		dir := t.TempDir()
		ini := filepath.Join(dir, "php.ini")
		if err := os.WriteFile(ini, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		out := phptest.Run(t, `echo json_encode(ini_get("session.save_path"));`,
			[]string{"SESSTOOL_T_HOME=/home/t", "PHP_INI_SCAN_DIR="}, "-c", ini)
		var php string
		if err := json.Unmarshal(out, &php); err != nil {
			t.Fatalf("%s: php said %q", tt.name, out)
		}
		cfg := Load([]string{ini}, func(k string) string {
			if k == "SESSTOOL_T_HOME" {
				return "/home/t"
			}
			return ""
		})
		e, _ := cfg.Get("session.save_path")
		if e.Value != php {
			t.Errorf("%s: sesstool reads %q, PHP %q", tt.name, e.Value, php)
		}
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	if loc, deb, err := Discover(root, ""); loc != nil || deb || err != nil {
		t.Fatalf("empty root: %v %v %v", loc, deb, err)
	}
	mk := func(rel, text string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("etc/php/7.4/fpm/php.ini", "session.save_path = /old\n")
	mk("etc/php/8.2/cli/php.ini", "session.save_path = /cli\n")
	mk("etc/php/8.10/cli/php.ini", "session.save_path = /cli810\n")
	loc, deb, err := Discover(root, "")
	if err != nil || !deb || loc == nil {
		t.Fatalf("%v %v %v", loc, deb, err)
	}
	// fpm comes first in the SAPI order, even in an older version
	if loc.SAPI != "fpm" || loc.Version != "7.4" {
		t.Errorf("default: %s %s, want fpm 7.4", loc.SAPI, loc.Version)
	}
	loc, _, _ = Discover(root, "cli")
	if loc == nil || loc.Version != "8.10" {
		t.Errorf("cli: newest version should be 8.10 (numeric order), got %+v", loc)
	}
	mk("etc/php/8.10/cli/conf.d/20-b.ini", "session.save_path = /b\n")
	mk("etc/php/8.10/cli/conf.d/10-a.ini", "session.save_path = /a\n")
	mk("etc/php/8.10/cli/conf.d/30-c.txt", "session.save_path = /txt\n")
	loc, _, _ = Discover(root, "cli")
	cfg := Load(loc.Files, nil)
	if e, _ := cfg.Get("session.save_path"); e.Value != "/b" || !strings.HasSuffix(e.File, "20-b.ini") || e.Line != 1 {
		t.Errorf("conf.d order: %+v", e)
	}
	if len(cfg.Files) != 3 {
		t.Errorf("files %v", cfg.Files)
	}
	if loc, _, _ := Discover(root, "apache2"); loc != nil {
		t.Errorf("apache2 absent but found %+v", loc)
	}
}
