package sessmemcache

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/memcachedtest"
	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/store"
)

func TestParseSavePath(t *testing.T) {
	sp, err := ParseSavePath("10.0.0.1:11211, 10.0.0.2:11212:5,cache3,/run/mc.sock,[::1]:11213,h4:0 2")
	if err != nil {
		t.Fatal(err)
	}
	want := []Server{
		{Entry: "10.0.0.1:11211", Host: "10.0.0.1", Port: 11211, Weight: 1},
		{Entry: "10.0.0.2:11212:5", Host: "10.0.0.2", Port: 11212, Weight: 5},
		{Entry: "cache3", Host: "cache3", Port: 11211, Weight: 1},
		{Entry: "/run/mc.sock", Host: "/run/mc.sock", Port: 0, Weight: 1},
		{Entry: "[::1]:11213", Host: "::1", Port: 11213, Weight: 1},
		{Entry: "h4:0 2", Host: "h4", Port: 11211, Weight: 2},
	}
	if fmt.Sprint(sp.Servers) != fmt.Sprint(want) {
		t.Errorf("servers\n%v\nwant\n%v", sp.Servers, want)
	}
	if a := sp.Servers[4].Addr(); a != "[::1]:11213" {
		t.Errorf("Addr %q", a)
	}
	for _, v := range []string{"", ",", "PERSISTENT=x h:1", "h:99999", "h:x", ":11211", "[::1"} {
		if _, err := ParseSavePath(v); err == nil {
			t.Errorf("ParseSavePath(%q) accepted", v)
		}
	}
}

func TestOAAT(t *testing.T) {
	// Known one-at-a-time values (Bob Jenkins' function on ASCII).
	for s, want := range map[string]uint32{"": 0, "a": 0xca2e9442, "The quick brown fox jumps over the lazy dog": 0x519e91f5} {
		if got := oaat(s); got != want {
			t.Errorf("oaat(%q) = %#x, want %#x", s, got, want)
		}
	}
}

// FuzzParseSavePath: no save_path makes the parser panic, and a ring over
// what it accepts always names one of its servers.
func FuzzParseSavePath(f *testing.F) {
	f.Add("10.0.0.1:11211, 10.0.0.2:11212:5,cache3,/run/mc.sock,[::1]:11213,h4:0 2")
	f.Fuzz(func(t *testing.T, v string) {
		sp, err := ParseSavePath(v)
		if err != nil {
			return
		}
		r := NewRing(sp)
		for _, k := range []string{"", "abc", v} {
			if i := r.ServerFor(k); i < 0 || i >= len(sp.Servers) {
				t.Fatalf("ServerFor(%q) = %d", k, i)
			}
		}
	})
}

