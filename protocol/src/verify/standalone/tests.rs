//! The standalone pipeline on real credentials signed with `shared` (VC-JWT, Data
//! Integrity, SD-JWT), their status lists and images served by [`TestSources`].

use std::collections::HashMap;
use std::sync::Mutex;

use crate::keys::{Alg, Jwk, Signer, SigningKey};
use crate::status::bitstring::{self, Bitstring, StatusPurpose};
use serde_json::json;

use super::*;
use crate::verify::Resource;

const ISS: &str = "https://issuer.example";
const DID: &str = "did:web:issuer.example";
const LIST: &str = "https://issuer.example/status/2/revocation";
const SUSPENSION: &str = "https://issuer.example/status/2/suspension";
const IMAGE: &str = "https://issuer.example/images/a1.png";
const IDX: u64 = 777;
/// The system time: the test badges are valid for an hour around it.
fn now() -> i64 {
    crate::clock::Clock::system().now()
}

struct TestSources {
    keys: HashMap<String, Jwk>,
    resources: Mutex<HashMap<String, (String, Vec<u8>)>>,
}

impl Sources for TestSources {
    async fn issuer_key(&self, iss: &str, _kid: Option<&str>) -> Result<Jwk, String> {
        self.keys
            .get(iss)
            .cloned()
            .ok_or_else(|| format!("no key known for {iss}"))
    }

    async fn status_list_token(&self, uri: &str) -> Result<String, String> {
        Err(format!("no token status list at {uri}"))
    }

    async fn resource(&self, url: &str, _accept: &str) -> Result<Resource, String> {
        Ok(match self.resources.lock().unwrap().get(url) {
            Some((media, body)) => Resource {
                status: 200,
                media_type: Some(media.clone()),
                body: body.clone(),
            },
            None => Resource {
                status: 404,
                ..Resource::default()
            },
        })
    }
}

struct Fixture {
    es256: SigningKey,
    ed25519: SigningKey,
    sources: TestSources,
    bitstrings: BitstringCache,
    tokens: StatusCache,
}

fn sri(body: &[u8]) -> String {
    use base64::Engine as _;
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD
            .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body).as_ref())
    )
}

impl Fixture {
    fn new() -> Self {
        let es256 = SigningKey::generate(Alg::ES256);
        let ed25519 = SigningKey::generate(Alg::EdDSA);
        let sources = TestSources {
            keys: HashMap::from([
                (ISS.to_owned(), es256.public_jwk()),
                (DID.to_owned(), ed25519.public_jwk()),
            ]),
            resources: Mutex::new(HashMap::from([(
                IMAGE.to_owned(),
                ("image/png".to_owned(), b"the badge image".to_vec()),
            )])),
        };
        let f = Fixture {
            es256,
            ed25519,
            sources,
            bitstrings: BitstringCache::default(),
            tokens: StatusCache::default(),
        };
        f.publish(StatusPurpose::Revocation, false);
        f.publish(StatusPurpose::Suspension, false);
        f
    }

    /// Publishes the list of `purpose` with the credential's bit `set`.
    fn publish(&self, purpose: StatusPurpose, set: bool) {
        let uri = match purpose {
            StatusPurpose::Revocation => LIST,
            StatusPurpose::Suspension => SUSPENSION,
        };
        let mut bits = Bitstring::new(crate::status::MIN_ENTRIES);
        bits.set(IDX as usize, set).unwrap();
        let vc = bitstring::list_credential(
            uri,
            ISS,
            purpose,
            &bits,
            &crate::clock::rfc3339(now() - 60),
            &crate::clock::rfc3339(now() + 86_400),
            60_000,
        );
        let jwt = crate::vc::jwt::sign(&vc, &format!("{DID}#key-1"), &self.es256).unwrap();
        self.sources.resources.lock().unwrap().insert(
            uri.to_owned(),
            ("application/jwt".to_owned(), jwt.into_bytes()),
        );
    }

