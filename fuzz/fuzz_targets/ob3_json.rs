//! Fuzz target `ob3_json`: Open Badges 3.0 JSON: 1EdTech schema validation and the model
//! (protocol::ob3).
//! The body is `protocol::fuzzing::ob3_json`, which `protocol/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::ob3_json(data));
