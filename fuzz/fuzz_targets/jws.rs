//! Fuzz target `jws`: a compact JWS / JWT: decode, header keys (jwk, did:jwk, did:key kid),
//! verify (protocol::jose).
//! The body is `protocol::fuzzing::jws`, which `protocol/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::jws(data));
