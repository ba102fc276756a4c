package cmd

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// versionString is what version and --version print.
func versionString() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}

// helpTopics are "sesstool help TOPIC" pages: commands without a Run.
func helpTopics() []*cobra.Command {
	return []*cobra.Command{
		{
			Use:     "exit-codes",
			Short:   "The exit codes of sesstool",
			Example: "  sesstool help exit-codes",
			Long: `Exit codes (the same for every command):

  0    success
  1    failure: a session not found, one that cannot be decoded, an I/O error;
       also when some of the work failed (the rest was done and said)
  2    usage: a bad flag or argument, an invalid session id or save_path, a
       VALUE that is not a JSON literal, a change PHP could not read back
       (nothing is written), a serializer sesstool does not know
  3    a session stayed locked past --lock-timeout (a running request holds it)
  129  stopped by SIGHUP, 130 by SIGINT, 143 by SIGTERM or SIGQUIT: between
       sessions, never inside a write (watch, whose normal end this is, exits 0)

A failing command prints exactly one line on stderr, "sesstool: ...", and
leaves every session as it was.`,
		},
		{
			Use:     "environment",
			Short:   "The environment variables sesstool reads",
			Example: "  sesstool help environment",
			Long: `Environment variables:

  SESSTOOL_SAVE_PATH   the save_path when --save-path is not given
  SESSTOOL_SAVE_HANDLER  the store (files, redis, rediscluster, memcached,
                       memcache) when --save-handler is not given
  SSL_CERT_FILE        the CA certificates a tls:// Redis server is checked
                       against (else the system's)
  VISUAL, EDITOR       the editor of "sesstool edit" (VISUAL first, else EDITOR,
                       else vi), run through sh
  TMPDIR               where edit makes the private directory for its text
  NO_COLOR             non-empty: no colour, even on a terminal
  CLICOLOR_FORCE       1: colour even when stdout is not a terminal (less -R)
  TERM                 "dumb": no colour

php.ini files may use ${VAR} for environment variables, as PHP's do.`,
		},
	}
}

// ManOptions are the inputs of the man command.
type ManOptions struct {
	IO  *IOStreams
	Dir string
}

// NewCmdMan builds "sesstool man DIR": man pages (section 1) for every
// command, made by cobra's doc generator, in DIR (made when missing).
func NewCmdMan(f *Factory, root func() *cobra.Command) *cobra.Command {
	opts := &ManOptions{IO: f.IO}
	return &cobra.Command{
		Use:     "man DIR",
		Short:   "Write man pages (section 1) for every command into DIR",
		Example: "  sesstool man /usr/local/share/man/man1 && mandb",
		Args:    exactArgs(1, "a directory"),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if st, err := os.Stat(opts.Dir); err == nil && !st.IsDir() {
				return UsageErrorf("man: %q is not a directory", opts.Dir)
			} else if err != nil {
				// A directory that is not there yet is made (as install -d).
				if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
					return fmt.Errorf("man: %w", err)
				}
			}
			hdr := &doc.GenManHeader{Title: "SESSTOOL", Section: "1", Source: "sesstool " + versionString()}
			r := root()
			r.DisableAutoGenTag = true
			if err := doc.GenManTree(r, hdr, opts.Dir); err != nil {
				return fmt.Errorf("writing man pages into %s: %w", opts.Dir, err)
			}
			fmt.Fprintf(opts.IO.Out, "man pages written to %s\n", opts.Dir)
			return nil
		},
	}
}
