//! The authorization code flow (OpenID4VCI 1.0 §5) beside the pre-authorized one: the
//! Akashi wallet as a client with PKCE S256, PAR and DPoP receiving a badge end to end,
//! and a bare client (this test) attacking each check, each refusal named by its OAuth
//! error code and a description saying which check failed.

use protocol::keys::{Alg, SigningKey};
use protocol::oauth::dpop::{ProofClaims, build_proof};
use protocol::oauth::pkce;
use protocol::oid4vci::build_proof_jwt;
use serde_json::{Value, json};

use crate::common::{TestStack, credential_request, holder_key, link_param};

/// An HTTP answer: status, JSON body (or the text as a string), `DPoP-Nonce`, `Location`,
/// `WWW-Authenticate`.
struct Answer {
    status: u16,
    body: Value,
    dpop_nonce: Option<String>,
    location: Option<String>,
    www_authenticate: Option<String>,
}

async fn answer(r: reqwest::Response) -> Answer {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (dpop_nonce, location, www_authenticate) = (
        header("dpop-nonce"),
        header("location"),
        header("www-authenticate"),
    );
    let status = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        body,
        dpop_nonce,
        location,
        www_authenticate,
    }
}

/// A client of the flow driven by hand: its id, redirect URI, DPoP key and PKCE verifier.
struct Client {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    redirect_uri: String,
    key: SigningKey,
    verifier: String,
}

fn assert_refused(a: &Answer, status: u16, code: &str, says: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["error"], code, "{}", a.body);
    let description = a.body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(says),
        "{code}: {description:?} should say {says:?}"
    );
}

impl Client {
    /// The stack's wallet's registered client id and redirect URI, a fresh key and verifier.
    fn wallet_client(t: &TestStack) -> Client {
        let wallet = &t.stack.wallet.app;
        Client {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build()
                .unwrap(),
            issuer: t.issuer().to_owned(),
            client_id: wallet.oauth_client_id(),
            redirect_uri: wallet.oauth_redirect_uri(),
            key: SigningKey::generate(Alg::ES256),
            verifier: pkce::new_verifier(),
        }
    }

    /// A live `DPoP-Nonce`, from the nonce endpoint's answer.
    async fn dpop_nonce(&self) -> String {
        let r = self
            .http
            .post(format!("{}/nonce", self.issuer))
            .send()
            .await
            .unwrap();
        answer(r).await.dpop_nonce.expect("DPoP-Nonce")
    }

    /// A proof by this client's key for POST `path`.
    fn proof(&self, path: &str, nonce: Option<&str>, token: Option<&str>, iat: i64) -> String {
        proof_by(
            &self.key,
            &format!("{}{path}", self.issuer),
            nonce,
            token,
            iat,
        )
    }

    fn parameters(&self, issuer_state: Option<&str>) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.client_id.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", "openbadge_sd_jwt".to_owned()),
            ("state", "st-1".to_owned()),
            ("code_challenge", pkce::challenge_s256(&self.verifier)),
            ("code_challenge_method", "S256".to_owned()),
        ];
        if let Some(s) = issuer_state {
            p.push(("issuer_state", s.to_owned()));
        }
        p
    }

    async fn par(&self, params: &[(&str, String)]) -> Answer {
        let r = self
            .http
            .post(format!("{}/par", self.issuer))
            .form(params)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    async fn authorize(&self, query: &[(&str, &str)]) -> Answer {
        let r = self
            .http
            .get(format!("{}/authorize", self.issuer))
            .query(query)
            .send()
            .await
            .unwrap();
        answer(r).await
    }

    async fn token(&self, form: &[(&str, &str)], proof: Option<&str>) -> Answer {
        let mut req = self.http.post(format!("{}/token", self.issuer)).form(form);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn credential(
        &self,
        scheme: &str,
        token: &str,
        proof: Option<&str>,
        body: Value,
    ) -> Answer {
        let mut req = self
            .http
            .post(format!("{}/credential", self.issuer))
            .header("Authorization", format!("{scheme} {token}"))
            .json(&body);
        if let Some(p) = proof {
            req = req.header("DPoP", p);
        }
        answer(req.send().await.unwrap()).await
    }

    /// Pushes a request for `issuer_state`, follows its `request_uri` to the authorization
    /// endpoint and returns the code from the redirect.
    async fn code(&self, issuer_state: &str) -> String {
        self.code_with(&self.parameters(Some(issuer_state))).await
    }

    /// [`Client::code`] for a request of these parameters.
    async fn code_with(&self, params: &[(&str, String)]) -> String {
        let pushed = self.par(params).await;
        assert_eq!(pushed.status, 201, "{}", pushed.body);
        let request_uri = pushed.body["request_uri"].as_str().unwrap().to_owned();
        let a = self
            .authorize(&[
                ("client_id", &self.client_id),
                ("request_uri", &request_uri),
            ])
            .await;
        assert_eq!(a.status, 303, "{}", a.body);
        let location = a.location.expect("Location");
        assert!(location.starts_with(&self.redirect_uri), "{location}");
        assert_eq!(
            link_param(&location, "iss").as_deref(),
            Some(self.issuer.as_str())
        );
        assert_eq!(link_param(&location, "state").as_deref(), Some("st-1"));
        link_param(&location, "code").expect("code")
    }

    fn code_form<'a>(&'a self, code: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", &self.verifier),
        ]
    }
}

fn proof_by(
    key: &SigningKey,
    htu: &str,
    nonce: Option<&str>,
    token: Option<&str>,
    iat: i64,
) -> String {
    let jti = protocol::b64::random(12);
    build_proof(
        key,
        &ProofClaims {
            htm: "POST",
            htu,
            iat,
            jti: &jti,
            nonce,
            access_token: token,
        },
    )
}

/// The `issuer_state` of an offer's authorization code grant, from its offer document.
async fn issuer_state(t: &TestStack, offer: &Value) -> String {
    let (status, doc) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{doc}");
    doc["grants"]["authorization_code"]["issuer_state"]
        .as_str()
        .expect("issuer_state")
        .to_owned()
}

