<?php
// verdicts.php writes the malformed and lenient session payloads of
// testdata/malformed/<handler>/<name> and asks real PHP what it makes of
// each: it copies the payload into a scratch save_path as sess_<name>, runs
// session_start() under the handler (with the classes of classes.php
// loaded, as an application would) and records
//
//   verdict    "accept", or "reject" when PHP fails to decode it (PHP 8
//              then destroys the session: "destroyed" says the file is gone)
//   value      for accepts, $_SESSION as dump.php's precise tree
//   encoded_hex for accepts, hex of session_encode() (PHP's canonical
//              re-encoding; "" when it returns false, i.e. nothing to store)
//   messages   the diagnostics PHP raised while decoding
//
// in testdata/malformed/verdicts.json.
//
// Usage (from the repository root):
//   php testdata/php/verdicts.php [OUTDIR]   (OUTDIR defaults to testdata/)

declare(strict_types=1);

error_reporting(E_ALL & ~E_DEPRECATED); // LegacyToken implements Serializable
require __DIR__ . '/classes.php';
require __DIR__ . '/dump.php';
require __DIR__ . '/scratch.php';
error_reporting(E_ALL);

/**
 * Cases whose verdict depends on the classes the application has loaded
 * (an enum, a class without unserialize()): a decoder that knows no classes
 * cannot agree with PHP on them, so the Go tests only report them.
 */
const CLASS_DEPENDENT = ['unknown-enum', 'unknown-enum-case', 'enum-of-class', 'enum-as-object',
    'custom-for-plain-class', 'object-for-serializable', 'private-of-other-class',
    'class-case-insensitive', 'missing-custom'];

function nest(string $open, int $n, string $leaf): string
{
    return str_repeat($open, $n) . $leaf . str_repeat('}', $n);
}

