//! The wallet's own request handling against a small fake verifier on loopback: it serves
//! crafted request objects (a did:web verifier with its DID document) and records what the
//! wallet posts to its response URI. Each malformed request is refused with its own error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use holder_agent::{Account, App, AppError, Config, PresentError};
use protocol::clock::Clock;
use protocol::jose::{self, JoseError, Jws};
use protocol::keys::{Alg, Signer, SigningKey};
use protocol::oid4vp::RequestError;
use protocol::oid4vp::response::DirectPostBody;
use protocol::sd_jwt::{self, SdJwt};
use serde_json::{Value, json};

const VCT: &str = "https://issuer.example/vct/open-badge-v3";

#[derive(Default)]
struct Fake {
    /// Request objects by name, served at `/req/{name}`.
    requests: HashMap<String, String>,
    /// Bodies posted to `/response`.
    responses: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

struct Verifier {
    base: String,
    did: String,
    key: SigningKey,
    fake: Shared,
}

async fn serve_fake(key: &SigningKey) -> (String, String, Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let did = protocol::did::did_web_from_url(&base).unwrap();
    let doc = protocol::did::did_web_document(&did, &[("key-1", key.public_jwk())]);
    let fake: Shared = Arc::default();
    let router = Router::new()
        .route(
            "/.well-known/did.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc) }
            }),
        )
        .route(
            "/req/{name}",
            get(
                |State(f): State<Shared>, Path(name): Path<String>| async move {
                    f.lock()
                        .unwrap()
                        .requests
                        .get(&name)
                        .cloned()
                        .unwrap_or_default()
                },
            ),
        )
        .route(
            "/response",
            post(|State(f): State<Shared>, body: String| async move {
                f.lock().unwrap().responses.push(body);
                Json(json!({"redirect_uri": "https://verifier.example/done#response_code=abc"}))
            }),
        )
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (base, did, fake)
}

impl Verifier {
    async fn start() -> Verifier {
        let key = SigningKey::generate(Alg::ES256);
        let (base, did, fake) = serve_fake(&key).await;
        Verifier {
            base,
            did,
            key,
            fake,
        }
    }

    fn client_id(&self) -> String {
        format!("decentralized_identifier:{}", self.did)
    }

    /// A valid request object's claims, asking for the badge and the recipient's name.
    fn claims(&self, vct: &str) -> Value {
        json!({
            "client_id": self.client_id(),
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": format!("{}/response", self.base),
            "nonce": "n-0S6_WzA2Mj",
            "state": "st-123",
            "aud": "https://self-issued.me/v2",
            "dcql_query": {"credentials": [{
                "id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": [vct]},
                "claims": [
                    {"path": ["ld", "credentialSubject", "achievement", "name"]},
                    {"path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]}
                ]
            }]}
        })
    }

    fn sign(&self, header: serde_json::Map<String, Value>, claims: &Value) -> String {
        Jws::sign(header, claims, &self.key as &dyn Signer)
    }

    fn good_header(&self) -> serde_json::Map<String, Value> {
        jose::header("oauth-authz-req+jwt", Some(&format!("{}#key-1", self.did)))
    }

    /// Publishes `jwt` and returns the wallet link pointing to it.
    fn link(&self, name: &str, jwt: String) -> String {
        self.fake.lock().unwrap().requests.insert(name.into(), jwt);
        let mut url = url::Url::parse("openid4vp://").unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id())
            .append_pair("request_uri", &format!("{}/req/{name}", self.base));
        url.to_string()
    }

    fn responses(&self) -> Vec<String> {
        self.fake.lock().unwrap().responses.clone()
    }
}

