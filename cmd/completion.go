package cmd

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/sessfile"
)

// maxCompletions bounds how many ids completion offers.
const maxCompletions = 1000

// completeIDs completes session ids from the store for the first max
// positional arguments (max < 0: all of them).
func completeIDs(f *Factory, max int) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max >= 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if err := resolveGlobals(f, c); err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		store, _, err := f.OpenBackend()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		defer store.Close()
		var ids []cobra.Completion
		stop := errors.New("enough")
		err = store.Walk(context.Background(), func(info sessfile.Info) error {
			if strings.HasPrefix(info.ID, toComplete) {
				ids = append(ids, info.ID)
				if len(ids) >= maxCompletions {
					return stop
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			return nil, cobra.ShellCompDirectiveError
		}
		return ids, cobra.ShellCompDirectiveNoFileComp
	}
}