    fn badge(&self, issuer: &str) -> Value {
        json!({
            "@context": [crate::ob3::CONTEXT_VC_V2, crate::ob3::CONTEXT_OB_V3P0_3],
            "id": "urn:uuid:2f1c0b8e-8f7a-4a53-9a52-2c3c9e0f6a11",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": "Digital Supporter",
            "issuer": {"id": issuer, "type": ["Profile"], "name": "Demo Issuer"},
            "validFrom": crate::clock::rfc3339(now() - 100),
            "validUntil": crate::clock::rfc3339(now() + 3600),
            "credentialSubject": {
                "id": "did:jwk:eyJrdHkiOiJFQyJ9",
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": "https://issuer.example/achievements/a1",
                    "type": ["Achievement"],
                    "name": "Digital Supporter",
                    "description": "Helps citizens use public digital services.",
                    "criteria": {"narrative": "Completed the course."},
                    "image": {"id": IMAGE, "type": "Image"},
                },
            },
            "relatedResource": [{"id": IMAGE, "digestSRI": sri(b"the badge image"), "mediaType": "image/png"}],
            "credentialStatus": bitstring::entry(LIST, StatusPurpose::Revocation, IDX),
        })
    }

    fn vc_jwt_with(&self, edit: impl FnOnce(&mut Value)) -> Submitted {
        let mut vc = self.badge(ISS);
        edit(&mut vc);
        Submitted::Compact(
            crate::vc::jwt::sign(&vc, &format!("{DID}#key-1"), &self.es256 as &dyn Signer).unwrap(),
        )
    }

    async fn ldp_vc(&self) -> Submitted {
        let signed = crate::vc::data_integrity::sign(
            &self.badge(DID),
            &self.ed25519,
            &format!("{DID}#key-3"),
            DID,
        )
        .await
        .unwrap();
        Submitted::Json(signed)
    }

    async fn check_with(&self, s: &Submitted, trusted: &[String], now: i64) -> Standalone {
        let policy = Policy {
            trusted_issuers: trusted,
            now,
            log_entry: None,
        };
        verify(&self.sources, &self.tokens, &self.bitstrings, &policy, s).await
    }

    async fn check(&self, s: &Submitted) -> Standalone {
        self.check_with(s, &[], now()).await
    }
}

fn failed(s: &Standalone) -> Vec<&str> {
    s.verification
        .checks
        .iter()
        .filter(|c| c.failed())
        .map(|c| c.name.as_str())
        .collect()
}

fn outcome<'a>(s: &'a Standalone, name: &str) -> &'a Check {
    s.verification
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {:#?}", s.verification.checks))
}

#[tokio::test]
async fn a_good_vc_jwt_passes_and_reports_every_check() {
    let f = Fixture::new();
    let s = f.check(&f.vc_jwt_with(|_| {})).await;
    assert_eq!(s.format, Some("jwt_vc_json"));
    assert!(s.verification.verified(), "{:#?}", s.verification.checks);
    for name in [
        "format",
        "issuer_key",
        "issuer_signature",
        "jwt_claims",
        "validity",
        "type",
        "status",
        "ob3_schema",
        "image_digest",
    ] {
        assert_eq!(
            outcome(&s, name).ok,
            Some(true),
            "{name}: {}",
            outcome(&s, name).detail
        );
    }
    for name in ["holder_binding", "nonce", "audience", "kb_iat", "sd_hash"] {
        let c = outcome(&s, name);
        assert_eq!(c.ok, None);
        assert!(c.detail.starts_with("not applicable"), "{}", c.detail);
    }
    assert!(outcome(&s, "status").detail.contains("suspension list"));
    assert_eq!(outcome(&s, "trust").ok, None);
    assert_eq!(
        s.verification.disclosed[LABEL][0]["name"],
        "Digital Supporter"
    );
    assert_eq!(outcome(&s, "format").presentation.as_deref(), Some(LABEL));
}

