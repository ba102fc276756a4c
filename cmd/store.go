package cmd

import (
	"errors"
	"fmt"
	"github.com/spf13/cobra"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/sessmemcache"
	"github.com/sesstool/sesstool/sessredis"
	"github.com/sesstool/sesstool/store"
)

// OpenStore opens the effective save_path (see Settings) with the global
// lock and owner options. The caller closes the store.
func (f *Factory) OpenStore() (*sessfile.Store, *Settings, error) {
	st, err := f.Settings()
	if err != nil {
		return nil, nil, err
	}
	if h := st.StoreHandler(); h != "files" {
		return nil, st, UsageErrorf("this command works on the files store only; session.save_handler is %q (%s)", st.SaveHandler.Value, st.SaveHandler.Source)
	}
	return f.openFiles(st)
}

// openFiles opens the files store of st's save_path.
func (f *Factory) openFiles(st *Settings) (*sessfile.Store, *Settings, error) {
	sp, err := sessfile.ParseSavePath(st.SavePath.Value)
	if err != nil {
		return nil, st, usage(fmt.Errorf("%w (from %s)", err, st.SavePath.Source))
	}
	opts := sessfile.DefaultOptions()
	opts.LockTimeout = f.Global.LockTimeout
	opts.NoLock = f.Global.NoLock
	opts.MaxSize = f.Global.MaxSize
	if f.IO != nil && f.IO.ErrTTY {
		// On a terminal, a wait of more than a second says whose lock it is
		// (CLI.md "Output"); nothing of it reaches a pipe or a cron mail.
		opts.OnLockWait = f.lockWaitNotice()
	}
	if f.Global.Owner != "" {
		uid, gid, err := lookupOwner(f.Global.Owner)
		if err != nil {
			return nil, st, err
		}
		opts.OwnerUID, opts.OwnerGID = uid, gid
	} else if os.Geteuid() == 0 {
		// Sessions sesstool creates as root belong to the PHP user the
		// SAPI's configuration names, never to whoever owns other files
		// in the save_path (CLI.md "Safety rules").
		if u, ok, why := findPHPUser(st, f.Global.EtcRoot); ok {
			opts.OwnerUID, opts.OwnerGID = u.UID, u.GID
		} else {
			opts.OwnerUnknown = why
		}
	}
	s, err := sessfile.Open(sp, opts)
	if err != nil {
		return nil, st, err
	}
	return s, st, nil
}

// lockWaitNotice is the OnLockWait of every store on a terminal: one line
// on stderr naming the holder (CLI.md "Output"), a progress line cleared
// first.
func (f *Factory) lockWaitNotice() func(id, holder string) {
	io_ := f.IO
	return func(id, holder string) {
		if holder == "" {
			holder = "a running request"
		}
		io_.status().println(io_.ErrOut, fmt.Sprintf("sesstool: waiting for session %q: locked by %s", id, holder))
	}
}

// lookupOwner resolves --owner USER (a name or a numeric uid) to a uid and
// the user's primary gid.
func lookupOwner(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		u, err = user.LookupId(name)
	}
	if err != nil {
		return 0, 0, UsageErrorf("--owner %q: no such user", name)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return 0, 0, UsageErrorf("--owner %q: non-numeric uid/gid %q/%q", name, u.Uid, u.Gid)
	}
	return uid, gid, nil
}

// isLockTimeout reports whether err is a session lock not had in time.
func isLockTimeout(err error) bool {
	return errors.Is(err, sessfile.ErrLockTimeout)
}

// isStoreUsageError reports whether err is an invalid id or save_path.
func isStoreUsageError(err error) bool {
	var ie *sessfile.InvalidIDError
	var se *sessfile.SavePathError
	var re *sessredis.SavePathError
	var me *sessmemcache.SavePathError
	return errors.As(err, &ie) || errors.As(err, &se) || errors.As(err, &re) || errors.As(err, &me)
}

// Backend is the store a command works on (store.Store): the files store
// today, Redis and Memcached beside it.
type Backend = store.Store

