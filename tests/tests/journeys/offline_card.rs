//! Printed cards that verify with no network (issue 19 item 4): the holder picks the offline
//! QR code, the wallet gets a card credential from the issuer and prints it packed
//! (`AK1:` + base45 of raw DEFLATE) in the fragment of the verifier's offline check page;
//! the card PDF is rendered at 300 dpi by poppler's `pdftoppm` and read by `zbarimg`. The
//! server checks the proof (`POST /check/offline/verify`), and headless Chromium, once the
//! page's service worker has kept the page and the issuers' snapshot, verifies it with the
//! network cut (DevTools offline mode), says how fresh its status is, and refuses a
//! tampered disclosure, a forged signer, an untrusted issuer, a status snapshot older than
//! the bound, a revoked badge (after the snapshot is refreshed) and malformed fragments.

use akashi_tests::browser::{Browser, artifacts_dir, decode_qr};
use protocol::base45;
use protocol::keys::{Alg, SigningKey};
use protocol::offline_card::{self, CardClaims};
use protocol::sd_jwt::{Disclosure, SdJwt};
use serde_json::Value;

use crate::check::credential_id;
use crate::common::TestStack;
use crate::formats::{SD_JWT, set_status};
use crate::trust::{free_port, issuer_on_port};

const TEST: &str = "offline_card";

/// A stack whose verifier trusts its issuer (the offline page keeps trusted issuers only).
async fn stack() -> TestStack {
    let port = free_port();
    TestStack::start_with(|c| {
        let issuer = issuer_on_port(c, port);
        c.verifier.trusted_issuers = vec![issuer];
    })
    .await
}

struct Held {
    id: String,
    session: String,
    offer: Value,
}

