//! The wallet's web pages, server-rendered with askama (`templates/`, HTML-escaped),
//! readable without JavaScript, in English and Japanese: registration from an issuer's
//! invitation, sign-in and sign-out, receiving a badge from an offer link (with its PIN),
//! the badge list and a page per badge.
//!
//! Sessions are a random token in an `HttpOnly`, `SameSite=Lax` cookie (`Secure` when the
//! public URL is https); Lax, so that a link in an email opens the wallet signed in. Every
//! form carries a CSRF token: the HMAC (under the wallet's seal key) of a random value kept
//! in a second cookie and of the session cookie, so it is good only for that browser's
//! session; a POST whose token does not match is refused with 403. Handlers
//! parse, make one domain call and render; the domain lives in [`crate::wallet`].

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kit::web::{CookiePolicy, SameSite, cookie};
use protocol::oid4vci::TxCodeInputMode;
use serde_json::Value;

use crate::AppError;
use crate::wallet::oid4vci::{AcceptError, OfferPreview};
use crate::wallet::registration::{InvitationPreview, RegisterError};
use crate::{Account, App, CredentialView};

mod accounts;
pub mod card;
pub mod claims;
mod offer_source;
pub mod present;
mod public;
mod share;

const SESSION_COOKIE: &str = "wallet_session";
const CSRF_COOKIE: &str = "wallet_csrf";
const LANG_COOKIE: &str = "wallet_lang";

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/register", get(register_page).post(register))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/receive", get(receive_page).post(receive))
        .route(
            crate::wallet::authorization_code::REDIRECT_PATH,
            get(receive_authorized),
        )
        .route("/badges/{id}", get(badge_page))
        .route("/share/copy.js", get(share::copy_js))
        .route("/lang/{lang}", get(set_lang))
        .merge(public::router())
        .route(
            "/confirm",
            get(accounts::confirm_page).post(accounts::confirm),
        )
        .route(
            "/confirm/resend",
            get(accounts::resend_page).post(accounts::resend),
        )
        .route("/forgot", get(accounts::forgot_page).post(accounts::forgot))
        .route("/reset", get(accounts::reset_page).post(accounts::reset))
}

// ---------------------------------------------------------------------------------------
// Languages

/// The pages' language: [`kit::web::Lang`], chosen by the `wallet_lang` cookie that
/// `/lang/{en|ja}` sets, else by the browser's `Accept-Language`, else English.
pub use kit::web::Lang;

/// The language of a request to the wallet's pages.
fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_headers(headers, LANG_COOKIE)
}

/// The fixed texts of the pages in `lang`.
pub(crate) fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// Every fixed text of the pages, per language.
pub struct Texts {
    pub wallet: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub password_again: &'static str,
    pub password_hint: &'static str,
    pub register_title: &'static str,
    pub register_intro: &'static str,
    pub register_intro_unconfirmed: &'static str,
    pub register_button: &'static str,
    pub issuer: &'static str,
    pub badge: &'static str,
    pub email_confirmed: &'static str,
    pub my_badges: &'static str,
    pub no_badges: &'static str,
    pub received: &'static str,
    pub valid_until: &'static str,
    pub recipient: &'static str,
    pub description: &'static str,
    pub criteria: &'static str,
    pub receive_title: &'static str,
    pub receive_intro: &'static str,
    pub pin: &'static str,
    pub pin_digits: &'static str,
    pub pin_characters: &'static str,
    pub accept: &'static str,
    /// Under the button of an offer received through the issuer's sign-in.
    pub sign_in_at_issuer: &'static str,
    /// The page between "Receive the badge" and the issuer's sign-in.
    pub to_issuer_title: &'static str,
    pub to_issuer_text: &'static str,
    pub to_issuer_button: &'static str,
    pub back: &'static str,
    pub error: &'static str,
    pub not_found: &'static str,
    /// The message of a page that does not exist (or that its owner keeps private: the
    /// two read the same, so a stranger cannot tell them apart).
    pub not_found_message: &'static str,
    /// The link of an error page that does not assume the reader has a wallet here.
    pub front_page: &'static str,
    /// What an error page says when the failed check is not written in the page's
    /// language (the check itself is folded under [`Texts::technical`]), per kind.
    pub error_request: &'static str,
    pub error_form: &'static str,
    pub error_conflict: &'static str,
    pub error_busy: &'static str,
    pub error_counterpart: &'static str,
    pub error_ours: &'static str,
    pub technical: &'static str,
    pub signed_in_as: &'static str,
}

