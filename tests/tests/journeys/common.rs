//! Test plumbing: a stack per test and a protocol-level client for the issuer.

use akashi::{Stack, StackConfig};
use protocol::clock::Clock;
use protocol::keys::{Alg, SigningKey};
use serde_json::{Value, json};

pub const ADMIN: &str = akashi::TEST_ISSUER_ADMIN_TOKEN;

pub struct TestStack {
    pub stack: Stack,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestStack {
    pub async fn start() -> TestStack {
        TestStack::start_with(|_| {}).await
    }

    /// As [`TestStack::start`], with the configuration changed by `configure` first.
    pub async fn start_with(configure: impl FnOnce(&mut StackConfig)) -> TestStack {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = akashi_tests::ephemeral(dir.path());
        configure(&mut config);
        let stack = Stack::start(config, Clock::adjustable())
            .await
            .expect("stack starts");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        TestStack {
            stack,
            http,
            _dir: dir,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.stack.issuer.url
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.issuer()))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .expect("admin request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates an achievement and an offer; returns the admin API's answer for the offer.
    pub async fn offer(&self, tx_code: bool, valid_days: Option<i64>) -> Value {
        self.offer_with(tx_code, valid_days, json!({})).await
    }

    /// As [`TestStack::offer`], with `extra` members in the offer request.
    pub async fn offer_with(&self, tx_code: bool, valid_days: Option<i64>, extra: Value) -> Value {
        let (status, a) = self
            .admin_post(
                "/admin/achievements",
                json!({
                    "name": "Digital Supporter — Level 1",
                    "description": "Helps citizens use public digital services.",
                    "criteria": "Completed the 6-hour course.",
                    "valid_days": valid_days,
                }),
            )
            .await;
        assert_eq!(status, 201, "{a}");
        let mut body = json!({
            "achievement_id": a["id"],
            "recipient_name": "田中 アナ",
            "recipient_email": "ana@example.org",
            "tx_code": tx_code,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let (status, offer) = self.admin_post("/admin/offers", body).await;
        assert_eq!(status, 201, "{offer}");
        offer
    }

    pub async fn get_json(&self, url: &str) -> (u16, Value) {
        let r = self.http.get(url).send().await.expect("GET");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .http
            .post(url)
            .form(form)
            .send()
            .await
            .expect("POST form");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The pre-authorized code from the offer document at `credential_offer_uri`.
    pub async fn pre_authorized_code(&self, offer: &Value) -> String {
        let (status, doc) = self
            .get_json(offer["credential_offer_uri"].as_str().expect("uri"))
            .await;
        assert_eq!(status, 200, "{doc}");
        doc["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
            .as_str()
            .expect("code")
            .to_owned()
    }

    pub async fn token(&self, code: &str, tx_code: Option<&str>) -> (u16, Value) {
        let mut form = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", code),
        ];
        if let Some(pin) = tx_code {
            form.push(("tx_code", pin));
        }
        self.post_form(&format!("{}/token", self.issuer()), &form)
            .await
    }

    pub async fn nonce(&self) -> String {
        let r = self
            .http
            .post(format!("{}/nonce", self.issuer()))
            .send()
            .await
            .expect("nonce");
        assert_eq!(
            r.headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );
        let body: Value = r.json().await.expect("nonce JSON");
        body["c_nonce"].as_str().expect("c_nonce").to_owned()
    }

    pub async fn credential(&self, access_token: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/credential", self.issuer()))
            .bearer_auth(access_token)
            .json(&body)
            .send()
            .await
            .expect("credential");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

pub fn holder_key() -> SigningKey {
    SigningKey::generate(Alg::ES256)
}

pub fn credential_request(proofs: Vec<String>) -> Value {
    json!({
        "credential_configuration_id": "OpenBadgeCredential_sd_jwt",
        "proofs": { "jwt": proofs },
    })
}

pub const VERIFIER_TOKEN: &str = akashi::TEST_VERIFIER_API_TOKEN;

impl TestStack {
    pub fn verifier(&self) -> &str {
        &self.stack.verifier.url
    }

    /// Runs the whole OpenID4VCI flow as a wallet holding `holder` would, and returns the
    /// SD-JWT VC as issued.
    pub async fn obtain_credential(&self, holder: &SigningKey, valid_days: Option<i64>) -> String {
        let offer = self.offer(false, valid_days).await;
        let code = self.pre_authorized_code(&offer).await;
        let (s, token) = self.token(&code, None).await;
        assert_eq!(s, 200, "{token}");
        let nonce = self.nonce().await;
        let proof = protocol::oid4vci::build_proof_jwt(
            holder,
            self.issuer(),
            Some(&nonce),
            self.stack.clock.now(),
        );
        let (s, resp) = self
            .credential(
                token["access_token"].as_str().unwrap(),
                credential_request(vec![proof]),
            )
            .await;
        assert_eq!(s, 200, "{resp}");
        resp["credentials"][0]["credential"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a verifier request through its API: the built-in template for an Open Badge
    /// from our issuer, asking for the recipient's name.
    pub async fn verifier_request(&self) -> Value {
        self.verifier_request_with(json!({})).await
    }

    /// [`TestStack::verifier_request`] with more members in the body (`response_mode`).
    pub async fn verifier_request_with(&self, extra: Value) -> Value {
        let mut body =
            json!({"template": {"issuer": self.issuer(), "disclose": ["recipient_name"]}});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let r = self
            .http
            .post(format!("{}/api/requests", self.verifier()))
            .bearer_auth(VERIFIER_TOKEN)
            .json(&body)
            .send()
            .await
            .expect("create request");
        assert_eq!(r.status().as_u16(), 201);
        r.json().await.expect("request JSON")
    }

    /// Fetches and decodes the request object behind an `openid4vp://` link (the signature
    /// is the wallet's business; these tests act as a wallet that trusts its input).
    /// The wallet's `default` account, holding one badge from the test issuer.
    pub async fn wallet_with_badge(&self) -> holder_agent::wallet::Account {
        let now = self.stack.clock.now();
        let wallet = &self.stack.wallet.app;
        let account = wallet.ensure_account("default", now).await.unwrap();
        let offer = self.offer(false, Some(365)).await;
        wallet
            .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
            .await
            .expect("the wallet accepts the offer");
        account
    }

    /// Presents `account`'s badge of `issuer` from the wallet to a new request of Akashi's
    /// verifier (template: the recipient's name); the result, verified.
    pub async fn present_from_wallet(
        &self,
        account: &holder_agent::wallet::Account,
        issuer: &str,
    ) -> Value {
        let request = self
            .verifier_request_with(
                json!({"template": {"issuer": issuer, "disclose": ["recipient_name"]}}),
            )
            .await;
        let presented = self
            .stack
            .wallet
            .app
            .present(
                account,
                request["openid4vp_uri"].as_str().unwrap(),
                None,
                self.stack.clock.now(),
            )
            .await
            .expect("the wallet presents");
        assert_eq!(presented.status, 200);
        let result = self.result(request["id"].as_str().unwrap()).await;
        assert_eq!(result["state"], "verified", "{result:#}");
        result
    }

    pub async fn request_object(&self, openid4vp_uri: &str) -> Value {
        let url = url::Url::parse(openid4vp_uri).expect("openid4vp URI");
        let request_uri = url
            .query_pairs()
            .find(|(k, _)| k == "request_uri")
            .map(|(_, v)| v.into_owned())
            .expect("request_uri");
        let r = self
            .http
            .get(&request_uri)
            .send()
            .await
            .expect("request object");
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/oauth-authz-req+jwt")
        );
        let jws = protocol::jose::Jws::decode(&r.text().await.unwrap()).expect("JWS");
        jws.expect_typ(&["oauth-authz-req+jwt"]).expect("typ");
        Value::Object(jws.payload)
    }

    /// POSTs an Authorization Response (`direct_post`) to the request's `response_uri`.
    pub async fn post_vp_token(&self, request: &Value, vp_token: Value) -> (u16, Value) {
        let r = self
            .http
            .post(request["response_uri"].as_str().expect("response_uri"))
            .form(&[
                ("vp_token", vp_token.to_string()),
                ("state", request["state"].as_str().unwrap().to_owned()),
            ])
            .send()
            .await
            .expect("direct_post");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Asserts that what the Response Endpoint answered the wallet (`status`, `body`) tells
    /// the verifier's `result`: 200 when verified; otherwise 400 `invalid_request` naming
    /// exactly the checks that failed, each once, in the order they ran.
    pub fn assert_wallet_told(status: u16, body: &Value, result: &Value) {
        if result["state"] == "verified" {
            assert_eq!(status, 200, "{body}");
            return;
        }
        let mut failed: Vec<&str> = Vec::new();
        for c in result["checks"].as_array().expect("checks") {
            let name = c["name"].as_str().expect("check name");
            if c["ok"] == Value::Bool(false) && !failed.contains(&name) {
                failed.push(name);
            }
        }
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
        assert_eq!(body["failed_checks"], serde_json::json!(failed), "{body}");
    }

    /// The verifier's result for request `id`.
    pub async fn result(&self, id: &str) -> Value {
        let r = self
            .http
            .get(format!("{}/api/requests/{id}/result", self.verifier()))
            .bearer_auth(VERIFIER_TOKEN)
            .send()
            .await
            .expect("result");
        assert_eq!(r.status().as_u16(), 200);
        r.json().await.expect("result JSON")
    }
}

/// A query parameter of a wallet link.
pub fn link_param(link: &str, name: &str) -> Option<String> {
    url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The outcome of the named check in a verifier result: `Some(false)` if any check of that
/// name failed, `Some(true)` if one passed, `None` if absent or "not applicable".
pub fn check(result: &Value, name: &str) -> Option<bool> {
    let outcomes: Vec<bool> = result["checks"]
        .as_array()?
        .iter()
        .filter(|c| c["name"] == name)
        .filter_map(|c| c["ok"].as_bool())
        .collect();
    if outcomes.contains(&false) {
        Some(false)
    } else {
        outcomes.first().copied()
    }
}

/// Every failed check's name.
pub fn failed_checks(result: &Value) -> Vec<String> {
    result["checks"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter(|c| c["ok"] == json!(false))
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes a QR code PNG with `zbarimg` (Debian's zbar-tools; `./test` installs it).
pub fn zbarimg(png: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("qr.png");
    std::fs::write(&path, png).expect("write PNG");
    let out = std::process::Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(&path)
        .output()
        .expect("zbarimg is installed (apt-get install zbar-tools; ./test does)");
    assert!(
        out.status.success(),
        "zbarimg found no QR code: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim_end()
        .to_owned()
}
