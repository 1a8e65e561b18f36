//! The console's operations, used and attacked: a person's badge revoked from their page
//! only after the "are you sure" page (then the status lists say revoked, in every form
//! the badge was issued in), suspended and restored; a viewer's POST is 403, a form
//! without CSRF is refused, and nothing changes.

use akashi_tests::browser::Browser;
use issuer_agent::store::CredentialRow;

use crate::common::TestStack;
use crate::console::{
    Console, PASSWORD, achievement, by_id, give_badge, history, operator, register_people,
};
use crate::formats;

/// What the issuer's published status lists say of a credential: `valid`, `revoked` or
/// `suspended` (the Token Status List for list 1, the Bitstring lists for list 2).
async fn listed(t: &TestStack, c: &CredentialRow) -> &'static str {
    let idx = c.status_idx as usize;
    let (revoked, suspended) = if c.status_list == 1 {
        let v = formats::token_status(t, idx).await;
        (v == 1, v == 2)
    } else {
        let (_, revocation, _) = formats::bitstring_list(t, "revocation").await;
        let (_, suspension, _) = formats::bitstring_list(t, "suspension").await;
        (
            revocation.get(idx).unwrap_or(false),
            suspension.get(idx).unwrap_or(false),
        )
    };
    match (revoked, suspended) {
        (true, _) => "revoked",
        (false, true) => "suspended",
        (false, false) => "valid",
    }
}

/// Every credential issued for registration `id`.
async fn credentials_of(t: &TestStack, id: &str) -> Vec<CredentialRow> {
    let app = &t.stack.issuer.app;
    let mut all = Vec::new();
    for (offer, _) in app.store.issued_offers_of_registration(id).await.unwrap() {
        all.extend(app.store.credentials_of_offer(&offer).await.unwrap());
    }
    assert!(!all.is_empty(), "{id} has a badge");
    all
}

async fn all_listed(t: &TestStack, id: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for c in credentials_of(t, id).await {
        out.push(listed(t, &c).await);
    }
    out
}