#[tokio::test]
async fn metadata_and_offers_describe_the_authorization_code_flow() {
    let t = TestStack::start().await;
    let base = t.issuer().to_owned();
    let (s, asm) = t
        .get_json(&format!("{base}/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        asm["authorization_endpoint"],
        json!(format!("{base}/authorize"))
    );
    assert_eq!(
        asm["pushed_authorization_request_endpoint"],
        json!(format!("{base}/par"))
    );
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        asm["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    assert_eq!(
        asm["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert_eq!(asm["require_pushed_authorization_requests"], json!(false));
    assert_eq!(asm["response_types_supported"], json!(["code"]));
    for grant in ["authorization_code", "refresh_token"] {
        assert!(
            asm["grant_types_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(grant)),
            "{asm}"
        );
    }
    // Each configuration's scope is one the authorization server lists.
    let (_, meta) = t
        .get_json(&format!("{base}/.well-known/openid-credential-issuer"))
        .await;
    for (id, config) in meta["credential_configurations_supported"]
        .as_object()
        .unwrap()
    {
        let scope = config["scope"].as_str().expect("scope");
        assert!(
            asm["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(scope)),
            "{id}: {scope}"
        );
    }
    // An offer carries both grants; an offer with a PIN only the pre-authorized one.
    let offer = t.offer(false, None).await;
    assert!(issuer_state(&t, &offer).await.contains('.'));
    let with_pin = t.offer(true, None).await;
    let (_, doc) = t
        .get_json(with_pin["credential_offer_uri"].as_str().unwrap())
        .await;
    assert!(doc["grants"].get("authorization_code").is_none(), "{doc}");
    t.stack.stop().await;
}

#[tokio::test]
async fn the_wallet_receives_a_badge_with_pkce_par_and_dpop() {
    let t = TestStack::start().await;
    let now = t.stack.clock.now();
    let wallet = &t.stack.wallet.app;
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let (url, pending) = wallet
        .begin_authorization(offer["offer_link"].as_str().unwrap(), now)
        .await
        .expect("the wallet starts the flow");
    // The request was pushed: the browser is sent with a request_uri only.
    assert!(
        url.starts_with(&format!("{}/authorize?", t.issuer())),
        "{url}"
    );
    assert!(link_param(&url, "request_uri").is_some(), "{url}");
    assert!(link_param(&url, "code_challenge").is_none(), "{url}");
    // The person's browser at the authorization endpoint is sent back to the wallet.
    let browser = Client::wallet_client(&t).http;
    let a = answer(browser.get(&url).send().await.unwrap()).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let back = a.location.expect("Location");
    assert!(back.starts_with(&wallet.oauth_redirect_uri()), "{back}");
    let accepted = wallet
        .finish_authorization(&account, pending, &back, now)
        .await
        .expect("the wallet receives the badge");
    assert!(!accepted.credentials.is_empty());
    assert_eq!(accepted.credential_issuer, t.issuer());
    // The issuer takes authorization details, so the wallet asked with them (naming the
    // offer's configurations, the `ldp_vc` companion included) rather than scopes; its
    // credential requests named the identifiers the token response granted (a
    // configuration id is refused with such a token, §8.2).
    let asked: Vec<(String, Option<String>)> =
        kit::with_db!(&t.stack.issuer.app.store.db, |pool| {
            sqlx::query_as("SELECT scope, authorization_details FROM authorization_codes")
                .fetch_all(pool)
                .await
        })
        .unwrap();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].0, "", "{asked:?}");
    let details: Value = serde_json::from_str(asked[0].1.as_deref().unwrap()).unwrap();
    assert_eq!(
        details[0]["credential_configuration_id"], "OpenBadgeCredential_sd_jwt",
        "{details}"
    );
    assert_eq!(
        details[1]["credential_configuration_id"], "OpenBadgeCredential_ldp_vc",
        "{details}"
    );
    // The offer is spent: its document is gone, and it says issued.
    let (s, _) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(s, 404);

    // The same browser URL again: its request_uri was single-use.
    let again = answer(browser.get(&url).send().await.unwrap()).await;
    assert_eq!(again.status, 400);
    let page = again.body.as_str().unwrap_or_default();
    assert!(
        page.contains("invalid_request_uri") && page.contains("already used"),
        "{page}"
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn pushed_requests_and_the_authorization_endpoint_refuse_each_bad_request() {
    let t = TestStack::start_with(|c| {
        c.issuer
            .oauth_clients
            .push("other-client=https://other.example/cb".into());
    })
    .await;
    let c = Client::wallet_client(&t);
    let offer = t.offer(false, None).await;
    let state = issuer_state(&t, &offer).await;

    // PKCE plain, or no method (plain by default), or none at all.
    let mut plain = c.parameters(Some(&state));
    plain.retain(|(k, _)| *k != "code_challenge_method");
    let a = c.par(&plain).await;
    assert_refused(&a, 400, "invalid_request", "only S256");
    plain.push(("code_challenge_method", "plain".into()));
    let a = c.par(&plain).await;
    assert_refused(&a, 400, "invalid_request", "\"plain\" is refused");
    let mut none = c.parameters(Some(&state));
    none.retain(|(k, _)| !k.starts_with("code_challenge"));
    assert_refused(
        &c.par(&none).await,
        400,
        "invalid_request",
        "code_challenge is missing",
    );

    // An unknown client; a redirect URI not registered (exact match); an unknown scope.
    let mut p = c.parameters(Some(&state));
    p[1].1 = "mallory".into();
    assert_refused(
        &c.par(&p).await,
        400,
        "invalid_client",
        "not a registered client",
    );
    let mut p = c.parameters(Some(&state));
    p[2].1 = format!("{}/", c.redirect_uri);
    assert_refused(&c.par(&p).await, 400, "invalid_request", "exact match");
    let mut p = c.parameters(Some(&state));
    p[3].1 = "openbadge_sd_jwt admin".into();
    assert_refused(&c.par(&p).await, 400, "invalid_scope", "\"admin\"");
    // A repeated parameter.
    let mut p = c.parameters(Some(&state));
    p.push(("state", "second".into()));
    assert_refused(
        &c.par(&p).await,
        400,
        "invalid_request",
        "state is repeated",
    );

    // A request_uri used by another client, then twice.
    let pushed = c.par(&c.parameters(Some(&state))).await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    assert_eq!(pushed.body["expires_in"], 60);
    let request_uri = pushed.body["request_uri"].as_str().unwrap();
    let a = c
        .authorize(&[("client_id", "other-client"), ("request_uri", request_uri)])
        .await;
    assert_eq!(a.status, 400);
    let page = a.body.as_str().unwrap();
    assert!(
        page.contains("invalid_request_uri") && page.contains("another client"),
        "{page}"
    );
    let a = c
        .authorize(&[("client_id", &c.client_id), ("request_uri", request_uri)])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let a = c
        .authorize(&[("client_id", &c.client_id), ("request_uri", request_uri)])
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body.as_str().unwrap().contains("already used"));
    // An expired request_uri (60 s).
    let pushed = c.par(&c.parameters(Some(&state))).await;
    let request_uri = pushed.body["request_uri"].as_str().unwrap();
    t.stack.clock.advance(61);
    let a = c
        .authorize(&[("client_id", &c.client_id), ("request_uri", request_uri)])
        .await;
    assert!(a.body.as_str().unwrap().contains("expired"), "{}", a.body);

    // Without issuer_state, no proof of the person: the page asks for the email's link,
    // in English and Japanese.
    let params = c.parameters(None);
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = c.authorize(&query).await;
    assert_eq!(a.status, 200);
    let page = a.body.as_str().unwrap();
    assert!(page.contains("Open the link in your badge email"), "{page}");
    assert!(
        page.contains("バッジのメールのリンクを開いてください"),
        "{page}"
    );

    // A forged issuer_state (another offer's id with a made-up MAC).
    let forged = format!("{}.AAAA", state.split('.').next().unwrap());
    let params = c.parameters(Some(&forged));
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = c.authorize(&query).await;
    assert_eq!(a.status, 303);
    let location = a.location.unwrap();
    assert_eq!(
        link_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert!(
        link_param(&location, "error_description")
            .unwrap()
            .contains("issuer_state is not one this issuer gave")
    );
    assert_eq!(link_param(&location, "state").as_deref(), Some("st-1"));
    assert_eq!(link_param(&location, "iss").as_deref(), Some(t.issuer()));

    // An unregistered redirect URI is never redirected to.
    let mut params = c.parameters(Some(&state));
    params[2].1 = "https://attacker.example/cb".into();
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = c.authorize(&query).await;
    assert_eq!(a.status, 400);
    assert!(a.location.is_none());
    assert!(a.body.as_str().unwrap().contains("not registered"));

    // The issuer_state of an offer with a PIN: the PIN cannot be skipped.
    let with_pin = t.offer(true, None).await;
    let pin_state = t
        .stack
        .issuer
        .app
        .issuer_state(with_pin["offer_id"].as_str().unwrap());
    let params = c.parameters(Some(&pin_state));
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let location = c.authorize(&query).await.location.unwrap();
    assert_eq!(
        link_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert!(
        link_param(&location, "error_description")
            .unwrap()
            .contains("PIN")
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn pushed_requests_can_be_required() {
    let t = TestStack::start_with(|c| c.issuer.require_par = true).await;
    let c = Client::wallet_client(&t);
    let (_, asm) = t
        .get_json(&format!(
            "{}/.well-known/oauth-authorization-server",
            t.issuer()
        ))
        .await;
    assert_eq!(asm["require_pushed_authorization_requests"], json!(true));
    let offer = t.offer(false, None).await;
    let state = issuer_state(&t, &offer).await;
    let params = c.parameters(Some(&state));
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let location = c.authorize(&query).await.location.unwrap();
    assert_eq!(
        link_param(&location, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(
        link_param(&location, "error_description")
            .unwrap()
            .contains("requires pushed authorization requests")
    );
    // Pushed, it goes through.
    assert!(!c.code(&state).await.is_empty());
    t.stack.stop().await;
}

#[tokio::test]
async fn the_token_endpoint_binds_codes_and_dpop_proofs() {
    let t = TestStack::start_with(|c| {
        c.issuer
            .oauth_clients
            .push("other-client=https://other.example/cb".into());
    })
    .await;
    let c = Client::wallet_client(&t);
    let offer = t.offer(false, None).await;
    let state = issuer_state(&t, &offer).await;
    let code = c.code(&state).await;
    let now = t.stack.clock.now();
    let nonce = c.dpop_nonce().await;

    // Code bound to client_id, redirect_uri and the PKCE challenge.
    let mut form = c.code_form(&code);
    form[2].1 = "other-client";
    let a = c
        .token(&form, Some(&c.proof("/token", Some(&nonce), None, now)))
        .await;
    assert_refused(&a, 400, "invalid_grant", "another client");
    let mut form = c.code_form(&code);
    form[3].1 = "https://other.example/cb";
    let a = c
        .token(&form, Some(&c.proof("/token", Some(&nonce), None, now)))
        .await;
    assert_refused(&a, 400, "invalid_grant", "redirect_uri");
    let wrong = pkce::new_verifier();
    let mut form = c.code_form(&code);
    form[4].1 = &wrong;
    let a = c
        .token(&form, Some(&c.proof("/token", Some(&nonce), None, now)))
        .await;
    assert_refused(&a, 400, "invalid_grant", "code_verifier does not match");

    // DPoP: missing, without the nonce (the answer carries one), wrong htu and htm,
    // stale, by another key than the PAR's (dpop_jkt from the PAR's proof: none here).
    let a = c.token(&c.code_form(&code), None).await;
    assert_refused(&a, 400, "invalid_dpop_proof", "DPoP proof is missing");
    let a = c
        .token(
            &c.code_form(&code),
            Some(&c.proof("/token", None, None, now)),
        )
        .await;
    assert_refused(&a, 400, "use_dpop_nonce", "nonce");
    assert!(
        a.dpop_nonce.is_some(),
        "a use_dpop_nonce answer carries DPoP-Nonce"
    );
    let a = c
        .token(
            &c.code_form(&code),
            Some(&c.proof("/credential", Some(&nonce), None, now)),
        )
        .await;
    assert_refused(&a, 400, "invalid_dpop_proof", "`htu`");
    let get = {
        let jti = protocol::b64::random(12);
        build_proof(
            &c.key,
            &ProofClaims {
                htm: "GET",
                htu: &format!("{}/token", c.issuer),
                iat: now,
                jti: &jti,
                nonce: Some(&nonce),
                access_token: None,
            },
        )
    };
    let a = c.token(&c.code_form(&code), Some(&get)).await;
    assert_refused(&a, 400, "invalid_dpop_proof", "`htm`");
    let a = c
        .token(
            &c.code_form(&code),
            Some(&c.proof("/token", Some(&nonce), None, now - 301)),
        )
        .await;
    assert_refused(&a, 400, "invalid_dpop_proof", "too old");

    // The exchange: a DPoP-bound token and a refresh token.
    let proof = c.proof("/token", Some(&nonce), None, now);
    let a = c.token(&c.code_form(&code), Some(&proof)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    assert_eq!(a.body["scope"], "openbadge_sd_jwt");
    assert!(a.body["refresh_token"].as_str().is_some());
    assert!(a.dpop_nonce.is_some());
    // The same proof replayed (its jti) is refused before anything else.
    let a = c.token(&c.code_form(&code), Some(&proof)).await;
    assert_refused(&a, 400, "invalid_dpop_proof", "already used");
    // The code a second time.
    let a = c
        .token(
            &c.code_form(&code),
            Some(&c.proof("/token", Some(&nonce), None, now)),
        )
        .await;
    assert_refused(&a, 400, "invalid_grant", "code was already used");

    // An expired code (60 s).
    let offer = t.offer(false, None).await;
    let code = c.code(&issuer_state(&t, &offer).await).await;
    t.stack.clock.advance(61);
    let nonce = c.dpop_nonce().await;
    let later = t.stack.clock.now();
    let a = c
        .token(
            &c.code_form(&code),
            Some(&c.proof("/token", Some(&nonce), None, later)),
        )
        .await;
    assert_refused(&a, 400, "invalid_grant", "expired");
    t.stack.stop().await;
}

/// A DPoP-bound access token and refresh token for a fresh offer, by `c`.
async fn tokens(t: &TestStack, c: &Client) -> (String, String) {
    let offer = t.offer(false, None).await;
    let code = c.code(&issuer_state(t, &offer).await).await;
    let nonce = c.dpop_nonce().await;
    let now = t.stack.clock.now();
    let a = c
        .token(
            &c.code_form(&code),
            Some(&c.proof("/token", Some(&nonce), None, now)),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    (
        a.body["access_token"].as_str().unwrap().to_owned(),
        a.body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_dpop_bound_token_is_used_only_with_its_key() {
    let t = TestStack::start().await;
    let c = Client::wallet_client(&t);
    let (token, _) = tokens(&t, &c).await;
    let now = t.stack.clock.now();
    let nonce = c.dpop_nonce().await;
    let holder = holder_key();
    let body = || fresh_body(&t, now);

    // As a bearer token; with the DPoP scheme but no proof; with a proof by another key.
    let a = c.credential("Bearer", &token, None, body().await).await;
    assert_refused(&a, 401, "invalid_token", "DPoP-bound");
    assert!(a.www_authenticate.unwrap().starts_with("DPoP "));
    let a = c.credential("DPoP", &token, None, body().await).await;
    assert_refused(&a, 401, "invalid_dpop_proof", "DPoP proof is missing");
    let thief = SigningKey::generate(Alg::ES256);
    let stolen = proof_by(
        &thief,
        &format!("{}/credential", t.issuer()),
        Some(&nonce),
        Some(&token),
        now,
    );
    let a = c
        .credential("DPoP", &token, Some(&stolen), body().await)
        .await;
    assert_refused(
        &a,
        401,
        "invalid_dpop_proof",
        "not the key this access token is bound to",
    );
    // Missing or wrong `ath`; wrong htu.
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&c.proof("/credential", Some(&nonce), None, now)),
            body().await,
        )
        .await;
    assert_refused(&a, 401, "invalid_dpop_proof", "no `ath`");
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&c.proof("/credential", Some(&nonce), Some("another"), now)),
            body().await,
        )
        .await;
    assert_refused(&a, 401, "invalid_dpop_proof", "`ath`");
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&c.proof("/token", Some(&nonce), Some(&token), now)),
            body().await,
        )
        .await;
    assert_refused(&a, 401, "invalid_dpop_proof", "`htu`");
    // Without the nonce: use_dpop_nonce, with the nonce in the header and the challenge.
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&c.proof("/credential", None, Some(&token), now)),
            body().await,
        )
        .await;
    assert_refused(&a, 401, "use_dpop_nonce", "nonce");
    assert!(a.dpop_nonce.is_some());
    assert!(a.www_authenticate.unwrap().contains("use_dpop_nonce"));

    // A proof replayed: the first use (with a request missing its key proof) spends it.
    let proof = c.proof("/credential", Some(&nonce), Some(&token), now);
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&proof),
            json!({"credential_configuration_id": "OpenBadgeCredential_sd_jwt"}),
        )
        .await;
    assert_refused(&a, 400, "invalid_proof", "proofs");
    let a = c
        .credential("DPoP", &token, Some(&proof), body().await)
        .await;
    assert_refused(&a, 401, "invalid_dpop_proof", "already used");

    // The right key, a fresh proof: the badge, bound to the holder key of the key proof.
    let proof = c.proof("/credential", Some(&nonce), Some(&token), now);
    let c_nonce = t.nonce().await;
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&proof),
            credential_request(vec![build_proof_jwt(
                &holder,
                t.issuer(),
                Some(&c_nonce),
                now,
            )]),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body["credentials"][0]["credential"]
            .as_str()
            .unwrap()
            .ends_with('~')
    );
    t.stack.stop().await;
}

/// A credential request with a key proof on a fresh c_nonce.
async fn fresh_body(t: &TestStack, now: i64) -> Value {
    let c_nonce = t.nonce().await;
    credential_request(vec![build_proof_jwt(
        &holder_key(),
        t.issuer(),
        Some(&c_nonce),
        now,
    )])
}

#[tokio::test]
async fn refresh_tokens_rotate_are_single_use_and_keep_their_key() {
    let t = TestStack::start().await;
    let c = Client::wallet_client(&t);
    let (first_access, refresh) = tokens(&t, &c).await;
    let now = t.stack.clock.now();
    let nonce = c.dpop_nonce().await;
    let form = |r: &str| {
        vec![
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), r.to_owned()),
        ]
    };
    let post = |f: Vec<(String, String)>, proof: Option<String>| {
        let c = &c;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            c.token(&f, proof.as_deref()).await
        }
    };
    // Another key than the tokens'.
    let other = SigningKey::generate(Alg::ES256);
    let a = post(
        form(&refresh),
        Some(proof_by(
            &other,
            &format!("{}/token", t.issuer()),
            Some(&nonce),
            None,
            now,
        )),
    )
    .await;
    assert_refused(&a, 400, "invalid_grant", "another DPoP key");
    // Without DPoP.
    let a = post(form(&refresh), None).await;
    assert_refused(&a, 400, "invalid_dpop_proof", "missing");
    // Rotated: a new access and refresh token; the old access token is replaced.
    let a = post(
        form(&refresh),
        Some(c.proof("/token", Some(&nonce), None, now)),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    let second_refresh = a.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, refresh);
    assert_ne!(a.body["access_token"].as_str().unwrap(), first_access);
    // The used refresh token again: refused, and the grant's tokens revoked.
    let a = post(
        form(&refresh),
        Some(c.proof("/token", Some(&nonce), None, now)),
    )
    .await;
    assert_refused(&a, 400, "invalid_grant", "already used");
    let a = post(
        form(&second_refresh),
        Some(c.proof("/token", Some(&nonce), None, now)),
    )
    .await;
    assert_refused(&a, 400, "invalid_grant", "already used");
    t.stack.stop().await;
}