// TestServerChoiceMatchesPHP: PHP with php-memcached (locking on) writes
// 1,000 sessions over three real memcached servers; while each request
// holds its lock, the script finds which server has the lock key, and
// after it which has the session. Ring.ServerFor names the same server for
// every session and every lock.
func TestServerChoiceMatchesPHP(t *testing.T) {
	phptest.Extensions(t, "memcached")
	servers := []*memcachedtest.Server{memcachedtest.Start(t), memcachedtest.Start(t), memcachedtest.Start(t)}
	var addrs []string
	for _, s := range servers {
		addrs = append(addrs, s.Addr)
	}
	// A weight on one server: php-memcached's ketama ignores it.
	savePath := addrs[0] + ", " + addrs[1] + ":5," + addrs[2]
	sp, err := ParseSavePath(savePath)
	if err != nil {
		t.Fatal(err)
	}
	ring := NewRing(sp)
	r := rand.New(rand.NewPCG(5, 5))
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789,-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	ids := make([]string, 1000)
	for i := range ids {
		b := make([]byte, 26)
		for k := range b {
			b[k] = alpha[r.IntN(len(alpha))]
		}
		ids[i] = string(b)
	}
	in, _ := json.Marshal(map[string]any{"servers": addrs, "ids": ids})
	script := `<?php
$in = json_decode(stream_get_contents(STDIN), true);
$probe = [];
foreach ($in['servers'] as $i => $a) {
	[$h, $p] = explode(':', $a);
	$m = new Memcached();
	$m->addServer($h, (int)$p);
	$probe[$i] = $m;
}
$where = function ($key) use ($probe) {
	$on = [];
	foreach ($probe as $i => $m) {
		if ($m->get($key) !== false) { $on[] = $i; }
	}
	return $on;
};
$out = [];
foreach ($in['ids'] as $id) {
	session_id($id);
	if (!session_start()) { fwrite(STDERR, "session_start failed for $id\n"); exit(1); }
	$lock = $where('memc.sess.key.lock.' . $id);
	$_SESSION['n'] = 1;
	session_write_close();
	$out[$id] = ['data' => $where('memc.sess.key.' . $id), 'lock' => $lock];
}
echo json_encode($out);`
	out, err := phptest.Input(t, script, in, nil, phptest.INI(map[string]string{
		"session.save_handler": "memcached", "session.save_path": savePath,
		"session.use_cookies": "0", "session.use_strict_mode": "0",
		"memcached.sess_locking": "1",
	})...)
	if err != nil {
		t.Fatalf("php: %v\n%s", err, out)
	}
	var got map[string]struct{ Data, Lock []int }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("php printed %.300s: %v", out, err)
	}
	wrongData, wrongLock, apart := 0, 0, 0
	for _, id := range ids {
		g := got[id]
		if len(g.Data) != 1 || len(g.Lock) != 1 {
			t.Fatalf("session %s: data on %v, lock on %v: want one server each", id, g.Data, g.Lock)
		}
		if want := ring.ServerFor(id); g.Data[0] != want {
			wrongData++
			if wrongData <= 3 {
				t.Errorf("session %s on server %d, ServerFor says %d", id, g.Data[0], want)
			}
		}
		if want := ring.ServerFor(LockPrefix + id); g.Lock[0] != want {
			wrongLock++
			if wrongLock <= 3 {
				t.Errorf("lock of %s on server %d, ServerFor says %d", id, g.Lock[0], want)
			}
		}
		if g.Data[0] != g.Lock[0] {
			apart++
		}
	}
	if wrongData+wrongLock > 0 {
		t.Errorf("%d sessions and %d locks of %d not where ServerFor says", wrongData, wrongLock, len(ids))
	}
	t.Logf("1,000 sessions over 3 servers: all where ketama says; %d locks on another server than their session", apart)
}

// TestLockPassDumpsSmallClassesOnly: Walk's lock pass dumps only the slab
// classes small enough to hold a lock item, and still finds every lock:
// sessions of every size (one in class 1's 96-byte chunks, some in the
// biggest classes), with and without a lock key, and keys of the longest
// length memcached takes.
func TestLockPassDumpsSmallClassesOnly(t *testing.T) {
	srv := memcachedtest.Start(t)
	sp, err := ParseSavePath(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := OpenMemcached(sp, Options{MaxLifetime: 1440 * time.Second, Locking: true, LockTimeout: time.Second})
	defer st.Close()
	locked := map[string]bool{}
	for i, size := range []int{1, 10, 200, 1000, 5000, 50000, 400000} {
		id := fmt.Sprintf("lockpass%018d", i)
		srv.Set(t, DefaultPrefix+id, 0, 1440, strings.Repeat("x", size))
		if i%2 == 0 {
			srv.Set(t, DefaultPrefix+LockPrefix+id, 0, 0, "1")
			locked[id] = true
		}
	}
	// The longest id a key of 250 bytes leaves, locked.
	long := strings.Repeat("a", 250-len(DefaultPrefix+LockPrefix))
	srv.Set(t, DefaultPrefix+long, 0, 1440, "x|i:1;")
	srv.Set(t, DefaultPrefix+LockPrefix+long, 0, 0, "1")
	locked[long] = true
	classes, err := st.servers[0].smallClasses(context.Background(), maxLockItem)
	all, err2 := st.servers[0].smallClasses(context.Background(), 1<<30) // every class holding items
	if err != nil || err2 != nil || classes == "" || !strings.HasPrefix(all, classes+",") {
		t.Fatalf("small classes %q, all %q (%v %v): want a strict prefix (the 5 KB to 400 KB sessions' classes left out)", classes, all, err, err2)
	}
	n := 0
	err = st.Walk(context.Background(), func(in store.Info) error {
		n++
		if in.Locked != locked[in.ID] {
			t.Errorf("%s: locked %v, want %v", in.ID, in.Locked, locked[in.ID])
		}
		return nil
	})
	if err != nil || n != 8 {
		t.Fatalf("Walk: %d sessions, %v", n, err)
	}
}
