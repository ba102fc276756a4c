package cmd

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sesstool/sesstool/internal/phpini"
	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessredis"
)

// DebianSavePath is the session.save_path Debian compiles into PHP.
const DebianSavePath = "/var/lib/php/sessions"

// Setting is one effective setting and where its value came from.
type Setting struct {
	Name   string `json:"name"`   // e.g. "session.save_path"
	Value  string `json:"value"`  // the effective value
	Source string `json:"source"` // "flag", "env", "default", "default (Debian build)" or "file:line"
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
}

// Int returns the value as PHP reads an integer setting (leading decimal
// digits; anything else 0), with ok false when it is not a clean integer.
func (s Setting) Int() (n int64, ok bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s.Value), 10, 64)
	return n, err == nil
}

// Settings are the effective session settings of CLI.md's config command.
type Settings struct {
	SAPI    string   // SAPI whose php.ini was used ("" when none)
	Version string   // PHP version directory of that php.ini
	Files   []string // ini files read, in order

	SavePath            Setting
	SerializeHandler    Setting
	GCMaxlifetime       Setting
	GCProbability       Setting
	GCDivisor           Setting
	SidLength           Setting
	SidBitsPerCharacter Setting
	SaveHandler         Setting
	// UnserializeMaxDepth is PHP's unserialize_max_depth: the session
	// decoder refuses (and PHP destroys) sessions nested deeper.
	UnserializeMaxDepth Setting
	// Redis are phpredis' session settings (redis.session.*, and
	// max_execution_time, its lock expiry when lock_expire is 0).
	Redis RedisSettings
	// Memcached are php-memcached's (memcached.sess_*), Memcache pecl
	// memcache's (memcache.*) session settings.
	Memcached MemcachedSettings
	Memcache  MemcacheSettings

	// Warnings are things a person should know: a save_path cut at ';',
	// ini syntax errors, a non-files save_handler.
	Warnings []string
}

// RedisSettings are phpredis' ini settings that sesstool follows.
type RedisSettings struct {
	LockingEnabled   Setting
	LockExpire       Setting
	LockWaitTime     Setting
	LockRetries      Setting
	MaxExecutionTime Setting
}

func (r *RedisSettings) all() []*Setting {
	return []*Setting{&r.LockingEnabled, &r.LockExpire, &r.LockWaitTime, &r.LockRetries, &r.MaxExecutionTime}
}

// MemcachedSettings are php-memcached's session settings that sesstool
// follows (3.2.0's defaults).
type MemcachedSettings struct {
	Prefix              Setting
	Locking             Setting
	LockExpire          Setting
	NumberOfReplicas    Setting
	ConsistentHash      Setting
	ConsistentHashType  Setting
	BinaryProtocol      Setting
	RemoveFailedServers Setting
}

func (m *MemcachedSettings) all() []*Setting {
	return []*Setting{&m.Prefix, &m.Locking, &m.LockExpire, &m.NumberOfReplicas, &m.ConsistentHash, &m.ConsistentHashType, &m.BinaryProtocol, &m.RemoveFailedServers}
}

// MemcacheSettings are pecl memcache's session settings that sesstool
// follows (4.0.5.2's defaults).
type MemcacheSettings struct {
	SessionSavePath     Setting
	SessionRedundancy   Setting
	HashStrategy        Setting
	HashFunction        Setting
	CompressThreshold   Setting
	LockTimeout         Setting
	MaxFailoverAttempts Setting
	PrefixStaticKey     Setting
	PrefixHostKey       Setting
}

func (m *MemcacheSettings) all() []*Setting {
	return []*Setting{&m.SessionSavePath, &m.SessionRedundancy, &m.HashStrategy, &m.HashFunction, &m.CompressThreshold, &m.LockTimeout, &m.MaxFailoverAttempts, &m.PrefixStaticKey, &m.PrefixHostKey}
}

