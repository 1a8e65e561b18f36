//! Extractors of the OpenID4VCI endpoints: the bearer access token, and request bodies
//! parsed into the protocol's own types ([`protocol::oid4vci`]), so the issuer reads what
//! the wallet writes. A body that is too large or malformed is refused with the endpoint's
//! OAuth error code and a description naming the member at fault, never with axum's plain
//! text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use protocol::oauth::authorization::AuthorizationRequest;
use protocol::oauth::{ErrorCode, client_attestation, dpop};
use protocol::oid4vci::{
    CredentialRequest, DeferredCredentialRequest, NotificationRequest, TokenRequest,
};

use crate::domain::{ClientAttestation, Presented};
use crate::error::AppError;

/// The access token of an `Authorization: Bearer` or `Authorization: DPoP` header (RFC
/// 6750 §2.1, RFC 9449 §7.1) with the request's `DPoP` proof, if any. Extracted before the
/// body is read, so a caller without one learns nothing else; whether the token is live
/// and how it must be presented is the domain's to say.
pub struct AccessToken(pub Presented);

impl<S: Send + Sync> FromRequestParts<S> for AccessToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let proof = dpop_header(&parts.headers, true)?;
        if let Some(token) = kit::web::bearer_token(&parts.headers) {
            return Ok(AccessToken(Presented {
                token: token.to_owned(),
                dpop_scheme: false,
                proof,
            }));
        }
        let dpop = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("DPoP").then(|| token.trim())
            })
            .filter(|t| !t.is_empty());
        match dpop {
            Some(token) => Ok(AccessToken(Presented {
                token: token.to_owned(),
                dpop_scheme: true,
                proof,
            })),
            None => Err(AppError::InvalidToken(
                "no access token (`Authorization: Bearer` or `Authorization: DPoP`)".into(),
            )),
        }
    }
}

/// The `DPoP` header of a request (RFC 9449 §4.1): at most one.
pub struct DpopProof(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for DpopProof {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        dpop_header(&parts.headers, false).map(DpopProof)
    }
}

/// The wallet attestation headers (OpenID4VCI Appendix E), at most one of each; checking
/// them is the domain's.
pub struct WalletAttestation(pub ClientAttestation);

impl<S: Send + Sync> FromRequestParts<S> for WalletAttestation {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let one = |name: &'static str| {
            let mut values = parts.headers.get_all(name).iter();
            let first = values.next();
            if values.next().is_some() {
                return Err(AppError::oauth(
                    "invalid_client",
                    format!("header {name} is repeated"),
                ));
            }
            Ok(first.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()))
        };
        Ok(WalletAttestation(ClientAttestation {
            attestation: one(client_attestation::HEADER_ATTESTATION)?,
            pop: one(client_attestation::HEADER_POP)?,
        }))
    }
}

fn dpop_header(headers: &HeaderMap, resource: bool) -> Result<Option<String>, AppError> {
    let mut values = headers.get_all(dpop::HEADER_DPOP).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(AppError::Dpop {
            resource,
            code: ErrorCode::InvalidDpopProof,
            description: dpop::DpopError::Repeated.to_string(),
            nonce: None,
        });
    }
    Ok(first.map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()))
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

/// RFC 9126 §2.1: form-encoded like the authorization request; repeated parameters are
/// `invalid_request`.
impl ProtocolBody for AuthorizationRequest {
    const UNREADABLE: ErrorCode = ErrorCode::InvalidRequest;
    fn parse(body: &[u8]) -> Result<Self, AppError> {
        AuthorizationRequest::from_form(body)
            .map_err(|e| AppError::protocol(ErrorCode::InvalidRequest, e))
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