async fn held_badge(t: &TestStack) -> Held {
    let now = t.stack.clock.now();
    let wallet = &t.stack.wallet.app;
    let account = wallet.ensure_account("default", now).await.unwrap();
    let offer = t.offer(false, Some(365)).await;
    let accepted = wallet
        .accept(&account, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet accepts the offer");
    let session = wallet.start_session(&account, now).await.unwrap();
    Held {
        id: accepted.credentials[0].id.clone(),
        session,
        offer,
    }
}

/// The wallet's route with the holder's session.
async fn wallet_get(t: &TestStack, held: &Held, path: &str) -> reqwest::Response {
    t.http
        .get(format!("{}{path}", t.stack.wallet.url))
        .header("cookie", format!("wallet_session={}", held.session))
        .send()
        .await
        .unwrap()
}

/// The offline card's PDF rendered at 300 dpi by `pdftoppm`, read by `zbarimg`.
async fn scanned_card(t: &TestStack, held: &Held, step: &str) -> String {
    let r = wallet_get(t, held, &format!("/badges/{}/card.pdf?qr=offline", held.id)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    let dir = artifacts_dir(&format!("{TEST}-cards"));
    std::fs::create_dir_all(&dir).unwrap();
    let pdf_path = dir.join(format!("{step}.pdf"));
    std::fs::write(&pdf_path, &pdf).unwrap();
    let prefix = dir.join(step);
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(&pdf_path)
        .arg(&prefix)
        .output()
        .expect("pdftoppm is installed (apt-get install poppler-utils; ./test does)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = decode_qr(&prefix.with_extension("png"))
        .await
        .expect("zbarimg reads the card's QR code at 300 dpi");
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// The card credential inside a scanned card URL.
fn card_of(url: &str) -> SdJwt {
    let (_, fragment) = url.split_once('#').expect("a fragment");
    SdJwt::parse(&offline_card::unpack_fragment(fragment).expect("unpacks")).expect("an SD-JWT")
}

/// The packed proof (`AK1:…`, base45 as RFC 9285 writes it) of a scanned card URL.
fn proof_of(url: &str) -> String {
    let (_, fragment) = url.split_once('#').expect("a fragment");
    base45::from_fragment(fragment).expect("a fragment of base45")
}

fn url_with(t: &TestStack, card: &SdJwt) -> String {
    format!(
        "{}/check/offline#{}",
        t.verifier(),
        base45::to_fragment(&offline_card::pack(card).expect("packs"))
    )
}

/// The card with its `name` disclosure rewritten to `name` (its digest no longer matches).
fn tampered(card: &SdJwt, name: &str) -> SdJwt {
    let mut out = card.clone();
    let d = &card.disclosures[0];
    let original = d.value.as_str().unwrap().to_owned();
    let text = String::from_utf8(protocol::b64::decode(&d.encoded).unwrap())
        .unwrap()
        .replace(&original, name);
    out.disclosures[0] = Disclosure::parse(&protocol::b64::encode(text), 0).unwrap();
    out
}

/// A card of `iss` (key id `kid`) signed by a key of the forger's own.
fn forged(t: &TestStack, iss: &str, kid: &str) -> SdJwt {
    let key = SigningKey::generate(Alg::ES256);
    let claims = CardClaims {
        iss: iss.to_owned(),
        iat: t.stack.clock.now(),
        exp: None,
        status_uri: format!("{}/status/1", t.issuer()),
        status_idx: 0,
        holder_name: Some("Mallory".into()),
        badge: "Digital Supporter — Level 1".into(),
        issuer_name: "Forged University".into(),
    };
    offline_card::issue(&claims, kid, &key)
        .unwrap()
        .present(&[0], None)
}

/// The server's check of a card proof.
async fn server_check(t: &TestStack, text: &str) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}/check/offline/verify", t.verifier()))
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn failed(result: &Value) -> Vec<String> {
    crate::common::failed_checks(result)
}

#[tokio::test]
async fn the_card_qr_carries_a_proof_the_server_verifies_and_attacks_fail() {
    let t = stack().await;
    let held = held_badge(&t).await;

    // The share panel offers the offline card beside the ordinary one.
    let page = wallet_get(&t, &held, &format!("/badges/{}", held.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"card-pdf-offline\""), "{page}");
    assert!(page.contains("?qr=offline"), "{page}");

    // Another account asking for this badge's offline card gets nothing.
    let now = t.stack.clock.now();
    let other = t
        .stack
        .wallet
        .app
        .ensure_account("someone-else", now)
        .await
        .unwrap();
    let other = Held {
        id: held.id.clone(),
        session: t.stack.wallet.app.start_session(&other, now).await.unwrap(),
        offer: Value::Null,
    };
    let r = wallet_get(
        &t,
        &other,
        &format!("/badges/{}/card.pdf?qr=offline", held.id),
    )
    .await;
    assert_eq!(r.status(), 404);

    let scanned = scanned_card(&t, &held, "card").await;
    let prefix = format!("{}/check/offline#AK1:", t.verifier());
    assert!(scanned.starts_with(&prefix), "{scanned}");
    // Only QR alphanumeric characters after the page's URL, and no space.
    let fragment = &scanned[prefix.len() - 4..];
    assert!(
        fragment
            .bytes()
            .all(|b| base45::ALPHABET.contains(&b) && b != b' '),
        "{fragment}"
    );

    // What was measured (README "Printed cards that verify offline").
    let card = card_of(&scanned);
    let qr = protocol::qr::Qr::new(&scanned).unwrap();
    let square = holder_agent::wallet::card::QrSquare::for_modules(qr.size_with_quiet_zone());
    let module_mm = square.module_mm(qr.size_with_quiet_zone());
    println!(
        "offline card: SD-JWT presentation {} characters; packed {} characters ({} in the URL fragment); QR text {} characters; QR version {} ({} × {} modules, {:?}); module {:.3} mm on a {:.2} mm square",
        card.serialize().len(),
        offline_card::pack(&card).unwrap().len(),
        fragment.len(),
        scanned.len(),
        qr.version(),
        qr.width(),
        qr.width(),
        qr.correction(),
        module_mm,
        square.side,
    );
    assert!(qr.version() <= 25, "version {}", qr.version());
    assert!(module_mm >= 0.35 - 1e-4, "{module_mm:.3} mm modules");
    // The card shows the name, the badge and the issuer; nothing else of the badge.
    let jws = card.issuer_jwt().unwrap();
    assert_eq!(jws.typ(), Some(offline_card::TYP_CARD));
    assert_eq!(jws.claim_str("iss"), Some(t.issuer()));
    assert_eq!(card.disclosures.len(), 1);
    assert_eq!(card.disclosures[0].name.as_deref(), Some("name"));
    assert_eq!(card.disclosures[0].value, "田中 アナ");
    for absent in ["ana@example.org", "cnf", "ld", "x5c"] {
        assert!(!jws.payload.contains_key(absent), "{absent}");
        assert!(!jws.header.contains_key(absent), "{absent}");
        assert!(!card.serialize().contains("ana@example"), "no email");
    }

    let kid = jws.kid().unwrap().to_owned();
    // The server verifies it: every named check passes.
    let (status, r) = server_check(&t, &proof_of(&scanned)).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["state"], "verified", "{r:#}");
    assert_eq!(r["format"], offline_card::TYP_CARD);
    assert_eq!(r["disclosed"]["name"][0], "田中 アナ", "{r:#}");
    assert_eq!(r["disclosed"]["badge"][0], "Digital Supporter — Level 1");
    for name in [
        "issuer_signature",
        "trust",
        "disclosures",
        "validity",
        "status",
        "transparency",
    ] {
        assert_eq!(crate::common::check(&r, name), Some(true), "{name}: {r:#}");
    }
    // The issuer logged the card before delivering it: the check found its entry.
    assert!(
        crate::check::detail(&r, "transparency").contains(", entry "),
        "{r:#}"
    );

    // The /check page takes the card too: the proof pasted, the scanned link pasted,
    // a photo of the card's QR code uploaded; each checked as a card, all checks passed.
    let (cookie, token) = crate::check::check_page_csrf(&t).await;
    let paste = |input: String| {
        t.http
            .post(format!("{}/check", t.verifier()))
            .header("cookie", cookie.clone())
            .form(&[("csrf", token.clone()), ("input", input)])
            .send()
    };
    for input in [proof_of(&scanned), scanned.clone()] {
        let r = paste(input).await.unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(html.contains("data-state=\"verified\""), "{html}");
        assert!(html.contains("田中 アナ"), "{html}");
        assert!(html.contains("the QR code of a printed card"), "{html}");
    }
    let photo = protocol::qr::Qr::new(&scanned).unwrap().png(4);
    let r = t
        .http
        .post(format!("{}/check/upload", t.verifier()))
        .header("cookie", cookie.clone())
        .header("x-csrf-token", token.clone())
        .header("content-type", "image/png")
        .body(photo)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-state=\"verified\""), "{html}");
    // A card link whose proof is damaged: refused with the reason, never fetched.
    let r = paste(format!("{}/check/offline#AK1:%%%", t.verifier()))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(html.contains("could not be read as a card"), "{html}");
    assert!(html.contains("the card link&#39;s proof"), "{html}");

    // A card signed with the issuer's own key outside its log (a stolen key, a rogue
    // operator): the signature holds, the transparency check does not.
    let app = &t.stack.issuer.app;
    let minted = offline_card::issue(
        &CardClaims {
            iss: t.issuer().to_owned(),
            iat: t.stack.clock.now(),
            exp: None,
            status_uri: format!("{}/status/1", t.issuer()),
            status_idx: jws.payload["status"]["status_list"]["idx"]
                .as_i64()
                .unwrap(),
            holder_name: Some("Mallory".into()),
            badge: "Digital Supporter — Level 1".into(),
            issuer_name: "Akashi".into(),
        },
        &app.kid,
        &app.es256,
    )
    .unwrap()
    .present(&[0], None);
    let (_, r) = server_check(&t, &offline_card::pack(&minted).unwrap()).await;
    assert_eq!(
        crate::common::check(&r, "issuer_signature"),
        Some(true),
        "{r:#}"
    );
    assert_eq!(failed(&r), ["transparency"], "{r:#}");
    assert_eq!(r["state"], "rejected", "{r:#}");

    // The snapshot the offline page keeps: the trusted issuer's keys and its signed status
    // list; asked again within the minute, the same snapshot (the issuers are not asked).
    let (_, first) = t
        .get_json(&format!("{}/check/offline/snapshot", t.verifier()))
        .await;
    let issuers = first["issuers"].as_array().unwrap();
    assert_eq!(issuers.len(), 1, "{first:#}");
    assert_eq!(issuers[0]["iss"], t.issuer());
    assert!(
        issuers[0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid.as_str()),
        "{first:#}"
    );
    let lists = issuers[0]["status_lists"].as_array().unwrap();
    assert_eq!(lists.len(), 1, "{first:#}");
    assert_eq!(lists[0]["uri"], format!("{}/status/1", t.issuer()));
    assert_eq!(first["max_status_age"], 72 * 3600);
    t.stack.clock.advance(30);
    let (_, again) = t
        .get_json(&format!("{}/check/offline/snapshot", t.verifier()))
        .await;
    assert_eq!(again["fetched_at"], first["fetched_at"]);
    t.stack.clock.advance(31);
    let (_, later) = t
        .get_json(&format!("{}/check/offline/snapshot", t.verifier()))
        .await;
    assert_ne!(later["fetched_at"], first["fetched_at"]);

    // A disclosure rewritten: its digest is not one the issuer signed.
    let bad = url_with(&t, &tampered(&card, "Mallory"));
    let (_, r) = server_check(&t, &proof_of(&bad)).await;
    assert_eq!(failed(&r), ["disclosures"], "{r:#}");
    // Signed by a forger's key under the issuer's name and key id.
    let forgery = forged(&t, t.issuer(), &kid);
    let (_, r) = server_check(&t, &offline_card::pack(&forgery).unwrap()).await;
    assert_eq!(r["state"], "rejected", "{r:#}");
    assert!(failed(&r).contains(&"issuer_signature".to_owned()), "{r:#}");
    // An issuer of the forger's own, not on the trust list.
    let (_, r) = server_check(
        &t,
        &offline_card::pack(&forged(&t, "https://forged.example", "k1")).unwrap(),
    )
    .await;
    assert_eq!(r["state"], "rejected", "{r:#}");
    assert!(failed(&r).contains(&"issuer_signature".to_owned()), "{r:#}");
    assert!(failed(&r).contains(&"trust".to_owned()), "{r:#}");
    // Malformed: each refused with the check that failed, as a problem.
    for (text, needle) in [
        ("hello", "does not start with AK1:"),
        ("AK1:bb8", "base45"),
        ("AK1:BB8", "card"),
        ("AK1:%41", "card"),
    ] {
        let (status, r) = server_check(&t, text).await;
        assert_eq!(status, 400, "{text}: {r}");
        assert!(r.to_string().contains(needle), "{text}: {r}");
    }
    let huge = format!("AK1:{}", "0".repeat(20_000));
    let (status, _) = server_check(&t, &huge).await;
    assert!(status == 400 || status == 413, "{status}");

    // Revoked at the issuer: the server says so, and the issuer signs no new card.
    let credential = credential_id(&t, &held.offer, SD_JWT).await;
    set_status(&t, &credential, "revoked").await;
    t.stack.clock.advance(3700);
    let (_, r) = server_check(&t, &proof_of(&scanned)).await;
    assert_eq!(failed(&r), ["status"], "{r:#}");
    let r = wallet_get(
        &t,
        &held,
        &format!("/badges/{}/card.pdf?qr=offline", held.id),
    )
    .await;
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    assert!(text.contains("the badge is revoked"), "{text}");
    t.stack.stop().await;
}

