package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Debian's files, as php-common 8.2 installs them.
const (
	debTimer   = "[Unit]\nDescription=Clean PHP session files every 30 mins\n\n[Timer]\nOnCalendar=*-*-* *:09,39:00\nPersistent=true\n\n[Install]\nWantedBy=timers.target\n"
	debService = "[Unit]\nDescription=Clean php session files\n\n[Service]\nType=oneshot\nExecStart=/usr/lib/php/sessionclean\n"
	debCron    = "# /etc/cron.d/php\n09,39 *     * * *     root   [ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi\n"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		mustDo(t, os.MkdirAll(filepath.Dir(full), 0o755))
		mustDo(t, os.WriteFile(full, []byte(content), 0o644))
	}
}

// gc simulate finds the sweeps the machine runs (Debian's phpsessionclean
// timer when enabled, its cron.d line, sesstool's own cron job) and models
// them: with gc_probability 0 it never says NEVER COLLECTED where a cleaner
// runs, and says so where none does; --cron overrides the detection.
func TestGCSimulateFindsCleaners(t *testing.T) {
	timer := t.TempDir()
	writeTree(t, timer, map[string]string{
		"lib/systemd/system/phpsessionclean.timer":   debTimer,
		"lib/systemd/system/phpsessionclean.service": debService,
	})
	mustDo(t, os.MkdirAll(filepath.Join(timer, "etc/systemd/system/timers.target.wants"), 0o755))
	mustDo(t, os.Symlink("/lib/systemd/system/phpsessionclean.timer", filepath.Join(timer, "etc/systemd/system/timers.target.wants/phpsessionclean.timer")))

	disabled := t.TempDir() // the timer installed, not enabled
	writeTree(t, disabled, map[string]string{
		"lib/systemd/system/phpsessionclean.timer":   debTimer,
		"lib/systemd/system/phpsessionclean.service": debService,
	})
	cron := t.TempDir()
	writeTree(t, cron, map[string]string{"etc/cron.d/php": debCron})
	own := t.TempDir()
	data, err := os.ReadFile("../contrib/cron.d/sesstool")
	mustDo(t, err)
	writeTree(t, own, map[string]string{"etc/cron.d/sesstool": string(data)})
	hourly := t.TempDir()
	writeTree(t, hourly, map[string]string{"etc/cron.d/x": "*/15 * * * * root /usr/local/bin/sesstool gc -q\n"})
	reboot := t.TempDir() // @reboot sets no interval, whatever its order
	writeTree(t, reboot, map[string]string{"etc/cron.d/x": "*/15 * * * * root /usr/local/bin/sesstool gc -q\n@reboot root /usr/local/bin/sesstool gc -q\n"})

	for _, tt := range []struct {
		name  string
		root  string
		args  []string
		every float64
	}{
		{"timer", timer, nil, 1800},
		{"disabled timer", disabled, nil, 0},
		{"cron.d/php", cron, nil, 1800},
		{"sesstool's cron.d", own, nil, 1800},
		{"every 15 minutes", hourly, nil, 900},
		{"every 15 minutes and @reboot", reboot, nil, 900},
		{"--cron 0 overrides", timer, []string{"--cron", "0"}, 0},
	} {
		args := append([]string{"--etc-root", tt.root, "gc", "simulate", "--no-save-path", "--probability", "0", "--rate", "10"}, tt.args...)
		r := runCLI(t, append(args, "-o", "json")...)
		if r.err != nil {
			t.Fatalf("%s: %v", tt.name, r.err)
		}
		var doc struct {
			Cron     float64           `json:"cron_seconds"`
			Cleaners []json.RawMessage `json:"cleaners"`
		}
		mustDo(t, json.Unmarshal([]byte(r.out), &doc))
		if doc.Cron != tt.every {
			t.Errorf("%s: cron_seconds %v, want %v (%s)", tt.name, doc.Cron, tt.every, r.out)
		}
		h := runCLI(t, args...)
		if never := strings.Contains(h.out, "NEVER COLLECTED"); never != (tt.every == 0) {
			t.Errorf("%s: NEVER COLLECTED %v, want %v:\n%s", tt.name, never, tt.every == 0, h.out)
		}
		if strings.Contains(h.out, "grow by 0 per hour") {
			t.Errorf("%s: %s", tt.name, h.out)
		}
	}
}

