//! Registrations over HTTP: one at a time and in bulk (admin API), the wallet's callback
//! (authenticated by the invitation), and the development mailbox.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures_util::TryStreamExt;
use kit::web::escape_html;
use serde_json::{Value, json};

use super::admin::{Admin, limit_param, parse};
use super::openapi::{
    ADMIN, ImportRecord, OAuthError, PROTOCOL, RegistrationOutcome, RegistrationPage,
};
use crate::App;
use crate::domain::import::{Format, Summary};
use crate::domain::registrations::{
    CallbackOutcome, CallbackRequest, NewRegistration, Registered, RegistrationView,
    registration_item,
};
use crate::error::AppError;
use crate::store::OutboxCounts;

/// `POST /admin/achievements/{id}/registrations`: registers one person; 201 when new, 200
/// with the existing registration when the person was registered before.
#[utoipa::path(post, path = "/admin/achievements/{id}/registrations", tag = ADMIN,
    params(("id" = String, Path, description = "The achievement id")),
    request_body = NewRegistration,
    responses((status = 201, description = "Registered: invited or offered", body = RegistrationOutcome),
        (status = 200, description = "Registered before: nothing changed", body = RegistrationOutcome)))]
pub async fn register(
    _: Admin,
    State(app): State<App>,
    Path(achievement_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let req: NewRegistration = parse(&body)?;
    let (view, outcome) = app.register(&achievement_id, &req, "admin API").await?;
    let status = match outcome {
        Registered::Duplicate => StatusCode::OK,
        _ => StatusCode::CREATED,
    };
    let mut body = json!(view);
    body["outcome"] = json!(outcome);
    Ok((status, Json(body)))
}

/// `POST /admin/imports?achievement_id=…`: a CSV (`text/csv`) or JSON (`application/json`)
/// body, streamed. Answers with the summary: counts and each rejected record.
#[utoipa::path(post, path = "/admin/imports", tag = ADMIN,
    params(("achievement_id" = Option<String>, Query,
        description = "The achievement of records that name none")),
    request_body(description = "CSV with a header row (columns, case-insensitive: name, email, locale, \
        tx_code, evidence_url, evidence_narrative, result, achievement_id; name and email required), \
        or a JSON array of records",
        content((String = "text/csv"), (Vec<ImportRecord> = "application/json"))),
    responses((status = 200, description = "The summary: counts and each rejected record", body = Summary)))]
pub async fn import(
    _: Admin,
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let format = Format::from_hint(content_type).ok_or_else(|| {
        AppError::bad_request("Content-Type", "must be text/csv or application/json")
    })?;
    let limit = app.config.import_max_bytes;
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let summary = app
        .import(
            Limit {
                inner: reader,
                left: limit,
            },
            format,
            q.get("achievement_id").map(String::as_str),
            "import (admin API)",
            |_| {},
        )
        .await?;
    Ok(Json(json!(summary)))
}

/// Fails the read once more than the limit was read.
struct Limit<R> {
    inner: R,
    left: u64,
}

impl<R: std::io::Read> std::io::Read for Limit<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(
                "the body is larger than ISSUER_IMPORT_MAX_BYTES",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// `GET /admin/registrations?achievement_id=&after=&limit=`: a page, oldest first;
/// `next` is the cursor of the following page.
#[utoipa::path(get, path = "/admin/registrations", tag = ADMIN,
    params(("achievement_id" = Option<String>, Query, description = "Only this achievement's"),
        ("after" = Option<String>, Query, description = "The `next` cursor of the previous page"),
        ("limit" = Option<i64>, Query, description = "Page size (1 to 1000, default 100)")),
    responses((status = 200, description = "A page, oldest first", body = RegistrationPage)))]
pub async fn list(
    _: Admin,
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, AppError> {
    let limit = limit_param(&q)?;
    let after = match q.get("after") {
        None => None,
        Some(cursor) => {
            let (at, id) = cursor
                .split_once('.')
                .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)))
                .ok_or_else(|| AppError::bad_request("after", "is not a cursor from `next`"))?;
            Some((at, id))
        }
    };
    let rows = app
        .store
        .registrations(q.get("achievement_id").map(String::as_str), after, limit)
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| format!("{}.{}", r.created_at, r.id)))
        .flatten();
    let items: Vec<Value> = rows.iter().map(registration_item).collect();
    Ok(Json(json!({ "registrations": items, "next": next })))
}

