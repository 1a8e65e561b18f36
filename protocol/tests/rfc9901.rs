//! RFC 9901 (SD-JWT) examples, verbatim, against our SD-JWT code: issuer signature with the
//! key of Appendix A.5, revealing, the processed payloads the RFC prints, key binding of
//! the SD-JWT+KB examples, and disclosure digests. Fixtures and their provenance are in
//! `protocol/testdata/rfc9901/` (see SOURCE.md there).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

use std::path::PathBuf;

use protocol::b64;
use protocol::keys::{Jwk, VerifyingKey};
use protocol::sd_jwt::{Disclosure, SdJwt, SdJwtError, TYP_DC_SD_JWT};
use serde_json::Value;

/// The `typ` of the RFC's own examples (Sections 5 and 7, Appendix A.1/A.2).
const TYP_EXAMPLE: &str = "example+sd-jwt";
/// The KB-JWT `iat` of the RFC's SD-JWT+KB examples; `now` is a few seconds later.
const KB_IAT: i64 = 1_748_537_244;
const NOW: i64 = KB_IAT + 6;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/rfc9901")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_owned()
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).expect("fixture is JSON")
}

/// The issuer key of RFC 9901 Appendix A.5, public part.
fn issuer_key() -> VerifyingKey {
    let mut jwk = json_fixture("issuer-key.jwk.json");
    jwk.as_object_mut().expect("JWK object").remove("d");
    Jwk::from_value(&jwk)
        .expect("RFC issuer key parses")
        .verifying_key()
        .expect("RFC issuer key is P-256")
}

fn holder_public_jwk() -> Value {
    let mut jwk = json_fixture("holder-key.jwk.json");
    jwk.as_object_mut().expect("JWK object").remove("d");
    jwk
}

#[test]
fn section_5_1_issued_sd_jwt_reveals_every_claim() {
    let sd = SdJwt::parse(&fixture("section-5.1-sd-jwt.txt")).expect("parses");
    assert_eq!(sd.disclosures.len(), 10);
    assert!(sd.kb_jwt.is_none());
    let jws = sd.issuer_jwt().expect("decodes");
    assert_eq!(jws.typ(), Some(TYP_EXAMPLE));
    let revealed = sd
        .verify(&issuer_key(), &[TYP_EXAMPLE], NOW, 0)
        .expect("RFC 9901 §5.1 SD-JWT verifies");
    assert_eq!(
        Value::Object(revealed.claims.clone()),
        json_fixture("section-5.1-processed-payload.json")
    );
    // Every disclosure is mapped to the claim it revealed.
    let mut pointers = revealed.disclosure_pointers();
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/address",
            "/birthdate",
            "/email",
            "/family_name",
            "/given_name",
            "/nationalities/0",
            "/nationalities/1",
            "/phone_number",
            "/phone_number_verified",
            "/updated_at"
        ]
    );
    // The serialisation round-trips byte for byte.
    assert_eq!(sd.serialize(), fixture("section-5.1-sd-jwt.txt"));
}

#[test]
fn section_5_1_typ_is_checked() {
    let sd = SdJwt::parse(&fixture("section-5.1-sd-jwt.txt")).expect("parses");
    assert!(matches!(
        sd.verify(&issuer_key(), &[TYP_DC_SD_JWT], NOW, 0),
        Err(SdJwtError::IssuerJwt(_))
    ));
    // The examples expire in 2029 (exp 1883000000).
    assert!(matches!(
        sd.verify(&issuer_key(), &[TYP_EXAMPLE], 1_883_000_001, 0),
        Err(SdJwtError::Expired { .. })
    ));
}

