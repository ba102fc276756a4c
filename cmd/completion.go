package cmd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sesstool/sesstool/phpser"
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

// completeIDThenKey completes an id as the first argument and a key of
// that session as the second (set ID KEY, unset ID KEY).
func completeIDThenKey(f *Factory) cobra.CompletionFunc {
	ids := completeIDs(f, 1)
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return ids(c, args, toComplete)
		case 1:
			return completeKeys(f, c, args[:1], toComplete)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeKeyFlag completes --key (show) and --where (ls, destroy, watch):
// the keys of the sessions named in args, else of the first sessions of
// the store. --where candidates end without a space: an operator follows.
func completeKeyFlag(f *Factory, noSpace bool) cobra.CompletionFunc {
	return func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		keys, dir := completeKeys(f, c, args, toComplete)
		if noSpace && dir == cobra.ShellCompDirectiveNoFileComp {
			dir |= cobra.ShellCompDirectiveNoSpace
		}
		return keys, dir
	}
}

// keySample is how many sessions --where completion reads for its keys.
const keySample = 100

// completeKeys offers the top-level keys (and, after a '/', the JSON
// Pointers one level down) of the sessions ids, or of the first keySample
// sessions when ids is empty. Each session is read under its shared lock,
// waiting at most a second: completion never hangs on a busy session.
func completeKeys(f *Factory, c *cobra.Command, ids []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if err := resolveGlobals(f, c); err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	store, st, err := f.OpenBackend()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if len(ids) == 0 {
		stop := errors.New("enough")
		_ = store.Walk(ctx, func(info sessfile.Info) error {
			ids = append(ids, info.ID)
			if len(ids) >= keySample {
				return stop
			}
			return nil
		})
	}
	h, err := st.handlerFor(f.Global.SerializeHandler)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	seen := map[string]bool{}
	var out []cobra.Completion
	add := func(k string) {
		if !seen[k] && strings.HasPrefix(k, toComplete) && len(out) < maxCompletions {
			seen[k] = true
			out = append(out, k)
		}
	}
	pointer := strings.HasPrefix(toComplete, "/")
	for _, id := range ids {
		data, _, err := store.Read(ctx, id)
		if err != nil {
			continue
		}
		d := decodeStored(data, h, st.FallbackHandler(), st.DecodeOptions())
		if d.Err != nil {
			continue
		}
		for _, e := range d.Sess.Entries() {
			k := keyText(e.Key, false)
			if !pointer {
				add(k)
				continue
			}
			top := "/" + pointerToken(k)
			add(top)
			if strings.HasPrefix(toComplete, top+"/") {
				for _, sub := range e.Val.Elems {
					add(top + "/" + pointerToken(keyText(sub.Key, e.Val.Kind == phpser.KindObject)))
				}
			}
		}
	}
	slices.Sort(out)
	return out, cobra.ShellCompDirectiveNoFileComp
}
