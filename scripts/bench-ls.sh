#!/usr/bin/env bash
# bench-ls.sh: time `sesstool ls` against find(1) and ls -f on the same
# large save_paths, in one run, with peak RSS.
#
#   scripts/bench-ls.sh [SIZES] [LAYOUTS]      defaults: "100000 1000000" "0 2"
#
# Generates (once; reused on later runs) save_paths with
# scripts/gensavepath under $BENCH_DIR (default /tmp/sesstool-bench), then for
# each one, after a warm-up pass so every command sees a warm cache:
#   sesstool ls --sort none -o json   (id, size, mtime of every file)
#   sesstool ls --sort age -o json
#   find DIR -name 'sess_*' -type f -printf '%f %s %T@\n'
#   ls -f DIR (flat) / ls -f DIR/*/* (levels): the floor, no stat at all
# Output goes to /dev/null. Each command runs $RUNS times (default 3); the
# best wall time and the largest peak RSS are printed, with the ratio to find.
# The filesystem the figures come from is printed first (df, mount options):
# deletes and stats on a filesystem mounted with online discard are slower.
set -euo pipefail

SIZES=${1:-"100000 1000000"}
LAYOUTS=${2:-"0 2"}
BENCH_DIR=${BENCH_DIR:-/tmp/sesstool-bench}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BENCH_DIR/sesstool

. "$ROOT/scripts/bench-lib.sh"
bench_tools bench-ls

echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, $("$BIN" version 2>/dev/null | head -1 || true)"
echo "# filesystem of $BENCH_DIR:"
df -hT "$BENCH_DIR" | sed 's/^/#   /'
fs_dev=$(df --output=source "$BENCH_DIR" | tail -1)
mount | awk -v d="$fs_dev" '$1 == d { print "#   " $0 }' | sort -u

# measure LABEL CMD...: best wall seconds and max RSS (KB) over RUNS runs.
measure() {
	local label=$1; shift
	local best="" rss=0 out w r
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f '%e %M' -o "$BENCH_DIR/time.out" "$@" >/dev/null 2>"$BENCH_DIR/stderr.out" ||
			{ echo "bench-ls: $label failed: $(head -c 300 "$BENCH_DIR/stderr.out")" >&2; }
		out=$(tail -1 "$BENCH_DIR/time.out")
		w=${out% *}; r=${out#* }
		if [[ -z $best ]] || awk -v a="$w" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$w; fi
		(( r > rss )) && rss=$r
	done
	printf '%s\t%s\t%s\n' "$best" "$rss" "$label"
}

for n in $SIZES; do
	for depth in $LAYOUTS; do
		dir=$BENCH_DIR/sp-$n-d$depth
		if [[ ! -f $dir.done ]]; then
			rm -rf "$dir"
			echo "# generating $n sessions, depth $depth in $dir" >&2
			"$BENCH_DIR/gensavepath" -n "$n" -depth "$depth" -expired 0.5 "$dir" >&2
			touch "$dir.done"
		fi
		if (( depth == 0 )); then lsdirs=("$dir"); else
			lsdirs=("$dir"/$(printf '*/%.0s' $(seq "$depth")))
		fi
		# Warm the cache (inodes and dentries) for everyone.
		find "$dir" -name 'sess_*' -type f -printf '%f %s %T@\n' >/dev/null
		echo
		echo "## $n files, save_path $depth;$dir (best of $RUNS, warm cache)"
		printf '%-28s %9s %9s %9s  %s\n' command wall_s rss_MB x_find goal
		results=$(
			measure "find -printf" find "$dir" -name 'sess_*' -type f -printf '%f %s %T@\n'
			measure "sesstool ls --sort none" "$BIN" ls --save-path "$depth;$dir" --sort none -o json
			measure "sesstool ls --sort age" "$BIN" ls --save-path "$depth;$dir" --sort age -o json
			measure "ls -f (floor)" ls -f "${lsdirs[@]}"
		)
		find_s=$(awk -F'\t' '$3 ~ /^find/ {print $1}' <<<"$results")
		none_kb=$(awk -F'\t' '$3 ~ /--sort none/ {print $2}' <<<"$results")
		while IFS=$'\t' read -r wall rss label; do
			case $label in
			*"--sort none") goal="<= 1.0x find, < 64 MB" ;;
			*"--sort age") goal="<= 1.0x find, < 64 MB, <= 64 B/session beyond --sort none ($(awk -v a="$rss" -v b="$none_kb" -v n="$n" 'BEGIN{printf "%.0f", (a-b)*1024/n}') B)" ;;
			*) goal="" ;;
			esac
			printf '%-28s %9s %9.1f %9.2f  %s\n' "$label" "$wall" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" \
				"$(awk -v w="$wall" -v f="$find_s" 'BEGIN{ if (f > 0) print w/f; else print 0 }')" "$goal"
		done <<<"$results"
	done
done
