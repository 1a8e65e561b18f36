//! The wallet's JSON API (bearer token per account). Handlers parse, make one
//! domain call and respond; errors map in [`super::error`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppError;
use crate::{Account, App};

/// The JSON API (`/health` and `/ready` are [`kit::lifecycle::probes`]).
pub fn router() -> Router<App> {
    Router::new()
        .route("/api/register", post(register))
        .route("/api/accept", post(accept))
        .route("/api/credentials", get(credentials))
        .route("/api/present", post(present))
        .route("/api/credentials/{id}/visibility", post(visibility))
}

/// Extractor: the account whose API token the request carries.
pub struct Holder(pub Account);

impl FromRequestParts<App> for Holder {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        let token = kit::web::bearer_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        // Wrong tokens are counted per client address (see `kit::throttle`).
        let client = kit::serve::client_ip(&parts.extensions);
        let now = app.clock.now();
        app.token_throttle.check(client, now)?;
        match app.account_by_token(token).await {
            Ok(account) => {
                app.token_throttle.succeeded(client);
                Ok(Holder(account))
            }
            Err(AppError::Unauthorized) => {
                app.token_throttle.failed(client, now);
                Err(AppError::Unauthorized)
            }
            Err(e) => Err(e),
        }
    }
}

/// Parses a JSON body into `T`, naming the member at fault.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    kit::serve::parse_json_body(body).map_err(|e| AppError::bad_request(&e.field, e.message))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    invitation: String,
}

/// Registration from an issuer's invitation (no token: the invitation is the credential).
/// 200 with an API token for a new account from a trusted issuer; 202 when the account
/// waits for its emailed confirmation link (an untrusted issuer); 409 `account_exists`
/// when the address has an account (but see [`crate::wallet::registration`]).
async fn register(
    State(app): State<App>,
    extensions: axum::http::Extensions,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let req: RegisterBody = parse(&body)?;
    let ip = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());
    let registered = app
        .register_from_invitation(&req.invitation, None, None, ip.as_deref(), app.clock.now())
        .await?;
    let status = if registered.confirmation_required {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!(registered))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    offer: String,
    #[serde(default)]
    tx_code: Option<String>,
}

async fn accept(
    Holder(account): Holder,
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let req: AcceptBody = parse(&body)?;
    let accepted = app
        .accept(
            &account,
            &req.offer,
            req.tx_code.as_deref(),
            app.clock.now(),
        )
        .await?;
    Ok(Json(json!(accepted)))
}

async fn credentials(
    Holder(account): Holder,
    State(app): State<App>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "credentials": app.list(&account).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresentBody {
    request: String,
    #[serde(default)]
    disclose: Option<Vec<String>>,
}

async fn present(
    Holder(account): Holder,
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let req: PresentBody = parse(&body)?;
    let presented = app
        .present(&account, &req.request, req.disclose, app.clock.now())
        .await?;
    Ok(Json(json!(presented)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisibilityBody {
    public: bool,
    /// Replaces the claims the public page shows; absent keeps the current choice.
    #[serde(default)]
    disclose: Option<Vec<String>>,
}

/// Public or private, and what the public page shows (404 for another account's badge).
async fn visibility(
    Holder(account): Holder,
    State(app): State<App>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, AppError> {
    let req: VisibilityBody = parse(&body)?;
    let v = app
        .set_visibility(&account, &id, req.public, req.disclose, app.clock.now())
        .await?;
    Ok(Json(json!(v)))
}
