//! Decentralized identifiers: did:key, did:jwk and did:web (see `spec/did.md` §1–§3), and
//! the resolution of a DID URL to a public key under a verification relationship
//! (DID Core 1.0 §5.3, §7.2; Controlled Identifiers 1.0 §2.2 for `Multikey` / `JsonWebKey`).
//!
//! did:key and did:jwk resolve locally; did:web goes through the guarded [`Fetcher`] and a
//! small TTL cache. Resolved documents are untrusted input: key material is parsed by
//! [`Jwk`], which refuses private members, and a key is returned only when the requested
//! relationship (`assertionMethod`, `authentication`) references it.

mod jwk;
mod key;
mod web;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cache::TtlCache;
use crate::fetch::{FetchError, HttpGet};
use crate::keys::Jwk;

pub use jwk::{did_jwk, parse_did_jwk};
pub use key::{did_key, multibase_key, parse_did_key, parse_multibase_key};
pub use web::{did_web_document, did_web_document_url, did_web_from_url};

/// Why a DID could not be resolved to a key; each variant names the failed check.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DidError {
    #[error("DID method of {did:?} is not supported (did:key, did:jwk and did:web are)")]
    UnsupportedMethod { did: String },
    #[error("malformed DID {did:?}: {reason}")]
    Malformed { did: String, reason: String },
    #[error("DID document id is {found:?}, expected {expected:?}")]
    DocumentIdMismatch { expected: String, found: String },
    #[error("DID document of {did} is malformed: {reason}")]
    BadDocument { did: String, reason: String },
    #[error("verification method {id} not found in the DID document")]
    MethodNotFound { id: String },
    #[error("verification method {id} is not authorised for {relationship}")]
    NotAuthorised {
        id: String,
        relationship: Relationship,
    },
    #[error("verification method {id} has controller {controller:?}, not the DID itself")]
    ControllerMismatch { id: String, controller: String },
    #[error("{did} has {count} keys under {relationship}, expected exactly one")]
    NotSingleKey {
        did: String,
        relationship: Relationship,
        count: usize,
    },
    #[error("fetching the DID document failed: {0}")]
    Fetch(#[from] FetchError),
    #[error("key of verification method {id} is unusable: {reason}")]
    BadKey { id: String, reason: String },
}

/// Verification relationships a key may be used under (DID Core §5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// Issuing credentials: the only relationship whose keys verify credential signatures.
    AssertionMethod,
    /// Proving control of the DID (presentations, key proofs).
    Authentication,
}

impl Relationship {
    /// The DID document property name.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::AssertionMethod => "assertionMethod",
            Relationship::Authentication => "authentication",
        }
    }
}

impl std::fmt::Display for Relationship {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verification method (DID Core §5.2). Key material stays as received until
/// [`VerificationMethod::jwk`] parses and checks it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerificationMethod {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    #[serde(
        rename = "publicKeyJwk",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub public_key_jwk: Option<serde_json::Value>,
    #[serde(
        rename = "publicKeyMultibase",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub public_key_multibase: Option<String>,
}

impl VerificationMethod {
    /// The public key as a JWK, with `kid` set to this method's id.
    ///
    /// `JsonWebKey` / `JsonWebKey2020` carry `publicKeyJwk`; `Multikey` and
    /// `Ed25519VerificationKey2020` carry `publicKeyMultibase` (Ed25519 or P-256).
    pub fn jwk(&self) -> Result<Jwk, DidError> {
        let bad = |reason: String| DidError::BadKey {
            id: self.id.clone(),
            reason,
        };
        let jwk = match self.type_.as_str() {
            "JsonWebKey" | "JsonWebKey2020" => {
                if self.public_key_multibase.is_some() {
                    return Err(bad("both publicKeyJwk and publicKeyMultibase".into()));
                }
                let value = self
                    .public_key_jwk
                    .as_ref()
                    .ok_or_else(|| bad("no publicKeyJwk".into()))?;
                Jwk::from_value(value).map_err(|e| bad(e.to_string()))?
            }
            "Multikey" | "Ed25519VerificationKey2020" => {
                if self.public_key_jwk.is_some() {
                    return Err(bad("both publicKeyJwk and publicKeyMultibase".into()));
                }
                let mb = self
                    .public_key_multibase
                    .as_deref()
                    .ok_or_else(|| bad("no publicKeyMultibase".into()))?;
                let jwk = parse_multibase_key(mb).map_err(|e| bad(e.to_string()))?;
                if self.type_ == "Ed25519VerificationKey2020" && jwk.crv != "Ed25519" {
                    return Err(bad(
                        "Ed25519VerificationKey2020 holds a non-Ed25519 key".into()
                    ));
                }
                jwk
            }
            other => {
                return Err(bad(format!(
                    "verification method type {other:?} is not supported"
                )));
            }
        };
        let mut jwk = jwk.public_only();
        jwk.kid = Some(self.id.clone());
        Ok(jwk)
    }
}

