//! The pipeline on real SD-JWT VCs issued and presented with `crate::sd_jwt`, with the
//! network replaced by [`TestSources`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::keys::{Alg, Signer, SigningKey};
use crate::ob3::{IDENTITY_TYPE_EMAIL, IDENTITY_TYPE_NAME, IdentityObject};
use crate::sd_jwt::{self, Disclosure, KeyBinding};
use crate::status::StatusList;
use serde_json::json;

use super::*;

const ISS: &str = "https://issuer.example";
const STATUS_URI: &str = "https://issuer.example/status/1";
const IDX: usize = 4242;
const CLIENT_ID: &str = "decentralized_identifier:did:web:verifier.example";
const NONCE: &str = "n-0S6_WzA2Mj-n-0S6_WzA2Mj";
const NOW: i64 = 1_800_000_000;
const ACHIEVEMENT: &str = "https://issuer.example/achievements/a1";

struct TestSources {
    keys: HashMap<String, Jwk>,
    status: Mutex<HashMap<String, String>>,
    status_fetches: AtomicUsize,
    /// Badge images by URL.
    images: Mutex<HashMap<String, Vec<u8>>>,
    /// X.509 trust anchors of issuers' `x5c` chains.
    anchors: Option<crate::x509::TrustAnchors>,
}

impl Sources for TestSources {
    async fn issuer_key(&self, iss: &str, _kid: Option<&str>) -> Result<Jwk, String> {
        self.keys
            .get(iss)
            .cloned()
            .ok_or_else(|| format!("no key known for {iss}"))
    }

    async fn status_list_token(&self, uri: &str) -> Result<String, String> {
        self.status_fetches.fetch_add(1, Ordering::SeqCst);
        self.status
            .lock()
            .unwrap()
            .get(uri)
            .cloned()
            .ok_or_else(|| format!("HTTP status 404 for {uri}"))
    }

    async fn resource(&self, url: &str, _accept: &str) -> Result<Resource, String> {
        Ok(match self.images.lock().unwrap().get(url) {
            Some(body) => Resource {
                status: 200,
                media_type: Some("image/png".into()),
                body: body.clone(),
            },
            None => Resource {
                status: 404,
                ..Resource::default()
            },
        })
    }

    fn x509_anchors(&self) -> Option<&crate::x509::TrustAnchors> {
        self.anchors.as_ref()
    }
}

struct Fixture {
    issuer: SigningKey,
    holder: SigningKey,
    sources: TestSources,
    query: DcqlQuery,
}

fn status_token(issuer: &SigningKey, value: u8, sub: &str, exp: i64) -> String {
    let mut list = StatusList::new(2, crate::status::MIN_ENTRIES).unwrap();
    list.set(IDX, value).unwrap();
    Jws::sign(
        crate::jose::header(crate::status::TYP_STATUSLIST_JWT, Some("did:web:i#key-1")),
        &json!({
            "sub": sub, "iat": NOW - 10, "exp": exp, "ttl": 60,
            "status_list": {"bits": 2, "lst": list.encode()},
        }),
        issuer,
    )
}

