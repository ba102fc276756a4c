package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/memcachedtest"
	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/sessmemcache"
)

// mcEnv is three real memcached servers with PHP's php-memcached
// ("memcached") or pecl memcache ("memcache") session handler on them.
type mcEnv struct {
	phpEnv
	handler string
	srv     []*memcachedtest.Server
}

func newMCEnv(t *testing.T, handler string, ini map[string]string, extra ...string) *mcEnv {
	t.Helper()
	phptest.Extensions(t, handler)
	e := &mcEnv{handler: handler}
	var addrs []string
	for range 3 {
		s := memcachedtest.Start(t, extra...)
		e.srv = append(e.srv, s)
		if handler == "memcache" {
			addrs = append(addrs, "tcp://"+s.Addr)
		} else {
			addrs = append(addrs, s.Addr)
		}
	}
	all := map[string]string{"max_execution_time": "0"}
	for k, v := range ini {
		all[k] = v
	}
	e.phpEnv = newPHPEnv(t, handler, strings.Join(addrs, ","), all)
	return e
}

// store opens the same store sesstool does, to ask where a session lives.
func (e *mcEnv) store() *sessmemcache.Store {
	e.t.Helper()
	f := NewFactory()
	f.Global.PHPIni = e.iniFile
	f.Global.Timeout = 5 * time.Second
	b, _, err := f.OpenBackend()
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { b.Close() })
	return b.(*sessmemcache.Store)
}

// key is a session's key on the servers.
func (e *mcEnv) key(id string) string {
	if e.handler == "memcache" {
		return id
	}
	return sessmemcache.DefaultPrefix + id
}

// holders says which servers hold key.
func (e *mcEnv) holders(key string) []int {
	var on []int
	for i, s := range e.srv {
		if s.Get(e.t, key).Found {
			on = append(on, i)
		}
	}
	return on
}

var mcHandlers = []string{"memcached", "memcache"}

// TestMemcachePHPWritesSesstoolReads: sessions PHP writes with either
// extension over three servers are listed once each (lock items left
// out, a redundant copy one row naming both servers), with their exact
// sizes and PHP's TTL; show gives PHP's exact bytes (a pecl memcache
// session of 20,000 bytes and more is stored zlib-compressed with flag 2
// and shown inflated); --where selects by content.
func TestMemcachePHPWritesSesstoolReads(t *testing.T) {
	for _, h := range mcHandlers {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, nil)
			var ids []string
			raw := map[string]string{}
			for i := range 6 {
				id := fmt.Sprintf("%sphp%022d", h[:4], i)
				ids = append(ids, id)
				out, err := e.php(phpWriteSession, id, fmt.Sprint(41+i))
				if err != nil {
					t.Fatalf("php: %v %s", err, out)
				}
				raw[id] = out
			}
			big := ids[5]
			if out, err := e.php(`<?php session_id($argv[1]); session_start(); $_SESSION['blob'] = str_repeat('ab', 20000); session_write_close(); echo bin2hex(session_encode());`, big); err != nil {
				t.Fatalf("php: %v %s", err, out)
			} else {
				raw[big] = out
			}
			st := e.store()
			orphan := ids[2]
			if h == "memcache" {
				// A copy whose first server lost it is still listed, once.
				data, _, _ := st.Target(orphan)
				e.srv[data[0]].Delete(t, orphan)
				data, _, _ = st.Target(big)
				if it := e.srv[data[0]].Get(t, big); it.Flags != sessmemcache.FlagCompressed || !strings.HasPrefix(it.Value, "\x78\x9c") {
					t.Errorf("PHP stored the 40 KB session with flags %d: want 2 (zlib)", it.Flags)
				}
			}
			r := e.sesstool("ls", "-o", "json")
			if r.err != nil {
				t.Fatal(r.err)
			}
			var rows []struct {
				ID      string   `json:"id"`
				Server  string   `json:"server"`
				Servers []string `json:"servers"`
				Size    int      `json:"size"`
				TTL     int      `json:"ttl_seconds"`
				Locked  bool     `json:"locked"`
			}
			if err := json.Unmarshal([]byte(r.out), &rows); err != nil {
				t.Fatalf("ls -o json: %v\n%s", err, r.out)
			}
			var listed []string
			for _, row := range rows {
				listed = append(listed, row.ID)
				data, _, _ := st.Target(row.ID)
				want := e.srv[data[0]].Addr
				if h == "memcache" && row.ID == orphan {
					want = e.srv[data[1]].Addr // its first server lost it
				}
				if row.Server != want {
					t.Errorf("%s listed on %s, PHP reads it from %s", row.ID, row.Server, want)
				}
				if row.TTL < 1400 || row.TTL > 1440 {
					t.Errorf("%s: TTL %d, want PHP's 1440", row.ID, row.TTL)
				}
				if h == "memcache" && len(row.Servers) != 2 && row.ID != orphan {
					t.Errorf("%s: servers %v, want the two copies pecl memcache writes", row.ID, row.Servers)
				}
				if row.ID != big && row.Size != len(raw[row.ID])/2 {
					t.Errorf("%s: size %d, PHP wrote %d bytes", row.ID, row.Size, len(raw[row.ID])/2)
				}
			}
			slices.Sort(listed)
			if !slices.Equal(listed, ids) {
				t.Errorf("ls lists %v, want %v", listed, ids)
			}
			for _, id := range []string{ids[1], big} {
				got := e.sesstool("show", id, "-o", "raw")
				if got.err != nil || fmt.Sprintf("%x", got.out) != raw[id] {
					t.Errorf("show -o raw %s: %v, %d bytes; PHP wrote %d", id, got.err, len(got.out), len(raw[id])/2)
				}
			}
			if r := e.sesstool("ls", "-q", "--where", "user_id=42"); r.err != nil || r.out != ids[1]+"\n" {
				t.Errorf("ls --where user_id=42: %q %v", r.out, r.err)
			}
			if r := e.sesstool("show", ids[0]+"x"); r.code != 1 || !strings.Contains(ErrorLine(r.err), "not found") {
				t.Errorf("show of a missing session: exit %d %v", r.code, r.err)
			}
		})
	}
}

