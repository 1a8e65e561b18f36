//! The OpenID4VCI request bodies as the issuer parses them, through the protocol types
//! (`TokenRequest`, `CredentialRequest`, `DeferredCredentialRequest`,
//! `NotificationRequest`): hostile or malformed bodies are refused with the endpoint's
//! OAuth error code and a description naming the member at fault. The issuer runs on a
//! loopback port with a temporary SQLite database and is driven over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed step is the failure"
)]

use protocol::keys::{Alg, SigningKey};
use protocol::oid4vci::build_proof_jwt;
use serde_json::{Value, json};

const ADMIN: &str = "contract-test-admin-token";
const SD_JWT: &str = "OpenBadgeCredential_sd_jwt";

struct Issuer {
    base: String,
    app: issuer_agent::App,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Issuer {
    async fn start() -> Issuer {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let database = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("issuer.db").display()
        );
        let mut config =
            issuer_agent::config::Config::for_dir(dir.path().to_owned(), base.clone(), database);
        config.service.admin_token = Some(protocol::secret::Secret::new(ADMIN));
        config.outbox_concurrency = 0;
        let (app, _) = issuer_agent::App::open(config, protocol::clock::Clock::system())
            .await
            .expect("issuer opens");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(issuer_agent::serve(app.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Issuer {
            base,
            app,
            http: reqwest::Client::new(),
            stop: Some(stop),
            _dir: dir,
        }
    }

    async fn answer(r: reqwest::RequestBuilder) -> (u16, Value) {
        let r = r.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A new offer's access token.
    async fn access_token(&self) -> String {
        let (s, a) = Self::answer(
            self.http
                .post(format!("{}/admin/achievements", self.base))
                .bearer_auth(ADMIN)
                .json(&json!({"name": "Contract", "description": "d", "criteria": "c"})),
        )
        .await;
        assert_eq!(s, 201, "{a}");
        let (s, offer) = Self::answer(
            self.http
                .post(format!("{}/admin/offers", self.base))
                .bearer_auth(ADMIN)
                .json(&json!({"achievement_id": a["id"], "recipient_name": "Ana",
                              "recipient_email": "ana@example.org"})),
        )
        .await;
        assert_eq!(s, 201, "{offer}");
        let (s, doc) = Self::answer(
            self.http
                .get(offer["credential_offer_uri"].as_str().expect("offer uri")),
        )
        .await;
        assert_eq!(s, 200, "{doc}");
        let code = doc["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"]
            .as_str()
            .expect("code")
            .to_owned();
        let (s, token) = self
            .token_form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                ),
                ("pre-authorized_code", &code),
            ])
            .await;
        assert_eq!(s, 200, "{token}");
        token["access_token"].as_str().expect("token").to_owned()
    }

    async fn token_form(&self, form: &[(&str, &str)]) -> (u16, Value) {
        Self::answer(self.http.post(format!("{}/token", self.base)).form(form)).await
    }

