//! The issuer's errors, below the web layer: each names what failed, none knows a status
//! code. How they become responses is [`crate::http::error`], the one place that maps
//! errors to HTTP.

use protocol::oauth::ErrorCode;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A protocol error with a spec error code (`invalid_grant`, `invalid_proof`, …).
    #[error("{code}: {description}")]
    OAuth {
        code: ErrorCode,
        description: String,
    },
    /// A protocol request body over the endpoint's size limit, with the endpoint's code.
    #[error("{code}: {description}")]
    BodyTooLarge {
        code: ErrorCode,
        description: String,
    },
    /// RFC 9449: a DPoP proof refused (`invalid_dpop_proof`, `use_dpop_nonce`) or a
    /// DPoP-bound token misused (`invalid_token`). `resource`: refused by a resource
    /// endpoint (401 with `WWW-Authenticate: DPoP`) rather than the token endpoint (400);
    /// `nonce`: a fresh `DPoP-Nonce` to send with the refusal.
    #[error("{code}: {description}")]
    Dpop {
        resource: bool,
        code: ErrorCode,
        description: String,
        nonce: Option<String>,
    },
    /// The authorization endpoint refused a request before its redirect URI could be
    /// trusted (unknown client, unregistered redirect URI, bad `request_uri`): shown to the
    /// person as a page, never redirected (RFC 6749 §4.1.2.1).
    #[error("{code}: {description}")]
    AuthorizationPage {
        code: ErrorCode,
        description: String,
    },
    /// A sign-in at the upstream OpenID Connect provider failed (the check, named): shown
    /// to the person as a page.
    #[error("upstream sign-in: {0}")]
    Upstream(#[from] UpstreamError),
    /// RFC 6750 §3.1: missing or bad access token.
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// Admin API: the request is wrong; `field` names the member at fault.
    #[error("{field}: {detail}")]
    BadRequest { field: String, detail: String },
    /// A request body (not a protocol one: those use [`AppError::BodyTooLarge`]) over the
    /// route's limit of `limit` bytes.
    #[error("{field}: the body is more than the {limit} bytes allowed")]
    PayloadTooLarge { field: String, limit: usize },
    #[error("admin API: missing or wrong bearer token")]
    Unauthorized,
    /// Too many wrong admin tokens from the client's address.
    #[error(transparent)]
    Throttled(#[from] kit::throttle::Throttled),
    #[error("{0} not found")]
    NotFound(String),
    /// Console sign-in: the address and password do not name an enabled operator (the
    /// same answer whether or not the address has an operator).
    #[error("wrong email address or password")]
    SignInRefused,
    /// Console sign-in: too many failed sign-ins for the address typed.
    #[error("too many failed sign-ins for this email address; try again in {minutes} minutes")]
    SignInLocked { minutes: i64 },
    /// A console operator's role does not allow the change.
    #[error("your role ({role}) does not allow this; it needs {needs}")]
    Forbidden {
        role: &'static str,
        needs: &'static str,
    },
    /// A console passkey ceremony failed: the check, named.
    /// A delivery status notification handed in was not taken (the check named).
    #[error("bounce: {0}")]
    Bounce(#[from] BounceError),
    #[error("passkey: {0}")]
    Passkey(#[from] PasskeyError),
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

    /// A protocol error: a typed rejection's code and its text (which names the check).
    pub fn protocol(code: ErrorCode, description: impl ToString) -> Self {
        AppError::OAuth {
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

/// Why a passkey was refused, beyond the WebAuthn checks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasskeyError {
    #[error(transparent)]
    Webauthn(#[from] crate::domain::webauthn::WebauthnError),
    #[error("the answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the challenge is unknown or was used already")]
    ChallengeUnknown,
    #[error("the challenge expired")]
    ChallengeExpired,
    #[error("the challenge was issued to another browser session")]
    ChallengeOtherSession,
    #[error("no passkey has this credential id")]
    UnknownCredential,
    #[error("the user handle is not the passkey's operator")]
    WrongUser,
    #[error("the passkey's operator is disabled")]
    OperatorDisabled,
    #[error("this passkey is registered already")]
    AlreadyRegistered,
    #[error("another sign-in used this passkey at the same moment")]
    CounterRace,
    #[error("an operator may have at most {limit} passkeys")]
    TooMany { limit: usize },
}

/// Why a notification handed in was not taken, by check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BounceError {
    #[error(transparent)]
    Dsn(#[from] crate::mail::dsn::DsnError),
    #[error(
        "no return path of this issuer: none of the addresses the notification was delivered to ({0}) is bounces+…@ the ISSUER_BOUNCE_DOMAIN"
    )]
    NoReturnPath(String),
    #[error(
        "ISSUER_BOUNCE_DOMAIN is not set: emails carry no return path a notification could name"
    )]
    NotConfigured,
    #[error("the return path {0:?} carries a tag that is not this issuer's for that message")]
    ForgedTag(String),
    #[error("no email has the id the return path names ({0})")]
    UnknownMessage(String),
    #[error(
        "the notification is about {reported}, not {recipient}, to whom the email of this return path was sent"
    )]
    OtherRecipient { reported: String, recipient: String },
    #[error(
        "not a permanent failure: {recipient} has Action {action:?}, Status {status:?} (a bounce is Action failed with a 5.x.x status)"
    )]
    NotPermanent {
        recipient: String,
        action: String,
        status: String,
    },
}

/// Why a sign-in at the upstream OpenID Connect provider failed ([`crate::domain::oidc`]):
/// each variant names the check.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("the sign-in provider's {what} could not be fetched: {source}")]
    Fetch {
        what: &'static str,
        source: kit::fetch::FetchError,
    },
    #[error("the sign-in provider's discovery document is refused: {0}")]
    Discovery(#[from] protocol::oauth::oidc::DiscoveryError),
    #[error("state is missing from the callback")]
    NoState,
    #[error("state is unknown to this issuer")]
    UnknownState,
    #[error("state was already used (each sign-in is single-use)")]
    StateUsed,
    #[error("state has expired (a sign-in lives {ttl} s)")]
    StateExpired { ttl: i64 },
    #[error(
        "the sign-in cookie is missing: the sign-in was started in another browser (or cookies are blocked)"
    )]
    NoBrowserCookie,
    #[error("the sign-in cookie is not this sign-in's: it was started in another browser")]
    OtherBrowser,
    #[error(
        "the callback's `iss` is {found:?}, not the configured provider {expected:?} (RFC 9207)"
    )]
    WrongIss { expected: String, found: String },
    #[error("the sign-in provider answered error {error:?}: {description}")]
    Provider { error: String, description: String },
    #[error("code is missing from the callback")]
    NoCode,
    #[error("the sign-in provider's token endpoint refused the code: HTTP {status} {error}")]
    TokenRefused { status: u16, error: String },
    #[error("the sign-in provider's token response has no id_token")]
    NoIdToken,
    #[error(transparent)]
    IdToken(#[from] protocol::oauth::oidc::IdTokenError),
    #[error("no badge is waiting for {email}")]
    NoOffer { email: String },
}

impl UpstreamError {
    /// The provider said the person did not sign in or did not consent.
    pub fn is_denied(&self) -> bool {
        matches!(self, UpstreamError::Provider { error, .. } if error == "access_denied" || error == "login_required" || error == "consent_required")
    }
}
