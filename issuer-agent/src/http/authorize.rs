//! The authorization code flow's endpoints: pushed authorization requests (RFC 9126) and
//! the authorization endpoint (RFC 6749 §4.1.1), whose pages speak English and Japanese.

use askama::Template;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use protocol::oauth::authorization::{AuthorizationRequest, PushedAuthorizationResponse};

use super::extract::{DpopProof, Protocol, WalletAttestation};
use super::openapi::{OAuthError, PROTOCOL};
use crate::App;
use crate::domain::authorization::Authorized;
use crate::error::AppError;

#[utoipa::path(post, path = "/par", tag = PROTOCOL,
    request_body(content = AuthorizationRequest, content_type = "application/x-www-form-urlencoded",
        description = "The authorization request's parameters (RFC 9126 §2.1); a `DPoP` header binds the code to its key"),
    responses((status = 201, description = "The `request_uri`, usable once within `expires_in` seconds", body = PushedAuthorizationResponse),
        (status = 400, description = "`invalid_request`, `invalid_client` (also a missing or forged wallet attestation), `invalid_scope`, `invalid_authorization_details`, `invalid_dpop_proof`, `use_dpop_nonce`", body = OAuthError)))]
pub async fn par(
    State(app): State<App>,
    DpopProof(proof): DpopProof,
    WalletAttestation(attestation): WalletAttestation,
    Protocol(request): Protocol<AuthorizationRequest>,
) -> Result<Response, AppError> {
    let pushed = app
        .push_authorization_request(&request, proof.as_deref(), &attestation)
        .await?;
    let mut r = (StatusCode::CREATED, Json(pushed)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[utoipa::path(get, path = "/authorize", tag = PROTOCOL,
    params(("client_id" = String, Query, description = "The client"),
        ("request_uri" = Option<String>, Query, description = "A pushed request's reference; else the parameters themselves (`response_type=code`, `redirect_uri`, `scope`, `state`, `code_challenge`, `code_challenge_method=S256`, `issuer_state`)")),
    responses((status = 303, description = "To the client's redirect URI with `code` (or `error`), `state` and `iss`"),
        (status = 200, description = "A page asking the person to open the link from their badge email", content_type = "text/html"),
        (status = 400, description = "A page naming the refusal (unknown client, unregistered redirect URI, bad `request_uri`)", content_type = "text/html")))]
pub async fn authorize(
    State(app): State<App>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let request =
        AuthorizationRequest::from_form(query.unwrap_or_default().as_bytes()).map_err(|e| {
            AppError::AuthorizationPage {
                code: protocol::oauth::ErrorCode::InvalidRequest,
                description: e.to_string(),
            }
        })?;
    Ok(match app.authorize(&request).await? {
        Authorized::Redirect(to) => {
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Authorized::PersonNeeded => page(
            StatusCode::OK,
            &app.settings().name,
            "Open the link in your badge email",
            "To receive your badge, open the link in the email that invited you, on this device. The link tells us it is you; no password is needed.",
            "バッジのメールのリンクを開いてください",
            "バッジを受け取るには、招待メールのリンクをこの端末で開いてください。リンクで本人であることを確認します。パスワードは不要です。",
            None,
        ),
    })
}

#[derive(Template)]
#[template(path = "oauth/authorize.html")]
struct AuthorizePage<'a> {
    issuer: &'a str,
    title_en: &'a str,
    text_en: &'a str,
    title_ja: &'a str,
    text_ja: &'a str,
    error: Option<&'a str>,
    description: &'a str,
}

fn page(
    status: StatusCode,
    issuer: &str,
    title_en: &str,
    text_en: &str,
    title_ja: &str,
    text_ja: &str,
    error: Option<(&str, &str)>,
) -> Response {
    let body = AuthorizePage {
        issuer,
        title_en,
        text_en,
        title_ja,
        text_ja,
        error: error.map(|(code, _)| code),
        description: error.map(|(_, d)| d).unwrap_or(""),
    }
    .render();
    match body {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "authorization page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The page of a refusal the client cannot be sent back with: the code and what failed.
pub fn refusal_page(code: &str, description: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "",
        "This sign-in link cannot be used",
        "The app that sent you here made a request this issuer refuses. Go back to the app and start again; if it happens again, tell the app's makers what is shown below.",
        "このサインインのリンクは使えません",
        "このページを開いたアプリの要求を発行者が受け付けませんでした。アプリに戻ってやり直してください。繰り返し起きる場合は、下に表示された内容をアプリの提供者に伝えてください。",
        Some((code, description)),
    )
}