#[tokio::test]
async fn each_vc_jwt_check_fails_alone() {
    let f = Fixture::new();
    let good = f.vc_jwt_with(|_| {});

    // Revoked, then suspended (the sibling list), then valid again: the cache is by URI, so
    // use a fresh cache each time.
    f.publish(StatusPurpose::Revocation, true);
    let s = f.check(&good).await;
    assert_eq!(failed(&s), ["status"]);
    assert!(
        outcome(&s, "status").detail.starts_with("revoked"),
        "{}",
        outcome(&s, "status").detail
    );
    let f2 = Fixture::new();
    f2.publish(StatusPurpose::Suspension, true);
    let s = f2.check(&f2.vc_jwt_with(|_| {})).await;
    assert_eq!(failed(&s), ["status"]);
    assert!(outcome(&s, "status").detail.starts_with("suspended"));

    let f = Fixture::new();
    // Expired and not yet valid.
    let s = f.check_with(&good_for(&f), &[], now() + 7200).await;
    assert!(failed(&s).contains(&"validity"), "{:?}", failed(&s));
    assert!(outcome(&s, "validity").detail.starts_with("expired"));
    let s = f.check_with(&good_for(&f), &[], now() - 7200).await;
    assert_eq!(failed(&s), ["validity"], "{:#?}", s.verification.checks);
    assert!(outcome(&s, "validity").detail.starts_with("not yet valid"));

    // Untrusted issuer.
    let s = f
        .check_with(&good_for(&f), &["https://other.example".to_owned()], now())
        .await;
    assert_eq!(failed(&s), ["trust"]);
    let s = f.check_with(&good_for(&f), &[ISS.to_owned()], now()).await;
    assert_eq!(outcome(&s, "trust").ok, Some(true));

    // Unknown key: an issuer nobody publishes a key for.
    let s = f
        .check(&f.vc_jwt_with(|vc| vc["issuer"]["id"] = json!("https://unknown.example")))
        .await;
    assert_eq!(failed(&s), ["issuer_key"]);
    assert_eq!(outcome(&s, "status").ok, None);

    // Tampered signature.
    let Submitted::Compact(jwt) = good_for(&f) else {
        unreachable!()
    };
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&crate::b64::decode(&parts[1]).unwrap()).unwrap();
    payload["name"] = json!("Expert");
    parts[1] = crate::b64::encode(payload.to_string().as_bytes());
    let s = f.check(&Submitted::Compact(parts.join("."))).await;
    assert_eq!(failed(&s), ["issuer_signature"]);

    // Schema violation (no achievement description), properly signed.
    let s = f
        .check(&f.vc_jwt_with(|vc| {
            vc["credentialSubject"]["achievement"]
                .as_object_mut()
                .unwrap()
                .remove("description");
        }))
        .await;
    assert_eq!(failed(&s), ["ob3_schema"]);

    // Image changed after issuance.
    f.sources.resources.lock().unwrap().insert(
        IMAGE.to_owned(),
        ("image/png".to_owned(), b"a different image".to_vec()),
    );
    let s = f.check(&good_for(&f)).await;
    assert_eq!(failed(&s), ["image_digest"]);
    assert!(s.verification.disclosed.is_empty());
}

fn good_for(f: &Fixture) -> Submitted {
    f.vc_jwt_with(|_| {})
}

#[tokio::test]
async fn a_data_integrity_badge_verifies_until_tampered_with() {
    let f = Fixture::new();
    let good = f.ldp_vc().await;
    let s = f.check(&good).await;
    assert_eq!(s.format, Some("ldp_vc"));
    assert!(s.verification.verified(), "{:#?}", s.verification.checks);
    assert_eq!(outcome(&s, "issuer_signature").ok, Some(true));
    assert_eq!(
        outcome(&s, "status").ok,
        Some(true),
        "{}",
        outcome(&s, "status").detail
    );

    // Outside its validity period the proof still verifies: only `validity` fails.
    let s = f.check_with(&good, &[], now() - 7200).await;
    assert_eq!(failed(&s), ["validity"], "{:#?}", s.verification.checks);
    assert!(outcome(&s, "validity").detail.starts_with("not yet valid"));
    let s = f.check_with(&good, &[], now() + 7200).await;
    assert!(failed(&s).contains(&"validity"), "{:?}", failed(&s));
    assert!(
        !failed(&s).contains(&"issuer_signature"),
        "{:?}",
        failed(&s)
    );
    assert!(outcome(&s, "validity").detail.starts_with("expired"));

    let Submitted::Json(mut vc) = good else {
        unreachable!()
    };
    vc["credentialSubject"]["achievement"]["name"] = json!("Expert");
    let s = f.check(&Submitted::Json(vc)).await;
    assert_eq!(failed(&s), ["issuer_signature"]);

    let s = f.check(&Submitted::Json(json!({"id": "x"}))).await;
    assert_eq!(failed(&s), ["format"]);
}

