//! Fuzz target `offer_uri`: an OpenID4VCI credential offer link (shared::oid4vci::offer).
//! The body is `shared::fuzzing::offer_uri`, which `shared/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::fuzzing::offer_uri(data));
