package cmd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sesstool/sesstool/internal/phptest"
)

// statsJSON runs stats -o json with args and decodes it.
func statsJSON(t *testing.T, args ...string) statsReport {
	t.Helper()
	r := runCLI(t, append(args, "stats", "-o", "json")...)
	if r.err != nil {
		t.Fatalf("stats: %v %s", r.err, r.errOut)
	}
	var rep statsReport
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("stats -o json: %v\n%s", err, r.out)
	}
	return rep
}

func bucketCounts(bs []statsBucket) map[string]int64 {
	m := map[string]int64{}
	for _, b := range bs {
		m[b.Label] = b.Count
	}
	return m
}

// TestStatsFiles: on a save_path with sessions of known ages, sizes and
// contents, one corrupt, one empty, and one a real PHP request holds
// locked, stats counts each figure exactly: the histograms, the active
// windows, the biggest sessions, the keys holding the most bytes, the
// serializers, --by's distinct values, and the lock with PHP's pid.
func TestStatsFiles(t *testing.T) {
	phptest.PHP(t)
	dir := t.TempDir()
	putSess(t, dir, "stat0000000000000000000001", `user_id|i:1;name|s:5:"alice";`, 2*time.Minute)
	putSess(t, dir, "stat0000000000000000000002", `user_id|i:1;name|s:5:"alice";`, 10*time.Minute)
	putSess(t, dir, "stat0000000000000000000003", `user_id|i:2;blob|s:2000:"`+strings.Repeat("x", 2000)+`";`, 30*time.Minute)
	putSess(t, dir, "stat0000000000000000000004", ``, 2*time.Hour)
	putSess(t, dir, "stat0000000000000000000005", `user_id|i:`, 3*24*time.Hour) // corrupt
	putSess(t, dir, "stat0000000000000000000006", `a:1:{s:7:"user_id";i:3;}`, 10*24*time.Hour)
	ini := append(phptest.SessionINI(dir, "php"), "-d", "session.save_path="+dir)
	const held = "stat0000000000000000000007"
	putSess(t, dir, held, `user_id|i:3;`, 40*time.Minute)
	p := phptest.Start(t, `<?php session_id('`+held+`'); session_start(); echo "locked\n"; fgets(STDIN);`, ini...)
	p.WaitLine("locked")
	defer p.CloseStdin()

	rep := statsJSON(t, "--save-path", dir, "--lock-timeout", "200ms", "--serialize-handler", "auto", "--by", "user_id", "--top", "3")
	if rep.Sessions != 7 || rep.Empty != 1 || rep.Corrupt != 1 || rep.Unread != 1 {
		t.Errorf("sessions %d, empty %d, corrupt %d, unread %d: want 7, 1, 1, 1 (the locked one not read)", rep.Sessions, rep.Empty, rep.Corrupt, rep.Unread)
	}
	if a := rep.Active; a["5m"] != 1 || a["15m"] != 2 || a["60m"] != 4 {
		t.Errorf("active %v, want 5m:1 15m:2 60m:4", a)
	}
	ages := bucketCounts(rep.Ages)
	if ages["< 5m"] != 1 || ages["5m-15m"] != 1 || ages["15m-1h"] != 2 || ages["1h-6h"] != 1 || ages["1d-7d"] != 1 || ages[">= 7d"] != 1 {
		t.Errorf("ages %v", ages)
	}
	sizes := bucketCounts(rep.Sizes)
	if sizes["0 B"] != 1 || sizes["< 1 KiB"] != 5 || sizes["1-4 KiB"] != 1 {
		t.Errorf("sizes %v", sizes)
	}
	if len(rep.Biggest) != 3 || rep.Biggest[0].ID != "stat0000000000000000000003" || rep.Biggest[0].Size < 2000 {
		t.Errorf("biggest %+v", rep.Biggest)
	}
	if len(rep.TopKeys) == 0 || rep.TopKeys[0].Key != "blob" || rep.TopKeys[0].Sessions != 1 {
		t.Errorf("top keys %+v: want blob first", rep.TopKeys)
	}
	if rep.Handlers["php"] != 4 || rep.Handlers["php_serialize"] != 1 {
		t.Errorf("handlers %v: want php 4 (the empty one too), php_serialize 1", rep.Handlers)
	}
	if b := rep.By; b == nil || b.Distinct != 3 || b.Missing != 1 || len(b.Top) != 3 || b.Top[0].Value != "1" || b.Top[0].Sessions != 2 {
		t.Errorf("by user_id %+v: want 3 distinct (1 in two sessions first), 1 session without", b)
	}
	if len(rep.Locks) != 1 || rep.Locks[0].ID != held || !strings.Contains(rep.Locks[0].Holder, strconv.Itoa(p.Pid())) {
		t.Errorf("locks %+v: want %s held by PHP's pid %d", rep.Locks, held, p.Pid())
	}

	// On a terminal of 60 columns every line fits, bars included.
	r := runWidth(t, 60, "--save-path", dir, "--lock-timeout", "200ms", "stats", "--check")
	if r.err != nil {
		t.Fatal(r.err)
	}
	for _, l := range strings.Split(strings.TrimRight(r.out, "\n"), "\n") {
		if utf8.RuneCountInString(l) > 60 {
			t.Errorf("line wider than 60 columns: %q", l)
		}
	}
	for _, want := range []string{"sessions 7", "corrupt 1", "█", "stat0000000000000000000005", "locks held now 1"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, r.out)
		}
	}
}