#[tokio::test]
async fn the_pre_authorized_flow_accepts_dpop_too() {
    let t = TestStack::start().await;
    let c = Client::wallet_client(&t);
    let offer = t.offer(false, None).await;
    let code = t.pre_authorized_code(&offer).await;
    let now = t.stack.clock.now();
    let nonce = c.dpop_nonce().await;
    let form = [
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        ),
        ("pre-authorized_code", code.as_str()),
    ];
    let a = c
        .token(&form, Some(&c.proof("/token", Some(&nonce), None, now)))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    let token = a.body["access_token"].as_str().unwrap();
    let c_nonce = t.nonce().await;
    let body = credential_request(vec![build_proof_jwt(
        &holder_key(),
        t.issuer(),
        Some(&c_nonce),
        now,
    )]);
    let a = c.credential("Bearer", token, None, body.clone()).await;
    assert_refused(&a, 401, "invalid_token", "DPoP-bound");
    let a = c
        .credential(
            "DPoP",
            token,
            Some(&c.proof("/credential", Some(&nonce), Some(token), now)),
            body,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    // A bearer token of the pre-authorized flow is refused under the DPoP scheme.
    let offer = t.offer(false, None).await;
    let (s, bearer) = t.token(&t.pre_authorized_code(&offer).await, None).await;
    assert_eq!(s, 200);
    assert_eq!(bearer["token_type"], "Bearer");
    let bearer = bearer["access_token"].as_str().unwrap();
    let c_nonce = t.nonce().await;
    let body = credential_request(vec![build_proof_jwt(
        &holder_key(),
        t.issuer(),
        Some(&c_nonce),
        now,
    )]);
    let a = c
        .credential(
            "DPoP",
            bearer,
            Some(&c.proof("/credential", Some(&nonce), Some(bearer), now)),
            body,
        )
        .await;
    assert_refused(&a, 401, "invalid_token", "bearer token");
    t.stack.stop().await;
}

