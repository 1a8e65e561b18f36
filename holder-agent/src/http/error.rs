//! The one place that maps the wallet's errors to HTTP. The wallet API answers
//! `{"error", "error_description"}`: `error` is a stable code naming the kind of failure,
//! `error_description` says exactly which check failed. Failures of the caller's input are
//! 400, failures of the issuer or verifier the wallet talked to are 502. A 5xx of our own
//! logs its cause and shows none. The pages ([`super::pages`]) use the same status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::AppError;
use crate::wallet::accounts::AccountError;
use crate::wallet::pending::PendingError;
use crate::wallet::registration::RegisterError;
use crate::wallet::web::WebAuthError;

impl AppError {
    /// The stable error code of the API body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Accept(e) => e.code(),
            AppError::Present(e) => e.code(),
            AppError::Register(e) => e.code(),
            AppError::Pending(e) => e.code(),
            AppError::Web(e) => e.code(),
            AppError::Account(e) => e.code(),
            AppError::BadRequest { .. } => "invalid_request",
            AppError::Unauthorized => "invalid_token",
            AppError::Throttled(_) => "too_many_requests",
            AppError::NotFound(_) => "not_found",
            AppError::Config(_) | AppError::Store(_) | AppError::Db(_) | AppError::Internal(_) => {
                "server_error"
            }
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Accept(e) if e.is_counterparty_fault() => StatusCode::BAD_GATEWAY,
            AppError::Present(e) if e.is_counterparty_fault() => StatusCode::BAD_GATEWAY,
            AppError::Register(e) if e.is_counterparty_fault() => StatusCode::BAD_GATEWAY,
            AppError::Pending(PendingError::Unknown | PendingError::Expired { .. }) => {
                StatusCode::NOT_FOUND
            }
            AppError::Pending(PendingError::AlreadyAnswered) => StatusCode::CONFLICT,
            AppError::Pending(PendingError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Pending(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Web(e) if e.is_throttled() => StatusCode::TOO_MANY_REQUESTS,
            AppError::Web(WebAuthError::WrongCredentials) => StatusCode::UNAUTHORIZED,
            AppError::Register(RegisterError::AccountExists { .. }) => StatusCode::CONFLICT,
            AppError::Web(_) => StatusCode::BAD_REQUEST,
            AppError::Account(AccountError::TooManyRequests { .. }) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            // The mail server is the counterparty; its failure is shown to the user.
            AppError::Account(AccountError::Mail(_)) => StatusCode::BAD_GATEWAY,
            AppError::Account(_) => StatusCode::BAD_REQUEST,
            AppError::Accept(_)
            | AppError::Present(_)
            | AppError::Register(_)
            | AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Config(_) | AppError::Store(_) | AppError::Db(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let description = if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
            tracing::error!(error = %self, "internal error");
            "the wallet could not complete the request".to_owned()
        } else {
            self.to_string()
        };
        let mut body = json!({"error": self.code(), "error_description": description});
        if let AppError::BadRequest { field, .. } = &self {
            body["field"] = json!(field);
        }
        let mut r = (status, axum::Json(body)).into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let AppError::Throttled(t) = &self
            && let Ok(v) = HeaderValue::from_str(&t.retry_after.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        r
    }
}
