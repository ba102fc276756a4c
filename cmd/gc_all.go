package cmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesstool/sesstool/gcpolicy"
	"github.com/sesstool/sesstool/internal/phpini"
	"github.com/sesstool/sesstool/sessfile"
)

// gcAllSAPIs are the SAPIs Debian's sessionclean looks at, in its order.
var gcAllSAPIs = []string{"apache2", "apache2filter", "cgi", "fpm", "cli"}

// gcSource is one place that puts sessions in a save_path.
type gcSource struct {
	Where       string        `json:"where"`          // "/etc/php/8.2/fpm/pool.d/www.conf [pool www]"
	SavePathAt  string        `json:"save_path_from"` // file:line or "default"
	MaxLifetime time.Duration `json:"-"`
	MaxAt       string        `json:"maxlifetime_from"`
	MaxSeconds  int64         `json:"maxlifetime_seconds"`
}

// gcTarget is one save_path to sweep and every source naming it.
type gcTarget struct {
	SavePath    sessfile.SavePath
	MaxLifetime time.Duration // longest of the sources
	Sources     []gcSource
}

// gcSkipped is a source --all does not sweep, and why.
type gcSkipped struct {
	Where  string `json:"where"`
	Reason string `json:"reason"`
}

// gcDiscovery is what --all found.
type gcDiscovery struct {
	Targets []*gcTarget
	Skipped []gcSkipped
	Errors  []error // save_path values sesstool refuses: reported, exit 1
}

// gcSessionConf is the session configuration one source gives.
type gcSessionConf struct {
	handler, savePath, maxLifetime phpini.Entry
	hasSavePath, hasMax            bool
}

func (c *gcSessionConf) apply(key string, e phpini.Entry) {
	switch key {
	case "session.save_handler":
		c.handler = e
	case "session.save_path":
		c.savePath, c.hasSavePath = e, true
	case "session.gc_maxlifetime":
		c.maxLifetime, c.hasMax = e, true
	}
}

