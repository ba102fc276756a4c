<?php
// The soak test's PHP app: one session per client. Each request increments
// a counter, appends it to a bounded list, sometimes (?regen=1) regenerates
// the id deleting the old file, and answers with what it saw as JSON. The
// session is written and closed before the answer is sent, so a client that
// has the answer knows PHP's write is on disk.
header('Content-Type: application/json');
$warnings = [];
set_error_handler(function ($no, $str) use (&$warnings) { $warnings[] = $str; return true; });
if (!session_start()) {
    http_response_code(500);
    echo json_encode(['error' => 'session_start failed', 'warnings' => $warnings]);
    exit;
}
$before = session_id();
// ?hold=MS keeps the session locked that long before writing: a slow
// request on a session whose mtime is old, which gc must leave alone.
if (isset($_GET['hold'])) {
    usleep(min((int)$_GET['hold'], 10000) * 1000);
}
$c = $_SESSION['counter'] ?? 0;
$listOK = true;
if (!is_int($c)) {
    http_response_code(500);
    echo json_encode(['error' => 'counter is not an int', 'counter' => $c, 'id' => $before]);
    exit;
}
$list = $_SESSION['list'] ?? [];
if (!is_array($list) || ($c > 0 && end($list) !== $c)) {
    $listOK = false;
}
$c++;
$_SESSION['counter'] = $c;
$list[] = $c;
if (count($list) > 16) {
    $list = array_slice($list, -16);
}
$_SESSION['list'] = $list;
$regen = isset($_GET['regen']);
if ($regen && !session_regenerate_id(true)) {
    $warnings[] = 'session_regenerate_id failed';
}
$out = [
    'counter' => $c,
    'id_before' => $before,
    'id' => session_id(),
    'has_mark' => array_key_exists('tool_mark', $_SESSION),
    'mark' => $_SESSION['tool_mark'] ?? null,
    'list_ok' => $listOK,
    'regen' => $regen,
];
if (!session_write_close()) {
    $warnings[] = 'session_write_close failed';
}
$out['warnings'] = $warnings;
echo json_encode($out);
