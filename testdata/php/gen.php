<?php
// gen.php writes the session files of testdata/sessions and testdata/demo
// with PHP's real session machinery: for every case and every handler it
// runs session_id(<case>); session_start(); fills $_SESSION;
// session_write_close(); so each file holds exactly the bytes PHP wrote.
//
// Usage (from the repository root):
//   php testdata/php/gen.php [OUTDIR]       regenerate (OUTDIR defaults to testdata/)
//   php testdata/php/gen.php --touch-demo   spread the mtimes of testdata/demo
//                                           (git does not keep mtimes)
//
// Deterministic: no randomness, no clock; regenerating gives identical bytes.
// Only sess_* files that gen.php itself writes are removed or replaced.

declare(strict_types=1);

error_reporting(E_ALL & ~E_DEPRECATED); // LegacyToken implements Serializable
require __DIR__ . '/classes.php';
error_reporting(E_ALL);

const HANDLERS = ['php', 'php_binary', 'php_serialize', 'igbinary', 'msgpack'];

/** A fixed "now" for timestamps inside sessions (2025-11-21 09:00:00 UTC). */
const T0 = 1763715600;

/**
 * The cases: id => function(array &$s) that fills $_SESSION. Ids are valid
 * PHP session ids ([A-Za-z0-9,-]).
 */