const EN: Texts = Texts {
    wallet: "Akashi wallet",
    sign_in: "Sign in",
    sign_out: "Sign out",
    email: "Email address",
    password: "Password",
    password_again: "Password again",
    password_hint: "At least 10 characters.",
    register_title: "Create your wallet",
    register_intro: "You were invited to receive a badge. Choose a password to create your wallet; your email address is already confirmed by the invitation.",
    register_intro_unconfirmed: "You were invited to receive a badge by an issuer this wallet does not know. Choose a password to create your wallet; we then send a link to your email address to confirm it.",
    register_button: "Create wallet",
    issuer: "Issuer",
    badge: "Badge",
    email_confirmed: "confirmed",
    my_badges: "My badges",
    no_badges: "No badges yet. When an issuer sends you a badge, open the link in the email.",
    received: "Received",
    valid_until: "Valid until",
    recipient: "Recipient",
    description: "Description",
    criteria: "Criteria",
    receive_title: "Receive a badge",
    receive_intro: "This issuer offers you:",
    pin: "PIN",
    pin_digits: "digits",
    pin_characters: "characters",
    accept: "Receive the badge",
    sign_in_at_issuer: "The issuer asks you to confirm it is you: you go to the issuer's page and come back here with your badge.",
    to_issuer_title: "Going to the issuer",
    to_issuer_text: "The issuer will ask you to confirm it is you, then send you back here with your badge.",
    to_issuer_button: "Continue to the issuer",
    back: "Back to my badges",
    error: "Something went wrong",
    not_found: "Page not found",
    not_found_message: "There is no page at this address. The link may be mistyped, or the page may have been removed or made private by its owner. If someone shared it with you, ask them for the link again.",
    front_page: "Go to the wallet's front page",
    error_request: "The wallet could not do what was asked. Check what you entered and try again.",
    error_form: "This form has expired or was opened in another browser. Reload the page and try again.",
    error_conflict: "This has already been done, or conflicts with something already done.",
    error_busy: "Too many attempts in a short time. Wait a few minutes and try again.",
    error_counterpart: "The issuer's or verifier's service did not answer as expected. Try again later; if it keeps happening, contact them.",
    error_ours: "The wallet could not complete the request. Try again later.",
    technical: "Technical details",
    signed_in_as: "Signed in as",
};

const JA: Texts = Texts {
    wallet: "Akashi ウォレット",
    sign_in: "ログイン",
    sign_out: "ログアウト",
    email: "メールアドレス",
    password: "パスワード",
    password_again: "パスワード（確認）",
    password_hint: "10文字以上。",
    register_title: "ウォレットを作成",
    register_intro: "バッジの受け取りに招待されています。パスワードを決めてウォレットを作成してください。メールアドレスは招待により確認済みです。",
    register_intro_unconfirmed: "このウォレットが把握していない発行者から、バッジの受け取りに招待されています。パスワードを決めてウォレットを作成してください。その後、メールアドレス確認用のリンクをお送りします。",
    register_button: "ウォレットを作成",
    issuer: "発行者",
    badge: "バッジ",
    email_confirmed: "確認済み",
    my_badges: "マイバッジ",
    no_badges: "まだバッジはありません。発行者からバッジが届いたら、メールのリンクを開いてください。",
    received: "受け取り日",
    valid_until: "有効期限",
    recipient: "受領者",
    description: "説明",
    criteria: "取得基準",
    receive_title: "バッジを受け取る",
    receive_intro: "この発行者から次のバッジが届いています：",
    pin: "PIN",
    pin_digits: "桁の数字",
    pin_characters: "文字",
    accept: "バッジを受け取る",
    sign_in_at_issuer: "発行者が本人確認を求めています。発行者のページで確認すると、バッジを持ってこの画面に戻ります。",
    to_issuer_title: "発行者のページへ移動します",
    to_issuer_text: "発行者が本人確認を求めます。確認が済むと、バッジを持ってこの画面に戻ります。",
    to_issuer_button: "発行者のページへ進む",
    back: "マイバッジへ戻る",
    error: "エラーが発生しました",
    not_found: "ページが見つかりません",
    not_found_message: "このアドレスにはページがありません。リンクが間違っているか、ページが削除されたか、所有者によって非公開にされた可能性があります。共有してくれた人に、もう一度リンクを確認してください。",
    front_page: "ウォレットのトップページへ",
    error_request: "ご依頼の操作を完了できませんでした。入力内容を確認して、もう一度お試しください。",
    error_form: "このフォームは有効期限が切れているか、別のブラウザーで開かれたものです。ページを再読み込みして、もう一度お試しください。",
    error_conflict: "この操作は既に行われているか、既に行われた操作と矛盾しています。",
    error_busy: "短時間に試行が多すぎます。数分待ってから、もう一度お試しください。",
    error_counterpart: "発行者または検証者のサービスから想定どおりの応答がありませんでした。時間をおいて再度お試しください。続く場合は先方にお問い合わせください。",
    error_ours: "ウォレットは処理を完了できませんでした。時間をおいて再度お試しください。",
    technical: "技術的な詳細",
    signed_in_as: "ログイン中：",
};

