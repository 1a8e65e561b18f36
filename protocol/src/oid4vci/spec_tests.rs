//! The examples of the OpenID4VCI digest (oid4vci.md §6), links, requests and key proofs.

use serde_json::json;

use super::*;
use crate::keys::{Alg, Jwk, Signer, SigningKey};
use crate::oauth::ErrorCode;

const ISSUER: &str = "https://badges.example.org";
const NOW: i64 = 1_772_355_600;

#[test]
fn issuer_metadata_example_parses_in_order() {
    let meta: CredentialIssuerMetadata = serde_json::from_value(json!(
    {"credential_issuer": "https://badges.example.org",
     "credential_endpoint": "https://badges.example.org/oid4vci/credential",
     "nonce_endpoint": "https://badges.example.org/oid4vci/nonce",
     "credential_configurations_supported": {
      "OpenBadge_ldp": {"format": "ldp_vc", "scope": "openbadge",
       "credential_definition": {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"]},
       "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
       "cryptographic_binding_methods_supported": ["did:key", "did:jwk"],
       "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}},
       "credential_metadata": {"display": [{"name": "Open Badge", "locale": "en"}]}},
      "OpenBadge_sdjwt": {"format": "dc+sd-jwt", "scope": "openbadge_sd",
       "vct": "https://badges.example.org/vct/open-badge-v3",
       "credential_signing_alg_values_supported": ["ES256"],
       "cryptographic_binding_methods_supported": ["jwk"],
       "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
       "credential_metadata": {"display": [{"name": "Open Badge (selective disclosure)", "locale": "en"}]}}}}
    ))
    .unwrap();
    let ids: Vec<&str> = meta
        .credential_configurations_supported
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ids, ["OpenBadge_ldp", "OpenBadge_sdjwt"]);
    let ldp = &meta.credential_configurations_supported["OpenBadge_ldp"];
    assert_eq!(
        ldp.credential_definition.as_ref().unwrap().type_[1],
        "OpenBadgeCredential"
    );
    let sd = &meta.credential_configurations_supported["OpenBadge_sdjwt"];
    assert_eq!(
        sd.vct.as_deref(),
        Some("https://badges.example.org/vct/open-badge-v3")
    );
    // Round trip keeps order and emits no absent members.
    let back = serde_json::to_value(&meta).unwrap();
    assert!(back.get("deferred_credential_endpoint").is_none());
    assert!(
        back["credential_configurations_supported"]["OpenBadge_ldp"]
            .get("vct")
            .is_none()
    );
    let again: CredentialIssuerMetadata = serde_json::from_value(back).unwrap();
    assert_eq!(again, meta);
}

fn example_offer() -> CredentialOffer {
    serde_json::from_value(json!(
    {"credential_issuer": "https://badges.example.org",
     "credential_configuration_ids": ["OpenBadge_sdjwt"],
     "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {
       "pre-authorized_code": "oaKazRN8I0IbtZ0C7JuMn5",
       "tx_code": {"input_mode": "numeric", "length": 6, "description": "Code from the SMS"}}}}
    ))
    .unwrap()
}

#[test]
fn offer_example_parses() {
    let offer = example_offer();
    let grant = offer.pre_authorized().unwrap();
    assert_eq!(grant.pre_authorized_code.as_str(), "oaKazRN8I0IbtZ0C7JuMn5");
    let tx = grant.tx_code.as_ref().unwrap();
    assert_eq!(
        (tx.input_mode, tx.length),
        (Some(TxCodeInputMode::Numeric), Some(6))
    );
    assert!(
        !format!("{grant:?}").contains("oaKaz"),
        "the code is not logged"
    );
    // `tx_code: {}` is kept as present.
    let v = json!({"credential_issuer": ISSUER, "credential_configuration_ids": ["x"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "c", "tx_code": {}}}});
    let o: CredentialOffer = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(o.pre_authorized().unwrap().tx_code, Some(TxCode::default()));
    assert_eq!(serde_json::to_value(&o).unwrap(), v);
}