// All returns the settings in display order (with the extension's own on
// a Redis store); secrets in a save_path (auth=) are masked.
func (s *Settings) All() []Setting {
	sp := s.SavePath
	sp.Value = s.Where()
	all := []Setting{sp, s.SaveHandler, s.SerializeHandler, s.GCMaxlifetime, s.GCProbability, s.GCDivisor, s.SidLength, s.SidBitsPerCharacter}
	var ext []*Setting
	switch s.StoreHandler() {
	case "redis", "rediscluster":
		ext = s.Redis.all()
	case "memcached":
		ext = append(s.Memcached.all(), &s.Redis.MaxExecutionTime)
	case "memcache":
		ext = s.Memcache.all()
	}
	for _, r := range ext {
		all = append(all, *r)
	}
	return all
}

// Where is the save_path for messages: its auth= values masked on Redis.
func (s *Settings) Where() string {
	switch s.StoreHandler() {
	case "redis":
		return sessredis.MaskSecrets(s.SavePath.Value)
	case "rediscluster":
		return sessredis.MaskClusterSecrets(s.SavePath.Value)
	}
	return s.SavePath.Value
}

// StoreHandler is session.save_handler as sesstool names stores (lower
// case, as PHP matches it).
func (s *Settings) StoreHandler() string {
	return strings.ToLower(strings.TrimSpace(s.SaveHandler.Value))
}

// IsKV reports whether the store is a key-value store (Redis or
// Memcached), whose sessions expire by TTL.
func (s *Settings) IsKV() bool {
	switch s.StoreHandler() {
	case "redis", "rediscluster", "memcached", "memcache":
		return true
	}
	return false
}

// IsRedis reports whether the store is phpredis' (redis, rediscluster).
func (s *Settings) IsRedis() bool {
	h := s.StoreHandler()
	return h == "redis" || h == "rediscluster"
}

// MaxLifetime returns session.gc_maxlifetime as a duration (PHP reads it as
// whole seconds; a value that is not a number counts as 1440, PHP's default).
func (s *Settings) MaxLifetime() time.Duration {
	n, ok := s.GCMaxlifetime.Int()
	if !ok || n < 0 {
		n = 1440
	}
	return time.Duration(n) * time.Second
}

// Handler returns the serialize handler to decode with: the
// --serialize-handler flag when given, else the php.ini value when one was
// found (CLI.md), else auto.
func (s *Settings) Handler(f *Factory) (phpser.Handler, error) {
	return s.handlerFor(f.Global.SerializeHandler)
}

// handlerFor resolves a command's --serialize-handler value (empty when the
// flag was not given) to the handler to decode with, as Handler does. A
// name sesstool does not know, from the flag or from php.ini, is a usage
// error naming it and where it came from: never a silent fallback, which
// would call every session of that serializer corrupt.
func (s *Settings) handlerFor(flag string) (phpser.Handler, error) {
	if flag != "" {
		h, err := phpser.ParseHandler(flag)
		if err != nil {
			return "", UsageErrorf("--serialize-handler: %v", err)
		}
		return h, nil
	}
	if s != nil && s.SerializeHandler.File != "" {
		h, err := phpser.ParseHandler(s.SerializeHandler.Value)
		if err != nil {
			return "", UsageErrorf("session.serialize_handler = %q (%s) is not a serializer sesstool knows (php, php_binary, php_serialize, igbinary, msgpack); pass --serialize-handler to choose one", s.SerializeHandler.Value, s.SerializeHandler.Source)
		}
		return h, nil
	}
	return phpser.HandlerAuto, nil
}

// DecodeOptions are the options PHP's session decoder runs with here: its
// unserialize_max_depth (0, PHP's "no limit", and values above phpser's
// own limit are read as phpser.DefaultMaxDepth). A nil Settings gives PHP's
// defaults.
func (s *Settings) DecodeOptions() phpser.DecodeOptions {
	if s == nil {
		return phpser.DecodeOptions{}
	}
	n, ok := s.UnserializeMaxDepth.Int()
	if !ok || n <= 0 || n > phpser.DefaultMaxDepth {
		return phpser.DecodeOptions{}
	}
	return phpser.DecodeOptions{MaxDepth: int(n)}
}

// FallbackHandler is the handler used where auto-detection cannot decide (a
// 0-byte or new session): php.ini's session.serialize_handler when it names a
// built-in handler, else php, PHP's own default.
func (s *Settings) FallbackHandler() phpser.Handler {
	if h, err := phpser.ParseHandler(s.SerializeHandler.Value); err == nil && h != phpser.HandlerAuto {
		return h
	}
	return phpser.HandlerPHP
}

