//! Fuzz target `dcql`: a DCQL query: parse, validate, select and check a response
//! (shared::oid4vp::dcql).
//! The body is `shared::fuzzing::dcql`, which `shared/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shared::fuzzing::dcql(data));
