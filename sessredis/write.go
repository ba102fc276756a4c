package sessredis

import (
	"context"
	"errors"
	"fmt"
	"github.com/sesstool/sesstool/internal/phpurl"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesstool/sesstool/store"
)

// releaseScript is phpredis' own compare-and-delete of a lock key.
var releaseScript = redis.NewScript(`if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end`)

// writeScript writes a session only while the lock is still ours: KEYS[1]
// the data key, KEYS[2] its lock, ARGV[1] our secret, ARGV[2] the bytes,
// ARGV[3] "keep" (KEEPTTL) or a TTL in seconds (EX, as PHP's SETEX),
// ARGV[4] "XX" (the session must still be there: a request that did not
// take the lock may have destroyed it, or it expired) or "NX" (a new one:
// nobody may have made it meanwhile). It returns 1 when written, 0 when the
// lock is no longer ours, 2 when XX or NX refused.
var writeScript = redis.NewScript(`if redis.call("get", KEYS[2]) ~= ARGV[1] then return 0 end
local r
if ARGV[3] == "keep" then r = redis.call("set", KEYS[1], ARGV[2], ARGV[4], "KEEPTTL") elseif ARGV[3] == "none" then r = redis.call("set", KEYS[1], ARGV[2], ARGV[4]) elseif string.sub(ARGV[3], 1, 2) == "px" then r = redis.call("set", KEYS[1], ARGV[2], ARGV[4], "PX", string.sub(ARGV[3], 3)) else r = redis.call("set", KEYS[1], ARGV[2], ARGV[4], "EX", ARGV[3]) end
if not r then return 2 end
return 1`)

// delScript deletes a session only while the lock is still ours.
var delScript = redis.NewScript(`if redis.call("get", KEYS[2]) ~= ARGV[1] then return -1 end
return redis.call("del", KEYS[1])`)

// errLockLost is a lock that expired while sesstool held it.
var errLockLost = errors.New("our lock expired before the write (raise redis.session.lock_expire)")

// LockingOffWarning is what an optimistic change says: PHP does not lock.
const LockingOffWarning = "phpredis session locking is off (redis.session.locking_enabled = 0): a request running now may still overwrite this change"

// clusterWarning is the same for rediscluster, which never locks.
const clusterWarning = "phpredis takes no session locks in a cluster: a request running now may still overwrite this change"

func (s *Store) lockExpire() time.Duration {
	if s.opts.LockExpire > 0 {
		return s.opts.LockExpire
	}
	return 30 * time.Second
}

// lock takes session t's lock as phpredis does (SET <key>_LOCK secret NX
// PX expire), waiting up to LockTimeout; a lock held past it is a
// *store.LockTimeoutError naming the holder.
func (s *Store) lock(ctx context.Context, id string, t target) (release func(), err error) {
	lk := t.key + LockSuffix
	start := time.Now()
	deadline := start.Add(s.opts.LockTimeout)
	backoff := 2 * time.Millisecond
	notified := s.opts.OnLockWait == nil || s.opts.LockTimeout == 0
	for {
		ok, err := t.c.SetNX(ctx, lk, s.secret, s.lockExpire()).Result()
		if err != nil {
			// The server may have taken it before the reply was lost:
			// let go of it (only if it is ours) before giving up.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.timeout())
			_ = releaseScript.Run(rctx, t.c, []string{lk}, s.secret).Err()
			cancel()
			return nil, unreachable(t.server, err)
		}
		if ok {
			return func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.timeout())
				defer cancel()
				_ = releaseScript.Run(ctx, t.c, []string{lk}, s.secret).Err()
			}, nil
		}
		if s.opts.LockTimeout >= 0 && !time.Now().Before(deadline) {
			holder, _ := t.c.Get(ctx, lk).Result()
			return nil, &store.LockTimeoutError{ID: id, Timeout: s.opts.LockTimeout, Holder: holder}
		}
		if !notified && time.Since(start) >= time.Second {
			notified = true
			if holder, err := t.c.Get(ctx, lk).Result(); err == nil {
				s.opts.OnLockWait(id, holder)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 50*time.Millisecond)
	}
}

// ttlArg is how a write sets the TTL: a fresh maxlifetime for a new
// session or with Touch (as PHP's SETEX), else the remaining one kept.
func (s *Store) ttlArg(created bool) string {
	if created || s.opts.Touch {
		return strconv.FormatInt(int64(s.maxLifetime()/time.Second), 10)
	}
	return "keep"
}

