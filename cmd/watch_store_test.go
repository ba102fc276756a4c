package cmd

import (
	"context"
	"testing"
	"time"

	"github.com/sesstool/sesstool/phpser"
	"github.com/sesstool/sesstool/store"
)

// storeWatch runs watch's engine on st (its notifications, or a listing
// every poll) with --decode, waits for its snapshot, and returns expect,
// which takes the next event and checks its kind, id and (when check is
// not nil) more, and stop, which ends the watch and checks it ended well.
func storeWatch(t *testing.T, st store.Store, poll time.Duration) (expect func(kind, id string, check func(sessionEvent) bool), stop func()) {
	t.Helper()
	evs := make(chan sessionEvent, 16)
	ctx, cancel := context.WithCancel(t.Context())
	snap := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runWatch(ctx, watchConfig{
			Store: st, Poll: poll, Decode: true,
			DecodeFn: func(b []byte) (*phpser.Session, error) { return phpser.DecodeSession(b, phpser.HandlerPHP) },
			Snap:     func(snapshot) { close(snap) },
			Warn:     func(m string) { t.Logf("warning: %s", m) },
			Emit:     func(ev sessionEvent) error { evs <- ev; return nil },
		})
	}()
	select {
	case <-snap:
	case <-time.After(watchWait):
		cancel()
		t.Fatal("no snapshot")
	}
	expect = func(kind, id string, check func(sessionEvent) bool) {
		t.Helper()
		select {
		case ev := <-evs:
			if ev.Event != kind || ev.ID != id || check != nil && !check(ev) {
				t.Fatalf("event %+v, want %s of %s", ev, kind, id)
			}
		case <-time.After(watchWait):
			t.Fatalf("no %s event", kind)
		}
	}
	stop = func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}
	return expect, stop
}

// watchLifecycle has PHP create session id, sesstool change and destroy it,
// and expects the three events of it from a storeWatch on e's store.
func (e *phpEnv) watchLifecycle(t *testing.T, expect func(kind, id string, check func(sessionEvent) bool), id string, poll time.Duration) {
	t.Helper()
	if out, err := e.php(phpWriteSession, id, "5"); err != nil {
		t.Fatalf("php: %v %s", err, out)
	}
	expect(evCreated, id, nil)
	time.Sleep(2 * poll)
	if r := e.sesstool("set", id, "user_id", "6"); r.err != nil {
		t.Fatal(r.err)
	}
	expect(evModified, id, func(ev sessionEvent) bool {
		return len(ev.Changes) == 1 && ev.Changes[0].Key == "user_id"
	})
	if r := e.sesstool("destroy", id); r.err != nil {
		t.Fatal(r.err)
	}
	expect(evDeleted, id, nil)
}
