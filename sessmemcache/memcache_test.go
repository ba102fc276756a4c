package sessmemcache

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/memcachedtest"
	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/store"
)

func TestParseMemcacheSavePath(t *testing.T) {
	sp, err := ParseMemcacheSavePath("tcp://10.0.0.1:11211?weight=2&timeout=0.5, 10.0.0.2:11212 unix:///run/mc.sock:0,tcp://cache3?persistent=1&retry_interval=3,tcp://[::1]:11213")
	if err != nil {
		t.Fatal(err)
	}
	type s struct {
		Host, Network, Addr string
		Port, Weight        int
		Timeout             float64
	}
	var got []s
	for _, v := range sp.Servers {
		got = append(got, s{v.Host, v.Network, v.Addr, v.Port, v.Weight, v.Timeout})
	}
	want := []s{
		{"10.0.0.1", "tcp", "10.0.0.1:11211", 11211, 2, 0.5},
		{"10.0.0.2", "tcp", "10.0.0.2:11212", 11212, 1, 1},
		{"unix:///run/mc.sock", "unix", "/run/mc.sock", 0, 1, 1},
		{"cache3", "tcp", "cache3:0", 0, 1, 1}, // pecl memcache defaults no port
		{"[::1]", "tcp", "[::1]:11213", 11213, 1, 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("servers\n%v\nwant\n%v", got, want)
	}
	if !sp.Servers[3].Persistent || sp.Servers[3].RetryInterval != 3 {
		t.Errorf("query: %+v", sp.Servers[3])
	}
	for _, v := range []string{"", " , ", "tcp://h:1?weight=0", "tcp://h:1?timeout=-1", "tcp://:11211", "tcp://h:1?weight=-3"} {
		if _, err := ParseMemcacheSavePath(v); err == nil {
			t.Errorf("ParseMemcacheSavePath(%q) accepted", v)
		}
	}
}

func TestPrepareKey(t *testing.T) {
	if got := PrepareKey("a b\x01c"); got != "a_b_c" {
		t.Errorf("PrepareKey = %q", got)
	}
	if got := PrepareKey(strings.Repeat("k", 300)); len(got) != 250 {
		t.Errorf("PrepareKey cut to %d bytes", len(got))
	}
}

// FuzzParseMemcacheSavePath: no save_path makes the parser or the ring
// panic, and the ring always names distinct servers of the save_path.
func FuzzParseMemcacheSavePath(f *testing.F) {
	f.Add("tcp://10.0.0.1:11211?weight=2&timeout=0.5, 10.0.0.2:11212 unix:///run/mc.sock:0")
	f.Add("unix:0")
	f.Add("tcp://h:1?weight=99999999999")
	f.Fuzz(func(t *testing.T, v string) {
		sp, err := ParseMemcacheSavePath(v)
		if err != nil {
			return
		}
		if len(sp.Servers) > 8 {
			return // the ring's size grows with weights and servers; enough is enough
		}
		for _, s := range sp.Servers {
			if s.Weight > 64 {
				return
			}
		}
		r := NewMemcacheRing(sp)
		for _, k := range []string{"", "abc", v} {
			got := r.ServersFor(k, 3)
			for i, s := range got {
				if s < 0 || s >= len(sp.Servers) || slices.Contains(got[:i], s) {
					t.Fatalf("ServersFor(%q) = %v", k, got)
				}
			}
		}
	})
}

// FuzzServerReplies: whatever a (hostile) server sends as a meta get reply
// or a metadump stream, the client returns a value or an error, never a
// panic, and never reads a value longer than its limit.
func FuzzServerReplies(f *testing.F) {
	f.Add([]byte("VA 6 f0 t1439 c8 s6\r\na|i:1;\r\n"))
	f.Add([]byte("HD t-1 c3\r\n"))
	f.Add([]byte("EN\r\n"))
	f.Add([]byte("VA 99999999999 f0\r\n"))
	f.Add([]byte("key=memc.sess.key.x%41 exp=-1 la=1 cas=2 fetch=no cls=1 size=70\nEND\r\n"))
	f.Add([]byte("ERROR metadump not allowed\r\n"))
	f.Fuzz(func(t *testing.T, reply []byte) {
		c := &client{maxValue: 1 << 10, timeout: time.Second}
		cn := &conn{r: bufio.NewReaderSize(bytes.NewReader(reply), 4096)}
		it, err := c.readMG(cn)
		if err == nil && int64(len(it.value)) > c.maxValue {
			t.Fatalf("read %d bytes past the limit", len(it.value))
		}
		cn = &conn{r: bufio.NewReaderSize(bytes.NewReader(reply), 4096)}
		for range 100 {
			line, err := cn.line()
			if err != nil {
				break
			}
			parseDump(line)
		}
	})
}

// TestMemcacheServerChoiceMatchesPHP: PHP with pecl memcache writes 1,000
// sessions over three real memcached servers (one with weight 2); every
// session's copies are on the two servers ServersFor names, and while each
// request runs its lock item is on the first of them. The servers' connect
// timeout is raised from pecl memcache's 1 s: on a loaded machine a slow
// connect marks a server failed and PHP writes that copy elsewhere.
func TestMemcacheServerChoiceMatchesPHP(t *testing.T) {
	for _, v := range []struct {
		name string
		h    MemcacheHash
		n    int
	}{{"consistent crc32", MemcacheHash{}, 1000}, {"standard crc32", MemcacheHash{Standard: true}, 300}, {"consistent fnv", MemcacheHash{FNV: true}, 300}, {"standard fnv", MemcacheHash{Standard: true, FNV: true}, 300}} {
		t.Run(v.name, func(t *testing.T) { memcacheServerChoice(t, v.h, v.n) })
	}
}

func memcacheServerChoice(t *testing.T, hash MemcacheHash, nIDs int) {
	phptest.Extensions(t, "memcache")
	servers := []*memcachedtest.Server{memcachedtest.Start(t), memcachedtest.Start(t), memcachedtest.Start(t)}
	var urls []string
	for i, s := range servers {
		u := "tcp://" + s.Addr + "?timeout=10"
		if i == 1 {
			u += "&weight=2" // a weight counts in pecl memcache's ring
		}
		urls = append(urls, u)
	}
	savePath := strings.Join(urls, ", ")
	sp, err := ParseMemcacheSavePath(savePath)
	if err != nil {
		t.Fatal(err)
	}
	ring := NewMemcacheRingWith(sp, hash)
	r := rand.New(rand.NewPCG(7, 7))
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789,-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	randomID := func() string {
		b := make([]byte, 26)
		for k := range b {
			b[k] = alpha[r.IntN(len(alpha))]
		}
		return string(b)
	}
	ids := make([]string, nIDs)
	for i := range ids {
		ids[i] = randomID()
	}
	in, _ := json.Marshal(map[string]any{"servers": servers2addrs(servers), "ids": ids})
	strategy, function := "consistent", "crc32"
	if hash.Standard {
		strategy = "standard"
	}
	if hash.FNV {
		function = "fnv"
	}
	script := `<?php
$in = json_decode(stream_get_contents(STDIN), true);
$probe = [];
foreach ($in['servers'] as $i => $a) {
	[$h, $p] = explode(':', $a);
	$m = new Memcache();
	$m->addServer($h, (int)$p);
	$probe[$i] = $m;
}
$where = function ($key, $want) use ($probe) {
	$on = [];
	foreach ($probe as $i => $m) {
		if ($m->get($key) === $want) { $on[] = $i; }
	}
	return $on;
};
$out = [];
foreach ($in['ids'] as $id) {
	session_id($id);
	if (!session_start()) { fwrite(STDERR, "session_start failed for $id\n"); exit(1); }
	$lock = $where($id . '.lock', 1);
	$_SESSION['n'] = 1;
	session_write_close();
	$out[$id] = ['data' => $where($id, 'n|i:1;'), 'lock' => $lock];
}
echo json_encode($out);`
	out, err := phptest.Input(t, script, in, nil, phptest.INI(map[string]string{
		"session.save_handler": "memcache", "session.save_path": savePath,
		"session.use_cookies": "0", "session.use_strict_mode": "0",
		"memcache.hash_strategy": strategy, "memcache.hash_function": function,
	})...)
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	var got map[string]struct{ Data, Lock []int }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("php printed %.300s: %v", out, err)
	}
	wrong := 0
	for _, id := range ids {
		g := got[id]
		want := ring.ServersFor(id, DefaultRedundancy)
		sorted := slices.Sorted(slices.Values(want))
		if !slices.Equal(g.Data, sorted) || !slices.Equal(g.Lock, want[:1]) {
			if wrong++; wrong <= 5 {
				t.Errorf("session %s: PHP wrote it to %v with its lock on %v; ServersFor says %v (lock on the first)", id, g.Data, g.Lock, want)
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d sessions not where ServersFor says", wrong, len(ids))
	}
}

func servers2addrs(ss []*memcachedtest.Server) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Addr)
	}
	return out
}

