package cmd

import (
	"errors"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"
)

// editedText is the edited text, read for edit's encoding. A large one
// is mapped rather than read, and the pages the encoding is done with
// are handed back as it goes (drop): the text of an igbinary session can
// be many times the session's size (its strings are written once there
// and as often as they occur in the text), and it need not be held while
// the encoding is.
type editedText struct {
	b       []byte
	mapped  bool
	dropped int // text[:dropped] handed back
	name    string
	st      unix.Stat_t // the file when mapped
}

// errTextChanged: the mapped text was changed by another process (a
// forking editor saving again) while it was read.
var errTextChanged = errors.New("the text file changed while sesstool read it")

// mapTextAbove is the size from which the text is mapped.
const mapTextAbove = 1 << 20

func readEditedText(name string) (*editedText, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < mapTextAbove || fi.Size() != int64(int(fi.Size())) || !fi.Mode().IsRegular() {
		b, err := os.ReadFile(name)
		return &editedText{b: b}, err
	}
	// Mapped private: the editor has exited, and what another process
	// writes to the file later is not seen (a private page once read
	// stays as read). The mapping is never unmapped: what the parse
	// returns (an error's text) may point into it, and once handed back
	// its pages cost nothing; the process ends soon after.
	t := &editedText{name: name}
	if err := unix.Fstat(int(f.Fd()), &t.st); err != nil {
		return nil, err
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		b, err := os.ReadFile(name)
		return &editedText{b: b}, err
	}
	t.b, t.mapped = b, true
	return t, nil
}

// read runs fn, which reads the text. For a mapped text, a fault (the
// file truncated under the mapping) is errTextChanged rather than a
// crash, and so is a file changed meanwhile: what fn read may mix two
// versions.
func (t *editedText) read(fn func()) (err error) {
	if !t.mapped {
		fn()
		return nil
	}
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			err = errTextChanged
		}
	}()
	fn()
	var now unix.Stat_t
	if unix.Stat(t.name, &now) != nil || now.Ino != t.st.Ino || now.Size != t.st.Size || now.Mtim != t.st.Mtim || now.Ctim != t.st.Ctim {
		return errTextChanged
	}
	return nil
}

// drop hands back the whole pages of text[:n] (a mapped text: read again
// from the file if they are needed after all).
func (t *editedText) drop(n int) {
	if !t.mapped {
		return
	}
	end := n &^ (os.Getpagesize() - 1)
	if end-t.dropped < 1<<20 && n < len(t.b) {
		return // a megabyte at a time
	}
	if end > t.dropped {
		unix.Madvise(t.b[t.dropped:end], unix.MADV_DONTNEED)
		t.dropped = end
	}
}

// dropAll hands back every page, to be read again as needed.
func (t *editedText) dropAll() {
	if t.mapped {
		unix.Madvise(t.b, unix.MADV_DONTNEED)
		t.dropped = 0
	}
}
