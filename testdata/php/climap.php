<?php
// cli_json() writes a PHP value as shared/CLI.md's JSON mapping ("JSON
// mapping of PHP values", what `sesstool show -o json` prints), computed
// from the value PHP itself decoded with the application's classes loaded.
// The Go tests compare it with phpser's mapping of the same bytes.
//
// A Serializable object is {"__class": NAME, "__serialized": null}: its
// payload is what its class writes, which PHP produces only by calling
// serialize() again. The SPL classes (ArrayObject, SplObjectStorage, ...)
// read from a C: payload are mapped the same way.

function cli_map($v, int $depth = 0)
{
    if ($depth > 200) {
        return '__too_deep__';
    }
    switch (true) {
        case is_float($v):
            if (is_nan($v)) {
                return 'NAN';
            }
            if (is_infinite($v)) {
                return $v > 0 ? 'INF' : '-INF';
            }
            return $v;
        case is_array($v):
            $out = [];
            foreach ($v as $k => $e) {
                $out[(string)$k] = cli_map($e, $depth + 1);
            }
            return array_is_list($v) ? array_values($out) : (object)$out;
        case $v instanceof UnitEnum:
            return (object)['__enum' => get_class($v) . ':' . $v->name];
        case $v instanceof Serializable && (!method_exists($v, '__serialize') || str_starts_with(get_class($v), 'Spl') || $v instanceof ArrayObject || $v instanceof ArrayIterator):
            return (object)['__class' => get_class($v), '__serialized' => null];
        case is_object($v):
            $out = ['__class' => get_class($v)];
            if ($v instanceof __PHP_Incomplete_Class) {
                $props = (array)$v;
                $out['__class'] = $props['__PHP_Incomplete_Class_Name'];
                unset($props['__PHP_Incomplete_Class_Name']);
            } elseif (method_exists($v, '__serialize')) {
                $props = $v->__serialize();
            } else {
                $props = (array)$v;
            }
            foreach ($props as $k => $e) {
                $k = (string)$k;
                if (strlen($k) > 0 && $k[0] === "\0") {
                    $k = substr($k, strpos($k, "\0", 1) + 1);
                }
                $out[$k] = cli_map($e, $depth + 1);
            }
            return (object)$out;
    }
    return $v;
}

/** cli_json returns the JSON text of the mapping of a session's variables. */
function cli_json(array $session): string
{
    $m = cli_map($session);
    return json_encode(is_array($m) ? (object)$m : $m, JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION | JSON_INVALID_UTF8_SUBSTITUTE | JSON_THROW_ON_ERROR, 512);
}
