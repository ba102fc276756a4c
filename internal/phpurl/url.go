// Package phpurl reads URLs and query strings exactly as PHP does
// (php_url_parse_ex2, parse_str, zval_get_long/double of a string), for
// the save_path syntaxes of PHP's session extensions.
package phpurl

import (
	"bytes"
	"strconv"
)

// URL is what PHP's php_url_parse_ex makes of a string: the parts it
// found (nil when absent), as phpredis and pecl memcache read save_path
// entries with it.
type URL struct {
	Scheme, User, Pass, Host, Path, Query, Fragment *string
	Port                                            int
	HasPort                                         bool
}

func strp(s string) *string { return &s }

// Parse parses s as PHP 8's php_url_parse_ex2 does (ext/standard/url.c),
// step for step, so that sesstool reads a save_path exactly as the
// extensions do: ok is false where PHP's parse fails (parse_url() gives
// false).
func Parse(s string) (u URL, ok bool) {
	b := []byte(s)
	ue := len(b)
	st := 0 // s
	var e, p, pp int

	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	isAlpha := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	// cspn is binary_strcspn: the first of chars in b[from:to], else to.
	cspn := func(from, to int, chars string) int {
		end := to
		for i := 0; i < len(chars); i++ {
			if k := bytes.IndexByte(b[from:end], chars[i]); k >= 0 {
				end = from + k
			}
		}
		return end
	}
	relative := func() bool { return st+1 < ue && b[st] == '/' && b[st+1] == '/' }

	e = bytes.IndexByte(b, ':')
	switch {
	case e > 0:
		// validate scheme: 1*[ alpha | digit | "+" | "-" | "." ]
		for p = st; p < e; p++ {
			c := b[p]
			if !isAlpha(c) && !isDigit(c) && c != '+' && c != '.' && c != '-' {
				if e+1 < ue && e < cspn(st, ue, "?#") {
					goto parsePort
				} else if relative() {
					st += 2
					e = -1
					goto parseHost
				}
				goto justPath
			}
		}
		if e+1 == ue { // only a scheme
			u.Scheme = strp(ctl(s[st:e]))
			return u, true
		}
		if b[e+1] != '/' {
			// a port, as in a.com:80?
			p = e + 1
			for p < ue && isDigit(b[p]) {
				p++
			}
			if (p == ue || b[p] == '/') && p-e < 7 {
				goto parsePort
			}
			u.Scheme = strp(ctl(s[st:e]))
			st = e + 1
			goto justPath
		}
		u.Scheme = strp(ctl(s[st:e]))
		if e+2 < ue && b[e+2] == '/' {
			st = e + 3
			if lower(*u.Scheme) == "file" && e+3 < ue && b[e+3] == '/' {
				if e+5 < ue && b[e+5] == ':' {
					st = e + 4
				}
				goto justPath
			}
		} else {
			st = e + 1
			goto justPath
		}
		goto parseHost
	case e == 0:
		goto parsePort
	default:
		if relative() {
			st += 2
			goto parseHost
		}
		goto justPath
	}

parsePort:
	p = e + 1
	pp = p
	for pp < ue && pp-p < 6 && isDigit(b[pp]) {
		pp++
	}
	if pp-p > 0 && pp-p < 6 && (pp == ue || b[pp] == '/') {
		port, err := strconv.Atoi(s[p:pp])
		if err != nil || port > 65535 {
			return URL{}, false
		}
		u.Port, u.HasPort = port, true
		if relative() {
			st += 2
		}
	} else if p == pp && pp == ue {
		return URL{}, false
	} else if relative() {
		st += 2
	} else {
		goto justPath
	}

parseHost:
	e = cspn(st, ue, "/?#")
	// login and password
	if at := bytes.LastIndexByte(b[st:e], '@'); at >= 0 {
		at += st
		if c := bytes.IndexByte(b[st:at], ':'); c >= 0 {
			c += st
			u.User = strp(ctl(s[st:c]))
			u.Pass = strp(ctl(s[c+1 : at]))
		} else {
			u.User = strp(ctl(s[st:at]))
		}
		st = at + 1
	}
	// port
	if st < ue && b[st] == '[' && e > 0 && b[e-1] == ']' {
		p = -1 // an IPv6 address
	} else if c := bytes.LastIndexByte(b[st:e], ':'); c >= 0 {
		p = st + c
	} else {
		p = -1
	}
	if p >= 0 {
		if !u.HasPort {
			q := p + 1
			if e-q > 5 {
				return URL{}, false
			} else if e-q > 0 {
				port, n := strtol(s[q:e])
				if n == 0 || port < 0 || port > 65535 {
					return URL{}, false
				}
				u.Port, u.HasPort = int(port), true
			}
		}
	} else {
		p = e
	}
	if p-st < 1 {
		return URL{}, false
	}
	u.Host = strp(ctl(s[st:p]))
	if e == ue {
		return u, true
	}
	st = e

justPath:
	e = ue
	if h := bytes.IndexByte(b[st:e], '#'); h >= 0 {
		h += st
		u.Fragment = strp(ctl(s[h+1 : e]))
		e = h
	}
	if q := bytes.IndexByte(b[st:e], '?'); q >= 0 {
		q += st
		u.Query = strp(ctl(s[q+1 : e]))
		e = q
	}
	if st < e || st == ue {
		u.Path = strp(ctl(s[st:e]))
	}
	return u, true
}

// strtol is C's strtol(s, &end, 10) on a short string: leading blanks, a
// sign, digits; n is how many bytes it read (0: no number).
func strtol(s string) (int64, int) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var v int64
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		if v < 1<<40 {
			v = v*10 + int64(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, 0
	}
	if neg {
		v = -v
	}
	return v, i
}

// ctl replaces control characters by '_' (php_replace_controlchars).
func ctl(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] < 0x20 || b[j] == 0x7f {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return s
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
