//! The issuer's console (`/console`): pages for the people who run a badge program,
//! server-rendered with askama (`templates/console/`, HTML-escaped), readable without
//! JavaScript, in English and Japanese (a language cookie, else `Accept-Language`; a
//! switch on every page).
//!
//! Sessions are random values in an `HttpOnly`, `SameSite=Strict` cookie, `__Host-`
//! prefixed and `Secure` when the public URL is https (plain names on http, in
//! development), stored hashed ([`crate::domain::operators`]). Every form carries a CSRF
//! token: the MAC (under the seal key) of a random value in a second cookie and of the
//! session cookie, so it is good only with that browser's session.
//!
//! Roles are enforced in one place, [`Web::form`]: every POST handler reads its form
//! through it, naming the role it needs; a viewer's POST is answered 403 with a page
//! saying so. Handlers parse, make one domain call and render.

mod achievements;
mod audit;
mod badge;
mod csv;
mod delivery;
mod import;
mod import_texts;
mod operators;
mod ops_texts;
mod pages;
mod passkeys;
mod retire;
mod settings;
mod texts;
mod when;

use std::net::IpAddr;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kit::web::{CookiePolicy, SameSite, cookie};

use crate::App;
use crate::domain::operators::{Operator, Role};
use crate::error::AppError;
pub use texts::{Lang, LangTexts, Texts};

pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(pages::root))
        .route("/console", get(pages::home))
        .route(
            "/console/sign-in",
            get(pages::sign_in_page).post(pages::sign_in),
        )
        .route("/console/sign-in/passkey", post(pages::sign_in_passkey))
        .route(
            "/console/sign-in/passkey/options",
            post(passkeys::sign_in_options),
        )
        .route("/console/passkeys", get(passkeys::page).post(passkeys::add))
        .route(
            "/console/passkeys/options",
            post(passkeys::registration_options),
        )
        .route("/console/passkeys/{id}/rename", post(passkeys::rename))
        .route("/console/passkeys/{id}/remove", post(passkeys::remove))
        .route("/console/passkeys.js", get(passkeys::script))
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/registrations", get(pages::registrations))
        .route("/console/registrations.csv", get(pages::registrations_csv))
        .route("/console/registrations/{id}", get(pages::person))
        .route("/console/registrations/{id}/resend", post(pages::resend))
        .route(
            "/console/registrations/{id}/status",
            post(pages::set_registration_status),
        )
        .route(
            "/console/registrations/{id}/revoke",
            get(badge::revoke_confirm),
        )
        .route("/console/delivery", get(delivery::delivery))
        .route("/console/delivery/{id}/retry", post(delivery::retry))
        .route("/console/audit", get(audit::audit))
        .route("/console/audit.csv", get(audit::audit_csv))
        .route(
            "/console/operators",
            get(operators::operators).post(operators::add),
        )
        .route("/console/operators/{id}/{change}", post(operators::change))
        .route(
            "/console/password",
            get(operators::password_page).post(operators::change_password),
        )
        .route("/console/lang/{lang}", get(pages::set_lang))
        .route(
            "/console/import",
            get(import::page)
                .post(import::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/console/import/progress.js", get(import::script))
        .route("/console/import/{id}", get(import::job))
        .route("/console/import/{id}/confirm", post(import::confirm))
        .route("/console/import/{id}/resume", post(import::resume))
        .route("/console/import/{id}/events", get(import::events))
        .route(
            "/console/settings",
            get(settings::page)
                .post(settings::save)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/issuer/logo", get(settings::logo))
        .merge(achievements::router())
}

/// The Content Security Policy of the console's pages: no scripts at all.
const PAGE_CSP: &str = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's cookies, `__Host-` prefixed over https.
struct CookieNames {
    session: &'static str,
    csrf: &'static str,
}

fn cookie_names(app: &App) -> CookieNames {
    if secure(app) {
        CookieNames {
            session: "__Host-console_session",
            csrf: "__Host-console_csrf",
        }
    } else {
        CookieNames {
            session: "console_session",
            csrf: "console_csrf",
        }
    }
}

fn secure(app: &App) -> bool {
    app.config.service.public_url.starts_with("https://")
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, `Path=/` (as `__Host-` needs),
/// `Secure` over https.
fn set_cookie(app: &App, name: &str, value: &str, max_age: i64) -> HeaderValue {
    CookiePolicy::for_public_url(&app.config.service.public_url, "/", SameSite::Strict)
        .set(name, value, max_age)
}

/// The CSRF token of a browser: the MAC of its CSRF cookie and its session cookie (empty
/// without one).
fn csrf_token(app: &App, csrf_cookie: &str, session: Option<&str>) -> String {
    let bound = format!("{csrf_cookie}\n{}", session.unwrap_or(""));
    protocol::b64::encode(app.seal.mac("console-csrf", bound.as_bytes()))
}

/// A path inside the console to come back to, else the console's home.
fn local_console_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if (p == "/console" || p.starts_with("/console/") || p.starts_with("/console?"))
                && !p.contains("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// What every console page needs: language, CSRF token (and a new CSRF cookie when the
/// browser has none), the signed-in operator and the session cookie's value.
pub struct Web {
    lang: Lang,
    csrf: String,
    new_csrf_cookie: Option<String>,
    operator: Option<Operator>,
    session: Option<String>,
    client: Option<IpAddr>,
    headers: HeaderMap,
}

impl FromRequestParts<App> for Web {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, PageError> {
        let headers = parts.headers.clone();
        let lang = texts::lang_of(&headers);
        let names = cookie_names(app);
        let session = cookie(&headers, names.session).filter(|s| !s.is_empty() && s.len() <= 128);
        let (csrf, new_csrf_cookie) =
            match cookie(&headers, names.csrf).filter(|c| (16..=128).contains(&c.len())) {
                Some(c) => (csrf_token(app, &c, session.as_deref()), None),
                None => {
                    let c = protocol::b64::random(16);
                    (csrf_token(app, &c, session.as_deref()), Some(c))
                }
            };
        let operator = match &session {
            Some(token) => app
                .console_session(token, app.clock.now())
                .await
                .map_err(|e| PageError::from_app(e, lang))?,
            None => None,
        };
        Ok(Web {
            lang,
            csrf,
            new_csrf_cookie,
            operator,
            session,
            client: kit::serve::client_ip(&parts.extensions),
            headers,
        })
    }
}

/// A form's fields.
pub struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }
}

impl Web {
    fn t(&self) -> &'static Texts {
        self.lang.texts()
    }

    /// The form of a POST, after its CSRF token is checked against this browser's cookies
    /// and session: the one way a handler reads a form.
    fn checked_form(&self, app: &App, body: &[u8]) -> Result<Form, PageError> {
        let form = Form(url::form_urlencoded::parse(body).into_owned().collect());
        self.check_csrf(app, form.get("csrf"))?;
        Ok(form)
    }

    /// A form's CSRF token `token`, checked against this browser's cookies and session.
    fn check_csrf(&self, app: &App, token: Option<&str>) -> Result<(), PageError> {
        let ok = match (cookie(&self.headers, cookie_names(app).csrf), token) {
            (Some(c), Some(t)) if (16..=128).contains(&c.len()) => {
                protocol::secret::constant_time_eq(
                    csrf_token(app, &c, self.session.as_deref()).as_bytes(),
                    t.as_bytes(),
                )
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(PageError::new(
                StatusCode::FORBIDDEN,
                self.t().csrf_failed,
                None,
                self.lang,
            ))
        }
    }

    /// The roles' one gate: a signed-in operator's form, CSRF-checked, whose role allows
    /// what needs `needs`. Without a session, the sign-in page; a role short of `needs`
    /// gets 403 and a page saying so.
    fn form(&self, app: &App, body: &[u8], needs: Role) -> Result<(Operator, Form), PageError> {
        let form = self.checked_form(app, body)?;
        let operator = self
            .operator
            .clone()
            .ok_or_else(|| PageError::Redirect("/console/sign-in".into()))?;
        operator.role.require(needs).map_err(|e| self.error(e))?;
        Ok((operator, form))
    }

    /// The signed-in operator, or the way to the sign-in page that comes back to `here`.
    fn signed_in(&self, here: &str) -> Result<&Operator, PageError> {
        self.operator
            .as_ref()
            .ok_or_else(|| PageError::Redirect(format!("/console/sign-in?next={}", encode(here))))
    }

    fn layout(&self, title: &str, here: &str, section: &'static str) -> Layout {
        Layout {
            t: self.t(),
            lang: self.lang.code(),
            title: title.to_owned(),
            csrf: self.csrf.clone(),
            who: self
                .operator
                .as_ref()
                .map(|o| format!("{} ({})", o.name, texts::role_label(self.lang, o.role))),
            here: here.to_owned(),
            section,
            admin: self
                .operator
                .as_ref()
                .is_some_and(|o| o.role.allows(Role::Admin)),
        }
    }

    /// `page` with the security headers (and the CSRF cookie when it is new).
    fn render(&self, app: &App, status: StatusCode, page: impl Template) -> Response {
        self.render_with_csp(app, status, page, PAGE_CSP)
    }

    /// [`Web::render`] under the Content Security Policy `csp`.
    fn render_with_csp(
        &self,
        app: &App,
        status: StatusCode,
        page: impl Template,
        csp: &'static str,
    ) -> Response {
        match page.render() {
            Ok(html) => {
                let mut r = kit::web::html_page(status, html, csp);
                if let Some(c) = &self.new_csrf_cookie {
                    r.headers_mut().append(
                        header::SET_COOKIE,
                        set_cookie(app, cookie_names(app).csrf, c, 86_400),
                    );
                }
                r
            }
            Err(e) => self
                .error(AppError::Internal(format!("template: {e}")))
                .into_response(),
        }
    }

    fn error(&self, e: AppError) -> PageError {
        PageError::from_app(e, self.lang)
    }
}

pub struct Layout {
    pub t: &'static Texts,
    pub lang: &'static str,
    pub title: String,
    pub csrf: String,
    /// The signed-in operator's name and role.
    pub who: Option<String>,
    /// This page's path and query, for the language switch to come back to.
    pub here: String,
    /// `home`, `registrations`, `import`, or empty: the menu marks it.
    /// `home`, `registrations`, `achievements`, or empty: the menu marks it.
    pub section: &'static str,
    /// The signed-in operator is an admin: the menu shows the operators page.
    pub admin: bool,
}

// ---------------------------------------------------------------------------------------
// Errors as pages

/// A failure shown as a page in the browser's language (the check that failed, its
/// English detail folded under "Technical details"; a 5xx logs its cause and shows none),
/// or the way to the sign-in page.
#[derive(Debug)]
pub enum PageError {
    Page {
        status: StatusCode,
        message: String,
        detail: Option<String>,
        lang: Lang,
    },
    Redirect(String),
}

impl PageError {
    fn new(
        status: StatusCode,
        message: impl Into<String>,
        detail: Option<String>,
        lang: Lang,
    ) -> Self {
        PageError::Page {
            status,
            message: message.into(),
            detail,
            lang,
        }
    }

    fn from_app(e: AppError, lang: Lang) -> Self {
        let t = lang.texts();
        match &e {
            AppError::NotFound(_) => PageError::new(
                StatusCode::NOT_FOUND,
                t.not_found,
                Some(e.to_string()),
                lang,
            ),
            AppError::Forbidden { role, needs } => PageError::new(
                StatusCode::FORBIDDEN,
                texts::forbidden(
                    lang,
                    Role::parse(role).unwrap_or(Role::Viewer),
                    Role::parse(needs).unwrap_or(Role::Admin),
                ),
                None,
                lang,
            ),
            AppError::SignInRefused => {
                PageError::new(StatusCode::UNAUTHORIZED, t.wrong_credentials, None, lang)
            }
            AppError::SignInLocked { minutes } => PageError::new(
                StatusCode::TOO_MANY_REQUESTS,
                texts::locked(lang, *minutes),
                None,
                lang,
            ),
            AppError::Throttled(_) => PageError::new(
                StatusCode::TOO_MANY_REQUESTS,
                t.too_many_from_address,
                None,
                lang,
            ),
            AppError::Passkey(_) => PageError::new(
                StatusCode::BAD_REQUEST,
                passkeys::texts(lang).refused,
                Some(e.to_string()),
                lang,
            ),
            AppError::BadRequest { .. } | AppError::OAuth { .. } => PageError::new(
                StatusCode::BAD_REQUEST,
                t.bad_request,
                Some(e.to_string()),
                lang,
            ),
            _ => {
                tracing::error!(error = %e, "internal error");
                PageError::new(StatusCode::INTERNAL_SERVER_ERROR, t.internal, None, lang)
            }
        }
    }

    /// The status a page of this error has (a redirect: 303).
    #[cfg(test)]
    fn status(&self) -> StatusCode {
        match self {
            PageError::Page { status, .. } => *status,
            PageError::Redirect(_) => StatusCode::SEE_OTHER,
        }
    }

    /// The message of a page (none for a redirect).
    #[cfg(test)]
    fn message(&self) -> Option<&str> {
        match self {
            PageError::Page { message, .. } => Some(message),
            PageError::Redirect(_) => None,
        }
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
    detail: Option<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message, detail, lang) = match self {
            PageError::Redirect(to) => return see_other(&to),
            PageError::Page {
                status,
                message,
                detail,
                lang,
            } => (status, message, detail, lang),
        };
        let t = lang.texts();
        let title = match status {
            StatusCode::NOT_FOUND => t.not_found,
            StatusCode::FORBIDDEN => t.forbidden_title,
            _ => t.error,
        };
        let page = ErrorPage {
            layout: Layout {
                t,
                lang: lang.code(),
                title: title.to_owned(),
                csrf: String::new(),
                who: None,
                here: "/console".into(),
                section: "",
                admin: false,
            },
            status: status.as_u16(),
            message,
            detail,
        };
        match page.render() {
            Ok(html) => kit::web::html_page(status, html, PAGE_CSP),
            Err(_) => (status, "error").into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_come_back_to() {
        assert_eq!(
            local_console_path(Some("/console/registrations?status=revoked")),
            "/console/registrations?status=revoked"
        );
        assert_eq!(local_console_path(Some("/console")), "/console");
        for hostile in [
            "https://evil.example/console",
            "//evil.example/console",
            "/console//evil",
            "/console/\\evil",
            "/consolex",
            "/console/\r\nSet-Cookie: x=1",
            "/",
            "",
        ] {
            assert_eq!(local_console_path(Some(hostile)), "/console", "{hostile:?}");
        }
        assert_eq!(local_console_path(None), "/console");
    }

    #[test]
    fn errors_become_pages_in_the_browsers_language() {
        let e = PageError::from_app(AppError::SignInRefused, Lang::Ja);
        assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(e.message(), Some(Lang::Ja.texts().wrong_credentials));
        let e = PageError::from_app(
            AppError::Forbidden {
                role: "viewer",
                needs: "operator",
            },
            Lang::En,
        );
        assert_eq!(e.status(), StatusCode::FORBIDDEN);
        assert!(e.message().is_some_and(|m| m.contains("viewer")));
        // Our own faults show nothing of their cause.
        let e = PageError::from_app(AppError::Internal("secret path /x".into()), Lang::En);
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(e.message().is_some_and(|m| !m.contains("secret")));
    }
}
