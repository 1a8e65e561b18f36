//! Fuzz target `sd_jwt`: an SD-JWT (VC) or SD-JWT+KB: parse, reveal, key binding
//! (shared::sd_jwt).
//! The body is `shared::fuzzing::sd_jwt`, which `shared/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::fuzzing::sd_jwt(data));