#[test]
fn offer_links() {
    let uri = url::Url::parse("https://badges.example.org/oid4vci/offers/7f3a?x=1").unwrap();
    let link = offer_uri_by_reference(OFFER_SCHEME, &uri).unwrap();
    assert!(
        link.as_str()
            .starts_with("openid-credential-offer://?credential_offer_uri=https%3A%2F%2F")
    );
    assert_eq!(
        OfferRef::parse(link.as_str()).unwrap(),
        OfferRef::ByReference(uri.clone())
    );

    let offer = example_offer();
    let link = offer_uri_by_value("https://wallet.example/receive", &offer).unwrap();
    assert_eq!(
        OfferRef::parse(link.as_str()).unwrap(),
        OfferRef::ByValue(offer)
    );

    let https = format!(
        "https://wallet.example/receive?credential_offer_uri={}",
        "https%3A%2F%2Fi.example%2Fo%2F1"
    );
    assert!(matches!(
        OfferRef::parse(&https).unwrap(),
        OfferRef::ByReference(_)
    ));

    assert_eq!(
        OfferRef::parse("openid-credential-offer://?a=b"),
        Err(OfferError::NoOffer)
    );
    assert_eq!(
        OfferRef::parse(
            "openid-credential-offer://?credential_offer=%7B%7D&credential_offer_uri=https%3A%2F%2Fx"
        ),
        Err(OfferError::BothOfferParameters)
    );
    assert!(matches!(
        OfferRef::parse(
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fevil.example%2Fo"
        ),
        Err(OfferError::BadOfferUri(_))
    ));
    assert!(matches!(
        OfferRef::parse("ftp://x/?credential_offer_uri=a"),
        Err(OfferError::UnsupportedScheme(_))
    ));
    assert!(matches!(
        OfferRef::parse("openid-credential-offer://?credential_offer=%7B%22a%22%3A1%7D"),
        Err(OfferError::BadOfferJson(_))
    ));
}

#[test]
fn token_and_credential_messages() {
    let req = TokenRequest::pre_authorized(PreAuthorizedCode("abc".into()), Some("493536".into()));
    let v = serde_json::to_value(&req).unwrap();
    assert_eq!(
        v,
        json!({"grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
               "pre-authorized_code": "abc", "tx_code": "493536"})
    );
    let resp: TokenResponse = serde_json::from_value(
        json!({"access_token": "t", "token_type": "Bearer", "expires_in": 300}),
    )
    .unwrap();
    assert_eq!(resp.expires_in, Some(300));

    let cr: CredentialRequest = serde_json::from_value(
        json!({"credential_configuration_id": "OpenBadge_sdjwt", "proofs": {"jwt": ["a.b.c"]}}),
    )
    .unwrap();
    assert_eq!(
        cr.check().unwrap(),
        CredentialTarget::Configuration("OpenBadge_sdjwt")
    );
    let both: CredentialRequest = serde_json::from_value(
        json!({"credential_configuration_id": "a", "credential_identifier": "b"}),
    )
    .unwrap();
    assert_eq!(both.check(), Err(CredentialRequestError::BothIdentifiers));
    assert_eq!(
        both.check().unwrap_err().error_code(),
        crate::oauth::ErrorCode::InvalidCredentialRequest
    );
    let two: CredentialRequest = serde_json::from_value(
        json!({"credential_identifier": "b", "proofs": {"jwt": ["x"], "attestation": ["y"]}}),
    )
    .unwrap();
    assert_eq!(two.check(), Err(CredentialRequestError::ProofTypeCount(2)));

    let resp = CredentialResponse {
        credentials: vec![IssuedCredential {
            credential: json!("eyJ...~"),
        }],
        notification_id: Some("n1".into()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&resp).unwrap(),
        json!({"credentials": [{"credential": "eyJ...~"}], "notification_id": "n1"})
    );
    let deferred: CredentialResponse =
        serde_json::from_value(json!({"transaction_id": "t", "interval": 5})).unwrap();
    assert!(deferred.credentials.is_empty());
    let n: NotificationRequest =
        serde_json::from_value(json!({"notification_id": "n1", "event": "credential_accepted"}))
            .unwrap();
    assert_eq!(n.event, NotificationEvent::CredentialAccepted);
    let nonce: NonceResponse =
        serde_json::from_value(json!({"c_nonce": "wKI4LT17ac15ES9bw8ac4"})).unwrap();
    assert_eq!(nonce.c_nonce, "wKI4LT17ac15ES9bw8ac4");
    let asm: AuthorizationServerMetadata = serde_json::from_value(json!({
        "issuer": ISSUER, "token_endpoint": "https://badges.example.org/token",
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
        "pre-authorized_grant_anonymous_access_supported": true}))
    .unwrap();
    assert_eq!(
        asm.pre_authorized_grant_anonymous_access_supported,
        Some(true)
    );
}

