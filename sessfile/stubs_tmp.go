package sessfile

import (
	"context"
	"errors"
	"time"
)

var errTODO = errors.New("sessfile: not implemented yet")

type fileOps interface{}
type sysOps struct{}
type dirCache struct{}

func newDirCache(*Store) *dirCache { return &dirCache{} }
func (*dirCache) closeAll()         {}

// Stat returns the Info of session id (ErrNotFound when missing).
func (s *Store) Stat(id string) (Info, error) { return Info{}, errTODO }

// Read returns the bytes of session id, read under LOCK_SH.
func (s *Store) Read(ctx context.Context, id string) ([]byte, Info, error) {
	return nil, Info{}, errTODO
}

// Update changes session id in place under LOCK_EX.
func (s *Store) Update(ctx context.Context, id string, create bool, fn UpdateFunc) (UpdateResult, error) {
	return UpdateResult{}, errTODO
}

// Destroy deletes session id under LOCK_EX.
func (s *Store) Destroy(ctx context.Context, id string) error { return errTODO }

// Walk calls fn for every session file.
func (s *Store) Walk(ctx context.Context, fn func(Info) error) error { return errTODO }

func (s *Store) expire(ctx context.Context, info Info, olderThan func(time.Time) bool, dryRun bool) (ExpireResult, error) {
	return ExpireResult{}, errTODO
}
