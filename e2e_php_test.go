package main

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/sesstool/sesstool/internal/phptest"
)

var handlers = []string{"php", "php_binary", "php_serialize"}

// phpWrite makes PHP write session id with $_SESSION = the JSON object js.
func phpWrite(t *testing.T, dir, handler, id, js string) {
	t.Helper()
	phptest.Run(t, `session_id($argv[1]); session_start(); $_SESSION = json_decode($argv[2], true); session_write_close();`,
		nil, append(phptest.SessionINI(dir, handler), "--", id, js)...)
}

// phpRead returns what PHP's session_start() reads for id, as JSON.
func phpRead(t *testing.T, dir, handler, id string) any {
	t.Helper()
	out := phptest.Run(t, `session_id($argv[1]); if (!session_start(['read_and_close' => true])) { echo "FAILED"; exit; } echo json_encode($_SESSION);`,
		nil, append(phptest.SessionINI(dir, handler), "--", id)...)
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("PHP could not read the session back: %q", out)
	}
	return v
}

func jsonOf(t *testing.T, s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPHPReadsWhatSesstoolWrites: for each handler, set, unset and edit
// write what PHP's session_start() reads back as intended.
func TestPHPReadsWhatSesstoolWrites(t *testing.T) {
	phptest.PHP(t)
	for _, h := range handlers {
		t.Run(h, func(t *testing.T) {
			dir := t.TempDir()
			id := "interop" + map[string]string{"php": "1", "php_binary": "2", "php_serialize": "3"}[h]
			phpWrite(t, dir, h, id, `{"user_id":42,"name":"Zoë","cart":{"items":[{"sku":"A","qty":1}]}}`)
			sp := []string{"--save-path", dir}

			o := sesstool(t, nil, append(sp, "set", id, "user_id", "43")...)
			want(t, o, 0, "", "")
			o = sesstool(t, nil, append(sp, "set", id, "/cart/items/0/qty", "5")...)
			want(t, o, 0, "", "")
			o = sesstool(t, nil, append(sp, "set", id, "flash", `{"msg":"hi","n":[1,2.5,null,true]}`)...)
			want(t, o, 0, "", "")
			o = sesstool(t, nil, append(sp, "set", "--string", id, "note", "line1\nline2")...)
			want(t, o, 0, "", "")
			o = sesstool(t, nil, append(sp, "unset", id, "name")...)
			want(t, o, 0, "", "")
			got := phpRead(t, dir, h, id)
			exp := jsonOf(t, `{"user_id":43,"cart":{"items":[{"sku":"A","qty":5}]},"flash":{"msg":"hi","n":[1,2.5,null,true]},"note":"line1\nline2"}`)
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("after set/unset PHP reads\n%v\nwant\n%v", got, exp)
			}

			ed := filepath.Join(t.TempDir(), "ed.sh")
			os.WriteFile(ed, []byte("#!/bin/sh\nsed -i 's/^user_id = 43$/user_id = 44/' \"$1\"\n"), 0o755)
			o = sesstool(t, []string{"EDITOR=" + ed}, append(sp, "edit", id)...)
			want(t, o, 0, "saved", "")
			got = phpRead(t, dir, h, id)
			if m, _ := got.(map[string]any); m == nil || m["user_id"] != float64(44) {
				t.Errorf("after edit PHP reads %v", got)
			}

			// a session sesstool creates is one PHP reads
			newID := "created" + id
			o = sesstool(t, nil, append(sp, "--serialize-handler", h, "set", "--create", newID, "k", `"v"`)...)
			want(t, o, 0, "", "")
			if got := phpRead(t, dir, h, newID); !reflect.DeepEqual(got, jsonOf(t, `{"k":"v"}`)) {
				t.Errorf("created session reads as %v", got)
			}
			// and sesstool reads what PHP wrote
			o = sesstool(t, nil, append(sp, "show", id, "--key", "/cart/items/0", "-o", "json")...)
			want(t, o, 0, `{"sku":"A","qty":5}`, "")
		})
	}
}

