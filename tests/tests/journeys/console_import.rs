//! The console's import, used and attacked: a CSV with bad lines, a repeat and a person
//! already registered is previewed (each bad line with its reason, in English and
//! Japanese), confirmed, followed over its server-sent events to the end, and its result
//! lists who was registered and what was skipped and why; names with markup and formulas
//! stay text. A viewer's upload and confirm are 403, a confirm without the session's CSRF
//! token or with another's is refused, another operator cannot see or confirm someone
//! else's upload, a confirm is good once, a 50 MB upload is refused with a clear message.
//! A job cut short after its first batch (its runner dropped, as in a crash) keeps what it
//! committed, shows as interrupted once its runner is silent, and a new run registers the
//! rest with nobody twice, followed over the events of a second instance on the database. A
//! preview leaves PostgreSQL's planner statistics alone, which the import refreshes. Then the pages in headless Chromium at 1280 and 390 px, in
//! English and Japanese (axe-core checks each).

use akashi_tests::browser::Browser;
use issuer_agent::domain::import::Format;
use issuer_agent::domain::import_jobs::STALE_AFTER;
use issuer_agent::domain::operators::Operator;
use issuer_agent::domain::registrations::NewRegistration;
use serde_json::Value;

use crate::common::TestStack;
use crate::console::{Answer, Console, PASSWORD, achievement, by_id, field, operator};

/// A `multipart/form-data` body of the upload form: its content type and bytes.
fn upload_form(
    csrf: &str,
    achievement_id: &str,
    file_name: &str,
    file: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "----akashi-import-boundary-7d93";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("achievement_id", achievement_id)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `file` as `people.csv` through the console's form as `c`.
async fn upload(c: &mut Console, achievement_id: &str, file: &[u8]) -> Answer {
    upload_named(c, achievement_id, "people.csv", file).await
}

/// Uploads `file` named `file_name` through the console's form as `c`.
async fn upload_named(
    c: &mut Console,
    achievement_id: &str,
    file_name: &str,
    file: &[u8],
) -> Answer {
    let csrf = c.csrf("/console/import").await;
    let (content_type, body) = upload_form(&csrf, achievement_id, file_name, file);
    let r = c
        .http
        .post(format!("{}/console/import", c.base))
        .header("cookie", c.cookies())
        .header("accept-language", c.lang)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    c.answer(r).await
}

/// The job id an upload was sent on to.
fn job_id(a: &Answer) -> String {
    assert_eq!(a.status, 303, "{}", a.body);
    a.location
        .strip_prefix("/console/import/")
        .unwrap_or_else(|| panic!("not a job: {}", a.location))
        .to_owned()
}

/// Reads the job's event stream over HTTP until an event of a settled state; every
/// `progress` event's data, in order.
async fn follow(c: &Console, id: &str) -> Vec<Value> {
    let mut r = c
        .http
        .get(format!("{}/console/import/{id}/events", c.base))
        .header("cookie", c.cookies())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .expect("the job settles in time")
            .unwrap();
        let Some(chunk) = chunk else { break };
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if !event.contains("event: progress") {
                continue;
            }
            let data = event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .expect("data");
            events.push(serde_json::from_str::<Value>(data).unwrap());
        }
    }
    events
}

async fn signed_in(t: &TestStack, email: &str) -> Console {
    let mut c = Console::new(t);
    assert_eq!(c.sign_in(email, PASSWORD).await.status, 303);
    c
}

/// The operator of a console's session.
async fn operator_of(t: &TestStack, c: &Console) -> (Operator, String) {
    let session = c.jar["console_session"].clone();
    let app = &t.stack.issuer.app;
    let op = app
        .console_session(&session, t.stack.clock.now())
        .await
        .unwrap()
        .expect("a live session");
    (op, session)
}

const FILE: &str = "name,email,locale\n\
Ana Lee,ana@example.org,en\n\
Bad Mail,not-an-address,en\n\
<script>alert(1)</script>,script@example.org,en\n\
\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",formula@example.org,en\n\
Ana Again,ANA@example.org,en\n\
Pre Registered,pre@example.org,en\n\
Kenji Sato,kenji@example.jp,fr\n\
Too Many,many@example.org,en,extra\n";

