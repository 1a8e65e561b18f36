//! Fuzz target `request_uri`: an OpenID4VP invocation link (protocol::oid4vp::invocation).
//! The body is `protocol::fuzzing::request_uri`, which `protocol/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::request_uri(data));
