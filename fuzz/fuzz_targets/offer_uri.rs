//! Fuzz target `offer_uri`: an OpenID4VCI credential offer link (protocol::oid4vci::offer).
//! The body is `protocol::fuzzing::offer_uri`, which `protocol/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::offer_uri(data));