/** handler => name => payload. Names are valid session ids. */
function cases(): array
{
    $php = [
        // PHP-FACTS 9.4
        'two-ints' => 'a|i:1;b|i:2;',
        'trailing-garbage' => 'a|i:1;garbage',
        'trailing-newline' => "x|i:1;\n",
        'trailing-crlf' => "x|i:1;\r\n",
        'bang-key' => '!a|i:1;',
        'empty-key' => '|i:1;',
        'numeric-key' => '5|s:1:"x";',
        'ref-to-slot1' => 'a|i:1;b|R:1;',
        'ref-slot-missing' => 'a|i:1;b|R:2;',
        'ref-into-array' => 'a|a:1:{i:0;s:1:"x";}b|R:2;',
        'ref-into-array-missing' => 'a|a:1:{i:0;s:1:"x";}b|R:3;',
        'objref-not-object' => 'a|a:1:{i:0;s:1:"x";}b|r:2;',
        'duplicate-key' => 'a|i:1;a|i:2;',
        'junk-key' => 'a|i:1;junk|i:2;',
        'double-semicolon' => 'a|i:1;;b|i:2;',
        'newline-between' => "a|i:1;\nb|i:2;",
        'unknown-enum' => 'a|E:8:"Nope:Foo";b|i:1;',
        'unknown-enum-case' => 'a|E:9:"Suit:Nope";',
        'enum-of-class' => 'a|E:8:"User:Foo";',
        'enum-no-colon' => 'a|E:4:"Suit";',
        'enum-objref' => 'a|E:11:"Suit:Hearts";b|r:1;',
        'enum-as-object' => 'a|O:4:"Suit":0:{}',
        'missing-class' => 'a|O:7:"Missing":1:{s:1:"p";i:1;}',
        'missing-custom' => 'a|C:7:"Missing":3:{abc}',
        'int-overflow' => 'a|i:99999999999999999999;',
        'int-underflow' => 'a|i:-99999999999999999999;',
        'float-overflow' => 'a|d:1e400;',
        'bool-2' => 'a|b:2;',
        'escaped-string' => 'a|S:3:"\61bc";',
        'escaped-string-bad' => 'a|S:3:"\zzbc";',
        'escaped-string-short' => 'a|S:3:"\6";',
        'string-with-quote' => 'a|s:3:"a"c";',
        'array-duplicate-keys' => 'a|a:2:{i:0;i:1;i:0;i:2;}',
        'array-extra-element' => 'a|a:1:{i:0;i:1;i:1;i:2;}',
        'array-missing-elements' => 'a|a:3:{i:0;i:1;}',
        'empty' => '',
        // truncation and lengths
        'truncated-string' => 'a|s:10:"abc',
        'truncated-int' => 'a|i:1',
        'truncated-array' => 'a|a:2:{i:0;i:1;',
        'truncated-object' => 'a|O:8:"stdClass":1:{s:1:"p";',
        'truncated-key' => 'abc',
        'key-only' => 'a|',
        'string-length-short' => 'a|s:2:"abc";',
        'string-length-long' => 'a|s:5:"abc";b|i:1;',
        'string-length-huge' => 'a|s:99999999:"x";',
        'string-length-overflow' => 'a|s:99999999999999999999:"x";',
        'string-length-negative' => 'a|s:-1:"";',
        'array-count-huge' => 'a|a:999999999:{}',
        'array-count-overflow' => 'a|a:99999999999999999999:{}',
        'array-count-negative' => 'a|a:-1:{}',
        'object-count-huge' => 'a|O:8:"stdClass":999999999:{}',
        'custom-length-wrong' => 'a|C:11:"LegacyToken":5:{abc}',
        'custom-length-huge' => 'a|C:11:"LegacyToken":99999999:{abc}',
        'class-length-wrong' => 'a|O:3:"stdClass":0:{}',
        'class-empty' => 'a|O:0:"":0:{}',
        'class-invalid-name' => 'a|O:3:"a-b":0:{}',
        // nesting: PHP's unserialize_max_depth is 4096
        'depth-4096' => 'a|' . nest('a:1:{i:0;', 4096, 'N;'),
        'depth-4097' => 'a|' . nest('a:1:{i:0;', 4097, 'N;'),
        'depth-objects-4097' => 'a|' . nest('O:8:"stdClass":1:{s:1:"p";', 4097, 'N;'),
        // references
        'ref-zero' => 'a|i:1;b|R:0;',
        'ref-self' => 'a|R:1;',
        'objref-self' => 'a|r:1;',
        'objref-zero' => 'a|O:8:"stdClass":0:{}b|r:0;',
        'objref-to-object' => 'a|O:8:"stdClass":0:{}b|r:1;',
        'objref-counts-a-slot' => 'a|O:8:"stdClass":0:{}b|r:1;c|i:5;d|R:3;',
        'ref-to-object' => 'a|O:8:"stdClass":1:{s:1:"p";i:1;}b|R:1;',
        'ref-does-not-count' => 'a|i:1;b|R:1;c|i:2;d|R:2;',
        'ref-in-key-position' => 'a|a:1:{R:1;i:1;}',
        // duplicate keys and references: at the top level a replaced value
        // lives on for later references; inside an array the replaced
        // value's slot aliases the bucket (later references see the new value)
        'dup-key-then-ref' => 'a|i:1;a|i:2;b|R:1;',
        'ref-then-dup-key' => 'a|i:1;b|R:1;a|i:2;',
        'dup-key-two-refs' => 'a|s:1:"x";a|i:2;b|R:1;c|R:1;',
        'dup-object-then-ref' => 'x|O:8:"stdClass":1:{s:1:"p";i:1;}x|O:8:"stdClass":1:{s:1:"p";i:2;}y|R:1;',
        'array-dup-then-ref' => 'a|a:2:{i:0;i:1;i:0;i:2;}b|R:2;',
        'array-ref-before-dup' => 'a|a:3:{i:0;i:1;i:1;R:2;i:0;i:5;}',
        'array-dup-self-objref' => 'a|a:2:{i:0;O:8:"stdClass":0:{}i:0;r:2;}',
        'array-dup-self-ref' => 'a|a:2:{i:0;i:5;i:0;R:2;}',
        'array-dup-nested-objref' => 'a|a:2:{i:0;O:8:"stdClass":0:{}i:0;a:1:{i:0;r:2;}}',
        'array-dup-nested-ref' => 'a|a:2:{i:0;i:5;i:0;a:1:{i:0;R:2;}}',
        'array-dup-objref' => 'a|a:2:{i:0;O:8:"stdClass":1:{s:1:"p";i:1;}i:0;O:8:"stdClass":1:{s:1:"p";i:2;}}b|r:2;',
        // scalars PHP reads leniently
        'int-plus' => 'a|i:+5;',
        'int-leading-zeros' => 'a|i:05;',
        'int-minus-zero' => 'a|i:-0;',
        'int-empty' => 'a|i:;',
        'int-fraction' => 'a|i:1.5;',
        'int-space' => 'a|i: 1;',
        'float-leading-dot' => 'a|d:.5;',
        'float-trailing-dot' => 'a|d:5.;',
        'float-exponent' => 'a|d:1e5;',
        'float-long-digits' => 'a|d:0.10000000000000001;',
        'float-plus' => 'a|d:+1.5;',
        'float-lower-inf' => 'a|d:inf;',
        'float-plus-inf' => 'a|d:+INF;',
        'float-minus-nan' => 'a|d:-NAN;',
        'float-hex' => 'a|d:0x10;',
        'float-empty' => 'a|d:;',
        'null-no-semicolon' => 'a|N',
        'uppercase-token' => 'a|I:1;',
        'space-before-value' => 'a| i:1;',
        // keys
        'array-float-key' => 'a|a:1:{d:1;i:1;}',
        'array-null-key' => 'a|a:1:{N;i:1;}',
        'array-bool-key' => 'a|a:1:{b:1;i:1;}',
        'array-numeric-string-key' => 'a|a:2:{s:1:"5";i:1;s:2:"05";i:2;}',
        'array-escaped-key' => 'a|a:1:{S:1:"\6b";i:1;}',
        'array-key-int-plus' => 'a|a:1:{i:+7;i:1;}',
        'object-int-property' => 'a|O:8:"stdClass":1:{i:0;i:1;}',
        'nul-in-session-key' => "a\0b|i:1;",
        // classes
        'custom-for-plain-class' => 'a|C:4:"User":3:{abc}',
        'object-for-serializable' => 'a|O:11:"LegacyToken":1:{s:7:"payload";s:1:"x";}',
        'magic-unserialize' => 'a|O:5:"Money":1:{s:1:"x";i:1;}',
        'private-of-other-class' => 'a|O:4:"User":1:{s:9:"' . "\0Other\0pw" . '";s:1:"y";}',
        'class-case-insensitive' => 'a|O:4:"user":1:{s:4:"name";s:1:"z";}',
    ];
    $bin = [
        'high-bit' => "\x81ai:1;",
        'key-only' => "\x01a",
        'zero-length-key' => "\x00i:1;",
        'zero-length-key-alone' => "\x00",
        'length-past-end' => "\x05abi:1;",
        'key-127' => "\x7f" . str_repeat('k', 127) . 'i:1;',
        'length-255' => "\xff" . str_repeat('k', 127) . 'i:1;',
        'trailing-newline' => "\x01ai:1;\n",
        'bad-value' => "\x01ai:x;",
        'pipe-in-key' => "\x03a|bi:1;",
        'empty' => '',
        'refs' => "\x01ai:1;\x01bR:1;",
        'truncated-value' => "\x01as:5:\"ab",
    ];
    $ser = [
        'trailing-bytes' => 'a:1:{s:1:"a";i:1;}trailing',
        'trailing-newline' => "a:1:{s:1:\"a\";i:1;}\n",
        'int-root' => 'i:5;',
        'null-root' => 'N;',
        'string-root' => 's:3:"abc";',
        'object-root' => 'O:8:"stdClass":1:{s:1:"p";i:1;}',
        'numeric-string-key' => 'a:1:{s:1:"5";i:1;}',
        'garbage' => 'garbage',
        'empty' => '',
        'truncated' => 'a:1:{s:1:"a";i:1;',
        'ref-to-root' => 'a:2:{s:1:"a";i:1;s:1:"b";R:1;}',
        'ref-to-object-root' => 'O:8:"stdClass":2:{s:1:"a";i:1;s:1:"b";R:1;}',
        'objref-to-root' => 'a:1:{s:1:"a";r:1;}',
        'ref-slots-plus-one' => 'a:2:{s:1:"a";i:1;s:1:"b";R:2;}',
        'depth-4096' => nest('a:1:{i:0;', 4096, 'N;'),
        'depth-4097' => nest('a:1:{i:0;', 4097, 'N;'),
        'count-huge' => 'a:999999999:{}',
        'array-extra-element' => 'a:1:{i:0;i:1;i:1;i:2;}',
        'unknown-enum' => 'a:1:{s:1:"e";E:8:"Nope:Foo";}',
    ];
    return ['php' => $php, 'php_binary' => $bin, 'php_serialize' => $ser];
}