// ---- key proofs ----

const ALGS: &[Alg] = &[Alg::ES256, Alg::EdDSA];

fn expect() -> ProofExpectations<'static> {
    ProofExpectations {
        aud: ISSUER,
        now: NOW,
        max_age_secs: 300,
        leeway_secs: 60,
        accepted_algs: ALGS,
    }
}

fn no_kid(kid: &str) -> Result<Jwk, String> {
    Err(format!("unknown {kid}"))
}

/// A proof with a hand-made header and claims, signed by `key`.
fn forge(key: &SigningKey, header: serde_json::Value, claims: serde_json::Value) -> String {
    let serde_json::Value::Object(header) = header else {
        panic!("object")
    };
    crate::jose::Jws::sign(header, &claims, key)
}

#[test]
fn proof_happy_path_both_algs() {
    for alg in [Alg::ES256, Alg::EdDSA] {
        let key = SigningKey::generate(alg);
        let jwt = build_proof_jwt(&key, ISSUER, Some("wKI4LT17ac15ES9bw8ac4"), NOW - 10);
        let jws = crate::jose::Jws::decode(&jwt).unwrap();
        assert!(jws.payload.get("iss").is_none());
        let proof = verify_proof_jwt(&jwt, &expect(), &no_kid).unwrap();
        assert_eq!(proof.jwk, key.public_jwk());
        assert_eq!(proof.nonce.as_deref(), Some("wKI4LT17ac15ES9bw8ac4"));
        assert_eq!(proof.kid, None);
        proof.check_nonce(|n| n == "wKI4LT17ac15ES9bw8ac4").unwrap();
        assert_eq!(proof.check_nonce(|_| false), Err(ProofError::StaleNonce));
        assert_eq!(
            ProofError::StaleNonce.error_code(),
            crate::oauth::ErrorCode::InvalidNonce
        );
    }
}

/// Appendix F.1: a proof of the authorization code flow names the client as `iss`; the
/// anonymous pre-authorized flow's has none. Either verifies.
#[test]
fn proof_names_the_client_when_there_is_one() {
    let key = SigningKey::generate(Alg::ES256);
    let client = "https://wallet.example";
    let jwt = build_client_proof_jwt(&key, Some(client), ISSUER, Some("n-1"), NOW, None);
    let jws = crate::jose::Jws::decode(&jwt).unwrap();
    assert_eq!(jws.payload.get("iss"), Some(&json!(client)));
    assert_eq!(jws.payload.get("aud"), Some(&json!(ISSUER)));
    assert!(jws.header.get("key_attestation").is_none());
    assert_eq!(
        verify_proof_jwt(&jwt, &expect(), &no_kid).unwrap().jwk,
        key.public_jwk()
    );
    let anonymous = build_client_proof_jwt(&key, None, ISSUER, Some("n-1"), NOW, Some("att"));
    let jws = crate::jose::Jws::decode(&anonymous).unwrap();
    assert!(jws.payload.get("iss").is_none());
    assert_eq!(jws.header.get("key_attestation"), Some(&json!("att")));
}

