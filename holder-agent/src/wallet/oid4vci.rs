//! Receiving credentials: an OpenID4VCI 1.0 wallet for the pre-authorized code flow
//! (offer §4.1, issuer metadata §12.2, token §6 with `tx_code`, nonce §7, credential §8
//! with `jwt` key proofs, `invalid_nonce` retry §8.3.1.2). Every SD-JWT VC received is
//! verified (issuer key, `typ`, signature, digests, holder binding, `vct`) before it is
//! stored exactly as issued. When the offer also names an `ldp_vc` configuration, the same
//! badge is requested in that format too, its Data Integrity proof verified against the
//! issuer's did:web key, and it is stored as the companion of the SD-JWT VC (the public
//! page's JSON form and the baked badge image carry it).

use kit::fetch::{FetchError, Fetched};
use protocol::did::Relationship;
use protocol::did::did_web_from_url;
use protocol::issuer_key::IssuerKeyError;
use protocol::keys::{Signer, SigningKey};
use protocol::oauth::{ErrorResponse, dpop};
use protocol::oid4vci::{
    AuthorizationServerMetadata, CredentialConfiguration, CredentialIssuerMetadata,
    CredentialOffer, CredentialRequest, CredentialResponse, NonceResponse, OfferError, OfferRef,
    TokenRequest, TokenResponse, TxCode, TxCodeInputMode, WellKnownError, well_known_url,
};
use protocol::sd_jwt::{Revealed, SdJwt, SdJwtError, TYP_DC_SD_JWT};
use serde::Serialize;
use serde_json::{Value, json};

use super::AppError;
use super::{Account, CredentialView, credential_view};
use crate::App;
use crate::store::{BadgePageRow, CompanionRow, CredentialRow};

/// The only credential format this wallet receives.
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";
/// The companion format received beside it when offered: the OB 3.0 credential with an
/// embedded Data Integrity proof.
pub const FORMAT_LDP_VC: &str = "ldp_vc";
/// Seconds of clock skew tolerated on `exp` / `nbf` of a received credential: the
/// verification core's, so receipt and the live checks agree.
const LEEWAY: i64 = protocol::verify::LEEWAY;

/// How long a flow started from the web wallet waits for the browser's return from the
/// issuer's sign-in, seconds.
pub const AUTHORIZATION_TTL: i64 = 600;

/// Why an offer could not be accepted; each variant names the failed check.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("credential offer: {0}")]
    Offer(#[from] OfferError),
    #[error("fetching the {what} from {url} failed: {source}")]
    Fetch {
        what: &'static str,
        url: String,
        source: FetchError,
    },
    #[error("the {what} from {url} is malformed: {reason}")]
    BadDocument {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("{what}: {source}")]
    BadIdentifier {
        what: &'static str,
        source: WellKnownError,
    },
    #[error(
        "issuer metadata names credential_issuer {found:?}, but the offer is from {expected:?}"
    )]
    IssuerMismatch { expected: String, found: String },
    #[error(
        "authorization server metadata names issuer {found:?}, but it was fetched for {expected:?}"
    )]
    AuthorizationServerMismatch { expected: String, found: String },
    #[error("offer names authorization server {0:?}, which the issuer metadata does not list")]
    UnlistedAuthorizationServer(String),
    #[error("authorization server metadata has no token_endpoint")]
    NoTokenEndpoint,
    #[error("offered credential configuration {0:?} is not in the issuer's metadata")]
    UnknownConfiguration(String),
    #[error("no offered credential configuration has format dc+sd-jwt (offered: {offered})")]
    NoSupportedConfiguration { offered: String },
    #[error("credential configuration {0:?} has format dc+sd-jwt but no vct")]
    ConfigurationWithoutVct(String),
    #[error("issuer metadata refused: {0}")]
    SignedMetadata(#[from] protocol::oid4vci::signed_metadata::SignedMetadataError),
    #[error(
        "issuer metadata refused: the metadata of {0:?} has no signed_metadata, and this wallet requires it (WALLET_REQUIRE_SIGNED_METADATA)"
    )]
    UnsignedMetadata(String),
    #[error(transparent)]
    ProofType(#[from] super::proof_types::ProofTypeError),
    #[error("offer has no pre-authorized code grant")]
    NoPreAuthorizedGrant,
    #[error("offer has no authorization code grant")]
    NoAuthorizationCodeGrant,
    #[error("offer has neither a pre-authorized code grant nor an authorization code grant")]
    NoGrant,
    #[error("authorization server metadata has no {0}")]
    NoAuthorizationEndpoint(&'static str),
    #[error("credential configuration {0:?} has no `scope` to ask for it with")]
    NoScope(String),
    #[error("the authorization response's `state` is not the one this wallet sent")]
    StateMismatch,
    #[error("the authorization response's `iss` is {found:?}, expected {expected:?} (RFC 9207)")]
    IssMismatch {
        expected: String,
        found: Option<String>,
    },
    #[error("the authorization server refused: {error}{}", describe(.description))]
    AuthorizationRefused {
        error: String,
        description: Option<String>,
    },
    #[error("the authorization response has no `code`")]
    NoCode,
    #[error(
        "this return from the issuer's sign-in is unknown to this browser session: it was started in another session or account, used already, or is older than {} minutes; open the badge link again",
        AUTHORIZATION_TTL / 60
    )]
    AuthorizationUnknown,
    #[error("this offer needs a transaction code (PIN){}", describe_tx_code(.0))]
    TxCodeRequired(TxCode),
    #[error("a transaction code (PIN) was given, but this offer does not ask for one")]
    TxCodeNotExpected,
    #[error("the transaction code must be {expected} characters long, got {found}")]
    TxCodeLength { expected: u32, found: usize },
    #[error("the transaction code must be digits only")]
    TxCodeNotNumeric,
    #[error("the issuer's {endpoint} endpoint answered {status} {error}{}", describe(.description))]
    IssuerError {
        endpoint: &'static str,
        status: u16,
        error: String,
        description: Option<String>,
    },
    #[error(
        "the issuer's {endpoint} endpoint answered {status} with an unexpected body: {snippet}"
    )]
    UnexpectedResponse {
        endpoint: &'static str,
        status: u16,
        snippet: String,
    },
    #[error("token endpoint issued a {0:?} token; expected another type for this flow")]
    UnsupportedTokenType(String),
    #[error("the issuer deferred issuance (transaction_id); deferred issuance is not supported")]
    Deferred,
    #[error("the credential response holds no credentials")]
    NoCredentials,
    #[error(
        "the issuer answered the credential request unencrypted ({content_type:?}) though the wallet asked for an encrypted response (application/jwt)"
    )]
    ResponseNotEncrypted { content_type: Option<String> },
    #[error("the encrypted credential response does not decrypt with the wallet's key: {0}")]
    ResponseDecryption(String),
    #[error("credential {index} is not a string (an SD-JWT VC was expected)")]
    CredentialNotAString { index: usize },
    #[error("credential {index} is not a valid SD-JWT VC: {source}")]
    BadCredential { index: usize, source: SdJwtError },
    #[error("credential {index}: the issuer key could not be resolved: {source}")]
    IssuerKey {
        index: usize,
        source: IssuerKeyError,
    },
    #[error("credential {index} has no `iss`")]
    NoIss { index: usize },
    #[error(
        "credential {index} was issued by {iss:?}, not by the credential issuer {credential_issuer:?}"
    )]
    WrongIss {
        index: usize,
        iss: String,
        credential_issuer: String,
    },
    /// The OB 3.0 `issuer.id` inside names another issuer than the one that signed it.
    #[error("credential {index} fails issuer_binding: {detail}")]
    IssuerBinding { index: usize, detail: String },
    #[error(
        "credential {index} is bound to key {found}, not to a key of this request (this account's holder key first): {expected}"
    )]
    WrongHolderKey {
        index: usize,
        expected: String,
        found: String,
    },
    #[error("credential {index} is bound to a key another credential of the batch is bound to")]
    DuplicateHolderKey { index: usize },
    #[error("no credential of the response is bound to this account's holder key")]
    NoCredentialForHolderKey,
    #[error("credential {index} has vct {found:?}, expected {expected:?}")]
    WrongVct {
        index: usize,
        expected: String,
        found: Option<String>,
    },
    #[error("the ldp_vc credential: {0}")]
    BadLdpVc(String),
}

