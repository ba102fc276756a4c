package sessfile

import "strconv"

// MaxIDLen is the longest id the files handler can store: PHP accepts ids up
// to 256 bytes, but "sess_" plus the id must fit in a 255-byte file name.
const MaxIDLen = 250

// filePrefix is PHP's hard-coded session file name prefix.
const filePrefix = "sess_"

// ValidateID reports, as an *InvalidIDError, an id PHP's files handler would
// refuse or could never store: empty, longer than MaxIDLen bytes, or with a
// byte outside [A-Za-z0-9,-]. (A layout with depth N also needs the id to be
// longer than N; SavePath.RelPath checks that.)
func ValidateID(id string) error {
	if id == "" {
		return &InvalidIDError{ID: id, Reason: "empty"}
	}
	if len(id) > MaxIDLen {
		return &InvalidIDError{ID: id, Reason: strconv.Itoa(len(id)) + " bytes long; the files handler cannot store ids longer than " + strconv.Itoa(MaxIDLen)}
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return &InvalidIDError{ID: id, Reason: "byte " + strconv.Quote(id[i:i+1]) + " at offset " + strconv.Itoa(i) + " is not one of A-Z a-z 0-9 , -"}
		}
	}
	return nil
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ',' || c == '-'
}
