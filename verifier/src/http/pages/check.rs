//! The public `/check` page, on which a person at a desk pastes a badge page URL or a
//! credential, uploads a baked badge or a picture of a QR code, or shows a QR code to the
//! device's camera (the page posts a frame every 500 ms until one decodes). Every form and
//! upload carries the CSRF token of the page's cookie; every value shown is escaped by the
//! templates (`templates/check.html`, `check_result.html`).

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::verify::standalone;
use serde_json::json;

use super::result::ResultView;
use super::{CHECK_JS, Frame, STYLE_PATH, html_response, render};
use crate::app::App;
use crate::domain::badge_check::input::{self, InputError, Pasted};
use crate::domain::badge_check::{CheckInput, CheckResult};
use crate::domain::requests::RequestResult;
use crate::error::Error;
use crate::http::csrf::{CsrfScope, new_csrf_cookie};
use crate::http::error::PageError;
use kit::web::{CookiePolicy, SameSite, cookie};

pub const CHECK_PATH: &str = "/check";
/// The page's script: uploads, the camera.
pub const CHECK_SCRIPT_PATH: &str = "/check/check.js";
const CSRF_COOKIE: &str = "verifier_check_csrf";
const CSRF_HEADER: &str = "x-csrf-token";

fn set_csrf_cookie(app: &App, value: &str) -> HeaderValue {
    CookiePolicy::for_public_url(&app.public_url, CHECK_PATH, SameSite::Strict).set(
        CSRF_COOKIE,
        value,
        86_400,
    )
}

/// The page's CSRF token, and the cookie to set when the browser had none.
fn csrf(app: &App, headers: &HeaderMap) -> (String, Option<String>) {
    match cookie(headers, CSRF_COOKIE).filter(|c| !c.is_empty()) {
        Some(c) => (app.csrf_key.csrf_token(CsrfScope::Check, &c), None),
        None => {
            let c = new_csrf_cookie();
            (app.csrf_key.csrf_token(CsrfScope::Check, &c), Some(c))
        }
    }
}

fn check_csrf(app: &App, headers: &HeaderMap, token: Option<&str>) -> Result<(), PageError> {
    // Anonymous: bound to this page's own cookie (a desk token is none of this page's).
    app.csrf_key.check_csrf(
        CsrfScope::Check,
        cookie(headers, CSRF_COOKIE).as_deref(),
        token,
        None,
    )?;
    Ok(())
}

fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok())
}

/// What the page's result section shows (`templates/check_result.html`): nothing yet, why
/// the input could not be checked, or what was checked and the result.
#[derive(Default)]
pub struct Shown {
    error: Option<String>,
    checked: Option<Checked>,
    result: Option<ResultView>,
}

/// What was checked, in which format.
struct Checked {
    what: String,
    format: Option<String>,
}

impl Shown {
    /// The result as the desk shows presentation results, with what was checked.
    fn checked(r: &CheckResult, what: &str) -> Shown {
        let format = r.format.as_deref();
        let disclosed = r
            .disclosed
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.iter()
                        .map(|c| standalone::display_claims(format, c))
                        .collect(),
                )
            })
            .collect();
        let shown = RequestResult {
            id: "check".into(),
            state: r.state,
            checks: r.checks.clone(),
            disclosed,
            error: None,
            created_at: r.checked_at,
            expires_at: r.checked_at,
            responded_at: Some(r.checked_at),
        };
        Shown {
            error: None,
            checked: Some(Checked {
                what: what.to_owned(),
                format: format.map(str::to_owned),
            }),
            result: Some(ResultView::of(&shown)),
        }
    }

    fn failed(message: String) -> Shown {
        Shown {
            error: Some(message),
            ..Shown::default()
        }
    }
}

/// `templates/check.html`.
#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage<'a> {
    frame: Frame,
    csrf: &'a str,
    input: &'a str,
    shown: Shown,
}

/// `templates/check_fragment.html`: the result section alone (uploads, camera frames).
#[derive(Template)]
#[template(path = "check_fragment.html")]
struct CheckFragment {
    shown: Shown,
}

fn fragment(shown: Shown) -> Result<String, askama::Error> {
    CheckFragment { shown }.render()
}

/// The result of a check as the page's result section shows it.
pub fn check_fragment(r: &CheckResult, what: &str) -> Result<String, askama::Error> {
    fragment(Shown::checked(r, what))
}

