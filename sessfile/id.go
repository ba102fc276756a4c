package sessfile

import "github.com/sesstool/sesstool/store"

// MaxIDLen is the longest id the files handler can store: PHP accepts ids up
// to 256 bytes, but "sess_" plus the id must fit in a 255-byte file name.
const MaxIDLen = store.MaxIDLen

// filePrefix is PHP's hard-coded session file name prefix.
const filePrefix = "sess_"

// ValidateID reports, as an *InvalidIDError, an id PHP's files handler would
// refuse or could never store: empty, longer than MaxIDLen bytes, or with a
// byte outside [A-Za-z0-9,-] (store.ValidateID). (A layout with depth N
// also needs the id to be longer than N; SavePath.RelPath checks that.)
func ValidateID(id string) error { return store.ValidateID(id) }

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ',' || c == '-'
}
