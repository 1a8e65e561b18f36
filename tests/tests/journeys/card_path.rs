//! The business-card path through the real services: the QR on a holder's public badge
//! page (what the printed card carries) decodes to the page URL, and the verifier checks
//! that URL without a wallet; made private, the badge no longer checks out; after the
//! issuer revokes it, it reads as revoked.

use serde_json::json;

use crate::check::{check_json, detail};
use crate::common::{TestStack, check, failed_checks, zbarimg};
use crate::formats::{SD_JWT, set_status};

#[tokio::test]
async fn a_public_badge_page_url_checks_out_until_private_or_revoked() {
    let t = TestStack::start().await;
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet accepts the offer");
    let held = wallet.list(&account).await.unwrap();
    assert_eq!(held.len(), 1);
    let id = held[0].id.clone();
    let url = wallet
        .visibility(&account, &id, now)
        .await
        .unwrap()
        .public_url;

    // The page's QR code is the page's URL, read by an independent decoder.
    let png = t
        .http
        .get(format!("{url}/qr.png"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let scanned = zbarimg(&png);
    assert_eq!(scanned, url);

    // Scanned at the verifier's desk: the badge checks out through the page's SD-JWT.
    let r = check_json(&t, json!({ "url": scanned })).await;
    assert_eq!(r["state"], "verified", "{r:#}");
    assert_eq!(r["format"], "dc+sd-jwt", "{r:#}");
    for name in ["source", "issuer_signature", "status", "validity"] {
        assert_eq!(check(&r, name), Some(true), "{name}: {r:#}");
    }

    // The holder makes it private: the same URL no longer checks out.
    wallet
        .set_visibility(&account, &id, false, None, now)
        .await
        .unwrap();
    let r = check_json(&t, json!({ "url": scanned })).await;
    assert_eq!(r["state"], "rejected", "{r:#}");
    assert_eq!(failed_checks(&r), ["source"], "{r:#}");
    assert!(detail(&r, "source").contains("404"), "{r:#}");

    // Public again, then revoked by the issuer: it reads as revoked.
    wallet
        .set_visibility(&account, &id, true, None, now)
        .await
        .unwrap();
    let r = check_json(&t, json!({ "url": scanned })).await;
    assert_eq!(r["state"], "verified", "{r:#}");
    // One operation on one of its credentials revokes the badge in every form.
    let credential = crate::check::credential_id(&t, &offer, SD_JWT).await;
    set_status(&t, &credential, "revoked").await;
    // Past the status lists' cache lifetime (their `ttl`, at most an hour).
    t.stack.clock.advance(3700);
    let r = check_json(&t, json!({ "url": scanned })).await;
    assert_eq!(r["state"], "rejected", "{r:#}");
    assert_eq!(failed_checks(&r), ["status"], "{r:#}");
    assert!(detail(&r, "status").contains("revoked"), "{r:#}");

    // The public page itself says so, from its own live check.
    let html = t.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("id=\"check-status\" data-outcome=\"failed\""),
        "{html}"
    );
    assert!(
        html.contains(
            "id=\"verdict\" data-state=\"revoked\">Revoked: the issuer has withdrawn this badge."
        ),
        "one plain banner: {html}"
    );
    assert!(html.contains("id=\"no-sharing\""), "{html}");
    for share in ["share-x", "share-linkedin", "share-facebook", "signature"] {
        assert!(
            !html.contains(&format!("id=\"{share}\"")),
            "no {share} on a revoked badge"
        );
    }
    // In Japanese, the same state in Japanese.
    let html = t
        .http
        .get(&url)
        .header("cookie", "wallet_lang=ja")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("data-state=\"revoked\">失効：発行者がこのバッジを取り消しました。"),
        "{html}"
    );
}
