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