    async fn post(&self, path: &str, token: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        Self::answer(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    async fn credential(&self, token: &str, body: Value) -> (u16, Value) {
        self.post("/credential", token, body.to_string()).await
    }

    async fn proof(&self, key: &SigningKey) -> String {
        let (s, nonce) = Self::answer(self.http.post(format!("{}/nonce", self.base))).await;
        assert_eq!(s, 200, "{nonce}");
        let nonce = nonce["c_nonce"].as_str().expect("c_nonce");
        build_proof_jwt(key, &self.base, Some(nonce), self.app.clock.now())
    }

    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `(status, body)` is `status` with `code`, and the description contains every `needle`.
#[track_caller]
fn refused(answer: &(u16, Value), status: u16, code: &str, needles: &[&str]) {
    let (s, body) = answer;
    assert_eq!((*s, body["error"].as_str()), (status, Some(code)), "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(description.contains(needle), "{needle:?} not in {body}");
    }
}

#[tokio::test]
async fn credential_request_bodies_are_parsed_by_the_protocol_type() {
    let issuer = Issuer::start().await;
    let token = issuer.access_token().await;
    let holder = SigningKey::generate(Alg::ES256);

    // Wrong types: the member at fault is named, with the code of its part of the request.
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": 5, "proofs": {"jwt": ["x"]}}),
            )
            .await,
        400,
        "invalid_credential_request",
        &["`credential_configuration_id`"],
    );
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": "x"}}),
            )
            .await,
        400,
        "invalid_proof",
        &["`proofs.jwt`"],
    );
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": ["x", 7]}}),
            )
            .await,
        400,
        "invalid_proof",
        &["`proofs.jwt[1]`"],
    );
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": ["x"]},
                       "credential_response_encryption": {"jwk": {}}}),
            )
            .await,
        400,
        "invalid_encryption_parameters",
        &["`credential_response_encryption`", "enc"],
    );
    refused(
        &issuer
            .credential(&token, json!(["not", "an", "object"]))
            .await,
        400,
        "invalid_credential_request",
        &["`body`"],
    );
    refused(
        &issuer.post("/credential", &token, "{not json").await,
        400,
        "invalid_credential_request",
        &["body is not JSON"],
    );

    // A proof type the issuer does not know, beside `jwt`.
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": ["x"], "ldp_vp": [{}]}}),
            )
            .await,
        400,
        "invalid_proof",
        &["`proofs.ldp_vp`", "unknown field"],
    );
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": []}}),
            )
            .await,
        400,
        "invalid_proof",
        &["`proofs.jwt` is empty"],
    );

    // A missing `proofs`, and the draft-era singular `proof`.
    refused(
        &issuer
            .credential(&token, json!({"credential_configuration_id": SD_JWT}))
            .await,
        400,
        "invalid_proof",
        &["`proofs` is missing"],
    );
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": SD_JWT, "proof": {"jwt": "x"}}),
            )
            .await,
        400,
        "invalid_credential_request",
        &["`proof`"],
    );

    // Both identifiers, and neither.
    refused(
        &issuer
            .credential(
                &token,
                json!({"credential_configuration_id": SD_JWT, "credential_identifier": "x",
                       "proofs": {"jwt": ["x"]}}),
            )
            .await,
        400,
        "invalid_credential_request",
        &["`credential_configuration_id`", "`credential_identifier`"],
    );
    refused(
        &issuer
            .credential(&token, json!({"proofs": {"jwt": ["x"]}}))
            .await,
        400,
        "invalid_credential_request",
        &["`credential_configuration_id`", "`credential_identifier`"],
    );

    // A huge body: refused before it is parsed, with the endpoint's code.
    let huge = format!(
        "{{\"credential_configuration_id\":\"{SD_JWT}\",\"proofs\":{{\"jwt\":[\"{}\"]}}}}",
        "a".repeat(kit::serve::DEFAULT_BODY_LIMIT + 1)
    );
    refused(
        &issuer.post("/credential", &token, huge).await,
        413,
        "invalid_credential_request",
        &["request body"],
    );

    // No bearer token: refused before the body is looked at.
    let (s, body) = Issuer::answer(
        issuer
            .http
            .post(format!("{}/credential", issuer.base))
            .body("{not json"),
    )
    .await;
    refused(
        &(s, body),
        401,
        "invalid_token",
        &["no access token (`Authorization: Bearer` or `Authorization: DPoP`)"],
    );

    // Members 1.0 does not define are ignored (RFC 6749 §3.1): the request succeeds.
    let proof = issuer.proof(&holder).await;
    let (s, body) = issuer
        .credential(
            &token,
            json!({"credential_configuration_id": SD_JWT, "proofs": {"jwt": [proof]},
                   "x_vendor_extension": {"anything": true}}),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let response: protocol::oid4vci::CredentialResponse =
        serde_json::from_value(body).expect("a Credential Response");
    assert_eq!(response.credentials.len(), 1);
    assert!(response.notification_id.is_some());

    // The notification and deferred endpoints name the member at fault too.
    refused(
        &issuer
            .post(
                "/notification",
                &token,
                json!({"notification_id": response.notification_id, "event": "credential_lost"})
                    .to_string(),
            )
            .await,
        400,
        "invalid_notification_request",
        &["`event`"],
    );
    refused(
        &issuer.post("/deferred_credential", &token, "{}").await,
        400,
        "invalid_credential_request",
        &["`transaction_id`"],
    );
    issuer.stop();
}

