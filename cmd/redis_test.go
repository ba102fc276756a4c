package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
	"github.com/sesstool/sesstool/sessredis"
)

// phpEnv is PHP pointed at a session store by ini settings, and sesstool
// reading the same settings from a php.ini.
type phpEnv struct {
	t        *testing.T
	savePath string
	ini      map[string]string // PHP's own settings (and sesstool's php.ini)
	iniFile  string
}

// newPHPEnv makes the settings of handler on savePath (no cookies, no
// strict mode, the php serializer), with ini's on top, and their php.ini.
func newPHPEnv(t *testing.T, handler, savePath string, ini map[string]string) phpEnv {
	t.Helper()
	e := phpEnv{t: t, savePath: savePath}
	e.ini = map[string]string{
		"session.save_handler":      handler,
		"session.save_path":         savePath,
		"session.use_cookies":       "0",
		"session.use_strict_mode":   "0",
		"session.serialize_handler": "php",
	}
	for k, v := range ini {
		e.ini[k] = v
	}
	var b strings.Builder
	for k, v := range e.ini {
		fmt.Fprintf(&b, "%s = %q\n", k, v)
	}
	e.iniFile = mkFile(t, t.TempDir(), "php.ini", b.String())
	return e
}

// sesstool runs sesstool with the same php.ini as PHP.
func (e *phpEnv) sesstool(args ...string) cliResult {
	e.t.Helper()
	return runCLI(e.t, append([]string{"--php-ini", e.iniFile}, args...)...)
}

// php runs a PHP script with the store's sessions; $argv[1:] are args.
func (e *phpEnv) php(script string, args ...string) (string, error) {
	e.t.Helper()
	a := append(phptest.INI(e.ini), "--")
	out, err := phptest.RunErr(e.t, script, nil, append(a, args...)...)
	return string(out), err
}

// redisEnv is a real redis-server with PHP's phpredis pointed at it.
type redisEnv struct {
	phpEnv
	srv *redistest.Server
}

func newRedisEnv(t *testing.T, ini map[string]string) *redisEnv {
	t.Helper()
	phptest.Extensions(t, "redis")
	srv := redistest.Start(t, "notify-keyspace-events K$gxn")
	return &redisEnv{phpEnv: newPHPEnv(t, "redis", "tcp://"+srv.Addr, ini), srv: srv}
}

const phpWriteSession = `<?php
session_id($argv[1]);
session_start();
$_SESSION['user_id'] = (int)$argv[2];
$_SESSION['name'] = "user " . $argv[2];
$_SESSION['cart'] = ['items' => [['sku' => 'A-1', 'qty' => 2]], 'total' => 19.99];
session_write_close();
echo bin2hex(session_encode() ?: '');`

const phpReadSession = `<?php
session_id($argv[1]);
session_start();
echo json_encode($_SESSION);
session_write_close();`

