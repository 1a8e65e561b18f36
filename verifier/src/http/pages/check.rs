//! The public `/check` page, on which a person at a desk pastes a badge page URL or a
//! credential, uploads a baked badge or a picture of a QR code, or shows a QR code to the
//! device's camera (the page posts a frame every 500 ms until one decodes). Every form and
//! upload carries the CSRF token of the page's cookie; every value shown is escaped by the
//! templates (`templates/check.html`, `check_result.html`).

use askama::Template;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kit::web::Lang;
use protocol::verify::standalone;
use serde_json::json;

use super::result::ResultView;
use super::texts::{Problem, Texts, texts, unreadable_input};
use super::{CHECK_JS, Frame, Home, html_response, page_lang, render};
use crate::app::App;
use crate::domain::badge_check::input::{self, InputError, Pasted};
use crate::domain::badge_check::{CheckInput, CheckResult};
use crate::domain::requests::RequestResult;
use crate::error::Error;
use crate::http::csrf::{CsrfScope, new_csrf_cookie};
use crate::http::error::PageError;
use kit::web::{CookiePolicy, SameSite, cookie};

pub const CHECK_PATH: &str = "/check";
/// The page's script: uploads (scaled down first), the camera.
pub const CHECK_SCRIPT_PATH: &str = "/check/check.js";
/// Largest body of an upload or a camera frame: a phone photo of up to
/// [`kit::picture::MAX_UPLOAD_BYTES`], with room for the multipart form around it.
pub const UPLOAD_BODY_LIMIT: usize = kit::picture::MAX_UPLOAD_BYTES + 64 * 1024;
/// Largest body of the pasted-text form.
pub const TEXT_BODY_LIMIT: usize = input::MAX_UPLOAD_BYTES + 64 * 1024;
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
/// the input could not be checked (in words, and the software's own under "Technical
/// details"), or what was checked and the result.
pub struct Shown {
    t: &'static Texts,
    error: Option<(String, Option<String>)>,
    checked: Option<String>,
    result: Option<ResultView>,
}

impl Shown {
    fn nothing(lang: Lang) -> Shown {
        Shown {
            t: texts(lang),
            error: None,
            checked: None,
            result: None,
        }
    }

    /// The result as the desk shows presentation results, with what was checked.
    fn checked(r: &CheckResult, what: String, lang: Lang) -> Shown {
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
        let mut result = ResultView::of(&shown, lang);
        result.format = format.map(str::to_owned);
        Shown {
            checked: Some(what),
            result: Some(result),
            ..Shown::nothing(lang)
        }
    }

    /// Why the input could not be checked: an unreadable input (`Error::Invalid`, its
    /// field says which) in words, the software's words folded away.
    fn unreadable(e: &Error, lang: Lang) -> Shown {
        let (field, detail) = match e {
            Error::Invalid { field, detail } => (field.as_str(), detail.as_str()),
            _ => ("", ""),
        };
        Shown {
            error: Some((
                unreadable_input(lang, field, detail).to_owned(),
                Some(e.to_string()),
            )),
            ..Shown::nothing(lang)
        }
    }

