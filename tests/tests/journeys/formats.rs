//! The VC formats beside SD-JWT VC: one offer redeemed over HTTP as `dc+sd-jwt`,
//! `jwt_vc_json` (ES256), `jwt_vc_json` (RS256) and `ldp_vc` (eddsa-rdfc-2022); each
//! credential verified with the key its `kid` or `verificationMethod` names in the issuer's
//! did:web document and validated against the 1EdTech schema; revocation and suspension read back from the Token Status List and the Bitstring
//! Status Lists as served.

use protocol::keys::{Alg, Jwk, Signer, SigningKey};
use protocol::oid4vci::build_proof_jwt;
use protocol::status::bitstring::Bitstring;
use serde_json::{Value, json};

use crate::common::{TestStack, holder_key};

pub(crate) const JWT_VC_ES256: &str = "OpenBadgeCredential_jwt_vc_json";
pub(crate) const JWT_VC_RS256: &str = "OpenBadgeCredential_jwt_vc_json_rs256";
pub(crate) const SD_JWT: &str = "OpenBadgeCredential_sd_jwt";
pub(crate) const LDP_VC: &str = "OpenBadgeCredential_ldp_vc";

/// Redeems `offer` (no PIN) and returns the access token.
async fn access_token(t: &TestStack, offer: &Value) -> String {
    let code = t.pre_authorized_code(offer).await;
    let (s, token) = t.token(&code, None).await;
    assert_eq!(s, 200, "{token}");
    token["access_token"].as_str().expect("token").to_owned()
}

/// Asks for `configuration` with one proof per holder key; returns status and body.
pub(crate) async fn request(
    t: &TestStack,
    token: &str,
    configuration: &str,
    holders: &[&SigningKey],
) -> (u16, Value) {
    let nonce = t.nonce().await;
    let proofs: Vec<String> = holders
        .iter()
        .map(|h| build_proof_jwt(*h, t.issuer(), Some(&nonce), t.stack.clock.now()))
        .collect();
    t.credential(
        token,
        json!({ "credential_configuration_id": configuration, "proofs": { "jwt": proofs } }),
    )
    .await
}

/// The key a DID URL names, resolved through the issuer's did:web document over HTTP.
pub(crate) async fn resolve_kid(kid: &str) -> Jwk {
    let fetcher = kit::fetch::Fetcher::new(kit::fetch::FetchPolicy {
        allow_loopback: true,
        ..kit::fetch::FetchPolicy::default()
    })
    .expect("fetcher");
    protocol::did::DidResolver::new(fetcher)
        .resolve_key(kid, protocol::did::Relationship::AssertionMethod)
        .await
        .expect("kid resolves in the issuer's did:web document")
}

/// Verifies an OB 3.0 VC-JWT as a verifier would and returns the credential.
async fn verify_vc_jwt(t: &TestStack, jwt: &str, alg: Alg, holder: &SigningKey) -> Value {
    let jws = protocol::jose::Jws::decode(jwt).expect("a compact JWS");
    assert_eq!(jws.alg, alg);
    assert_eq!(jws.typ(), Some("JWT"));
    let header: Vec<&str> = jws.header.keys().map(String::as_str).collect();
    assert_eq!(
        header,
        ["typ", "kid", "alg"],
        "OB 3.0 allows no other header"
    );
    let kid = jws.kid().expect("kid");
    let key = resolve_kid(kid).await;
    let vc = protocol::vc::jwt::verify(
        jwt,
        &key.verifying_key().expect("usable key"),
        t.stack.clock.now(),
        0,
    )
    .expect("the VC-JWT verifies and its claims mirror the credential");
    protocol::ob3::schema::validate(&vc)
        .expect("the OB 3.0 credential validates against the 1EdTech schema");
    let holder_did = protocol::did::did_jwk(&holder.public_jwk());
    assert_eq!(vc["credentialSubject"]["id"], json!(holder_did));
    assert_eq!(jws.claim_str("sub"), Some(holder_did.as_str()));
    assert_eq!(jws.claim_str("iss"), Some(t.issuer()));
    assert_eq!(vc["issuer"]["id"], json!(t.issuer()));
    assert_eq!(jws.claim_str("jti"), vc["id"].as_str());
    assert!(jws.payload.get("vc").is_none());
    assert!(jws.claim_time("exp").is_some(), "validUntil mirrored");
    let status = &vc["credentialStatus"];
    assert_eq!(status["type"], "BitstringStatusListEntry");
    assert_eq!(status["statusPurpose"], "revocation");
    assert_eq!(
        status["statusListCredential"],
        json!(format!("{}/status/2/revocation", t.issuer()))
    );
    vc
}