/// A wallet with one badge (shaped like the issuer agent's) bound to its account key.
async fn wallet(dir: &std::path::Path) -> (App, Account) {
    let config = Config::for_dir(
        dir.to_path_buf(),
        "http://127.0.0.1:0".into(),
        format!("sqlite://{}/wallet.db", dir.display()),
    );
    let (app, _) = App::open(config, Clock::system()).await.unwrap();
    let now = app.clock.now();
    let account = app.ensure_account("default", now).await.unwrap();
    let issuer = SigningKey::generate(Alg::ES256);
    let claims = json!({
        "iss": "https://issuer.example",
        "vct": VCT,
        "iat": now,
        "cnf": {"jwk": account.key.public_jwk().to_value()},
        "ld": {
            "issuer": {"name": "Agency"},
            "credentialSubject": {
                "achievement": {"name": "Digital Supporter"},
                "identifier": [
                    {"identityType": "name", "hashed": false, "identityHash": "Ana Example"},
                    {"identityType": "emailAddress", "hashed": true, "identityHash": "sha256$abc"}
                ]
            }
        }
    });
    let sd = sd_jwt::issue(
        claims.as_object().unwrap().clone(),
        &[
            "/ld/credentialSubject/identifier/0",
            "/ld/credentialSubject/identifier/1",
            "/ld/credentialSubject/identifier",
        ],
        1,
        jose::header("dc+sd-jwt", None),
        &issuer as &dyn Signer,
    )
    .unwrap();
    let raw = sd.serialize();
    let revealed = sd.reveal(sd.issuer_jwt().unwrap().payload).unwrap();
    let inserted = app
        .store
        .insert_credential(&holder_agent::store::CredentialRow {
            id: "cred-1".into(),
            account_id: account.id.clone(),
            format: "dc+sd-jwt".into(),
            configuration_id: "OpenBadgeCredential_sd_jwt".into(),
            issuer: "https://issuer.example".into(),
            issuer_display_name: Some("Agency".into()),
            vct: VCT.into(),
            raw_hash: protocol::b64::sha256(&raw),
            raw,
            claims: Value::Object(revealed.claims.clone()).to_string(),
            disclosable: json!(revealed.disclosure_pointers()).to_string(),
            received_at: now,
        })
        .await
        .unwrap();
    assert!(inserted);
    (app, account)
}

fn present_error(result: Result<holder_agent::Presented, AppError>) -> PresentError {
    match result {
        Err(AppError::Present(e)) => e,
        other => panic!("expected a presentation error, got {other:?}"),
    }
}

#[tokio::test]
async fn presents_exactly_what_was_asked_with_key_binding() {
    let dir = tempfile::tempdir().unwrap();
    let (app, account) = wallet(dir.path()).await;
    let v = Verifier::start().await;
    let link = v.link("good", v.sign(v.good_header(), &v.claims(VCT)));
    let now = app.clock.now();

    let listed = app.list(&account).await.unwrap();
    assert_eq!(listed[0].recipient_name.as_deref(), Some("Ana Example"));
    assert_eq!(
        listed[0].achievement_name.as_deref(),
        Some("Digital Supporter")
    );

    let presented = app.present(&account, &link, None, now).await.unwrap();
    assert!(presented.accepted());
    assert_eq!(
        presented.redirect_uri.as_deref(),
        Some("https://verifier.example/done#response_code=abc")
    );
    assert_eq!(
        presented.credentials[0].disclosed,
        vec![
            "/ld/credentialSubject/identifier",
            "/ld/credentialSubject/identifier/0"
        ]
    );

    let posted = v.responses();
    assert_eq!(posted.len(), 1);
    let DirectPostBody::Response(response) = DirectPostBody::from_form_str(&posted[0]).unwrap()
    else {
        panic!("expected a vp_token response: {}", posted[0]);
    };
    assert_eq!(response.state.as_deref(), Some("st-123"));
    let presentation = response.vp_token["badge"][0].as_str().unwrap();
    let sd = SdJwt::parse(presentation).unwrap();
    let seen = sd.reveal(sd.issuer_jwt().unwrap().payload).unwrap();
    sd.verify_key_binding(&seen, &v.client_id(), "n-0S6_WzA2Mj", now, 60, 5)
        .unwrap();
    let ids = &seen.claims["ld"]["credentialSubject"]["identifier"];
    assert_eq!(
        ids.as_array().unwrap().len(),
        1,
        "the email stays concealed"
    );
    assert_eq!(ids[0]["identityHash"], "Ana Example");
}

