//! The desk page's side of the browser's Digital Credentials API (OpenID4VP 1.0 Appendix
//! A): `GET /desk/requests/{id}/dc-api` gives the `{protocol, data}` the page hands to
//! `navigator.credentials.get`, and `POST /desk/requests/{id}/dc-api` (form: `csrf`, and
//! `data`, the JSON of the wallet's `DigitalCredential.data`) passes the wallet's answer to
//! the same verification as the Response Endpoint. Both need the desk session; the POST
//! also the CSRF token bound to it. Answers are JSON for the page's script (401 without a
//! session).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::desk::checked_form;
use crate::app::App;
use crate::domain::requests::ResultState;
use crate::http::error::{AppError, DeskError};
use crate::http::session::{self, DeskSession};

/// The largest `data` a desk page may post (a JWE of a few presentations is far smaller).
const MAX_DATA_BYTES: usize = 256 * 1024;

/// The desk session, or 401 (JSON, not the pages' redirect to the sign-in form: the caller
/// is the page's script).
async fn signed_in(app: &App, headers: &HeaderMap) -> Result<DeskSession, AppError> {
    session::of_request(app, headers)
        .await?
        .ok_or(AppError::Desk(DeskError::NoSession))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /desk/requests/{id}/dc-api`: the Digital Credentials API request of a pending
/// request.
pub async fn request(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    signed_in(&app, &headers).await?;
    let offer = app.requests.dc_api_request(&id).await?;
    Ok(no_store(Json(offer).into_response()))
}

/// `POST /desk/requests/{id}/dc-api`: the wallet's answer, verified and stored; the page's
/// result section then shows it (server-sent events). Answers `{"verified": bool,
/// "failed_checks": [...]}`, or an OAuth error (answered already, expired, malformed).
pub async fn answer(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let session = signed_in(&app, &headers).await?;
    let pairs = checked_form(&app, &headers, &body, Some(&session)).map_err(|e| e.0)?;
    let data = pairs
        .iter()
        .find(|(k, _)| k == "data")
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| AppError::bad_request("data", "missing: the wallet's answer"))?;
    if data.len() > MAX_DATA_BYTES {
        return Err(AppError::bad_request(
            "data",
            format!("{} bytes, more than {MAX_DATA_BYTES}", data.len()),
        ));
    }
    let data: Value = serde_json::from_str(data)
        .map_err(|e| AppError::bad_request("data", format!("not JSON: {e}")))?;
    let answered = app.requests.receive_dc_api(&id, &data).await?;
    let failed: Vec<String> = answered
        .not_accepted
        .iter()
        .flatten()
        .map(|c| c.name.clone())
        .collect();
    // From the stored result: a wallet's own error answer is no verification either.
    let verified = app.requests.result(&id).await?.state == ResultState::Verified;
    Ok(no_store(
        Json(json!({
            "verified": verified,
            "failed_checks": failed,
        }))
        .into_response(),
    ))
}
