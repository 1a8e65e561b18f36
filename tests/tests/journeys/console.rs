//! The issuer's console (`/console`), used and attacked: operators made by the command
//! line's functions sign in over HTTP; a wrong password and an unknown address get the
//! same answer; repeated failures lock an address, known or not; a form without the
//! session's CSRF token, or with another session's, is refused; a viewer's POST is 403
//! and changes nothing; every change is in the audit log with its operator; the
//! registrations page filters, searches and pages by key over a few hundred people while
//! more register in between. Then the sign-in and registrations pages in headless
//! Chromium at 1280 and 390 px, in English and Japanese (axe-core checks each).

use std::collections::{BTreeMap, HashSet};

use akashi_tests::browser::Browser;
use issuer_agent::domain::operators::NewOperator;
use issuer_agent::domain::registrations::NewRegistration;
use serde_json::json;

use crate::common::TestStack;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A browser on the console over HTTP: its cookies, no redirects followed.
pub(crate) struct Console {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) jar: BTreeMap<String, String>,
    pub(crate) lang: &'static str,
}

/// A response: status, `Location`, body, and the raw `Set-Cookie` values.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: String,
    pub(crate) body: String,
    pub(crate) set_cookies: Vec<String>,
}

impl Console {
    pub(crate) fn new(t: &TestStack) -> Console {
        Console {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: t.issuer().to_owned(),
            jar: BTreeMap::new(),
            lang: "en",
        }
    }

    pub(crate) fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn answer(&mut self, r: reqwest::Response) -> Answer {
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let set_cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || c.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        Answer {
            status,
            location,
            body: r.text().await.unwrap(),
            set_cookies,
        }
    }

    /// Sends `req` with this browser's cookies and language, keeping what it sets.
    pub(crate) async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let r = req
            .header("cookie", self.cookies())
            .header("accept-language", self.lang)
            .send()
            .await
            .unwrap();
        self.answer(r).await
    }

    pub(crate) async fn get(&mut self, path: &str) -> Answer {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_with_cookies(path, form, &self.cookies()).await
    }

    pub(crate) async fn post_with_cookies(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        cookies: &str,
    ) -> Answer {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", cookies)
            .header("accept-language", self.lang)
            .form(form)
            .send()
            .await
            .unwrap();
        self.answer(r).await
    }

    /// The CSRF token of this browser's forms, read from `path`.
    pub(crate) async fn csrf(&mut self, path: &str) -> String {
        let a = self.get(path).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        field(&a.body, "csrf")
    }

    pub(crate) async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        let csrf = self.csrf("/console/sign-in").await;
        self.post(
            "/console/sign-in",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// Signs in with `email` and [`PASSWORD`], which must succeed.
    pub(crate) async fn signed_in(&mut self, email: &str) {
        let a = self.sign_in(email, PASSWORD).await;
        assert_eq!(a.status, 303, "{}", a.body);
    }
}

/// The value of the first `name="<name>"` field of a page.
pub(crate) fn field(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        .to_owned()
}

/// The text of the element with `id`.
pub(crate) fn by_id(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].to_owned())
}

