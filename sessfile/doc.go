// Package sessfile is the store for PHP's files session handler: it parses
// session.save_path, validates session ids, and reads, updates, destroys,
// walks and expires sess_<id> files the way PHP's ext/session/mod_files.c
// lays them out, safely beside a running PHP.
//
// Safety promises:
//
//   - An id is validated (ValidateID) before it is joined into any path.
//   - Every access is confined to the save_path: the store holds the save_path
//     directory open and reaches each level directory and session file with
//     openat(2) and O_NOFOLLOW relative to it, so no symlink at any level (a
//     sess_ file or a level directory) can lead outside, even for root. The
//     save_path directory itself is opened as configured (it may be a symlink
//     set up by the administrator).
//   - Session files are opened with O_NOFOLLOW|O_NONBLOCK and checked with
//     fstat to be regular files before anything else happens, so a FIFO or a
//     device never blocks or is read.
//   - Locks are flock(2) locks (package sessfile/flock), the kind PHP takes:
//     reads under LOCK_SH, changes and deletes under LOCK_EX.
//   - Updates are in place (same inode, mode and owner, never a rename) in an
//     order that leaves the old bytes intact when the disk is full.
//
// The package knows nothing about the command line.
package sessfile
