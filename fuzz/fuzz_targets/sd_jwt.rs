//! Fuzz target `sd_jwt`: an SD-JWT (VC) or SD-JWT+KB: parse, reveal, key binding
//! (protocol::sd_jwt).
//! The body is `protocol::fuzzing::sd_jwt`, which `protocol/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::sd_jwt(data));