#[tokio::test]
async fn an_sd_jwt_is_checked_without_holder_binding() {
    let f = Fixture::new();
    let holder = SigningKey::generate(Alg::ES256);
    let mut ld = f.badge(ISS);
    ld.as_object_mut().unwrap().remove("credentialStatus");
    let claims = json!({
        "iss": ISS, "iat": now() - 100, "nbf": now() - 100, "exp": now() + 3600,
        "vct": format!("{ISS}/vct/open-badge-v3"),
        "cnf": {"jwk": holder.public_jwk().to_value()},
        "ld": ld,
    });
    let sd = crate::sd_jwt::issue(
        claims.as_object().unwrap().clone(),
        &["/ld/name"],
        0,
        crate::jose::header(TYP_DC_SD_JWT, Some("did:web:issuer.example#key-1")),
        &f.es256 as &dyn Signer,
    )
    .unwrap();
    let s = f.check(&Submitted::Compact(sd.serialize())).await;
    assert_eq!(s.format, Some("dc+sd-jwt"));
    assert!(s.verification.verified(), "{:#?}", s.verification.checks);
    for name in ["holder_binding", "nonce", "audience", "kb_iat", "sd_hash"] {
        assert_eq!(outcome(&s, name).ok, None, "{name}");
    }
    assert_eq!(outcome(&s, "disclosures").ok, Some(true));
    assert_eq!(outcome(&s, "image_digest").ok, Some(true));
    assert!(outcome(&s, "vct").detail.contains("OpenBadgeCredential"));
    assert_eq!(
        s.verification.disclosed[LABEL][0]["ld"]["name"],
        "Digital Supporter"
    );

    // A tampered disclosure no longer matches its digest.
    let text = sd.serialize();
    let mut parts: Vec<&str> = text.split('~').collect();
    let forged = crate::b64::encode(br#"["salt","name","Expert"]"#);
    parts[1] = &forged;
    let s = f.check(&Submitted::Compact(parts.join("~"))).await;
    assert_eq!(failed(&s), ["disclosures"], "{:#?}", s.verification.checks);
}

/// A VC-JWT in the VCDM 1.1 form (`vc` claim) whose `iss` is the attacker's own did:jwk and
/// whose credential names the real issuer: signed, but not by the issuer it names.
#[tokio::test]
async fn a_vc_jwt_signed_by_another_iss_fails_issuer_binding() {
    let mut f = Fixture::new();
    let attacker = SigningKey::generate(Alg::ES256);
    let did = crate::did::did_jwk(&attacker.public_jwk());
    f.sources.keys.insert(did.clone(), attacker.public_jwk());
    let jwt = Jws::sign(
        crate::jose::header("JWT", None),
        &json!({"iss": did, "nbf": now() - 100, "vc": f.badge(ISS)}),
        &attacker,
    );
    let s = f.check(&Submitted::Compact(jwt)).await;
    assert!(!s.verification.verified());
    assert_eq!(outcome(&s, "issuer_signature").ok, Some(true));
    let binding = outcome(&s, "issuer_binding");
    assert_eq!(binding.ok, Some(false), "{binding:?}");
    assert!(binding.detail.contains(ISS) && binding.detail.contains(&did));
    assert!(s.verification.disclosed.is_empty());
}

#[tokio::test]
async fn the_real_issuers_vc_jwt_and_ldp_vc_pass_issuer_binding() {
    let f = Fixture::new();
    let s = f.check(&f.vc_jwt_with(|_| {})).await;
    assert_eq!(
        outcome(&s, "issuer_binding").ok,
        Some(true),
        "{:#?}",
        s.verification.checks
    );
    let s = f.check(&f.ldp_vc().await).await;
    assert_eq!(
        outcome(&s, "issuer_binding").ok,
        Some(true),
        "{:#?}",
        s.verification.checks
    );
}
