package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/sessfile"
)

// mutation changes a decoded session; it reports whether anything changed.
type mutation func(s *phpser.Session) (changed bool, err error)

// mutateSession runs change on session id under LOCK_EX (store.Update):
// decode the current bytes (auto-detecting the handler unless h is set; a
// new or empty session takes fallback), apply change, re-encode in the
// session's own handler. A session that does not decode is refused, never
// overwritten. No change, or a change giving the same bytes, writes nothing.
func mutateSession(ctx context.Context, store Backend, st *Settings, id string, h phpser.Handler, create bool, change mutation) (sessfile.UpdateResult, error) {
	fallback := st.FallbackHandler()
	res, err := store.Update(ctx, id, create, func(old []byte, exists bool) ([]byte, error) {
		var s *phpser.Session
		if len(old) == 0 {
			used := h
			if used == phpser.HandlerAuto || used == "" {
				used = fallback
			}
			s = &phpser.Session{Handler: used, Root: phpser.Array()}
		} else {
			d := decodeStored(old, h, fallback)
			if d.Err != nil {
				return nil, fmt.Errorf("refusing to change it: %w", decodeErr("it", d, old))
			}
			s = d.Sess
		}
		changed, err := change(s)
		if err != nil {
			return nil, err
		}
		if !changed {
			return old, nil
		}
		nb, err := phpser.EncodeSession(s)
		if err != nil {
			return nil, fmt.Errorf("cannot encode the changed session: %w", err)
		}
		if bytes.Equal(nb, old) {
			return old, nil
		}
		return nb, nil
	})
	if err != nil {
		return res, sessionErr(id, st, err)
	}
	return res, nil
}

// pathErr turns phpser's key errors into usage errors (a key the handler
// cannot store, a bad JSON Pointer, a missing parent).
func pathErr(err error) error {
	if errors.Is(err, phpser.ErrPath) {
		return usage(err)
	}
	return err
}