#[tokio::test]
async fn token_request_forms_are_parsed_by_the_protocol_type() {
    let issuer = Issuer::start().await;
    const PRE_AUTH: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

    refused(
        &issuer.token_form(&[("pre-authorized_code", "x")]).await,
        400,
        "invalid_request",
        &["`grant_type`"],
    );
    refused(
        &issuer
            .token_form(&[("grant_type", PRE_AUTH), ("tx_code", "1"), ("tx_code", "2")])
            .await,
        400,
        "invalid_request",
        &["tx_code is repeated"],
    );
    refused(
        &issuer.token_form(&[("grant_type", "password")]).await,
        400,
        "unsupported_grant_type",
        &["grant_type \"password\" is not supported"],
    );
    refused(
        &issuer.token_form(&[("grant_type", PRE_AUTH)]).await,
        400,
        "invalid_request",
        &["pre-authorized_code is missing"],
    );
    // Parameters the type does not name are ignored (RFC 6749 §3.2).
    refused(
        &issuer
            .token_form(&[
                ("grant_type", PRE_AUTH),
                ("pre-authorized_code", "unknown"),
                ("x_vendor", "1"),
            ])
            .await,
        400,
        "invalid_grant",
        &["pre-authorized_code is unknown"],
    );
    let huge = "x".repeat(kit::serve::DEFAULT_BODY_LIMIT + 1);
    refused(
        &issuer
            .token_form(&[("grant_type", PRE_AUTH), ("pre-authorized_code", &huge)])
            .await,
        413,
        "invalid_request",
        &["request body"],
    );
    issuer.stop();
}

/// The OpenAPI document describes the protocol endpoints with the protocol types' own
/// schemas (derived with `ToSchema`), not with copies.
#[test]
fn the_openapi_document_uses_the_protocol_types() {
    let doc = serde_json::to_value(issuer_agent::http::openapi()).expect("document");
    let schema = |path: &str, method: &str, at: &str| {
        doc["paths"][path][method]
            .pointer(at)
            .and_then(|s| s["$ref"].as_str())
            .map(str::to_owned)
    };
    let json_body = "/requestBody/content/application~1json/schema";
    let ok = |status: &str| format!("/responses/{status}/content/application~1json/schema");
    for (path, method, at, name) in [
        (
            "/token",
            "post",
            "/requestBody/content/application~1x-www-form-urlencoded/schema".to_owned(),
            "TokenRequest",
        ),
        ("/token", "post", ok("200"), "TokenResponse"),
        ("/nonce", "post", ok("200"), "NonceResponse"),
        ("/offers/{id}", "get", ok("200"), "CredentialOffer"),
        (
            "/credential",
            "post",
            json_body.to_owned(),
            "CredentialRequest",
        ),
        ("/credential", "post", ok("200"), "CredentialResponse"),
        ("/credential", "post", ok("202"), "CredentialResponse"),
        (
            "/deferred_credential",
            "post",
            json_body.to_owned(),
            "DeferredCredentialRequest",
        ),
        (
            "/notification",
            "post",
            json_body.to_owned(),
            "NotificationRequest",
        ),
        (
            "/.well-known/openid-credential-issuer",
            "get",
            ok("200"),
            "CredentialIssuerMetadata",
        ),
        (
            "/.well-known/oauth-authorization-server",
            "get",
            ok("200"),
            "AuthorizationServerMetadata",
        ),
    ] {
        assert_eq!(
            schema(path, method, &at),
            Some(format!("#/components/schemas/{name}")),
            "{method} {path} {at}"
        );
    }
    let components = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "Proofs",
        "CredentialConfiguration",
        "TxCode",
        "PreAuthorizedCodeGrant",
    ] {
        assert!(components.contains_key(name), "{name} is not a component");
    }
    // The request members keep their wire names.
    let token = &components["TokenRequest"]["properties"];
    assert!(token.get("pre-authorized_code").is_some(), "{token}");
    assert_eq!(
        components["TokenRequest"]["required"],
        json!(["grant_type"]),
        "{}",
        components["TokenRequest"]
    );
}