/// `GET /admin/registrations/{id}`: state, offers, messages (status per email) and history.
#[utoipa::path(get, path = "/admin/registrations/{id}", tag = ADMIN, params(("id" = String, Path, description = "The registration id")),
    responses((status = 200, description = "State, offers, messages and history", body = RegistrationView)))]
pub async fn show(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(app.registration_view(&id).await?)))
}

/// `POST /admin/registrations/{id}/resend`.
#[utoipa::path(post, path = "/admin/registrations/{id}/resend", tag = ADMIN, params(("id" = String, Path, description = "The registration id")),
    responses((status = 200, description = "The registration; its email is queued again", body = RegistrationView)))]
pub async fn resend(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(app.resend(&id).await?)))
}

/// `GET /admin/outbox`: how many emails are pending, sent, retrying.
#[utoipa::path(get, path = "/admin/outbox", tag = ADMIN,
    responses((status = 200, description = "Emails pending, sent, retrying", body = OutboxCounts)))]
pub async fn outbox(_: Admin, State(app): State<App>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(app.store.outbox_counts().await?)))
}

/// `POST /invitations/callback` with `Authorization: Bearer <invitation>`: the wallet
/// says the invited account exists; the JSON body's `holder_binding` binds the address's
/// offers to the wallet's holder key (an empty body or `{}`: unbound).
#[utoipa::path(post, path = "/invitations/callback", tag = PROTOCOL,
    security(("invitation" = [])),
    request_body(content = CallbackRequest, description = "Optional: the holder-key binding"),
    responses((status = 200, description = "The account exists: pending offers are made", body = CallbackOutcome),
        (status = 400, description = "Malformed body, or a holder binding that fails a check (named)", body = OAuthError),
        (status = 401, description = "Missing, unknown or expired invitation", body = OAuthError)))]
pub async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let token = kit::web::bearer_token(&headers)
        .ok_or_else(|| AppError::InvalidToken("the invitation is missing".into()))?;
    let request: CallbackRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CallbackRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::oauth("invalid_request", format!("body: {e}")))?
    };
    Ok(Json(json!(
        app.wallet_callback_bound(token, request.holder_binding.as_deref())
            .await?
    )))
}

fn mailbox_dir(app: &App) -> Result<&std::path::Path, AppError> {
    app.mailer
        .dir()
        .ok_or_else(|| AppError::NotFound("mailbox (emails go to SMTP_URL)".into()))
}

/// `GET /dev/mailbox`: when no SMTP server is configured, the emails written to the
/// outbox directory, newest first, with their links.
pub async fn mailbox(State(app): State<App>) -> Result<Response, AppError> {
    let dir = mailbox_dir(&app)?.to_path_buf();
    let entries = tokio::task::spawn_blocking(move || kit::mail::dir_index(&dir, 500))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Development mailbox</title>\
         <style>body{font-family:sans-serif;margin:1.5rem;max-width:60rem}li{margin:0 0 1rem 0}\
         a{word-break:break-all}small{color:#555}</style></head><body>\
         <h1>Development mailbox</h1>\
         <p>No SMTP server is configured (<code>SMTP_URL</code>), so the issuer writes its emails \
         to its outbox directory. They are listed here, newest first.</p><ol>",
    );
    for e in &entries {
        html.push_str(&format!(
            "<li><a href=\"/dev/mailbox/{id}\"><strong>{subject}</strong></a><br>\
             <small>to {to} · {kind} · {at}</small>",
            id = escape_html(&e.id),
            subject = escape_html(&e.subject),
            to = escape_html(&e.to),
            kind = escape_html(&e.kind),
            at = protocol::clock::rfc3339(e.sent_at),
        ));
        for l in &e.links {
            html.push_str(&format!("<br><a href=\"{0}\">{0}</a>", escape_html(l)));
        }
        html.push_str("</li>");
    }
    html.push_str("</ol></body></html>");
    Ok(Html(html).into_response())
}

/// `GET /dev/mailbox/{id}`: one email's HTML part, as the recipient would see it.
pub async fn mailbox_message(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let dir = mailbox_dir(&app)?;
    if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') || id.is_empty() {
        return Err(AppError::NotFound("message".into()));
    }
    let html = tokio::fs::read_to_string(dir.join(format!("{id}.html")))
        .await
        .map_err(|_| AppError::NotFound("message".into()))?;
    let mut r = Html(html).into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; sandbox allow-popups allow-popups-to-escape-sandbox",
        ),
    );
    Ok(r)
}
