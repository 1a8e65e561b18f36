//! A request's life through the domain: created, its request object served, answered,
//! replayed, late.

use protocol::clock::Clock;
use protocol::oid4vp::{Invocation, decode_request_object};

use protocol::oid4vp::{ResponseMode, SELF_ISSUED_AUDIENCE};
use serde_json::json;

use super::{Answered, Disclose, RequestOptions, RequestSpec, ResultState, Template};
use crate::app::App;
use crate::config::Config;
use crate::error::Error;

async fn app(dir: &std::path::Path) -> App {
    let config = Config::for_dir(
        dir.to_path_buf(),
        "http://127.0.0.1:8083/".into(),
        format!("sqlite://{}/verifier.db", dir.display()),
    );
    let (app, startup) = App::open(config, Clock::adjustable()).await.unwrap();
    assert!(startup.new_api_token.is_some());
    app
}

fn template() -> RequestSpec {
    RequestSpec::Template(Template {
        issuer: "http://127.0.0.1:8081".into(),
        achievement_id: None,
        disclose: vec![Disclose::RecipientName],
        optional: vec![],
    })
}

#[tokio::test]
async fn a_request_is_a_signed_request_object_behind_an_openid4vp_link() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let created = app
        .requests
        .create(template(), RequestOptions::mode(ResponseMode::DirectPost))
        .await
        .unwrap();
    assert!(created.openid4vp_uri.starts_with("openid4vp://?client_id=decentralized_identifier%3Adid%3Aweb%3A127.0.0.1%253A8083&request_uri=http%3A%2F%2F127.0.0.1%3A8083%2Frequest%2F"), "{}", created.openid4vp_uri);
    let Invocation::ByReference(link) = Invocation::parse(&created.openid4vp_uri).unwrap() else {
        panic!("a link by reference");
    };
    assert_eq!(link.request_uri.as_str(), created.request_uri);
    assert_eq!(
        created.result,
        format!("http://127.0.0.1:8083/api/requests/{}/result", created.id)
    );

    let jwt = app
        .requests
        .request_object(&created.id, Some("wn-1".into()))
        .await
        .unwrap();
    let (jws, req) = decode_request_object(&jwt).unwrap();
    assert_eq!(jws.kid(), Some("did:web:127.0.0.1%3A8083#key-1"));
    use protocol::keys::Signer;
    jws.verify(&app.es256.public_jwk().verifying_key().unwrap())
        .unwrap();
    let doc = app.did_document();
    assert_eq!(doc["id"], "did:web:127.0.0.1%3A8083");
    req.validate().unwrap();
    assert_eq!(
        req.client_id.as_str(),
        "decentralized_identifier:did:web:127.0.0.1%3A8083"
    );
    assert_eq!(req.response_mode, Some(ResponseMode::DirectPost));
    assert_eq!(
        req.response_uri.unwrap().as_str(),
        "http://127.0.0.1:8083/response"
    );
    assert_eq!(req.aud.as_deref(), Some(SELF_ISSUED_AUDIENCE));
    assert_eq!(req.wallet_nonce.as_deref(), Some("wn-1"));
    // ≥ 128 bits each.
    assert!(protocol::b64::decode(&req.nonce).unwrap().len() >= 16);
    let state = req.state.unwrap();
    assert!(protocol::b64::decode(&state).unwrap().len() >= 16);
    let formats = req.client_metadata.unwrap().vp_formats_supported.unwrap();
    assert_eq!(
        formats["dc+sd-jwt"]["kb-jwt_alg_values"],
        json!(["ES256", "Ed25519"])
    );
    let other = app
        .requests
        .create(template(), RequestOptions::mode(ResponseMode::DirectPost))
        .await
        .unwrap();
    let (_, other) =
        decode_request_object(&app.requests.request_object(&other.id, None).await.unwrap())
            .unwrap();
    assert_ne!(other.nonce, req.nonce);
    assert_ne!(other.state.unwrap(), state);
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn state_of(app: &App, id: &str) -> String {
    app.store.request(id).await.unwrap().unwrap().state
}

/// A new `direct_post` request from the Open Badge template: its id and `state`.
async fn direct_post_request(app: &App) -> (String, String) {
    let created = app
        .requests
        .create(template(), RequestOptions::mode(ResponseMode::DirectPost))
        .await
        .unwrap();
    let state = state_of(app, &created.id).await;
    (created.id, state)
}

/// The wallet's answer that the holder declined (`access_denied`), for `state`.
fn declined(state: &str, description: &str) -> Vec<(String, String)> {
    form(&[
        ("error", "access_denied"),
        ("error_description", description),
        ("state", state),
    ])
}

