package cmd

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
)

// DecodeOptions are the inputs of the decode command.
type DecodeOptions struct {
	IO       *IOStreams
	Settings func() (*Settings, error)
	Handler  string
	File     string // "" or "-" for stdin
	Output   string
	MaxSize  int64 // --max-size
}

// NewCmdDecode builds "sesstool decode [FILE|-]". runF replaces decodeRun in tests.
func NewCmdDecode(f *Factory, runF func(*DecodeOptions) error) *cobra.Command {
	opts := &DecodeOptions{IO: f.IO, Settings: f.Settings}
	c := &cobra.Command{
		Use:   "decode [FILE|-]",
		Short: "Decode a raw session payload from a file or stdin",
		Long: `Decode a raw session payload (a Redis value, a database column, a copied
session file) from FILE or stdin, with --serialize-handler (default auto), and
show it as show does: a tree, or -o json.`,
		Example: `  sesstool decode testdata/demo/sess_3kq8vdl0b1m5e7hn2cfs9ruo4a
  redis-cli --raw GET PHPREDIS_SESSION:abc | sesstool decode - -o json`,
		Args: rangeArgs(0, 1, "at most one FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.File = args[0]
			}
			opts.MaxSize = f.Global.MaxSize
			opts.Handler = f.Global.SerializeHandler
			if err := checkFormat(opts.Output, FormatHuman, FormatJSON); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return decodeRun(opts)
		},
	}
	addOutputFlag(c, &opts.Output, FormatHuman, FormatJSON)
	return c
}

func decodeRun(opts *DecodeOptions) error {
	name := opts.File
	var r io.Reader = opts.IO.In
	if name == "" || name == "-" {
		name = "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	max := opts.MaxSize
	if max <= 0 {
		max = DefaultMaxSize
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return fmt.Errorf("%s is larger than --max-size %s", name, FormatSize(max))
	}
	fallback := phpser.HandlerPHP
	var st *Settings
	if opts.Settings != nil {
		if s, err := opts.Settings(); err == nil {
			st = s
			fallback = s.FallbackHandler()
		}
	}
	// decode reads a value from anywhere: auto unless --serialize-handler
	// names one, whatever php.ini says (CLI.md).
	var none *Settings
	h, err := none.handlerFor(opts.Handler)
	if err != nil {
		return err
	}
	d := decodeStored(data, h, fallback, st.DecodeOptions())
	what := fmt.Sprintf("%q", name)
	if name == "stdin" {
		what = "stdin"
	}
	if d.Err != nil {
		return decodeErr(what, d, data)
	}
	if opts.Output == FormatJSON {
		b, err := d.Sess.MarshalJSON()
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(append(b, '\n'))
		return err
	}
	sty := NewStyles(opts.IO)
	title := sty.Header.Render(name) + sty.Dim.Render(fmt.Sprintf("  %s · %s", HumanSize(int64(len(data))), handlerNote(d, st)))
	_, err = fmt.Fprintln(opts.IO.Out, newViewer(sty, d.Sess).sessionTree(title))
	return err
}
