package sessfile

import (
	"bytes"
	"encoding/binary"
)

// direntHeader is the size of linux_dirent64 before its name: d_ino (8),
// d_off (8), d_reclen (2), d_type (1).
const direntHeader = 19

// direntIter walks the linux_dirent64 records in a getdents64 buffer.
type direntIter struct{ b []byte }

// next returns the next record's name (without its NUL) and d_type; ok is
// false at the end of the buffer or on a malformed record.
func (it *direntIter) next() (name []byte, typ uint8, ok bool) {
	if len(it.b) < direntHeader {
		return nil, 0, false
	}
	reclen := int(binary.NativeEndian.Uint16(it.b[16:18]))
	if reclen < direntHeader || reclen > len(it.b) {
		it.b = nil
		return nil, 0, false
	}
	typ = it.b[18]
	name = it.b[direntHeader:reclen]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	it.b = it.b[reclen:]
	return name, typ, true
}
