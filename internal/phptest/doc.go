// Package phptest runs the real PHP interpreter from Go tests: one-shot
// scripts, long-lived processes a test can synchronise with (a request that
// holds a session lock), the built-in web server, and the ini flags that make
// a CLI script open a chosen session id in a chosen save_path.
//
// PHP is the outside truth sesstool is held to, so tests that need it use
// PHP(t) first: it skips the test with a clear message when php-cli is not
// installed, and fails it instead when SESSTOOL_REQUIRE_PHP=1 (so CI that
// promises PHP cannot silently skip). SESSTOOL_PHP names another binary.
//
// Scripts run with the machine's real php.ini (no -n); every run adds
// -d flags that send diagnostics to stderr (display_errors=stderr,
// error_reporting=E_ALL, log_errors=0, html_errors=0). Later -d flags win, so
// a test can override any of them.
package phptest
