// Package hostile holds tests that run the built sesstool binary, as root,
// against a save_path an attacker could write to and against a changing
// environment: symlinks at the file and at each level of an N; layout,
// hard links to files outside, FIFOs and device nodes named sess_*,
// directories named sess_*, ids with "/", "..", NUL and 300 characters,
// permission denied on a level directory (through a child running as
// nobody), files that vanish or change while being listed, a save_path
// removed under watch, and SIGINT/SIGTERM during gc, edit and set.
//
// What they assert: nothing outside the save_path is opened, read, written
// or deleted (inotify watches every file and directory outside; content,
// mode and mtime are compared before and after), no command blocks on a
// FIFO (each runs under a timeout), no Go panic, exit codes and error lines
// as CLI.md says, and no session half-written. The package has no non-test
// code beyond this comment.
package hostile