// maxLifetime is PHP's TTL: gc_maxlifetime, 1440 when not positive
// (phpredis' session_gc_maxlifetime).
func (s *Store) maxLifetime() time.Duration {
	if s.opts.MaxLifetime <= 0 {
		return 1440 * time.Second
	}
	return s.opts.MaxLifetime
}

// Update reads session id, runs fn and writes its result: under phpredis'
// lock when PHP locks (the write checks the lock is still ours), else with
// WATCH/MULTI, retried, so that no other sesstool's change is lost, and a
// session whose lock key someone holds is waited for all the same. The
// remaining TTL is kept unless Touch (a new session gets maxlifetime).
func (s *Store) Update(ctx context.Context, id string, create bool, fn store.UpdateFunc) (store.UpdateResult, error) {
	return s.update(ctx, id, create, fn, nil)
}

// Put writes data as session id (created when missing) with the TTL life
// gives (none when it has none), under the lock as Update; an existing
// session keep says to leave is left as it is.
func (s *Store) Put(ctx context.Context, id string, data []byte, life store.Lifetime, keep func(cur []byte) bool) (bool, error) {
	res, err := s.update(ctx, id, true, store.PutUpdate(data, keep), &life)
	return res.Changed, err
}

// ttlFor is the write's TTL argument: life's when given (px<ms>, or none),
// else ttlArg's.
func (s *Store) ttlFor(created bool, life *store.Lifetime) string {
	switch {
	case life == nil:
		return s.ttlArg(created)
	case !life.HasTTL:
		return "none"
	}
	return "px" + strconv.FormatInt(max(life.TTL.Milliseconds(), 1), 10)
}

func (s *Store) update(ctx context.Context, id string, create bool, fn store.UpdateFunc, life *store.Lifetime) (store.UpdateResult, error) {
	t, err := s.target(id)
	if err != nil {
		return store.UpdateResult{}, err
	}
	if s.locking() {
		release, err := s.lock(ctx, id, t)
		if err != nil {
			return store.UpdateResult{}, err
		}
		defer release()
		old, exists, err := s.get(ctx, id, t)
		if err != nil {
			return store.UpdateResult{}, err
		}
		if !exists && !create {
			return store.UpdateResult{}, notFound(id, s.where)
		}
		nb, err := fn(old, exists)
		if err != nil {
			return store.UpdateResult{}, err
		}
		if exists && string(nb) == string(old) {
			return store.UpdateResult{}, nil
		}
		cond := "XX"
		if !exists {
			cond = "NX"
		}
		n, err := writeScript.Run(ctx, t.c, []string{t.key, t.key + LockSuffix}, s.secret, nb, s.ttlFor(!exists, life), cond).Int()
		switch {
		case err != nil:
			return store.UpdateResult{}, fmt.Errorf("writing session %q: %w", id, err)
		case n == 0:
			return store.UpdateResult{}, fmt.Errorf("session %q not written: %w", id, errLockLost)
		case n == 2 && exists:
			return store.UpdateResult{}, fmt.Errorf("session %q was destroyed or expired while sesstool held its lock: nothing written: %w", id, store.ErrNotFound)
		case n == 2:
			return store.UpdateResult{}, fmt.Errorf("session %q was created by someone else meanwhile: nothing written", id)
		}
		return store.UpdateResult{Changed: true, Created: !exists}, nil
	}
	var res store.UpdateResult
	err = s.optimistic(ctx, id, t, func(tx *redis.Tx, old []byte, exists bool) error {
		if !exists && !create {
			return notFound(id, s.where)
		}
		nb, err := fn(old, exists)
		if err != nil {
			return err
		}
		if exists && string(nb) == string(old) {
			res = store.UpdateResult{}
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			mode := "XX"
			if !exists {
				mode = "NX"
			}
			switch ttl := s.ttlFor(!exists, life); {
			case ttl == "keep":
				p.SetArgs(ctx, t.key, nb, redis.SetArgs{KeepTTL: true, Mode: mode})
			case ttl == "none":
				p.SetArgs(ctx, t.key, nb, redis.SetArgs{Mode: mode})
			case life != nil:
				p.SetArgs(ctx, t.key, nb, redis.SetArgs{TTL: max(life.TTL, time.Millisecond), Mode: mode})
			default:
				p.SetArgs(ctx, t.key, nb, redis.SetArgs{TTL: s.maxLifetime(), Mode: mode})
			}
			return nil
		})
		res = store.UpdateResult{Changed: true, Created: !exists, Warning: LockingOffWarning}
		if s.cluster != nil {
			res.Warning = clusterWarning
		}
		return err
	})
	return res, err
}

