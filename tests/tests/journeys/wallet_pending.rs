//! Pending presentation requests live in the wallet's database (issue 13, item 5), tried
//! as an attacker would: one account posting request after request drops only its own
//! oldest, never another account's pending consent; another account's consent id is a 404,
//! not its content, for the page and for the share form; the consent survives a wallet
//! restart and is answered from a second wallet instance sharing the database; and
//! replaying the consent form (share or decline) is refused as already answered, the
//! verifier hearing one answer only.

use holder_agent::wallet::pending::MAX_PER_ACCOUNT;
use serde_json::Value;

use crate::common::TestStack;
use crate::wallet_accounts::{PASSWORD, WebClient};
use crate::wallet_present::{give_badge, web_account};

/// A browser signed in as `email`.
async fn signed_in(wallet: &str, email: &str) -> WebClient {
    let mut c = WebClient::new(wallet);
    c.get("/sign-in").await;
    let a = c
        .post("/sign-in", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    c
}

/// Opens the verifier's `link` on the present page; returns the consent page's path.
async fn open_request(c: &mut WebClient, link: &str) -> String {
    let page = c.get("/present").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let a = c.post("/present", &[("link", link)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let consent = a.location.expect("the consent page");
    assert!(consent.starts_with("/present/consent/"), "{consent}");
    consent
}

async fn new_link(t: &TestStack) -> (String, String) {
    let request = t.verifier_request().await;
    (
        request["id"].as_str().unwrap().to_owned(),
        request["openid4vp_uri"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn wallet_pending_consents_are_per_account_durable_shared_and_single_use() {
    let mut t = TestStack::start().await;
    let wallet = t.stack.wallet.url.clone();
    let ana = web_account(&t, "ana@example.org").await;
    give_badge(&t, &ana).await;
    let mal = web_account(&t, "mal@example.org").await;

    // 1. Ana opens a request and has not decided yet.
    let mut ana_web = signed_in(&wallet, "ana@example.org").await;
    let (ana_request, link) = new_link(&t).await;
    let consent = open_request(&mut ana_web, &link).await;
    let page = ana_web.get(&consent).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Share your badge?"), "{}", page.body);

    // 2. Mal fills and overfills the quota from several browsers: only Mal's own oldest
    // go; Ana's consent stays.
    let mut mal_first = None;
    for _ in 0..3 {
        let mut mal_web = signed_in(&wallet, "mal@example.org").await;
        for _ in 0..4 {
            let (_, link) = new_link(&t).await;
            let id = open_request(&mut mal_web, &link).await;
            mal_first.get_or_insert((mal_web.cookies.clone(), id));
            t.stack.clock.advance(1);
        }
    }
    let store = &t.stack.wallet.app.store;
    assert_eq!(store.pending_count(&mal.id).await.unwrap(), MAX_PER_ACCOUNT);
    assert_eq!(store.pending_count(&ana.id).await.unwrap(), 1);
    let page = ana_web.get(&consent).await;
    assert_eq!(page.status, 200, "Ana's consent was evicted: {}", page.body);
    let (cookies, first) = mal_first.expect("Mal's first request");
    let mut mal_first_browser = WebClient::new(&wallet);
    mal_first_browser.cookies = cookies;
    let a = mal_first_browser.get(&first).await;
    assert_eq!(a.status, 404, "Mal's oldest was dropped: {}", a.body);

    // 3. Mal cannot see nor answer Ana's consent: 404, nothing of its content.
    let mut mal_web = signed_in(&wallet, "mal@example.org").await;
    let a = mal_web.get(&consent).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("unknown"), "{}", a.body);
    assert!(!a.body.contains("Share your badge?"), "{}", a.body);
    mal_web.get("/present").await;
    for action in ["share", "decline"] {
        let a = mal_web.post(&format!("{consent}/{action}"), &[]).await;
        assert_eq!(a.status, 404, "{action}: {}", a.body);
        assert!(a.body.contains("unknown"), "{}", a.body);
    }

    // 4. The wallet restarts: Ana's consent is still there.
    t.stack.restart_wallet().await.expect("the wallet restarts");
    let page = ana_web.get(&consent).await;
    assert_eq!(page.status, 200, "lost in the restart: {}", page.body);
    assert!(page.body.contains("Share your badge?"), "{}", page.body);
    let share_csrf = ana_web.csrf();

    // 5. A second instance on the same database answers it.
    let (other, _) =
        holder_agent::App::open(t.stack.wallet.app.config.clone(), t.stack.clock.clone())
            .await
            .expect("a second wallet instance on the same database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_other, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(holder_agent::serve(other.clone(), listener, async {
        let _ = stopped.await;
    }));
    let mut ana_other = WebClient::new(&other_url);
    ana_other.cookies = ana_web.cookies.clone();
    let page = ana_other.get(&consent).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let a = ana_other.post(&format!("{consent}/share"), &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("You shared your badge with"), "{}", a.body);
    let result = t.result(&ana_request).await;
    assert_eq!(result["state"], "verified", "{result:#}");

    // 6. Replaying the consent form, at either instance, share or decline: already
    // answered, and the verifier's result is unchanged.
    for (at_other, action) in [(false, "share"), (false, "decline"), (true, "share")] {
        let client = if at_other {
            &mut ana_other
        } else {
            &mut ana_web
        };
        let a = client
            .post_raw(&format!("{consent}/{action}"), &[("csrf", &share_csrf)])
            .await;
        assert_eq!(a.status, 409, "{action}: {}", a.body);
        assert!(a.body.contains("already answered"), "{}", a.body);
    }
    let page = ana_web.get(&consent).await;
    assert_eq!(page.status, 409, "{}", page.body);
    let again = t.result(&ana_request).await;
    assert_eq!(again["state"], "verified", "{again:#}");
    assert_eq!(
        again.get("received_at").unwrap_or(&Value::Null),
        result.get("received_at").unwrap_or(&Value::Null)
    );

    // 7. A decline, replayed as a share: already answered; the verifier keeps the one
    // answer it got.
    let (declined, link) = new_link(&t).await;
    let consent = open_request(&mut ana_web, &link).await;
    ana_web.get(&consent).await;
    let csrf = ana_web.csrf();
    let a = ana_web.post(&format!("{consent}/decline"), &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("You declined"), "{}", a.body);
    let a = ana_web
        .post_raw(&format!("{consent}/share"), &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(a.body.contains("already answered"), "{}", a.body);
    let result = t.result(&declined).await;
    assert_eq!(result["state"], "rejected", "{result:#}");

    let _ = stop_other.send(());
    let _ = server.await;
    other.store.db.close().await;
    t.stack.stop().await;
}
