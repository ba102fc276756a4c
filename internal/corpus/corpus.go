// Package corpus generates a deterministic corpus of realistic PHP session
// payloads for benchmarks: logins, shopping carts, flash messages, CSRF
// tokens, framework bags (Laravel- and Symfony-style), nested preference
// arrays, objects with protected and private properties, some floats and
// references. The same seed always gives the same bytes.
package corpus

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/sesstool/sesstool/phpser"
)

// Size bounds of a generated session payload, in bytes.
const (
	MinSize = 100
	MaxSize = 3000
)

// Sessions returns n session payloads encoded with handler h (php,
// php_binary or php_serialize), each between MinSize and MaxSize bytes.
func Sessions(n int, h phpser.Handler, seed uint64) ([][]byte, error) {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5e55)), h: h}
	out := make([][]byte, 0, n)
	for i := range n {
		b, err := g.session()
		if err != nil {
			return nil, fmt.Errorf("corpus session %d (%s): %w", i, h, err)
		}
		out = append(out, b)
	}
	return out, nil
}

type gen struct {
	r *rand.Rand
	h phpser.Handler
}

func (g *gen) encode(es []phpser.Entry) ([]byte, error) {
	return phpser.EncodeSession(&phpser.Session{Handler: g.h, Root: phpser.Array(es...)})
}