/// A relationship entry: a reference to a method by id, or a method embedded in place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MethodRef {
    Id(String),
    Embedded(VerificationMethod),
}

impl MethodRef {
    fn id(&self) -> &str {
        match self {
            MethodRef::Id(id) => id,
            MethodRef::Embedded(vm) => &vm.id,
        }
    }
}

/// The parts of a DID document (DID Core §5) that key resolution uses; other members are
/// ignored. Relative ids (`#key-1`) are made absolute against `id` when parsed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DidDocument {
    pub id: String,
    #[serde(rename = "verificationMethod", default)]
    pub verification_method: Vec<VerificationMethod>,
    #[serde(rename = "assertionMethod", default)]
    pub assertion_method: Vec<MethodRef>,
    #[serde(default)]
    pub authentication: Vec<MethodRef>,
}

impl DidDocument {
    /// Parses an untrusted document and makes its relative ids absolute.
    pub fn from_json(did: &str, body: &[u8]) -> Result<Self, DidError> {
        let mut doc: DidDocument =
            serde_json::from_slice(body).map_err(|e| DidError::BadDocument {
                did: did.to_owned(),
                reason: e.to_string(),
            })?;
        let base = doc.id.clone();
        let absolute = |id: &mut String| {
            if id.starts_with('#') {
                *id = format!("{base}{id}");
            }
        };
        for vm in &mut doc.verification_method {
            absolute(&mut vm.id);
        }
        for r in doc
            .assertion_method
            .iter_mut()
            .chain(doc.authentication.iter_mut())
        {
            match r {
                MethodRef::Id(id) => absolute(id),
                MethodRef::Embedded(vm) => absolute(&mut vm.id),
            }
        }
        Ok(doc)
    }

    fn relationship(&self, relationship: Relationship) -> &[MethodRef] {
        match relationship {
            Relationship::AssertionMethod => &self.assertion_method,
            Relationship::Authentication => &self.authentication,
        }
    }

    /// The method `id` (an absolute DID URL), if `relationship` references or embeds it.
    pub fn method_for(
        &self,
        id: &str,
        relationship: Relationship,
    ) -> Result<&VerificationMethod, DidError> {
        let listed = self
            .relationship(relationship)
            .iter()
            .find(|r| r.id() == id);
        let vm = match listed {
            Some(MethodRef::Embedded(vm)) => vm,
            Some(MethodRef::Id(_)) => self
                .verification_method
                .iter()
                .find(|vm| vm.id == id)
                .ok_or_else(|| DidError::MethodNotFound { id: id.to_owned() })?,
            None => {
                let known = self.verification_method.iter().any(|vm| vm.id == id)
                    || [Relationship::AssertionMethod, Relationship::Authentication]
                        .iter()
                        .any(|r| self.relationship(*r).iter().any(|m| m.id() == id));
                return Err(if known {
                    DidError::NotAuthorised {
                        id: id.to_owned(),
                        relationship,
                    }
                } else {
                    DidError::MethodNotFound { id: id.to_owned() }
                });
            }
        };
        // A key the document lists for someone else is not this DID's key.
        if let Some(controller) = &vm.controller
            && controller != &self.id
        {
            return Err(DidError::ControllerMismatch {
                id: id.to_owned(),
                controller: controller.clone(),
            });
        }
        Ok(vm)
    }

    /// The key of method `id` under `relationship`.
    pub fn key_for(&self, id: &str, relationship: Relationship) -> Result<Jwk, DidError> {
        self.method_for(id, relationship)?.jwk()
    }

    /// The only key under `relationship`, for a DID used without a key id.
    pub fn single_key(&self, relationship: Relationship) -> Result<Jwk, DidError> {
        match self.relationship(relationship) {
            [only] => self.key_for(only.id(), relationship),
            refs => Err(DidError::NotSingleKey {
                did: self.id.clone(),
                relationship,
                count: refs.len(),
            }),
        }
    }

    /// A document with one method, referenced from `relationships`.
    fn single(did: &str, vm: VerificationMethod, relationships: &[Relationship]) -> Self {
        let reference = || MethodRef::Id(vm.id.clone());
        let has = |r| relationships.contains(&r);
        DidDocument {
            id: did.to_owned(),
            assertion_method: if has(Relationship::AssertionMethod) {
                vec![reference()]
            } else {
                vec![]
            },
            authentication: if has(Relationship::Authentication) {
                vec![reference()]
            } else {
                vec![]
            },
            verification_method: vec![vm],
        }
    }
}

/// Splits a DID URL into the DID and its fragment; paths and queries are refused.
pub fn split_did_url(did_url: &str) -> Result<(&str, Option<&str>), DidError> {
    let malformed = |reason: &str| DidError::Malformed {
        did: did_url.to_owned(),
        reason: reason.to_owned(),
    };
    let (did, fragment) = match did_url.split_once('#') {
        Some((did, fragment)) => (did, Some(fragment)),
        None => (did_url, None),
    };
    if did.contains(['/', '?']) {
        return Err(malformed("DID URL paths and queries are not supported"));
    }
    if fragment.is_some_and(str::is_empty) {
        return Err(malformed("empty fragment"));
    }
    Ok((did, fragment))
}

