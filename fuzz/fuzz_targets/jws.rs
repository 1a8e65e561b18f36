//! Fuzz target `jws`: a compact JWS / JWT: decode, header keys (jwk, did:jwk, did:key kid),
//! verify (shared::jose).
//! The body is `shared::fuzzing::jws`, which `shared/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::fuzzing::jws(data));