#[tokio::test]
async fn a_badge_is_revoked_from_the_person_page_only_once_confirmed_and_suspends_and_restores() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    let operator_id = operator(&t, "op@agency.example", "Oscar Operator", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let ach = achievement(&t).await;
    register_people(&t, &ach, 3).await;
    let p1 = give_badge(&t, &ach, "person001@example.org").await;
    let p2 = give_badge(&t, &ach, "person002@example.org").await;
    assert!(all_listed(&t, &p1).await.iter().all(|s| *s == "valid"));

    let mut op = Console::new(&t);
    assert_eq!(op.sign_in("op@agency.example", PASSWORD).await.status, 303);
    let mut viewer = Console::new(&t);
    assert_eq!(
        viewer
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        303
    );
    let path = format!("/console/registrations/{p1}");

    // The person page offers suspend and revoke to an operator, nothing to a viewer.
    let page = op.get(&path).await;
    assert!(page.body.contains("id=\"set-suspended\""), "{}", page.body);
    assert!(page.body.contains("id=\"set-revoked\""));
    assert!(!page.body.contains("id=\"set-valid\""));
    let seen = viewer.get(&path).await;
    assert!(!seen.body.contains("id=\"set-revoked\""));
    assert!(!seen.body.contains("/status\""));

    // "Revoke" first asks: the POST without the confirmation changes nothing and leads to
    // the page that says what revoking means.
    let csrf = op.csrf(&path).await;
    let ask = op
        .post(
            &format!("{path}/status"),
            &[("csrf", &csrf), ("status", "revoked"), ("back", &path)],
        )
        .await;
    assert_eq!(ask.status, 303, "{}", ask.body);
    assert!(
        ask.location
            .starts_with(&format!("/console/registrations/{p1}/revoke?back=")),
        "{}",
        ask.location
    );
    assert_eq!(app.registration_view(&p1).await.unwrap().state, "issued");
    assert!(all_listed(&t, &p1).await.iter().all(|s| *s == "valid"));
    let confirm = op.get(&ask.location).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_eq!(
        by_id(&confirm.body, "person-name").as_deref(),
        Some("Person 001")
    );
    assert!(confirm.body.contains("cannot be undone"));
    assert!(confirm.body.contains("name=\"confirm\" value=\"yes\""));
    // A viewer does not get the page at all.
    let refused = viewer.get(&ask.location).await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // Confirmed: every form of the badge is revoked, the lists say so, the history has
    // the operator, and the page now says the revocation is final.
    let csrf = crate::console::field(&confirm.body, "csrf");
    let done = op
        .post(
            &format!("{path}/status"),
            &[
                ("csrf", &csrf),
                ("status", "revoked"),
                ("confirm", "yes"),
                ("back", &path),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, format!("{path}?done=1"));
    t.stack.clock.advance(1);
    let states = all_listed(&t, &p1).await;
    assert!(
        states.iter().all(|s| *s == "revoked"),
        "every form revoked in the published lists: {states:?}"
    );
    let page = op.get(&done.location).await;
    assert_eq!(
        by_id(&page.body, "person-status").as_deref(),
        Some("Revoked")
    );
    assert!(page.body.contains("id=\"done\""));
    assert!(page.body.contains("id=\"revoked-final\""));
    assert!(!page.body.contains("id=\"set-valid\""));
    assert_eq!(
        history(&page.body).last(),
        Some(&("credential.revoked".to_owned(), "Oscar Operator".to_owned()))
    );
    // Revoked is final: no confirmation page for it, and a restore is refused.
    let again = op.get(&format!("{path}/revoke")).await;
    assert_eq!(again.status, 400, "{}", again.body);

    // Person 2: suspended (the lists say suspended), then restored (valid again), both
    // audited with the operator.
    let path2 = format!("/console/registrations/{p2}");
    let csrf = op.csrf(&path2).await;
    let a = op
        .post(
            &format!("{path2}/status"),
            &[("csrf", &csrf), ("status", "suspended"), ("back", &path2)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(all_listed(&t, &p2).await.iter().all(|s| *s == "suspended"));
    let page = op.get(&path2).await;
    assert_eq!(
        by_id(&page.body, "person-status").as_deref(),
        Some("Suspended")
    );
    assert!(page.body.contains("id=\"set-valid\""));
    t.stack.clock.advance(1);

    // The viewer's POST and a form without the CSRF token change nothing.
    let viewer_csrf = viewer.csrf(&path2).await;
    let a = viewer
        .post(
            &format!("{path2}/status"),
            &[("csrf", &viewer_csrf), ("status", "valid")],
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    let a = op
        .post(&format!("{path2}/status"), &[("status", "valid")])
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(all_listed(&t, &p2).await.iter().all(|s| *s == "suspended"));

    let a = op
        .post(
            &format!("{path2}/status"),
            &[("csrf", &csrf), ("status", "valid"), ("back", &path2)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert!(all_listed(&t, &p2).await.iter().all(|s| *s == "valid"));
    let mine = app.store.audit_of_operator(&operator_id, 10).await.unwrap();
    assert_eq!(
        mine.iter()
            .filter(|e| e.action.starts_with("credential."))
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        [
            "credential.valid",
            "credential.suspended",
            "credential.revoked"
        ]
    );

    // In Japanese: the confirmation page and the badge form.
    op.lang = "ja";
    let page = op.get(&path2).await;
    assert!(page.body.contains("バッジの状態を変更"));
    let csrf = op.csrf(&path2).await;
    let ask = op
        .post(
            &format!("{path2}/status"),
            &[("csrf", &csrf), ("status", "revoked")],
        )
        .await;
    let confirm = op.get(&ask.location).await;
    assert!(confirm.body.contains("このバッジを取り消しますか"));
    assert!(!confirm.body.contains("Revoke this badge"));
}

/// Registers one person; returns the registration's id.
pub(crate) async fn register(t: &TestStack, ach: &str, name: &str, email: &str) -> String {
    let req = issuer_agent::domain::registrations::NewRegistration {
        name: name.into(),
        email: email.into(),
        ..Default::default()
    };
    t.stack
        .issuer
        .app
        .register(ach, &req, "test")
        .await
        .unwrap()
        .0
        .id
}

/// The email of registration `id` (its first), once `done` holds for it.
pub(crate) async fn message_when(
    t: &TestStack,
    id: &str,
    what: &str,
    done: impl Fn(&issuer_agent::store::OutboxRow) -> bool,
) -> issuer_agent::store::OutboxRow {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let m = t
            .stack
            .issuer
            .app
            .store
            .registration_messages(id)
            .await
            .unwrap()
            .remove(0);
        if done(&m) {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {m:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The first email of registration `id`, refused by the mail server at each attempt,
/// once the worker gave it up: the clock is moved past each backoff in turn.
async fn given_up(t: &TestStack, id: &str) -> issuer_agent::store::OutboxRow {
    let mut m = message_when(t, id, "a refused attempt", |m| {
        m.attempts >= 1 && m.last_error.is_some()
    })
    .await;
    while m.next_attempt_at != kit::mail::outbox::NEVER {
        let before = m.attempts;
        t.stack
            .clock
            .advance(kit::mail::outbox::backoff(before) + 1);
        let now = t.stack.clock.now();
        // Claimed (attempts counted), then released with its next time, or given up.
        m = message_when(t, id, "the next attempt", |m| {
            m.attempts > before && m.next_attempt_at > now
        })
        .await;
    }
    m
}

/// The ids of the rows of a delivery or audit page, in order.
fn data_ids(html: &str) -> Vec<String> {
    html.split("<tr data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

/// The real SMTP sink defers one mailbox with a 451: the worker tries it twelve times and
/// gives up; the delivery page counts and lists it with the server's reply; a viewer can
/// look but not retry; the operator's retry (audited) puts it back in the queue and the
/// worker sends it once the mailbox exists. Pages follow their key.
#[tokio::test]
async fn the_delivery_page_shows_the_smtp_reply_and_an_operator_retries_a_given_up_email() {
    let sink = crate::mail::SmtpSink::start().await;
    sink.defer(&["bounce@example.org"]);
    let smtp = sink.url();
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()));
    })
    .await;
    let app = &t.stack.issuer.app;
    let operator_id = operator(&t, "op@agency.example", "Oscar Operator", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let ach = achievement(&t).await;
    let ok = register(&t, &ach, "Olive Ok", "ok@example.org").await;
    let bounce = register(&t, &ach, "Bob Bounce", "bounce@example.org").await;

    message_when(&t, &ok, "the invitation sent", |m| m.sent_at.is_some()).await;
    // Refused: retried after each backoff (the clock moved past it) until given up.
    let m = given_up(&t, &bounce).await;
    assert!(
        m.last_error.as_deref().unwrap().contains("451"),
        "the server's reply is kept: {m:?}"
    );
    assert_eq!(m.attempts, kit::mail::outbox::MAX_ATTEMPTS);
    assert_eq!(m.sent_at, None);

    let mut op = Console::new(&t);
    assert_eq!(op.sign_in("op@agency.example", PASSWORD).await.status, 303);
    let mut viewer = Console::new(&t);
    assert_eq!(
        viewer
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        303
    );

    // Counts per state, the failed one listed with the mail server's reply.
    let page = op.get("/console/delivery").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(by_id(&page.body, "count-failed").as_deref(), Some("1"));
    assert_eq!(by_id(&page.body, "count-sent").as_deref(), Some("1"));
    assert_eq!(by_id(&page.body, "count-queued").as_deref(), Some("0"));
    let failed = op.get("/console/delivery?state=failed").await;
    assert_eq!(data_ids(&failed.body), std::slice::from_ref(&m.id));
    assert!(
        failed
            .body
            .contains("Temporary lookup failure, try again later"),
        "{}",
        failed.body
    );
    assert!(failed.body.contains(&format!("id=\"retry-{}\"", m.id)));
    let sent = op.get("/console/delivery?state=sent").await;
    assert_eq!(data_ids(&sent.body).len(), 1);
    assert!(sent.body.contains("ok@example.org") && !sent.body.contains("bounce@example.org"));

    // The viewer sees the page but no retry button; its POST, and one without CSRF, are
    // refused and change nothing.
    let seen = viewer.get("/console/delivery?state=failed").await;
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains("id=\"read-only\""));
    assert!(!seen.body.contains("/retry\""));
    let retry = format!("/console/delivery/{}/retry", m.id);
    let viewer_csrf = viewer.csrf("/console/delivery").await;
    assert_eq!(
        viewer.post(&retry, &[("csrf", &viewer_csrf)]).await.status,
        403
    );
    assert_eq!(op.post(&retry, &[]).await.status, 403);
    assert_eq!(op.post(&retry, &[("csrf", &viewer_csrf)]).await.status, 403);
    let still = message_when(&t, &bounce, "still given up", |_| true).await;
    assert_eq!(still.next_attempt_at, kit::mail::outbox::NEVER);

    // The mailbox exists now; the operator retries: back in the queue, audited with the
    // operator, and the worker (woken) sends it.
    sink.defer(&[]);
    let csrf = op.csrf("/console/delivery?state=failed").await;
    let done = op
        .post(
            &retry,
            &[("csrf", &csrf), ("back", "/console/delivery?state=failed")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, "/console/delivery?state=failed&done=1");
    let delivered = message_when(&t, &bounce, "the retried email sent", |m| {
        m.sent_at.is_some()
    })
    .await;
    assert_eq!(delivered.last_error, None);
    sink.wait_until(
        std::time::Duration::from_secs(30),
        "the retried email",
        |all| all.iter().any(|m| m.to() == "bounce@example.org"),
    )
    .await;
    let audit = app.store.audit_of_operator(&operator_id, 10).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "mail.requeued");
    assert_eq!(audit[0].subject, bounce);
    assert!(audit[0].detail.contains(&m.id));
    let page = op.get(&done.location).await;
    assert!(page.body.contains("id=\"done\""));
    assert_eq!(by_id(&page.body, "count-failed").as_deref(), Some("0"));
    assert_eq!(by_id(&page.body, "count-sent").as_deref(), Some("2"));
    let person = op.get(&format!("/console/registrations/{bounce}")).await;
    assert!(
        history(&person.body).contains(&("mail.requeued".to_owned(), "Oscar Operator".to_owned())),
        "{:?}",
        history(&person.body)
    );

    // A sent email is not retried; unknown and hostile ids and filters are refused.
    let csrf = op.csrf("/console/delivery").await;
    assert_eq!(op.post(&retry, &[("csrf", &csrf)]).await.status, 400);
    assert_eq!(
        op.post("/console/delivery/no-such-email/retry", &[("csrf", &csrf)])
            .await
            .status,
        404
    );
    for q in ["state=lost", "after=x", "after=1~a'b"] {
        assert_eq!(
            op.get(&format!("/console/delivery?{q}")).await.status,
            400,
            "{q}"
        );
    }
    let mut stranger = Console::new(&t);
    let a = stranger.get("/console/delivery").await;
    assert_eq!(a.status, 303);
    assert!(a.location.starts_with("/console/sign-in?next="));

    // Pages follow their key: 57 emails, 50 then 7, each once, newest first.
    register_people(&t, &ach, 55).await;
    let first = op.get("/console/delivery").await;
    let mut ids = data_ids(&first.body);
    assert_eq!(ids.len(), 50);
    let next = link(&first.body, "next-page").expect("a next page");
    let second = op.get(&next).await;
    assert!(second.body.contains("id=\"first-page\""));
    assert!(!second.body.contains("id=\"next-page\""));
    ids.extend(data_ids(&second.body));
    assert_eq!(ids.len(), 57);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 57);

    // In Japanese.
    op.lang = "ja";
    let page = op.get("/console/delivery").await;
    assert!(page.body.contains("メール配信") && page.body.contains("送信済み"));
    assert!(!page.body.contains("Waiting to be sent"));
}

/// The audit page and its export: every change with its operator (or the admin API),
/// filtered by operator, by action and by days, paged by key; the CSV holds exactly the
/// filtered entries with formula-like cells neutralised; a viewer may read; hostile
/// filters are refused naming the field.
#[tokio::test]
async fn the_audit_log_filters_by_operator_action_and_days_pages_and_exports() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    let oscar = operator(&t, "oscar@agency.example", "Oscar Operator", "operator").await;
    let olga = operator(&t, "olga@agency.example", "=cmd|' /C calc'!A0", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let ach = achievement(&t).await;
    register_people(&t, &ach, 3).await;
    let p1 = give_badge(&t, &ach, "person001@example.org").await;
    let p2 = give_badge(&t, &ach, "person002@example.org").await;
    let p3 = give_badge(&t, &ach, "person003@example.org").await;
    let as_operator = |id: &str| issuer_agent::domain::operators::Operator {
        id: id.to_owned(),
        email: String::new(),
        name: String::new(),
        role: issuer_agent::domain::operators::Role::Operator,
    };

    // Day 1: Oscar suspends and restores person 1's badge 30 times (60 entries).
    let day1 = t.stack.clock.now();
    for _ in 0..30 {
        for status in ["suspended", "valid"] {
            app.set_registration_status(&p1, status, &as_operator(&oscar))
                .await
                .unwrap();
        }
    }
    // Two days later: Olga revokes person 2's badge; the admin API revokes person 3's.
    t.stack.clock.advance(2 * 86_400);
    let day3 = t.stack.clock.now();
    app.set_registration_status(&p2, "revoked", &as_operator(&olga))
        .await
        .unwrap();
    let c3 = credentials_of(&t, &p3).await.remove(0);
    crate::formats::set_status(&t, &c3.id, "revoked").await;
    let day = |at: i64| protocol::clock::rfc3339(at)[..10].to_owned();

    let mut viewer = Console::new(&t);
    assert_eq!(
        viewer
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        303
    );
    let all = viewer.get("/console/audit").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(data_actions(&all.body).len(), 50, "a page of 50");
    assert_eq!(
        data_actions(&all.body)[..2],
        ["credential.revoked", "credential.revoked"],
        "newest first"
    );
    assert!(
        all.body
            .contains("No operator (admin API, command line or wallet)")
    );

    // By operator: Oscar's 60 entries over two pages, each once.
    let mine = format!("/console/audit?operator={oscar}");
    let first = viewer.get(&mine).await;
    let mut ids = data_ids_of_audit(&first.body);
    assert_eq!(ids.len(), 50);
    assert!(
        first
            .body
            .contains("Oscar Operator &#60;oscar@agency.example&#62;")
    );
    let next = link(&first.body, "next-page").expect("a next page");
    assert!(next.contains(&format!("operator={oscar}")), "{next}");
    let second = viewer.get(&next).await;
    ids.extend(data_ids_of_audit(&second.body));
    assert_eq!(ids.len(), 60);
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 60, "no entry twice");
    assert!(
        data_actions(&second.body)
            .iter()
            .all(|a| a == "credential.suspended" || a == "credential.valid")
    );

    // By action, and by days: only day 3 holds the revocations.
    let revoked = viewer.get("/console/audit?action=credential.revoked").await;
    assert_eq!(data_actions(&revoked.body), ["credential.revoked"; 2]);
    let d3 = day(day3);
    let on_day3 = viewer
        .get(&format!("/console/audit?from={d3}&until={d3}"))
        .await;
    assert_eq!(data_actions(&on_day3.body), ["credential.revoked"; 2]);
    let d1 = day(day1);
    let on_day1 = viewer
        .get(&format!(
            "/console/audit?operator={olga}&from={d1}&until={d1}"
        ))
        .await;
    assert!(
        on_day1.body.contains("id=\"no-rows\""),
        "Olga did nothing on day 1"
    );

    // The export: exactly the filtered entries, formulas neutralised.
    let csv = viewer
        .get(&format!("/console/audit.csv?operator={olga}"))
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.body
            .starts_with("\u{feff}When,Action,Action (code),Concerns,Operator,Details\r\n"),
        "{}",
        csv.body
    );
    let lines = crate::console::csv_data_lines(&csv.body);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(",Badge revoked,credential.revoked,"));
    assert!(
        lines[0].contains(",'=cmd|' /C calc'!A0 <olga@agency.example>,"),
        "the formula is neutralised: {}",
        lines[0]
    );
    let everything = viewer.get("/console/audit.csv").await;
    let lines = crate::console::csv_data_lines(&everything.body);
    let expected = app.store.audit_log(1_000).await.unwrap().len();
    assert_eq!(lines.len(), expected);
    for line in &lines {
        assert!(!line.starts_with(['=', '+', '-', '@']), "{line}");
        assert!(!line.contains(",="), "{line}");
    }
    viewer.lang = "ja";
    let ja = viewer
        .get("/console/audit.csv?action=credential.revoked")
        .await;
    assert!(
        ja.body.contains(",バッジ取り消し,credential.revoked,"),
        "{}",
        ja.body
    );
    let page = viewer.get("/console/audit").await;
    assert!(
        page.body.contains("操作記録")
            && page
                .body
                .contains("運用担当者以外（管理 API・コマンドライン・ウォレット）")
    );
    viewer.lang = "en";

    // Hostile filters: refused naming the field, nothing exported.
    for (q, field) in [
        ("action=DROP%20TABLE", "action"),
        ("action=credential.revoked'--", "action"),
        ("from=2026-13-01", "from"),
        ("until=yesterday", "until"),
        ("from=2026-12-06&until=2026-12-01", "until"),
        ("after=1~a'b", "after"),
    ] {
        for path in ["/console/audit", "/console/audit.csv"] {
            let a = viewer.get(&format!("{path}?{q}")).await;
            assert_eq!(a.status, 400, "{path}?{q}");
            assert!(
                a.body.contains(&format!("{field}:")),
                "{path}?{q}: {}",
                a.body
            );
            assert!(!a.body.starts_with('\u{feff}'));
        }
    }
    let a = viewer
        .get(&format!("/console/audit?operator={}", "x".repeat(65)))
        .await;
    assert_eq!(a.status, 400);
    let mut stranger = Console::new(&t);
    for path in ["/console/audit", "/console/audit.csv"] {
        let a = stranger.get(path).await;
        assert_eq!(a.status, 303, "{path}");
        assert!(a.location.starts_with("/console/sign-in?next="));
    }
}

/// The `href` of the element with `id`, its entities decoded.
fn link(html: &str, id: &str) -> Option<String> {
    crate::console::link(html, id).map(|l| l.replace("&#38;", "&"))
}

/// The actions of the rows of an audit page, in order.
fn data_actions(html: &str) -> Vec<String> {
    html.split("<tr data-action=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

/// The entry ids of an audit page, in order.
fn data_ids_of_audit(html: &str) -> Vec<String> {
    html.split("<tr data-action=\"")
        .skip(1)
        .map(|s| {
            s.split("data-entry=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The operations pages in headless Chromium at 1280 and 390 px, in English and Japanese,
/// each checked by axe-core: a person's badge form, the revocation's confirmation (then
/// revoked), the delivery page with a given-up email (then retried), the audit page.
#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn console_operations_pages_in_chromium_at_two_widths_in_two_languages() {
    let sink = crate::mail::SmtpSink::start().await;
    sink.defer(&["hanako.tanaka.with.a.long.address@example.jp"]);
    let smtp = sink.url();
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()));
    })
    .await;
    operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let ach = achievement(&t).await;
    register_people(&t, &ach, 3).await;
    let hanako = register(
        &t,
        &ach,
        "田中 花子",
        "hanako.tanaka.with.a.long.address@example.jp",
    )
    .await;
    let p1 = give_badge(&t, &ach, "person001@example.org").await;
    let failed = given_up(&t, &hanako).await;
    let console = format!("{}/console", t.issuer());

    let mut b = Browser::start("console-operations").await.unwrap();
    b.goto(&format!("{console}/sign-in")).await.unwrap();
    b.fill("#email", "admin@agency.example").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#who", "Aiko Admin").await.unwrap();

    let in_lang =
        |lang: &'static str| format!("return document.documentElement.lang === '{lang}';");
    // A person's badge form, then the "are you sure" page, in both languages.
    b.goto(&format!("{console}/registrations/{p1}"))
        .await
        .unwrap();
    b.wait_for_text("#badge-actions", "Change the badge")
        .await
        .unwrap();
    b.screenshots("person-badge-en").await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_until(&in_lang("ja"), "ja").await.unwrap();
    b.wait_for_text("#badge-actions", "バッジの状態を変更")
        .await
        .unwrap();
    b.screenshots("person-badge-ja").await.unwrap();
    b.click("#set-revoked").await.unwrap();
    b.wait_for_text("h1", "このバッジを取り消しますか")
        .await
        .unwrap();
    b.screenshots("revoke-confirm-ja").await.unwrap();
    b.click("#lang-en").await.unwrap();
    b.wait_for_text("h1", "Revoke this badge?").await.unwrap();
    b.screenshots("revoke-confirm-en").await.unwrap();
    b.click("#revoke-yes").await.unwrap();
    b.wait_for_text("#person-status", "Revoked").await.unwrap();
    b.wait_for_text("#revoked-final", "final").await.unwrap();
    b.screenshots("person-revoked-en").await.unwrap();

    // The delivery page: the given-up email with the server's reply, then retried.
    b.goto(&format!("{console}/delivery")).await.unwrap();
    b.wait_for_text("#messages", "Temporary lookup failure")
        .await
        .unwrap();
    b.screenshots("delivery-en").await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_until(&in_lang("ja"), "ja").await.unwrap();
    b.wait_for_text("#messages", "送信失敗（再試行終了）")
        .await
        .unwrap();
    b.screenshots("delivery-ja").await.unwrap();
    sink.defer(&[]);
    b.click(&format!("#retry-{}", failed.id)).await.unwrap();
    b.wait_for_text("#done", "再送の列に戻しました")
        .await
        .unwrap();
    b.screenshots("delivery-retried-ja").await.unwrap();

    // The audit page, filtered, in both languages.
    b.goto(&format!("{console}/audit")).await.unwrap();
    b.wait_for_text("#audit", "Aiko Admin").await.unwrap();
    b.screenshots("audit-ja").await.unwrap();
    b.click("#lang-en").await.unwrap();
    b.wait_until(&in_lang("en"), "en").await.unwrap();
    b.wait_for_text("#audit", "Badge revoked").await.unwrap();
    b.screenshots("audit-en").await.unwrap();

    // The operators page (an operator added, its password made and shown once) and the
    // own-password page.
    b.goto(&format!("{console}/operators")).await.unwrap();
    b.wait_for_text("#operators", "Aiko Admin").await.unwrap();
    b.fill("#new-email", "hanako.sato@agency.example")
        .await
        .unwrap();
    b.fill("#new-name", "佐藤 花子").await.unwrap();
    b.click("#add").await.unwrap();
    b.wait_for_text("#done", "The operator was added.")
        .await
        .unwrap();
    b.screenshots("operators-added-en").await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_until(&in_lang("ja"), "ja").await.unwrap();
    b.wait_for_text("#operators", "佐藤 花子").await.unwrap();
    b.screenshots("operators-ja").await.unwrap();
    b.goto(&format!("{console}/password")).await.unwrap();
    b.wait_for_text("h1", "パスワード変更").await.unwrap();
    b.screenshots("password-ja").await.unwrap();
    b.click("#lang-en").await.unwrap();
    b.wait_for_text("h1", "My password").await.unwrap();
    b.screenshots("password-en").await.unwrap();
    b.quit().await;
}

/// The operators page: only admins see it; an admin adds an operator with a typed password
/// and one with a password made and shown once (each signs in with it); disables one (its
/// session ends at once and its sign-in gets the wrong-password answer), enables it
/// again, changes roles; the last enabled admin can be neither disabled nor demoted.
/// Every operator changes their own password with the current one (other sessions end).
/// Forms without CSRF, from the wrong role, or with hostile input change nothing.
#[tokio::test]
async fn admins_manage_operators_and_everyone_changes_their_own_password() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    let admin_id = operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    operator(&t, "op@agency.example", "Oscar Operator", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let mut admin = Console::new(&t);
    assert_eq!(
        admin.sign_in("admin@agency.example", PASSWORD).await.status,
        303
    );
    let mut op = Console::new(&t);
    assert_eq!(op.sign_in("op@agency.example", PASSWORD).await.status, 303);
    let mut viewer = Console::new(&t);
    assert_eq!(
        viewer
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        303
    );

    // Only admins see the page and the menu link; an operator's POST is 403.
    let page = admin.get("/console/operators").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("href=\"/console/operators\""));
    assert!(page.body.contains("Aiko Admin (you)"));
    for c in [&mut op, &mut viewer] {
        let a = c.get("/console/operators").await;
        assert_eq!(a.status, 403, "{}", a.body);
        assert!(
            !c.get("/console")
                .await
                .body
                .contains("href=\"/console/operators\"")
        );
    }
    let op_csrf = op.csrf("/console").await;
    let a = op
        .post(
            "/console/operators",
            &[
                ("csrf", &op_csrf),
                ("email", "mallory@agency.example"),
                ("name", "Mallory"),
                ("role", "admin"),
                ("password", "a password of mine"),
            ],
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(
        app.operators()
            .await
            .unwrap()
            .iter()
            .all(|o| o.email != "mallory@agency.example")
    );

    // Added with a typed password: signs in with it; the audit names the admin.
    let csrf = admin.csrf("/console/operators").await;
    let a = admin
        .post(
            "/console/operators",
            &[
                ("csrf", &csrf),
                ("email", "Nina@Agency.example"),
                ("name", "Nina New"),
                ("role", "viewer"),
                ("password", "nina's first password"),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("The operator was added."));
    assert!(
        !a.body.contains("id=\"new-password\""),
        "a typed password is not shown"
    );
    let mut nina = Console::new(&t);
    assert_eq!(
        nina.sign_in("nina@agency.example", "nina's first password")
            .await
            .status,
        303
    );
    let audit = app.store.audit_of_operator(&admin_id, 10).await.unwrap();
    assert_eq!(audit[0].action, "operator.created");
    let nina_id = audit[0].subject.clone();

    // Added with a password made here: shown once, and it works.
    let a = admin
        .post(
            "/console/operators",
            &[
                ("csrf", &csrf),
                ("email", "paul@agency.example"),
                ("name", "Paul Made"),
                ("role", "operator"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let made = by_id(&a.body, "new-password").expect("the made password, shown once");
    assert_eq!(made.len(), 24);
    let mut paul = Console::new(&t);
    assert_eq!(paul.sign_in("paul@agency.example", &made).await.status, 303);
    assert!(!admin.get("/console/operators").await.body.contains(&made));

    // Refused additions: the form again with the reason, nothing added.
    let before = app.operators().await.unwrap().len();
    for (email, name, role, password, field) in [
        (
            "nina@agency.example",
            "Nina Again",
            "viewer",
            "long enough pw",
            "email",
        ),
        ("not an address", "X", "viewer", "long enough pw", "email"),
        ("x@agency.example", "", "viewer", "long enough pw", "name"),
        ("x@agency.example", "X", "root", "long enough pw", "role"),
        ("x@agency.example", "X", "viewer", "short", "password"),
    ] {
        let a = admin
            .post(
                "/console/operators",
                &[
                    ("csrf", &csrf),
                    ("email", email),
                    ("name", name),
                    ("role", role),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(a.status, 400, "{email} {role}");
        assert!(a.body.contains(&format!("{field}:")), "{field}: {}", a.body);
    }
    // Long input is refused by a check, larger bodies by the body limit.
    let long = "a".repeat(10_000);
    let a = admin
        .post(
            "/console/operators",
            &[
                ("csrf", &csrf),
                ("email", &format!("{long}@agency.example")),
                ("name", &long),
                ("role", "viewer"),
                ("password", &long),
            ],
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("email:"));
    let huge = "a".repeat(100_000);
    let a = admin
        .post(
            "/console/operators",
            &[
                ("csrf", &csrf),
                ("email", &huge),
                ("name", &huge),
                ("role", "viewer"),
                ("password", &huge),
            ],
        )
        .await;
    assert_eq!(a.status, 413, "over the body limit");
    assert_eq!(app.operators().await.unwrap().len(), before);
    let a = admin
        .post(
            "/console/operators",
            &[
                ("email", "y@agency.example"),
                ("name", "Y"),
                ("role", "viewer"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(a.status, 403, "no CSRF token");

    // Disabled: Nina's session ends at once; her right password gets the wrong-password
    // answer. Enabled again: she signs in.
    let disable = format!("/console/operators/{nina_id}/disable");
    let a = op.post(&disable, &[("csrf", &op_csrf)]).await;
    assert_eq!(a.status, 403, "an operator cannot disable");
    assert_eq!(nina.get("/console").await.status, 200);
    let a = admin.post(&disable, &[("csrf", &csrf)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location, "/console/operators?done=1");
    let ended = nina.get("/console").await;
    assert_eq!(ended.status, 303, "the disabled operator's session ended");
    let refused = nina
        .sign_in("nina@agency.example", "nina's first password")
        .await;
    let wrong = Console::new(&t)
        .sign_in("nina@agency.example", "not her password")
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(by_id(&refused.body, "error"), by_id(&wrong.body, "error"));
    assert_eq!(
        by_id(&refused.body, "error").as_deref(),
        Some("Wrong email address or password.")
    );
    let a = admin.post(&disable, &[("csrf", &csrf)]).await;
    assert_eq!(a.status, 400, "disabled already");
    let a = admin
        .post(
            &format!("/console/operators/{nina_id}/enable"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(a.status, 303);
    assert_eq!(
        nina.sign_in("nina@agency.example", "nina's first password")
            .await
            .status,
        303
    );

    // Roles: Nina becomes an operator. The last admin can be neither disabled (not even
    // by themselves) nor demoted; with a second admin, the first may be demoted.
    let role = format!("/console/operators/{nina_id}/role");
    let a = admin
        .post(&role, &[("csrf", &csrf), ("role", "operator")])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let csrf_nina = nina.csrf("/console").await;
    assert!(nina.get("/console").await.body.contains("(operator)"));
    let a = nina
        .post(&role, &[("csrf", &csrf_nina), ("role", "admin")])
        .await;
    assert_eq!(a.status, 403, "no one raises their own role");
    let a = admin
        .post(&role, &[("csrf", &csrf), ("role", "root")])
        .await;
    assert_eq!(a.status, 400);
    let mine = format!("/console/operators/{admin_id}");
    let a = admin
        .post(
            &format!("{mine}/role"),
            &[("csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("last enabled administrator"), "{}", a.body);
    let a = admin
        .post(&format!("{mine}/disable"), &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, 400);
    for hostile in ["no-such-operator", "%27%20OR%201%3D1"] {
        let a = admin
            .post(
                &format!("/console/operators/{hostile}/disable"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(a.status, 404, "{hostile}");
    }
    let a = admin
        .post(
            &format!("/console/operators/{nina_id}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(a.status, 404);
    let a = admin
        .post(&role, &[("csrf", &csrf), ("role", "admin")])
        .await;
    assert_eq!(a.status, 303);
    let a = admin
        .post(
            &format!("{mine}/role"),
            &[("csrf", &csrf), ("role", "operator")],
        )
        .await;
    assert_eq!(a.status, 303, "another admin exists now: {}", a.body);
    assert_eq!(
        admin.get("/console/operators").await.status,
        403,
        "demoted at once"
    );
    let actions: Vec<String> = app
        .store
        .audit_of_operator(&admin_id, 20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "operator.created",
        "operator.disabled",
        "operator.enabled",
        "operator.role_changed",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }

    // Own password: the current one is needed; the other sessions end, this one goes on.
    let mut viewer_elsewhere = Console::new(&t);
    assert_eq!(
        viewer_elsewhere
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        303
    );
    let page = viewer.get("/console/password").await;
    assert_eq!(page.status, 200);
    let vcsrf = crate::console::field(&page.body, "csrf");
    let a = viewer
        .post(
            "/console/password",
            &[
                ("csrf", &vcsrf),
                ("current_password", "a wrong guess"),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("current_password:"), "{}", a.body);
    let a = viewer
        .post(
            "/console/password",
            &[
                ("csrf", &vcsrf),
                ("current_password", PASSWORD),
                ("new_password", "short"),
            ],
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("new_password:"));
    let a = viewer
        .post(
            "/console/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(a.status, 403, "no CSRF token");
    let a = viewer
        .post(
            "/console/password",
            &[
                ("csrf", &vcsrf),
                ("current_password", PASSWORD),
                ("new_password", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(
        viewer.get("/console").await.status,
        200,
        "this session goes on"
    );
    assert_eq!(
        viewer_elsewhere.get("/console").await.status,
        303,
        "the other one ended"
    );
    assert_eq!(
        Console::new(&t)
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        401
    );
    assert_eq!(
        Console::new(&t)
            .sign_in("viewer@agency.example", "a brand new password")
            .await
            .status,
        303
    );

    // In Japanese.
    nina.lang = "ja";
    let page = nina.get("/console/password").await;
    assert!(page.body.contains("現在のパスワード") && !page.body.contains("Current password"));
}

/// Two admins disabling each other at the same moment, round after round: one of them
/// always stays (on PostgreSQL the admins' rows are locked before the last-admin check).
#[tokio::test]
async fn two_admins_disabling_each_other_at_once_leave_one_enabled() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    let admin = |id: String| issuer_agent::domain::operators::Operator {
        id,
        email: String::new(),
        name: String::new(),
        role: issuer_agent::domain::operators::Role::Admin,
    };
    for round in 0..10 {
        let a = operator(&t, &format!("a{round}@agency.example"), "A", "admin").await;
        let b = operator(&t, &format!("b{round}@agency.example"), "B", "admin").await;
        // Only a and b are enabled admins in this round.
        for o in app.operators().await.unwrap() {
            if o.role == "admin" && !o.disabled && o.id != a && o.id != b {
                app.disable_operator(&o.id, &admin(a.clone()))
                    .await
                    .unwrap();
            }
        }
        let (as_a, as_b) = (admin(a.clone()), admin(b.clone()));
        let (by_a, by_b) = tokio::join!(
            app.disable_operator(&b, &as_a),
            app.disable_operator(&a, &as_b),
        );
        assert!(
            by_a.is_ok() != by_b.is_ok(),
            "round {round}: exactly one succeeds: {by_a:?} {by_b:?}"
        );
        let enabled = app
            .operators()
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.role == "admin" && !o.disabled)
            .count();
        assert_eq!(enabled, 1, "round {round}");
    }
}
