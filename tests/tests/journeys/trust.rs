//! The trust list (`VERIFIER_TRUSTED_ISSUERS`): a badge from an issuer not on it is
//! reported under `trust`, its signature still checked and reported good; from an issuer
//! on it, `trust` passes; without a list, `trust` says "not configured" and does not
//! reject.

use akashi::StackConfig;
use serde_json::Value;

use crate::common::{TestStack, check, failed_checks, holder_key};
use crate::presentation::present;

/// Issues a badge, presents it (disclosing the name) to a fresh template request and
/// returns the verifier's result.
async fn present_once(t: &TestStack) -> Value {
    let holder = holder_key();
    let credential = t.obtain_credential(&holder, Some(30)).await;
    let request = t.verifier_request().await;
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
    let (status, body) = t
        .post_vp_token(&object, serde_json::json!({ "badge": [vp] }))
        .await;
    let result = t.result(request["id"].as_str().unwrap()).await;
    TestStack::assert_wallet_told(status, &body, &result);
    result
}

/// A loopback port free now, for a service whose URL must be known before it starts.
pub(crate) use crate::mail::free_port;

pub(crate) fn issuer_on_port(config: &mut StackConfig, port: u16) -> String {
    let url = format!("http://127.0.0.1:{port}");
    config.issuer.service.listen = format!("127.0.0.1:{port}");
    config.issuer.service.public_url = url.clone();
    url
}

#[tokio::test]
async fn an_untrusted_issuer_is_reported_under_trust_not_as_a_bad_signature() {
    let t = TestStack::start_with(|c| {
        c.verifier.trusted_issuers = vec!["https://badges.elsewhere.example".into()];
    })
    .await;
    let result = present_once(&t).await;
    assert_eq!(result["state"], "rejected", "{result:#}");
    assert_eq!(failed_checks(&result), ["trust"], "{result:#}");
    for good in ["issuer_key", "issuer_signature", "holder_binding", "status"] {
        assert_eq!(check(&result, good), Some(true), "{good}: {result:#}");
    }
    let trust = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "trust")
        .unwrap();
    assert!(
        trust["detail"]
            .as_str()
            .unwrap()
            .contains("is not on the trust list"),
        "{trust}"
    );
    // Nothing of an untrusted presentation counts as disclosed.
    assert_eq!(result["disclosed"], serde_json::json!({}), "{result:#}");
    t.stack.stop().await;
}

#[tokio::test]
async fn a_trusted_issuer_passes_and_no_list_is_not_configured() {
    let port = free_port();
    let mut issuer = String::new();
    let t = TestStack::start_with(|c| {
        issuer = issuer_on_port(c, port);
        // Spaces, a trailing slash and an empty entry, as people write lists.
        c.verifier.trusted_issuers = vec![
            " https://badges.elsewhere.example".into(),
            format!(" {issuer}/ "),
            String::new(),
        ];
    })
    .await;
    assert_eq!(t.issuer(), issuer);
    let result = present_once(&t).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    assert_eq!(check(&result, "trust"), Some(true), "{result:#}");
    t.stack.stop().await;

    let t = TestStack::start_with(|c| c.verifier.trusted_issuers = vec![String::new()]).await;
    let result = present_once(&t).await;
    assert_eq!(result["state"], "verified", "{result:#}");
    let trust = result["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "trust")
        .unwrap();
    assert_eq!(trust["ok"], Value::Null, "{trust}");
    assert_eq!(trust["detail"], "trust list not configured");
    t.stack.stop().await;
}
