<?php
// Classes and enums that the testdata sessions use. gen.php, verdicts.php and
// the Go differential tests load this file before decoding, exactly as an
// application's autoloader would make them available to session_start().
// Nothing here may depend on time, randomness or the environment.

declare(strict_types=1);

/** A user with one property of each visibility (PHP-FACTS 9.1). */
class User
{
    public $name = 'ann';
    protected $role = 'admin';
    private $pw = 'x';

    public function __construct(string $name = 'ann', string $role = 'admin', string $pw = 'x')
    {
        $this->name = $name;
        $this->role = $role;
        $this->pw = $pw;
    }
}

/** A parent with a private property that its child shadows. */
class BaseModel
{
    private $secret = 'base-secret';
    protected $id = 0;
    public $tags = [];
}

/** Inherits BaseModel's private $secret and declares its own. */
class ChildModel extends BaseModel
{
    private $secret = 'child-secret';
    public $title = '';
    public function __construct(int $id, string $title)
    {
        $this->id = $id;
        $this->title = $title;
        $this->tags = ['a', 'b'];
    }
}

/** Typed properties: an uninitialised one is not serialized at all. */
class Typed
{
    public int $count;
    public ?string $label = null;
    public float $ratio = 0.5;
    public array $list = [];
}

/**
 * A Serializable class without __serialize: serialized as C: with the
 * opaque payload that serialize() returns. (Deprecated at declaration since
 * PHP 8.1; callers include this file with E_DEPRECATED masked.)
 */
class LegacyToken implements Serializable
{
    public $payload;
    public function __construct(string $payload = '')
    {
        $this->payload = $payload;
    }
    public function serialize(): ?string
    {
        return $this->payload;
    }
    public function unserialize(string $data): void
    {
        $this->payload = $data;
    }
}

/**
 * A legacy Serializable cart whose serialize() calls serialize(): the values
 * inside its C: payload take reference slots in the session's table, and the
 * payload may hold references to values outside it (PHP-FACTS 4.7).
 */
class LegacyCart implements Serializable
{
    public $items;
    public function __construct(array $items = [])
    {
        $this->items = $items;
    }
    public function serialize(): ?string
    {
        return serialize($this->items);
    }
    public function unserialize(string $data): void
    {
        $this->items = unserialize($data);
    }
}

/**
 * A Serializable pair that serializes an array of its two members, which may
 * be objects (handles shared with the rest of the session) or other
 * Serializable objects.
 */
class LegacyPair implements Serializable
{
    public $a;
    public $b;
    public function __construct($a = null, $b = null)
    {
        $this->a = $a;
        $this->b = $b;
    }
    public function serialize(): ?string
    {
        return serialize([$this->a, $this->b]);
    }
    public function unserialize(string $data): void
    {
        [$this->a, $this->b] = unserialize($data);
    }
}

/**
 * A class with __serialize/__unserialize: serialized as O: whose "properties"
 * are the returned array, int keys included. The array is kept verbatim so
 * that __serialize() gives back exactly what was decoded.
 */
class Money
{
    private array $data;
    public function __construct(array $data = [])
    {
        $this->data = $data;
    }
    public function __serialize(): array
    {
        return $this->data;
    }
    public function __unserialize(array $data): void
    {
        $this->data = $data;
    }
}

/** A pure enum. */
enum Suit
{
    case Hearts;
    case Spades;
}

/** A backed enum. */
enum Status: string
{
    case Active = 'active';
    case Banned = 'banned';
}
