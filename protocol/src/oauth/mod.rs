//! OAuth 2.0 error responses (RFC 6749 §5.2, RFC 6750 §3.1) and the error codes the
//! OpenID4VCI 1.0 (§6.3, §8.3.1.2, §9.3, §11.3) and OpenID4VP 1.0 (§8.5) endpoints answer with.
//!
//! Every protocol endpoint answers `{"error", "error_description"}` with one of the
//! [`ErrorCode`]s below; services map their own failures to a code and keep the status
//! code choice to themselves.

pub mod authorization;
pub mod client_attestation;
pub mod dpop;
pub mod oidc;
pub mod pkce;

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The body of an OAuth error response (RFC 6749 §5.2), generic over an endpoint's codes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse<C = ErrorCode> {
    /// The error code.
    pub error: C,
    /// Human-readable text for the developer (ASCII, no secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

impl<C> ErrorResponse<C> {
    /// An error response without description.
    pub fn new(error: C) -> Self {
        ErrorResponse {
            error,
            error_description: None,
        }
    }

    /// An error response with a description.
    pub fn with_description(error: C, description: impl Into<String>) -> Self {
        ErrorResponse {
            error,
            error_description: Some(description.into()),
        }
    }
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, )*) => {
        /// Error codes of RFC 6749, RFC 6750, OpenID4VCI 1.0 and OpenID4VP 1.0.
        ///
        /// Codes we do not know are kept verbatim in [`ErrorCode::Other`], so a client can
        /// show what a server answered.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this library does not know.
            Other(String),
        }

        impl ErrorCode {
            /// The wire string of the code.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $code, )*
                    ErrorCode::Other(code) => code,
                }
            }

            /// Parses a wire code; unknown codes become [`ErrorCode::Other`].
            pub fn parse(code: &str) -> Self {
                match code {
                    $( $code => ErrorCode::$variant, )*
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }

        /// The error codes as string constants, for `match` arms and headers.
        // Named like the enum variants so each code has one name across both forms.
        #[allow(non_upper_case_globals)]
        pub mod codes {
            $( $(#[$doc])* pub const $variant: &str = $code; )*
        }
    };
}

error_codes! {
    /// RFC 6749 §5.2 / OpenID4VP §8.5: the request is missing or has an invalid parameter.
    InvalidRequest => "invalid_request",
    /// RFC 6749 §5.2: client authentication failed (OpenID4VCI: anonymous access refused).
    InvalidClient => "invalid_client",
    /// RFC 6749 §5.2: wrong, expired or used grant (pre-authorized code, `tx_code`).
    InvalidGrant => "invalid_grant",
    /// RFC 6749 §5.2.
    UnauthorizedClient => "unauthorized_client",
    /// RFC 6749 §5.2.
    UnsupportedGrantType => "unsupported_grant_type",
    /// RFC 6749 §5.2 / OpenID4VP §8.5.
    InvalidScope => "invalid_scope",
    /// RFC 9396 §5: an `authorization_details` parameter that is malformed or asks for
    /// what the server does not offer.
    InvalidAuthorizationDetails => "invalid_authorization_details",
    /// RFC 6749 §4.1.2.1 / OpenID4VP §8.5: no matching credential, no consent.
    AccessDenied => "access_denied",
    /// RFC 6749 §4.1.2.1.
    ServerError => "server_error",
    /// RFC 6750 §3.1: the access token is missing, expired or revoked.
    InvalidToken => "invalid_token",
    /// RFC 6750 §3.1.
    InsufficientScope => "insufficient_scope",
    /// OpenID4VCI §8.3.1.2: the Credential Request is malformed.
    InvalidCredentialRequest => "invalid_credential_request",
    /// OpenID4VCI §8.3.1.2.
    UnknownCredentialConfiguration => "unknown_credential_configuration",
    /// OpenID4VCI §8.3.1.2.
    UnknownCredentialIdentifier => "unknown_credential_identifier",
    /// OpenID4VCI §8.3.1.2: missing or invalid key proof.
    InvalidProof => "invalid_proof",
    /// OpenID4VCI §8.3.1.2: the proof's `c_nonce` is stale; fetch a new one.
    InvalidNonce => "invalid_nonce",
    /// OpenID4VCI §8.3.1.2.
    InvalidEncryptionParameters => "invalid_encryption_parameters",
    /// OpenID4VCI §8.3.1.2: the request will not be granted (final).
    CredentialRequestDenied => "credential_request_denied",
    /// OpenID4VCI §9.3: unknown or used deferred `transaction_id`.
    InvalidTransactionId => "invalid_transaction_id",
    /// OpenID4VCI §11.3.
    InvalidNotificationId => "invalid_notification_id",
    /// OpenID4VCI §11.3.
    InvalidNotificationRequest => "invalid_notification_request",
    /// OpenID4VP §8.5: the wallet supports none of the requested formats.
    VpFormatsNotSupported => "vp_formats_not_supported",
    /// OpenID4VP §8.5: `request_uri_method` has an unsupported value.
    InvalidRequestUriMethod => "invalid_request_uri_method",
    /// OpenID4VP §8.5: `transaction_data` is unsupported or malformed.
    InvalidTransactionData => "invalid_transaction_data",
    /// OpenID4VP §8.5: the wallet is not available.
    WalletUnavailable => "wallet_unavailable",
    /// RFC 9449 §5, §7.1: the DPoP proof is missing or invalid.
    InvalidDpopProof => "invalid_dpop_proof",
    /// RFC 9449 §8, §9: the DPoP proof must carry the server's nonce (sent in `DPoP-Nonce`).
    UseDpopNonce => "use_dpop_nonce",
    /// RFC 9101 §6.2 / RFC 9126 §2.2: the `request_uri` is unknown, used, expired or
    /// another client's.
    InvalidRequestUri => "invalid_request_uri",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(ErrorCode::parse(&code))
    }
}

/// The access token type of a bearer token (RFC 6750).
pub const TOKEN_TYPE_BEARER: &str = "Bearer";
/// The access token type of a DPoP-bound token (RFC 9449 §5).
pub const TOKEN_TYPE_DPOP: &str = "DPoP";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_response_wire_form() {
        let body = ErrorResponse::with_description(ErrorCode::InvalidNonce, "c_nonce expired");
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"error": "invalid_nonce", "error_description": "c_nonce expired"})
        );
        let bare = serde_json::to_value(ErrorResponse::new(ErrorCode::InvalidGrant)).unwrap();
        assert_eq!(bare, json!({"error": "invalid_grant"}));
        let parsed: ErrorResponse = serde_json::from_value(json!({"error": "slow_down"})).unwrap();
        assert_eq!(parsed.error, ErrorCode::Other("slow_down".into()));
    }

    #[test]
    fn codes_round_trip() {
        for code in [
            codes::InvalidRequest,
            codes::InvalidProof,
            codes::UnknownCredentialConfiguration,
            codes::VpFormatsNotSupported,
            codes::InvalidRequestUriMethod,
            codes::WalletUnavailable,
        ] {
            let parsed = ErrorCode::parse(code);
            assert!(!matches!(parsed, ErrorCode::Other(_)), "{code} is known");
            assert_eq!(parsed.as_str(), code);
        }
    }
}