#[tokio::test]
async fn an_import_with_bad_lines_goes_from_preview_to_events_to_its_result() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    let op_id = operator(&t, "op@agency.example", "Oto Operator", "operator").await;
    operator(&t, "op2@agency.example", "Oda Other", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let ach = achievement(&t).await;
    let pre = NewRegistration {
        name: "Pre Registered".into(),
        email: "pre@example.org".into(),
        ..NewRegistration::default()
    };
    app.register(&ach, &pre, "test").await.unwrap();

    // A viewer may look at the form but not upload.
    let mut viewer = signed_in(&t, "viewer@agency.example").await;
    let page = viewer.get("/console/import").await;
    assert_eq!(page.status, 200);
    assert!(by_id(&page.body, "read-only").is_some());
    assert_eq!(upload(&mut viewer, &ach, FILE.as_bytes()).await.status, 403);

    let mut op = signed_in(&t, "op@agency.example").await;
    let id = job_id(&upload(&mut op, &ach, FILE.as_bytes()).await);
    let preview = op.get(&format!("/console/import/{id}")).await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let count = |html: &str, what: &str| by_id(html, &format!("count-{what}")).unwrap();
    assert_eq!(count(&preview.body, "records"), "8");
    assert_eq!(
        count(&preview.body, "new"),
        "3",
        "Ana, the script, the formula"
    );
    assert_eq!(count(&preview.body, "repeated"), "1", "ANA@ is Ana again");
    assert_eq!(count(&preview.body, "already"), "1");
    assert_eq!(count(&preview.body, "rejected"), "3");
    // Each bad line by its line number, in plain words.
    for (line, words) in [
        (3, "This is not an email address."),
        (8, "The language must be en or ja."),
        (9, "This line cannot be read"),
    ] {
        let row = preview
            .body
            .split(&format!("<tr data-line=\"{line}\">"))
            .nth(1)
            .unwrap_or_else(|| panic!("line {line} listed: {}", preview.body));
        assert!(row.split("</tr>").next().unwrap().contains(words), "{line}");
    }
    assert!(
        preview
            .body
            .contains("<td data-label=\"Same as line\">2</td>")
    );
    // Nothing was registered by the preview.
    assert!(
        app.store
            .registration_by_key(&ach, "ana@example.org")
            .await
            .unwrap()
            .is_none()
    );
    // In Japanese.
    op.lang = "ja";
    let ja = op.get(&format!("/console/import/{id}")).await;
    assert!(
        ja.body.contains("メールアドレスの形式ではありません。"),
        "{}",
        ja.body
    );
    assert!(ja.body.contains("言語は en か ja にしてください。"));
    op.lang = "en";

    // Another operator can neither see nor follow nor confirm the upload, even with a good
    // token; nor can the same operator from another browser session.
    let mut other = signed_in(&t, "op2@agency.example").await;
    assert_eq!(
        other.get(&format!("/console/import/{id}")).await.status,
        404
    );
    assert_eq!(
        other
            .get(&format!("/console/import/{id}/events"))
            .await
            .status,
        404
    );
    assert!(
        !other.get("/console/import").await.body.contains(&id),
        "not listed"
    );
    let mut op_elsewhere = signed_in(&t, "op@agency.example").await;
    let elsewhere_csrf = op_elsewhere.csrf("/console/import").await;
    let a = op_elsewhere
        .post(
            &format!("/console/import/{id}/confirm"),
            &[("csrf", &elsewhere_csrf)],
        )
        .await;
    assert_eq!(a.status, 404, "bound to the session that uploaded it");
    let other_csrf = other.csrf("/console/import").await;
    let a = other
        .post(
            &format!("/console/import/{id}/confirm"),
            &[("csrf", &other_csrf)],
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.body);
    // The viewer: 403. Without a token, or with the other operator's: refused.
    let viewer_csrf = viewer.csrf("/console/import").await;
    let a = viewer
        .post(
            &format!("/console/import/{id}/confirm"),
            &[("csrf", &viewer_csrf)],
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(
        op.post(&format!("/console/import/{id}/confirm"), &[])
            .await
            .status,
        403
    );
    let a = op
        .post(
            &format!("/console/import/{id}/confirm"),
            &[("csrf", &other_csrf)],
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(
        app.store.import_job(&id).await.unwrap().unwrap().state,
        "previewed"
    );

    // The confirm, then the events to the end.
    let csrf = field(&preview.body, "csrf");
    let a = op
        .post(&format!("/console/import/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location, format!("/console/import/{id}"));
    let events = follow(&op, &id).await;
    let last = events.last().expect("at least one event");
    assert_eq!(last["state"], "done", "{events:?}");
    assert_eq!(
        (last["done"].as_i64(), last["total"].as_i64()),
        (Some(8), Some(8))
    );
    assert_eq!(last["created"], 3);
    assert_eq!(last["duplicates"], 2);
    assert_eq!(last["rejected"], 3);
    let done_counts: Vec<i64> = events.iter().map(|e| e["done"].as_i64().unwrap()).collect();
    let sorted = {
        let mut s = done_counts.clone();
        s.sort();
        s
    };
    assert_eq!(done_counts, sorted, "progress only grows");

    // Good once.
    let again = op
        .post(&format!("/console/import/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 400);

    // The result: who was registered, what was skipped and why; markup stays text.
    let result = op.get(&format!("/console/import/{id}")).await;
    assert_eq!(result.status, 200);
    assert_eq!(count(&result.body, "created"), "3");
    assert_eq!(count(&result.body, "duplicates"), "2");
    assert_eq!(count(&result.body, "rejected"), "3");
    assert!(!result.body.contains("<script>alert"), "{}", result.body);
    assert!(
        result
            .body
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        result.body
    );
    assert!(
        result
            .body
            .contains("=HYPERLINK(&#34;http://evil.example&#34;")
    );
    let skipped = result.body.split("id=\"skipped\"").nth(1).unwrap();
    for needle in [
        "Already registered for this achievement",
        "pre@example.org",
        "ANA@example.org",
    ] {
        assert!(skipped.contains(needle), "{needle}: {skipped}");
    }
    // Registered once each, and the export keeps the formula a text.
    assert!(
        app.store
            .registration_by_key(&ach, "ana@example.org")
            .await
            .unwrap()
            .is_some()
    );
    let csv = op.get("/console/registrations.csv").await;
    assert!(csv.body.contains("\"'=HYPERLINK("), "{}", csv.body);
    assert_eq!(csv.body.matches("ana@example.org").count(), 1);
    // Audited with its operator.
    let audit = app.store.audit_log(50).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "import.started"
            && e.subject == id
            && e.operator_id.as_deref() == Some(op_id.as_str())),
        "{audit:?}"
    );
    // Another operator may follow a confirmed job, listed with its state.
    assert_eq!(
        other.get(&format!("/console/import/{id}")).await.status,
        200
    );
    let listed = other.get("/console/import").await;
    assert!(
        listed
            .body
            .contains(&format!("data-id=\"{id}\" data-state=\"done\"")),
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn a_50_mb_upload_and_a_bad_header_are_refused_with_a_clear_message() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    operator(&t, "op@agency.example", "Oto Operator", "operator").await;
    let ach = achievement(&t).await;
    let mut op = signed_in(&t, "op@agency.example").await;
    let mut big = b"name,email\n".to_vec();
    while big.len() < 50 * 1024 * 1024 {
        big.extend_from_slice(b"Some Person,some.person@example.org\n");
    }
    let a = upload(&mut op, &ach, &big).await;
    assert_eq!(a.status, 413);
    assert!(
        a.body.contains("The file is too large. The limit is 16 MB"),
        "{}",
        a.body
    );
    op.lang = "ja";
    let a = upload(&mut op, &ach, &big).await;
    assert_eq!(a.status, 413);
    assert!(a.body.contains("ファイルが大きすぎます"), "{}", a.body);
    op.lang = "en";
    let a = upload(&mut op, &ach, b"name,mail\nA,a@example.org\n").await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("This file cannot be imported."));
    assert!(
        a.body.contains("unknown column &#34;mail&#34;"),
        "{}",
        a.body
    );
    let a = upload(&mut op, &ach, b"").await;
    assert_eq!(a.status, 400);

    // JSON, told by its first character: each element checked.
    let json = br#"[{"name": "Ana Lee", "email": "ana@example.org"},
{"name": 5, "email": "b@example.org"}]"#;
    let id = job_id(&upload_named(&mut op, &ach, "people", json).await);
    let preview = op.get(&format!("/console/import/{id}")).await;
    assert_eq!(by_id(&preview.body, "count-records").as_deref(), Some("2"));
    assert_eq!(by_id(&preview.body, "count-new").as_deref(), Some("1"));
    assert!(
        preview
            .body
            .contains("The name is missing or longer than 200 characters.")
    );

    // A preview not confirmed within the hour: expired, refused, then purged.
    let csrf = field(&preview.body, "csrf");
    // (Used every 25 minutes, so the session outlives its 30 idle minutes.)
    for step in [1_500, 1_500, 601] {
        t.stack.clock.advance(step);
        assert_eq!(op.get("/console/import").await.status, 200);
    }
    let page = op.get(&format!("/console/import/{id}")).await;
    assert!(by_id(&page.body, "expired").is_some(), "{}", page.body);
    assert!(by_id(&page.body, "confirm").is_none());
    let a = op
        .post(&format!("/console/import/{id}/confirm"), &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, 400);
    let app = &t.stack.issuer.app;
    assert_eq!(
        app.store
            .purge_import_previews(t.stack.clock.now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(op.get(&format!("/console/import/{id}")).await.status, 404);
    assert!(
        app.store
            .registration_by_key(&ach, "ana@example.org")
            .await
            .unwrap()
            .is_none()
    );
}

/// A file of `n` people, `Person 0001` ….
fn people(n: usize) -> String {
    let mut csv = String::from("name,email\n");
    for i in 1..=n {
        csv.push_str(&format!("Person {i:04},person{i:04}@example.org\n"));
    }
    csv
}

/// Confirms `id` and runs it until its first batch is committed, then drops the runner
/// (as a crash would): the job is left running with what it committed.
async fn run_first_batch_then_crash(t: &TestStack, c: &Console, id: &str) {
    let app = &t.stack.issuer.app;
    let (op, session) = operator_of(t, c).await;
    let run = app.claim_import(id, &op, &session).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let job = app.run_import_job(id, run, move |done| {
        let _ = tx.send(done);
    });
    tokio::select! {
        biased;
        done = rx.recv() => assert_eq!(done, Some(500)),
        r = job => panic!("the job ended before its runner was dropped: {r:?}"),
    }
}

/// Tables analyzed by the planner (`ANALYZE`, not autovacuum's) in the issuer's schema, of
/// those an import fills; `None` on SQLite (no statistics are refreshed there).
async fn analyzed_import_tables(t: &TestStack) -> Option<i64> {
    let kit::db::Db::Postgres(pool) = &t.stack.issuer.app.store.db else {
        return None;
    };
    Some(
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() \
             AND relname IN ('registrations', 'outbox', 'registration_events') \
             AND last_analyze IS NOT NULL",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
    )
}

/// A preview of 4,500 people registers nobody, so it leaves the planner's statistics
/// alone; importing them refreshes them (on PostgreSQL, after 2,000 records and at 4,000).
#[tokio::test]
async fn a_preview_leaves_the_planner_statistics_alone_and_an_import_refreshes_them() {
    let t = TestStack::start_with(|c| c.issuer.outbox_concurrency = 0).await;
    let id = achievement(&t).await;
    let app = &t.stack.issuer.app;
    let csv = people(4_500).into_bytes();
    let preview = app
        .preview_import(csv.clone(), Format::Csv, Some(&id))
        .await
        .unwrap();
    assert_eq!((preview.records, preview.rejected), (4_500, 0));
    let before = analyzed_import_tables(&t).await;
    assert!(matches!(before, None | Some(0)), "{before:?}");
    let summary = app
        .import(
            std::io::Cursor::new(csv),
            Format::Csv,
            Some(&id),
            "test",
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(summary.invited, 4_500);
    let after = analyzed_import_tables(&t).await;
    assert!(matches!(after, None | Some(3)), "{after:?}");
    t.stack.stop().await;
}

#[tokio::test]
async fn an_import_cut_short_shows_interrupted_and_a_new_run_registers_the_rest() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    operator(&t, "op@agency.example", "Oto Operator", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let ach = achievement(&t).await;
    let mut op = signed_in(&t, "op@agency.example").await;
    let id = job_id(&upload(&mut op, &ach, people(1_200).as_bytes()).await);
    run_first_batch_then_crash(&t, &op, &id).await;
    let overview = app.overview().await.unwrap();
    assert_eq!(overview.total, 500, "the first batch stays");

    // While its runner could still be alive: running, 500 of 1,200.
    let page = op.get(&format!("/console/import/{id}")).await;
    assert!(page.body.contains("data-state=\"running\""));
    assert_eq!(
        by_id(&page.body, "count").unwrap(),
        "500 of 1200 records handled"
    );
    assert!(
        page.body.contains("http-equiv=\"refresh\""),
        "refreshes without JavaScript"
    );
    assert!(by_id(&page.body, "resume").is_none());
    // Silent for longer than a batch may take: interrupted, and the stream says so.
    t.stack.clock.advance(STALE_AFTER + 1);
    let page = op.get(&format!("/console/import/{id}")).await;
    assert!(
        page.body.contains("data-state=\"interrupted\""),
        "{}",
        page.body
    );
    assert!(!page.body.contains("http-equiv=\"refresh\""));
    let events = follow(&op, &id).await;
    assert_eq!(events.last().unwrap()["state"], "interrupted");
    // A viewer sees it listed as interrupted, and cannot run it again.
    let mut viewer = signed_in(&t, "viewer@agency.example").await;
    let listed = viewer.get("/console/import").await;
    assert!(
        listed
            .body
            .contains(&format!("data-id=\"{id}\" data-state=\"interrupted\"")),
        "{}",
        listed.body
    );
    let viewer_csrf = viewer.csrf("/console/import").await;
    let a = viewer
        .post(
            &format!("/console/import/{id}/resume"),
            &[("csrf", &viewer_csrf)],
        )
        .await;
    assert_eq!(a.status, 403);

    let csrf = field(&page.body, "csrf");
    let a = op
        .post(&format!("/console/import/{id}/resume"), &[("csrf", &csrf)])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    // Followed from another instance on the same database, with the same session.
    let (_b, b_url, _stop) = crate::console_settings::second_instance(&t).await;
    let on_b = Console {
        http: op.http.clone(),
        base: b_url,
        jar: op.jar.clone(),
        lang: "en",
    };
    let events = follow(&on_b, &id).await;
    let last = events.last().unwrap();
    assert_eq!(last["state"], "done", "{events:?}");
    // The first run's 500 stay "created"; nobody was registered twice.
    assert_eq!(last["created"], 1_200);
    assert_eq!(last["duplicates"], 0);
    assert_eq!(app.overview().await.unwrap().total, 1_200);
    let again = op
        .post(&format!("/console/import/{id}/resume"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 400, "only an interrupted job runs again");
    let audit = app.store.audit_log(50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "import.resumed" && e.subject == id)
    );
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn import_pages_in_chromium_at_two_widths_in_two_languages() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    operator(&t, "op@agency.example", "Oto Operator", "operator").await;
    achievement(&t).await;
    let console = format!("{}/console", t.issuer());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("people.csv");
    std::fs::write(&bad, FILE).unwrap();

    let mut b = Browser::start("console-import").await.unwrap();
    b.goto(&format!("{console}/sign-in")).await.unwrap();
    b.fill("#email", "op@agency.example").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#who", "Oto Operator").await.unwrap();
    b.goto(&format!("{console}/import")).await.unwrap();
    b.wait_for_text("h1", "Import registrations").await.unwrap();
    b.screenshots("upload-en").await.unwrap();
    b.upload("#file", &bad).await.unwrap();
    b.click("#upload").await.unwrap();
    b.wait_for_text("h1", "Check before importing")
        .await
        .unwrap();
    b.wait_for_text("#problems", "This is not an email address.")
        .await
        .unwrap();
    b.screenshots("preview-en").await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_for_text("h1", "取り込む前の確認").await.unwrap();
    b.screenshots("preview-ja").await.unwrap();
    b.click("#confirm").await.unwrap();
    // The page follows the events and turns into the result by itself.
    b.wait_for_text("h1", "取り込みが完了しました")
        .await
        .unwrap();
    // Nobody was registered before here: Ana, the script, the formula and Pre.
    b.wait_for_text("#count-created", "4").await.unwrap();
    b.screenshots("result-ja").await.unwrap();

    // A job left half done (uploaded and cut short over HTTP, as in the journey above):
    // its progress bar, then interrupted, then the rest.
    let mut op = signed_in(&t, "op@agency.example").await;
    let ach = achievement(&t).await;
    let id = job_id(&upload(&mut op, &ach, people(1_200).as_bytes()).await);
    run_first_batch_then_crash(&t, &op, &id).await;
    let url = format!("{console}/import/{id}");
    b.goto(&url).await.unwrap();
    b.wait_for_text("#count", "1200件中 500件を処理しました")
        .await
        .unwrap();
    b.screenshots("progress-ja").await.unwrap();
    b.click("#lang-en").await.unwrap();
    b.wait_for_text("#count", "500 of 1200 records handled")
        .await
        .unwrap();
    b.screenshots("progress-en").await.unwrap();
    t.stack.clock.advance(STALE_AFTER + 1);
    b.goto(&url).await.unwrap();
    b.wait_for_text("#interrupted", "interrupted")
        .await
        .unwrap();
    b.screenshots("interrupted-en").await.unwrap();
    b.click("#resume").await.unwrap();
    b.wait_for_text("h1", "Import finished").await.unwrap();
    b.wait_for_text("#count-created", "1200").await.unwrap();
    b.screenshots("result-en").await.unwrap();
    // The upload page lists both imports, to come back to.
    b.goto(&format!("{console}/import")).await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_for_text("#recent", "完了").await.unwrap();
    b.screenshots("upload-recent-ja").await.unwrap();
    b.quit().await;
}