#[tokio::test]
async fn another_registrations_issuer_state_lands_nothing() {
    // Two wallet accounts registered through their invitations (each bound to its holder
    // key); the attacker's wallet runs the flow with the victim's issuer_state.
    let t = TestStack::start().await;
    let (victim, victim_link, attacker, _attacker_link, _) =
        crate::bound_offers::two_registered_wallets(&t).await;
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let attacker = wallet.account_by_token(&attacker).await.unwrap();
    let victim = wallet.account_by_token(&victim).await.unwrap();
    let browser = Client::wallet_client(&t).http;
    let (url, pending) = wallet.begin_authorization(&victim_link, now).await.unwrap();
    let back = answer(browser.get(&url).send().await.unwrap())
        .await
        .location
        .unwrap();
    let refused = wallet
        .finish_authorization(&attacker, pending, &back, now)
        .await
        .expect_err("the attacker's wallet receives nothing");
    let why = refused.to_string();
    assert!(
        why.contains("invalid_proof") && why.contains("holder binding"),
        "{why}"
    );
    // The victim's own wallet still receives it (the offer was given back).
    let (url, pending) = wallet.begin_authorization(&victim_link, now).await.unwrap();
    let back = answer(browser.get(&url).send().await.unwrap())
        .await
        .location
        .unwrap();
    let accepted = wallet
        .finish_authorization(&victim, pending, &back, now)
        .await
        .expect("the victim's wallet receives its badge");
    assert!(!accepted.credentials.is_empty());
    t.stack.stop().await;
}

/// An independent wallet (`interop/oid4vci_client.mjs`: npm `@openid4vc/openid4vci` and
/// `@openid4vc/oauth2` 0.4.6) receives a badge from Akashi's issuer through the
/// authorization code flow with PKCE, PAR and DPoP.
#[tokio::test]
#[ignore = "heavy: run by ./test (npm interop packages)"]
async fn an_independent_npm_wallet_receives_through_the_authorization_code_flow() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let installed =
        crate::interop::harness::interop_dir().join("node_modules/@openid4vc/openid4vci");
    assert!(
        installed.is_dir(),
        "{} is missing: run `npm ci` in interop/",
        installed.display()
    );
    let t = TestStack::start_with(|c| {
        c.issuer
            .oauth_clients
            .push("npm-wallet=https://npm-wallet.example/cb".into());
    })
    .await;
    let offer = t.offer(false, Some(365)).await;
    let input = json!({
        "offer_link": offer["offer_link"],
        "client_id": "npm-wallet",
        "redirect_uri": "https://npm-wallet.example/cb",
        "scope": "openbadge_sd_jwt",
        "configuration": "OpenBadgeCredential_sd_jwt",
    });
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg("oid4vci_client.mjs")
            .current_dir(crate::interop::harness::interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        child.wait_with_output().expect("node runs")
    })
    .await
    .unwrap();
    let verdict: Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    assert_eq!(verdict["ok"], true, "{verdict:#}");
    assert_eq!(verdict["token_type"], "DPoP");
    // It pushed its request: the browser went with a request_uri only.
    let url = verdict["authorization_url"].as_str().unwrap();
    assert!(link_param(url, "request_uri").is_some(), "{url}");
    // The badge is bound to the npm wallet's holder key.
    let credential = verdict["credential"].as_str().unwrap();
    let sd = protocol::sd_jwt::SdJwt::parse(credential).expect("an SD-JWT VC");
    let payload = sd.issuer_jwt().unwrap().payload;
    let holder = protocol::keys::Jwk::from_value(&verdict["holder_jwk"]).unwrap();
    assert_eq!(payload["cnf"]["jwk"]["x"], json!(holder.x));
    t.stack.stop().await;
}

