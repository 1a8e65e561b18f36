//! Fuzz target `ob3_json`: Open Badges 3.0 JSON: 1EdTech schema validation and the model
//! (shared::ob3).
//! The body is `shared::fuzzing::ob3_json`, which `shared/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::fuzzing::ob3_json(data));
