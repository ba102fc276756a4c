package cmd

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"

	"github.com/spf13/cobra"
)

// shellWords splits a command line as sh does for the quoting README uses
// ('...', "...", plain words); ok is false for pipes, redirections,
// variables and anything else that needs a shell.
func shellWords(line string) (words []string, ok bool) {
	var cur strings.Builder
	in := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil, false
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '|' || c == '>' || c == '<' || c == '&' || c == ';' || c == '$' || c == '`':
			return nil, false
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, true
}

// exampleArgs returns the arguments of an example line "sesstool ARGS
// [  # comment]" (after prefix), or ok false when it is not one sesstool
// can run without a shell, a terminal, an editor or another machine's
// files: a pipe or variable, watch, edit, man, completion, unlock (its
// locks are a Redis server's), a tcp:// server, /var/lib or /etc paths.
func exampleArgs(line, prefix string) (args []string, cmdLine string, ok bool) {
	cmdLine, ok = strings.CutPrefix(line, prefix)
	if !ok {
		return nil, "", false
	}
	if c, _, found := strings.Cut(cmdLine, "  #"); found {
		cmdLine = c
	}
	cmdLine = strings.TrimSpace(cmdLine)
	args, ok = shellWords(cmdLine)
	if !ok || len(args) == 0 || strings.Contains(cmdLine, "/var/lib") || strings.Contains(cmdLine, "/etc/") || strings.Contains(cmdLine, "tcp://") {
		return nil, "", false
	}
	switch args[0] {
	case "watch", "edit", "man", "completion", "unlock":
		return nil, "", false
	}
	return args, cmdLine, true
}

// Every "$ sesstool ..." example of README runs, in order, against a copy
// of testdata/demo (SESSTOOL_SAVE_PATH, and testdata/demo itself: the test
// runs in a directory whose testdata/ holds the copy), as on a terminal:
// what it prints on stdout is what README shows (goldenDiff), it succeeds
// when README shows no error for it, and fails with each "sesstool: ..."
// line README shows when it does (exampleArgs says which are not run).
// README's outputs were made with Debian's PHP 8.2 php.ini, which the
// examples read; without it only exit codes and stderr are compared.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	mustDo(t, err)
	etcRoot, golden := t.TempDir(), true
	if _, err := os.Stat("/etc/php/8.2/cli/php.ini"); err == nil {
		etcRoot = "/"
	} else if os.Getenv(phptest.RequireEnv) == "1" {
		t.Fatalf("README's outputs need Debian's /etc/php/8.2/cli/php.ini (apt-get install php8.2-cli): %v", err)
	} else {
		golden = false
		t.Logf("stdout not compared: README's outputs were made with Debian's /etc/php/8.2/cli/php.ini, not here (apt-get install php8.2-cli)")
	}
	demo := exampleTree(t)
	lines := strings.Split(string(readme), "\n")
	ran := 0
	for i, l := range lines {
		// "| head -N": stdout a pipe, its first N lines.
		head := -1
		if c, n, found := strings.Cut(l, " | head -"); found {
			if k, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
				l, head = c, k
			}
		}
		args, cmdLine, ok := exampleArgs(l, "$ sesstool ")
		if !ok {
			continue
		}
		// "  # exit N": the example ends with that code and no error
		// line (audit's findings, for one).
		wantCode := -1
		if _, c, found := strings.Cut(l, "  # exit "); found {
			if n, err := strconv.Atoi(strings.TrimSpace(c)); err == nil {
				wantCode = n
			}
		}
		var wantErr, wantWarn, wantOut []string
		for _, o := range lines[i+1:] {
			if strings.HasPrefix(o, "$ ") || strings.HasPrefix(o, "```") {
				break
			}
			if strings.HasPrefix(o, "sesstool: warning: ") {
				wantWarn = append(wantWarn, o)
			} else if strings.HasPrefix(o, "sesstool: ") {
				wantErr = append(wantErr, o)
			} else {
				wantOut = append(wantOut, o)
			}
		}
		for len(wantOut) > 0 && strings.TrimSpace(wantOut[len(wantOut)-1]) == "" {
			wantOut = wantOut[:len(wantOut)-1]
		}
		r := runExample(t, demo, etcRoot, head < 0, args...)
		if head >= 0 {
			if out := strings.SplitAfter(r.out, "\n"); len(out) > head {
				r.out = strings.Join(out[:head], "")
			}
		}
		ran++
		if golden && len(wantOut) > 0 {
			if diff := goldenDiff(wantOut, strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")); diff != "" {
				t.Errorf("README line %d: sesstool %s: stdout is not what README shows:\n%s", i+1, cmdLine, diff)
			}
		}
		got := r.errOut
		if line := ErrorLine(r.err); line != "" {
			got += "sesstool: " + strings.ReplaceAll(line, demo, "/tmp/demo") + "\n"
		}
		for _, w := range wantWarn {
			if !strings.Contains(got, w) {
				t.Errorf("README line %d: sesstool %s: warning\n got %s\nwant %s", i+1, cmdLine, got, w)
			}
		}
		if wantCode >= 0 {
			if r.code != wantCode || len(wantErr) > 0 && !strings.Contains(got, wantErr[0]) {
				t.Errorf("README line %d: sesstool %s: exit %d, want %d; %s", i+1, cmdLine, r.code, wantCode, got)
			}
			continue
		}
		if len(wantErr) == 0 {
			if r.code != 0 {
				t.Errorf("README line %d: sesstool %s: exit %d, %s", i+1, cmdLine, r.code, got)
			}
			continue
		}
		if r.code == 0 {
			t.Errorf("README line %d: sesstool %s: exit 0, README shows %q", i+1, cmdLine, wantErr)
		}
		for _, w := range wantErr {
			if !strings.Contains(got, w) {
				t.Errorf("README line %d: sesstool %s:\n got %s\nwant %s", i+1, cmdLine, got, w)
			}
		}
	}
	if ran < 25 {
		t.Errorf("only %d README examples ran", ran)
	}
}

