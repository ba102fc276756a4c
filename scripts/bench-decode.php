<?php
// Runs PHP's own session_decode / session_encode over a corpus directory
// written by internal/corpus/gencorpus (DIR/<handler>/<000000...>).
//
//   php bench-decode.php time   DIR HANDLER ROUNDS
//       prints "decode_mbps=... encode_mbps=... bytes=... sessions=... failures=..."
//       decode: session_decode of every payload, ROUNDS passes, wall clock;
//       encode: session_encode after decoding each payload (only the encode
//       calls are timed).
//   php bench-decode.php icount DIR HANDLER MODE
//       MODE load | decode | encode: for instruction counting under
//       callgrind (decode minus load = decoding; encode minus decode =
//       encoding, as MODE encode decodes and then encodes every payload).

error_reporting(E_ALL & ~E_DEPRECATED);
ini_set('display_errors', 'stderr');

[$self, $cmd, $dir, $handler, $arg] = $argv + [null, null, null, null, null];
if (!in_array($cmd, ['time', 'icount'], true) || !is_dir("$dir/$handler")) {
    fwrite(STDERR, "usage: php bench-decode.php time|icount DIR HANDLER ROUNDS|MODE\n");
    exit(2);
}

$files = glob("$dir/$handler/[0-9]*");
sort($files, SORT_STRING);
$payloads = [];
$bytes = 0;
foreach ($files as $f) {
    $p = file_get_contents($f);
    $payloads[] = $p;
    $bytes += strlen($p);
}

$save = sys_get_temp_dir() . '/sesstool-bench-' . getmypid();
@mkdir($save, 0700);
ini_set('session.save_path', $save);
ini_set('session.use_cookies', '0');
ini_set('session.use_strict_mode', '0');
ini_set('session.cache_limiter', '');
ini_set('session.gc_probability', '0');
ini_set('session.serialize_handler', $handler);
session_id('sesstoolbench');
session_start();

$failures = 0;
if ($cmd === 'icount') {
    if ($arg === 'decode' || $arg === 'encode') {
        foreach ($payloads as $p) {
            if (!session_decode($p)) {
                $failures++;
                session_id('sesstoolbench');
                session_start();
            }
            if ($arg === 'encode') {
                session_encode();
            }
        }
    }
} else {
    $rounds = max(1, (int)$arg);
    $t = hrtime(true);
    for ($r = 0; $r < $rounds; $r++) {
        foreach ($payloads as $p) {
            if (!session_decode($p)) {
                $failures++;
                session_id('sesstoolbench');
                session_start();
            }
        }
    }
    $dec = (hrtime(true) - $t) / 1e9;
    $enc = 0.0;
    for ($r = 0; $r < $rounds; $r++) {
        foreach ($payloads as $p) {
            session_decode($p);
            $t = hrtime(true);
            session_encode();
            $enc += (hrtime(true) - $t) / 1e9;
        }
    }
    printf("decode_mbps=%.1f encode_mbps=%.1f bytes=%d sessions=%d failures=%d\n",
        $bytes * $rounds / $dec / 1e6, $bytes * $rounds / $enc / 1e6, $bytes, count($payloads), $failures);
}
session_abort();
@unlink("$save/sess_sesstoolbench");
@rmdir($save);
