package sessfile

import (
	"errors"
	"os"
	"testing"
)

// DestroyIf deletes only what still matches under the lock, and never while
// another process holds the session.
func TestDestroyIf(t *testing.T) {
	for _, depth := range []int{0, 2} {
		f := newFixture(t, depth, "")
		p := f.write("dif1", "user_id|i:42;", 0)
		var seen string
		gone, err := f.st.DestroyIf(ctx, "dif1", func(data []byte) (bool, error) { seen = string(data); return false, nil })
		if err != nil || gone || seen != "user_id|i:42;" {
			t.Fatalf("DestroyIf(no match) = %v, %v (saw %q)", gone, err, seen)
		}
		if readFile(t, p) != "user_id|i:42;" {
			t.Fatal("a session that did not match was changed")
		}
		boom := errors.New("boom")
		if gone, err := f.st.DestroyIf(ctx, "dif1", func([]byte) (bool, error) { return true, boom }); gone || !errors.Is(err, boom) {
			t.Fatalf("DestroyIf(match error) = %v, %v", gone, err)
		}
		if _, err := os.Lstat(p); err != nil {
			t.Fatalf("deleted despite the match error: %v", err)
		}
		h := hold(t, p, true)
		var lte *LockTimeoutError
		if _, err := f.st.DestroyIf(ctx, "dif1", func([]byte) (bool, error) { return true, nil }); !errors.As(err, &lte) {
			t.Fatalf("DestroyIf beside a lock holder = %v, want a lock timeout", err)
		}
		h.release()
		if gone, err := f.st.DestroyIf(ctx, "dif1", func([]byte) (bool, error) { return true, nil }); !gone || err != nil {
			t.Fatalf("DestroyIf(match) = %v, %v", gone, err)
		}
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Fatalf("still there: %v", err)
		}
		if _, err := f.st.DestroyIf(ctx, "dif1", func([]byte) (bool, error) { return true, nil }); !isNotFound(err) {
			t.Fatalf("DestroyIf of a missing session = %v", err)
		}
	}
}