// session adds components until the payload reaches a size drawn from
// [MinSize, MaxSize].
func (g *gen) session() ([]byte, error) {
	target := MinSize + g.r.IntN(MaxSize-MinSize)
	es := g.base()
	b, err := g.encode(es)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, e := range es {
		used[e.Key.Str] = true
	}
	for tries := 0; len(b) < target && tries < 40; tries++ {
		more := g.component()
		if slices.ContainsFunc(more, func(e phpser.Entry) bool { return used[e.Key.Str] }) {
			continue // PHP sessions have each key once
		}
		for _, e := range more {
			used[e.Key.Str] = true
		}
		next, err := g.encode(append(es, more...))
		if err != nil {
			return nil, err
		}
		if len(next) > MaxSize {
			break
		}
		es, b = append(es, more...), next
	}
	for len(b) < MinSize {
		es = append(es, str("_pad", g.token(MinSize)))
		if b, err = g.encode(es); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func str(k, v string) phpser.Entry { return phpser.Entry{Key: phpser.StrKey(k), Val: phpser.String(v)} }
func num(k string, v int64) phpser.Entry {
	return phpser.Entry{Key: phpser.StrKey(k), Val: phpser.Int(v)}
}
func list(vs ...phpser.Value) phpser.Value {
	es := make([]phpser.Entry, len(vs))
	for i, v := range vs {
		es[i] = phpser.Entry{Key: phpser.IntKey(int64(i)), Val: v}
	}
	return phpser.Array(es...)
}

var (
	firstNames = []string{"ann", "bob", "chloé", "dmitri", "eve", "fatima", "günter", "hiro", "ines", "jon", "kim", "lukas"}
	domains    = []string{"example.com", "mail.test", "shop.example.org", "corp.invalid"}
	products   = []string{"USB-C cable 2m", "Wireless mouse", "Mechanical keyboard", "27\" monitor", "Laptop stand", "Webcam HD", "Desk lamp", "Noise-cancelling headphones", "Café crème 1kg", "T-shirt (L)"}
	flashes    = []string{"Your profile was updated.", "Item added to your cart.", "Password changed successfully.", "Please confirm your e-mail address.", "Payment failed: card declined.", "Welcome back!"}
	paths      = []string{"/", "/account", "/cart", "/checkout/shipping", "/products/42?ref=home", "/search?q=usb+c&page=2", "/admin/orders"}
	locales    = []string{"en_US", "de_DE", "fr_FR", "ja_JP", "pt_BR"}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) token(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[g.r.IntN(16)]
	}
	return string(b)
}

func (g *gen) ts() int64 { return 1_760_000_000 + g.r.Int64N(30_000_000) }

// base: what nearly every session holds.
func (g *gen) base() []phpser.Entry {
	es := []phpser.Entry{str("_token", g.token(40))}
	if g.r.IntN(3) > 0 {
		es = append(es, num("last_activity", g.ts()))
	}
	return es
}

// component returns one group of top-level entries.
func (g *gen) component() []phpser.Entry {
	switch g.r.IntN(9) {
	case 0, 1:
		return g.login()
	case 2:
		return g.cart()
	case 3:
		return g.flash()
	case 4:
		return g.laravel()
	case 5:
		return g.symfony()
	case 6:
		return g.prefs()
	case 7:
		return g.userObject()
	default:
		return []phpser.Entry{str(fmt.Sprintf("csrf_%s", g.pick([]string{"login", "checkout", "profile", "search"})), g.token(64))}
	}
}

func (g *gen) login() []phpser.Entry {
	name := g.pick(firstNames)
	roles := []phpser.Value{phpser.String("ROLE_USER")}
	if g.r.IntN(5) == 0 {
		roles = append(roles, phpser.String("ROLE_ADMIN"))
	}
	return []phpser.Entry{
		num("user_id", 1+g.r.Int64N(500_000)),
		str("username", name),
		str("email", name+"@"+g.pick(domains)),
		{Key: phpser.StrKey("logged_in"), Val: phpser.Bool(true)},
		num("login_time", g.ts()),
		{Key: phpser.StrKey("roles"), Val: list(roles...)},
	}
}

func (g *gen) cart() []phpser.Entry {
	n := 1 + g.r.IntN(6)
	items := make([]phpser.Entry, n)
	total := 0.0
	for i := range items {
		price := float64(99+g.r.IntN(20000)) / 100
		qty := 1 + g.r.IntN(3)
		total += price * float64(qty)
		items[i] = phpser.Entry{Key: phpser.IntKey(int64(1000 + g.r.IntN(9000))), Val: phpser.Array(
			num("id", int64(1000+g.r.IntN(9000))),
			str("sku", strings.ToUpper(g.token(8))),
			str("name", g.pick(products)),
			num("qty", int64(qty)),
			phpser.Entry{Key: phpser.StrKey("price"), Val: phpser.Float(price)},
		)}
	}
	cart := phpser.Array(
		phpser.Entry{Key: phpser.StrKey("items"), Val: phpser.Array(items...)},
		phpser.Entry{Key: phpser.StrKey("total"), Val: phpser.Float(total)},
		str("currency", g.pick([]string{"EUR", "USD", "JPY"})),
		phpser.Entry{Key: phpser.StrKey("coupon"), Val: phpser.Null()},
	)
	return []phpser.Entry{{Key: phpser.StrKey("cart"), Val: cart}}
}

func (g *gen) flash() []phpser.Entry {
	n := 1 + g.r.IntN(3)
	msgs := make([]phpser.Value, n)
	for i := range msgs {
		msgs[i] = phpser.Array(str("type", g.pick([]string{"success", "info", "warning", "error"})), str("message", g.pick(flashes)))
	}
	return []phpser.Entry{{Key: phpser.StrKey("flash_messages"), Val: list(msgs...)}}
}

func (g *gen) laravel() []phpser.Entry {
	return []phpser.Entry{
		{Key: phpser.StrKey("_previous"), Val: phpser.Array(str("url", "https://"+g.pick(domains)+g.pick(paths)))},
		{Key: phpser.StrKey("_flash"), Val: phpser.Array(
			phpser.Entry{Key: phpser.StrKey("old"), Val: phpser.Array()},
			phpser.Entry{Key: phpser.StrKey("new"), Val: list(phpser.String("status"))},
		)},
		str("status", g.pick(flashes)),
		{Key: phpser.StrKey("login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d"), Val: phpser.Int(1 + g.r.Int64N(90000))},
	}
}

func (g *gen) symfony() []phpser.Entry {
	user := phpser.Object("App\\Entity\\User",
		ent(phpser.PropKey("id", phpser.Private, "App\\Entity\\User"), phpser.Int(1+g.r.Int64N(90000))),
		ent(phpser.PropKey("email", phpser.Private, "App\\Entity\\User"), phpser.String(g.pick(firstNames)+"@"+g.pick(domains))),
		ent(phpser.PropKey("roles", phpser.Protected, ""), list(phpser.String("ROLE_USER"))),
	)
	user.Anchor = 1 // referenced below; the encoder renumbers
	token := phpser.Object("Symfony\\Component\\Security\\Core\\Authentication\\Token\\UsernamePasswordToken",
		ent(phpser.PropKey("user", phpser.Private, "Symfony\\Component\\Security\\Core\\Authentication\\Token\\AbstractToken"), user),
		ent(phpser.PropKey("firewallName", phpser.Private, "Symfony\\Component\\Security\\Core\\Authentication\\Token\\UsernamePasswordToken"), phpser.String("main")),
	)
	attrs := phpser.Array(
		phpser.Entry{Key: phpser.StrKey("_security_main"), Val: token},
		phpser.Entry{Key: phpser.StrKey("_csrf/authenticate"), Val: phpser.String(g.token(43))},
		phpser.Entry{Key: phpser.StrKey("current_user"), Val: phpser.Value{Kind: phpser.KindObjRef, Int: 1}},
	)
	meta := phpser.Array(
		phpser.Entry{Key: phpser.StrKey("u"), Val: phpser.Int(g.ts())},
		phpser.Entry{Key: phpser.StrKey("c"), Val: phpser.Int(g.ts())},
		phpser.Entry{Key: phpser.StrKey("l"), Val: phpser.Int(0)},
	)
	return []phpser.Entry{
		{Key: phpser.StrKey("_sf2_attributes"), Val: attrs},
		{Key: phpser.StrKey("_sf2_meta"), Val: meta},
	}
}

// themeRef is a reference to theme, or for msgpack (which keeps no
// references to scalars) its value, as msgpack-php writes it.
func (g *gen) themeRef(theme phpser.Value) phpser.Value {
	if g.h == phpser.HandlerMsgpack {
		theme.Anchor = 0
		return theme
	}
	return phpser.Value{Kind: phpser.KindRef, Int: 2}
}

func (g *gen) prefs() []phpser.Entry {
	theme := phpser.String(g.pick([]string{"dark", "light", "auto"}))
	theme.Anchor = 2
	p := phpser.Array(
		phpser.Entry{Key: phpser.StrKey("locale"), Val: phpser.String(g.pick(locales))},
		phpser.Entry{Key: phpser.StrKey("theme"), Val: theme},
		phpser.Entry{Key: phpser.StrKey("ui"), Val: phpser.Array(
			phpser.Entry{Key: phpser.StrKey("theme"), Val: g.themeRef(theme)},
			phpser.Entry{Key: phpser.StrKey("zoom"), Val: phpser.Float(float64(8+g.r.IntN(8)) / 10)},
			phpser.Entry{Key: phpser.StrKey("sidebar"), Val: phpser.Bool(g.r.IntN(2) == 0)},
			phpser.Entry{Key: phpser.StrKey("recent"), Val: list(phpser.String(g.pick(paths)), phpser.String(g.pick(paths)), phpser.String(g.pick(paths)))},
		)},
		phpser.Entry{Key: phpser.StrKey("geo"), Val: list(phpser.Float(float64(g.r.IntN(180_000_000)-90_000_000)/1e6), phpser.Float(float64(g.r.IntN(360_000_000)-180_000_000)/1e6))},
	)
	return []phpser.Entry{{Key: phpser.StrKey("preferences"), Val: p}}
}

func (g *gen) userObject() []phpser.Entry {
	u := phpser.Object("User",
		ent(phpser.PropKey("name", phpser.Public, ""), phpser.String(g.pick(firstNames))),
		ent(phpser.PropKey("role", phpser.Protected, ""), phpser.String(g.pick([]string{"admin", "editor", "viewer"}))),
		ent(phpser.PropKey("pw", phpser.Private, "User"), phpser.String("$2y$10$"+g.token(53))),
		ent(phpser.PropKey("score", phpser.Public, ""), phpser.Float(float64(g.r.IntN(10000))/7)),
	)
	return []phpser.Entry{{Key: phpser.StrKey("auth_user"), Val: u}}
}

func ent(k phpser.Key, v phpser.Value) phpser.Entry { return phpser.Entry{Key: k, Val: v} }
