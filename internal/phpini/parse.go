// Package phpini reads php.ini files the way PHP's ini scanner does, for the
// few session settings sesstool needs, and finds the files PHP would load
// for a SAPI on a Debian-style /etc/php layout. It never runs php.
package phpini

import (
	"fmt"
	"strings"
)

// Entry is one `key = value` directive as PHP would see it.
type Entry struct {
	Key   string // directive name, e.g. "session.save_path"
	Value string // the value after quoting, ${VAR} expansion and On/Off mapping
	File  string // file it came from
	Line  int    // 1-based line of the key
	// CommentCut is true when an unquoted value ran straight into a ';',
	// which PHP treats as the start of a comment: the rest of the line
	// (Dropped) is not part of the value.
	CommentCut bool
	Dropped    string
}

// Where returns "file:line".
func (e Entry) Where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// Error is a php.ini syntax error; PHP stops reading the file there and keeps
// what it read before.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error returns "file:line: message".
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parse reads php.ini text and returns its directives in order. lookup
// resolves ${NAME}: PHP looks at directives read so far, then the
// environment; Parse does the first part and calls getenv for the second.
// Sections ([PATH=...], [HOST=...]) apply only to CGI/FPM requests of a
// path or host, never to what sesstool needs, so their directives, and as
// in PHP every directive after them in the same file, are skipped. On a syntax error Parse returns the entries before it and the
// *Error, as PHP does.
func Parse(text, file string, getenv func(string) string, prior map[string]string) ([]Entry, error) {
	p := &parser{s: text, file: file, line: 1, getenv: getenv, vars: map[string]string{}}
	for k, v := range prior {
		p.vars[k] = v
	}
	var out []Entry
	inSection := false
	for p.i < len(p.s) {
		p.skipSpace()
		if p.i >= len(p.s) {
			break
		}
		switch c := p.s[p.i]; {
		case c == '\n':
			p.i++
			p.line++
			continue
		case c == '\r':
			p.i++
			continue
		case c == ';':
			p.skipLine()
			continue
		case c == '[':
			end := strings.IndexAny(p.s[p.i:], "]\n")
			if end < 0 || p.s[p.i+end] != ']' {
				return out, &Error{file, p.line, "unterminated section header"}
			}
			name := strings.ToUpper(strings.TrimSpace(p.s[p.i+1 : p.i+end]))
			// Once a [PATH=]/[HOST=] section starts, PHP files every later
			// directive of this file under it, even after an ordinary
			// [Section] header (php_ini.c never resets its active hash).
			if strings.HasPrefix(name, "PATH=") || strings.HasPrefix(name, "HOST=") {
				inSection = true
			}
			p.i += end + 1
			continue
		}
		line := p.line
		// key: up to '=' on this line
		ks := p.i
		for p.i < len(p.s) && p.s[p.i] != '=' && p.s[p.i] != '\n' && p.s[p.i] != ';' {
			p.i++
		}
		key := strings.TrimSpace(p.s[ks:p.i])
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			// A bare key (no value): PHP sets it to "" for plain names.
			if key != "" && !inSection {
				out = append(out, Entry{Key: key, File: file, Line: line})
			}
			continue
		}
		p.i++ // '='
		e, err := p.value()
		if err != nil {
			return out, err
		}
		e.Key, e.File, e.Line = key, file, line
		if inSection {
			continue
		}
		p.vars[key] = e.Value
		out = append(out, e)
	}
	return out, nil
}

type parser struct {
	s      string
	i      int
	file   string
	line   int
	getenv func(string) string
	vars   map[string]string
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) skipLine() {
	for p.i < len(p.s) && p.s[p.i] != '\n' {
		p.i++
	}
}

func (p *parser) lookup(name string) string {
	if v, ok := p.vars[name]; ok {
		return v
	}
	if p.getenv != nil {
		return p.getenv(name)
	}
	return ""
}

// value parses the value after '=' up to the end of the line (double-quoted
// strings may span lines). Adjacent parts concatenate; whitespace between
// parts is dropped, whitespace inside an unquoted run is kept.
func (p *parser) value() (Entry, error) {
	var b strings.Builder
	var e Entry
	parts := 0
	onlyRaw := ""
	for {
		p.skipSpace()
		if p.i >= len(p.s) || p.s[p.i] == '\n' || p.s[p.i] == '\r' {
			break
		}
		switch c := p.s[p.i]; {
		case c == ';':
			p.skipLine()
			goto done
		case c == '"':
			startLine := p.line
			p.i++
			for {
				if p.i >= len(p.s) {
					return e, &Error{p.file, startLine, "unterminated double-quoted string"}
				}
				c := p.s[p.i]
				if c == '"' {
					p.i++
					break
				}
				if c == '\\' && p.i+1 < len(p.s) {
					switch n := p.s[p.i+1]; n {
					case '"', '\\', '$':
						b.WriteByte(n)
						p.i += 2
						continue
					}
				}
				if c == '$' && strings.HasPrefix(p.s[p.i:], "${") {
					v, err := p.varRef()
					if err != nil {
						return e, err
					}
					b.WriteString(v)
					continue
				}
				if c == '\n' {
					p.line++
				}
				b.WriteByte(c)
				p.i++
			}
			parts += 2
		case c == '\'':
			end := strings.IndexByte(p.s[p.i+1:], '\'')
			if end < 0 {
				return e, &Error{p.file, p.line, "unterminated single-quoted string"}
			}
			raw := p.s[p.i+1 : p.i+1+end]
			p.line += strings.Count(raw, "\n")
			b.WriteString(raw)
			p.i += end + 2
			parts += 2
		case c == '$' && strings.HasPrefix(p.s[p.i:], "${"):
			v, err := p.varRef()
			if err != nil {
				return e, err
			}
			b.WriteString(v)
			parts += 2
		default:
			s := p.i
			for p.i < len(p.s) {
				c := p.s[p.i]
				if c == ';' || c == '\n' || c == '\r' || c == '"' || c == '\'' || (c == '$' && strings.HasPrefix(p.s[p.i:], "${")) {
					break
				}
				p.i++
			}
			raw := strings.TrimRight(p.s[s:p.i], " \t")
			if p.i < len(p.s) && p.s[p.i] == ';' && raw == p.s[s:p.i] {
				e.CommentCut = true
				rest := p.s[p.i+1:]
				if j := strings.IndexByte(rest, '\n'); j >= 0 {
					rest = rest[:j]
				}
				e.Dropped = strings.TrimRight(rest, "\r")
			}
			b.WriteString(raw)
			parts++
			onlyRaw = raw
		}
	}
done:
	e.Value = b.String()
	if parts == 1 {
		switch strings.ToLower(onlyRaw) {
		case "on", "yes", "true":
			e.Value = "1"
		case "off", "no", "false", "none", "null":
			e.Value = ""
		}
	}
	return e, nil
}

// varRef expands ${NAME} at p.i.
func (p *parser) varRef() (string, error) {
	end := strings.IndexByte(p.s[p.i:], '}')
	if end < 0 || strings.ContainsAny(p.s[p.i:p.i+end], "\n") {
		return "", &Error{p.file, p.line, "unterminated ${...}"}
	}
	name := p.s[p.i+2 : p.i+end]
	p.i += end + 1
	return p.lookup(name), nil
}
