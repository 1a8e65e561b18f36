//! Akashi's wallet receiving from an issuer it did not write: `interop/oid4vci_issuer.mjs`,
//! an OpenID4VCI 1.0 issuer and authorization server made of npm `@openid4vc/openid4vci`
//! and `@openid4vc/oauth2` 0.4.6, `@sd-jwt/sd-jwt-vc` 0.19 and `jose`, serving an Open
//! Badges 3.0 SD-JWT VC. The wallet receives through its API (pre-authorized code) and
//! through PAR, PKCE and DPoP, stores the badge and presents it to Akashi's verifier, which
//! trusts the independent issuer by `VERIFIER_TRUSTED_ISSUERS`. Attacks: a badge signed by
//! a key outside the issuer's metadata (refused by the wallet, naming the check), and key
//! proofs whose nonce the issuer did not give (refused by the independent issuer).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{Value, json};

use crate::common::{TestStack, check, holder_key};

/// The independent issuer, running until dropped (its stdin closed, then killed).
pub struct NpmIssuer {
    child: Child,
    stdin: Option<ChildStdin>,
    pub url: String,
    http: reqwest::Client,
}

impl NpmIssuer {
    /// Trades `offer`'s pre-authorized code at this issuer's token endpoint.
    pub async fn redeem(&self, t: &TestStack, offer: &Value) -> (u16, Value) {
        t.post_form(
            &format!("{}/token", self.url),
            &[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                ),
                (
                    "pre-authorized_code",
                    offer["pre_authorized_code"].as_str().unwrap(),
                ),
            ],
        )
        .await
    }

    /// Starts `interop/oid4vci_issuer.mjs` with `config` and waits for its URL.
    pub fn start(config: Value) -> NpmIssuer {
        let dir = crate::interop::harness::interop_dir();
        let installed = dir.join("node_modules/@openid4vc/openid4vci");
        assert!(
            installed.is_dir(),
            "{} is missing: run `npm ci` in interop/ (interop/README.md)",
            installed.display()
        );
        let mut child = Command::new("node")
            .arg("oid4vci_issuer.mjs")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let mut stdin = child.stdin.take().expect("piped stdin");
        writeln!(stdin, "{config}").expect("write the issuer's configuration");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("the issuer prints its URL");
        let first: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the npm issuer did not start ({e}): {line:?}"));
        NpmIssuer {
            child,
            stdin: Some(stdin),
            url: first["url"].as_str().expect("url").to_owned(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        }
    }

    /// A new offer (`POST /test/offers`, the issuer's test control): its link and
    /// pre-authorized code.
    pub async fn offer(&self, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}/test/offers", self.url))
            .json(&body)
            .send()
            .await
            .expect("offer");
        assert_eq!(r.status().as_u16(), 201);
        r.json().await.expect("offer JSON")
    }

    /// Registers an OAuth client with one redirect URI.
    pub async fn register_client(&self, client_id: &str, redirect_uri: &str) {
        let r = self
            .http
            .post(format!("{}/test/clients", self.url))
            .json(&json!({"client_id": client_id, "redirect_uri": redirect_uri}))
            .send()
            .await
            .expect("register client");
        assert_eq!(r.status().as_u16(), 204);
    }
}

impl Drop for NpmIssuer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A stack whose verifier trusts the independent issuer (and nothing else).
async fn stack_trusting(issuer: &NpmIssuer) -> TestStack {
    let url = issuer.url.clone();
    TestStack::start_with(move |c| c.verifier.trusted_issuers = vec![url]).await
}

