//! Passkeys in the console: `/console/passkeys` (an operator's own: list, add, rename,
//! remove),
//! the ceremonies' options as JSON, and the one script they need,
//! `/console/passkeys.js` (`static/console-passkeys.js`: `navigator.credentials` with
//! base64url on both sides). Pages that load it allow `script-src 'self'` and
//! `connect-src 'self'`, nothing inline; every other console page keeps no scripts. The
//! checks are [`crate::domain::passkeys`]'.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::texts::Lang;
use super::{Layout, PageError, Web, cookie_names, see_other};
use crate::App;
use crate::domain::operators::Role;
use crate::domain::passkeys::PasskeyView;
use crate::error::AppError;

/// The Content Security Policy of the pages with passkey buttons: the console's, plus this
/// origin's scripts (the one file) and requests (the options).
pub const PASSKEY_PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of a page: [`PASSKEY_PAGE_CSP`] when it offers passkeys, else the console's.
pub fn page_csp(offers_passkeys: bool) -> &'static str {
    if offers_passkeys {
        PASSKEY_PAGE_CSP
    } else {
        super::PAGE_CSP
    }
}

const SCRIPT: &str = include_str!("../../../static/console-passkeys.js");

/// The passkey texts of a language.
pub struct PasskeyTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub none: &'static str,
    pub name: &'static str,
    pub created: &'static str,
    pub last_used: &'static str,
    pub never: &'static str,
    pub actions: &'static str,
    pub remove: &'static str,
    pub rename: &'static str,
    pub renamed: &'static str,
    pub add_title: &'static str,
    pub add: &'static str,
    pub default_name: &'static str,
    pub added: &'static str,
    pub removed: &'static str,
    pub failed: &'static str,
    pub unsupported: &'static str,
    pub needs_js: &'static str,
    pub unavailable: &'static str,
    pub refused: &'static str,
    pub sign_in: &'static str,
    pub or_password: &'static str,
}

static EN: PasskeyTexts = PasskeyTexts {
    title: "Your passkeys",
    intro: "A passkey signs you in with your device's screen lock or security key instead of your password. Each passkey here is yours alone.",
    none: "You have no passkeys yet.",
    name: "Name",
    created: "Added",
    last_used: "Last used",
    never: "Never",
    actions: "Actions",
    remove: "Remove",
    rename: "Rename",
    renamed: "The passkey was renamed.",
    add_title: "Add a passkey",
    add: "Add a passkey",
    default_name: "My passkey",
    added: "The passkey was added. You can sign in with it now.",
    removed: "The passkey was removed. It no longer signs you in.",
    failed: "The passkey was not created or not used: the request was cancelled, timed out or refused. Try again.",
    unsupported: "This browser does not support passkeys.",
    needs_js: "Passkeys need JavaScript in this browser.",
    unavailable: "Passkeys are not available: the issuer's public URL must be a host name (not an IP address).",
    refused: "The passkey was refused.",
    sign_in: "Sign in with a passkey",
    or_password: "Or sign in with your password:",
};

static JA: PasskeyTexts = PasskeyTexts {
    title: "あなたのパスキー",
    intro: "パスキーを使うと、パスワードの代わりに端末の画面ロックやセキュリティキーでログインできます。ここにあるパスキーはあなた専用です。",
    none: "パスキーはまだありません。",
    name: "名前",
    created: "追加日時",
    last_used: "最終使用",
    never: "未使用",
    actions: "操作",
    remove: "削除",
    rename: "名前を変更",
    renamed: "パスキーの名前を変更しました。",
    add_title: "パスキーを追加",
    add: "パスキーを追加",
    default_name: "私のパスキー",
    added: "パスキーを追加しました。これでパスキーでログインできます。",
    removed: "パスキーを削除しました。このパスキーではもうログインできません。",
    failed: "パスキーを作成または使用できませんでした（取り消し、時間切れ、または拒否）。もう一度お試しください。",
    unsupported: "このブラウザはパスキーに対応していません。",
    needs_js: "パスキーにはこのブラウザで JavaScript が必要です。",
    unavailable: "パスキーは使えません。発行者の公開 URL はホスト名である必要があります（IP アドレスは不可）。",
    refused: "パスキーが受け付けられませんでした。",
    sign_in: "パスキーでログイン",
    or_password: "またはパスワードでログイン：",
};

pub fn texts(lang: Lang) -> &'static PasskeyTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// The passkey texts of the sign-in page, or none when this issuer has no relying party.
pub fn sign_in_texts(app: &App, lang: Lang) -> Option<&'static PasskeyTexts> {
    app.relying_party().ok().map(|_| texts(lang))
}

/// `GET /console/passkeys.js`.
pub async fn script() -> Response {
    let mut r = SCRIPT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

struct Row {
    id: String,
    name: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "console/passkeys.html")]
struct PasskeysPage {
    layout: Layout,
    pk: &'static PasskeyTexts,
    rows: Vec<Row>,
    notice: Option<&'static str>,
    error: Option<String>,
    /// Why passkeys cannot be added here, if they cannot.
    unavailable: Option<&'static str>,
}

#[derive(serde::Deserialize, Default)]
pub struct PasskeysQuery {
    done: Option<String>,
}