// The schedule forms sweeps use, and the ones that give no interval (an
// empty OnCalendar= resets the list; hours with ranges are not guessed).
func TestCleanerIntervals(t *testing.T) {
	for _, tt := range []struct {
		cal  string
		want time.Duration
		ok   bool
	}{
		{"*-*-* *:09,39:00", 30 * time.Minute, true},
		{"*:0/15", 15 * time.Minute, true},
		{"hourly", time.Hour, true},
		{"", 0, false},
		{"Mon *-*-* 03:00:00", 0, false},
	} {
		if d, ok := calendarInterval(tt.cal); d != tt.want || ok != tt.ok {
			t.Errorf("OnCalendar=%q: %v %v, want %v %v", tt.cal, d, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct {
		sched string
		want  time.Duration
		ok    bool
	}{
		{"09,39 * * * *", 30 * time.Minute, true},
		{"*/10 * * * *", 10 * time.Minute, true},
		{"0 3 * * *", 24 * time.Hour, true},
		{"0 */6 * * *", 6 * time.Hour, true},
		{"*/6 * * * *", 6 * time.Minute, true},
		{"0 1-5 * * *", 20 * time.Hour, true}, // the longest gap: 5:00 to 1:00
		{"0 0 * * 0", 7 * 24 * time.Hour, true},
		{"0 0 * * sun", 7 * 24 * time.Hour, true},
		{"30 2 1 * *", 31 * 24 * time.Hour, true},
		{"0 0 */2 * *", 2 * 24 * time.Hour, true}, // 31 to 1: 1 day; 1 to 3: 2 days
		{"x * * * *", 0, false},
		{"60 * * * *", 0, false},
		{"0 0 31 2 *", 0, false}, // never runs
	} {
		if d, ok := cronInterval(strings.Fields(tt.sched)); d != tt.want || ok != tt.ok {
			t.Errorf("cron %q: %v %v, want %v %v", tt.sched, d, ok, tt.want, tt.ok)
		}
	}
}

// TestCronLines: cron's line forms, with and without a user field; @
// schedules; lines that run nothing.
func TestCronLines(t *testing.T) {
	for _, tt := range []struct {
		line    string
		userCol bool
		every   time.Duration
		command string
		ok      bool
	}{
		{"@hourly root sesstool gc -q", true, time.Hour, "sesstool gc -q", true},
		{"@hourly sesstool gc -q", false, time.Hour, "sesstool gc -q", true},
		{"@reboot root sesstool gc -q", true, 0, "sesstool gc -q", true},
		{"@daily   www-data   /usr/local/bin/sesstool gc", true, 24 * time.Hour, "/usr/local/bin/sesstool gc", true},
		{"@never root sesstool gc", true, 0, "", false},
		{"@hourly root", true, 0, "", false},
		{"0 */6 * * * root sesstool gc", true, 6 * time.Hour, "sesstool gc", true},
		{"0 */6 * * * sesstool gc", false, 6 * time.Hour, "sesstool gc", true},
		{"MAILTO=root", true, 0, "", false},
		{"# 0 * * * * root sesstool gc", true, 0, "", false},
	} {
		every, cmd, ok := parseCronLine(tt.line, tt.userCol)
		if every != tt.every || cmd != tt.command || ok != tt.ok {
			t.Errorf("%q (user field %v): %v %q %v, want %v %q %v", tt.line, tt.userCol, every, cmd, ok, tt.every, tt.command, tt.ok)
		}
	}
	for _, tt := range []struct {
		command string
		sweeps  bool
	}{
		{"/usr/local/bin/sesstool gc -q", true},
		{"/usr/local/bin/sesstool gc --dry-run", false},
		{"/usr/local/bin/sesstool gc --dry-run=true -q", false},
		{"/usr/local/bin/sesstool gc --dry-run=false -q", true},
		{"/usr/local/bin/sesstool --save-path /x gc --all --dry-run --list", false},
		{"/usr/local/bin/sesstool gc simulate", false},
		{"/usr/local/bin/sesstool ls; /usr/local/bin/sesstool gc -q", true},
	} {
		if _, ok := parseSweep(tt.command); ok != tt.sweeps {
			t.Errorf("%q: a sweep %v, want %v", tt.command, ok, tt.sweeps)
		}
	}
	for name, runs := range map[string]bool{"php": true, "sesstool_gc-2": true, "x.disabled": false, "x~": false, "x.dpkg-old": false, ".placeholder": false} {
		if got := cronRunsName(name); got != runs {
			t.Errorf("cron.d/%s: run %v, want %v", name, got, runs)
		}
	}
}
