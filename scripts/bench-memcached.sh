#!/bin/bash
# Benchmarks sesstool ls on php-memcached sessions against memcached's own
# listing, on three local memcached servers filled with N sessions
# (default 1,000,000) placed as php-memcached places them (ketama), in one
# run:
#
#   scripts/bench-memcached.sh
#   N=100000 scripts/bench-memcached.sh
#
# 1. `lru_crawler metadump all` on each server piped to `wc -l` (keys only;
#    the three at once, as sesstool asks them, and one after another);
# 2. `sesstool ls --sort none -o jsonl` (id, size, TTL, last write and lock
#    state: two metadump passes, the locks and then the sessions), with its
#    peak RSS;
# 3. the same for pecl memcache sessions (N/2 of them, each on the two
#    servers of its crc32 ring, listed once), on three fresh servers.
# Each is run twice, best kept. Targets (issue: Memcached): at most 1.5x the
# metadumps' wall time, peak RSS under 64 MB.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-1000000}
for c in memcached python3 /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "bench-memcached: $c is required (apt-get install memcached time)" >&2; exit 1; }
done
DIR=$(mktemp -d)
PORTS=()
for i in 1 2 3; do
	p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	PORTS+=("$p")
	memcached -l 127.0.0.1 -p "$p" -U 0 -m 1024 -u "$(id -un)" -d -P "$DIR/mc$i.pid"
done
trap 'for f in "$DIR"/mc*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; rm -rf "$DIR"' EXIT INT TERM
sleep 0.5
cd "$ROOT"
go build -o "$DIR/sesstool" .
SP="127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[1]},127.0.0.1:${PORTS[2]}"

# N sessions as PHP's php serializer writes them, TTL 1440, on the server
# libmemcached's ketama picks (100 points a server, one-at-a-time over the
# id); 1 in 100 with a php-memcached lock key on its own server.
echo "filling three memcached servers with $N sessions..." >&2
python3 - "$N" "${PORTS[@]}" <<'PY'
import socket, sys, bisect
n = int(sys.argv[1]); ports = [int(p) for p in sys.argv[2:]]
def oaat(s):
    h = 0
    for c in s.encode():
        if c >= 0x80: c -= 0x100
        h = (h + c) & 0xffffffff; h = (h + (h << 10)) & 0xffffffff; h ^= h >> 6
    h = (h + (h << 3)) & 0xffffffff; h ^= h >> 11; h = (h + (h << 15)) & 0xffffffff
    return h
pts = sorted((oaat("127.0.0.1:%d-%d" % (p, i)), si) for si, p in enumerate(ports) for i in range(100))
vals = [v for v, _ in pts]
def server(key):
    i = bisect.bisect_left(vals, oaat(key))
    return pts[i % len(pts)][1]
socks = [socket.create_connection(("127.0.0.1", p)) for p in ports]
bufs = [[] for _ in ports]
def flush(si):
    socks[si].sendall(b"".join(bufs[si])); bufs[si].clear()
for i in range(n):
    sid = "b%025d" % i
    u = (i * 7919) % 5000 + 1
    name = "user %d" % u
    v = 'user_id|i:%d;name|s:%d:"%s";cart|a:2:{s:5:"items";a:1:{i:0;a:2:{s:3:"sku";s:7:"SKU-%03d";s:3:"qty";i:%d;}}s:5:"total";d:%d.5;}csrf|s:40:"%040d";' % (u, len(name), name, i % 1000, i % 7 + 1, i % 300, i)
    si = server(sid)
    bufs[si].append(b"set memc.sess.key.%s 0 1440 %d noreply\r\n%s\r\n" % (sid.encode(), len(v), v.encode()))
    if i % 100 == 0:
        li = server("lock." + sid)
        bufs[li].append(b"set memc.sess.key.lock.%s 0 0 1 noreply\r\n1\r\n" % sid.encode())
        if len(bufs[li]) > 2000: flush(li)
    if len(bufs[si]) > 2000: flush(si)
for si in range(len(ports)):
    flush(si)
    socks[si].sendall(b"mn\r\n"); socks[si].recv(16)
PY

S="$DIR/sesstool --etc-root $DIR --save-handler memcached --save-path $SP"
# dump PORT: one lru_crawler metadump all, its lines counted (python3
# stands in for nc, which waits for a close memcached never sends).
cat >"$DIR/dump.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"lru_crawler metadump all\r\n")
out, tail = sys.stdout.buffer, b""
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    out.write(b)
    tail = (tail + b)[-5:]
    if tail == b"END\r\n":
        break
PY
DUMP="python3 $DIR/dump.py"
. "$ROOT/scripts/bench-lib.sh"

