//! Key attestations (OpenID4VCI 1.0 Appendix D) and signed issuer metadata (§12.2.3),
//! issue 17 item 2/3.
//!
//! * An issuer with `ISSUER_REQUIRE_KEY_ATTESTATION` lists `key_attestations_required`;
//!   Akashi's wallet attests its holder key with its provider key and receives; an issuer
//!   that requires a level the wallet's software keys do not have is told no by the wallet.
//! * At the credential endpoint a proof without an attestation, with one forged under the
//!   trusted provider's name, one of another key, an expired one and one for another
//!   nonce are each refused `invalid_proof` naming the check; one attestation of a batch
//!   of three keys lets the three proofs through.
//! * The `attestation` proof type (Appendix F.3): offered when a wallet provider is listed;
//!   an unlisted provider, a forged signer, a missing, made-up or replayed nonce, an expired
//!   or stale attestation, too many or repeated keys, a level not met, a `jwt` proof beside
//!   it are each refused by name; three attested keys give three credentials bound to them.
//! * A key attestation with `x5c` to a CA of `ISSUER_KEY_ATTESTATION_X509_ANCHORS` is
//!   trusted without a listed provider; another CA's chain, a self-signed leaf and a
//!   signer that is not the leaf's key are refused by name.
//! * The issuer's metadata carries `signed_metadata` (x5c, `sub` the issuer); the wallet,
//!   trusting the issuer's CA, receives through a proxy that passes it unchanged, and
//!   refuses with the reason metadata whose plain value was changed, metadata re-signed
//!   with another key under the issuer's chain, metadata re-signed under another CA, and
//!   (with `WALLET_REQUIRE_SIGNED_METADATA`) metadata stripped of its signature.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use protocol::keys::{Alg, Jwk, Signer, SigningKey};
use protocol::oid4vci::key_attestation::{
    KeyAttestationClaims, build_attested_proof_jwt, build_key_attestation,
};
use protocol::oid4vci::signed_metadata::TYP_SIGNED_METADATA;
use serde_json::{Value, json};

use crate::common::{TestStack, credential_request, holder_key};
use crate::trust::free_port;

const PROVIDER: &str = "https://wallet-provider.example";

/// The issuer of `t` requires key attestations and trusts the wallet's provider key.
fn attesting_wallet(
    seal: &protocol::keys::seal::SealKey,
    key_storage: Vec<String>,
) -> impl FnOnce(&mut akashi::StackConfig) {
    let setting = holder_agent::wallet::attestation::issuer_setting(
        PROVIDER,
        &holder_agent::wallet::attestation::provider_key(seal),
    );
    let seal_text = seal.to_text();
    move |c: &mut akashi::StackConfig| {
        c.wallet.service.seal_key = Some(protocol::secret::Secret::new(seal_text));
        c.wallet.provider_id = Some(PROVIDER.into());
        c.issuer.require_key_attestation = true;
        c.issuer.key_attestation_key_storage = key_storage;
        c.issuer.wallet_providers.push(setting);
    }
}

#[tokio::test]
async fn the_wallet_attests_its_key_to_an_issuer_that_requires_it_and_receives() {
    let seal = protocol::keys::seal::SealKey::generate();
    let t = TestStack::start_with(attesting_wallet(&seal, vec![])).await;
    let (_, md) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    for (id, config) in md["credential_configurations_supported"]
        .as_object()
        .unwrap()
    {
        assert_eq!(
            config["proof_types_supported"]["jwt"]["key_attestations_required"],
            json!({}),
            "{id}"
        );
    }
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let accepted = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet attests its key and receives");
    assert_eq!(accepted.credentials.len(), 1);
    t.stack.stop().await;

    // An issuer that requires hardware-grade key storage: the wallet does not overclaim.
    let t = TestStack::start_with(attesting_wallet(&seal, vec!["iso_18045_high".into()])).await;
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let err = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect_err("the wallet cannot claim iso_18045_high");
    let said = err.to_string();
    assert!(
        said.contains("iso_18045_high") && said.contains("does not claim more"),
        "{said}"
    );
    t.stack.stop().await;
}