// TestMemcacheSesstoolWritesPHPReads: set, unset, edit-like changes and
// destroy are what PHP then reads; the remaining TTL is kept (read back
// with mg … t) unless --touch; a created session gets PHP's expiry (a
// relative one for php-memcached, an absolute one for pecl memcache, both
// read back as the maxlifetime); every redundant copy is written and
// destroyed.
func TestMemcacheSesstoolWritesPHPReads(t *testing.T) {
	for _, h := range mcHandlers {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, nil)
			st := e.store()
			id := h[:4] + "set0000000000000000000001"
			if out, err := e.php(phpWriteSession, id, "7"); err != nil {
				t.Fatalf("php: %v %s", err, out)
			}
			data, _, _ := st.Target(id)
			// Age the TTL: rewrite the copies with 500 s left.
			for _, si := range data {
				it := e.srv[si].Get(t, e.key(id))
				e.srv[si].Set(t, e.key(id), it.Flags, 500, it.Value)
			}
			if r := e.sesstool("set", id, "name", `"alice"`); r.err != nil {
				t.Fatalf("set: %v %s", r.err, r.errOut)
			}
			for _, si := range data {
				if it := e.srv[si].Get(t, e.key(id)); it.TTL < 495 || it.TTL > 500 || !strings.Contains(it.Value, "alice") {
					t.Errorf("copy on server %d after set: TTL %d, %q: want the change with the 500 s kept", si, it.TTL, it.Value)
				}
			}
			if r := e.sesstool("unset", id, "cart", "--touch"); r.err != nil {
				t.Fatal(r.err)
			}
			for _, si := range data {
				if it := e.srv[si].Get(t, e.key(id)); it.TTL < 1435 || strings.Contains(it.Value, "cart") {
					t.Errorf("copy on server %d after unset --touch: TTL %d, %q", si, it.TTL, it.Value)
				}
			}
			out, err := e.php(phpReadSession, id)
			if err != nil || out != `{"user_id":7,"name":"alice"}` {
				t.Errorf("PHP reads %s %v", out, err)
			}
			nid := h[:4] + "new0000000000000000000001"
			if r := e.sesstool("set", nid, "blob", `"`+strings.Repeat("xy", 15000)+`"`, "--create"); r.err != nil {
				t.Fatal(r.err)
			}
			ndata, _, _ := st.Target(nid)
			if got := e.holders(e.key(nid)); !slices.Equal(got, slices.Sorted(slices.Values(ndata))) {
				t.Errorf("created session on servers %v, want %v", got, ndata)
			}
			it := e.srv[ndata[0]].Get(t, e.key(nid))
			// An absolute expiry (pecl memcache) reads back a second more
			// when memcached's clock, updated once a second, lags.
			if it.TTL < 1435 || it.TTL > 1441 {
				t.Errorf("created session's TTL %d, want 1440", it.TTL)
			}
			if wantFlags := map[string]int{"memcached": 0, "memcache": 2}[h]; it.Flags != wantFlags {
				t.Errorf("a 30 KB session written with flags %d, want %d as %s writes it", it.Flags, wantFlags, h)
			}
			if out, err := e.php(`<?php session_id($argv[1]); session_start(); echo strlen($_SESSION['blob']);`, nid); err != nil || out != "30000" {
				t.Errorf("PHP reads the created session: %q %v", out, err)
			}
			if r := e.sesstool("destroy", id); r.err != nil {
				t.Fatal(r.err)
			}
			if got := e.holders(e.key(id)); len(got) != 0 {
				t.Errorf("destroyed session still on servers %v", got)
			}
			if h == "memcache" {
				if got := e.holders(id + ".lock"); len(got) != 0 {
					t.Errorf("destroyed session's lock items left on servers %v", got)
				}
			}
		})
	}
}

// TestMemcacheLocking: while a PHP request holds a session (php-memcached's
// lock.<id> key, pecl memcache's <id>.lock item), sesstool waits and gives
// up after --lock-timeout with exit 3; once PHP lets go, the change is made
// and PHP reads both. And a PHP request started while sesstool holds the
// lock waits for it and reads sesstool's change (its lock on the lock key's
// own server).
func TestMemcacheLocking(t *testing.T) {
	for _, h := range mcHandlers {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, map[string]string{"memcached.sess_lock_retries": "100", "memcache.lock_timeout": "10"})
			id := h[:4] + "lck0000000000000000000001"
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
			if r := e.sesstool("--lock-timeout", "300ms", "set", id, "name", `"x"`); r.code != 3 {
				t.Fatalf("set while PHP holds the lock: exit %d %v, want 3", r.code, r.err)
			}
			lk := e.sesstool("locks", "-o", "json")
			if lk.err != nil || !strings.Contains(lk.out, id) {
				t.Errorf("locks while PHP holds %s: %v\n%s", id, lk.err, lk.out)
			}
			var wg sync.WaitGroup
			var res cliResult
			wg.Add(1)
			go func() {
				defer wg.Done()
				res = e.sesstool("--lock-timeout", "20s", "set", id, "name", `"after php"`)
			}()
			time.Sleep(200 * time.Millisecond)
			hold.Send("go")
			hold.WaitLine("done")
			wg.Wait()
			if res.err != nil || res.errOut != "" {
				t.Fatalf("set after PHP released: %v %q", res.err, res.errOut)
			}
			out, err := e.php(phpReadSession, id)
			if err != nil || !strings.Contains(out, `"name":"after php"`) || !strings.Contains(out, `"by_php":1`) {
				t.Errorf("PHP reads %s %v: want both PHP's and sesstool's change", out, err)
			}
			if r := e.sesstool("locks", "-o", "json"); r.err != nil || strings.Contains(r.out, id) {
				t.Errorf("a lock is left behind: %v\n%s", r.err, r.out)
			}
		})
	}
}

// TestMemcacheNoLostUpdates: concurrent sesstool changes of one session
// (CAS, under the lock) all land, on both extensions.
func TestMemcacheNoLostUpdates(t *testing.T) {
	for _, h := range mcHandlers {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, map[string]string{"memcached.sess_locking": "0"})
			id := h[:4] + "cnt0000000000000000000001"
			e.concurrentSets(id, 4, 8)
		})
	}
}

// TestMemcacheGCLocksUnlock: gc deletes a session item without expiry idle
// past maxlifetime and a php-memcached lock without expiry (a CLI request
// killed holding it) older than --lock-age, and nothing with a TTL;
// unlock refuses a young lock without --force and removes it with.
func TestMemcacheGCLocksUnlock(t *testing.T) {
	e := newMCEnv(t, "memcached", nil)
	st := e.store()
	keep := "memcgck0000000000000000000001"
	stray := "memcgcs0000000000000000000001"
	if out, err := e.php(phpWriteSession, keep, "1"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	data, _, _ := st.Target(stray)
	e.srv[data[0]].Set(t, e.key(stray), 0, 0, "a|i:1;")
	held := "memcgcl0000000000000000000001"
	if out, err := e.php(phpWriteSession, held, "2"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	hold := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), held)...)
	hold.WaitLine("locked")
	hold.Kill()
	_, lockSrv, _ := st.Target(held)
	if it := e.srv[lockSrv].Get(t, sessmemcache.DefaultPrefix+sessmemcache.LockPrefix+held); !it.Found || it.TTL != -1 {
		t.Fatalf("the killed request's lock: %+v, want one without expiry", it)
	}
	if r := e.sesstool("unlock", held); r.code != 1 || !strings.Contains(ErrorLine(r.err), "--force") {
		t.Errorf("unlock of a young lock: exit %d %v", r.code, r.err)
	}
	time.Sleep(2100 * time.Millisecond)
	r := e.sesstool("gc", "--maxlifetime", "1", "--lock-age", "1s", "-o", "json")
	if r.err != nil {
		t.Fatalf("gc: %v %s", r.err, r.errOut)
	}
	var doc struct {
		Scanned, Deleted int
		StaleLocks       int `json:"stale_locks"`
	}
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil || doc.Deleted != 1 || doc.StaleLocks != 1 || doc.Scanned != 3 {
		t.Errorf("gc: %+v %v\n%s", doc, err, r.out)
	}
	if e.srv[data[0]].Get(t, e.key(stray)).Found {
		t.Error("the session without expiry survived gc")
	}
	if got := e.holders(e.key(keep)); len(got) != 1 {
		t.Error("gc deleted a session with a TTL")
	}
	if r := e.sesstool("unlock", held); r.code != 1 || !strings.Contains(ErrorLine(r.err), "not locked") {
		t.Errorf("unlock after gc removed the lock: exit %d %v", r.code, r.err)
	}
	// A lock held now: unlock --force removes it.
	hold2 := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), held)...)
	hold2.WaitLine("locked")
	if r := e.sesstool("unlock", "--force", held); r.err != nil || !strings.Contains(r.out, "unlocked "+held) {
		t.Errorf("unlock --force: %v %q", r.err, r.out)
	}
	hold2.Kill()
}

