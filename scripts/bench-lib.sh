# Shared by the bench-*.sh scripts (sourced, POSIX sh).
#
# wall CMD...: the best of two wall times of CMD (run by sh, stdout
# dropped), in seconds; $BEFORE_EACH, when set, runs before each round.
wall() {
	best=
	for r in 1 2; do
		[ -z "${BEFORE_EACH:-}" ] || sh -c "$BEFORE_EACH" >/dev/null
		t0=$(date +%s.%N)
		sh -c "$*" >/dev/null
		t1=$(date +%s.%N)
		t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
	done
	echo "$best"
}

# rss CMD...: CMD's peak resident set size in KiB.
rss() { /usr/bin/time -f %M sh -c "$* >/dev/null" 2>&1 | tail -1; }

# bench_tools NAME: checks for /usr/bin/time (peak RSS) and builds sesstool
# and gensavepath into $BENCH_DIR from the repository at $ROOT.
bench_tools() {
	if [ ! -x /usr/bin/time ]; then
		echo "$1: /usr/bin/time missing (apt-get install -y time)" >&2
		exit 1
	fi
	mkdir -p "$BENCH_DIR"
	(cd "$ROOT" && go build -o "$BENCH_DIR/sesstool" . && go build -o "$BENCH_DIR/gensavepath" ./scripts/gensavepath)
}