async fn wallet_api(
    t: &TestStack,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t
        .http
        .request(method, format!("{}{path}", t.stack.wallet.url))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("wallet API");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A wallet account and its API token.
async fn api_account(t: &TestStack, name: &str) -> (holder_agent::wallet::Account, String) {
    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account(name, t.stack.clock.now())
        .await
        .expect("account");
    let token = wallet.rotate_api_token(&account).await.expect("token");
    (account, token)
}

/// Presents the account's badge of `issuer` to a request of Akashi's verifier for it
/// (through the wallet's API); the verifier's result.
async fn present_to_verifier(t: &TestStack, token: &str, issuer: &str) -> Value {
    let request = t
        .verifier_request_with(
            json!({"template": {"issuer": issuer, "disclose": ["recipient_name"]}}),
        )
        .await;
    let (s, body) = wallet_api(
        t,
        token,
        reqwest::Method::POST,
        "/api/present",
        Some(json!({"request": request["openid4vp_uri"]})),
    )
    .await;
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(s, 200, "{body} {result:#}");
    result
}

/// The wallet receives the independent issuer's badge by its credential offer through the
/// API (pre-authorized code, as a headless user would), lists it with the issuer's name,
/// the achievement and the recipient, and presents it to Akashi's verifier, which verifies
/// every check (issuer key from the issuer's JWT VC Issuer Metadata, signature, binding,
/// OB 3.0 schema, trust).
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn akashis_wallet_receives_from_an_independent_issuer_and_presents_it() {
    let npm = NpmIssuer::start(json!({"name": "Independent Academy"}));
    let t = stack_trusting(&npm).await;
    let (_, token) = api_account(&t, "default").await;
    let offer = npm
        .offer(json!({"recipient_name": "Ana Tanaka", "achievement_name": "Rust Basics"}))
        .await;
    let (s, accepted) = wallet_api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": offer["offer_link"]})),
    )
    .await;
    assert_eq!(s, 200, "{accepted}");
    assert_eq!(accepted["credential_issuer"], npm.url, "{accepted}");
    assert_eq!(accepted["issuer_name"], "Independent Academy", "{accepted}");

    let (s, list) = wallet_api(&t, &token, reqwest::Method::GET, "/api/credentials", None).await;
    assert_eq!(s, 200, "{list}");
    let held = list["credentials"].as_array().expect("credentials");
    assert_eq!(held.len(), 1, "{list}");
    assert_eq!(held[0]["issuer"], npm.url);
    assert_eq!(held[0]["format"], "dc+sd-jwt");
    assert_eq!(held[0]["vct"], format!("{}/vct/open-badge-v3", npm.url));
    assert_eq!(held[0]["achievement_name"], "Rust Basics");
    assert_eq!(held[0]["recipient_name"], "Ana Tanaka");
    assert_eq!(held[0]["issuer_name"], "Independent Academy");

    let result = present_to_verifier(&t, &token, &npm.url).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    for name in [
        "issuer_key",
        "issuer_signature",
        "issuer_binding",
        "holder_binding",
        "vct",
        "ob3_schema",
        "requested_issuer",
        "trust",
        "dcql",
    ] {
        assert_eq!(check(&result, name), Some(true), "{name}: {result:#}");
    }
    assert!(
        result["disclosed"].to_string().contains("Ana Tanaka"),
        "{result:#}"
    );
    // The offer is spent: its pre-authorized code does not give a second token.
    let (s, again) = npm.redeem(&t, &offer).await;
    assert_eq!((s, again["error"].as_str()), (400, Some("invalid_grant")));
    t.stack.stop().await;
}

/// A badge of the independent issuer signed by a key its JWT VC Issuer Metadata does not
/// list is refused with the precise reason, and nothing is stored: under a `kid` the
/// metadata does not have (`issuer_key`), and under the issuer's own `kid` with another
/// key (the signature). A genuine badge of it shown to a verifier whose trust list names
/// other issuers only is verified but not trusted (`trust`).
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn a_badge_signed_by_a_key_outside_the_issuers_metadata_is_refused() {
    let npm = NpmIssuer::start(json!({}));
    let t = TestStack::start_with(|c| {
        c.verifier.trusted_issuers = vec!["https://issuer.elsewhere.example".into()];
    })
    .await;
    let (_, token) = api_account(&t, "default").await;
    for (signing, reason) in [
        (
            "unlisted_key",
            "the issuer key could not be resolved: no key with `kid` \"rogue-key-1\" in the issuer's JWKS",
        ),
        (
            "listed_kid_other_key",
            "is not a valid SD-JWT VC: issuer-signed JWT: signature does not verify",
        ),
    ] {
        let offer = npm.offer(json!({"signing": signing})).await;
        let (s, body) = wallet_api(
            &t,
            &token,
            reqwest::Method::POST,
            "/api/accept",
            Some(json!({"offer": offer["offer_link"]})),
        )
        .await;
        assert_eq!(s, 502, "{signing}: {body}");
        assert_eq!(body["error"], "invalid_credential", "{signing}: {body}");
        let said = body["error_description"].as_str().unwrap_or_default();
        assert!(said.contains(reason), "{signing}: {body}");
    }
    let (_, list) = wallet_api(&t, &token, reqwest::Method::GET, "/api/credentials", None).await;
    assert_eq!(list["credentials"], json!([]), "{list}");

    let offer = npm.offer(json!({})).await;
    let (s, body) = wallet_api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": offer["offer_link"]})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let request = t
        .verifier_request_with(
            json!({"template": {"issuer": npm.url, "disclose": ["recipient_name"]}}),
        )
        .await;
    let (s, body) = wallet_api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/present",
        Some(json!({"request": request["openid4vp_uri"]})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_ne!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "issuer_signature"), Some(true), "{result:#}");
    assert_eq!(check(&result, "trust"), Some(false), "{result:#}");
    assert_eq!(
        crate::common::failed_checks(&result),
        ["trust"],
        "{result:#}"
    );
    t.stack.stop().await;
}

