//! The public `/check` page, on which a person at a desk pastes a badge page URL or a credential, uploads a
//! baked badge or a picture of a QR code, or shows a QR code to the device's camera (the
//! page posts a frame every 500 ms until one decodes). Every form and upload carries the
//! CSRF token of the page's cookie; every value shown is escaped.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::verify::standalone;
use serde_json::json;

use super::result::result_fragment;
use super::{STYLE, esc, html_response};
use crate::App;
use crate::domain::badge_check::input::{self, InputError, Pasted};
use crate::domain::badge_check::{CheckInput, CheckResult};
use crate::domain::requests::RequestResult;
use crate::error::Error;
use crate::http::cookies::cookie;
use crate::http::csrf::{CsrfScope, new_csrf_cookie};
use crate::http::error::PageError;

pub const CHECK_PATH: &str = "/check";
const CSRF_COOKIE: &str = "verifier_check_csrf";
const CSRF_HEADER: &str = "x-csrf-token";

fn set_csrf_cookie(app: &App, value: &str) -> HeaderValue {
    let secure = if app.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={value}; Path={CHECK_PATH}; Max-Age=86400; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are base64url")
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

fn check_page(
    app: &App,
    status: StatusCode,
    headers: &HeaderMap,
    input: &str,
    result: &str,
) -> Response {
    let (token, new_cookie) = csrf(app, headers);
    let body = format!(
        concat!(
            "<h1>Check a badge</h1>",
            "<p>Paste the link of a badge page or a credential, upload a badge image or a picture of its QR code, or show the QR code to the camera.</p>",
            "<form method=\"post\" action=\"{path}\" id=\"check-form\">",
            "<input type=\"hidden\" name=\"csrf\" value=\"{token}\">",
            "<label for=\"input\">Badge page URL or credential</label>",
            "<textarea id=\"input\" name=\"input\" rows=\"4\" required>{input}</textarea>",
            "<button type=\"submit\" id=\"check\">Check</button></form>",
            "<h2>Upload</h2><label for=\"file\">A baked badge (PNG, SVG), or a photo or screenshot of a QR code</label>",
            "<input type=\"file\" id=\"file\" accept=\"image/*,.jwt,.json,.txt\">",
            "<h2>Camera</h2><p><button type=\"button\" id=\"camera-start\">Scan a QR code with the camera</button> ",
            "<button type=\"button\" id=\"camera-stop\" hidden>Stop</button></p>",
            "<p id=\"camera-status\" aria-live=\"polite\"></p>",
            "<video id=\"camera\" playsinline muted hidden style=\"max-width:100%\"></video>",
            "<section id=\"check-result\" aria-live=\"polite\">{result}</section>"
        ),
        path = CHECK_PATH,
        token = esc(&token),
        input = esc(input),
        result = result,
    );
    let html = format!(
        concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>Check a badge · Akashi verifier</title><style>{STYLE}</style></head>",
            "<body><header><a href=\"{path}\">Akashi verifier</a></header><main>{body}</main>",
            "<script src=\"{path}/check.js\"></script></body></html>\n"
        ),
        STYLE = STYLE,
        path = CHECK_PATH,
        body = body,
    );
    let mut r = html_response(status, html);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' blob:; media-src 'self' blob: mediastream:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    if let Some(c) = new_cookie {
        r.headers_mut()
            .append(header::SET_COOKIE, set_csrf_cookie(app, &c));
    }
    r
}

/// The result as the desk shows presentation results, with what was checked.
pub fn check_fragment(r: &CheckResult, what: &str) -> String {
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
    let format = format
        .map(|f| format!(" <small>({})</small>", esc(f)))
        .unwrap_or_default();
    format!(
        "<p id=\"checked\">Checked: <code>{}</code>{format}</p>{}",
        esc(what),
        result_fragment(&shown)
    )
}

fn error_fragment(message: &str) -> String {
    format!("<p class=\"error\" id=\"error\">{}</p>", esc(message))
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
    check_page(&app, StatusCode::OK, &headers, "", "")
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
    Ok(match app.check(CheckInput::Text(input.clone())).await {
        Ok(r) => check_page(
            &app,
            StatusCode::OK,
            &headers,
            &input,
            &check_fragment(&r, &describe(&input)),
        ),
        Err(e @ Error::Invalid { .. }) => check_page(
            &app,
            StatusCode::BAD_REQUEST,
            &headers,
            &input,
            &error_fragment(&e.to_string()),
        ),
        Err(e) => return Err(e.into()),
    })
}