    fn problem(problem: Problem, detail: Option<String>, lang: Lang) -> Shown {
        Shown {
            error: Some((problem.message(lang), detail)),
            ..Shown::nothing(lang)
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
pub fn check_fragment(r: &CheckResult, what: String, lang: Lang) -> Result<String, askama::Error> {
    fragment(Shown::checked(r, what, lang))
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
        frame: Frame::new(Home::Check, page_lang(headers), CHECK_PATH, |t| {
            t.check_title
        }),
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

/// A short name of what was checked, for the page: a link as it is (a printed card's in
/// words, as its link is long and unreadable), else in words.
fn describe(input: &str, lang: Lang) -> String {
    let input = input.trim();
    if input.starts_with(protocol::offline_card::PREFIX) || input.contains("#AK1:") {
        return match lang {
            Lang::En => "the QR code of a printed card".to_owned(),
            Lang::Ja => "印刷されたカードのQRコード".to_owned(),
        };
    }
    if input.starts_with("http://") || input.starts_with("https://") {
        return input.to_owned();
    }
    match lang {
        Lang::En => "a pasted credential".to_owned(),
        Lang::Ja => "貼り付けられた資格情報".to_owned(),
    }
}

/// A request body of at most `limit` bytes, or `None` when it is larger (read up to the
/// limit, so that the answer reaches a client still sending; an unreadable body counts as
/// too large too, as its client is gone).
async fn body_within(body: Body, limit: usize) -> Option<Bytes> {
    axum::body::to_bytes(body, limit).await.ok()
}

/// The translated "too large" answer: the whole page (a form sent without JavaScript) or
/// the result section (the page's script), with HTTP 413.
fn too_large(
    app: &App,
    headers: &HeaderMap,
    limit: usize,
    whole_page: bool,
) -> Result<Response, PageError> {
    let lang = page_lang(headers);
    let mib = limit / (1024 * 1024);
    let detail = Some(format!("the request body is over {limit} bytes"));
    let shown = Shown::problem(Problem::TooLarge(mib.max(1)), detail, lang);
    Ok(if whole_page {
        check_page(app, StatusCode::PAYLOAD_TOO_LARGE, headers, "", shown)
    } else {
        html_response(StatusCode::PAYLOAD_TOO_LARGE, fragment(shown)?)
    })
}

/// `GET /check`.
pub async fn page(State(app): State<App>, headers: HeaderMap) -> Response {
    let shown = Shown::nothing(page_lang(&headers));
    check_page(&app, StatusCode::OK, &headers, "", shown)
}

/// `POST /check`: the pasted URL or credential (works without JavaScript).
pub async fn submit(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let Some(body) = body_within(body, TEXT_BODY_LIMIT).await else {
        return too_large(&app, &headers, TEXT_BODY_LIMIT, true);
    };
    let lang = page_lang(&headers);
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
                Shown::checked(&r, describe(&input, lang), lang),
            ),
            Err(e @ Error::Invalid { .. }) => check_page(
                &app,
                StatusCode::BAD_REQUEST,
                &headers,
                &input,
                Shown::unreadable(&e, lang),
            ),
            Err(e) => return Err(e.into()),
        },
    )
}

/// An uploaded file: its media type and bytes.
struct Upload {
    media_type: String,
    body: Vec<u8>,
}

/// `POST /check/upload`, two ways:
/// - a `multipart/form-data` form (the page without JavaScript): fields `csrf` and `file`;
///   answers the whole page;
/// - the file itself (`Content-Type` its media type, the page's script, which scales photos
///   down first), CSRF token in `X-CSRF-Token`; answers the result section.
///
/// A body over [`UPLOAD_BODY_LIMIT`] is answered 413 with what to do, in the reader's
/// language.
pub async fn upload(State(app): State<App>, request: Request) -> Result<Response, PageError> {
    let headers = request.headers().clone();
    let lang = page_lang(&headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let whole_page = input::essence(&content_type) == "multipart/form-data";
    let upload = if whole_page {
        match read_form(&app, &headers, request).await? {
            FormUpload::File(upload) => upload,
            FormUpload::TooLarge => return too_large(&app, &headers, UPLOAD_BODY_LIMIT, true),
            FormUpload::NoFile => {
                let shown = Shown::unreadable(&Error::invalid("body", "no file was chosen"), lang);
                return Ok(check_page(
                    &app,
                    StatusCode::BAD_REQUEST,
                    &headers,
                    "",
                    shown,
                ));
            }
        }
    } else {
        let Some(body) = body_within(request.into_body(), UPLOAD_BODY_LIMIT).await else {
            return too_large(&app, &headers, UPLOAD_BODY_LIMIT, false);
        };
        check_csrf(&app, &headers, header_token(&headers))?;
        Upload {
            media_type: content_type,
            body: body.to_vec(),
        }
    };
    let input = CheckInput::Upload {
        media_type: upload.media_type,
        body: upload.body,
    };
    let shown = match app.badge_check.check(input).await {
        Ok(r) => Ok(Shown::checked(
            &r,
            texts(lang).uploaded_file.to_owned(),
            lang,
        )),
        Err(e @ Error::Invalid { .. }) => Err(Shown::unreadable(&e, lang)),
        Err(e) => return Err(e.into()),
    };
    let (status, shown) = match shown {
        Ok(shown) => (StatusCode::OK, shown),
        Err(shown) => (StatusCode::BAD_REQUEST, shown),
    };
    Ok(if whole_page {
        check_page(&app, status, &headers, "", shown)
    } else {
        html_response(status, fragment(shown)?)
    })
}

/// What the upload form held.
enum FormUpload {
    File(Upload),
    NoFile,
    TooLarge,
}

/// Reads the upload form (`csrf`, `file`) within the route's body limit and checks its
/// CSRF token before the file is looked at.
async fn read_form(
    app: &App,
    headers: &HeaderMap,
    request: Request,
) -> Result<FormUpload, PageError> {
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| crate::http::error::AppError::bad_request("body", e.body_text()))?;
    let mut token = None;
    let mut file = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Ok(FormUpload::TooLarge);
            }
            Err(e) => {
                return Err(
                    crate::http::error::AppError::bad_request("body", e.body_text()).into(),
                );
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        let media_type = field.content_type().unwrap_or("").to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Ok(FormUpload::TooLarge);
            }
            Err(e) => {
                return Err(
                    crate::http::error::AppError::bad_request("body", e.body_text()).into(),
                );
            }
        };
        match name.as_str() {
            "csrf" => token = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "file" if !bytes.is_empty() => {
                file = Some(Upload {
                    media_type: sniffed(&media_type, &bytes),
                    body: bytes.to_vec(),
                });
            }
            _ => {}
        }
    }
    check_csrf(app, headers, token.as_deref())?;
    Ok(file.map_or(FormUpload::NoFile, FormUpload::File))
}

