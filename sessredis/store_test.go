package sessredis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
	"github.com/sesstool/sesstool/store"
)

// TestPHPWaitsForOurLock: while sesstool holds a session's lock (as Update
// does), a PHP request with locking on waits for it, then takes it and its
// write lands; the lock key is phpredis' own (<key>_LOCK).
func TestPHPWaitsForOurLock(t *testing.T) {
	phptest.Extensions(t, "redis")
	srv := redistest.Start(t)
	sp, err := ParseSavePath("tcp://" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := Open(sp, Options{Locking: true, LockTimeout: time.Second, MaxLifetime: 1440 * time.Second})
	defer s.Close()
	id := "lockwait000000000000000001"
	srv.Cli(t, "setex", "PHPREDIS_SESSION:"+id, "1440", "n|i:1;")
	tg, err := s.target(id)
	if err != nil {
		t.Fatal(err)
	}
	release, err := s.lock(context.Background(), id, tg)
	if err != nil {
		t.Fatal(err)
	}
	if holder := srv.Cli(t, "get", "PHPREDIS_SESSION:"+id+"_LOCK"); !strings.Contains(holder, "|sesstool-") {
		t.Fatalf("lock key holds %q", holder)
	}
	go func() {
		time.Sleep(400 * time.Millisecond)
		release()
	}()
	start := time.Now()
	out, err := phptest.RunErr(t, `<?php
session_id($argv[1]);
session_start();
$_SESSION['n']++;
session_write_close();
echo "ok";`, nil, append(phptest.INI(map[string]string{
		"session.save_handler": "redis", "session.save_path": "tcp://" + srv.Addr,
		"session.use_cookies": "0", "redis.session.locking_enabled": "1",
		"redis.session.lock_retries": "1000", "redis.session.lock_wait_time": "5000",
	}), "--", id)...)
	waited := time.Since(start)
	if err != nil || string(out) != "ok" {
		t.Fatalf("php: %v %s", err, out)
	}
	t.Logf("PHP's request took %v (sesstool let go of the lock after 400ms)", waited)
	// phpredis 5.3.7 refuses the write of a request that did not get the
	// lock: the change landing shows PHP waited for ours and took it.
	if v := srv.Cli(t, "get", "PHPREDIS_SESSION:"+id); v != "n|i:2;" {
		t.Errorf("after PHP's request the session is %q, want n|i:2; (PHP did not get the lock)", v)
	}
}

// TestUpdateNeverResurrects: a session destroyed while sesstool holds its
// lock (by a request that went on without the lock, or by expiry) is not
// written back (it would come back without a TTL, for ever).
func TestUpdateNeverResurrects(t *testing.T) {
	srv := redistest.Start(t)
	sp, _ := ParseSavePath("tcp://" + srv.Addr)
	for _, locking := range []bool{true, false} {
		s, _ := Open(sp, Options{Locking: locking, LockTimeout: time.Second, MaxLifetime: 1440 * time.Second})
		id := "resurrect0000000000000001"
		srv.Cli(t, "setex", "PHPREDIS_SESSION:"+id, "1440", "n|i:1;")
		_, err := s.Update(context.Background(), id, false, func(old []byte, exists bool) ([]byte, error) {
			srv.Cli(t, "del", "PHPREDIS_SESSION:"+id) // a logout that did not wait
			return []byte("n|i:2;"), nil
		})
		if err == nil {
			t.Errorf("locking %v: Update wrote over a destroyed session", locking)
		}
		if n := srv.Cli(t, "exists", "PHPREDIS_SESSION:"+id); n != "0" {
			t.Errorf("locking %v: the destroyed session is back", locking)
		}
		if n := srv.Cli(t, "exists", "PHPREDIS_SESSION:"+id+"_LOCK"); n != "0" {
			t.Errorf("locking %v: lock key left", locking)
		}
		s.Close()
	}
}

// TestPutIf: migrate's one-step write on a real server: it waits for a
// lock someone holds (and gives up after LockTimeout naming the holder),
// leaves the same bytes and a session written after the source's alone,
// replaces it with Overwrite, and sets the TTL it is given.
func TestPutIf(t *testing.T) {
	srv := redistest.Start(t)
	sp, err := ParseSavePath("tcp://" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := Open(sp, Options{LockTimeout: 300 * time.Millisecond, MaxLifetime: 1440 * time.Second})
	defer s.Close()
	ctx := context.Background()
	const id = "putif0000000000000000000001"
	key := "PHPREDIS_SESSION:" + id
	life := store.Lifetime{TTL: 600 * time.Second, HasTTL: true}
	src := time.Now().Add(-840 * time.Second) // written 14 min ago
	if r, err := s.PutIf(ctx, id, []byte("a|i:1;"), store.PutOptions{Life: life, SourceWrite: src}); err != nil || r != store.PutWritten {
		t.Fatalf("first PutIf: %v %v", r, err)
	}
	if ttl := srv.Cli(t, "ttl", key); ttl != "600" && ttl != "599" {
		t.Errorf("TTL %s, want 600", ttl)
	}
	if r, _ := s.PutIf(ctx, id, []byte("a|i:1;"), store.PutOptions{Life: life, SourceWrite: src}); r != store.PutSame {
		t.Errorf("same bytes: %v", r)
	}
	srv.Cli(t, "setex", key, "1440", "a|i:2;") // PHP wrote it just now
	if r, _ := s.PutIf(ctx, id, []byte("a|i:1;"), store.PutOptions{Life: life, SourceWrite: src}); r != store.PutNewer {
		t.Errorf("newer target: %v", r)
	}
	if r, _ := s.PutIf(ctx, id, []byte("a|i:1;"), store.PutOptions{Life: life, SourceWrite: src, Overwrite: true}); r != store.PutWritten {
		t.Errorf("overwrite: %v", r)
	}
	srv.Cli(t, "set", key+LockSuffix, "web1|42")
	_, err = s.PutIf(ctx, id, []byte("a|i:3;"), store.PutOptions{Life: life, Overwrite: true})
	var lt *store.LockTimeoutError
	if !errors.As(err, &lt) || lt.Holder != "web1|42" {
		t.Errorf("with the lock held: %v", err)
	}
	if v := srv.Cli(t, "get", key); v != "a|i:1;" {
		t.Errorf("written while locked: %q", v)
	}
}

// TestPutMany: PutIf's outcomes for a batch, pipelined, on a real server
// and on a real three-master cluster: a new session written with its TTL
// (or none), the same bytes, a newer target kept, an older one replaced,
// --overwrite, and a locked session waited for (a lock timeout, nothing
// written).
func TestPutMany(t *testing.T) {
	srv := redistest.Start(t)
	cl := redistest.StartCluster(t)
	for _, c := range []struct {
		name, savePath string
		handler        string
		cli            func(t testing.TB, args ...string) string
	}{
		{"redis", "tcp://" + srv.Addr, "redis", srv.Cli},
		{"cluster", "seed[]=" + cl.Seeds()[0], "rediscluster", func(t testing.TB, args ...string) string {
			return cl.Masters[0].Cli(t, append([]string{"-c"}, args...)...)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s *Store
			var err error
			if c.handler == "redis" {
				sp, perr := ParseSavePath(c.savePath)
				if perr != nil {
					t.Fatal(perr)
				}
				s, err = Open(sp, Options{LockTimeout: 300 * time.Millisecond, MaxLifetime: 1440 * time.Second})
			} else {
				csp, perr := ParseClusterSavePath(c.savePath)
				if perr != nil {
					t.Fatal(perr)
				}
				s, err = OpenCluster(csp, Options{LockTimeout: 300 * time.Millisecond, MaxLifetime: 1440 * time.Second})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			src := time.Now().Add(-840 * time.Second)
			life := store.Lifetime{TTL: 600 * time.Second, HasTTL: true}
			id := func(i int) string { return fmt.Sprintf("putmany%019d", i) }
			prefix := DefaultPrefix
			if c.handler == "rediscluster" {
				prefix = DefaultClusterPrefix
			}
			key := func(i int) string { return prefix + id(i) }
			var items []store.PutItem
			for i := range 300 {
				o := store.PutOptions{Life: life, SourceWrite: src}
				if i == 7 {
					o.Life = store.Lifetime{}
				}
				items = append(items, store.PutItem{ID: id(i), Data: []byte(fmt.Sprintf("a|i:%d;", i)), Opts: o})
			}
			for i, o := range s.PutMany(ctx, items) {
				if o.Err != nil || o.Res != store.PutWritten {
					t.Fatalf("first PutMany, %d: %v %v", i, o.Res, o.Err)
				}
			}
			if ttl := c.cli(t, "ttl", key(3)); ttl != "600" && ttl != "599" {
				t.Errorf("TTL %s, want 600", ttl)
			}
			if ttl := c.cli(t, "ttl", key(7)); ttl != "-1" {
				t.Errorf("TTL %s, want none", ttl)
			}
			c.cli(t, "setex", key(1), "1440", "a|i:-1;") // PHP wrote it just now: newer
			c.cli(t, "setex", key(2), "300", "a|i:-2;")  // written 19 min ago: older
			c.cli(t, "setex", key(4), "1440", "a|i:-4;") // newer, overwritten below
			if c.handler == "redis" {
				c.cli(t, "set", key(5)+LockSuffix, "web1|42")
			}
			items[4].Opts.Overwrite = true
			want := map[int]store.PutResult{1: store.PutNewer, 2: store.PutWritten, 4: store.PutWritten}
			for i, o := range s.PutMany(ctx, items) {
				w, ok := want[i]
				if !ok {
					w = store.PutSame
				}
				if i == 5 && c.handler == "redis" {
					var lt *store.LockTimeoutError
					if !errors.As(o.Err, &lt) || lt.Holder != "web1|42" {
						t.Errorf("with the lock held: %v %v", o.Res, o.Err)
					}
					continue
				}
				if o.Err != nil || o.Res != w {
					t.Errorf("second PutMany, %d: %v %v, want %v", i, o.Res, o.Err, w)
				}
			}
			for i, v := range map[int]string{1: "a|i:-1;", 2: "a|i:2;", 4: "a|i:4;", 5: "a|i:5;"} {
				if got := c.cli(t, "get", key(i)); got != v {
					t.Errorf("%s holds %q, want %q", key(i), got, v)
				}
			}
		})
	}
}