#[tokio::test]
async fn one_offer_redeems_in_every_format_and_each_validates() {
    let t = TestStack::start().await;
    let (s, meta) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    assert_eq!(s, 200);
    let configs = &meta["credential_configurations_supported"];
    for (id, alg) in [(JWT_VC_ES256, "ES256"), (JWT_VC_RS256, "RS256")] {
        assert_eq!(configs[id]["format"], "jwt_vc_json", "{meta:#}");
        assert_eq!(
            configs[id]["credential_definition"]["type"],
            json!(["VerifiableCredential", "OpenBadgeCredential"])
        );
        assert_eq!(
            configs[id]["credential_signing_alg_values_supported"],
            json!([alg])
        );
        assert_eq!(
            configs[id]["credential_metadata"]["display"][1]["locale"],
            "ja"
        );
    }

    let offer = t
        .offer_with(
            false,
            Some(365),
            json!({"evidence": [{"id": "https://evidence.example/1", "name": "Portfolio"}],
                   "results": [{"value": "A"}]}),
        )
        .await;
    let (s, doc) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        doc["credential_configuration_ids"],
        json!([SD_JWT, JWT_VC_ES256, JWT_VC_RS256, LDP_VC])
    );
    let token = access_token(&t, &offer).await;

    // ES256, a batch of two proofs: two credentials, each bound to its own key.
    let (h1, h2) = (holder_key(), SigningKey::generate(Alg::EdDSA));
    let (s, resp) = request(&t, &token, JWT_VC_ES256, &[&h1, &h2]).await;
    assert_eq!(s, 200, "{resp}");
    let issued = resp["credentials"].as_array().expect("credentials");
    assert_eq!(issued.len(), 2);
    let mut indexes = Vec::new();
    for (item, holder) in issued.iter().zip([&h1, &h2]) {
        let jwt = item["credential"].as_str().expect("a VC-JWT string");
        let vc = verify_vc_jwt(&t, jwt, Alg::ES256, holder).await;
        assert_eq!(vc["evidence"][0]["id"], "https://evidence.example/1");
        assert_eq!(vc["credentialSubject"]["result"][0]["value"], "A");
        assert_eq!(
            vc["credentialSubject"]["identifier"][1]["identityType"],
            "emailAddress"
        );
        assert_eq!(vc["credentialSubject"]["identifier"][1]["hashed"], true);
        indexes.push(vc["credentialStatus"]["statusListIndex"].clone());
    }
    assert_ne!(indexes[0], indexes[1], "each credential has its own index");

    // RS256, for 1EdTech conformance.
    let h3 = holder_key();
    let (s, resp) = request(&t, &token, JWT_VC_RS256, &[&h3]).await;
    assert_eq!(s, 200, "{resp}");
    let jwt = resp["credentials"][0]["credential"].as_str().unwrap();
    verify_vc_jwt(&t, jwt, Alg::RS256, &h3).await;

    // ldp_vc: the proof by the did:web's Multikey, `proof` an array, schema-valid.
    assert_eq!(configs[LDP_VC]["format"], "ldp_vc");
    assert_eq!(
        configs[LDP_VC]["credential_signing_alg_values_supported"],
        json!(["eddsa-rdfc-2022"])
    );
    let (s, resp) = request(&t, &token, LDP_VC, &[&h3]).await;
    assert_eq!(s, 200, "{resp}");
    let vc = &resp["credentials"][0]["credential"];
    protocol::ob3::schema::validate(vc).expect("the ldp_vc validates against the 1EdTech schema");
    let proof = &vc["proof"][0];
    assert_eq!(proof["cryptosuite"], "eddsa-rdfc-2022");
    let method = proof["verificationMethod"]
        .as_str()
        .expect("verificationMethod");
    let did = protocol::did::did_web_from_url(t.issuer()).unwrap();
    assert_eq!(vc["issuer"]["id"], json!(did));
    assert_eq!(
        vc["credentialSubject"]["id"],
        json!(protocol::did::did_jwk(&h3.public_jwk()))
    );
    assert_eq!(vc["credentialStatus"]["type"], "BitstringStatusListEntry");
    let key = resolve_kid(method).await;
    protocol::vc::data_integrity::verify(vc, &key, method, &did)
        .await
        .expect("the Data Integrity proof verifies with the published Multikey");
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["achievement"]["name"] = json!("Something else");
    assert!(
        protocol::vc::data_integrity::verify(&tampered, &key, method, &did)
            .await
            .is_err()
    );

    // The SD-JWT VC from the same offer, and each configuration only once.
    let (s, resp) = request(&t, &token, SD_JWT, &[&h1]).await;
    assert_eq!(s, 200, "{resp}");
    let (s, resp) = request(&t, &token, JWT_VC_ES256, &[&h1]).await;
    assert_eq!(s, 400);
    assert_eq!(resp["error"], "credential_request_denied");
    let (s, resp) = request(&t, &token, "OpenBadgeCredential_ldp_vc_nope", &[&h1]).await;
    assert_eq!(s, 400);
    assert_eq!(resp["error"], "unknown_credential_configuration");
    t.stack.stop().await;
}

