//! Achievements in the console, in English and Japanese: an operator creates one over
//! HTTP with a badge image (multipart, as the page's form sends it), and the languages
//! reach everything downstream: the admin API, the credential (main language with
//! `inLanguage`, the other as a `related` language edition, schema-valid and covered by the
//! Data Integrity proof), the public edition per language, the metadata `display` per
//! locale, the invitation in the recipient's language, and every console page (a script in
//! a name stays text). Attacked: a viewer's POST, a missing or another session's CSRF
//! token, an oversized image, a file that is not an image, an empty or overlong name, a
//! missing achievement. Then the pages in headless Chromium at 1280 and 390 px, in English
//! and Japanese, with axe-core.

use akashi_tests::browser::Browser;
use issuer_agent::domain::registrations::NewRegistration;
use serde_json::{Value, json};

use crate::common::TestStack;
use crate::console::{Answer, Console, PASSWORD, operator};
use crate::formats::{LDP_VC, SD_JWT, request, resolve_kid};

const HOSTILE: &str = "<script>alert(1)</script>";

impl Console {
    async fn post_multipart(&mut self, path: &str, form: &Multipart) -> Answer {
        let (content_type, body) = form.encode();
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.send(req).await
    }
}

/// A `multipart/form-data` body: text fields and at most one file, `image`.
#[derive(Clone, Default)]
struct Multipart {
    fields: Vec<(String, String)>,
    image: Option<(String, Vec<u8>)>,
}

impl Multipart {
    fn with(mut self, name: &str, value: &str) -> Self {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_owned(), value.to_owned()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.fields.retain(|(n, _)| n != name);
        self
    }

    fn image(mut self, media_type: &str, bytes: Vec<u8>) -> Self {
        self.image = Some((media_type.to_owned(), bytes));
        self
    }

