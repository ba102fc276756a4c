#!/usr/bin/env bash
# bench-lockfair.sh: lock fairness of sesstool against PHP, in one run.
#
# PHP processes re-lock one session back to back (session_start, 2 ms of
# work, session_write_close, again), 1 and then 4 of them, while
# `sesstool set --lock-timeout 2s` and a PHP waiter take turns asking for
# the same session. Prints, for each, how many of N attempts got the lock
# within 2 s and the median wait (sesstool: the whole command; PHP: the
# wait only). Needs php-cli. Usage: scripts/bench-lockfair.sh [N] (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-30}"
SESSTOOL_FAIR_N="$n" go test -count=1 -run '^TestLockWaitIsFair$' -v ./internal/hostile/ | grep -E 'FAIR|^(ok|FAIL|---)'
