package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// etcWith writes files under a fresh etc-root (path -> content).
func etcWith(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestCreatedSessionOwnerIsNeverPlanted (CLI.md "The owner of a created
// session is never chosen by whoever can write the save_path"): as root on
// Debian's 1733 root-owned save_path, a session planted by nobody used to
// make set --create give the new session to nobody (20 of 20). The owner
// now comes from --owner or the PHP user the SAPI's configuration names,
// else it is the save_path's owner with a warning.
func TestCreatedSessionOwnerIsNeverPlanted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the owner of created sessions is only chosen as root")
	}
	bin := buildTool(t)
	fpmConf := func(pools string) map[string]string {
		return map[string]string{
			"etc/php/8.2/fpm/php.ini":       "[Session]\n",
			"etc/php/8.2/fpm/php-fpm.conf":  "[global]\npid = /run/php/php8.2-fpm.pid\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
			"etc/php/8.2/fpm/pool.d/a.conf": pools,
		}
	}
	cases := []struct {
		name      string
		etc       map[string]string
		args      []string
		wantUID   int
		wantWarn  string // "" = no warning
		savePathP bool   // the pool sets this save_path with php_value
	}{
		{name: "no configuration", etc: map[string]string{}, wantUID: 0, wantWarn: "pass --owner"},
		{name: "fpm pool user", etc: fpmConf("[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/x.sock\n"), wantUID: 33},
		{name: "apache envvars", etc: map[string]string{
			"etc/php/8.2/apache2/php.ini": "[Session]\n",
			"etc/apache2/envvars":         "unset HOME\nexport APACHE_RUN_USER=www-data\nexport APACHE_RUN_GROUP=www-data\n",
		}, wantUID: 33},
		{name: "two pools, two users", etc: fpmConf("[a]\nuser = www-data\n[b]\nuser = nobody\n"), wantUID: 0, wantWarn: "several PHP users (www-data, nobody)"},
		{name: "pool of another save_path", etc: fpmConf("[a]\nuser = nobody\nphp_admin_value[session.save_path] = /elsewhere\n[b]\nuser = www-data\n"), wantUID: 33},
		{name: "--owner", etc: map[string]string{}, args: []string{"--owner", "daemon"}, wantUID: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := etcWith(t, c.etc)
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o1733); err != nil {
				t.Fatal(err)
			}
			// A session planted by a local user.
			planted := filepath.Join(dir, "sess_planted1")
			if err := os.WriteFile(planted, []byte(`x|i:1;`), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(planted, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				id := fmt.Sprintf("new%d", i)
				args := append([]string{"--etc-root", root, "--save-path", dir}, c.args...)
				args = append(args, "set", "--create", id, "k", "1")
				r := runTool(bin, runOpts{}, args...)
				if r.exit != 0 {
					t.Fatalf("%v", r)
				}
				var st syscall.Stat_t
				if err := syscall.Stat(filepath.Join(dir, "sess_"+id), &st); err != nil {
					t.Fatal(err)
				}
				if int(st.Uid) != c.wantUID || st.Uid == 65534 && c.wantUID != 65534 {
					t.Fatalf("created session owned by uid %d, want %d (%v)", st.Uid, c.wantUID, r)
				}
				switch {
				case c.wantWarn == "" && r.stderr != "":
					t.Errorf("unexpected stderr %q", r.stderr)
				case c.wantWarn != "" && (!strings.Contains(r.stderr, c.wantWarn) || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "sesstool: warning: ")):
					t.Errorf("stderr %q, want one warning line with %q", r.stderr, c.wantWarn)
				}
			}
		})
	}
}
