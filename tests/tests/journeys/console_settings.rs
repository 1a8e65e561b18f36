//! The console's settings: an administrator changes the issuer's names, the mail From
//! name, the colours, the logo and the lifetimes on one issuer instance; a second instance
//! on the same database (SQLite file or PostgreSQL) uses them within seconds, without a
//! restart: its invitations' lifetime, its emails' From, its metadata's names and logo. An
//! empty field goes back to the configured value. Operators and viewers get 403, a form
//! without the session's CSRF token is refused, bad values are listed by field in English
//! and Japanese, an oversize logo gets a 413 page, every change is audited with its
//! administrator, and a name with markup stays text.

use std::time::Duration;

use issuer_agent::domain::registrations::NewRegistration;
use serde_json::Value;

use crate::common::TestStack;
use crate::console::{Answer, Console, PASSWORD, achievement, by_id, field, operator};

/// A `multipart/form-data` body: text fields, and a file field `logo` when given.
fn form(fields: &[(&str, &str)], logo: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----akashi-settings-boundary-51c2";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((media_type, bytes)) = logo {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo\"\r\nContent-Type: {media_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_settings(
    c: &mut Console,
    fields: &[(&str, &str)],
    logo: Option<(&str, &[u8])>,
) -> Answer {
    let (content_type, body) = form(fields, logo);
    let r = c
        .http
        .post(format!("{}/console/settings", c.base))
        .header("cookie", c.cookies())
        .header("accept-language", c.lang)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    c.answer(r).await
}

async fn signed_in(t: &TestStack, email: &str) -> Console {
    let mut c = Console::new(t);
    assert_eq!(c.sign_in(email, PASSWORD).await.status, 303);
    c
}

/// A small PNG, drawn by the `png` crate the issuer checks logos with.
fn png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, 2, 2);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        let mut w = e.write_header().unwrap();
        w.write_image_data(&[0x1d, 0x35, 0x57, 0xff].repeat(4))
            .unwrap();
    }
    out
}

/// A second issuer instance on the first one's database, served on port 0.
pub(crate) async fn second_instance(
    t: &TestStack,
) -> (issuer_agent::App, String, tokio::sync::oneshot::Sender<()>) {
    let config = t.stack.issuer.app.config.clone();
    let (app, _) = issuer_agent::App::open(config, t.stack.clock.clone())
        .await
        .expect("a second instance opens the same database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(issuer_agent::serve(app.clone(), listener, async move {
        let _ = stopped.await;
    }));
    (app, url, stop)
}