/// An access token for a fresh offer.
async fn access_token(t: &TestStack) -> String {
    let offer = t.offer(false, None).await;
    let code = t.pre_authorized_code(&offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    token["access_token"].as_str().unwrap().to_owned()
}

fn attestation(
    signer: &SigningKey,
    keys: &[Jwk],
    nonce: Option<&str>,
    iat: i64,
    exp: i64,
) -> String {
    build_key_attestation(
        signer,
        &KeyAttestationClaims {
            provider_id: PROVIDER,
            attested_keys: keys,
            key_storage: &["iso_18045_moderate"],
            user_authentication: &["iso_18045_basic"],
            nonce,
            iat,
            exp,
        },
    )
}

#[tokio::test]
async fn the_credential_endpoint_refuses_each_bad_key_attestation_by_name() {
    let provider = SigningKey::generate(Alg::ES256);
    let provider_setting = format!(
        "{PROVIDER}={}",
        protocol::b64::encode(provider.public_jwk().to_value().to_string())
    );
    let t = TestStack::start_with(|c| {
        c.issuer.require_key_attestation = true;
        c.issuer.wallet_providers.push(provider_setting);
    })
    .await;
    let token = access_token(&t).await;
    let now = t.stack.clock.now();
    let holder = holder_key();
    let issuer = t.issuer().to_owned();
    let refused = |body: &Value, expect: &str| {
        assert_eq!(body["error"], "invalid_proof", "{body}");
        let d = body["error_description"].as_str().unwrap_or_default();
        assert!(d.contains(expect), "{expect:?} not in {d:?}");
    };

    // Missing.
    let nonce = t.nonce().await;
    let plain = protocol::oid4vci::build_proof_jwt(&holder, &issuer, Some(&nonce), now);
    let (s, body) = t.credential(&token, credential_request(vec![plain])).await;
    assert_eq!(s, 400);
    refused(&body, "key attestation is missing");

    // Forged: the trusted provider's name, another key's signature.
    let forger = SigningKey::generate(Alg::ES256);
    let cases: Vec<(String, &str)> = vec![
        (
            attestation(
                &forger,
                &[holder.public_jwk()],
                Some(&nonce),
                now,
                now + 300,
            ),
            "untrusted signer",
        ),
        // Another key attested, not the proof's.
        (
            attestation(
                &provider,
                &[holder_key().public_jwk()],
                Some(&nonce),
                now,
                now + 300,
            ),
            "key not attested",
        ),
        // Expired.
        (
            attestation(
                &provider,
                &[holder.public_jwk()],
                Some(&nonce),
                now - 600,
                now - 1,
            ),
            "key attestation has expired",
        ),
        // Made for another request's nonce.
        (
            attestation(
                &provider,
                &[holder.public_jwk()],
                Some("another-c-nonce"),
                now,
                now + 300,
            ),
            "wrong nonce",
        ),
    ];
    for (att, expect) in cases {
        let proof = build_attested_proof_jwt(&holder, &issuer, Some(&nonce), now, &att);
        let (s, body) = t.credential(&token, credential_request(vec![proof])).await;
        assert_eq!(s, 400, "{body}");
        refused(&body, expect);
    }
    // A hostile header value: not a string.
    let mut header = protocol::jose::header(protocol::oid4vci::TYP_PROOF_JWT, None);
    header.insert("jwk".into(), holder.public_jwk().to_value());
    header.insert("key_attestation".into(), json!({"a": [1, 2, 3]}));
    let proof = protocol::jose::Jws::sign(
        header,
        &json!({"aud": issuer, "iat": now, "nonce": nonce}),
        &holder,
    );
    let (_, body) = t.credential(&token, credential_request(vec![proof])).await;
    refused(&body, "`key_attestation` is not a string");

    // One attestation for a batch of three keys: three proofs, three credentials.
    let holders: Vec<SigningKey> = (0..3).map(|_| holder_key()).collect();
    let keys: Vec<Jwk> = holders.iter().map(|h| h.public_jwk()).collect();
    let nonce = t.nonce().await;
    let att = attestation(&provider, &keys, Some(&nonce), now, now + 300);
    let proofs = holders
        .iter()
        .map(|h| build_attested_proof_jwt(h, &issuer, Some(&nonce), now, &att))
        .collect();
    let (s, body) = t.credential(&token, credential_request(proofs)).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["credentials"].as_array().unwrap().len(), 3);
    t.stack.stop().await;
}

