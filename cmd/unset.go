package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// UnsetOptions are the inputs of the unset command.
type UnsetOptions struct {
	IO      *IOStreams
	Open    func() (Backend, *Settings, error)
	Handler string

	ID, Key string
}

// NewCmdUnset builds "sesstool unset ID KEY". runF replaces unsetRun in tests.
func NewCmdUnset(f *Factory, runF func(context.Context, *UnsetOptions) error) *cobra.Command {
	opts := &UnsetOptions{IO: f.IO, Open: f.OpenBackend}
	c := &cobra.Command{
		Use:   "unset ID KEY",
		Short: "Remove one key from a session",
		Long: `Remove one key (a top-level key or a JSON Pointer) from a session, under an
exclusive lock. A key that is not there is not an error: nothing is written.`,
		Example:           "  sesstool unset 3kq8vdl0b1m5e7hn2cfs9ruo4a _token\n  sesstool unset 3kq8vdl0b1m5e7hn2cfs9ruo4a /roles/1",
		Args:              exactArgs(2, "ID and KEY"),
		ValidArgsFunction: completeIDThenKey(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.ID, opts.Key = args[0], args[1]
			opts.Handler = f.Global.SerializeHandler
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return unsetRun(c.Context(), opts)
		},
	}
	addTouchFlag(c, f)
	return c
}

func unsetRun(ctx context.Context, opts *UnsetOptions) error {
	if err := sessfile.ValidateID(opts.ID); err != nil {
		return err
	}
	if err := checkKey(opts.Key); err != nil {
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
	res, err := mutateSession(ctx, store, st, opts.ID, h, false, opts.Key, func(s *phpser.Session) (bool, error) {
		removed, err := s.Unset(opts.Key)
		if err != nil {
			return false, pathErr(fmt.Errorf("cannot unset %q: %w", opts.Key, err))
		}
		return removed, nil
	})
	if err == nil && res.Warning != "" {
		fmt.Fprintf(opts.IO.ErrOut, "sesstool: warning: %s\n", oneLine(res.Warning))
	}
	return err
}