fn describe_tx_code(tx: &TxCode) -> String {
    let mut out = String::new();
    if let Some(d) = &tx.description {
        out.push_str(&format!(": {d}"));
    }
    let mode = match tx.input_mode.unwrap_or_default() {
        TxCodeInputMode::Numeric => "digits",
        TxCodeInputMode::Text => "characters",
    };
    if let Some(n) = tx.length {
        out.push_str(&format!(" ({n} {mode})"));
    }
    out.push_str("; pass it with --tx-code / `tx_code`");
    out
}

fn describe(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl AcceptError {
    /// The stable error code of the API body.
    pub fn code(&self) -> &'static str {
        match self {
            AcceptError::Offer(_) => "invalid_offer",
            AcceptError::TxCodeRequired(_) => "tx_code_required",
            AcceptError::TxCodeNotExpected => "tx_code_not_expected",
            AcceptError::AuthorizationUnknown => "unknown_authorization",
            AcceptError::StateMismatch | AcceptError::NoCode => "invalid_authorization_response",
            AcceptError::TxCodeLength { .. } | AcceptError::TxCodeNotNumeric => "invalid_tx_code",
            AcceptError::IssuerError { .. } => "issuer_error",
            AcceptError::SignedMetadata(_) | AcceptError::UnsignedMetadata(_) => {
                "invalid_issuer_metadata"
            }
            AcceptError::Fetch { .. } => "fetch_failed",
            AcceptError::BadCredential { .. }
            | AcceptError::IssuerKey { .. }
            | AcceptError::NoIss { .. }
            | AcceptError::WrongIss { .. }
            | AcceptError::IssuerBinding { .. }
            | AcceptError::WrongHolderKey { .. }
            | AcceptError::DuplicateHolderKey { .. }
            | AcceptError::NoCredentialForHolderKey
            | AcceptError::WrongVct { .. }
            | AcceptError::BadLdpVc(_)
            | AcceptError::CredentialNotAString { .. } => "invalid_credential",
            _ => "issuer_unsupported",
        }
    }

    /// Whether the issuer (not the caller's input) is at fault.
    pub fn is_counterparty_fault(&self) -> bool {
        !matches!(
            self,
            AcceptError::Offer(_)
                | AcceptError::TxCodeRequired(_)
                | AcceptError::TxCodeNotExpected
                | AcceptError::TxCodeLength { .. }
                | AcceptError::TxCodeNotNumeric
                | AcceptError::AuthorizationUnknown
                | AcceptError::StateMismatch
                | AcceptError::NoCode
        )
    }
}

/// What `accept` received.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub credential_issuer: String,
    pub issuer_name: Option<String>,
    /// Each credential received, as `list` shows it.
    pub credentials: Vec<CredentialView>,
    /// How many of them the account already held (stored once).
    pub already_held: usize,
}

/// Checks the transaction code against the offer's `tx_code` object (§4.1.1): sent iff
/// asked for, of the announced length and input mode.
pub fn check_tx_code(offered: Option<&TxCode>, given: Option<&str>) -> Result<(), AcceptError> {
    match (offered, given) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(AcceptError::TxCodeNotExpected),
        (Some(tx), None) => Err(AcceptError::TxCodeRequired(tx.clone())),
        (Some(tx), Some(pin)) => {
            if let Some(n) = tx.length
                && pin.chars().count() != n as usize
            {
                return Err(AcceptError::TxCodeLength {
                    expected: n,
                    found: pin.chars().count(),
                });
            }
            if tx.input_mode.unwrap_or_default() == TxCodeInputMode::Numeric
                && !pin.chars().all(|c| c.is_ascii_digit())
            {
                return Err(AcceptError::TxCodeNotNumeric);
            }
            Ok(())
        }
    }
}

/// The offered badge's name (`akashi_badge_names`) in `locale`'s language, else in English,
/// else the first; trimmed, without control characters, at most 200 characters (it comes
/// from a stranger and is shown before anything is verified).
fn offered_name(offer: &CredentialOffer, locale: &str) -> Option<String> {
    let language = |l: &str| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase();
    let names = &offer.badge_names;
    let found = names
        .iter()
        .find(|n| language(&n.locale) == language(locale))
        .or_else(|| names.iter().find(|n| language(&n.locale) == "en"))
        .or(names.first())?;
    let clean: String = found
        .name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_owned())
}

/// The display in `locale` (its language: `ja` matches `ja-JP`), else in English (or with no
/// locale), else the first.
fn display_in<'a>(
    displays: &'a [protocol::oid4vci::metadata::Display],
    locale: &str,
) -> Option<&'a protocol::oid4vci::metadata::Display> {
    let language = |l: &str| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase();
    displays
        .iter()
        .find(|d| {
            d.locale
                .as_deref()
                .is_some_and(|l| language(l) == language(locale))
        })
        .or_else(|| {
            displays
                .iter()
                .find(|d| d.locale.as_deref().is_none_or(|l| language(l) == "en"))
        })
        .or(displays.first())
}

/// What [`App::preview_offer`] found.
#[derive(Debug, Clone)]
pub struct OfferPreview {
    pub issuer: String,
    pub issuer_name: Option<String>,
    /// Display names of the offered badges (the configuration id when it has none).
    pub badges: Vec<String>,
    pub tx_code: Option<TxCode>,
    /// The offer has only the authorization code grant: accepting it signs in at the
    /// issuer first.
    pub sign_in_at_issuer: bool,
}

/// The offered configurations this wallet can receive: format `dc+sd-jwt`, with a `vct`,
/// accepting a proof this wallet can make: ES256 `jwt` key proofs, or an `attestation`
/// proof signed with `attestation_alg` ([`super::key_attestation::proof_choice`]).
pub fn pick_configurations<'a>(
    offer: &CredentialOffer,
    metadata: &'a CredentialIssuerMetadata,
    attestation_alg: protocol::keys::Alg,
) -> Result<Vec<(String, &'a CredentialConfiguration, String)>, AcceptError> {
    let mut picked = Vec::new();
    let mut offered = Vec::new();
    for id in &offer.credential_configuration_ids {
        let config = metadata
            .credential_configurations_supported
            .get(id)
            .ok_or_else(|| AcceptError::UnknownConfiguration(id.clone()))?;
        offered.push(format!("{id} ({})", config.format));
        if config.format != FORMAT_SD_JWT_VC {
            continue;
        }
        let vct = config
            .vct
            .clone()
            .ok_or_else(|| AcceptError::ConfigurationWithoutVct(id.clone()))?;
        super::proof_types::proof_choice(id, config, attestation_alg)?;
        picked.push((id.clone(), config, vct));
    }
    if picked.is_empty() {
        return Err(AcceptError::NoSupportedConfiguration {
            offered: offered.join(", "),
        });
    }
    Ok(picked)
}

/// The offered `ldp_vc` configuration to receive beside the SD-JWT VC, if any: the first
/// offered one of that format that accepts a proof this wallet can make (or names no proof
/// types).
pub fn pick_ldp_vc(
    offer: &CredentialOffer,
    metadata: &CredentialIssuerMetadata,
    attestation_alg: protocol::keys::Alg,
) -> Option<String> {
    offer
        .credential_configuration_ids
        .iter()
        .find(|id| {
            metadata
                .credential_configurations_supported
                .get(*id)
                .is_some_and(|c| {
                    c.format == FORMAT_LDP_VC
                        && super::proof_types::proof_choice(id, c, attestation_alg).is_ok()
                })
        })
        .cloned()
}

