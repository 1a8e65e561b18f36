//! Replays the fuzz corpus on stable, in the ordinary test suite: every file under
//! `fuzz/corpus/<target>/` (the seeds and the crash inputs added to them) and
//! `fuzz/artifacts/<target>/` (crashes not yet minimised into the corpus) goes through the
//! same body as the `cargo fuzz` target, so a crash once found and fixed stays fixed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

use std::path::{Path, PathBuf};

/// The services' QR picture decoder (`kit::picture`), compiled from its file as
/// `fuzz/fuzz_targets/qr_image.rs` does (protocol cannot depend on kit).
#[path = "../../kit/src/picture.rs"]
#[allow(dead_code)]
mod picture;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every input of `target`, from the corpus and the artifacts; the corpus must not be
/// empty, so a renamed directory is noticed.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["corpus", "artifacts", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("a readable corpus file");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    assert!(
        out.iter()
            .any(|(p, _)| p.to_string_lossy().contains("/corpus/")),
        "no seed corpus for fuzz target {target}"
    );
    out
}

fn replay(target: &str, body: fn(&[u8])) {
    for (path, bytes) in inputs(target) {
        eprintln!("{target}: {}", path.display());
        body(&bytes);
    }
}

#[test]
fn sd_jwt() {
    replay("sd_jwt", protocol::fuzzing::sd_jwt);
}

#[test]
fn jws() {
    replay("jws", protocol::fuzzing::jws);
}

#[test]
fn jwe() {
    replay("jwe", protocol::fuzzing::jwe);
}

#[test]
fn dcql() {
    replay("dcql", protocol::fuzzing::dcql);
}

#[test]
fn offer_uri() {
    replay("offer_uri", protocol::fuzzing::offer_uri);
}

#[test]
fn request_uri() {
    replay("request_uri", protocol::fuzzing::request_uri);
}

#[test]
fn ob3_json() {
    replay("ob3_json", protocol::fuzzing::ob3_json);
}

#[test]
fn qr_image() {
    replay("qr_image", |bytes| {
        let _ = picture::read_qr(bytes);
    });
}

/// The seeds are worth fuzzing from only if they get past the first checks: the JWE seeds
/// decrypt with the target's fixed key, the SD-JWT seeds reveal, the DCQL seeds validate.
#[test]
fn seeds_reach_the_deep_paths() {
    for (path, bytes) in inputs("jwe") {
        let text = std::str::from_utf8(&bytes).expect("a JWE seed is text");
        protocol::fuzzing::jwe_key()
            .decrypt(text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for (path, bytes) in inputs("sd_jwt") {
        let sd = protocol::sd_jwt::SdJwt::parse(std::str::from_utf8(&bytes).expect("text"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let payload = sd.issuer_jwt().expect("a JWS").payload;
        sd.reveal(payload)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    for (path, bytes) in inputs("dcql") {
        let query: protocol::oid4vp::dcql::DcqlQuery =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        query
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}
