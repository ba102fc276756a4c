package sessfile

import (
	"context"
	"errors"
	"io/fs"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Walk tuning. Memory stays flat: at most walkInFlight batches of
// walkBatchSize entries exist at any time, whatever the directory size.
const (
	walkBatchSize = 1024     // directory entries per batch
	direntBufSize = 64 << 10 // getdents64 buffer
)

// errStopWalk ends a walk early from All when the consumer stops.
var errStopWalk = errors.New("sessfile: walk stopped")

// Walk calls fn, in directory order, with the Info of every session file of
// the save_path, over every level of an N; layout, streaming: entries are
// read from each directory in batches (getdents64) and stat'ed relative to
// the open directory (fstatat, AT_SYMLINK_NOFOLLOW) by a few workers in
// parallel, then handed to fn in order on the calling goroutine.
//
// What is skipped silently: names not starting with "sess_"; ids that fail
// ValidateID or are not longer than the depth; anything that is not a
// regular file (symlinks, directories, FIFOs, devices); files that vanish
// between the directory read and the stat; files at the wrong level or in
// the wrong level directory for their id (PHP can never reach them); and,
// when descending, level entries that are not single id characters or not
// real directories (a symlinked level directory is never followed).
//
// A level directory that cannot be opened or read (and a file that cannot be
// stat'ed for another reason than vanishing) does not stop the walk: the
// rest is walked and such errors are returned together (errors.Join) at the
// end, each naming its path. An error from fn, or ctx being done, stops the
// walk at once and is returned. If the save_path itself cannot be read, Walk
// returns that error right away.
func (s *Store) Walk(ctx context.Context, fn func(Info) error) error {
	var errs []error
	err := s.walk(ctx, false, fn, func(e error) { errs = append(errs, e) })
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// WalkIDs is Walk without the stat: fn gets each session's ID and Path,
// with Size -1 and a zero ModTime (unknown), for a caller that opens every
// session anyway and learns both from the open file (Read's Info). Entries
// the directory reports as regular files are not stat'ed at all (a file
// replaced by something else meanwhile is refused when it is opened); only
// entries of unknown type are, as Walk does.
func (s *Store) WalkIDs(ctx context.Context, fn func(Info) error) error {
	var errs []error
	err := s.walk(ctx, true, fn, func(e error) { errs = append(errs, e) })
	if err != nil {
		return err
	}
	return errors.Join(errs...)
}

// All is Walk as an iterator: it yields every session's Info with a nil
// error, and each error Walk would return at the end (an unreadable level
// directory) as it happens, with a zero Info, then goes on. A fatal error (the
// save_path unreadable, ctx done) is yielded last. Stopping the loop stops
// the walk.
func (s *Store) All(ctx context.Context) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		stopped := false
		err := s.walk(ctx, false, func(in Info) error {
			if stopped || !yield(in, nil) {
				stopped = true
				return errStopWalk
			}
			return nil
		}, func(e error) {
			if !stopped && !yield(Info{}, e) {
				stopped = true
			}
		})
		if err != nil && !stopped && !errors.Is(err, errStopWalk) {
			yield(Info{}, err)
		}
	}
}

// dirHandle is an open directory shared by the batches read from it; the
// last release closes it.
type dirHandle struct {
	fd   int
	refs atomic.Int32
}

func (d *dirHandle) acquire() { d.refs.Add(1) }

func (d *dirHandle) release() {
	if d.refs.Add(-1) == 0 {
		_ = unix.Close(d.fd)
	}
}

// walkBatch is a run of entries read from one directory.
type walkBatch struct {
	dir    *dirHandle
	path   string   // the directory's path as PHP names it, with a final '/'
	names  []string // "sess_<id>" names to stat
	types  []uint8  // each name's d_type (DT_REG or DT_UNKNOWN)
	infos  []Info   // filled by a worker; ID == "" means skip
	errs   []error  // level errors to report, in order
	done   chan struct{}
	worked bool // sent to the workers (else done is closed by the producer)
}

type walker struct {
	s       *Store
	ctx     context.Context
	ordered chan *walkBatch
	work    chan *walkBatch
	stop    chan struct{}
	stopped atomic.Bool
	buf     []byte
	noStat  bool // WalkIDs: only entries of unknown type are stat'ed
}

func (s *Store) walk(ctx context.Context, noStat bool, fn func(Info) error, onErr func(error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.rfd < 0 {
		return errClosed
	}
	rootfd, err := openatRetry(s.rfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open save_path", Path: s.sp.Dir, Err: err}
	}
	workers := max(2, min(runtime.GOMAXPROCS(0), 4))
	inFlight := 2*workers + 2
	w := &walker{
		s:       s,
		ctx:     ctx,
		ordered: make(chan *walkBatch, inFlight),
		work:    make(chan *walkBatch, inFlight),
		stop:    make(chan struct{}),
		buf:     make([]byte, direntBufSize),
		noStat:  noStat,
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range w.work {
				w.statBatch(b)
				close(b.done)
			}
		})
	}
	go func() {
		root := &dirHandle{fd: rootfd}
		root.acquire()
		w.dir(root, 0, "", s.sp.Dir+"/")
		close(w.ordered)
		close(w.work)
	}()

	var stopErr error
	halt := func(err error) {
		if stopErr == nil {
			stopErr = err
			w.stopped.Store(true)
			close(w.stop)
		}
	}
	for b := range w.ordered {
		<-b.done
		if stopErr == nil {
			if err := ctx.Err(); err != nil {
				halt(err)
			}
		}
		if stopErr == nil {
			for _, e := range b.errs {
				onErr(e)
			}
			for i := range b.infos {
				if b.infos[i].ID == "" {
					continue
				}
				if err := fn(b.infos[i]); err != nil {
					halt(err)
					break
				}
			}
		}
		if b.dir != nil {
			b.dir.release()
		}
	}
	wg.Wait()
	return stopErr
}