/// Wallet attestation client authentication (OpenID4VCI Appendix E), required by the
/// setting: missing, forged, for another client, for another server, a PoP replayed or by
/// another key, each `invalid_client` naming the check; a good one lets the flow through.
#[tokio::test]
async fn wallet_attestations_are_required_and_checked() {
    use protocol::oauth::client_attestation::{build_attestation, build_pop};

    const PROVIDER: &str = "https://wallet-provider.example";
    let provider = SigningKey::generate(Alg::ES256);
    let provider_jwk = protocol::b64::encode(
        protocol::keys::Signer::public_jwk(&provider)
            .to_value()
            .to_string(),
    );
    let t = TestStack::start_with(|c| {
        c.issuer.require_wallet_attestation = true;
        c.issuer
            .wallet_providers
            .push(format!("{PROVIDER}={provider_jwk}"));
    })
    .await;
    let (_, asm) = t
        .get_json(&format!(
            "{}/.well-known/oauth-authorization-server",
            t.issuer()
        ))
        .await;
    assert_eq!(
        asm["token_endpoint_auth_methods_supported"],
        json!(["attest_jwt_client_auth"])
    );
    assert_eq!(
        asm["pre-authorized_grant_anonymous_access_supported"],
        json!(false)
    );

    let c = Client::wallet_client(&t);
    let now = t.stack.clock.now();
    let instance = SigningKey::generate(Alg::ES256);
    let instance_jwk = protocol::keys::Signer::public_jwk(&instance);
    let attestation = build_attestation(
        &provider,
        PROVIDER,
        &c.client_id,
        &instance_jwk,
        now,
        now + 3600,
    );
    let pop = |jti: &str| build_pop(&instance, &c.client_id, t.issuer(), jti, now);
    let offer = t.offer(false, None).await;
    let params = c.parameters(Some(&issuer_state(&t, &offer).await));
    let par = |headers: Vec<(&'static str, String)>| {
        let mut req = c.http.post(format!("{}/par", c.issuer)).form(&params);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { answer(req.send().await.unwrap()).await }
    };
    const ATT: &str = "OAuth-Client-Attestation";
    const POP: &str = "OAuth-Client-Attestation-PoP";

    assert_refused(
        &par(vec![]).await,
        400,
        "invalid_client",
        "wallet attestation is missing",
    );
    let forger = SigningKey::generate(Alg::ES256);
    let forged = build_attestation(
        &forger,
        PROVIDER,
        &c.client_id,
        &instance_jwk,
        now,
        now + 3600,
    );
    assert_refused(
        &par(vec![(ATT, forged), (POP, pop("a"))]).await,
        400,
        "invalid_client",
        "not signed by its wallet provider's key",
    );
    let unknown = build_attestation(
        &provider,
        "https://other-provider.example",
        &c.client_id,
        &instance_jwk,
        now,
        now + 3600,
    );
    assert_refused(
        &par(vec![(ATT, unknown), (POP, pop("b"))]).await,
        400,
        "invalid_client",
        "not a wallet provider this issuer trusts",
    );
    let for_other = build_attestation(
        &provider,
        PROVIDER,
        "mallory",
        &instance_jwk,
        now,
        now + 3600,
    );
    assert_refused(
        &par(vec![(ATT, for_other), (POP, pop("c"))]).await,
        400,
        "invalid_client",
        "is not the request's client_id",
    );
    let thief = SigningKey::generate(Alg::ES256);
    assert_refused(
        &par(vec![
            (ATT, attestation.clone()),
            (POP, build_pop(&thief, &c.client_id, t.issuer(), "d", now)),
        ])
        .await,
        400,
        "invalid_client",
        "not signed by the attested instance key",
    );
    assert_refused(
        &par(vec![
            (ATT, attestation.clone()),
            (
                POP,
                build_pop(&instance, &c.client_id, "https://evil.example", "e", now),
            ),
        ])
        .await,
        400,
        "invalid_client",
        "`aud`",
    );
    let expired = build_attestation(
        &provider,
        PROVIDER,
        &c.client_id,
        &instance_jwk,
        now - 10,
        now - 1,
    );
    assert_refused(
        &par(vec![(ATT, expired), (POP, pop("f"))]).await,
        400,
        "invalid_client",
        "expired",
    );

    // A good attestation: pushed; its PoP replayed is refused.
    let good = par(vec![(ATT, attestation.clone()), (POP, pop("g"))]).await;
    assert_eq!(good.status, 201, "{}", good.body);
    assert_refused(
        &par(vec![(ATT, attestation.clone()), (POP, pop("g"))]).await,
        400,
        "invalid_client",
        "already used",
    );
    // Through the authorization endpoint; the token endpoint wants one too.
    let request_uri = good.body["request_uri"].as_str().unwrap();
    let a = c
        .authorize(&[("client_id", &c.client_id), ("request_uri", request_uri)])
        .await;
    let code = link_param(&a.location.expect("Location"), "code").expect("code");
    let nonce = c.dpop_nonce().await;
    let form = c.code_form(&code);
    let token = |headers: Vec<(&'static str, String)>| {
        let mut req = c
            .http
            .post(format!("{}/token", c.issuer))
            .form(&form)
            .header("DPoP", c.proof("/token", Some(&nonce), None, now));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { answer(req.send().await.unwrap()).await }
    };
    assert_refused(
        &token(vec![]).await,
        400,
        "invalid_client",
        "wallet attestation is missing",
    );
    let a = token(vec![(ATT, attestation.clone()), (POP, pop("h"))]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "DPoP");
    // The pre-authorized grant without one: no anonymous access under the setting.
    let fresh = t.offer(false, None).await;
    let (s, refused) = t.token(&t.pre_authorized_code(&fresh).await, None).await;
    assert_eq!(s, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_client");
    t.stack.stop().await;
}

/// `x5c` wallet attestations at the issuer's pushed authorization request endpoint, an
/// issuer that requires them and trusts one CA (`ISSUER_WALLET_ATTESTATION_X509_ANCHORS`),
/// no provider listed: a chain to that CA, signed by its leaf's key, is pushed; a chain
/// under another CA, the anchor itself presented as a self-signed leaf, the good chain
/// signed by another key, and an attestation without `x5c` are each `invalid_client`
/// naming the check.
#[tokio::test]
async fn x5c_wallet_attestations_are_trusted_by_their_chain_only() {
    use protocol::oauth::client_attestation::{
        build_attestation, build_attestation_x5c, build_pop,
    };
    use protocol::x509::{DevPki, x5c_encode};

    const PROVIDER: &str = "https://wallet-provider.example";
    let leaf_key = SigningKey::generate(Alg::ES256);
    let wall = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let pki = DevPki::generate("Provider", "wallet-provider.example", &leaf_key, wall).unwrap();
    let other = DevPki::generate("Evil", "wallet-provider.example", &leaf_key, wall).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, protocol::x509::to_pem(std::slice::from_ref(&pki.ca))).unwrap();
    let t = TestStack::start_with(|c| {
        c.issuer.require_wallet_attestation = true;
        c.issuer.wallet_attestation_x509_anchors = Some(ca.clone());
    })
    .await;
    assert!(t.stack.issuer.app.config.wallet_providers.is_empty());
    let c = Client::wallet_client(&t);
    let now = t.stack.clock.now();
    let instance = SigningKey::generate(Alg::ES256);
    let instance_jwk = protocol::keys::Signer::public_jwk(&instance);
    let att = |signer: &SigningKey, chain: &[Vec<u8>]| {
        build_attestation_x5c(
            signer,
            &x5c_encode(chain),
            PROVIDER,
            &c.client_id,
            &instance_jwk,
            now,
            now + 3600,
        )
    };
    let offer = t.offer(false, None).await;
    let params = c.parameters(Some(&issuer_state(&t, &offer).await));
    let mut jti = 0;
    let mut par = |attestation: String| {
        jti += 1;
        let pop = build_pop(&instance, &c.client_id, t.issuer(), &format!("x{jti}"), now);
        let req = c
            .http
            .post(format!("{}/par", c.issuer))
            .form(&params)
            .header("OAuth-Client-Attestation", attestation)
            .header("OAuth-Client-Attestation-PoP", pop);
        async move { answer(req.send().await.unwrap()).await }
    };

    let good = par(att(&leaf_key, std::slice::from_ref(&pki.leaf))).await;
    assert_eq!(good.status, 201, "{}", good.body);
    let a = par(att(&leaf_key, &[other.leaf.clone(), other.ca.clone()])).await;
    assert_refused(
        &a,
        400,
        "invalid_client",
        "wallet attestation `x5c` chain refused",
    );
    assert_refused(&a, 400, "invalid_client", "Evil development CA");
    assert_refused(
        &par(att(&leaf_key, std::slice::from_ref(&pki.ca))).await,
        400,
        "invalid_client",
        "self-signed",
    );
    let forger = SigningKey::generate(Alg::ES256);
    assert_refused(
        &par(att(&forger, std::slice::from_ref(&pki.leaf))).await,
        400,
        "invalid_client",
        "leaf key not the signer",
    );
    // The leaf's key without the chain: no provider is listed.
    assert_refused(
        &par(build_attestation(
            &leaf_key,
            PROVIDER,
            &c.client_id,
            &instance_jwk,
            now,
            now + 3600,
        ))
        .await,
        400,
        "invalid_client",
        "not a wallet provider this issuer trusts",
    );
    t.stack.stop().await;
}

