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
//   silently_empty
//              msgpack only, present only when true: an accept in which
//              $_SESSION is empty only because PHP could not read the
//              payload. msgpack's session decoder never fails (no warning,
//              no destroy: the next write overwrites the data), so this is
//              its way of rejecting. Decided by msgpack_unserialize() of the
//              same bytes, which then fails or gives neither an array nor an
//              object (a well-formed map or list that merely holds no
//              string keys is not silently empty)
//
// in testdata/malformed/verdicts.json, for the handlers php, php_binary,
// php_serialize, igbinary and msgpack (the igbinary and msgpack payloads
// are written as hex below, beside what STORES-FACTS sections 5 and 6 say
// of them).
//
// Left out because PHP cannot answer them safely: igbinary `01 00` (a copy
// of the session array under construction: the decoded array contains
// itself, and dumping it never ends), igbinary nesting of about 50000
// arrays (a segfault: its decoder has no depth limit and overflows the C
// stack), msgpack `{nil: 2, 0: "x"}` and `{nil: 2}` without the id (the
// warning prints a pointer or uninitialised memory as the id, so it differs
// per run), and msgpack or igbinary sessions whose root is an
// object of a declared class (PHP copies its property slots as INDIRECT
// zvals into $_SESSION and then frees the object).
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

/**
 * The same, for one handler's case only: msgpack-php 2.2 hands
 * Serializable::unserialize() the payload with a NUL byte appended, drops
 * the __serialize data of an unknown class, and fills properties the
 * payload lacks from the class's defaults.
 */
const CLASS_DEPENDENT_FILES = ['msgpack/serializable', 'msgpack/magic-unknown-class', 'msgpack/private-property'];

function nest(string $open, int $n, string $leaf): string
{
    return str_repeat($open, $n) . $leaf . str_repeat('}', $n);
}

/** Bytes from hex digits; whitespace is ignored. */
function hx(string ...$hex): string
{
    $h = preg_replace('/\s+/', '', implode('', $hex));
    if (strlen($h) % 2 !== 0 || !ctype_xdigit($h)) {
        throw new RuntimeException("bad hex $h");
    }
    return hex2bin($h);
}

/** Hex of an igbinary string8 literal: 11 <len> <bytes>. */
function igs(string $s): string
{
    return sprintf('11%02x', strlen($s)) . bin2hex($s);
}

/** Hex of a msgpack fixstr: a0|len <bytes>. */
function mps(string $s): string
{
    return sprintf('%02x', 0xa0 | strlen($s)) . bin2hex($s);
}

