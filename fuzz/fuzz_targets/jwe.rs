//! Fuzz target `jwe`: an encrypted direct_post.jwt response: header, then decryption
//! (shared::jose::jwe).
//! The body is `shared::fuzzing::jwe`, which `shared/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::fuzzing::jwe(data));
