//! The verifier's own errors, below the web layer: each names what failed, none knows a
//! status code. [`crate::http::error`] maps them to HTTP, once.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A protocol error with a spec error code (`invalid_request`, …; OpenID4VP 1.0 §8.5).
    #[error("{code}: {description}")]
    Protocol {
        code: &'static str,
        description: String,
    },
    /// The input is wrong; `field` names the member at fault.
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
    /// Too many wrong API tokens from the client's address (API and desk sign-in).
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

impl Error {
    /// A protocol error with the spec error `code`.
    pub fn protocol(code: &'static str, description: impl Into<String>) -> Self {
        Error::Protocol {
            code,
            description: description.into(),
        }
    }

    /// Wrong input in `field`.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }
}
