#!/usr/bin/env bash
# bench-show.sh: `sesstool show` of one very large session, beside PHP
# reading the same file, in one run, with peak RSS and the goal (under 5 s).
#
#   scripts/bench-show.sh [MB]        default 100
#
# PHP itself writes two sessions of about MB megabytes into a save_path
# under $BENCH_DIR (default /tmp/sesstool-bench; made once, reused):
#   strings: 1 KB strings under 100,000 keys (the shape of cached pages)
#   arrays:  small arrays of an int and a string under 1.5M keys (the shape
#            that costs a decoder most: a value every ~60 bytes)
# then, for each, best of $RUNS (default 2) of
#   sesstool show ID            (the tree as text)
#   sesstool show ID -o json
#   php: session_start() of the same session, session_decode'd by PHP
# Output goes to /dev/null.
set -euo pipefail

MB=${1:-100}
RUNS=${RUNS:-2}
BENCH_DIR=${BENCH_DIR:-/tmp/sesstool-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BENCH_DIR/sesstool
SP=$BENCH_DIR/show-$MB

command -v php >/dev/null || { echo "bench-show: php is required" >&2; exit 1; }
. "$ROOT/scripts/bench-lib.sh"
bench_tools bench-show

if [[ ! -e $SP.done ]]; then
	rm -rf "$SP"
	mkdir -p "$SP"
	for shape in strings arrays; do
		php -d memory_limit=-1 -d session.save_path="$SP" -d session.use_strict_mode=0 -r '
			[$shape, $mb] = [$argv[1], (int)$argv[2]];
			session_id($shape . "big");
			session_start();
			if ($shape === "strings") {
				$n = (int)($mb * 1000 * 1000 / 1024);
				for ($i = 0; $i < $n; $i++) { $_SESSION["page_$i"] = str_repeat(chr(97 + $i % 26), 1000); }
			} else {
				$n = (int)($mb * 1000 * 1000 / 58);
				for ($i = 0; $i < $n; $i++) { $_SESSION["k$i"] = ["id" => $i, "n" => "name$i"]; }
			}
			session_write_close();' "$shape" "$MB"
	done
	touch "$SP.done"
fi

echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(php -r 'echo PHP_VERSION;')"
# measure CMD...: "best-wall-seconds max-rss-MB" over RUNS runs.
measure() {
	local best="" rss=0 w m
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.out" "$@" >/dev/null 2>"$BENCH_DIR/stderr.out" || {
			echo "bench-show: $* failed: $(head -c 300 "$BENCH_DIR/stderr.out")" >&2
		}
		read -r w m <"$BENCH_DIR/time.out"
		best=$(awk -v a="$best" -v b="$w" 'BEGIN { print (a == "" || b < a) ? b : a }')
		rss=$(awk -v a="$rss" -v b="$m" 'BEGIN { print (b > a) ? b : a }')
	done
	awk -v w="$best" -v r="$rss" 'BEGIN { printf "%.2f %.0f\n", w, r / 1024 }'
}
printf '%-8s %9s  %-28s %8s %8s %s\n' shape size command wall_s rss_MB goal
for shape in strings arrays; do
	f=$SP/sess_${shape}big
	size=$(stat -c %s "$f")
	for cmd in show json php; do
		case $cmd in
		show) name="sesstool show"; goal="< 5 s"; set -- "$BIN" --save-path "$SP" --serialize-handler php --max-size 1G show "${shape}big" ;;
		json) name="sesstool show -o json"; goal="< 5 s"; set -- "$BIN" --save-path "$SP" --serialize-handler php --max-size 1G show -o json "${shape}big" ;;
		php) name="php session_start (decode)"; goal=""; set -- php -d memory_limit=-1 -d session.save_path="$SP" -d session.use_strict_mode=0 -r 'session_id($argv[1]); session_start(["read_and_close" => true]); echo count($_SESSION);' "${shape}big" ;;
		esac
		read -r w r < <(measure "$@")
		printf '%-8s %8.1fM  %-28s %8s %8s %s\n' "$shape" "$(awk -v s="$size" 'BEGIN { print s / 1e6 }')" "$name" "$w" "$r" "$goal"
	done
done
