//! The console's whole walk (issue 16, "Done when"), in one headless Chromium session as an
//! operator meets it, in order: signs in with a passkey through Chromium's virtual
//! authenticator; creates an achievement in English and Japanese with an image; imports a
//! CSV with bad lines through its preview and watches the progress bar reach the end;
//! filters the registrations by status; resends one invitation; revokes one badge (whose
//! holder's public page then says Revoked); exports the CSV; retires the achievement
//! through its confirmation page. Then a viewer posts every
//! form of the console router (found by reading the router's source, so a new form is
//! covered the day it is added) and gets 403 on each, changing nothing; and the audit log
//! page lists every change of the walk with its operator. Pages are pictured at 1280 and
//! 390 px in English and Japanese, each checked by axe-core and for sideways scrolling.
//!
//! The issuer is `http://localhost:<port>`: WebAuthn refuses IP addresses.

use std::collections::BTreeSet;

use akashi_tests::browser::Browser;
use issuer_agent::store::AuditEntry;

use crate::common::TestStack;
use crate::console::{Console, PASSWORD, csv_data_lines, give_badge, operator};

const ADMIN: &str = "aiko@agency.example";
const VIEWER: &str = "vera@agency.example";
/// Good lines of the imported file (enough batches for the bar to be seen moving).
const PEOPLE: usize = 2_400;
/// The file's bad lines, each with the reason the preview gives.
const BAD_LINES: &str = "Bad Mail,not-an-address,en\n\
Too Many,many@example.org,en,extra\n\
Person 0001 Again,PERSON0001@example.org,en\n";

/// Records, across the page's reloads (`sessionStorage`), the furthest the import's
/// progress bar got: `value/max` of `#bar` each time the page's script moves it.
const BAR_RECORDER: &str = "document.addEventListener('DOMContentLoaded', function () {
  var bar = document.getElementById('bar');
  if (!bar) return;
  var note = function () {
    sessionStorage.setItem('bar-seen', bar.getAttribute('value') + '/' + bar.getAttribute('max'));
  };
  note();
  new MutationObserver(note).observe(bar, { attributes: true });
});";

/// A stack whose issuer is `http://localhost:<port>` (a free port, below the ephemeral range).
async fn localhost_stack() -> TestStack {
    let port = crate::mail::free_port();
    TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
        c.issuer.service.listen = format!("127.0.0.1:{port}");
        c.issuer.service.public_url = format!("http://localhost:{port}");
    })
    .await
}

/// A 256 × 256 PNG of one colour.
fn png(size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..size * size).flat_map(|_| [200, 16, 46, 255]).collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// The current page in Japanese and in English (the console's language switch), each at
/// 1280 and 390 px; the browser is left on the English page at 1280 px.
async fn both_languages(b: &mut Browser, step: &str) {
    b.click("#lang-ja").await.unwrap();
    b.wait_until(
        "return document.documentElement.lang === 'ja'",
        "the page is in Japanese",
    )
    .await
    .unwrap();
    b.screenshots(&format!("{step}-ja")).await.unwrap();
    b.click("#lang-en").await.unwrap();
    b.wait_until(
        "return document.documentElement.lang === 'en'",
        "the page is in English",
    )
    .await
    .unwrap();
    b.screenshots(&format!("{step}-en")).await.unwrap();
}

/// Every `(method-less) path` the console router serves a POST on, read from the router's
/// source (`.route("<path>", … post(…) …)` in `issuer-agent/src/http/console/*.rs`).
fn console_post_routes() -> BTreeSet<String> {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../issuer-agent/src/http/console");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for call in source.split(".route(").skip(1) {
            // The call's arguments: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find_map(|(i, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(i)
                })
                .expect("a closed .route(");
            let args = &call[..end];
            let Some(route) = args.split('"').nth(1) else {
                continue;
            };
            if args.contains("post(") {
                routes.insert(route.to_owned());
            }
        }
    }
    routes
}

/// The console forms a viewer uses on their own account (signing in and out, their own
/// passkeys and password): allowed to every role, so not expected to be 403.
const OWN_ACCOUNT: &[&str] = &[
    "/console/sign-in",
    "/console/sign-in/passkey",
    "/console/sign-in/passkey/options",
    "/console/sign-out",
    "/console/passkeys",
    "/console/passkeys/options",
    "/console/passkeys/{id}/rename",
    "/console/passkeys/{id}/remove",
    "/console/password",
];

