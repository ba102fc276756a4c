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
// sweeps nothing).
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
	crons, _ := filepath.Glob(filepath.Join(etcRoot, "etc/cron.d/*"))
	crons = append(crons, filepath.Join(etcRoot, "etc/crontab"))
	for _, cp := range crons {
		f, err := os.Open(cp)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || line[0] == '#' {
				continue
			}
			fields := strings.Fields(line)
			if len(fields) < 6 {
				continue
			}
			sweep, ok := parseSweep(strings.Join(fields[5:], " "))
			if !ok {
				continue
			}
			if d, ok := cronInterval(fields[0], fields[1]); ok {
				out = append(out, cleaner{What: "cron: " + filepath.Base(cp), Where: cp, Every: d, Sweep: sweep})
			}
		}
		f.Close()
	}
	return out
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

// cronInterval reads the interval of a cron line from its minute and hour
// fields, for the forms sweeps use (a minute list or */N, every hour).
func cronInterval(min, hour string) (time.Duration, bool) {
	if hour != "*" {
		if n := len(strings.Split(hour, ",")); !strings.ContainsAny(hour, "-/*") {
			return 24 * time.Hour / time.Duration(n), true
		}
		return 0, false
	}
	if strings.HasPrefix(min, "*/") {
		min = "0/" + min[2:]
	}
	return minuteInterval(min)
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
