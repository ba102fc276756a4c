// Package gcpolicy is the garbage-collection model of sesstool: pure
// computation over file facts (id, size, mtime) and PHP's GC settings.
//
// It has two halves:
//
//   - Sweep planning: given file facts and a time, which sessions PHP's files
//     handler would consider expired (now − mtime > gc_maxlifetime, whole
//     seconds, strictly greater), how old the files are (an age histogram),
//     and an estimate of the site's new-session rate from the files' times.
//   - The probabilistic model: given session.gc_probability,
//     session.gc_divisor, session.gc_maxlifetime and a request rate, the
//     chance that a request sweeps, sweeps per hour, the distribution of the
//     time between sweeps, how old an abandoned session gets before it is
//     deleted, how many files sit on disk in steady state and how many files
//     a sweeping request scans. Closed-form results ([Analyze]) are checked
//     against a seeded Monte Carlo run ([Simulate]).
//
// gcpolicy never touches the filesystem and imports nothing else of
// sesstool; the caller walks the store and deletes.
package gcpolicy