/// The `id` of a VC's `issuer` (a string or a profile object).
fn issuer_id(vc: &Value) -> Option<&str> {
    match vc.get("issuer")? {
        Value::String(id) => Some(id),
        other => other.get("id")?.as_str(),
    }
}

/// An issuer endpoint's answer: the body when 2xx, else the OAuth error it carries.
/// The `enc` to ask an issuer to encrypt Credential Responses with: when its metadata
/// offers `ECDH-ES` and an AES-GCM `enc` (A256GCM preferred).
fn response_encryption(metadata: &CredentialIssuerMetadata) -> Option<protocol::jose::jwe::Enc> {
    let e = metadata.credential_response_encryption.as_ref()?;
    if !e
        .alg_values_supported
        .iter()
        .any(|a| a == protocol::jose::jwe::ALG_ECDH_ES)
    {
        return None;
    }
    protocol::jose::jwe::Enc::ALL
        .into_iter()
        .find(|enc| e.enc_values_supported.iter().any(|v| v == enc.as_str()))
}

/// A successful answer to a request that asked for encryption must be a JWE to `key`
/// (`application/jwt`, §10); its plaintext replaces the body. Error answers are never
/// encrypted and pass as they are.
fn decrypt_response(
    fetched: protocol::fetch::Fetched,
    key: &protocol::jose::jwe::EncryptionKey,
) -> Result<protocol::fetch::Fetched, AcceptError> {
    if !fetched.is_success() {
        return Ok(fetched);
    }
    let jwt = fetched.content_type.as_deref().is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|t| t.trim() == "application/jwt")
    });
    if !jwt {
        return Err(AcceptError::ResponseNotEncrypted {
            content_type: fetched.content_type.clone(),
        });
    }
    let text = std::str::from_utf8(&fetched.body)
        .map_err(|_| AcceptError::ResponseDecryption("the JWE is not text".into()))?;
    let plain = key
        .decrypt(text.trim())
        .map_err(|e| AcceptError::ResponseDecryption(e.to_string()))?;
    Ok(protocol::fetch::Fetched {
        content_type: Some("application/json".into()),
        body: plain.into(),
        ..fetched
    })
}

pub(crate) fn expect_success<T: serde::de::DeserializeOwned>(
    endpoint: &'static str,
    fetched: &Fetched,
) -> Result<T, AcceptError> {
    if fetched.is_success() {
        return fetched.json().map_err(|_| AcceptError::UnexpectedResponse {
            endpoint,
            status: fetched.status,
            snippet: fetched.snippet(),
        });
    }
    match fetched.json::<ErrorResponse>() {
        Ok(e) => Err(AcceptError::IssuerError {
            endpoint,
            status: fetched.status,
            error: e.error.as_str().to_owned(),
            description: e.error_description,
        }),
        Err(_) => Err(AcceptError::UnexpectedResponse {
            endpoint,
            status: fetched.status,
            snippet: fetched.snippet(),
        }),
    }
}

/// An access token and how the wallet presents it.
pub(crate) enum Access {
    /// `Authorization: Bearer`.
    Bearer {
        token: String,
        /// The `credential_identifier` granted per configuration ([`granted_identifiers`]).
        identifiers: Vec<(String, String)>,
    },
    /// DPoP-bound (RFC 9449): each request carries a proof by `key`, with the server's last
    /// `DPoP-Nonce`; `client_id` is the client the token was issued to (the authorization
    /// code flow), named as `iss` in key proofs.
    Dpop {
        token: String,
        key: SigningKey,
        nonce: Option<String>,
        client_id: Option<String>,
        /// The `credential_identifier` granted per configuration ([`granted_identifiers`]).
        identifiers: Vec<(String, String)>,
    },
}

/// The `credential_identifier` a token response grants for each configuration in its
/// `authorization_details` (OpenID4VCI §6.2): credential requests must then name the
/// identifier instead of the configuration (§8.2).
pub(crate) fn granted_identifiers(token: &TokenResponse) -> Vec<(String, String)> {
    token
        .authorization_details
        .iter()
        .flatten()
        .filter_map(|d| {
            let identifier = d.credential_identifiers.as_ref()?.first()?;
            Some((d.credential_configuration_id.clone(), identifier.clone()))
        })
        .collect()
}

impl Access {
    /// The `client_id` a key proof names as its `iss` (OpenID4VCI 1.0 Appendix F.1): the
    /// client's, except for a token of the pre-authorized code flow's anonymous access.
    fn client_id(&self) -> Option<&str> {
        match self {
            Access::Bearer { .. } => None,
            Access::Dpop { client_id, .. } => client_id.as_deref(),
        }
    }

    /// The `credential_identifier` the token response granted for `configuration`.
    fn identifier(&self, configuration: &str) -> Option<&str> {
        let (Access::Bearer { identifiers, .. } | Access::Dpop { identifiers, .. }) = self;
        identifiers
            .iter()
            .find(|(c, _)| c == configuration)
            .map(|(_, i)| i.as_str())
    }
}

/// The documents an offer leads to ([`App::discover`]).
pub(crate) struct Discovered {
    pub issuer: String,
    pub metadata: CredentialIssuerMetadata,
    pub as_metadata: AuthorizationServerMetadata,
    /// The issuer's English display name.
    pub issuer_name: Option<String>,
}

/// A DPoP proof (RFC 9449 §4.2) for a POST to `url`, with a fresh `jti`.
pub(crate) fn dpop_proof(
    key: &SigningKey,
    url: &str,
    nonce: Option<&str>,
    access_token: Option<&str>,
    now: i64,
) -> String {
    let jti = protocol::b64::random(16);
    dpop::build_proof(
        key,
        &dpop::ProofClaims {
            htm: "POST",
            htu: url,
            iat: now,
            jti: &jti,
            nonce,
            access_token,
        },
    )
}

