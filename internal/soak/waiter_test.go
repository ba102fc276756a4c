package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"sync"
	"time"

	"github.com/sesstool/sesstool/internal/phptest"
)

// soakLockTimeout is the --lock-timeout of the operator's writes, and how
// long the PHP waiter gives a session_start before it counts a timeout.
const soakLockTimeout = 2 * time.Second

// phpWaiter asks for the lock of live sessions the way a PHP request does,
// for comparison with sesstool's waits in the same run (CLI.md "Waiting for
// a lock is fair"): one session_start at a time on a random client's
// session; one that has not got the lock within soakLockTimeout counts as
// a timeout.
type phpWaiter struct {
	php, script string
	ini         []string
	clients     []*client

	mu              sync.Mutex
	tries, timeouts int
	first           string // the first timeout, for the log
}

func newPHPWaiter(php string, ini map[string]string, clients []*client) *phpWaiter {
	return &phpWaiter{php: php, ini: phptest.INI(ini), clients: clients}
}

func (w *phpWaiter) run(ctx context.Context, script string, rng *rand.Rand) {
	for ctx.Err() == nil {
		c := w.clients[rng.IntN(len(w.clients))]
		id := c.currentID()
		if id == "" || c.sleepy {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		rctx, cancel := context.WithTimeout(context.Background(), soakLockTimeout+500*time.Millisecond)
		cmd := exec.CommandContext(rctx, w.php, phptest.Command(w.php, script, append(w.ini, "--", id)...)...)
		out, err := cmd.Output()
		timedOut := rctx.Err() != nil || err != nil || string(out) != "ok"
		cancel()
		w.mu.Lock()
		w.tries++
		if timedOut {
			w.timeouts++
			if w.first == "" {
				w.first = fmt.Sprintf("%v %q", err, out)
			}
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(20+rng.IntN(60)) * time.Millisecond):
		}
	}
}

// waiterScript takes the session's lock as a request does and says "ok"
// when it got it within the timeout.
const waiterScript = `<?php
$t0 = hrtime(true);
session_id($argv[1]);
if (!session_start()) { exit(1); }
$ms = intdiv(hrtime(true) - $t0, 1000000);
session_abort();
echo $ms <= ` + "2000" + ` ? "ok" : "late";
`