/// The forms whose body is `multipart/form-data` (file uploads).
const MULTIPART: &[&str] = &[
    "/console/achievements/new",
    "/console/achievements/{id}/edit",
    "/console/import",
    "/console/settings",
];

/// A `multipart/form-data` body of `fields`, an `achievement_id`, a CSV `file` and a PNG
/// `image`: its content type and bytes.
fn multipart(fields: &[(&str, &str)], achievement_id: &str) -> (String, Vec<u8>) {
    let boundary = "----akashi-walk-boundary-51c2";
    let mut body = Vec::new();
    for (name, value) in fields.iter().chain([&("achievement_id", achievement_id)]) {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file, media_type, bytes) in [
        (
            "file",
            "eve.csv",
            "text/csv",
            b"name,email\nEve,eve@example.org\n".to_vec(),
        ),
        ("image", "eve.png", "image/png", png(64)),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: {media_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Audit entries in `after` that are not in `before` (as multisets).
fn new_entries(before: &[AuditEntry], after: &[AuditEntry]) -> Vec<AuditEntry> {
    let key = |e: &AuditEntry| {
        (
            e.at,
            e.action.clone(),
            e.subject.clone(),
            e.detail.clone(),
            e.operator_id.clone(),
        )
    };
    let mut old: Vec<_> = before.iter().map(key).collect();
    let mut out = Vec::new();
    for e in after {
        if let Some(i) = old.iter().position(|k| *k == key(e)) {
            old.swap_remove(i);
        } else {
            out.push(e.clone());
        }
    }
    out
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn an_operator_walks_the_whole_console_and_a_viewer_changes_nothing() {
    let t = localhost_stack().await;
    let app = &t.stack.issuer.app;
    let admin_id = operator(&t, ADMIN, "Aiko Admin", "admin").await;
    operator(&t, VIEWER, "Vera Viewer", "viewer").await;
    let console = format!("{}/console", t.issuer());
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("badge.png");
    std::fs::write(&image, png(256)).unwrap();
    let mut csv = String::from("name,email,locale\n");
    for i in 1..=PEOPLE {
        csv.push_str(&format!(
            "Person {i:04},person{i:04}@example.org,{}\n",
            if i % 3 == 0 { "ja" } else { "en" }
        ));
    }
    csv.push_str(BAD_LINES);
    let file = dir.path().join("people.csv");
    std::fs::write(&file, &csv).unwrap();
    let audit_at_start = app.store.audit_log(100_000).await.unwrap();

    let mut b = Browser::start("console-walk").await.unwrap();
    b.set_screen(1280).await.unwrap();
    b.before_each_page(BAR_RECORDER).await.unwrap();
    let authenticator = b.add_virtual_authenticator().await.unwrap();

    // 1. The passkey: made once after a password sign-in, then the way in.
    b.goto(&format!("{console}/sign-in")).await.unwrap();
    b.fill("#email", ADMIN).await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#who", "Aiko Admin").await.unwrap();
    b.goto(&format!("{console}/passkeys")).await.unwrap();
    b.fill("#passkey-name", "Office laptop").await.unwrap();
    b.click("#passkey-add-button").await.unwrap();
    b.wait_for_text("#done", "The passkey was added")
        .await
        .unwrap();
    assert_eq!(
        b.virtual_credentials(&authenticator).await.unwrap().len(),
        1
    );
    b.click("#sign-out").await.unwrap();
    b.wait_until(
        "return !document.getElementById('passkey-sign-in').hidden",
        "the passkey button shows",
    )
    .await
    .unwrap();
    both_languages(&mut b, "sign-in").await;
    b.click("#passkey-sign-in-button").await.unwrap();
    b.wait_for_text("#who", "Aiko Admin").await.unwrap();
    b.wait_for_text("h1", "Overview").await.unwrap();
    both_languages(&mut b, "overview").await;

    // 2. An achievement in two languages, with its image.
    b.goto(&format!("{console}/achievements/new"))
        .await
        .unwrap();
    b.wait_for_text("h1", "New achievement").await.unwrap();
    b.click("#language-ja").await.unwrap();
    b.fill("#name_ja", "デジタル推進委員").await.unwrap();
    b.fill(
        "#description_ja",
        "地域の人がデジタル機器を使えるよう支援します。",
    )
    .await
    .unwrap();
    b.fill("#criteria_ja", "講座を修了しました。")
        .await
        .unwrap();
    b.fill("#name_en", "Digital Promotion Volunteer")
        .await
        .unwrap();
    b.fill("#description_en", "Helps neighbours use digital devices.")
        .await
        .unwrap();
    b.fill("#criteria_en", "Completed the course.")
        .await
        .unwrap();
    b.upload("#image", &image).await.unwrap();
    b.click("#save").await.unwrap();
    b.wait_for_text("#done", "The achievement was created.")
        .await
        .unwrap();
    b.wait_until(
        "return [...document.querySelectorAll('#preview img')].every(i => i.complete && i.naturalWidth === 256)",
        "the preview shows the uploaded image",
    )
    .await
    .unwrap();
    let url = b.url().await.unwrap();
    let ach = url
        .split("/console/achievements/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("the edit page of the new achievement: {url}"))
        .to_owned();
    let made = app.store.achievement(&ach).await.unwrap().unwrap();
    assert_eq!(
        made.name, "デジタル推進委員",
        "Japanese is the main language"
    );
    both_languages(&mut b, "achievement").await;

    // 3. The import: a preview naming each bad line, then the bar to its end.
    b.goto(&format!("{console}/import")).await.unwrap();
    b.execute(
        "document.getElementById('achievement').value = arguments[0]; \
         return document.getElementById('achievement').value;",
        vec![ach.clone().into()],
    )
    .await
    .unwrap();
    b.upload("#file", &file).await.unwrap();
    b.click("#upload").await.unwrap();
    b.wait_for_text("h1", "Check before importing")
        .await
        .unwrap();
    b.wait_for_text("#problems", "This is not an email address.")
        .await
        .unwrap();
    assert_eq!(
        b.text("#count-new").await.unwrap().trim(),
        PEOPLE.to_string()
    );
    assert_eq!(b.text("#count-rejected").await.unwrap().trim(), "2");
    assert_eq!(b.text("#count-repeated").await.unwrap().trim(), "1");
    both_languages(&mut b, "import-preview").await;
    b.click("#confirm").await.unwrap();
    b.wait_for_text("h1", "Import finished").await.unwrap();
    let url = b.url().await.unwrap();
    let import_id = url
        .split("/console/import/")
        .nth(1)
        .unwrap_or_else(|| panic!("the import's own page: {url}"))
        .to_owned();
    let seen = b
        .execute("return sessionStorage.getItem('bar-seen');", vec![])
        .await
        .unwrap();
    let total = PEOPLE + 3;
    assert_eq!(
        seen.as_str(),
        Some(format!("{total}/{total}").as_str()),
        "the progress bar was seen at its end"
    );
    assert_eq!(
        b.text("#count-created").await.unwrap().trim(),
        PEOPLE.to_string()
    );
    both_languages(&mut b, "import-result").await;

    // A holder takes their badge (the wallet's side, outside the console); its public page
    // is public by default. What the holder's wallet did is no operator's change.
    let audit_before_holder = app.store.audit_log(100_000).await.unwrap();
    let holder = give_badge(&t, &ach, "person0007@example.org").await;
    let audit_after_holder = app.store.audit_log(100_000).await.unwrap();
    let wallet = &t.stack.wallet.app;
    let account = wallet
        .ensure_account("person0007@example.org", t.stack.clock.now())
        .await
        .unwrap();
    let public_url = wallet
        .visibilities(&account, t.stack.clock.now())
        .await
        .unwrap()
        .into_values()
        .find(|v| v.public)
        .expect("the badge is public")
        .public_url;
    let mut stranger = Browser::start("console-walk-public").await.unwrap();
    stranger.goto(&public_url).await.unwrap();
    stranger
        .wait_until(
            "const v = document.getElementById('verdict'); return v !== null && v.dataset.state === 'valid';",
            "the public page says valid",
        )
        .await
        .unwrap();

    // 4. The registrations, filtered by status.
    b.goto(&format!("{console}/registrations")).await.unwrap();
    b.wait_for_text("#count-total", &PEOPLE.to_string())
        .await
        .unwrap();
    b.execute(
        "document.getElementById('status').value = 'badge_received'; return true;",
        vec![],
    )
    .await
    .unwrap();
    b.click("#show").await.unwrap();
    b.wait_until(
        "const rows = [...document.querySelectorAll('#registrations tbody tr')]; \
         return location.search.includes('status=badge_received') && rows.length === 1 \
           && rows[0].dataset.status === 'badge_received';",
        "only the badge holder is listed",
    )
    .await
    .unwrap();
    b.wait_for_text("#registrations", "Person 0007")
        .await
        .unwrap();
    both_languages(&mut b, "registrations-filtered").await;

    // 5. One invitation sent again, from the person's page.
    let invited = app
        .store
        .registration_by_key(&ach, "person0002@example.org")
        .await
        .unwrap()
        .unwrap();
    let letters = app.store.registration_messages(&invited.id).await.unwrap();
    b.goto(&format!("{console}/registrations/{}", invited.id))
        .await
        .unwrap();
    b.wait_for_text("#person-name", "Person 0002")
        .await
        .unwrap();
    b.click("#resend").await.unwrap();
    b.wait_for_text("#done", "The invitation will be sent again.")
        .await
        .unwrap();
    let after = app.store.registration_messages(&invited.id).await.unwrap();
    assert_eq!(after.len(), letters.len() + 1, "one more invitation queued");
    assert!(after.iter().all(|m| m.kind == "invitation"), "{after:?}");
    both_languages(&mut b, "person-resent").await;

    // 6. One badge revoked, through its "are you sure" page; the public page says so.
    b.goto(&format!("{console}/registrations/{holder}"))
        .await
        .unwrap();
    b.click("#set-revoked").await.unwrap();
    b.wait_for_text("h1", "Revoke this badge?").await.unwrap();
    both_languages(&mut b, "revoke-confirm").await;
    b.click("#revoke-yes").await.unwrap();
    b.wait_for_text("#person-status", "Revoked").await.unwrap();
    both_languages(&mut b, "person-revoked").await;
    // Its times in the reader's words: Japan time on the Japanese page.
    b.click("#lang-ja").await.unwrap();
    let history = b.wait_for_text("#history", "日本時間").await.unwrap();
    assert!(!history.contains("UTC"), "{history}");
    b.click("#lang-en").await.unwrap();
    b.wait_for_text("#history", "UTC").await.unwrap();
    stranger.goto(&public_url).await.unwrap();
    stranger
        .wait_until(
            "const v = document.getElementById('verdict'); return v !== null && v.dataset.state === 'revoked';",
            "the public page says revoked",
        )
        .await
        .unwrap();
    stranger.screenshots("public-page-revoked").await.unwrap();
    stranger.quit().await;

    // 7. The export: the page's link, downloaded by the browser.
    let downloads = tempfile::tempdir().unwrap();
    b.download_to(downloads.path()).await.unwrap();
    b.goto(&format!("{console}/registrations")).await.unwrap();
    b.click("#export-csv").await.unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let export = loop {
        // Chromium writes `<name>.crdownload` and renames it when the download is whole.
        let done: Vec<_> = std::fs::read_dir(downloads.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("csv"))
            .collect();
        if let [file] = done.as_slice() {
            break std::fs::read_to_string(file).unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the export was downloaded: {done:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let lines = csv_data_lines(&export);
    assert_eq!(lines.len(), PEOPLE, "one line per registration");
    // name, email, achievement, status (in the reader's language), registered
    let revoked: Vec<_> = lines
        .iter()
        .filter(|l| l.split(',').nth(3) == Some("Revoked"))
        .collect();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(revoked[0].contains("person0007@example.org"), "{revoked:?}");

    // The programme ends: the achievement retired, through its "are you sure" page.
    b.goto(&format!("{console}/achievements/{ach}/edit"))
        .await
        .unwrap();
    b.click("#retire").await.unwrap();
    b.wait_for_text("h1", "Retire this achievement?")
        .await
        .unwrap();
    assert_eq!(
        b.text("#achievement-registrations").await.unwrap().trim(),
        PEOPLE.to_string()
    );
    assert!(
        app.store
            .achievement(&ach)
            .await
            .unwrap()
            .unwrap()
            .retired_at
            .is_none(),
        "nothing is retired before it is confirmed"
    );
    both_languages(&mut b, "retire-confirm").await;
    b.click("#retire-yes").await.unwrap();
    b.wait_for_text("#done", "The achievement was retired")
        .await
        .unwrap();
    let audit_walked = app.store.audit_log(100_000).await.unwrap();

    // 8. A viewer posts every form of the console: 403 on each, nothing changed.
    let routes = console_post_routes();
    for own in OWN_ACCOUNT {
        assert!(
            routes.contains(*own),
            "{own} is no longer a form: {routes:?}"
        );
    }
    assert!(routes.len() > OWN_ACCOUNT.len() + 8, "{routes:?}");
    let mut viewer = Console::new(&t);
    assert_eq!(viewer.sign_in(VIEWER, PASSWORD).await.status, 303);
    let csrf = viewer.csrf("/console/registrations").await;
    let job = app
        .store
        .registration_messages(&invited.id)
        .await
        .unwrap()
        .remove(0)
        .id;
    let mut posted = Vec::new();
    for route in routes.iter().filter(|r| !OWN_ACCOUNT.contains(&r.as_str())) {
        let path = route
            .replace("/registrations/{id}", &format!("/registrations/{holder}"))
            .replace("/achievements/{id}", &format!("/achievements/{ach}"))
            .replace("/delivery/{id}", &format!("/delivery/{job}"))
            .replace("/import/{id}", &format!("/import/{import_id}"))
            .replace(
                "/operators/{id}/{change}",
                &format!("/operators/{admin_id}/disable"),
            );
        assert!(
            !path.contains('{'),
            "a route with an unknown parameter: {route}"
        );
        let fields = [
            ("csrf", csrf.as_str()),
            ("status", "valid"),
            ("confirm", "yes"),
            ("name_en", "Taken Over"),
            ("email", "intruder@example.org"),
            ("role", "admin"),
        ];
        let answer = if MULTIPART.contains(&route.as_str()) {
            let (content_type, body) = multipart(&fields, &ach);
            let r = viewer
                .http
                .post(format!("{}{path}", viewer.base))
                .header("cookie", viewer.cookies())
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            viewer.answer(r).await
        } else {
            viewer.post(&path, &fields).await
        };
        assert_eq!(answer.status, 403, "{route} ({path}): {}", answer.body);
        assert!(
            answer.body.contains("not make this change"),
            "{route}: refused for the role, not for its form: {}",
            answer.body
        );
        posted.push(route.clone());
    }
    assert!(
        new_entries(&audit_walked, &app.store.audit_log(100_000).await.unwrap()).is_empty(),
        "the viewer's posts changed nothing"
    );
    assert_eq!(
        app.person(&holder).await.unwrap().status,
        "revoked",
        "a revoked badge stays revoked"
    );

    // 9. The audit log: every change of the walk, each by its operator, on the page.
    let mut changes = new_entries(&audit_at_start, &audit_before_holder);
    changes.extend(new_entries(&audit_after_holder, &audit_walked));
    for c in &changes {
        assert_eq!(
            c.operator_id.as_deref(),
            Some(admin_id.as_str()),
            "made by the signed-in operator: {c:?}"
        );
    }
    let actions: BTreeSet<&str> = changes.iter().map(|c| c.action.as_str()).collect();
    for expected in [
        "passkey.added",
        "achievement.created",
        "import.started",
        "registration.invitation_resent",
        "credential.revoked",
        "achievement.retired",
    ] {
        assert!(actions.contains(expected), "{expected} in {actions:?}");
    }
    b.goto(&format!("{console}/audit?operator={admin_id}"))
        .await
        .unwrap();
    let mut listed: Vec<(String, String)> = Vec::new();
    loop {
        b.find("#audit").await.unwrap();
        let rows = b
            .execute(
                "return [...document.querySelectorAll('#audit tbody tr')] \
                   .map(r => [r.dataset.action, r.querySelector('.who').textContent]);",
                vec![],
            )
            .await
            .unwrap();
        for r in rows.as_array().unwrap() {
            listed.push((
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().unwrap().to_owned(),
            ));
        }
        if b.find("#next-page").await.is_err() {
            break;
        }
        b.click("#next-page").await.unwrap();
        b.wait_until("return document.readyState === 'complete'", "the next page")
            .await
            .unwrap();
    }
    for c in &changes {
        let at = listed
            .iter()
            .position(|(action, who)| *action == c.action && who.contains("Aiko Admin"))
            .unwrap_or_else(|| panic!("{c:?} is not on the audit page: {listed:?}"));
        listed.remove(at);
    }
    b.goto(&format!("{console}/audit")).await.unwrap();
    b.wait_for_text("#audit", "Aiko Admin").await.unwrap();
    both_languages(&mut b, "audit").await;
    b.quit().await;
    t.stack.stop().await;
}
