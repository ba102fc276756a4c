package gcpolicy

import "time"

// DefaultMaxLifetime is PHP's built-in session.gc_maxlifetime (1440 s).
const DefaultMaxLifetime = 1440 * time.Second

// Seconds returns d in whole seconds, rounded down, as PHP's integer
// session.gc_maxlifetime would hold it. Negative durations count as 0.
func Seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d / time.Second)
}

// Expired reports whether PHP's files handler would delete a session file
// with modification time mtime when its GC runs at now with the given
// maxlifetime: now − mtime > maxlifetime, all in whole seconds (PHP compares
// time(NULL) with st_mtime's seconds), strictly greater. A file modified in
// the future is never expired.
func Expired(mtime, now time.Time, maxLifetime time.Duration) bool {
	return now.Unix()-mtime.Unix() > Seconds(maxLifetime)
}

// OlderThan returns the predicate a store calls, before and again under the
// file's lock, to decide that a file with this mtime is still expired at
// now. It is [Expired] with now and maxLifetime fixed, so the recheck uses
// the same clock reading as the scan.
func OlderThan(now time.Time, maxLifetime time.Duration) func(mtime time.Time) bool {
	return func(mtime time.Time) bool { return Expired(mtime, now, maxLifetime) }
}

// AgeSeconds is now − mtime in whole seconds, as PHP computes it (may be
// negative for a file modified in the future).
func AgeSeconds(mtime, now time.Time) int64 {
	return now.Unix() - mtime.Unix()
}