/// What the proxy does to the issuer metadata it passes on.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tamper {
    Nothing,
    /// A plain value changed, `signed_metadata` kept.
    PlainValue,
    /// The value changed in both, re-signed by another key under the issuer's header.
    OtherKey,
    /// The value changed in both, re-signed under another CA's chain naming the issuer.
    OtherCa,
    /// The value changed and `signed_metadata` removed (a downgrade).
    Stripped,
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    tamper: Arc<Mutex<Tamper>>,
    http: reqwest::Client,
}

const EVIL_ENDPOINT: &str = "http://127.0.0.1:9/credential";

fn decode(part: &str) -> Value {
    serde_json::from_slice(&protocol::b64::decode(part).unwrap()).unwrap()
}

fn tampered(mut md: Value, tamper: Tamper, issuer: &str) -> Value {
    md["credential_endpoint"] = json!(EVIL_ENDPOINT);
    if tamper == Tamper::PlainValue {
        return md;
    }
    if tamper == Tamper::Stripped {
        md.as_object_mut().unwrap().remove("signed_metadata");
        return md;
    }
    let jwt = md["signed_metadata"].as_str().unwrap().to_owned();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut header = decode(parts[0]).as_object().unwrap().clone();
    header.remove("alg");
    let mut claims = decode(parts[1]);
    claims["credential_endpoint"] = json!(EVIL_ENDPOINT);
    let attacker = SigningKey::generate(Alg::ES256);
    if tamper == Tamper::OtherCa {
        let pki = protocol::x509::DevPki::generate_with_sans(
            "Evil",
            &[protocol::x509::San::Uri(issuer.to_owned())],
            &attacker,
            claims["iat"].as_i64().unwrap(),
        )
        .unwrap();
        header.insert(
            "x5c".into(),
            json!(protocol::x509::x5c_encode(&[pki.leaf, pki.ca])),
        );
    }
    md["signed_metadata"] = json!(protocol::jose::Jws::sign(header, &claims, &attacker));
    md
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 10 << 20).await.unwrap();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let mut r = p
        .http
        .request(parts.method.clone(), format!("{}{path}", p.upstream));
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            r = r.header(k, v);
        }
    }
    let answer = r.body(body.to_vec()).send().await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.unwrap().to_vec();
    let tamper = *p.tamper.lock().unwrap();
    if parts.uri.path() == "/.well-known/openid-credential-issuer" && tamper != Tamper::Nothing {
        let md: Value = serde_json::from_slice(&bytes).unwrap();
        let issuer = md["credential_issuer"].as_str().unwrap().to_owned();
        bytes = serde_json::to_vec(&tampered(md, tamper, &issuer)).unwrap();
    }
    let mut out = Response::builder().status(status.as_u16());
    for (k, v) in &headers {
        if k != "content-length" && k != "transfer-encoding" {
            out = out.header(k, v);
        }
    }
    out.body(Body::from(bytes)).unwrap()
}

#[tokio::test]
async fn the_wallet_checks_signed_metadata_and_refuses_tampered_metadata() {
    signed_metadata_journey(true).await;
}

/// Without issuer trust anchors the wallet finds the signer by `kid` (the issuer's did:web)
/// and ignores `x5c`: a chain from another CA gets the attacker nowhere either, and
/// unsigned metadata is used as it is.
#[tokio::test]
async fn without_trust_anchors_the_wallet_checks_signed_metadata_by_kid() {
    signed_metadata_journey(false).await;
}

