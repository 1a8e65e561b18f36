//! Credential Offer (OpenID4VCI §4.1) and the links that carry it (§4.1.1–§4.1.3).
//!
//! An offer travels by value (`credential_offer=<json>`) or by reference
//! (`credential_offer_uri=<https URL>`), as the query of an `openid-credential-offer://`
//! link or of any `https` link a wallet serves (its receive page). Exactly one of the two
//! parameters must be present.

use serde::{Deserialize, Serialize};
use url::Url;

use super::is_secure_origin;

/// The grant type of the pre-authorized code flow (§4.1.1).
pub const GRANT_TYPE_PRE_AUTHORIZED_CODE: &str =
    "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The grant type of the authorization code flow (RFC 6749 §4.1).
pub const GRANT_TYPE_AUTHORIZATION_CODE: &str = "authorization_code";
/// The custom scheme of offer links (§4.1), ready to take a query.
pub const OFFER_SCHEME: &str = "openid-credential-offer://";

/// A pre-authorized code (§4.1.1): short-lived, single use, a secret until redeemed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct PreAuthorizedCode(pub String);

impl PreAuthorizedCode {
    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PreAuthorizedCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreAuthorizedCode(***)")
    }
}

/// A Credential Offer (§4.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialOffer {
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// Keys of `credential_configurations_supported`; non-empty.
    pub credential_configuration_ids: Vec<String>,
    /// The grants the wallet may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Grants>,
    /// The offered badge's name per language, as the issuer names it, for the wallet to
    /// show before the badge arrives (the credential's own name is what counts once it
    /// does). An Akashi extension: §4.1.1 has wallets ignore parameters they do not know.
    #[serde(
        rename = "akashi_badge_names",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub badge_names: Vec<OfferedName>,
}

/// A name of the offered badge in one language ([`CredentialOffer::badge_names`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferedName {
    /// A BCP 47 language tag: `en`, `ja`.
    pub locale: String,
    pub name: String,
}

/// The `grants` object of an offer (§4.1.1), keyed by grant type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grants {
    /// The authorization code grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
    /// The pre-authorized code grant.
    #[serde(
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
}

/// `grants.authorization_code` (§4.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizationCodeGrant {
    /// Opaque value to pass back in the Authorization Request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// Which of the issuer's `authorization_servers` to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// `grants["urn:ietf:params:oauth:grant-type:pre-authorized_code"]` (§4.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreAuthorizedCodeGrant {
    /// The pre-authorized code.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: PreAuthorizedCode,
    /// Present (even `{}`) iff the Token Request must carry a `tx_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
    /// Which of the issuer's `authorization_servers` to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// `tx_code`: the description of the Transaction Code the wallet must ask for (§4.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxCode {
    /// `numeric` (the default) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<TxCodeInputMode>,
    /// The code length, to help the wallet render an input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Where the user finds the code (at most 300 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `tx_code.input_mode` (§4.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TxCodeInputMode {
    /// Digits only.
    #[default]
    Numeric,
    /// Any characters.
    Text,
}

/// Why an offer link was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OfferError {
    #[error("offer link is not a URL: {0}")]
    NotAUrl(url::ParseError),
    #[error("offer link scheme {0:?} is neither `openid-credential-offer` nor https")]
    UnsupportedScheme(String),
    #[error("offer link has neither `credential_offer` nor `credential_offer_uri`")]
    NoOffer,
    #[error("offer link has both `credential_offer` and `credential_offer_uri`")]
    BothOfferParameters,
    #[error("offer link repeats the `{0}` parameter")]
    RepeatedParameter(&'static str),
    #[error("`credential_offer` is not a valid Credential Offer: {0}")]
    BadOfferJson(String),
    #[error("`credential_offer_uri` is not an https URL: {0:?}")]
    BadOfferUri(String),
    #[error("offer has no `credential_configuration_ids`")]
    NoConfigurations,
    #[error("link base {0:?} cannot carry a query")]
    BadBase(String),
}