/// The issuer signs cards only for its own badges, presented by their holder.
#[tokio::test]
async fn the_issuer_signs_a_card_only_for_the_holder_of_its_own_valid_badge() {
    let t = stack().await;
    let holder = crate::common::holder_key();
    let raw = t.obtain_credential(&holder, Some(30)).await;
    let sd = SdJwt::parse(&raw).unwrap();
    let now = t.stack.clock.now();
    let aud = format!("{}/card", t.issuer());
    let all: Vec<usize> = (0..sd.disclosures.len()).collect();
    let post = |body: String| {
        let http = t.http.clone();
        let url = aud.clone();
        async move {
            let r = http.post(url).body(body).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let kb = |aud: &str, nonce: &str, iat: i64, key: &SigningKey| {
        sd.present(
            &all,
            Some(protocol::sd_jwt::KeyBinding {
                aud,
                nonce,
                iat,
                signer: key,
                log_entry: None,
            }),
        )
        .serialize()
    };
    // A body over the limit: 413 with the problem, as the OpenAPI document says; not UTF-8:
    // 400 naming it.
    let r = t
        .http
        .post(&aud)
        .body(vec![b'a'; 300 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("more than the 262144 bytes allowed"),
        "{problem}"
    );
    let r = t
        .http
        .post(&aud)
        .body(vec![0xff, 0xfe])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not UTF-8"));
    // Why a card credential: the badge's own SD-JWT VC, even with no disclosure, packed
    // the same way, needs a far denser QR code than a card can carry.
    let bare = sd.present(&[], None);
    let packed = offline_card::pack(&bare).unwrap();
    let qr = protocol::qr::Qr::new(&format!(
        "https://verifier.example.org/check/offline#{}",
        base45::to_fragment(&packed)
    ));
    let jws = sd.issuer_jwt().unwrap();
    println!(
        "the SD-JWT VC as issued: {} characters; its JWS header {} bytes (x5c: {}), payload {} bytes; with no disclosure {} characters, packed {} characters; QR version {}",
        raw.len(),
        serde_json::to_vec(&jws.header).unwrap().len(),
        jws.header.contains_key("x5c"),
        serde_json::to_vec(&jws.payload).unwrap().len(),
        bare.serialize().len(),
        packed.len(),
        qr.as_ref()
            .map_or_else(|e| e.to_string(), |q| q.version().to_string()),
    );
    assert!(qr.is_err() || qr.as_ref().is_ok_and(|q| q.version() > 25));

    let (status, body) = post(kb(&aud, "akashi-card", now, &holder)).await;
    assert_eq!(status, 200, "{body}");
    let card = SdJwt::parse(&body).unwrap();
    assert_eq!(
        card.issuer_jwt().unwrap().typ(),
        Some(offline_card::TYP_CARD)
    );

    let stranger = SigningKey::generate(Alg::ES256);
    for (presentation, needle) in [
        (sd.present(&all, None).serialize(), "key binding"),
        (kb(&aud, "akashi-card", now, &stranger), "key binding"),
        (
            kb(
                "https://elsewhere.example/card",
                "akashi-card",
                now,
                &holder,
            ),
            "aud",
        ),
        (kb(&aud, "other", now, &holder), "nonce"),
        (kb(&aud, "akashi-card", now - 3600, &holder), "iat"),
        ("not an SD-JWT".to_owned(), "SD-JWT"),
    ] {
        let (status, body) = post(presentation).await;
        assert_eq!(status, 400, "{needle}: {body}");
        assert!(body.contains(needle), "{needle}: {body}");
    }
    // A badge of another issuer (re-signed by a key of its own) gets no card.
    let other = SigningKey::generate(Alg::ES256);
    let jwt = protocol::jose::Jws::sign(
        protocol::jose::header(protocol::sd_jwt::TYP_DC_SD_JWT, None),
        &sd.issuer_jwt().unwrap().payload,
        &other,
    );
    let (_, rest) = raw.split_once('~').unwrap();
    let forged = SdJwt::parse(&format!("{jwt}~{rest}")).unwrap();
    let body = forged
        .present(
            &(0..forged.disclosures.len()).collect::<Vec<_>>(),
            Some(protocol::sd_jwt::KeyBinding {
                aud: &aud,
                nonce: "akashi-card",
                iat: now,
                signer: &holder,
                log_entry: None,
            }),
        )
        .serialize();
    let (status, body) = post(body).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("signature"), "{body}");
    t.stack.stop().await;
}

/// What the page says, and where its verdict came from.
async fn verdict(b: &Browser, state: &str) -> (String, String) {
    b.wait_until(
        &format!(
            "const r = document.getElementById('offline-result');
             return r.dataset.state === '{state}' && !!r.dataset.source;"
        ),
        &format!("the verdict {state}"),
    )
    .await
    .unwrap();
    let text = b.text("#offline-result").await.unwrap();
    let source = b
        .attribute("#offline-result", "data-source")
        .await
        .unwrap()
        .unwrap_or_default();
    (text, source)
}

/// Cuts the network: DevTools offline mode for the page and, as its service worker's own
/// fetches escape the page's emulation, the verifier taken off the network too.
async fn cut(b: &Browser, t: &mut TestStack) {
    b.set_offline(true).await.unwrap();
    t.stack.pause_verifier().await;
}

/// Gives the network back.
async fn reconnect(b: &Browser, t: &mut TestStack) {
    t.stack.resume_verifier().await.unwrap();
    b.set_offline(false).await.unwrap();
}

/// Opens `url` as a new page (not a fragment change of the page shown).
async fn open(b: &Browser, url: &str) {
    b.goto("about:blank").await.unwrap();
    b.goto(url).await.unwrap();
}

/// Online: loads the page and waits until its service worker has kept it and a fresh
/// snapshot.
async fn keep_for_offline(b: &Browser, t: &TestStack, path: &str) {
    open(b, &format!("{}{path}", t.verifier())).await;
    b.wait_until(
        "return document.getElementById('offline-ready').dataset.ready === 'true';",
        "the page kept for offline use",
    )
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn a_printed_card_verifies_in_the_browser_with_the_network_cut() {
    let mut t = stack().await;
    let held = held_badge(&t).await;
    let scanned = scanned_card(&t, &held, "browser-card").await;
    let card = card_of(&scanned);
    let kid = card.issuer_jwt().unwrap().kid().unwrap().to_owned();

    let mut b = Browser::start(TEST).await.unwrap();
    keep_for_offline(&b, &t, "/check/offline").await;
    // The first visit already says the page works offline (no reload needed).
    b.screenshots("kept-first-visit-en").await.unwrap();
    cut(&b, &mut t).await;
    open(&b, &scanned).await;
    let (text, source) = verdict(&b, "verified").await;
    assert_eq!(source, "device", "{text}");
    assert!(
        text.contains("Verified: the issuer signed this badge"),
        "{text}"
    );
    assert!(text.contains("田中 アナ"), "{text}");
    assert!(text.contains("Digital Supporter — Level 1"), "{text}");
    assert!(text.contains("Status as of just now."), "{text}");
    assert!(
        text.contains("the verifier's server could not be reached"),
        "{text}"
    );
    assert_eq!(
        b.execute("return navigator.onLine;", vec![]).await.unwrap(),
        Value::Bool(false)
    );
    b.screenshots("verified-offline-en").await.unwrap();

    // Attacks, still offline.
    open(&b, &url_with(&t, &tampered(&card, "Mallory"))).await;
    let (text, _) = verdict(&b, "tampered").await;
    assert!(!text.contains("Mallory"), "{text}");
    open(&b, &url_with(&t, &forged(&t, t.issuer(), &kid))).await;
    verdict(&b, "bad-signature").await;
    open(
        &b,
        &url_with(&t, &forged(&t, "https://forged.example", "k1")),
    )
    .await;
    verdict(&b, "untrusted").await;
    for junk in [
        format!("AK1:{}", "A".repeat(9000)),
        "AK1:bb8".to_owned(),
        "AK1:BB8".to_owned(),
        "AK1:%41%42".to_owned(),
        "<img src=x onerror=alert(1)>".to_owned(),
    ] {
        open(&b, &format!("{}/check/offline#{junk}", t.verifier())).await;
        let (text, _) = verdict(&b, "malformed").await;
        assert!(text.contains("not a readable card proof"), "{junk}: {text}");
    }
    b.screenshot("malformed-offline").await.unwrap();

    // Online: the server checks it too, and its answer is the one shown.
    reconnect(&b, &mut t).await;
    open(&b, &scanned).await;
    let (text, source) = verdict(&b, "verified").await;
    assert_eq!(source, "server", "{text}");
    assert!(
        text.contains("The verifier's server checked it too"),
        "{text}"
    );

    // In Japanese: the page kept in Japanese, offline.
    keep_for_offline(&b, &t, "/lang/ja?next=/check/offline").await;
    b.screenshots("kept-ja").await.unwrap();
    cut(&b, &mut t).await;
    open(&b, &scanned).await;
    let (text, source) = verdict(&b, "verified").await;
    assert_eq!(source, "device", "{text}");
    assert!(
        text.contains("検証済み：発行者が署名したバッジで、取り消されていません。"),
        "{text}"
    );
    assert!(text.contains("状態はたった今の情報です。"), "{text}");
    b.screenshots("verified-offline-ja").await.unwrap();
    reconnect(&b, &mut t).await;
    keep_for_offline(&b, &t, "/lang/en?next=/check/offline").await;

    // A status snapshot older than the bound (72 hours): the issuer's list signed 4 days
    // ago (the stack's clock set back while the page refreshes its snapshot).
    t.stack.clock.advance(-4 * 86_400);
    keep_for_offline(&b, &t, "/check/offline").await;
    t.stack.clock.advance(4 * 86_400);
    cut(&b, &mut t).await;
    open(&b, &scanned).await;
    let (text, _) = verdict(&b, "status-too-old").await;
    assert!(text.contains("too old (more than 72 hours)"), "{text}");
    assert!(text.contains("Status as of 4 days ago."), "{text}");

    // Revoked at the issuer; the page refreshes its snapshot online, then offline says so.
    let credential = credential_id(&t, &held.offer, SD_JWT).await;
    set_status(&t, &credential, "revoked").await;
    // Past the snapshot's minute (the verifier serves one snapshot a minute).
    t.stack.clock.advance(61);
    reconnect(&b, &mut t).await;
    keep_for_offline(&b, &t, "/check/offline").await;
    cut(&b, &mut t).await;
    open(&b, &scanned).await;
    let (text, source) = verdict(&b, "revoked").await;
    assert_eq!(source, "device");
    assert!(
        text.contains("Revoked: the issuer has withdrawn this badge."),
        "{text}"
    );
    assert!(text.contains("Status as of just now."), "{text}");
    b.screenshots("revoked-offline-en").await.unwrap();
    reconnect(&b, &mut t).await;
    b.quit().await;
    t.stack.stop().await;
}