// get reads a session's bytes (exists false when there is no such key).
func (s *Store) get(ctx context.Context, id string, t target) ([]byte, bool, error) {
	v, err := t.c.Get(ctx, t.key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unreachable(t.server, err)
	}
	if int64(len(v)) > s.opts.maxSize() {
		return nil, false, fmt.Errorf("session %q is %d bytes, more than --max-size %d", id, len(v), s.opts.maxSize())
	}
	return []byte(v), true, nil
}

// optimistic runs fn in a WATCH of the session's key and its lock key,
// retrying when another client changed either, and waiting (up to
// LockTimeout) while someone holds the lock key: PHP with locking on
// elsewhere, or another sesstool.
func (s *Store) optimistic(ctx context.Context, id string, t target, fn func(tx *redis.Tx, old []byte, exists bool) error) error {
	deadline := time.Now().Add(s.opts.LockTimeout)
	backoff := 2 * time.Millisecond
	keys := []string{t.key}
	if s.cluster == nil {
		keys = append(keys, t.key+LockSuffix) // a cluster's lock key may be on another slot: phpredis never locks there
	}
	for attempt := 0; ; attempt++ {
		var held string
		err := t.c.Watch(ctx, func(tx *redis.Tx) error {
			if len(keys) > 1 {
				if h, err := tx.Get(ctx, keys[1]).Result(); err == nil {
					held = h
					return nil
				}
			}
			v, err := tx.Get(ctx, t.key).Result()
			exists := true
			if errors.Is(err, redis.Nil) {
				exists, err = false, nil
			}
			if err != nil {
				return unreachable(t.server, err)
			}
			if int64(len(v)) > s.opts.maxSize() {
				return fmt.Errorf("session %q is %d bytes, more than --max-size %d", id, len(v), s.opts.maxSize())
			}
			var old []byte
			if exists {
				old = []byte(v)
			}
			return fn(tx, old, exists)
		}, keys...)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			// Someone changed it meanwhile: read again.
		case err != nil:
			return err
		case held == "":
			return nil
		}
		if held != "" && s.opts.LockTimeout >= 0 && !time.Now().Before(deadline) {
			return &store.LockTimeoutError{ID: id, Timeout: s.opts.LockTimeout, Holder: held}
		}
		if attempt > 1000 && held == "" {
			return fmt.Errorf("session %q changed under every one of %d tries", id, attempt)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 50*time.Millisecond)
	}
}

// Destroy deletes a session (under its lock when PHP locks).
func (s *Store) Destroy(ctx context.Context, id string) error {
	_, err := s.DestroyIf(ctx, id, nil)
	return err
}

// DestroyIf deletes a session when match (nil: always), run on its bytes
// under the same protocol as Update, says so.
func (s *Store) DestroyIf(ctx context.Context, id string, match func(data []byte) (bool, error)) (bool, error) {
	t, err := s.target(id)
	if err != nil {
		return false, err
	}
	if s.locking() {
		release, err := s.lock(ctx, id, t)
		if err != nil {
			return false, err
		}
		defer release()
		old, exists, err := s.get(ctx, id, t)
		if err != nil {
			return false, err
		}
		if !exists {
			return false, notFound(id, s.where)
		}
		if match != nil {
			if ok, err := match(old); err != nil || !ok {
				return false, err
			}
		}
		n, err := delScript.Run(ctx, t.c, []string{t.key, t.key + LockSuffix}, s.secret).Int()
		if err != nil {
			return false, fmt.Errorf("deleting session %q: %w", id, err)
		}
		if n < 0 {
			return false, fmt.Errorf("session %q not deleted: %w", id, errLockLost)
		}
		return n > 0, nil
	}
	deleted := false
	err = s.optimistic(ctx, id, t, func(tx *redis.Tx, old []byte, exists bool) error {
		if !exists {
			return notFound(id, s.where)
		}
		if match != nil {
			if ok, err := match(old); err != nil || !ok {
				deleted = false
				return err
			}
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, t.key)
			return nil
		})
		deleted = err == nil
		return err
	})
	return deleted, err
}

