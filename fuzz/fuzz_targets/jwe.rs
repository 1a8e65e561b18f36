//! Fuzz target `jwe`: an encrypted direct_post.jwt response: header, then decryption
//! (protocol::jose::jwe).
//! The body is `protocol::fuzzing::jwe`, which `protocol/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::jwe(data));
