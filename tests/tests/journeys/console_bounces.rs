//! A person's "invitation opened" and "mail bounced" statuses, over HTTP with a real SMTP
//! server: an address the server refuses with a 550 is bounced at once (one attempt, no
//! retries); every email goes out from its own VERP return path; a delivery status
//! notification handed to `POST /admin/bounces` marks the email it names bounced, once;
//! forged, spliced, transient, oversized and malformed notifications change nothing and
//! say which check failed; the invitation's link notes its first opening and goes on to
//! the wallet. The console's counts, filter, CSV export and person history show both.

use serde_json::Value;

use crate::common::{ADMIN, TestStack};
use crate::console::{Console, PASSWORD, achievement, by_id, csv_data_lines, history, operator};
use crate::console_ops::{message_when, register};
use crate::mail::{Mail, SmtpSink};

const BOUNCE_DOMAIN: &str = "bounces.akashi.example";

async fn received(sink: &SmtpSink, to: &str) -> Mail {
    sink.wait_until(std::time::Duration::from_secs(30), to, |all| {
        all.iter().any(|m| m.to() == to)
    })
    .await
    .into_iter()
    .find(|m| m.to() == to)
    .unwrap()
}

/// A notification as Postfix writes one, returned to `return_path`, about `rcpt`.
fn dsn(return_path: &str, rcpt: &str, action: &str, status: &str) -> String {
    format!(
        "Return-Path: <>\r\n\
         Delivered-To: {return_path}\r\n\
         From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
         To: {return_path}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"7F2.1700000000/mx.example.net\"\r\n\
         \r\n\
         --7F2.1700000000/mx.example.net\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         Your message could not be delivered.\r\n\
         \r\n\
         --7F2.1700000000/mx.example.net\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mx.example.net\r\n\
         \r\n\
         Final-Recipient: rfc822; {rcpt}\r\n\
         Original-Recipient: rfc822;{rcpt}\r\n\
         Action: {action}\r\n\
         Status: {status}\r\n\
         Diagnostic-Code: smtp; 550 {status} <{rcpt}>: mailbox unavailable\r\n\
         \r\n\
         --7F2.1700000000/mx.example.net--\r\n"
    )
}