// TestRedisPHPWritesSesstoolReads: sessions PHP writes through phpredis are
// listed (SCAN, lock keys left out), shown byte for byte, selected by
// content and exported, through the same php.ini PHP reads.
func TestRedisPHPWritesSesstoolReads(t *testing.T) {
	e := newRedisEnv(t, nil)
	ids := []string{"rphp0000000000000000000001", "rphp0000000000000000000002", "rphp0000000000000000000003"}
	for i, id := range ids {
		if out, err := e.php(phpWriteSession, id, fmt.Sprint(41+i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	// A stale lock key is no session.
	e.srv.Cli(t, "set", "PHPREDIS_SESSION:"+ids[0]+"_LOCK", "web1|4242")

	r := e.sesstool("ls", "-o", "json")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.out), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("ls -o json: %v\n%s", err, r.out)
	}
	for _, row := range rows {
		ttl, _ := row["ttl_seconds"].(float64)
		if row["server"] != e.srv.Addr || ttl < 1400 || ttl > 1440 {
			t.Errorf("row %v: want server %s and a TTL near 1440", row, e.srv.Addr)
		}
		if row["id"] == ids[0] && (row["locked"] != true || row["lock_holder"] != "web1|4242") {
			t.Errorf("row %v: want locked by web1|4242", row)
		}
	}
	raw := e.sesstool("show", ids[1], "-o", "raw")
	if want := e.srv.Cli(t, "get", "PHPREDIS_SESSION:"+ids[1]); raw.err != nil || raw.out != want {
		t.Errorf("show -o raw = %q %v, redis has %q", raw.out, raw.err, want)
	}
	if r := e.sesstool("ls", "-q", "--where", "user_id=42"); r.err != nil || r.out != ids[1]+"\n" {
		t.Errorf("ls --where user_id=42: %q %v", r.out, r.err)
	}
	if r := e.sesstool("show", ids[2], "--key", "/cart/items/0/sku"); r.err != nil || !strings.Contains(r.out, "A-1") {
		t.Errorf("show --key: %q %v", r.out, r.err)
	}
	if r := e.sesstool("ls", "--columns", "user_id,name"); r.err != nil || !strings.Contains(r.out, "\t43\t\"user 43\"") {
		t.Errorf("ls --columns into a pipe:\n%s%v", r.out, r.err)
	}
	if r := e.sesstool("show", "rphp0000000000000000000009"); r.code != 1 || !strings.Contains(ErrorLine(r.err), "not found") {
		t.Errorf("show of a missing session: exit %d %v", r.code, r.err)
	}
}

// TestRedisSesstoolWritesPHPReads: what set, unset and destroy do is what
// PHP then reads; the remaining TTL is kept unless --touch.
func TestRedisSesstoolWritesPHPReads(t *testing.T) {
	e := newRedisEnv(t, nil)
	id := "rset0000000000000000000001"
	if out, err := e.php(phpWriteSession, id, "7"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	key := "PHPREDIS_SESSION:" + id
	e.srv.Cli(t, "expire", key, "500")
	r := e.sesstool("set", id, "name", `"alice"`)
	if r.err != nil || !strings.Contains(r.errOut, "locking is off") {
		t.Fatalf("set: %v, stderr %q (want the locking-off warning)", r.err, r.errOut)
	}
	if ttl := e.srv.Cli(t, "ttl", key); ttl != "500" && ttl != "499" {
		t.Errorf("TTL after set = %s, want the 500 it had", ttl)
	}
	if r := e.sesstool("unset", id, "cart", "--touch"); r.err != nil {
		t.Fatal(r.err)
	}
	if ttl := e.srv.Cli(t, "ttl", key); ttl != "1440" && ttl != "1439" {
		t.Errorf("TTL after unset --touch = %s, want a fresh 1440", ttl)
	}
	out, err := e.php(phpReadSession, id)
	if err != nil || out != `{"user_id":7,"name":"alice"}` {
		t.Errorf("PHP reads %s %v", out, err)
	}
	if r := e.sesstool("set", "rnew0000000000000000000001", "a", "1", "--create"); r.err != nil {
		t.Fatal(r.err)
	}
	if ttl := e.srv.Cli(t, "ttl", "PHPREDIS_SESSION:rnew0000000000000000000001"); ttl != "1440" && ttl != "1439" {
		t.Errorf("a created session's TTL = %s, want 1440 as PHP's SETEX", ttl)
	}
	if r := e.sesstool("destroy", id); r.err != nil {
		t.Fatal(r.err)
	}
	if n := e.srv.Cli(t, "exists", key); n != "0" {
		t.Errorf("destroyed session still there")
	}
}

// TestRedisLocking: with redis.session.locking_enabled, sesstool waits for
// the lock of a PHP request and gives up after --lock-timeout (exit 3,
// naming the holder); once PHP lets go, the change is made and PHP reads it.
func TestRedisLocking(t *testing.T) {
	e := newRedisEnv(t, map[string]string{"redis.session.locking_enabled": "1", "max_execution_time": "0"})
	id := "rlck0000000000000000000001"
	if out, err := e.php(phpWriteSession, id, "1"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	hold := phptest.Start(t, `<?php
session_id($argv[1]);
session_start();
echo "locked\n";
fgets(STDIN);
$_SESSION['by_php'] = 1;
session_write_close();
echo "done\n";`, append(append(phptest.INI(e.ini), "--"), id)...)
	hold.WaitLine("locked")
	r := e.sesstool("--lock-timeout", "300ms", "set", id, "name", `"x"`)
	if r.code != 3 || !strings.Contains(ErrorLine(r.err), "|") {
		t.Fatalf("set while PHP holds the lock: exit %d %q, want 3 naming the holder host|pid", r.code, ErrorLine(r.err))
	}
	var wg sync.WaitGroup
	var res cliResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		res = e.sesstool("--lock-timeout", "20s", "set", id, "name", `"after php"`)
	}()
	time.Sleep(200 * time.Millisecond) // sesstool is waiting now
	hold.Send("go")
	hold.WaitLine("done")
	wg.Wait()
	if res.err != nil || strings.Contains(res.errOut, "locking is off") {
		t.Fatalf("set after PHP released: %v %q", res.err, res.errOut)
	}
	out, err := e.php(phpReadSession, id)
	if err != nil || !strings.Contains(out, `"name":"after php"`) || !strings.Contains(out, `"by_php":1`) {
		t.Errorf("PHP reads %s %v: want both PHP's and sesstool's change", out, err)
	}
	if n := e.srv.Cli(t, "exists", "PHPREDIS_SESSION:"+id+"_LOCK"); n != "0" {
		t.Errorf("a lock key is left behind")
	}
}

// TestRedisNoLostUpdates: with PHP's locking off, concurrent sesstool
// changes of one session (WATCH/MULTI) all land.
func TestRedisNoLostUpdates(t *testing.T) {
	e := newRedisEnv(t, nil)
	id := "rcnt0000000000000000000001"
	e.concurrentSets(id, 4, 10)
}

// concurrentSets creates session id, has workers sesstools set each keys
// of it at once (with a generous --lock-timeout), and checks that every
// key landed: no update lost.
func (e *phpEnv) concurrentSets(id string, workers, each int) {
	t := e.t
	t.Helper()
	if r := e.sesstool("set", id, "n", "0", "--create"); r.err != nil {
		t.Fatal(r.err)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if r := e.sesstool("--lock-timeout", "30s", "set", id, fmt.Sprintf("k%d_%d", w, i), "1"); r.err != nil {
					t.Errorf("set: %v", r.err)
				}
			}
		}()
	}
	wg.Wait()
	r := e.sesstool("show", id, "-o", "json")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.out), &m); err != nil {
		t.Fatalf("%v: %s", err, r.out)
	}
	if len(m) != 1+workers*each {
		t.Errorf("%d keys after %d concurrent sets, want %d: updates were lost", len(m)-1, workers*each, workers*each)
	}
}

