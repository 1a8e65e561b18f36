//! Transparency proofs where people check (issue 19 item 2): the issuer serves a badge's
//! entry with its inclusion proof (`GET /log/proof/{digest}`), and the one verification
//! core runs the named check `transparency` in the verifier (check API and OpenID4VP) and
//! in the wallet (live verification, public page): a logged badge passes, a badge signed
//! with the issuer's own key but never logged fails, and a log forked or rolled back after
//! a checker saw it fails with a message naming both trees.

use protocol::jose::Jws;
use protocol::keys::SigningKey;
use protocol::sd_jwt::{SdJwt, TYP_DC_SD_JWT};
use serde_json::{Value, json};

use akashi_tests::browser::Browser;

use crate::check::{check_json, detail};
use crate::common::{TestStack, check, holder_key};
use crate::presentation::present;

/// The badge's claims with `edit` applied, re-signed with the issuer's own key and `kid`
/// (as a thief of the key, or a rogue operator, would), every disclosure kept.
fn re_sign(credential: &str, key: &SigningKey, kid: &str, edit: impl FnOnce(&mut Value)) -> String {
    let sd = SdJwt::parse(credential).expect("the real badge parses");
    let mut claims = Value::Object(sd.issuer_jwt().expect("issuer JWT").payload);
    edit(&mut claims);
    let jwt = Jws::sign(
        protocol::jose::header(TYP_DC_SD_JWT, Some(kid)),
        &claims,
        key,
    );
    let (_, rest) = credential.split_once('~').expect("disclosures follow");
    format!("{jwt}~{rest}")
}

/// The verifier's check API on `credential`: the `transparency` outcome and detail.
async fn verifier_says(t: &TestStack, credential: &str) -> (Option<bool>, String) {
    let r = check_json(t, json!({ "credential": credential })).await;
    (check(&r, "transparency"), detail(&r, "transparency"))
}

/// The wallet's live verification of `credential`: the `transparency` line.
async fn wallet_says(t: &TestStack, credential: &str) -> holder_agent::wallet::verify::Check {
    let live = t
        .stack
        .wallet
        .app
        .verify_live(credential, t.stack.clock.now())
        .await;
    live.check("transparency")
        .cloned()
        .unwrap_or_else(|| panic!("no transparency line in {:#?}", live.checks))
}

/// Drops the log's last entry in the issuer's database (the operator rolling back its
/// own log).
async fn drop_last_entry(t: &TestStack, size: u64) {
    kit::with_db_write!(&t.stack.issuer.app.store.db, |pool| {
        sqlx::query("DELETE FROM tlog_entries WHERE idx = $1")
            .bind(size as i64 - 1)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM tlog_issued WHERE idx = $1")
            .bind(size as i64 - 1)
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("UPDATE tlog_head SET size = size - 1 WHERE id = 1")
            .execute(pool)
            .await
            .unwrap()
            .rows_affected()
    });
}