/// The registration ids of a registrations page, in order.
fn row_ids(html: &str) -> Vec<String> {
    html.split("<tr data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

/// The `href` of the element with `id`, entity-decoded.
pub(crate) fn link(html: &str, id: &str) -> Option<String> {
    let pattern = format!("id=\"{id}\" href=\"");
    let start = html.find(&pattern)?;
    let rest = &html[start + pattern.len()..];
    Some(
        rest.split('"')
            .next()?
            .replace("&amp;", "&")
            .replace("&#x2f;", "/"),
    )
}

pub(crate) async fn operator(t: &TestStack, email: &str, name: &str, role: &str) -> String {
    let new = NewOperator {
        email: email.into(),
        name: name.into(),
        role: role.into(),
        password: PASSWORD.into(),
    };
    issuer_agent::cli::operator_create(&t.stack.issuer.app, &new, false)
        .await
        .expect("the operator is created")
        .id
}

pub(crate) async fn achievement(t: &TestStack) -> String {
    let (s, a) = t
        .admin_post(
            "/admin/achievements",
            json!({"name": "Digital Supporter", "description": "Helps people online.", "criteria": "Did the course."}),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    a["id"].as_str().unwrap().to_owned()
}

/// Registers `n` people, `Person 001` … (`personNNN@example.org`), by an import.
pub(crate) async fn register_people(t: &TestStack, ach: &str, n: usize) {
    let mut csv = String::from("name,email\n");
    for i in 1..=n {
        csv.push_str(&format!("Person {i:03},person{i:03}@example.org\n"));
    }
    let summary = t
        .stack
        .issuer
        .app
        .import(
            std::io::Cursor::new(csv.into_bytes()),
            issuer_agent::domain::import::Format::Csv,
            Some(ach),
            "test",
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(summary.invited as usize, n);
}

/// Takes person `email` through the real flow to a badge: the invitation the outbox would
/// send, the wallet's callback (an offer), the wallet accepting the offer.
pub(crate) async fn give_badge(t: &TestStack, ach: &str, email: &str) -> String {
    let issuer = &t.stack.issuer.app;
    let r = issuer
        .store
        .registration_by_key(ach, email)
        .await
        .unwrap()
        .unwrap();
    let invitation = issuer
        .store
        .registration_messages(&r.id)
        .await
        .unwrap()
        .remove(0);
    let sent = issuer.outgoing(&invitation).await.unwrap();
    let token = sent.entry.links[0]
        .split_once("invitation=")
        .unwrap()
        .1
        .to_owned();
    let outcome = issuer.wallet_callback(&token).await.unwrap();
    assert_eq!(outcome.offered, vec![r.id.clone()]);
    let view = issuer.registration_view(&r.id).await.unwrap();
    let offer_link = view.offers[0]["offer_link"].as_str().unwrap().to_owned();
    let now = t.stack.clock.now();
    let wallet = &t.stack.wallet.app;
    let account = wallet.ensure_account(email, now).await.unwrap();
    wallet
        .accept(&account, &offer_link, None, now)
        .await
        .expect("the wallet accepts the offer");
    r.id
}

/// The data lines of a CSV export (after its byte order mark and header), split on CRLF.
pub(crate) fn csv_data_lines(body: &str) -> Vec<String> {
    let body = body
        .strip_prefix('\u{feff}')
        .expect("a byte order mark for Excel");
    let mut lines: Vec<String> = body.split("\r\n").map(str::to_owned).collect();
    assert_eq!(lines.pop().as_deref(), Some(""), "ends with CRLF");
    lines.remove(0);
    lines
}

#[tokio::test]
async fn the_registrations_export_holds_exactly_the_filtered_rows_and_no_formulas() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let ach = achievement(&t).await;
    // More than one export batch (1,000 rows): the stream follows the key across batches.
    register_people(&t, &ach, 1_100).await;
    give_badge(&t, &ach, "person007@example.org").await;
    // Names a spreadsheet would run as formulas, one with a comma and a quote.
    for (name, email) in [
        (
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "formula@example.org",
        ),
        ("+81 90 1234", "plus@example.org"),
        ("@SUM(1+1)", "at@example.org"),
        ("-2+3", "minus@example.org"),
    ] {
        let req = NewRegistration {
            name: name.into(),
            email: email.into(),
            ..NewRegistration::default()
        };
        app.register(&ach, &req, "test").await.unwrap();
    }

    // Signed out: the sign-in page, which comes back to the export.
    let mut stranger = Console::new(&t);
    let a = stranger
        .get("/console/registrations.csv?status=invited")
        .await;
    assert_eq!(a.status, 303);
    assert!(
        a.location
            .starts_with("/console/sign-in?next=%2Fconsole%2Fregistrations.csv")
    );

    // A viewer may read, so may export.
    let mut viewer = Console::new(&t);
    assert_eq!(
        viewer
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        303
    );
    let page = viewer
        .get("/console/registrations?status=badge_received")
        .await;
    assert_eq!(
        link(&page.body, "export-csv").as_deref(),
        Some("/console/registrations.csv?status=badge_received")
    );

    let all = viewer.get("/console/registrations.csv").await;
    assert_eq!(all.status, 200);
    let lines = csv_data_lines(&all.body);
    assert_eq!(lines.len(), 1_104, "every registration, across two batches");
    let unique: HashSet<&String> = lines.iter().collect();
    assert_eq!(unique.len(), lines.len(), "none twice");
    assert!(
        all.body
            .starts_with("\u{feff}Name,Email address,Achievement,Status,Registered\r\n")
    );
    // Formula injection neutralised: each cell starts with a quote mark, quoted when needed.
    assert!(all.body.contains(
        "\r\n\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",formula@example.org,"
    ));
    assert!(all.body.contains("\r\n'+81 90 1234,plus@example.org,"));
    assert!(all.body.contains("\r\n'@SUM(1+1),at@example.org,"));
    assert!(all.body.contains("\r\n'-2+3,minus@example.org,"));
    for line in &lines {
        assert!(!line.starts_with(['=', '+', '-', '@']), "{line}");
        assert!(
            !line.contains(",=") && !line.contains(",+") && !line.contains(",@"),
            "{line}"
        );
    }

    // Filtered: exactly the rows of the page's filter, by status and by search.
    let badge = viewer
        .get("/console/registrations.csv?status=badge_received")
        .await;
    let lines = csv_data_lines(&badge.body);
    assert_eq!(lines.len(), 1, "{}", badge.body);
    assert!(
        lines[0].starts_with("Person 007,person007@example.org,Digital Supporter,Badge received,")
    );
    let search = viewer.get("/console/registrations.csv?q=person+01").await;
    let mut names: Vec<String> = csv_data_lines(&search.body)
        .iter()
        .map(|l| l.split(',').next().unwrap().to_owned())
        .collect();
    names.sort();
    let expected: Vec<String> = (10..20).map(|i| format!("Person {i:03}")).collect();
    assert_eq!(names, expected);
    let none = viewer.get("/console/registrations.csv?q=%25").await;
    assert!(csv_data_lines(&none.body).is_empty(), "% is no wildcard");

    // In Japanese: the header and the statuses.
    viewer.lang = "ja";
    let ja = viewer
        .get("/console/registrations.csv?status=badge_received")
        .await;
    assert!(
        ja.body
            .starts_with("\u{feff}氏名,メールアドレス,バッジの種類,状態,登録日\r\n"),
        "{}",
        ja.body
    );
    assert!(ja.body.contains(",受け取り済み,"));

    // Hostile and oversize filters: an error page, no file.
    for q in [
        "status=deleted".to_owned(),
        format!("q={}", "a".repeat(201)),
    ] {
        let a = viewer.get(&format!("/console/registrations.csv?{q}")).await;
        assert_eq!(a.status, 400, "{q}");
        assert!(!a.body.starts_with('\u{feff}'));
    }
}

/// The history rows of a person page: (event, operator shown).
pub(crate) fn history(html: &str) -> Vec<(String, String)> {
    html.split("<tr data-event=\"")
        .skip(1)
        .map(|row| {
            let event = row.split('"').next().unwrap().to_owned();
            let by = row
                .split("class=\"by\">")
                .nth(1)
                .and_then(|s| s.split('<').next())
                .unwrap_or_default()
                .to_owned();
            (event, by)
        })
        .collect()
}

#[tokio::test]
async fn the_person_page_shows_the_history_with_operators_and_resends_for_operators_only() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;
    let operator_id = operator(&t, "op@agency.example", "Oscar Operator", "operator").await;
    operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    let ach = achievement(&t).await;
    register_people(&t, &ach, 5).await;
    let p1 = give_badge(&t, &ach, "person001@example.org").await;
    let p2 = app
        .store
        .registration_by_key(&ach, "person002@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;

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

    // The operator revokes person 1's badge; the history says so, with the operator.
    let csrf = op.csrf(&format!("/console/registrations/{p1}")).await;
    let a = op
        .post(
            &format!("/console/registrations/{p1}/status"),
            &[("csrf", &csrf), ("status", "revoked"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let page = viewer.get(&format!("/console/registrations/{p1}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let lines = history(&page.body);
    let events: Vec<&str> = lines.iter().map(|(e, _)| e.as_str()).collect();
    // (One second on the test clock: the order within it is not asserted.)
    for e in ["registered", "wallet_registered", "offered", "issued"] {
        assert!(events.contains(&e), "{e}: {events:?}");
    }
    assert_eq!(
        lines.last(),
        Some(&("credential.revoked".to_owned(), "Oscar Operator".to_owned())),
        "{lines:?}"
    );
    assert_eq!(
        by_id(&page.body, "person-status").as_deref(),
        Some("Revoked")
    );
    assert!(
        !page.body.contains("id=\"resend\""),
        "nothing to resend once received"
    );

    // Person 2 is invited: the operator sees the resend form, the viewer does not, and the
    // viewer's POST is refused (403) and sends nothing.
    let path = format!("/console/registrations/{p2}");
    assert!(op.get(&path).await.body.contains("id=\"resend\""));
    let seen = viewer.get(&path).await;
    assert!(!seen.body.contains("id=\"resend\""));
    assert!(!seen.body.contains("Send the invitation again"));
    let messages = app.store.registration_messages(&p2).await.unwrap().len();
    let viewer_csrf = viewer.csrf(&path).await;
    let refused = viewer
        .post(&format!("{path}/resend"), &[("csrf", &viewer_csrf)])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let no_csrf = op.post(&format!("{path}/resend"), &[]).await;
    assert_eq!(no_csrf.status, 403);
    assert_eq!(
        app.store.registration_messages(&p2).await.unwrap().len(),
        messages
    );

    // The operator resends: a new invitation, audited with the operator.
    let csrf = op.csrf(&path).await;
    let done = op.post(&format!("{path}/resend"), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, format!("{path}?done=invitation"));
    let messages_after = app.store.registration_messages(&p2).await.unwrap();
    assert_eq!(messages_after.len(), messages + 1);
    assert_eq!(messages_after.last().unwrap().kind, "invitation");
    let audit = app.store.audit_log(50).await.unwrap();
    let resent: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "registration.invitation_resent" && e.subject == p2)
        .collect();
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].operator_id.as_deref(), Some(operator_id.as_str()));
    let page = op.get(&done.location).await;
    assert!(page.body.contains("id=\"done\""));
    let lines = history(&page.body);
    assert!(
        lines.contains(&(
            "registration.invitation_resent".to_owned(),
            "Oscar Operator".to_owned()
        )),
        "{lines:?}"
    );
    assert!(lines.iter().any(|(e, _)| e == "invited_again"));

    // Person 3 has a wallet and an offer but no badge yet: the resend is a new offer.
    let p3 = app
        .store
        .registration_by_key(&ach, "person003@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    let invitation = app
        .store
        .registration_messages(&p3)
        .await
        .unwrap()
        .remove(0);
    let sent = app.outgoing(&invitation).await.unwrap();
    let token = sent.entry.links[0].split_once("invitation=").unwrap().1;
    app.wallet_callback(token).await.unwrap();
    let path3 = format!("/console/registrations/{p3}");
    let page = op.get(&path3).await;
    assert!(page.body.contains("Send the badge offer again"));
    let csrf = op.csrf(&path3).await;
    let done = op
        .post(&format!("{path3}/resend"), &[("csrf", &csrf)])
        .await;
    assert_eq!(
        done.location,
        format!("{path3}?done=offer"),
        "{}",
        done.body
    );
    assert_eq!(
        app.store.offers_of_registration(&p3).await.unwrap().len(),
        2
    );
    let audit = app.store.audit_log(50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "registration.offer_resent"
        && e.subject == p3
        && e.operator_id.as_deref() == Some(operator_id.as_str())));

    // Person 1 has the badge: resending is refused. Unknown and hostile ids: not found.
    let csrf = op.csrf(&path).await;
    let a = op
        .post(
            &format!("/console/registrations/{p1}/resend"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    for id in [
        "nobody",
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "..%2F..%2Fadmin",
    ] {
        let a = op.get(&format!("/console/registrations/{id}")).await;
        assert_eq!(a.status, 404, "{id}");
        assert!(!a.body.contains("<script>alert(1)"));
    }

    // In Japanese.
    op.lang = "ja";
    let page = op.get(&format!("/console/registrations/{p1}")).await;
    assert!(page.body.contains("履歴") && page.body.contains("バッジ取り消し"));
    assert!(!page.body.contains("History") && !page.body.contains("Badge revoked"));
}

#[tokio::test]
async fn operators_sign_in_and_roles_csrf_and_the_audit_log_hold() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    let app = &t.stack.issuer.app;

    // Operators come from the command line's functions, with a real password only.
    let admin_id = operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let operator_id = operator(&t, "op@agency.example", "Oscar Operator", "operator").await;
    let viewer_id = operator(&t, "viewer@agency.example", "Vera Viewer", "viewer").await;
    for (email, role, password) in [
        ("short@agency.example", "admin", "short"),
        ("ADMIN@agency.example", "viewer", PASSWORD),
        ("root@agency.example", "root", PASSWORD),
        ("not an address", "viewer", PASSWORD),
    ] {
        let new = NewOperator {
            email: email.into(),
            name: "Someone".into(),
            role: role.into(),
            password: password.into(),
        };
        assert!(
            issuer_agent::cli::operator_create(app, &new, false)
                .await
                .is_err(),
            "{email} {role} {password}"
        );
    }
    let mut roles: Vec<&str> = app
        .operators()
        .await
        .unwrap()
        .iter()
        .map(|o| o.role)
        .collect();
    roles.sort();
    assert_eq!(roles, ["admin", "operator", "viewer"]);

    // The issuer's `/` says what this server is and leads to the console.
    let mut anon = Console::new(&t);
    let root = anon.get("/").await;
    assert_eq!(root.status, 200);
    assert!(root.body.contains("href=\"/console\""), "{}", root.body);
    let home = anon.get("/console").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location, "/console/sign-in?next=%2Fconsole");

    // A wrong password and an unknown address: the same answer, no session.
    let mut b = Console::new(&t);
    let wrong = b.sign_in("admin@agency.example", "wrong password 1").await;
    let unknown = b.sign_in("nobody@agency.example", "wrong password 1").await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(by_id(&wrong.body, "error"), by_id(&unknown.body, "error"));
    assert_eq!(
        by_id(&wrong.body, "error").as_deref(),
        Some("Wrong email address or password.")
    );
    assert!(!b.jar.contains_key("console_session"));
    // Without the CSRF token, the sign-in form is refused before any password check.
    let no_csrf = b
        .post(
            "/console/sign-in",
            &[("email", "admin@agency.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(no_csrf.status, 403);

    // Signed in: an HttpOnly, SameSite=Strict session cookie, the overview.
    let mut admin = Console::new(&t);
    let signed = admin.sign_in("admin@agency.example", PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    assert_eq!(signed.location, "/console");
    let session_cookie = signed
        .set_cookies
        .iter()
        .find(|c| c.starts_with("console_session="))
        .expect("a session cookie");
    assert!(
        session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"),
        "{session_cookie}"
    );
    assert!(
        !session_cookie.contains("Secure"),
        "plain http in development"
    );
    let home = admin.get("/console").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Aiko Admin"));

    // A few hundred people; two of them receive their badge through the real flow.
    let ach = achievement(&t).await;
    register_people(&t, &ach, 300).await;
    let p5 = give_badge(&t, &ach, "person005@example.org").await;
    let p6 = give_badge(&t, &ach, "person006@example.org").await;
    let home = admin.get("/console").await;
    assert_eq!(by_id(&home.body, "count-total").as_deref(), Some("300"));
    assert_eq!(
        by_id(&home.body, "count-badge_received").as_deref(),
        Some("2")
    );
    assert_eq!(by_id(&home.body, "count-invited").as_deref(), Some("298"));

    // Filter by status, search by name and by address, literally.
    let page = admin
        .get("/console/registrations?status=badge_received")
        .await;
    assert_eq!(page.status, 200);
    let got: HashSet<String> = row_ids(&page.body).into_iter().collect();
    assert_eq!(got, HashSet::from([p5.clone(), p6.clone()]));
    let page = admin.get("/console/registrations?q=person+01").await;
    assert_eq!(row_ids(&page.body).len(), 10, "Person 010 … 019");
    let page = admin
        .get("/console/registrations?q=PERSON123%40example")
        .await;
    assert_eq!(row_ids(&page.body).len(), 1);
    let page = admin.get("/console/registrations?q=%25").await;
    assert!(page.body.contains("id=\"no-rows\""), "% is no wildcard");
    let page = admin
        .get("/console/registrations?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(
        page.body.contains("&lt;script&gt;alert(1)")
            || page.body.contains("&#60;script&#62;alert(1)"),
        "the search is shown back, escaped"
    );
    // Hostile and oversize queries: refused with a page, not a fault.
    for q in [
        "status=deleted".to_owned(),
        "after=1~x'%20OR%201=1".to_owned(),
        format!("q={}", "a".repeat(201)),
    ] {
        let page = admin.get(&format!("/console/registrations?{q}")).await;
        assert_eq!(page.status, 400, "{q}: {}", page.body);
    }

    // Keyset pages: every one of the 300 exactly once, while people register in between
    // (in the same second, so a newcomer may sort anywhere, before or after the key).
    let mut seen: Vec<String> = Vec::new();
    let mut latecomers: HashSet<String> = HashSet::new();
    let mut next = Some("/console/registrations".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let page = admin.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        let ids = row_ids(&page.body);
        assert!(ids.len() <= 50);
        seen.extend(ids);
        next = link(&page.body, "next-page");
        pages += 1;
        assert!(pages < 20, "the pages end");
        let req = NewRegistration {
            name: format!("Latecomer {pages}"),
            email: format!("late{pages}@example.org"),
            ..NewRegistration::default()
        };
        latecomers.insert(app.register(&ach, &req, "test").await.unwrap().0.id);
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no row repeated");
    let originals: HashSet<&String> = unique
        .iter()
        .copied()
        .filter(|id| !latecomers.contains(*id))
        .collect();
    assert_eq!(originals.len(), 300, "no row lost");
    assert!(originals.contains(&p5) && originals.contains(&p6));

    // The admin revokes person 5's badge: every credential of it, audited with the admin.
    let csrf = admin
        .csrf("/console/registrations?status=badge_received")
        .await;
    let back = "/console/registrations?status=badge_received";
    let done = admin
        .post(
            &format!("/console/registrations/{p5}/status"),
            &[
                ("csrf", &csrf),
                ("status", "revoked"),
                ("confirm", "yes"),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location, format!("{back}&done=1"));
    assert_eq!(app.registration_view(&p5).await.unwrap().state, "revoked");
    let audit = app.store.audit_log(100).await.unwrap();
    let revoked: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "credential.revoked")
        .collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].operator_id.as_deref(), Some(admin_id.as_str()));
    let page = admin.get(done.location.as_str()).await;
    assert!(page.body.contains("id=\"done\""));
    assert_eq!(by_id(&page.body, "count-revoked").as_deref(), Some("1"));

    // An operator suspends and restores person 6's badge.
    let mut op = Console::new(&t);
    assert_eq!(op.sign_in("OP@agency.example", PASSWORD).await.status, 303);
    let csrf = op.csrf("/console/registrations").await;
    for status in ["suspended", "valid"] {
        let a = op
            .post(
                &format!("/console/registrations/{p6}/status"),
                &[("csrf", &csrf), ("status", status)],
            )
            .await;
        assert_eq!(a.status, 303, "{status}: {}", a.body);
        t.stack.clock.advance(1);
    }
    assert_eq!(app.registration_view(&p6).await.unwrap().state, "issued");
    let mine = app.store.audit_of_operator(&operator_id, 10).await.unwrap();
    assert_eq!(
        mine.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["credential.valid", "credential.suspended"]
    );

    // Hostile input from a signed-in operator: unknown person, made-up status.
    let a = op
        .post(
            "/console/registrations/no-such-person/status",
            &[("csrf", &csrf), ("status", "revoked"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(a.status, 404);
    let a = op
        .post(
            &format!("/console/registrations/{p6}/status"),
            &[("csrf", &csrf), ("status", "deleted")],
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("<details>"), "the detail is folded");

    // A viewer reads but every form is refused with 403 and a page saying why.
    let mut viewer = Console::new(&t);
    assert_eq!(
        viewer
            .sign_in("viewer@agency.example", PASSWORD)
            .await
            .status,
        303
    );
    let page = viewer
        .get("/console/registrations?status=badge_received")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"read-only\""));
    assert!(
        !page.body.contains("/status\""),
        "no status forms for a viewer"
    );
    let viewer_csrf = viewer.csrf("/console/registrations").await;
    for status in ["revoked", "suspended", "valid"] {
        let a = viewer
            .post(
                &format!("/console/registrations/{p6}/status"),
                &[("csrf", &viewer_csrf), ("status", status)],
            )
            .await;
        assert_eq!(a.status, 403, "{status}");
        assert!(a.body.contains("viewer"), "{}", a.body);
    }
    assert_eq!(app.registration_view(&p6).await.unwrap().state, "issued");
    assert!(
        app.store
            .audit_of_operator(&viewer_id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // CSRF: none, another session's token, and an attacker's own cookie and token pair
    // beside the admin's session cookie: all refused, nothing changed.
    let path = format!("/console/registrations/{p6}/status");
    let a = admin.post(&path, &[("status", "revoked")]).await;
    assert_eq!(a.status, 403);
    let a = admin
        .post(&path, &[("csrf", &viewer_csrf), ("status", "revoked")])
        .await;
    assert_eq!(a.status, 403);
    let planted = format!(
        "console_csrf={}; console_session={}",
        viewer.jar["console_csrf"], admin.jar["console_session"]
    );
    let a = admin
        .post_with_cookies(
            &path,
            &[("csrf", &viewer_csrf), ("status", "revoked")],
            &planted,
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(app.registration_view(&p6).await.unwrap().state, "issued");

    // Every change is in the audit log with its operator: the console's with theirs.
    let audit = app.store.audit_log(100).await.unwrap();
    for e in audit.iter().filter(|e| {
        e.action.starts_with("credential.")
            && e.action != "credential.issued"
            && !e.action.starts_with("credential.notification")
    }) {
        assert!(
            e.operator_id == Some(admin_id.clone()) || e.operator_id == Some(operator_id.clone()),
            "{e:?}"
        );
    }
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "operator.created")
            .count(),
        3
    );

    // Lockout after five failures, for a real address and an unknown one alike: then even
    // the right password is refused, with the same words.
    let mut locked = Console::new(&t);
    for _ in 0..5 {
        assert_eq!(
            locked
                .sign_in("op@agency.example", "not the password")
                .await
                .status,
            401
        );
        assert_eq!(
            locked
                .sign_in("ghost@agency.example", "not the password")
                .await
                .status,
            401
        );
    }
    let real = locked.sign_in("op@agency.example", PASSWORD).await;
    let ghost = locked.sign_in("ghost@agency.example", PASSWORD).await;
    assert_eq!(real.status, 429);
    assert_eq!(ghost.status, 429);
    assert_eq!(by_id(&real.body, "error"), by_id(&ghost.body, "error"));
    assert!(!locked.jar.contains_key("console_session"));
    // The operator's own session is not ended by someone else's guessing.
    assert_eq!(op.get("/console").await.status, 200);

    // Japanese, by Accept-Language and by the switch.
    viewer.lang = "ja";
    let page = viewer.get("/console/registrations").await;
    assert!(page.body.contains("<html lang=\"ja\">"));
    assert!(page.body.contains("登録者"));
    viewer.lang = "en";
    let switched = viewer
        .get("/console/lang/ja?next=%2Fconsole%2Fregistrations")
        .await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.location, "/console/registrations");
    assert!(
        viewer
            .get("/console")
            .await
            .body
            .contains("<html lang=\"ja\">")
    );
    let evil = viewer
        .get("/console/lang/en?next=https%3A%2F%2Fevil.example")
        .await;
    assert_eq!(evil.location, "/console");

    // Sign-out ends the session for every copy of its cookie; idle sessions end too.
    let copy = admin.cookies();
    let csrf = admin.csrf("/console").await;
    let out = admin.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert!(!admin.jar.contains_key("console_session"));
    let r = admin
        .http
        .get(format!("{}/console", admin.base))
        .header("cookie", copy)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(op.get("/console").await.status, 200);
    t.stack
        .clock
        .advance(issuer_agent::domain::operators::SESSION_IDLE + 1);
    let idle = op.get("/console").await;
    assert_eq!(idle.status, 303, "an idle session has ended");
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn console_pages_in_chromium_at_two_widths_in_two_languages() {
    let t = TestStack::start_with(|c| {
        c.issuer.password_cost = kit::password::PasswordCost::TEST;
        c.issuer.outbox_concurrency = 0;
    })
    .await;
    operator(&t, "admin@agency.example", "Aiko Admin", "admin").await;
    let ach = achievement(&t).await;
    register_people(&t, &ach, 60).await;
    let app = &t.stack.issuer.app;
    // A second later: the newest, so on the first page.
    t.stack.clock.advance(1);
    let req = NewRegistration {
        name: "田中 花子".into(),
        email: "hanako.tanaka.with.a.long.address@example.jp".into(),
        locale: Some("ja".into()),
        ..NewRegistration::default()
    };
    app.register(&ach, &req, "test").await.unwrap();
    let p7 = give_badge(&t, &ach, "person007@example.org").await;
    let console = format!("{}/console", t.issuer());

    for (width, name) in [(None, "console-1280"), (Some(390), "console-390")] {
        let mut b = match width {
            None => Browser::start(name).await.unwrap(),
            Some(w) => Browser::start_phone(name, w).await.unwrap(),
        };
        b.goto(&format!("{console}/sign-in")).await.unwrap();
        b.wait_for_text("h1", "Sign in to the issuer console")
            .await
            .unwrap();
        b.screenshot("sign-in-en").await.unwrap();
        b.click("#lang-ja").await.unwrap();
        b.wait_for_text("h1", "発行者コンソールにログイン")
            .await
            .unwrap();
        b.screenshot("sign-in-ja").await.unwrap();
        b.fill("#email", "admin@agency.example").await.unwrap();
        b.fill("#password", "wrong password here").await.unwrap();
        b.click("#sign-in").await.unwrap();
        b.wait_for_text("#error", "メールアドレスまたはパスワードが違います")
            .await
            .unwrap();
        b.screenshot("sign-in-refused-ja").await.unwrap();
        b.fill("#password", PASSWORD).await.unwrap();
        b.click("#sign-in").await.unwrap();
        b.wait_for_text("#who", "Aiko Admin").await.unwrap();
        b.screenshot("overview-ja").await.unwrap();
        b.goto(&format!("{console}/registrations")).await.unwrap();
        b.wait_for_text("h1", "登録者").await.unwrap();
        b.wait_for_text("#registrations", "田中 花子")
            .await
            .unwrap();
        b.screenshot("registrations-ja").await.unwrap();
        b.wait_until(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            "no horizontal scrolling",
        )
        .await
        .unwrap();
        b.click("#lang-en").await.unwrap();
        b.wait_for_text("h1", "Registrations").await.unwrap();
        b.fill("#q", "person 00").await.unwrap();
        b.click("#show").await.unwrap();
        b.wait_for_text("#registrations", "Person 007")
            .await
            .unwrap();
        b.wait_for_text("#registrations", "Badge received")
            .await
            .unwrap();
        b.screenshot("registrations-search-en").await.unwrap();
        b.wait_until(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            "no horizontal scrolling",
        )
        .await
        .unwrap();
        b.goto(&format!("{console}/registrations")).await.unwrap();
        b.wait_for_text("#next-page", "Next page").await.unwrap();
        b.click("#next-page").await.unwrap();
        b.wait_for_text("#first-page", "First page").await.unwrap();
        b.screenshot("registrations-page-2-en").await.unwrap();
        // A person's page: the history and the emails, in both languages.
        b.goto(&format!("{console}/registrations/{p7}"))
            .await
            .unwrap();
        b.wait_for_text("#person-name", "Person 007").await.unwrap();
        b.wait_for_text("#history", "Badge received").await.unwrap();
        b.screenshot("person-en").await.unwrap();
        b.click("#lang-ja").await.unwrap();
        b.wait_for_text("#history-heading", "履歴").await.unwrap();
        b.wait_for_text("#history", "バッジ受け取り").await.unwrap();
        b.screenshot("person-ja").await.unwrap();
        b.wait_until(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            "no horizontal scrolling",
        )
        .await
        .unwrap();
        b.quit().await;
    }
}
