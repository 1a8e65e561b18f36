//! The one place that maps errors to HTTP: OAuth-style bodies on protocol endpoints
//! (RFC 6749 §5.2, OpenID4VCI §8.3.1), `application/problem+json` (RFC 9457) on the admin
//! API. A 5xx logs its cause and shows none.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::oauth::ErrorCode;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A protocol error with a spec error code (`invalid_grant`, `invalid_proof`, …).
    #[error("{code}: {description}")]
    OAuth {
        status: StatusCode,
        code: ErrorCode,
        description: String,
    },
    /// RFC 6750 §3.1: missing or bad access token.
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// Admin API: the request is wrong; `field` names the member at fault.
    #[error("{field}: {detail}")]
    BadRequest { field: String, detail: String },
    #[error("admin API: missing or wrong bearer token")]
    Unauthorized,
    /// Too many wrong admin tokens from the client's address.
    #[error(transparent)]
    Throttled(#[from] kit::throttle::Throttled),
    #[error("{0} not found")]
    NotFound(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] kit::db::DbError),
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    pub fn oauth(code: &'static str, description: impl Into<String>) -> Self {
        Self::protocol(ErrorCode::parse(code), description.into())
    }

    /// A 400 protocol error: a typed rejection's code and its text (which names the check).
    pub fn protocol(code: ErrorCode, description: impl ToString) -> Self {
        AppError::OAuth {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.to_string(),
        }
    }

    pub fn bad_request(field: &str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::OAuth {
                status,
                code,
                description,
            } => kit::serve::oauth_error(status, code.as_str(), &description),
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