#[tokio::test]
async fn a_wallet_error_is_the_result_and_a_replay_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let (id, state) = direct_post_request(&app).await;
    assert_eq!(
        app.requests.result(&id).await.unwrap().state,
        ResultState::Pending
    );
    let answered = app
        .requests
        .receive_response(declined(&state, "the holder declined"))
        .await
        .unwrap();
    // The wallet's own error is received as sent: nothing to refuse, no response code
    // (the request has no redirect_uri).
    assert_eq!(
        answered,
        Answered {
            redirect_uri: None,
            not_accepted: None
        }
    );
    let result = app.requests.result(&id).await.unwrap();
    assert_eq!(result.state, ResultState::Rejected);
    assert_eq!(
        result.error.as_deref(),
        Some("access_denied: the holder declined")
    );

    let again = app
        .requests
        .receive_response(form(&[("vp_token", "{}"), ("state", &state)]))
        .await
        .unwrap_err();
    assert!(matches!(
        again,
        Error::Protocol {
            code: "invalid_request",
            ..
        }
    ));
    let result = app.requests.result(&id).await.unwrap();
    assert_eq!(result.state, ResultState::Rejected);
    let replay = result.checks.last().unwrap();
    assert_eq!((replay.name.as_str(), replay.ok), ("replay", Some(false)));
    // The request object is no longer served.
    assert!(app.requests.request_object(&id, None).await.is_err());
}

/// Responses racing for one request (an attacker's copy beside the wallet's): each is
/// verified, exactly one answers (the first verified), every other is refused as a replay
/// and counted on the request; nothing is written for a response before it is verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_responses_answer_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = std::sync::Arc::new(app(dir.path()).await);
    let (id, state) = direct_post_request(&app).await;
    let racers = (0..6).map(|i| {
        let (app, state) = (app.clone(), state.clone());
        tokio::spawn(async move {
            app.requests
                .receive_response(declined(&state, &format!("racer {i}")))
                .await
                .map(|_| i)
        })
    });
    let (mut winners, mut refused) = (Vec::new(), 0);
    for racer in racers {
        match racer.await.unwrap() {
            Ok(i) => winners.push(i),
            Err(e) => {
                assert!(e.to_string().contains("already received"), "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!((winners.len(), refused), (1, 5), "{winners:?}");
    let result = app.requests.result(&id).await.unwrap();
    assert_eq!(
        result.error,
        Some(format!("access_denied: racer {}", winners[0])),
        "the winner's answer is the result"
    );
    let replay = result.checks.last().unwrap();
    assert_eq!((replay.name.as_str(), replay.ok), ("replay", Some(false)));
    assert!(
        replay.detail.contains("5 refused responses in all"),
        "{replay:?}"
    );
}

/// The request a served request object names is kept for its response, and taken by it;
/// a request answered through another instance meanwhile (here: straight in the database)
/// refuses the response all the same, kept or not.
#[tokio::test]
async fn a_served_request_is_answered_once_across_instances() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let mut states = Vec::new();
    for _ in 0..2 {
        let (id, state) = direct_post_request(&app).await;
        app.requests.request_object(&id, None).await.unwrap();
        states.push((id, state));
    }
    assert_eq!(app.requests.served.len(), 2);
    // Answered here: the kept request is taken.
    let (first, state) = &states[0];
    app.requests
        .receive_response(declined(state, "declined"))
        .await
        .unwrap();
    assert_eq!(app.requests.served.len(), 1);
    assert_eq!(
        app.requests.result(first).await.unwrap().state,
        ResultState::Rejected
    );
    // Answered by another instance, then a response here: refused as a replay.
    let (second, state) = &states[1];
    let now = app.requests.clock.now();
    app.store
        .answer_request(second, now, r#"{"checks":[],"disclosed":{}}"#, None)
        .await
        .unwrap()
        .unwrap();
    let err = app
        .requests
        .receive_response(declined(state, "declined"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already received"), "{err}");
    let result = app.requests.result(second).await.unwrap();
    assert_eq!(result.error, None, "the other instance's answer stands");
    let replay = result.checks.last().unwrap();
    assert_eq!((replay.name.as_str(), replay.ok), ("replay", Some(false)));
    assert!(app.requests.served.is_empty());
}

#[tokio::test]
async fn malformed_unknown_and_late_responses() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let err = app
        .requests
        .receive_response(form(&[("vp_token", "{}"), ("state", "unknown")]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Protocol { ref description, .. } if description.contains("state"))
    );

    // A vp_token that is not an object of arrays is a failed `vp_token` check.
    let (id, state) = direct_post_request(&app).await;
    let answered = app
        .requests
        .receive_response(form(&[("vp_token", "[1]"), ("state", &state)]))
        .await
        .unwrap();
    // Received, verified, not accepted: the wallet is told which check failed.
    let failed: Vec<_> = answered
        .not_accepted
        .expect("a malformed vp_token is not accepted")
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, ["vp_token"]);
    let result = app.requests.result(&id).await.unwrap();
    assert_eq!(result.state, ResultState::Rejected);
    let names: Vec<_> = result
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.ok))
        .collect();
    assert_eq!(
        names,
        [
            ("request", Some(true)),
            ("replay", Some(true)),
            ("vp_token", Some(false)),
            ("dcql", None)
        ]
    );

    // After expiry: refused, recorded, and the result says expired.
    let (late, state) = direct_post_request(&app).await;
    app.clock.advance(app.config.request_ttl);
    let err = app
        .requests
        .receive_response(form(&[("vp_token", "{}"), ("state", &state)]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Protocol { ref description, .. } if description.contains("expired"))
    );
    let result = app.requests.result(&late).await.unwrap();
    assert_eq!(result.state, ResultState::Expired);
    assert_eq!(result.checks[0].name, "request");
    assert_eq!(result.checks[0].ok, Some(false));
}

#[tokio::test]
async fn the_api_token_is_created_once_and_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_dir(
        dir.path().to_path_buf(),
        "http://127.0.0.1:8083".into(),
        format!("sqlite://{}/verifier.db", dir.path().display()),
    );
    let (app, startup) = App::open(config.clone(), Clock::system()).await.unwrap();
    let token = startup.new_api_token.unwrap();
    assert!(app.api_token_ok(&token).await.unwrap());
    assert!(!app.api_token_ok("wrong").await.unwrap());
    let (_, again) = App::open(config, Clock::system()).await.unwrap();
    assert!(
        again.new_api_token.is_none(),
        "stored hashed, not recreated"
    );
    let rotated = app.rotate_api_token().await.unwrap();
    assert!(app.api_token_ok(&rotated).await.unwrap());
    assert!(!app.api_token_ok(&token).await.unwrap());
}

