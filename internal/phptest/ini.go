package phptest

import (
	"maps"
	"slices"
	"strings"
)

// INI turns ini settings into php "-d" flags, sorted by name so that the
// command line is deterministic.
func INI(settings map[string]string) []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-d", k+"="+iniValue(settings[k]))
	}
	return args
}

// iniValue quotes a value that PHP's ini parser would otherwise cut or
// reinterpret: an unquoted ';' starts a comment, so "2;/dir" would mean 2.
func iniValue(v string) string {
	if strings.ContainsAny(v, `;=&|^~!(){}[]"'$\`) {
		return `"` + v + `"`
	}
	return v
}

// SessionSettings returns the ini settings that let a CLI script open any
// session id it chooses in saveDir under handler: the given save_path
// and serialize_handler, no strict mode (an unknown id is adopted, as
// session_id("x") needs), no cookies, no probabilistic GC, lazy_write on and
// serialize_precision=-1 (PHP's defaults, forced in case php.ini differs).
// saveDir is used verbatim, so "2;/dir" selects a 2-level layout.
func SessionSettings(saveDir, handler string) map[string]string {
	return map[string]string{
		"session.save_handler":      "files",
		"session.save_path":         saveDir,
		"session.serialize_handler": handler,
		"session.use_strict_mode":   "0",
		"session.use_cookies":       "0",
		"session.use_only_cookies":  "0",
		"session.use_trans_sid":     "0",
		"session.cache_limiter":     "",
		"session.gc_probability":    "0",
		"session.lazy_write":        "1",
		"session.auto_start":        "0",
		"serialize_precision":       "-1",
		"unserialize_max_depth":     "4096",
	}
}

// SessionINI returns SessionSettings as "-d" flags for Run, Start and
// friends. A script then opens a chosen id with
// session_id('abc'); session_start();
func SessionINI(saveDir, handler string) []string {
	return INI(SessionSettings(saveDir, handler))
}
