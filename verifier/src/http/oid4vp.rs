//! The OpenID4VP endpoints the wallet talks to: the request object at `request_uri` (GET,
//! or POST with `request_uri_method=post`), the `direct_post` Response Endpoint, and the
//! did:web document that publishes the request-signing key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::AppError;
use super::openapi::{OAuthError, PROTOCOL, Problem, ResponseForm, WalletMetadataForm};
use crate::app::App;
use crate::error::Error;

/// The media type of a request object (OpenID4VP 1.0 §5.10.1).
pub const REQUEST_OBJECT_MEDIA_TYPE: &str = "application/oauth-authz-req+jwt";

#[utoipa::path(get, path = "/.well-known/did.json", tag = PROTOCOL,
    responses((status = 200, description = "The did:web document with the request-signing key", body = Object)))]
pub async fn did_document(State(app): State<App>) -> Json<Value> {
    Json(app.did_document())
}

/// The development CA of the `x509_*` client identifiers (PEM), for a wallet operator
/// to add to the wallet's trust anchors; 404 when a certificate is configured.
pub async fn dev_ca_pem(State(app): State<App>) -> Result<Response, AppError> {
    let pem = app
        .x509
        .dev_ca_pem()
        .ok_or_else(|| Error::NotFound("development CA".into()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        )],
        pem,
    )
        .into_response())
}

#[utoipa::path(get, path = "/request/{id}", tag = PROTOCOL,
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The request object (§5.10.1)", body = String, content_type = "application/oauth-authz-req+jwt"),
        (status = 400, description = "Expired or answered", body = OAuthError),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json")))]
pub async fn request_object(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let jwt = app.requests.request_object(&id, None).await?;
    Ok(jwt_response(jwt))
}

/// `request_uri_method=post` (OpenID4VP 1.0 §5.10.2): form `wallet_metadata`,
/// `wallet_nonce`; the nonce is echoed in the request object.
#[utoipa::path(post, path = "/request/{id}", tag = PROTOCOL,
    params(("id" = String, Path, description = "The request id")),
    request_body(content = WalletMetadataForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The request object, `wallet_nonce` echoed (§5.10.2)", body = String, content_type = "application/oauth-authz-req+jwt"),
        (status = 400, description = "Expired or answered", body = OAuthError),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json")))]
pub async fn request_object_post(
    State(app): State<App>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let wallet_nonce = pairs
        .into_iter()
        .find(|(k, _)| k == "wallet_nonce")
        .map(|(_, v)| v);
    let jwt = app.requests.request_object(&id, wallet_nonce).await?;
    Ok(jwt_response(jwt))
}

/// The Response Endpoint: verify, store the result, answer `200 {}`, or
/// `{"redirect_uri": …#response_code=…}` for same-device requests (§8.2).
#[utoipa::path(post, path = "/response", tag = PROTOCOL,
    request_body(content = ResponseForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Received: `{}`, or `{\"redirect_uri\"}` for same-device requests", body = Object),
        (status = 400, description = "`invalid_request` and the other errors of §8.5", body = OAuthError)))]
pub async fn response(
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let answer = match app.requests.receive_response(form_pairs(&body)?).await? {
        Some(redirect_uri) => json!({ "redirect_uri": redirect_uri }),
        None => json!({}),
    };
    let mut r = Json(answer).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

fn jwt_response(jwt: String) -> Response {
    let mut r = jwt.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(REQUEST_OBJECT_MEDIA_TYPE),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The pairs of an `application/x-www-form-urlencoded` body, in order; repeated names are
/// kept for the domain to refuse.
fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    if std::str::from_utf8(body).is_err() {
        return Err(Error::protocol("invalid_request", "the form is not UTF-8").into());
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}