/// GETs a Bitstring Status List; returns the response headers and the decoded list, after
/// verifying the list credential with the issuer's key.
pub(crate) async fn bitstring_list(
    t: &TestStack,
    purpose: &str,
) -> (reqwest::header::HeaderMap, Bitstring, Value) {
    let url = format!("{}/status/2/{purpose}", t.issuer());
    let r = t.http.get(&url).send().await.expect("status list");
    assert_eq!(r.status().as_u16(), 200);
    let headers = r.headers().clone();
    let jwt = r.text().await.expect("body");
    let jws = protocol::jose::Jws::decode(&jwt).expect("a JWS");
    let key = resolve_kid(jws.kid().expect("kid")).await;
    let vc = protocol::vc::jwt::verify(&jwt, &key.verifying_key().unwrap(), t.stack.clock.now(), 0)
        .expect("the status list credential verifies");
    assert_eq!(vc["id"], json!(url));
    assert_eq!(vc["type"][1], "BitstringStatusListCredential");
    assert_eq!(vc["credentialSubject"]["statusPurpose"], purpose);
    let list = Bitstring::decode(
        vc["credentialSubject"]["encodedList"]
            .as_str()
            .expect("encodedList"),
        1 << 20,
    )
    .expect("decodes");
    assert!(list.len() >= 131_072);
    (headers, list, vc)
}

/// The Token Status List's value at `idx`, from the list as served.
pub(crate) async fn token_status(t: &TestStack, idx: usize) -> u8 {
    let r = t
        .http
        .get(format!("{}/status/1", t.issuer()))
        .send()
        .await
        .expect("token status list");
    assert_eq!(r.status().as_u16(), 200);
    let jws = protocol::jose::Jws::decode(&r.text().await.unwrap()).expect("JWS");
    let list = &jws.payload["status_list"];
    protocol::status::StatusList::decode(
        list["bits"].as_u64().unwrap(),
        list["lst"].as_str().unwrap(),
        1 << 20,
    )
    .unwrap()
    .get(idx)
    .unwrap()
}