#[test]
fn section_5_2_presentation_with_key_binding() {
    let kb = &json_fixture("key-binding.json")["section-5.2"];
    let aud = kb["aud"].as_str().expect("aud");
    let nonce = kb["nonce"].as_str().expect("nonce");
    let text = fixture("section-5.2-sd-jwt-kb.txt");
    let sd = SdJwt::parse(&text).expect("parses");
    assert_eq!(sd.disclosures.len(), 4);
    assert!(sd.kb_jwt.is_some());
    let revealed = sd
        .verify(&issuer_key(), &[TYP_EXAMPLE], NOW, 0)
        .expect("RFC 9901 §5.2 SD-JWT+KB verifies");
    assert_eq!(
        Value::Object(revealed.claims.clone()),
        json_fixture("section-5.2-processed-payload.json")
    );
    assert_eq!(
        revealed.cnf_jwk().expect("cnf").to_value(),
        holder_public_jwk()
    );
    // The RFC's sd_hash is the one we compute over the presentation.
    assert_eq!(
        b64::sha256(sd.without_kb()),
        kb["sd_hash"].as_str().expect("sd_hash")
    );
    sd.verify_key_binding(&revealed, aud, nonce, NOW, 60, 5)
        .expect("RFC 9901 §5.2 key binding verifies");
    // And the checks can fail.
    assert!(matches!(
        sd.verify_key_binding(&revealed, "https://other.example", nonce, NOW, 60, 5),
        Err(SdJwtError::KbAudience { .. })
    ));
    assert!(matches!(
        sd.verify_key_binding(&revealed, aud, "0987654321", NOW, 60, 5),
        Err(SdJwtError::KbNonce { .. })
    ));
    assert!(matches!(
        sd.verify_key_binding(&revealed, aud, nonce, KB_IAT + 3600, 60, 5),
        Err(SdJwtError::KbIat { .. })
    ));
    // Dropping a presented disclosure breaks sd_hash.
    let mut fewer = sd.clone();
    fewer.disclosures.pop();
    let r = fewer
        .verify(&issuer_key(), &[TYP_EXAMPLE], NOW, 0)
        .expect("still verifies");
    assert_eq!(
        fewer.verify_key_binding(&r, aud, nonce, NOW, 60, 5),
        Err(SdJwtError::KbSdHash)
    );
}

#[test]
fn appendix_a_3_sd_jwt_vc_with_key_binding() {
    let kb = &json_fixture("key-binding.json")["appendix-a.3"];
    let aud = kb["aud"].as_str().expect("aud");
    let nonce = kb["nonce"].as_str().expect("nonce");
    let sd = SdJwt::parse(&fixture("appendix-a.3-sd-jwt-kb.txt")).expect("parses");
    assert_eq!(sd.issuer_jwt().expect("decodes").typ(), Some(TYP_DC_SD_JWT));
    let revealed = sd
        .verify(&issuer_key(), &[TYP_DC_SD_JWT], NOW, 0)
        .expect("RFC 9901 A.3 SD-JWT VC verifies");
    assert_eq!(
        Value::Object(revealed.claims.clone()),
        json_fixture("appendix-a.3-processed-payload.json")
    );
    // A recursive disclosure: `18` sits inside the disclosed `age_equal_or_over`.
    let mut pointers = revealed.disclosure_pointers();
    pointers.sort();
    assert_eq!(
        pointers,
        [
            "/age_equal_or_over",
            "/age_equal_or_over/18",
            "/nationalities"
        ]
    );
    assert_eq!(
        b64::sha256(sd.without_kb()),
        kb["sd_hash"].as_str().expect("sd_hash")
    );
    sd.verify_key_binding(&revealed, aud, nonce, NOW, 60, 5)
        .expect("RFC 9901 A.3 key binding verifies");
}

#[test]
fn a_wrong_issuer_key_is_refused() {
    let holder = Jwk::from_value(&holder_public_jwk())
        .expect("holder key parses")
        .verifying_key()
        .expect("P-256");
    let sd = SdJwt::parse(&fixture("section-5.2-sd-jwt-kb.txt")).expect("parses");
    assert!(matches!(
        sd.verify(&holder, &[TYP_EXAMPLE], NOW, 0),
        Err(SdJwtError::IssuerJwt(_))
    ));
}

#[test]
fn rfc_disclosure_digests() {
    let cases = json_fixture("disclosure-digests.json");
    let cases = cases.as_array().expect("array");
    assert!(!cases.is_empty());
    for case in cases {
        let encoded = case["disclosure"].as_str().expect("disclosure");
        let d = Disclosure::parse(encoded, 0).expect("RFC disclosure parses");
        assert_eq!(d.digest, case["digest"].as_str().expect("digest"), "{case}");
        let contents = case["contents"].as_array().expect("contents");
        assert_eq!(Value::String(d.salt.clone()), contents[0]);
        match contents.len() {
            3 => {
                assert_eq!(d.name.as_deref(), contents[1].as_str());
                assert_eq!(d.value, contents[2]);
            }
            2 => {
                assert_eq!(d.name, None);
                assert_eq!(d.value, contents[1]);
            }
            n => panic!("fixture disclosure with {n} elements"),
        }
    }
}

#[test]
fn processed_payload_has_no_sd_machinery() {
    let sd = SdJwt::parse(&fixture("section-5.1-sd-jwt.txt")).expect("parses");
    let payload = sd.issuer_jwt().expect("decodes").payload;
    assert!(payload.contains_key("_sd") && payload.contains_key("_sd_alg"));
    let revealed = sd.reveal(payload).expect("reveals");
    let text = serde_json::to_string(&revealed.claims).expect("serialises");
    assert!(!text.contains("\"_sd\"") && !text.contains("_sd_alg") && !text.contains("\"...\""));
}
