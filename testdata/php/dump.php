<?php
// dump_value() turns a PHP value into a precise, JSON-encodable tree that the
// Go tests compare with phpser's decoding. Nothing is lost to JSON:
//
//   null                 {"t":"null"}
//   bool                 {"t":"bool","v":true}
//   int                  {"t":"int","v":"-9223372036854775808"}   (decimal string)
//   float                {"t":"float","v":"0.1"}   (serialize() digits: INF, -INF, NAN, -0)
//   string               {"t":"string","hex":"616263"}
//   array                {"t":"array","e":[[KEY, VALUE], ...]}    in PHP's order
//   object               {"t":"object","class":"User","e":[[KEY, VALUE], ...]}
//                        mangled property names as (array) gives them; for a
//                        class with __serialize the entries are its result;
//                        for __PHP_Incomplete_Class the original class name
//                        and without __PHP_Incomplete_Class_Name.
//   Serializable         {"t":"custom","class":"LegacyToken","hex":"..."}
//   enum case            {"t":"enum","v":"Suit:Hearts"}
//   KEY                  {"i":"5"} or {"s":"<hex>"}
//
// Identity: the k-th distinct object (enums excepted) met in a depth-first
// walk in order is object k (from 0); a later occurrence of the same object
// is {"t":"same","n":k}. A PHP reference (&) met for the first time is
// {"t":"ref","n":k,"v":VALUE} (k-th distinct reference, from 0); every later
// occurrence of the same reference is {"t":"refto","n":k}.

final class Dumper
{
    private array $objects = [];
    private array $refs = [];

    public static function dump($v): array
    {
        return (new self())->value($v);
    }

    /** Dumps an array's entries, references included. */
    public static function dumpEntries(array $a): array
    {
        return (new self())->entries($a);
    }

    private function entries(array $a): array
    {
        $out = [];
        foreach ($a as $k => $v) {
            $key = is_int($k) ? ['i' => (string)$k] : ['s' => bin2hex($k)];
            try {
                $r = ReflectionReference::fromArrayElement($a, $k);
            } catch (ReflectionException $e) {
                // A string key such as "5" that only the session decoder
                // can create: no lookup reaches it, so it cannot be
                // inspected for a reference; it holds a plain value.
                $r = null;
            }
            if ($r !== null) {
                $id = $r->getId();
                if (array_key_exists($id, $this->refs)) {
                    $out[] = [$key, ['t' => 'refto', 'n' => $this->refs[$id]]];
                    continue;
                }
                $n = count($this->refs);
                $this->refs[$id] = $n;
                $out[] = [$key, ['t' => 'ref', 'n' => $n, 'v' => $this->value($v)]];
                continue;
            }
            $out[] = [$key, $this->value($v)];
        }
        return $out;
    }

    private function value($v): array
    {
        switch (true) {
            case $v === null:
                return ['t' => 'null'];
            case is_bool($v):
                return ['t' => 'bool', 'v' => $v];
            case is_int($v):
                return ['t' => 'int', 'v' => (string)$v];
            case is_float($v):
                return ['t' => 'float', 'v' => substr(serialize($v), 2, -1)];
            case is_string($v):
                return ['t' => 'string', 'hex' => bin2hex($v)];
            case is_array($v):
                return ['t' => 'array', 'e' => $this->entries($v)];
            case $v instanceof UnitEnum:
                return ['t' => 'enum', 'v' => get_class($v) . ':' . $v->name];
            case is_object($v):
                $id = spl_object_id($v);
                if (array_key_exists($id, $this->objects)) {
                    return ['t' => 'same', 'n' => $this->objects[$id]];
                }
                $this->objects[$id] = count($this->objects);
                if ($v instanceof Serializable && !($v instanceof __PHP_Incomplete_Class) && !method_exists($v, '__serialize')) {
                    return ['t' => 'custom', 'class' => get_class($v), 'hex' => bin2hex((string)$v->serialize())];
                }
                $class = get_class($v);
                if ($v instanceof __PHP_Incomplete_Class) {
                    $props = (array)$v;
                    $class = $props['__PHP_Incomplete_Class_Name'] ?? $class;
                    unset($props['__PHP_Incomplete_Class_Name']);
                } elseif (method_exists($v, '__serialize')) {
                    $props = $v->__serialize();
                } else {
                    $props = (array)$v;
                }
                return ['t' => 'object', 'class' => $class, 'e' => $this->entries($props)];
        }
        return ['t' => 'unknown', 'type' => get_debug_type($v)];
    }
}

/** dump_json returns the JSON text of Dumper::dump($v), one line. */
function dump_json($v): string
{
    return json_encode(Dumper::dump($v), JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR);
}