/// The media type of an uploaded file: the browser's, unless it gave none or a generic one
/// and the bytes are a PNG or JPEG picture.
fn sniffed(given: &str, bytes: &[u8]) -> String {
    let given = input::essence(given);
    if !given.is_empty() && given != "application/octet-stream" {
        return given;
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png".to_owned()
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg".to_owned()
    } else {
        given
    }
}

/// `POST /check/frame`: one camera frame (PNG or JPEG), CSRF token in `X-CSRF-Token`.
/// Answers `{"found": false}` until a QR code decodes, then `{"found": true, "text",
/// "html"}` with the result fragment of checking what it holds.
pub async fn frame(
    State(app): State<App>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let Some(body) = body_within(body, UPLOAD_BODY_LIMIT).await else {
        return Ok((
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({ "found": false, "error": "the frame is too large" })),
        )
            .into_response());
    };
    check_csrf(&app, &headers, header_token(&headers))?;
    let lang = page_lang(&headers);
    let text = match input::scan_picture(&body) {
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
        Ok(Pasted::Card(card)) => CheckInput::Text(card),
        Err(e) => {
            let e = Error::invalid(
                "text",
                format!("the QR code holds neither a link nor a credential: {e}"),
            );
            return Ok(Json(json!({
                "found": true, "text": text,
                "html": fragment(Shown::unreadable(&e, lang))?,
            }))
            .into_response());
        }
    };
    let html = match app.badge_check.check(input).await {
        Ok(r) => check_fragment(&r, describe(&text, lang), lang)?,
        Err(e @ Error::Invalid { .. }) => fragment(Shown::unreadable(&e, lang))?,
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
        let html = check_fragment(&r, "https://x.example/p/<script>".into(), Lang::En).unwrap();
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
