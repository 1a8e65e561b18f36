//! A request's page on the desk: its QR code and same-device `openid4vp://` link, and the
//! result arriving live: server-sent events wake the page (with a polling fallback), which
//! then shows the disclosed claims and every check with its outcome. Without JavaScript
//! the page still shows the QR code and the link, and a reload shows the result.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use kit::web::ShownDate;

use super::result::{ResultView, result_fragment};
use super::{DESK_JS, DESK_PATH, Frame, html_response, page_lang, render};
use crate::app::App;
use crate::domain::requests::ResultState;
use crate::error::Error;
use crate::http::error::PageError;
use crate::http::session::SignedIn;

/// How often a waiting page's event stream re-reads the result even without a wake-up (a
/// result stored by another instance sends none here).
const RECHECK: Duration = Duration::from_secs(2);

/// `templates/request.html`.
#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    frame: Frame,
    id: String,
    link: String,
    /// The form token of the Digital Credentials API answer (bound to the desk session's
    /// CSRF cookie).
    csrf: String,
    expires: ShownDate,
    result: ResultView,
}

/// `GET /desk/requests/{id}`: the QR code, the same-device link, and the result (live).
pub async fn request_page(
    _: SignedIn,
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let lang = page_lang(&headers);
    let result = app.requests.result(&id).await?;
    let links = app.requests.links(&id).await?;
    let here = format!("{DESK_PATH}/requests/{id}");
    Ok(render(
        StatusCode::OK,
        &RequestPage {
            frame: Frame::desk(lang, &here, |t| t.request_title),
            expires: lang.date_time(result.expires_at).unwrap_or(ShownDate {
                datetime: String::new(),
                text: String::new(),
            }),
            result: ResultView::of(&result, lang),
            link: links.openid4vp_uri,
            csrf: super::desk::Csrf::for_page(&app, &headers).token,
            id,
        },
    ))
}

/// `GET /desk/requests/{id}/result`: the result as an HTML fragment (the polling fallback).
pub async fn result_part(
    _: SignedIn,
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let result = app.requests.result(&id).await?;
    Ok(html_response(
        StatusCode::OK,
        result_fragment(&result, page_lang(&headers))?,
    ))
}

/// `GET /desk/requests/{id}/events`: server-sent events; one `result` event carrying the
/// result fragment once the request is answered or expired, then the stream ends.
pub async fn events(
    _: SignedIn,
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let lang = page_lang(&headers);
    // Subscribe before the first read, so a result stored in between still wakes us.
    let wake = app.results.subscribe();
    app.requests.result(&id).await?;
    let stream = futures_util::stream::unfold(Some((app, id, wake)), move |waiting| async move {
        let (app, id, mut wake) = waiting?;
        loop {
            match app.requests.result(&id).await {
                Ok(r) if r.state != ResultState::Pending => {
                    let html = match result_fragment(&r, lang) {
                        Ok(html) => html,
                        Err(e) => {
                            tracing::error!(error = %e, "rendering a result for its page");
                            return None;
                        }
                    };
                    let event = Event::default().event("result").data(html);
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
pub async fn script(headers: HeaderMap) -> Response {
    DESK_JS.response(&headers)
}
