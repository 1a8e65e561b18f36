//! The signed webhook: when a result is ready the verifier POSTs it to the relying
//! application, signed with HMAC-SHA256 over the body; a refused delivery is retried later
//! (from the database, after a back-off), a delivered one is not sent again, and after
//! five refusals the verifier gives up. The relying application here is a real HTTP
//! server on loopback that refuses the first deliveries it gets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::hmac;
use axum::http::{HeaderMap, StatusCode};
use protocol::secret::Secret;
use serde_json::{Value, json};
use verifier::domain::webhooks::{SIGNATURE_HEADER, WEBHOOK_FIRST_RETRY, WEBHOOK_MAX_ATTEMPTS};
use verifier::store::RequestRow;

use crate::common::{TestStack, VERIFIER_TOKEN, holder_key};
use crate::presentation::present;

const SECRET: &str = "webhook-secret-of-the-relying-app";

/// Each delivery received: its signature header and its body.
type Deliveries = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

/// A loopback HTTP server that answers 500 to its first `refuse` requests, then 204, and
/// keeps every request's signature header and body.
struct Receiver {
    url: String,
    received: Deliveries,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(refuse: usize) -> Receiver {
        let received: Deliveries = Arc::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post({
                let received = received.clone();
                move |headers: HeaderMap, body: axum::body::Bytes| {
                    let received = received.clone();
                    let seen = seen.clone();
                    async move {
                        let signature = headers
                            .get(SIGNATURE_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        received.lock().unwrap().push((signature, body.to_vec()));
                        if seen.fetch_add(1, Ordering::SeqCst) < refuse {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::NO_CONTENT
                        }
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            received,
            task,
        }
    }

    fn received(&self) -> Vec<(Option<String>, Vec<u8>)> {
        self.received.lock().unwrap().clone()
    }
}

/// What the relying application computes to check a delivery.
fn expected_signature(body: &[u8]) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes()), body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

async fn stack() -> TestStack {
    TestStack::start_with(|c| c.verifier.webhook_secret = Some(Secret::new(SECRET))).await
}

/// Creates a request with `webhook_url`, answers it with a good presentation; returns
/// the request id.
async fn answered_request(t: &TestStack, webhook_url: &str) -> String {
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let request = t
        .verifier_request_with(json!({ "webhook_url": webhook_url }))
        .await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let vp = present(
        &credential,
        &holder,
        object["client_id"].as_str().unwrap(),
        object["nonce"].as_str().unwrap(),
        t.stack.clock.now(),
    );
    let (status, body) = t.post_vp_token(&object, json!({ "badge": [vp] })).await;
    assert_eq!(status, 200, "{body}");
    request["id"].as_str().unwrap().to_owned()
}

async fn row(t: &TestStack, id: &str) -> RequestRow {
    t.stack
        .verifier
        .app
        .store
        .request(id)
        .await
        .unwrap()
        .unwrap()
}

/// Polls (delivering what is due each time) until `done` holds of the request's row.
async fn until(
    t: &TestStack,
    id: &str,
    what: &str,
    done: impl Fn(&RequestRow) -> bool,
) -> RequestRow {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let r = row(t, id).await;
        if done(&r) {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {r:?}"
        );
        t.stack.verifier.app.deliver_due_webhooks().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_result_is_posted_signed_and_retried_until_delivered() {
    let receiver = Receiver::start(1).await;
    let t = stack().await;
    let before = t.stack.clock.now();
    let id = answered_request(&t, &receiver.url).await;
    let app = &t.stack.verifier.app;

    // The first attempt, made at once, is refused: recorded, and due again after the
    // back-off (counted from the attempt, which fell between `before` and `after`: a
    // second can turn meanwhile).
    let first = until(&t, &id, "the first attempt", |r| {
        r.webhook_last_error.is_some()
    })
    .await;
    let after = t.stack.clock.now();
    assert_eq!(first.webhook_attempts, 1);
    assert_eq!(first.webhook_delivered_at, None);
    let next = first.webhook_next_at.expect("a retry is scheduled");
    assert!(
        (before + WEBHOOK_FIRST_RETRY..=after + WEBHOOK_FIRST_RETRY).contains(&next),
        "next attempt at {next}, the first at {before}..={after}"
    );
    assert!(
        first.webhook_last_error.as_deref().unwrap().contains("500"),
        "{first:?}"
    );
    assert_eq!(app.deliver_due_webhooks().await.unwrap(), 0, "not due yet");
    assert_eq!(receiver.received().len(), 1);

    t.stack.clock.advance(WEBHOOK_FIRST_RETRY);
    let delivered = until(&t, &id, "the retry", |r| r.webhook_delivered_at.is_some()).await;
    assert_eq!(delivered.webhook_attempts, 2);
    assert_eq!(delivered.webhook_next_at, None);

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    for (n, (signature, body)) in received.iter().enumerate() {
        assert_eq!(
            signature.as_deref(),
            Some(expected_signature(body).as_str()),
            "delivery {n}"
        );
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["type"], "presentation.result");
        assert_eq!(event["request_id"], id.as_str());
        assert_eq!(event["attempt"], n + 1);
        assert_eq!(event["result"]["state"], "verified", "{event:#}");
        assert!(
            event["result"]["disclosed"]
                .to_string()
                .contains("田中 アナ")
        );
    }
    // The body as signed is what the result API says.
    let event: Value = serde_json::from_slice(&received[1].1).unwrap();
    assert_eq!(event["result"], t.result(&id).await);
    // A body changed on the way no longer matches its signature.
    let mut tampered = received[1].1.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    assert_ne!(
        received[1].0.as_deref(),
        Some(expected_signature(&tampered).as_str())
    );

    // Delivered: never sent again.
    t.stack.clock.advance(3600);
    assert_eq!(app.deliver_due_webhooks().await.unwrap(), 0);
    assert_eq!(receiver.received().len(), 2);
    receiver.task.abort();
    t.stack.stop().await;
}

#[tokio::test]
async fn a_refused_webhook_is_given_up_after_five_attempts() {
    let receiver = Receiver::start(usize::MAX).await;
    let t = stack().await;
    let id = answered_request(&t, &receiver.url).await;
    let mut attempts = 0;
    loop {
        // An attempt made and recorded (not merely claimed: a claim leases it for 60 s).
        let r = until(&t, &id, "an attempt", |r| {
            r.webhook_attempts > attempts
                && r.webhook_last_error.is_some()
                && r.webhook_next_at != Some(t.stack.clock.now() + 60)
        })
        .await;
        attempts = r.webhook_attempts;
        match r.webhook_next_at {
            Some(next) => t.stack.clock.advance(next - t.stack.clock.now()),
            None => break,
        }
    }
    assert_eq!(attempts, WEBHOOK_MAX_ATTEMPTS);
    let r = row(&t, &id).await;
    assert_eq!(r.webhook_delivered_at, None);
    assert_eq!(receiver.received().len(), 5);
    t.stack.clock.advance(100_000);
    t.stack.verifier.app.deliver_due_webhooks().await.unwrap();
    assert_eq!(receiver.received().len(), 5);
    receiver.task.abort();
    t.stack.stop().await;
}

#[tokio::test]
async fn webhooks_need_the_secret_and_an_http_url() {
    let t = TestStack::start().await;
    for (url, detail) in [
        ("https://app.example/hook", "VERIFIER_WEBHOOK_SECRET"),
        ("ftp://app.example/hook", "not an absolute http(s) URL"),
    ] {
        let r = t
            .http
            .post(format!("{}/api/requests", t.verifier()))
            .bearer_auth(VERIFIER_TOKEN)
            .json(&json!({"template": {"issuer": t.issuer()}, "webhook_url": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["field"], "webhook_url", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{problem}"
        );
    }
    t.stack.stop().await;
}

/// POSTs a request with `webhook_url` to the verifier API; returns the status and body.
async fn create_with_webhook(t: &TestStack, url: &str) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}/api/requests", t.verifier()))
        .bearer_auth(VERIFIER_TOKEN)
        .json(&json!({"template": {"issuer": t.issuer()}, "webhook_url": url}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The verifier in production mode: no loopback, webhooks signed.
async fn production_stack() -> TestStack {
    TestStack::start_with(|c| {
        c.verifier.webhook_secret = Some(Secret::new(SECRET));
        c.verifier.allow_loopback = false;
    })
    .await
}

#[tokio::test]
async fn a_webhook_to_a_private_address_is_refused_at_creation() {
    // Production mode: no http at all, no private or loopback address.
    let t = production_stack().await;
    for (url, detail) in [
        ("http://10.0.0.1/hook", "must use https"),
        ("https://10.0.0.1/hook", "forbidden address 10.0.0.1"),
        (
            "https://169.254.169.254/latest",
            "forbidden address 169.254.169.254",
        ),
        ("https://127.0.0.1/hook", "forbidden address 127.0.0.1"),
        ("https://[::1]/hook", "forbidden address ::1"),
        ("https://localhost/hook", "forbidden address"),
        ("http://127.0.0.1:9/hook", "must use https"),
    ] {
        let (status, problem) = create_with_webhook(&t, url).await;
        assert_eq!(status, 400, "{url}: {problem}");
        assert_eq!(problem["field"], "webhook_url", "{url}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{url}: {problem}"
        );
    }
    t.stack.stop().await;

    // Development mode (the launcher's, as in the other journeys): loopback over http is
    // allowed, other private addresses are not.
    let t = stack().await;
    let (status, problem) = create_with_webhook(&t, "http://10.0.0.1/hook").await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["field"], "webhook_url", "{problem}");
    let (status, problem) = create_with_webhook(&t, "https://10.0.0.1/hook").await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("forbidden address 10.0.0.1"),
        "{problem}"
    );
    let (status, created) = create_with_webhook(&t, "http://127.0.0.1:9/hook").await;
    assert_eq!(status, 201, "{created}");
    t.stack.stop().await;
}

#[tokio::test]
async fn deliveries_go_through_the_guarded_fetcher() {
    // Rows stored earlier (before an upgrade, or by an instance configured otherwise) are
    // still delivered only where the guard allows: a production verifier refuses both a
    // private address and its own loopback receiver, and says why.
    let receiver = Receiver::start(0).await;
    let t = production_stack().await;
    let app = &t.stack.verifier.app;
    let now = t.stack.clock.now();
    for (id, url, error) in [
        (
            "hook-private",
            "https://10.0.0.1/hook",
            "forbidden address 10.0.0.1",
        ),
        ("hook-loopback", receiver.url.as_str(), "must use https"),
    ] {
        app.store
            .insert_request(&RequestRow {
                id: id.into(),
                client_id: app.client_id.clone(),
                nonce: format!("nonce-{id}"),
                state: format!("state-{id}"),
                dcql_query: "{}".into(),
                created_at: now,
                expires_at: now + 600,
                responded_at: None,
                result: None,
                refusals: 0,
                last_refusal: None,
                response_mode: "direct_post".into(),
                encryption_kid: None,
                encryption_key: None,
                request_uri_method: "get".into(),
                redirect_uri: None,
                response_code_hash: None,
                session_binding_hash: None,
                webhook_url: Some(url.into()),
                webhook_attempts: 0,
                webhook_next_at: None,
                webhook_delivered_at: None,
                webhook_last_error: None,
            })
            .await
            .unwrap();
        app.store
            .answer_request(id, now, r#"{"checks":[],"disclosed":{}}"#, None)
            .await
            .unwrap()
            .unwrap();
        let r = until(&t, id, "the refused attempt", |r| {
            r.webhook_last_error.is_some()
        })
        .await;
        assert_eq!(r.webhook_delivered_at, None);
        assert!(
            r.webhook_last_error.as_deref().unwrap().contains(error),
            "{r:?}"
        );
    }
    assert!(receiver.received().is_empty(), "nothing reached loopback");
    receiver.task.abort();
    t.stack.stop().await;
}
