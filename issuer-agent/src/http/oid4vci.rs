//! OpenID4VCI 1.0 protocol endpoints: offer by reference (§4.1.3), token (§6), nonce (§7),
//! credential (§8), and the Status List Token.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::oid4vci::{
    CredentialOffer, CredentialRequest, CredentialResponse, DeferredCredentialRequest,
    NonceResponse, NotificationRequest, TokenRequest, TokenResponse,
};

use super::extract::{AccessToken, DpopProof, Protocol, WalletAttestation};
use super::openapi::{METADATA, OAuthError, PROTOCOL, Problem};
use crate::App;
use crate::domain::issuance::{CredentialAnswer, ListIssuer, PublishedList};
use crate::error::AppError;

#[utoipa::path(get, path = "/offers/{id}", tag = PROTOCOL,
    params(("id" = String, Path, description = "The offer id of `credential_offer_uri`")),
    responses((status = 200, description = "The Credential Offer (OpenID4VCI §4.1.1)", body = CredentialOffer),
        (status = 400, description = "Expired or already redeemed", body = OAuthError),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json")))]
pub async fn offer(State(app): State<App>, Path(id): Path<String>) -> Result<Response, AppError> {
    let offer = app.offer_document(&id).await?;
    Ok(no_store(Json(offer).into_response()))
}

#[utoipa::path(post, path = "/token", tag = PROTOCOL,
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The access token", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unsupported_grant_type`, `invalid_dpop_proof`, `use_dpop_nonce` (with a `DPoP-Nonce` header), `invalid_client` (a missing or forged wallet attestation)", body = OAuthError),
        (status = 413, description = "`invalid_request`: the body is over the limit", body = OAuthError)))]
pub async fn token(
    State(app): State<App>,
    DpopProof(proof): DpopProof,
    WalletAttestation(attestation): WalletAttestation,
    Protocol(request): Protocol<TokenRequest>,
) -> Result<Response, AppError> {
    let answer = app.token(&request, proof.as_deref(), &attestation).await?;
    Ok(with_dpop_nonce(
        &app,
        no_store(Json(answer).into_response()),
    ))
}

/// A fresh `DPoP-Nonce` (RFC 9449 §8) on a response, for the client's next proof.
fn with_dpop_nonce(app: &App, mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&app.dpop_nonce()) {
        r.headers_mut()
            .insert(protocol::oauth::dpop::HEADER_DPOP_NONCE, v);
    }
    r
}

#[utoipa::path(post, path = "/nonce", tag = PROTOCOL,
    responses((status = 200, description = "A fresh `c_nonce`", body = NonceResponse)))]
pub async fn nonce(State(app): State<App>) -> Response {
    let c_nonce = app.new_nonce();
    with_dpop_nonce(
        &app,
        no_store(Json(NonceResponse { c_nonce }).into_response()),
    )
}

/// The Notification Endpoint (§11): `204 No Content` once recorded.
#[utoipa::path(post, path = "/notification", tag = PROTOCOL,
    security(("access_token" = [])),
    request_body(content = NotificationRequest),
    responses((status = 204, description = "Recorded"),
        (status = 400, description = "`invalid_notification_id`, `invalid_notification_request`", body = OAuthError),
        (status = 401, description = "`invalid_token`", body = OAuthError),
        (status = 413, description = "`invalid_notification_request`: the body is over the limit", body = OAuthError)))]
pub async fn notification(
    State(app): State<App>,
    AccessToken(token): AccessToken,
    Protocol(request): Protocol<NotificationRequest>,
) -> Result<Response, AppError> {
    app.notification(&token, &request).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/credential", tag = PROTOCOL,
    security(("access_token" = [])),
    request_body(content = CredentialRequest, description = "The Credential Request (§8.2): `credential_configuration_id` and `proofs`"),
    responses((status = 200, description = "The Credential Response (§8.3); with `credential_response_encryption` in the request, a compact JWE of it (§10) as `application/jwt`", content(
            (CredentialResponse = "application/json"),
            (String = "application/jwt"))),
        (status = 400, description = "`invalid_credential_request`, `invalid_proof`, `invalid_nonce`, `unknown_credential_configuration`, `unknown_credential_identifier`, `invalid_encryption_parameters`, `credential_request_denied`", body = OAuthError),
        (status = 202, description = "Deferred (§9): `transaction_id` and `interval`; the achievement needs the operator's approval", body = CredentialResponse),
        (status = 401, description = "`invalid_token`", body = OAuthError),
        (status = 413, description = "`invalid_credential_request`: the body is over the limit", body = OAuthError)))]