// TestPHPWaitsForOurLock: while sesstool's Update holds a session (its fn
// still running), a PHP request on the same session waits, and then reads
// sesstool's change: with php-memcached and with pecl memcache.
func TestPHPWaitsForOurLock(t *testing.T) {
	for _, h := range []string{"memcached", "memcache"} {
		t.Run(h, func(t *testing.T) {
			phptest.Extensions(t, h)
			servers := []*memcachedtest.Server{memcachedtest.Start(t), memcachedtest.Start(t), memcachedtest.Start(t)}
			addrs := servers2addrs(servers)
			var st *Store
			opts := Options{MaxLifetime: 1440 * time.Second, Locking: true, LockTimeout: 5 * time.Second, LockExpire: 30 * time.Second}
			savePath := strings.Join(addrs, ",")
			if h == "memcache" {
				savePath = "tcp://" + strings.Join(addrs, ",tcp://")
				sp, err := ParseMemcacheSavePath(savePath)
				if err != nil {
					t.Fatal(err)
				}
				st, _ = OpenMemcache(sp, opts)
			} else {
				sp, err := ParseSavePath(savePath)
				if err != nil {
					t.Fatal(err)
				}
				st, _ = OpenMemcached(sp, opts)
			}
			defer st.Close()
			ini := phptest.INI(map[string]string{
				"session.save_handler": h, "session.save_path": savePath,
				"session.use_cookies": "0", "session.use_strict_mode": "0",
				"memcached.sess_lock_retries": "200", "memcache.lock_timeout": "10",
				"session.cache_limiter": "", // it prints "start" before session_start
			})
			id := h[:4] + "wait0000000000000000000001"
			inFn := make(chan struct{})
			release := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				_, err := st.Update(context.Background(), id, true, func(old []byte, exists bool) ([]byte, error) {
					close(inFn)
					<-release
					return []byte("by|s:8:\"sesstool\";"), nil
				})
				done <- err
			}()
			<-inFn
			p := phptest.Start(t, `<?php session_id($argv[1]); echo "start\n"; session_start(); echo json_encode($_SESSION), "\n";`, append(ini, "--", id)...)
			p.WaitLine("start")
			time.Sleep(500 * time.Millisecond) // PHP is waiting for the lock now
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			p.WaitLine(`{"by":"sesstool"}`)
			if err := p.Wait(); err != nil {
				t.Fatalf("php: %v\n%s", err, p.Stderr())
			}
			// The lock is gone (php-memcached) or released to "0" (pecl).
			if _, err := st.Unlock(context.Background(), id, 0, true); err == nil || !strings.Contains(err.Error(), "not locked") {
				t.Errorf("after both: %v, want not locked", err)
			}
		})
	}
}

