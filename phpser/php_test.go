package phpser

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requirePHP returns the php binary, skipping the test when it is missing
// (failing instead when SESSTOOL_REQUIRE_PHP=1).
func requirePHP(t testing.TB) string {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("SESSTOOL_REQUIRE_PHP") == "1" {
			t.Fatalf("php not found and SESSTOOL_REQUIRE_PHP=1: %v", err)
		}
		t.Skip("php not installed: skipping the comparison with real PHP (set SESSTOOL_REQUIRE_PHP=1 to fail instead)")
	}
	return php
}

// phpOracle is run by php: for each input line "<mode> <base64>" it prints
// "1 <base64 of serialize(result)>" when PHP accepts it, "0" when not.
// Modes: v (unserialize), php, php_binary, php_serialize (session_decode),
// f (serialize of the float whose IEEE bits are the hex payload).
const phpOracle = `<?php
error_reporting(0);
ini_set('display_errors', '0');
// Buffer all output: once output is sent (headers_sent), PHP refuses to
// change session.serialize_handler.
ob_start();
enum Suit { case Hearts; case Spades; }
ini_set('session.use_cookies', '0');
ini_set('session.use_strict_mode', '0');
ini_set('session.cache_limiter', '');
ini_set('session.save_path', $argv[1]);
ini_set('session.gc_probability', '0');
$in = fopen('php://stdin', 'r');
while (($line = fgets($in)) !== false) {
    [$mode, $b64] = explode(' ', rtrim($line, "\n"), 2) + [1 => ''];
    $x = base64_decode($b64);
    if ($mode === 'f') {
        $f = unpack('e', hex2bin($b64))[1];
        echo '1 ', base64_encode(serialize($f)), "\n";
        continue;
    }
    if ($mode === 'v') {
        error_clear_last();
        $r = unserialize($x);
        $e = error_get_last();
        $ok = $x !== '' && ($r !== false || !($e && str_contains($e['message'], 'Error at offset')));
        echo $ok ? '1 ' . base64_encode(serialize($r)) : '0', "\n";
        continue;
    }
    if (session_status() === PHP_SESSION_ACTIVE) {
        session_abort();
    }
    if (ini_set('session.serialize_handler', $mode) === false || ini_get('session.serialize_handler') !== $mode) {
        fwrite(STDERR, "cannot switch to handler $mode\n");
        exit(3);
    }
    session_id('phpsertestsession');
    session_start();
    $ok = session_decode($x);
    echo $ok ? '1 ' . base64_encode(serialize($_SESSION)) : '0', "\n";
}
`

type oracleResult struct {
	ok  bool
	ser []byte // serialize() of PHP's result
}

// runOracle asks real PHP about every input in one process.
func runOracle(t *testing.T, modes []string, inputs [][]byte) []oracleResult {
	t.Helper()
	php := requirePHP(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "oracle.php")
	if err := os.WriteFile(script, []byte(phpOracle), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdin bytes.Buffer
	for i, in := range inputs {
		if modes[i] == "f" {
			fmt.Fprintf(&stdin, "f %s\n", in)
			continue
		}
		fmt.Fprintf(&stdin, "%s %s\n", modes[i], base64.StdEncoding.EncodeToString(in))
	}
	cmd := exec.Command(php, "-n", script, dir)
	cmd.Stdin = &stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php oracle: %v\n%s", err, stderr.String())
	}
	var res []oracleResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 2)
		r := oracleResult{ok: f[0] == "1"}
		if r.ok && len(f) == 2 {
			r.ser, _ = base64.StdEncoding.DecodeString(f[1])
		}
		res = append(res, r)
	}
	if len(res) != len(inputs) {
		t.Fatalf("php oracle answered %d of %d inputs\n%s", len(res), len(inputs), stderr.String())
	}
	return res
}

// unknownEnum reports whether v holds an enum PHP's oracle does not know
// (PHP refuses those; phpser knows no classes and accepts them).
func unknownEnum(v *Value) bool {
	if v.Kind == KindEnum && v.Str != "Suit:Hearts" && v.Str != "Suit:Spades" {
		return true
	}
	for i := range v.Elems {
		if unknownEnum(&v.Elems[i].Val) {
			return true
		}
	}
	return false
}