// TestMemcacheWatchPoll: watch needs --poll on memcached (one clear line
// without it), and with it reports PHP creating a session, sesstool
// changing it (with --decode's key changes) and destroying it.
func TestMemcacheWatchPoll(t *testing.T) {
	e := newMCEnv(t, "memcache", nil)
	if r := e.sesstool("watch"); r.code == 0 || !strings.Contains(ErrorLine(r.err), "--poll") {
		t.Errorf("watch without --poll: exit %d %v", r.code, r.err)
	}
	const poll = 100 * time.Millisecond
	id := "mmcwatch00000000000000000001"
	expect, stop := storeWatch(t, e.store(), poll)
	defer stop()
	e.watchLifecycle(t, expect, id, poll)
}

// TestMemcacheUnreachableAndNoDump: a server that is down is one line
// naming it (exit 1); a server started with -X (no metadump) is one line
// saying so; pecl memcache reads a session from its second copy when its
// first server is down, as PHP does; php-memcached fails, as PHP does.
func TestMemcacheUnreachableAndNoDump(t *testing.T) {
	r := runCLI(t, "--save-handler", "memcached", "--save-path", "127.0.0.1:1", "--timeout", "2s", "ls")
	if r.code != 1 || !strings.Contains(ErrorLine(r.err), "127.0.0.1:1") || strings.Count(r.errOut, "\n") > 1 {
		t.Errorf("unreachable: exit %d, %q", r.code, r.errOut)
	}
	e := newMCEnv(t, "memcached", nil, "-X")
	for _, cmd := range [][]string{{"ls"}, {"locks"}, {"gc"}} {
		r := e.sesstool(cmd...)
		if l := ErrorLine(r.err); r.code != 1 || !strings.Contains(l, "metadump is disabled") || strings.Contains(l, "\n") || strings.Count(r.errOut, "\n") > 1 || r.out != "" {
			t.Errorf("%s with -X: exit %d, error %q, stderr %q, stdout %q: want exit 1 and one line", cmd[0], r.code, l, r.errOut, r.out)
		}
	}

	m := newMCEnv(t, "memcache", nil)
	id := "mmcfail00000000000000000001"
	if out, err := m.php(phpWriteSession, id, "9"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	data, _, _ := m.store().Target(id)
	m.srv[data[0]].Stop()
	out, err := m.php(phpReadSession, id)
	if err != nil || !strings.Contains(out, `"user_id":9`) {
		t.Errorf("PHP (pecl memcache) with the first server down read %q %v: want its second copy", out, err)
	}
	if r := m.sesstool("show", id, "--key", "user_id"); r.err != nil || !strings.Contains(r.out, "9") {
		t.Errorf("show with the first server down: %v %q", r.err, r.out)
	}

	// php-memcached has no failover: with a session's server down PHP's
	// session_start() fails, and sesstool names the server.
	d := newMCEnv(t, "memcached", nil)
	did := "memcdown0000000000000000000001"
	if out, err := d.php(phpWriteSession, did, "3"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	owner, _, _ := d.store().Target(did)
	d.srv[owner[0]].Stop()
	if out, _ := d.php(`<?php session_id($argv[1]); var_export(@session_start());`, did); out != "false" {
		t.Errorf("php-memcached's session_start() with the session's server down: %s, want false", out)
	}
	if r := d.sesstool("show", did); r.code != 1 || !strings.Contains(ErrorLine(r.err), d.srv[owner[0]].Addr) {
		t.Errorf("show with the session's server down: exit %d %v", r.code, r.err)
	}
}

// TestMemcacheConfig: config shows the extension's settings; pecl
// memcache's own memcache.session_save_path wins over session.save_path;
// an unknown hash strategy is a usage error naming the setting.
func TestMemcacheConfig(t *testing.T) {
	dir := t.TempDir()
	ini := mkFile(t, dir, "php.ini", "session.save_handler = memcache\nsession.save_path = \"tcp://10.0.0.1:11211\"\nmemcache.session_save_path = \"tcp://10.0.0.2:11211, tcp://10.0.0.3:11211\"\nmemcache.session_redundancy = 3\n")
	r := runCLI(t, "--php-ini", ini, "config", "-o", "json")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var doc struct{ Settings []Setting }
	if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]Setting{}
	for _, s := range doc.Settings {
		got[s.Name] = s
	}
	if sp := got["session.save_path"]; sp.Value != "tcp://10.0.0.2:11211, tcp://10.0.0.3:11211" || !strings.Contains(sp.Source, "memcache.session_save_path") {
		t.Errorf("save_path %+v: want memcache.session_save_path's", sp)
	}
	if got["memcache.session_redundancy"].Value != "3" || got["memcache.lock_timeout"].Value != "15" {
		t.Errorf("extension settings: %+v", got)
	}
	ini2 := mkFile(t, dir, "php2.ini", "session.save_handler = memcached\nsession.save_path = \"127.0.0.1:1\"\nmemcached.sess_consistent_hash_type = ketama_weighted\n")
	if r := runCLI(t, "--php-ini", ini2, "ls"); r.code != 2 || !strings.Contains(ErrorLine(r.err), "memcached.sess_consistent_hash_type") {
		t.Errorf("ketama_weighted: exit %d %v", r.code, r.err)
	}
	if r := runCLI(t, "--php-ini", ini2, "config"); r.err != nil || !strings.Contains(r.out, "memcached.sess_prefix") {
		t.Errorf("config on memcached: %v\n%s", r.err, r.out)
	}
}

// TestMemcacheEditDestroyWhereLongTTL: edit (through $EDITOR) and destroy
// --where on pecl memcache's two copies, and php-memcached's expiry above
// 30 days, which memcached reads as an absolute time: a created session
// gets now + maxlifetime and keeps its TTL through a change.
func TestMemcacheEditDestroyWhereLongTTL(t *testing.T) {
	e := newMCEnv(t, "memcache", nil)
	for i := range 3 {
		if out, err := e.php(phpWriteSession, "mmced00000000000000000"+strconv.Itoa(i), strconv.Itoa(50+i%2)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	editor := mkFile(t, t.TempDir(), "ed.sh", "#!/bin/sh\nprintf '\\nzz_added = 1\\n' >> \"$1\"\n")
	mustDo(t, os.Chmod(editor, 0o755))
	id := "mmced000000000000000000"
	r := runCLIEnv(t, "", map[string]string{"EDITOR": editor, "TMPDIR": t.TempDir()}, "--php-ini", e.iniFile, "edit", id)
	if r.err != nil {
		t.Fatalf("edit: %v %s", r.err, r.errOut)
	}
	data, _, _ := e.store().Target(id)
	for _, si := range data {
		if it := e.srv[si].Get(t, id); !strings.Contains(it.Value, "zz_added|i:1;") {
			t.Errorf("copy on server %d after edit: %q", si, it.Value)
		}
	}
	if out, err := e.php(`<?php session_id($argv[1]); session_start(); echo $_SESSION['zz_added'];`, id); err != nil || out != "1" {
		t.Errorf("PHP reads the edit: %q %v", out, err)
	}
	r = e.sesstool("destroy", "--where", "user_id=51", "--yes")
	if r.err != nil || !strings.Contains(r.out, "mmced000000000000000001") {
		t.Fatalf("destroy --where: %v %q", r.err, r.out)
	}
	if got := e.holders("mmced000000000000000001"); len(got) != 0 {
		t.Errorf("destroyed by --where, still on %v", got)
	}
	if got := e.holders("mmced000000000000000002"); len(got) != 2 {
		t.Errorf("a session --where does not select is on %v, want both copies", got)
	}

	m := newMCEnv(t, "memcached", map[string]string{"session.gc_maxlifetime": "3000000"})
	lid := "memclong0000000000000000001"
	if r := m.sesstool("set", lid, "a", "1", "--create"); r.err != nil {
		t.Fatal(r.err)
	}
	owner, _, _ := m.store().Target(lid)
	if it := m.srv[owner[0]].Get(t, m.key(lid)); it.TTL < 3000000-5 || it.TTL > 3000000+1 {
		t.Errorf("created with TTL %d, want 3000000 (an absolute time to memcached)", it.TTL)
	}
	if r := m.sesstool("set", lid, "b", "2"); r.err != nil {
		t.Fatal(r.err)
	}
	if it := m.srv[owner[0]].Get(t, m.key(lid)); it.TTL < 3000000-5 || !strings.Contains(it.Value, "b|i:2;") {
		t.Errorf("after a change: TTL %d, %q: want the long TTL kept", it.TTL, it.Value)
	}
	if out, err := m.php(`<?php session_id($argv[1]); session_start(); echo $_SESSION['b'];`, lid); err != nil || out != "2" {
		t.Errorf("PHP reads %q %v", out, err)
	}
}

// TestMemcacheFailoverAsPHP: with the first of a pecl memcache session's
// two servers down, PHP (pecl memcache 4.0.5.2) takes the lock on, reads
// from and writes to the next one only: one copy, and nothing on the
// third server. sesstool does the same: set writes that copy (exit 0, one
// warning line naming the server that is down), waits for PHP's lock
// there, destroy deletes it (exit 0, one warning line naming the server
// passed over, one line too for several sessions); ls and locks list what the other servers hold
// and say on one line which server is down (exit 1). And a server that was
// only cut off keeps its old copy: once it is back PHP reads that stale
// copy first, and so does sesstool.
func TestMemcacheFailoverAsPHP(t *testing.T) {
	e := newMCEnv(t, "memcache", map[string]string{"memcache.lock_timeout": "10"})
	st := e.store()
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("mmcfo%023d", i)
		ids = append(ids, id)
		if out, err := e.php(phpWriteSession, id, strconv.Itoa(60+i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	id := ids[0]
	data, _, _ := st.Target(id)
	down, next := data[0], data[1]
	other := 3 - down - next
	e.srv[down].Stop()

	out, err := e.php(`<?php session_id($argv[1]); session_start(); $_SESSION['during'] = 1; session_write_close(); echo json_encode($_SESSION);`, id)
	if err != nil || !strings.Contains(out, `"user_id":60`) || !strings.Contains(out, `"during":1`) {
		t.Fatalf("PHP with the first server down: %q %v", out, err)
	}
	if it := e.srv[next].Get(t, id); !strings.Contains(it.Value, "during|i:1;") {
		t.Errorf("PHP's write with the first server down: next server holds %q", it.Value)
	}
	if lk := e.srv[next].Get(t, id+".lock"); !lk.Found || lk.Value != "0" || lk.Flags != sessmemcache.FlagLong {
		t.Errorf("PHP's lock item on the next server: %+v", lk)
	}
	if e.srv[other].Get(t, id).Found || e.srv[other].Get(t, id+".lock").Found {
		t.Fatalf("PHP wrote the third server too: this test's premise is wrong")
	}

	r := e.sesstool("set", id, "by", `"sesstool"`)
	if r.err != nil || strings.Count(r.errOut, "\n") != 1 || !strings.Contains(r.errOut, e.srv[down].Addr) || !strings.HasPrefix(r.errOut, "sesstool: warning: ") {
		t.Fatalf("set with the first server down: %v %q: want exit 0 and one warning line naming %s", r.err, r.errOut, e.srv[down].Addr)
	}
	if it := e.srv[next].Get(t, id); !strings.Contains(it.Value, `by|s:8:"sesstool";`) || !strings.Contains(it.Value, "during|i:1;") {
		t.Errorf("set wrote %q on the next server", it.Value)
	}
	if e.srv[other].Get(t, id).Found || e.srv[other].Get(t, id+".lock").Found {
		t.Errorf("set wrote the third server, which PHP never does")
	}
	if out, err := e.php(phpReadSession, id); err != nil || !strings.Contains(out, `"by":"sesstool"`) {
		t.Errorf("PHP reads %q %v after set", out, err)
	}

	// PHP holds the session (its lock on the next server): sesstool waits
	// for that lock, and never takes one elsewhere.
	hold := phptest.Start(t, `<?php
session_id($argv[1]);
session_start();
echo "locked\n";
fgets(STDIN);
session_write_close();
echo "done\n";`, append(append(phptest.INI(e.ini), "--"), id)...)
	hold.WaitLine("locked")
	if r := e.sesstool("--lock-timeout", "300ms", "set", id, "x", "1"); r.code != 3 {
		t.Errorf("set while PHP holds the lock with the first server down: exit %d %v, want 3", r.code, r.err)
	}
	if e.srv[other].Get(t, id+".lock").Found {
		t.Errorf("sesstool took a lock on the third server")
	}
	hold.Send("go")
	hold.WaitLine("done")

	r = e.sesstool("ls", "-o", "json")
	if l := ErrorLine(r.err); r.code != 1 || strings.Contains(l, "\n") || !strings.Contains(l, e.srv[down].Addr) || !strings.Contains(l, "cannot reach") {
		t.Errorf("ls with a server down: exit %d, error %q: want 1 and one line naming %s", r.code, l, e.srv[down].Addr)
	}
	var rows []struct {
		ID     string `json:"id"`
		Server string `json:"server"`
	}
	if err := json.Unmarshal([]byte(r.out), &rows); err != nil {
		t.Fatalf("ls -o json: %v\n%s", err, r.out)
	}
	var listed []string
	for _, row := range rows {
		listed = append(listed, row.ID)
		d, _, _ := st.Target(row.ID)
		want := d[0]
		if want == down {
			want = d[1]
		}
		if row.Server != e.srv[want].Addr {
			t.Errorf("%s listed from %s, PHP reads it from %s", row.ID, row.Server, e.srv[want].Addr)
		}
	}
	slices.Sort(listed)
	if !slices.Equal(listed, ids) {
		t.Errorf("ls with a server down lists %v, want every session (each has a copy on a server that is up): %v", listed, ids)
	}
	if r := e.sesstool("locks"); r.code != 1 || strings.Contains(ErrorLine(r.err), "\n") || !strings.Contains(ErrorLine(r.err), e.srv[down].Addr) {
		t.Errorf("locks with a server down: exit %d, error %q", r.code, ErrorLine(r.err))
	}

	r = e.sesstool("destroy", id)
	if r.err != nil || strings.Count(r.errOut, "\n") != 1 || !strings.HasPrefix(r.errOut, "sesstool: warning: ") || !strings.Contains(r.errOut, e.srv[down].Addr) || !strings.Contains(r.errOut, id) {
		t.Fatalf("destroy with the first server down: %v, stderr %q: want exit 0 and one warning line naming %s", r.err, r.errOut, e.srv[down].Addr)
	}
	for _, si := range []int{next, other} {
		if e.srv[si].Get(t, id).Found || e.srv[si].Get(t, id+".lock").Found {
			t.Errorf("destroyed session or its lock item left on server %d", si)
		}
	}
	if out, err := e.php(phpReadSession, id); err != nil || out != "[]" {
		t.Errorf("PHP reads %q %v after destroy", out, err)
	}
	// Several sessions, some with a copy on the server that is down: one
	// warning line naming it and those sessions; the others say nothing.
	var onDown, offDown []string
	many := slices.Clone(ids[1:])
	count := func() {
		onDown, offDown = nil, nil
		for _, id := range many {
			if d, _, _ := st.Target(id); slices.Contains(d, down) {
				onDown = append(onDown, id)
			} else {
				offDown = append(offDown, id)
			}
		}
	}
	count()
	for i := len(ids); len(onDown) < 2 || len(offDown) < 1; i++ {
		if i >= len(ids)+100 {
			t.Fatal("100 more ids and still not two with a copy on the server that is down and one without")
		}
		id := fmt.Sprintf("mmcfo%023d", i)
		if out, err := e.php(phpWriteSession, id, "1"); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
		many = append(many, id)
		count()
	}
	r = e.sesstool(append([]string{"destroy"}, many...)...)
	if r.err != nil || strings.Count(r.errOut, "\n") != 1 || !strings.HasPrefix(r.errOut, "sesstool: warning: ") || !strings.Contains(r.errOut, e.srv[down].Addr) || !strings.Contains(r.errOut, fmt.Sprintf("%d sessions were destroyed", len(onDown))) {
		t.Errorf("destroy of %d sessions, %d with a copy on the server that is down: %v, stderr %q: want exit 0 and one warning line", len(many), len(onDown), r.err, r.errOut)
	}
	for _, id := range many {
		for _, si := range []int{next, other} {
			if e.srv[si].Get(t, id).Found {
				t.Errorf("%s still on server %d after destroy", id, si)
			}
		}
	}
	for _, id := range offDown {
		if strings.Contains(r.errOut, id) {
			t.Errorf("the warning names %s, which has no copy on the server that is down", id)
		}
	}

	// A server cut off (not restarted) keeps its copy: after the outage
	// PHP reads that stale copy first, and sesstool shows the same.
	m := newMCEnv(t, "memcache", map[string]string{"memcache.lock_timeout": "2"})
	sid := "mmcstale0000000000000000001"
	if out, err := m.php(phpWriteSession, sid, "1"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	md, _, _ := m.store().Target(sid)
	m.srv[md[0]].Pause()
	if out, err := m.php(`<?php session_id($argv[1]); session_start(); $_SESSION['user_id'] = 2; session_write_close(); echo json_encode($_SESSION);`, sid); err != nil || !strings.Contains(out, `"user_id":2`) {
		t.Fatalf("PHP with the first server cut off: %q %v", out, err)
	}
	m.srv[md[0]].Resume()
	if it := m.srv[md[1]].Get(t, sid); !strings.Contains(it.Value, "user_id|i:2;") {
		t.Errorf("the outage's write: second server holds %q", it.Value)
	}
	if r := m.sesstool("show", sid, "-o", "json"); r.err != nil || !strings.Contains(r.out, `"user_id": 1`) && !strings.Contains(r.out, `"user_id":1`) {
		t.Errorf("show after the outage: %v %q: want the first server's stale user_id 1, which PHP reads", r.err, r.out)
	}
	if out, err := m.php(phpReadSession, sid); err != nil || !strings.Contains(out, `"user_id":1`) {
		t.Errorf("PHP after the outage reads %q %v: the test expects the stale copy", out, err)
	}
}

// TestMemcacheReadsKeepLockAge: sesstool's own reads (show, ls, locks,
// which read the lock item) never make a lock look younger: memcached
// takes a lock's age from the item's last access, which a plain get or mg
// updates; sesstool reads with mg's u flag. A lock a real PHP request has
// held for a few seconds is, after several shows and listings, still at
// least that old to locks -o json, and unlock --older-than removes it.
func TestMemcacheReadsKeepLockAge(t *testing.T) {
	for _, h := range mcHandlers {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, map[string]string{"memcache.lock_timeout": "60"})
			id := h[:4] + "age0000000000000000000001"
			if out, err := e.php(phpWriteSession, id, "1"); err != nil {
				t.Fatalf("php: %v %s", err, out)
			}
			hold := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), id)...)
			hold.WaitLine("locked")
			defer hold.Kill()
			taken := time.Now()
			time.Sleep(3200 * time.Millisecond)
			for range 4 {
				if r := e.sesstool("show", id); r.err != nil {
					t.Fatalf("show: %v", r.err)
				}
				if r := e.sesstool("ls"); r.err != nil {
					t.Fatalf("ls: %v", r.err)
				}
			}
			real := time.Since(taken)
			r := e.sesstool("locks", "-o", "json")
			var locks []struct {
				ID   string `json:"id"`
				Held int64  `json:"held_seconds"`
			}
			if err := json.Unmarshal([]byte(r.out), &locks); err != nil || len(locks) != 1 || locks[0].ID != id {
				t.Fatalf("locks -o json: %v %v\n%s", r.err, err, r.out)
			}
			// memcached's clock ticks once a second: allow one tick.
			if min := int64(real/time.Second) - 1; locks[0].Held < min {
				t.Errorf("lock held %ds by locks -o json after sesstool's reads, want at least %ds (held for %s)", locks[0].Held, min, real.Truncate(time.Second))
			}
			if r := e.sesstool("unlock", "--older-than", "2s", id); r.err != nil || !strings.Contains(r.out, "unlocked "+id) {
				t.Errorf("unlock --older-than 2s of a lock held %s: %v %q", real.Truncate(time.Second), r.err, r.out)
			}
		})
	}
}

