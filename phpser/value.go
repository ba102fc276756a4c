// Package phpser is a lossless, PHP-exact codec for PHP's serialize() format
// and the three built-in session serialize handlers (php, php_binary,
// php_serialize).
//
// Decoding builds a tree of Values that keeps everything PHP wrote: key order
// and key kinds, class names and visibility-mangled property names, the raw
// payload of Serializable objects, enums, and references. Encoding that tree
// gives back the same bytes (see Value.Raw for non-canonical input), and a
// change to one value changes only that value's bytes and the slot numbers of
// later references that must move, renumbered exactly as PHP numbers them.
//
// The package knows nothing about files; sessfile stores the bytes.
package phpser

import "strings"

// Kind is the type of a PHP value as serialize() writes it.
type Kind uint8

// The kinds of values. Each names the serialize() token it comes from.
const (
	KindNull   Kind = iota // N;
	KindBool               // b:0; b:1;
	KindInt                // i:42;
	KindFloat              // d:0.1;
	KindString             // s:3:"abc"; (and S: on input)
	KindArray              // a:n:{...}: an ordered map with int or string keys
	KindObject             // O:len:"Class":n:{...}
	KindCustom             // C:len:"Class":n:{payload} (Serializable)
	KindEnum               // E:len:"Class:Case";
	KindRef                // R:n; a PHP reference (&) to an earlier value
	KindObjRef             // r:n; another handle to an earlier object
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "array", "object", "serializable", "enum", "reference", "object-reference"}

// String returns the lower-case name of the kind ("int", "array", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Key is an array key or an object property name. PHP array keys are either
// ints or byte strings; property names are strings that may carry a
// visibility prefix ("\x00*\x00name" protected, "\x00Class\x00name" private).
type Key struct {
	IsInt bool   // the key was written as i:N;
	Int   int64  // the key when IsInt
	Str   string // the key bytes when !IsInt (mangled, for properties)
	// Raw, when not empty, is the exact source token of a key written in a
	// form PHP never emits (S:, i:05;); the encoder writes it verbatim.
	Raw string
}

// IntKey returns an int key.
func IntKey(n int64) Key { return Key{IsInt: true, Int: n} }

// StrKey returns a string key. It does not apply PHP's numeric-string rule;
// see ArrayKey for that.
func StrKey(s string) Key { return Key{Str: s} }

// Visibility is the visibility of an object property.
type Visibility uint8

// Property visibilities, as encoded in the mangled property name.
const (
	Public Visibility = iota
	Protected
	Private
)

// Prop splits a (possibly mangled) property name into its plain name, its
// visibility and, for a private property, the declaring class.
func (k Key) Prop() (name string, vis Visibility, class string) {
	if k.IsInt {
		return "", Public, ""
	}
	s := k.Str
	if len(s) < 3 || s[0] != 0 {
		return s, Public, ""
	}
	i := strings.IndexByte(s[1:], 0)
	if i < 0 {
		return s, Public, ""
	}
	cls, name := s[1:1+i], s[2+i:]
	if cls == "*" {
		return name, Protected, ""
	}
	return name, Private, cls
}

// PropKey builds the mangled property name PHP uses for a property with the
// given visibility (class is the declaring class of a private property).
func PropKey(name string, vis Visibility, class string) Key {
	switch vis {
	case Protected:
		return Key{Str: "\x00*\x00" + name}
	case Private:
		return Key{Str: "\x00" + class + "\x00" + name}
	}
	return Key{Str: name}
}

// Entry is one key/value pair of an array, an object or a session.
type Entry struct {
	Key Key
	Val Value
}

// Value is one PHP value. Which fields matter depends on Kind:
//
//	KindNull                    -
//	KindBool                    Int (0 or 1)
//	KindInt                     Int
//	KindFloat                   Float
//	KindString                  Str (raw bytes, any encoding)
//	KindArray                   Elems (in order; duplicate keys are kept as written)
//	KindObject                  Str (class name), Elems (mangled property names);
//	                            from igbinary, Payload: where the null keys of
//	                            uninitialised typed properties stand
//	KindCustom                  Str (class name), Payload (the bytes as read), and
//	                            when PHP reads the payload's values with the
//	                            session's reference table (decode_custom.go):
//	                            Elems, those values in order, each Key.Int its
//	                            index and Key.Str the payload bytes before it,
//	                            and Int, how many bytes of Payload follow the
//	                            last one. The encoder then writes the payload
//	                            from Elems, renumbering references inside it.
//	KindEnum                    Str ("Class:Case")
//	KindRef, KindObjRef         Int (the Anchor of the target value)
//
// Values decoded from input alias one copy of the input; they are safe to
// keep and to change.
type Value struct {
	Kind Kind
	// Flags records how the igbinary or msgpack serializer wrote the value
	// where the value itself does not say (FlagRef, FlagCopy,
	// FlagSerialize). Values decoded from serialize() and the constructors
	// have none.
	Flags   Flags
	Int     int64
	Float   float64
	Str     string
	Payload string
	Elems   []Entry
	// Anchor is non-zero when some KindRef or KindObjRef value refers to this
	// one. The decoder sets it to the value's slot number in the input; the
	// encoder renumbers. Keep it when you replace a referenced value in place
	// (PHP assigns through a reference).
	Anchor int64
	// Raw, when not empty, is the exact source token of a scalar written in a
	// form PHP's encoder would not produce (d:0.10000000000000001;, i:+5;,
	// S:3:"\61bc";). Encode writes it verbatim so that decode then encode is
	// byte-exact. The constructors leave it empty; clear it when you change
	// the value.
	Raw string
}