/// The two pages a person may meet on the issuer during the flow, in Chromium at 390 and
/// 1280 px with axe-core and no sideways scrolling: "open the link in your badge email"
/// (English and Japanese on one page) and a refusal the app cannot be sent back with,
/// whose code and description stay readable on a phone however long they are.
#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn the_authorization_pages_read_well_on_a_phone_and_a_desktop() {
    let t = TestStack::start().await;
    let c = Client::wallet_client(&t);
    let mut b = akashi_tests::browser::Browser::start("authorization_pages")
        .await
        .unwrap();

    let params = c.parameters(None);
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url =
        reqwest::Url::parse_with_params(&format!("{}/authorize", t.issuer()), &query).unwrap();
    b.goto(url.as_str()).await.unwrap();
    let text = b.text("main").await.unwrap();
    assert!(text.contains("Open the link in your badge email"), "{text}");
    assert!(
        text.contains("バッジのメールのリンクを開いてください"),
        "{text}"
    );
    b.screenshots("person-needed").await.unwrap();

    // An unregistered redirect URI: the refusal page, never a redirect.
    let mut params = c.parameters(None);
    params[2].1 = format!("https://attacker.example/{}", "callback/".repeat(12));
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url =
        reqwest::Url::parse_with_params(&format!("{}/authorize", t.issuer()), &query).unwrap();
    b.goto(url.as_str()).await.unwrap();
    assert!(b.url().await.unwrap().starts_with(t.issuer()));
    let text = b.text("main").await.unwrap();
    assert!(text.contains("This sign-in link cannot be used"), "{text}");
    assert!(
        text.contains("このサインインのリンクは使えません"),
        "{text}"
    );
    // The technical details are folded away until asked for.
    let shown = "return document.getElementById('error').checkVisibility()";
    assert_eq!(b.execute(shown, vec![]).await.unwrap(), json!(false));
    b.screenshots("refused").await.unwrap();
    b.click("summary").await.unwrap();
    assert_eq!(b.execute(shown, vec![]).await.unwrap(), json!(true));
    assert!(b.text("#error").await.unwrap().contains("not registered"));
    b.screenshots("refused-details").await.unwrap();
    b.quit().await;
    t.stack.stop().await;
}

/// The offer document of `offer` with only its authorization code grant, as a by-value
/// offer query for the web wallet's `/receive?…` (an issuer that offers no pre-authorized
/// code, as walt.id's authorization code offers do).
async fn code_only_offer(t: &TestStack, offer: &Value) -> String {
    let (status, mut doc) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{doc}");
    let grants = doc["grants"].as_object_mut().unwrap();
    grants.retain(|k, _| k == "authorization_code");
    assert!(grants.contains_key("authorization_code"), "{doc}");
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("credential_offer", &doc.to_string())
        .finish()
}

/// "Accept" on the web wallet's receive page for the offer `query`: the wallet sends the
/// browser to the issuer's authorization endpoint, which sends it back; returns the
/// return URL.
async fn accept_at_issuer(
    t: &TestStack,
    c: &mut crate::wallet_accounts::WebClient,
    query: String,
) -> String {
    let issuer = t.issuer();
    let redirect = t.stack.wallet.app.oauth_redirect_uri();
    let page = c.get(&format!("/receive?{query}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("id=\"sign-in-at-issuer\""),
        "{}",
        page.body
    );
    // The page's form carries the offer link the query stands for.
    let offer_field = format!("openid-credential-offer://?{query}");
    let a = c.post("/receive", &[("offer", &offer_field)]).await;
    // A page that moves on to the issuer by itself and links there (a redirect from the
    // form's submission to another origin would break the page's `form-action 'self'`).
    assert_eq!(a.status, 200, "{}", a.body);
    let to_issuer = a
        .body
        .split("id=\"to-issuer\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to the issuer")
        .replace("&#38;", "&");
    assert!(
        a.body.contains(&format!(
            "http-equiv=\"refresh\" content=\"0;url={}",
            to_issuer.replace('&', "&#38;")
        )),
        "{}",
        a.body
    );
    assert!(
        to_issuer.starts_with(&format!("{issuer}/authorize?")),
        "{to_issuer}"
    );
    assert!(
        link_param(&to_issuer, "request_uri").is_some(),
        "{to_issuer}"
    );
    let browser = Client::wallet_client(t).http;
    let at_issuer = answer(browser.get(&to_issuer).send().await.unwrap()).await;
    assert_eq!(at_issuer.status, 303, "{}", at_issuer.body);
    let back = at_issuer.location.expect("back to the wallet");
    assert!(back.starts_with(&format!("{redirect}?")), "{back}");
    assert_eq!(link_param(&back, "iss").as_deref(), Some(issuer));
    back
}

