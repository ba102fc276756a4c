<?php
// Shared set-up of the scripts that run PHP's own session decoder on
// payloads (decode_worker.php, verdicts.php): a scratch save_path, the ini
// settings of a plain files-handler session, and warnings collected instead
// of printed.

/** Configures sessions in a fresh scratch save_path and returns its path. */
function scratch_sessions(string $tag): string
{
    $scratch = sys_get_temp_dir() . '/sesstool-' . $tag . '-' . getmypid();
    @mkdir($scratch, 0700, true);
    ini_set('session.save_handler', 'files');
    ini_set('session.save_path', $scratch);
    ini_set('session.use_strict_mode', '0');
    ini_set('session.use_cookies', '0');
    ini_set('session.use_only_cookies', '0');
    ini_set('session.cache_limiter', '');
    ini_set('session.gc_probability', '0');
    ini_set('serialize_precision', '-1');
    ini_set('unserialize_max_depth', '4096');
    return $scratch;
}

/** Collects every warning and notice message into $messages. */
function collect_messages(array &$messages): void
{
    set_error_handler(function (int $no, string $msg) use (&$messages) {
        $messages[] = $msg;
        return true;
    });
}
