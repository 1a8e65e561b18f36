//! The one place that maps errors to HTTP: OAuth-style bodies on protocol endpoints
//! (RFC 6749 §5.2, OpenID4VCI §8.3.1), `application/problem+json` (RFC 9457) on the admin
//! API. A 5xx logs its cause and shows none.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::OAuth { code, description } => {
                kit::serve::oauth_error(StatusCode::BAD_REQUEST, code.as_str(), &description)
            }
            AppError::BodyTooLarge { code, description } => {
                kit::serve::oauth_error(StatusCode::PAYLOAD_TOO_LARGE, code.as_str(), &description)
            }
            AppError::Dpop {
                resource,
                code,
                description,
                nonce,
            } => {
                let status = if resource {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
                let mut r = kit::serve::oauth_error(status, code.as_str(), &description);
                if resource {
                    // RFC 9449 §7.1: the challenge names the scheme, the error and the
                    // algorithms; quotes in the description are dropped to keep the header
                    // well-formed.
                    let challenge = format!(
                        "DPoP error=\"{}\", error_description=\"{}\", algs=\"ES256 EdDSA\"",
                        code.as_str(),
                        description.replace(['"', '\\'], "'")
                    );
                    if let Ok(v) = HeaderValue::from_str(&challenge) {
                        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                    }
                }
                if let Some(nonce) = nonce
                    && let Ok(v) = HeaderValue::from_str(&nonce)
                {
                    r.headers_mut()
                        .insert(protocol::oauth::dpop::HEADER_DPOP_NONCE, v);
                }
                r
            }
            AppError::AuthorizationPage { code, description } => {
                super::authorize::refusal_page(code.as_str(), &description)
            }
            AppError::Upstream(e) => {
                if matches!(
                    e,
                    crate::error::UpstreamError::Fetch { .. }
                        | crate::error::UpstreamError::Discovery(_)
                        | crate::error::UpstreamError::TokenRefused { .. }
                ) {
                    tracing::warn!(error = %e, "sign-in at the OpenID Connect provider failed");
                } else if matches!(e, crate::error::UpstreamError::NoOffer { .. }) {
                    // The address is the person's: not in the logs.
                    tracing::info!(
                        "sign-in at the OpenID Connect provider: no badge is waiting for the verified address"
                    );
                } else {
                    tracing::info!(error = %e, "sign-in at the OpenID Connect provider refused");
                }
                super::authorize::upstream_page("", &e)
            }
            AppError::InvalidToken(description) => {
                let mut r = kit::serve::oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    &description,
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                r
            }
            AppError::BadRequest { field, detail } => kit::serve::problem(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                &detail,
                Some(&field),
            ),
            e @ AppError::PayloadTooLarge { .. } => {
                let field = match &e {
                    AppError::PayloadTooLarge { field, .. } => field.clone(),
                    _ => String::new(),
                };
                kit::serve::problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request body too large",
                    &e.to_string(),
                    Some(&field),
                )
            }
            AppError::Unauthorized => {
                let mut r = kit::serve::problem(
                    StatusCode::UNAUTHORIZED,
                    "Unauthorized",
                    "missing or wrong admin bearer token",
                    None,
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            AppError::Throttled(e) => {
                let mut r = kit::serve::problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed attempts",
                    &e.to_string(),
                    None,
                );
                kit::serve::retry_after(&mut r, e.retry_after);
                r
            }
            AppError::SignInRefused => kit::serve::problem(
                StatusCode::UNAUTHORIZED,
                "Sign-in refused",
                &self.to_string(),
                None,
            ),
            AppError::SignInLocked { .. } => kit::serve::problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed sign-ins",
                &self.to_string(),
                None,
            ),
            AppError::Bounce(e) => {
                use crate::error::BounceError as B;
                use crate::mail::dsn::DsnError;
                let (status, title) = match &e {
                    B::Dsn(DsnError::TooLarge { .. }) => {
                        (StatusCode::PAYLOAD_TOO_LARGE, "Notification too large")
                    }
                    B::Dsn(_) => (
                        StatusCode::BAD_REQUEST,
                        "Not a delivery status notification",
                    ),
                    B::NotConfigured => (StatusCode::CONFLICT, "No bounce domain"),
                    B::UnknownMessage(_) => (StatusCode::NOT_FOUND, "Not found"),
                    _ => (StatusCode::UNPROCESSABLE_ENTITY, "Bounce refused"),
                };
                kit::serve::problem(status, title, &e.to_string(), None)
            }
            AppError::Passkey(_) => kit::serve::problem(
                StatusCode::BAD_REQUEST,
                "Passkey refused",
                &self.to_string(),
                None,
            ),
            AppError::Forbidden { .. } => {
                kit::serve::problem(StatusCode::FORBIDDEN, "Forbidden", &self.to_string(), None)
            }
            AppError::NotFound(what) => kit::serve::problem(
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("{what} not found"),
                None,
            ),
            AppError::Config(_) | AppError::Store(_) | AppError::Db(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, "internal error");
                kit::serve::problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "the server could not complete the request",
                    None,
                )
            }
        }
    }
}
