package sessredis

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
	"github.com/sesstool/sesstool/internal/redistest"
)

// seeds are save_path forms for the fuzz test.
var seeds = []string{
	"tcp://127.0.0.1:6379?weight=2&prefix=a:", "127.0.0.1:6379", "localhost", "unix:///run/r.sock?prefix=x",
	"tls://h:1", "tcp://[::1]:6379", "h:99999", "tcp://u:p@h:1/x?y#z", "a:1, b:2 c:3?weight=2",
}

func TestParseSavePath(t *testing.T) {
	sp, err := ParseSavePath(" tcp://127.0.0.1:16379, tcp://127.0.0.1:16380?weight=2&prefix=app1:&database=3&auth=s3cret unix:///run/r.sock?timeout=2 h2:7000 ")
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Hosts) != 4 {
		t.Fatalf("hosts %+v", sp.Hosts)
	}
	h := sp.Hosts[1]
	if h.Addr != "127.0.0.1:16380" || h.Weight != 2 || h.Prefix != "app1:" || h.Database != 3 || h.Password != "s3cret" || h.Offset != 24 {
		t.Errorf("host 1: %+v", h)
	}
	if h := sp.Hosts[0]; h.Prefix != DefaultPrefix || h.Database != -1 || h.Weight != 1 || h.Network != "tcp" {
		t.Errorf("host 0: %+v", h)
	}
	if h := sp.Hosts[2]; h.Network != "unix" || h.Addr != "/run/r.sock" || h.Timeout != 2 {
		t.Errorf("host 2: %+v", h)
	}
	if h := sp.Hosts[3]; h.Addr != "h2:7000" {
		t.Errorf("host 3: %+v", h)
	}
	if sp.TotalWeight() != 5 {
		t.Errorf("total weight %d", sp.TotalWeight())
	}
	for _, tt := range []struct {
		v      string
		offset int
		want   string
	}{
		{"", -1, "no host"},
		{" , ", -1, "no host"},
		{"tcp://a:1, h:99999", 11, "not a URL PHP can parse"},
		{"tcp://a:1?weight=0", 0, "weight must be a positive"},
		{"tcp://a:1?weight=x", 0, "weight must be a positive"},
		{"tcp://a:1?timeout=-1", 0, "timeout must be a positive"},
		{"tcp://a:1 ?x", 10, "names no host and no socket path"},
	} {
		_, err := ParseSavePath(tt.v)
		var se *SavePathError
		if !errors.As(err, &se) || se.Offset != tt.offset || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSavePath(%q) = %v, want offset %d and %q", tt.v, err, tt.offset, tt.want)
		}
	}
}

func TestParseClusterSavePath(t *testing.T) {
	c, err := ParseClusterSavePath("seed[]=127.0.0.1:17001&seed[]=127.0.0.1:17002&timeout=2&read_timeout=2&failover=error&prefix=P:&auth=x")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Seeds) != 2 || c.Failover != "error" || c.Prefix != "P:" || c.Password != "x" || c.Timeout != 2 {
		t.Errorf("%+v", c)
	}
	if c, _ := ParseClusterSavePath("seed[]=h:1"); c.Prefix != DefaultClusterPrefix {
		t.Errorf("default prefix %q", c.Prefix)
	}
	for _, v := range []string{"", "timeout=2", "seed[]=nohost", "seed[]=h:1&failover=maybe", "seed[]=h:0"} {
		if _, err := ParseClusterSavePath(v); err == nil {
			t.Errorf("ParseClusterSavePath(%q) accepted", v)
		}
	}
}

// FuzzParseSavePath: no save_path makes the parser panic, and every host it
// accepts has an address and a positive weight.
func FuzzParseSavePath(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add("seed[]=a:1&seed[]=b:2")
	f.Fuzz(func(t *testing.T, v string) {
		sp, err := ParseSavePath(v)
		if err == nil {
			for _, h := range sp.Hosts {
				if h.Addr == "" || h.Weight <= 0 {
					t.Fatalf("%q: host %+v", v, h)
				}
			}
			for _, id := range []string{"", "a", "abcd", "zzzzzzzz"} {
				if i := sp.HostFor(id); i < 0 || i >= len(sp.Hosts) {
					t.Fatalf("HostFor(%q) = %d", id, i)
				}
			}
		}
		_, _ = ParseClusterSavePath(v)
	})
}