// Flags are encoding facts of the extensions' serializers (igbinary,
// msgpack) that a value keeps so that it encodes back to the same bytes.
type Flags uint8

const (
	// FlagRef: the value is a PHP reference (&) where it stands. igbinary
	// writes it with its 25 prefix, msgpack an array with nil -> 1 first.
	// On a KindObjRef it means a reference to the object's handle (25 22 n).
	// A value that some KindRef refers to is a reference with or without it.
	FlagRef Flags = 1 << iota
	// FlagCopy: an array that igbinary wrote as a back-reference (01 n)
	// because PHP shared it, copy-on-write, with an earlier array: Int is
	// the Anchor of that array. The Value holds a full copy; it is written
	// as a back-reference again while it still equals the earlier array.
	FlagCopy
	// FlagSerialize: an object whose class has __serialize(), which msgpack
	// writes as {nil: class, nil: data} with Elems the data's entries
	// (igbinary and serialize() write such data as the properties).
	FlagSerialize
	// FlagCut: an array or object decoded for a view (DecodeOptions.Shown)
	// that holds only its first entries; Int is how many it has. The
	// encoders refuse it.
	FlagCut
)

// errCutValue is the encoders' refusal of a value cut for a view.
func errCutValue() *EncodeError {
	return &EncodeError{Reason: "a value decoded for a view holds only its first entries (DecodeOptions.Shown): it cannot be encoded"}
}

// Count is how many entries v has: len(Elems), or for a value cut for a
// view (FlagCut) the count it was decoded with.
func (v *Value) Count() int {
	if v.Flags&FlagCut != 0 {
		return int(v.Int)
	}
	return len(v.Elems)
}

// Null returns the PHP null value.
func Null() Value { return Value{Kind: KindNull} }

// Bool returns a PHP bool.
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, Int: 1}
	}
	return Value{Kind: KindBool}
}

// Int returns a PHP int.
func Int(n int64) Value { return Value{Kind: KindInt, Int: n} }

// Float returns a PHP float.
func Float(f float64) Value { return Value{Kind: KindFloat, Float: f} }

// String returns a PHP string holding the bytes of s.
func String(s string) Value { return Value{Kind: KindString, Str: s} }

// Array returns a PHP array holding entries in order.
func Array(entries ...Entry) Value { return Value{Kind: KindArray, Elems: entries} }

// Object returns an object of class with the given (mangled) properties.
func Object(class string, props ...Entry) Value {
	return Value{Kind: KindObject, Str: class, Elems: props}
}

// Custom returns a Serializable object (C:) with its payload, opaque: its
// values take no reference slots (see Value for payloads PHP reads).
func Custom(class, payload string) Value {
	return Value{Kind: KindCustom, Str: class, Payload: payload}
}

// Enum returns an enum case; classCase is "Class:Case".
func Enum(classCase string) Value { return Value{Kind: KindEnum, Str: classCase} }

// IsTrue reports whether a KindBool value is true.
func (v Value) IsTrue() bool { return v.Kind == KindBool && v.Int != 0 }

// IsContainer reports whether v holds entries (array or object).
func (v Value) IsContainer() bool { return v.Kind == KindArray || v.Kind == KindObject }

// Any reports whether f is true of v or of a value inside it (its
// entries' values, and theirs, in order; a Serializable object's payload
// values too). It stops at the first.
func (v *Value) Any(f func(*Value) bool) bool {
	if f(v) {
		return true
	}
	for i := range v.Elems {
		if v.Elems[i].Val.Any(f) {
			return true
		}
	}
	return false
}

// IsRef reports whether v is a reference (R:, r:): with Any, whether a
// value holds one.
func IsRef(v *Value) bool { return v.Kind == KindRef || v.Kind == KindObjRef }

// IsLinked reports whether v is a reference or a value one names (an
// Anchor): with Any, whether a value is tied to others by references.
func IsLinked(v *Value) bool { return IsRef(v) || v.Anchor != 0 }