/** igbinary payloads (STORES-FACTS 5): the header 00000002, then one array. */
function igbinary_cases(): array
{
    $h = '00000002';
    // {a: 1, b: "xyz"}, 19 bytes: 00000002 1402 110161 0601 110162 1103 78797a
    $valid = hx($h, '1402', igs('a'), '0601', igs('b'), igs('xyz'));
    $a = fn(string ...$v) => hx($h, '1401', igs('a'), ...$v); // {a: <v>}
    return [
        'empty' => '',
        'header-only' => hx($h),
        'header-short' => hx('000000'),
        'version-1' => hx('00000001 1401', igs('a'), '0601'),
        'version-3' => hx('00000003 1401', igs('a'), '0601'),
        'wrong-header' => hx('02000000 1401', igs('a'), '0601'),
        'php-text' => 'a|i:1;',
        'valid' => $valid,
        // truncations of $valid
        'truncated-type' => substr($valid, 0, 5),
        'truncated-count' => substr($valid, 0, 6),
        'truncated-key-length' => substr($valid, 0, 7),
        'truncated-key' => substr($valid, 0, 8),
        'truncated-before-value' => substr($valid, 0, 9),
        'truncated-int' => substr($valid, 0, 10),
        'truncated-second-entry' => substr($valid, 0, 11),
        'truncated-string' => substr($valid, 0, 18),
        // type bytes 28..ff are unused; others are misplaced
        'value-28' => $a('28'),
        'value-ff' => $a('ff'),
        'key-28' => hx($h, '1401 28 0601'),
        'key-ff' => hx($h, '1401 ff 0601'),
        'key-bool' => hx($h, '1401 05 0601'),
        'key-double' => hx($h, '1401 0c3ff0000000000000 0601'),
        'key-array' => hx($h, '1401 1400 0601'),
        'value-enum-bare' => $a('27', igs('x')),
        'value-object-ser-bare' => $a('1d03 616263'),
        'root-int' => hx($h, '0601'),
        'root-string' => hx($h, igs('abc')),
        'root-object' => hx($h, '1708', bin2hex('stdClass'), '1401', igs('a'), '0601'),
        // counts and lengths past the end
        'count8-past-end' => hx($h, '1405', igs('a'), '0601'),
        'count16-past-end' => hx($h, '15ffff', igs('a'), '0601'),
        'count32-past-end' => hx($h, '16ffffffff', igs('a'), '0601'),
        'nested-count-past-end' => $a('1405 0600 0601'),
        'string8-past-end' => $a('1105 6162'),
        'string16-past-end' => $a('120100 6162'),
        'string32-past-end' => $a('13ffffffff 6162'),
        'key-past-end' => hx($h, '1401 1105 6162'),
        'string64-past-end' => $a('26ffffffffffffffff 6162'),
        // string ids, reference slots
        'string-id-missing' => $a('0e05'),
        'string-id-next' => $a('0e01'),
        'string-id16' => hx($h, '1402', igs('a'), '0601', igs('b'), '0f0000'),
        'object-id-missing' => $a('1a05 1400'),
        'ref-missing' => $a('0109'),
        'refref-to-root' => $a('250100'),
        'objref-not-object' => hx($h, '1402', igs('a'), '1400', igs('b'), '2201'),
        'objref-missing' => $a('2205'),
        'ref-to-array' => hx($h, '1402', igs('a'), '1402 0600 0601 0601 0602', igs('b'), '250101'),
        'ref-to-ref-array' => hx($h, '1402', igs('a'), '25 1402 0600 0601 0601 0602', igs('b'), '250101'),
        'ref-to-scalar-ref' => hx($h, '1402', igs('a'), '250607', igs('b'), '250101'),
        'lone-ref' => $a('250607'),
        'lone-ref-array' => $a('25 1401 0600 0601'),
        'copy-of-array' => hx($h, '1402', igs('a'), '1402 0600 0601 0601 0602', igs('b'), '0101'),
        'copy-of-scalar-ref' => hx($h, '1402', igs('a'), '250607', igs('b'), '0101'),
        'copy-of-object' => hx($h, '1402', igs('a'), '1708', bin2hex('stdClass'), '1400', igs('b'), '0101'),
        'ref-scalar-twice' => hx($h, '1403', igs('a'), '250607', igs('b'), '250101', igs('c'), '250101'),
        // non-minimal encodings PHP never writes
        'long16-small' => $a('080007'),
        'long64-small' => $a('200000000000000007'),
        'string16-short' => $a('120001 41'),
        'array16-small' => hx($h, '150001', igs('a'), '0601'),
        'nested-array16-small' => $a('150001 0600 0601'),
        'repeated-literal' => hx($h, '1402', igs('a'), igs('x'), igs('b'), igs('x')),
        'empty-string-literal' => $a('1100'),
        // keys
        'null-key-array' => $a('1402 00', igs('b'), '0601'),
        'null-key-object' => $a('1708', bin2hex('stdClass'), '1402 00', igs('p'), '0601'),
        'null-key-top' => hx($h, '1402 00', igs('a'), '0601'),
        'int-key' => hx($h, '1402 0605', igs('x'), igs('a'), '0601'),
        'numeric-string-key' => hx($h, '1402', igs('5'), igs('x'), igs('a'), '0601'),
        'empty-key' => hx($h, '1401 0d 0601'),
        'duplicate-key' => hx($h, '1402', igs('a'), '0601', '0e00', '0602'),
        // after the session
        'trailing-garbage' => $valid . 'GARBAGE',
        'trailing-newline' => $valid . "\n",
        'trailing-header' => $valid . hx($h, '1400'),
        // nesting: {a: [[...[null]...]]}; igbinary has no depth limit
        'depth-4096' => $a(str_repeat('14010600', 4096), '00'),
        'depth-4097' => $a(str_repeat('14010600', 4097), '00'),
        // scalars
        'long64-overflow' => $a('21ffffffffffffffff'),
        'long64-positive-overflow' => $a('208000000000000000'),
        'long64-min' => $a('218000000000000000'),
        'double' => $a('0c3ff8000000000000'),
        'double-nan' => $a('0c7ff8000000000001'),
        'string64' => $a('260000000000000003 616263'),
        'bool-values' => hx($h, '1402', igs('t'), '05', igs('f'), '04'),
        // classes
        'object-ser' => $a('170b', bin2hex('LegacyToken'), '1d03 616263'),
        'missing-custom' => $a('1707', bin2hex('Missing'), '1d03 616263'),
        'custom-for-plain-class' => $a('1704', bin2hex('User'), '1d03 616263'),
        'unknown-enum' => $a('1704', bin2hex('Nope'), '27', igs('Foo')),
        'unknown-enum-case' => $a('1704', bin2hex('Suit'), '27', igs('Nope')),
        'enum-of-class' => $a('1704', bin2hex('User'), '27', igs('Foo')),
        'enum-as-object' => $a('1704', bin2hex('Suit'), '1400'),
        'missing-class' => $a('1707', bin2hex('Missing'), '1401', igs('p'), '0601'),
        'magic-unserialize' => $a('1705', bin2hex('Money'), '1402 0600 0601', igs('k'), '0602'),
        'class-case-insensitive' => $a('1704', bin2hex('user'), '1401', igs('name'), igs('z')),
    ];
}

