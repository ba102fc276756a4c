<?php
// decode_worker.php answers decode requests for the Go differential tests,
// one process for thousands of payloads. Each stdin line is a JSON request
//
//   {"m": "s", "h": "php", "x": "<hex payload>"}   decode as a session file
//   {"m": "v", "x": "<hex payload>"}               unserialize() one value
//   {"m": "c", "h": "php", "x": "<hex>", "ops": [{"op": "set", "k": KEY,
//    "j": "<JSON>"}, {"op": "unset", "k": KEY}]}   decode, change, re-encode
//   (an op may add "p": [KEY, ...], a path below KEY, and "n": N, the value
//   "x" inside N nested arrays instead of "j")
//
// and gets one stdout line back:
//
//   {"ok": true, "v": <dump.php tree>, "e": "<hex>", "msg": [...], "exc": "..."}
//
// (mode "c" answers "j", the JSON mapping of shared/CLI.md, instead of "v").
// "ok" is PHP's verdict (session_start() succeeded / unserialize() did not
// fail); "v" the decoded value ($_SESSION, or the value), absent when it is
// nested too deep for JSON; "e" PHP's re-encoding (session_encode(), or
// serialize() of the value), absent when PHP has none; "msg" the
// diagnostics raised; "exc" a Throwable thrown while decoding.
//
// Sessions are decoded through the real files handler: the payload is
// written to sess_<id> in a scratch save_path and session_start() reads it.
// Output goes through fwrite(STDOUT): echo would count as "headers sent" in
// the CLI and forbid changing session ini settings.

declare(strict_types=1);

error_reporting(E_ALL & ~E_DEPRECATED);
require __DIR__ . '/classes.php';
require __DIR__ . '/dump.php';
require __DIR__ . '/climap.php';
require __DIR__ . '/scratch.php';
error_reporting(E_ALL);

$scratch = scratch_sessions('worker');

$messages = [];
collect_messages($messages);

function answer(array $r): void
{
    try {
        $line = json_encode($r, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
    } catch (JsonException $e) {
        unset($r['v']);
        $r['vo'] = $e->getMessage();
        $line = json_encode($r, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR | JSON_INVALID_UTF8_SUBSTITUTE);
    }
    fwrite(STDOUT, $line . "\n");
}

$id = 'w' . getmypid();
while (($line = fgets(STDIN)) !== false) {
    $req = json_decode($line, true, 8, JSON_THROW_ON_ERROR);
    $data = hex2bin($req['x']);
    $messages = [];
    $r = ['ok' => false];
    try {
        if ($req['m'] === 's') {
            ini_set('session.serialize_handler', $req['h']);
            file_put_contents("$scratch/sess_$id", $data);
            session_id($id);
            if (session_start()) {
                $r['ok'] = true;
                $r['v'] = Dumper::dump($_SESSION);
                $enc = session_encode();
                if ($enc !== false) {
                    $r['e'] = bin2hex($enc);
                }
                session_abort();
            }
            $_SESSION = [];
        } elseif ($req['m'] === 'c') {
            // Decode with the classes loaded, apply the changes, and answer
            // the JSON mapping of shared/CLI.md ("j", see climap.php) and
            // session_encode() ("e").
            ini_set('session.serialize_handler', $req['h']);
            file_put_contents("$scratch/sess_$id", $data);
            session_id($id);
            if (session_start()) {
                $r['ok'] = true;
                foreach ($req['ops'] ?? [] as $op) {
                    // "p": a path of keys below "k"; "n": the value is "x"
                    // inside n nested arrays instead of the JSON "j".
                    $path = array_merge([$op['k']], $op['p'] ?? []);
                    $last = array_pop($path);
                    $c = &$_SESSION;
                    foreach ($path as $k) {
                        $c = &$c[$k];
                    }
                    if ($op['op'] === 'set') {
                        if (isset($op['n'])) {
                            $v = 'x';
                            for ($i = 0; $i < $op['n']; $i++) {
                                $v = [$v];
                            }
                        } else {
                            $v = json_decode($op['j'], true, 64, JSON_THROW_ON_ERROR);
                        }
                        $c[$last] = $v;
                    } else {
                        unset($c[$last]);
                    }
                    unset($c);
                }
                $r['j'] = cli_json($_SESSION);
                $enc = session_encode();
                if ($enc !== false) {
                    $r['e'] = bin2hex($enc);
                }
                session_abort();
            }
            $_SESSION = [];
        } else {
            $v = unserialize($data);
            if ($v !== false || str_starts_with($data, 'b:0;')) {
                $r['ok'] = true;
                $r['v'] = Dumper::dump($v);
                $r['e'] = bin2hex(serialize($v));
            }
            unset($v);
        }
    } catch (Throwable $e) {
        $r['ok'] = false;
        unset($r['v'], $r['e']);
        $r['exc'] = get_class($e) . ': ' . $e->getMessage();
        if (session_status() === PHP_SESSION_ACTIVE) {
            session_abort();
        }
        $_SESSION = [];
    }
    $r['msg'] = $messages;
    answer($r);
}
@unlink("$scratch/sess_$id");
@rmdir($scratch);
