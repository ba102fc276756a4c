package sessredis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
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