// TestPHPRequestHoldsLock: a PHP request holding the session makes set wait,
// or give up with exit 3 when the timeout is shorter than the request.
func TestPHPRequestHoldsLock(t *testing.T) {
	phptest.PHP(t)
	dir := t.TempDir()
	id := "lockedbyphp1"
	phpWrite(t, dir, "php", id, `{"a":1}`)
	p := filepath.Join(dir, "sess_"+id)
	before, _ := os.ReadFile(p)

	proc := phptest.Start(t, `session_id($argv[1]); session_start(); $_SESSION['php'] = 'wrote'; echo "locked\n"; sleep(3);`,
		append(phptest.SessionINI(dir, "php"), "--", id)...)
	proc.WaitLine("locked")

	o := sesstool(t, nil, "--save-path", dir, "--lock-timeout", "500ms", "set", id, "mine", "1")
	want(t, o, 3, "", id)
	if now, _ := os.ReadFile(p); string(now) != string(before) {
		t.Errorf("file changed despite the lock: %q -> %q", before, now)
	}

	o = sesstool(t, nil, "--save-path", dir, "--lock-timeout", "10s", "set", id, "mine", "1")
	want(t, o, 0, "", "")
	if err := proc.Wait(); err != nil {
		t.Fatalf("php: %v %s", err, proc.Stderr())
	}
	got := phpRead(t, dir, "php", id)
	if !reflect.DeepEqual(got, jsonOf(t, `{"a":1,"php":"wrote","mine":1}`)) {
		t.Errorf("after waiting for PHP: %v (PHP's key must survive)", got)
	}
}

// TestPHPReadsEditedExtSessions: edit of an igbinary or msgpack session
// (streamed: the tree is not kept while the editor runs, the text is
// mapped and handed back as it is encoded) keeps what its text does not
// show: an object's uninitialised typed property, a NaN's bits, the
// string mode; the bytes are those set writes for the same change, and
// PHP reads them back.
func TestPHPReadsEditedExtSessions(t *testing.T) {
	phptest.PHP(t)
	const class = `class U { public int $id; public ?string $name; public int $late; }`
	for _, h := range []string{"igbinary", "msgpack"} {
		t.Run(h, func(t *testing.T) {
			dir := t.TempDir()
			id := "edited" + h
			phptest.Run(t, class+`session_id($argv[1]); session_start();
				$u = new U; $u->id = 1; $u->name = "a";
				$_SESSION['u'] = $u;
				$_SESSION['nan'] = unpack('d', pack('Q', 0x7ff8000000000123))[1];
				$big = []; for ($i = 0; $i < 40000; $i++) { $big["k$i"] = ['id' => $i, 'name' => 'abc']; }
				$_SESSION['big'] = $big;
				$_SESSION['user_id'] = 43;
				session_write_close();`, nil, append(phptest.SessionINI(dir, h), "--", id)...)
			p := filepath.Join(dir, "sess_"+id)
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sess_copy1"), orig, 0o600); err != nil {
				t.Fatal(err)
			}
			sp := []string{"--save-path", dir, "--serialize-handler", h}
			want(t, sesstool(t, nil, append(sp, "set", "copy1", "user_id", "44")...), 0, "", "")
			edDir := t.TempDir()
			ed, sizeFile := filepath.Join(edDir, "ed.sh"), filepath.Join(edDir, "size")
			os.WriteFile(ed, []byte("#!/bin/sh\nwc -c < \"$1\" > "+sizeFile+"\nsed -i 's/^user_id = 43$/user_id = 44/' \"$1\"\n"), 0o755)
			o := sesstool(t, []string{"EDITOR=" + ed, "TMPDIR=" + dir}, append(sp, "edit", id)...)
			want(t, o, 0, "saved", "")
			b, _ := os.ReadFile(sizeFile)
			if n, err := strconv.Atoi(string(bytes.TrimSpace(b))); err != nil || n < 1<<20 {
				t.Errorf("the text is %q bytes, meant to be mapped (1 MiB or more)", b)
			}
			got, _ := os.ReadFile(p)
			byset, _ := os.ReadFile(filepath.Join(dir, "sess_copy1"))
			if !bytes.Equal(got, byset) {
				t.Errorf("edit wrote %d bytes, set the same change %d: they differ", len(got), len(byset))
			}
			out := phptest.Run(t, class+`session_id($argv[1]); session_start(['read_and_close' => true]);
				echo $_SESSION['user_id'], ' ', (new ReflectionProperty('U', 'late'))->isInitialized($_SESSION['u']) ? 'init' : 'uninit', ' ',
					bin2hex(pack('d', $_SESSION['nan'])), ' ', count($_SESSION['big']), ' ', $_SESSION['big']['k39999']['id'];`,
				nil, append(phptest.SessionINI(dir, h), "--", id)...)
			if w := "44 uninit " + hex.EncodeToString(binary.LittleEndian.AppendUint64(nil, 0x7ff8000000000123)) + " 40000 39999"; string(out) != w {
				t.Errorf("PHP reads %q, want %q", out, w)
			}
		})
	}
}
