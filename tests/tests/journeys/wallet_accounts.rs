//! The wallet's accounts and their security (issue 4), against a real SMTP server: open
//! registration with an email confirmation link and password reset by email (in real
//! headless Chromium, and over plain HTTP where a browser adds nothing); links that are
//! single-use and expire (the stack's adjustable clock); no answer that tells whether an
//! address has a wallet; forms without the CSRF token refused; a second account that cannot
//! see or present the first one's badges; a badge name holding HTML and JavaScript shown as
//! text; and the SSRF guard of a wallet in production mode, through its API and its pages.
//! Screenshots go under `browser-artifacts/wallet_accounts…/`.

use std::collections::BTreeMap;
use std::time::Duration;

use akashi_tests::browser::Browser;
use serde_json::{Value, json};

use crate::common::TestStack;
use crate::mail::{Mail, SmtpSink};

const WAIT: Duration = Duration::from_secs(60);
pub(crate) const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";
const EVIL: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>";

/// A browser without a browser: keeps the wallet's cookies, does not follow redirects, and
/// sends each form with the CSRF token of the last page that had a form.
pub(crate) struct WebClient {
    http: reqwest::Client,
    base: String,
    pub(crate) cookies: BTreeMap<String, String>,
    page: String,
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    pub(crate) body: String,
}

impl WebClient {
    pub(crate) fn new(base: &str) -> WebClient {
        WebClient {
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            page: String::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = req
            .header("cookie", cookie)
            .send()
            .await
            .expect("wallet request");
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = r.text().await.unwrap_or_default();
        if body.contains("name=\"csrf\" value=\"") {
            self.page = body.clone();
        }
        Answer {
            status,
            location,
            body,
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Answer {
        let req = self.http.get(self.url(path));
        self.send(req).await
    }

    /// The CSRF token of the last page with a form.
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .page
            .find("name=\"csrf\" value=\"")
            .expect("a page with a form was fetched before");
        let rest = &self.page[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// POSTs the form with the CSRF token of the last page with a form.
    pub(crate) async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let csrf = self.csrf();
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &csrf));
        let req = self.http.post(self.url(path)).form(&form);
        self.send(req).await
    }

    /// POSTs the form as it is, without adding a token.
    pub(crate) async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let req = self.http.post(self.url(path)).form(fields);
        self.send(req).await
    }

    /// The account the front page says is signed in, if any.
    pub(crate) async fn signed_in_as(&mut self) -> Option<String> {
        let a = self.get("/").await;
        if a.status != 200 {
            return None;
        }
        let at = a.body.find("class=\"who\">")?;
        let rest = &a.body[at..];
        let text = &rest[rest.find('>')? + 1..rest.find("</span>")?];
        text.split_whitespace().last().map(str::to_owned)
    }
}

pub(crate) async fn stack_with_mail(sink: &SmtpSink) -> TestStack {
    let smtp = sink.url();
    TestStack::start_with(|c| {
        c.issuer.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()));
        c.wallet.smtp_url = Some(protocol::secret::Secret::new(smtp.clone()));
    })
    .await
}

/// The `n`-th email (1-based) to `address`, once it arrived.
pub(crate) async fn nth_mail(sink: &SmtpSink, address: &str, n: usize) -> Mail {
    let what = format!("{n} emails to {address}");
    sink.wait_until(WAIT, &what, |all| {
        all.iter().filter(|m| m.to() == address).count() >= n
    })
    .await;
    sink.to(address).await.remove(n - 1)
}