// TestStatsMemcached: on php-memcached sessions stats counts TTLs (and an
// item without one) instead of ages, and the lock a PHP request holds.
func TestStatsMemcached(t *testing.T) {
	e := newMCEnv(t, "memcached", nil)
	for i := range 3 {
		if out, err := e.php(phpWriteSession, "memcstat00000000000000000"+strconv.Itoa(i), strconv.Itoa(i)); err != nil {
			t.Fatalf("php: %v %s", err, out)
		}
	}
	st := e.store()
	data, _, _ := st.Target("memcstatnottl000000000001")
	e.srv[data[0]].Set(t, e.key("memcstatnottl000000000001"), 0, 0, "a|i:1;")
	hold := phptest.Start(t, `<?php session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, append(append(phptest.INI(e.ini), "--"), "memcstat000000000000000000")...)
	hold.WaitLine("locked")
	defer hold.CloseStdin()
	rep := statsJSON(t, "--php-ini", e.iniFile)
	if rep.Sessions != 4 || rep.NoTTL == nil || *rep.NoTTL != 1 || rep.AgeKind != "ttl" {
		t.Errorf("sessions %d, no TTL %v, kind %s: want 4, 1, ttl", rep.Sessions, rep.NoTTL, rep.AgeKind)
	}
	if ages := bucketCounts(rep.Ages); ages["15m-1h"] != 3 || ages["no TTL"] != 1 {
		t.Errorf("TTLs %v: want 3 with 24m left, 1 without", ages)
	}
	if len(rep.Locks) != 1 || rep.Locks[0].ID != "memcstat000000000000000000" {
		t.Errorf("locks %+v", rep.Locks)
	}
	// audit on the same store: the key without TTL; loopback servers
	// without auth are no finding.
	fs, _ := auditFindings(t, "--php-ini", e.iniFile)
	if f, ok := findRule(fs, "keys_without_ttl"); !ok || !strings.Contains(f.What, "1 session key") || !strings.Contains(f.Where, "memcstatnottl") {
		t.Errorf("audit: %+v, want keys_without_ttl naming memcstatnottl000000000001", fs)
	}
	if f, ok := findRule(fs, "store_no_auth"); ok {
		t.Errorf("audit flags loopback memcached: %+v", f)
	}
}

// TestAuditSharedTmp: sessions in the shared /tmp are a finding.
func TestAuditSharedTmp(t *testing.T) {
	fs, _ := auditFindings(t, "--save-path", "/tmp", "--etc-root", t.TempDir())
	if f, ok := findRule(fs, "save_path_shared"); !ok || f.Severity != "medium" {
		t.Errorf("save_path /tmp: %+v", fs)
	}
}

// TestStatsCaps: with --check, stats keeps the first maxCorruptIDs corrupt
// ids and says so (all are counted); the top-keys tally stops at
// maxTopKeys distinct keys and says so; one distinct --by value is "1
// distinct value".
func TestStatsCaps(t *testing.T) {
	defer func(c, k int) { maxCorruptIDs, maxTopKeys = c, k }(maxCorruptIDs, maxTopKeys)
	maxCorruptIDs, maxTopKeys = 2, 2
	dir := t.TempDir()
	for i := range 3 {
		putSess(t, dir, "statcap00000000000000000"+strconv.Itoa(i), `user_id|i:`, time.Minute) // corrupt
	}
	putSess(t, dir, "statcapok000000000000000a", `user_id|i:1;a|i:1;b|i:2;c|i:3;`, time.Minute)
	rep := statsJSON(t, "--save-path", dir, "--serialize-handler", "php", "--by", "user_id")
	if rep.Corrupt != 3 || len(rep.CorruptIDs) != 0 || rep.CorruptCut {
		t.Errorf("without --check: corrupt %d, ids %v, capped %v", rep.Corrupt, rep.CorruptIDs, rep.CorruptCut)
	}
	out := runCLI(t, "--save-path", dir, "--serialize-handler", "php", "stats", "--check", "-o", "json")
	rep = statsReport{}
	mustDo(t, json.Unmarshal([]byte(out.out), &rep))
	if rep.Corrupt != 3 || len(rep.CorruptIDs) != 2 || !rep.CorruptCut {
		t.Errorf("--check: corrupt %d, ids %v, capped %v: want 3 counted, 2 named, capped", rep.Corrupt, rep.CorruptIDs, rep.CorruptCut)
	}
	if len(rep.TopKeys) != 2 || !rep.KeysCapped {
		t.Errorf("top keys %+v, capped %v: want 2 keys and capped", rep.TopKeys, rep.KeysCapped)
	}
	r := runWidth(t, 100, "--save-path", dir, "--serialize-handler", "php", "stats", "--check", "--by", "user_id")
	for _, want := range []string{"corrupt (the first 2 of 3)", "the tally stopped there", "1 distinct value in 1 session (0 without it)"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stats lacks %q:\n%s", want, r.out)
		}
	}
}

// TestStatsByJSONPointer: --by /user/id counts the values of a nested key:
// the distinct ids, the sessions of each (most first, then by value), and
// the sessions without it (no user, or a user without an id); the human
// screen says the same.
func TestStatsByJSONPointer(t *testing.T) {
	dir := t.TempDir()
	user := func(id int) string { return fmt.Sprintf(`user|a:2:{s:2:"id";i:%d;s:4:"name";s:1:"x";}`, id) }
	for i, data := range []string{
		user(7), user(7), user(7), user(42), user(42), user(5),
		`user|a:1:{s:4:"name";s:5:"guest";}`, // a user without an id
		`cart|a:0:{}`,                        // no user at all
	} {
		putSess(t, dir, fmt.Sprintf("byptr%021d", i), data, time.Minute)
	}
	rep := statsJSON(t, "--save-path", dir, "--serialize-handler", "php", "--by", "/user/id")
	if rep.By == nil {
		t.Fatal("no by in stats -o json")
	}
	want := []statsValue{{"7", 3}, {"42", 2}, {"5", 1}}
	if rep.By.Key != "/user/id" || rep.By.Distinct != 3 || rep.By.Missing != 2 || !slices.Equal(rep.By.Top, want) {
		t.Errorf("--by /user/id: %+v, want 3 distinct, 2 without it, top %v", *rep.By, want)
	}
	rep = statsJSON(t, "--save-path", dir, "--serialize-handler", "php", "--by", "/user/id", "--top", "1")
	if len(rep.By.Top) != 1 || rep.By.Top[0] != want[0] || rep.By.Distinct != 3 {
		t.Errorf("--top 1: %+v", *rep.By)
	}
	r := runWidth(t, 80, "--save-path", dir, "--serialize-handler", "php", "stats", "--by", "/user/id")
	if !strings.Contains(r.out, "3 distinct values in 6 sessions (2 without it)") {
		t.Errorf("stats --by /user/id:\n%s", r.out)
	}
}
