package cmd

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
)

// DefaultLockTimeout is the default of --lock-timeout.
const DefaultLockTimeout = 10 * time.Second

// SAPIs sesstool can discover php.ini for, in the default search order.
var sapiOrder = []string{"fpm", "apache2", "cgi", "cli"}

// NewCmdRoot builds the sesstool command tree with the global flags of
// CLI.md bound to f.Global. It is the only place commands are registered.
func NewCmdRoot(f *Factory) *cobra.Command {
	if f.Now == nil {
		f.Now = time.Now
	}
	if f.Getenv == nil {
		f.Getenv = os.Getenv
	}
	root := &cobra.Command{
		Use:   "sesstool",
		Short: "Inspect and administer PHP session storage (files, Redis, Memcached)",
		Long: `sesstool lists, shows, edits and cleans PHP sessions stored by the files
save handler, by phpredis (redis, rediscluster), php-memcached (memcached) or
pecl memcache (memcache), safely beside a running PHP site: it locks each
session the way PHP does (flock on files, the extensions' lock keys on Redis
and Memcached) and writes in place.

Where sessions live comes from --save-path (or SESSTOOL_SAVE_PATH), else from
the php.ini files PHP would load (--php-ini, --sapi); "sesstool config" shows
what was used.`,
		SilenceErrors:              true,
		SilenceUsage:               true,
		SuggestionsMinimumDistance: 2,
		Args:                       noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return c.Help()
		},
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			return resolveGlobals(f, c)
		},
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetIn(f.IO.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usage(err)
	})
	root.CompletionOptions.HiddenDefaultCmd = false

	g := &f.Global
	pf := root.PersistentFlags()
	pf.StringVar(&g.SavePath, "save-path", "", "session.save_path: `DIR`, N;DIR or N;MODE;DIR (env SESSTOOL_SAVE_PATH)")
	pf.StringVar(&g.PHPIni, "php-ini", "", "read settings from this php.ini `FILE` instead of discovering it")
	pf.StringVar(&g.SAPI, "sapi", "", "discover php.ini of this SAPI: fpm, apache2, cgi or cli (default: first found in that order)")
	pf.StringVar(&g.SerializeHandler, "serialize-handler", "", "php, php_binary, php_serialize or auto (default: php.ini's session.serialize_handler when one was found, else auto; auto detects per session)")
	pf.Var(newDurationValue(&g.LockTimeout, DefaultLockTimeout), "lock-timeout", "how long to wait for a session's lock (0 = do not wait)")
	pf.BoolVar(&g.NoLock, "no-lock", false, "read without taking locks (a write in progress may show as corrupt)")
	pf.Var(newSizeValue(&g.MaxSize, DefaultMaxSize), "max-size", "the largest session read (64MiB, 1G, ...); larger ones and sparse files are listed but not read")
	pf.StringVar(&g.Owner, "owner", "", "`USER` to own sessions sesstool creates as root (default: the PHP user of the PHP-FPM pool or Apache configuration, else the save_path's owner)")
	pf.StringVar(&g.SaveHandler, "save-handler", "", "the store: files, redis, rediscluster, memcached or memcache (env SESSTOOL_SAVE_HANDLER; default: php.ini's session.save_handler, else files)")
	pf.Var(newDurationValue(&g.Timeout, DefaultTimeout), "timeout", "how long to wait for a Redis or Memcached server to answer")
	pf.StringVar(&g.EtcRoot, "etc-root", "/", "root directory under which /etc/php is searched")
	_ = pf.MarkHidden("etc-root")
	_ = root.RegisterFlagCompletionFunc("sapi", cobra.FixedCompletions(sapiOrder, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("save-handler", cobra.FixedCompletions(saveHandlers, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("serialize-handler", cobra.FixedCompletions([]string{"auto", "php", "php_binary", "php_serialize"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		NewCmdConfig(f, nil),
		NewCmdVersion(f, nil),
		NewCmdLs(f, nil),
		NewCmdShow(f, nil),
		NewCmdSet(f, nil),
		NewCmdUnset(f, nil),
		NewCmdDestroy(f, nil),
		NewCmdDecode(f, nil),
		NewCmdEdit(f, nil),
		NewCmdWatch(f, nil),
		NewCmdGC(f, nil),
		NewCmdStats(f, nil),
		NewCmdAudit(f, nil),
		NewCmdMigrate(f, nil),
		NewCmdLocks(f, nil),
		NewCmdUnlock(f, nil),
		NewCmdMan(f, func() *cobra.Command { return NewCmdRoot(f) }),
	)
	root.AddCommand(helpTopics()...)
	root.Version = versionString()
	root.SetVersionTemplate("sesstool {{.Version}}\n")
	// cobra adds its completion command when it runs; make it now to give
	// it examples like every other command.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = `  sesstool completion bash > /etc/bash_completion.d/sesstool
  sesstool completion zsh > "${fpath[1]}/_sesstool"
  sesstool completion fish > ~/.config/fish/completions/sesstool.fish`
			for _, sh := range c.Commands() {
				sh.Example = "  sesstool completion " + sh.Name() + "   # see above for where to put it"
			}
		}
	}
	return root
}

// resolveGlobals applies the environment to the global flags and checks
// them; it runs before every command.
func resolveGlobals(f *Factory, c *cobra.Command) error {
	g := &f.Global
	if fl := c.Flags().Lookup("save-path"); fl != nil && fl.Changed {
		if g.SavePath == "" {
			return UsageErrorf("--save-path is empty: give the directory where sessions live")
		}
		g.SavePathSet, g.SavePathFrom = true, "flag --save-path"
	} else if v := f.Getenv("SESSTOOL_SAVE_PATH"); v != "" {
		g.SavePath = v
		g.SavePathSet, g.SavePathFrom = true, savePathFromEnv
	}
	if fl := c.Flags().Lookup("save-handler"); fl != nil && fl.Changed {
		g.SaveHandlerFrom = "flag --save-handler"
	} else if v := f.Getenv("SESSTOOL_SAVE_HANDLER"); v != "" {
		g.SaveHandler, g.SaveHandlerFrom = v, "env SESSTOOL_SAVE_HANDLER"
	}
	if g.SaveHandlerFrom != "" && !slices.Contains(saveHandlers, g.SaveHandler) {
		return UsageErrorf("invalid save handler %q (%s): want one of %s", g.SaveHandler, g.SaveHandlerFrom, strings.Join(saveHandlers, ", "))
	}
	if g.SAPI != "" {
		ok := false
		for _, s := range sapiOrder {
			if g.SAPI == s {
				ok = true
			}
		}
		if !ok {
			return UsageErrorf("invalid --sapi %q: want one of %s", g.SAPI, strings.Join(sapiOrder, ", "))
		}
	}
	if g.SerializeHandler != "" {
		h, err := phpser.ParseHandler(g.SerializeHandler)
		if err != nil {
			return usage(fmt.Errorf("--serialize-handler: %w", err))
		}
		g.SerializeHandler = string(h)
	}
	if g.EtcRoot == "" {
		g.EtcRoot = "/"
	}
	return nil
}

// Execute runs root with args under ctx and returns the command's error.
func Execute(ctx context.Context, root *cobra.Command, args []string) error {
	root.SetArgs(args)
	_, err := root.ExecuteContextC(ctx)
	return err
}

// noArgs refuses any positional argument, as a usage error.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		if c.HasSubCommands() {
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				q := make([]string, len(s))
				for i, n := range s {
					q[i] = fmt.Sprintf("%q", n)
				}
				return UsageErrorf("unknown command %q for %q (did you mean %s?)", args[0], c.CommandPath(), strings.Join(q, " or "))
			}
			return UsageErrorf("unknown command %q for %q", args[0], c.CommandPath())
		}
		return UsageErrorf("%s takes no arguments, got %q", cmdName(c), args[0])
	}
	return nil
}

// exactArgs requires exactly n positional arguments, naming them on error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return UsageErrorf("%s needs %s, got %d argument(s)", cmdName(c), names, len(args))
		}
		return nil
	}
}

// rangeArgs requires between min and max positional arguments.
func rangeArgs(min, max int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			return UsageErrorf("%s needs %s, got %d argument(s)", cmdName(c), names, len(args))
		}
		return nil
	}
}

// cmdName is c's path without the program's name: errors carry that name
// once, in their "sesstool: " prefix.
func cmdName(c *cobra.Command) string {
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

// saveHandlers are the session.save_handler values sesstool serves.
var saveHandlers = []string{"files", "redis", "rediscluster", "memcached", "memcache"}

// DefaultTimeout is --timeout's default.
const DefaultTimeout = 5 * time.Second

// savePathFromEnv is GlobalOptions.SavePathFrom when SESSTOOL_SAVE_PATH
// gave the save_path.
const savePathFromEnv = "env SESSTOOL_SAVE_PATH"