// send hands b to the emitter and the workers; false when the walk stopped
// (b's directory reference is then released here).
func (w *walker) send(b *walkBatch) bool {
	select {
	case w.ordered <- b:
	case <-w.stop:
		if b.dir != nil {
			b.dir.release()
		}
		return false
	}
	if len(b.names) > 0 {
		w.work <- b
	} else {
		close(b.done)
	}
	return true
}

// report sends a level error in order with the entries around it.
func (w *walker) report(err error) bool {
	return w.send(&walkBatch{errs: []error{err}, done: make(chan struct{})})
}

func (w *walker) newBatch(d *dirHandle, path string) *walkBatch {
	d.acquire()
	return &walkBatch{dir: d, path: path, names: make([]string, 0, walkBatchSize), types: make([]uint8, 0, walkBatchSize), done: make(chan struct{})}
}

// dir walks directory d (owned: released here) at the given depth, whose
// level prefix is prefix and whose path is path (ending in '/'). It returns
// false when the walk stopped.
func (w *walker) dir(d *dirHandle, depth int, prefix, path string) bool {
	defer d.release()
	if w.stopped.Load() {
		return false
	}
	if depth == w.s.sp.Depth {
		return w.leaf(d, prefix, path)
	}
	// A level: collect its (at most 64) single-character subdirectories.
	var subs []byte
	err := w.readDir(d.fd, func(name []byte, typ uint8) bool {
		if len(name) == 1 && idByte(name[0]) && (typ == unix.DT_DIR || typ == unix.DT_UNKNOWN) {
			subs = append(subs, name[0])
		}
		return true
	})
	if err != nil && !w.report(&fs.PathError{Op: "read level directory", Path: trimSlash(path), Err: err}) {
		return false
	}
	for _, c := range subs {
		name := string(c)
		fd, err := openatRetry(d.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
			continue // vanished, a symlink, not a directory: not a level
		default:
			if !w.report(&fs.PathError{Op: "open level directory", Path: path + name, Err: err}) {
				return false
			}
			continue
		}
		sub := &dirHandle{fd: fd}
		sub.acquire()
		if !w.dir(sub, depth+1, prefix+name, path+name+"/") {
			return false
		}
	}
	return true
}

// leaf streams the sess_ entries of a directory at the layout's depth.
func (w *walker) leaf(d *dirHandle, prefix, path string) bool {
	b := w.newBatch(d, path)
	ok := true
	err := w.readDir(d.fd, func(name []byte, typ uint8) bool {
		if typ != unix.DT_REG && typ != unix.DT_UNKNOWN {
			return true
		}
		if len(name) <= len(filePrefix) || string(name[:len(filePrefix)]) != filePrefix {
			return true
		}
		id := name[len(filePrefix):]
		if len(id) > MaxIDLen || len(id) <= len(prefix) || string(id[:len(prefix)]) != prefix {
			return true
		}
		for _, c := range id {
			if !idByte(c) {
				return true
			}
		}
		b.names = append(b.names, string(name))
		b.types = append(b.types, typ)
		if len(b.names) == walkBatchSize {
			if !w.send(b) {
				ok = false
				return false
			}
			b = w.newBatch(d, path)
		}
		return true
	})
	if !ok {
		return false
	}
	if err != nil {
		b.errs = append(b.errs, &fs.PathError{Op: "read directory", Path: trimSlash(path), Err: err})
	}
	return w.send(b)
}

// readDir calls fn for each entry of the directory fd (not "." and "..")
// until fn returns false or the walk stops.
func (w *walker) readDir(fd int, fn func(name []byte, typ uint8) bool) error {
	for {
		if w.stopped.Load() {
			return nil
		}
		n, err := unix.Getdents(fd, w.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		it := direntIter{b: w.buf[:n]}
		for {
			name, typ, ok := it.next()
			if !ok {
				break
			}
			if len(name) == 1 && name[0] == '.' || len(name) == 2 && name[0] == '.' && name[1] == '.' {
				continue
			}
			if !fn(name, typ) {
				return nil
			}
		}
	}
}

// statBatch fills b.infos with an lstat of each name relative to b's
// directory; vanished and non-regular entries are left empty (skipped).
func (w *walker) statBatch(b *walkBatch) {
	b.infos = make([]Info, len(b.names))
	var st unix.Stat_t
	for i, name := range b.names {
		if w.stopped.Load() {
			return
		}
		if w.noStat && b.types[i] == unix.DT_REG {
			path := b.path + name
			b.infos[i] = Info{ID: path[len(path)-(len(name)-len(filePrefix)):], Path: path, Size: -1}
			continue
		}
		if err := fstatat(b.dir.fd, name, &st); err != nil {
			if !errors.Is(err, unix.ENOENT) {
				b.errs = append(b.errs, &fs.PathError{Op: "stat", Path: b.path + name, Err: err})
			}
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			continue
		}
		// ID shares Path's memory: a caller keeping many Infos (ls --sort)
		// holds one string per session, not two.
		path := b.path + name
		b.infos[i] = Info{
			ID:      path[len(path)-(len(name)-len(filePrefix)):],
			Path:    path,
			Size:    st.Size,
			ModTime: modTime(&st),
		}
	}
}

func trimSlash(p string) string {
	if len(p) > 1 && p[len(p)-1] == '/' {
		return p[:len(p)-1]
	}
	return p
}