#[test]
fn proof_by_kid() {
    let key = SigningKey::generate(Alg::ES256);
    let jwk = key.public_jwk();
    let jwt = forge(
        &key,
        json!({"typ": TYP_PROOF_JWT, "kid": "did:jwk:x#0"}),
        json!({"aud": ISSUER, "iat": NOW}),
    );
    let resolve = |kid: &str| {
        if kid == "did:jwk:x#0" {
            Ok(jwk.clone())
        } else {
            Err("no".into())
        }
    };
    let proof = verify_proof_jwt(&jwt, &expect(), &resolve).unwrap();
    assert_eq!(proof.kid.as_deref(), Some("did:jwk:x#0"));
    assert!(matches!(
        verify_proof_jwt(&jwt, &expect(), &no_kid),
        Err(ProofError::UnresolvedKid { .. })
    ));
}

#[test]
fn proof_rejections() {
    let key = SigningKey::generate(Alg::ES256);
    let jwk = key.public_jwk().to_value();
    let claims = json!({"aud": ISSUER, "iat": NOW, "nonce": "n"});
    let check = |jwt: String| verify_proof_jwt(&jwt, &expect(), &no_kid).unwrap_err();

    assert_eq!(
        check(forge(
            &key,
            json!({"typ": "JWT", "jwk": jwk}),
            claims.clone()
        )),
        ProofError::WrongTyp {
            found: Some("JWT".into())
        }
    );
    let none = format!(
        "{}.{}.",
        crate::b64::encode(json!({"typ": TYP_PROOF_JWT, "alg": "none", "jwk": jwk}).to_string()),
        crate::b64::encode(claims.to_string())
    );
    assert_eq!(check(none), ProofError::AlgNone);
    assert_eq!(
        check(build_proof_jwt(
            &key,
            "https://other.example",
            Some("n"),
            NOW
        )),
        ProofError::WrongAudience {
            expected: ISSUER.into(),
            found: Some(json!("https://other.example"))
        }
    );
    assert!(matches!(
        check(build_proof_jwt(&key, ISSUER, None, NOW - 3600)),
        ProofError::IatTooOld { .. }
    ));
    assert!(matches!(
        check(build_proof_jwt(&key, ISSUER, None, NOW + 3600)),
        ProofError::IatInFuture { .. }
    ));
    assert_eq!(
        check(forge(
            &key,
            json!({"typ": TYP_PROOF_JWT, "jwk": jwk}),
            json!({"aud": ISSUER})
        )),
        ProofError::MissingIat
    );
    assert_eq!(
        check(forge(
            &key,
            json!({"typ": TYP_PROOF_JWT, "jwk": jwk, "kid": "k"}),
            claims.clone()
        )),
        ProofError::KeyReferenceCount(vec!["kid", "jwk"])
    );
    assert_eq!(
        check(forge(&key, json!({"typ": TYP_PROOF_JWT}), claims.clone())),
        ProofError::KeyReferenceCount(vec![])
    );
    assert_eq!(
        check(forge(
            &key,
            json!({"typ": TYP_PROOF_JWT, "x5c": ["MIIB"]}),
            claims.clone()
        )),
        ProofError::X5cUnsupported
    );
    let mut private = jwk.clone();
    private["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    assert_eq!(
        check(forge(
            &key,
            json!({"typ": TYP_PROOF_JWT, "jwk": private}),
            claims.clone()
        )),
        ProofError::PrivateKeyInJwk
    );
    let other = SigningKey::generate(Alg::ES256).public_jwk().to_value();
    assert!(matches!(
        check(forge(
            &key,
            json!({"typ": TYP_PROOF_JWT, "jwk": other}),
            claims.clone()
        )),
        ProofError::BadSignature(_)
    ));
    let ed = SigningKey::generate(Alg::EdDSA);
    let only_es = ProofExpectations {
        accepted_algs: &[Alg::ES256],
        ..expect()
    };
    assert_eq!(
        verify_proof_jwt(&build_proof_jwt(&ed, ISSUER, None, NOW), &only_es, &no_kid).unwrap_err(),
        ProofError::AlgNotAccepted(Alg::EdDSA)
    );
    assert_eq!(
        check(forge(
            &key,
            json!({"typ": TYP_PROOF_JWT, "jwk": jwk}),
            json!({"aud": ISSUER, "iat": NOW, "nonce": 5})
        )),
        ProofError::NonceNotAString
    );
    let no_nonce = verify_proof_jwt(
        &build_proof_jwt(&key, ISSUER, None, NOW),
        &expect(),
        &no_kid,
    )
    .unwrap();
    assert_eq!(
        no_nonce.check_nonce(|_| true),
        Err(ProofError::MissingNonce)
    );
    assert_eq!(
        ProofError::MissingNonce.error_code(),
        crate::oauth::ErrorCode::InvalidProof
    );
}

