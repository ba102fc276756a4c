module github.com/sesstool/sesstool/bench

go 1.26.8

require github.com/sesstool/sesstool v0.0.0

require github.com/yvasiyarov/php_session_decoder v0.0.0-20180803065642-a065a3b0b7d1

replace github.com/sesstool/sesstool => ../