/// An offer as found in a link: the offer itself, or where to fetch it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferRef {
    /// `credential_offer=<json>`.
    ByValue(CredentialOffer),
    /// `credential_offer_uri=<url>`: GET it for `application/json`.
    ByReference(Url),
}

impl OfferRef {
    /// Parses an `openid-credential-offer://?…` link or an `https://…?…` wallet link.
    pub fn parse(text: &str) -> Result<OfferRef, OfferError> {
        let url = Url::parse(text.trim()).map_err(OfferError::NotAUrl)?;
        if url.scheme() != "openid-credential-offer" && !is_secure_origin(&url) {
            return Err(OfferError::UnsupportedScheme(url.scheme().to_owned()));
        }
        let (mut by_value, mut by_ref) = (None, None);
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "credential_offer" if by_value.is_some() => {
                    return Err(OfferError::RepeatedParameter("credential_offer"));
                }
                "credential_offer" => by_value = Some(value.into_owned()),
                "credential_offer_uri" if by_ref.is_some() => {
                    return Err(OfferError::RepeatedParameter("credential_offer_uri"));
                }
                "credential_offer_uri" => by_ref = Some(value.into_owned()),
                _ => {}
            }
        }
        match (by_value, by_ref) {
            (Some(_), Some(_)) => Err(OfferError::BothOfferParameters),
            (None, None) => Err(OfferError::NoOffer),
            (Some(json), None) => {
                let offer: CredentialOffer = serde_json::from_str(&json)
                    .map_err(|e| OfferError::BadOfferJson(e.to_string()))?;
                offer.check()?;
                Ok(OfferRef::ByValue(offer))
            }
            (None, Some(uri)) => match Url::parse(&uri) {
                Ok(u) if is_secure_origin(&u) => Ok(OfferRef::ByReference(u)),
                _ => Err(OfferError::BadOfferUri(uri)),
            },
        }
    }
}

impl CredentialOffer {
    /// Checks what serde cannot: at least one credential configuration is offered.
    pub fn check(&self) -> Result<(), OfferError> {
        if self.credential_configuration_ids.is_empty() {
            return Err(OfferError::NoConfigurations);
        }
        Ok(())
    }

    /// The authorization code grant, if offered.
    pub fn authorization_code(&self) -> Option<&AuthorizationCodeGrant> {
        self.grants.as_ref()?.authorization_code.as_ref()
    }

    /// The pre-authorized code grant, if offered.
    pub fn pre_authorized(&self) -> Option<&PreAuthorizedCodeGrant> {
        self.grants.as_ref()?.pre_authorized_code.as_ref()
    }
}

fn with_query(base: &str, name: &str, value: &str) -> Result<Url, OfferError> {
    let mut url = Url::parse(base).map_err(|_| OfferError::BadBase(base.to_owned()))?;
    if url.cannot_be_a_base() {
        return Err(OfferError::BadBase(base.to_owned()));
    }
    url.query_pairs_mut().append_pair(name, value);
    Ok(url)
}

/// `<base>?credential_offer_uri=<uri>`; `base` is [`OFFER_SCHEME`] or a wallet's https
/// receive page.
pub fn offer_uri_by_reference(scheme_or_base: &str, uri: &Url) -> Result<Url, OfferError> {
    with_query(scheme_or_base, "credential_offer_uri", uri.as_str())
}

/// `<base>?credential_offer=<json>`; `base` is [`OFFER_SCHEME`] or a wallet's https
/// receive page.
#[expect(clippy::expect_used, reason = "an offer serialises")]
pub fn offer_uri_by_value(
    scheme_or_base: &str,
    offer: &CredentialOffer,
) -> Result<Url, OfferError> {
    let json = serde_json::to_string(offer).expect("an offer serialises");
    with_query(scheme_or_base, "credential_offer", &json)
}