// OpenBackend opens the configured store: the one session.save_handler
// (or --save-handler) names, its save_path read in that handler's own
// syntax. Commands' Options carry it as their Open func so tests can inject
// another.
func (f *Factory) OpenBackend() (Backend, *Settings, error) {
	st, err := f.Settings()
	if err != nil {
		return nil, nil, err
	}
	switch h := st.StoreHandler(); h {
	case "files":
		s, st, err := f.openFiles(st)
		if err != nil {
			return nil, st, err
		}
		return s, st, nil
	case "redis", "rediscluster":
		s, err := f.openRedis(st)
		if err != nil {
			return nil, st, err
		}
		return s, st, nil
	case "memcached", "memcache":
		s, err := f.openMemcache(st)
		if err != nil {
			return nil, st, err
		}
		return s, st, nil
	default:
		return nil, st, UsageErrorf("session.save_handler %q (%s) is not a store sesstool serves (%s)", st.SaveHandler.Value, st.SaveHandler.Source, strings.Join(saveHandlers, ", "))
	}
}

// openRedis opens a phpredis store with the extension's settings.
func (f *Factory) openRedis(st *Settings) (*sessredis.Store, error) {
	if strings.TrimSpace(st.SavePath.Value) == "" {
		return nil, UsageErrorf("session.save_path is empty (%s): phpredis needs tcp://HOST:PORT (give --save-path)", st.SavePath.Source)
	}
	r := &st.Redis
	o := sessredis.Options{
		Timeout:     f.Global.Timeout,
		LockTimeout: f.Global.LockTimeout,
		MaxLifetime: st.MaxLifetime(),
		Locking:     iniBool(r.LockingEnabled.Value),
		Touch:       f.Global.Touch,
		MaxSize:     f.Global.MaxSize,
	}
	if n, ok := r.LockExpire.Int(); ok && n > 0 {
		o.LockExpire = time.Duration(n) * time.Second
	} else if n, ok := r.MaxExecutionTime.Int(); ok && n > 0 {
		o.LockExpire = time.Duration(n) * time.Second
	}
	if f.IO != nil && f.IO.ErrTTY {
		o.OnLockWait = f.lockWaitNotice()
	}
	if st.StoreHandler() == "rediscluster" {
		c, err := sessredis.ParseClusterSavePath(st.SavePath.Value)
		if err != nil {
			return nil, usage(fmt.Errorf("%w (from %s)", err, st.SavePath.Source))
		}
		return sessredis.OpenCluster(c, o)
	}
	sp, err := sessredis.ParseSavePath(st.SavePath.Value)
	if err != nil {
		return nil, usage(fmt.Errorf("%w (from %s)", err, st.SavePath.Source))
	}
	return sessredis.Open(sp, o)
}

