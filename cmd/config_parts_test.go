package cmd

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestConfigSavePathParts: config -o json parses session.save_path in its
// handler's syntax (files layout, each server with its weight, database
// and prefix), and a password is never shown.
func TestConfigSavePathParts(t *testing.T) {
	for _, c := range []struct {
		handler, savePath, want string
	}{
		{"files", "2;0640;/srv/sess", `[{"depth":2,"mode":"0640","dir":"/srv/sess"}]`},
		{"redis", "tcp://10.0.0.1:6379?auth=s3cret&database=2&prefix=app:, tcp://10.0.0.2:6380?weight=3", `[{"server":"10.0.0.1:6379","weight":1,"database":2,"prefix":"app:","auth":"***","timeout":86400},{"server":"10.0.0.2:6380","weight":3,"prefix":"PHPREDIS_SESSION:","timeout":86400}]`},
		{"memcached", "10.0.0.1:11211:5, /run/mc.sock", `[{"server":"10.0.0.1:11211","weight":5},{"server":"/run/mc.sock","weight":1}]`},
		{"memcache", "tcp://10.0.0.1:11211?weight=2&timeout=0.5", `[{"server":"10.0.0.1:11211","weight":2,"timeout":0.5}]`},
	} {
		r := runCLI(t, "--save-handler", c.handler, "--save-path", c.savePath, "config", "-o", "json")
		if r.err != nil {
			t.Fatalf("%s: %v", c.handler, r.err)
		}
		var doc struct {
			Parts json.RawMessage `json:"save_path_parts"`
		}
		if err := json.Unmarshal([]byte(r.out), &doc); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := json.Compact(&got, doc.Parts); err != nil || got.String() != c.want {
			t.Errorf("%s %q: parts\n %s\nwant\n %s", c.handler, c.savePath, got.String(), c.want)
		}
		if strings.Contains(r.out, "s3cret") {
			t.Errorf("%s: the password is shown:\n%s", c.handler, r.out)
		}
	}
}
