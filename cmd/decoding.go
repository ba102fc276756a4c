package cmd

import (
	"math"
	"runtime/debug"

	"github.com/sesstool/sesstool/phpser"
)

// decoded is the outcome of decoding one stored session.
type decoded struct {
	Sess     *phpser.Session
	Handler  phpser.Handler // the handler actually used
	Detected bool           // auto-detection chose Handler
	FellBack bool           // auto-detection could not decide; Handler is the fallback
	Err      error          // a decode error (PHP would destroy this session)
	// Named: Sess holds some variables of a session with references
	// (decodeKey), so every Anchor in it is named by a reference, maybe
	// in a variable not held.
	Named bool
}

// decodeStored decodes data with handler h; for auto it detects (in the
// same pass), and where detection cannot decide (a 0-byte or new session)
// uses fallback. The values alias data (phpser's Borrow): data is never
// changed once read.
func decodeStored(data []byte, h, fallback phpser.Handler, o phpser.DecodeOptions) decoded {
	boundMemory(len(data))
	o.Borrow = true
	d := decoded{Handler: h}
	if h == phpser.HandlerAuto || h == "" {
		if len(data) == 0 {
			d.Handler, d.FellBack = fallback, true
		} else {
			d.Sess, d.Handler, d.Err = o.DecodeAuto(data)
			d.Detected = true
			return d
		}
	}
	if len(data) >= 4<<20 {
		// Everything decoding allocates stays live (the tree), so a
		// collection meanwhile frees nothing, and with the heap above
		// boundMemory's limit the collector would run all the time.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
		defer debug.SetGCPercent(debug.SetGCPercent(100))
	}
	d.Sess, d.Err = o.DecodeSession(data, d.Handler)
	return d
}

// boundMemory keeps the heap of a command that works on one large session
// near what that session needs: the bytes, the decoded tree and what is
// written from it (CLI.md: peak memory within 4x of the session's size).
// It sets Go's soft memory limit and a lower GC percentage, which make the
// collector run before the heap doubles (its default pacing); the limit is
// only ever raised.
func boundMemory(n int) {
	if n < 4<<20 {
		return
	}
	want := 5*int64(n)/2 + 4<<20
	if cur := debug.SetMemoryLimit(-1); cur == math.MaxInt64 || want > cur {
		debug.SetMemoryLimit(want)
		// And collect at 25% growth rather than 100%: the limit is soft
		// (the collector may use at most half the CPU), so under load the
		// heap would otherwise overshoot it.
		debug.SetGCPercent(25)
	}
}

// selector is what a command that selects sessions by content (--where,
// --grep, --columns, stats --by) needs of each one: it decodes only that
// (phpser.DecodeSelected) and tests the selectors.
type selector struct {
	wheres []*Where // --where and --grep, all must match
	greps  []*Where // the --grep ones
	sel    phpser.Selection
}

// newSelector builds the selection for wheres plus the extra top-level
// keys or JSON Pointers that will be looked up (columns, --by); sizes asks
// for every top-level value's size.
func newSelector(wheres []*Where, extra []string, sizes bool) *selector {
	// Deep: of a top-level value, only what the pointers go through is
	// decoded (the selectors only look values up).
	s := &selector{wheres: wheres, sel: phpser.Selection{Sizes: sizes, Deep: true}}
	for _, w := range wheres {
		if w.Op == opGrep {
			s.greps = append(s.greps, w)
			continue
		}
		s.sel.Keys = append(s.sel.Keys, w.Key)
	}
	s.sel.Keys = append(s.sel.Keys, extra...)
	return s
}

// selection is one session's outcome.
type selection struct {
	phpser.Selected
	Handler phpser.Handler
	Err     error // the session does not decode: it never matches
	Match   bool  // every selector matched
}