async fn signed_metadata_journey(anchors: bool) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let real = free_port();
    let t = TestStack::start_with(|c| {
        c.trust_issuer_ca = anchors;
        c.wallet.require_signed_metadata = anchors;
        c.issuer.service.listen = format!("127.0.0.1:{real}");
        c.issuer.service.public_url = public.clone();
    })
    .await;
    let tamper = Arc::new(Mutex::new(Tamper::Nothing));
    let proxy = Proxy {
        upstream: format!("http://127.0.0.1:{real}"),
        tamper: tamper.clone(),
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move { axum::serve(listener, app).await });
    assert_eq!(t.issuer(), public);

    // Published: typ, x5c, sub and iss the issuer, the same values as the plain members.
    let (_, md) = t
        .get_json(&format!("{public}/.well-known/openid-credential-issuer"))
        .await;
    let jwt = md["signed_metadata"].as_str().expect("signed_metadata");
    let parts: Vec<&str> = jwt.split('.').collect();
    let header = decode(parts[0]);
    let claims = decode(parts[1]);
    assert_eq!(header["typ"], TYP_SIGNED_METADATA);
    assert_eq!(header["alg"], "ES256");
    assert!(header["x5c"].as_array().is_some_and(|c| !c.is_empty()));
    assert_eq!(claims["sub"], json!(public));
    assert_eq!(claims["iss"], json!(public));
    assert!(claims["iat"].is_i64());
    assert_eq!(claims["credential_endpoint"], md["credential_endpoint"]);
    assert_eq!(
        claims["credential_configurations_supported"],
        md["credential_configurations_supported"]
    );

    // Unchanged: the wallet, trusting the issuer's CA, receives.
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let link = offer["offer_link"].as_str().unwrap().to_owned();
    wallet
        .accept(&account, &link, None, now)
        .await
        .expect("signed metadata checks out");

    let mut cases = vec![
        (
            Tamper::PlainValue,
            "`credential_endpoint` disagrees with its signed value",
        ),
        (Tamper::OtherKey, "signature does not verify"),
    ];
    if anchors {
        cases.push((Tamper::OtherCa, "signer key: `x5c` certificate chain"));
        cases.push((
            Tamper::Stripped,
            "has no signed_metadata, and this wallet requires it",
        ));
    } else {
        cases.push((Tamper::OtherCa, "signature does not verify"));
    }
    for (mode, expect) in cases {
        *tamper.lock().unwrap() = mode;
        let offer = t.offer(false, Some(365)).await;
        let link = offer["offer_link"].as_str().unwrap();
        let err = wallet
            .preview_offer(link, "en")
            .await
            .expect_err("tampered metadata is refused");
        let said = err.to_string();
        assert!(
            said.contains("issuer metadata refused") && said.contains(expect),
            "{mode:?}: {said}"
        );
        let err = wallet
            .accept(&account, link, None, now)
            .await
            .expect_err("and not used to receive");
        assert!(err.to_string().contains(expect), "{mode:?}: {err}");
    }
    if !anchors {
        // Not required: metadata without a signature is used (the badge still arrives
        // only from the real endpoint, as the stripped copy here points elsewhere).
        *tamper.lock().unwrap() = Tamper::Stripped;
        let offer = t.offer(false, Some(365)).await;
        let preview = wallet
            .preview_offer(offer["offer_link"].as_str().unwrap(), "en")
            .await
            .expect("unsigned metadata is used when not required");
        assert_eq!(preview.issuer, public);
    }
    t.stack.stop().await;
}

/// An `attestation` proof (Appendix F.3) of `keys` by `signer` under `provider_id`.
fn attestation_by(
    signer: &SigningKey,
    provider_id: &str,
    keys: &[Jwk],
    nonce: Option<&str>,
    iat: i64,
    exp: i64,
) -> String {
    build_key_attestation(
        signer,
        &KeyAttestationClaims {
            provider_id,
            attested_keys: keys,
            key_storage: &["iso_18045_moderate"],
            user_authentication: &["iso_18045_basic"],
            nonce,
            iat,
            exp,
        },
    )
}