// TestRedisCluster: sessions PHP writes through rediscluster on a real
// three-master cluster are listed from every master, shown, changed, and
// PHP reads the change.
func TestRedisCluster(t *testing.T) {
	phptest.Extensions(t, "redis")
	c := redistest.StartCluster(t, "notify-keyspace-events K$gxn")
	sp := "seed[]=" + c.Seeds()[0] + "&seed[]=" + c.Seeds()[1] + "&timeout=2&read_timeout=2"
	e := &redisEnv{phpEnv: newPHPEnv(t, "rediscluster", sp, nil)}
	var ids []string
	for i := range 12 {
		id := fmt.Sprintf("rclu%022d", i)
		ids = append(ids, id)
		if out, err := e.php(phpWriteSession, id, fmt.Sprint(i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	r := e.sesstool("ls", "-q", "--sort", "id")
	if r.err != nil || r.out != strings.Join(ids, "\n")+"\n" {
		t.Fatalf("ls on the cluster: %q %v", r.out, r.err)
	}
	servers := map[string]bool{}
	var rows []map[string]any
	_ = json.Unmarshal([]byte(e.sesstool("ls", "-o", "json").out), &rows)
	for _, row := range rows {
		servers[fmt.Sprint(row["server"])] = true
	}
	if len(servers) < 2 {
		t.Errorf("12 sessions on %d masters: %v", len(servers), servers)
	}
	// watch follows every master: sessions on different masters changing
	// are all reported.
	cs, err := sessredis.ParseClusterSavePath(sp)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := sessredis.OpenCluster(cs, sessredis.Options{MaxLifetime: 1440 * time.Second})
	defer rs.Close()
	evs := make(chan sessionEvent, 64)
	ctx, cancel := context.WithCancel(t.Context())
	snap := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runWatch(ctx, watchConfig{Store: rs, Snap: func(snapshot) { close(snap) }, Warn: func(string) {},
			Emit: func(ev sessionEvent) error { evs <- ev; return nil }})
	}()
	select {
	case <-snap:
	case <-time.After(watchWait):
		t.Fatal("no snapshot")
	}
	for _, id := range ids {
		if r := e.sesstool("set", id, "seen", "1"); r.err != nil {
			t.Fatal(r.err)
		}
	}
	seen := map[string]bool{}
	for len(seen) < len(ids) {
		select {
		case ev := <-evs:
			if ev.Event == evModified {
				seen[ev.ID] = true
			}
		case <-time.After(watchWait):
			t.Fatalf("watch on the cluster saw %d of %d changes", len(seen), len(ids))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch: %v", err)
	}
	if r := e.sesstool("set", ids[5], "name", `"clustered"`); r.err != nil {
		t.Fatal(r.err)
	}
	out, err := e.php(phpReadSession, ids[5])
	if err != nil || !strings.Contains(out, `"name":"clustered"`) {
		t.Errorf("PHP reads %s %v", out, err)
	}
	// gc on the cluster: a key without a TTL idle past maxlifetime goes,
	// on whichever master holds it (one key per script: no CROSSSLOT).
	c.Masters[0].Cli(t, "-c", "set", "PHPREDIS_CLUSTER_SESSION:rclunottl00000000000000001", "a|i:1;")
	time.Sleep(2200 * time.Millisecond)
	if r := e.sesstool("gc", "--maxlifetime", "1s", "-o", "json"); r.err != nil || !strings.Contains(r.out, `"deleted": 1,`) || !strings.Contains(r.out, `"errors": 0,`) {
		t.Errorf("gc on the cluster: %v %s %s", r.err, r.out, r.errOut)
	}
	if r := e.sesstool("destroy", "--where", "user_id=3", "--yes"); r.err != nil {
		t.Fatalf("destroy --where: %v %s", r.err, r.errOut)
	}
	if r := e.sesstool("ls", "-q"); strings.Contains(r.out, ids[3]) || strings.Count(r.out, "\n") != 11 {
		t.Errorf("after destroy --where user_id=3: %q", r.out)
	}
}

// TestRedisGC: gc deletes what Redis never expires: a session key without a
// TTL idle past maxlifetime and a lock key without expiry idle past
// --lock-age; a session with a TTL, a locked one and a fresh one stay. A
// dry run first reports the same and changes nothing (nor the idle times
// the real run goes by).
func TestRedisGC(t *testing.T) {
	e := newRedisEnv(t, nil)
	p := "PHPREDIS_SESSION:"
	e.srv.Cli(t, "set", p+"gcold000000000000000000001", "a|i:1;")
	e.srv.Cli(t, "set", p+"gclocked0000000000000000001", "a|i:1;")
	e.srv.Cli(t, "setex", p+"gcttl000000000000000000001", "1000", "a|i:1;")
	// A lock without expiry idle 2 s (its age or less), its session last
	// written 1340 s ago (TTL 100 of 1440): stale.
	e.srv.Cli(t, "setex", p+"gcstale000000000000000000001", "100", "a|i:1;")
	e.srv.Cli(t, "set", p+"gcstale000000000000000000001_LOCK", "web2|88")
	time.Sleep(2200 * time.Millisecond) // idle times are in whole seconds
	e.srv.Cli(t, "set", p+"gcnew000000000000000000001", "a|i:1;")
	e.srv.Cli(t, "set", p+"gclocked0000000000000000001_LOCK", "web1|77") // a request holds it now

	args := []string{"gc", "--maxlifetime", "1s", "--lock-age", "1s", "--list", "-o", "json"}
	for _, dry := range []bool{true, false} {
		a := args
		if dry {
			a = append(a, "--dry-run")
		}
		r := e.sesstool(a...)
		if r.err != nil {
			t.Fatalf("%v: %v %s", a, r.err, r.errOut)
		}
		var doc struct {
			Scanned, Deleted, SkippedInUse int64
			IDs                            []string
			StaleLocks                     int64 `json:"stale_locks"`
			DryRun                         bool  `json:"dry_run"`
		}
		if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
			t.Fatalf("%s: %v", r.out, err)
		}
		if doc.Scanned != 5 || doc.Deleted != 1 || len(doc.IDs) != 1 || doc.IDs[0] != "gcold000000000000000000001" || doc.StaleLocks != 1 || doc.DryRun != dry {
			t.Errorf("dry %v: %s", dry, r.out)
		}
		gone := e.srv.Cli(t, "exists", p+"gcold000000000000000000001") == "0"
		lockGone := e.srv.Cli(t, "exists", p+"gcstale000000000000000000001_LOCK") == "0"
		if gone != !dry || lockGone != !dry {
			t.Errorf("dry %v: old session gone %v, stale lock gone %v", dry, gone, lockGone)
		}
		if dry && !redisHasNoTouch(t, e.srv) {
			// Before 7.2 the dry run's GET of the stale lock's holder reset
			// its idle time: let it age again, the fresh keys made afresh.
			time.Sleep(2200 * time.Millisecond)
			e.srv.Cli(t, "set", p+"gcnew000000000000000000001", "a|i:1;")
			e.srv.Cli(t, "set", p+"gclocked0000000000000000001_LOCK", "web1|77")
		}
	}
	for _, k := range []string{"gclocked0000000000000000001", "gclocked0000000000000000001_LOCK", "gcttl000000000000000000001", "gcnew000000000000000000001"} {
		if e.srv.Cli(t, "exists", p+k) != "1" {
			t.Errorf("gc deleted %s", k)
		}
	}
}

// TestRedisWatch: watch follows keyspace notifications: PHP creating a
// session, sesstool changing it and destroying it are three events, with
// --decode's key changes; with notifications off it names the CONFIG SET,
// and --poll finds the same changes by listing.
func TestRedisWatch(t *testing.T) {
	e := newRedisEnv(t, nil)
	sp, err := sessredis.ParseSavePath(e.savePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, poll := range []time.Duration{0, 100 * time.Millisecond} {
		t.Run(fmt.Sprintf("poll %v", poll), func(t *testing.T) {
			rs, _ := sessredis.Open(sp, sessredis.Options{MaxLifetime: 1440 * time.Second})
			defer rs.Close()
			id := fmt.Sprintf("rwat%022d", poll.Milliseconds())
			expect, stop := storeWatch(t, rs, poll)
			defer stop()
			e.watchLifecycle(t, expect, id, poll)
		})
	}
	e.srv.Cli(t, "config", "set", "notify-keyspace-events", "")
	r := e.sesstool("watch")
	if r.code != 1 || !strings.Contains(ErrorLine(r.err), "CONFIG SET notify-keyspace-events 'K$gxn'") {
		t.Errorf("watch with notifications off: exit %d %q", r.code, ErrorLine(r.err))
	}
}

// TestRedisLocksUnlock: locks lists a lock key with its holder and no
// expiry; unlock refuses a young lock unless --force or --older-than says,
// and says so for a session that is not locked.
func TestRedisLocksUnlock(t *testing.T) {
	e := newRedisEnv(t, nil)
	id := "rulk0000000000000000000001"
	e.srv.Cli(t, "set", "PHPREDIS_SESSION:"+id, "a|i:1;")
	e.srv.Cli(t, "set", "PHPREDIS_SESSION:"+id+"_LOCK", "web1|4242")
	r := e.sesstool("locks", "-o", "json")
	var locks []map[string]any
	if err := json.Unmarshal([]byte(r.out), &locks); err != nil || len(locks) != 1 || locks[0]["id"] != id || locks[0]["holder"] != "web1|4242" || locks[0]["ttl_seconds"] != nil {
		t.Fatalf("locks -o json: %v %s", err, r.out)
	}
	if r := runTTY(t, "--php-ini", e.iniFile, "locks"); r.err != nil || !strings.Contains(r.out, "web1|4242") || !strings.Contains(r.out, "no expiry") {
		t.Errorf("locks:\n%s%v", r.out, r.err)
	}
	if r := e.sesstool("unlock", id, "--older-than", "1h"); r.code != 1 || !strings.Contains(ErrorLine(r.err), "--force") {
		t.Errorf("unlock of a young lock: exit %d %q", r.code, ErrorLine(r.err))
	}
	if r := e.sesstool("unlock", id, "--older-than", "0s"); r.err != nil || !strings.Contains(r.out, "unlocked "+id) {
		t.Errorf("unlock --older-than 0s: %q %v", r.out, r.err)
	}
	if e.srv.Cli(t, "exists", "PHPREDIS_SESSION:"+id+"_LOCK") != "0" || e.srv.Cli(t, "exists", "PHPREDIS_SESSION:"+id) != "1" {
		t.Errorf("unlock removed the wrong key")
	}
	if r := e.sesstool("unlock", id, "--force"); r.code != 1 || !strings.Contains(ErrorLine(r.err), "not locked") {
		t.Errorf("unlock of an unlocked session: exit %d %q", r.code, ErrorLine(r.err))
	}
}

// TestRedisUnreachableAndSecrets: a server that cannot be reached is one
// line naming its address (exit 1, nothing else on stderr); a bad
// save_path is exit 2 naming the offset; config and errors never show an
// auth= password.
func TestRedisUnreachableAndSecrets(t *testing.T) {
	r := runCLI(t, "--save-handler", "redis", "--save-path", "tcp://127.0.0.1:1?auth=s3cret", "--timeout", "2s", "ls")
	if r.code != 1 || !strings.Contains(ErrorLine(r.err), "127.0.0.1:1") || r.errOut != "" || strings.Contains(ErrorLine(r.err), "s3cret") {
		t.Errorf("unreachable: exit %d, line %q, stderr %q", r.code, ErrorLine(r.err), r.errOut)
	}
	r = runCLI(t, "--save-handler", "redis", "--save-path", "tcp://a:1?auth=s3cret, h:99999", "ls")
	if r.code != 2 || !strings.Contains(ErrorLine(r.err), "at offset 23") || strings.Contains(ErrorLine(r.err), "s3cret") {
		t.Errorf("bad save_path: exit %d, %q", r.code, ErrorLine(r.err))
	}
	r = runCLI(t, "--save-handler", "redis", "--save-path", "tcp://127.0.0.1:1?auth=s3cret", "config")
	if r.err != nil || strings.Contains(r.out, "s3cret") || !strings.Contains(r.out, "auth=****") || !strings.Contains(r.out, "redis.session.locking_enabled") {
		t.Errorf("config:\n%s%v", r.out, r.err)
	}
	if r := runCLI(t, "--save-handler", "memcache", "ls"); r.code != 2 {
		t.Errorf("--save-handler memcache: exit %d %v", r.code, r.err)
	}
}

// TestRedisIgbinary: sessions PHP writes with the igbinary serializer on
// Redis are decoded, changed in igbinary and read back by PHP.
func TestRedisIgbinary(t *testing.T) {
	phptest.Extensions(t, "redis", "igbinary")
	e := newRedisEnv(t, map[string]string{"session.serialize_handler": "igbinary"})
	id := "rigb0000000000000000000001"
	if out, err := e.php(phpWriteSession, id, "9"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	r := e.sesstool("show", id, "-o", "json")
	if r.err != nil || !strings.Contains(r.out, `"user_id":9,`) {
		t.Fatalf("show -o json: %v\n%s", r.err, r.out)
	}
	if r := e.sesstool("set", id, "user_id", "10"); r.err != nil {
		t.Fatal(r.err)
	}
	raw := e.srv.Cli(t, "--no-raw", "get", "PHPREDIS_SESSION:"+id)
	if !strings.HasPrefix(raw, `"\x00\x00\x00\x02`) {
		t.Errorf("after set the value is not igbinary: %s", raw)
	}
	out, err := e.php(phpReadSession, id)
	if err != nil || !strings.Contains(out, `"user_id":10`) || !strings.Contains(out, `"sku":"A-1"`) {
		t.Errorf("PHP reads %s %v", out, err)
	}
}

// TestRedisTLS: a tls:// save_path reaches a TLS-only port, the server's
// certificate checked against the system's roots (here SSL_CERT_FILE).
func TestRedisTLS(t *testing.T) {
	srv, ca := redistest.StartTLS(t)
	t.Setenv("SSL_CERT_FILE", ca) // read once, at the first TLS handshake of this test binary
	srv.Cli(t, "set", "PHPREDIS_SESSION:rtls0000000000000000000001", "a|i:1;")
	r := runCLI(t, "--save-handler", "redis", "--save-path", "tls://"+srv.TLSAddr+"?timeout=2", "show", "rtls0000000000000000000001", "-o", "raw")
	if r.err != nil || r.out != "a|i:1;" {
		t.Errorf("show over TLS: %q %v", r.out, r.err)
	}
	// The same port without TLS is refused in one line.
	r = runCLI(t, "--save-handler", "redis", "--save-path", "tcp://"+srv.TLSAddr, "--timeout", "2s", "ls")
	if r.code != 1 || r.errOut != "" {
		t.Errorf("plain TCP to the TLS port: exit %d %q %q", r.code, ErrorLine(r.err), r.errOut)
	}
}
