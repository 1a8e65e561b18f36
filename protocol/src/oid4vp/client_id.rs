//! Client Identifiers and their prefixes (OpenID4VP §5.9).
//!
//! The full string, prefix included, is what presentations are bound to (`aud` of a KB-JWT,
//! `domain` of a Data Integrity proof), so [`ClientId`] keeps it next to the parsed prefix.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::b64;

/// A parsed `client_id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId {
    raw: String,
    prefix: ClientIdPrefix,
}

/// The Client Identifier Prefix and the identifier after it (§5.9.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClientIdPrefix {
    /// No `:`: a client known to the wallet in advance.
    PreRegistered,
    /// `redirect_uri:<uri>`: unsigned requests only.
    RedirectUri(Url),
    /// `x509_san_dns:<dns name>`.
    X509SanDns(String),
    /// `x509_hash:<base64url SHA-256 of the leaf certificate>`.
    X509Hash(String),
    /// `decentralized_identifier:<did>`.
    DecentralizedIdentifier(String),
    /// `verifier_attestation:<sub of the attestation>`.
    VerifierAttestation(String),
    /// `openid_federation:<entity id>`.
    OpenidFederation(String),
}

/// Why a `client_id` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientIdError {
    #[error("client_id is empty")]
    Empty,
    #[error("client_id prefix `origin:` is reserved for the Digital Credentials API")]
    OriginPrefix,
    #[error("client_id prefix {0:?} is not supported")]
    UnknownPrefix(String),
    #[error("client_id has prefix `{0}:` but nothing after it")]
    EmptyIdentifier(&'static str),
    #[error("`redirect_uri:` client_id is not a URL: {0}")]
    BadRedirectUri(String),
    #[error("`decentralized_identifier:` client_id is not a DID: {0}")]
    NotADid(String),
    #[error("`x509_hash:` client_id is not a base64url SHA-256 digest: {0}")]
    BadX509Hash(String),
}

impl ClientId {
    /// Parses a `client_id`.
    pub fn parse(raw: &str) -> Result<Self, ClientIdError> {
        if raw.is_empty() {
            return Err(ClientIdError::Empty);
        }
        let Some((prefix, id)) = raw.split_once(':') else {
            return Ok(ClientId {
                raw: raw.to_owned(),
                prefix: ClientIdPrefix::PreRegistered,
            });
        };
        let name: &'static str = match prefix {
            "redirect_uri" => "redirect_uri",
            "x509_san_dns" => "x509_san_dns",
            "x509_hash" => "x509_hash",
            "decentralized_identifier" => "decentralized_identifier",
            "verifier_attestation" => "verifier_attestation",
            "openid_federation" => "openid_federation",
            "origin" => return Err(ClientIdError::OriginPrefix),
            other => return Err(ClientIdError::UnknownPrefix(other.to_owned())),
        };
        if id.is_empty() {
            return Err(ClientIdError::EmptyIdentifier(name));
        }
        let parsed = match name {
            "redirect_uri" => ClientIdPrefix::RedirectUri(
                Url::parse(id).map_err(|_| ClientIdError::BadRedirectUri(id.to_owned()))?,
            ),
            "x509_san_dns" => ClientIdPrefix::X509SanDns(id.to_owned()),
            "x509_hash" => match b64::decode(id) {
                Ok(bytes) if bytes.len() == 32 => ClientIdPrefix::X509Hash(id.to_owned()),
                _ => return Err(ClientIdError::BadX509Hash(id.to_owned())),
            },
            "decentralized_identifier" => {
                let mut parts = id.splitn(3, ':');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some("did"), Some(method), Some(rest))
                        if !method.is_empty() && !rest.is_empty() =>
                    {
                        ClientIdPrefix::DecentralizedIdentifier(id.to_owned())
                    }
                    _ => return Err(ClientIdError::NotADid(id.to_owned())),
                }
            }
            "verifier_attestation" => ClientIdPrefix::VerifierAttestation(id.to_owned()),
            _ => ClientIdPrefix::OpenidFederation(id.to_owned()),
        };
        Ok(ClientId {
            raw: raw.to_owned(),
            prefix: parsed,
        })
    }

    /// `decentralized_identifier:<did>`.
    pub fn did(did: &str) -> Result<Self, ClientIdError> {
        Self::parse(&format!("decentralized_identifier:{did}"))
    }

    /// The full string, prefix included: the audience of presentations.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed prefix.
    pub fn prefix(&self) -> &ClientIdPrefix {
        &self.prefix
    }

    /// Whether requests from this client must be signed (§5.9.3).
    pub fn requires_signed_request(&self) -> bool {
        !matches!(
            self.prefix,
            ClientIdPrefix::PreRegistered | ClientIdPrefix::RedirectUri(_)
        )
    }
}

impl TryFrom<String> for ClientId {
    type Error = ClientIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ClientId::parse(&value)
    }
}

impl From<ClientId> for String {
    fn from(value: ClientId) -> Self {
        value.raw
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}