par=$(wall "$DUMP ${PORTS[0]} | wc -l & $DUMP ${PORTS[1]} | wc -l & $DUMP ${PORTS[2]} | wc -l & wait")
seq=$(wall "$DUMP ${PORTS[0]} | wc -l; $DUMP ${PORTS[1]} | wc -l; $DUMP ${PORTS[2]} | wc -l")
ls=$(wall "$S ls --sort none -o jsonl")
lsrss=$(rss "$S ls --sort none -o jsonl")
rows=$($S ls --sort none -o jsonl | wc -l)
locked=$($S ls --sort none -o jsonl | grep -c '"locked":true' || true)

# pecl memcache: N/2 sessions, two copies each, on three fresh servers.
for i in 1 2 3; do kill "$(cat "$DIR/mc$i.pid")"; done
sleep 0.5
PORTS=()
for i in 1 2 3; do
	p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	PORTS+=("$p")
	memcached -l 127.0.0.1 -p "$p" -U 0 -m 1024 -u "$(id -un)" -d -P "$DIR/mcp$i.pid"
done
sleep 0.5
echo "filling three memcached servers with $((N / 2)) pecl memcache sessions, two copies each..." >&2
python3 - "$((N / 2))" "${PORTS[@]}" <<'PY'
import socket, sys, bisect, zlib
n = int(sys.argv[1]); ports = [int(p) for p in sys.argv[2:]]
pts = sorted((zlib.crc32(b"127.0.0.1:%d-%d" % (p, i)), si) for si, p in enumerate(ports) for i in range(160))
vals = [v for v, _ in pts]
step = 0xffffffff // 1024
buckets = [pts[bisect.bisect_left(vals, step * b) % len(pts)][1] for b in range(1024)]
def servers(key):
    out, k = [], 0
    while len(out) < 2:
        s = buckets[zlib.crc32(b"%s-%d" % (key, k)) % 1024]
        if s not in out: out.append(s)
        k += 1
    return out
socks = [socket.create_connection(("127.0.0.1", p)) for p in ports]
bufs = [[] for _ in ports]
for i in range(n):
    sid = b"p%025d" % i
    v = b'user_id|i:%d;csrf|s:40:"%040d";' % (i % 5000 + 1, i)
    for si in servers(sid):
        bufs[si].append(b"set %s 0 1440 %d noreply\r\n%s\r\n" % (sid, len(v), v))
        if len(bufs[si]) > 2000:
            socks[si].sendall(b"".join(bufs[si])); bufs[si].clear()
for si in range(len(ports)):
    socks[si].sendall(b"".join(bufs[si]) + b"mn\r\n"); socks[si].recv(16)
PY
P="$DIR/sesstool --etc-root $DIR --save-handler memcache --save-path tcp://127.0.0.1:${PORTS[0]},tcp://127.0.0.1:${PORTS[1]},tcp://127.0.0.1:${PORTS[2]}"
ppar=$(wall "$DUMP ${PORTS[0]} | wc -l & $DUMP ${PORTS[1]} | wc -l & $DUMP ${PORTS[2]} | wc -l & wait")
pls=$(wall "$P ls --sort none -o jsonl")
plsrss=$(rss "$P ls --sort none -o jsonl")
prows=$($P ls --sort none -o jsonl | wc -l)

awk -v n="$N" -v par="$par" -v seq="$seq" -v ls="$ls" -v lsrss="$lsrss" -v rows="$rows" -v locked="$locked" 'BEGIN {
	printf "%d php-memcached sessions on three local memcached servers\n", n
	printf "  metadump all | wc -l, the 3 at once       %7.2f s\n", par
	printf "  metadump all | wc -l, one after another   %7.2f s\n", seq
	printf "  sesstool ls --sort none -o jsonl          %7.2f s  %.2fx the dumps at once, %.2fx one after another (target <= 1.5x)  peak RSS %.0f MB (target < 64)\n", ls, ls / par, ls / seq, lsrss / 1024
	printf "  rows listed: %d, locked: %d\n", rows, locked
}'
awk -v n="$((N / 2))" -v par="$ppar" -v ls="$pls" -v rss="$plsrss" -v rows="$prows" 'BEGIN {
	printf "%d pecl memcache sessions, two copies each, on three local memcached servers\n", n
	printf "  metadump all | wc -l, the 3 at once       %7.2f s\n", par
	printf "  sesstool ls --sort none -o jsonl          %7.2f s  %.2fx the dumps at once  peak RSS %.0f MB  (%d rows: each session once)\n", ls, ls / par, rss / 1024, rows
}'
