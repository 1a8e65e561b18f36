//! Fuzz target `request_uri`: an OpenID4VP invocation link (shared::oid4vp::invocation).
//! The body is `shared::fuzzing::request_uri`, which `shared/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::fuzzing::request_uri(data));
