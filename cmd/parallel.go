package cmd

import (
	"context"
	"os"
	"runtime/debug"
	"sync"

	"github.com/sesstool/sesstool/sessfile"
	"github.com/sesstool/sesstool/store"
)

// readWorkers is how many sessions commands that read many (ls --where,
// ls --check, destroy --where) read at once: a session that is locked is
// waited for while the others are read, so N locked sessions cost about one
// lock timeout, not N.
const readWorkers = 16

// walkOrdered runs work on every session walk yields, up to workers at a
// time, and hands the results to emit in walk order (so output is the same
// as a one-by-one walk's). It stops at the first error of walk, work or
// emit, or when ctx is done, and returns it.
//
// Results wait in a ring of slots, one per session in flight, each with a
// channel made once that says it is filled: a session costs a send to a
// worker and one to emit, and allocates nothing. The walk takes a slot's
// token before it hands the session out and emit returns it after the
// result is out, so the walk runs at most len(ring) sessions ahead.
func walkOrdered[T any](ctx context.Context, walk func(context.Context, func(sessfile.Info) error) error, workers int, work func(sessfile.Info) (T, error), emit func(T) error) error {
	type slot struct {
		v     T
		err   error
		ready chan struct{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ring := make([]slot, 8*workers)
	tokens := make(chan struct{}, len(ring))
	for i := range ring {
		ring[i].ready = make(chan struct{}, 1)
		tokens <- struct{}{}
	}
	type job struct {
		info sessfile.Info
		slot int
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				sl := &ring[j.slot]
				sl.v, sl.err = work(j.info)
				sl.ready <- struct{}{}
			}
		}()
	}
	// walked is the number of sessions handed out, final once walkDone is
	// closed.
	var walked int
	walkErr := make(chan error, 1)
	walkDone := make(chan struct{})
	go func() {
		defer close(walkDone)
		defer close(jobs)
		n := 0
		err := walk(ctx, func(info sessfile.Info) error {
			select {
			case <-tokens:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- job{info, n % len(ring)}:
			case <-ctx.Done():
				return ctx.Err()
			}
			n++
			return nil
		})
		walked = n
		walkErr <- err
	}()
	var first error
emitting:
	for seq := 0; ; seq++ {
		sl := &ring[seq%len(ring)]
		select {
		case <-sl.ready:
		case <-walkDone:
			// walked is final: wait for what was handed out (the
			// workers never stop half-way), then stop.
			if seq >= walked {
				break emitting
			}
			<-sl.ready
		}
		if first == nil {
			err := sl.err
			if err == nil {
				err = emit(sl.v)
			}
			if err != nil {
				first = err
				cancel()
			} else if ctx.Err() != nil {
				first = ctx.Err()
			}
		}
		var zero T
		sl.v, sl.err = zero, nil
		tokens <- struct{}{}
	}
	wg.Wait()
	if err := <-walkErr; first == nil && err != nil {
		first = err
	}
	return first
}

// readBudget bounds the bytes of the sessions being read at once by the
// readWorkers (a large session is read alone): parallel reading must not
// multiply memory on a save_path of large sessions.
const readBudget = 64 << 20

// byteBudget is a counting semaphore over bytes.
type byteBudget struct {
	mu   sync.Mutex
	cond *sync.Cond
	used int64
	max  int64
}

func newByteBudget(max int64) *byteBudget {
	b := &byteBudget{max: max}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire waits until n more bytes fit (a request larger than the whole
// budget waits until nothing else is in flight) and returns the release.
func (b *byteBudget) acquire(n int64) func() {
	n = max(n, 1)
	b.mu.Lock()
	for b.used > 0 && b.used+n > b.max {
		b.cond.Wait()
	}
	b.used += n
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		b.used -= n
		b.mu.Unlock()
		b.cond.Broadcast()
	}
}

// idWalker and admittedReader are what the files store offers readers of
// many sessions: a walk without the stat (the open file says the rest)
// and a read that bounds memory before it allocates.
type idWalker interface {
	WalkIDs(ctx context.Context, fn func(store.Info) error) error
}

type admittedReader interface {
	ReadAdmitted(ctx context.Context, id string, admit func(size int64) func()) ([]byte, store.Info, func(), error)
}

// manyReader reads the sessions of a walk for a command that reads many
// (ls --where/--check/--columns, stats, destroy --where): readWorkers at a
// time through walkOrdered, the bytes in flight bounded by readBudget.
type manyReader struct {
	st     store.Store
	budget *byteBudget
	// ids: the walk yields ids only (Size -1), because the command needs
	// nothing from the walk's stat; each session's Info then comes from
	// its read (or, when it cannot be read, a Stat).
	ids bool
}

// newManyReader reads st's sessions; needStat says the command filters on
// the walk's size or time before reading.
func newManyReader(st store.Store, needStat bool) *manyReader {
	r := &manyReader{st: st, budget: newByteBudget(readBudget)}
	if _, ok := st.(idWalker); ok && !needStat {
		_, r.ids = st.(admittedReader)
	}
	return r
}

// walk is the store's walk for walkOrdered.
func (r *manyReader) walk(ctx context.Context, fn func(store.Info) error) error {
	if r.ids {
		return r.st.(idWalker).WalkIDs(ctx, fn)
	}
	return r.st.Walk(ctx, fn)
}

// read reads one session the walk gave. info is completed from the read
// (or a Stat when the read failed and the walk had no stat); release must
// be called once the bytes are no longer used.
func (r *manyReader) read(ctx context.Context, info store.Info) (data []byte, _ store.Info, release func(), err error) {
	if ar, ok := r.st.(admittedReader); ok {
		var in store.Info
		data, in, release, err = ar.ReadAdmitted(ctx, info.ID, r.budget.acquire)
		switch {
		case err == nil:
			info.Size, info.ModTime = in.Size, in.ModTime
		case info.Size < 0:
			if st, serr := r.st.Stat(info.ID); serr == nil {
				info.Size, info.ModTime = st.Size, st.ModTime
			} else {
				info.Size = 0
			}
		}
		return data, info, release, err
	}
	release = r.budget.acquire(info.Size)
	data, _, err = r.st.Read(ctx, info.ID)
	return data, info, release, err
}

// manyReadGC paces the collector for a command that reads many sessions
// and keeps little of each (ls, which lowers it again once it holds many
// rows, and destroy --where; not stats, whose tallies can grow large):
// each read leaves about its size and a few hundred bytes as garbage while
// the live heap stays small, so at the default 100% growth the collector
// runs every few megabytes and its fixed cost per cycle is a fifth of the
// CPU; it collects at 400% instead (20-30 MB rather than 20 MB when
// sessions are small). A session of 4 MB or more still lowers it
// (boundMemory), and GOGC set in the environment is left alone.
func manyReadGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