function rmtree(string $dir): void
{
    foreach (glob("$dir/*") ?: [] as $f) {
        unlink($f);
    }
    @rmdir($dir);
}

$out = $argv[1] ?? dirname(__DIR__);
$scratch = scratch_sessions('verdicts');


$messages = [];
collect_messages($messages);

$verdicts = [];
foreach (cases() as $handler => $cases) {
    $dir = "$out/malformed/$handler";
    if (!is_dir($dir) && !mkdir($dir, 0755, true)) {
        throw new RuntimeException("cannot create $dir");
    }
    ini_set('session.serialize_handler', $handler);
    foreach ($cases as $name => $payload) {
        if (!preg_match('/^[A-Za-z0-9,-]+$/', $name)) {
            throw new RuntimeException("case name $name is not a valid session id");
        }
        file_put_contents("$dir/$name", $payload);
        $file = "$scratch/sess_$name";
        file_put_contents($file, $payload);
        $messages = [];
        session_id($name);
        $thrown = null;
        try {
            $ok = session_start();
        } catch (Throwable $e) {
            // e.g. "Cannot instantiate enum": the request dies here.
            $ok = false;
            $thrown = get_class($e) . ': ' . $e->getMessage();
        }
        $rec = ['file' => "$handler/$name", 'handler' => $handler, 'verdict' => $ok ? 'accept' : 'reject'];
        if (in_array($name, CLASS_DEPENDENT, true)) {
            $rec['class_dependent'] = true;
        }
        if ($thrown !== null) {
            $rec['exception'] = $thrown;
            if (session_status() === PHP_SESSION_ACTIVE) {
                session_abort();
            }
        }
        if ($ok) {
            if (str_starts_with($name, 'depth-')) {
                // Thousands of levels: too deep for JSON decoders (Go's
                // stops at 10000); encoded_hex still says what PHP read.
                $rec['value_omitted'] = 'nesting too deep for JSON';
            } else {
                $rec['value'] = Dumper::dump($_SESSION);
            }
            $enc = session_encode();
            $rec['encoded_hex'] = $enc === false ? '' : bin2hex($enc);
            session_abort();
        } elseif ($thrown === null) {
            $rec['destroyed'] = !file_exists($file);
        }
        $rec['messages'] = $messages;
        $_SESSION = [];
        @unlink($file);
        $verdicts[] = $rec;
    }
}
rmtree($scratch);
restore_error_handler();

file_put_contents("$out/malformed/verdicts.json",
    json_encode($verdicts, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR) . "\n");
$n = count($verdicts);
$acc = count(array_filter($verdicts, fn($v) => $v['verdict'] === 'accept'));
echo "$n cases: $acc accepted, " . ($n - $acc) . " rejected\n";