    fn encode(&self) -> (String, Vec<u8>) {
        let boundary = "----akashi-achievement-boundary-Q2x1cmVk";
        let mut body = Vec::new();
        for (name, value) in &self.fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        if let Some((media_type, bytes)) = &self.image {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"badge\"\r\nContent-Type: {media_type}\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }
}

/// A `size`×`size` RGBA PNG, one colour.
fn png(size: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let pixels: Vec<u8> = (0..size * size).flat_map(|_| [29, 53, 87, 255]).collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// The console's form, filled in both languages, English the main one.
fn two_languages(csrf: &str) -> Multipart {
    Multipart::default()
        .with("csrf", csrf)
        .with("language", "en")
        .with("name_en", &format!("Digital Supporter {HOSTILE}"))
        .with(
            "description_en",
            "Helps citizens use public digital services.",
        )
        .with("criteria_en", "Completed the 6-hour course.")
        .with("name_ja", "デジタルサポーター")
        .with(
            "description_ja",
            "市民が行政のデジタルサービスを使えるよう支援します。",
        )
        .with("criteria_ja", "6時間の講座を修了しました。")
        .with("criteria_url", "")
        .with("valid_days", "365")
        .with("achievement_type", "Badge")
}

async fn achievement_count(t: &TestStack) -> usize {
    t.stack.issuer.app.store.achievements().await.unwrap().len()
}

#[tokio::test]
async fn achievements_in_two_languages_from_the_console_to_credential_metadata_and_mail() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
        c.issuer.name_ja = Some("証発行機関".into());
        c.issuer.logo_url = Some("https://agency.example/logo.png".into());
    })
    .await;
    let op_id = operator(&t, "op@agency.example", "Oskar Operator", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let mut op = Console::new(&t);
    op.signed_in("op@agency.example").await;
    let mut viewer = Console::new(&t);
    viewer.signed_in("viewer@agency.example").await;

    // Attacks first, each changing nothing.
    let csrf = op.csrf("/console/achievements/new").await;
    let form = two_languages(&csrf).image("image/png", png(64));
    // A viewer, with the viewer's own valid token: 403, role named.
    let viewer_csrf = viewer.csrf("/console/achievements/new").await;
    let a = viewer
        .post_multipart(
            "/console/achievements/new",
            &form.clone().with("csrf", &viewer_csrf),
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("viewer"), "{}", a.body);
    // No token, and another session's token.
    let a = op
        .post_multipart("/console/achievements/new", &form.clone().without("csrf"))
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    let a = op
        .post_multipart(
            "/console/achievements/new",
            &form.clone().with("csrf", &viewer_csrf),
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    // An image over the limit: 413 before anything is read further.
    let a = op
        .post_multipart(
            "/console/achievements/new",
            &form.clone().image("image/png", vec![0; 2 * 1024 * 1024]),
        )
        .await;
    assert_eq!(a.status, 413, "{}", a.body);
    // A file that is not an image, as PNG and as GIF; an image just over 1 MiB.
    for (media_type, bytes, says) in [
        (
            "image/png",
            b"GIF89a not a png".to_vec(),
            "is not a PNG image",
        ),
        (
            "image/gif",
            b"GIF89a".to_vec(),
            "must be image/png or image/svg+xml",
        ),
        (
            "image/svg+xml",
            vec![b' '; 1024 * 1024 + 1],
            "is larger than 1048576 bytes",
        ),
    ] {
        let a = op
            .post_multipart(
                "/console/achievements/new",
                &form.clone().image(media_type, bytes),
            )
            .await;
        assert_eq!(a.status, 400, "{media_type}: {}", a.body);
        assert!(a.body.contains("Badge image: "), "{}", a.body);
        assert!(a.body.contains(says), "{says}: {}", a.body);
        // The form comes back as typed, escaped.
        assert!(a.body.contains("デジタルサポーター"), "{}", a.body);
        assert!(!a.body.contains(HOSTILE), "{}", a.body);
    }
    // The main language's name missing; a name of 201 characters in the other language.
    let a = op
        .post_multipart(
            "/console/achievements/new",
            &form.clone().with("name_en", "  "),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("Name (English): must not be empty"),
        "{}",
        a.body
    );
    let a = op
        .post_multipart(
            "/console/achievements/new",
            &form.clone().with("name_ja", &"長".repeat(201)),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body
            .contains("Name (Japanese): is longer than 200 characters"),
        "{}",
        a.body
    );
    // On a Japanese page, what to correct is said in Japanese, the check's English under
    // the technical details.
    op.jar.insert("console_lang".into(), "ja".into());
    let a = op
        .post_multipart(
            "/console/achievements/new",
            &form.clone().with("name_en", ""),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("名前 (英語): 入力してください"),
        "{}",
        a.body
    );
    assert!(a.body.contains("name_en: must not be empty"), "{}", a.body);
    op.jar.remove("console_lang");
    // A body that is not the form: torn multipart, and a urlencoded POST.
    let torn = op
        .http
        .post(format!("{}/console/achievements/new", op.base))
        .header("content-type", "multipart/form-data; boundary=xyz")
        .body("--xyz\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nab");
    let a = op.send(torn).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("The form could not be read"), "{}", a.body);
    let a = op
        .post(
            "/console/achievements/new",
            &[("csrf", &csrf), ("name_en", "x")],
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("The form could not be read"), "{}", a.body);
    // Only part of the other language.
    let a = op
        .post_multipart(
            "/console/achievements/new",
            &form.clone().with("criteria_ja", ""),
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("Criteria (Japanese)"), "{}", a.body);
    assert_eq!(achievement_count(&t).await, 0, "no attack created anything");

    // The operator creates it, with its image.
    let a = op.post_multipart("/console/achievements/new", &form).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let id = a
        .location
        .strip_prefix("/console/achievements/")
        .and_then(|rest| rest.strip_suffix("/edit?done=created"))
        .unwrap_or_else(|| panic!("{}", a.location))
        .to_owned();
    let edit = op.get(&a.location).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(edit.body.contains("The achievement was created."));
    assert!(edit.body.contains("id=\"preview\""), "{}", edit.body);
    assert!(edit.body.contains("data-lang=\"ja\""), "{}", edit.body);
    assert!(
        edit.body.contains("証発行機関"),
        "the Japanese preview names the issuer in Japanese: {}",
        edit.body
    );
    assert!(
        edit.body.contains(&format!("/achievements/{id}/image?v=")),
        "the preview shows the uploaded image: {}",
        edit.body
    );

    // The admin API sees both languages.
    let r = t
        .http
        .get(format!("{}/admin/achievements/{id}", t.issuer()))
        .bearer_auth(crate::common::ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["language"], "en");
    assert_eq!(view["name"], format!("Digital Supporter {HOSTILE}"));
    assert_eq!(
        view["translations"],
        json!([{"language": "ja", "name": "デジタルサポーター",
            "description": "市民が行政のデジタルサービスを使えるよう支援します。",
            "criteria": "6時間の講座を修了しました。"}])
    );
    assert_eq!(view["valid_days"], 365);
    assert!(
        view["image_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256-")
    );

    // Every change is audited with its operator.
    let audit = t.stack.issuer.app.store.audit_log(50).await.unwrap();
    let mine: Vec<(&str, Option<&str>)> = audit
        .iter()
        .filter(|e| e.subject == id)
        .map(|e| (e.action.as_str(), e.operator_id.as_deref()))
        .collect();
    assert!(
        mine.contains(&("achievement.created", Some(op_id.as_str())))
            && mine.contains(&("achievement.image", Some(op_id.as_str()))),
        "{mine:?}"
    );

    // An edit of the Japanese name, no new image: the image stays.
    let csrf = op.csrf(&format!("/console/achievements/{id}/edit")).await;
    let edited = two_languages(&csrf).with("name_ja", "デジタルサポーター(2026)");
    let a = op
        .post_multipart(&format!("/console/achievements/{id}/edit"), &edited)
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(
        a.location,
        format!("/console/achievements/{id}/edit?done=saved")
    );
    let row = t
        .stack
        .issuer
        .app
        .store
        .achievement(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.translations[0].name, "デジタルサポーター(2026)");
    let png_digest = row.image_digest.clone().expect("the image is kept");
    // An SVG replaces it, sent without a type (recognised by its first bytes), its script
    // removed before it is stored.
    let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)"><script>alert(2)</script><circle r="4" fill="#1d4ed8"/></svg>"##;
    let a = op
        .post_multipart(
            &format!("/console/achievements/{id}/edit"),
            &edited
                .clone()
                .image("application/octet-stream", svg.to_vec()),
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let row = t
        .stack
        .issuer
        .app
        .store
        .achievement(&id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(row.image_digest.as_deref(), Some(png_digest.as_str()));
    let (media_type, bytes, _) = t
        .stack
        .issuer
        .app
        .store
        .achievement_image(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(media_type, "image/svg+xml");
    let stored = String::from_utf8(bytes).unwrap();
    assert!(
        stored.contains("<circle") && !stored.contains("alert"),
        "{stored}"
    );
    // A viewer's edit and another session's token: refused, nothing changed.
    let viewer_csrf = viewer
        .csrf(&format!("/console/achievements/{id}/edit"))
        .await;
    let a = viewer
        .post_multipart(
            &format!("/console/achievements/{id}/edit"),
            &edited
                .clone()
                .with("csrf", &viewer_csrf)
                .with("name_ja", "x"),
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    let a = op
        .post_multipart("/console/achievements/no-such-id/edit", &edited.clone())
        .await;
    assert_eq!(a.status, 404, "{}", a.body);

    // The credential: English with `inLanguage`, Japanese as a related language edition,
    // schema-valid in SD-JWT VC and in the Data Integrity form, whose proof covers it.
    let (s, offer) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": id, "recipient_name": "Ana", "recipient_email": "ana@example.org"}),
        )
        .await;
    assert_eq!(s, 201, "{offer}");
    let code = t.pre_authorized_code(&offer).await;
    let (_, token) = t.token(&code, None).await;
    let token = token["access_token"].as_str().unwrap().to_owned();
    let holder = crate::common::holder_key();
    let (s, resp) = request(&t, &token, SD_JWT, &[&holder]).await;
    assert_eq!(s, 200, "{resp}");
    let sd = protocol::sd_jwt::SdJwt::parse(resp["credentials"][0]["credential"].as_str().unwrap())
        .unwrap();
    let ld = sd.issuer_jwt().unwrap().payload["ld"].clone();
    protocol::ob3::schema::validate(&ld).expect("valid against the 1EdTech schema");
    let achievement = &ld["credentialSubject"]["achievement"];
    let uri = format!("{}/achievements/{id}", t.issuer());
    assert_eq!(achievement["id"], uri.as_str());
    assert_eq!(achievement["inLanguage"], "en");
    assert_eq!(achievement["name"], format!("Digital Supporter {HOSTILE}"));
    assert_eq!(
        achievement["related"],
        json!([{"id": format!("{uri}?lang=ja"), "type": ["Related"], "inLanguage": "ja",
            "name": "デジタルサポーター(2026)",
            "description": "市民が行政のデジタルサービスを使えるよう支援します。"}])
    );
    let (s, resp) = request(&t, &token, LDP_VC, &[&holder]).await;
    assert_eq!(s, 200, "{resp}");
    let vc = resp["credentials"][0]["credential"].clone();
    protocol::ob3::schema::validate(&vc).expect("the ldp_vc is schema-valid");
    assert_eq!(
        vc["credentialSubject"]["achievement"]["related"][0]["inLanguage"],
        "ja"
    );
    let did = protocol::did::did_web_from_url(t.issuer()).unwrap();
    let method = vc["proof"][0]["verificationMethod"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = resolve_kid(&method).await;
    protocol::vc::data_integrity::verify(&vc, &key, &method, &did)
        .await
        .expect("the proof verifies");
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["achievement"]["related"][0]["name"] = json!("別の名前");
    assert!(
        protocol::vc::data_integrity::verify(&tampered, &key, &method, &did)
            .await
            .is_err(),
        "the Japanese name is signed too"
    );

    // The holder's wallet shows the badge in the reader's language.
    let wallet = &t.stack.wallet.app;
    let now = t.stack.clock.now();
    let hanako = wallet.ensure_account("hanako", now).await.unwrap();
    let (s, offer) = t
        .admin_post(
            "/admin/offers",
            json!({"achievement_id": id, "recipient_name": "Hanako", "recipient_email": "hanako@example.jp"}),
        )
        .await;
    assert_eq!(s, 201, "{offer}");
    // The offer names the badge in both languages, and the wallet's receive page shows it
    // in the reader's (not the credential configuration's "Open Badge").
    let (s, document) = t
        .get_json(offer["credential_offer_uri"].as_str().unwrap())
        .await;
    assert_eq!(s, 200, "{document}");
    assert_eq!(
        document["akashi_badge_names"],
        json!([{"locale": "en", "name": format!("Digital Supporter {HOSTILE}")},
               {"locale": "ja", "name": "デジタルサポーター(2026)"}])
    );
    for (locale, name) in [
        ("ja", "デジタルサポーター(2026)".to_owned()),
        ("en", format!("Digital Supporter {HOSTILE}")),
    ] {
        let preview = wallet
            .preview_offer(offer["offer_link"].as_str().unwrap(), locale)
            .await
            .expect("the wallet reads the offer");
        assert_eq!(preview.badges, [name]);
    }
    let accepted = wallet
        .accept(&hanako, offer["offer_link"].as_str().unwrap(), None, now)
        .await
        .expect("the wallet accepts the offer");
    let badge = accepted.credentials[0].id.clone();
    let session = wallet.start_session(&hanako, now).await.unwrap();
    for (lang, shown, not_shown) in [
        ("ja", "デジタルサポーター(2026)", "Digital Supporter"),
        (
            "en",
            "Digital Supporter &#60;script&#62;",
            "デジタルサポーター",
        ),
    ] {
        let r = t
            .http
            .get(format!("{}/badges/{badge}", t.stack.wallet.url))
            .header(
                "cookie",
                format!("wallet_session={session}; wallet_lang={lang}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        assert!(page.contains(shown), "{lang}: {page}");
        assert!(!page.contains(not_shown), "{lang}: {page}");
        assert!(!page.contains(HOSTILE), "{lang}: {page}");
    }

    // Each language edition is published where `related` points.
    let (s, ja) = t.get_json(&format!("{uri}?lang=ja")).await;
    assert_eq!(s, 200, "{ja}");
    assert_eq!(ja["id"], format!("{uri}?lang=ja"));
    assert_eq!(ja["inLanguage"], "ja");
    assert_eq!(ja["name"], "デジタルサポーター(2026)");
    assert_eq!(ja["criteria"]["narrative"], "6時間の講座を修了しました。");
    assert_eq!(ja["related"][0]["id"], uri.as_str());
    assert_eq!(ja["related"][0]["inLanguage"], "en");
    let (s, _) = t.get_json(&format!("{uri}?lang=fr")).await;
    assert_eq!(s, 404);

    // The metadata's display: en and ja for the issuer and for every configuration.
    let (s, meta) = t
        .get_json(&format!(
            "{}/.well-known/openid-credential-issuer",
            t.issuer()
        ))
        .await;
    assert_eq!(s, 200);
    let locales = |displays: &Value| -> Vec<String> {
        displays
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["locale"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(locales(&meta["display"]), ["en", "ja"]);
    let configurations = meta["credential_configurations_supported"]
        .as_object()
        .unwrap();
    assert_eq!(configurations.len(), 4);
    assert_eq!(meta["display"][1]["name"], "証発行機関");
    for (name, c) in configurations {
        let display = &c["credential_metadata"]["display"];
        assert_eq!(locales(display), ["en", "ja"], "{name}");
        assert_eq!(display[1]["logo"]["alt_text"], "証発行機関", "{name}");
        assert_ne!(display[0]["logo"]["alt_text"], "証発行機関", "{name}");
    }

    // The invitation is written in the recipient's language, with the name in it.
    let app = &t.stack.issuer.app;
    for (email, locale, subject_has) in [
        ("hanako@example.jp", "ja", "デジタルサポーター(2026)"),
        ("ben@example.org", "en", "Digital Supporter <script>"),
    ] {
        let req = NewRegistration {
            name: "Someone".into(),
            email: email.into(),
            locale: Some(locale.into()),
            ..NewRegistration::default()
        };
        app.register(&id, &req, "test").await.unwrap();
        let r = app
            .store
            .registration_by_key(&id, email)
            .await
            .unwrap()
            .unwrap();
        let invitation = app
            .store
            .registration_messages(&r.id)
            .await
            .unwrap()
            .remove(0);
        let sent = app.outgoing(&invitation).await.unwrap();
        assert!(
            sent.entry.subject.contains(subject_has),
            "{locale}: {}",
            sent.entry.subject
        );
        assert!(
            !sent.html.contains(HOSTILE),
            "the HTML part escapes the name"
        );
    }

    // The script in the name is text on every console page.
    let pages = [
        "/console".to_owned(),
        "/console/achievements".to_owned(),
        format!("/console/achievements/{id}/edit"),
        "/console/registrations".to_owned(),
    ];
    for page in &pages {
        let a = op.get(page).await;
        assert_eq!(a.status, 200, "{page}: {}", a.body);
        assert!(!a.body.contains(HOSTILE), "{page}: {}", a.body);
        assert!(
            a.body.contains("Digital Supporter &lt;script&gt;")
                || a.body.contains("Digital Supporter &#60;script&#62;"),
            "{page}: {}",
            a.body
        );
    }

    // A viewer sees the achievements but no form to change them.
    let list = viewer.get("/console/achievements").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("id=\"read-only\""), "{}", list.body);
    assert!(!list.body.contains("/retire"), "{}", list.body);
    assert!(
        !list.body.contains("id=\"new-achievement\""),
        "{}",
        list.body
    );
    let page = viewer
        .get(&format!("/console/achievements/{id}/edit"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("id=\"save\""), "{}", page.body);

    // Retire: a viewer cannot, an operator can; then no new registrations.
    let viewer_csrf = viewer.csrf("/console/achievements").await;
    let a = viewer
        .post(
            &format!("/console/achievements/{id}/retire"),
            &[("csrf", &viewer_csrf)],
        )
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    let a = op
        .post(&format!("/console/achievements/{id}/retire"), &[])
        .await;
    assert_eq!(a.status, 403, "no token: {}", a.body);
    assert!(
        app.store
            .achievement(&id)
            .await
            .unwrap()
            .unwrap()
            .retired_at
            .is_none()
    );
    // The list's button leads to the "are you sure" page, which alone retires; a viewer
    // gets no such page.
    let csrf = op.csrf("/console/achievements").await;
    let a = op
        .post(
            &format!("/console/achievements/{id}/retire"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location, format!("/console/achievements/{id}/retire"));
    for confirm in ["", "YES", "no"] {
        let a = op
            .post(
                &format!("/console/achievements/{id}/retire"),
                &[("csrf", &csrf), ("confirm", confirm)],
            )
            .await;
        assert_eq!(a.location, format!("/console/achievements/{id}/retire"));
    }
    assert!(
        app.store
            .achievement(&id)
            .await
            .unwrap()
            .unwrap()
            .retired_at
            .is_none(),
        "not retired before it is confirmed"
    );
    let page = viewer
        .get(&format!("/console/achievements/{id}/retire"))
        .await;
    assert_eq!(page.status, 403, "{}", page.body);
    let page = op.get(&format!("/console/achievements/{id}/retire")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Badges already issued stay valid"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("name=\"confirm\" value=\"yes\""),
        "{}",
        page.body
    );
    let page = op.get("/console/achievements/no-such-id/retire").await;
    assert_eq!(page.status, 404, "{}", page.body);
    let a = op
        .post(
            &format!("/console/achievements/{id}/retire"),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location, "/console/achievements?done=retired");
    let page = op.get(&format!("/console/achievements/{id}/retire")).await;
    assert_eq!(page.status, 400, "already retired: {}", page.body);
    let list = op.get(&a.location).await;
    assert!(list.body.contains("data-retired=\"true\""), "{}", list.body);
    assert!(
        !list.body.contains("class=\"danger retire\""),
        "{}",
        list.body
    );
    let audit = app.store.audit_log(50).await.unwrap();
    assert!(
        audit.iter().any(|e| e.subject == id
            && e.action == "achievement.retired"
            && e.operator_id.as_deref() == Some(op_id.as_str())),
        "{audit:?}"
    );
    let (s, e) = t
        .admin_post(
            &format!("/admin/achievements/{id}/registrations"),
            json!({"name": "B", "email": "b@example.org"}),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    t.stack.stop().await;
}

#[tokio::test]
async fn the_admin_api_takes_both_languages_and_names_a_bad_translation() {
    let t = TestStack::start().await;
    // Japanese first, English as the other language.
    let (s, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "デジタルサポーター", "description": "支援します。", "criteria": "講座を修了。",
                "language": "ja",
                "translations": [{"language": "en", "name": "Digital Supporter",
                    "description": "Helps.", "criteria": "Did the course."}]}),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    assert_eq!(a["language"], "ja");
    assert_eq!(a["translations"][0]["name"], "Digital Supporter");
    let id = a["id"].as_str().unwrap().to_owned();
    let (s, doc) = t
        .get_json(&format!("{}/achievements/{id}", t.issuer()))
        .await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["inLanguage"], "ja");
    assert_eq!(doc["related"][0]["inLanguage"], "en");
    assert_eq!(doc["related"][0]["name"], "Digital Supporter");
    let (s, en) = t
        .get_json(&format!("{}/achievements/{id}?lang=en", t.issuer()))
        .await;
    assert_eq!(s, 200, "{en}");
    assert_eq!(en["name"], "Digital Supporter");
    assert_eq!(en["criteria"]["narrative"], "Did the course.");
    // Without the new members, an achievement is English only, as before.
    let (s, plain) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "Plain", "description": "D", "criteria": "C"}),
        )
        .await;
    assert_eq!(s, 201, "{plain}");
    assert_eq!(plain["language"], "en");
    assert_eq!(plain["translations"], json!([]));
    // Each bad member is named.
    let text = |language: &str, name: &str| json!({"language": language, "name": name, "description": "D", "criteria": "C"});
    for (body, field) in [
        (json!({"language": "fr"}), "language"),
        (
            json!({"translations": [text("ja", "")]}),
            "translations[0].name",
        ),
        (
            json!({"translations": [text("en", "Again")]}),
            "translations[0].language",
        ),
        (
            json!({"translations": [text("ja", "一"), text("ja", "二")]}),
            "translations[1].language",
        ),
        (
            json!({"translations": [text("de", "Name")]}),
            "translations[0].language",
        ),
    ] {
        let mut new = json!({"name": "N", "description": "D", "criteria": "C"});
        new.as_object_mut()
            .unwrap()
            .extend(body.as_object().unwrap().clone());
        let (s, e) = t.admin_post("/admin/achievements", new).await;
        assert_eq!(s, 400, "{e}");
        assert_eq!(e["field"], field, "{e}");
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn the_command_line_writes_both_languages() {
    use issuer_agent::cli::{Command, OtherLanguage, run};
    let t = TestStack::start().await;
    let app = &t.stack.issuer.app;
    run(
        app,
        Command::AchievementCreate {
            name: "CLI Badge".into(),
            description: "D".into(),
            criteria: "C".into(),
            language: None,
            other: OtherLanguage {
                other_name: Some("CLI バッジ".into()),
                other_description: Some("説明".into()),
                other_criteria: Some("基準".into()),
            },
            image_url: None,
            valid_days: None,
            criteria_url: None,
            achievement_type: None,
            tags: vec![],
            requires_approval: false,
            json: true,
        },
    )
    .await
    .expect("created");
    let created = app.store.achievements().await.unwrap().remove(0);
    assert_eq!(created.language, "en");
    assert_eq!(created.translations[0].language, "ja");
    assert_eq!(created.translations[0].name, "CLI バッジ");
    // An update of the Japanese name alone keeps the Japanese description and criteria.
    let update = |other: OtherLanguage| Command::AchievementUpdate {
        id: created.id.clone(),
        name: None,
        description: None,
        criteria: None,
        language: None,
        other,
        criteria_url: None,
        valid_days: None,
        achievement_type: None,
        tags: None,
        json: true,
    };
    run(
        app,
        update(OtherLanguage {
            other_name: Some("CLI バッジ 2".into()),
            ..OtherLanguage::default()
        }),
    )
    .await
    .expect("updated");
    let row = app.store.achievement(&created.id).await.unwrap().unwrap();
    assert_eq!(row.translations[0].name, "CLI バッジ 2");
    assert_eq!(row.translations[0].criteria, "基準");
    // Half a translation is refused, naming what is missing.
    let e = run(
        app,
        Command::AchievementCreate {
            name: "Other".into(),
            description: "D".into(),
            criteria: "C".into(),
            language: Some("ja".into()),
            other: OtherLanguage {
                other_name: Some("Other".into()),
                ..OtherLanguage::default()
            },
            image_url: None,
            valid_days: None,
            criteria_url: None,
            achievement_type: None,
            tags: vec![],
            requires_approval: false,
            json: true,
        },
    )
    .await
    .expect_err("refused");
    assert!(e.to_string().contains("translations[0].description"), "{e}");
    assert_eq!(app.store.achievements().await.unwrap().len(), 1);
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn achievement_pages_in_chromium_at_two_widths_in_two_languages() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    operator(&t, "op@agency.example", "Oskar Operator", "operator").await;
    let console = format!("{}/console", t.issuer());
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("badge.png");
    std::fs::write(&image, png(256)).unwrap();

    let mut b = Browser::start("console-achievements").await.unwrap();
    b.goto(&format!("{console}/sign-in")).await.unwrap();
    b.fill("#email", "op@agency.example").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#who", "Oskar Operator").await.unwrap();
    b.goto(&format!("{console}/achievements")).await.unwrap();
    b.wait_for_text("#no-achievements", "No achievements yet.")
        .await
        .unwrap();
    b.click("#new-achievement").await.unwrap();
    b.wait_for_text("h1", "New achievement").await.unwrap();
    b.screenshots("new-en").await.unwrap();
    b.click("#language-en").await.unwrap();
    b.fill("#name_en", &format!("Digital Supporter {HOSTILE}"))
        .await
        .unwrap();
    b.fill(
        "#description_en",
        "Helps citizens use public digital services.",
    )
    .await
    .unwrap();
    b.fill("#criteria_en", "Completed the 6-hour course.")
        .await
        .unwrap();
    b.fill("#name_ja", "デジタルサポーター").await.unwrap();
    b.fill(
        "#description_ja",
        "市民が行政のデジタルサービスを使えるよう支援します。",
    )
    .await
    .unwrap();
    b.fill("#criteria_ja", "6時間の講座を修了しました。")
        .await
        .unwrap();
    b.upload("#image", &image).await.unwrap();
    b.click("#save").await.unwrap();
    b.wait_for_text("#done", "The achievement was created.")
        .await
        .unwrap();
    b.wait_for_text("#preview", "デジタルサポーター")
        .await
        .unwrap();
    b.wait_until(
        "return [...document.querySelectorAll('#preview img')].every(i => i.complete && i.naturalWidth === 256)",
        "the preview shows the uploaded image",
    )
    .await
    .unwrap();
    let title = b.text("#preview .preview-name").await.unwrap();
    assert_eq!(title, format!("Digital Supporter {HOSTILE}"));
    b.screenshots("edit-preview-en").await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.wait_for_text("h1", "バッジの種類の編集").await.unwrap();
    b.screenshots("edit-preview-ja").await.unwrap();
    b.goto(&format!("{console}/achievements")).await.unwrap();
    b.wait_for_text("#achievements", "デジタルサポーター")
        .await
        .unwrap();
    b.screenshots("list-ja").await.unwrap();
    b.click("#lang-en").await.unwrap();
    b.wait_for_text("#achievements", "Digital Supporter")
        .await
        .unwrap();
    b.screenshots("list-en").await.unwrap();
    b.click("#lang-ja").await.unwrap();
    b.goto(&format!("{console}/achievements/new"))
        .await
        .unwrap();
    b.wait_for_text("h1", "バッジの種類を追加").await.unwrap();
    b.screenshots("new-ja").await.unwrap();
    b.quit().await;
    t.stack.stop().await;
}
