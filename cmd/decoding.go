package cmd

import (
	"errors"

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

// decodeStored decodes data with handler h; for auto it detects, and where
// detection cannot decide (a 0-byte or new session) uses fallback.
func decodeStored(data []byte, h, fallback phpser.Handler, o phpser.DecodeOptions) decoded {
	d := decoded{Handler: h}
	if h == phpser.HandlerAuto || h == "" {
		if dh, ok := phpser.Detect(data); ok {
			d.Handler, d.Detected = dh, true
		} else {
			d.Handler, d.FellBack = fallback, true
		}
	}
	d.Sess, d.Err = o.DecodeSession(data, d.Handler)
	return d
}

// Unsupported reports whether the session did not decode because its
// serializer is one sesstool cannot read: never a sign of corruption.
func (d decoded) Unsupported() bool {
	var ue *phpser.UnsupportedError
	return errors.As(d.Err, &ue)
}
