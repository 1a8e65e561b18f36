//! The one place that maps errors to HTTP: OAuth-style bodies on protocol endpoints
//! (RFC 6749 §5.2, OpenID4VP 1.0 §8.5), `application/problem+json` (RFC 9457) on the
//! verifier API. A 5xx logs its cause and shows none.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::desk::DeskError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A protocol error with a spec error code (`invalid_request`, …).
    #[error("{code}: {description}")]
    OAuth {
        status: StatusCode,
        code: &'static str,
        description: String,
    },
    /// Verifier API: the request is wrong; `field` names the member at fault.
    #[error("{field}: {detail}")]
    BadRequest { field: String, detail: String },
    #[error("API: missing or wrong bearer token")]
    Unauthorized,
    /// Too many wrong API tokens from the client's address (API and desk sign-in).
    #[error(transparent)]
    Throttled(#[from] kit::throttle::Throttled),
    #[error("{0} not found")]
    NotFound(String),
    /// The verifier desk (web pages): no session, a bad CSRF token, a wrong API token.
    #[error(transparent)]
    Desk(#[from] DeskError),
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
        AppError::OAuth {
            status: StatusCode::BAD_REQUEST,
            code,
            description: description.into(),
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
            } => kit::serve::oauth_error(status, code, &description),
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
                    "missing or wrong API bearer token",
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
            AppError::Desk(e) => {
                let status = match e {
                    DeskError::Csrf
                    | DeskError::CsrfMissing
                    | DeskError::CsrfNoCookie
                    | DeskError::CsrfNotThisSession => StatusCode::FORBIDDEN,
                    DeskError::NoSession | DeskError::WrongToken => StatusCode::UNAUTHORIZED,
                };
                kit::serve::problem(status, "Refused", &e.to_string(), None)
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

/// An error on a desk page: the same errors, shown as an HTML page (a missing session
/// leads to the sign-in page).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<DeskError> for PageError {
    fn from(e: DeskError) -> Self {
        PageError(AppError::Desk(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match &self.0 {
            AppError::Desk(DeskError::NoSession) => {
                return (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, crate::http::pages::DESK_PATH)],
                )
                    .into_response();
            }
            AppError::Desk(
                DeskError::Csrf
                | DeskError::CsrfMissing
                | DeskError::CsrfNoCookie
                | DeskError::CsrfNotThisSession,
            ) => (StatusCode::FORBIDDEN, self.0.to_string()),
            AppError::Desk(DeskError::WrongToken) => (StatusCode::UNAUTHORIZED, self.0.to_string()),
            AppError::BadRequest { .. } | AppError::OAuth { .. } => {
                (StatusCode::BAD_REQUEST, self.0.to_string())
            }
            AppError::NotFound(what) => (StatusCode::NOT_FOUND, format!("{what} not found")),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, self.0.to_string()),
            AppError::Throttled(e) => {
                let mut r = crate::http::pages::error_page(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("{e}. Signing in is refused from here until then."),
                );
                kit::serve::retry_after(&mut r, e.retry_after);
                return r;
            }
            AppError::Config(_) | AppError::Store(_) | AppError::Db(_) | AppError::Internal(_) => {
                tracing::error!(error = %self.0, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server could not complete the request".to_owned(),
                )
            }
        };
        crate::http::pages::error_page(status, &message)
    }
}