pub(crate) async fn set_status(t: &TestStack, id: &str, status: &str) -> Value {
    let (s, body) = t
        .admin_post(
            &format!("/admin/credentials/{id}/status"),
            json!({ "status": status }),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    body
}

#[tokio::test]
async fn revocation_and_suspension_show_in_both_status_lists() {
    let t = TestStack::start().await;
    let offer = t.offer(false, None).await;
    let token = access_token(&t, &offer).await;
    let holder = holder_key();
    for config in [SD_JWT, JWT_VC_ES256, JWT_VC_RS256] {
        let (s, resp) = request(&t, &token, config, &[&holder]).await;
        assert_eq!(s, 200, "{resp}");
    }
    let r = t
        .http
        .get(format!(
            "{}/admin/offers/{}",
            t.issuer(),
            offer["offer_id"].as_str().unwrap()
        ))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .expect("admin offer");
    let s = r.status().as_u16();
    let view: Value = r.json().await.expect("JSON");
    assert_eq!(s, 200, "{view}");
    let credential = |config: &str| -> (String, usize) {
        let c = view["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["configuration"] == config)
            .unwrap_or_else(|| panic!("a {config} credential in {view:#}"));
        (
            c["id"].as_str().unwrap().to_owned(),
            usize::try_from(c["status_idx"].as_i64().unwrap()).unwrap(),
        )
    };
    let (sd_id, sd_idx) = credential(SD_JWT);
    let (es_id, es_idx) = credential(JWT_VC_ES256);
    let (rs_id, rs_idx) = credential(JWT_VC_RS256);

    // Before: nothing set, lists cacheable, a matching ETag answers 304.
    let (headers, revocation, _) = bitstring_list(&t, "revocation").await;
    assert!(!revocation.get(es_idx).unwrap() && !revocation.get(rs_idx).unwrap());
    assert_eq!(headers.get("cache-control").unwrap(), "public, max-age=60");
    let etag = headers
        .get("etag")
        .expect("ETag")
        .to_str()
        .unwrap()
        .to_owned();
    let r = t
        .http
        .get(format!("{}/status/2/revocation", t.issuer()))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
    assert_eq!(token_status(&t, sd_idx).await, protocol::status::VALID);
    // The token is kept while no status changes: served again byte for byte (an ES256
    // signature made again would differ), and made again at the first change below.
    let served = async |path: &str| {
        let r = t.http.get(format!("{}{path}", t.issuer())).send();
        r.await.unwrap().text().await.unwrap()
    };
    assert_eq!(served("/status/1").await, served("/status/1").await);
    for path in ["/status/2/revocation", "/status/did/2/suspension"] {
        assert_eq!(served(path).await, served(path).await, "{path}");
    }
    assert_ne!(
        served("/status/2/revocation").await,
        served("/status/2/suspension").await,
        "each purpose is kept apart"
    );

    // One badge, one status: revoking its SD-JWT VC through the API revokes the VC-JWTs of
    // the same offer too, in both kinds of list.
    let changed = set_status(&t, &sd_id, "revoked").await;
    let mut all = vec![sd_id.clone(), es_id.clone(), rs_id.clone()];
    all[1..].sort();
    assert_eq!(changed["credentials"], json!(all), "{changed}");
    assert_eq!(token_status(&t, sd_idx).await, protocol::status::INVALID);
    let (headers, revocation, _) = bitstring_list(&t, "revocation").await;
    assert_ne!(headers.get("etag").unwrap().to_str().unwrap(), etag);
    assert!(
        revocation.get(es_idx).unwrap() && revocation.get(rs_idx).unwrap(),
        "both VC-JWTs in the revocation list"
    );
    let (_, suspension, _) = bitstring_list(&t, "suspension").await;
    assert!(!suspension.get(es_idx).unwrap() && !suspension.get(rs_idx).unwrap());

    // Suspended through the command line, named by the RS256 VC-JWT: every form suspended,
    // none revoked any more.
    issuer_agent::cli::run(
        &t.stack.issuer.app,
        issuer_agent::cli::Command::Status {
            credential_id: rs_id.clone(),
            status: "suspended".into(),
            json: false,
        },
    )
    .await
    .expect("CLI sets the status");
    assert_eq!(token_status(&t, sd_idx).await, protocol::status::SUSPENDED);
    let (_, revocation, _) = bitstring_list(&t, "revocation").await;
    assert!(
        !revocation.get(es_idx).unwrap() && !revocation.get(rs_idx).unwrap(),
        "suspended is not revoked"
    );
    let (_, suspension, _) = bitstring_list(&t, "suspension").await;
    assert!(
        suspension.get(es_idx).unwrap() && suspension.get(rs_idx).unwrap(),
        "both VC-JWTs in the suspension list"
    );

    // Reinstating, named by the ES256 VC-JWT, clears every bit.
    set_status(&t, &es_id, "valid").await;
    assert_eq!(token_status(&t, sd_idx).await, protocol::status::VALID);
    let (_, suspension, _) = bitstring_list(&t, "suspension").await;
    assert!(!suspension.get(es_idx).unwrap() && !suspension.get(rs_idx).unwrap());
    let r = t
        .http
        .get(format!("{}/status/2/refresh", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    t.stack.stop().await;
}

async fn notify(t: &TestStack, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = t
        .http
        .post(format!("{}/notification", t.issuer()))
        .json(&body);
    if let Some(token) = token {
        r = r.bearer_auth(token);
    }
    let r = r.send().await.expect("notification");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn wallet_notifications_are_checked_and_audited() {
    let t = TestStack::start().await;
    let (_, meta) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    assert_eq!(
        meta["notification_endpoint"],
        json!(format!("{}/notification", t.issuer()))
    );
    let offer = t.offer(false, None).await;
    let token = access_token(&t, &offer).await;
    let holder = holder_key();
    let (s, resp) = request(&t, &token, JWT_VC_ES256, &[&holder]).await;
    assert_eq!(s, 200, "{resp}");
    let id = resp["notification_id"].as_str().expect("notification_id");
    let (s, sd) = request(&t, &token, SD_JWT, &[&holder]).await;
    assert_eq!(s, 200, "{sd}");
    assert_ne!(sd["notification_id"], json!(id), "one id per response");
    // Not yet issued for this offer: no id for ldp_vc exists to be guessed; a made-up one
    // is refused, as are a bad event, a missing token, and another offer's token.
    let (s, body) = notify(
        &t,
        Some(&token),
        json!({"notification_id": "bm90LWFuLWlk", "event": "credential_accepted"}),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_notification_id"))
    );
    let (s, body) = notify(
        &t,
        Some(&token),
        json!({"notification_id": id, "event": "credential_liked"}),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_notification_request"))
    );
    let (s, _) = notify(
        &t,
        None,
        json!({"notification_id": id, "event": "credential_accepted"}),
    )
    .await;
    assert_eq!(s, 401);
    let other = access_token(&t, &t.offer(false, None).await).await;
    let (s, body) = notify(
        &t,
        Some(&other),
        json!({"notification_id": id, "event": "credential_accepted"}),
    )
    .await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_notification_id"))
    );

    let (s, body) = notify(
        &t,
        Some(&token),
        json!({"notification_id": id, "event": "credential_accepted",
               "event_description": "stored"}),
    )
    .await;
    assert_eq!(s, 204, "{body}");
    let r = t
        .http
        .get(format!("{}/admin/audit", t.issuer()))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .unwrap();
    let audit: Value = r.json().await.unwrap();
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "credential.notification.credential_accepted")
        .unwrap_or_else(|| panic!("notification audited: {audit:#}"));
    assert_eq!(entry["subject"], offer["offer_id"]);
    assert_eq!(entry["detail"]["configuration"], JWT_VC_ES256);
    assert_eq!(entry["detail"]["event_description"], "stored");
    assert_eq!(
        entry["detail"]["credentials"].as_array().map(Vec::len),
        Some(1)
    );
    t.stack.stop().await;
}
