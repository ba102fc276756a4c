#!/usr/bin/env bash
# bench-select.sh: "which sessions belong to user N", sesstool against
# grep on the same save_path, in one run, interleaved rounds, warm cache.
#
#   scripts/bench-select.sh [SIZES]        default: "100000 1000000"
#
# Save_paths come from scripts/gensavepath (the bench corpus, flat) under
# $BENCH_DIR (default /tmp/sesstool-bench), made once and reused. N is the
# user_id of one session of the tree. Each round runs, in this order:
#   grep -arlF --include='sess_*' 'user_id|i:N;' DIR    (inexact: any string holding those bytes matches)
#   sesstool ls -q --where user_id=N                     (exact: decodes what it compares, under PHP's lock)
#   sesstool ls --check -o jsonl                         (every session decoded and checked)
# $ROUNDS rounds (default 5); the median wall time and the median CPU time
# (user + system) of each command are printed, with the ratio to grep's
# wall time beside the goal (--where at most 1.0x, --check at most 1.5x).
set -euo pipefail

SIZES=${1:-"100000 1000000"}
BENCH_DIR=${BENCH_DIR:-/tmp/sesstool-bench}
ROUNDS=${ROUNDS:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BENCH_DIR/sesstool

. "$ROOT/scripts/bench-lib.sh"
bench_tools bench-select
echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL CMD...: one timed run; appends "LABEL wall cpu" to $BENCH_DIR/rounds.
run() {
	local label=$1; shift
	/usr/bin/time -f '%e %U %S' -o "$BENCH_DIR/time.out" "$@" >/dev/null 2>"$BENCH_DIR/stderr.out" || {
		# grep -l exits 1 when nothing matched; sesstool's warnings are not failures.
		[[ $label == grep ]] || { echo "bench-select: $label failed: $(head -c 300 "$BENCH_DIR/stderr.out")" >&2; }
	}
	w=$(tail -1 "$BENCH_DIR/time.out" | cut -d' ' -f1); u=$(tail -1 "$BENCH_DIR/time.out" | cut -d' ' -f2); s=$(tail -1 "$BENCH_DIR/time.out" | cut -d' ' -f3)
	echo "$label $w $(awk -v u="$u" -v s="$s" 'BEGIN{print u+s}')" >>"$BENCH_DIR/rounds"
}

median() { sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print 0} else if (NR%2) {print a[(NR+1)/2]} else {print (a[NR/2]+a[NR/2+1])/2} }'; }

for n in $SIZES; do
	dir=$BENCH_DIR/sp-$n-d0
	if [[ ! -f $dir.done ]]; then
		rm -rf "$dir"
		echo "# generating $n sessions in $dir" >&2
		"$BENCH_DIR/gensavepath" -n "$n" -depth 0 -expired 0.5 "$dir" >&2
		touch "$dir.done"
	fi
	uid=$( (grep -arho -m1 --include='sess_*' 'user_id|i:[0-9]*;' "$dir" || true) | awk -F'[:;]' 'NR==1{print $2}')
	want=$(grep -arlF --include='sess_*' "user_id|i:$uid;" "$dir" | wc -l)
	got=$("$BIN" ls --save-path "$dir" -q --where "user_id=$uid" | wc -l)
	find "$dir" -name 'sess_*' -type f -printf '%f %s\n' >/dev/null # warm the cache
	rm -f "$BENCH_DIR/rounds"
	for _ in $(seq "$ROUNDS"); do
		run grep grep -arlF --include='sess_*' "user_id|i:$uid;" "$dir"
		run where "$BIN" ls --save-path "$dir" -q --where "user_id=$uid"
		run check "$BIN" ls --save-path "$dir" --check -o jsonl
	done
	echo
	echo "## $n sessions, flat save_path $dir; user_id=$uid: grep lists $want, sesstool $got (median of $ROUNDS interleaved rounds)"
	printf '%-34s %8s %8s %8s %s\n' command wall_s cpu_s x_grep goal
	gw=$(awk '$1=="grep"{print $2}' "$BENCH_DIR/rounds" | median)
	for l in grep where check; do
		w=$(awk -v l=$l '$1==l{print $2}' "$BENCH_DIR/rounds" | median)
		c=$(awk -v l=$l '$1==l{print $3}' "$BENCH_DIR/rounds" | median)
		case $l in
		grep) name="grep -arlF 'user_id|i:N;'"; goal="" ;;
		where) name="sesstool ls -q --where user_id=N"; goal="<= 1.0x" ;;
		check) name="sesstool ls --check -o jsonl"; goal="<= 1.5x" ;;
		esac
		printf '%-34s %8s %8s %8.2f %s\n' "$name" "$w" "$c" "$(awk -v w="$w" -v g="$gw" 'BEGIN{print (g>0)?w/g:0}')" "$goal"
	done
done
