//! Public pages of the issuer that credentials point to: the achievement (OB 3.0
//! `Achievement.id` dereferences to its JSON) and its badge image.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::openapi::{METADATA, Problem};
use crate::App;
use crate::error::AppError;

#[derive(serde::Deserialize)]
pub struct EditionQuery {
    lang: Option<String>,
}

/// `GET /achievements/{id}?lang=`: the OB 3.0 Achievement, in its main language or (with
/// `lang`) the edition in another language its `related` entries point to.
#[utoipa::path(get, path = "/achievements/{id}", tag = METADATA,
    params(("id" = String, Path, description = "The achievement id"),
        ("lang" = Option<String>, Query, description = "A language edition other than the main one: en or ja")),
    responses((status = 200, description = "The OB 3.0 Achievement (JSON-LD)", body = Object),
        (status = 404, description = "No such achievement", body = Problem, content_type = "application/problem+json")))]
pub async fn achievement(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<EditionQuery>,
) -> Result<Response, AppError> {
    let row = app
        .store
        .achievement(&id)
        .await?
        .ok_or_else(|| AppError::NotFound("achievement".into()))?;
    let mut body = match q.lang.as_deref() {
        None => app.achievement_json(&row),
        Some(l) if l == row.language || row.translations.iter().any(|t| t.language == l) => {
            app.achievement_json_in(&row, l)
        }
        Some(_) => return Err(AppError::NotFound("achievement edition".into())),
    };
    body["@context"] = serde_json::json!([
        protocol::ob3::CONTEXT_VC_V2,
        protocol::ob3::CONTEXT_OB_V3P0_3
    ]);
    let mut r = Json(body).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(r)
}

/// `GET /achievements/{id}/image`: the uploaded image, with its digest as ETag. An SVG
/// is served under a policy that forbids scripts and fetching, on top of being sanitised.
#[utoipa::path(get, path = "/achievements/{id}/image", tag = METADATA,
    params(("id" = String, Path, description = "The achievement id")),
    responses((status = 200, description = "The badge image", content((String = "image/png"), (String = "image/svg+xml"))),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 404, description = "No image", body = Problem, content_type = "application/problem+json")))]
pub async fn image(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (media_type, bytes, digest) = app
        .store
        .achievement_image(&id)
        .await?
        .ok_or_else(|| AppError::NotFound("achievement image".into()))?;
    let etag = format!("\"{digest}\"");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; img-src data:; style-src 'unsafe-inline'"),
    );
    Ok(r)
}
