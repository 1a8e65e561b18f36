//! A request's page on the desk: its QR code and same-device `openid4vp://` link, and the
//! result arriving live: server-sent events wake the page (with a polling fallback), which
//! then shows the disclosed claims and every check with its outcome. Without JavaScript
//! the page still shows the QR code and the link, and a reload shows the result.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;

use super::result::result_fragment;
use super::{DESK_PATH, esc, html_response, page};
use crate::App;
use crate::domain::requests::ResultState;
use crate::error::Error;
use crate::http::error::PageError;
use crate::http::session::SignedIn;

/// How often a waiting page's event stream re-reads the result even without a wake-up (a
/// result stored by another instance sends none here).
const RECHECK: Duration = Duration::from_secs(2);

/// `GET /desk/requests/{id}`: the QR code, the same-device link, and the result (live).
pub async fn request_page(
    _: SignedIn,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let result = app.result(&id).await?;
    let links = app.links(&id).await?;
    let id_html = esc(&id);
    let body = format!(
        concat!(
            "<h1>Presentation request</h1>",
            "<p>Scan the QR code with a badge wallet, or open the request in a wallet on this device.</p>",
            "<div class=\"qr\"><img id=\"qr\" src=\"/api/requests/{id}/qr.svg\" alt=\"QR code of the presentation request\"></div>",
            "<p><a id=\"same-device\" href=\"{link}\">Open in a wallet on this device</a></p>",
            "<p><small>Request <code>{id}</code>, expires at <span id=\"expires\">{expires}</span>.",
            " <a href=\"{desk}/requests/{id}\">Reload</a> · <a href=\"{desk}\">New request</a></small></p>",
            "<section id=\"result\" aria-live=\"polite\" data-events=\"{desk}/requests/{id}/events\" ",
            "data-fragment=\"{desk}/requests/{id}/result\">{fragment}</section>"
        ),
        id = id_html,
        link = esc(&links.openid4vp_uri),
        expires = esc(&format_time(result.expires_at)),
        desk = DESK_PATH,
        fragment = result_fragment(&result),
    );
    Ok(page(StatusCode::OK, "Presentation request", &body))
}

/// `GET /desk/requests/{id}/result`: the result as an HTML fragment (the polling fallback).
pub async fn result_part(
    _: SignedIn,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let result = app.result(&id).await?;
    Ok(html_response(StatusCode::OK, result_fragment(&result)))
}

/// `GET /desk/requests/{id}/events`: server-sent events; one `result` event carrying the
/// result fragment once the request is answered or expired, then the stream ends.
pub async fn events(
    _: SignedIn,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    // Subscribe before the first read, so a result stored in between still wakes us.
    let wake = app.results.subscribe();
    app.result(&id).await?;
    let stream = futures_util::stream::unfold(Some((app, id, wake)), |waiting| async move {
        let (app, id, mut wake) = waiting?;
        loop {
            match app.result(&id).await {
                Ok(r) if r.state != ResultState::Pending => {
                    let event = Event::default().event("result").data(result_fragment(&r));
                    return Some((Ok(event), None));
                }
                Ok(_) => {}
                Err(Error::NotFound(_)) => return None,
                Err(e) => tracing::warn!(error = %e, "reading a result for its page"),
            }
            // Woken by our result (a lagging receiver re-reads too), or re-check when the
            // period is up however busy other requests keep the channel.
            let recheck_at = tokio::time::Instant::now() + RECHECK;
            loop {
                match tokio::time::timeout_at(recheck_at, wake.recv()).await {
                    Ok(Ok(stored)) if stored != id => continue,
                    _ => break,
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `GET /desk/desk.js`: wakes the result section on the `result` event (or polls).
pub async fn script() -> Response {
    let mut r = DESK_JS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

const DESK_JS: &str = r#""use strict";
(function () {
  var box = document.getElementById("result");
  if (!box) { return; }
  function settled() {
    var s = box.querySelector("[data-state]");
    return s !== null && s.getAttribute("data-state") !== "pending";
  }
  if (settled()) { return; }
  var polling = false;
  function poll() {
    polling = true;
    fetch(box.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) { box.innerHTML = html; box.setAttribute("data-updated-by", "poll"); }
        if (!settled()) { setTimeout(poll, 2000); }
      }, function () { setTimeout(poll, 5000); });
  }
  if (!window.EventSource) { poll(); return; }
  var events = new EventSource(box.getAttribute("data-events"));
  events.addEventListener("result", function (e) {
    box.innerHTML = e.data;
    box.setAttribute("data-updated-by", "sse");
    if (settled()) { events.close(); }
  });
  events.onerror = function () {
    if (events.readyState === EventSource.CLOSED && !polling && !settled()) { poll(); }
  };
})();
"#;

fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}