// decode decodes data as decodeStored does, only as far as the selectors
// need, and tests them.
func (s *selector) decode(data []byte, h, fallback phpser.Handler, o phpser.DecodeOptions) selection {
	boundMemory(len(data))
	o.Borrow = true
	var grepHit []bool
	sel := s.sel
	if len(s.greps) > 0 {
		grepHit = make([]bool, len(s.greps))
		left := len(s.greps)
		sel.Strings = func(str string) bool {
			for i, g := range s.greps {
				if !grepHit[i] && g.re.MatchString(str) {
					grepHit[i] = true
					left--
				}
			}
			return left == 0
		}
	}
	var r selection
	switch {
	case (h == phpser.HandlerAuto || h == "") && len(data) > 0:
		// Detection by the same scan (decodeStored's handler and verdict;
		// an empty session is decodeStored's, for its fallback handler).
		r.Selected, r.Handler, r.Err = o.DecodeSelectedAuto(data, sel)
		if r.Err != nil {
			return r
		}
	case h == phpser.HandlerAuto || h == "":
		d := decodeStored(data, h, fallback, o)
		r.Handler, r.Err = d.Handler, d.Err
		if d.Err != nil {
			return r
		}
		r.Sess, r.Full = d.Sess, true
		if sel.Strings != nil {
			r.Matched = d.Sess.Strings(sel.Strings)
		}
	default:
		r.Handler = h
		r.Selected, r.Err = o.DecodeSelected(data, h, sel)
		if r.Err != nil {
			return r
		}
	}
	r.Match = true
	for _, w := range s.wheres {
		if w.Op != opGrep && !w.Match(r.Sess) {
			r.Match = false
			return r
		}
	}
	for i := range s.greps {
		if !grepHit[i] {
			r.Match = false
		}
	}
	return r
}

// streamTops decodes a stored session one top-level variable at a time
// where it can (phpser.EachTop: a php, php_binary, php_serialize,
// igbinary or msgpack session without a reference or payload), choosing the handler for auto as decodeStored
// does, so that a large session is never held as a whole tree. handled
// false: fn was never called and the session is to be decoded whole
// (decodeStored). fn gets the handler with each entry. Otherwise d says
// which handler was used and, in d.Err,
// why the session does not decode (fn was then never called); err is
// fn's error.
func streamTops(data []byte, h phpser.Handler, o phpser.DecodeOptions, fn func(h phpser.Handler, e *phpser.Entry, raw []byte) error) (d decoded, handled bool, err error) {
	return streamTopsFacts(data, h, o, fn, nil)
}

// streamTopsFacts is streamTops that, when facts is not nil, sets it to
// what an igbinary or msgpack session's edit needs of its tree
// (phpser.EachTopFacts; left nil for other handlers).
func streamTopsFacts(data []byte, h phpser.Handler, o phpser.DecodeOptions, fn func(h phpser.Handler, e *phpser.Entry, raw []byte) error, facts **phpser.ExtFacts) (d decoded, handled bool, err error) {
	if len(data) == 0 {
		return d, false, nil
	}
	boundMemory(len(data))
	o.Borrow = true
	d.Handler = h
	if ext := phpser.DetectExtension(data); ext != "" && (h == phpser.HandlerAuto || h == "") {
		// An igbinary or msgpack header: detection's first rule, no
		// decode needed to choose the handler.
		d.Handler, d.Detected = ext, true
	} else if h == phpser.HandlerAuto || h == "" {
		_, used, derr := o.DecodeSelectedAuto(data, phpser.Selection{Linked: true})
		if derr != nil {
			return d, false, nil // decodeStored words the error
		}
		d.Handler, d.Detected = used, true
	}
	each := func(e *phpser.Entry, raw []byte) error { return fn(d.Handler, e, raw) }
	var ok bool
	if facts != nil && (d.Handler == phpser.HandlerIgbinary || d.Handler == phpser.HandlerMsgpack) {
		*facts, ok, err = o.EachTopFacts(data, d.Handler, each)
	} else {
		ok, err = o.EachTop(data, d.Handler, each)
	}
	if !ok {
		if err != nil {
			d.Err = err
			return d, true, nil
		}
		return d, false, nil
	}
	return d, true, err
}