fn check_page(
    app: &App,
    status: StatusCode,
    headers: &HeaderMap,
    input: &str,
    shown: Shown,
) -> Response {
    let (token, new_cookie) = csrf(app, headers);
    let page = CheckPage {
        frame: Frame {
            title: "Check a badge",
            home: CHECK_PATH,
            style: STYLE_PATH,
            script: CHECK_SCRIPT_PATH,
        },
        csrf: &token,
        input,
        shown,
    };
    let mut r = render(status, &page);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' blob:; media-src 'self' blob: mediastream:; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    if let Some(c) = new_cookie {
        r.headers_mut()
            .append(header::SET_COOKIE, set_csrf_cookie(app, &c));
    }
    r
}

/// A short name of what was checked, for the page.
fn describe(input: &str) -> String {
    let input = input.trim();
    if input.starts_with("http://") || input.starts_with("https://") {
        return input.to_owned();
    }
    let mut short: String = input.chars().take(60).collect();
    if input.chars().count() > 60 {
        short.push('…');
    }
    short
}

/// `GET /check`.
pub async fn page(State(app): State<App>, headers: HeaderMap) -> Response {
    check_page(&app, StatusCode::OK, &headers, "", Shown::default())
}

/// `POST /check`: the pasted URL or credential (works without JavaScript).
pub async fn submit(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    check_csrf(&app, &headers, field("csrf"))?;
    let input = field("input").unwrap_or_default().trim().to_owned();
    Ok(
        match app.badge_check.check(CheckInput::Text(input.clone())).await {
            Ok(r) => check_page(
                &app,
                StatusCode::OK,
                &headers,
                &input,
                Shown::checked(&r, &describe(&input)),
            ),
            Err(e @ Error::Invalid { .. }) => check_page(
                &app,
                StatusCode::BAD_REQUEST,
                &headers,
                &input,
                Shown::failed(e.to_string()),
            ),
            Err(e) => return Err(e.into()),
        },
    )
}

/// `POST /check/upload`: the file itself (`Content-Type` its media type), CSRF token in
/// `X-CSRF-Token`; answers the result fragment.
pub async fn upload(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    check_csrf(&app, &headers, header_token(&headers))?;
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let input = CheckInput::Upload {
        media_type: media_type.clone(),
        body: body.to_vec(),
    };
    Ok(match app.badge_check.check(input).await {
        Ok(r) => html_response(
            StatusCode::OK,
            check_fragment(&r, &format!("an uploaded file ({media_type})"))?,
        ),
        Err(e @ Error::Invalid { .. }) => html_response(
            StatusCode::BAD_REQUEST,
            fragment(Shown::failed(e.to_string()))?,
        ),
        Err(e) => return Err(e.into()),
    })
}

/// `POST /check/frame`: one camera frame (PNG), CSRF token in `X-CSRF-Token`. Answers
/// `{"found": false}` until a QR code decodes, then `{"found": true, "text", "html"}`
/// with the result fragment of checking what it holds.
pub async fn frame(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    check_csrf(&app, &headers, header_token(&headers))?;
    let text = match input::scan_png(&body) {
        Ok(text) => text,
        Err(InputError::NoQrCode) => return Ok(Json(json!({ "found": false })).into_response()),
        Err(e) => {
            return Ok((
                StatusCode::BAD_REQUEST,
                Json(json!({ "found": false, "error": e.to_string() })),
            )
                .into_response());
        }
    };
    let input = match input::pasted(&text) {
        Ok(Pasted::Url(u)) => CheckInput::Url(u),
        Ok(Pasted::Credential(c)) => CheckInput::Credential(c),
        Err(e) => {
            return Ok(Json(json!({
                "found": true, "text": text,
                "html": fragment(Shown::failed(format!("the QR code holds neither a link nor a credential: {e}")))?,
            }))
            .into_response());
        }
    };
    let html = match app.badge_check.check(input).await {
        Ok(r) => check_fragment(&r, &describe(&text))?,
        Err(e @ Error::Invalid { .. }) => fragment(Shown::failed(e.to_string()))?,
        Err(e) => return Err(e.into()),
    };
    Ok(Json(json!({ "found": true, "text": text, "html": html })).into_response())
}

/// `GET /check/check.js`.
pub async fn script(headers: HeaderMap) -> Response {
    CHECK_JS.response(&headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_fragment_escapes_what_was_checked() {
        let r = CheckResult {
            state: crate::domain::requests::ResultState::Rejected,
            format: Some("jwt_vc_json".into()),
            checks: vec![protocol::verify::Check::fail("source", "<b>404</b>")],
            disclosed: Default::default(),
            checked_at: 0,
        };
        let html = check_fragment(&r, "https://x.example/p/<script>").unwrap();
        assert!(
            html.contains("https://x.example/p/&lt;script&gt;"),
            "{html}"
        );
        assert!(
            html.contains("data-check=\"source\" data-outcome=\"failed\""),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;404&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<script>"));
    }
}
