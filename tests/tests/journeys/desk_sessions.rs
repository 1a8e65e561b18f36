//! The verifier desk's sessions and CSRF tokens, attacked: a signed-out session cookie
//! opens nothing, sessions end and are purged, a victim's session cookie beside the
//! attacker's own CSRF cookie and token is refused, and a CSRF pair of the desk is no
//! pair of the public `/check` page.

use crate::common::{TestStack, VERIFIER_TOKEN};

/// A browser at the desk, without redirects followed: its cookies and its form token.
pub struct DeskBrowser {
    pub http: reqwest::Client,
    pub desk: String,
    /// `verifier_csrf=…`
    pub csrf_cookie: String,
    /// The CSRF token of the browser's forms.
    pub token: String,
    /// `verifier_desk=…`, once signed in.
    pub session: Option<String>,
}

/// The value `name=…` of the `Set-Cookie` header for cookie `name`.
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_field(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field")
        .to_owned()
}

impl DeskBrowser {
    /// Opens the sign-in page from `client`: gets the CSRF cookie and token.
    pub async fn open(t: &TestStack, http: reqwest::Client) -> DeskBrowser {
        let desk = format!("{}/desk", t.verifier());
        let r = http.get(&desk).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let csrf_cookie = set_cookie(&r, "verifier_csrf").expect("a CSRF cookie");
        let token = csrf_field(&r.text().await.unwrap());
        DeskBrowser {
            http,
            desk,
            csrf_cookie,
            token,
            session: None,
        }
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub fn cookies(&self) -> String {
        match &self.session {
            Some(s) => format!("{}; {s}", self.csrf_cookie),
            None => self.csrf_cookie.clone(),
        }
    }

    /// Posts the sign-in form with `api_token`.
    pub async fn login(&self, api_token: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/login", self.desk))
            .header("cookie", self.cookies())
            .form(&[("csrf", self.token.as_str()), ("token", api_token)])
            .send()
            .await
            .unwrap()
    }

    /// Signs in with the right token.
    pub async fn sign_in(t: &TestStack) -> DeskBrowser {
        let mut b = DeskBrowser::open(t, DeskBrowser::client()).await;
        let r = b.login(VERIFIER_TOKEN).await;
        assert_eq!(r.status().as_u16(), 303);
        b.session = Some(set_cookie(&r, "verifier_desk").expect("a session cookie"));
        b
    }

    /// `GET /desk` with `cookies`: the page's HTML.
    pub async fn desk_page(&self, cookies: &str) -> String {
        let r = self
            .http
            .get(&self.desk)
            .header("cookie", cookies)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.unwrap()
    }

    /// Posts the new-request form with `cookies` and `csrf`.
    pub async fn create(&self, t: &TestStack, cookies: &str, csrf: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/requests", self.desk))
            .header("cookie", cookies)
            .form(&[("csrf", csrf), ("issuer", t.issuer())])
            .send()
            .await
            .unwrap()
    }
}

const SIGN_IN: &str = "Sign in to the verifier desk";
const NEW_REQUEST: &str = "New presentation request";

#[tokio::test]
async fn signing_out_ends_the_session_for_every_copy_of_its_cookie() {
    let t = TestStack::start().await;
    let b = DeskBrowser::sign_in(&t).await;
    let signed_in = b.cookies();
    assert!(b.desk_page(&signed_in).await.contains(NEW_REQUEST));
    let r = b.create(&t, &signed_in, &b.token).await;
    assert_eq!(r.status().as_u16(), 303);
    let request_page = format!(
        "{}{}",
        t.verifier(),
        r.headers()["location"].to_str().unwrap()
    );
    assert!(request_page.contains("/desk/requests/"), "{request_page}");

    // Sign out: the browser is told to forget the cookie...
    let r = b
        .http
        .post(format!("{}/logout", b.desk))
        .header("cookie", &signed_in)
        .form(&[("csrf", b.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        set_cookie(&r, "verifier_desk").as_deref(),
        Some("verifier_desk=")
    );
    // ...and a copy kept by anyone opens nothing any more.
    assert!(b.desk_page(&signed_in).await.contains(SIGN_IN));
    let r = b.create(&t, &signed_in, &b.token).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/desk", "sent to sign in");
    for page in [request_page.clone(), format!("{request_page}/result")] {
        let r = b
            .http
            .get(&page)
            .header("cookie", &signed_in)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{page}");
        assert_eq!(r.headers()["location"], "/desk", "{page}");
    }
    t.stack.stop().await;
}

#[tokio::test]
async fn sessions_end_after_their_time_and_are_purged() {
    let t = TestStack::start().await;
    let app = &t.stack.verifier.app;
    let b = DeskBrowser::sign_in(&t).await;
    let other = DeskBrowser::sign_in(&t).await;
    assert_ne!(
        b.session, other.session,
        "each sign-in is a session of its own"
    );
    assert_eq!(app.purge_expired_desk_sessions().await.unwrap(), 0);
    assert!(b.desk_page(&b.cookies()).await.contains(NEW_REQUEST));
    t.stack.clock.advance(verifier::http::session::SESSION_TTL);
    assert!(b.desk_page(&b.cookies()).await.contains(SIGN_IN));
    assert_eq!(app.purge_expired_desk_sessions().await.unwrap(), 2);
    t.stack.stop().await;
}

#[tokio::test]
async fn a_victims_session_with_the_attackers_csrf_pair_is_refused() {
    let t = TestStack::start().await;
    let victim = DeskBrowser::sign_in(&t).await;
    let session = victim.session.clone().unwrap();
    // The attacker's own cookie and token, valid as a pair, from an anonymous visit.
    let attacker = DeskBrowser::open(&t, DeskBrowser::client()).await;
    assert_ne!(attacker.csrf_cookie, victim.csrf_cookie);
    let swapped = format!("{}; {session}", attacker.csrf_cookie);

    let r = victim.create(&t, &swapped, &attacker.token).await;
    assert_eq!(r.status().as_u16(), 403);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("not the one this desk session was opened with"),
        "{html}"
    );
    // Signing the victim out is refused the same way; the session goes on.
    let r = victim
        .http
        .post(format!("{}/logout", victim.desk))
        .header("cookie", &swapped)
        .form(&[("csrf", attacker.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Each half of a pair alone is refused too, naming what is wrong.
    let r = victim
        .create(
            &t,
            &format!("{}; {session}", victim.csrf_cookie),
            &attacker.token,
        )
        .await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("was not issued for this browser")
    );
    let r = victim.create(&t, &session, &victim.token).await;
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("no CSRF cookie"));

    // The honest pair still works, and its page's forms carry its token.
    let honest = victim.cookies();
    assert_eq!(csrf_field(&victim.desk_page(&honest).await), victim.token);
    let r = victim.create(&t, &honest, &victim.token).await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/desk/requests/")
    );
    t.stack.stop().await;
}

#[tokio::test]
async fn the_check_page_takes_only_its_own_cookies_token() {
    let t = TestStack::start().await;
    let http = DeskBrowser::client();
    let check = format!("{}/check", t.verifier());
    let r = http.get(&check).send().await.unwrap();
    let cookie = set_cookie(&r, "verifier_check_csrf").expect("the page's cookie");
    let token = csrf_field(&r.text().await.unwrap());
    let submit = |cookie: String, token: String| {
        http.post(&check)
            .header("cookie", cookie)
            .form(&[("csrf", token.as_str()), ("input", "not a badge")])
            .send()
    };
    // The desk's cookie and token, a valid pair there, presented as the page's.
    let desk = DeskBrowser::open(&t, DeskBrowser::client()).await;
    let desk_value = desk.csrf_cookie.split_once('=').unwrap().1.to_owned();
    let r = submit(
        format!("verifier_check_csrf={desk_value}"),
        desk.token.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("CSRF cookie on this page"), "{html}");
    // Another visitor's token beside this browser's cookie.
    let other = http.get(&check).send().await.unwrap();
    let other_token = csrf_field(&other.text().await.unwrap());
    let r = submit(cookie.clone(), other_token).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // The honest pair: the input is checked (and found not to be a badge).
    let r = submit(cookie, token).await.unwrap();
    assert_ne!(r.status().as_u16(), 403);
    assert!(!r.text().await.unwrap().contains("CSRF"));
    t.stack.stop().await;
}