/// The web wallet receives through the issuer's sign-in: "Accept" on an offer with only
/// the authorization code grant sends the browser to the issuer (PAR, PKCE, DPoP), the
/// issuer sends it back to `/receive/authorized`, and the badge is in the wallet. The
/// return is bound to the account and browser session that started the flow, and used
/// once: replayed, carried to another browser of the same account or to another account,
/// with a made-up or missing `state`, or with another `iss`, it lands nothing, and the
/// page says why.
#[tokio::test]
async fn the_web_wallet_receives_through_the_issuers_sign_in() {
    use crate::wallet_accounts::{PASSWORD, WebClient};
    use crate::wallet_present::web_account;

    let t = TestStack::start().await;
    let wallet_url = t.stack.wallet.url.clone();
    let app = &t.stack.wallet.app;
    let ana = web_account(&t, "ana@example.org").await;
    web_account(&t, "mal@example.org").await;
    let sign_in = |email: &'static str| {
        let wallet_url = wallet_url.clone();
        async move {
            let mut c = WebClient::new(&wallet_url);
            c.get("/sign-in").await;
            let a = c
                .post("/sign-in", &[("email", email), ("password", PASSWORD)])
                .await;
            assert_eq!(a.status, 303, "{}", a.body);
            c
        }
    };
    let path = |back: &str| back[app.oauth_client_id().len()..].to_owned();

    // 1. Ana, signed in, accepts: she comes back with her badge.
    let mut ana_web = sign_in("ana@example.org").await;
    let offer = t.offer(false, Some(365)).await;
    let back = accept_at_issuer(&t, &mut ana_web, code_only_offer(&t, &offer).await).await;
    let done = ana_web.get(&path(&back)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let badge = done.location.unwrap();
    assert!(badge.starts_with("/badges/"), "{badge}");
    let page = ana_web.get(&badge).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(app.list(&ana).await.unwrap().len(), 1);
    assert_eq!(app.store.authorizations_of(&ana.id).await.unwrap(), 0);

    // 2. The same return again: used once.
    let again = ana_web.get(&path(&back)).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again.body.contains("unknown to this browser session"),
        "{}",
        again.body
    );
    assert_eq!(app.list(&ana).await.unwrap().len(), 1);

    // 3. A return carried to another browser of Ana's, and to Mal's: nothing lands, and
    // the flow stays for the browser that started it.
    let offer = t.offer(false, Some(365)).await;
    let back = accept_at_issuer(&t, &mut ana_web, code_only_offer(&t, &offer).await).await;
    let mut ana_phone = sign_in("ana@example.org").await;
    let mut mal_web = sign_in("mal@example.org").await;
    for other in [&mut ana_phone, &mut mal_web] {
        let a = other.get(&path(&back)).await;
        assert_eq!(a.status, 400, "{}", a.body);
        assert!(
            a.body.contains("unknown to this browser session"),
            "{}",
            a.body
        );
    }
    // Signed out, the return asks to sign in first.
    let mut stranger = WebClient::new(&wallet_url);
    let a = stranger.get(&path(&back)).await;
    assert_eq!(a.status, 303);
    assert!(a.location.unwrap().starts_with("/sign-in"));
    // Another `iss` in the return (RFC 9207 mix-up): refused, and the flow is spent.
    let forged_iss = back.replace(
        &format!("iss={}", urlencoding(t.issuer())),
        "iss=https%3A%2F%2Fevil.example",
    );
    assert_ne!(forged_iss, back);
    let a = ana_web.get(&path(&forged_iss)).await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(a.body.contains("evil.example"), "{}", a.body);
    let a = ana_web.get(&path(&back)).await;
    assert!(
        a.body.contains("unknown to this browser session"),
        "{}",
        a.body
    );
    assert_eq!(app.list(&ana).await.unwrap().len(), 1);

    // 4. Made-up and missing state.
    let a = ana_web
        .get("/receive/authorized?code=abc&state=made-up")
        .await;
    assert_eq!(a.status, 400);
    assert!(
        a.body.contains("unknown to this browser session"),
        "{}",
        a.body
    );
    let a = ana_web.get("/receive/authorized?code=abc").await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("state"), "{}", a.body);

    // 5. The issuer refuses (an offer whose issuer_state it never gave): the page says
    // so, naming the issuer's reason.
    let offer = t.offer(false, Some(365)).await;
    let (_, mut doc) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    doc["grants"] = json!({"authorization_code": {"issuer_state": "forged.AAAA"}});
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("credential_offer", &doc.to_string())
        .finish();
    let back = accept_at_issuer(&t, &mut ana_web, query).await;
    assert_eq!(link_param(&back, "error").as_deref(), Some("access_denied"));
    let a = ana_web.get(&path(&back)).await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(a.body.contains("access_denied"), "{}", a.body);
    assert!(a.body.contains("issuer_state"), "{}", a.body);

    // 6. A flow not returned within ten minutes is gone.
    let offer = t.offer(false, Some(365)).await;
    let back = accept_at_issuer(&t, &mut ana_web, code_only_offer(&t, &offer).await).await;
    t.stack
        .clock
        .advance(holder_agent::wallet::authorization_code::PENDING_TTL + 1);
    let a = ana_web.get(&path(&back)).await;
    assert!(
        a.body.contains("unknown to this browser session"),
        "{}",
        a.body
    );
    // One account keeps at most a few flows waiting.
    for _ in 0..6 {
        let offer = t.offer(false, Some(365)).await;
        accept_at_issuer(&t, &mut ana_web, code_only_offer(&t, &offer).await).await;
    }
    assert_eq!(
        app.store.authorizations_of(&ana.id).await.unwrap(),
        holder_agent::wallet::authorization_code::MAX_PENDING_PER_ACCOUNT
    );
    t.stack.stop().await;
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The stack's wallet receives a fresh offer through the authorization code flow, the
/// test playing the person's browser at the issuer.
pub(crate) async fn receive_by_code(
    t: &TestStack,
    account: holder_agent::wallet::Account,
) -> Result<holder_agent::wallet::oid4vci::Accepted, holder_agent::AppError> {
    let wallet = &t.stack.wallet.app;
    let offer = t.offer(false, Some(365)).await;
    let now = wallet.clock.now();
    let (url, pending) = wallet
        .begin_authorization(offer["offer_link"].as_str().unwrap(), now)
        .await?;
    let browser = Client::wallet_client(t).http;
    let a = answer(browser.get(&url).send().await.unwrap()).await;
    let back = a.location.expect("back to the wallet");
    wallet
        .finish_authorization(&account, pending, &back, now)
        .await
}

/// The Akashi wallet as a HAIP client: an issuer that requires wallet attestations gets
/// one from the wallet, its provider key derived from the wallet's sealing key and listed
/// with the issuer as the wallet prints it, a fresh instance key per flow, a fresh proof
/// of possession per request; the badge arrives. An issuer that trusts another provider
/// refuses the wallet's attestation with `invalid_client`, and the wallet says so.
#[tokio::test]
async fn the_wallet_attests_itself_to_an_issuer_that_requires_it() {
    let seal = protocol::keys::seal::SealKey::generate();
    const PROVIDER: &str = "https://wallet-provider.example";
    let setting = holder_agent::wallet::attestation::issuer_setting(
        PROVIDER,
        &holder_agent::wallet::attestation::provider_key(&seal),
    );
    let seal_text = seal.to_text();
    let configure = |trusted: String| {
        let seal_text = seal_text.clone();
        move |c: &mut akashi::StackConfig| {
            c.wallet.service.seal_key = Some(protocol::secret::Secret::new(seal_text));
            c.wallet.provider_id = Some(PROVIDER.into());
            c.issuer.require_wallet_attestation = true;
            c.issuer.wallet_providers.push(trusted);
        }
    };
    let t = TestStack::start_with(configure(setting.clone())).await;
    let wallet = &t.stack.wallet.app;
    assert_eq!(wallet.wallet_provider_setting(), setting);
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let accepted = receive_by_code(&t, account)
        .await
        .expect("the wallet attests itself and receives");
    assert_eq!(accepted.credentials.len(), 1);
    // Two flows: the attestation PoPs' `jti`s were each used once (the issuer records
    // them), so a second flow needs and gets fresh ones.
    let account = wallet.ensure_account("default", now).await.unwrap();
    let accepted = receive_by_code(&t, account).await.expect("a second flow");
    assert_eq!(accepted.credentials.len(), 1);
    t.stack.stop().await;

    // An issuer that trusts another provider (the same id, another key).
    let other = holder_agent::wallet::attestation::issuer_setting(
        PROVIDER,
        &SigningKey::generate(Alg::EdDSA),
    );
    let t = TestStack::start_with(configure(other)).await;
    let account = t
        .stack
        .wallet
        .app
        .ensure_account("default", t.stack.clock.now())
        .await
        .unwrap();
    let err = receive_by_code(&t, account).await.expect_err("refused");
    let said = err.to_string();
    assert!(
        said.contains("invalid_client") && said.contains("not signed by its wallet provider's key"),
        "{said}"
    );
    t.stack.stop().await;
}

