//! Journeys 1–3 against a real SMTP server: bulk registration, the invitation email, the
//! wallet's registration and callback, the badge-receipt email (button, offer link and QR),
//! the PIN email, redeeming the offer; an SMTP outage; a crash in the middle of an import.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{ADMIN, TestStack, zbarimg};
use crate::formats::{self, JWT_VC_ES256, JWT_VC_RS256, LDP_VC, SD_JWT};
use crate::mail::{Mail, SmtpSink, free_port};

const WAIT: Duration = Duration::from_secs(60);

async fn achievement(t: &TestStack, name: &str) -> String {
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": name,
                "description": "Helps citizens use public digital services.",
                "criteria": "Completed the 6-hour course.",
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_owned()
}

async fn import(
    http: &reqwest::Client,
    issuer: &str,
    achievement: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let r = http
        .post(format!(
            "{issuer}/admin/imports?achievement_id={achievement}"
        ))
        .bearer_auth(ADMIN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("import request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn wallet_post(t: &TestStack, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = t
        .http
        .post(format!("{}{path}", t.stack.wallet.url))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.expect("wallet request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn admin_get(t: &TestStack, path: &str) -> Value {
    let r = t
        .http
        .get(format!("{}{path}", t.issuer()))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin GET");
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("JSON")
}

/// The registration of `email` (through the paged list).
async fn registration_of(t: &TestStack, email: &str) -> Value {
    let list = admin_get(t, "/admin/registrations?limit=1000").await;
    let id = list["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("{email} is registered: {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin_get(t, &format!("/admin/registrations/{id}")).await
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn imported_recipients_get_both_emails_in_their_language_and_redeem_the_badge() {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let t = TestStack::start_with(|c| {
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()))
    })
    .await;
    let wallet = t.stack.wallet.url.clone();
    let ach = achievement(&t, "Digital Supporter — Level 1").await;

    // The CSV: a BOM, a quoted Japanese name, a duplicate row, a bad address on line 5.
    let csv = "\u{feff}name,email,locale,tx_code\n\
               \"田中, 花子\",hanako@example.jp,ja,false\n\
               Ana Lee,ana@example.org,en,true\n\
               Ana Lee,ANA@example.org,en,true\n\
               Bad Row,not-an-address,en,false\n";
    let (status, summary) = import(&t.http, t.issuer(), &ach, "text/csv", csv).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["records"], 4, "{summary}");
    assert_eq!(summary["invited"], 2, "{summary}");
    assert_eq!(summary["duplicates"], 1, "{summary}");
    assert_eq!(summary["rejected"], 1, "{summary}");
    assert_eq!(
        summary["errors"][0],
        json!({"record": 4, "line": 5, "column": "email", "reason": "is not an email address"})
    );

    // Email 1, in each recipient's language, with a link to the wallet's registration page.
    let got = sink
        .wait_until(WAIT, "two invitations", |m| m.len() >= 2)
        .await;
    assert_eq!(got.len(), 2);
    let ja = sink.to("hanako@example.jp").await.remove(0);
    let en = sink.to("ana@example.org").await.remove(0);
    assert!(
        ja.subject()
            .contains("デジタルバッジ「Digital Supporter — Level 1」"),
        "{}",
        ja.subject()
    );
    assert!(ja.text().contains("田中, 花子 様"), "{}", ja.text());
    assert!(
        en.subject().contains("is waiting for you"),
        "{}",
        en.subject()
    );
    for m in [&ja, &en] {
        assert_eq!(m.0["content_type"], "multipart/alternative");
        assert!(m.html().contains("<a href=\""), "HTML part");
        assert!(
            m.0["from"]
                .as_str()
                .unwrap()
                .contains("badges@akashi.example")
        );
    }
    let register_link = en
        .link(&format!("{}/invitations/open?invitation=", t.issuer()))
        .expect("the invitation links through the issuer to the wallet's registration page");
    // The issuer notes the opening and sends the browser on to the wallet's page.
    let opened = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&register_link)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 303);
    assert!(
        opened.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&format!("{wallet}/register?invitation=")),
        "{:?}",
        opened.headers()
    );
    assert!(
        en.html().contains(&register_link.replace('&', "&amp;"))
            || en.html().contains(&register_link)
    );

    // The wallet verifies the invitation against the issuer's key, creates the account and
    // calls the issuer back.
    let invitation = register_link
        .split_once("invitation=")
        .unwrap()
        .1
        .to_owned();
    let (status, registered) =
        wallet_post(&t, "/api/register", None, json!({"invitation": invitation})).await;
    assert_eq!(status, 200, "{registered}");
    assert_eq!(registered["account"], "ana@example.org");
    assert_eq!(registered["created"], true);
    assert_eq!(registered["offered"], 1);
    let api_token = registered["api_token"].as_str().unwrap().to_owned();

    // A tampered invitation is refused by the wallet, by check.
    let mut bytes = invitation.clone().into_bytes();
    let i = bytes.len() - 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let (status, refused) =
        wallet_post(&t, "/api/register", None, json!({"invitation": tampered})).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_invitation", "{refused}");

    // Email 2 and the PIN, separately.
    let got = sink
        .wait_until(WAIT, "the badge and PIN emails", |m| m.len() >= 4)
        .await;
    assert_eq!(got.len(), 4);
    let ana: Vec<Mail> = sink.to("ana@example.org").await;
    let badge = ana
        .iter()
        .find(|m| m.subject().contains("is ready"))
        .expect("badge email");
    let pin_mail = ana
        .iter()
        .find(|m| m.subject().contains("PIN"))
        .expect("PIN email");
    let pin = pin_mail
        .text()
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .expect("a 6-digit PIN")
        .to_owned();
    assert!(
        !badge.text().contains(&pin),
        "the PIN travels in its own email"
    );
    let offer_link = badge
        .link("openid-credential-offer://?credential_offer_uri=")
        .expect("the offer link for any wallet");
    let open_link = badge
        .link(&format!("{wallet}/receive?credential_offer_uri="))
        .expect("the button's link to the configured web wallet");
    let offer_uri = percent_decode(offer_link.split_once('=').unwrap().1);
    assert_eq!(
        percent_decode(open_link.split_once('=').unwrap().1),
        offer_uri
    );
    assert!(
        offer_uri.starts_with(&format!("{}/offers/", t.issuer())),
        "{offer_uri}"
    );
    // The inline QR image decodes (independent decoder) to the same offer link.
    assert!(badge.html().contains("cid:offer-qr"));
    let png = badge.image("offer-qr").expect("the inline QR image");
    let decoded = tokio::task::spawn_blocking(move || zbarimg(&png))
        .await
        .unwrap();
    assert_eq!(decoded, offer_link);

    // The offer link redeems with the PIN; a wrong PIN first costs one attempt.
    let (status, wrong) = wallet_post(
        &t,
        "/api/accept",
        Some(&api_token),
        json!({"offer": decoded, "tx_code": if pin == "000000" { "111111" } else { "000000" }}),
    )
    .await;
    assert_ne!(status, 200, "{wrong}");
    assert!(
        wrong["error_description"]
            .as_str()
            .unwrap()
            .contains("4 attempts left"),
        "{wrong}"
    );
    let (status, accepted) = wallet_post(
        &t,
        "/api/accept",
        Some(&api_token),
        json!({"offer": offer_link, "tx_code": pin}),
    )
    .await;
    assert_eq!(status, 200, "{accepted}");

    // The registration's state and history, and each email's status.
    let reg = registration_of(&t, "ana@example.org").await;
    assert_eq!(reg["state"], "issued", "{reg}");
    let kinds: Vec<(&str, &str)> = reg["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("invitation", "sent"), ("badge", "sent"), ("pin", "sent")]
    );
    let events: Vec<&str> = reg["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "registered",
        "invitation_email_sent",
        "wallet_registered",
        "offered",
        "badge_email_sent",
        "pin_email_sent",
        "issued",
    ] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }

    // The same invitation again: the account exists (no token handed out), nothing is sent.
    let (status, again) =
        wallet_post(&t, "/api/register", None, json!({"invitation": invitation})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["created"], false);
    assert!(again.get("api_token").is_none(), "{again}");
    assert_eq!(again["offered"], 0);

    // A recipient the wallet knows goes straight to email 2.
    let second = achievement(&t, "Digital Supporter — Level 2").await;
    let (status, r) = t
        .admin_post(
            &format!("/admin/achievements/{second}/registrations"),
            json!({"name": "Ana Lee", "email": "Ana@Example.org"}),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["outcome"], "offered", "{r}");
    let got = sink
        .wait_until(WAIT, "the level 2 badge email", |m| m.len() >= 5)
        .await;
    let last = got.last().unwrap();
    assert!(last.subject().contains("Level 2"), "{}", last.subject());
    assert!(last.link("openid-credential-offer://").is_some());

    // The badge email's offer redeems in every format; revoked, it reads as revoked in
    // both kinds of status list.
    let level2 = last.link("openid-credential-offer://").unwrap();
    let offer = json!({"credential_offer_uri": percent_decode(level2.split_once('=').unwrap().1)});
    let code = t.pre_authorized_code(&offer).await;
    let (status, token) = t.token(&code, None).await;
    assert_eq!(status, 200, "{token}");
    let token = token["access_token"].as_str().unwrap().to_owned();
    // The offer is bound to the holder key Ana's wallet proved at its callback (bound
    // offers, see the bound_offers journeys): the requests prove that key.
    let holder = t
        .stack
        .wallet
        .app
        .ensure_account("ana@example.org", t.stack.clock.now())
        .await
        .unwrap()
        .key;
    for configuration in [SD_JWT, JWT_VC_ES256, JWT_VC_RS256, LDP_VC] {
        let (status, body) = formats::request(&t, &token, configuration, &[&holder]).await;
        assert_eq!(status, 200, "{configuration}: {body}");
    }
    let offer_id = offer["credential_offer_uri"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let state = admin_get(&t, &format!("/admin/offers/{offer_id}")).await;
    let credentials = state["credentials"].as_array().unwrap().clone();
    assert_eq!(credentials.len(), 4, "{state}");
    for c in &credentials {
        formats::set_status(&t, c["id"].as_str().unwrap(), "revoked").await;
    }
    for c in &credentials {
        let idx = c["status_idx"].as_u64().unwrap() as usize;
        if c["configuration"] == SD_JWT {
            assert_eq!(
                formats::token_status(&t, idx).await,
                1,
                "revoked in the Token Status List"
            );
        } else {
            let (_, list, _) = formats::bitstring_list(&t, "revocation").await;
            assert!(
                list.get(idx).unwrap(),
                "revoked in the Bitstring Status List"
            );
        }
    }
    let level2_registration = admin_get(
        &t,
        &format!("/admin/registrations/{}", r["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        level2_registration["state"], "revoked",
        "{level2_registration}"
    );

    // Registering the same person again changes nothing.
    let (status, dup) = t
        .admin_post(
            &format!("/admin/achievements/{second}/registrations"),
            json!({"name": "Ana Lee", "email": "ana@example.org"}),
        )
        .await;
    assert_eq!(status, 200, "{dup}");
    assert_eq!(dup["outcome"], "duplicate");
    assert_eq!(dup["id"], r["id"]);

    // The Japanese recipient's invitation is still waiting.
    let hanako = registration_of(&t, "hanako@example.jp").await;
    assert_eq!(hanako["state"], "invited", "{hanako}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().await.len(), 5, "no email was sent twice");
    t.stack.stop().await;
}

#[tokio::test]
async fn callback_refuses_forged_and_foreign_invitations() {
    let t = TestStack::start().await;
    let post = |token: String| {
        let http = t.http.clone();
        let url = format!("{}/invitations/callback", t.issuer());
        async move {
            let r = http.post(url).bearer_auth(token).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Signed by a key that is not the issuer's.
    let forged = protocol::invitation::Invitation {
        iss: t.issuer().to_owned(),
        sub: "nobody".into(),
        email: "x@example.org".into(),
        name: "X".into(),
        issuer_name: "X".into(),
        achievement: "X".into(),
        locale: "en".into(),
        callback: format!("{}/invitations/callback", t.issuer()),
        iat: t.stack.clock.now(),
        exp: t.stack.clock.now() + 60,
    };
    let other = protocol::keys::SigningKey::generate(protocol::keys::Alg::ES256);
    let (status, body) = post(forged.sign(&other, "did:web:x#key-1")).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_token");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{body}"
    );
    // Missing.
    let r = t
        .http
        .post(format!("{}/invitations/callback", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (1,000 emails through an SMTP outage)"]
async fn smtp_outage_delays_mail_and_loses_none() {
    let mut sink = SmtpSink::down();
    let smtp = sink.url();
    let t = TestStack::start_with(|c| {
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()))
    })
    .await;
    let ach = achievement(&t, "Outage Badge").await;
    let mut csv = String::from("name,email\n");
    for i in 0..1000 {
        csv.push_str(&format!("Person {i},p{i}@example.org\n"));
    }
    let (status, summary) = import(&t.http, t.issuer(), &ach, "text/csv", csv).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["invited"], 1000, "{summary}");

    // With the server down, every message is tried and kept for a retry.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let counts = admin_get(&t, "/admin/outbox").await;
        if counts["retrying"] == 1000 {
            assert_eq!(counts["sent"], 0);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{counts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let some = registration_of(&t, "p7@example.org").await;
    assert_eq!(some["messages"][0]["status"], "retrying", "{some}");
    assert!(
        some["messages"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("SMTP"),
        "{some}"
    );

    // The server comes back; the retries fall due.
    sink.up().await;
    t.stack.clock.advance(3600);
    let got = sink
        .wait_until(Duration::from_secs(120), "1000 invitations", |m| {
            m.len() >= 1000
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = if got.len() == 1000 {
        sink.received().await
    } else {
        got
    };
    assert_eq!(got.len(), 1000, "each message exactly once");
    let recipients: HashSet<&str> = got.iter().map(Mail::to).collect();
    assert_eq!(recipients.len(), 1000);
    let counts = admin_get(&t, "/admin/outbox").await;
    assert_eq!(counts["sent"], 1000, "{counts}");
    assert_eq!(counts["pending"], 0, "{counts}");
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (imports 100,000 rows)"]
async fn import_edge_cases_and_a_hundred_thousand_rows() {
    // This instance only queues (another would send): 100,000 emails are not the point.
    let t = TestStack::start_with(|c| c.issuer.outbox_concurrency = 0).await;
    let ach = achievement(&t, "Bulk Badge").await;

    // Header problems fail the file, naming the column; nothing is written.
    let (status, body) = import(
        &t.http,
        t.issuer(),
        &ach,
        "text/csv",
        "name,mail\nA,a@example.org\n",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("unknown column \"mail\""),
        "{body}"
    );
    assert_eq!(body["field"], "header");
    let (status, body) = import(&t.http, t.issuer(), &ach, "text/plain", "x").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "Content-Type");
    let (status, body) = import(&t.http, t.issuer(), "no-such", "text/csv", "name,email\n").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "achievement_id");

    // Bad rows are reported one by one with line, column and reason; good rows go in.
    let csv = "name,email,locale,tx_code,evidence_url\n\
               A,a@example.org,en,,\n\
               ,b@example.org,en,,\n\
               C,c@example.org,fr,,\n\
               D,d@example.org,en,perhaps,\n\
               E,e@example.org,en,,ftp://x\n\
               F,f@bad,en,,\n\
               G,g@example.org,ja,1,https://evidence.example/g\n";
    let (status, s) = import(&t.http, t.issuer(), &ach, "text/csv", csv).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (s["invited"].as_u64(), s["rejected"].as_u64()),
        (Some(2), Some(5)),
        "{s}"
    );
    let errors: Vec<(u64, String)> = s["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            (3, "name".to_owned()),
            (4, "locale".to_owned()),
            (5, "tx_code".to_owned()),
            (6, "evidence[0].id".to_owned()),
            (7, "email".to_owned()),
        ]
    );

    // JSON, with an error naming the member.
    let body = json!([
        {"name": "H", "email": "h@example.org", "results": [{"value": "A+"}]},
        {"name": "I", "email": "i@example.org", "tx_code": "yes"},
    ]);
    let (status, s) = import(
        &t.http,
        t.issuer(),
        &ach,
        "application/json",
        body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["invited"], 1, "{s}");
    assert_eq!(s["errors"][0]["record"], 2);
    assert_eq!(s["errors"][0]["column"], "tx_code");

    // 100,000 rows in one request, streamed; again, all duplicates.
    let mut csv = String::with_capacity(6_000_000);
    csv.push_str("name,email\n");
    for i in 0..100_000 {
        csv.push_str(&format!("Supporter {i},s{i}@example.org\n"));
    }
    let started = std::time::Instant::now();
    let (status, s) = import(&t.http, t.issuer(), &ach, "text/csv", csv.clone()).await;
    eprintln!("100,000-row import: {:?}", started.elapsed());
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["invited"], 100_000, "{s}");
    assert_eq!(s["rejected"], 0, "{s}");
    let counts = admin_get(&t, "/admin/outbox").await;
    assert_eq!(counts["pending"], 100_000 + 3, "{counts}");
    let (status, s) = import(&t.http, t.issuer(), &ach, "text/csv", csv).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["duplicates"], 100_000, "{s}");
    assert_eq!(s["invited"], 0, "{s}");
    let counts = admin_get(&t, "/admin/outbox").await;
    assert_eq!(
        counts["pending"],
        100_000 + 3,
        "nothing queued twice: {counts}"
    );
    t.stack.stop().await;
}

/// The issuer as its own process (`akashi issuer serve`), so it can be killed.
pub(super) struct IssuerProcess {
    pub(super) child: tokio::process::Child,
    pub(super) url: String,
}

pub(super) fn issuer_env(
    dir: &std::path::Path,
    port: u16,
    smtp: &str,
    schema: &str,
) -> Vec<(String, String)> {
    let url = format!("http://127.0.0.1:{port}");
    let mut env = vec![
        ("ISSUER_LISTEN".into(), format!("127.0.0.1:{port}")),
        ("ISSUER_PUBLIC_URL".into(), url),
        ("ISSUER_DATA_DIR".into(), dir.display().to_string()),
        ("ISSUER_ADMIN_TOKEN".into(), ADMIN.into()),
        ("ISSUER_OUTBOX_LEASE".into(), "3".into()),
        ("SMTP_URL".into(), smtp.into()),
        ("RUST_LOG".into(), "error".into()),
    ];
    match std::env::var("TEST_DATABASE_URL") {
        Ok(pg) if !pg.is_empty() => {
            env.push(("ISSUER_DATABASE_URL".into(), pg));
            env.push(("ISSUER_PG_SCHEMA".into(), schema.into()));
        }
        _ => env.push((
            "ISSUER_DATABASE_URL".into(),
            format!("sqlite://{}/issuer.db", dir.display()),
        )),
    }
    env
}

impl IssuerProcess {
    pub(super) async fn start(env: &[(String, String)], http: &reqwest::Client) -> IssuerProcess {
        let url = env
            .iter()
            .find(|(k, _)| k == "ISSUER_PUBLIC_URL")
            .unwrap()
            .1
            .clone();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
            .args(["issuer", "serve"])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .kill_on_drop(true)
            .spawn()
            .expect("akashi issuer serve starts");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(r) = http
                .get(format!("{url}/.well-known/openid-credential-issuer"))
                .send()
                .await
                && r.status() == 200
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the issuer did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        IssuerProcess { child, url }
    }

    async fn outbox(&self, http: &reqwest::Client) -> Option<Value> {
        let r = http
            .get(format!("{}/admin/outbox", self.url))
            .bearer_auth(ADMIN)
            .send()
            .await
            .ok()?;
        r.json().await.ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "heavy: run by ./test (kills an import of 10,000 rows)"]
async fn killed_mid_import_every_recipient_gets_exactly_one_invitation() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("t{}_issuer", uuid::Uuid::new_v4().simple());
    let env = issuer_env(dir.path(), free_port(), &sink.url(), &schema);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut issuer = IssuerProcess::start(&env, &http).await;
    let (status, a) = {
        let r = http
            .post(format!("{}/admin/achievements", issuer.url))
            .bearer_auth(ADMIN)
            .json(&json!({"name": "Crash Badge", "description": "d", "criteria": "c"}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 201, "{a}");
    let ach = a["id"].as_str().unwrap().to_owned();
    const N: usize = 10_000;
    let mut csv = String::from("name,email\n");
    for i in 0..N {
        csv.push_str(&format!("Volunteer {i},v{i}@example.org\n"));
    }

    // The import runs; once part of it is in (and mail is flowing), SIGKILL.
    let importing = tokio::spawn({
        let (http, url, ach, csv) = (http.clone(), issuer.url.clone(), ach.clone(), csv.clone());
        async move {
            http.post(format!("{url}/admin/imports?achievement_id={ach}"))
                .bearer_auth(ADMIN)
                .header("content-type", "text/csv")
                .body(csv)
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let counts = issuer.outbox(&http).await.unwrap_or(Value::Null);
        let queued = counts["pending"].as_i64().unwrap_or(0) + counts["sent"].as_i64().unwrap_or(0);
        // Mail flowing at the kill if it can be; half the rows in at the latest, so a fast
        // import on a loaded machine is still interrupted.
        let sent = counts["sent"].as_i64().unwrap_or(0);
        if queued >= 2_000 && (sent > 0 || queued >= 5_000) {
            break;
        }
        assert!(
            !importing.is_finished(),
            "the import finished before it could be interrupted"
        );
        assert!(tokio::time::Instant::now() < deadline, "{counts}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    issuer.child.start_kill().expect("SIGKILL");
    issuer.child.wait().await.unwrap();
    let interrupted = importing.await.unwrap();
    assert!(
        interrupted.is_err(),
        "the import was cut off: {interrupted:?}"
    );

    // Restarted, the same file again: what got in is recognised, the rest goes in.
    let issuer = IssuerProcess::start(&env, &http).await;
    let (status, s) = import(&http, &issuer.url, &ach, "text/csv", csv).await;
    assert_eq!(status, 200, "{s}");
    let (invited, dups) = (
        s["invited"].as_u64().unwrap(),
        s["duplicates"].as_u64().unwrap(),
    );
    assert_eq!(invited + dups, N as u64, "{s}");
    assert!(dups >= 2_000, "{s}");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let counts = issuer.outbox(&http).await.unwrap_or(Value::Null);
        if counts["sent"] == N && counts["pending"] == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{counts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let got = sink.received().await;
    // Per recipient: one invitation (one Message-ID). A message the killed process had
    // handed to the server but not yet marked sent can arrive twice, with the same
    // Message-ID, so a receiver drops it.
    let mut ids: HashMap<String, HashSet<String>> = HashMap::new();
    for m in &got {
        ids.entry(m.to().to_owned())
            .or_default()
            .insert(m.message_id().to_owned());
    }
    assert_eq!(ids.len(), N, "every recipient got an invitation");
    assert!(
        ids.values().all(|s| s.len() == 1),
        "none got two different invitations"
    );
    let repeats = got.len() - N;
    eprintln!(
        "{N} invitations; {repeats} repeated deliveries (same Message-ID) from the killed process"
    );
    assert!(
        repeats <= 64,
        "at most the messages in flight at the kill repeat: {repeats}"
    );

    drop(issuer);
    drop_pg_schema(&schema).await;
}

async fn run_cli(env: &[(String, String)], args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_akashi-launcher"))
        .arg("issuer")
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .expect("akashi runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_import_with_progress_then_the_dev_mailbox_lists_the_invitations() {
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("t{}_issuer", uuid::Uuid::new_v4().simple());
    // No SMTP_URL: the emails go to the outbox directory and the mailbox page.
    let env: Vec<(String, String)> = issuer_env(dir.path(), free_port(), "", &schema)
        .into_iter()
        .filter(|(k, _)| k != "SMTP_URL")
        .collect();
    let (ok, out, err) = run_cli(
        &env,
        &[
            "achievement-create",
            "--name",
            "CLI Badge",
            "--description",
            "d",
            "--criteria",
            "c",
            "--json",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let ach: Value = serde_json::from_str(&out).unwrap();
    let ach = ach["id"].as_str().unwrap().to_owned();

    const N: usize = 1_200;
    let mut csv = String::from("name,email,locale\n");
    for i in 0..N {
        if i == 700 {
            csv.push_str("Broken,broken-address,en\n");
        }
        csv.push_str(&format!("名前 {i},c{i}@example.org,ja\n"));
    }
    let file = dir.path().join("people.csv");
    std::fs::write(&file, &csv).unwrap();
    let (ok, out, err) = run_cli(
        &env,
        &["import", file.to_str().unwrap(), "--achievement", &ach],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(
        out.starts_with(&format!("{} records: {N} invited, 0 offered (wallet already known), 0 already registered, 1 rejected", N + 1)),
        "{out}"
    );
    assert!(
        out.contains("line 702 (record 701), email: is not an email address"),
        "{out}"
    );
    assert!(err.contains("100%"), "a progress bar on stderr: {err}");
    let (ok, out, _) = run_cli(
        &env,
        &[
            "import",
            file.to_str().unwrap(),
            "--achievement",
            &ach,
            "--json",
        ],
    )
    .await;
    assert!(ok);
    let again: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(again["duplicates"], N, "{again}");
    // The admin reads, as commands.
    let (ok, out, err) = run_cli(&env, &["registrations", "--limit", "5", "--json"]).await;
    assert!(ok, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["registrations"].as_array().unwrap().len(), 5);
    assert!(
        list["registrations"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("名前 ")
    );
    let (ok, out, _) = run_cli(&env, &["outbox", "--json"]).await;
    assert!(ok);
    let counts: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        counts["pending"], N,
        "queued by the command, not yet sent: {counts}"
    );
    let (ok, out, _) = run_cli(&env, &["audit", "--json"]).await;
    assert!(ok);
    assert!(serde_json::from_str::<Value>(&out).unwrap()["entries"].is_array());

    // The issuer agent sends what the command queued.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let issuer = IssuerProcess::start(&env, &http).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let counts = issuer.outbox(&http).await.unwrap_or(Value::Null);
        if counts["sent"] == N {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{counts}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let page = http
        .get(format!("{}/dev/mailbox", issuer.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("デジタルバッジ「CLI Badge」"),
        "Japanese subjects"
    );
    let links = page.matches("/invitations/open?invitation=").count();
    assert!(
        links >= 500,
        "the newest 500 messages with clickable links: {links}"
    );
    let id = page
        .split("href=\"/dev/mailbox/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let one = http
        .get(format!("{}/dev/mailbox/{id}", issuer.url))
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    assert!(
        one.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        one.text()
            .await
            .unwrap()
            .contains("ウォレットのアカウントを作成")
    );
    assert!(dir.path().join("outbox").join(format!("{id}.eml")).exists());
    let missing = http
        .get(format!("{}/dev/mailbox/../issuer.db", issuer.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    drop(issuer);
    drop_pg_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_rotated_by_the_cli_takes_effect_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let schema = format!("t{}_issuer", uuid::Uuid::new_v4().simple());
    let env: Vec<(String, String)> = issuer_env(dir.path(), free_port(), "", &schema)
        .into_iter()
        .filter(|(k, _)| k != "ISSUER_ADMIN_TOKEN" && k != "SMTP_URL")
        .collect();
    let (ok, first, err) = run_cli(&env, &["admin-token-rotate"]).await;
    assert!(ok, "{err}");
    let first = first.trim().to_owned();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let issuer = IssuerProcess::start(&env, &http).await;
    let status = |token: String| {
        let (http, url) = (http.clone(), issuer.url.clone());
        async move {
            http.get(format!("{url}/admin/outbox"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(first.clone()).await, 200);
    let (ok, second, _) = run_cli(&env, &["admin-token-rotate"]).await;
    assert!(ok);
    let second = second.trim().to_owned();
    assert_ne!(first, second);
    assert_eq!(status(first).await, 401, "the old token stops working");
    assert_eq!(status(second).await, 200);
    // With the token set in the environment, rotation is refused with the reason.
    let mut fixed = env.clone();
    fixed.push(("ISSUER_ADMIN_TOKEN".into(), "x".into()));
    let (ok, _, err) = run_cli(&fixed, &["admin-token-rotate"]).await;
    assert!(!ok);
    assert!(err.contains("ISSUER_ADMIN_TOKEN"), "{err}");
    drop(issuer);
    drop_pg_schema(&schema).await;
}

/// Drops a test's PostgreSQL schema (when the tests run on PostgreSQL).
pub(super) async fn drop_pg_schema(schema: &str) {
    if let Ok(pg) = std::env::var("TEST_DATABASE_URL")
        && !pg.is_empty()
    {
        akashi::drop_pg_schemas(&pg, &[schema.to_owned()]).await;
    }
}