function cases(): array
{
    return [
        'scalars' => function (array &$s) {
            $s['null'] = null;
            $s['true'] = true;
            $s['false'] = false;
            $s['zero'] = 0;
            $s['one'] = 1;
            $s['minus_one'] = -1;
            $s['answer'] = 42;
            $s['negative'] = -123456789;
            $s['int_max'] = PHP_INT_MAX;
            $s['int_min'] = PHP_INT_MIN;
            $s['two_pow_53'] = 2 ** 53;
        },
        'floats' => function (array &$s) {
            $s['f0_1'] = 0.1;
            $s['f1_0'] = 1.0;
            $s['neg_zero'] = -0.0;
            $s['zero'] = 0.0;
            $s['f1_5'] = 1.5;
            $s['e15'] = 1e15;
            $s['e16'] = 1e16;
            $s['e17'] = 1e17;
            $s['e25'] = 1e25;
            $s['em4'] = 1e-4;
            $s['em5'] = 1e-5;
            $s['small'] = 0.00012345;
            $s['big'] = 123456789012345678.0;
            $s['inf'] = INF;
            $s['neg_inf'] = -INF;
            $s['nan'] = NAN;
            $s['neg_nan'] = -NAN;
            $s['third'] = 1 / 3;
            $s['float_max'] = PHP_FLOAT_MAX;
            $s['float_min'] = PHP_FLOAT_MIN;
            $s['denorm_min'] = 5e-324;
            $s['e_minus7'] = 1.25e-7;
            $s['hundred'] = 100.0;
            $s['price'] = 19.99;
            $s['negative'] = -2.5;
            $s['two_pow_53'] = (float)(2 ** 53);
            $s['epsilon'] = PHP_FLOAT_EPSILON;
        },
        'floats-precision17' => function (array &$s) {
            // Written with serialize_precision=17 (the pre-7.1 default):
            // non-canonical digits that PHP still reads.
            $s['f0_1'] = 0.1;
            $s['third'] = 1 / 3;
            $s['f1_0'] = 1.0;
            $s['e25'] = 1e25;
        },
        'strings' => function (array &$s) {
            $s['empty'] = '';
            $s['ascii'] = 'hello world';
            $s['utf8'] = "Zoë — 日本語 🎉";
            $s['latin1'] = "caf\xe9";
            $s['all_bytes'] = implode('', array_map('chr', range(0, 255)));
            $s['specials'] = '|;:"{}';
            $s['nul'] = "a\0b\0";
            $s['quote'] = '"';
            $s['looks_serialized'] = 's:3:"abc";i:1;}';
            $s['crlf'] = "line1\r\nline2\n";
            $s['pipe_key_like'] = 'x|i:1;';
            $s['numeric'] = '42';
            $s['float_text'] = '1.0E+25';
            $s['spaces'] = '  padded  ';
            $s['long'] = str_repeat('0123456789', 30);
        },
        'arrays' => function (array &$s) {
            $s['list'] = ['a', 'b', 'c'];
            $s['empty'] = [];
            $s['nested'] = ['a' => ['b' => ['c' => ['d' => 'deep']]], 'empty' => [[], [[]]]];
            $s['assoc'] = ['x' => 1, 'y' => 2.5, 'z' => null];
            $s['mixed'] = [0 => 'zero', 'one' => 1, 2 => [true, false]];
            $s['sparse'] = [3 => 'three', 1 => 'one', 10 => 'ten'];
            $deep = 'bottom';
            for ($i = 0; $i < 64; $i++) {
                $deep = [$deep];
            }
            $s['deep64'] = $deep;
        },
        'keys' => function (array &$s) {
            $s['int_keys'] = [0 => 'a', -1 => 'minus one', 7 => 'seven', PHP_INT_MAX => 'max', PHP_INT_MIN => 'min'];
            // "5" and "-5" become int keys; the others stay strings.
            $s['numeric_strings'] = ['5' => 'int 5', '-5' => 'int -5', '05' => 'str 05', '-0' => 'str -0',
                '1.5' => 'str 1.5', ' 5' => 'str space 5', '5 ' => 'str 5 space', '+5' => 'str +5',
                '9223372036854775808' => 'str overflow', '1e3' => 'str 1e3', '' => 'empty key'];
            $s['odd_string_keys'] = ["nul\0key" => 1, 'pipe|key' => 2, "new\nline" => 3, 'ünï' => 4, '"q"' => 5, ';' => 6];
        },
        'session-keys' => function (array &$s) {
            // Top-level keys each handler can store ('|' is in pipekey).
            $s[''] = 'empty key';
            $s['!bang'] = 'not an undefined marker since 7.2';
            $s['semi;colon'] = 1;
            $s["nul\0byte"] = 2;
            $s["new\nline"] = 3;
            $s['sp ace'] = 4;
            $s['ünïcödé'] = 5;
            $s['05'] = 'string key 05';
            $s['1.5'] = 'string key 1.5';
            $s[str_repeat('k', 127)] = 'longest php_binary key';
            $s[str_repeat('L', 128)] = 'php_binary drops this one silently';
        },
        'int-keys' => function (array &$s) {
            // php and php_binary skip int keys ("Skipping numeric key"),
            // php_serialize keeps them.
            $s['before'] = 'kept';
            $s[5] = 'int key 5';
            $s['7'] = 'string "7" is int 7';
            $s[-1] = 'int key -1';
            $s['after'] = 'kept too';
        },
        'pipe-key' => function (array &$s) {
            // A '|' in a key makes the php handler write nothing at all
            // (the file ends up empty); the other handlers store it.
            $s['ok'] = 1;
            $s['a|b'] = 2;
        },
        'objects' => function (array &$s) {
            $s['user'] = new User('ann', 'admin', 'x');
            $s['child'] = new ChildModel(7, 'Inherited private');
            $t = new Typed();
            $t->label = 'count stays uninitialised';
            $s['typed'] = $t;
            $u = new User('bob', 'editor', "p\0w");
            $s['nested'] = ['owner' => $u, 'list' => [new User('c', 'viewer', '')]];
        },
        'stdclass' => function (array &$s) {
            $o = new stdClass();
            $o->name = 'plain';
            $o->n = 1;
            $o->list = [1, 2];
            $o->inner = new stdClass();
            $o->inner->deep = true;
            $o->{'5'} = 'numeric property name';
            $o->{''} = 'empty property name';
            $s['obj'] = $o;
            $s['empty'] = new stdClass();
            $s['from_array'] = (object)['a' => 1, 3 => 'int key becomes "3"'];
        },
        'serializable' => function (array &$s) {
            $s['token'] = new LegacyToken('opaque|;payload{with}"braces"');
            $s['empty'] = new LegacyToken('');
            $s['binary'] = new LegacyToken("\0\x01\xff}");
            $s['in_array'] = ['t' => new LegacyToken('inner')];
        },
        'serializable-refs' => function (array &$s) {
            // The issue's example: e = &b after a payload of 2 values.
            $s['foo'] = new LegacyCart(['a']);
            $s['b'] = 'B';
            $s['c'] = 'C';
            $s['d'] = 'D';
            $s['e'] = &$s['b'];
        },
        'serializable-nested' => function (array &$s) {
            $o = new stdClass();
            $o->id = 7;
            $s['user'] = $o;
            $s['name'] = 'ann';
            // A payload with nested arrays, an object handle from outside
            // (r:), a PHP reference to a session variable (R:) and an
            // object of its own.
            $own = new stdClass();
            $own->sku = 'X-1';
            $s['cart'] = new LegacyCart([
                'lines' => [['sku' => 'X-1', 'qty' => 2], ['sku' => 'Y-2', 'qty' => 1]],
                'owner' => $o,
                'name' => &$s['name'],
                'product' => $own,
            ]);
            // After the payload: handles and references into it.
            $s['product'] = $own;
            $s['qty'] = &$s['cart']->items['lines'][0]['qty'];
            // Several payloads, one inside another.
            $s['pair'] = new LegacyPair(new LegacyCart([1, 2]), $own);
            $s['pair2'] = new LegacyPair($o, [true, null, 1.5]);
            $s['last'] = &$s['name'];
            $s['opaque'] = new LegacyToken('a:1:{i:0;');
            $s['end'] = $o;
        },
        'magic-serialize' => function (array &$s) {
            $s['money'] = new Money(['amount' => 1999, 'currency' => 'EUR']);
            $s['int_props'] = new Money([7 => 'seven', 0 => 'zero', 'x' => [1.5, null]]);
            $s['empty'] = new Money([]);
        },
        'enums' => function (array &$s) {
            $s['suit'] = Suit::Hearts;
            $s['status'] = Status::Active;
            $s['again'] = Suit::Hearts; // same case again: written as r:
            $s['list'] = [Suit::Spades, Status::Banned, Suit::Spades];
        },
        'incomplete' => function (array &$s) {
            // Classes unknown to PHP: O: round-trips through
            // __PHP_Incomplete_Class; C: loses its payload (written as O:...:0:{}).
            $s['missing'] = unserialize("O:7:\"Missing\":2:{s:1:\"p\";i:1;s:4:\"\0*\0q\";s:1:\"v\";}");
            $s['missing_custom'] = unserialize('C:13:"MissingCustom":3:{abc}');
        },
        'objref' => function (array &$s) {
            $o = new stdClass();
            $o->p = 1;
            $s['x'] = $o;
            $s['y'] = $o;
            $s['arr'] = [$o, $o];
            $u = new User('shared');
            $s['owner'] = $u;
            $s['users'] = ['first' => $u, 'second' => new User('other')];
            $self = new stdClass();
            $self->name = 'self';
            $self->me = $self;
            $s['self'] = $self;
        },
        'refs' => function (array &$s) {
            // PHP-FACTS 9.3.
            $s['i'] = 7;
            $s['arr'] = ['k' => 'v', 5 => true];
            $o = new stdClass();
            $o->p = 1;
            $s['x'] = $o;
            $s['y'] = $o;
            $s['s'] = 'str';
            $s['r'] = &$s['s'];
            $s['deep'] = [&$s['i']];
            $s['nested'] = ['a' => ['b' => 'target']];
            $s['to_nested'] = &$s['nested']['a']['b'];
            $s['ref_obj'] = &$s['x'];
            $arr = [1, 2];
            $arr[2] = &$arr[0];
            $s['inner'] = $arr;
        },
        'selfref' => function (array &$s) {
            $s['loop'] = ['name' => 'loop'];
            $s['loop']['self'] = &$s['loop'];
            $s['after'] = 'x';
        },
        'login' => function (array &$s) {
            $s['user_id'] = 42;
            $s['username'] = 'alice';
            $s['email'] = 'alice@example.com';
            $s['roles'] = ['ROLE_USER', 'ROLE_ADMIN'];
            $s['logged_in'] = true;
            $s['login_time'] = T0 - 3600;
            $s['last_activity'] = T0;
            $s['ip'] = '203.0.113.7';
            $s['user_agent'] = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
            $s['locale'] = 'de_DE';
        },
        'cart' => function (array &$s) {
            $s['cart'] = [
                'items' => [
                    ['sku' => 'TSHIRT-M-BLK', 'name' => 'T-Shirt "Logo" (M, black)', 'price' => 19.99, 'qty' => 2],
                    ['sku' => 'MUG-001', 'name' => 'Mug — 330 ml', 'price' => 8.5, 'qty' => 1],
                    ['sku' => 'STICKER', 'name' => 'Sticker', 'price' => 0.1, 'qty' => 10],
                ],
                'coupon' => null,
                'currency' => 'EUR',
                'subtotal' => 49.48,
            ];
            $s['cart_updated'] = T0 - 120;
        },
        'flash' => function (array &$s) {
            $s['user_id'] = 7;
            $s['_flash'] = ['old' => [], 'new' => ['status']];
            $s['status'] = 'Profile saved.';
            $s['flash_messages'] = ['success' => ['Your order #1042 was placed.'], 'warning' => []];
        },
        'csrf' => function (array &$s) {
            $s['_token'] = 'rV2pQx8kY3mN7bT1cL5wZ9hJ4dF6gS0aE2uI8oP3';
            $s['csrf_tokens'] = ['form_login' => str_repeat('0123456789abcdef', 4)];
        },
        'symfony' => function (array &$s) {
            $s['_sf2_attributes'] = [
                '_csrf/authenticate' => 'kJ0nJ1x0qZl8m3Xo5c9wYQe2Rz7aVb4u',
                '_security_main' => 'O:74:"Symfony\Component\Security\Core\Authentication\Token\UsernamePasswordToken":0:{}',
                '_locale' => 'en',
            ];
            $s['_sf2_meta'] = ['u' => T0, 'c' => T0 - 86400, 'l' => 0];
        },
        'large' => function (array &$s) {
            $s['user_id'] = 1001;
            $history = [];
            for ($i = 0; $i < 30; $i++) {
                $history[] = ['url' => sprintf('/catalog/category-%02d/product-%04d?ref=nav', $i % 7, $i * 37), 'at' => T0 - 60 * (30 - $i)];
            }
            $s['history'] = $history;
            $s['prefs'] = ['theme' => 'dark', 'page_size' => 50, 'columns' => ['id', 'name', 'price', 'stock'], 'ratio' => 0.75];
        },
        'empty' => function (array &$s) {
        },
    ];
}

