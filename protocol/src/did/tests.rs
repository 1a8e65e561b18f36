use axum::Router;
use axum::routing::get;
use serde_json::json;

use super::*;
use crate::fetch::TestGet;
use crate::keys::{Alg, Signer, SigningKey};

fn resolver(allow_loopback: bool) -> DidResolver {
    DidResolver::new(TestGet { allow_loopback })
}

// did:key v0.9 test vectors (w3c-ccg/did-key-spec, test-vectors/ed25519-x25519.json and
// nist-curves.json).
const ED_DID: &str = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
const ED_X: &str = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik";
const P256_DID: &str = "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169";
const P256_X: &str = "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI";
const P256_Y: &str = "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU";

#[tokio::test]
async fn did_key_spec_vectors() {
    let ed = parse_did_key(ED_DID).unwrap();
    assert_eq!(
        (ed.kty.as_str(), ed.crv.as_str(), ed.x.as_str()),
        ("OKP", "Ed25519", ED_X)
    );
    assert_eq!(did_key(&ed).unwrap(), ED_DID);

    let p = parse_did_key(P256_DID).unwrap();
    assert_eq!(
        (p.kty.as_str(), p.crv.as_str(), p.x.as_str()),
        ("EC", "P-256", P256_X)
    );
    assert_eq!(p.y.as_deref(), Some(P256_Y));
    assert_eq!(did_key(&p).unwrap(), P256_DID);

    // The key's fragment is its multibase; it serves both relationships.
    let r = resolver(false);
    let kid = format!("{ED_DID}#{}", &ED_DID[8..]);
    let key = r
        .resolve_key(&kid, Relationship::AssertionMethod)
        .await
        .unwrap();
    assert_eq!(key.x, ED_X);
    assert_eq!(key.kid.as_deref(), Some(kid.as_str()));
    r.resolve_key(&kid, Relationship::Authentication)
        .await
        .unwrap();
    assert!(matches!(
        r.resolve_key(&format!("{ED_DID}#other"), Relationship::AssertionMethod)
            .await,
        Err(DidError::MethodNotFound { .. })
    ));
}

#[test]
fn did_key_round_trips_and_rejections() {
    for alg in [Alg::ES256, Alg::EdDSA] {
        let jwk = SigningKey::generate(alg).public_jwk();
        let did = did_key(&jwk).unwrap();
        assert!(did.starts_with(if alg == Alg::ES256 {
            "did:key:zDn"
        } else {
            "did:key:z6Mk"
        }));
        assert_eq!(parse_did_key(&did).unwrap(), jwk);
    }
    // secp256k1 (0xe7) is not supported; base64url multibase is not emitted nor read.
    assert!(parse_did_key("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme").is_err());
    assert!(parse_did_key("did:key:uAe0B").is_err());
    assert!(parse_did_key("did:key:z0OIl").is_err());
}

// did:jwk spec (quartzjer/did-jwk) P-256 example.
const JWK_DID: &str = "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9";

#[tokio::test]
async fn did_jwk_spec_example() {
    let jwk = parse_did_jwk(JWK_DID).unwrap();
    assert_eq!(jwk.x, "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0");
    assert_eq!(
        jwk.y.as_deref(),
        Some("_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE")
    );
    // The spec example is already in JCS order, so generation reproduces it.
    assert_eq!(did_jwk(&jwk), JWK_DID);

    let r = resolver(false);
    let doc = r.resolve(JWK_DID).await.unwrap();
    assert_eq!(doc.verification_method[0].id, format!("{JWK_DID}#0"));
    assert_eq!(doc.verification_method[0].type_, "JsonWebKey2020");
    let key = r
        .resolve_key(&format!("{JWK_DID}#0"), Relationship::AssertionMethod)
        .await
        .unwrap();
    assert_eq!(key.x, jwk.x);

    for alg in [Alg::ES256, Alg::EdDSA] {
        let mut jwk = SigningKey::generate(alg).public_jwk();
        jwk.kid = Some("ignored".into());
        let did = did_jwk(&jwk);
        assert_eq!(parse_did_jwk(&did).unwrap(), jwk.public_only());
    }
}