// Floats: our formatter against PHP's serialize() on random doubles.
func TestPHPFloatFormat(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var fs []float64
	for range 20000 {
		fs = append(fs, math.Float64frombits(r.Uint64()))
	}
	for range 10000 {
		fs = append(fs, math.Round(r.Float64()*1e6)/math.Pow(10, float64(r.IntN(12))))
	}
	fs = append(fs, genFloats...)
	modes := make([]string, len(fs))
	inputs := make([][]byte, len(fs))
	for i, f := range fs {
		modes[i] = "f"
		b := make([]byte, 8)
		for j := range 8 {
			b[j] = byte(math.Float64bits(f) >> (8 * j))
		}
		inputs[i] = []byte(fmt.Sprintf("%x", b))
	}
	res := runOracle(t, modes, inputs)
	bad := 0
	for i, f := range fs {
		got, _ := EncodeValue(Float(f))
		if !bytes.Equal(got, res[i].ser) {
			if bad++; bad < 10 {
				t.Errorf("%v (%#x): phpser %q, PHP %q", f, math.Float64bits(f), got, res[i].ser)
			}
		}
	}
	t.Logf("%d floats compared with PHP, %d differ", len(fs), bad)
}

// Decoder verdicts on corrupted payloads: phpser and PHP's unserialize and
// session_decode accept and refuse the same inputs.
func TestPHPVerdictsOnMutants(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var modes []string
	var inputs [][]byte
	for _, h := range []string{"v", "php", "php_binary", "php_serialize"} {
		var seeds [][]byte
		for seed := range uint64(60) {
			g := newValueGen(seed)
			var b []byte
			if h == "v" {
				var v Value
				g.value(&v, 3)
				b, _ = EncodeValue(v)
			} else {
				b, _ = EncodeSession(g.session(Handler(h)))
			}
			seeds = append(seeds, b)
		}
		for i := range 1500 {
			modes = append(modes, h)
			inputs = append(inputs, mutate(r, seeds[i%len(seeds)]))
		}
	}
	res := runOracle(t, modes, inputs)
	bad, agreed := 0, 0
	for i, in := range inputs {
		var ok bool
		var tree *Value
		if modes[i] == "v" {
			v, _, err := DecodeValue(in)
			ok, tree = err == nil, &v
		} else {
			s, err := DecodeSession(in, Handler(modes[i]))
			ok = err == nil
			if ok {
				tree = &s.Root
			}
		}
		if ok && !res[i].ok && unknownEnum(tree) {
			continue
		}
		if ok != res[i].ok {
			if bad++; bad < 15 {
				t.Errorf("%s %q: phpser ok=%v, PHP ok=%v", modes[i], in, ok, res[i].ok)
			}
			continue
		}
		agreed++
	}
	t.Logf("%d verdicts agree with PHP, %d differ", agreed, bad)
}

// Values PHP accepts decode to what PHP decodes: compared through PHP's
// serialize() of its result and our canonical encoding, for generated
// values without what PHP itself rewrites (duplicate keys, C: payloads of
// unknown classes, int property names).
func TestPHPValuesAgree(t *testing.T) {
	var modes []string
	var inputs [][]byte
	for seed := range uint64(3000) {
		g := newValueGen(seed + 100000)
		var v Value
		g.value(&v, 4)
		if phpRewrites(&v) {
			continue
		}
		b, _ := EncodeValue(v)
		modes = append(modes, "v")
		inputs = append(inputs, b)
	}
	res := runOracle(t, modes, inputs)
	bad := 0
	for i, in := range inputs {
		if !res[i].ok {
			t.Errorf("PHP refuses our encoding %q", in)
			continue
		}
		if !bytes.Equal(res[i].ser, in) {
			if bad++; bad < 10 {
				t.Errorf("PHP re-serializes\n%q\nas\n%q", in, res[i].ser)
			}
		}
	}
	t.Logf("%d generated values: PHP decodes and re-serializes %d identically", len(inputs), len(inputs)-bad)
}

func phpRewrites(v *Value) bool {
	switch v.Kind {
	case KindCustom, KindRef, KindObjRef:
		return true
	}
	if v.Anchor != 0 || v.Kind == KindEnum {
		return true // PHP writes a repeated enum case as r:
	}
	seen := map[Key]bool{}
	for i := range v.Elems {
		k := v.Elems[i].Key
		if seen[k] || (v.Kind == KindObject && k.IsInt) {
			return true
		}
		seen[k] = true
		if phpRewrites(&v.Elems[i].Val) {
			return true
		}
	}
	return false
}