/// The independent issuer really checks key proofs: with a token in hand, a proof whose
/// nonce it never gave, a c_nonce of another issuer (Akashi's), and its own c_nonce used a
/// second time are each `invalid_nonce`; a proof for another audience is `invalid_proof`;
/// the same request with a fresh c_nonce of its own is answered with the badge.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn the_independent_issuer_refuses_a_proof_whose_nonce_it_did_not_give() {
    let npm = NpmIssuer::start(json!({}));
    let t = stack_trusting(&npm).await;
    let offer = npm.offer(json!({})).await;
    let (s, token) = npm.redeem(&t, &offer).await;
    assert_eq!(s, 200, "{token}");
    let access = token["access_token"].as_str().unwrap().to_owned();
    let holder = holder_key();
    let now = t.stack.clock.now();
    let request = |proof: String| {
        let http = t.http.clone();
        let url = format!("{}/credential", npm.url);
        let access = access.clone();
        async move {
            let r = http
                .post(url)
                .bearer_auth(access)
                .json(&json!({
                    "credential_configuration_id": "OpenBadgeCredential_dc_sd_jwt",
                    "proofs": {"jwt": [proof]},
                }))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let npm_nonce = || async {
        let r = t
            .http
            .post(format!("{}/nonce", npm.url))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        body["c_nonce"].as_str().unwrap().to_owned()
    };
    let proof =
        |aud: &str, nonce: &str| protocol::oid4vci::build_proof_jwt(&holder, aud, Some(nonce), now);

    let akashi_nonce = t.nonce().await;
    for (what, nonce) in [
        ("made up", "n-0123456789abcdef0123"),
        ("Akashi's issuer's", akashi_nonce.as_str()),
    ] {
        let (s, body) = request(proof(&npm.url, nonce)).await;
        assert_eq!(s, 400, "{what}: {body}");
        assert_eq!(body["error"], "invalid_nonce", "{what}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("is not a c_nonce of this issuer"),
            "{what}: {body}"
        );
    }
    // The library's own checks: another audience.
    let (s, body) = request(proof("https://elsewhere.example", &npm_nonce().await)).await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"], "invalid_proof", "{body}");
    // Its own fresh c_nonce: issued, bound to the proof's key.
    let fresh = npm_nonce().await;
    let (s, body) = request(proof(&npm.url, &fresh)).await;
    assert_eq!(s, 200, "{body}");
    let credential = body["credentials"][0]["credential"].as_str().unwrap();
    let sd = protocol::sd_jwt::SdJwt::parse(credential).unwrap();
    let payload = sd.issuer_jwt().unwrap().payload;
    assert_eq!(
        protocol::keys::Jwk::from_value(&payload["cnf"]["jwk"])
            .unwrap()
            .thumbprint(),
        protocol::keys::Signer::public_jwk(&holder).thumbprint()
    );
    // That c_nonce again: used.
    let (s, body) = request(proof(&npm.url, &fresh)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (400, Some("invalid_nonce")),
        "{body}"
    );
    t.stack.stop().await;
}

/// The wallet receives from the independent issuer through the authorization code flow:
/// a pushed authorization request with PKCE S256 and a DPoP key, the person's browser sent
/// back with `code`, `state` and `iss`, the code exchanged for a DPoP-bound token, the
/// credential requested with DPoP proofs. The code cannot be used twice.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn akashis_wallet_receives_from_an_independent_issuer_through_par_pkce_and_dpop() {
    let npm = NpmIssuer::start(json!({}));
    let t = stack_trusting(&npm).await;
    let wallet = &t.stack.wallet.app;
    npm.register_client(&wallet.oauth_client_id(), &wallet.oauth_redirect_uri())
        .await;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = npm
        .offer(json!({"grant": "authorization_code", "achievement_name": "Pushed Course"}))
        .await;
    let (url, pending) = wallet
        .begin_authorization(offer["offer_link"].as_str().unwrap(), now)
        .await
        .expect("the wallet pushes its request to the independent issuer");
    assert!(url.starts_with(&format!("{}/authorize?", npm.url)), "{url}");
    let browser = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with(&wallet.oauth_redirect_uri()), "{back}");
    let code = crate::common::link_param(&back, "code").expect("code");
    let accepted = wallet
        .finish_authorization(&account, pending, &back, now)
        .await
        .expect("the wallet receives the badge");
    assert_eq!(accepted.credential_issuer, npm.url);
    assert_eq!(accepted.credentials.len(), 1);
    assert_eq!(
        accepted.credentials[0].achievement_name.as_deref(),
        Some("Pushed Course")
    );
    // The code again (as an attacker who saw the redirect would): refused.
    let (s, body) = t
        .post_form(
            &format!("{}/token", npm.url),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", &wallet.oauth_redirect_uri()),
                ("client_id", &wallet.oauth_client_id()),
                ("code_verifier", "x".repeat(43).as_str()),
            ],
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    t.stack.stop().await;
}
