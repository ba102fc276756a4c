package cmd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sesstool/sesstool/sessfile"
)

// fakeWalk yields n sessions id0..id(n-1), stopping at fn's first error.
func fakeWalk(n int) func(context.Context, func(sessfile.Info) error) error {
	return func(ctx context.Context, fn func(sessfile.Info) error) error {
		for i := range n {
			if err := fn(sessfile.Info{ID: fmt.Sprint("id", i)}); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestWalkOrdered: results come out in walk order whatever order the
// workers finish in (more sessions than the ring holds, random delays),
// and the first error of work or emit stops the walk and is returned,
// with nothing emitted after it.
func TestWalkOrdered(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		var got []string
		err := walkOrdered(context.Background(), fakeWalk(n), 4, func(in sessfile.Info) (string, error) {
			if rand.IntN(4) == 0 {
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			}
			return in.ID, nil
		}, func(id string) error {
			got = append(got, id)
			return nil
		})
		if err != nil || len(got) != n {
			t.Fatalf("n=%d: %d results, err %v", n, len(got), err)
		}
		for i, id := range got {
			if id != fmt.Sprint("id", i) {
				t.Fatalf("n=%d: result %d is %s", n, i, id)
			}
		}
	}
	boom := errors.New("boom")
	for _, inWork := range []bool{true, false} {
		var got []string
		err := walkOrdered(context.Background(), fakeWalk(100000), 4, func(in sessfile.Info) (string, error) {
			if inWork && in.ID == "id500" {
				return "", boom
			}
			return in.ID, nil
		}, func(id string) error {
			if !inWork && id == "id500" {
				return boom
			}
			got = append(got, id)
			return nil
		})
		if !errors.Is(err, boom) || len(got) != 500 || got[499] != "id499" {
			t.Fatalf("error in work %v: err %v, %d emitted", inWork, err, len(got))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	emitted := 0
	err := walkOrdered(ctx, fakeWalk(100000), 4, func(in sessfile.Info) (string, error) {
		return in.ID, nil
	}, func(string) error {
		if emitted++; emitted == 10 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || emitted >= 100000 {
		t.Fatalf("cancelled: err %v after %d", err, emitted)
	}
}
