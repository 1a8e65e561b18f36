//! The admin API (bearer token): achievements, offers, credential status.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use super::openapi::{ADMIN, AchievementList, AuditLog, OfferState, Problem, StatusSet};
use crate::App;
use crate::domain::achievements::{AchievementUpdate, AchievementView, NewAchievement};
use crate::domain::offers::{NewOffer, OfferCreated};
use crate::error::AppError;

/// Extractor: the request carries the admin bearer token. Wrong tokens count against the
/// client's address; past [`crate::ADMIN_TOKEN_MAX_FAILURES`] every attempt from it is
/// refused until its window ends (`AppError::Throttled`, 429).
pub struct Admin;

impl FromRequestParts<App> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        let token = kit::web::bearer_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let client = kit::serve::client_ip(&parts.extensions);
        let now = app.clock.now();
        app.admin_throttle.check(client, now)?;
        let hash = protocol::b64::sha256(token.trim());
        // A token rotated by the command line counts at once, without a restart.
        let expected = match &app.config.service.admin_token {
            Some(_) => app.admin_token_hash.clone(),
            None => app
                .store
                .setting("admin_token_hash")
                .await?
                .unwrap_or_else(|| app.admin_token_hash.clone()),
        };
        if protocol::secret::constant_time_eq(hash.as_bytes(), expected.as_bytes()) {
            app.admin_throttle.succeeded(client);
            Ok(Admin)
        } else {
            app.admin_throttle.failed(client, now);
            Err(AppError::Unauthorized)
        }
    }
}

/// Parses a JSON body into `T`, naming the member at fault.
/// The `?limit=` of a list: 1 to 1000, default 100.
pub(super) fn limit_param(q: &std::collections::HashMap<String, String>) -> Result<i64, AppError> {
    match q.get("limit") {
        None => Ok(100),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| AppError::bad_request("limit", "must be a number from 1 to 1000")),
    }
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    kit::serve::parse_json_body(body).map_err(|e| AppError::bad_request(&e.field, e.message))
}

#[utoipa::path(post, path = "/admin/achievements", tag = ADMIN,
    request_body = NewAchievement,
    responses((status = 201, description = "Created", body = AchievementView)))]
pub async fn create_achievement(
    _: Admin,
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let req: NewAchievement = parse(&body)?;
    let view = app.create_achievement(req, None).await?;
    Ok((StatusCode::CREATED, Json(json!(view))))
}

/// `PATCH /admin/achievements/{id}`: a partial update (`null` clears a member).
#[utoipa::path(patch, path = "/admin/achievements/{id}", tag = ADMIN, params(("id" = String, Path, description = "The achievement id")),
    request_body = AchievementUpdate,
    responses((status = 200, description = "The updated achievement", body = AchievementView)))]
pub async fn update_achievement(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let req: AchievementUpdate = parse(&body)?;
    Ok(Json(json!(app.update_achievement(&id, req, None).await?)))
}

/// `POST /admin/achievements/{id}/retire`.
#[utoipa::path(post, path = "/admin/achievements/{id}/retire", tag = ADMIN, params(("id" = String, Path, description = "The achievement id")),
    responses((status = 200, description = "Retired: no new offers", body = AchievementView)))]
pub async fn retire_achievement(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!(app.retire_achievement(&id, None).await?)))
}

/// `PUT /admin/achievements/{id}/image` with an `image/png` or `image/svg+xml` body.
#[utoipa::path(put, path = "/admin/achievements/{id}/image", tag = ADMIN, params(("id" = String, Path, description = "The achievement id")),
    request_body(description = "A PNG or SVG image (SVG is sanitised)",
        content((String = "image/png"), (String = "image/svg+xml"))),
    responses((status = 200, description = "The achievement with its image digest", body = AchievementView),
        (status = 413, description = "The image is too large", body = Problem,
            content_type = "application/problem+json")))]
pub async fn put_achievement_image(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(Json(json!(
        app.set_achievement_image(&id, media_type, &body, None)
            .await?
    )))
}

