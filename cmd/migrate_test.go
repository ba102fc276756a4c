package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
)

func migrateJSON(t *testing.T, args ...string) (migrateStats, cliResult) {
	t.Helper()
	r := runCLI(t, append(args, "-o", "json")...)
	var s migrateStats
	if err := json.Unmarshal([]byte(r.out), &s); err != nil {
		t.Fatalf("migrate -o json: %v (exit %d %v)\n%s", err, r.code, r.err, r.out)
	}
	return s, r
}

// TestMigrateFilesRedisFiles: sessions PHP wrote to a files save_path move
// to a real Redis keeping their remaining lifetime (TTL = maxlifetime −
// age), an expired one stays behind, and PHP with phpredis reads them; a
// second run finds them up to date; a newer target session is kept unless
// --overwrite; --dry-run writes nothing; back from Redis to a 2-level files
// layout with the age carried as the mtime, and --move destroys each source
// session only once its copy is there.
func TestMigrateFilesRedisFiles(t *testing.T) {
	phptest.Extensions(t, "redis")
	srv := redistest.Start(t)
	dir := t.TempDir()
	ids := []string{"migr0000000000000000000001", "migr0000000000000000000002", "migr0000000000000000000003"}
	ini := append(phptest.SessionINI(dir, "php"), "-d", "session.save_path="+dir)
	for i, id := range ids {
		phptest.Run(t, `<?php session_id($argv[1]); session_start(); $_SESSION['user_id'] = (int)$argv[2];`, nil, append(ini, "--", id, strconv.Itoa(40+i))...)
	}
	age := func(id string, d time.Duration) {
		mt := time.Now().Add(-d)
		mustDo(t, os.Chtimes(filepath.Join(dir, "sess_"+id), mt, mt))
	}
	age(ids[0], 2*time.Minute)
	age(ids[1], 20*time.Minute)
	age(ids[2], 2*time.Hour) // past the 1440 s maxlifetime: not copied
	to := []string{"--save-path", dir, "--etc-root", t.TempDir(), "migrate", "--to-save-handler", "redis", "--to-save-path", "tcp://" + srv.Addr}

	if s, _ := migrateJSON(t, append(to, "--dry-run")...); s.Copied != 2 || s.Expired != 1 || srv.Cli(t, "dbsize") != "0" {
		t.Fatalf("--dry-run: %+v, dbsize %s", s, srv.Cli(t, "dbsize"))
	}
	s, r := migrateJSON(t, to...)
	if r.code != 0 || s.Copied != 2 || s.Expired != 1 || s.Scanned != 3 {
		t.Fatalf("migrate: exit %d %+v", r.code, s)
	}
	for id, want := range map[string]int{ids[0]: 1440 - 120, ids[1]: 1440 - 1200} {
		ttl, _ := strconv.Atoi(srv.Cli(t, "ttl", "PHPREDIS_SESSION:"+id))
		if ttl < want-5 || ttl > want+1 {
			t.Errorf("%s: TTL %d, want about %d (maxlifetime − age)", id, ttl, want)
		}
	}
	if n := srv.Cli(t, "exists", "PHPREDIS_SESSION:"+ids[2]); n != "0" {
		t.Error("the expired session was copied")
	}
	redisINI := phptest.INI(map[string]string{"session.save_handler": "redis", "session.save_path": "tcp://" + srv.Addr, "session.use_strict_mode": "0", "session.use_cookies": "0"})
	out := phptest.Run(t, `<?php session_id($argv[1]); session_start(); echo $_SESSION['user_id'];`, nil, append(redisINI, "--", ids[1])...)
	if string(out) != "41" {
		t.Errorf("PHP on Redis reads %q, want 41", out)
	}
	if s, _ := migrateJSON(t, to...); s.Copied != 0 || s.UpToDate != 2 {
		t.Errorf("second run: %+v, want 2 up to date", s)
	}
	// A newer target session (PHP wrote it on Redis after the copy) is kept.
	phptest.Run(t, `<?php session_id($argv[1]); session_start(); $_SESSION['user_id'] = 99;`, nil, append(redisINI, "--", ids[0])...)
	if s, _ := migrateJSON(t, to...); s.KeptNewer != 1 || s.Copied != 0 {
		t.Errorf("with a newer target session: %+v, want it kept", s)
	}
	if s, _ := migrateJSON(t, append(to, "--overwrite")...); s.Copied != 1 {
		t.Errorf("--overwrite: %+v, want the older source copied over it", s)
	}

	// Back to files, two levels, moving.
	back := t.TempDir()
	for _, c := range "0123456789abcdefghijklmnopqrstuvwxyz" {
		for _, d := range "0123456789abcdefghijklmnopqrstuvwxyz" {
			if c == 'm' {
				mustDo(t, os.MkdirAll(filepath.Join(back, string(c), string(d)), 0o700))
			}
		}
	}
	s, r = migrateJSON(t, "--save-handler", "redis", "--save-path", "tcp://"+srv.Addr, "--etc-root", t.TempDir(), "migrate", "--to-save-handler", "files", "--to-save-path", "2;"+back, "--move")
	if r.code != 0 || s.Copied != 2 || s.Moved != 2 {
		t.Fatalf("redis to files --move: exit %d %+v", r.code, s)
	}
	if n := srv.Cli(t, "dbsize"); n != "0" {
		t.Errorf("after --move %s keys are left in Redis", n)
	}
	// ids[0] went to Redis last by --overwrite with 2 minutes of age (PHP's
	// read of ids[1] gave that one a fresh TTL, as phpredis does).
	st, err := os.Stat(filepath.Join(back, "m", "i", "sess_"+ids[0]))
	if err != nil {
		t.Fatal(err)
	}
	if a := time.Since(st.ModTime()); a < 110*time.Second || a > 130*time.Second {
		t.Errorf("copied back with age %v, want about 2m (maxlifetime − TTL)", a)
	}
	out = phptest.Run(t, `<?php session_id($argv[1]); session_start(); echo $_SESSION['user_id'];`, nil, append(phptest.SessionINI("2;"+back, "php"), "--", ids[1])...)
	if string(out) != "41" {
		t.Errorf("PHP on the 2-level files store reads %q, want 41", out)
	}
}