/** The demo save_path: id => [age in seconds at --touch-demo, filler]. */
function demo(): array
{
    $login = function (int $uid, string $name, array $roles, int $last, string $ua) {
        return function (array &$s) use ($uid, $name, $roles, $last, $ua) {
            $s['user_id'] = $uid;
            $s['username'] = $name;
            $s['roles'] = $roles;
            $s['logged_in'] = true;
            $s['last_activity'] = $last;
            $s['user_agent'] = $ua;
            $s['_token'] = substr(hash('sha256', $name . $last), 0, 40);
        };
    };
    $firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
    $iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148';
    return [
        '3kq8vdl0b1m5e7hn2cfs9ruo4a' => [45, $login(42, 'alice', ['ROLE_USER', 'ROLE_ADMIN'], T0 - 45, $firefox)],
        '8fj2u0n6pq4tk1cg7sd3bmhe5v' => [3 * 3600, $login(42, 'alice', ['ROLE_USER', 'ROLE_ADMIN'], T0 - 3 * 3600, $iphone)],
        'a0c7g4m1r9d2pk5hu8ntle3sbq' => [12 * 60, function (array &$s) use ($login, $firefox) {
            $login(7, 'bob', ['ROLE_USER'], T0 - 720, $firefox)($s);
            $s['cart'] = ['items' => [
                ['sku' => 'TSHIRT-M-BLK', 'name' => 'T-Shirt "Logo" (M, black)', 'price' => 19.99, 'qty' => 2],
                ['sku' => 'MUG-001', 'name' => 'Mug — 330 ml', 'price' => 8.5, 'qty' => 1],
            ], 'coupon' => 'WELCOME10', 'currency' => 'EUR'];
        }],
        'c5v1h8e2k0q7nd4mtb9slu3gaj' => [2 * 86400, $login(1001, 'carol', ['ROLE_USER', 'ROLE_ADMIN', 'ROLE_SUPER_ADMIN'], T0 - 2 * 86400, $firefox)],
        'e9b3n6s0d4l8ga1qmk7rvt2uhc' => [5 * 60, function (array &$s) {
            $s['cart'] = ['items' => [['sku' => 'POSTER-A2', 'name' => 'Poster A2', 'price' => 12.0, 'qty' => 1]], 'coupon' => null, 'currency' => 'EUR'];
            $s['visited'] = ['/', '/posters', '/posters/a2'];
        }],
        'g2m7d0t5a9u3qk8bn1ls6evhj4' => [30, function (array &$s) {
            $s['_flash'] = ['old' => [], 'new' => ['status']];
            $s['status'] = 'Your password has been reset. Please log in.';
        }],
        'j6s1q9b4h0e7vn2dm5ulc8agt3' => [50 * 60, function (array &$s) {
            $s['_token'] = 'Qm9uam91ciDDoCB0b3VzISBDc3JmIHRva2VuIDEy';
        }],
        'l4t8a2g6m0d9sv3ku7hq1cenb5' => [26 * 60, $login(314, 'dave', ['ROLE_USER'], T0 - 26 * 60, $iphone)],
        'n1e5k9c3u7b0qt4hm8dg2vsal6' => [7 * 86400, function (array &$s) use ($login, $firefox) {
            $login(2048, 'erin', ['ROLE_USER'], T0 - 7 * 86400, $firefox)($s);
            $s['prefs'] = ['theme' => 'dark', 'page_size' => 50, 'columns' => ['id', 'name', 'price', 'stock'], 'newsletter' => false];
        }],
        'q8h2b6v0m4d1ta5sk9ec3nlg7u' => [90, function (array &$s) {
            // Session started, nothing stored: a 0-byte file.
        }],
        's3d7n1g5b9u2qm6ha0vle4kct8' => [40 * 3600, function (array &$s) use ($login, $firefox) {
            $login(5, 'frank', ['ROLE_USER'], T0 - 40 * 3600, $firefox)($s);
            $s['cart'] = ['items' => [['sku' => 'BOOK-PHP', 'name' => 'PHP Internals', 'price' => 39.9, 'qty' => 1]], 'coupon' => null, 'currency' => 'EUR'];
        }],
        // Written by PHP, then a trailing newline appended (an editor or a
        // careless script): PHP 8 destroys this session on the next request.
        'u0k4e8q2g6c1ms5bh9tdnv3alj' => [20 * 60, $login(99, 'mallory', ['ROLE_USER'], T0 - 20 * 60, $firefox), "\n"],
    ];
}

