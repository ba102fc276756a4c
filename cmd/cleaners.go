package cmd

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cleaner is an external sweep of the save_path that runs on this machine:
// Debian's phpsessionclean (systemd timer or cron.d/php) or sesstool's own
// gc job (contrib/systemd, contrib/cron.d).
type cleaner struct {
	What  string        // "phpsessionclean.timer", "cron: php", ...
	Where string        // the file that schedules it
	Every time.Duration // its interval
	Sweep sweepCmd      // what it runs, and so which save_paths it covers
}

// sweepCmd is what a cleaner runs: Debian's sessionclean (every web and
// CLI SAPI's php.ini save_path with save_handler files, as PHP with that
// php.ini and conf.d reports it: never a PHP-FPM pool's own), or sesstool
// gc with its flags.
type sweepCmd struct {
	SessionClean bool
	All          bool   // sesstool gc --all: every save_path /etc/php names
	SavePath     string // --save-path (or SESSTOOL_SAVE_PATH=)
	SaveHandler  string // --save-handler (or SESSTOOL_SAVE_HANDLER=)
	PHPIni       string // --php-ini
	SAPI         string // --sapi
}

// parseSweep reads the command of a cron line or an ExecStart= value: ok
// is false when it runs neither sessionclean nor sesstool gc (gc simulate
// and gc --dry-run sweep nothing).
func parseSweep(line string) (sweepCmd, bool) {
	if strings.Contains(line, "sessionclean") {
		return sweepCmd{SessionClean: true}, true
	}
	var c sweepCmd
	words := strings.Fields(line)
	for i := 0; i < len(words); i++ {
		w := strings.Trim(words[i], `'"`)
		if v, ok := strings.CutPrefix(w, "SESSTOOL_SAVE_PATH="); ok {
			c.SavePath = strings.Trim(v, `'"`)
			continue
		}
		if v, ok := strings.CutPrefix(w, "SESSTOOL_SAVE_HANDLER="); ok {
			c.SaveHandler = strings.Trim(v, `'"`)
			continue
		}
		if filepath.Base(w) != "sesstool" {
			continue
		}
		// sesstool's own words, up to the end of that shell command.
		gc := false
		args := []string{}
		for _, a := range words[i+1:] {
			end := strings.HasSuffix(a, ";")
			a = strings.Trim(strings.TrimSuffix(a, ";"), `'"`)
			if a == "&&" || a == "||" || a == "|" || a == ";" {
				break
			}
			args = append(args, a)
			if end {
				break
			}
		}
		for k := 0; k < len(args); k++ {
			a := args[k]
			flag, val, hasVal := strings.Cut(a, "=")
			next := func() string {
				if hasVal {
					return val
				}
				if k+1 < len(args) {
					k++
					return args[k]
				}
				return ""
			}
			switch {
			case a == "gc" && !gc:
				gc = true
				if k+1 < len(args) && args[k+1] == "simulate" {
					return sweepCmd{}, false
				}
			case flag == "--dry-run" && (!hasVal || val != "false" && val != "0"):
				return sweepCmd{}, false // deletes nothing
			case a == "--all":
				c.All = true
			case flag == "--save-path":
				c.SavePath = next()
			case flag == "--save-handler":
				c.SaveHandler = next()
			case flag == "--php-ini":
				c.PHPIni = next()
			case flag == "--sapi":
				c.SAPI = next()
			}
		}
		if gc {
			return c, true
		}
	}
	return sweepCmd{}, false
}