pub async fn credential(
    State(app): State<App>,
    AccessToken(token): AccessToken,
    Protocol(request): Protocol<CredentialRequest>,
) -> Result<Response, AppError> {
    let answered = app.credential(&token, &request).await?;
    let response = match &request.credential_response_encryption {
        Some(e) => encrypted(answered, e)?,
        None => answer(answered),
    };
    Ok(with_dpop_nonce(&app, response))
}

/// The answer as a compact JWE (`application/jwt`, §10) to the key the request gave
/// (checked before issuing), its `kid` copied into the header.
fn encrypted(
    a: CredentialAnswer,
    to: &protocol::oid4vci::CredentialResponseEncryption,
) -> Result<Response, AppError> {
    let (status, body): (StatusCode, CredentialResponse) = match a {
        CredentialAnswer::Issued(body) => (StatusCode::OK, body),
        CredentialAnswer::Deferred(body) => (StatusCode::ACCEPTED, body),
    };
    let (jwk, enc) = to
        .recipient()
        .map_err(|why| AppError::oauth("invalid_encryption_parameters", why))?;
    let json = serde_json::to_vec(&body)
        .map_err(|e| AppError::Internal(format!("credential response: {e}")))?;
    let jwe = protocol::jose::jwe::encrypt(&json, &jwk, enc, jwk.kid.as_deref())
        .map_err(|e| AppError::oauth("invalid_encryption_parameters", e.to_string()))?;
    let mut r = (status, jwe).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwt"),
    );
    Ok(no_store(r))
}

/// 200 with the credentials, or 202 with the deferred transaction.
fn answer(a: CredentialAnswer) -> Response {
    let (status, body): (StatusCode, CredentialResponse) = match a {
        CredentialAnswer::Issued(body) => (StatusCode::OK, body),
        CredentialAnswer::Deferred(body) => (StatusCode::ACCEPTED, body),
    };
    no_store((status, Json(body)).into_response())
}

#[utoipa::path(post, path = "/deferred_credential", tag = PROTOCOL,
    security(("access_token" = [])),
    request_body(content = DeferredCredentialRequest, description = "The Deferred Credential Request (§9.1): `transaction_id`"),
    responses((status = 200, description = "The credentials, issued once the operator approved", body = CredentialResponse),
        (status = 202, description = "Still waiting: `transaction_id` and `interval`", body = CredentialResponse),
        (status = 400, description = "`invalid_transaction_id`, `credential_request_denied`, `invalid_credential_request`", body = OAuthError),
        (status = 401, description = "`invalid_token`", body = OAuthError),
        (status = 413, description = "`invalid_credential_request`: the body is over the limit", body = OAuthError)))]
pub async fn deferred_credential(
    State(app): State<App>,
    AccessToken(token): AccessToken,
    Protocol(request): Protocol<DeferredCredentialRequest>,
) -> Result<Response, AppError> {
    Ok(with_dpop_nonce(
        &app,
        answer(app.deferred_credential(&token, &request).await?),
    ))
}

#[utoipa::path(get, path = "/status/{list}", tag = METADATA,
    params(("list" = i64, Path, description = "The status list number")),
    responses((status = 200, description = "The Status List Token", body = String, content_type = "application/statuslist+jwt"),
        (status = 404, description = "No such list", body = Problem, content_type = "application/problem+json")))]
#[expect(clippy::expect_used, reason = "a number is a valid header value")]
pub async fn status_list(
    State(app): State<App>,
    Path(list): Path<i64>,
) -> Result<Response, AppError> {
    let jwt = app.status_list_token(list).await?;
    let mut r = jwt.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/statuslist+jwt"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!(
            "public, max-age={}",
            crate::domain::issuance::STATUS_TTL
        ))
        .expect("a number is a valid header value"),
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(r)
}