impl App {
    async fn fetch_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        url: &str,
    ) -> Result<T, AcceptError> {
        let fetched = self
            .fetcher
            .get(url, "application/json")
            .await
            .map_err(|source| AcceptError::Fetch {
                what,
                url: url.to_owned(),
                source,
            })?;
        serde_json::from_slice(&fetched.body).map_err(|e| AcceptError::BadDocument {
            what,
            url: url.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The offer a link carries (by value, or fetched from its `credential_offer_uri`).
    pub(crate) async fn resolve_offer(
        &self,
        offer_text: &str,
    ) -> Result<CredentialOffer, AcceptError> {
        Ok(
            match OfferRef::parse(offer_text).map_err(AcceptError::Offer)? {
                OfferRef::ByValue(offer) => offer,
                OfferRef::ByReference(url) => {
                    let offer: CredentialOffer =
                        self.fetch_json("credential offer", url.as_str()).await?;
                    offer.check().map_err(AcceptError::Offer)?;
                    offer
                }
            },
        )
    }

    /// What an offer would give, without accepting it: the issuer (from its metadata), the
    /// names of the offered badges this wallet can receive, and the PIN it asks for.
    /// Names are taken from the metadata's `display` in `locale` (a language code such as
    /// `ja`), else English, else the first given (OpenID4VCI 1.0 §12.2.4).
    pub async fn preview_offer(
        &self,
        offer_text: &str,
        locale: &str,
    ) -> Result<OfferPreview, AppError> {
        let offer = self.resolve_offer(offer_text).await?;
        // The pre-authorized code when offered (with its PIN); else the authorization code
        // flow, which signs in at the issuer.
        let (tx_code, sign_in_at_issuer) =
            match (offer.pre_authorized(), offer.authorization_code()) {
                (Some(grant), _) => (grant.tx_code.clone(), false),
                (None, Some(_)) => (None, true),
                (None, None) => return Err(AcceptError::NoGrant.into()),
            };
        let issuer = offer.credential_issuer.clone();
        let md_url = well_known_url(&issuer, "openid-credential-issuer").map_err(|source| {
            AcceptError::BadIdentifier {
                what: "credential_issuer",
                source,
            }
        })?;
        let metadata: CredentialIssuerMetadata =
            self.fetch_json("issuer metadata", md_url.as_str()).await?;
        if metadata.credential_issuer != issuer {
            return Err(AcceptError::IssuerMismatch {
                expected: issuer,
                found: metadata.credential_issuer,
            }
            .into());
        }
        let metadata = self
            .checked_metadata(metadata, &issuer, self.clock.now())
            .await?;
        let configurations = pick_configurations(&offer, &metadata, self.attestation_alg())?;
        // The badge's own name when the issuer's offer gives it (one badge, whatever the
        // number of forms it comes in); else each configuration's display name.
        let badges = match offered_name(&offer, locale) {
            Some(name) => vec![name],
            None => configurations
                .iter()
                .map(|(id, config, _)| {
                    config
                        .credential_metadata
                        .as_ref()
                        .and_then(|m| display_in(&m.display, locale))
                        .and_then(|d| d.name.clone())
                        .unwrap_or_else(|| id.clone())
                })
                .collect(),
        };
        let issuer_name = display_in(&metadata.display, locale).and_then(|d| d.name.clone());
        Ok(OfferPreview {
            issuer,
            issuer_name,
            badges,
            tx_code,
            sign_in_at_issuer,
        })
    }

    /// Accepts a credential offer (`openid-credential-offer://…` or an https offer link) for
    /// `account`: receives every offered `dc+sd-jwt` credential, verifies and stores it.
    pub async fn accept(
        &self,
        account: &Account,
        offer_text: &str,
        tx_code: Option<&str>,
        now: i64,
    ) -> Result<Accepted, AppError> {
        let tx_code = tx_code.map(str::trim).filter(|t| !t.is_empty());
        let offer = self.resolve_offer(offer_text).await?;
        let grant = offer
            .pre_authorized()
            .ok_or(AcceptError::NoPreAuthorizedGrant)?;
        check_tx_code(grant.tx_code.as_ref(), tx_code)?;
        let found = self
            .discover(&offer, grant.authorization_server.as_ref())
            .await?;
        let token_endpoint = found
            .as_metadata
            .token_endpoint
            .clone()
            .ok_or(AcceptError::NoTokenEndpoint)?;

        let token_request = TokenRequest::pre_authorized(
            grant.pre_authorized_code.clone(),
            tx_code.map(Into::into),
        );
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", &token_request.grant_type),
            ("pre-authorized_code", grant.pre_authorized_code.as_str()),
        ];
        if let Some(pin) = tx_code {
            form.push(("tx_code", pin));
        }
        let fetched = self
            .fetcher
            .post_form(&token_endpoint, &form, "application/json")
            .await
            .map_err(|source| AcceptError::Fetch {
                what: "token",
                url: token_endpoint.clone(),
                source,
            })?;
        let token: TokenResponse = expect_success("token", &fetched)?;
        if !token.token_type.eq_ignore_ascii_case("bearer") {
            return Err(AcceptError::UnsupportedTokenType(token.token_type).into());
        }
        self.receive(
            account,
            &offer,
            &found,
            &mut Access::Bearer {
                identifiers: granted_identifiers(&token),
                token: token.access_token,
            },
            now,
        )
        .await
    }

    /// The issuer metadata and authorization server metadata an offer leads to, each
    /// checked to name what it was fetched for; `named_as` is the grant's
    /// `authorization_server`.
    pub(crate) async fn discover(
        &self,
        offer: &CredentialOffer,
        named_as: Option<&String>,
    ) -> Result<Discovered, AppError> {
        let issuer = offer.credential_issuer.clone();
        let md_url = well_known_url(&issuer, "openid-credential-issuer").map_err(|source| {
            AcceptError::BadIdentifier {
                what: "credential_issuer",
                source,
            }
        })?;
        let metadata: CredentialIssuerMetadata =
            self.fetch_json("issuer metadata", md_url.as_str()).await?;
        if metadata.credential_issuer != issuer {
            return Err(AcceptError::IssuerMismatch {
                expected: issuer,
                found: metadata.credential_issuer,
            }
            .into());
        }
        let metadata = self
            .checked_metadata(metadata, &issuer, self.clock.now())
            .await?;
        pick_configurations(offer, &metadata, self.attestation_alg())?;
        // Kept with the badge: in English (or without a locale), as before.
        let issuer_name = display_in(&metadata.display, "en").and_then(|d| d.name.clone());

        // The authorization server: the one the grant names (it must be listed), else the
        // first listed, else the issuer itself (§12.2.4).
        let listed = metadata.authorization_servers.clone().unwrap_or_default();
        let as_id = match named_as {
            Some(named) if listed.contains(named) => named.clone(),
            Some(named) => {
                return Err(AcceptError::UnlistedAuthorizationServer(named.clone()).into());
            }
            None => listed.first().cloned().unwrap_or_else(|| issuer.clone()),
        };
        let as_url = well_known_url(&as_id, "oauth-authorization-server").map_err(|source| {
            AcceptError::BadIdentifier {
                what: "authorization server",
                source,
            }
        })?;
        let as_metadata: AuthorizationServerMetadata = self
            .fetch_json("authorization server metadata", as_url.as_str())
            .await?;
        if as_metadata.issuer != as_id {
            return Err(AcceptError::AuthorizationServerMismatch {
                expected: as_id,
                found: as_metadata.issuer,
            }
            .into());
        }
        Ok(Discovered {
            issuer,
            metadata,
            as_metadata,
            issuer_name,
        })
    }

    /// Requests, verifies and stores every offered credential with `access`.
    pub(crate) async fn receive(
        &self,
        account: &Account,
        offer: &CredentialOffer,
        found: &Discovered,
        access: &mut Access,
        now: i64,
    ) -> Result<Accepted, AppError> {
        let metadata = &found.metadata;
        let issuer = found.issuer.clone();
        let issuer_name = found.issuer_name.clone();
        let configurations = pick_configurations(offer, metadata, self.attestation_alg())?;

        // Everything is requested and verified before anything is stored. With batch
        // issuance, one copy per key: the account's key first, then fresh ones.
        let mut rows = Vec::new();
        let count = super::batch::batch_count(metadata, self.config.batch_size);
        for (config_id, _, vct) in &configurations {
            let fresh = App::copy_keys(count);
            let keys: Vec<&SigningKey> = std::iter::once(&account.key).chain(&fresh).collect();
            let credentials = self
                .request_credential(metadata, access, config_id, &keys, now)
                .await?;
            let mut verified = Vec::new();
            for (index, credential) in credentials.into_iter().enumerate() {
                let (row, key) = self
                    .verify_credential(
                        &keys, account, &issuer, config_id, vct, index, credential, now,
                    )
                    .await?;
                verified.push((key, row));
            }
            let (main, others) = super::batch::sort_batch(verified)?;
            let main = CredentialRow {
                issuer_display_name: issuer_name.clone(),
                ..main
            };
            let copies = if count > 1 {
                let others: Vec<(String, &SigningKey)> = others
                    .into_iter()
                    .map(|(k, row)| (row.raw, keys[k]))
                    .collect();
                self.copy_rows(&main, &others)
            } else {
                Vec::new()
            };
            rows.push((main, copies));
        }
        let mut companion = None;
        if let Some(config_id) = pick_ldp_vc(offer, metadata, self.attestation_alg()) {
            let credentials = self
                .request_credential(metadata, access, &config_id, &[&account.key], now)
                .await?;
            let [credential] = <[Value; 1]>::try_from(credentials).map_err(|c| {
                AcceptError::BadLdpVc(format!(
                    "{} credentials were issued for one key proof",
                    c.len()
                ))
            })?;
            let raw = self
                .verify_ldp_vc(
                    account,
                    &issuer,
                    rows.first().map(|(row, _)| row),
                    &credential,
                )
                .await?;
            companion = Some((config_id, raw));
        }

        let mut received = Vec::new();
        let mut already_held = 0;
        for (i, (row, copies)) in rows.iter().enumerate() {
            if self.store.insert_credential(row).await? {
                self.store.insert_copies(copies).await?;
                self.store
                    .insert_badge_page(&BadgePageRow::new_public(row, now)?)
                    .await?;
                // The image is fetched once, checked and kept with the badge; a refused
                // image leaves the badge without one (the reason is logged).
                if let Ok(claims) = serde_json::from_str::<Value>(&row.claims) {
                    match self.keep_badge_image(&row.id, &claims, now).await {
                        Ok(_) | Err(super::badge_image::ImageError::NoImage) => {}
                        Err(e) => {
                            tracing::warn!(credential = %row.id, error = %e, "badge image not kept");
                        }
                    }
                }
                // Its proof of inclusion in the issuer's public log, fetched and kept now
                // (its pages check it again each time); a badge missing from the log is
                // kept all the same, and its pages say so.
                let logged = self.keep_log_proof(&row.raw).await;
                if logged.failed() {
                    tracing::warn!(credential = %row.id, detail = %logged.detail, "badge not proven in its issuer's log");
                }
                // Each copy of a batch is its own entry: its proof is kept too, so whichever
                // copy is presented, the wallet can name its entry to the verifier.
                for copy in copies.iter().filter(|c| c.raw != row.raw) {
                    let logged = self.keep_log_proof(&copy.raw).await;
                    if logged.failed() {
                        tracing::warn!(credential = %row.id, copy = copy.copy_index, detail = %logged.detail, "badge copy not proven in its issuer's log");
                    }
                }
                // The companion is the same badge as the first SD-JWT VC of the offer.
                if i == 0
                    && let Some((configuration_id, raw)) = companion.take()
                {
                    self.store
                        .insert_companion(&CompanionRow {
                            credential_id: row.id.clone(),
                            format: FORMAT_LDP_VC.into(),
                            configuration_id,
                            raw,
                            received_at: now,
                        })
                        .await?;
                }
            } else {
                already_held += 1;
            }
            received.push(credential_view(row)?);
        }
        Ok(Accepted {
            credential_issuer: issuer,
            issuer_name,
            credentials: received,
            already_held,
        })
    }

    async fn fresh_nonce(
        &self,
        metadata: &CredentialIssuerMetadata,
    ) -> Result<Option<String>, AcceptError> {
        let Some(endpoint) = &metadata.nonce_endpoint else {
            return Ok(None);
        };
        let fetched = self
            .fetcher
            .post_form(endpoint, &[], "application/json")
            .await
            .map_err(|source| AcceptError::Fetch {
                what: "nonce",
                url: endpoint.clone(),
                source,
            })?;
        let nonce: NonceResponse = expect_success("nonce", &fetched)?;
        Ok(Some(nonce.c_nonce))
    }

    /// Nonce, key proof and credential request; on `invalid_nonce`, once more with a
    /// fresh nonce.
    #[expect(clippy::expect_used, reason = "a credential request serialises")]
    async fn request_credential(
        &self,
        metadata: &CredentialIssuerMetadata,
        access: &mut Access,
        config_id: &str,
        keys: &[&SigningKey],
        now: i64,
    ) -> Result<Vec<Value>, AcceptError> {
        let choice = self.proof_choice(metadata, config_id)?;
        let mut retried = false;
        let mut nonce_retried = false;
        loop {
            let nonce = self.fresh_nonce(metadata).await?;
            let proofs = self.proofs(
                metadata,
                &choice,
                keys,
                nonce.as_deref(),
                access.client_id(),
                now,
            );
            // An issuer that encrypts responses gets a fresh key per request (§10).
            let response_key = response_encryption(metadata)
                .map(|enc| (protocol::jose::jwe::EncryptionKey::generate(), enc));
            // A granted identifier replaces the configuration (§8.2).
            let identifier = access.identifier(config_id).map(str::to_owned);
            let request = CredentialRequest {
                credential_configuration_id: identifier.is_none().then(|| config_id.to_owned()),
                credential_identifier: identifier,
                proofs: Some(proofs),
                credential_response_encryption: response_key.as_ref().map(|(key, enc)| {
                    protocol::oid4vci::CredentialResponseEncryption {
                        jwk: key.public_jwk().to_value(),
                        enc: enc.as_str().to_owned(),
                        zip: None,
                    }
                }),
            };
            let body = serde_json::to_value(&request).expect("a credential request serialises");
            let endpoint = &metadata.credential_endpoint;
            let fetched = match access {
                Access::Bearer { token, .. } => {
                    self.fetcher
                        .post_json_bearer(endpoint, &body, token.as_str())
                        .await
                }
                Access::Dpop {
                    token,
                    key,
                    nonce: dpop_nonce,
                    ..
                } => {
                    let proof = dpop_proof(
                        key,
                        endpoint,
                        dpop_nonce.as_deref(),
                        Some(token.as_str()),
                        now,
                    );
                    let fetched = self
                        .fetcher
                        .post_json_authorized(
                            endpoint,
                            &body,
                            "DPoP",
                            token.as_str(),
                            &[(dpop::HEADER_DPOP, &proof)],
                        )
                        .await;
                    if let Ok(f) = &fetched
                        && f.dpop_nonce.is_some()
                    {
                        dpop_nonce.clone_from(&f.dpop_nonce);
                    }
                    fetched
                }
            }
            .map_err(|source| AcceptError::Fetch {
                what: "credential",
                url: metadata.credential_endpoint.clone(),
                source,
            })?;
            let fetched = match &response_key {
                Some((key, _)) => decrypt_response(fetched, key)?,
                None => fetched,
            };
            match expect_success::<CredentialResponse>("credential", &fetched) {
                Err(AcceptError::IssuerError { error, .. })
                    if error == "invalid_nonce" && !retried && nonce.is_some() =>
                {
                    retried = true;
                }
                // RFC 9449 §9: the server wants its nonce in the proof; once more with it.
                Err(AcceptError::IssuerError { error, .. })
                    if error == "use_dpop_nonce" && !nonce_retried =>
                {
                    nonce_retried = true;
                }
                Err(e) => return Err(e),
                Ok(response) => {
                    if response.credentials.is_empty() {
                        return Err(if response.transaction_id.is_some() {
                            AcceptError::Deferred
                        } else {
                            AcceptError::NoCredentials
                        });
                    }
                    return Ok(response
                        .credentials
                        .into_iter()
                        .map(|c| c.credential)
                        .collect());
                }
            }
        }
    }

    /// Verifies the issuer-signed part of an SD-JWT VC of `credential_issuer` (the `index`th
    /// received): `iss` is the credential issuer or its did:web, the issuer key resolves,
    /// and `typ`, signature, digests and validity period hold at `now`. Receiving and the
    /// public badge page check with this same code.
    pub(crate) async fn verify_issuer_signed(
        &self,
        sd: &SdJwt,
        credential_issuer: &str,
        index: usize,
        now: i64,
    ) -> Result<Revealed, AcceptError> {
        let bad = |source| AcceptError::BadCredential { index, source };
        let jws = sd.issuer_jwt().map_err(bad)?;
        let iss = jws
            .claim_str("iss")
            .ok_or(AcceptError::NoIss { index })?
            .to_owned();
        let issuer_did = did_web_from_url(credential_issuer).ok();
        if iss != credential_issuer && Some(&iss) != issuer_did.as_ref() {
            return Err(AcceptError::WrongIss {
                index,
                iss,
                credential_issuer: credential_issuer.to_owned(),
            });
        }
        // With issuer trust anchors an `x5c` chain decides alone (HAIP 1.0 §6.1): it must
        // lead to an anchor and its leaf must name `iss`.
        let anchors = &self.verify_sources.x509_anchors;
        let jwk = match jws.header.get("x5c") {
            Some(x5c) if !anchors.is_empty() => {
                protocol::issuer_key::resolve_x5c(&iss, x5c, anchors, now)
                    .map_err(|source| AcceptError::IssuerKey { index, source })?
                    .0
            }
            _ => self
                .issuer_keys
                .resolve(&iss, jws.kid())
                .await
                .map_err(|source| AcceptError::IssuerKey { index, source })?,
        };
        let key = jwk.verifying_key().map_err(|e| AcceptError::IssuerKey {
            index,
            source: IssuerKeyError::BadKey(e),
        })?;
        let revealed = sd
            .verify(&key, &[TYP_DC_SD_JWT], now, LEEWAY)
            .map_err(bad)?;
        // The badge's own `ld.issuer.id` must name the issuer that signed it.
        let binding = protocol::verify::issuer::binding(
            &iss,
            revealed.claims.get("ld"),
            "SD-JWT VC `iss`, whose key verified the signature",
        );
        if binding.failed() {
            return Err(AcceptError::IssuerBinding {
                index,
                detail: binding.detail,
            });
        }
        Ok(revealed)
    }

    /// Verifies a received `ldp_vc`: a JSON object issued by the credential issuer's
    /// did:web, about this account's holder key (`credentialSubject.id` its did:jwk), the
    /// same achievement as the SD-JWT VC of the offer, and its `eddsa-rdfc-2022` proof by a
    /// key of the issuer's DID document (`assertionMethod`). Returns the JSON text to store.
    pub(crate) async fn verify_ldp_vc(
        &self,
        account: &Account,
        credential_issuer: &str,
        sd_jwt: Option<&CredentialRow>,
        vc: &Value,
    ) -> Result<String, AcceptError> {
        let bad = |m: String| AcceptError::BadLdpVc(m);
        if !vc.is_object() {
            return Err(bad("it is not a JSON object".into()));
        }
        let issuer_did = did_web_from_url(credential_issuer)
            .map_err(|e| bad(format!("the issuer has no did:web: {e}")))?;
        let issuer = issuer_id(vc).ok_or_else(|| bad("it has no `issuer` id".into()))?;
        if issuer != issuer_did {
            return Err(bad(format!(
                "it was issued by {issuer:?}, not by the credential issuer's {issuer_did:?}"
            )));
        }
        let subject = vc.pointer("/credentialSubject/id").and_then(Value::as_str);
        let holder = protocol::did::did_jwk(&account.key.public_jwk());
        if subject != Some(holder.as_str()) {
            return Err(bad(format!(
                "its credentialSubject.id is {subject:?}, not this account's {holder:?}"
            )));
        }
        if let Some(row) = sd_jwt {
            let claims: Value = serde_json::from_str(&row.claims).unwrap_or(Value::Null);
            let pointer = "/credentialSubject/achievement/id";
            let theirs = vc.pointer(pointer).and_then(Value::as_str);
            let ours = claims
                .pointer(&format!("/ld{pointer}"))
                .and_then(Value::as_str);
            if theirs != ours {
                return Err(bad(format!(
                    "its achievement {theirs:?} is not the SD-JWT VC's {ours:?}"
                )));
            }
        }
        let proof = match vc.get("proof") {
            Some(Value::Array(items)) => items.first(),
            other => other,
        };
        let method = proof
            .and_then(|p| p.get("verificationMethod"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("its proof names no verificationMethod".into()))?;
        let (method_did, _) = protocol::did::split_did_url(method)
            .map_err(|e| bad(format!("verificationMethod {method:?}: {e}")))?;
        if method_did != issuer_did {
            return Err(bad(format!(
                "its proof's verificationMethod {method:?} is not a key of the issuer {issuer_did:?}"
            )));
        }
        let key = self
            .dids
            .resolve_key(method, Relationship::AssertionMethod)
            .await
            .map_err(|e| bad(format!("the proof key could not be resolved: {e}")))?;
        protocol::vc::data_integrity::verify(vc, &key, method, &issuer_did)
            .await
            .map_err(|e| bad(e.to_string()))?;
        Ok(vc.to_string())
    }

    /// Verifies one received credential, bound to one of `keys` (the account's first);
    /// returns the row to store and which key it is bound to.
    #[allow(clippy::too_many_arguments)]
    async fn verify_credential(
        &self,
        keys: &[&SigningKey],
        account: &Account,
        credential_issuer: &str,
        config_id: &str,
        vct: &str,
        index: usize,
        credential: Value,
        now: i64,
    ) -> Result<(CredentialRow, usize), AcceptError> {
        let raw = credential
            .as_str()
            .ok_or(AcceptError::CredentialNotAString { index })?
            .to_owned();
        let bad = |source| AcceptError::BadCredential { index, source };
        let sd = SdJwt::parse(&raw).map_err(bad)?;
        if sd.kb_jwt.is_some() {
            return Err(bad(SdJwtError::Malformed(
                "an issued credential must not carry a KB-JWT",
            )));
        }
        let revealed = self
            .verify_issuer_signed(&sd, credential_issuer, index, now)
            .await?;
        let cnf = revealed.cnf_jwk().map_err(bad)?;
        let found = cnf.thumbprint();
        let Some(key) = keys
            .iter()
            .position(|k| k.public_jwk().thumbprint() == found)
        else {
            return Err(AcceptError::WrongHolderKey {
                index,
                expected: keys
                    .iter()
                    .map(|k| k.public_jwk().thumbprint())
                    .collect::<Vec<_>>()
                    .join(", "),
                found,
            });
        };
        let found_vct = revealed.claims.get("vct").and_then(Value::as_str);
        if found_vct != Some(vct) {
            return Err(AcceptError::WrongVct {
                index,
                expected: vct.to_owned(),
                found: found_vct.map(str::to_owned),
            });
        }
        let row = CredentialRow {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: account.id.clone(),
            format: FORMAT_SD_JWT_VC.into(),
            configuration_id: config_id.to_owned(),
            issuer: credential_issuer.to_owned(),
            issuer_display_name: None,
            vct: vct.to_owned(),
            raw_hash: protocol::b64::sha256(&raw),
            raw,
            claims: Value::Object(revealed.claims.clone()).to_string(),
            disclosable: json!(revealed.disclosure_pointers()).to_string(),
            received_at: now,
        };
        Ok((row, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granted_identifiers_replace_their_configuration_in_requests() {
        let token: TokenResponse = serde_json::from_value(json!({
            "access_token": "t", "token_type": "DPoP",
            "authorization_details": [
                {"type": "openid_credential", "credential_configuration_id": "a",
                 "credential_identifiers": ["a.mac", "a.other"]},
                {"type": "openid_credential", "credential_configuration_id": "b"}
            ]
        }))
        .unwrap();
        let identifiers = granted_identifiers(&token);
        assert_eq!(identifiers, vec![("a".to_owned(), "a.mac".to_owned())]);
        let access = Access::Bearer {
            token: "t".into(),
            identifiers,
        };
        assert_eq!(access.identifier("a"), Some("a.mac"));
        // No identifier granted for `b`: requested by its configuration id.
        assert_eq!(access.identifier("b"), None);
        let none: TokenResponse =
            serde_json::from_value(json!({"access_token": "t", "token_type": "Bearer"})).unwrap();
        assert!(granted_identifiers(&none).is_empty());
    }

    fn fetched(status: u16, content_type: &str, body: &str) -> protocol::fetch::Fetched {
        protocol::fetch::Fetched {
            status,
            content_type: Some(content_type.into()),
            body: body.as_bytes().to_vec().into(),
            dpop_nonce: None,
        }
    }

    #[test]
    fn an_encrypted_response_is_opened_and_a_plain_or_foreign_one_refused() {
        use protocol::jose::jwe::{Enc, EncryptionKey, encrypt};
        let key = EncryptionKey::generate();
        let json = r#"{"credentials":[{"credential":"a~"}]}"#;
        let jwe = encrypt(
            json.as_bytes(),
            &key.public_jwk(),
            Enc::A256GCM,
            Some(key.kid()),
        )
        .unwrap();
        let opened = decrypt_response(fetched(200, "application/jwt", &jwe), &key).unwrap();
        assert_eq!(&opened.body[..], json.as_bytes());
        assert_eq!(opened.content_type.as_deref(), Some("application/json"));
        // A plain answer to a request that asked for encryption: a downgrade, refused.
        assert!(matches!(
            decrypt_response(fetched(200, "application/json", json), &key),
            Err(AcceptError::ResponseNotEncrypted { .. })
        ));
        // Encrypted to another key, or altered.
        let other = EncryptionKey::generate();
        assert!(matches!(
            decrypt_response(fetched(200, "application/jwt", &jwe), &other),
            Err(AcceptError::ResponseDecryption(_))
        ));
        let mut altered = jwe.clone();
        altered.pop();
        altered.push(if jwe.ends_with('A') { 'B' } else { 'A' });
        assert!(decrypt_response(fetched(200, "application/jwt", &altered), &key).is_err());
        // Error answers are never encrypted: they pass as they are.
        let err = decrypt_response(
            fetched(400, "application/json", r#"{"error":"invalid_proof"}"#),
            &key,
        )
        .unwrap();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn the_wallet_asks_for_encryption_only_as_the_issuer_offers_it() {
        let mut md: CredentialIssuerMetadata = serde_json::from_value(serde_json::json!({
            "credential_issuer": "https://i.example",
            "credential_endpoint": "https://i.example/credential",
            "credential_configurations_supported": {}
        }))
        .unwrap();
        assert_eq!(response_encryption(&md), None);
        md.credential_response_encryption = Some(
            protocol::oid4vci::metadata::CredentialResponseEncryptionMetadata {
                alg_values_supported: vec!["RSA-OAEP-256".into()],
                enc_values_supported: vec!["A256GCM".into()],
                zip_values_supported: None,
                encryption_required: false,
            },
        );
        assert_eq!(response_encryption(&md), None);
        if let Some(e) = md.credential_response_encryption.as_mut() {
            e.alg_values_supported = vec!["ECDH-ES".into()];
            e.enc_values_supported = vec!["A128GCM".into(), "A256GCM".into()];
        }
        assert_eq!(
            response_encryption(&md),
            Some(protocol::jose::jwe::Enc::A256GCM)
        );
        if let Some(e) = md.credential_response_encryption.as_mut() {
            e.enc_values_supported = vec!["A128CBC-HS256".into()];
        }
        assert_eq!(response_encryption(&md), None);
    }

    #[test]
    fn names_come_in_the_readers_language_else_english_else_the_first() {
        let d = |locale: Option<&str>, name: &str| protocol::oid4vci::metadata::Display {
            name: Some(name.to_owned()),
            locale: locale.map(str::to_owned),
            ..Default::default()
        };
        let both = [
            d(Some("en-US"), "Open Badge"),
            d(Some("ja-JP"), "オープンバッジ"),
        ];
        let name = |ds: &[protocol::oid4vci::metadata::Display], l: &str| {
            display_in(ds, l).and_then(|d| d.name.clone())
        };
        assert_eq!(name(&both, "ja").as_deref(), Some("オープンバッジ"));
        assert_eq!(name(&both, "en").as_deref(), Some("Open Badge"));
        assert_eq!(name(&both, "fr").as_deref(), Some("Open Badge"));
        let german_first = [d(Some("de"), "Abzeichen"), d(None, "Badge")];
        assert_eq!(name(&german_first, "ja").as_deref(), Some("Badge"));
        assert_eq!(name(&german_first[..1], "ja").as_deref(), Some("Abzeichen"));
        assert_eq!(name(&[], "ja"), None);
    }

    /// A badge whose `ld.issuer.id` names another issuer than the one that signed it is
    /// refused on receipt (and so on the public page, which checks the same way), with the
    /// failed check named: `issuer_binding`.
    #[tokio::test]
    async fn a_badge_naming_another_issuer_is_refused_on_receipt() {
        use protocol::keys::{Alg, Signer, SigningKey};
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let url = format!("sqlite://{}/wallet.db", data.display());
        let config = crate::Config::for_dir(data, "http://127.0.0.1:8082".into(), url);
        let (app, _) = App::open(config, protocol::clock::Clock::system())
            .await
            .unwrap();
        let signer = SigningKey::generate(Alg::ES256);
        let iss = protocol::did::did_jwk(&signer.public_jwk());
        let now = app.clock.now();
        let issue = |ld_issuer: &str| {
            let claims = serde_json::json!({
                "iss": iss, "iat": now, "vct": "https://real.example/vct/open-badge-v3",
                "ld": {"issuer": {"id": ld_issuer, "type": ["Profile"], "name": "Real Issuer"}},
            });
            protocol::sd_jwt::issue(
                claims.as_object().unwrap().clone(),
                &[],
                0,
                protocol::jose::header(TYP_DC_SD_JWT, None),
                &signer,
            )
            .unwrap()
        };
        let forged = issue("https://real.example");
        let err = app
            .verify_issuer_signed(&forged, &iss, 0, now)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, AcceptError::IssuerBinding { detail, .. }
                if detail.contains("https://real.example") && detail.contains(&iss)),
            "{err}"
        );
        assert_eq!(err.code(), "invalid_credential");
        // The same signer naming itself is accepted.
        let honest = issue(&iss);
        assert!(
            app.verify_issuer_signed(&honest, &iss, 0, now)
                .await
                .is_ok()
        );
        app.store.db.close().await;
    }

    fn tx(length: Option<u32>, mode: Option<TxCodeInputMode>) -> TxCode {
        TxCode {
            input_mode: mode,
            length,
            description: Some("PIN from the SMS".into()),
        }
    }

    #[test]
    fn tx_code_only_when_asked_and_of_the_right_shape() {
        assert!(check_tx_code(None, None).is_ok());
        assert!(matches!(
            check_tx_code(None, Some("1234")),
            Err(AcceptError::TxCodeNotExpected)
        ));
        let needed = check_tx_code(Some(&tx(Some(6), None)), None).unwrap_err();
        assert!(matches!(needed, AcceptError::TxCodeRequired(_)));
        assert_eq!(
            needed.to_string(),
            "this offer needs a transaction code (PIN): PIN from the SMS (6 digits); pass it with --tx-code / `tx_code`"
        );
        assert!(matches!(
            check_tx_code(Some(&tx(Some(6), None)), Some("12345")),
            Err(AcceptError::TxCodeLength {
                expected: 6,
                found: 5
            })
        ));
        assert!(matches!(
            check_tx_code(
                Some(&tx(None, Some(TxCodeInputMode::Numeric))),
                Some("12a4")
            ),
            Err(AcceptError::TxCodeNotNumeric)
        ));
        assert!(check_tx_code(Some(&tx(None, Some(TxCodeInputMode::Text))), Some("ab-4")).is_ok());
        assert!(check_tx_code(Some(&tx(Some(4), None)), Some("0042")).is_ok());
    }

    fn metadata(configs: Value) -> CredentialIssuerMetadata {
        serde_json::from_value(json!({
            "credential_issuer": "https://issuer.example",
            "credential_endpoint": "https://issuer.example/credential",
            "credential_configurations_supported": configs,
        }))
        .unwrap()
    }

    fn offer(ids: &[&str]) -> CredentialOffer {
        serde_json::from_value(json!({
            "credential_issuer": "https://issuer.example",
            "credential_configuration_ids": ids,
        }))
        .unwrap()
    }

    #[test]
    fn the_offered_name_is_taken_in_the_readers_language_and_cleaned() {
        let named: CredentialOffer = serde_json::from_value(json!({
            "credential_issuer": "https://issuer.example",
            "credential_configuration_ids": ["sd"],
            "akashi_badge_names": [
                {"locale": "en", "name": "Digital Supporter"},
                {"locale": "ja", "name": " デジタル推進委員\u{7}\n"}
            ]
        }))
        .unwrap();
        assert_eq!(
            offered_name(&named, "ja-JP").as_deref(),
            Some("デジタル推進委員")
        );
        assert_eq!(
            offered_name(&named, "en").as_deref(),
            Some("Digital Supporter")
        );
        assert_eq!(
            offered_name(&named, "fr").as_deref(),
            Some("Digital Supporter")
        );
        // Another issuer's offer: no names, the configurations' display names are used.
        assert_eq!(offered_name(&offer(&["sd"]), "ja"), None);
        let long: CredentialOffer = serde_json::from_value(json!({
            "credential_issuer": "https://issuer.example",
            "credential_configuration_ids": ["sd"],
            "akashi_badge_names": [{"locale": "en", "name": "x".repeat(10_000)}, {"locale": "ja", "name": "\n\t"}]
        }))
        .unwrap();
        assert_eq!(
            offered_name(&long, "en").map(|n| n.chars().count()),
            Some(200)
        );
        assert_eq!(offered_name(&long, "ja"), None);
    }

    #[test]
    fn picks_only_sd_jwt_vc_configurations() {
        let md = metadata(json!({
            "sd": {"format": "dc+sd-jwt", "vct": "https://issuer.example/vct/b",
                   "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}}},
            "ldp": {"format": "ldp_vc"},
            "novct": {"format": "dc+sd-jwt"},
            "eddsa": {"format": "dc+sd-jwt", "vct": "v",
                      "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}}}
        }));
        let picked =
            pick_configurations(&offer(&["ldp", "sd"]), &md, protocol::keys::Alg::EdDSA).unwrap();
        assert_eq!(picked.len(), 1);
        assert_eq!(picked[0].0, "sd");
        assert_eq!(picked[0].2, "https://issuer.example/vct/b");
        assert!(matches!(
            pick_configurations(&offer(&["ldp"]), &md, protocol::keys::Alg::EdDSA),
            Err(AcceptError::NoSupportedConfiguration { .. })
        ));
        assert!(matches!(
            pick_configurations(&offer(&["gone"]), &md, protocol::keys::Alg::EdDSA),
            Err(AcceptError::UnknownConfiguration(id)) if id == "gone"
        ));
        assert!(matches!(
            pick_configurations(&offer(&["novct"]), &md, protocol::keys::Alg::EdDSA),
            Err(AcceptError::ConfigurationWithoutVct(_))
        ));
        assert!(matches!(
            pick_configurations(&offer(&["eddsa"]), &md, protocol::keys::Alg::EdDSA),
            Err(AcceptError::ProofType(
                super::super::proof_types::ProofTypeError::ProofAlgNotSupported { .. }
            ))
        ));
    }

    #[test]
    fn picks_the_offered_ldp_vc_beside_the_sd_jwt_vc() {
        let md = metadata(json!({
            "sd": {"format": "dc+sd-jwt", "vct": "v"},
            "jwt": {"format": "jwt_vc_json"},
            "ldp": {"format": "ldp_vc",
                    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}}},
            "ldp_eddsa": {"format": "ldp_vc",
                    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["EdDSA"]}}}
        }));
        assert_eq!(
            pick_ldp_vc(
                &offer(&["sd", "jwt", "ldp"]),
                &md,
                protocol::keys::Alg::EdDSA
            )
            .as_deref(),
            Some("ldp")
        );
        assert_eq!(
            pick_ldp_vc(&offer(&["sd", "jwt"]), &md, protocol::keys::Alg::EdDSA),
            None
        );
        assert_eq!(
            pick_ldp_vc(
                &offer(&["sd", "ldp_eddsa"]),
                &md,
                protocol::keys::Alg::EdDSA
            ),
            None
        );
        assert_eq!(
            pick_ldp_vc(&offer(&["sd", "gone"]), &md, protocol::keys::Alg::EdDSA),
            None
        );
    }

    #[tokio::test]
    async fn a_received_ldp_vc_must_be_the_issuers_about_this_holder_and_this_badge() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::Config::for_dir(
            dir.path().to_path_buf(),
            "http://127.0.0.1:0".into(),
            format!("sqlite://{}/wallet.db", dir.path().display()),
        );
        let (app, _) = App::open(config, protocol::clock::Clock::system())
            .await
            .unwrap();
        let account = app.ensure_account("default", 0).await.unwrap();
        let issuer = "https://issuer.example";
        let did = "did:web:issuer.example";
        let holder = protocol::did::did_jwk(&account.key.public_jwk());
        let sd_jwt = CredentialRow {
            id: "c".into(),
            account_id: account.id.clone(),
            format: FORMAT_SD_JWT_VC.into(),
            configuration_id: "sd".into(),
            issuer: issuer.into(),
            issuer_display_name: None,
            vct: "v".into(),
            raw: String::new(),
            raw_hash: String::new(),
            claims: json!({"ld": {"credentialSubject": {"achievement": {"id": "urn:a:1"}}}})
                .to_string(),
            disclosable: "[]".into(),
            received_at: 0,
        };
        let vc = |issuer_id: &str, subject: &str, achievement: &str, method: &str| {
            json!({
                "issuer": {"id": issuer_id},
                "credentialSubject": {"id": subject, "achievement": {"id": achievement}},
                "proof": [{"verificationMethod": method}]
            })
        };
        let reason = |r: Result<String, AcceptError>| match r {
            Err(AcceptError::BadLdpVc(reason)) => reason,
            other => panic!("expected a refused ldp_vc, got {other:?}"),
        };
        let check = |v: Value| {
            let app = app.clone();
            let account = &account;
            let sd_jwt = &sd_jwt;
            async move { app.verify_ldp_vc(account, issuer, Some(sd_jwt), &v).await }
        };
        let key = format!("{did}#key-3");
        assert!(reason(check(json!("a string")).await).contains("not a JSON object"));
        assert!(
            reason(check(vc("did:web:evil.example", &holder, "urn:a:1", &key)).await)
                .contains("not by the credential issuer's")
        );
        assert!(
            reason(check(vc(did, "did:jwk:someone-else", "urn:a:1", &key)).await)
                .contains("credentialSubject.id")
        );
        assert!(
            reason(check(vc(did, &holder, "urn:a:2", &key)).await).contains("not the SD-JWT VC's")
        );
        assert!(
            reason(check(vc(did, &holder, "urn:a:1", "did:web:evil.example#k")).await)
                .contains("is not a key of the issuer")
        );
    }

    #[test]
    fn issuer_errors_are_surfaced_with_code_and_description() {
        let fetched = Fetched {
            status: 400,
            content_type: Some("application/json".into()),
            body: bytes::Bytes::from_static(
                br#"{"error":"invalid_grant","error_description":"tx_code is wrong (4 attempts left)"}"#,
            ),
            dpop_nonce: None,
        };
        let err = expect_success::<TokenResponse>("token", &fetched).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the issuer's token endpoint answered 400 invalid_grant: tx_code is wrong (4 attempts left)"
        );
        let html = Fetched {
            status: 500,
            content_type: None,
            body: bytes::Bytes::from_static(b"<html>oops</html>"),
            dpop_nonce: None,
        };
        assert!(matches!(
            expect_success::<TokenResponse>("token", &html),
            Err(AcceptError::UnexpectedResponse { status: 500, .. })
        ));
    }
}