// TestMemcachedReplicasAsPHP: with memcached.sess_number_of_replicas = 1,
// php-memcached 3.2.0 (libmemcached 1.1.4, binary protocol) writes a
// session on its ketama server and on the next server in save_path order
// (wrapping past the last), reads it from its ketama server only (a copy
// missing there is an empty session, the replica is not asked), and its
// session_destroy() deletes both copies. sesstool's set (of a session PHP
// wrote, and one it creates) writes every copy, which PHP then reads, and
// its destroy deletes every copy.
func TestMemcachedReplicasAsPHP(t *testing.T) {
	e := newMCEnv(t, "memcached", map[string]string{"memcached.sess_number_of_replicas": "1"})
	st := e.store()
	var ids []string
	wrapped := false
	for i := 0; i < 40 && (len(ids) < 4 || !wrapped); i++ {
		id := fmt.Sprintf("memcrep%021d", i)
		data, _, _ := st.Target(id)
		if len(data) != 2 || data[1] != (data[0]+1)%3 {
			t.Fatalf("%s: Target %v, want its server and the next in save_path order", id, data)
		}
		if data[0] == 2 {
			wrapped = true
		} else if len(ids) >= 4 {
			continue
		}
		ids = append(ids, id)
	}
	if !wrapped {
		t.Fatal("no id on the last server among 40: the test needs one whose replica wraps to the first")
	}
	for i, id := range ids {
		if out, err := e.php(phpWriteSession, id, strconv.Itoa(70+i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
		data, _, _ := st.Target(id)
		if got := e.holders(e.key(id)); !slices.Equal(got, slices.Sorted(slices.Values(data))) {
			t.Errorf("PHP wrote %s on servers %v, sesstool expects its copies on %v", id, got, data)
		}
	}

	// PHP reads the ketama server's copy only.
	id := ids[0]
	data, _, _ := st.Target(id)
	e.srv[data[1]].Set(t, e.key(id), 0, 1000, "user_id|i:999;")
	if out, err := e.php(phpReadSession, id); err != nil || out != `{"user_id":70,"name":"user 70","cart":{"items":[{"sku":"A-1","qty":2}],"total":19.99}}` {
		t.Errorf("PHP read %q %v: want the ketama server's copy, not the replica's", out, err)
	}
	miss := ids[1]
	md, _, _ := st.Target(miss)
	e.srv[md[0]].Delete(t, e.key(miss))
	if out, err := e.php(`<?php session_id($argv[1]); session_start(); echo json_encode($_SESSION); session_abort();`, miss); err != nil || out != "[]" {
		t.Errorf("PHP with the ketama server's copy missing read %q %v: want an empty session (replicas are not read on a miss)", out, err)
	}
	// sesstool still shows that replica's copy (README says so).
	if r := e.sesstool("show", miss, "--key", "user_id", "-o", "json"); r.err != nil || strings.TrimSpace(r.out) != "71" {
		t.Errorf("show of a session only its replica holds: %v %q", r.err, r.out)
	}
	if r := e.sesstool("ls", "-q"); r.err != nil || !strings.Contains(r.out, miss+"\n") {
		t.Errorf("ls of a session only its replica holds: %v %q", r.err, r.out)
	}

	// sesstool's set writes every copy, the TTL kept; PHP reads it.
	for _, si := range data {
		it := e.srv[si].Get(t, e.key(id))
		e.srv[si].Set(t, e.key(id), 0, 600, it.Value)
	}
	for _, id := range []string{ids[0], ids[len(ids)-1]} {
		if r := e.sesstool("set", id, "by", `"sesstool"`); r.err != nil || r.errOut != "" {
			t.Fatalf("set %s: %v %q", id, r.err, r.errOut)
		}
		d, _, _ := st.Target(id)
		var first string
		for _, si := range d {
			it := e.srv[si].Get(t, e.key(id))
			if !strings.Contains(it.Value, `by|s:8:"sesstool";`) {
				t.Errorf("%s's copy on server %d after set: %q", id, si, it.Value)
			}
			if first == "" {
				first = it.Value
			} else if it.Value != first {
				t.Errorf("%s: copies differ after set: %q and %q", id, first, it.Value)
			}
			if id == ids[0] && (it.TTL < 590 || it.TTL > 600) {
				t.Errorf("%s's copy on server %d: TTL %d, want the 600 s kept", id, si, it.TTL)
			}
		}
		if out, err := e.php(phpReadSession, id); err != nil || !strings.Contains(out, `"by":"sesstool"`) {
			t.Errorf("PHP reads %s: %q %v", id, out, err)
		}
	}
	nid := "memcrepnew000000000000000001"
	if r := e.sesstool("set", nid, "n", "5", "--create"); r.err != nil {
		t.Fatal(r.err)
	}
	nd, _, _ := st.Target(nid)
	if got := e.holders(e.key(nid)); !slices.Equal(got, slices.Sorted(slices.Values(nd))) {
		t.Errorf("created session on servers %v, want %v", got, nd)
	}
	for _, si := range nd {
		if it := e.srv[si].Get(t, e.key(nid)); it.Value != "n|i:5;" || it.TTL < 1435 || it.TTL > 1440 {
			t.Errorf("created session's copy on server %d: %+v", si, it)
		}
	}
	if out, err := e.php(phpReadSession, nid); err != nil || out != `{"n":5}` {
		t.Errorf("PHP reads the created session: %q %v", out, err)
	}

	// PHP's destroy deletes the replica too (libmemcached replicates
	// delete), and so does sesstool's.
	pd := ids[2]
	if out, err := e.php(`<?php session_id($argv[1]); session_start(); session_destroy(); echo "ok";`, pd); err != nil || out != "ok" {
		t.Fatalf("php destroy: %q %v", out, err)
	}
	if got := e.holders(e.key(pd)); len(got) != 0 {
		t.Errorf("PHP's session_destroy() left copies on %v", got)
	}
	for _, id := range []string{ids[0], nid} {
		if r := e.sesstool("destroy", id); r.err != nil || r.errOut != "" {
			t.Fatalf("destroy %s: %v %q", id, r.err, r.errOut)
		}
		if got := e.holders(e.key(id)); len(got) != 0 {
			t.Errorf("sesstool's destroy of %s left copies on %v", id, got)
		}
		if got := e.holders(e.key("lock." + id)); len(got) != 0 {
			t.Errorf("sesstool's destroy of %s left a lock key on %v", id, got)
		}
		if out, err := e.php(`<?php session_id($argv[1]); session_start(); echo json_encode($_SESSION); session_abort();`, id); err != nil || out != "[]" {
			t.Errorf("PHP reads %s after destroy: %q %v", id, out, err)
		}
	}
}

// TestMemcachedEditDestroyWhere: php-memcached's edit through $EDITOR
// (a script editing the text file) is what PHP then reads; destroy
// --where destroys the sessions it selects, which PHP then finds empty,
// and leaves the others.
func TestMemcachedEditDestroyWhere(t *testing.T) {
	e := newMCEnv(t, "memcached", nil)
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = fmt.Sprintf("memced%022d", i)
		if out, err := e.php(phpWriteSession, ids[i], strconv.Itoa(80+i%2)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	editor := mkFile(t, t.TempDir(), "ed.sh", "#!/bin/sh\nsed -i 's/^name = .*/name = \"edited\"/' \"$1\"\nprintf '\\nzz_added = 1\\n' >> \"$1\"\n")
	mustDo(t, os.Chmod(editor, 0o755))
	id := ids[0]
	r := runCLIEnv(t, "", map[string]string{"EDITOR": editor, "TMPDIR": t.TempDir()}, "--php-ini", e.iniFile, "edit", id)
	if r.err != nil {
		t.Fatalf("edit: %v %s", r.err, r.errOut)
	}
	owner, _, _ := e.store().Target(id)
	if it := e.srv[owner[0]].Get(t, e.key(id)); !strings.Contains(it.Value, `name|s:6:"edited";`) || !strings.Contains(it.Value, "zz_added|i:1;") || it.TTL < 1400 {
		t.Errorf("after edit the server holds %q (TTL %d)", it.Value, it.TTL)
	}
	if got := e.holders(e.key("lock." + id)); len(got) != 0 {
		t.Errorf("edit left its lock key on %v", got)
	}
	if out, err := e.php(phpReadSession, id); err != nil || out != `{"user_id":80,"name":"edited","cart":{"items":[{"sku":"A-1","qty":2}],"total":19.99},"zz_added":1}` {
		t.Errorf("PHP reads the edit: %q %v", out, err)
	}

	r = e.sesstool("destroy", "--where", "user_id=81", "--yes")
	if r.err != nil || !strings.Contains(r.out, "destroyed "+ids[1]) || !strings.Contains(r.out, "destroyed "+ids[3]) || strings.Contains(r.out, ids[2]) {
		t.Fatalf("destroy --where user_id=81: %v %q", r.err, r.out)
	}
	for i, id := range ids {
		gone := i%2 == 1
		if got := e.holders(e.key(id)); gone != (len(got) == 0) {
			t.Errorf("%s after destroy --where: on servers %v (destroyed: %v)", id, got, gone)
		}
		out, err := e.php(`<?php session_id($argv[1]); session_start(); echo json_encode($_SESSION); session_abort();`, id)
		if err != nil || gone != (out == "[]") {
			t.Errorf("PHP reads %s after destroy --where: %q %v", id, out, err)
		}
	}
}

// TestMemcacheWatchPollCLI: "sesstool watch --poll 200ms -o json
// --decode" on three memcached servers reports the sessions PHP creates,
// changes and destroys meanwhile, with both extensions (a pecl memcache
// session's two copies are one session).
func TestMemcacheWatchPollCLI(t *testing.T) {
	for _, h := range mcHandlers {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, nil)
			w := startWatchCmd(t, "--php-ini", e.iniFile, "watch", "--poll", "200ms", "-o", "json", "--decode")
			id := h[:4] + "watch00000000000000000001"
			if out, err := e.php(`<?php session_id($argv[1]); session_start(); $_SESSION['user_id'] = 1; echo "ok";`, id); err != nil || out != "ok" {
				t.Fatalf("php: %q %v", out, err)
			}
			// watch's next JSON line (path is the files store's: empty here).
			next := func(event, changes string) watchJSON {
				t.Helper()
				select {
				case l := <-w.out.lines:
					var ev watchJSON
					if err := json.Unmarshal([]byte(l), &ev); err != nil {
						t.Fatalf("line %q: %v", l, err)
					}
					if _, err := time.Parse(time.RFC3339, ev.Time); err != nil || ev.Size == nil || ev.Event != event || ev.ID != id || changes != "*" && ev.changesString() != changes {
						t.Fatalf("line %q: want %s of %s with changes %q", l, event, id, changes)
					}
					return ev
				case <-time.After(watchWait):
					t.Fatalf("no %s event within %v; stderr %q", event, watchWait, w.errOut.String())
				}
				return watchJSON{}
			}
			if ev := next(evCreated, "added user_id=1"); *ev.Size != int64(len("user_id|i:1;")) {
				t.Errorf("created: size %d", *ev.Size)
			}
			time.Sleep(400 * time.Millisecond) // a poll or two between the writes
			if out, err := e.php(`<?php session_id($argv[1]); session_start(); $_SESSION['user_id'] = 2; $_SESSION['cart'] = [1]; echo "ok";`, id); err != nil || out != "ok" {
				t.Fatalf("php: %q %v", out, err)
			}
			next(evModified, "changed user_id=2; added cart=[1]")
			if out, err := e.php(`<?php session_id($argv[1]); session_start(); session_destroy(); echo "ok";`, id); err != nil || out != "ok" {
				t.Fatalf("php: %q %v", out, err)
			}
			next(evDeleted, "*")
			w.quiet()
		})
	}
}