/// Waits (at most 15 s) until `ready` holds.
async fn eventually(what: &str, mut ready: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !ready().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_change_on_one_instance_applies_on_another_without_a_restart() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let a = &t.stack.issuer.app;
    operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let ach = achievement(&t).await;
    let (b, b_url, _stop) = second_instance(&t).await;
    let configured = a.config.clone();
    assert_eq!(b.settings().invitation_ttl, configured.invitation_ttl);
    // B's metadata before the change, kept by B once served (`signed_metadata`).
    let meta = metadata(&t, &b_url).await;
    assert_eq!(meta["display"][0]["name"], configured.name.as_str());

    let mut admin = signed_in(&t, "admin@agency.example").await;
    let page = admin.get("/console/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = field(&page.body, "csrf");
    let logo = png();
    let r = post_settings(
        &mut admin,
        &[
            ("csrf", &csrf),
            ("name_en", "Prefectural Skills Office"),
            ("name_ja", "県スキル事務局"),
            ("mail_from_name", "バッジ事務局"),
            ("brand_color", "#0B6E4F"),
            ("text_color", "#ffffff"),
            ("invitation_hours", "48"),
            ("offer_hours", "2"),
        ],
        Some(("image/png", &logo)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/console/settings?saved=1");
    // In effect on the instance that saved at once, on the other within seconds.
    assert_eq!(a.settings().invitation_ttl, 48 * 3600);
    eventually("instance B reads the new settings", async || {
        b.settings().invitation_ttl == 48 * 3600
    })
    .await;
    let s = b.settings();
    assert_eq!(s.offer_ttl, 2 * 3600);
    assert_eq!(s.name_in("ja"), "県スキル事務局");
    assert_eq!(s.brand_color, "#0b6e4f");

    // B's invitations last 48 hours; its email is from the new name.
    let person = NewRegistration {
        name: "Hanako Tanaka".into(),
        email: "hanako@example.jp".into(),
        locale: Some("ja".into()),
        ..NewRegistration::default()
    };
    // The clock is the system's: a second may tick during the registration.
    let before = t.stack.clock.now();
    let (view, _) = b.register(&ach, &person, "test").await.unwrap();
    let after = t.stack.clock.now();
    assert!(
        (before + 48 * 3600..=after + 48 * 3600).contains(&view.invitation_expires_at),
        "the invitation lasts 48 hours from its registration: expires {}, registered in [{before}, {after}]",
        view.invitation_expires_at
    );
    let message = b
        .store
        .registration_messages(&view.id)
        .await
        .unwrap()
        .remove(0);
    let sent = b.outgoing(&message).await.unwrap();
    let raw = String::from_utf8_lossy(&sent.message.formatted()).into_owned();
    let from = raw
        .lines()
        .find(|l| l.starts_with("From:"))
        .unwrap()
        .to_owned();
    assert!(from.contains("<badges@akashi.example>"), "{from}");
    assert!(!from.contains("Akashi Demo Issuer"), "{from}");
    assert!(
        sent.html.contains("県スキル事務局"),
        "the Japanese letter names the issuer in Japanese"
    );

    // B's metadata: the names per language, the uploaded logo, the colours.
    let meta = metadata(&t, &b_url).await;
    let display = meta["display"].as_array().unwrap();
    let name = |locale: &str| {
        display
            .iter()
            .find(|d| d["locale"] == locale)
            .map(|d| d["name"].as_str().unwrap().to_owned())
    };
    assert_eq!(name("en").as_deref(), Some("Prefectural Skills Office"));
    assert_eq!(name("ja").as_deref(), Some("県スキル事務局"));
    let logo_url = display[0]["logo"]["uri"].as_str().unwrap().to_owned();
    assert!(logo_url.starts_with(&format!("{}/issuer/logo?v=sha256-", t.issuer())));
    let served = t
        .http
        .get(format!("{b_url}/issuer/logo"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), logo);
    let configs = meta["credential_configurations_supported"]
        .as_object()
        .unwrap();
    assert!(
        configs.values().any(
            |c| c["credential_metadata"]["display"][0]["background_color"] == "#0b6e4f"
                || c["display"][0]["background_color"] == "#0b6e4f"
        ),
        "{meta}"
    );

    // Emptied: back to the configured value, on both.
    let csrf = admin.csrf("/console/settings").await;
    let r = post_settings(
        &mut admin,
        &[
            ("csrf", &csrf),
            ("name_en", ""),
            ("name_ja", "県スキル事務局"),
            ("invitation_hours", ""),
            ("offer_hours", "2"),
            ("remove_logo", "1"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    eventually(
        "instance B goes back to the configured values",
        async || {
            let s = b.settings();
            s.invitation_ttl == configured.invitation_ttl && s.name == configured.name
        },
    )
    .await;
    assert_eq!(b.settings().logo_url, configured.logo_url);
    assert_eq!(b.settings().offer_ttl, 2 * 3600);
    // B's metadata follows: the configured English name, no logo.
    let meta = metadata(&t, &b_url).await;
    assert_eq!(meta["display"][0]["name"], configured.name.as_str());
    assert_eq!(meta["display"][1]["name"], "県スキル事務局");
    assert!(meta["display"][0].get("logo").is_none(), "{meta}");
}

/// An instance's Credential Issuer Metadata, checked to be what its `signed_metadata`
/// signs (the kept document and its signature are made together).
async fn metadata(t: &TestStack, base: &str) -> Value {
    let mut meta: Value = t
        .http
        .get(format!("{base}/.well-known/openid-credential-issuer"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = meta
        .as_object_mut()
        .unwrap()
        .remove("signed_metadata")
        .unwrap();
    let signed = protocol::jose::Jws::decode(jwt.as_str().unwrap())
        .unwrap()
        .payload;
    for (name, value) in meta.as_object().unwrap() {
        assert_eq!(&signed[name], value, "signed_metadata's {name}");
    }
    meta
}

#[tokio::test]
async fn settings_are_for_administrators_with_checked_values() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    let admin_id = operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    operator(&t, "op@agency.example", "Oto Operator", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;

    // Operators and viewers: 403 on the page and on the form.
    for email in ["op@agency.example", "viewer@agency.example"] {
        let mut c = signed_in(&t, email).await;
        assert_eq!(c.get("/console/settings").await.status, 403, "{email}");
        let csrf = c.csrf("/console").await;
        let r = post_settings(&mut c, &[("csrf", &csrf), ("name_en", "Mine now")], None).await;
        assert_eq!(r.status, 403, "{email}");
    }
    let mut admin = signed_in(&t, "admin@agency.example").await;
    // No token, or another browser's: refused.
    let r = post_settings(&mut admin, &[("name_en", "Mine now")], None).await;
    assert_eq!(r.status, 403);
    let mut other = signed_in(&t, "op@agency.example").await;
    let foreign = other.csrf("/console").await;
    let r = post_settings(
        &mut admin,
        &[("csrf", &foreign), ("name_en", "Mine now")],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(app.settings().name, app.config.name);

    // Bad values: each named, nothing saved.
    let csrf = admin.csrf("/console/settings").await;
    let bad = [
        ("csrf", csrf.as_str()),
        ("name_en", "Fine"),
        ("mail_from_name", "Evil <x@evil.example>"),
        ("brand_color", "red"),
        ("invitation_hours", "0"),
    ];
    let r = post_settings(&mut admin, &bad, Some(("image/gif", b"GIF89a"))).await;
    assert_eq!(r.status, 400);
    let problems = r.body.split("id=\"problems\"").nth(1).unwrap();
    for needle in [
        "Sender name of the emails: letters",
        "Brand colour (#rrggbb): a colour like #1d3557.",
        "Invitations stay valid for (hours): a whole number",
        "Logo (PNG or SVG, up to 1 MB): a PNG or SVG image",
    ] {
        assert!(problems.contains(needle), "{needle}: {problems}");
    }
    assert_eq!(app.settings().name, app.config.name, "nothing saved");
    admin.lang = "ja";
    let r = post_settings(&mut admin, &bad, None).await;
    assert!(
        r.body
            .contains("ブランドカラー（#rrggbb）：#1d3557 のような色を指定してください。"),
        "{}",
        r.body
    );
    admin.lang = "en";
    // A logo over the limit: 413 and what to do.
    let big = vec![0u8; 2 * 1024 * 1024];
    let r = post_settings(&mut admin, &[("csrf", &csrf)], Some(("image/png", &big))).await;
    assert_eq!(r.status, 413);
    assert!(
        r.body.contains("a PNG or SVG image of at most 1 MB"),
        "{}",
        r.body
    );

    // A name with markup is saved and shown as text; the change is audited.
    let r = post_settings(
        &mut admin,
        &[
            ("csrf", &csrf),
            ("name_en", "<script>alert(1)</script> Office"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = admin.get("/console/settings?saved=1").await;
    assert!(by_id(&page.body, "saved").is_some());
    assert!(!page.body.contains("<script>alert"));
    let root = admin.get("/").await;
    assert!(!root.body.contains("<script>alert"));
    assert!(root.body.contains("alert(1)"), "{}", root.body);
    let audit = app.store.audit_log(20).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == "settings.changed")
        .expect("audited");
    assert_eq!(entry.operator_id.as_deref(), Some(admin_id.as_str()));
    assert!(entry.detail.contains("name_en"), "{}", entry.detail);
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn the_settings_page_in_chromium_at_two_widths_in_two_languages() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let console = format!("{}/console", t.issuer());
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, png()).unwrap();

    let mut b = akashi_tests::browser::Browser::start("console-settings")
        .await
        .unwrap();
    b.goto(&format!("{console}/sign-in")).await.unwrap();
    b.fill("#email", "admin@agency.example").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#who", "Aiko Admin").await.unwrap();
    b.goto(&format!("{console}/settings")).await.unwrap();
    b.wait_for_text("h1", "Settings").await.unwrap();
    b.screenshots("settings-en").await.unwrap();
    b.fill("#name_ja", "県スキル事務局").await.unwrap();
    b.fill("#brand_color", "not a colour").await.unwrap();
    b.click("#save").await.unwrap();
    b.wait_for_text("#problems", "a colour like #1d3557")
        .await
        .unwrap();
    b.screenshots("settings-refused-en").await.unwrap();
    b.fill("#brand_color", "#0b6e4f").await.unwrap();
    b.upload("#logo", &logo).await.unwrap();
    b.click("#save").await.unwrap();
    b.wait_for_text("#saved", "The settings were saved.")
        .await
        .unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_for_text("h1", "設定").await.unwrap();
    b.find("#current-logo").await.unwrap();
    b.screenshots("settings-saved-ja").await.unwrap();
    b.quit().await;
}