/// `GET /admin/achievements/{id}`.
#[utoipa::path(get, path = "/admin/achievements/{id}", tag = ADMIN, params(("id" = String, Path, description = "The achievement id")),
    responses((status = 200, description = "The achievement", body = AchievementView)))]
pub async fn achievement(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let row = app
        .store
        .achievement(&id)
        .await?
        .ok_or_else(|| AppError::NotFound("achievement".into()))?;
    Ok(Json(json!(app.achievement_view(row))))
}

#[utoipa::path(get, path = "/admin/achievements", tag = ADMIN,
    responses((status = 200, description = "Every achievement", body = AchievementList)))]
pub async fn list_achievements(_: Admin, State(app): State<App>) -> Result<Json<Value>, AppError> {
    let rows = app.store.achievements().await?;
    let list: Vec<_> = rows.into_iter().map(|a| app.achievement_view(a)).collect();
    Ok(Json(json!({ "achievements": list })))
}

#[utoipa::path(post, path = "/admin/offers", tag = ADMIN,
    request_body = NewOffer,
    responses((status = 201, description = "The offer, with its link and PIN", body = OfferCreated)))]
pub async fn create_offer(
    _: Admin,
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let req: NewOffer = parse(&body)?;
    let created = app.create_offer(req).await?;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

#[utoipa::path(post, path = "/admin/offers/{id}/approve", tag = ADMIN,
    params(("id" = String, Path, description = "The offer id")),
    responses((status = 200, description = "Approved: the wallet's deferred request now gets the credentials", body = Object)))]
pub async fn approve_offer(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    app.decide(&id, true, "admin API").await?;
    Ok(Json(json!({ "offer_id": id, "decision": "approved" })))
}

#[utoipa::path(post, path = "/admin/offers/{id}/reject", tag = ADMIN,
    params(("id" = String, Path, description = "The offer id")),
    responses((status = 200, description = "Rejected: the wallet's deferred request is denied", body = Object)))]
pub async fn reject_offer(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    app.decide(&id, false, "admin API").await?;
    Ok(Json(json!({ "offer_id": id, "decision": "rejected" })))
}

#[utoipa::path(get, path = "/admin/offers/{id}", tag = ADMIN,
    params(("id" = String, Path, description = "The offer id")),
    responses((status = 200, description = "The offer's state and credentials", body = OfferState)))]
pub async fn offer(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.offer_state(&id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "revoked"}))]
pub struct SetStatus {
    /// `revoked`, `suspended` or `valid`.
    status: String,
}

/// Revokes, suspends or reinstates a badge, named by any of its credentials: every
/// credential issued from the same offer changes with it.
#[utoipa::path(post, path = "/admin/credentials/{id}/status", tag = ADMIN,
    params(("id" = String, Path, description = "The credential id")),
    request_body = SetStatus,
    responses((status = 200, description = "The new status", body = StatusSet)))]
pub async fn set_status(
    _: Admin,
    State(app): State<App>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let req: SetStatus = parse(&body)?;
    let credentials = app.set_status(&id, &req.status, "admin API").await?;
    Ok(Json(
        json!({ "id": id, "status": req.status, "credentials": credentials }),
    ))
}

/// The audit log, newest first (`?limit=`, default 100, at most 1000).
#[utoipa::path(get, path = "/admin/audit", tag = ADMIN,
    params(("limit" = Option<i64>, Query, description = "At most this many entries (1 to 1000, default 100)")),
    responses((status = 200, description = "The audit log, newest first", body = AuditLog)))]
pub async fn audit(
    _: Admin,
    State(app): State<App>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Value>, AppError> {
    let limit = limit_param(&q)?;
    let entries: Vec<Value> = app
        .store
        .audit_log(limit)
        .await?
        .into_iter()
        .map(|e| {
            json!({
                "at": e.at,
                "action": e.action,
                "subject": e.subject,
                "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::String(e.detail)),
            })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