fn attestation_request(attestations: &[&str]) -> Value {
    json!({
        "credential_configuration_id": "OpenBadgeCredential_sd_jwt",
        "proofs": {"attestation": attestations},
    })
}

/// The `attestation` proof type: the key attestation is the whole proof. Offered when a
/// wallet provider is listed, with the configured levels; each attack refused by name;
/// three attested keys give three credentials bound to exactly those keys; the nonce
/// is spent with them, so the same attestation on another offer is `invalid_nonce`.
#[tokio::test]
async fn the_attestation_proof_type_binds_one_credential_per_attested_key() {
    let provider = SigningKey::generate(Alg::ES256);
    let provider_setting = format!(
        "{PROVIDER}={}",
        protocol::b64::encode(provider.public_jwk().to_value().to_string())
    );
    let levels = vec!["iso_18045_moderate".to_owned(), "iso_18045_high".to_owned()];
    let t = TestStack::start_with(|c| {
        c.issuer.wallet_providers.push(provider_setting);
        c.issuer.key_attestation_key_storage = levels;
    })
    .await;
    let (_, md) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    for (id, config) in md["credential_configurations_supported"]
        .as_object()
        .unwrap()
    {
        let types = &config["proof_types_supported"];
        assert_eq!(
            types["attestation"],
            json!({"proof_signing_alg_values_supported": ["ES256", "EdDSA"],
                   "key_attestations_required": {"key_storage": ["iso_18045_moderate", "iso_18045_high"]}}),
            "{id}"
        );
        // Not required in jwt proofs: ISSUER_REQUIRE_KEY_ATTESTATION is not set.
        assert!(
            types["jwt"].get("key_attestations_required").is_none(),
            "{id}"
        );
    }

    let token = access_token(&t).await;
    let now = t.stack.clock.now();
    let holders: Vec<SigningKey> = (0..3).map(|_| holder_key()).collect();
    let keys: Vec<Jwk> = holders.iter().map(|h| h.public_jwk()).collect();
    let refused = |body: &Value, code: &str, expect: &str| {
        assert_eq!(body["error"], code, "{expect}: {body}");
        let d = body["error_description"].as_str().unwrap_or_default();
        assert!(d.contains(expect), "{expect:?} not in {d:?}");
    };

    let nonce = t.nonce().await;
    let forger = SigningKey::generate(Alg::ES256);
    let many: Vec<Jwk> = (0..11).map(|_| holder_key().public_jwk()).collect();
    let twice = [keys[0].clone(), keys[1].clone(), keys[0].clone()];
    let weak = build_key_attestation(
        &provider,
        &KeyAttestationClaims {
            provider_id: PROVIDER,
            attested_keys: &keys,
            key_storage: &["iso_18045_basic"],
            user_authentication: &["iso_18045_basic"],
            nonce: Some(&nonce),
            iat: now,
            exp: now + 300,
        },
    );
    let n = Some(nonce.as_str());
    let cases: Vec<(String, &str, &str)> = vec![
        // A provider nobody listed, signing with its own key.
        (
            attestation_by(&forger, "https://evil.example", &keys, n, now, now + 300),
            "invalid_proof",
            "is not a wallet provider this issuer trusts",
        ),
        // The listed provider's name, another key's signature.
        (
            attestation_by(&forger, PROVIDER, &keys, n, now, now + 300),
            "invalid_proof",
            "untrusted signer",
        ),
        (
            attestation_by(&provider, PROVIDER, &keys, None, now, now + 300),
            "invalid_proof",
            "missing nonce",
        ),
        // A nonce this issuer never made: random, and shaped like one with a forged tag.
        (
            attestation_by(&provider, PROVIDER, &keys, Some("made-up"), now, now + 300),
            "invalid_nonce",
            "c_nonce is unknown",
        ),
        (
            attestation_by(
                &provider,
                PROVIDER,
                &keys,
                Some(&format!("{}.AAAA.BBBB", now + 100)),
                now,
                now + 300,
            ),
            "invalid_nonce",
            "c_nonce is unknown",
        ),
        (
            attestation_by(&provider, PROVIDER, &keys, n, now - 600, now - 1),
            "invalid_proof",
            "key attestation has expired",
        ),
        // Unexpired but made long ago: not fresh enough to be the proof.
        (
            attestation_by(&provider, PROVIDER, &keys, n, now - 301, now + 300),
            "invalid_proof",
            "not fresh",
        ),
        (
            attestation_by(&provider, PROVIDER, &many, n, now, now + 300),
            "invalid_proof",
            "11 attested keys, at most 10 per request (batch size)",
        ),
        (
            attestation_by(&provider, PROVIDER, &twice, n, now, now + 300),
            "invalid_proof",
            "attested_keys[2]` repeats an earlier key (duplicate key)",
        ),
        (
            weak,
            "invalid_proof",
            "`key_storage` [\"iso_18045_basic\"] meets none of the required",
        ),
    ];
    for (att, code, expect) in cases {
        let (s, body) = t.credential(&token, attestation_request(&[&att])).await;
        assert_eq!(s, 400, "{expect}: {body}");
        refused(&body, code, expect);
    }
    // The shape: a jwt proof beside it, or two attestations.
    let good = attestation_by(&provider, PROVIDER, &keys, n, now, now + 300);
    let proof = protocol::oid4vci::build_proof_jwt(&holders[0], t.issuer(), n, now);
    let both = json!({"credential_configuration_id": "OpenBadgeCredential_sd_jwt",
                      "proofs": {"jwt": [proof], "attestation": [good]}});
    let (s, body) = t.credential(&token, both).await;
    assert_eq!(s, 400, "{body}");
    refused(&body, "invalid_proof", "exactly one proof type, found 2");
    let (_, body) = t
        .credential(&token, attestation_request(&[&good, &good]))
        .await;
    refused(&body, "invalid_proof", "exactly one key attestation");

    // None of the refusals spent the nonce: the good attestation gives three credentials,
    // bound to the attested keys in order.
    let (s, body) = t.credential(&token, attestation_request(&[&good])).await;
    assert_eq!(s, 200, "{body}");
    let creds = body["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 3);
    for (cred, key) in creds.iter().zip(&keys) {
        let sd = protocol::sd_jwt::SdJwt::parse(cred["credential"].as_str().unwrap()).unwrap();
        let payload = sd.issuer_jwt().unwrap().payload;
        assert_eq!(
            Jwk::from_value(&payload["cnf"]["jwk"])
                .unwrap()
                .thumbprint(),
            key.thumbprint()
        );
    }

    // Replayed on another offer: its nonce is spent.
    let other = access_token(&t).await;
    let (s, body) = t.credential(&other, attestation_request(&[&good])).await;
    assert_eq!(s, 400, "{body}");
    refused(&body, "invalid_nonce", "already used");
    t.stack.stop().await;
}

/// An issuer that lists no wallet provider does not offer the `attestation` proof type,
/// and refuses one as from an untrusted provider.
#[tokio::test]
async fn without_wallet_providers_the_attestation_proof_type_is_not_offered() {
    let t = TestStack::start().await;
    let (_, md) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    for config in md["credential_configurations_supported"]
        .as_object()
        .unwrap()
        .values()
    {
        assert!(config["proof_types_supported"].get("attestation").is_none());
        assert!(config["proof_types_supported"].get("jwt").is_some());
    }
    let token = access_token(&t).await;
    let now = t.stack.clock.now();
    let nonce = t.nonce().await;
    let provider = SigningKey::generate(Alg::ES256);
    let att = attestation_by(
        &provider,
        PROVIDER,
        &[holder_key().public_jwk()],
        Some(&nonce),
        now,
        now + 300,
    );
    let (s, body) = t.credential(&token, attestation_request(&[&att])).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"], "invalid_proof");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("is not a wallet provider this issuer trusts"),
        "{body}"
    );
    t.stack.stop().await;
}

