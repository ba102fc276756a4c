package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// SetOptions are the inputs of the set command.
type SetOptions struct {
	IO      *IOStreams
	Open    func() (Backend, *Settings, error)
	Handler string // --serialize-handler, "" for auto

	ID, Key, Value string
	String         bool // --string: VALUE verbatim as a PHP string
	Create         bool // --create: make the session if missing
}

// NewCmdSet builds "sesstool set ID KEY VALUE". runF replaces setRun in tests.
func NewCmdSet(f *Factory, runF func(context.Context, *SetOptions) error) *cobra.Command {
	opts := &SetOptions{IO: f.IO, Open: f.OpenBackend}
	c := &cobra.Command{
		Use:   "set ID KEY VALUE",
		Short: "Set one key of a session",
		Long: `Set one key of a session, under an exclusive lock, re-encoded in the
session's own handler. VALUE is a JSON literal: 5 (int), 5.0 (float), "x"
(string), true, null, [..], {..}; --string stores VALUE verbatim as a string.
KEY starting with / is a JSON Pointer into nested arrays ("/cart/0/qty").
Use -- before a negative VALUE.`,
		Example: `  sesstool set 3kq8vdl0b1m5e7hn2cfs9ruo4a user_id 42
  sesstool set 3kq8vdl0b1m5e7hn2cfs9ruo4a username --string alice
  sesstool set 3kq8vdl0b1m5e7hn2cfs9ruo4a /roles/- '"ROLE_EDITOR"'
  sesstool set --create newsession0000000000000001 flash '{"msg":"hi"}'`,
		Args:              exactArgs(3, "ID, KEY and VALUE"),
		ValidArgsFunction: completeIDThenKey(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ID, opts.Key, opts.Value = args[0], args[1], args[2]
			opts.Handler = f.Global.SerializeHandler
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return setRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.String, "string", false, "store VALUE verbatim as a string")
	c.Flags().BoolVar(&opts.Create, "create", false, "create the session if it does not exist")
	addTouchFlag(c, f)
	return c
}

// parseValue reads VALUE: verbatim with --string, else a JSON literal.
func parseValue(raw string, asString bool) (phpser.Value, error) {
	if asString {
		return phpser.String(raw), nil
	}
	v, err := phpser.ParseJSON([]byte(raw))
	if err != nil {
		return v, UsageErrorf("invalid VALUE %q: not a JSON literal (%v); quote strings as '\"text\"' or use --string", raw, err)
	}
	return v, nil
}

func setRun(ctx context.Context, opts *SetOptions) error {
	if err := sessfile.ValidateID(opts.ID); err != nil {
		return err
	}
	if err := checkKey(opts.Key); err != nil {
		return err
	}
	val, err := parseValue(opts.Value, opts.String)
	if err != nil {
		return err
	}
	store, st, err := opts.Open()
	if err != nil {
		return err
	}
	defer store.Close()
	h, err := st.handlerFor(opts.Handler)
	if err != nil {
		return err
	}
	res, err := mutateSession(ctx, store, st, opts.ID, h, opts.Create, opts.Key, func(s *phpser.Session) (bool, error) {
		if err := s.Set(opts.Key, val); err != nil {
			return false, pathErr(fmt.Errorf("cannot set %q: %w", opts.Key, err))
		}
		return true, nil
	})
	if err == nil && res.Warning != "" {
		fmt.Fprintf(opts.IO.ErrOut, "sesstool: warning: %s\n", oneLine(res.Warning))
	}
	return err
}