fn fragment_response(status: StatusCode, html: String) -> Response {
    html_response(status, html)
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
    Ok(match app.check(input).await {
        Ok(r) => fragment_response(
            StatusCode::OK,
            check_fragment(&r, &format!("an uploaded file ({media_type})")),
        ),
        Err(e @ Error::Invalid { .. }) => {
            fragment_response(StatusCode::BAD_REQUEST, error_fragment(&e.to_string()))
        }
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
                "html": error_fragment(&format!("the QR code holds neither a link nor a credential: {e}")),
            }))
            .into_response());
        }
    };
    let html = match app.check(input).await {
        Ok(r) => check_fragment(&r, &describe(&text)),
        Err(e @ Error::Invalid { .. }) => error_fragment(&e.to_string()),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(json!({ "found": true, "text": text, "html": html })).into_response())
}

/// `GET /check/check.js`.
pub async fn script() -> Response {
    let mut r = CHECK_JS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

const CHECK_JS: &str = r##""use strict";
(function () {
  var box = document.getElementById("check-result");
  var tokenField = document.querySelector("#check-form input[name=csrf]");
  if (!box || !tokenField) { return; }
  var token = tokenField.value;
  function show(html, how) { box.innerHTML = html; box.setAttribute("data-updated-by", how); }
  function post(path, type, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "content-type": type, "x-csrf-token": token }
    });
  }
  function toCanvas(source, w, h) {
    var scale = Math.min(1, 1280 / Math.max(w, h));
    var c = document.createElement("canvas");
    c.width = Math.round(w * scale); c.height = Math.round(h * scale);
    c.getContext("2d").drawImage(source, 0, 0, c.width, c.height);
    return c;
  }
  var camStatus = document.getElementById("camera-status");
  function say(text) { camStatus.textContent = text; }

  var file = document.getElementById("file");
  file.addEventListener("change", function () {
    var f = file.files[0];
    if (!f) { return; }
    say("");
    show("<p>Checking…</p>", "pending");
    var sendAsIs = f.type === "image/png" || f.type === "image/svg+xml" ||
      f.type === "application/json" || /\.(jwt|json|txt)$/i.test(f.name);
    if (sendAsIs) {
      post("/check/upload", f.type || "text/plain", f)
        .then(function (r) { return r.text(); })
        .then(function (html) { show(html, "upload"); });
      return;
    }
    // A photo in another format: drawn (downscaled) and sent as PNG to be scanned.
    var url = URL.createObjectURL(f);
    var img = new Image();
    img.onload = function () {
      var c = toCanvas(img, img.naturalWidth, img.naturalHeight);
      URL.revokeObjectURL(url);
      c.toBlob(function (b) {
        post("/check/upload", "image/png", b)
          .then(function (r) { return r.text(); })
          .then(function (html) { show(html, "upload"); });
      }, "image/png");
    };
    img.onerror = function () { show("<p class=\"error\">This file cannot be read as a picture.</p>", "upload"); };
    img.src = url;
  });

  var video = document.getElementById("camera");
  var start = document.getElementById("camera-start");
  var stopButton = document.getElementById("camera-stop");
  var stream = null, timer = null, busy = false;
  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.hidden = true; stopButton.hidden = true; start.hidden = false;
  }
  function frame() {
    if (busy || !video.videoWidth) { return; }
    busy = true;
    var c = toCanvas(video, video.videoWidth, video.videoHeight);
    c.toBlob(function (b) {
      post("/check/frame", "image/png", b)
        .then(function (r) { return r.json(); })
        .then(function (j) {
          busy = false;
          if (j.found && timer) {
            stop();
            say("QR code found: " + j.text);
            show(j.html, "camera");
          }
        }, function () { busy = false; });
    }, "image/png");
  }
  start.addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("This browser gives no access to a camera here.");
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false; stopButton.hidden = false; start.hidden = true;
        video.play();
        say("Looking for a QR code…");
        timer = setInterval(frame, 500);
      }, function (e) { say("The camera is not available: " + e.name); });
  });
  stopButton.addEventListener("click", function () { stop(); say(""); });
})();
"##;

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
        let html = check_fragment(&r, "https://x.example/p/<script>");
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