/// A BitstringStatusListCredential (VC-JWT), cacheable for [`STATUS_TTL`] seconds, with a
/// weak ETag so a verifier's conditional request costs one `304 Not Modified`.
///
/// [`STATUS_TTL`]: crate::domain::issuance::STATUS_TTL
#[utoipa::path(get, path = "/status/{list}/{purpose}", tag = METADATA,
    params(("list" = i64, Path, description = "The status list number"),
        ("purpose" = String, Path, description = "`revocation` or `suspension`")),
    responses((status = 200, description = "A BitstringStatusListCredential (VC-JWT)", body = String, content_type = "application/jwt"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 404, description = "No such list", body = Problem, content_type = "application/problem+json")))]
pub async fn bitstring_status_list(
    State(app): State<App>,
    Path((list, purpose)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let published = app
        .bitstring_status_list(ListIssuer::Https, list, &purpose)
        .await?;
    Ok(publish_list(published, &headers))
}

/// The same list issued by the issuer's did:web: the list `ldp_vc` badges (issued by the
/// did:web) name, so the list's issuer is the badge's.
#[utoipa::path(get, path = "/status/did/{list}/{purpose}", tag = METADATA,
    params(("list" = i64, Path, description = "The status list number"),
        ("purpose" = String, Path, description = "`revocation` or `suspension`")),
    responses((status = 200, description = "A BitstringStatusListCredential (VC-JWT) issued by the did:web", body = String, content_type = "application/jwt"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 404, description = "No such list", body = Problem, content_type = "application/problem+json")))]
pub async fn did_bitstring_status_list(
    State(app): State<App>,
    Path((list, purpose)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let published = app
        .bitstring_status_list(ListIssuer::DidWeb, list, &purpose)
        .await?;
    Ok(publish_list(published, &headers))
}

/// A published list as a response: `304` for a matching `If-None-Match`, the ETag and
/// cache headers.
#[expect(clippy::expect_used, reason = "base64url is a valid header value")]
fn publish_list(published: PublishedList, headers: &HeaderMap) -> Response {
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|t| t.trim() == published.etag || t.trim() == "*")
        });
    let mut r = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = published.jwt.into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/jwt"),
        );
        r
    };
    let h = r.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&published.etag).expect("base64url is a valid header value"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!(
            "public, max-age={}",
            crate::domain::issuance::STATUS_TTL
        ))
        .expect("a number is a valid header value"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The status lists this issuer publishes (draft-ietf-oauth-status-list "Status List
/// Aggregation"): what a verifier fetches to check badges later with no network.
#[utoipa::path(get, path = "/status", tag = METADATA,
    responses((status = 200, description = "`{\"status_lists\": [URI, …]}`", body = Object)))]
pub async fn status_lists(State(app): State<App>) -> Response {
    let mut r = Json(serde_json::json!({ "status_lists": app.status_lists() })).into_response();
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// A card credential for a printed card's QR code ([`crate::domain::card`]): the body is
/// the badge's SD-JWT VC presented with a KB-JWT whose `aud` is `<issuer>/card` and whose
/// `nonce` is `akashi-card`.
#[utoipa::path(post, path = "/card", tag = PROTOCOL,
    request_body(content = String, content_type = "application/dc+sd-jwt"),
    responses((status = 200, description = "The card credential, a compact SD-JWT of `typ` `akashi-card+sd-jwt`", body = String, content_type = "application/akashi-card+sd-jwt"),
        (status = 400, description = "The presentation was refused: the check that failed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over the limit", body = Problem, content_type = "application/problem+json")))]
pub async fn card(State(app): State<App>, body: Body) -> Result<Response, AppError> {
    let limit = crate::domain::card::CARD_BODY_LIMIT;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| AppError::PayloadTooLarge {
            field: "presentation".into(),
            limit,
        })?;
    let body = String::from_utf8(bytes.to_vec()).map_err(|_| AppError::BadRequest {
        field: "presentation".into(),
        detail: "the body is not UTF-8 text".into(),
    })?;
    let card = app.card_credential(&body, app.clock.now()).await?;
    let mut r = card.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/akashi-card+sd-jwt"),
    );
    Ok(no_store(r))
}
