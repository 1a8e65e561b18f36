//! Interop with independent SD-JWT implementations: the OpenWallet Foundation's
//! `@sd-jwt/*` (Node, `interop/sdjwt.mjs`) and the reference `sd-jwt` (Python,
//! `interop/sdjwt_py.py`). Needs `npm ci` in `interop/` and
//! `pip install -r interop/requirements.txt` (see interop/README.md); without them the
//! tests fail, they never pass silently.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

#[path = "../../interop/harness.rs"]
mod harness;

use harness::{node, private_jwk, python};
use protocol::jose;
use protocol::keys::{Alg, Signer, SigningKey};
use protocol::sd_jwt::{self, Disclosure, KeyBinding, SdJwt, TYP_DC_SD_JWT};
use serde_json::{Map, Value, json};

const AUD: &str = "x509_hash:verifier.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: i64 = 1_772_355_700;

fn badge_claims(holder: &SigningKey) -> Map<String, Value> {
    let claims = json!({
        "iss": "https://badges.example.org",
        "iat": 1_772_355_600,
        "nbf": 1_772_355_600,
        "exp": 1_900_000_000,
        "vct": "https://badges.example.org/vct/open-badge-v3",
        "cnf": {"jwk": holder.public_jwk().public_only().to_value()},
        "ld": {
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "https://badges.example.org", "type": ["Profile"], "name": "Example Skills Agency"},
            "validFrom": "2026-03-01T09:00:00Z",
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "name": "Ana Example",
                "identifier": [
                    {"type": "IdentityObject", "hashed": false, "identityHash": "ana@example.org", "identityType": "emailAddress"},
                    {"type": "IdentityObject", "hashed": false, "identityHash": "+34600000000", "identityType": "phoneNumber"}
                ],
                "result": [{"type": ["Result"], "value": "A"}],
                "achievement": {"id": "https://badges.example.org/achievements/1", "type": ["Achievement"], "name": "Digital Supporter"}
            }
        }
    });
    match claims {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

struct Issued {
    issuer: SigningKey,
    holder: SigningKey,
    full: SdJwt,
}

fn issue_badge() -> Issued {
    let issuer = SigningKey::generate(Alg::ES256);
    let holder = SigningKey::generate(Alg::ES256);
    let full = sd_jwt::issue(
        badge_claims(&holder),
        &[
            "/ld/credentialSubject/name",
            "/ld/credentialSubject/identifier/0",
            "/ld/credentialSubject/identifier/1",
            "/ld/credentialSubject/identifier",
            "/ld/credentialSubject/result",
        ],
        2,
        jose::header(TYP_DC_SD_JWT, Some("https://badges.example.org/keys/1")),
        &issuer,
    )
    .expect("issues");
    Issued {
        issuer,
        holder,
        full,
    }
}

/// Presents the name, the `identifier` array and only its first element.
fn present_badge(issued: &Issued) -> SdJwt {
    let revealed = issued
        .full
        .verify(
            &issued.issuer.public_jwk().verifying_key().expect("key"),
            &[TYP_DC_SD_JWT],
            NOW,
            0,
        )
        .expect("our own credential verifies");
    let pointers = revealed.disclosure_pointers();
    let keep: Vec<usize> = pointers
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            matches!(
                p.as_str(),
                "/ld/credentialSubject/name"
                    | "/ld/credentialSubject/identifier"
                    | "/ld/credentialSubject/identifier/0"
            )
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(keep.len(), 3, "{pointers:?}");
    issued.full.present(
        &keep,
        Some(KeyBinding {
            aud: AUD,
            nonce: NONCE,
            iat: NOW,
            signer: &issued.holder,
            log_entry: None,
        }),
    )
}

fn verify_request(issued: &Issued, sdjwt: &str) -> Value {
    json!({
        "sdjwt": sdjwt,
        "issuer_jwk": issued.issuer.public_jwk().to_value(),
        "kb": {"aud": AUD, "nonce": NONCE},
        "now": NOW,
    })
}

/// What the verifier must see: the clear claims, the name and the first identifier.
fn expected_disclosed(issued: &Issued) -> Value {
    let mut claims = Value::Object(badge_claims(&issued.holder));
    let subject = &mut claims["ld"]["credentialSubject"];
    let subject = subject.as_object_mut().expect("subject object");
    subject.remove("result");
    let first = subject["identifier"][0].clone();
    subject.insert("identifier".into(), json!([first]));
    claims
}

fn assert_ok(answer: &Value, who: &str) -> Value {
    assert_eq!(answer["ok"], json!(true), "{who} refused: {answer}");
    answer["payload"].clone()
}

#[test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
fn our_presentation_verifies_in_sd_jwt_js_and_python_reference() {
    let issued = issue_badge();
    let presentation = present_badge(&issued).serialize();
    let request = verify_request(&issued, &presentation);
    let expected = expected_disclosed(&issued);
    for (who, answer) in [
        ("@sd-jwt (node)", node("verify", &request)),
        ("sd-jwt (python)", python("verify", &request)),
    ] {
        let payload = assert_ok(&answer, who);
        assert_eq!(payload, expected, "{who} disclosed other claims");
        let text = payload.to_string();
        assert!(
            !text.contains("+34600000000"),
            "{who}: withheld identifier leaked"
        );
        assert!(
            !text.contains("\"result\""),
            "{who}: withheld result leaked"
        );
        assert!(!text.contains("_sd"), "{who}: digests left in the payload");
    }
    // The full issuance (no KB-JWT) also verifies and reveals everything.
    let mut full = verify_request(&issued, &issued.full.serialize());
    full["kb"] = Value::Null;
    for (who, answer) in [
        ("@sd-jwt (node)", node("verify", &full)),
        ("sd-jwt (python)", python("verify", &full)),
    ] {
        assert_eq!(
            assert_ok(&answer, who),
            Value::Object(badge_claims(&issued.holder)),
            "{who}"
        );
    }
}

#[test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
fn independent_verifiers_check_the_key_binding() {
    let issued = issue_badge();
    let presentation = present_badge(&issued).serialize();
    let mut wrong_nonce = verify_request(&issued, &presentation);
    wrong_nonce["kb"]["nonce"] = json!("another-nonce");
    let mut wrong_aud = verify_request(&issued, &presentation);
    wrong_aud["kb"]["aud"] = json!("x509_hash:someone-else");
    for request in [&wrong_nonce, &wrong_aud] {
        assert_eq!(
            node("verify", request)["ok"],
            json!(false),
            "node accepted {request}"
        );
        assert_eq!(
            python("verify", request)["ok"],
            json!(false),
            "python accepted {request}"
        );
    }
    // A KB-JWT signed by a key other than `cnf`.
    let other = SigningKey::generate(Alg::ES256);
    let revealed_keep: Vec<usize> = (0..issued.full.disclosures.len()).collect();
    let forged = issued
        .full
        .present(
            &revealed_keep,
            Some(KeyBinding {
                aud: AUD,
                nonce: NONCE,
                iat: NOW,
                signer: &other,
                log_entry: None,
            }),
        )
        .serialize();
    let request = verify_request(&issued, &forged);
    assert_eq!(node("verify", &request)["ok"], json!(false));
    assert_eq!(python("verify", &request)["ok"], json!(false));
}

#[test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
fn sd_jwt_js_presentation_verifies_with_our_code() {
    let issuer = SigningKey::generate(Alg::ES256);
    let holder = SigningKey::generate(Alg::ES256);
    let request = json!({
        "issuer_jwk_private": private_jwk(&issuer),
        "holder_jwk_private": private_jwk(&holder),
        "payload": {
            "iss": "https://issuer.example",
            "iat": 1_772_355_600,
            "vct": "https://issuer.example/vct/badge",
            "ld": {
                "credentialSubject": {
                    "name": "Ana",
                    "identifier": [{"identityHash": "ana@example.org"}, {"identityHash": "+34600000000"}],
                    "result": "A"
                }
            }
        },
        "disclosure_frame": {
            "ld": {"credentialSubject": {
                "_sd": ["name", "identifier", "result"],
                "identifier": {"_sd": [0, 1]}
            }}
        },
        "disclose": ["/ld/credentialSubject/name", "/ld/credentialSubject/identifier/1"],
        "aud": AUD,
        "nonce": NONCE,
        "typ": TYP_DC_SD_JWT,
        "iat": NOW,
    });
    let answer = node("issue_present", &request);
    let presentation = answer["presentation"]
        .as_str()
        .unwrap_or_else(|| panic!("no presentation: {answer}"));
    let issuer_key = issuer.public_jwk().verifying_key().expect("key");

    let sd = SdJwt::parse(presentation).expect("@sd-jwt presentation parses");
    assert!(sd.kb_jwt.is_some());
    let revealed = sd
        .verify(&issuer_key, &[TYP_DC_SD_JWT], NOW, 0)
        .expect("@sd-jwt presentation verifies");
    sd.verify_key_binding(&revealed, AUD, NONCE, NOW, 60, 5)
        .expect("@sd-jwt KB-JWT verifies");
    assert_eq!(
        revealed.claims["ld"]["credentialSubject"],
        json!({"name": "Ana", "identifier": [{"identityHash": "+34600000000"}]})
    );
    assert_eq!(
        revealed.cnf_jwk().expect("cnf").to_value(),
        holder.public_jwk().public_only().to_value()
    );
    assert!(
        sd.verify_key_binding(&revealed, AUD, "other", NOW, 60, 5)
            .is_err()
    );

    // The full issuance reveals every claim.
    let full = SdJwt::parse(answer["sdjwt"].as_str().expect("sdjwt")).expect("parses");
    let all = full
        .verify(&issuer_key, &[TYP_DC_SD_JWT], NOW, 0)
        .expect("@sd-jwt issuance verifies");
    assert_eq!(
        all.claims["ld"]["credentialSubject"],
        request["payload"]["ld"]["credentialSubject"]
    );
}

/// Replaces the disclosure that reveals `name` by one with another value and salt.
fn tamper(presentation: &SdJwt) -> SdJwt {
    let mut tampered = presentation.clone();
    let i = tampered
        .disclosures
        .iter()
        .position(|d| d.name.as_deref() == Some("name"))
        .expect("the name is disclosed");
    tampered.disclosures[i] = Disclosure::property("name", json!("Mallory"));
    tampered
}

#[test]
#[ignore = "heavy: run by ./test (npm and PyPI interop packages)"]
fn tampered_presentations_are_refused_by_the_independent_verifiers() {
    let issued = issue_badge();
    let presentation = present_badge(&issued);

    // One disclosure altered under the holder's KB-JWT.
    let request = verify_request(&issued, &tamper(&presentation).serialize());
    assert_eq!(
        node("verify", &request)["ok"],
        json!(false),
        "node accepted a tampered disclosure"
    );
    assert_eq!(
        python("verify", &request)["ok"],
        json!(false),
        "python accepted a tampered disclosure"
    );

    // Altered, then re-bound by the holder: only the digest check can catch it.
    let mut rebound = tamper(&presentation);
    rebound.kb_jwt = None;
    let keep: Vec<usize> = (0..rebound.disclosures.len()).collect();
    let rebound = rebound.present(
        &keep,
        Some(KeyBinding {
            aud: AUD,
            nonce: NONCE,
            iat: NOW,
            signer: &issued.holder,
            log_entry: None,
        }),
    );
    let request = verify_request(&issued, &rebound.serialize());
    let answer = node("verify", &request);
    assert_ne!(
        answer["payload"]["ld"]["credentialSubject"]["name"],
        json!("Mallory"),
        "node revealed the forged value: {answer}"
    );
    let answer = python("verify", &request);
    assert_ne!(
        answer["payload"]["ld"]["credentialSubject"]["name"],
        json!("Mallory"),
        "python revealed the forged value: {answer}"
    );

    // An altered issuer signature.
    let mut text = presentation.serialize();
    let dot = text.find('~').expect("separator") - 3;
    let flipped = if &text[dot..dot + 1] == "A" { "B" } else { "A" };
    text.replace_range(dot..dot + 1, flipped);
    let request = verify_request(&issued, &text);
    assert_eq!(node("verify", &request)["ok"], json!(false));
    assert_eq!(python("verify", &request)["ok"], json!(false));
}