/// The verifier's Open Badge template query: a badge of `achievement` from [`ISS`],
/// optionally asking for the recipient's name.
fn badge_query(achievement: &str, name: bool) -> DcqlQuery {
    let mut claims = vec![
        json!({"path": ["ld", "credentialSubject", "achievement", "id"], "values": [achievement]}),
        json!({"path": ["ld", "issuer", "id"], "values": [ISS]}),
    ];
    if name {
        claims.push(json!({
            "path": ["ld", "credentialSubject", "identifier", 0, "identityType"],
            "values": [IDENTITY_TYPE_NAME],
        }));
        claims.push(json!({"path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]}));
    }
    serde_json::from_value(json!({"credentials": [{
        "id": "badge",
        "format": "dc+sd-jwt",
        "meta": {"vct_values": [format!("{ISS}/vct/open-badge-v3")]},
        "claims": claims,
    }]}))
    .unwrap()
}

impl Fixture {
    fn new() -> Self {
        let issuer = SigningKey::generate(Alg::ES256);
        let holder = SigningKey::generate(Alg::ES256);
        let sources = TestSources {
            keys: HashMap::from([(ISS.to_owned(), issuer.public_jwk())]),
            status: Mutex::new(HashMap::from([(
                STATUS_URI.to_owned(),
                status_token(&issuer, crate::status::VALID, STATUS_URI, NOW + 3600),
            )])),
            status_fetches: AtomicUsize::new(0),
            images: Mutex::new(HashMap::new()),
            anchors: None,
        };
        let query = badge_query(ACHIEVEMENT, true);
        Fixture {
            issuer,
            holder,
            sources,
            query,
        }
    }

    fn set_status(&self, value: u8) {
        self.sources.status.lock().unwrap().insert(
            STATUS_URI.to_owned(),
            status_token(&self.issuer, value, STATUS_URI, NOW + 3600),
        );
    }

    /// The issuer agent's badge, issued with `edit` applied to its claims.
    fn credential_with(&self, typ: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> SdJwt {
        self.issue(crate::jose::header(typ, Some("did:web:i#key-1")), edit)
    }

    /// The badge with `edit` applied to its claims, signed under `header`.
    fn issue(
        &self,
        header: Map<String, Value>,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> SdJwt {
        let ld = json!({
            "@context": [crate::ob3::CONTEXT_VC_V2, crate::ob3::CONTEXT_OB_V3P0_3],
            "id": "urn:uuid:2f1c0b8e-8f7a-4a53-9a52-2c3c9e0f6a11",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": "Digital Supporter",
            "issuer": {"id": ISS, "type": ["Profile"], "name": "Demo Issuer", "url": ISS},
            "validFrom": crate::clock::rfc3339(NOW - 100),
            "credentialSubject": {
                "id": crate::did::did_jwk(&self.holder.public_jwk()),
                "type": ["AchievementSubject"],
                "identifier": [
                    IdentityObject::plain(IDENTITY_TYPE_NAME, "Ada Lovelace"),
                    IdentityObject::hashed(IDENTITY_TYPE_EMAIL, "ada@example.org", "salt"),
                ],
                "achievement": {
                    "id": ACHIEVEMENT,
                    "type": ["Achievement"],
                    "name": "Digital Supporter",
                    "description": "Helps citizens use public digital services.",
                    "criteria": {"narrative": "Completed the course."},
                },
            },
        });
        let mut claims = json!({
            "iss": ISS,
            "iat": NOW - 100,
            "nbf": NOW - 100,
            "exp": NOW + 3600,
            "vct": format!("{ISS}/vct/open-badge-v3"),
            "cnf": {"jwk": self.holder.public_jwk().to_value()},
            "status": {"status_list": {"idx": IDX, "uri": STATUS_URI}},
            "ld": ld,
        })
        .as_object()
        .cloned()
        .unwrap();
        edit(&mut claims);
        sd_jwt::issue(
            claims,
            &[
                "/ld/credentialSubject/identifier/0",
                "/ld/credentialSubject/identifier/1",
                "/ld/credentialSubject/identifier",
            ],
            1,
            header,
            &self.issuer,
        )
        .unwrap()
    }

    fn credential(&self) -> SdJwt {
        self.credential_with(TYP_DC_SD_JWT, |_| {})
    }

    /// The badge signed with its issuer's certificate chain in `x5c` (and no `kid`).
    fn credential_x5c(&self, x5c: &[Vec<u8>]) -> SdJwt {
        let mut header = crate::jose::header(TYP_DC_SD_JWT, None);
        header.insert("x5c".into(), json!(crate::x509::x5c_encode(x5c)));
        self.issue(header, |_| {})
    }

    fn present(&self, sd: &SdJwt, aud: &str, nonce: &str, iat: i64, signer: &dyn Signer) -> String {
        let keep: Vec<usize> = (0..sd.disclosures.len()).collect();
        sd.present(
            &keep,
            Some(KeyBinding {
                aud,
                nonce,
                iat,
                signer,
                log_entry: None,
            }),
        )
        .serialize()
    }

    fn good(&self) -> String {
        self.present(&self.credential(), CLIENT_ID, NONCE, NOW - 5, &self.holder)
    }

    async fn verify_with(&self, vp_token: Value, trusted: &[String]) -> Verification {
        self.verify_profile(vp_token, trusted, Profile::Open).await
    }

    async fn verify_profile(
        &self,
        vp_token: Value,
        trusted: &[String],
        profile: Profile,
    ) -> Verification {
        let exp = Expectations {
            client_id: CLIENT_ID,
            nonce: NONCE,
            query: &self.query,
            trusted_issuers: trusted,
            now: NOW,
            profile,
        };
        verify_vp_token(&self.sources, &StatusCache::default(), &exp, &vp_token).await
    }

    async fn verify(&self, presentation: String) -> Verification {
        self.verify_with(json!({ "badge": [presentation] }), &[])
            .await
    }
}

fn check<'a>(v: &'a Verification, name: &str) -> &'a Check {
    v.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {:#?}", v.checks))
}

fn failed(v: &Verification) -> Vec<&str> {
    v.checks
        .iter()
        .filter(|c| c.failed())
        .map(|c| c.name.as_str())
        .collect()
}

#[tokio::test]
async fn a_good_presentation_passes_every_check() {
    let f = Fixture::new();
    let v = f.verify(f.good()).await;
    assert!(v.verified(), "{:#?}", v.checks);
    for name in PRESENTATION_CHECKS.iter().chain(&["vp_token", "dcql"]) {
        let c = check(&v, name);
        if *name == "trust" {
            assert_eq!(c.ok, None);
            assert_eq!(c.detail, "trust list not configured");
        } else if *name == "image_digest" {
            assert_eq!(c.ok, None, "the test badge names no related resource");
        } else if *name == "transparency" {
            // Sources without checkpoint memory: the check is not configured (the check
            // itself: verify::transparency's tests and the transparency journeys).
            assert_eq!((c.ok, c.detail.as_str()), (None, "not configured"));
        } else {
            assert_eq!(c.ok, Some(true), "{name}: {}", c.detail);
        }
    }
    assert_eq!(check(&v, "nonce").presentation.as_deref(), Some("badge/0"));
    let disclosed = &v.disclosed["badge"][0];
    assert_eq!(
        disclosed["ld"]["credentialSubject"]["identifier"][0]["identityHash"],
        "Ada Lovelace"
    );
}

#[tokio::test]
async fn a_wrong_nonce_fails_the_nonce_check_only() {
    let f = Fixture::new();
    let p = f.present(&f.credential(), CLIENT_ID, "other-nonce", NOW, &f.holder);
    let v = f.verify(p).await;
    assert!(!v.verified());
    assert_eq!(failed(&v), ["nonce"]);
    let d = &check(&v, "nonce").detail;
    assert!(d.contains("other-nonce") && d.contains(NONCE), "{d}");
    assert_eq!(check(&v, "status").ok, Some(true));
    assert!(
        v.disclosed.is_empty(),
        "a failed presentation discloses nothing"
    );
}

#[tokio::test]
async fn the_audience_must_be_the_full_client_id() {
    let f = Fixture::new();
    let p = f.present(
        &f.credential(),
        "did:web:verifier.example",
        NONCE,
        NOW,
        &f.holder,
    );
    let v = f.verify(p).await;
    assert_eq!(failed(&v), ["audience"]);
    assert!(check(&v, "audience").detail.contains(CLIENT_ID));
}

#[tokio::test]
async fn a_kb_jwt_by_another_key_fails_holder_binding() {
    let f = Fixture::new();
    let thief = SigningKey::generate(Alg::ES256);
    let p = f.present(&f.credential(), CLIENT_ID, NONCE, NOW, &thief);
    let v = f.verify(p).await;
    assert_eq!(failed(&v), ["holder_binding"]);
    assert_eq!(check(&v, "nonce").ok, None);
}

#[tokio::test]
async fn a_missing_kb_jwt_fails_holder_binding() {
    let f = Fixture::new();
    let v = f.verify(f.credential().serialize()).await;
    assert_eq!(failed(&v), ["holder_binding"]);
    assert!(check(&v, "holder_binding").detail.contains("no KB-JWT"));
}

#[tokio::test]
async fn a_stale_kb_jwt_fails_kb_iat() {
    let f = Fixture::new();
    let p = f.present(
        &f.credential(),
        CLIENT_ID,
        NONCE,
        NOW - KB_MAX_AGE - 1,
        &f.holder,
    );
    let v = f.verify(p).await;
    assert_eq!(failed(&v), ["kb_iat"]);
    let p = f.present(
        &f.credential(),
        CLIENT_ID,
        NONCE,
        NOW + LEEWAY + 1,
        &f.holder,
    );
    assert_eq!(failed(&f.verify(p).await), ["kb_iat"]);
}

#[tokio::test]
async fn dropping_a_disclosure_after_binding_fails_sd_hash() {
    let f = Fixture::new();
    let mut sd = SdJwt::parse(&f.good()).unwrap();
    let revealed = sd.reveal(sd.issuer_jwt().unwrap().payload).unwrap();
    let email = revealed
        .disclosure_paths
        .iter()
        .position(|p| p.as_slice() == ["ld", "credentialSubject", "identifier", "1"])
        .unwrap();
    sd.disclosures.remove(email);
    let v = f.verify(sd.serialize()).await;
    assert_eq!(failed(&v), ["sd_hash"]);
    assert_eq!(check(&v, "disclosures").ok, Some(true));
}

#[tokio::test]
async fn an_unreferenced_disclosure_fails_disclosures() {
    let f = Fixture::new();
    let mut sd = f.credential();
    sd.disclosures
        .push(Disclosure::property("extra", json!("smuggled")));
    let p = f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder);
    let v = f.verify(p).await;
    // Nothing could be revealed, so the query is not answered either.
    assert_eq!(failed(&v), ["disclosures", "dcql"]);
    assert!(check(&v, "disclosures").detail.contains("not referenced"));
    assert_eq!(check(&v, "vct").ok, None, "later checks are not checked");
}

#[tokio::test]
async fn an_expired_credential_fails_validity() {
    let f = Fixture::new();
    let sd = f.credential_with(TYP_DC_SD_JWT, |c| {
        c.insert("exp".into(), json!(NOW - LEEWAY - 1));
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert_eq!(failed(&v), ["validity"]);
    assert!(check(&v, "validity").detail.contains("expired"));
}

#[tokio::test]
async fn fractional_and_malformed_dates_are_not_skipped() {
    let f = Fixture::new();
    let sd = f.credential_with(TYP_DC_SD_JWT, |c| {
        c.insert("exp".into(), json!((NOW - LEEWAY - 10) as f64 + 0.5));
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert_eq!(failed(&v), ["validity"]);
    let sd = f.credential_with(TYP_DC_SD_JWT, |c| {
        c.insert("nbf".into(), json!((NOW + LEEWAY + 10) as f64 + 0.5));
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert_eq!(failed(&v), ["validity"]);
    let sd = f.credential_with(TYP_DC_SD_JWT, |c| {
        c.insert("exp".into(), json!("tomorrow"));
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert!(check(&v, "validity").detail.contains("NumericDate"));
}

#[tokio::test]
async fn a_forged_signature_fails_issuer_signature() {
    let f = Fixture::new();
    let forger = Fixture {
        issuer: SigningKey::generate(Alg::ES256),
        holder: SigningKey::from_secret_bytes(&f.holder.to_secret_bytes()).unwrap(),
        sources: TestSources {
            keys: HashMap::new(),
            status: Mutex::new(HashMap::new()),
            status_fetches: AtomicUsize::new(0),
            images: Mutex::new(HashMap::new()),
            anchors: None,
        },
        query: f.query.clone(),
    };
    let sd = forger.credential();
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert_eq!(failed(&v), ["issuer_signature"]);
    assert_eq!(check(&v, "status").ok, None);
}

#[tokio::test]
async fn an_unknown_issuer_fails_issuer_key() {
    let f = Fixture::new();
    let sd = f.credential_with(TYP_DC_SD_JWT, |c| {
        c.insert("iss".into(), json!("https://elsewhere.example"));
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert!(failed(&v).starts_with(&["issuer_key"]), "{:?}", failed(&v));
    assert_eq!(check(&v, "issuer_signature").ok, None);
}

#[tokio::test]
async fn older_vc_sd_jwt_typ_is_accepted_other_types_are_not() {
    let f = Fixture::new();
    let sd = f.credential_with(TYP_VC_SD_JWT, |_| {});
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert!(v.verified(), "{:?}", failed(&v));
    let sd = f.credential_with("JWT", |_| {});
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert_eq!(failed(&v), ["format", "dcql"]);
    assert_eq!(check(&v, "issuer_key").ok, None);
}

#[tokio::test]
async fn revoked_and_suspended_credentials_fail_status() {
    let f = Fixture::new();
    f.set_status(crate::status::INVALID);
    let v = f.verify(f.good()).await;
    assert_eq!(failed(&v), ["status"]);
    assert!(check(&v, "status").detail.starts_with("revoked"));
    f.set_status(crate::status::SUSPENDED);
    let v = f.verify(f.good()).await;
    assert!(check(&v, "status").detail.starts_with("suspended"));
}

#[tokio::test]
async fn a_status_list_for_another_uri_or_expired_is_refused() {
    let f = Fixture::new();
    f.sources.status.lock().unwrap().insert(
        STATUS_URI.into(),
        status_token(&f.issuer, 0, "https://issuer.example/status/2", NOW + 3600),
    );
    let v = f.verify(f.good()).await;
    assert!(check(&v, "status").detail.contains("`sub`"));
    f.sources.status.lock().unwrap().insert(
        STATUS_URI.into(),
        status_token(&f.issuer, 0, STATUS_URI, NOW - 3600),
    );
    let v = f.verify(f.good()).await;
    assert!(check(&v, "status").detail.contains("expired"));
    let other = SigningKey::generate(Alg::ES256);
    f.sources.status.lock().unwrap().insert(
        STATUS_URI.into(),
        status_token(&other, 0, STATUS_URI, NOW + 3600),
    );
    let v = f.verify(f.good()).await;
    assert!(check(&v, "status").detail.contains("signature"));
}

#[tokio::test]
async fn status_lists_are_cached_for_their_ttl() {
    let f = Fixture::new();
    let cache = StatusCache::default();
    let vp = json!({ "badge": [f.good()] });
    for now in [NOW, NOW + 30, NOW + 61] {
        let exp = Expectations {
            client_id: CLIENT_ID,
            nonce: NONCE,
            query: &f.query,
            trusted_issuers: &[],
            now,
            profile: Default::default(),
        };
        let v = verify_vp_token(&f.sources, &cache, &exp, &vp).await;
        assert_eq!(check(&v, "status").ok, Some(true));
    }
    // ttl 60: the third verification refetches.
    assert_eq!(f.sources.status_fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_trust_list_when_configured() {
    let f = Fixture::new();
    let v = f
        .verify_with(json!({ "badge": [f.good()] }), &[format!("{ISS}/")])
        .await;
    assert_eq!(check(&v, "trust").ok, Some(true));
    assert!(v.verified());
    let v = f
        .verify_with(
            json!({ "badge": [f.good()] }),
            &["https://other.example".to_owned()],
        )
        .await;
    assert_eq!(failed(&v), ["trust"]);
}

#[tokio::test]
async fn the_dcql_query_must_be_satisfied() {
    let mut f = Fixture::new();
    f.query = badge_query("https://issuer.example/achievements/other", false);
    let v = f.verify(f.good()).await;
    assert_eq!(failed(&v), ["dcql"]);
    // Not disclosing the name that was asked for.
    let f = Fixture::new();
    let sd = f.credential();
    let p = sd
        .present(
            &[],
            Some(KeyBinding {
                aud: CLIENT_ID,
                nonce: NONCE,
                iat: NOW,
                signer: &f.holder,
                log_entry: None,
            }),
        )
        .serialize();
    let v = f.verify(p).await;
    assert_eq!(failed(&v), ["dcql"]);
    assert!(check(&v, "dcql").detail.contains("identifier"));
}

#[tokio::test]
async fn a_wrong_vct_fails_vct_and_dcql() {
    let f = Fixture::new();
    let sd = f.credential_with(TYP_DC_SD_JWT, |c| {
        c.insert("vct".into(), json!("https://issuer.example/vct/other"));
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert_eq!(failed(&v), ["vct", "dcql"]);
}

#[tokio::test]
async fn an_invalid_open_badge_fails_ob3_schema() {
    let f = Fixture::new();
    let sd = f.credential_with(TYP_DC_SD_JWT, |c| {
        c["ld"].as_object_mut().unwrap().remove("issuer");
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW, &f.holder))
        .await;
    assert!(failed(&v).contains(&"ob3_schema"), "{:?}", failed(&v));
}

#[tokio::test]
async fn the_vp_token_shape_is_checked() {
    let f = Fixture::new();
    let v = f.verify_with(json!(["x"]), &[]).await;
    assert_eq!(failed(&v), ["vp_token"]);
    assert_eq!(check(&v, "dcql").ok, None);
    let v = f.verify_with(json!({"badge": []}), &[]).await;
    assert_eq!(failed(&v), ["vp_token"]);
    let v = f
        .verify_with(json!({"badge": [f.good()], "other": ["x"]}), &[])
        .await;
    assert_eq!(failed(&v), ["vp_token"]);
    assert!(check(&v, "vp_token").detail.contains("\"other\""));
    let v = f.verify_with(json!({"badge": [42]}), &[]).await;
    assert_eq!(failed(&v), ["format", "dcql"]);
    let v = f
        .verify_with(json!({"badge": [f.good(), f.good()]}), &[])
        .await;
    assert_eq!(failed(&v), ["dcql"], "one presentation unless `multiple`");
}

#[test]
fn sd_jwt_errors_map_to_their_checks() {
    use crate::keys::KeyError;
    let cases = [
        (SdJwtError::Malformed("x"), "format"),
        (
            SdJwtError::IssuerJwt(JoseError::WrongTyp {
                expected: "dc+sd-jwt".into(),
                found: None,
            }),
            "format",
        ),
        (
            SdJwtError::IssuerJwt(JoseError::Key(KeyError::BadSignature)),
            "issuer_signature",
        ),
        (
            SdJwtError::UnreferencedDisclosure { index: 0 },
            "disclosures",
        ),
        (SdJwtError::DuplicateDigest("d".into()), "disclosures"),
        (SdJwtError::Expired { exp: 1, now: 2 }, "validity"),
        (SdJwtError::NotYetValid { nbf: 2, now: 1 }, "validity"),
        (SdJwtError::KbMissing, "holder_binding"),
        (
            SdJwtError::KbSignature(KeyError::BadSignature),
            "holder_binding",
        ),
        (
            SdJwtError::KbNonce {
                expected: "a".into(),
                found: Some("b".into()),
            },
            "nonce",
        ),
        (
            SdJwtError::KbAudience {
                expected: "a".into(),
                found: None,
            },
            "audience",
        ),
        (SdJwtError::KbIat { iat: None, now: 0 }, "kb_iat"),
        (SdJwtError::KbSdHash, "sd_hash"),
    ];
    for (e, name) in cases {
        assert_eq!(check_name(&e), name, "{e}");
        let c = failed_check(&e);
        assert_eq!((c.name.as_str(), c.ok), (name, Some(false)));
        assert_eq!(c.detail, e.to_string());
    }
    let nonce = failed_check(&SdJwtError::KbNonce {
        expected: "expected-n".into(),
        found: Some("found-n".into()),
    });
    assert!(nonce.detail.contains("expected-n") && nonce.detail.contains("found-n"));
}

#[tokio::test]
async fn the_image_digest_check_fetches_the_related_resource_and_compares() {
    const IMAGE: &str = "https://issuer.example/images/a1.png";
    let f = Fixture::new();
    f.sources
        .images
        .lock()
        .unwrap()
        .insert(IMAGE.into(), b"the badge image".to_vec());
    let with_digest = |sri: String| {
        let sd = f.credential_with(TYP_DC_SD_JWT, |claims| {
            claims["ld"]["relatedResource"] =
                json!([{"id": IMAGE, "digestSRI": sri, "mediaType": "image/png"}]);
            claims["ld"]["credentialSubject"]["achievement"]["image"] =
                json!({"id": IMAGE, "type": "Image"});
        });
        f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder)
    };
    let sri = format!(
        "sha256-{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"the badge image").as_ref()
        )
    );
    let v = f.verify(with_digest(sri.clone())).await;
    let c = check(&v, "image_digest");
    assert_eq!(c.ok, Some(true), "{}", c.detail);
    assert!(c.detail.contains("the achievement image"), "{}", c.detail);
    assert!(v.verified(), "{:#?}", v.checks);

    // The image changed after issuance: only this check fails.
    f.sources
        .images
        .lock()
        .unwrap()
        .insert(IMAGE.into(), b"another image".to_vec());
    let v = f.verify(with_digest(sri)).await;
    assert_eq!(failed(&v), ["image_digest"], "{:#?}", v.checks);
    assert!(
        check(&v, "image_digest")
            .detail
            .contains("does not match its digestSRI")
    );
}

/// The issuer's chain: a development CA and a leaf for the issuer key naming `dns`.
fn issuer_pki(f: &Fixture, dns: &str) -> crate::x509::DevPki {
    crate::x509::DevPki::generate("Test Issuer", dns, &f.issuer, NOW).unwrap()
}

fn anchors(ca: &[u8]) -> Option<crate::x509::TrustAnchors> {
    Some(crate::x509::TrustAnchors::from_der(&[ca.to_vec()]).unwrap())
}

#[tokio::test]
async fn an_x5c_chain_to_a_trust_anchor_gives_the_issuer_key() {
    let mut f = Fixture::new();
    let pki = issuer_pki(&f, "issuer.example");
    f.sources.anchors = anchors(&pki.ca);
    // The key comes from the certificate, not from `iss` (which no longer resolves), and the
    // status list token is still checked with the metadata key.
    let sd = f.credential_x5c(std::slice::from_ref(&pki.leaf));
    let p = f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder);
    let v = f.verify(p).await;
    assert!(v.verified(), "{:#?}", v.checks);
    let d = &check(&v, "issuer_key").detail;
    assert!(
        d.contains("CN=Test Issuer (issuer.example)") && d.contains(&crate::x509::hash(&pki.leaf)),
        "{d}"
    );
}

#[tokio::test]
async fn an_x5c_chain_that_does_not_bind_the_issuer_or_reach_an_anchor_fails_issuer_key() {
    let mut f = Fixture::new();
    // A certificate for another host, from a trusted CA: `iss` is not bound.
    let other = issuer_pki(&f, "other.example");
    f.sources.anchors = anchors(&other.ca);
    let sd = f.credential_x5c(std::slice::from_ref(&other.leaf));
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder))
        .await;
    assert_eq!(failed(&v), ["issuer_key"]);
    let d = &check(&v, "issuer_key").detail;
    assert!(
        d.contains("is not named by the certificate") && d.contains("other.example"),
        "{d}"
    );
    assert_eq!(check(&v, "issuer_signature").ok, None);

    // The right name, but a CA the verifier does not trust.
    let untrusted =
        crate::x509::DevPki::generate("Someone Else", "issuer.example", &f.issuer, NOW).unwrap();
    let sd = f.credential_x5c(std::slice::from_ref(&untrusted.leaf));
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder))
        .await;
    assert_eq!(failed(&v), ["issuer_key"]);
    let d = &check(&v, "issuer_key").detail;
    assert!(d.contains("none of the 1 configured trust anchor"), "{d}");

    // A chain signed by one key while the credential is signed by another: the leaf key
    // does not verify it.
    let stranger = SigningKey::generate(Alg::ES256);
    let wrong_key =
        crate::x509::DevPki::generate("Test Issuer", "issuer.example", &stranger, NOW).unwrap();
    f.sources.anchors = anchors(&wrong_key.ca);
    let sd = f.credential_x5c(std::slice::from_ref(&wrong_key.leaf));
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder))
        .await;
    assert_eq!(failed(&v), ["issuer_signature"]);
}

#[tokio::test]
async fn without_trust_anchors_an_x5c_chain_is_not_used_and_iss_decides() {
    let f = Fixture::new();
    let pki = issuer_pki(&f, "other.example");
    let sd = f.credential_x5c(std::slice::from_ref(&pki.leaf));
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder))
        .await;
    assert!(v.verified(), "{:#?}", v.checks);
    let d = &check(&v, "issuer_key").detail;
    assert!(d.contains("no X.509 trust anchors are configured"), "{d}");
}

/// A counterfeit: a real badge's claims, `iss` set to the attacker's own did:jwk, re-signed
/// with the attacker's key, disclosures kept, a fresh KB-JWT (issue 13, attack 1).
#[tokio::test]
async fn a_badge_re_signed_under_another_iss_fails_issuer_binding() {
    let mut f = Fixture::new();
    let attacker = SigningKey::generate(Alg::ES256);
    let did = crate::did::did_jwk(&attacker.public_jwk());
    f.sources.keys.insert(did.clone(), attacker.public_jwk());
    f.issuer = attacker;
    let sd = f.issue(crate::jose::header(TYP_DC_SD_JWT, None), |claims| {
        claims.insert("iss".into(), json!(did));
    });
    let v = f
        .verify(f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder))
        .await;
    assert!(!v.verified(), "{:#?}", v.checks);
    let binding = check(&v, "issuer_binding");
    assert_eq!(binding.ok, Some(false), "{binding:?}");
    assert!(
        binding.detail.contains(ISS) && binding.detail.contains(&did),
        "both identifiers named: {}",
        binding.detail
    );
    assert_eq!(check(&v, "requested_issuer").ok, Some(false));
    // The signature itself is fine: it is who signed that is wrong.
    assert_eq!(check(&v, "issuer_signature").ok, Some(true));
    assert!(
        v.disclosed.is_empty(),
        "nothing disclosed from a counterfeit"
    );
}

/// Two trusted issuers: B signs a badge that claims A's `vct` and `ld.issuer`, presented to
/// a request for A's badge (issue 13, attack 1 with a trust list).
#[tokio::test]
async fn a_trusted_issuer_cannot_issue_in_another_trusted_issuers_name() {
    const ISS_B: &str = "https://b.example";
    let mut f = Fixture::new();
    let b = SigningKey::generate(Alg::ES256);
    f.sources.keys.insert(ISS_B.to_owned(), b.public_jwk());
    f.issuer = b;
    let sd = f.credential_with(TYP_DC_SD_JWT, |claims| {
        claims.insert("iss".into(), json!(ISS_B));
    });
    let v = f
        .verify_with(
            json!({ "badge": [f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder)] }),
            &[ISS.to_owned(), ISS_B.to_owned()],
        )
        .await;
    assert!(!v.verified(), "{:#?}", v.checks);
    let failed = failed(&v);
    assert!(failed.contains(&"issuer_binding"), "{failed:?}");
    assert!(failed.contains(&"requested_issuer"), "{failed:?}");
    assert!(
        check(&v, "requested_issuer").detail.contains(ISS_B),
        "{:?}",
        check(&v, "requested_issuer")
    );
    // B is trusted: the trust list alone would not have caught it.
    assert_eq!(check(&v, "trust").ok, Some(true));

    // B's honest badge (naming B) still does not answer a request for A's.
    let honest = f.credential_with(TYP_DC_SD_JWT, |claims| {
        claims.insert("iss".into(), json!(ISS_B));
        claims.insert("vct".into(), json!(format!("{ISS_B}/vct/open-badge-v3")));
        claims["ld"]["issuer"] =
            json!({"id": ISS_B, "type": ["Profile"], "name": "B", "url": ISS_B});
    });
    let v = f
        .verify_with(
            json!({ "badge": [f.present(&honest, CLIENT_ID, NONCE, NOW - 5, &f.holder)] }),
            &[ISS.to_owned(), ISS_B.to_owned()],
        )
        .await;
    assert_eq!(check(&v, "issuer_binding").ok, Some(true));
    assert_eq!(check(&v, "requested_issuer").ok, Some(false));
}

/// A status list verified for issuer A is never reused for a badge signed by B that points
/// at A's list (the cache is per issuer and URI).
#[tokio::test]
async fn a_status_list_counts_only_for_its_own_issuer() {
    const ISS_B: &str = "https://b.example";
    let mut f = Fixture::new();
    let cache = StatusCache::default();
    let exp = Expectations {
        client_id: CLIENT_ID,
        nonce: NONCE,
        query: &f.query,
        trusted_issuers: &[],
        now: NOW,
        profile: Default::default(),
    };
    let v = verify_vp_token(&f.sources, &cache, &exp, &json!({ "badge": [f.good()] })).await;
    assert_eq!(check(&v, "status").ok, Some(true), "A's list is cached now");
    let b = SigningKey::generate(Alg::ES256);
    f.sources.keys.insert(ISS_B.to_owned(), b.public_jwk());
    f.issuer = b;
    let sd = f.credential_with(TYP_DC_SD_JWT, |claims| {
        claims.insert("iss".into(), json!(ISS_B));
        claims["ld"]["issuer"] =
            json!({"id": ISS_B, "type": ["Profile"], "name": "B", "url": ISS_B});
    });
    let p = f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder);
    let exp = Expectations {
        client_id: CLIENT_ID,
        nonce: NONCE,
        query: &f.query,
        trusted_issuers: &[],
        now: NOW,
        profile: Default::default(),
    };
    let v = verify_vp_token(&f.sources, &cache, &exp, &json!({ "badge": [p] })).await;
    let status = check(&v, "status");
    assert_eq!(status.ok, Some(false), "{status:?}");
    assert!(status.detail.contains(ISS_B), "{}", status.detail);
}

/// The presentation without its KB-JWT (`<jwt>~<disclosures>~`).
fn without_kb(presentation: &str) -> String {
    let cut = presentation.rfind('~').expect("an SD-JWT+KB");
    presentation[..=cut].to_owned()
}

#[tokio::test]
async fn haip_takes_the_issuer_key_only_from_an_x5c_chain() {
    let mut f = Fixture::new();
    let pki = issuer_pki(&f, "issuer.example");
    f.sources.anchors = anchors(&pki.ca);
    // Signed by the issuer's key, resolvable from its metadata: fine when open.
    let p = f.good();
    let open = f.verify(p.clone()).await;
    assert!(open.verified(), "{:#?}", open.checks);
    let haip = f
        .verify_profile(json!({ "badge": [p] }), &[], Profile::Haip)
        .await;
    assert_eq!(check(&haip, "issuer_key").ok, Some(false));
    assert!(
        check(&haip, "issuer_key")
            .detail
            .starts_with(HAIP_REQUIRES_X5C)
    );
    assert_eq!(check(&haip, "issuer_signature").ok, Some(false));
    assert!(
        check(&haip, "issuer_signature")
            .detail
            .contains(HAIP_REQUIRES_X5C)
    );
    // With no anchors at all, even a chain gives no key under haip.
    f.sources.anchors = None;
    let sd = f.credential_x5c(std::slice::from_ref(&pki.leaf));
    let p = f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder);
    let haip = f
        .verify_profile(json!({ "badge": [p] }), &[], Profile::Haip)
        .await;
    assert!(
        check(&haip, "issuer_key")
            .detail
            .contains("no X.509 trust anchors"),
        "{:#?}",
        haip.checks
    );
}

#[tokio::test]
async fn haip_status_lists_need_an_x5c_chain_too() {
    let mut f = Fixture::new();
    let pki = issuer_pki(&f, "issuer.example");
    f.sources.anchors = anchors(&pki.ca);
    // The badge under `x5c`, its status list token signed with the metadata key only.
    let sd = f.credential_x5c(std::slice::from_ref(&pki.leaf));
    let p = f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder);
    let open = f.verify(p.clone()).await;
    assert_eq!(check(&open, "status").ok, Some(true), "{:#?}", open.checks);
    let haip = f
        .verify_profile(json!({ "badge": [p] }), &[], Profile::Haip)
        .await;
    assert_eq!(failed(&haip), ["status"], "{:#?}", haip.checks);
    assert!(check(&haip, "status").detail.contains(HAIP_REQUIRES_X5C));
}

#[tokio::test]
async fn haip_requires_a_kb_jwt_even_when_the_query_waives_holder_binding() {
    let mut f = Fixture::new();
    f.query.credentials[0].require_cryptographic_holder_binding = false;
    let p = without_kb(&f.good());
    let open = f.verify(p.clone()).await;
    assert!(open.verified(), "{:#?}", open.checks);
    let haip = f
        .verify_profile(json!({ "badge": [p] }), &[], Profile::Haip)
        .await;
    assert_eq!(check(&haip, "holder_binding").ok, Some(false));
    assert!(
        check(&haip, "holder_binding")
            .detail
            .contains("haip profile requires a KB-JWT")
    );
    assert_eq!(check(&haip, "nonce").ok, None);
}

#[tokio::test]
async fn trusted_authorities_of_type_aki_are_matched_against_the_verified_chain() {
    let mut f = Fixture::new();
    let pki = issuer_pki(&f, "issuer.example");
    f.sources.anchors = anchors(&pki.ca);
    let ca_key_id = f
        .sources
        .anchors
        .as_ref()
        .unwrap()
        .key_ids()
        .unwrap()
        .remove(0);
    let sd = f.credential_x5c(std::slice::from_ref(&pki.leaf));
    let p = f.present(&sd, CLIENT_ID, NONCE, NOW - 5, &f.holder);
    let plain = f.good();
    let set = |f: &mut Fixture, entries: Value| {
        f.query.credentials[0].trusted_authorities = serde_json::from_value(entries).unwrap();
    };

    set(
        &mut f,
        json!([{"type": "aki", "values": ["bm90LXRoaXMtb25l", ca_key_id]}]),
    );
    let v = f.verify(p.clone()).await;
    assert!(v.verified(), "{:#?}", v.checks);
    assert!(
        check(&v, CHECK_TRUSTED_AUTHORITIES)
            .detail
            .contains(&ca_key_id)
    );
    // Another authority only: refused, naming what the chain has.
    set(
        &mut f,
        json!([{"type": "aki", "values": ["bm90LXRoaXMtb25l"]}]),
    );
    let v = f.verify(p.clone()).await;
    assert_eq!(failed(&v), [CHECK_TRUSTED_AUTHORITIES]);
    assert!(
        check(&v, CHECK_TRUSTED_AUTHORITIES)
            .detail
            .contains(&ca_key_id)
    );
    // A key from metadata is under no authority's chain.
    set(&mut f, json!([{"type": "aki", "values": [ca_key_id]}]));
    let v = f.verify(plain).await;
    assert_eq!(failed(&v), [CHECK_TRUSTED_AUTHORITIES]);
    // Only types this verifier does not check: said, not failed.
    set(
        &mut f,
        json!([{"type": "etsi_tl", "values": ["https://tl.example"]}]),
    );
    let v = f.verify(p).await;
    assert_eq!(check(&v, CHECK_TRUSTED_AUTHORITIES).ok, None);
}
