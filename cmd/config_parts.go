package cmd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/sessmemcache"
	"github.com/sesstool/sesstool/sessredis"
)

// savePathPart is one part of a parsed save_path: a files layout, or one
// server of a key-value store.
type savePathPart struct {
	// files
	Depth *int   `json:"depth,omitempty"`
	Mode  string `json:"mode,omitempty"`
	Dir   string `json:"dir,omitempty"`
	// servers
	Server   string  `json:"server,omitempty"` // host:port or socket path
	Weight   int     `json:"weight,omitempty"`
	Database *int    `json:"database,omitempty"`
	Prefix   *string `json:"prefix,omitempty"`
	Auth     string  `json:"auth,omitempty"` // "***" when a password is given
	TLS      bool    `json:"tls,omitempty"`
	Timeout  float64 `json:"timeout,omitempty"`
}

// savePathParts parses st's save_path in its handler's syntax (nil when it
// does not parse: config shows it as written, and the commands say why).
func savePathParts(st *Settings) []savePathPart {
	v := st.SavePath.Value
	switch st.StoreHandler() {
	case "files":
		sp, err := sessfile.ParseSavePath(v)
		if err != nil {
			return nil
		}
		d := sp.Depth
		return []savePathPart{{Depth: &d, Mode: fmt.Sprintf("%04o", uint32(sp.Mode.Perm())), Dir: sp.Dir}}
	case "redis":
		sp, err := sessredis.ParseSavePath(v)
		if err != nil {
			return nil
		}
		var out []savePathPart
		for _, h := range sp.Hosts {
			p := savePathPart{Server: h.Addr, Weight: h.Weight, TLS: h.TLS, Timeout: h.Timeout}
			prefix := h.Prefix
			p.Prefix = &prefix
			if h.Database >= 0 {
				db := h.Database
				p.Database = &db
			}
			if h.Password != "" {
				p.Auth = "***"
			}
			out = append(out, p)
		}
		return out
	case "rediscluster":
		c, err := sessredis.ParseClusterSavePath(v)
		if err != nil {
			return nil
		}
		var out []savePathPart
		for _, s := range c.Seeds {
			prefix := c.Prefix
			p := savePathPart{Server: s, Prefix: &prefix, Timeout: c.Timeout}
			if c.Password != "" {
				p.Auth = "***"
			}
			out = append(out, p)
		}
		return out
	case "memcached":
		sp, err := sessmemcache.ParseSavePath(v)
		if err != nil {
			return nil
		}
		var out []savePathPart
		for _, s := range sp.Servers {
			out = append(out, savePathPart{Server: s.Addr(), Weight: s.Weight})
		}
		return out
	case "memcache":
		sp, err := sessmemcache.ParseMemcacheSavePath(v)
		if err != nil {
			return nil
		}
		var out []savePathPart
		for _, s := range sp.Servers {
			out = append(out, savePathPart{Server: s.Addr, Weight: s.Weight, Timeout: s.Timeout})
		}
		return out
	}
	return nil
}

// String is a part as config's human output shows it.
func (p savePathPart) String() string {
	if p.Depth != nil {
		return fmt.Sprintf("depth %d · mode %s · dir %s", *p.Depth, p.Mode, p.Dir)
	}
	parts := []string{p.Server}
	if p.Weight > 1 {
		parts = append(parts, "weight "+strconv.Itoa(p.Weight))
	}
	if p.Database != nil {
		parts = append(parts, "database "+strconv.Itoa(*p.Database))
	}
	if p.Prefix != nil {
		parts = append(parts, "prefix "+strconv.Quote(*p.Prefix))
	}
	if p.Auth != "" {
		parts = append(parts, "auth "+p.Auth)
	}
	if p.TLS {
		parts = append(parts, "tls")
	}
	return strings.Join(parts, " · ")
}
