#!/usr/bin/env bash
# bench-gc.sh: time `sesstool gc` against find(1) -delete and PHP's own GC on
# identical copies of the same large save_paths, in one run, with peak RSS.
#
#   scripts/bench-gc.sh [SIZES] [LAYOUTS]      defaults: "100000 1000000" "0 2"
#
# For each size and layout, scripts/gensavepath builds a master save_path
# once (half the files expired: older than 1440 s by at least a minute, the
# rest younger by at least a minute, at the time it was made). Each method
# then gets its own fresh copy (cp -a keeps the mtimes), the copy's inodes
# and dentries are warmed, and the method runs once with the threshold moved
# by the time elapsed since the master was made (E s), so that every method
# cuts the master's files at the same place and deletes the same set:
#   sesstool gc --save-path N;DIR --maxlifetime 1440+E -q -o json
#   find DIR -name 'sess_*' -type f -mmin +((1440+E)/60) -delete
#   php -d session.gc_probability=0 -d session.save_path=N;DIR
#       -d session.gc_maxlifetime=1440+E -r 'session_start(); echo session_gc();'
#       (PHP's GC does nothing on a N>0 layout; it is timed anyway)
# and the files left are counted to check that each deleted what it should.
# Wall time and peak RSS come from /usr/bin/time. The filesystem the figures
# come from is printed first: unlink cost depends on it (and on online
# discard). Copies live under $BENCH_DIR (default /tmp/sesstool-bench-gc) and
# are removed after use; masters are kept for later runs (KEEP=0 removes them).
# METHODS (default "find sesstool php") selects the methods; find must be
# among them for the x_find column.
set -euo pipefail

SIZES=${1:-"100000 1000000"}
LAYOUTS=${2:-"0 2"}
BENCH_DIR=${BENCH_DIR:-/tmp/sesstool-bench-gc}
KEEP=${KEEP:-1}
METHODS=${METHODS:-"find sesstool php"}
ML=1440
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BENCH_DIR/sesstool

if [[ ! -x /usr/bin/time ]]; then
	echo "bench-gc: /usr/bin/time missing (apt-get install -y time)" >&2
	exit 1
fi
command -v php >/dev/null || { echo "bench-gc: php missing (apt-get install -y php-cli)" >&2; exit 1; }
mkdir -p "$BENCH_DIR"
(cd "$ROOT" && go build -o "$BIN" . && go build -o "$BENCH_DIR/gensavepath" ./scripts/gensavepath)

echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, $(php -r 'echo "PHP ", PHP_VERSION;'), $(find --version | head -1)"
echo "# filesystem of $BENCH_DIR:"
df -hT "$BENCH_DIR" | sed 's/^/#   /'
fs_dev=$(df --output=source "$BENCH_DIR" | tail -1)
mount | awk -v d="$fs_dev" '$1 == d { print "#   " $0 }' | sort -u

count() { find "$1" -name 'sess_*' -type f | wc -l; }

# run LABEL DIR CMD...: run CMD once, print wall, RSS, files left.
run() {
	local label=$1 dir=$2; shift 2
	if ! /usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.out" "$@" >"$BENCH_DIR/stdout.out" 2>"$BENCH_DIR/stderr.out"; then
		echo "bench-gc: $label failed: $(head -c 300 "$BENCH_DIR/stderr.out")" >&2
	fi
	local out w r
	out=$(tail -1 "$BENCH_DIR/time.out")
	w=${out% *}; r=${out#* }
	printf '%s\t%s\t%s\t%s\t%s\n' "$w" "$r" "$(count "$dir")" "$label" "$(head -c 80 "$BENCH_DIR/stdout.out" | tr '\n' ' ')"
}

for n in $SIZES; do
	for depth in $LAYOUTS; do
		master=$BENCH_DIR/master-$n-d$depth
		if [[ ! -f $master.done ]]; then
			rm -rf "$master"
			echo "# generating $n sessions, depth $depth in $master" >&2
			made=$(date +%s)
			"$BENCH_DIR/gensavepath" -n "$n" -depth "$depth" -expired 0.5 -maxlifetime ${ML}s "$master" >&2
			echo "$made" >"$master.done"
		fi
		made=$(cat "$master.done")
		total=$(count "$master")
		echo
		echo "## $n files ($total in the master), save_path $depth;DIR, maxlifetime $ML s (one run each, warm cache)"
		printf '%-16s %9s %9s %9s %9s  %s\n' method wall_s rss_MB files_left x_find output
		results=""
		echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
		for method in $METHODS; do
			work=$BENCH_DIR/work-$method
			rm -rf "$work"
			cp -a "$master" "$work"
			find "$work" -name 'sess_*' -type f -printf '%s %T@\n' >/dev/null # warm the cache
			sync
			ml=$((ML + $(date +%s) - made)) # the master's 1440 s cut, now
			case $method in
			find) results+=$(run "find -delete" "$work" find "$work" -name 'sess_*' -type f -mmin +$((ml / 60)) -delete)$'\n' ;;
			sesstool) results+=$(run "sesstool gc" "$work" "$BIN" gc --save-path "$depth;$work" --maxlifetime $ml -q -o json)$'\n' ;;
			php) results+=$(run "php session_gc" "$work" php -d session.gc_probability=0 -d "session.save_path=\"$depth;$work\"" \
				-d session.gc_maxlifetime=$ml -d session.use_cookies=0 -r 'session_start(); echo session_gc();')$'\n' ;;
			esac
			rm -rf "$work"
		done
		find_s=$(awk -F'\t' '$4 ~ /^find/ {print $1}' <<<"$results")
		while IFS=$'\t' read -r wall rss left label out; do
			[[ -z $label ]] && continue
			printf '%-16s %9s %9.1f %9s %9.2f  %s\n' "$label" "$wall" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$left" \
				"$(awk -v w="$wall" -v f="$find_s" 'BEGIN{ if (f > 0) print w/f; else print 0 }')" "$(tr -s ' \n' ' ' <<<"$out" | head -c 60)"
		done <<<"$results"
		echo "goal: sesstool gc <= 0.8x find's wall time, the same files left"
		if [[ $KEEP == 0 ]]; then rm -rf "$master" "$master.done"; fi
	done
done