/** msgpack payloads (STORES-FACTS 6): one map, nil -> 1 first. */
function msgpack_cases(): array
{
    // The 175-byte session of STORES-FACTS 13.5.
    $vector = hx('8e c001', mps('user'), mps('alice'), mps('n'), '2a', mps('neg'), 'd1fed4',
        mps('big'), 'cf000000012a05f200', mps('f'), 'cb3ff8000000000000', mps('t'), 'c3',
        mps('nul'), 'c0', mps('list'), '93 01 02', mps('x'), mps('map'), '82', mps('a'),
        mps('shared-string'), mps('b'), mps('shared-string'), mps('cart'), '84 c0', mps('Cart'),
        mps('items'), '91', mps('sku1'), mps("\0*\0owner"), mps('bob'), mps("\0Cart\0secret"),
        mps('s3'), mps('cart2'), '82 c004 0004', mps('r1'), '07', mps('r2'), '07');
    if (strlen($vector) !== 175) {
        throw new RuntimeException('msgpack vector is ' . strlen($vector) . ' bytes');
    }
    $a = fn(string ...$v) => hx('82 c001', mps('a'), ...$v); // {a: <v>}
    $cart = strpos($vector, hx(mps('cart'), '84'));
    return [
        'empty' => '',
        'empty-array' => hx('90'),
        'empty-map' => hx('80'),
        'facts-vector' => $vector,
        // truncations of $vector
        'truncated-1' => substr($vector, 0, 1),
        'truncated-2' => substr($vector, 0, 2),
        'truncated-in-key' => substr($vector, 0, 5),
        'truncated-in-uint64' => substr($vector, 0, strpos($vector, hx('cf')) + 4),
        'truncated-in-object' => substr($vector, 0, $cart + 10),
        'truncated-last-byte' => substr($vector, 0, 174),
        // counts and lengths past the end
        'fixmap-past-end' => hx('83 c001', mps('a'), '01'),
        'map16-past-end' => hx('deffff c001', mps('a'), '01'),
        'map32-past-end' => hx('dfffffffff c001', mps('a'), '01'),
        'array-past-end' => $a('93 01 02'),
        'array32-past-end' => $a('ddffffffff 01'),
        'str-past-end' => $a('a5 6162'),
        'str8-past-end' => $a('d9ff 6162'),
        'str16-past-end' => $a('daffff 6162'),
        'str32-past-end' => $a('dbffffffff 6162'),
        'key-past-end' => hx('82 c001 a5 6162'),
        // type bytes
        'value-c1' => $a('c1'),
        'key-c1' => hx('82 c001 c1 01'),
        'root-c1' => hx('c1'),
        'ext-fixext1' => $a('d401 00'),
        'ext-fixext2' => $a('d501 0000'),
        'ext-fixext4' => $a('d601 00000000'),
        'ext-fixext8' => $a('d701 0000000000000000'),
        'ext-fixext16' => $a('d801 00000000000000000000000000000000'),
        'ext8' => $a('c702 01 abab'),
        'ext16' => $a('c80002 01 abab'),
        'ext32' => $a('c900000002 01 abab'),
        'ext-past-end' => $a('c7ff 01 abab'),
        'bin8' => $a('c403 616263'),
        'bin16' => $a('c50003 616263'),
        'bin32' => $a('c600000003 616263'),
        'bin-key' => hx('82 c001 c401 61 01'),
        'float32' => $a('ca3fc00000'),
        'float64' => $a('cb3ff8000000000000'),
        // non-minimal encodings PHP never writes
        'uint16-small' => $a('cd0007'),
        'int8-positive' => $a('d005'),
        'int64-minus-one' => $a('d3ffffffffffffffff'),
        'str16-short' => $a('da0003 616263'),
        'str8-short' => $a('d903 616263'),
        'map16-small' => hx('de0002 c001', mps('a'), '01'),
        'array16-small' => $a('dc0002 01 02'),
        // integers
        'uint64-overflow' => $a('cfffffffffffffffff'),
        'uint64-2p63' => $a('cf8000000000000000'),
        'uint64-int64-max' => $a('cf7fffffffffffffff'),
        'uint32-max' => $a('ceffffffff'),
        'int64-min' => $a('d38000000000000000'),
        // keys
        'numeric-key-top' => hx('83 c001', mps('5'), '01', mps('a'), '02'),
        'numeric-key-nested' => $a('82', mps('5'), '01', mps('05'), '02'),
        'int-key' => hx('83 c001 05', mps('x'), mps('a'), '01'),
        'negative-int-key' => hx('83 c001 ff', mps('x'), mps('a'), '01'),
        'only-int-keys' => hx('82 c001 05', mps('x')),
        'empty-key' => hx('82 c001 a0 01'),
        'duplicate-key' => hx('83 c001', mps('a'), '01', mps('a'), '02'),
        'array-key' => hx('82 c001 9101 01'),
        'float-key' => hx('82 c001 cb3ff8000000000000 01'),
        'bool-key' => hx('82 c001 c3 01'),
        'no-ref-marker' => hx('81', mps('a'), '01'),
        'ref-marker-twice' => hx('83 c001 c001', mps('a'), '01'),
        'ref-marker-last' => hx('82', mps('a'), '01 c001'),
        'nil-key-nil' => hx('82 c0c0', mps('a'), '01'),
        // type markers: nil -> 2 (recursive), 4 (object), 5 (object
        // reference), 6 (unused in 2.2.0RC2), with a var id
        'recursive-missing' => $a('82 c002 0009'),
        'object-missing' => $a('82 c004 0009'),
        'objref-missing' => $a('82 c005 0009'),
        'type-6-missing' => $a('82 c006 0009'),
        'recursive-to-root' => $a('82 c002 0001'),
        'recursive-to-array' => hx('83 c001', mps('a'), '92 01 02', mps('b'), '82 c002 0002'),
        'object-to-array' => hx('83 c001', mps('a'), '92 01 02', mps('b'), '82 c004 0002'),
        'objref-to-object' => hx('83 c001', mps('a'), '82 c0', mps('stdClass'), mps('p'), '01', mps('b'), '82 c005 0002'),
        'marker-then-string-key' => $a('82 c002', mps('k'), '02'),
        // classes
        'missing-class' => $a('82 c0', mps('Nope'), mps('p'), '01'),
        'class-only' => $a('81 c0', mps('stdClass')),
        'class-not-first' => $a('82', mps('p'), '01 c0', mps('stdClass')),
        'class-name-empty' => $a('82 c0 a0', mps('p'), '01'),
        'enum-as-object' => hx('83 c001', mps('e'), '83 c0', mps('Suit'), mps('name'), mps('Hearts'),
            mps('value'), mps('H'), mps('f'), '82 c004 0002'),
        'magic-unserialize' => $a('82 c0', mps('Money'), 'c0 82', mps('z'), '09', mps('k'), '91 01'),
        'magic-unknown-class' => hx('82 c001', mps('m'), '82 c0', mps('M'), 'c0 82', mps('z'), '09', mps('k'), '91 01'),
        'serializable' => hx('82 c001', mps('s'), '82 c003', mps('LegacyToken'), mps('raw')),
        'missing-custom' => hx('82 c001', mps('s'), '82 c003', mps('Missing'), mps('raw')),
        'custom-for-plain-class' => hx('82 c001', mps('s'), '82 c003', mps('User'), mps('raw')),
        'custom-int-key' => hx('82 c001', mps('s'), '82 c003 05', mps('raw')),
        'private-property' => $a('83 c0', mps('User'), mps('name'), mps('z'), mps("\0User\0pw"), mps('q')),
        // the root
        'root-int' => hx('05'),
        'root-string' => hx(mps('abc')),
        'root-nil' => hx('c0'),
        'root-true' => hx('c3'),
        'root-list' => hx('92 01 02'),
        'root-object' => hx('82 c0', mps('stdClass'), mps('a'), '01'),
        'root-recursive' => hx('82 c002 0001'),
        // nesting: {a: [[...[nil]...]]}; msgpack-php's unpacker stops at
        // 1024 nested containers, the session map included
        'depth-4096' => $a(str_repeat('91', 4096), 'c0'),
        'depth-4097' => $a(str_repeat('91', 4097), 'c0'),
        'depth-1023' => $a(str_repeat('91', 1023), 'c0'),
        'depth-1024' => $a(str_repeat('91', 1024), 'c0'),
        'depth-maps-4097' => $a(str_repeat('81a161', 4097), 'c0'),
        // after the session
        'trailing-bytes' => hx('82 c001', mps('a'), '01 ffff'),
        'trailing-newline' => hx('82 c001', mps('a'), '01 0a'),
        'trailing-map' => hx('82 c001', mps('a'), '01 82 c001', mps('b'), '02'),
    ];
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
    return ['php' => $php, 'php_binary' => $bin, 'php_serialize' => $ser,
        'igbinary' => igbinary_cases(), 'msgpack' => msgpack_cases()];
}

/**
 * Whether msgpack_unserialize() reads $payload as an array or an object,
 * that is as something msgpack's session decoder copies variables out of.
 * Its diagnostics are not the session's: they are dropped.
 */
function msgpack_readable(string $payload, array &$messages): bool
{
    $saved = $messages;
    try {
        $v = msgpack_unserialize($payload);
    } catch (Throwable $e) {
        $v = null;
    } finally {
        $messages = $saved;
    }
    return is_array($v) || is_object($v);
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
        if (in_array($name, CLASS_DEPENDENT, true) || in_array("$handler/$name", CLASS_DEPENDENT_FILES, true)) {
            $rec['class_dependent'] = true;
        }
        if ($ok && $handler === 'msgpack' && $payload !== '' && $_SESSION === []
            && !msgpack_readable($payload, $messages)) {
            $rec['silently_empty'] = true;
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
