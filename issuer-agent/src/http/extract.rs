//! Extractors of the OpenID4VCI endpoints: the bearer access token, and request bodies
//! parsed into the protocol's own types ([`protocol::oid4vci`]), so the issuer reads what
//! the wallet writes. A body that is too large or malformed is refused with the endpoint's
//! OAuth error code and a description naming the member at fault, never with axum's plain
//! text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use protocol::oauth::ErrorCode;
use protocol::oid4vci::{
    CredentialRequest, DeferredCredentialRequest, NotificationRequest, TokenRequest,
};

use crate::error::AppError;

/// The access token of an `Authorization: Bearer` header (RFC 6750 §2.1). Extracted
/// before the body is read, so a caller without one learns nothing else; whether the
/// token is live is the domain's to say.
pub struct AccessToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        kit::web::bearer_token(&parts.headers)
            .map(|token| AccessToken(token.to_owned()))
            .ok_or_else(|| AppError::InvalidToken("no bearer access token".into()))
    }
}

/// A request body of a protocol endpoint: how it parses, and the code a body that cannot
/// be read (too large) is refused with.
pub trait ProtocolBody: Sized {
    /// The endpoint's code for a request it cannot read.
    const UNREADABLE: ErrorCode;
    fn parse(body: &[u8]) -> Result<Self, AppError>;
}

/// §6.1: form-encoded; repeated, missing or malformed parameters are `invalid_request`.
impl ProtocolBody for TokenRequest {
    const UNREADABLE: ErrorCode = ErrorCode::InvalidRequest;
    fn parse(body: &[u8]) -> Result<Self, AppError> {
        TokenRequest::from_form(body).map_err(|e| AppError::protocol(e.error_code(), e))
    }
}

/// §8.2: the member at fault picks the code (`invalid_proof` under `proofs`, …).
impl ProtocolBody for CredentialRequest {
    const UNREADABLE: ErrorCode = ErrorCode::InvalidCredentialRequest;
    fn parse(body: &[u8]) -> Result<Self, AppError> {
        CredentialRequest::from_json(body).map_err(|e| AppError::protocol(e.error_code(), e))
    }
}

/// §9.1: answered with the Credential Endpoint's codes (§9.3).
impl ProtocolBody for DeferredCredentialRequest {
    const UNREADABLE: ErrorCode = ErrorCode::InvalidCredentialRequest;
    fn parse(body: &[u8]) -> Result<Self, AppError> {
        json(body, Self::UNREADABLE)
    }
}

/// §11.1: a malformed notification is `invalid_notification_request` (§11.3).
impl ProtocolBody for NotificationRequest {
    const UNREADABLE: ErrorCode = ErrorCode::InvalidNotificationRequest;
    fn parse(body: &[u8]) -> Result<Self, AppError> {
        json(body, Self::UNREADABLE)
    }
}

/// A JSON body as `T`, refused with `code` and the member at fault.
fn json<T: serde::de::DeserializeOwned>(body: &[u8], code: ErrorCode) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::protocol(code.clone(), format!("body is not JSON: {e}")))?;
    if !value.is_object() {
        // serde would read an array as the struct's members in order.
        return Err(AppError::protocol(code, "`body`: must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let (member, reason) = protocol::oid4vci::member_at_fault(&e);
        AppError::protocol(code, format!("`{member}`: {reason}"))
    })
}

/// A protocol request body, parsed by its protocol type ([`ProtocolBody`]); a body over
/// the route's limit is refused with `413` and the endpoint's code.
pub struct Protocol<T>(pub T);

impl<S: Send + Sync, T: ProtocolBody> FromRequest<S> for Protocol<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            let description = format!("request body: {}", e.body_text());
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::BodyTooLarge {
                    code: T::UNREADABLE,
                    description,
                }
            } else {
                AppError::protocol(T::UNREADABLE, description)
            }
        })?;
        T::parse(&body).map(Protocol)
    }
}