// TestMemcacheGCAsPHP: gc on pecl memcache. memcached expires what PHP
// writes (pecl memcache always gives an absolute expiry, its lock items
// lock_timeout), so gc scans those sessions and leaves them; it deletes a
// session stored without expiry (another client's) idle over maxlifetime,
// both of its copies, counted and named once, and a lock item without
// expiry idle over --lock-age, which would otherwise make every PHP
// request on that session wait 2 x lock_timeout and then read it empty.
func TestMemcacheGCAsPHP(t *testing.T) {
	e := newMCEnv(t, "memcache", map[string]string{"memcache.lock_timeout": "1"})
	st := e.store()
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("mmcgc%023d", i)
		ids = append(ids, id)
		if out, err := e.php(phpWriteSession, id, strconv.Itoa(90+i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	forever := "mmcgcforever00000000000001"
	fd, _, _ := st.Target(forever)
	for _, si := range fd {
		e.srv[si].Set(t, forever, 0, 0, "user_id|i:5;")
	}
	if out, err := e.php(`<?php session_id($argv[1]); session_start(); echo json_encode($_SESSION); session_abort();`, forever); err != nil || out != `{"user_id":5}` {
		t.Fatalf("PHP reads the session without expiry: %q %v", out, err)
	}
	// A lock item left without expiry on ids[0]'s first server.
	stale := ids[0]
	sd, _, _ := st.Target(stale)
	e.srv[sd[0]].Set(t, stale+".lock", sessmemcache.FlagLong, 0, "1")
	if out, err := e.php(`<?php session_id($argv[1]); session_start(); echo json_encode($_SESSION); session_abort();`, stale); err != nil || out != "[]" {
		t.Fatalf("PHP with a lock item nobody releases read %q %v: the test expects it to give up and read an empty session", out, err)
	}
	time.Sleep(3 * time.Second) // idle past --maxlifetime and --lock-age

	type gcDoc struct {
		Scanned    int64    `json:"scanned"`
		Deleted    int64    `json:"deleted"`
		StaleLocks int64    `json:"stale_locks"`
		Errors     int64    `json:"errors"`
		IDs        []string `json:"ids"`
	}
	run := func(args ...string) gcDoc {
		t.Helper()
		r := e.sesstool(append([]string{"gc", "--maxlifetime", "2s", "--lock-age", "2s", "--list", "-o", "json"}, args...)...)
		var doc gcDoc
		if r.err != nil || json.Unmarshal([]byte(r.out), &doc) != nil {
			t.Fatalf("gc %v: %v %q %q", args, r.err, r.out, r.errOut)
		}
		return doc
	}
	if doc := run("--dry-run"); doc.Scanned != 4 || doc.Deleted != 1 || doc.StaleLocks != 1 || !slices.Equal(doc.IDs, []string{forever}) {
		t.Errorf("gc --dry-run: %+v: want 4 sessions scanned, %s to delete (once) and 1 stale lock", doc, forever)
	}
	if got := e.holders(forever); len(got) != 2 {
		t.Errorf("gc --dry-run deleted copies: %s on %v", forever, got)
	}
	if doc := run(); doc.Scanned != 4 || doc.Deleted != 1 || doc.StaleLocks != 1 || doc.Errors != 0 || !slices.Equal(doc.IDs, []string{forever}) {
		t.Errorf("gc: %+v: want 4 sessions scanned, %s deleted (once) and 1 stale lock", doc, forever)
	}
	if got := e.holders(forever); len(got) != 0 {
		t.Errorf("gc left the session without expiry on %v", got)
	}
	if e.srv[sd[0]].Get(t, stale+".lock").Found {
		t.Errorf("gc left the lock item without expiry")
	}
	for i, id := range ids {
		d, _, _ := st.Target(id)
		if got := e.holders(id); !slices.Equal(got, slices.Sorted(slices.Values(d))) {
			t.Errorf("gc touched %s, which PHP wrote with an expiry: on %v", id, got)
		}
		if out, err := e.php(phpReadSession, id); err != nil || !strings.Contains(out, fmt.Sprintf(`"user_id":%d`, 90+i)) {
			t.Errorf("PHP reads %s after gc: %q %v", id, out, err)
		}
	}
}

// TestMemcacheGCServerDown: with one of three servers down, gc sweeps
// what the other two hold (a session without expiry there is deleted, the
// summary printed), then names the server it could not reach on one error
// line and exits 1, as ls and locks do; -o json prints its document all
// the same.
func TestMemcacheGCServerDown(t *testing.T) {
	for _, h := range mcHandlers {
		t.Run(h, func(t *testing.T) {
			e := newMCEnv(t, h, nil)
			st := e.store()
			const down = 0
			var forever string
			for i := 0; forever == ""; i++ {
				id := fmt.Sprintf("%sgcdown%019d", h[:4], i)
				// Its lock key off the downed server too (php-memcached
				// hashes it on its own): gc keeps a session whose lock
				// state it cannot read.
				if d, l, _ := st.Target(id); !slices.Contains(d, down) && l != down {
					forever = id
				} else if i > 200 {
					t.Fatal("no id off server 0 among 200")
				}
			}
			d, _, _ := st.Target(forever)
			for _, si := range d {
				e.srv[si].Set(t, e.key(forever), 0, 0, "user_id|i:5;")
			}
			for i := range 4 {
				if out, err := e.php(phpWriteSession, fmt.Sprintf("%sgcphp%020d", h[:4], i), "1"); err != nil {
					t.Fatalf("php: %v %s", err, out)
				}
			}
			time.Sleep(3 * time.Second) // idle past --maxlifetime
			e.srv[down].Stop()
			r := e.sesstool("gc", "--maxlifetime", "2s", "--dry-run", "-o", "json", "--list")
			var doc struct {
				Scanned int64    `json:"scanned"`
				Deleted int64    `json:"deleted"`
				IDs     []string `json:"ids"`
			}
			if l := ErrorLine(r.err); r.code != 1 || strings.Contains(l, "\n") || !strings.Contains(l, e.srv[down].Addr) || !strings.Contains(l, "cannot reach") || json.Unmarshal([]byte(r.out), &doc) != nil {
				t.Fatalf("gc --dry-run -o json with a server down: exit %d, error %q, stdout %q: want exit 1, one line naming %s, and the document", r.code, l, r.out, e.srv[down].Addr)
			}
			if doc.Scanned < 1 || doc.Deleted != 1 || !slices.Equal(doc.IDs, []string{forever}) {
				t.Errorf("gc --dry-run with a server down: %+v, want %s to delete", doc, forever)
			}
			r = e.sesstool("gc", "--maxlifetime", "2s", "--list")
			if l := ErrorLine(r.err); r.code != 1 || strings.Contains(l, "\n") || !strings.Contains(l, e.srv[down].Addr) || strings.Count(r.errOut, "\n") > 1 {
				t.Errorf("gc with a server down: exit %d, error %q, stderr %q", r.code, l, r.errOut)
			}
			if !strings.Contains(r.out, forever) || !strings.Contains(r.out, "1 deleted") && !strings.Contains(r.out, "deleted 1") {
				t.Errorf("gc with a server down printed %q: want %s named and the summary", r.out, forever)
			}
			for _, si := range d {
				if e.srv[si].Get(t, e.key(forever)).Found {
					t.Errorf("gc with a server down left %s on server %d", forever, si)
				}
			}
		})
	}
}

// TestMemcachedNoReplicasWithoutBinaryProtocol: with
// memcached.sess_binary_protocol = 0 php-memcached writes no replica
// (libmemcached copies binary-protocol writes only), and neither does
// sesstool's set: every session sits on its ketama server alone.
func TestMemcachedNoReplicasWithoutBinaryProtocol(t *testing.T) {
	e := newMCEnv(t, "memcached", map[string]string{"memcached.sess_number_of_replicas": "1", "memcached.sess_binary_protocol": "0"})
	for i := range 4 {
		id := fmt.Sprintf("memcnobin%019d", i)
		if out, err := e.php(phpWriteSession, id, strconv.Itoa(i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
		if got := e.holders(e.key(id)); len(got) != 1 {
			t.Fatalf("PHP wrote %s on servers %v: want one (no replica)", id, got)
		}
		phpOn := e.holders(e.key(id))
		if r := e.sesstool("set", id, "name", `"by sesstool"`); r.code != 0 {
			t.Fatalf("set: exit %d %v", r.code, r.err)
		}
		if got := e.holders(e.key(id)); !slices.Equal(got, phpOn) {
			t.Errorf("after sesstool's set %s is on servers %v, want only %v (where PHP wrote it)", id, got, phpOn)
		}
		if out, err := e.php(phpReadSession, id); err != nil || !strings.Contains(out, `"name":"by sesstool"`) {
			t.Errorf("PHP reads %s %v", out, err)
		}
	}
}