// demoTime is the modification time every session of the examples' demo
// copy gets, and exampleNow the clock they run at: ages and times in
// README are what they print.
var (
	demoTime   = time.Date(2026, 11, 21, 23, 33, 8, 0, time.UTC)
	exampleNow = demoTime.Add(9 * time.Minute)
)

// exampleTree makes the directory README's examples run in (the test's
// working directory from now on): testdata/demo a copy of the demo, the
// rest of testdata/ linked. It returns the copy's absolute path.
func exampleTree(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs("../testdata")
	mustDo(t, err)
	root := t.TempDir()
	mustDo(t, os.Mkdir(filepath.Join(root, "testdata"), 0o755))
	ents, err := os.ReadDir(src)
	mustDo(t, err)
	for _, e := range ents {
		if e.Name() != "demo" {
			mustDo(t, os.Symlink(filepath.Join(src, e.Name()), filepath.Join(root, "testdata", e.Name())))
		}
	}
	demo := filepath.Join(root, "testdata", "demo")
	mustDo(t, os.Rename(copyDir(t, filepath.Join(src, "demo")), demo))
	t.Chdir(root)
	return demo
}

// runExample runs one README example as on a terminal with no width limit
// (tty) or into a pipe,
// at exampleNow, over demo (SESSTOOL_SAVE_PATH) with every session's mtime
// set to demoTime first, and php.ini found under etcRoot. Paths under demo
// are printed as /tmp/demo, where README's copy lives.
func runExample(t *testing.T, demo, etcRoot string, tty bool, args ...string) cliResult {
	t.Helper()
	ents, err := os.ReadDir(demo)
	mustDo(t, err)
	for _, e := range ents {
		mustDo(t, os.Chtimes(filepath.Join(demo, e.Name()), demoTime, demoTime))
	}
	var out, errb strings.Builder
	f := &Factory{
		IO:     &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb, OutTTY: tty},
		Now:    func() time.Time { return exampleNow },
		Getenv: func(k string) string { return map[string]string{"SESSTOOL_SAVE_PATH": demo}[k] },
	}
	err = Execute(t.Context(), NewCmdRoot(f), append([]string{"--etc-root", etcRoot}, args...))
	return cliResult{out: strings.ReplaceAll(out.String(), demo, "/tmp/demo"), errOut: strings.ReplaceAll(errb.String(), demo, "/tmp/demo"), err: err, code: ExitCode(err)}
}

// goldenNorm makes a line comparable across machines: local times in
// UTC's spelling, runs of blanks one blank, a rule one "─".
var (
	goldenTime  = regexp.MustCompile(`(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(Z|[+-]\d\d:\d\d)?`)
	goldenBlank = regexp.MustCompile(`[ \t]+`)
	goldenRule  = regexp.MustCompile(`─+`)
)

func goldenNorm(l string) string {
	l = goldenTime.ReplaceAllString(l, "$1")
	l = goldenRule.ReplaceAllString(l, "─")
	return strings.TrimSpace(goldenBlank.ReplaceAllString(l, " "))
}

// goldenDiff compares README's output lines with what was printed, in the
// manner of testscript's cmp: line by line after goldenNorm, a README line
// "..." standing for any number of printed lines. It returns "" when they
// agree, else both texts.
func goldenDiff(want, got []string) string {
	var match func(w, g []string) bool
	match = func(w, g []string) bool {
		for len(w) > 0 {
			if strings.TrimSpace(w[0]) == "..." {
				for k := 0; k <= len(g); k++ {
					if match(w[1:], g[k:]) {
						return true
					}
				}
				return false
			}
			if len(g) == 0 || goldenNorm(w[0]) != goldenNorm(g[0]) {
				return false
			}
			w, g = w[1:], g[1:]
		}
		return len(g) == 0
	}
	if match(want, got) {
		return ""
	}
	return "README:\n" + strings.Join(want, "\n") + "\nprinted:\n" + strings.Join(got, "\n")
}

// Every example in --help runs against a copy of testdata/demo and
// succeeds (each command's examples in a fresh copy: some destroy).
// Examples that need a terminal, an editor, a live server or a machine's
// own /etc are not run: watch, edit, completion's install lines, man, and
// any that pipe or name /var/lib.
func TestHelpExamples(t *testing.T) {
	f := &Factory{IO: &IOStreams{}, Getenv: func(string) string { return "" }}
	var walk func(c *cobra.Command)
	ran := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		demo := ""
		for _, l := range strings.Split(c.Example, "\n") {
			args, cmdLine, ok := exampleArgs(strings.TrimSpace(l), "sesstool ")
			if !ok {
				continue
			}
			if demo == "" {
				demo = copyDir(t, "../testdata/demo")
			}
			for k, a := range args {
				args[k] = strings.ReplaceAll(a, "testdata/demo", demo)
				args[k] = strings.ReplaceAll(args[k], "testdata/", "../testdata/")
			}
			env := map[string]string{"SESSTOOL_SAVE_PATH": demo}
			if slices.Contains(args, "--all") {
				env = nil // --all finds the save_paths of /etc/php itself
			}
			r := runCLIEnv(t, "", env, args...)
			ran++
			if r.code != 0 {
				t.Errorf("%s --help: sesstool %s: exit %d: %s%s", c.CommandPath(), cmdLine, r.code, r.errOut, ErrorLine(r.err))
			}
		}
	}
	walk(NewCmdRoot(f))
	if ran < 20 {
		t.Errorf("only %d --help examples ran", ran)
	}
}