// TestReplicasListedOnceDestroyedEverywhere: with php-memcached's
// sess_number_of_replicas = 1, PHP's SET lands on the owner and the next
// server in save_path order; ls lists the session once with both, and
// destroy deletes both copies (PHP's delete is not replicated).
func TestReplicasListedOnceDestroyedEverywhere(t *testing.T) {
	phptest.Extensions(t, "memcached")
	servers := []*memcachedtest.Server{memcachedtest.Start(t), memcachedtest.Start(t), memcachedtest.Start(t)}
	savePath := strings.Join(servers2addrs(servers), ",")
	sp, err := ParseSavePath(savePath)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := OpenMemcached(sp, Options{MaxLifetime: 1440 * time.Second, Locking: true, Replicas: 1, LockTimeout: time.Second})
	defer st.Close()
	ids := []string{"memcrepl00000000000000000001", "memcrepl00000000000000000002", "memcrepl00000000000000000003"}
	ini := phptest.INI(map[string]string{
		"session.save_handler": "memcached", "session.save_path": savePath,
		"session.use_cookies": "0", "session.use_strict_mode": "0",
		"memcached.sess_number_of_replicas": "1",
	})
	for _, id := range ids {
		phptest.Run(t, `<?php session_id($argv[1]); session_start(); $_SESSION['n'] = 1;`, nil, append(ini, "--", id)...)
	}
	holders := func(id string) []int {
		var on []int
		for i, s := range servers {
			if s.Get(t, DefaultPrefix+id).Found {
				on = append(on, i)
			}
		}
		return on
	}
	var rows []store.Info
	if err := st.Walk(context.Background(), func(in store.Info) error { rows = append(rows, in); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ids) {
		t.Fatalf("Walk gave %d rows for %d sessions: %+v", len(rows), len(ids), rows)
	}
	for _, in := range rows {
		data, _, _ := st.Target(in.ID)
		if got := holders(in.ID); !slices.Equal(got, slices.Sorted(slices.Values(data))) {
			t.Errorf("%s: PHP's copies on %v, Target says %v", in.ID, got, data)
		}
		if len(in.Servers) != 2 || in.Servers[0] != servers[data[0]].Addr {
			t.Errorf("%s listed with servers %v, want both, %s first", in.ID, in.Servers, servers[data[0]].Addr)
		}
	}
	if err := st.Destroy(context.Background(), ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := holders(ids[0]); len(got) != 0 {
		t.Errorf("destroyed session's copies left on %v", got)
	}
}

// TestMemcacheRingPastTwentyNames: with one of three servers weighted 60,
// most of pecl memcache's ring is that server's, and many ids' first 20
// names ("<id>-0" .. "<id>-19") all fall on it. mmc_pool_find_next then
// stops skipping (max_failover_attempts, 20) and hands back a server
// already had, which PHP's write loop does not count, so it goes on a
// name at a time until another server comes. For such ids, sessions
// sesstool writes are where PHP then reads, locks and writes them: both
// copies on the servers ServersFor names, the lock on the first.
func TestMemcacheRingPastTwentyNames(t *testing.T) {
	phptest.Extensions(t, "memcache")
	servers := []*memcachedtest.Server{memcachedtest.Start(t), memcachedtest.Start(t), memcachedtest.Start(t)}
	var urls []string
	for i, s := range servers {
		u := "tcp://" + s.Addr + "?timeout=10"
		if i == 0 {
			u += "&weight=60"
		}
		urls = append(urls, u)
	}
	savePath := strings.Join(urls, ", ")
	sp, err := ParseMemcacheSavePath(savePath)
	if err != nil {
		t.Fatal(err)
	}
	ring := NewMemcacheRing(sp)
	// names is how many names mmc_pool_find_next hashes for id's second
	// server.
	names := func(id string) int {
		first := ring.find(id + "-0")
		n := 1
		for ring.find(id+"-"+strconv.Itoa(n)) == first {
			n++
		}
		return n + 1
	}
	r := rand.New(rand.NewPCG(20, 20))
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
	var ids []string
	long, short, most := 0, 0, 0
	for long < 20 || short < 5 {
		b := make([]byte, 26)
		for k := range b {
			b[k] = alpha[r.IntN(len(alpha))]
		}
		id := string(b)
		switch n := names(id); {
		case n > 20 && long < 20:
			long++
			most = max(most, n)
			ids = append(ids, id)
		case n <= 20 && short < 5:
			short++
			ids = append(ids, id)
		}
	}
	t.Logf("%d ids need more than 20 names (up to %d)", long, most)
	st, err := OpenMemcache(sp, Options{MaxLifetime: 1440 * time.Second, LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, id := range ids {
		if _, err := st.Put(ctx, id, []byte("a|i:1;"), store.Lifetime{TTL: 1440 * time.Second, HasTTL: true}, nil); err != nil {
			t.Fatal(err)
		}
	}
	in, _ := json.Marshal(map[string]any{"servers": servers2addrs(servers), "ids": ids})
	script := `<?php
$in = json_decode(stream_get_contents(STDIN), true);
$probe = [];
foreach ($in['servers'] as $i => $a) {
	[$h, $p] = explode(':', $a);
	$m = new Memcache();
	$m->addServer($h, (int)$p);
	$probe[$i] = $m;
}
$where = function ($key, $want) use ($probe) {
	$on = [];
	foreach ($probe as $i => $m) {
		if ($m->get($key) === $want) { $on[] = $i; }
	}
	return $on;
};
$out = [];
foreach ($in['ids'] as $id) {
	session_id($id);
	if (!session_start()) { fwrite(STDERR, "session_start failed for $id\n"); exit(1); }
	$read = $_SESSION['a'] ?? null;
	$lock = $where($id . '.lock', 1);
	$_SESSION['n'] = 1;
	session_write_close();
	$out[$id] = ['read' => $read, 'data' => $where($id, 'a|i:1;n|i:1;'), 'lock' => $lock];
}
echo json_encode($out);`
	out, err := phptest.Input(t, script, in, nil, phptest.INI(map[string]string{
		"session.save_handler": "memcache", "session.save_path": savePath,
		"session.use_cookies": "0", "session.use_strict_mode": "0",
	})...)
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	var got map[string]struct {
		Read       *int
		Data, Lock []int
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("php printed %.300s: %v", out, err)
	}
	for _, id := range ids {
		g := got[id]
		want := ring.ServersFor(id, DefaultRedundancy)
		data, lock, _ := st.Target(id)
		if !slices.Equal(data, want) || lock != want[0] {
			t.Errorf("session %s: Target says %v (lock %d), ServersFor %v", id, data, lock, want)
		}
		if g.Read == nil || *g.Read != 1 || !slices.Equal(g.Data, slices.Sorted(slices.Values(want))) || !slices.Equal(g.Lock, want[:1]) {
			t.Errorf("session %s (%d names): PHP read %v, wrote it to %v with its lock on %v; sesstool wrote it to %v (lock on the first)", id, names(id), g.Read, g.Data, g.Lock, want)
		}
	}
}

// TestCompressAtTheLimit: pecl memcache stores a value compressed when it
// compresses to at most len × 0.8 bytes (compress2 into a buffer that
// large), so a value that compresses to exactly that is stored compressed.
func TestCompressAtTheLimit(t *testing.T) {
	for n, want := range map[int]int{20000: 16000, 20001: 16000, 20004: 16003, 20005: 16004, 100000: 80000} {
		if got := compressLimit(n); got != want {
			t.Errorf("compressLimit(%d) = %d, want %d", n, got, want)
		}
	}
	s := &Store{handler: "memcache", opts: Options{CompressThreshold: DefaultCompressThreshold}}
	r := rand.New(rand.NewPCG(3, 3))
	noise := make([]byte, 20000)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	// Incompressible bytes then zeros: the compressed size grows with the
	// noise; find the value that compresses to the limit exactly.
	for n := 20000; n < 20050; n++ {
		limit := compressLimit(n)
		for k := limit - 130; k < limit-30; k++ {
			data := append(append([]byte{}, noise[:k]...), make([]byte, n-k)...)
			var b bytes.Buffer
			zw := zlib.NewWriter(&b)
			zw.Write(data)
			zw.Close()
			switch size := b.Len(); {
			case size == limit:
				if _, flags := s.encode(data); flags != FlagCompressed {
					t.Fatalf("%d bytes compressing to %d (the limit): stored with flags %d, want 2 (compressed) as PHP stores it", n, size, flags)
				}
				return
			case size == limit+1:
				if _, flags := s.encode(data); flags != 0 {
					t.Errorf("%d bytes compressing to %d (one past the limit): flags %d, want 0", n, size, flags)
				}
			}
		}
	}
	t.Fatal("found no value compressing to the limit exactly")
}