const CACHE_TTL: Duration = Duration::from_secs(300);
const CACHE_MAX: usize = 256;

/// Resolves DIDs to documents and DID URLs to keys. Clones share the did:web cache.
#[derive(Clone, Debug)]
pub struct DidResolver {
    http: Arc<dyn HttpGet>,
    cache: Arc<TtlCache<String, Arc<WebDocument>, Instant>>,
    ttl: Duration,
}

/// A did:web document as cached, with the keys found in it so far (each parsed once while
/// the document is kept: a verifier resolves the same issuer key for every presentation).
#[derive(Debug)]
struct WebDocument {
    doc: DidDocument,
    /// By DID URL: the key and the relationship it was found under.
    keys: std::sync::Mutex<std::collections::HashMap<String, Vec<(Relationship, Jwk)>>>,
}

impl WebDocument {
    fn key_for(&self, did_url: &str, relationship: Relationship) -> Result<Jwk, DidError> {
        let mut keys = self
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, jwk)) = keys
            .get(did_url)
            .and_then(|found| found.iter().find(|(r, _)| *r == relationship))
        {
            return Ok(jwk.clone());
        }
        // Only keys found are kept: at most the document's methods, under each relationship.
        let jwk = self.doc.key_for(did_url, relationship)?;
        keys.entry(did_url.to_owned())
            .or_default()
            .push((relationship, jwk.clone()));
        Ok(jwk)
    }
}

impl DidResolver {
    /// A resolver fetching did:web documents through `http`, caching them 5 minutes.
    pub fn new(http: impl HttpGet + 'static) -> Self {
        Self::with_ttl(http, CACHE_TTL)
    }

    /// As [`DidResolver::new`] with another cache lifetime (zero disables caching).
    pub fn with_ttl(http: impl HttpGet + 'static, ttl: Duration) -> Self {
        DidResolver {
            http: Arc::new(http),
            cache: Arc::new(TtlCache::new(CACHE_MAX)),
            ttl,
        }
    }

    /// Resolves a DID (no fragment) to its document.
    pub async fn resolve(&self, did: &str) -> Result<DidDocument, DidError> {
        if let (_, Some(_)) = split_did_url(did)? {
            return Err(DidError::Malformed {
                did: did.to_owned(),
                reason: "a DID has no fragment".into(),
            });
        }
        if did.starts_with("did:key:") {
            key::resolve(did)
        } else if did.starts_with("did:jwk:") {
            jwk::resolve(did)
        } else if did.starts_with("did:web:") {
            self.resolve_web(did).await
        } else if did.starts_with("did:") {
            Err(DidError::UnsupportedMethod {
                did: did.to_owned(),
            })
        } else {
            Err(DidError::Malformed {
                did: did.to_owned(),
                reason: "does not start with `did:`".into(),
            })
        }
    }

    /// Resolves a DID URL with a fragment (`did:…#key-1`) to the key it names, provided
    /// the document references it under `relationship`.
    pub async fn resolve_key(
        &self,
        did_url: &str,
        relationship: Relationship,
    ) -> Result<Jwk, DidError> {
        let (did, fragment) = split_did_url(did_url)?;
        if fragment.is_none() {
            return Err(DidError::Malformed {
                did: did_url.to_owned(),
                reason: "a key reference needs a fragment".into(),
            });
        }
        if did.starts_with("did:web:") {
            return self.web_document(did).await?.key_for(did_url, relationship);
        }
        let doc = self.resolve(did).await?;
        doc.key_for(did_url, relationship)
    }

    async fn resolve_web(&self, did: &str) -> Result<DidDocument, DidError> {
        Ok(self.web_document(did).await?.doc.clone())
    }

    async fn web_document(&self, did: &str) -> Result<Arc<WebDocument>, DidError> {
        if let Some(doc) = self.cached(did) {
            return Ok(doc);
        }
        let url = did_web_document_url(did, self.http.allow_loopback())?;
        let fetched = self
            .http
            .get(url.as_str(), "application/did+json, application/json")
            .await?;
        let doc = DidDocument::from_json(did, &fetched.body)?;
        if doc.id != did {
            return Err(DidError::DocumentIdMismatch {
                expected: did.to_owned(),
                found: doc.id,
            });
        }
        let doc = Arc::new(WebDocument {
            doc,
            keys: std::sync::Mutex::default(),
        });
        self.store(did, &doc);
        Ok(doc)
    }

    fn cached(&self, did: &str) -> Option<Arc<WebDocument>> {
        self.cache.get(did, Instant::now())
    }

    fn store(&self, did: &str, doc: &Arc<WebDocument>) {
        let now = Instant::now();
        if let Some(until) = now.checked_add(self.ttl) {
            self.cache.put(did.to_owned(), doc.clone(), until, now);
        }
    }
}

#[cfg(test)]
mod tests;