/// The web wallet's receive page for an offer that needs the issuer's sign-in: the line
/// that says the person will confirm it is them at the issuer, in Chromium at 390 and
/// 1280 px, English and Japanese, with axe-core and no sideways scrolling; "Receive the
/// badge" goes to the issuer and comes back with it.
#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn the_receive_page_says_the_issuer_will_ask_who_you_are() {
    let t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    let ana = crate::wallet_present::web_account(&t, "ana@example.org").await;
    let mut b = akashi_tests::browser::Browser::start("receive_sign_in_at_issuer")
        .await
        .unwrap();
    b.goto(&format!("{wallet}/sign-in")).await.unwrap();
    b.fill("#email", "ana@example.org").await.unwrap();
    b.fill("#password", crate::wallet_present::PASSWORD)
        .await
        .unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();

    let offer = t.offer(false, Some(365)).await;
    let query = code_only_offer(&t, &offer).await;
    b.goto(&format!("{wallet}/receive?{query}")).await.unwrap();
    b.wait_for_text("h1", "Receive a badge").await.unwrap();
    let hint = b.text("#sign-in-at-issuer").await.unwrap();
    assert!(hint.contains("confirm it is you"), "{hint}");
    b.screenshots("receive-en").await.unwrap();
    b.click("nav.lang a[href^='/lang/ja']").await.unwrap();
    b.wait_for_text("h1", "バッジを受け取る").await.unwrap();
    let hint = b.text("#sign-in-at-issuer").await.unwrap();
    assert!(hint.contains("本人確認"), "{hint}");
    b.screenshots("receive-ja").await.unwrap();

    // Accepted: to the issuer (the badge email's proof is in the offer's issuer_state)
    // and back, with the badge.
    b.click("#accept").await.unwrap();
    b.wait_until(
        "return location.pathname.startsWith('/badges/')",
        "the badge page after the issuer's sign-in",
    )
    .await
    .unwrap();
    assert!(b.url().await.unwrap().starts_with(&wallet));
    assert_eq!(t.stack.wallet.app.list(&ana).await.unwrap().len(), 1);
    b.quit().await;
    t.stack.stop().await;
}

/// Authorization details (RFC 9396, OpenID4VCI §5.1.1) instead of `scope`: the token
/// response grants them with a `credential_identifier`, which the credential endpoint takes
/// for that token's offer only; details that are malformed, of another type, for an
/// unknown configuration or for another issuer are refused as
/// `invalid_authorization_details`.
#[tokio::test]
async fn authorization_details_give_credential_identifiers_bound_to_their_offer() {
    const CONFIGURATION: &str = "OpenBadgeCredential_sd_jwt";
    let t = TestStack::start().await;
    let c = Client::wallet_client(&t);
    let (status, asm) = t
        .get_json(&format!(
            "{}/.well-known/oauth-authorization-server",
            t.issuer()
        ))
        .await;
    assert_eq!(status, 200, "{asm}");
    assert_eq!(
        asm["authorization_details_types_supported"],
        json!(["openid_credential"])
    );
    let with_details = |state: &str, details: String| {
        let mut p = c.parameters(Some(state));
        p.retain(|(k, _)| *k != "scope");
        p.push(("authorization_details", details));
        p
    };
    let offer = t.offer(false, None).await;
    let state = issuer_state(&t, &offer).await;
    for (details, says) in [
        (
            json!([{"type": "openid_credential", "credential_configuration_id": "nope"}]),
            "\"nope\" is not a configuration of this issuer",
        ),
        (
            json!([{"type": "payment_initiation", "credential_configuration_id": CONFIGURATION}]),
            "\"payment_initiation\"",
        ),
        (
            json!([{"type": "openid_credential", "credential_configuration_id": CONFIGURATION,
                    "locations": ["https://evil.example"]}]),
            "do not name this credential issuer",
        ),
        (
            json!([{"type": "openid_credential", "credential_configuration_id": CONFIGURATION,
                    "credential_identifiers": ["mine"]}]),
            "only a token response",
        ),
        (json!({"type": "openid_credential"}), "not a JSON array"),
    ] {
        let a = c.par(&with_details(&state, details.to_string())).await;
        assert_refused(&a, 400, "invalid_authorization_details", says);
    }

    let details = json!([{"type": "openid_credential", "credential_configuration_id": CONFIGURATION,
                          "locations": [t.issuer()]}]);
    let code = c
        .code_with(&with_details(&state, details.to_string()))
        .await;
    let nonce = c.dpop_nonce().await;
    let now = t.stack.clock.now();
    let a = c
        .token(
            &c.code_form(&code),
            Some(&c.proof("/token", Some(&nonce), None, now)),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.get("scope").is_none(), "{}", a.body);
    let granted = &a.body["authorization_details"];
    assert_eq!(granted[0]["type"], "openid_credential", "{granted}");
    assert_eq!(granted[0]["credential_configuration_id"], CONFIGURATION);
    let identifier = granted[0]["credential_identifiers"][0]
        .as_str()
        .expect("a credential_identifier")
        .to_owned();
    let token = a.body["access_token"].as_str().unwrap().to_owned();
    let refresh = a.body["refresh_token"].as_str().unwrap().to_owned();
    let granted_details = a.body["authorization_details"].clone();
    let by_identifier = |body: Value, identifier: &str| {
        let mut body = body;
        let map = body.as_object_mut().unwrap();
        map.remove("credential_configuration_id");
        map.insert("credential_identifier".into(), json!(identifier));
        body
    };

    // Another offer's token with this identifier, and an identifier made up: refused.
    let (other_token, _) = tokens(&t, &c).await;
    for (token, identifier) in [
        (other_token.as_str(), identifier.as_str()),
        (
            token.as_str(),
            &format!("{CONFIGURATION}.AAAAAAAAAAAAAAAAAAAAAA"),
        ),
        (token.as_str(), "OpenBadgeCredential_ldp_vc"),
    ] {
        let a = c
            .credential(
                "DPoP",
                token,
                Some(&c.proof("/credential", Some(&nonce), Some(token), now)),
                by_identifier(fresh_body(&t, now).await, identifier),
            )
            .await;
        assert_refused(
            &a,
            400,
            "unknown_credential_identifier",
            "is not one this issuer's token response gave",
        );
    }
    // Identifiers granted, identifiers required (§8.2): the configuration id with this
    // token is refused, naming the rule.
    let refused_by_configuration = |a: &Answer| {
        assert_refused(
            a,
            400,
            "invalid_credential_request",
            "its token response granted credential_identifiers (authorization_details), so the request must name one of them in `credential_identifier`",
        );
    };
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&c.proof("/credential", Some(&nonce), Some(&token), now)),
            fresh_body(&t, now).await,
        )
        .await;
    refused_by_configuration(&a);
    // The identifier with its own token: the badge.
    let a = c
        .credential(
            "DPoP",
            &token,
            Some(&c.proof("/credential", Some(&nonce), Some(&token), now)),
            by_identifier(fresh_body(&t, now).await, &identifier),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(
        a.body["credentials"][0]["credential"]
            .as_str()
            .is_some_and(|c| c.contains('~')),
        "{}",
        a.body
    );
    // A refreshed token keeps the grant: the same identifiers, the same rule.
    let a = c
        .token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ],
            Some(&c.proof("/token", Some(&nonce), None, now)),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["authorization_details"], granted_details);
    let refreshed = a.body["access_token"].as_str().unwrap().to_owned();
    let a = c
        .credential(
            "DPoP",
            &refreshed,
            Some(&c.proof("/credential", Some(&nonce), Some(&refreshed), now)),
            fresh_body(&t, now).await,
        )
        .await;
    refused_by_configuration(&a);
    // A token granted by `scope` alone takes the configuration id as before.
    let (scoped, _) = tokens(&t, &c).await;
    let a = c
        .credential(
            "DPoP",
            &scoped,
            Some(&c.proof("/credential", Some(&nonce), Some(&scoped), now)),
            fresh_body(&t, now).await,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    t.stack.stop().await;
}
