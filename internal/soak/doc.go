// Package soak holds the soak test: a real PHP site (php -S with a small
// session app) under load from concurrent HTTP clients while the sesstool
// binary sets, unsets, edits, destroys, sweeps, lists and watches the same
// save_path. It then checks that nothing was lost: every counter equals the
// number of successful requests of its client since its session began,
// every value sesstool wrote is there unless something later removed it, gc
// deleted no session in use, every file still decodes (by PHP itself) and
// watch reported every destroy.
//
// The test runs only when SESSTOOL_SOAK=1 (it takes about 90 seconds); the
// load phase lasts SESSTOOL_SOAK_DURATION (a Go duration, default 75s).
// The package has no non-test code beyond this comment.
package soak