// MaskSecrets replaces every auth value of a redis save_path by "****",
// for messages and config: a parameter is found as phpredis' parse_str
// finds it (its name URL-decoded, leading blanks dropped, "[...]" cut), and
// its value runs to the next '&' or the end of its host entry (a comma or
// a blank).
func MaskSecrets(v string) string { return maskAuth(v, true) }

// MaskClusterSecrets is MaskSecrets for a rediscluster save_path, one query
// string whose values run to the next '&'.
func MaskClusterSecrets(v string) string { return maskAuth(v, false) }

func maskAuth(v string, entries bool) string {
	sep := func(c byte) bool { return entries && (c == ',' || c == ' ' || c >= '\t' && c <= '\r') }
	var b strings.Builder
	for i := 0; i < len(v); {
		// A parameter starts the value, or follows '&', '?' or (between
		// host entries) a separator.
		if i == 0 || v[i-1] == '&' || v[i-1] == '?' || sep(v[i-1]) {
			end := i
			for end < len(v) && v[end] != '=' && v[end] != '&' && !sep(v[end]) {
				end++
			}
			name := strings.TrimLeft(phpurl.Decode(v[i:end]), " ")
			if k := strings.IndexByte(name, '['); k > 0 {
				name = name[:k]
			}
			if name == "auth" && end < len(v) && v[end] == '=' {
				ve := end + 1
				for ve < len(v) && v[ve] != '&' && !sep(v[ve]) {
					ve++
				}
				b.WriteString(v[i : end+1])
				b.WriteString("****")
				i = ve
				continue
			}
		}
		b.WriteByte(v[i])
		i++
	}
	return b.String()
}

// putIfScript writes KEYS[1] unless its lock key KEYS[2] is held (-1),
// it already holds ARGV[1] (0), or, without overwrite (ARGV[5] ~= "1"), its
// last write (now − (maxlifetime ARGV[4] − PTTL), in ms) is after the
// source's (ARGV[3], ms; "" unknown) (2); it sets the TTL ARGV[2] (ms, or
// "none"). One step on the server: as safe as taking phpredis' lock around
// the write, in one round trip.
var putIfScript = redis.NewScript(`if KEYS[2] and redis.call("exists", KEYS[2]) == 1 then return -1 end
local cur = redis.call("get", KEYS[1])
if cur == ARGV[1] then return 0 end
if cur and ARGV[5] ~= "1" and ARGV[3] ~= "" then
  local pttl = redis.call("pttl", KEYS[1])
  local ml = tonumber(ARGV[4])
  if pttl > 0 and pttl <= ml then
    local t = redis.call("time")
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if now - (ml - pttl) > tonumber(ARGV[3]) then return 2 end
  end
end
if ARGV[2] == "none" then redis.call("set", KEYS[1], ARGV[1]) else redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2]) end
return 1`)

