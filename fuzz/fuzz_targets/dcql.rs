//! Fuzz target `dcql`: a DCQL query: parse, validate, select and check a response
//! (protocol::oid4vp::dcql).
//! The body is `protocol::fuzzing::dcql`, which `protocol/tests/fuzz_corpus.rs` replays.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::fuzzing::dcql(data));
