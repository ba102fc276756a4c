package cmd

import (
	"io"
	"time"
)

// IOStreams are the streams a command reads and writes, injected so that
// tests run commands without a terminal and check what they printed.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY  bool // stdin is a terminal (prompts allowed)
	OutTTY bool // stdout is a terminal
	ErrTTY bool // stderr is a terminal (progress lines allowed)

	// Color is true when human output may be coloured: stdout is a
	// terminal (or CLICOLOR_FORCE is set), NO_COLOR is empty and TERM is not
	// "dumb" (colorWanted).
	Color bool

	// Width is stdout's width in columns when it is a terminal (tables and
	// trees are fitted to it), 0 for no limit.
	Width int
}

// Factory carries what every command needs: IO, the clock, the environment
// and the global flags. It is built once by the root command.
type Factory struct {
	IO     *IOStreams
	Now    func() time.Time
	Getenv func(string) string

	// Global holds the values of the global (persistent) flags.
	Global GlobalOptions
}

// GlobalOptions are the persistent flags of CLI.md.
type GlobalOptions struct {
	SavePath         string        // --save-path (or SESSTOOL_SAVE_PATH)
	SavePathSet      bool          // --save-path or the env var was given
	SavePathFrom     string        // "flag --save-path" or "env SESSTOOL_SAVE_PATH" when SavePathSet
	PHPIni           string        // --php-ini FILE
	SAPI             string        // --sapi fpm|apache2|cgi|cli
	SerializeHandler string        // --serialize-handler (empty: not given)
	LockTimeout      time.Duration // --lock-timeout
	NoLock           bool          // --no-lock
	MaxSize          int64         // --max-size: the largest session read
	Owner            string        // --owner USER for created sessions
	EtcRoot          string        // hidden: root directory for /etc/php discovery (tests)
	SaveHandler      string        // --save-handler (or SESSTOOL_SAVE_HANDLER; empty: php.ini's)
	SaveHandlerFrom  string        // "flag --save-handler" or "env SESSTOOL_SAVE_HANDLER"
	Timeout          time.Duration // --timeout: reaching a Redis or Memcached server
	Touch            bool          // set/unset/edit --touch: a fresh TTL on key-value stores
}