// TestHostChoiceMatchesPHP: PHP with phpredis writes 1,000 sessions over
// two weighted hosts (with a prefix and a database on one) and 1,000 over
// three; every session is on the host HostFor names.
func TestHostChoiceMatchesPHP(t *testing.T) {
	phptest.Extensions(t, "redis")
	a, b, c := redistest.Start(t), redistest.Start(t), redistest.Start(t)
	for _, tt := range []struct {
		name     string
		savePath string
		// where each host's keys are: server, database, prefix
		hosts []*redistest.Server
		dbs   []string
	}{
		{"two hosts", fmt.Sprintf("tcp://%s, tcp://%s?weight=2&prefix=app1:&database=3", a.Addr, b.Addr), []*redistest.Server{a, b}, []string{"0", "3"}},
		{"three hosts", fmt.Sprintf("tcp://%s?weight=3,%s tcp://%s?weight=2&database=1", a.Addr, b.Addr, c.Addr), []*redistest.Server{a, b, c}, []string{"0", "0", "1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.hosts {
				s.Cli(t, "flushall")
			}
			sp, err := ParseSavePath(tt.savePath)
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, uint64(len(tt.hosts))))
			const alpha = "abcdefghijklmnopqrstuvwxyz0123456789,-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			ids := make([]string, 1000)
			for i := range ids {
				b := make([]byte, 26)
				for k := range b {
					b[k] = alpha[r.IntN(len(alpha))]
				}
				ids[i] = string(b)
			}
			in, _ := json.Marshal(ids)
			script := `<?php
foreach (json_decode(stream_get_contents(STDIN)) as $id) {
	session_id($id);
	if (!session_start()) { fwrite(STDERR, "session_start failed for $id\n"); exit(1); }
	$_SESSION['n'] = 1;
	session_write_close();
}`
			out, err := phptest.Input(t, script, in, nil, phptest.INI(map[string]string{
				"session.save_handler": "redis", "session.save_path": tt.savePath,
				"session.use_cookies": "0", "session.use_strict_mode": "0",
			})...)
			if err != nil {
				t.Fatalf("php: %v\n%s", err, out)
			}
			where := map[string]int{}
			for hi, s := range tt.hosts {
				keys := s.Cli(t, "-n", tt.dbs[hi], "--scan")
				for _, k := range strings.Fields(keys) {
					id := k[strings.LastIndexByte(k, ':')+1:]
					if k != sp.Hosts[hi].Key(id) {
						t.Errorf("host %d holds key %q, want prefix %q", hi, k, sp.Hosts[hi].Prefix)
					}
					where[id] = hi
				}
			}
			wrong := 0
			for _, id := range ids {
				got, ok := where[id]
				if !ok {
					t.Fatalf("session %q not found on any host", id)
				}
				if want := sp.HostFor(id); got != want {
					wrong++
					if wrong <= 5 {
						t.Errorf("session %q is on host %d, HostFor says %d", id, got, want)
					}
				}
			}
			if wrong > 0 {
				t.Errorf("%d of %d sessions not where HostFor says", wrong, len(ids))
			}
		})
	}
}

func TestMaskSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://h:1?auth=s3cret&prefix=a":            "tcp://h:1?auth=****&prefix=a",
		"tcp://h:1?auth[]=user&auth[]=pw, tcp://h2": "tcp://h:1?auth[]=****&auth[]=****, tcp://h2",
		"seed[]=h:1&auth=x y":                       "seed[]=h:1&auth=**** y",
		"tcp://h:1?prefix=auth=no":                  "tcp://h:1?prefix=auth=no",
		"tcp://h:1?auth=pa#ss&x=1":                  "tcp://h:1?auth=****&x=1",
		"tcp://h:1?%61uth=pw":                       "tcp://h:1?%61uth=****",
		"tcp://h:1?x=1& auth=pw":                    "tcp://h:1?x=1& auth=****",
	} {
		if got := MaskSecrets(in); got != want {
			t.Errorf("MaskSecrets(%q) = %q, want %q", in, got, want)
		}
	}
	if got := MaskClusterSecrets("seed[]=h:1&auth=p w,x&prefix=a"); got != "seed[]=h:1&auth=****&prefix=a" {
		t.Errorf("MaskClusterSecrets = %q", got)
	}
	_, err := ParseSavePath("tcp://h:99999?auth=s3cret")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("a save_path error shows the password: %v", err)
	}
}