#[tokio::test]
async fn a_request_is_offered_over_the_dc_api_signed_unless_its_client_cannot_sign() {
    use protocol::oid4vp::dc_api::{PROTOCOL_SIGNED, PROTOCOL_UNSIGNED};

    use super::ClientPrefix;
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let signed = app
        .requests
        .create(
            template(),
            RequestOptions::mode(ResponseMode::DirectPostJwt),
        )
        .await
        .unwrap();
    let offer = app.requests.dc_api_request(&signed.id).await.unwrap();
    assert_eq!(offer.protocol, PROTOCOL_SIGNED);
    let jws = protocol::jose::Jws::decode(offer.data["request"].as_str().unwrap()).unwrap();
    assert_eq!(jws.typ(), Some("oauth-authz-req+jwt"));
    assert_eq!(jws.kid(), Some("did:web:127.0.0.1%3A8083#key-1"));
    let claims = serde_json::Value::Object(jws.payload.clone());
    assert_eq!(
        claims["client_id"],
        "decentralized_identifier:did:web:127.0.0.1%3A8083"
    );
    assert_eq!(claims["expected_origins"], json!(["http://127.0.0.1:8083"]));
    assert_eq!(claims["response_mode"], "dc_api.jwt");
    assert!(claims["client_metadata"]["jwks"]["keys"][0]["kid"].is_string());
    assert!(claims.get("state").is_none() && claims.get("response_uri").is_none());

    let unsigned = app
        .requests
        .create(
            template(),
            RequestOptions {
                client_prefix: ClientPrefix::RedirectUri,
                ..RequestOptions::default()
            },
        )
        .await
        .unwrap();
    let offer = app.requests.dc_api_request(&unsigned.id).await.unwrap();
    assert_eq!(offer.protocol, PROTOCOL_UNSIGNED);
    assert_eq!(offer.data["response_mode"], "dc_api");
    for absent in [
        "client_id",
        "expected_origins",
        "state",
        "client_metadata.jwks",
    ] {
        assert!(
            offer
                .data
                .pointer(&format!("/{}", absent.replace('.', "/")))
                .is_none(),
            "{absent}"
        );
    }

    // Expired: no longer offered, and no longer answerable.
    app.clock.advance(app.config.request_ttl);
    assert!(matches!(
        app.requests.dc_api_request(&unsigned.id).await,
        Err(Error::Protocol { .. })
    ));
}

#[tokio::test]
async fn a_dc_api_answer_must_be_encrypted_to_this_requests_key_and_counts_once() {
    use protocol::jose::jwe::{self, Enc, EncryptionKey};
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let created = app
        .requests
        .create(
            template(),
            RequestOptions::mode(ResponseMode::DirectPostJwt),
        )
        .await
        .unwrap();
    let other = EncryptionKey::generate();
    let payload = br#"{"vp_token":{"badge":["x~"]}}"#;
    let foreign = jwe::encrypt(
        payload,
        &other.public_jwk(),
        Enc::A128GCM,
        Some(other.kid()),
    )
    .unwrap();
    let err = app
        .requests
        .receive_dc_api(&created.id, &json!({"response": foreign}))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("response_encryption: the JWE's `kid`"),
        "{err}"
    );
    let result = app.requests.result(&created.id).await.unwrap();
    assert_eq!(result.state, ResultState::Rejected);
    // Answered once: a second answer is refused whatever it holds.
    let err = app
        .requests
        .receive_dc_api(&created.id, &json!({"vp_token": {"badge": ["x~"]}}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already received"), "{err}");
    // Not a JSON object; an unknown request.
    assert!(
        app.requests
            .receive_dc_api(&created.id, &json!("x"))
            .await
            .is_err()
    );
    assert!(matches!(
        app.requests.receive_dc_api("nope", &json!({})).await,
        Err(Error::NotFound(_))
    ));
}