#[tokio::test]
async fn a_logged_badge_passes_in_wallet_and_verifier_and_one_minted_outside_the_log_fails() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let badge = t.obtain_credential(&holder, Some(30)).await;

    // The issuer's proof, keyed by the digest of the issuer-signed JWT.
    let jwt = badge.split('~').next().unwrap();
    let digest = protocol::b64::sha256(jwt);
    let (s, proof) = t
        .get_json(&format!("{}/log/proof/{digest}", t.issuer()))
        .await;
    assert_eq!(s, 200, "{proof}");
    let index = proof["index"].as_u64().expect("an index");
    assert!(
        proof["checkpoint"].as_str().unwrap().contains("/log\n"),
        "{proof}"
    );
    assert!(
        proof["entry"]
            .as_str()
            .unwrap()
            .contains(&format!("\"jwt\":\"{digest}\""))
    );
    // Another digest, a hostile one, a bad `old`: refused, naming what.
    let other = protocol::b64::sha256("not a badge");
    let (s, _) = t
        .get_json(&format!("{}/log/proof/{other}", t.issuer()))
        .await;
    assert_eq!(s, 404);
    let long = "A".repeat(5000);
    let (s, _) = t
        .get_json(&format!("{}/log/proof/{long}", t.issuer()))
        .await;
    assert_eq!(s, 404);
    let r = t
        .http
        .get(format!("{}/log/proof/{digest}?old=-1", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // An older size the log has: with a consistency proof from it.
    let (s, grown) = t
        .get_json(&format!("{}/log/proof/{digest}?old=1", t.issuer()))
        .await;
    assert_eq!(s, 200);
    assert_eq!(grown["consistency"]["old_size"], 1, "{grown}");

    // The verifier's check API and an OpenID4VP presentation: passed, naming the entry.
    let (ok, d) = verifier_says(&t, &badge).await;
    assert_eq!(ok, Some(true), "{d}");
    assert!(d.contains(&format!("entry {index} ")), "{d}");
    let request = t.verifier_request().await;
    let object = t
        .request_object(request["openid4vp_uri"].as_str().unwrap())
        .await;
    let vp = present(
        &badge,
        &holder,
        object["client_id"].as_str().unwrap(),
        object["nonce"].as_str().unwrap(),
        t.stack.clock.now(),
    );
    let (status, body) = t.post_vp_token(&object, json!({ "badge": [vp] })).await;
    assert_eq!(status, 200, "{body}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(check(&result, "transparency"), Some(true), "{result:#}");

    // The wallet: passed.
    let line = wallet_says(&t, &badge).await;
    assert!(line.ok(), "{line:?}");
    assert!(line.detail.contains(&format!("entry {index} ")), "{line:?}");

    // The same badge re-signed with the issuer's own key, outside the log: the signature
    // holds, the log does not have it.
    let app = &t.stack.issuer.app;
    let minted = re_sign(&badge, &app.es256, &app.kid, |c| {
        c["exp"] = json!(c["exp"].as_i64().unwrap() + 86_400 * 365);
    });
    let r = check_json(&t, json!({ "credential": minted })).await;
    assert_eq!(check(&r, "issuer_signature"), Some(true), "{r:#}");
    assert_eq!(check(&r, "transparency"), Some(false), "{r:#}");
    assert!(
        detail(&r, "transparency").contains("does not contain this badge"),
        "{r:#}"
    );
    assert_eq!(crate::common::failed_checks(&r), ["transparency"], "{r:#}");
    let line = wallet_says(&t, &minted).await;
    assert_eq!(line.outcome, holder_agent::wallet::verify::Outcome::Failed);
    assert!(
        line.detail.contains("does not contain this badge"),
        "{line:?}"
    );
}

#[tokio::test]
async fn each_format_through_the_check_api() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let (offer, _, _) = crate::check::offer_with_image(&t, Some(30)).await;
    let issued = crate::check::issue(
        &t,
        &offer,
        &[
            crate::formats::SD_JWT,
            crate::formats::JWT_VC_ES256,
            crate::formats::LDP_VC,
        ],
        &holder,
    )
    .await;
    // SD-JWT VC and VC-JWT: found by their issuer-signed JWT, proven.
    for c in &issued[..2] {
        let r = check_json(&t, json!({ "credential": c })).await;
        assert_eq!(check(&r, "transparency"), Some(true), "{r:#}");
        assert!(detail(&r, "transparency").contains(", entry "), "{r:#}");
    }
    // Data Integrity: logged, but not findable from a copy; not applicable, said why.
    let r = check_json(&t, json!({ "credential": issued[2] })).await;
    assert_eq!(check(&r, "transparency"), None, "{r:#}");
    assert!(
        detail(&r, "transparency").starts_with("not applicable: a Data Integrity credential"),
        "{r:#}"
    );
    assert!(crate::common::failed_checks(&r).is_empty(), "{r:#}");
    // A VC-JWT re-signed with the issuer's key outside the log fails.
    let jwt = issued[1].as_str().unwrap();
    let app = &t.stack.issuer.app;
    let jws = Jws::decode(jwt).unwrap();
    let mut claims = Value::Object(jws.payload.clone());
    claims["minted_by"] = json!("a stolen key");
    let forged = Jws::sign(jws.header.clone(), &claims, &app.es256);
    let r = check_json(&t, json!({ "credential": forged })).await;
    assert_eq!(check(&r, "issuer_signature"), Some(true), "{r:#}");
    assert_eq!(crate::common::failed_checks(&r), ["transparency"], "{r:#}");
}

#[tokio::test]
async fn a_forked_or_rolled_back_log_fails_with_a_precise_message() {
    let t = TestStack::start().await;
    let holder = holder_key();
    let badge = t.obtain_credential(&holder, Some(30)).await;
    let _second = t.obtain_credential(&holder, Some(30)).await;
    let size = t.stack.issuer.app.store.tlog_size().await.unwrap();
    assert!(size >= 2);

    // Both checkers see the log as it is.
    assert_eq!(verifier_says(&t, &badge).await.0, Some(true));
    assert!(wallet_says(&t, &badge).await.ok());

    // Rolled back: the last entry dropped. A smaller tree than was seen.
    drop_last_entry(&t, size).await;
    let want = format!(
        "the issuer's log forked or was rolled back: its checkpoint has {} entries, fewer than the {size} seen before",
        size - 1
    );
    let (ok, d) = verifier_says(&t, &badge).await;
    assert_eq!((ok, d.as_str()), (Some(false), want.as_str()));
    let line = wallet_says(&t, &badge).await;
    assert_eq!(line.detail, want);
    assert!(line.sentence(false).contains("rewritten"), "{line:?}");

    // Another badge takes the dropped entry's place: the same size, another root.
    let _third = t.obtain_credential(&holder, Some(30)).await;
    assert_eq!(t.stack.issuer.app.store.tlog_size().await.unwrap(), size);
    let (ok, d) = verifier_says(&t, &badge).await;
    assert_eq!(ok, Some(false), "{d}");
    assert!(
        d.starts_with(&format!(
            "the issuer's log forked: its checkpoint of {size} entries has root "
        )) && d.ends_with("was seen before at that size"),
        "{d}"
    );
    assert!(!wallet_says(&t, &badge).await.ok());

    // Grown past the fork: still not an extension of the tree seen.
    let _fourth = t.obtain_credential(&holder, Some(30)).await;
    let (ok, d) = verifier_says(&t, &badge).await;
    assert_eq!(ok, Some(false), "{d}");
    assert!(
        d.starts_with(&format!(
            "the issuer's log forked: its checkpoint of {} entries does not extend the checkpoint of {size} entries seen before",
            size + 1
        )),
        "{d}"
    );
    let line = wallet_says(&t, &badge).await;
    assert!(line.detail.contains("does not extend"), "{line:?}");
}

#[tokio::test]
async fn the_public_page_names_the_log_entry_in_english_and_japanese() {
    let t = TestStack::start().await;
    let account = t.wallet_with_badge().await;
    let app = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let row = app.store.credentials(&account.id).await.unwrap().remove(0);
    let digest = protocol::b64::sha256(row.raw.split('~').next().unwrap());
    let (s, proof) = t
        .get_json(&format!("{}/log/proof/{digest}", t.issuer()))
        .await;
    assert_eq!(s, 200, "{proof}");
    let index = proof["index"].as_u64().unwrap();
    // The wallet fetched and kept the proof at receipt, with the issuer's checkpoint.
    let kept = app
        .store
        .log_proof(&digest)
        .await
        .unwrap()
        .expect("kept at receipt");
    assert_eq!(kept.entry_index, index as i64);
    let size = t.stack.issuer.app.store.tlog_size().await.unwrap();
    assert_eq!(kept.tree_size, size as i64);
    let seen_size = || async {
        let seen = app.store.seen_checkpoint(t.issuer()).await.unwrap();
        seen.expect("a checkpoint seen").size
    };
    assert_eq!(seen_size().await, size);
    // The log grows; the next look proves the kept entry from the log's tiles in the
    // larger tree, consistent with the one seen, and keeps the new checkpoint (the kept
    // proof's entry stands: the issuer is not asked about the badge again).
    let _other = t.obtain_credential(&holder_key(), Some(30)).await;
    let line = wallet_says(&t, &row.raw).await;
    assert!(
        line.detail
            .contains(&format!("consistent with the {size} entries seen before"))
            && line.detail.contains("proven from the log's public tiles"),
        "{line:?}"
    );
    assert_eq!(seen_size().await, size + 1);
    let kept = app.store.log_proof(&digest).await.unwrap().unwrap();
    assert_eq!(kept.entry_index, index as i64);
    let url = app
        .visibility(&account, &row.id, now)
        .await
        .unwrap()
        .public_url;
    for (lang, want) in [
        (
            "en",
            format!("Recorded in the issuer's public log, entry {index}."),
        ),
        (
            "ja",
            format!("発行者の公開記録に記録されています（エントリ {index}）。"),
        ),
    ] {
        let html = t
            .http
            .get(&url)
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // (The apostrophe of "issuer's" comes escaped.)
        let unescaped = html.replace("&#x27;", "'").replace("&#39;", "'");
        assert!(
            unescaped.contains(&format!("<p id=\"log-entry\">{want}</p>")),
            "{lang}: no log line {want:?} in {html}"
        );
        // The technical details (folded) carry the log's finding.
        assert!(html.contains("id=\"detail-transparency\""), "{html}");
    }
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn the_public_page_log_line_in_a_browser_in_english_and_japanese() {
    let t = TestStack::start().await;
    let account = t.wallet_with_badge().await;
    let app = &t.stack.wallet.app;
    let row = app.store.credentials(&account.id).await.unwrap().remove(0);
    let url = app
        .visibility(&account, &row.id, t.stack.clock.now())
        .await
        .unwrap()
        .public_url;
    let slug = url.rsplit('/').next().unwrap().to_owned();
    let mut b = Browser::start("transparency_public_line").await.unwrap();
    b.goto(&url).await.unwrap();
    let line = b
        .wait_for_text("#log-entry", "Recorded in the issuer's public log, entry")
        .await
        .unwrap();
    // The technical finding is folded away until asked for.
    assert_eq!(
        b.execute(
            "return document.getElementById('verification-technical').open;",
            vec![]
        )
        .await
        .unwrap(),
        json!(false)
    );
    b.screenshots("public-log-en").await.unwrap();
    b.goto(&format!("{}/lang/ja?next=/p/{slug}", t.stack.wallet.url))
        .await
        .unwrap();
    let ja = b
        .wait_for_text("#log-entry", "発行者の公開記録に記録されています")
        .await
        .unwrap();
    let entry = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    assert_eq!(entry(&line), entry(&ja), "{line} / {ja}");
    b.screenshots("public-log-ja").await.unwrap();
    b.quit().await;
}

/// The issuer's request count for `route` (its `/metrics`), all methods and statuses.
async fn issuer_requests(t: &TestStack, route: &str) -> u64 {
    let metrics = t
        .stack
        .issuer
        .metrics_url
        .as_deref()
        .expect("issuer metrics");
    let text = t
        .http
        .get(metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = format!("akashi_http_requests_total{{route=\"{route}\",");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Akashi's wallet names each presented copy's log entry in its KB-JWT (the proofs it kept
/// when the batch arrived), and Akashi's verifier proves the entry from the issuer's public
/// tiles: four presentations of three copies pass `transparency`, and the issuer is not
/// asked about any of them (`/log/proof` is not requested). A wallet that names no entry
/// (this test acting as another wallet) is still checked, through `/log/proof`.
#[tokio::test]
async fn the_wallet_names_its_entry_and_the_issuer_is_not_told_which_badge_was_checked() {
    let t = TestStack::start_with(|c| c.issuer.service.metrics_listen = Some("127.0.0.1:0".into()))
        .await;
    let account = t.wallet_with_badge().await;
    let wallet = &t.stack.wallet.app;
    let list = wallet.list(&account).await.unwrap();
    let copies = wallet.store.copies(&list[0].id).await.unwrap();
    assert_eq!(copies.len(), 3, "a batch of three copies");
    for copy in &copies {
        let jwt = copy.raw.split('~').next().unwrap();
        let kept = wallet.store.log_proof(&protocol::b64::sha256(jwt)).await;
        assert!(
            kept.unwrap().is_some(),
            "copy {} has its proof kept",
            copy.copy_index
        );
    }

    let asked_before = issuer_requests(&t, "/log/proof/{digest}").await;
    let tiles_before = issuer_requests(&t, "/log/tile/{*path}").await;
    let mut entries = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let result = t.present_from_wallet(&account, t.issuer()).await;
        assert_eq!(check(&result, "transparency"), Some(true), "{result:#}");
        let text = detail(&result, "transparency");
        assert!(
            text.contains("proven from the log's public tiles"),
            "{text}"
        );
        entries.insert(
            text.split(", entry ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(entries.len(), 3, "three copies, three entries: {entries:?}");
    assert_eq!(
        issuer_requests(&t, "/log/proof/{digest}").await,
        asked_before,
        "the verifier asked the issuer about the badge"
    );
    let tiles = issuer_requests(&t, "/log/tile/{*path}").await - tiles_before;
    assert!(tiles >= 1, "the verifier read the log's tiles");

    // The wallet's own live check (a badge page, each view of the public page) proves the
    // kept entry from the tiles too: the issuer does not learn the page was looked at.
    let live = wallet
        .verify_held(&account, &list[0].id, t.stack.clock.now())
        .await
        .unwrap()
        .expect("the badge is held");
    let line = live
        .verification
        .checks
        .iter()
        .find(|c| c.name == "transparency")
        .expect("a transparency check");
    assert_eq!(line.ok, Some(true), "{line:?}");
    assert!(
        line.detail.contains("proven from the log's public tiles"),
        "{line:?}"
    );

    // Another wallet, naming no entry: the verifier asks for the proof by digest.
    let holder = holder_key();
    let badge = t.obtain_credential(&holder, Some(30)).await;
    let (_, proof) = t
        .get_json(&format!(
            "{}/log/proof/{}",
            t.issuer(),
            protocol::b64::sha256(badge.split('~').next().unwrap())
        ))
        .await;
    let asked_before = asked_before + 1;
    let own = protocol::tlog::proof::LogEntryRef {
        index: proof["index"].as_u64().unwrap(),
        entry: proof["entry"].as_str().unwrap().to_owned(),
    };
    let copy_jwt = copies[0].raw.split('~').next().unwrap();
    let (_, copy_proof) = t
        .get_json(&format!(
            "{}/log/proof/{}",
            t.issuer(),
            protocol::b64::sha256(copy_jwt)
        ))
        .await;
    let asked_before = asked_before + 1;
    let another = protocol::tlog::proof::LogEntryRef {
        index: copy_proof["index"].as_u64().unwrap(),
        entry: copy_proof["entry"].as_str().unwrap().to_owned(),
    };
    let present_naming = |named: Option<protocol::tlog::proof::LogEntryRef>| {
        let (t, badge, holder) = (&t, &badge, &holder);
        async move {
            let request = t.verifier_request().await;
            let object = t
                .request_object(request["openid4vp_uri"].as_str().unwrap())
                .await;
            let sd = SdJwt::parse(badge).unwrap();
            let payload = sd.issuer_jwt().unwrap().payload;
            let revealed = sd.reveal(payload).unwrap();
            let keep = revealed.disclosures_for(&[crate::presentation::name_path()]);
            let vp = sd
                .present(
                    &keep,
                    Some(protocol::sd_jwt::KeyBinding {
                        aud: object["client_id"].as_str().unwrap(),
                        nonce: object["nonce"].as_str().unwrap(),
                        iat: t.stack.clock.now(),
                        signer: holder,
                        log_entry: named.as_ref(),
                    }),
                )
                .serialize();
            // A failed check answers the wallet 400 and records the result.
            let (status, body) = t.post_vp_token(&object, json!({ "badge": [vp] })).await;
            assert!(status == 200 || status == 400, "{status} {body}");
            t.result(request["id"].as_str().unwrap()).await
        }
    };
    let result = present_naming(None).await;
    assert_eq!(check(&result, "transparency"), Some(true), "{result:#}");
    assert_eq!(
        issuer_requests(&t, "/log/proof/{digest}").await,
        asked_before + 1
    );
    // Its own entry, named: passed, from the tiles.
    let result = present_naming(Some(own.clone())).await;
    assert_eq!(check(&result, "transparency"), Some(true), "{result:#}");
    // A hostile wallet naming another badge's entry, or its own entry at another index,
    // or an index past the log: failed, each saying which.
    let moved = protocol::tlog::proof::LogEntryRef {
        index: own.index - 1,
        ..own.clone()
    };
    let past = protocol::tlog::proof::LogEntryRef {
        index: own.index + 1000,
        ..own
    };
    for (named, says) in [
        (another, "is not this badge's issuance"),
        (moved, "is not proven to be in the issuer's log"),
        (past, "is past the end of the issuer's log"),
    ] {
        let result = present_naming(Some(named)).await;
        assert_eq!(check(&result, "transparency"), Some(false), "{result:#}");
        assert!(
            detail(&result, "transparency").contains(says),
            "{says}: {result:#}"
        );
    }
    assert_eq!(
        issuer_requests(&t, "/log/proof/{digest}").await,
        asked_before + 1,
        "only the wallet that named no entry made the verifier ask"
    );
    t.stack.stop().await;
}