// TestMigrateMemcachedToRedisIgbinary: php-memcached sessions move to
// Redis converted to igbinary, and PHP with phpredis and igbinary reads the
// same values; a session the target serializer cannot hold is named and
// skipped (exit 1), nothing half-written.
func TestMigrateMemcachedToRedisIgbinary(t *testing.T) {
	phptest.Extensions(t, "igbinary", "redis")
	e := newMCEnv(t, "memcached", nil)
	srv := redistest.Start(t)
	for i := range 3 {
		if out, err := e.php(phpWriteSession, "migm00000000000000000000"+strconv.Itoa(i), strconv.Itoa(i+7)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	s, r := migrateJSON(t, "--php-ini", e.iniFile, "migrate", "--to-save-handler", "redis", "--to-save-path", "tcp://"+srv.Addr, "--to-serialize-handler", "igbinary")
	if r.code != 0 || s.Copied != 3 {
		t.Fatalf("migrate: exit %d %+v", r.code, s)
	}
	if v := srv.Cli(t, "get", "PHPREDIS_SESSION:migm000000000000000000001"); !strings.HasPrefix(v, "\x00\x00\x00\x02") {
		t.Errorf("copy is not igbinary: %q", v)
	}
	ini := phptest.INI(map[string]string{"session.save_handler": "redis", "session.save_path": "tcp://" + srv.Addr, "session.serialize_handler": "igbinary", "session.use_strict_mode": "0", "session.use_cookies": "0"})
	out := phptest.Run(t, `<?php session_id($argv[1]); session_start(); echo json_encode($_SESSION);`, nil, append(ini, "--", "migm000000000000000000001")...)
	if want := `{"user_id":8,"name":"user 8","cart":{"items":[{"sku":"A-1","qty":2}],"total":19.99}}`; string(out) != want {
		t.Errorf("PHP reads %s, want %s", out, want)
	}
	// An int top-level key (php_serialize) has no php-handler form.
	dir := t.TempDir()
	putSess(t, dir, "migbad000000000000000001", `a:1:{i:5;s:1:"x";}`, time.Minute)
	s, r = migrateJSON(t, "--save-path", dir, "--etc-root", t.TempDir(), "--serialize-handler", "php_serialize", "migrate", "--to-save-path", t.TempDir(), "--to-serialize-handler", "php")
	if r.code != 1 || s.NotConverted != 1 || len(s.Failed) != 1 {
		t.Errorf("an unconvertible session: exit %d %+v", r.code, s)
	}
}

// TestMigrateMemcacheWhere: pecl memcache sessions (two copies each) to a
// files save_path, only those --where selects, each created with the
// save_path's mode and the age its TTL says; PHP's files handler reads it.
func TestMigrateMemcacheWhere(t *testing.T) {
	e := newMCEnv(t, "memcache", nil)
	for i := range 4 {
		if out, err := e.php(phpWriteSession, "mmcmig00000000000000000"+strconv.Itoa(i), strconv.Itoa(i%2)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	dir := t.TempDir()
	s, r := migrateJSON(t, "--php-ini", e.iniFile, "migrate", "--to-save-handler", "files", "--to-save-path", "0;0640;"+dir, "--where", "user_id=1")
	if r.code != 0 || s.Copied != 2 || s.NotSelected != 2 || s.Scanned != 4 {
		t.Fatalf("migrate --where: exit %d %+v", r.code, s)
	}
	for _, id := range []string{"mmcmig000000000000000001", "mmcmig000000000000000003"} {
		st, err := os.Stat(filepath.Join(dir, "sess_"+id))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o640 || time.Since(st.ModTime()) > time.Minute {
			t.Errorf("%s: mode %v, age %v: want 0640 and a fresh one (its TTL is nearly whole)", id, st.Mode(), time.Since(st.ModTime()))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sess_mmcmig000000000000000000")); err == nil {
		t.Error("a session --where does not select was copied")
	}
	out := phptest.Run(t, `<?php session_id($argv[1]); session_start(); echo $_SESSION['name'];`, nil, append(phptest.SessionINI(dir, "php"), "--", "mmcmig000000000000000003")...)
	if string(out) != "user 1" {
		t.Errorf("PHP reads %q", out)
	}
}

// TestMigrateToClusterAndMemcache: files sessions to a real three-master
// Redis Cluster and to pecl memcache's two copies, each with its TTL, and
// PHP reads them back from each (the TTLs are checked first: a rediscluster
// read gives a fresh one).
func TestMigrateToClusterAndMemcache(t *testing.T) {
	phptest.Extensions(t, "redis", "memcache")
	dir := t.TempDir()
	ids := []string{"migc0000000000000000000001", "migc0000000000000000000002", "migc0000000000000000000003"}
	for i, id := range ids {
		putSess(t, dir, id, `user_id|i:`+strconv.Itoa(i+1)+`;`, 4*time.Minute)
	}
	c := redistest.StartCluster(t)
	seeds := "seed[]=" + c.Seeds()[0] + "&seed[]=" + c.Seeds()[1]
	s, r := migrateJSON(t, "--save-path", dir, "--etc-root", t.TempDir(), "migrate", "--to-save-handler", "rediscluster", "--to-save-path", seeds)
	if r.code != 0 || s.Copied != 3 {
		t.Fatalf("files to rediscluster: exit %d %+v", r.code, s)
	}
	ls := runCLI(t, "--save-handler", "rediscluster", "--save-path", seeds, "--etc-root", t.TempDir(), "ls", "-o", "json")
	var rows []struct {
		ID  string `json:"id"`
		TTL int    `json:"ttl_seconds"`
	}
	if err := json.Unmarshal([]byte(ls.out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("ls on the cluster: %v %s", err, ls.out)
	}
	for _, row := range rows {
		if row.TTL < 1440-240-10 || row.TTL > 1440-240+1 {
			t.Errorf("%s: TTL %d, want about %d", row.ID, row.TTL, 1440-240)
		}
	}
	ini := phptest.INI(map[string]string{"session.save_handler": "rediscluster", "session.save_path": seeds, "session.use_strict_mode": "0", "session.use_cookies": "0"})
	out := phptest.Run(t, `<?php session_id($argv[1]); session_start(); echo $_SESSION['user_id'];`, nil, append(ini, "--", ids[2])...)
	if string(out) != "3" {
		t.Errorf("PHP on the cluster reads %q, want 3", out)
	}

	e := newMCEnv(t, "memcache", nil)
	s, r = migrateJSON(t, "--save-path", dir, "--etc-root", t.TempDir(), "migrate", "--to-save-handler", "memcache", "--to-save-path", e.savePath)
	if r.code != 0 || s.Copied != 3 {
		t.Fatalf("files to memcache: exit %d %+v", r.code, s)
	}
	for _, id := range ids {
		if got := e.holders(id); len(got) != 2 {
			t.Errorf("%s on servers %v, want pecl memcache's two copies", id, got)
		}
	}
	if out, err := e.php(`<?php session_id($argv[1]); session_start(); echo $_SESSION['user_id'];`, ids[0]); err != nil || out != "1" {
		t.Errorf("PHP on memcache reads %q %v, want 1", out, err)
	}
}

// TestMigrateSourceRewrittenInTheSameSecond: a key-value source knows its
// sessions' last writes to the second only (memcached's expiry, a TTL),
// so a session PHP rewrote just after it was copied read as older than
// its copy and was "kept newer" with exit 0: an update lost by the final
// pass of a live move (2 of 3 runs before). Each round PHP writes, migrate
// copies, PHP writes again at once, and the next migrate must copy that;
// and a session a running request holds locked is copied once the request
// has written it, never before.
func TestMigrateSourceRewrittenInTheSameSecond(t *testing.T) {
	phptest.Extensions(t, "redis")
	target := redistest.Start(t)
	to := []string{"migrate", "--to-save-handler", "redis", "--to-save-path", "tcp://" + target.Addr}
	check := func(t *testing.T, e *phpEnv, id string, n int) {
		t.Helper()
		s, r := migrateJSON(t, append([]string{"--php-ini", e.iniFile}, to...)...)
		if r.code != 0 || s.KeptNewer != 0 || s.Copied+s.UpToDate != s.Scanned {
			t.Fatalf("migrate after the rewrite to %d: exit %d %+v", n, r.code, s)
		}
		if got := target.Cli(t, "get", "PHPREDIS_SESSION:"+id); !strings.Contains(got, "user_id|i:"+strconv.Itoa(n)+";") {
			t.Fatalf("the copy holds %q, want user_id %d", got, n)
		}
	}
	rounds := func(t *testing.T, e *phpEnv, id string) {
		for n := range 4 {
			if out, err := e.php(phpWriteSession, id, strconv.Itoa(2*n)); err != nil {
				t.Fatalf("php: %v %s", err, out)
			}
			check(t, e, id, 2*n)
			if out, err := e.php(phpWriteSession, id, strconv.Itoa(2*n+1)); err != nil {
				t.Fatalf("php: %v %s", err, out)
			}
			check(t, e, id, 2*n+1)
		}
	}
	t.Run("memcached", func(t *testing.T) {
		e := newMCEnv(t, "memcached", nil)
		rounds(t, &e.phpEnv, "migsame00000000000000001")
	})
	t.Run("redis", func(t *testing.T) {
		e := newRedisEnv(t, map[string]string{"redis.session.locking_enabled": "1", "max_execution_time": "0"})
		id := "migsame00000000000000002"
		rounds(t, &e.phpEnv, id)
		hold := phptest.Start(t, `<?php
session_id($argv[1]);
session_start();
echo "locked\n";
fgets(STDIN);
$_SESSION['user_id'] = 100;
session_write_close();
echo "done\n";`, append(append(phptest.INI(e.ini), "--"), id)...)
		hold.WaitLine("locked")
		done := make(chan struct{})
		var s migrateStats
		var r cliResult
		go func() {
			defer close(done)
			s, r = migrateJSON(t, append([]string{"--php-ini", e.iniFile, "--lock-timeout", "20s"}, to...)...)
		}()
		time.Sleep(300 * time.Millisecond) // migrate waits for the lock now
		select {
		case <-done:
			t.Fatalf("migrate did not wait for the request's lock: exit %d %+v", r.code, s)
		default:
		}
		hold.Send("go")
		hold.WaitLine("done")
		<-done
		if r.code != 0 || s.Copied != 1 {
			t.Fatalf("migrate after the request: exit %d %+v", r.code, s)
		}
		if got := target.Cli(t, "get", "PHPREDIS_SESSION:"+id); !strings.Contains(got, "user_id|i:100;") {
			t.Errorf("the copy holds %q, want what the request wrote", got)
		}
		s, r = migrateJSON(t, append([]string{"--php-ini", e.iniFile, "--lock-timeout", "0"}, to...)...)
		if r.code != 0 || s.UpToDate != 1 {
			t.Errorf("a second run: exit %d %+v", r.code, s)
		}
	})
}

// TestMigrateEveryPair: sessions PHP wrote to each kind of store (files in
// a flat and a 2-level layout, Redis in database 0 and 3, a three-master
// Redis Cluster, php-memcached, pecl memcache) are copied to every other,
// and PHP reads each copy from its target with that target's handler; no
// copy is misjudged newer, nothing fails. Then on one pair: ids and --grep
// pick a subset, and --dry-run after a full copy finds all up to date.
func TestMigrateEveryPair(t *testing.T) {
	phptest.Extensions(t, "redis", "memcached", "memcache")
	type kind struct {
		name    string
		handler string
		path    string
		env     phpEnv
		ids     []string
	}
	flat, deep := t.TempDir(), t.TempDir()
	mustDo(t, os.MkdirAll(filepath.Join(deep, "m", "p"), 0o700))
	rs := redistest.Start(t)
	cl := redistest.StartCluster(t)
	seeds := "seed[]=" + cl.Seeds()[0] + "&seed[]=" + cl.Seeds()[1]
	mcd := newMCEnv(t, "memcached", nil)
	mc := newMCEnv(t, "memcache", nil)
	kinds := []*kind{
		{name: "files", handler: "files", path: flat},
		{name: "files2", handler: "files", path: "2;" + deep},
		{name: "redis", handler: "redis", path: "tcp://" + rs.Addr},
		{name: "redisdb3", handler: "redis", path: "tcp://" + rs.Addr + "?database=3"},
		{name: "cluster", handler: "rediscluster", path: seeds},
		{name: "memcached", handler: "memcached", path: mcd.savePath},
		{name: "memcache", handler: "memcache", path: mc.savePath},
	}
	for i, k := range kinds {
		k.env = newPHPEnv(t, k.handler, k.path, map[string]string{"max_execution_time": "0"})
		for j := range 2 {
			id := fmt.Sprintf("mp%dx%021d", i, j)
			k.ids = append(k.ids, id)
			if out, err := k.env.php(phpWriteSession, id, strconv.Itoa(10*i+j)); err != nil {
				t.Fatalf("%s: php: %v %s", k.name, err, out)
			}
		}
	}
	for i, src := range kinds {
		for _, dst := range kinds {
			if src == dst {
				continue
			}
			s, r := migrateJSON(t, "--php-ini", src.env.iniFile, "--etc-root", t.TempDir(), "migrate", "--to-save-handler", dst.handler, "--to-save-path", dst.path)
			if r.code != 0 || s.KeptNewer != 0 || s.Errors != 0 || s.Scanned < 2 || s.Copied+s.UpToDate != s.Scanned {
				t.Fatalf("%s to %s: exit %d %+v %s", src.name, dst.name, r.code, s, r.errOut)
			}
			for j, id := range src.ids {
				out, err := dst.env.php(phpReadSession, id)
				if want := fmt.Sprintf(`"user_id":%d,`, 10*i+j); err != nil || !strings.Contains(out, want) {
					t.Fatalf("%s to %s: PHP on the target reads %s %v for %s, want %s", src.name, dst.name, out, err, id, want)
				}
			}
		}
	}

	// A subset: ids, then --grep, from files to a fresh files save_path.
	sub := t.TempDir()
	from := []string{"--php-ini", kinds[0].env.iniFile, "--etc-root", t.TempDir(), "migrate", "--to-save-path", sub}
	if s, r := migrateJSON(t, append(from, kinds[0].ids[1])...); r.code != 0 || s.Copied != 1 || s.Scanned != 1 {
		t.Fatalf("migrate ID: exit %d %+v", r.code, s)
	}
	if _, err := os.Stat(filepath.Join(sub, "sess_"+kinds[0].ids[0])); err == nil {
		t.Fatal("migrate ID copied another session")
	}
	if s, r := migrateJSON(t, append(from, "--grep", `^user 0$`)...); r.code != 0 || s.Copied != 1 || s.NotSelected == 0 {
		t.Fatalf("migrate --grep: exit %d %+v", r.code, s)
	}
	if _, err := os.Stat(filepath.Join(sub, "sess_"+kinds[0].ids[0])); err != nil {
		t.Fatalf("migrate --grep did not copy the session it selects: %v", err)
	}
	// The human output is gc's: a summary line, the sessions by --list,
	// nothing with -q.
	r := runCLI(t, append(from, "--dry-run")...)
	if lines := strings.Split(strings.TrimSpace(r.out), "\n"); r.code != 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "scanned ") {
		t.Fatalf("migrate --dry-run: exit %d, %q: want one summary line", r.code, r.out)
	}
	r = runCLI(t, append(from, "--dry-run", "--list")...)
	if r.code != 0 || strings.Count(r.out, "would copy mp") < 10 || !strings.Contains(r.out, "\nscanned ") {
		t.Fatalf("migrate --dry-run --list: exit %d, %q: want a line per session and the summary", r.code, r.out)
	}
	if s, _ := migrateJSON(t, append(from, "--dry-run", "--list")...); s.IDs == nil || len(*s.IDs) != int(s.Copied) {
		t.Fatalf("migrate --dry-run --list -o json: %+v, want the ids", s)
	}
	all, _ := migrateJSON(t, from...)
	if s, r := migrateJSON(t, append(from, "--dry-run")...); r.code != 0 || s.Copied != 0 || s.UpToDate != all.Scanned-all.Expired {
		t.Fatalf("--dry-run after a full copy: exit %d %+v, want every session up to date", r.code, s)
	}
	if r := runCLI(t, append(from, "-q")...); r.code != 0 || r.out != "" || r.errOut != "" {
		t.Fatalf("migrate -q: exit %d, %q %q: want nothing", r.code, r.out, r.errOut)
	}
}

// TestMigrateTargetOwner (root): copies onto a files save_path are created
// as set --create creates sessions: owned by --owner, else by the
// save_path's owner, which migrate says once on stderr (it said nothing);
// with the save_path's mode.
func TestMigrateTargetOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions are created for another owner")
	}
	src := t.TempDir()
	for i := range 3 {
		putSess(t, src, "mown00000000000000000000"+strconv.Itoa(i), `a|i:1;`, time.Minute)
	}
	for _, c := range []struct {
		name, owner string
		uid         uint32
		warn        int
	}{{"save_path owner", "", 65534, 1}, {"--owner", "daemon", 1, 0}} {
		t.Run(c.name, func(t *testing.T) {
			dst := t.TempDir()
			mustDo(t, os.Chown(dst, 65534, 65534))
			mustDo(t, os.Chmod(dst, 0o1733))
			args := []string{"--save-path", src, "--etc-root", t.TempDir()}
			if c.owner != "" {
				args = append(args, "--owner", c.owner)
			}
			r := runCLI(t, append(args, "migrate", "--to-save-path", dst)...)
			if r.code != 0 || strings.Count(r.errOut, "warning:") != c.warn {
				t.Fatalf("exit %d, stderr %q: want %d warning", r.code, r.errOut, c.warn)
			}
			for i := range 3 {
				st, err := os.Stat(filepath.Join(dst, "sess_mown00000000000000000000"+strconv.Itoa(i)))
				if err != nil {
					t.Fatal(err)
				}
				if uid := st.Sys().(*syscall.Stat_t).Uid; uid != c.uid || st.Mode().Perm() != 0o600 {
					t.Errorf("copy owned by %d with mode %v, want %d and 0600", uid, st.Mode().Perm(), c.uid)
				}
			}
		})
	}
}
