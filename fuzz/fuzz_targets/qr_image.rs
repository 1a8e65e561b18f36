//! Fuzz target `qr_image`: an uploaded picture of a QR code (PNG or JPEG), decoded,
//! bounded, shrunk and searched as the wallet's `/present/scan` and the verifier's
//! `/check` do.
//!
//! The decoder is `kit::picture`; its file is compiled in here rather than the crate
//! depended on, which would build the whole kit (database, HTTP server and client) with
//! fuzzing instrumentation. `protocol/tests/fuzz_corpus.rs` replays this corpus the same way.

#![no_main]

#[path = "../../kit/src/picture.rs"]
#[allow(dead_code)]
mod picture;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // `read_qr` contains rqrr's panics itself (catch_unwind), which libfuzzer-sys's abort-
    // on-panic hook would turn into a crash before any unwinding: let panics unwind, and
    // abort on any that escapes `read_qr`, so every other panic is still a crash.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if std::panic::catch_unwind(|| picture::read_qr(data)).is_err() {
        std::process::abort();
    }
});