// findCleaners looks under etcRoot ("/" on a real machine) for enabled
// systemd timers and cron lines that run sessionclean or sesstool gc.
func findCleaners(etcRoot string) []cleaner {
	var out []cleaner
	wants := filepath.Join(etcRoot, "etc/systemd/system/timers.target.wants")
	seen := map[string]bool{}
	for _, dir := range []string{"etc/systemd/system", "lib/systemd/system", "usr/lib/systemd/system"} {
		timers, _ := filepath.Glob(filepath.Join(etcRoot, dir, "*.timer"))
		for _, tp := range timers {
			name := filepath.Base(tp)
			if seen[name] {
				continue
			}
			svc := filepath.Join(filepath.Dir(tp), strings.TrimSuffix(name, ".timer")+".service")
			var sweep sweepCmd
			found := false
			for _, ex := range unitValues(svc, "ExecStart") {
				if sw, ok := parseSweep(ex); ok {
					sweep, found = sw, true
					break
				}
			}
			if !found {
				continue
			}
			if _, err := os.Lstat(filepath.Join(wants, name)); err != nil {
				continue // installed, not enabled
			}
			seen[name] = true
			for _, cal := range unitValues(tp, "OnCalendar") {
				if d, ok := calendarInterval(cal); ok {
					out = append(out, cleaner{What: name, Where: tp, Every: d, Sweep: sweep})
					break
				}
			}
		}
	}
	// Debian's cron reads /etc/crontab and the files of /etc/cron.d whose
	// names follow run-parts' convention (letters, digits, '_' and '-'
	// only: "x.disabled", "x~" and "x.dpkg-old" are never run), both with
	// a user field, and the users' crontabs in /var/spool/cron/crontabs
	// without one.
	type crontab struct {
		path     string
		userCol  bool
		fromUser bool
	}
	var tabs []crontab
	dropins, _ := filepath.Glob(filepath.Join(etcRoot, "etc/cron.d/*"))
	for _, p := range dropins {
		if cronRunsName(filepath.Base(p)) {
			tabs = append(tabs, crontab{path: p, userCol: true})
		}
	}
	tabs = append(tabs, crontab{path: filepath.Join(etcRoot, "etc/crontab"), userCol: true})
	users, _ := filepath.Glob(filepath.Join(etcRoot, "var/spool/cron/crontabs/*"))
	for _, p := range users {
		if !strings.HasPrefix(filepath.Base(p), ".") {
			tabs = append(tabs, crontab{path: p, fromUser: true})
		}
	}
	for _, tab := range tabs {
		f, err := os.Open(tab.path)
		if err != nil {
			continue
		}
		what := "cron: " + filepath.Base(tab.path)
		if tab.fromUser {
			what = "crontab of " + filepath.Base(tab.path)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			d, command, ok := parseCronLine(sc.Text(), tab.userCol)
			if !ok {
				continue
			}
			if sweep, ok := parseSweep(command); ok {
				out = append(out, cleaner{What: what, Where: tab.path, Every: d, Sweep: sweep})
			}
		}
		f.Close()
	}
	return out
}

// cronRunsName reports whether Debian's cron reads /etc/cron.d/name: "Files
// must conform to the same naming convention as used by run-parts: they
// must consist solely of upper- and lower-case letters, digits,
// underscores, and hyphens" (cron(8)).
func cronRunsName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// cronSpecials are cron's @ schedules and their intervals (@reboot: once
// at boot, 0).
var cronSpecials = map[string]time.Duration{
	"@reboot": 0, "@yearly": 365 * 24 * time.Hour, "@annually": 365 * 24 * time.Hour,
	"@monthly": 30 * 24 * time.Hour, "@weekly": 7 * 24 * time.Hour,
	"@daily": 24 * time.Hour, "@midnight": 24 * time.Hour, "@hourly": time.Hour,
}

// parseCronLine reads one crontab line: its interval (the longest gap
// between two runs; 0 for @reboot) and its command, after the user field
// when userCol (/etc/crontab, /etc/cron.d). ok is false for comments,
// blank lines, variable settings and schedules cron would not run.
func parseCronLine(line string, userCol bool) (every time.Duration, command string, ok bool) {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return 0, "", false
	}
	fields := strings.Fields(line)
	n := 5 // schedule fields
	if strings.HasPrefix(fields[0], "@") {
		d, known := cronSpecials[strings.ToLower(fields[0])]
		if !known {
			return 0, "", false
		}
		every, n = d, 1
	} else {
		if len(fields) < 5 {
			return 0, "", false // NAME=value, or not a schedule
		}
		d, known := cronInterval(fields[:5])
		if !known {
			return 0, "", false
		}
		every = d
	}
	if userCol {
		n++
	}
	if len(fields) <= n {
		return 0, "", false
	}
	return every, strings.Join(fields[n:], " "), true
}

// unitValues returns the values of key in a systemd unit file.
func unitValues(path, key string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var vs []string
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok && strings.TrimSpace(k) == key {
			vs = append(vs, strings.TrimSpace(v))
		}
	}
	return vs
}