// ---------------------------------------------------------------------------------------
// Request context: language, CSRF, session

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` over https.
fn set_cookie(app: &App, name: &str, value: &str, max_age: i64) -> HeaderValue {
    CookiePolicy::for_public_url(&app.config.service.public_url, "/", SameSite::Lax)
        .set(name, value, max_age)
}

/// The CSRF token of a browser: the MAC of its CSRF cookie and of its session cookie (empty
/// without one), so a token is good only with the session it was made for: another
/// browser's cookie and token pair, planted next to a victim's session cookie, is refused.
fn csrf_token(app: &App, cookie_value: &str, session: Option<&str>) -> String {
    let bound = format!("{cookie_value}\n{}", session.unwrap_or(""));
    protocol::b64::encode(app.seal.mac("wallet-csrf", bound.as_bytes()))
}

/// What every page needs: the language, the CSRF token (and a new CSRF cookie when the
/// browser has none), the signed-in account and its session token.
pub struct Web {
    pub(crate) lang: Lang,
    csrf: String,
    new_csrf_cookie: Option<String>,
    pub(crate) account: Option<Account>,
    pub(crate) session: Option<String>,
    ip: Option<String>,
    headers: HeaderMap,
}

impl FromRequestParts<App> for Web {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, PageError> {
        let headers = parts.headers.clone();
        let lang = lang_of(&headers);
        let session = cookie(&headers, SESSION_COOKIE).filter(|s| !s.is_empty());
        let (csrf, new_csrf_cookie) = match cookie(&headers, CSRF_COOKIE).filter(|c| c.len() >= 16)
        {
            Some(c) => (csrf_token(app, &c, session.as_deref()), None),
            None => {
                let c = protocol::b64::random(16);
                (csrf_token(app, &c, session.as_deref()), Some(c))
            }
        };
        let account = match &session {
            Some(token) => app
                .session_account(token, app.clock.now())
                .await
                .map_err(|e| PageError::from_app(e, lang))?,
            None => None,
        };
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip().to_string());
        Ok(Web {
            lang,
            csrf,
            new_csrf_cookie,
            account,
            session,
            ip,
            headers,
        })
    }
}

impl Web {
    pub(crate) fn t(&self) -> &'static Texts {
        texts(self.lang)
    }

    /// The form's pairs, after checking its CSRF token against this browser's cookie.
    pub(crate) fn checked_form(&self, app: &App, body: &[u8]) -> Result<Form, PageError> {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
        let form = Form(pairs);
        self.check_csrf(app, form.get("csrf"))?;
        Ok(form)
    }

    /// Checks a form's CSRF token against this browser's CSRF and session cookies.
    pub(crate) fn check_csrf(&self, app: &App, token: Option<&str>) -> Result<(), PageError> {
        let ok = match (cookie(&self.headers, CSRF_COOKIE), token) {
            (Some(c), Some(t)) if c.len() >= 16 => protocol::secret::constant_time_eq(
                csrf_token(app, &c, self.session.as_deref()).as_bytes(),
                t.as_bytes(),
            ),
            _ => false,
        };
        if !ok {
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or does not match this browser's cookies and session; reload the page and try again",
                self.lang,
            ));
        }
        Ok(())
    }

    pub(crate) fn layout(&self, title: &str) -> Layout {
        Layout {
            t: self.t(),
            lang: self.lang.code(),
            title: title.to_owned(),
            csrf: self.csrf.clone(),
            signed_in_as: self.account.as_ref().map(|a| a.name.clone()),
            here: String::new(),
        }
    }

    /// Renders `page` with the security headers (and the CSRF cookie when it is new).
    pub(crate) fn render(&self, app: &App, status: StatusCode, page: impl Template) -> Response {
        match page.render() {
            Ok(html) => {
                let mut r = html_response(status, html);
                if let Some(c) = &self.new_csrf_cookie {
                    r.headers_mut()
                        .append(header::SET_COOKIE, set_cookie(app, CSRF_COOKIE, c, 86_400));
                }
                r
            }
            Err(e) => PageError::from_app(AppError::Internal(format!("template: {e}")), self.lang)
                .into_response(),
        }
    }

    /// The page's language.
    pub(crate) fn lang(&self) -> Lang {
        self.lang
    }

    /// `e` as an error page in this browser's language.
    pub(crate) fn error(&self, e: AppError) -> PageError {
        PageError::from_app(e, self.lang)
    }

    /// A page saying that what was asked for does not exist.
    pub(crate) fn not_found(&self) -> PageError {
        PageError::not_found(self.lang)
    }

    /// An error page with `status` and `message`.
    pub(crate) fn page_error(&self, status: StatusCode, message: impl Into<String>) -> PageError {
        PageError::new(status, message, self.lang)
    }

    /// The signed-in account, or the redirect to the sign-in page that comes back to
    /// `next`.
    pub(crate) fn require_account(&self, next: &str) -> Result<&Account, Box<Response>> {
        self.account
            .as_ref()
            .ok_or_else(|| Box::new(see_other(&format!("/sign-in?next={}", encode(next)))))
    }
}

pub(crate) struct Form(pub(crate) Vec<(String, String)>);

impl Form {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
}

pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The Content Security Policy of these pages.
const PAGE_CSP: &str = "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html_response(status: StatusCode, body: String) -> Response {
    kit::web::html_page(status, body, PAGE_CSP)
}

// ---------------------------------------------------------------------------------------
// Errors as pages

/// A failure shown as a page: the status and exactly which check failed (a 5xx of our own
/// logs its cause and shows none).
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
    lang: Lang,
}

impl PageError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>, lang: Lang) -> Self {
        PageError {
            status,
            message: message.into(),
            lang,
        }
    }

    pub(crate) fn from_app(e: AppError, lang: Lang) -> Self {
        PageError::new(e.status(), user_message(&e), lang)
    }

    pub(crate) fn not_found(lang: Lang) -> Self {
        PageError::new(StatusCode::NOT_FOUND, texts(lang).not_found_message, lang)
    }
}

/// Any address the wallet has no route for: the translated "page not found" page (the
/// JSON API's unknown paths answer its own `not_found` error).
pub(crate) async fn unknown_route(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        return AppError::NotFound(format!("no API endpoint at {}", uri.path())).into_response();
    }
    PageError::not_found(lang_of(&headers)).into_response()
}

/// What the holder is told about `e`: the check that failed; nothing of our own faults.
pub(crate) fn user_message(e: &AppError) -> String {
    let status = e.status();
    if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
        tracing::error!(error = %e, "internal error");
        "the wallet could not complete the request".to_owned()
    } else {
        e.to_string()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = texts(self.lang);
        let title = if self.status == StatusCode::NOT_FOUND {
            t.not_found
        } else {
            t.error
        };
        // A failed check written in English shown on a Japanese page: a plain sentence for
        // its kind, the check folded under "Technical details".
        let (message, technical) = if self.lang == Lang::Ja && !has_japanese(&self.message) {
            let summary = match self.status {
                StatusCode::NOT_FOUND => t.not_found_message,
                StatusCode::FORBIDDEN => t.error_form,
                StatusCode::CONFLICT => t.error_conflict,
                StatusCode::TOO_MANY_REQUESTS => t.error_busy,
                StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => t.error_counterpart,
                s if s.is_server_error() => t.error_ours,
                _ => t.error_request,
            };
            (summary.to_owned(), Some(self.message))
        } else {
            (self.message, None)
        };
        let page = ErrorPage {
            layout: Layout {
                t,
                lang: self.lang.code(),
                title: title.to_owned(),
                csrf: String::new(),
                signed_in_as: None,
                here: String::new(),
            },
            status: self.status.as_u16(),
            message,
            technical,
        };
        match page.render() {
            Ok(html) => html_response(self.status, html),
            Err(_) => (self.status, "error").into_response(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Templates

pub struct Layout {
    pub t: &'static Texts,
    pub lang: &'static str,
    pub title: String,
    pub csrf: String,
    pub signed_in_as: Option<String>,
    /// The current path and query, for the language switch to come back to.
    pub here: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
    /// The failed check, when it is not in the page's language.
    technical: Option<String>,
}

/// Whether `text` has kana or kanji (is written in Japanese, at least in part).
pub(crate) fn has_japanese(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}')
    })
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    layout: Layout,
    invitation: String,
    issuer_name: String,
    achievement: String,
    email: String,
    /// A trusted issuer's invitation: the address counts as confirmed.
    trusted: bool,
    error: Option<String>,
}

impl RegisterPage {
    fn new(
        layout: Layout,
        invitation: String,
        preview: InvitationPreview,
        error: Option<String>,
    ) -> Self {
        RegisterPage {
            layout,
            invitation,
            issuer_name: preview.claims.issuer_name,
            achievement: preview.claims.achievement,
            email: preview.email,
            trusted: preview.trusted,
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    a: &'static accounts::AccountTexts,
    email: String,
    next: String,
    error: Option<String>,
    /// The pending address whose confirmation email can be sent again.
    unconfirmed: Option<String>,
}

/// A badge as the list and the detail page show it.
struct BadgeItem {
    id: String,
    name: String,
    issuer: String,
    /// The issuer's identifier, verified when the badge was received (its `iss`, whose key
    /// signed it and whose `ld.issuer.id` it names): shown beside the name.
    issuer_id: String,
    received: String,
    valid_until: Option<String>,
    image: Option<String>,
    description: Option<String>,
    criteria: Option<String>,
    recipient: Option<String>,
}

impl BadgeItem {
    fn new(view: &CredentialView, claims: Option<&Value>, lang: Lang) -> Self {
        // Dates as the reader's language writes them ("6 December 2026", "2026年12月6日").
        let date = |d: &str| {
            lang.date_of_rfc3339(d)
                .map_or_else(|| d.get(..10).unwrap_or(d).to_owned(), |d| d.text)
        };
        let s = |p: &str| {
            claims
                .and_then(|c| c.pointer(p))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        // The image kept with the badge, served by the wallet (`card::badge_image`).
        let image = claims
            .and_then(crate::wallet::badge_card::image_href)
            .map(|_| format!("/badges/{}/image", encode(&view.id)));
        // The name and description in the reader's language when the badge carries that
        // language edition (OB 3.0 `related` with `inLanguage`).
        let edition = |member: &str| {
            claims
                .and_then(|c| c.pointer("/ld/credentialSubject/achievement"))
                .and_then(|a| protocol::ob3::achievement_text_in(a, lang.code(), member))
                .map(str::to_owned)
        };
        BadgeItem {
            id: view.id.clone(),
            name: edition("name")
                .or_else(|| view.achievement_name.clone())
                .unwrap_or_else(|| view.vct.clone()),
            issuer: view
                .issuer_name
                .clone()
                .unwrap_or_else(|| view.issuer.clone()),
            issuer_id: view.issuer.clone(),
            received: date(&view.received),
            valid_until: view.valid_until.as_deref().map(date),
            image,
            description: edition("description")
                .or_else(|| s("/ld/credentialSubject/achievement/description")),
            criteria: s("/ld/credentialSubject/achievement/criteria/narrative")
                .or_else(|| s("/ld/credentialSubject/achievement/criteria/id")),
            recipient: view.recipient_name.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    badges: Vec<BadgeItem>,
    /// Each badge's public page setting, by credential id.
    visibility: std::collections::HashMap<String, crate::wallet::public::Visibility>,
    p: &'static public::PublicTexts,
}

#[derive(Template)]
#[template(path = "badge.html")]
struct BadgePage {
    layout: Layout,
    badge: BadgeItem,
    /// The badge's state (`data-state`) and its banner unless valid.
    state: &'static str,
    state_banner: Option<&'static str>,
    /// Checked now: signature, issuer key, status, validity, image digest.
    verification: crate::wallet::verify::LiveVerification,
    p: &'static public::PublicTexts,
    s: &'static share::ShareTexts,
    /// The Share panel: only for a valid, public badge.
    share: Option<share::SharePanel>,
    /// The email signature's fields (the panel's preview includes its template).
    sig: Option<share::SignatureData>,
    /// A valid badge that is private: "Make it public to share".
    private: bool,
    /// The offline card is offered (`WALLET_OFFLINE_CHECK_URL` is set).
    offline_card: bool,
}

/// The PIN input the offer's `tx_code` asks for.
struct PinInput {
    numeric: bool,
    length: Option<u32>,
    description: Option<String>,
    hint: String,
}

#[derive(Template)]
#[template(path = "receive.html")]
struct ReceivePage {
    layout: Layout,
    offer: String,
    issuer: String,
    source: offer_source::OfferSource,
    badges: Vec<String>,
    pin: Option<PinInput>,
    sign_in_at_issuer: bool,
    error: Option<String>,
}

/// `to_issuer.html`: the step from "Receive the badge" to the issuer's sign-in. A page
/// that moves on by itself (and a link) rather than a redirect: the receive form's
/// `form-action 'self'` would stop a redirect from its submission to another origin.
#[derive(Template)]
#[template(path = "to_issuer.html")]
struct ToIssuerPage {
    layout: Layout,
    url: String,
}

// ---------------------------------------------------------------------------------------
// Handlers

async fn home(State(app): State<App>, web: Web) -> Result<Response, PageError> {
    let account = match web.require_account("/") {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    let badges = app
        .list_with_claims(account)
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?
        .iter()
        .rev()
        .map(|(view, claims)| BadgeItem::new(view, Some(claims), web.lang))
        .collect();
    let visibility = app
        .visibilities(account, app.clock.now())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    let mut layout = web.layout(web.t().my_badges);
    layout.here = "/".into();
    Ok(web.render(
        &app,
        StatusCode::OK,
        HomePage {
            layout,
            badges,
            visibility,
            p: public::texts(web.lang),
        },
    ))
}

#[derive(serde::Deserialize)]
struct InvitationQuery {
    invitation: Option<String>,
}

/// `GET /register?invitation=`: the form, unless the address already has an account
/// (then the page that says to sign in or reset the password). Without an invitation,
/// open registration.
async fn register_page(
    State(app): State<App>,
    web: Web,
    axum::extract::Query(q): axum::extract::Query<InvitationQuery>,
) -> Result<Response, PageError> {
    let invitation = q.invitation.unwrap_or_default();
    if invitation.is_empty() {
        return Ok(accounts::register_page(&app, &web));
    }
    let preview = match app.preview_invitation(&invitation, app.clock.now()).await {
        Ok(p) => p,
        // Said at once, before a password is typed: expired or not an invitation.
        Err(e @ AppError::Register(RegisterError::Invitation(_))) => {
            return Ok(accounts::invitation_problem(&app, &web, &e));
        }
        Err(e) => return Err(PageError::from_app(e, web.lang)),
    };
    if preview.account_exists {
        return Ok(accounts::account_exists(&app, &web, &preview.email));
    }
    let mut layout = web.layout(web.t().register_title);
    layout.here = format!("/register?invitation={}", encode(&invitation));
    Ok(web.render(
        &app,
        StatusCode::OK,
        RegisterPage::new(layout, invitation, preview, None),
    ))
}

/// `POST /register`: from an invitation, a trusted issuer's creates the account and signs
/// in, another's sends the confirmation link; an existing account is refused. Without an
/// invitation, open registration.
async fn register(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    if form.get("invitation").is_none() {
        return Ok(accounts::register(&app, &web, &form).await);
    }
    let invitation = form.value("invitation");
    let now = app.clock.now();
    let attempt = async {
        crate::wallet::web::check_new_password(form.value("password"), form.value("password2"))?;
        app.register_from_invitation(
            invitation,
            Some(form.value("password")),
            Some(web.lang.code()),
            web.ip.as_deref(),
            now,
        )
        .await
    };
    match attempt.await {
        Ok(registered) => {
            let Some(account_id) = registered.account_id else {
                // An untrusted issuer: the address is confirmed by the emailed link.
                return Ok(accounts::check_your_email(&app, &web, &registered.account));
            };
            let row = app
                .store
                .account_by_id(&account_id)
                .await
                .map_err(|e| PageError::from_app(e.into(), web.lang))?
                .ok_or_else(|| PageError::not_found(web.lang))?;
            let account = app
                .open_account(row)
                .map_err(|e| PageError::from_app(e, web.lang))?;
            signed_in(&app, &account, "/", &web).await
        }
        Err(AppError::Register(RegisterError::AccountExists { email })) => {
            Ok(accounts::account_exists(&app, &web, &email))
        }
        Err(e) => {
            // The form again, with the check that failed; the invitation itself must
            // still verify to show it.
            let message = user_message(&e);
            let preview = app
                .preview_invitation(invitation, now)
                .await
                .map_err(|_| PageError::from_app(e, web.lang))?;
            let layout = web.layout(web.t().register_title);
            Ok(web.render(
                &app,
                StatusCode::BAD_REQUEST,
                RegisterPage::new(layout, invitation.to_owned(), preview, Some(message)),
            ))
        }
    }
}

/// Starts a session for `account` and sends the browser to `next`.
async fn signed_in(
    app: &App,
    account: &Account,
    next: &str,
    web: &Web,
) -> Result<Response, PageError> {
    if let Some(old) = &web.session {
        app.end_session(old)
            .await
            .map_err(|e| PageError::from_app(e, web.lang))?;
    }
    let token = app
        .start_session(account, app.clock.now())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    let mut r = see_other(next);
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(app, SESSION_COOKIE, &token, crate::wallet::web::SESSION_TTL),
    );
    Ok(r)
}

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn sign_in_page(
    State(app): State<App>,
    web: Web,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Response {
    let next = kit::web::lang::local_path(q.next.as_deref(), "/");
    let mut layout = web.layout(web.t().sign_in);
    layout.here = format!("/sign-in?next={}", encode(&next));
    web.render(
        &app,
        StatusCode::OK,
        SignInPage {
            layout,
            a: accounts::texts(web.lang),
            email: String::new(),
            next,
            error: None,
            unconfirmed: None,
        },
    )
}

async fn sign_in(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    let next = kit::web::lang::local_path(form.get("next"), "/");
    match app
        .sign_in(
            form.value("email"),
            form.value("password"),
            web.ip.as_deref(),
            app.clock.now(),
        )
        .await
    {
        Ok(account) => signed_in(&app, &account, &next, &web).await,
        Err(e) => {
            let status = e.status();
            let layout = web.layout(web.t().sign_in);
            let unconfirmed = match &e {
                AppError::Web(crate::wallet::web::WebAuthError::EmailNotConfirmed(email)) => {
                    Some(email.clone())
                }
                _ => None,
            };
            Ok(web.render(
                &app,
                status,
                SignInPage {
                    layout,
                    a: accounts::texts(web.lang),
                    email: form.value("email").to_owned(),
                    next,
                    error: Some(user_message(&e)),
                    unconfirmed,
                },
            ))
        }
    }
}

async fn sign_out(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    web.checked_form(&app, &body)?;
    if let Some(token) = &web.session {
        app.end_session(token)
            .await
            .map_err(|e| PageError::from_app(e, web.lang))?;
    }
    let mut r = see_other("/sign-in");
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&app, SESSION_COOKIE, "", 0));
    Ok(r)
}

/// The offer link a `/receive?…` query stands for.
fn offer_link(query: &str) -> String {
    format!("openid-credential-offer://?{query}")
}

async fn receive_page(
    State(app): State<App>,
    web: Web,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = query.unwrap_or_default();
    let here = format!("/receive?{query}");
    let account = match web.require_account(&here) {
        Ok(account) => account,
        Err(redirect) => return Ok(*redirect),
    };
    let offer = offer_link(&query);
    let preview = app
        .preview_offer(&offer, web.lang.code())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    let source = offer_source::OfferSource::of(&app, web.lang, &account.id, preview.issuer.clone())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    let mut layout = web.layout(web.t().receive_title);
    layout.here = here;
    Ok(web.render(
        &app,
        StatusCode::OK,
        receive_view(&web, layout, offer, preview, source, None),
    ))
}

fn receive_view(
    web: &Web,
    layout: Layout,
    offer: String,
    preview: OfferPreview,
    source: offer_source::OfferSource,
    error: Option<String>,
) -> ReceivePage {
    let t = web.t();
    let pin = preview.tx_code.map(|tx| {
        let numeric = tx.input_mode.unwrap_or_default() == TxCodeInputMode::Numeric;
        let hint = match (tx.length, numeric) {
            (Some(n), true) => format!("{n} {}", t.pin_digits),
            (Some(n), false) => format!("{n} {}", t.pin_characters),
            (None, _) => String::new(),
        };
        PinInput {
            numeric,
            length: tx.length,
            description: tx.description,
            hint,
        }
    });
    ReceivePage {
        layout,
        offer,
        issuer: preview.issuer_name.unwrap_or(preview.issuer),
        source,
        badges: preview.badges,
        pin,
        sign_in_at_issuer: preview.sign_in_at_issuer,
        error,
    }
}

async fn receive(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    let offer = form.value("offer").to_owned();
    let Some(account) = web.account.as_ref() else {
        return Ok(see_other("/sign-in"));
    };
    let now = app.clock.now();
    let mut outcome = app.accept(account, &offer, form.get("tx_code"), now).await;
    // An offer with only the authorization code grant: the browser goes to the issuer to
    // sign in there (through [`ToIssuerPage`]), and comes back to `/receive/authorized`.
    if matches!(
        outcome,
        Err(AppError::Accept(AcceptError::NoPreAuthorizedGrant))
    ) {
        let session = web.session.as_deref().unwrap_or_default();
        match app
            .begin_web_authorization(account, session, &offer, now)
            .await
        {
            Ok(url) => {
                let layout = web.layout(web.t().to_issuer_title);
                return Ok(web.render(&app, StatusCode::OK, ToIssuerPage { layout, url }));
            }
            Err(e) => outcome = Err(e),
        }
    }
    match outcome {
        Ok(accepted) => Ok(received(&accepted)),
        Err(e) => {
            let message = user_message(&e);
            let status = e.status();
            // Show the offer again with the reason; an offer that no longer resolves
            // (expired, redeemed) is shown as the error alone.
            let preview = app
                .preview_offer(&offer, web.lang.code())
                .await
                .map_err(|_| PageError::new(status, message.clone(), web.lang))?;
            let source =
                offer_source::OfferSource::of(&app, web.lang, &account.id, preview.issuer.clone())
                    .await
                    .map_err(|e| PageError::from_app(e, web.lang))?;
            let layout = web.layout(web.t().receive_title);
            let page = receive_view(&web, layout, offer, preview, source, Some(message));
            Ok(web.render(&app, status, page))
        }
    }
}

/// Where a receipt leads: the first badge received.
fn received(accepted: &crate::wallet::oid4vci::Accepted) -> Response {
    match accepted.credentials.first() {
        Some(c) => see_other(&format!("/badges/{}", encode(&c.id))),
        None => see_other("/"),
    }
}

/// The browser's return from the issuer's authorization endpoint (the authorization code
/// flow): the flow its `state` names must have been started by this account in this
/// browser session, once; the code is then exchanged and the badge received.
async fn receive_authorized(
    State(app): State<App>,
    web: Web,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = query.unwrap_or_default();
    let here = format!(
        "{}?{query}",
        crate::wallet::authorization_code::REDIRECT_PATH
    );
    let account = match web.require_account(&here) {
        Ok(account) => account,
        Err(redirect) => return Ok(*redirect),
    };
    let redirected_to = format!("{}{here}", app.oauth_client_id());
    let session = web.session.as_deref().unwrap_or_default();
    let accepted = app
        .finish_web_authorization(account, session, &redirected_to, app.clock.now())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    Ok(received(&accepted))
}

async fn badge_page(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let here = format!("/badges/{}", encode(&id));
    let account = match web.require_account(&here) {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    let (view, claims) = app
        .credential_of(account, &id)
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?
        .ok_or_else(|| PageError::not_found(web.lang))?;
    let badge = BadgeItem::new(&view, Some(&claims), web.lang);
    let verification = app
        .verify_held(account, &id, app.clock.now())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?
        .ok_or_else(|| PageError::not_found(web.lang))?;
    let mut layout = web.layout(&badge.name);
    layout.here = here;
    let state = verification.state();
    // Sharing only makes sense for a valid badge, and needs its public page.
    let (share, sig, private) = if state == crate::wallet::verify::BadgeState::Valid {
        let visibility = app
            .visibility(account, &id, app.clock.now())
            .await
            .map_err(|e| PageError::from_app(e, web.lang))?;
        if visibility.public {
            let subject = share::ShareSubject::new(
                visibility.public_url,
                badge.name.clone(),
                badge.issuer.clone(),
                &claims,
            );
            let (panel, sig) = share::SharePanel::new(&subject)
                .map_err(|e| web.error(AppError::Internal(format!("signature: {e}"))))?;
            (Some(panel), Some(sig), false)
        } else {
            (None, None, true)
        }
    } else {
        (None, None, false)
    };
    let page = BadgePage {
        layout,
        badge,
        state: state.as_str(),
        state_banner: public::state_banner(state, web.lang),
        verification,
        p: public::texts(web.lang),
        s: share::texts(web.lang),
        share,
        sig,
        private,
        offline_card: app.config.offline_check_url.is_some(),
    };
    Ok(share::with_copy_script(web.render(
        &app,
        StatusCode::OK,
        page,
    )))
}

async fn set_lang(
    State(app): State<App>,
    Path(lang): Path<String>,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Response {
    let lang = Lang::parse(&lang).unwrap_or(Lang::En);
    let mut r = see_other(&kit::web::lang::local_path(q.next.as_deref(), "/"));
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, LANG_COOKIE, lang.code(), 365 * 86_400),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session, CSRF and language cookies are `Secure` exactly when the wallet's
    /// public URL is https, and always `HttpOnly` and `SameSite=Lax`.
    #[tokio::test]
    async fn cookies_are_secure_when_the_public_url_is_https() {
        let dir = tempfile::tempdir().unwrap();
        for (url, secure) in [
            ("https://wallet.example", true),
            ("http://127.0.0.1:8082", false),
        ] {
            let db = format!("sqlite://{}/w{secure}.db", dir.path().display());
            let config = crate::Config::for_dir(dir.path().to_path_buf(), url.into(), db);
            let (app, _) = App::open(config, protocol::clock::Clock::system())
                .await
                .unwrap();
            for name in [SESSION_COOKIE, CSRF_COOKIE, LANG_COOKIE] {
                let v = set_cookie(&app, name, "value", 60);
                let v = v.to_str().unwrap();
                assert!(v.starts_with(&format!("{name}=value; ")), "{v}");
                assert!(v.contains("; HttpOnly"), "{v}");
                assert!(v.contains("; SameSite=Lax"), "{v}");
                assert_eq!(v.contains("; Secure"), secure, "{url}: {v}");
            }
            app.store.db.close().await;
        }
    }

    /// The wallet's `next` rules, now [`kit::web::lang::local_path`]: its own paths, offer
    /// links with encoded URLs in their query, kept; what an attacker puts there refused.
    #[test]
    fn next_paths_on_this_site_are_kept_and_hostile_ones_refused() {
        use kit::web::lang::local_path;
        for ok in [
            "/",
            "/receive?x=1",
            "/badges/abc-123/public",
            "/sign-in?next=%2Fpresent",
            "/receive?credential_offer_uri=https%3A%2F%2Fissuer.example%2Foffers%2Fx",
            "/receive?credential_offer=%7B%22a%22%3A%20%22b%22%7D",
            "/p/x#top",
        ] {
            assert_eq!(local_path(Some(ok), "/"), ok);
        }
        for bad in [
            "",
            "/%09/evil.example",
            "/\t/evil.example",
            "//evil.example/",
            "/\\evil",
            "/%5Cevil",
            "https://evil.example/",
            "javascript:alert(1)",
            "/%2F%2Fevil",
            "/%252F/evil",
            "%2F%2Fevil",
            " /x",
            "/x\r\nSet-Cookie: wallet_session=x",
            "/x?y=%0D%0ASet-Cookie:%20a=b",
            "/%20/evil",
            "/%E3%81",
            "/%25252525252F",
        ] {
            assert_eq!(local_path(Some(bad), "/"), "/", "{bad:?}");
        }
    }

    /// On a Japanese page an English check is replaced by a plain Japanese sentence for
    /// its kind and folded under 技術的な詳細; a Japanese message is shown as it is.
    #[tokio::test]
    async fn english_checks_on_japanese_error_pages_are_folded_away() {
        async fn body(e: PageError) -> String {
            let r = e.into_response();
            let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
        let csrf = "the form's CSRF token is missing or does not match";
        let html = body(PageError::new(StatusCode::FORBIDDEN, csrf, Lang::Ja)).await;
        assert!(html.contains(JA.error_form), "{html}");
        assert!(html.contains("<summary>技術的な詳細</summary>"), "{html}");
        let outside = html.split("<details").next().unwrap();
        assert!(!outside.contains("CSRF token"), "{html}");
        let html = body(PageError::new(StatusCode::FORBIDDEN, csrf, Lang::En)).await;
        assert!(html.contains("CSRF token is missing"), "{html}");
        assert!(!html.contains("<details"), "{html}");
        let html = body(PageError::not_found(Lang::Ja)).await;
        assert!(html.contains(JA.not_found_message) && !html.contains("<details"));
        assert!(
            !html.contains(JA.back),
            "a stranger is not sent to 'my badges'"
        );
        assert!(has_japanese("画像") && !has_japanese("picture × 2"));
    }

    #[test]
    fn language_from_cookie_then_accept_language() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr;q=0.9, ja-JP;q=0.8, en;q=0.5"),
        );
        assert_eq!(lang_of(&h), Lang::Ja);
        h.insert(header::COOKIE, HeaderValue::from_static("wallet_lang=en"));
        assert_eq!(lang_of(&h), Lang::En);
        h.insert(header::COOKIE, HeaderValue::from_static("lang=en"));
        assert_eq!(lang_of(&h), Lang::Ja, "only the wallet's own cookie counts");
        assert_eq!(lang_of(&HeaderMap::new()), Lang::En);
    }
}
