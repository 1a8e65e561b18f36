//! The one place that maps errors to HTTP: OAuth-style bodies on protocol endpoints
//! (RFC 6749 §5.2, OpenID4VP 1.0 §8.5), `application/problem+json` (RFC 9457) on the
//! verifier API, HTML on the pages ([`PageError`]). A 5xx logs its cause and shows none.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use kit::web::Lang;

use super::pages::texts::Problem;
use super::pages::{DESK_PATH, Home, LocalizeError, error_page};
use crate::error::Error;
use crate::store::StoreError;

/// An error of a request to the verifier: the domain's, or one of the web layer's own.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] Error),
    /// The request could not be read; `field` names the member at fault.
    #[error("{field}: {detail}")]
    BadRequest { field: String, detail: String },
    #[error("API: missing or wrong bearer token")]
    Unauthorized,
    /// The verifier desk and the `/check` page: no session, a bad CSRF token, a wrong API
    /// token.
    #[error(transparent)]
    Desk(#[from] DeskError),
    /// A page's template failed to render.
    #[error("rendering a page: {0}")]
    Render(#[from] askama::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Domain(Error::Store(e))
    }
}

impl AppError {
    pub fn bad_request(field: &str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// Why a page's request is refused: each names the check that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeskError {
    #[error("not signed in, or the session expired or was signed out")]
    NoSession,
    #[error("the form carries no CSRF token; reload the page and retry")]
    CsrfMissing,
    #[error("this browser sent no CSRF cookie with the form; reload the page and retry")]
    CsrfNoCookie,
    #[error(
        "the form's CSRF token was not issued for this browser's CSRF cookie on this page; reload the page and retry"
    )]
    Csrf,
    #[error(
        "the form's CSRF cookie is not the one this desk session was opened with; sign out and sign in again"
    )]
    CsrfNotThisSession,
    #[error("wrong API token")]
    WrongToken,
}

impl DeskError {
    fn status(&self) -> StatusCode {
        match self {
            DeskError::Csrf
            | DeskError::CsrfMissing
            | DeskError::CsrfNoCookie
            | DeskError::CsrfNotThisSession => StatusCode::FORBIDDEN,
            DeskError::NoSession | DeskError::WrongToken => StatusCode::UNAUTHORIZED,
        }
    }
}

fn internal(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "internal error");
    kit::serve::problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal error",
        "the server could not complete the request",
        None,
    )
}

fn invalid(field: &str, detail: &str) -> Response {
    kit::serve::problem(
        StatusCode::BAD_REQUEST,
        "Invalid request",
        detail,
        Some(field),
    )
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Domain(Error::Protocol { code, description }) => {
                kit::serve::oauth_error(StatusCode::BAD_REQUEST, code, &description)
            }
            AppError::Domain(Error::Invalid { field, detail })
            | AppError::BadRequest { field, detail } => invalid(&field, &detail),
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
            AppError::Domain(Error::Throttled(e)) => {
                let mut r = kit::serve::problem(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many failed attempts",
                    &e.to_string(),
                    None,
                );
                kit::serve::retry_after(&mut r, e.retry_after);
                r
            }
            AppError::Desk(e) => kit::serve::problem(e.status(), "Refused", &e.to_string(), None),
            AppError::Domain(Error::NotFound(what)) => kit::serve::problem(
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("{what} not found"),
                None,
            ),
            AppError::Domain(
                e @ (Error::Config(_) | Error::Store(_) | Error::Db(_) | Error::Internal(_)),
            ) => internal(&e),
            e @ AppError::Render(_) => internal(&e),
        }
    }
}

/// An error on a page: the same errors, shown as an HTML page (a missing session leads to
/// the sign-in page).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        PageError(AppError::Domain(e))
    }
}

impl From<DeskError> for PageError {
    fn from(e: DeskError) -> Self {
        PageError(AppError::Desk(e))
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError(AppError::Render(e))
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError(AppError::from(e))
    }
}

impl PageError {
    /// What the page says, and the software's own words for "Technical details".
    fn problem(&self) -> (StatusCode, Problem, Option<String>) {
        let detail = Some(self.0.to_string());
        match &self.0 {
            AppError::Desk(e @ DeskError::CsrfNotThisSession) => {
                (e.status(), Problem::OtherSession, detail)
            }
            AppError::Desk(e @ (DeskError::WrongToken | DeskError::NoSession)) => {
                (e.status(), Problem::WrongToken, detail)
            }
            AppError::Desk(e) => (e.status(), Problem::StaleForm, detail),
            AppError::BadRequest { .. }
            | AppError::Domain(Error::Invalid { .. } | Error::Protocol { .. }) => {
                (StatusCode::BAD_REQUEST, Problem::Invalid, detail)
            }
            AppError::Domain(Error::NotFound(_)) => {
                (StatusCode::NOT_FOUND, Problem::NotFound, detail)
            }
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, Problem::WrongToken, detail),
            AppError::Domain(Error::Throttled(e)) => (
                StatusCode::TOO_MANY_REQUESTS,
                Problem::Throttled(u64::try_from(e.retry_after.max(1)).unwrap_or(1)),
                detail,
            ),
            AppError::Domain(
                Error::Config(_) | Error::Store(_) | Error::Db(_) | Error::Internal(_),
            )
            | AppError::Render(_) => {
                tracing::error!(error = %self.0, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, Problem::Internal, None)
            }
        }
    }
}

/// The page in English, marked for [`super::pages::localized_errors`] to write again in
/// the reader's language.
impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let AppError::Desk(DeskError::NoSession) = &self.0 {
            return (StatusCode::SEE_OTHER, [(header::LOCATION, DESK_PATH)]).into_response();
        }
        let (status, problem, detail) = self.problem();
        let mut r = error_page(Lang::En, Home::Desk, status, problem, detail.as_deref());
        if let AppError::Domain(Error::Throttled(e)) = &self.0 {
            kit::serve::retry_after(&mut r, e.retry_after);
        }
        r.extensions_mut().insert(LocalizeError { problem, detail });
        r
    }
}