// discoverGCTargets finds every save_path of the machine under
// etcRoot/etc/php: for each PHP version directory and each SAPI of
// sessionclean's list, php.ini plus its conf.d; for fpm also the pools of
// php-fpm.conf and its includes. Sources with another save_handler, an
// empty save_path or a missing directory are skipped (as sessionclean
// does); a path named by several sources is swept once with the longest
// maxlifetime.
func discoverGCTargets(etcRoot string, getenv func(string) string) (*gcDiscovery, error) {
	d := &gcDiscovery{}
	byKey := map[string]*gcTarget{}
	err := eachSAPIConfig(etcRoot, getenv, func(ver, sapi, dir, ini string, cfg *phpini.Config) {
		var base gcSessionConf
		for _, k := range []string{"session.save_handler", "session.save_path", "session.gc_maxlifetime"} {
			if e, ok := cfg.Get(k); ok {
				base.apply(k, e)
			}
		}
		d.add(byKey, fmt.Sprintf("%s (PHP %s %s)", ini, ver, sapi), base)
		if sapi != "fpm" {
			return
		}
		conf := filepath.Join(dir, "php-fpm.conf")
		if _, err := os.Stat(conf); err != nil {
			return
		}
		fpm, err := phpini.LoadFPM(conf, etcRoot, getenv)
		if err != nil {
			d.Skipped = append(d.Skipped, gcSkipped{Where: conf, Reason: err.Error()})
			return
		}
		for _, w := range fpm.Warnings {
			d.Skipped = append(d.Skipped, gcSkipped{Where: conf, Reason: w})
		}
		for _, pool := range fpm.Pools {
			pc := base
			overrides := false
			for _, k := range []string{"session.save_handler", "session.save_path", "session.gc_maxlifetime"} {
				if e, ok := pool.Values[k]; ok {
					pc.apply(k, e)
					overrides = true
				}
			}
			if !overrides {
				continue // the pool uses fpm's php.ini: already a source
			}
			d.add(byKey, fmt.Sprintf("%s [pool %s] (PHP %s fpm)", pool.File, pool.Name, ver), pc)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("gc --all: %w", err)
	}
	for _, t := range byKey {
		d.Targets = append(d.Targets, t)
	}
	slices.SortFunc(d.Targets, func(a, b *gcTarget) int {
		return cmp.Or(cmp.Compare(a.SavePath.Dir, b.SavePath.Dir), cmp.Compare(a.SavePath.Depth, b.SavePath.Depth))
	})
	return d, nil
}

// eachSAPIConfig calls fn for every PHP version directory under
// etcRoot/etc/php and each SAPI of sessionclean's list that has a php.ini,
// with that php.ini and its conf.d loaded. A missing /etc/php is none.
func eachSAPIConfig(etcRoot string, getenv func(string) string, fn func(ver, sapi, dir, ini string, cfg *phpini.Config)) error {
	base := filepath.Join(etcRoot, "etc", "php")
	ents, err := os.ReadDir(base)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("reading %s: %w", base, err)
	}
	var versions []string
	for _, e := range ents {
		if e.IsDir() && isVersionDir(e.Name()) {
			versions = append(versions, e.Name())
		}
	}
	slices.Sort(versions)
	for _, ver := range versions {
		for _, sapi := range gcAllSAPIs {
			dir := filepath.Join(base, ver, sapi)
			ini := filepath.Join(dir, "php.ini")
			if st, err := os.Stat(ini); err != nil || !st.Mode().IsRegular() {
				continue
			}
			fn(ver, sapi, dir, ini, phpini.Load(append([]string{ini}, phpini.ScanDir(filepath.Join(dir, "conf.d"))...), getenv))
		}
	}
	return nil
}

func isVersionDir(s string) bool {
	for _, f := range strings.Split(s, ".") {
		if _, err := strconv.Atoi(f); err != nil {
			return false
		}
	}
	return true
}

// add records one source's configuration.
func (d *gcDiscovery) add(byKey map[string]*gcTarget, where string, c gcSessionConf) {
	if c.handler.Value != "" && !strings.EqualFold(c.handler.Value, "files") {
		d.Skipped = append(d.Skipped, gcSkipped{Where: where, Reason: fmt.Sprintf("session.save_handler is %q (%s)", c.handler.Value, c.handler.Where())})
		return
	}
	value, at := DebianSavePath, "default (Debian build)"
	if c.hasSavePath {
		value, at = c.savePath.Value, c.savePath.Where()
	}
	if value == "" {
		d.Skipped = append(d.Skipped, gcSkipped{Where: where, Reason: fmt.Sprintf("session.save_path is empty (%s): PHP uses the temp directory; give it explicitly to have it swept", at)})
		return
	}
	sp, err := sessfile.ParseSavePath(value)
	if err != nil {
		d.Errors = append(d.Errors, fmt.Errorf("gc --all: %s: %w (%s)", where, err, at))
		return
	}
	ml, mlAt := gcpolicy.DefaultMaxLifetime, "default"
	if c.hasMax {
		mlAt = c.maxLifetime.Where()
		if n, err := strconv.ParseInt(strings.TrimSpace(c.maxLifetime.Value), 10, 64); err == nil && n >= 0 {
			ml = time.Duration(n) * time.Second
		} else {
			d.Skipped = append(d.Skipped, gcSkipped{Where: where, Reason: fmt.Sprintf("session.gc_maxlifetime %q (%s) is not a number of seconds; using 1440", c.maxLifetime.Value, mlAt)})
		}
	}
	if st, err := os.Stat(sp.Dir); err != nil || !st.IsDir() {
		d.Skipped = append(d.Skipped, gcSkipped{Where: where, Reason: fmt.Sprintf("save_path %s (%s) is not an existing directory", sp.Dir, at)})
		return
	}
	key := sp.Dir
	if r, err := filepath.EvalSymlinks(sp.Dir); err == nil {
		key = r
	}
	key = filepath.Clean(key) + "\x00" + strconv.Itoa(sp.Depth)
	t := byKey[key]
	if t == nil {
		t = &gcTarget{SavePath: sp}
		byKey[key] = t
	}
	t.MaxLifetime = max(t.MaxLifetime, ml)
	t.Sources = append(t.Sources, gcSource{Where: where, SavePathAt: at, MaxLifetime: ml, MaxAt: mlAt, MaxSeconds: gcpolicy.Seconds(ml)})
}

// gcPathReport is one swept path in gc --all -o json.
type gcPathReport struct {
	SavePath   string     `json:"save_path"`
	MaxSeconds int64      `json:"maxlifetime_seconds"`
	Sources    []gcSource `json:"sources"`
	Scanned    int64      `json:"scanned"`
	Deleted    int64      `json:"deleted"`
	BytesFreed int64      `json:"bytes_freed"`
	SkippedUse int64      `json:"skipped_in_use"`
	Errors     int64      `json:"errors"`
}

func gcAllRun(ctx context.Context, opts *GCOptions) error {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	etc := opts.EtcRoot
	if etc == "" {
		etc = "/"
	}
	disc, err := discoverGCTargets(etc, getenv)
	if err != nil {
		return err
	}
	rep := newGCReporter(opts)
	for _, e := range disc.Errors {
		rep.error(e)
	}
	sty := NewStyles(opts.IO)
	human := opts.Output != FormatJSON && !opts.Quiet
	out := opts.IO.Out
	if human && len(disc.Targets) == 0 {
		fmt.Fprintf(out, "gc --all: no save_path found under %s\n", filepath.Join(etc, "etc/php"))
	}
	if human && opts.DryRun {
		for _, s := range disc.Skipped {
			fmt.Fprintf(out, "%s %s: %s\n", sty.Warn.Render("not swept:"), s.Where, s.Reason)
		}
	}
	var total gcStats
	var paths []gcPathReport
	var fatal error // set when interrupted
	now := opts.Now()
	for _, t := range disc.Targets {
		if human {
			fmt.Fprintf(out, "%s %s %s\n", sty.Header.Render("gc"), t.SavePath.String(), sty.Dim.Render("(maxlifetime "+gcpolicy.ShortDuration(t.MaxLifetime)+", the longest of its sources; age by mtime)"))
			if opts.DryRun {
				for _, s := range t.Sources {
					fmt.Fprintf(out, "  from %s: save_path at %s, maxlifetime %s at %s\n", s.Where, s.SavePathAt, gcpolicy.ShortDuration(s.MaxLifetime), s.MaxAt)
				}
			}
		}
		var st gcStats
		store, err := sessfile.Open(t.SavePath, sessfile.DefaultOptions())
		if err != nil {
			rep.error(fmt.Errorf("gc --all: %w", err))
			st.Errors++
		} else {
			stop, done := make(chan struct{}), make(chan struct{})
			go func() { rep.runProgress(opts.DryRun, stop); close(done) }()
			st, fatal = gcSweep(ctx, store, t.MaxLifetime, now, opts, rep)
			close(stop)
			<-done
			store.Close()
			if fatal != nil && !errors.Is(fatal, context.Canceled) {
				return fatal
			}
		}
		total.add(st)
		paths = append(paths, gcPathReport{SavePath: t.SavePath.String(), MaxSeconds: gcpolicy.Seconds(t.MaxLifetime), Sources: t.Sources,
			Scanned: st.Scanned, Deleted: st.Deleted, BytesFreed: st.BytesFreed, SkippedUse: st.SkippedInUse, Errors: st.Errors})
		if human {
			fmt.Fprintln(out, "  "+gcSummaryLine(sty, st, opts.DryRun))
		}
		if fatal != nil {
			break // interrupted: report what was done, sweep no further path
		}
	}
	total.Errors += int64(len(disc.Errors))
	if opts.Output == FormatJSON {
		doc := newGCJSON(total, opts.DryRun)
		doc.Paths = paths
		if doc.Paths == nil {
			doc.Paths = []gcPathReport{}
		}
		if err := writeJSON(out, doc); err != nil {
			return err
		}
	} else if human && len(disc.Targets) > 1 {
		fmt.Fprintln(out, sty.Header.Render("total")+" "+gcSummaryLine(sty, total, opts.DryRun))
	}
	if fatal != nil {
		return gcInterrupted(total, opts.DryRun)
	}
	if total.Errors > 0 {
		return &SilentError{Code: ExitFailure}
	}
	return nil
}