/// Key attestations trusted by an `x5c` chain (HAIP 1.0 §4.5) to a CA of
/// `ISSUER_KEY_ATTESTATION_X509_ANCHORS`, with no provider listed: the chain's leaf key
/// signs, and an `attestation` proof gives the credential; a chain under another CA, the
/// anchor presented as a self-signed leaf and the good chain signed by another key are
/// refused by name.
#[tokio::test]
async fn a_key_attestation_under_an_x5c_chain_to_a_configured_anchor_is_trusted() {
    use protocol::oid4vci::key_attestation::build_key_attestation_x5c;
    use protocol::x509::{DevPki, x5c_encode};
    let leaf_key = SigningKey::generate(Alg::ES256);
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let wall = i64::try_from(wall).unwrap();
    let pki = DevPki::generate(
        "Wallet provider",
        "wallet-provider.example",
        &leaf_key,
        wall,
    )
    .expect("provider PKI");
    let dir = std::env::temp_dir().join(format!("akashi-ka-{}", protocol::b64::random(8)));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("anchors.pem");
    std::fs::write(&pem, protocol::x509::to_pem(std::slice::from_ref(&pki.ca))).unwrap();
    let t = TestStack::start_with(|c| {
        c.issuer.key_attestation_x509_anchors = Some(pem.clone());
    })
    .await;
    let (_, md) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    for config in md["credential_configurations_supported"]
        .as_object()
        .unwrap()
        .values()
    {
        assert_eq!(
            config["proof_types_supported"]["attestation"]["key_attestations_required"],
            json!({})
        );
    }
    let token = access_token(&t).await;
    let now = t.stack.clock.now();
    let nonce = t.nonce().await;
    let holder = holder_key();
    let keys = [holder.public_jwk()];
    let claims = KeyAttestationClaims {
        provider_id: "https://unlisted-provider.example",
        attested_keys: &keys,
        key_storage: &["iso_18045_high"],
        user_authentication: &["iso_18045_high"],
        nonce: Some(&nonce),
        iat: now,
        exp: now + 300,
    };
    let other = DevPki::generate("Evil", "wallet-provider.example", &leaf_key, wall).unwrap();
    let forger = SigningKey::generate(Alg::ES256);
    let cases = [
        (
            build_key_attestation_x5c(&leaf_key, &x5c_encode(&[other.leaf, other.ca]), &claims),
            "none of the 1 configured trust anchor(s)",
        ),
        (
            build_key_attestation_x5c(
                &leaf_key,
                &x5c_encode(std::slice::from_ref(&pki.ca)),
                &claims,
            ),
            "the leaf certificate is self-signed",
        ),
        (
            build_key_attestation_x5c(
                &forger,
                &x5c_encode(std::slice::from_ref(&pki.leaf)),
                &claims,
            ),
            "leaf key not the signer",
        ),
    ];
    for (att, expect) in cases {
        let (s, body) = t.credential(&token, attestation_request(&[&att])).await;
        assert_eq!(s, 400, "{expect}: {body}");
        assert_eq!(body["error"], "invalid_proof", "{body}");
        let d = body["error_description"].as_str().unwrap_or_default();
        assert!(d.contains("`x5c`") || d.contains("x5c"), "{d}");
        assert!(d.contains(expect), "{expect:?} not in {d:?}");
    }
    let good = build_key_attestation_x5c(
        &leaf_key,
        &x5c_encode(std::slice::from_ref(&pki.leaf)),
        &claims,
    );
    let (s, body) = t.credential(&token, attestation_request(&[&good])).await;
    assert_eq!(s, 200, "{body}");
    let creds = body["credentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1);
    let sd = protocol::sd_jwt::SdJwt::parse(creds[0]["credential"].as_str().unwrap()).unwrap();
    let payload = sd.issuer_jwt().unwrap().payload;
    assert_eq!(
        Jwk::from_value(&payload["cnf"]["jwk"])
            .unwrap()
            .thumbprint(),
        holder.public_jwk().thumbprint()
    );
    t.stack.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
