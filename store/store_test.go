package store

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

func TestValidateID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want string
	}{
		{"abc-DEF,123", ""},
		{"", "empty"},
		{"a/b", `byte "/" at offset 1`},
		{strings.Repeat("a", MaxIDLen+1), "251 bytes long"},
	} {
		err := ValidateID(tt.id)
		var ie *InvalidIDError
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ValidateID(%q) = %v", tt.id, err)
		case tt.want != "" && (!errors.As(err, &ie) || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("ValidateID(%q) = %v, want %q", tt.id, err, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	e := &LockTimeoutError{ID: "abc", Timeout: 2 * time.Second, Holder: "web1|4242"}
	if !errors.Is(e, ErrLockTimeout) || e.Error() != `session "abc" still locked after 2s (held by "web1|4242")` {
		t.Errorf("%v", e)
	}
	if (&LockTimeoutError{ID: "abc"}).Error() != `session "abc" is locked (in use by a running request)` {
		t.Errorf("no timeout, no holder")
	}
	if !errors.Is(ErrNotFound, fs.ErrNotExist) {
		t.Errorf("ErrNotFound is not fs.ErrNotExist")
	}
}