impl Web {
    /// The passkeys page of the signed-in operator, with a notice or an error.
    async fn passkeys_page(
        &self,
        app: &App,
        status: StatusCode,
        notice: Option<&'static str>,
        error: Option<String>,
    ) -> Result<Response, PageError> {
        let operator = self.signed_in("/console/passkeys")?;
        let pk = texts(self.lang);
        let rows = app
            .passkeys(operator)
            .await
            .map_err(|e| self.error(e))?
            .into_iter()
            .map(|p: PasskeyView| Row {
                id: p.id,
                name: p.name,
                created: super::when::shown_time_in(self.lang, p.created_at),
                last_used: p.last_used_at.map_or(pk.never.to_owned(), |at| {
                    super::when::shown_time_in(self.lang, at)
                }),
            })
            .collect();
        let layout = self.layout(pk.title, "/console/passkeys", "passkeys");
        let unavailable = app.relying_party().err().map(|_| pk.unavailable);
        let csp = page_csp(unavailable.is_none());
        let page = PasskeysPage {
            layout,
            pk,
            rows,
            notice,
            error,
            unavailable,
        };
        Ok(self.render_with_csp(app, status, page, csp))
    }

    /// The value of this browser's CSRF cookie: what a sign-in challenge is bound to.
    fn csrf_cookie(&self, app: &App) -> Result<String, PageError> {
        kit::web::cookie(&self.headers, cookie_names(app).csrf)
            .filter(|c| (16..=128).contains(&c.len()))
            .ok_or_else(|| {
                PageError::new(StatusCode::FORBIDDEN, self.t().csrf_failed, None, self.lang)
            })
    }

    /// The session cookie's value of a signed-in browser.
    fn session_value(&self) -> Result<&str, PageError> {
        self.session
            .as_deref()
            .ok_or_else(|| PageError::Redirect("/console/sign-in".into()))
    }
}

/// `GET /console/passkeys?done=added|renamed|removed`.
pub async fn page(
    State(app): State<App>,
    web: Web,
    Query(q): Query<PasskeysQuery>,
) -> Result<Response, PageError> {
    let pk = texts(web.lang);
    let notice = match q.done.as_deref() {
        Some("added") => Some(pk.added),
        Some("removed") => Some(pk.removed),
        Some("renamed") => Some(pk.renamed),
        _ => None,
    };
    web.passkeys_page(&app, StatusCode::OK, notice, None).await
}

/// `POST /console/passkeys/options`: the creation options, bound to this session.
pub async fn registration_options(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, _) = web.form(&app, &body, Role::Viewer)?;
    let options = app
        .passkey_registration_options(&operator, web.session_value()?, web.client, app.clock.now())
        .await
        .map_err(|e| web.error(e))?;
    Ok(no_store(Json(options).into_response()))
}

/// `POST /console/passkeys`: adds the passkey the page created (`credential`), named
/// `name`.
pub async fn add(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, form) = web.form(&app, &body, Role::Viewer)?;
    match app
        .add_passkey(
            &operator,
            web.session_value()?,
            form.value("name"),
            form.value("credential"),
            app.clock.now(),
        )
        .await
    {
        Ok(_) => Ok(see_other("/console/passkeys?done=added")),
        Err(e @ (AppError::Passkey(_) | AppError::BadRequest { .. })) => {
            let message = format!("{} {e}", texts(web.lang).refused);
            web.passkeys_page(&app, StatusCode::BAD_REQUEST, None, Some(message))
                .await
        }
        Err(e) => Err(web.error(e)),
    }
}

/// `POST /console/passkeys/{id}/rename`: renames one of the operator's own passkeys.
pub async fn rename(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, form) = web.form(&app, &body, Role::Viewer)?;
    match app
        .rename_passkey(&operator, &id, form.value("name"), app.clock.now())
        .await
    {
        Ok(()) => Ok(see_other("/console/passkeys?done=renamed")),
        Err(e @ AppError::BadRequest { .. }) => {
            let message = format!("{} {e}", texts(web.lang).refused);
            web.passkeys_page(&app, StatusCode::BAD_REQUEST, None, Some(message))
                .await
        }
        Err(e) => Err(web.error(e)),
    }
}

/// `POST /console/passkeys/{id}/remove`: removes one of the operator's own passkeys.
pub async fn remove(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, _) = web.form(&app, &body, Role::Viewer)?;
    app.remove_passkey(&operator, &id, app.clock.now())
        .await
        .map_err(|e| web.error(e))?;
    Ok(see_other("/console/passkeys?done=removed"))
}

/// `POST /console/sign-in/passkey/options`: the request options, bound to this browser's
/// CSRF cookie.
pub async fn sign_in_options(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    web.checked_form(&app, &body)?;
    let browser = web.csrf_cookie(&app)?;
    let options = app
        .passkey_sign_in_options(&browser, web.client, app.clock.now())
        .await
        .map_err(|e| web.error(e))?;
    Ok(no_store(Json(options).into_response()))
}

/// The CSRF cookie a passkey sign-in is bound to, for [`super::pages`].
pub fn sign_in_browser(app: &App, web: &Web) -> Result<String, PageError> {
    web.csrf_cookie(app)
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