#[tokio::test]
async fn refuses_each_malformed_request_with_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    let (app, account) = wallet(dir.path()).await;
    let v = Verifier::start().await;
    let now = app.clock.now();

    // Wrong `typ`.
    let jwt = v.sign(
        jose::header("JWT", Some(&format!("{}#key-1", v.did))),
        &v.claims(VCT),
    );
    let e = present_error(app.present(&account, &v.link("typ", jwt), None, now).await);
    assert!(
        matches!(
            e,
            PresentError::Request(RequestError::Jose(JoseError::WrongTyp { .. }))
        ),
        "{e}"
    );

    // The request object names another client than the link.
    let mut claims = v.claims(VCT);
    claims["client_id"] = json!("decentralized_identifier:did:web:other.example");
    let e = present_error(
        app.present(
            &account,
            &v.link("cid", v.sign(v.good_header(), &claims)),
            None,
            now,
        )
        .await,
    );
    assert!(
        matches!(
            e,
            PresentError::Request(RequestError::ClientIdMismatch { .. })
        ),
        "{e}"
    );

    // Unsigned (`alg: none`) from a client that must sign.
    let unsigned = format!(
        "{}.{}.",
        protocol::b64::encode(json!({"alg": "none", "typ": "oauth-authz-req+jwt"}).to_string()),
        protocol::b64::encode(v.claims(VCT).to_string())
    );
    let e = present_error(
        app.present(&account, &v.link("none", unsigned), None, now)
            .await,
    );
    assert!(matches!(e, PresentError::Unsigned { .. }), "{e}");

    // A `kid` from another DID (a did:jwk of some other key), signed by that key.
    let other = SigningKey::generate(Alg::ES256);
    let other_kid = format!("{}#0", protocol::did::did_jwk(&other.public_jwk()));
    let jwt = Jws::sign(
        jose::header("oauth-authz-req+jwt", Some(&other_kid)),
        &v.claims(VCT),
        &other as &dyn Signer,
    );
    let e = present_error(app.present(&account, &v.link("kid", jwt), None, now).await);
    assert!(matches!(e, PresentError::KidDidMismatch { .. }), "{e}");

    // Signed with another key than the one the DID document names.
    let jwt = Jws::sign(v.good_header(), &v.claims(VCT), &other as &dyn Signer);
    let e = present_error(app.present(&account, &v.link("sig", jwt), None, now).await);
    assert!(matches!(e, PresentError::BadSignature { .. }), "{e}");

    // direct_post.jwt without a key to encrypt to in client_metadata.jwks.
    let mut claims = v.claims(VCT);
    claims["response_mode"] = json!("direct_post.jwt");
    let e = present_error(
        app.present(
            &account,
            &v.link("jwt", v.sign(v.good_header(), &claims)),
            None,
            now,
        )
        .await,
    );
    assert!(matches!(e, PresentError::NoEncryptionKey), "{e}");

    // Nothing was sent to the verifier for any of these.
    assert!(v.responses().is_empty());
}

#[tokio::test]
async fn disclosure_choices_are_checked_against_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let (app, account) = wallet(dir.path()).await;
    let v = Verifier::start().await;
    let now = app.clock.now();
    let link = v.link("good", v.sign(v.good_header(), &v.claims(VCT)));

    let e = present_error(
        app.present(&account, &link, Some(vec!["/ld/issuer/name".into()]), now)
            .await,
    );
    assert!(
        e.to_string().contains("/ld/issuer/name was not requested"),
        "{e}"
    );

    let e = present_error(
        app.present(
            &account,
            &link,
            Some(vec!["/ld/credentialSubject/achievement/name".into()]),
            now,
        )
        .await,
    );
    assert!(
        e.to_string().contains(
            "claim [\"ld\", \"credentialSubject\", \"identifier\", 0, \"identityHash\"] is missing"
        ),
        "{e}"
    );
    assert!(v.responses().is_empty());
}

#[tokio::test]
async fn no_matching_credential_tells_the_verifier_access_denied() {
    let dir = tempfile::tempdir().unwrap();
    let (app, account) = wallet(dir.path()).await;
    let v = Verifier::start().await;
    let now = app.clock.now();
    let link = v.link(
        "other-vct",
        v.sign(
            v.good_header(),
            &v.claims("https://elsewhere.example/vct/other"),
        ),
    );
    let e = present_error(app.present(&account, &link, None, now).await);
    assert!(matches!(e, PresentError::NoMatch { .. }), "{e}");
    assert!(e.to_string().contains("\"badge\""), "{e}");
    let posted = v.responses();
    assert_eq!(posted.len(), 1);
    let DirectPostBody::Error(err) = DirectPostBody::from_form_str(&posted[0]).unwrap() else {
        panic!("expected an error response: {}", posted[0]);
    };
    assert_eq!(err.error.as_str(), "access_denied");
    assert_eq!(err.state.as_deref(), Some("st-123"));
}