#[tokio::test]
async fn did_jwk_enc_use_and_private_keys() {
    // use: "enc" keys are for key agreement only.
    let mut value = SigningKey::generate(Alg::ES256).public_jwk().to_value();
    value["use"] = json!("enc");
    let did = format!("did:jwk:{}", crate::b64::encode(value.to_string()));
    assert!(matches!(
        resolver(false)
            .resolve_key(&format!("{did}#0"), Relationship::AssertionMethod)
            .await,
        Err(DidError::NotAuthorised { .. })
    ));
    // A did:jwk carrying `d` is refused.
    let private = json!({"kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
    let did = format!("did:jwk:{}", crate::b64::encode(private.to_string()));
    assert!(matches!(
        parse_did_jwk(&did),
        Err(DidError::Malformed { .. })
    ));
}

#[test]
fn did_web_mapping_examples() {
    // spec/did.md §3.
    let cases = [
        (
            "did:web:example.org",
            "https://example.org/.well-known/did.json",
        ),
        (
            "did:web:example.org:issuers:agency",
            "https://example.org/issuers/agency/did.json",
        ),
        (
            "did:web:localhost%3A8443",
            "https://localhost:8443/.well-known/did.json",
        ),
    ];
    for (did, url) in cases {
        assert_eq!(did_web_document_url(did, false).unwrap().as_str(), url);
    }
    assert_eq!(
        did_web_from_url("https://host:8443/a/b").unwrap(),
        "did:web:host%3A8443:a:b"
    );
    assert_eq!(
        did_web_from_url("https://example.org").unwrap(),
        "did:web:example.org"
    );
    assert_eq!(
        did_web_from_url("https://example.org/issuers/agency/").unwrap(),
        "did:web:example.org:issuers:agency"
    );
    assert_eq!(
        did_web_from_url("http://127.0.0.1:3000").unwrap(),
        "did:web:127.0.0.1%3A3000"
    );
    assert!(did_web_from_url("http://example.org").is_err());
    assert!(did_web_from_url("https://example.org/?q=1").is_err());

    // Loopback over http only when allowed.
    assert_eq!(
        did_web_document_url("did:web:127.0.0.1%3A3000", true)
            .unwrap()
            .as_str(),
        "http://127.0.0.1:3000/.well-known/did.json"
    );
    assert_eq!(
        did_web_document_url("did:web:example.org", true)
            .unwrap()
            .as_str(),
        "https://example.org/.well-known/did.json"
    );
    // Round trip.
    let did = did_web_from_url("https://badges.example.org:8443/tenants/t1").unwrap();
    assert_eq!(
        did_web_document_url(&did, false).unwrap().as_str(),
        "https://badges.example.org:8443/tenants/t1/did.json"
    );
    // Percent-encoded tricks that would change the URL's structure are refused.
    for bad in [
        "did:web:evil.example%2F@good.example",
        "did:web:good.example%40evil.example",
        "did:web:example.org:..:x",
        "did:web:example.org:a%2Fb",
        "did:web:example.org%3Fx",
        "did:web:",
        "did:web:example.org::x",
    ] {
        assert!(did_web_document_url(bad, false).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn did_web_resolution_against_loopback_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let did = format!("did:web:127.0.0.1%3A{port}");
    let issuer_key = SigningKey::generate(Alg::ES256).public_jwk();
    let ed_key = SigningKey::generate(Alg::EdDSA).public_jwk();
    let mut doc = did_web_document(&did, &[("key-1", issuer_key.clone())]);
    // An authentication-only Multikey, and a method of someone else's.
    doc["verificationMethod"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "id": "#auth", "type": "Multikey", "controller": did,
            "publicKeyMultibase": multibase_key(&ed_key).unwrap()
        }));
    doc["authentication"]
        .as_array_mut()
        .unwrap()
        .push(json!("#auth"));
    doc["assertionMethod"].as_array_mut().unwrap().push(json!({
        "id": format!("{did}#foreign"), "type": "JsonWebKey2020", "controller": "did:web:other.example",
        "publicKeyJwk": issuer_key.to_value()
    }));
    let other_did = format!("did:web:127.0.0.1%3A{port}:wrong");
    let wrong = did_web_document("did:web:someone.else", &[("k", issuer_key.clone())]);
    let private = json!({
        "id": format!("did:web:127.0.0.1%3A{port}:private"),
        "verificationMethod": [{"id": "#k", "type": "JsonWebKey2020",
            "controller": format!("did:web:127.0.0.1%3A{port}:private"),
            "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}}],
        "assertionMethod": ["#k"]
    });
    let app = Router::new()
        .route(
            "/.well-known/did.json",
            get(move || async move { axum::Json(doc) }),
        )
        .route(
            "/wrong/did.json",
            get(move || async move { axum::Json(wrong) }),
        )
        .route(
            "/private/did.json",
            get(move || async move { axum::Json(private) }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let r = resolver(true);
    let key = r
        .resolve_key(&format!("{did}#key-1"), Relationship::AssertionMethod)
        .await
        .unwrap();
    assert_eq!(key.public_only(), issuer_key);
    let key = r
        .resolve_key(&format!("{did}#key-1"), Relationship::Authentication)
        .await
        .unwrap();
    assert_eq!(key.x, issuer_key.x);
    // Asked again, from the keys kept with the cached document.
    let again = r
        .resolve_key(&format!("{did}#key-1"), Relationship::AssertionMethod)
        .await
        .unwrap();
    assert_eq!(again.public_only(), issuer_key);
    // Relative ids resolve; the Multikey is authentication only.
    let key = r
        .resolve_key(&format!("{did}#auth"), Relationship::Authentication)
        .await
        .unwrap();
    assert_eq!(key.public_only(), ed_key);
    // Refused under the other relationship, the key found under one kept or not.
    for _ in 0..2 {
        assert_eq!(
            r.resolve_key(&format!("{did}#auth"), Relationship::AssertionMethod)
                .await,
            Err(DidError::NotAuthorised {
                id: format!("{did}#auth"),
                relationship: Relationship::AssertionMethod
            })
        );
    }
    assert!(matches!(
        r.resolve_key(&format!("{did}#foreign"), Relationship::AssertionMethod)
            .await,
        Err(DidError::ControllerMismatch { .. })
    ));
    assert!(matches!(
        r.resolve_key(&format!("{did}#nope"), Relationship::AssertionMethod)
            .await,
        Err(DidError::MethodNotFound { .. })
    ));
    assert!(matches!(
        r.resolve(&other_did).await,
        Err(DidError::DocumentIdMismatch { found, .. }) if found == "did:web:someone.else"
    ));
    assert!(matches!(
        r.resolve_key(
            &format!("did:web:127.0.0.1%3A{port}:private#k"),
            Relationship::AssertionMethod
        )
        .await,
        Err(DidError::BadKey { .. })
    ));
    assert!(matches!(
        r.resolve(&format!("did:web:127.0.0.1%3A{port}:absent"))
            .await,
        Err(DidError::Fetch(FetchError::Status { status: 404, .. }))
    ));
    // Without allow_loopback, the same DID is refused before any request.
    assert!(matches!(
        resolver(false).resolve(&did).await,
        Err(DidError::Fetch(FetchError::ForbiddenAddress { .. }))
    ));
    // Unsupported and malformed inputs.
    assert!(matches!(
        r.resolve("did:example:123").await,
        Err(DidError::UnsupportedMethod { .. })
    ));
    assert!(matches!(
        r.resolve("not-a-did").await,
        Err(DidError::Malformed { .. })
    ));
    assert!(matches!(
        r.resolve_key(&did, Relationship::AssertionMethod).await,
        Err(DidError::Malformed { .. })
    ));
}

#[test]
fn did_web_document_shape() {
    let jwk = SigningKey::generate(Alg::ES256).public_jwk();
    let doc = did_web_document("did:web:example.org", &[("key-1", jwk.clone())]);
    assert_eq!(
        doc["verificationMethod"][0]["id"],
        "did:web:example.org#key-1"
    );
    assert_eq!(doc["verificationMethod"][0]["type"], "JsonWebKey2020");
    assert_eq!(doc["verificationMethod"][0]["publicKeyJwk"], jwk.to_value());
    assert_eq!(doc["assertionMethod"], json!(["did:web:example.org#key-1"]));
    assert_eq!(doc["authentication"], json!(["did:web:example.org#key-1"]));
    let parsed = DidDocument::from_json("did:web:example.org", doc.to_string().as_bytes()).unwrap();
    assert_eq!(
        parsed.single_key(Relationship::AssertionMethod).unwrap().x,
        jwk.x
    );
}