#[test]
fn credential_request_parsing_names_the_member_and_picks_the_code() {
    let parse = |body: serde_json::Value| CredentialRequest::from_json(body.to_string().as_bytes());
    let ok = parse(
        json!({"credential_configuration_id": "c", "proofs": {"jwt": ["a.b.c"]},
                          "x_extension": 1}),
    )
    .unwrap();
    assert_eq!(ok.proofs, Some(Proofs::jwt(vec!["a.b.c".into()])));

    let cases = [
        (
            json!({"proof": {"jwt": "x"}}),
            "`proof`",
            ErrorCode::InvalidCredentialRequest,
        ),
        (
            json!({"credential_configuration_id": 1}),
            "`credential_configuration_id`",
            ErrorCode::InvalidCredentialRequest,
        ),
        (
            json!({"proofs": {"jwt": "x"}}),
            "`proofs.jwt`",
            ErrorCode::InvalidProof,
        ),
        (
            json!({"proofs": {"jwt": [1]}}),
            "`proofs.jwt[0]`",
            ErrorCode::InvalidProof,
        ),
        (
            json!({"proofs": {"ldp_vp": []}}),
            "`proofs.ldp_vp`",
            ErrorCode::InvalidProof,
        ),
        (
            json!({"credential_response_encryption": {"jwk": {}}}),
            "`credential_response_encryption`",
            ErrorCode::InvalidEncryptionParameters,
        ),
        (
            json!(["c", null, null]),
            "`body`",
            ErrorCode::InvalidCredentialRequest,
        ),
    ];
    for (body, member, code) in cases {
        let e = parse(body.clone()).unwrap_err();
        assert!(e.to_string().contains(member), "{body}: {e}");
        assert_eq!(e.error_code(), code, "{body}: {e}");
    }
    let e = CredentialRequest::from_json(b"{").unwrap_err();
    assert!(matches!(e, CredentialRequestError::NotJson(_)), "{e}");

    let empty = parse(json!({"credential_configuration_id": "c", "proofs": {"jwt": []}})).unwrap();
    assert_eq!(
        empty.check(),
        Err(CredentialRequestError::EmptyProofs("jwt"))
    );
    assert_eq!(
        empty.check().unwrap_err().error_code(),
        ErrorCode::InvalidProof
    );
}

#[test]
fn token_request_form_parsing() {
    let req = TokenRequest::from_form(
        b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=abc&x=1",
    )
    .unwrap();
    assert_eq!(
        req,
        TokenRequest::pre_authorized(PreAuthorizedCode("abc".into()), None)
    );
    assert_eq!(
        TokenRequest::from_form(b"grant_type=a&tx_code=1&tx_code=2"),
        Err(TokenRequestError::Repeated("tx_code".into()))
    );
    let missing = TokenRequest::from_form(b"tx_code=1").unwrap_err();
    assert!(missing.to_string().contains("`grant_type`"), "{missing}");
    assert_eq!(missing.error_code(), ErrorCode::InvalidRequest);
}