/// The link starting with `prefix` in the text part, also present in the HTML part.
pub(crate) fn link_in(mail: &Mail, prefix: &str) -> String {
    let link = mail
        .link(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {:?}", mail.text()));
    assert!(
        mail.html().contains(&format!("href=\"{link}\"")),
        "the HTML part links to {link}"
    );
    link
}

/// Registers `email` openly and confirms it over HTTP; returns the signed-in client.
pub(crate) async fn registered(
    t: &TestStack,
    sink: &SmtpSink,
    email: &str,
    password: &str,
) -> WebClient {
    let wallet = t.stack.wallet.url.clone();
    let mut c = WebClient::new(&wallet);
    let before = sink.to(email).await.len();
    assert_eq!(c.get("/register").await.status, 200);
    let a = c
        .post(
            "/register",
            &[
                ("email", email),
                ("password", password),
                ("password2", password),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let mail = nth_mail(sink, email, before + 1).await;
    let link = link_in(&mail, &format!("{wallet}/confirm?token="));
    assert_eq!(c.get(&link).await.status, 200);
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let a = c.post("/confirm", &[("token", &token)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(c.signed_in_as().await.as_deref(), Some(email));
    c
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn wallet_accounts_open_registration_and_password_reset_in_the_browser() {
    const TEST: &str = "wallet_accounts_open_registration_and_password_reset_in_the_browser";
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let wallet = t.stack.wallet.url.clone();
    let email = "mia@example.org";

    // 1. Open registration from the sign-in page's link.
    let mut b = Browser::start(TEST).await.unwrap();
    b.goto(&format!("{wallet}/sign-in")).await.unwrap();
    b.click("#create").await.unwrap();
    b.wait_for_text("h1", "Create a wallet").await.unwrap();
    b.screenshot("register").await.unwrap();
    b.fill("#email", "Mia@Example.org").await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.fill("#password2", PASSWORD).await.unwrap();
    b.click("#register").await.unwrap();
    b.wait_for_text("#notice", "We sent an email to mia@example.org")
        .await
        .unwrap();
    b.screenshot("check-your-email").await.unwrap();

    // 2. The email, as a real SMTP server received it: text and HTML, with the link.
    let mail = nth_mail(&sink, email, 1).await;
    assert_eq!(
        mail.subject(),
        "Confirm your email address for your Akashi wallet"
    );
    assert_eq!(mail.0["content_type"], "multipart/alternative");
    assert!(
        mail.0["from"]
            .as_str()
            .unwrap()
            .contains("wallet@akashi.example")
    );
    let confirm_link = link_in(&mail, &format!("{wallet}/confirm?token="));

    // 3. Before the confirmation the right password does not sign in; the page says why
    // and offers to send the email again.
    b.goto(&format!("{wallet}/sign-in")).await.unwrap();
    b.fill("#email", email).await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#error", "is not confirmed yet")
        .await
        .unwrap();
    assert_eq!(
        b.attribute("#resend", "href").await.unwrap().as_deref(),
        Some("/confirm/resend?email=mia%40example.org")
    );
    b.screenshot("sign-in-unconfirmed").await.unwrap();

    // 4. A mail scanner fetching the link uses nothing: the GET only shows the button.
    let scanner = t.http.get(&confirm_link).send().await.unwrap();
    assert_eq!(scanner.status(), 200);
    assert!(scanner.text().await.unwrap().contains("mia@example.org"));
    b.goto(&confirm_link).await.unwrap();
    b.wait_for_text("h1", "Confirm your email address")
        .await
        .unwrap();
    assert_eq!(b.text("#email").await.unwrap(), email);
    b.screenshot("confirm").await.unwrap();
    b.click("#confirm").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
    b.wait_for_text(".who", email).await.unwrap();
    b.screenshot("confirmed-signed-in").await.unwrap();

    // 5. The link is single-use.
    b.goto(&confirm_link).await.unwrap();
    b.wait_for_text("#error", "already used").await.unwrap();
    b.screenshot("confirm-link-reused").await.unwrap();

    // 6. Password reset by email, asked for from another device (plain HTTP); the
    // browser's session is the "old session".
    let mut phone = WebClient::new(&wallet);
    assert_eq!(phone.get("/forgot").await.status, 200);
    let a = phone.post("/forgot", &[("email", email)]).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("If there is a wallet for mia@example.org"));
    let reset_mail = nth_mail(&sink, email, 2).await;
    assert_eq!(reset_mail.subject(), "Reset your Akashi wallet password");
    let reset_link = link_in(&reset_mail, &format!("{wallet}/reset?token="));
    // The browser of the old session opens the link and sets the new password.
    b.goto(&reset_link).await.unwrap();
    b.wait_for_text("h1", "Set a new password").await.unwrap();
    b.screenshot("reset").await.unwrap();
    // Two different passwords: refused by name, the link is not spent.
    b.fill("#password", NEW_PASSWORD).await.unwrap();
    b.fill("#password2", "something else entirely")
        .await
        .unwrap();
    b.click("#reset").await.unwrap();
    b.wait_for_text("#error", "the two passwords differ")
        .await
        .unwrap();
    b.fill("#password", NEW_PASSWORD).await.unwrap();
    b.fill("#password2", NEW_PASSWORD).await.unwrap();
    b.click("#reset").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
    b.wait_for_text(".who", email).await.unwrap();
    b.screenshot("reset-signed-in").await.unwrap();

    // 7. Another device signed in before the reset is signed out by it.
    let mut laptop = WebClient::new(&wallet);
    laptop.get("/sign-in").await;
    // (signed in with the new password after the fact would prove nothing; so sign a
    // third client in with the new password, reset again, and look at it.)
    let a = laptop
        .post("/sign-in", &[("email", email), ("password", NEW_PASSWORD)])
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(laptop.signed_in_as().await.as_deref(), Some(email));
    phone.get("/forgot").await;
    phone.post("/forgot", &[("email", email)]).await;
    let second_reset = nth_mail(&sink, email, 3).await;
    let link = link_in(&second_reset, &format!("{wallet}/reset?token="));
    phone.get(&link).await;
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let a = phone
        .post(
            "/reset",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(phone.signed_in_as().await.as_deref(), Some(email));
    assert_eq!(laptop.signed_in_as().await, None, "the old session is gone");
    // The browser's session (from the first reset) is gone too.
    b.goto(&format!("{wallet}/")).await.unwrap();
    b.wait_for_text("h1", "Sign in").await.unwrap();
    b.screenshot("old-session-gone").await.unwrap();

    // 8. The replaced password is refused, the current one works.
    b.fill("#email", email).await.unwrap();
    b.fill("#password", NEW_PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("#error", "wrong email address or password")
        .await
        .unwrap();
    b.fill("#email", email).await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
    b.screenshot("signed-in-with-new-password").await.unwrap();

    // 9. A used reset link is refused, in the browser too.
    b.goto(&reset_link).await.unwrap();
    b.wait_for_text("#error", "already used").await.unwrap();
    b.screenshot("reset-link-reused").await.unwrap();

    b.quit().await;
    t.stack.stop().await;
}

#[tokio::test]
async fn wallet_account_links_expire_are_single_use_and_do_not_tell_who_has_a_wallet() {
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let wallet = t.stack.wallet.url.clone();
    let clock = &t.stack.clock;

    // A confirmation link older than 24 hours is refused, by name, on GET and POST.
    let email = "ken@example.org";
    let mut c = WebClient::new(&wallet);
    c.get("/register").await;
    let a = c
        .post(
            "/register",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let old_link = link_in(
        &nth_mail(&sink, email, 1).await,
        &format!("{wallet}/confirm?token="),
    );
    let old_token = old_link.split("token=").nth(1).unwrap().to_owned();
    clock.advance(24 * 3600 + 1);
    let a = c.get(&old_link).await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("the link expired"), "{}", a.body);
    c.get("/confirm/resend").await;
    let a = c.post("/confirm", &[("token", &old_token)]).await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("the link expired"), "{}", a.body);
    // An unknown token is named as such.
    let a = c.get("/confirm?token=not-a-token").await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("missing or unknown"), "{}", a.body);

    // A new link (sent again), and the old one stays dead.
    c.get(&format!("/confirm/resend?email={email}")).await;
    let a = c.post("/confirm/resend", &[("email", email)]).await;
    assert_eq!(a.status, 200);
    let new_link = link_in(
        &nth_mail(&sink, email, 2).await,
        &format!("{wallet}/confirm?token="),
    );
    assert_ne!(new_link, old_link);
    let new_token = new_link.split("token=").nth(1).unwrap().to_owned();
    c.get(&new_link).await;
    let a = c.post("/confirm", &[("token", &new_token)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(c.signed_in_as().await.as_deref(), Some(email));
    // Reuse of the confirmation link.
    let a = c.post("/confirm", &[("token", &new_token)]).await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("already used"), "{}", a.body);
    // Once confirmed, a resend sends nothing (and says the same).
    c.get("/confirm/resend").await;
    let a = c.post("/confirm/resend", &[("email", email)]).await;
    assert_eq!(a.status, 200);

    // A reset link older than an hour is refused; a reset link is not a confirmation link.
    c.get("/forgot").await;
    c.post("/forgot", &[("email", email)]).await;
    let reset_link = link_in(
        &nth_mail(&sink, email, 3).await,
        &format!("{wallet}/reset?token="),
    );
    let reset_token = reset_link.split("token=").nth(1).unwrap().to_owned();
    let a = c.get(&format!("/confirm?token={reset_token}")).await;
    assert_eq!(a.status, 400);
    assert!(
        a.body.contains("the link is for reset, not for confirm"),
        "{}",
        a.body
    );
    clock.advance(3601);
    let a = c.get(&reset_link).await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("the link expired"), "{}", a.body);
    let a = c
        .post(
            "/reset",
            &[
                ("token", &reset_token),
                ("password", NEW_PASSWORD),
                ("password2", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("the link expired"), "{}", a.body);

    // No enumeration: /forgot answers the same for an address without a wallet and sends
    // nothing; registering an address that has a wallet answers the same as a new one and
    // sends that address a note, without touching its password.
    let mut stranger = WebClient::new(&wallet);
    stranger.get("/forgot").await;
    let unknown = stranger
        .post("/forgot", &[("email", "nobody@example.org")])
        .await;
    let known = stranger.post("/forgot", &[("email", email)]).await;
    assert_eq!((unknown.status, known.status), (200, 200));
    let notice = |body: &str, address: &str| {
        body.replace(address, "ADDRESS")
            .split("id=\"notice\">")
            .nth(1)
            .unwrap()
            .split("</p>")
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        notice(&unknown.body, "nobody@example.org"),
        notice(&known.body, email)
    );
    nth_mail(&sink, email, 4).await;
    assert!(sink.to("nobody@example.org").await.is_empty());

    stranger.get("/register").await;
    let again = stranger
        .post(
            "/register",
            &[
                ("email", email),
                ("password", "the attacker's password"),
                ("password2", "the attacker's password"),
            ],
        )
        .await;
    let fresh = stranger
        .post(
            "/register",
            &[
                ("email", "new@example.org"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!((again.status, fresh.status), (200, 200));
    assert_eq!(
        notice(&again.body, email),
        notice(&fresh.body, "new@example.org")
    );
    let note = nth_mail(&sink, email, 5).await;
    assert_eq!(note.subject(), "You already have an Akashi wallet");
    assert!(note.link(&format!("{wallet}/forgot")).is_some());
    assert!(!note.text().contains("token="));
    let mut check = WebClient::new(&wallet);
    check.get("/sign-in").await;
    let a = check
        .post(
            "/sign-in",
            &[("email", email), ("password", "the attacker's password")],
        )
        .await;
    assert_eq!(a.status, 401, "the password did not change");
    let a = check
        .post("/sign-in", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(a.status, 303);

    // Rate limits: an address gets at most 5 emails an hour (further requests answer the
    // same and send nothing); one client address may ask 20 times an hour, then 429.
    let flood = "flood@example.org";
    registered(&t, &sink, flood, PASSWORD).await; // email 1 to it
    let mut bot = WebClient::new(&wallet);
    bot.get("/forgot").await;
    for _ in 0..6 {
        let a = bot.post("/forgot", &[("email", flood)]).await;
        assert_eq!(a.status, 200);
    }
    // The first confirmation and four reset emails; the fifth and sixth request were
    // answered but sent nothing.
    nth_mail(&sink, flood, 5).await;
    assert_eq!(sink.to(flood).await.len(), 5);
    let mut last = 0;
    for i in 0..20 {
        let a = bot
            .post("/forgot", &[("email", &format!("x{i}@example.org"))])
            .await;
        last = a.status;
        if a.status == 429 {
            assert!(a.body.contains("too many requests"), "{}", a.body);
            break;
        }
    }
    assert_eq!(last, 429, "the client is limited");
    clock.advance(3601);
    let a = bot.post("/forgot", &[("email", flood)]).await;
    assert_eq!(a.status, 200, "the window ends");

    // A Japanese browser gets the Japanese email.
    let mut ja = WebClient::new(&wallet);
    ja.cookies.insert("wallet_lang".into(), "ja".into());
    ja.get("/register").await;
    let a = ja
        .post(
            "/register",
            &[
                ("email", "hana@example.jp"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert!(a.body.contains("メールを確認してください"), "{}", a.body);
    let mail = nth_mail(&sink, "hana@example.jp", 1).await;
    assert_eq!(mail.subject(), "Akashi ウォレット：メールアドレスの確認");
    assert!(mail.html().contains("lang=\"ja\""));
    link_in(&mail, &format!("{wallet}/confirm?token="));

    t.stack.stop().await;
}

/// The mail server is down: the registration says so instead of losing the email.
#[tokio::test]
async fn wallet_registration_reports_a_failure_to_send_the_email() {
    let sink = SmtpSink::down();
    let t = stack_with_mail(&sink).await;
    let mut c = WebClient::new(&t.stack.wallet.url);
    c.get("/register").await;
    let a = c
        .post(
            "/register",
            &[
                ("email", "lu@example.org"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(a.body.contains("the email could not be sent"), "{}", a.body);
    assert!(a.body.contains("id=\"error\""));
    c.get("/forgot").await;
    let a = c.post("/forgot", &[("email", "lu@example.org")]).await;
    assert_eq!(a.status, 502, "{}", a.body);
    t.stack.stop().await;
}

/// Registers `email` on the wallet while the mail server is down: the page says the email
/// could not be sent; it waits in the wallet's outbox, its first attempt counted.
async fn register_while_the_mail_server_is_down(t: &TestStack, email: &str) {
    let mut c = WebClient::new(&t.stack.wallet.url);
    c.get("/register").await;
    let a = c
        .post(
            "/register",
            &[
                ("email", email),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        )
        .await;
    assert_eq!(a.status, 502, "{}", a.body);
    assert!(a.body.contains("it will be retried"), "{}", a.body);
    let queued = t.stack.wallet.app.store.mails_to(email).await.unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        (queued[0].kind.as_str(), queued[0].attempts),
        ("confirm", 1)
    );
    assert_eq!(queued[0].sent_at, None);
    assert!(
        queued[0].last_error.as_deref().unwrap().contains("SMTP"),
        "{queued:?}"
    );
}

/// The mail server is down when the confirmation email is written: it stays in the outbox
/// and the worker sends it when its retry falls due and the server is back; its link works.
#[tokio::test]
async fn wallet_email_the_mail_server_refused_is_sent_later_by_the_outbox_worker() {
    let mut sink = SmtpSink::down();
    let t = stack_with_mail(&sink).await;
    let wallet = t.stack.wallet.url.clone();
    let email = "mo@example.org";
    register_while_the_mail_server_is_down(&t, email).await;

    // The server is back, and the retry falls due 30 s after the failure.
    sink.up().await;
    t.stack.clock.advance(31);
    let mail = nth_mail(&sink, email, 1).await;
    assert_eq!(
        mail.subject(),
        "Confirm your email address for your Akashi wallet"
    );
    let link = link_in(&mail, &format!("{wallet}/confirm?token="));
    // The sink has the message before the worker hears the server's 250 and marks the row
    // sent: wait for the row. Under load an attempt may also have met the server still
    // starting (refused) before the one that went through, so at least two attempts.
    let deadline = tokio::time::Instant::now() + WAIT;
    let sent = loop {
        let rows = t.stack.wallet.app.store.mails_to(email).await.unwrap();
        if rows.iter().all(|r| r.sent_at.is_some()) || tokio::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(sent.len(), 1);
    assert!(sent[0].attempts >= 2, "{sent:?}");
    assert!(sent[0].sent_at.is_some(), "{sent:?}");
    assert!(
        mail.message_id().contains(&sent[0].id),
        "{}",
        mail.message_id()
    );

    let token = link.split("token=").nth(1).unwrap().to_owned();
    let mut c = WebClient::new(&wallet);
    c.get(&link).await;
    let a = c.post("/confirm", &[("token", &token)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(c.signed_in_as().await.as_deref(), Some(email));
    t.stack.stop().await;
}

/// An attacker with a copy of the wallet's database (not its seal key) finds no usable
/// link in the outbox: the token of a queued email is neither in its row nor anywhere in
/// the database, only its SHA-256; the link the worker later sends is rebuilt from the
/// row's id under the seal key.
#[tokio::test]
async fn wallet_outbox_rows_do_not_hold_the_link_token() {
    let mut sink = SmtpSink::down();
    let t = stack_with_mail(&sink).await;
    let wallet = t.stack.wallet.url.clone();
    let email = "eve.target@example.org";
    register_while_the_mail_server_is_down(&t, email).await;
    // What the attacker copies: the database while the email waits.
    let rows = outbox_text(&t).await;
    let files = database_bytes(&t);

    sink.up().await;
    t.stack.clock.advance(31);
    let link = link_in(
        &nth_mail(&sink, email, 1).await,
        &format!("{wallet}/confirm?token="),
    );
    let token = link.split("token=").nth(1).unwrap().to_owned();
    assert_eq!(token.len(), 43, "{link}");
    let hash = {
        use base64::Engine as _;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
    };
    assert!(
        rows.iter().any(|r| r.contains(&hash)),
        "the row names its token by its SHA-256: {rows:?}"
    );
    for text in rows.iter().chain(&outbox_text(&t).await) {
        assert!(
            !text.contains(&token),
            "the outbox holds the link token: {text}"
        );
    }
    for (path, bytes) in files.iter().chain(&database_bytes(&t)) {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{path} holds the link token"
        );
    }
    t.stack.stop().await;
}

/// Every text column of every row of the wallet's outbox and link tokens.
async fn outbox_text(t: &TestStack) -> Vec<String> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = kit::with_db!(&t.stack.wallet.app.store.db, |pool| sqlx::query_as(
        "SELECT id, kind, recipient, lang, token_hash, claim, last_error FROM mail_outbox"
    )
    .fetch_all(pool)
    .await
    .unwrap());
    let tokens: Vec<(String, String, String)> = kit::with_db!(
        &t.stack.wallet.app.store.db,
        |pool| sqlx::query_as("SELECT token_hash, account_id, purpose FROM account_tokens")
            .fetch_all(pool)
            .await
            .unwrap()
    );
    rows.into_iter()
        .map(|r| format!("{r:?}"))
        .chain(tokens.into_iter().map(|r| format!("{r:?}")))
        .collect()
}

/// The wallet's SQLite files (none on PostgreSQL), as bytes.
fn database_bytes(t: &TestStack) -> Vec<(String, Vec<u8>)> {
    let Some(file) =
        holder_agent::files::sqlite_file(&t.stack.wallet.app.config.service.database_url)
    else {
        return Vec::new();
    };
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            let path = format!("{}{suffix}", file.display());
            std::fs::read(&path).ok().map(|bytes| (path, bytes))
        })
        .collect()
}

#[tokio::test]
async fn wallet_account_forms_without_the_csrf_token_are_refused() {
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let mut c = WebClient::new(&t.stack.wallet.url);
    c.get("/register").await; // the CSRF cookie, but no token in the forms below
    let forms: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "/register",
            vec![
                ("email", "eve@example.org"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        ),
        ("/confirm", vec![("token", "anything")]),
        ("/confirm/resend", vec![("email", "eve@example.org")]),
        ("/forgot", vec![("email", "eve@example.org")]),
        (
            "/reset",
            vec![
                ("token", "anything"),
                ("password", PASSWORD),
                ("password2", PASSWORD),
            ],
        ),
    ];
    for (path, fields) in &forms {
        let a = c.post_raw(path, fields).await;
        assert_eq!(a.status, 403, "{path}");
        assert!(
            a.body.contains("CSRF token is missing or does not match"),
            "{path}"
        );
        // A token from another browser does not do either.
        let mut other = WebClient::new(&t.stack.wallet.url);
        other.get("/register").await;
        let mut with_foreign = fields.clone();
        let foreign = other.csrf();
        with_foreign.push(("csrf", &foreign));
        let a = c.post_raw(path, &with_foreign).await;
        assert_eq!(a.status, 403, "{path} with another browser's token");
    }
    assert!(sink.received().await.is_empty(), "nothing was sent");
    t.stack.stop().await;
}

/// The issuer's offer link as the wallet's receive page.
fn receive_path(offer: &Value) -> String {
    let link = offer["offer_link"].as_str().unwrap();
    format!(
        "/receive?{}",
        link.split_once('?').expect("an offer link with a query").1
    )
}

/// An achievement named `name` and an offer of it to `email`.
async fn offer_named(t: &TestStack, name: &str, email: &str) -> Value {
    let (status, a) = t
        .admin_post(
            "/admin/achievements",
            json!({
                "name": name,
                "description": format!("Description {EVIL}"),
                "criteria": "Completed the course.",
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let (status, offer) = t
        .admin_post(
            "/admin/offers",
            json!({
                "achievement_id": a["id"],
                "recipient_name": format!("Ana {EVIL}"),
                "recipient_email": email,
                "tx_code": false,
            }),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    offer
}

pub(crate) async fn api(
    t: &TestStack,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = t
        .http
        .request(method, format!("{}{path}", t.stack.wallet.url))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.expect("wallet API");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn api_token(t: &TestStack, email: &str) -> String {
    let app = &t.stack.wallet.app;
    let account = app
        .ensure_account(email, t.stack.clock.now())
        .await
        .unwrap();
    app.rotate_api_token(&account).await.unwrap()
}

#[tokio::test]
async fn wallet_a_second_account_cannot_see_or_present_the_first_ones_badge() {
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let mut ana = registered(&t, &sink, "ana@example.org", PASSWORD).await;
    let mut bo = registered(&t, &sink, "bo@example.org", "another long password").await;

    // Ana receives a badge through her pages.
    let offer = t.offer(false, Some(365)).await;
    let page = ana.get(&receive_path(&offer)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let link = offer["offer_link"].as_str().unwrap().to_owned();
    let a = ana.post("/receive", &[("offer", &link)]).await;
    assert_eq!(a.status, 303, "{}", a.body);
    let badge_path = a.location.unwrap();
    assert!(badge_path.starts_with("/badges/"), "{badge_path}");
    assert_eq!(ana.get(&badge_path).await.status, 200);
    assert!(ana.get("/").await.body.contains(&badge_path));

    // Bo: 404 on her badge page, her badge not in his list.
    let a = bo.get(&badge_path).await;
    assert_eq!(a.status, 404);
    assert!(!a.body.contains("Digital Supporter"));
    let home = bo.get("/").await;
    assert!(!home.body.contains(&badge_path));
    assert!(home.body.contains("id=\"no-badges\""));
    // Signed out, the page sends to the sign-in (and shows nothing).
    let mut nobody = WebClient::new(&t.stack.wallet.url);
    let a = nobody.get(&badge_path).await;
    assert_eq!(a.status, 303);
    assert!(a.location.unwrap().starts_with("/sign-in?next="));

    // The API: Bo's token lists nothing and cannot present her badge to a verifier that
    // asks for it; Ana's token can.
    let ana_token = api_token(&t, "ana@example.org").await;
    let bo_token = api_token(&t, "bo@example.org").await;
    let (s, list) = api(
        &t,
        &bo_token,
        reqwest::Method::GET,
        "/api/credentials",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(list["credentials"], json!([]), "{list}");
    let (s, list) = api(
        &t,
        &ana_token,
        reqwest::Method::GET,
        "/api/credentials",
        None,
    )
    .await;
    assert_eq!(s, 200);
    let id = list["credentials"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(badge_path, format!("/badges/{id}"));

    let request = t.verifier_request().await;
    let uri = request["openid4vp_uri"].as_str().unwrap();
    let (s, body) = api(
        &t,
        &bo_token,
        reqwest::Method::POST,
        "/api/present",
        Some(json!({"request": uri})),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"], "no_matching_credential", "{body}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_ne!(result["state"], "verified", "{result}");
    // The same kind of request, to Ana's token: her badge is presented and verifies.
    let request = t.verifier_request().await;
    let uri = request["openid4vp_uri"].as_str().unwrap();
    let (s, body) = api(
        &t,
        &ana_token,
        reqwest::Method::POST,
        "/api/present",
        Some(json!({"request": uri})),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let result = t.result(request["id"].as_str().unwrap()).await;
    assert_eq!(result["state"], "verified", "{result}");
    t.stack.stop().await;
}

#[tokio::test]
#[ignore = "heavy: run by ./test (headless Chromium)"]
async fn wallet_badge_names_with_html_and_javascript_are_shown_escaped() {
    const TEST: &str = "wallet_badge_names_with_html_and_javascript_are_shown_escaped";
    let sink = SmtpSink::start().await;
    let t = stack_with_mail(&sink).await;
    let wallet = t.stack.wallet.url.clone();
    let email = "xss@example.org";
    registered(&t, &sink, email, PASSWORD).await;
    let offer = offer_named(&t, EVIL, email).await;

    let mut b = Browser::start(TEST).await.unwrap();
    // Any alert() (or a script of the badge's) would leave a mark the test reads.
    b.before_each_page(
        "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };",
    )
    .await
    .unwrap();
    b.goto(&format!("{wallet}/sign-in")).await.unwrap();
    b.fill("#email", email).await.unwrap();
    b.fill("#password", PASSWORD).await.unwrap();
    b.click("#sign-in").await.unwrap();
    b.wait_for_text("h1", "My badges").await.unwrap();
    b.goto(&format!("{wallet}{}", receive_path(&offer)))
        .await
        .unwrap();
    b.wait_for_text("h1", "Receive a badge").await.unwrap();
    b.click("#accept").await.unwrap();
    b.wait_for_text("#badge-name", "<script>").await.unwrap();

    let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;";
    for page in ["detail", "list"] {
        if page == "list" {
            b.goto(&format!("{wallet}/")).await.unwrap();
            b.wait_for_text("#badges", "<script>").await.unwrap();
            assert_eq!(b.text(".badge-name").await.unwrap(), EVIL);
        } else {
            assert_eq!(b.text("#badge-name").await.unwrap(), EVIL);
        }
        let source = b.source().await;
        assert!(source.contains(escaped), "{page}: {source}");
        assert!(!source.contains("<script>alert"), "{page}");
        assert!(!source.contains("<img src=x"), "{page}");
        assert!(!source.contains("<img src=\"x\""), "{page}");
        let scripts = b
            .execute(
                // The wallet's own copy-button script is the only one a page may have.
                "return [document.querySelectorAll('script:not([src=\"/share/copy.js\"])').length, document.querySelectorAll('img[src=\"x\"]').length, window.__alerts.length];",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            scripts,
            json!([0, 0, 0]),
            "{page}: no script, no image, no alert"
        );
        b.screenshot(&format!("escaped-{page}")).await.unwrap();
    }
    // The same through plain HTTP: the raw bytes the server sent (askama writes numeric
    // character references).
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;&#60;img src=x onerror=alert(2)&#62;";
    let mut c = WebClient::new(&wallet);
    c.get("/sign-in").await;
    c.post("/sign-in", &[("email", email), ("password", PASSWORD)])
        .await;
    let list = c.get("/").await.body;
    assert!(list.contains(escaped), "{list}");
    assert!(!list.contains("<script>alert"));
    let href = list
        .split("class=\"badge-name\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let detail = c.get(&href).await.body;
    assert!(detail.contains(&format!("<title>{escaped}")), "{detail}");
    assert!(
        detail.contains(&format!("Ana {escaped}")),
        "recipient escaped"
    );
    assert!(
        detail.contains(&format!("Description {escaped}")),
        "description escaped"
    );
    assert!(!detail.contains("<script>alert"));
    assert!(!detail.contains("onerror=alert(2)>"));
    b.quit().await;
    t.stack.stop().await;
}

/// The wallet's offer link with `credential_offer_uri` = `uri`.
fn offer_by_reference(uri: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("credential_offer_uri", uri)
        .finish();
    format!("openid-credential-offer://?{q}")
}

/// The verifier's real `openid4vp://` link with its `request_uri` replaced by `uri`.
fn request_by_reference(real: &str, uri: &str) -> String {
    let parsed = url::Url::parse(real).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "request_uri" {
                uri.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("openid4vp://?{q}")
}

/// A wallet in production mode (loopback not allowed) refuses to fetch offers and
/// requests from loopback, private, link-local (cloud metadata) and IPv4-mapped addresses
/// and from names resolving to loopback, through its API and its pages, naming the guard.
#[tokio::test]
async fn wallet_in_production_mode_refuses_private_destinations() {
    let t = TestStack::start_with(|c| c.wallet.allow_loopback = false).await;
    assert!(!t.stack.wallet.app.config.allow_loopback);
    let token = api_token(&t, "prod@example.org").await;
    // A real verifier request to take the link's shape from.
    let real = t.verifier_request().await["openid4vp_uri"]
        .as_str()
        .unwrap()
        .to_owned();

    let targets = [
        ("https://127.0.0.1/offer", "127.0.0.1"),
        ("https://10.0.0.1/offer", "10.0.0.1"),
        (
            "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "169.254.169.254",
        ),
        ("https://[::1]/offer", "::1"),
        ("https://[::ffff:127.0.0.1]/offer", "::ffff:127.0.0.1"),
        (
            "https://[::ffff:169.254.169.254]/offer",
            "::ffff:169.254.169.254",
        ),
        ("https://localhost/offer", "localhost"),
        // Other spellings of 127.0.0.1 that URL parsers accept.
        ("https://2130706433/offer", "127.0.0.1"),
        ("https://0x7f.0.0.1/offer", "127.0.0.1"),
        ("https://0.0.0.0/offer", "0.0.0.0"),
    ];
    for (url, addr) in targets {
        let (s, body) = api(
            &t,
            &token,
            reqwest::Method::POST,
            "/api/accept",
            Some(json!({"offer": offer_by_reference(url)})),
        )
        .await;
        let text = body["error_description"].as_str().unwrap_or_default();
        assert_eq!(s, 502, "{url}: {body}");
        assert!(
            text.contains("resolves to forbidden address")
                && text.contains(addr.trim_matches(['[', ']'])),
            "accept {url}: {body}"
        );
        let (s, body) = api(
            &t,
            &token,
            reqwest::Method::POST,
            "/api/present",
            Some(json!({"request": request_by_reference(&real, url)})),
        )
        .await;
        let text = body["error_description"].as_str().unwrap_or_default();
        assert!(s >= 400, "{url}: {body}");
        assert!(
            text.contains("resolves to forbidden address"),
            "present {url}: {body}"
        );
    }
    // http:// is refused outright in production mode, loopback or not.
    let (s, body) = api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": offer_by_reference(&format!("{}/offer", t.issuer()))})),
    )
    .await;
    assert_eq!(s, 502, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("URL must use https"),
        "{body}"
    );
    // An offer by value naming a private credential issuer: its metadata is not fetched.
    let by_value = json!({
        "credential_issuer": "https://10.0.0.1",
        "credential_configuration_ids": ["badge"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "x"}},
    });
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("credential_offer", &by_value.to_string())
        .finish();
    let (s, body) = api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": format!("openid-credential-offer://?{q}")})),
    )
    .await;
    assert_eq!(s, 502, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("forbidden address 10.0.0.1"),
        "{body}"
    );

    // The receive page: a signed-in holder opening such a link sees the guard's refusal.
    let app = &t.stack.wallet.app;
    let account = app
        .ensure_account("page@example.org", t.stack.clock.now())
        .await
        .unwrap();
    let phc = holder_agent::wallet::web::hash_password_at(app.config.password_cost, PASSWORD)
        .await
        .unwrap();
    app.store
        .set_email_and_password(&account.id, "page@example.org", &phc, t.stack.clock.now())
        .await
        .unwrap();
    let mut c = WebClient::new(&t.stack.wallet.url);
    c.get("/sign-in").await;
    let a = c
        .post(
            "/sign-in",
            &[("email", "page@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(a.status, 303);
    for (url, addr) in [
        (
            "https://169.254.169.254/latest/meta-data/",
            "169.254.169.254",
        ),
        ("https://10.0.0.1/offer", "10.0.0.1"),
        ("https://127.0.0.1/offer", "127.0.0.1"),
        ("https://[::1]/offer", "::1"),
    ] {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("credential_offer_uri", url)
            .finish();
        let a = c.get(&format!("/receive?{q}")).await;
        assert_eq!(a.status, 502, "{url}");
        assert!(
            a.body
                .contains(&format!("resolves to forbidden address {addr}")),
            "{url}: {}",
            a.body
        );
    }
    t.stack.stop().await;
}

/// A redirect is never followed, not even from an allowed (here: loopback, development
/// mode) server to a private or metadata address.
#[tokio::test]
async fn wallet_does_not_follow_redirects_to_private_addresses() {
    let t = TestStack::start().await;
    let token = api_token(&t, "dev@example.org").await;
    let router = axum::Router::new()
        .route(
            "/offer",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::FOUND,
                    [("location", "http://169.254.169.254/latest/meta-data/")],
                )
            }),
        )
        .route(
            "/request",
            axum::routing::get(|| async {
                (
                    axum::http::StatusCode::TEMPORARY_REDIRECT,
                    [("location", "https://10.0.0.1/request")],
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let (s, body) = api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": offer_by_reference(&format!("{base}/offer"))})),
    )
    .await;
    assert_eq!(s, 502, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect to \"http://169.254.169.254/latest/meta-data/\" not followed"),
        "{body}"
    );
    let real = t.verifier_request().await["openid4vp_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, body) = api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/present",
        Some(json!({"request": request_by_reference(&real, &format!("{base}/request"))})),
    )
    .await;
    assert!(s >= 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect to \"https://10.0.0.1/request\" not followed"),
        "{body}"
    );
    // Development mode opens loopback only: other private space stays refused.
    let (s, body) = api(
        &t,
        &token,
        reqwest::Method::POST,
        "/api/accept",
        Some(json!({"offer": offer_by_reference("https://10.0.0.1/offer")})),
    )
    .await;
    assert_eq!(s, 502, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("forbidden address 10.0.0.1"),
        "{body}"
    );
    t.stack.stop().await;
}
