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
		min, hour string
		want      time.Duration
		ok        bool
	}{
		{"09,39", "*", 30 * time.Minute, true},
		{"*/10", "*", 10 * time.Minute, true},
		{"0", "3", 24 * time.Hour, true},
		{"0", "1-5", 0, false},
		{"x", "*", 0, false},
	} {
		if d, ok := cronInterval(tt.min, tt.hour); d != tt.want || ok != tt.ok {
			t.Errorf("cron %s %s: %v %v, want %v %v", tt.min, tt.hour, d, ok, tt.want, tt.ok)
		}
	}
}