async fn post_dsn(t: &TestStack, body: impl Into<reqwest::Body>, query: &str) -> (u16, Value) {
    let r = t
        .http
        .post(format!("{}/admin/bounces{query}", t.issuer()))
        .bearer_auth(ADMIN)
        .header("content-type", "message/rfc822")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn opened_invitations_and_bounces_reach_the_console_and_forged_reports_do_not() {
    let sink = SmtpSink::start().await;
    sink.refuse(&["bob@example.org"]);
    let smtp = sink.url();
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()));
        c.issuer.bounce_domain = Some(BOUNCE_DOMAIN.into());
    })
    .await;
    let app = &t.stack.issuer.app;
    operator(&t, "op@agency.example", "Oscar Operator", "operator").await;
    let ach = achievement(&t).await;
    let ana = register(&t, &ach, "Ana Sent", "ana@example.org").await;
    let bob = register(&t, &ach, "Bob Refused", "bob@example.org").await;
    let cy = register(&t, &ach, "Cy Reported", "cy@example.org").await;
    let di = register(&t, &ach, "Di Opener", "di@example.org").await;

    // Bob's address is refused with a 550 at RCPT: bounced at the first attempt, never
    // retried (the clock does not need to move).
    let refused = message_when(&t, &bob, "the refusal", |m| m.bounced_at.is_some()).await;
    assert_eq!(refused.attempts, 1);
    assert_eq!(refused.next_attempt_at, kit::mail::outbox::NEVER);
    assert_eq!(refused.sent_at, None);
    assert!(
        refused
            .last_error
            .as_deref()
            .unwrap()
            .contains("Recipient address rejected: User unknown"),
        "{refused:?}"
    );

    // The others are sent, each from its own return path; the From stays the issuer's.
    let to_ana = received(&sink, "ana@example.org").await;
    let to_cy = received(&sink, "cy@example.org").await;
    let to_di = received(&sink, "di@example.org").await;
    let return_path = |m: &Mail| m.0["mail_from"].as_str().unwrap().to_owned();
    let ana_msg = message_when(&t, &ana, "sent", |m| m.sent_at.is_some()).await;
    let cy_msg = message_when(&t, &cy, "sent", |m| m.sent_at.is_some()).await;
    assert!(
        return_path(&to_ana).starts_with(&format!("bounces+{}-", ana_msg.id))
            && return_path(&to_ana).ends_with(&format!("@{BOUNCE_DOMAIN}")),
        "{}",
        return_path(&to_ana)
    );
    assert_ne!(return_path(&to_ana), return_path(&to_cy));
    assert!(
        to_ana.0["from"]
            .as_str()
            .unwrap()
            .contains("badges@akashi.example")
    );

    // Di opens the invitation's link: noted once, then on to the wallet's page.
    let link = to_di
        .link(&format!("{}/invitations/open?invitation=", t.issuer()))
        .expect("the invitation links through the issuer");
    let no_redirect = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..2 {
        let r = no_redirect.get(&link).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            to.starts_with(&format!("{}/register?invitation=ey", t.stack.wallet.url)),
            "{to}"
        );
        // The wallet's page opens for it.
        assert_eq!(t.http.get(&to).send().await.unwrap().status(), 200);
    }
    let opened: Vec<_> = app
        .store
        .registration_events(&di)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "invitation_opened")
        .collect();
    assert_eq!(opened.len(), 1, "noted once: {opened:?}");
    let view = app.registration_view(&di).await.unwrap();
    assert_eq!(view.invitation_opened_at, Some(opened[0].at));
    // A tampered or missing invitation notes nothing and still goes to the wallet, which
    // explains; nothing but the wallet is ever the target.
    let tampered = link.replace("invitation=ey", "invitation=eyX");
    let r = no_redirect.get(&tampered).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&t.stack.wallet.url)
    );
    let r = no_redirect
        .get(format!("{}/invitations/open", t.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let opened_ana = app.store.registration_events(&ana).await.unwrap();
    assert!(opened_ana.iter().all(|e| e.event != "invitation_opened"));

    // A notification about Cy's email, returned to its return path: Cy's email bounced.
    let (status, body) = post_dsn(
        &t,
        dsn(&return_path(&to_cy), "cy@example.org", "failed", "5.1.1"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "bounced");
    assert_eq!(body["message_id"], cy_msg.id.as_str());
    assert_eq!(body["registration_id"], cy.as_str());
    // Handed in again (a mail system's retry): nothing changes.
    let (status, body) = post_dsn(
        &t,
        dsn(&return_path(&to_cy), "cy@example.org", "failed", "5.1.1"),
        "",
    )
    .await;
    assert_eq!(
        (status, body["result"].as_str()),
        (200, Some("already_bounced"))
    );
    let cy_events = app.store.registration_events(&cy).await.unwrap();
    assert_eq!(
        cy_events
            .iter()
            .filter(|e| e.event == "mail_bounced")
            .count(),
        1
    );

    // Attacks, each refused by its check, and Ana's email never marked.
    let ana_rp = return_path(&to_ana);
    let (local, domain) = ana_rp.rsplit_once('@').unwrap();
    let (id_part, tag) = local.rsplit_once('-').unwrap();
    let flipped = format!(
        "{id_part}-{}{}@{domain}",
        &tag[..tag.len() - 1],
        if tag.ends_with('0') { '1' } else { '0' }
    );
    let cy_tag = return_path(&to_cy)
        .split('@')
        .next()
        .unwrap()
        .rsplit_once('-')
        .unwrap()
        .1
        .to_owned();
    let spliced = format!("{id_part}-{cy_tag}@{domain}");
    let unknown = issuer_agent::domain::bounces::return_path(app, "no-such-message").unwrap();
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "a forged tag",
            dsn(&flipped, "ana@example.org", "failed", "5.1.1").into_bytes(),
            "",
            422,
            "not this issuer's",
        ),
        (
            "another email's tag on Ana's id",
            dsn(&spliced, "ana@example.org", "failed", "5.1.1").into_bytes(),
            "",
            422,
            "not this issuer's",
        ),
        (
            "Ana's return path on a report about Cy",
            dsn(&ana_rp, "cy@example.org", "failed", "5.1.1").into_bytes(),
            "",
            422,
            "is about cy@example.org, not ana@example.org",
        ),
        (
            "a transient failure (4.x.x)",
            dsn(&ana_rp, "ana@example.org", "failed", "4.2.2").into_bytes(),
            "",
            422,
            "not a permanent failure",
        ),
        (
            "a delay",
            dsn(&ana_rp, "ana@example.org", "delayed", "4.4.7").into_bytes(),
            "",
            422,
            "not a permanent failure",
        ),
        (
            "another domain's return path",
            dsn(
                &ana_rp.replace(BOUNCE_DOMAIN, "evil.example"),
                "ana@example.org",
                "failed",
                "5.1.1",
            )
            .into_bytes(),
            "",
            422,
            "no return path of this issuer",
        ),
        (
            "a message that is no report",
            format!("To: {ana_rp}\r\nContent-Type: text/plain\r\n\r\nHello").into_bytes(),
            "",
            400,
            "no message/delivery-status part",
        ),
        (
            "junk",
            b"\xff\xfe\x00 not a message".to_vec(),
            "",
            400,
            "no header section",
        ),
        (
            "a multipart without a boundary",
            b"Content-Type: multipart/report\r\n\r\n--x\r\n".to_vec(),
            "",
            400,
            "no boundary",
        ),
        (
            "over 1 MiB",
            {
                let mut big = dsn(&ana_rp, "ana@example.org", "failed", "5.1.1").into_bytes();
                big.resize(1024 * 1024 + 1, b' ');
                big
            },
            "",
            413,
            "more than the 1048576 accepted",
        ),
        (
            "a valid tag of no email",
            dsn(&unknown, "ana@example.org", "failed", "5.1.1").into_bytes(),
            "",
            404,
            "no email has the id",
        ),
    ];
    for (what, raw, query, status, says) in cases {
        let (got, body) = post_dsn(&t, raw, query).await;
        assert_eq!(got, status, "{what}: {body}");
        assert!(
            body["detail"].as_str().unwrap_or("").contains(says),
            "{what}: {body}"
        );
    }
    // Far over the limit: refused before it is read.
    let (got, _) = post_dsn(&t, vec![b'a'; 3 * 1024 * 1024], "").await;
    assert_eq!(got, 413);
    // Without the admin token: 401.
    let r = t
        .http
        .post(format!("{}/admin/bounces", t.issuer()))
        .body(dsn(&ana_rp, "ana@example.org", "failed", "5.1.1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let ana_now = message_when(&t, &ana, "still sent", |_| true).await;
    assert_eq!(ana_now.bounced_at, None);

    // The envelope recipient given by the mail system (a DSN without addressing headers).
    let bare = dsn(&return_path(&to_ana), "ana@example.org", "failed", "5.2.1")
        .replace(&format!("Delivered-To: {}\r\n", return_path(&to_ana)), "")
        .replace(&format!("To: {}\r\n", return_path(&to_ana)), "");
    let (got, body) = post_dsn(&t, bare.clone(), "").await;
    assert_eq!(got, 422, "{body}");
    let query = format!(
        "?envelope_to={}",
        return_path(&to_ana).replace('+', "%2B").replace('@', "%40")
    );
    let (got, body) = post_dsn(&t, bare, &query).await;
    assert_eq!(
        (got, body["result"].as_str()),
        (200, Some("bounced")),
        "{body}"
    );

    // The console: counts, the filter, the CSV export and the person's history.
    let mut op = Console::new(&t);
    assert_eq!(op.sign_in("op@agency.example", PASSWORD).await.status, 303);
    let page = op.get("/console/registrations").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        by_id(&page.body, "count-mail_bounced").as_deref(),
        Some("3")
    );
    assert_eq!(
        by_id(&page.body, "count-invitation_opened").as_deref(),
        Some("1")
    );
    assert_eq!(by_id(&page.body, "count-mail_failed").as_deref(), Some("0"));
    let bounced = op.get("/console/registrations?status=mail_bounced").await;
    for (id, shown) in [(&ana, true), (&bob, true), (&cy, true), (&di, false)] {
        assert_eq!(
            bounced.body.contains(&format!("data-id=\"{id}\"")),
            shown,
            "{id}"
        );
    }
    assert!(bounced.body.contains("Email bounced"));
    let opened = op
        .get("/console/registrations?status=invitation_opened")
        .await;
    assert!(opened.body.contains(&format!("data-id=\"{di}\"")));
    assert!(opened.body.contains("Invitation opened"));
    let csv = op
        .get("/console/registrations.csv?status=mail_bounced")
        .await;
    assert_eq!(csv.status, 200);
    let lines = csv_data_lines(&csv.body);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.contains(",Email bounced,")),
        "{lines:?}"
    );
    let csv = op
        .get("/console/registrations.csv?status=invitation_opened")
        .await;
    assert_eq!(csv_data_lines(&csv.body).len(), 1);
    assert!(csv.body.contains("di@example.org,") && csv.body.contains(",Invitation opened,"));

    let person = op.get(&format!("/console/registrations/{bob}")).await;
    assert!(
        history(&person.body)
            .iter()
            .any(|(event, _)| event == "mail_bounced"),
        "{:?}",
        history(&person.body)
    );
    assert!(
        person
            .body
            .contains("Email bounced: the address was refused")
    );
    assert!(person.body.contains("Bounced (address refused)"));
    let person = op.get(&format!("/console/registrations/{di}")).await;
    assert!(
        history(&person.body)
            .iter()
            .any(|(event, _)| event == "invitation_opened")
    );
    assert!(person.body.contains("Opened the invitation link"));
    // In Japanese.
    op.lang = "ja";
    let page = op.get("/console/registrations?status=mail_bounced").await;
    assert!(
        page.body.contains("メール不達（宛先エラー）"),
        "{}",
        page.body
    );
    let page = op.get(&format!("/console/registrations/{di}")).await;
    assert!(page.body.contains("招待リンクを開いた"));

    // The delivery page counts the refused and the reported ones as bounced.
    op.lang = "en";
    let delivery = op.get("/console/delivery").await;
    assert_eq!(by_id(&delivery.body, "count-bounced").as_deref(), Some("3"));
    assert_eq!(by_id(&delivery.body, "count-failed").as_deref(), Some("0"));
}
