//! Test plumbing: a stack per test and a protocol-level client for the issuer.

use akashi::{Stack, StackOptions};
use serde_json::{Value, json};
use shared::clock::Clock;
use shared::keys::{Alg, SigningKey};

pub const ADMIN: &str = "test-issuer-admin-token";

pub struct TestStack {
    pub stack: Stack,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestStack {
    pub async fn start() -> TestStack {
        let dir = tempfile::tempdir().expect("temp dir");
        let stack = Stack::start(StackOptions::ephemeral(dir.path()), Clock::adjustable())
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
        let (status, offer) = self
            .admin_post(
                "/admin/offers",
                json!({
                    "achievement_id": a["id"],
                    "recipient_name": "田中 アナ",
                    "recipient_email": "ana@example.org",
                    "tx_code": tx_code,
                }),
            )
            .await;
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
