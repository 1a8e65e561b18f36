//! Guessing tokens, as an attacker would: the verifier's API token (on its API and on the
//! desk's sign-in) and the issuer's admin token. After ten wrong tokens from one address,
//! that address is answered 429 with `Retry-After`, even with the right token, until the
//! window passes; a client at another address (127.0.0.2 here) is not affected.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use crate::common::{ADMIN, TestStack, VERIFIER_TOKEN};
use crate::desk_sessions::DeskBrowser;

/// A client whose connections come from `127.0.0.<n>`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

/// The `Retry-After` seconds of a 429.
fn retry_after(r: &reqwest::Response) -> i64 {
    r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

async fn get_with(http: &reqwest::Client, url: &str, token: &str) -> reqwest::Response {
    http.get(url).bearer_auth(token).send().await.unwrap()
}

/// Ten wrong tokens on `url`, then the eleventh attempt, and the right one, are refused
/// from 127.0.0.1 with a problem naming the reason; 127.0.0.2 gets in; after `window`
/// seconds 127.0.0.1 does too.
async fn api_journey(t: &TestStack, url: &str, right: &str, max: u32, window: i64) {
    let here = client_from(1);
    for n in 0..max {
        let r = get_with(&here, url, &format!("guess-{n}")).await;
        assert_eq!(r.status().as_u16(), 401, "guess {n}");
    }
    for token in ["guess-again", right] {
        let r = get_with(&here, url, token).await;
        assert_eq!(r.status().as_u16(), 429, "{token}");
        let wait = retry_after(&r);
        assert!((1..=window).contains(&wait), "Retry-After {wait}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let problem: Value = r.json().await.unwrap();
        assert_eq!(problem["status"], 429);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("too many failed token attempts from this address"),
            "{problem}"
        );
    }
    let there = client_from(2);
    assert_eq!(get_with(&there, url, right).await.status().as_u16(), 200);
    t.stack.clock.advance(window);
    assert_eq!(get_with(&here, url, right).await.status().as_u16(), 200);
}

#[tokio::test]
async fn wrong_verifier_api_tokens_are_throttled_per_address() {
    let t = TestStack::start().await;
    let url = format!("{}/api/templates", t.verifier());
    api_journey(
        &t,
        &url,
        VERIFIER_TOKEN,
        verifier::TOKEN_MAX_FAILURES,
        verifier::TOKEN_WINDOW,
    )
    .await;
    t.stack.stop().await;
}

#[tokio::test]
async fn wrong_issuer_admin_tokens_are_throttled_per_address() {
    let t = TestStack::start().await;
    let url = format!("{}/admin/audit", t.issuer());
    api_journey(
        &t,
        &url,
        ADMIN,
        issuer_agent::ADMIN_TOKEN_MAX_FAILURES,
        issuer_agent::ADMIN_TOKEN_WINDOW,
    )
    .await;
    t.stack.stop().await;
}

#[tokio::test]
async fn wrong_tokens_at_the_desk_sign_in_are_throttled_per_address() {
    let t = TestStack::start().await;
    let here = DeskBrowser::open(&t, client_from(1)).await;
    for n in 0..verifier::TOKEN_MAX_FAILURES {
        let r = here.login(&format!("guess-{n}")).await;
        assert_eq!(r.status().as_u16(), 401, "guess {n}");
    }
    for token in ["guess-again", VERIFIER_TOKEN] {
        let r = here.login(token).await;
        assert_eq!(r.status().as_u16(), 429, "{token}");
        let wait = retry_after(&r);
        assert!((1..=verifier::TOKEN_WINDOW).contains(&wait), "{wait}");
        let html = r.text().await.unwrap();
        assert!(
            html.contains("too many failed token attempts from this address: retry in"),
            "{html}"
        );
    }
    // The API from the same address is refused too: it is the same token.
    let r = get_with(
        &client_from(1),
        &format!("{}/api/templates", t.verifier()),
        VERIFIER_TOKEN,
    )
    .await;
    assert_eq!(r.status().as_u16(), 429);

    let there = DeskBrowser::open(&t, client_from(2)).await;
    assert_eq!(there.login(VERIFIER_TOKEN).await.status().as_u16(), 303);
    t.stack.clock.advance(verifier::TOKEN_WINDOW);
    assert_eq!(here.login(VERIFIER_TOKEN).await.status().as_u16(), 303);
    t.stack.stop().await;
}

/// The wallet's API tokens (one per account): ten wrong ones from an address and that
/// address is answered 429 with `Retry-After` and `too_many_requests`, even with an
/// account's right token; another address is not affected; the window passes.
#[tokio::test]
async fn wrong_wallet_api_tokens_are_throttled_per_address() {
    let t = TestStack::start().await;
    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account("default", t.stack.clock.now())
        .await
        .unwrap();
    let right = wallet.rotate_api_token(&account).await.unwrap();
    let url = format!("{}/api/credentials", t.stack.wallet.url);
    let here = client_from(1);
    for n in 0..holder_agent::TOKEN_MAX_FAILURES {
        let r = get_with(&here, &url, &format!("guess-{n}")).await;
        assert_eq!(r.status().as_u16(), 401, "guess {n}");
    }
    for token in ["guess-again", right.as_str()] {
        let r = get_with(&here, &url, token).await;
        assert_eq!(r.status().as_u16(), 429, "{token}");
        let wait = retry_after(&r);
        assert!(
            (1..=holder_agent::TOKEN_WINDOW).contains(&wait),
            "Retry-After {wait}"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "too_many_requests", "{body}");
    }
    let there = client_from(2);
    assert_eq!(get_with(&there, &url, &right).await.status().as_u16(), 200);
    t.stack.clock.advance(holder_agent::TOKEN_WINDOW);
    assert_eq!(get_with(&here, &url, &right).await.status().as_u16(), 200);
    t.stack.stop().await;
}
