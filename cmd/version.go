package cmd

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// VersionOptions are the inputs of the version command.
type VersionOptions struct {
	IO *IOStreams
}

// NewCmdVersion builds "sesstool version". runF replaces versionRun in tests.
func NewCmdVersion(f *Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IO}
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of sesstool",
		Example: "  sesstool version",
		Args:    noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *VersionOptions) error {
	_, err := fmt.Fprintf(opts.IO.Out, "sesstool %s (%s, %s/%s)\n", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
