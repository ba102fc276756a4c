#!/bin/bash
# Benchmarks sesstool migrate against a PHP script doing the same copy, in
# one run: N realistic sessions (scripts/gensavepath, default 100,000, none
# expired) in a flat files save_path, copied to one local redis-server.
#
#   scripts/bench-migrate.sh
#   N=20000 scripts/bench-migrate.sh
#
# 1. PHP: for every sess_* file, read it, session_decode() it (as a real
#    migration must, to know it is a session PHP can read) and SETEX it with
#    phpredis with maxlifetime − age, one session after another;
# 2. sesstool migrate --to-save-handler redis (each session read under
#    LOCK_SH and written under phpredis' protocol, its age kept as the TTL),
#    with its peak RSS.
# Redis is flushed before each. Targets (issue: migrate): sesstool at least
# 5x faster than the PHP script, peak RSS under 64 MB.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-100000}
for c in redis-server redis-cli php /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "bench-migrate: $c is required (apt-get install redis-server php-cli php-redis time)" >&2; exit 1; }
done
php -m | grep -qx redis || { echo "bench-migrate: php-redis is required" >&2; exit 1; }
DIR=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log"
trap 'kill "$(cat "$DIR/redis.pid")" 2>/dev/null; rm -rf "$DIR"' EXIT INT TERM
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
cd "$ROOT"
go build -o "$DIR/sesstool" .
go build -o "$DIR/gensavepath" ./scripts/gensavepath
mkdir "$DIR/sp"
"$DIR/gensavepath" -n "$N" -depth 0 -expired 0 "$DIR/sp" >&2
cat >"$DIR/copy.php" <<'PHP'
<?php
// The copy a PHP developer would write: decode to check, SETEX with the
// time left.
$r = new Redis();
$r->connect('127.0.0.1', (int)$argv[2]);
$ml = 1440;
$n = 0;
foreach (new DirectoryIterator($argv[1]) as $f) {
	$name = $f->getFilename();
	if (strncmp($name, 'sess_', 5) !== 0) continue;
	$path = $f->getPathname();
	$age = time() - filemtime($path);
	if ($age > $ml) continue;
	$data = file_get_contents($path);
	session_start(['use_cookies' => 0, 'use_strict_mode' => 0, 'save_handler' => 'files', 'save_path' => sys_get_temp_dir()]);
	if (!session_decode($data)) { session_abort(); continue; }
	session_abort();
	$r->setex('PHPREDIS_SESSION:' . substr($name, 5), $ml - $age, $data);
	$n++;
}
echo "$n\n";
PHP
S="$DIR/sesstool --etc-root $DIR --save-path $DIR/sp migrate --to-save-handler redis --to-save-path tcp://127.0.0.1:$PORT -o json"
. "$ROOT/scripts/bench-lib.sh"
BEFORE_EACH="redis-cli -p $PORT flushall"
php=$(wall "php -d session.gc_probability=0 $DIR/copy.php $DIR/sp $PORT")
phpn=$(redis-cli -p "$PORT" dbsize)
us=$(wall "$S")
usn=$(redis-cli -p "$PORT" dbsize)
redis-cli -p "$PORT" flushall >/dev/null
rss=$(rss "$S")

awk -v n="$N" -v php="$php" -v phpn="$phpn" -v us="$us" -v usn="$usn" -v rss="$rss" 'BEGIN {
	printf "%d realistic sessions, flat files save_path to one local redis-server\n", n
	printf "  PHP (session_decode + phpredis SETEX)   %7.2f s  %7.0f sessions/s  (%d copied)\n", php, phpn / php, phpn
	printf "  sesstool migrate                        %7.2f s  %7.0f sessions/s  (%d copied)  %.1fx faster than PHP (target >= 5x)  peak RSS %.0f MB (target < 64)\n", us, usn / us, usn, php / us, rss / 1024
}'