/** start opens session $id under $handler in $dir, from an empty file. */
function start(string $dir, string $handler, string $id): void
{
    ini_set('session.save_path', $dir);
    ini_set('session.serialize_handler', $handler);
    $file = "$dir/sess_$id";
    if (file_exists($file) && !unlink($file)) {
        throw new RuntimeException("cannot remove $file");
    }
    session_id($id);
    if (!session_start()) {
        throw new RuntimeException("session_start failed for $file");
    }
}

function mkdirp(string $dir): void
{
    if (!is_dir($dir) && !mkdir($dir, 0755, true)) {
        throw new RuntimeException("cannot create $dir");
    }
}

function generate(string $out): void
{
    $written = [];
    foreach (HANDLERS as $h) {
        $dir = "$out/sessions/$h";
        mkdirp($dir);
        foreach (cases() as $id => $fill) {
            if ($id === 'floats-precision17') {
                ini_set('serialize_precision', '17');
            }
            start($dir, $h, $id);
            $fill($_SESSION);
            session_write_close();
            ini_set('serialize_precision', '-1');
            $_SESSION = [];
            $written[] = "$dir/sess_$id";
        }
    }
    $dir = "$out/demo";
    mkdirp($dir);
    foreach (demo() as $id => [$age, $fill]) {
        start($dir, 'php', $id);
        $fill($_SESSION);
        session_write_close();
        $_SESSION = [];
        $suffix = demo()[$id][2] ?? '';
        if ($suffix !== '') {
            file_put_contents("$dir/sess_$id", $suffix, FILE_APPEND);
        }
        $written[] = "$dir/sess_$id";
    }
    // Nothing is printed before this point: in the CLI, output counts as
    // "headers sent" and session ini settings could no longer be changed.
    echo implode("\n", $written), "\n";
}

function touch_demo(string $out): void
{
    $now = time();
    foreach (demo() as $id => [$age]) {
        $f = "$out/demo/sess_$id";
        if (!touch($f, $now - $age)) {
            throw new RuntimeException("cannot touch $f");
        }
    }
}

// Any diagnostic other than the ones these cases provoke on purpose is a bug
// in the generator: stop with it.
set_error_handler(function (int $no, string $msg, string $file, int $line) {
    foreach (['Skipping numeric key', 'has no unserializer'] as $expected) {
        if (str_contains($msg, $expected)) {
            return true;
        }
    }
    throw new ErrorException($msg, 0, $no, $file, $line);
});

ini_set('session.use_strict_mode', '0');
ini_set('session.use_cookies', '0');
ini_set('session.use_only_cookies', '0');
ini_set('session.cache_limiter', '');
ini_set('session.gc_probability', '0');
ini_set('session.save_handler', 'files');
ini_set('serialize_precision', '-1');

$args = array_slice($argv, 1);
$touch = in_array('--touch-demo', $args, true);
$args = array_values(array_filter($args, fn($a) => $a !== '--touch-demo'));
$out = $args[0] ?? dirname(__DIR__);
if ($touch) {
    touch_demo($out);
} else {
    generate($out);
}