// calendarInterval reads the interval of the OnCalendar forms sweeps use:
// "*-*-* *:09,39:00" (minutes of every hour), "hourly", "daily",
// "*:0/15".
func calendarInterval(cal string) (time.Duration, bool) {
	switch cal {
	case "hourly":
		return time.Hour, true
	case "daily":
		return 24 * time.Hour, true
	}
	f := strings.Fields(cal)
	if len(f) == 0 {
		return 0, false // "OnCalendar=" resets the list
	}
	t := f[len(f)-1]
	parts := strings.Split(t, ":")
	if len(parts) < 2 || parts[0] != "*" {
		return 0, false
	}
	return minuteInterval(parts[1])
}

// cronInterval reads the interval of a cron schedule (minute, hour, day
// of month, month, day of week: numbers, names of months and days, *,
// ranges, lists and /steps in any field): the longest gap between two runs
// over two years. ok is false for a field cron would refuse, or a
// schedule that never runs.
func cronInterval(f []string) (time.Duration, bool) {
	if len(f) != 5 {
		return 0, false
	}
	months := []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	days := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	mins, ok1 := cronField(f[0], 0, 59, nil)
	hours, ok2 := cronField(f[1], 0, 23, nil)
	doms, ok3 := cronField(f[2], 1, 31, nil)
	mons, ok4 := cronField(f[3], 1, 12, months)
	dows, ok5 := cronField(f[4], 0, 7, days)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return 0, false
	}
	if dows[7] {
		dows[0] = true // 7 is Sunday too
	}
	// cron: when both day fields are restricted, either matching runs.
	domStar, dowStar := strings.HasPrefix(f[2], "*"), strings.HasPrefix(f[4], "*")
	var gap, last, count int64
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for day := range 2 * 366 {
		t := start.AddDate(0, 0, day)
		dom, dow := doms[t.Day()], dows[int(t.Weekday())]
		match := dom && dow
		if !domStar && !dowStar {
			match = dom || dow
		}
		if !mons[int(t.Month())] || !match {
			continue
		}
		for h := range 24 {
			if !hours[h] {
				continue
			}
			for m := range 60 {
				if mins[m] {
					at := int64(day)*24*60 + int64(h)*60 + int64(m)
					if count > 0 {
						gap = max(gap, at-last)
					}
					last = at
					count++
				}
			}
		}
	}
	if count < 2 {
		return 0, false
	}
	return time.Duration(gap) * time.Minute, true
}

// cronField is the set of values a cron field names, within lo..hi
// (names: the values from lo up, case-insensitive).
func cronField(s string, lo, hi int, names []string) (map[int]bool, bool) {
	set := map[int]bool{}
	num := func(v string) (int, bool) {
		for i, n := range names {
			if strings.EqualFold(v, n) {
				return lo + i, true
			}
		}
		k, err := strconv.Atoi(v)
		return k, err == nil && k >= lo && k <= hi
	}
	for _, part := range strings.Split(s, ",") {
		rng, stepS, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			k, err := strconv.Atoi(stepS)
			if err != nil || k <= 0 {
				return nil, false
			}
			step = k
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var ok1, ok2 bool
			a, ok1 = num(x)
			b, ok2 = num(y)
			if !ok1 || !ok2 || a > b {
				return nil, false
			}
		default:
			k, ok := num(rng)
			if !ok {
				return nil, false
			}
			a, b = k, k
			if hasStep {
				b = hi // "5/15": from 5 on, as cron reads it
			}
		}
		for v := a; v <= b; v += step {
			set[v] = true
		}
	}
	return set, len(set) > 0
}

// minuteInterval: "09,39" → 30m, "0/15" → 15m, "*" → 1m.
func minuteInterval(m string) (time.Duration, bool) {
	if m == "*" {
		return time.Minute, true
	}
	if _, n, ok := strings.Cut(m, "/"); ok {
		k, err := strconv.Atoi(n)
		if err != nil || k <= 0 || k > 60 {
			return 0, false
		}
		return time.Duration(k) * time.Minute, true
	}
	list := strings.Split(m, ",")
	for _, x := range list {
		if k, err := strconv.Atoi(x); err != nil || k < 0 || k > 59 {
			return 0, false
		}
	}
	return time.Hour / time.Duration(len(list)), true
}