// Settings works out the effective settings from the global flags, the
// environment, the php.ini files PHP would load and PHP's built-in
// defaults. It never runs php.
func (f *Factory) Settings() (*Settings, error) {
	g := &f.Global
	st := &Settings{
		SavePath:            Setting{Name: "session.save_path", Value: "", Source: "default"},
		SerializeHandler:    Setting{Name: "session.serialize_handler", Value: "php", Source: "default"},
		GCMaxlifetime:       Setting{Name: "session.gc_maxlifetime", Value: "1440", Source: "default"},
		GCProbability:       Setting{Name: "session.gc_probability", Value: "1", Source: "default"},
		GCDivisor:           Setting{Name: "session.gc_divisor", Value: "100", Source: "default"},
		SidLength:           Setting{Name: "session.sid_length", Value: "32", Source: "default"},
		SidBitsPerCharacter: Setting{Name: "session.sid_bits_per_character", Value: "4", Source: "default"},
		SaveHandler:         Setting{Name: "session.save_handler", Value: "files", Source: "default"},
		UnserializeMaxDepth: Setting{Name: "unserialize_max_depth", Value: "4096", Source: "default"},
		Redis: RedisSettings{
			// phpredis 5.3.7's defaults (Debian bookworm).
			LockingEnabled:   Setting{Name: "redis.session.locking_enabled", Value: "0", Source: "default"},
			LockExpire:       Setting{Name: "redis.session.lock_expire", Value: "0", Source: "default"},
			LockWaitTime:     Setting{Name: "redis.session.lock_wait_time", Value: "2000", Source: "default"},
			LockRetries:      Setting{Name: "redis.session.lock_retries", Value: "10", Source: "default"},
			MaxExecutionTime: Setting{Name: "max_execution_time", Value: "30", Source: "default"},
		},
		Memcached: MemcachedSettings{
			Prefix:              Setting{Name: "memcached.sess_prefix", Value: "memc.sess.key.", Source: "default"},
			Locking:             Setting{Name: "memcached.sess_locking", Value: "1", Source: "default"},
			LockExpire:          Setting{Name: "memcached.sess_lock_expire", Value: "0", Source: "default"},
			NumberOfReplicas:    Setting{Name: "memcached.sess_number_of_replicas", Value: "0", Source: "default"},
			ConsistentHash:      Setting{Name: "memcached.sess_consistent_hash", Value: "1", Source: "default"},
			ConsistentHashType:  Setting{Name: "memcached.sess_consistent_hash_type", Value: "ketama", Source: "default"},
			BinaryProtocol:      Setting{Name: "memcached.sess_binary_protocol", Value: "1", Source: "default"},
			RemoveFailedServers: Setting{Name: "memcached.sess_remove_failed_servers", Value: "0", Source: "default"},
		},
		Memcache: MemcacheSettings{
			SessionSavePath:     Setting{Name: "memcache.session_save_path", Value: "", Source: "default"},
			SessionRedundancy:   Setting{Name: "memcache.session_redundancy", Value: "2", Source: "default"},
			HashStrategy:        Setting{Name: "memcache.hash_strategy", Value: "consistent", Source: "default"},
			HashFunction:        Setting{Name: "memcache.hash_function", Value: "crc32", Source: "default"},
			CompressThreshold:   Setting{Name: "memcache.compress_threshold", Value: "20000", Source: "default"},
			LockTimeout:         Setting{Name: "memcache.lock_timeout", Value: "15", Source: "default"},
			MaxFailoverAttempts: Setting{Name: "memcache.max_failover_attempts", Value: "20", Source: "default"},
			PrefixStaticKey:     Setting{Name: "memcache.session_prefix_static_key", Value: "", Source: "default"},
			PrefixHostKey:       Setting{Name: "memcache.session_prefix_host_key", Value: "0", Source: "default"},
		},
	}
	var files []string
	debian := false
	etcRoot := g.EtcRoot
	if etcRoot == "" {
		etcRoot = "/"
	}
	if g.PHPIni != "" {
		files = []string{g.PHPIni}
		_, debian, _ = phpini.Discover(etcRoot, "none")
	} else {
		loc, deb, err := phpini.Discover(etcRoot, g.SAPI)
		if err != nil {
			return nil, fmt.Errorf("finding php.ini: %w", err)
		}
		debian = deb
		if loc != nil {
			st.SAPI, st.Version = loc.SAPI, loc.Version
			files = loc.Files
		} else if g.SAPI != "" && !g.SavePathSet {
			st.Warnings = append(st.Warnings, fmt.Sprintf("no php.ini found for --sapi %s under %s", g.SAPI, filepath.Join(etcRoot, "etc/php")))
		}
	}
	var sysTemp string
	if len(files) > 0 {
		cfg := phpini.Load(files, f.Getenv)
		st.Files = cfg.Files
		st.Warnings = append(st.Warnings, cfg.Warnings...)
		if g.PHPIni != "" && len(cfg.Files) == 0 {
			return nil, UsageErrorf("--php-ini %q: cannot read it", g.PHPIni)
		}
		for _, s := range append([]*Setting{&st.SavePath, &st.SerializeHandler, &st.GCMaxlifetime, &st.GCProbability, &st.GCDivisor, &st.SidLength, &st.SidBitsPerCharacter, &st.SaveHandler, &st.UnserializeMaxDepth}, slices.Concat(st.Redis.all(), st.Memcached.all(), st.Memcache.all())...) {
			if e, ok := cfg.Get(s.Name); ok {
				s.Value, s.Source, s.File, s.Line = e.Value, e.Where(), e.File, e.Line
				if e.CommentCut && s.Name == "session.save_path" {
					st.Warnings = append(st.Warnings, fmt.Sprintf("%s: session.save_path is %q: an unquoted ';' starts a comment, so PHP ignores %q; quote the whole value if a directory was meant", e.Where(), e.Value, ";"+e.Dropped))
				}
			}
		}
		if e, ok := cfg.Get("sys_temp_dir"); ok {
			sysTemp = e.Value
		}
	}
	if g.SaveHandlerFrom != "" {
		st.SaveHandler = Setting{Name: "session.save_handler", Value: g.SaveHandler, Source: g.SaveHandlerFrom}
	}
	filesStore := st.StoreHandler() == "files"
	if mp := st.Memcache.SessionSavePath; st.StoreHandler() == "memcache" && !g.SavePathSet && mp.Value != "" {
		// pecl memcache reads its own save_path first.
		st.SavePath = Setting{Name: "session.save_path", Value: mp.Value, Source: mp.Source + " (memcache.session_save_path)", File: mp.File, Line: mp.Line}
	}
	switch {
	case g.SavePathSet:
		src := g.SavePathFrom
		if src == "" {
			src = "flag --save-path"
		}
		st.SavePath = Setting{Name: "session.save_path", Value: g.SavePath, Source: src}
	case !filesStore:
		// Another store's save_path has no default: phpredis needs one.
	case st.SavePath.Source == "default" && debian:
		st.SavePath = Setting{Name: "session.save_path", Value: DebianSavePath, Source: "default (Debian build)"}
	case st.SavePath.Value == "":
		// PHP's php_get_temporary_directory: sys_temp_dir, $TMPDIR, /tmp.
		src := st.SavePath.Source
		tmp, how := sysTemp, "sys_temp_dir"
		if tmp == "" {
			tmp, how = f.Getenv("TMPDIR"), "$TMPDIR"
		}
		if tmp == "" {
			tmp, how = "/tmp", "/tmp"
		}
		if len(tmp) > 1 {
			tmp = strings.TrimSuffix(tmp, "/")
		}
		st.SavePath.Value = tmp
		if src == "default" {
			st.SavePath.Source = "default (empty: temp dir via " + how + ")"
		} else {
			st.SavePath.Source = src + " (empty: temp dir via " + how + ")"
		}
	}
	if g.SerializeHandler != "" {
		st.SerializeHandler = Setting{Name: "session.serialize_handler", Value: g.SerializeHandler, Source: "flag --serialize-handler"}
	}
	if h := st.StoreHandler(); !slices.Contains(saveHandlers, h) {
		st.Warnings = append(st.Warnings, fmt.Sprintf("session.save_handler is %q (%s): sesstool serves %s", st.SaveHandler.Value, st.SaveHandler.Source, strings.Join(saveHandlers, ", ")))
	}
	return st, nil
}
