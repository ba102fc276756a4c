package cmd

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

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
			d := decodeStored(old, h, fallback, st.DecodeOptions())
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
		// Encoded over the old bytes: what the two share is not held
		// twice, and the tree shrinks as the encoding grows (which
		// consumes s).
		handler := s.Handler
		var reclaim func()
		if len(old) >= 4<<20 {
			reclaim = debug.FreeOSMemory
		}
		nb, err := phpser.EncodeSessionOver(old, s, reclaim)
		s = nil
		if err != nil {
			return nil, refusedWrite(err)
		}
		if len(nb) == len(old) && string(nb) == string(old) {
			return old, nil
		}
		if err := checkReadBack(st, nb, handler); err != nil {
			return nil, err
		}
		return nb, nil
	})
	if err != nil {
		return res, sessionErr(id, st, err)
	}
	return res, nil
}

// refusedWrite words an encoder refusal (a key the handler cannot store, a
// reference without a target) as a usage error: nothing is written.
func refusedWrite(err error) error {
	var ee *phpser.EncodeError
	if errors.As(err, &ee) {
		return usage(fmt.Errorf("refusing the change, nothing written: %w", err))
	}
	return fmt.Errorf("cannot encode the changed session: %w", err)
}

// checkReadBack decodes the bytes about to be written as PHP's session
// decoder will (its handler, its unserialize_max_depth, nesting counted
// from the session's root) and refuses them, as a usage error, when PHP
// could not read them back: PHP would destroy the session on its next
// request.
func checkReadBack(st *Settings, nb []byte, h phpser.Handler) error {
	boundMemory(len(nb))
	o := st.DecodeOptions()
	o.Borrow = true
	// The scan checks what the decoder checks without building the tree
	// (the same verdict and error: phpser's differential test).
	if _, err := o.DecodeSelected(nb, h, phpser.Selection{}); err != nil {
		return usage(fmt.Errorf("refusing the change, nothing written: PHP could not read the session back (handler %s: %v)", h, err))
	}
	return nil
}

// pathErr turns phpser's key errors into usage errors (a key the handler
// cannot store, a bad JSON Pointer, a missing parent).
func pathErr(err error) error {
	if errors.Is(err, phpser.ErrPath) {
		return usage(err)
	}
	return err
}