// PutIf writes data as session id with o's lifetime in one script call:
// not while a request holds its lock (waited for up to LockTimeout, as
// Update waits), not over the same bytes, and not over a session written
// after o.SourceWrite unless o.Overwrite.
func (s *Store) PutIf(ctx context.Context, id string, data []byte, o store.PutOptions) (store.PutResult, error) {
	t, err := s.target(id)
	if err != nil {
		return 0, err
	}
	keys := []string{t.key}
	if s.cluster == nil {
		keys = append(keys, t.key+LockSuffix)
	}
	ttl, src, over := putIfArgs(o)
	start := time.Now()
	deadline := start.Add(s.opts.LockTimeout)
	backoff := 2 * time.Millisecond
	notified := s.opts.OnLockWait == nil || s.opts.LockTimeout == 0
	for {
		n, err := putIfScript.Run(ctx, t.c, keys, data, ttl, src, s.maxLifetime().Milliseconds(), over).Int()
		if err != nil {
			return 0, fmt.Errorf("writing session %q: %w", id, unreachable(t.server, err))
		}
		switch n {
		case 0:
			return store.PutSame, nil
		case 1:
			return store.PutWritten, nil
		case 2:
			return store.PutNewer, nil
		}
		if s.opts.LockTimeout >= 0 && !time.Now().Before(deadline) {
			holder, _ := t.c.Get(ctx, t.key+LockSuffix).Result()
			return 0, &store.LockTimeoutError{ID: id, Timeout: s.opts.LockTimeout, Holder: holder}
		}
		if !notified && s.cluster == nil && time.Since(start) >= time.Second {
			notified = true
			if holder, err := t.c.Get(ctx, t.key+LockSuffix).Result(); err == nil {
				s.opts.OnLockWait(id, holder)
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// PutMany is PutIf for many sessions, pipelined: first one SET NX per
// session, which writes those the target does not have (most of them, the
// first time a store is copied: nothing to check, and a request holding a
// lock on a key that is not there read nothing, so its own write comes
// after the copy whatever the order); then the PutIf script, pipelined, for
// those it has; a session whose lock a request holds is left to PutIf,
// which waits for it.
func (s *Store) PutMany(ctx context.Context, items []store.PutItem) []store.PutOutcome {
	out := make([]store.PutOutcome, len(items))
	type job struct {
		i int
		t target
	}
	byClient := map[cmdable][]job{}
	var order []cmdable
	for i, it := range items {
		t, err := s.target(it.ID)
		if err != nil {
			out[i].Err = err
			continue
		}
		if _, ok := byClient[t.c]; !ok {
			order = append(order, t.c)
		}
		byClient[t.c] = append(byClient[t.c], job{i, t})
	}
	ml := strconv.FormatInt(s.maxLifetime().Milliseconds(), 10)
	for _, c := range order {
		jobs := byClient[c]
		sets := make([]*redis.BoolCmd, len(jobs))
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for k, j := range jobs {
				it := items[j.i]
				var ttl time.Duration
				if it.Opts.Life.HasTTL {
					ttl = max(it.Opts.Life.TTL, time.Millisecond)
				}
				sets[k] = p.SetNX(ctx, j.t.key, it.Data, ttl)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			for _, j := range jobs {
				out[j.i].Err = fmt.Errorf("writing session %q: %w", items[j.i].ID, unreachable(j.t.server, err))
			}
			continue
		}
		var there []job
		for k, j := range jobs {
			switch ok, err := sets[k].Result(); {
			case err != nil:
				out[j.i].Err = fmt.Errorf("writing session %q: %w", items[j.i].ID, unreachable(j.t.server, err))
			case ok:
				out[j.i].Res = store.PutWritten
			default:
				there = append(there, j)
			}
		}
		if len(there) == 0 {
			continue
		}
		runs := make([]*redis.Cmd, len(there))
		_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for k, j := range there {
				it := items[j.i]
				keys := []string{j.t.key}
				if s.cluster == nil {
					keys = append(keys, j.t.key+LockSuffix)
				}
				ttl, src, over := putIfArgs(it.Opts)
				runs[k] = putIfScript.Eval(ctx, p, keys, it.Data, ttl, src, ml, over)
			}
			return nil
		})
		for k, j := range there {
			it := items[j.i]
			n, rerr := runs[k].Int()
			if err != nil && rerr == nil {
				rerr = err
			}
			switch {
			case rerr != nil:
				out[j.i].Err = fmt.Errorf("writing session %q: %w", it.ID, unreachable(j.t.server, rerr))
			case n == 0:
				out[j.i].Res = store.PutSame
			case n == 1:
				out[j.i].Res = store.PutWritten
			case n == 2:
				out[j.i].Res = store.PutNewer
			default: // locked: PutIf waits for the lock
				out[j.i].Res, out[j.i].Err = s.PutIf(ctx, it.ID, it.Data, it.Opts)
			}
		}
	}
	return out
}

// putIfArgs are putIfScript's TTL, source-write and overwrite arguments.
func putIfArgs(o store.PutOptions) (ttl, src, over string) {
	ttl = "none"
	if o.Life.HasTTL {
		ttl = strconv.FormatInt(max(o.Life.TTL.Milliseconds(), 1), 10)
	}
	if !o.SourceWrite.IsZero() {
		src = strconv.FormatInt(o.SourceWrite.UnixMilli(), 10)
	}
	over = "0"
	if o.Overwrite {
		over = "1"
	}
	return ttl, src, over
}