// openMemcache opens a php-memcached ("memcached") or pecl memcache
// ("memcache") store with its extension's settings.
func (f *Factory) openMemcache(st *Settings) (*sessmemcache.Store, error) {
	h := st.StoreHandler()
	if strings.TrimSpace(st.SavePath.Value) == "" {
		return nil, UsageErrorf("session.save_path is empty (%s): %s needs HOST:PORT (give --save-path)", st.SavePath.Source, h)
	}
	o := sessmemcache.Options{
		Timeout:     f.Global.Timeout,
		LockTimeout: f.Global.LockTimeout,
		MaxLifetime: st.MaxLifetime(),
		Touch:       f.Global.Touch,
		MaxSize:     f.Global.MaxSize,
	}
	if f.IO != nil && f.IO.ErrTTY {
		o.OnLockWait = f.lockWaitNotice()
	}
	unsupported := func(s Setting, what string) error {
		return UsageErrorf("%s = %q (%s): %s", s.Name, s.Value, s.Source, what)
	}
	if h == "memcached" {
		m := &st.Memcached
		o.Prefix = m.Prefix.Value
		o.Locking = iniBool(m.Locking.Value)
		o.Modula = !iniBool(m.ConsistentHash.Value)
		// php-memcached writes replicas over the binary protocol only
		// (memcached.sess_binary_protocol = 0: none).
		if n, ok := m.NumberOfReplicas.Int(); ok && n > 0 && iniBool(m.BinaryProtocol.Value) {
			o.Replicas = int(min(n, 1<<16))
		}
		if n, ok := m.LockExpire.Int(); ok && n > 0 {
			o.LockExpire = time.Duration(n) * time.Second
		} else if n, ok := st.Redis.MaxExecutionTime.Int(); ok && n > 0 {
			o.LockExpire = time.Duration(n) * time.Second
		}
		if t := strings.ToLower(m.ConsistentHashType.Value); !o.Modula && t != "ketama" && t != "" {
			return nil, unsupported(m.ConsistentHashType, "sesstool finds sessions with php-memcached's default ketama continuum only")
		}
		sp, err := sessmemcache.ParseSavePath(st.SavePath.Value)
		if err != nil {
			return nil, usage(fmt.Errorf("%w (from %s)", err, st.SavePath.Source))
		}
		return sessmemcache.OpenMemcached(sp, o)
	}
	m := &st.Memcache
	if n, ok := m.SessionRedundancy.Int(); ok && n > 0 {
		o.Redundancy = int(min(n, 1<<16))
	}
	if n, ok := m.CompressThreshold.Int(); ok && n > 0 {
		o.CompressThreshold = int(min(n, 1<<31-1))
	}
	if n, ok := m.LockTimeout.Int(); ok && n > 0 {
		o.LockExpire = time.Duration(n) * time.Second
	}
	switch v := strings.ToLower(m.HashStrategy.Value); v {
	case "consistent":
	case "standard":
		o.Hash.Standard = true
	default:
		return nil, unsupported(m.HashStrategy, "pecl memcache knows consistent and standard")
	}
	switch v := strings.ToLower(m.HashFunction.Value); v {
	case "crc32":
	case "fnv":
		o.Hash.FNV = true
	default:
		return nil, unsupported(m.HashFunction, "pecl memcache knows crc32 and fnv")
	}
	if iniBool(m.PrefixHostKey.Value) {
		return nil, unsupported(m.PrefixHostKey, "the key then depends on each request's SERVER_NAME, which sesstool cannot know")
	}
	if v := m.PrefixStaticKey.Value; v != "" {
		o.Prefix = v
	}
	sp, err := sessmemcache.ParseMemcacheSavePath(st.SavePath.Value)
	if err != nil {
		return nil, usage(fmt.Errorf("%w (from %s)", err, st.SavePath.Source))
	}
	return sessmemcache.OpenMemcache(sp, o)
}

// iniBool is PHP's reading of a boolean ini value: "1", "on", "yes",
// "true" (any case) are true.
func iniBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "on", "yes", "true":
		return true
	}
	n, ok := Setting{Value: v}.Int()
	return ok && n != 0
}

// LockedSessionsError reports sessions a command could not lock within
// --lock-timeout while working through several; it maps to exit code 3.
type LockedSessionsError struct {
	IDs []string
}

// Error names the first few ids and how many more there were.
func (e *LockedSessionsError) Error() string {
	n := len(e.IDs)
	return fmt.Sprintf("%d session%s stayed locked past --lock-timeout (in use by a running request): %s", n, plural(n), quoteIDs(e.IDs))
}

// Is makes errors.Is(err, sessfile.ErrLockTimeout) true.
func (e *LockedSessionsError) Is(target error) bool { return target == sessfile.ErrLockTimeout }

// addTouchFlag adds --touch to a command that changes a session.
func addTouchFlag(c *cobra.Command, f *Factory) {
	c.Flags().BoolVar(&f.Global.Touch, "touch", false, "on Redis and Memcached: give the session a fresh session.gc_maxlifetime TTL, as a PHP write does (default: keep its remaining TTL)")
}
