package cmd

import (
	"os"
	"slices"
	"strings"
	"testing"

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
// files: a pipe or variable, watch, edit, man, completion, /var/lib or
// /etc paths.
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
	if !ok || len(args) == 0 || strings.Contains(cmdLine, "/var/lib") || strings.Contains(cmdLine, "/etc/") {
		return nil, "", false
	}
	switch args[0] {
	case "watch", "edit", "man", "completion":
		return nil, "", false
	}
	return args, cmdLine, true
}

// Every "$ sesstool ..." example of README runs, in order, against a copy
// of testdata/demo (SESSTOOL_SAVE_PATH): it succeeds when README shows no
// error for it, and fails with each "sesstool: ..." line README shows when
// it does (exampleArgs says which are not run).
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	mustDo(t, err)
	demo := copyDir(t, "../testdata/demo")
	lines := strings.Split(string(readme), "\n")
	ran := 0
	for i, l := range lines {
		args, cmdLine, ok := exampleArgs(l, "$ sesstool ")
		if !ok {
			continue
		}
		for k, a := range args {
			args[k] = strings.ReplaceAll(a, "testdata/", "../testdata/")
		}
		var wantErr, wantWarn []string
		for _, o := range lines[i+1:] {
			if strings.HasPrefix(o, "$ ") || strings.HasPrefix(o, "```") {
				break
			}
			if strings.HasPrefix(o, "sesstool: warning: ") {
				wantWarn = append(wantWarn, o)
			} else if strings.HasPrefix(o, "sesstool: ") {
				wantErr = append(wantErr, strings.ReplaceAll(o, `"/tmp/demo"`, `"`+demo+`"`))
			}
		}
		r := runCLIEnv(t, "", map[string]string{"SESSTOOL_SAVE_PATH": demo}, args...)
		ran++
		got := r.errOut
		if line := ErrorLine(r.err); line != "" {
			got += "sesstool: " + line + "\n"
		}
		for _, w := range wantWarn {
			if !strings.Contains(got, w) {
				t.Errorf("README line %d: sesstool %s: warning\n got %s\nwant %s", i+1, cmdLine, got, w)
			}
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
