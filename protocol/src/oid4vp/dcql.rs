//! Digital Credentials Query Language (OpenID4VP 1.0 §6, claims path pointers §7):
//! the query types, their validation, the wallet's selection of credentials and the
//! verifier's check of a `vp_token` against the query.
//!
//! Both sides work on [`Candidate`]s: a credential reduced to its format, type and fully
//! revealed claims. The wallet passes every stored credential; the verifier passes what it
//! verified from each presentation (disclosed claims only).

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// Formats whose `meta` must carry `type_values` (W3C VCs, Appendix B.1).
const W3C_FORMATS: [&str; 3] = ["jwt_vc_json", "jwt_vc_json-ld", "ldp_vc"];

/// A DCQL query (§6.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DcqlQuery {
    /// The credentials requested.
    pub credentials: Vec<CredentialQuery>,
    /// Which combinations of credentials satisfy the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// A Credential Query (§6.1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CredentialQuery {
    /// `[A-Za-z0-9_-]+`, unique; the key of the answer in `vp_token`.
    pub id: String,
    /// The credential format identifier.
    pub format: String,
    /// Format-specific constraints (may be `{}`).
    pub meta: Meta,
    /// Whether several credentials may answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multiple: bool,
    /// The claims requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Vec<ClaimsQuery>>,
    /// Acceptable combinations of claim ids, most preferred first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_sets: Option<Vec<Vec<String>>>,
    /// Accepted issuers or trust frameworks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_authorities: Option<Vec<TrustedAuthoritiesQuery>>,
    /// Whether a holder binding proof is required (default true).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub require_cryptographic_holder_binding: bool,
}

fn default_true() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// `meta` of a Credential Query (§6.1, Appendix B).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// `dc+sd-jwt`: accepted `vct` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct_values: Option<Vec<String>>,
    /// W3C formats: accepted type sets (fully expanded IRIs); one set must be a subset of
    /// the credential's types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_values: Option<Vec<Vec<String>>>,
    /// `mso_mdoc`: the document type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype_value: Option<String>,
    /// Other members, kept for other formats.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A Trusted Authorities Query (§6.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedAuthoritiesQuery {
    /// `aki`, `etsi_tl`, `openid_federation`, …
    #[serde(rename = "type")]
    pub type_: String,
    /// Accepted authorities.
    pub values: Vec<String>,
}

/// A Credential Set Query (§6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSetQuery {
    /// Alternatives, each a list of Credential Query ids, most preferred first.
    pub options: Vec<Vec<String>>,
    /// Whether the set must be satisfied (default true).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub required: bool,
}

/// A Claims Query (§6.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimsQuery {
    /// Required when `claim_sets` is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where the claim is.
    pub path: ClaimsPath,
    /// Accepted values (scalars); absent ⇒ any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// A claims path pointer (§7): keys, array indexes and "all elements".
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimsPath(pub Vec<PathElement>);

/// One component of a claims path pointer (§7.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// A string: an object member.
    Key(String),
    /// A non-negative integer: an array element.
    Index(usize),
    /// `null`: every element of an array.
    All,
}

impl Serialize for PathElement {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PathElement::Key(k) => serializer.serialize_str(k),
            PathElement::Index(i) => serializer.serialize_u64(*i as u64),
            PathElement::All => serializer.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for PathElement {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ElementVisitor;
        impl<'de> Visitor<'de> for ElementVisitor {
            type Value = PathElement;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a non-negative integer or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PathElement, E> {
                Ok(PathElement::Key(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PathElement, E> {
                usize::try_from(v)
                    .map(PathElement::Index)
                    .map_err(|_| E::custom("array index too large"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PathElement, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("array index must not be negative"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<PathElement, E> {
                Ok(PathElement::All)
            }
            fn visit_none<E: de::Error>(self) -> Result<PathElement, E> {
                Ok(PathElement::All)
            }
        }
        deserializer.deserialize_any(ElementVisitor)
    }
}

impl fmt::Display for ClaimsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match e {
                PathElement::Key(k) => write!(f, "{k:?}")?,
                PathElement::Index(n) => write!(f, "{n}")?,
                PathElement::All => f.write_str("null")?,
            }
        }
        f.write_str("]")
    }
}

/// Why a DCQL query is malformed (§6); the wallet answers `invalid_request`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidQuery {
    #[error("`credentials` is empty")]
    NoCredentials,
    #[error("credential query id {0:?} is not `[A-Za-z0-9_-]+`")]
    BadId(String),
    #[error("credential query id {0:?} appears more than once")]
    DuplicateId(String),
    #[error("credential query {query:?}: `format` is empty")]
    EmptyFormat { query: String },
    #[error("credential query {query:?}: format {format} needs `meta.{member}`")]
    MissingMeta {
        query: String,
        format: String,
        member: &'static str,
    },
    #[error("credential query {query:?}: `meta.{member}` is empty")]
    EmptyMeta { query: String, member: &'static str },
    #[error("credential query {query:?}: `claims` is empty")]
    EmptyClaims { query: String },
    #[error("credential query {query:?}: claim {index} has an empty path")]
    EmptyPath { query: String, index: usize },
    #[error("credential query {query:?}: claim id {id:?} is not `[A-Za-z0-9_-]+`")]
    BadClaimId { query: String, id: String },
    #[error("credential query {query:?}: claim id {id:?} appears more than once")]
    DuplicateClaimId { query: String, id: String },
    #[error("credential query {query:?}: claim {index} has no `id` but `claim_sets` is used")]
    ClaimIdRequired { query: String, index: usize },
    #[error("credential query {query:?}: `claim_sets` without `claims`")]
    ClaimSetsWithoutClaims { query: String },
    #[error("credential query {query:?}: `claim_sets` or one of its sets is empty")]
    EmptyClaimSet { query: String },
    #[error("credential query {query:?}: `claim_sets` names unknown claim id {id:?}")]
    UnknownClaimId { query: String, id: String },
    #[error("credential query {query:?}: claim {index} has an empty `values`")]
    EmptyValues { query: String, index: usize },
    #[error(
        "credential query {query:?}: claim {index} `values` must be strings, numbers or booleans"
    )]
    NonScalarValue { query: String, index: usize },
    #[error("credential query {query:?}: `trusted_authorities` entry {index} has no values")]
    EmptyTrustedAuthorities { query: String, index: usize },
    #[error("`credential_sets` is empty")]
    NoCredentialSets,
    #[error("credential set {set}: `options` or one of its options is empty")]
    EmptyOption { set: usize },
    #[error("credential set {set} names unknown credential query {id:?}")]
    UnknownCredentialId { set: usize, id: String },
}

/// Why a credential does not answer a credential query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The format differs.
    Format { expected: String, found: String },
    /// The `vct` (or mdoc doctype) is not among the accepted values.
    Vct { found: Option<String> },
    /// No set of `type_values` is contained in the credential's types.
    Types,
    /// The claim is absent (or the path crosses a value of the wrong kind).
    ClaimMissing { path: ClaimsPath },
    /// The claim is present but none of its values is accepted.
    ClaimValue { path: ClaimsPath },
    /// No claim set can be satisfied; the first set's failure is given.
    NoClaimSet { first: Box<Mismatch> },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Format { expected, found } => {
                write!(f, "format is {found}, expected {expected}")
            }
            Mismatch::Vct { found } => write!(f, "vct {found:?} is not among `vct_values`"),
            Mismatch::Types => f.write_str("types match none of `type_values`"),
            Mismatch::ClaimMissing { path } => write!(f, "claim {path} is missing"),
            Mismatch::ClaimValue { path } => {
                write!(f, "claim {path} has none of the accepted values")
            }
            Mismatch::NoClaimSet { first } => write!(f, "no claim set is satisfied ({first})"),
        }
    }
}

fn reason(mismatch: &Option<Mismatch>) -> String {
    match mismatch {
        Some(m) => format!(": {m}"),
        None => ": no credential of that format".to_owned(),
    }
}

/// Why a query cannot be answered (wallet) or a response does not answer it (verifier).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DcqlError {
    #[error("invalid DCQL query: {0}")]
    Invalid(#[from] InvalidQuery),
    #[error("no credential satisfies credential query {query:?}{}", reason(.closest))]
    Unsatisfied {
        query: String,
        closest: Option<Mismatch>,
    },
    #[error(
        "required credential set {set} has no option whose credential queries are all satisfied (unmet: {unmet:?})"
    )]
    CredentialSetUnsatisfied { set: usize, unmet: Vec<String> },
    #[error("vp_token key {0:?} is not a credential query id")]
    UnknownQueryId(String),
    #[error(
        "vp_token {query:?} holds {count} presentations; exactly one is allowed unless `multiple`"
    )]
    WrongCount { query: String, count: usize },
    #[error("vp_token {query:?} presentation {index} does not match the query: {mismatch}")]
    PresentationMismatch {
        query: String,
        index: usize,
        mismatch: Mismatch,
    },
    #[error("vp_token has no answer to required credential query {0:?}")]
    MissingRequired(String),
}

/// A credential as DCQL sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Its format identifier (`dc+sd-jwt`, `ldp_vc`, …).
    pub format: String,
    /// SD-JWT VC `vct` (for `mso_mdoc`, the doctype).
    pub vct: Option<String>,
    /// W3C VC types, as the caller wants them compared (expanded IRIs for `type_values`).
    pub types: Vec<String>,
    /// All claims, revealed (the wallet's full view, or what the verifier received).
    pub claims: Value,
}

/// The wallet's answer plan for one credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedCredential {
    /// Index into the candidates passed to [`DcqlQuery::select`].
    pub candidate: usize,
    /// Concrete claim paths to disclose (array indexes as decimal strings).
    pub disclose: Vec<Vec<String>>,
}

/// The wallet's answer plan: per credential query id, the credentials to present.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Query id → chosen credentials (one unless the query has `multiple`).
    pub credentials: BTreeMap<String, Vec<SelectedCredential>>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl DcqlQuery {
    /// Checks the rules of §6 that serde cannot.
    pub fn validate(&self) -> Result<(), InvalidQuery> {
        if self.credentials.is_empty() {
            return Err(InvalidQuery::NoCredentials);
        }
        let mut ids = HashSet::new();
        for q in &self.credentials {
            if !valid_id(&q.id) {
                return Err(InvalidQuery::BadId(q.id.clone()));
            }
            if !ids.insert(q.id.as_str()) {
                return Err(InvalidQuery::DuplicateId(q.id.clone()));
            }
            q.validate()?;
        }
        if let Some(sets) = &self.credential_sets {
            if sets.is_empty() {
                return Err(InvalidQuery::NoCredentialSets);
            }
            for (set, s) in sets.iter().enumerate() {
                if s.options.is_empty() || s.options.iter().any(Vec::is_empty) {
                    return Err(InvalidQuery::EmptyOption { set });
                }
                for id in s.options.iter().flatten() {
                    if !ids.contains(id.as_str()) {
                        return Err(InvalidQuery::UnknownCredentialId {
                            set,
                            id: id.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// The credential query with this id.
    pub fn query(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|q| q.id == id)
    }

    /// The wallet side (§6.4): picks, for each credential query to answer, the candidates
    /// to present and the claim paths to disclose, honouring `claim_sets` preference,
    /// `multiple` and `credential_sets` (first satisfiable option of each set).
    pub fn select(&self, candidates: &[Candidate]) -> Result<Selection, DcqlError> {
        self.validate()?;
        let mut matches: BTreeMap<&str, Result<Vec<SelectedCredential>, Option<Mismatch>>> =
            BTreeMap::new();
        for q in &self.credentials {
            matches.insert(&q.id, q.select(candidates));
        }
        let unsatisfied = |id: &str| -> DcqlError {
            let closest = match matches.get(id) {
                Some(Err(m)) => m.clone(),
                _ => None,
            };
            DcqlError::Unsatisfied {
                query: id.to_owned(),
                closest,
            }
        };
        let wanted: Vec<&str> = match &self.credential_sets {
            None => {
                for q in &self.credentials {
                    if matches.get(q.id.as_str()).is_some_and(Result::is_err) {
                        return Err(unsatisfied(&q.id));
                    }
                }
                self.credentials.iter().map(|q| q.id.as_str()).collect()
            }
            Some(sets) => {
                let mut wanted = Vec::new();
                for (set, s) in sets.iter().enumerate() {
                    let ok = |id: &String| matches.get(id.as_str()).is_some_and(Result::is_ok);
                    match s.options.iter().find(|option| option.iter().all(ok)) {
                        Some(option) => wanted.extend(option.iter().map(String::as_str)),
                        None if s.required => {
                            let first = &s.options[0];
                            if let [only] = first.as_slice()
                                && s.options.len() == 1
                            {
                                return Err(unsatisfied(only));
                            }
                            let unmet = first.iter().filter(|id| !ok(id)).cloned().collect();
                            return Err(DcqlError::CredentialSetUnsatisfied { set, unmet });
                        }
                        None => {}
                    }
                }
                wanted
            }
        };
        let mut selection = Selection::default();
        for id in wanted {
            if let Some(Ok(chosen)) = matches.get(id) {
                selection
                    .credentials
                    .entry(id.to_owned())
                    .or_insert_with(|| chosen.clone());
            }
        }
        Ok(selection)
    }

    /// The verifier side (§8.6): checks that `vp_token`'s verified credentials answer the
    /// query: known ids, one presentation unless `multiple`, each matching its query, and
    /// the required queries or credential sets satisfied.
    pub fn check_response(
        &self,
        presented: &BTreeMap<String, Vec<Candidate>>,
    ) -> Result<(), DcqlError> {
        self.validate()?;
        for (id, creds) in presented {
            let q = self
                .query(id)
                .ok_or_else(|| DcqlError::UnknownQueryId(id.clone()))?;
            if creds.is_empty() || (creds.len() > 1 && !q.multiple) {
                return Err(DcqlError::WrongCount {
                    query: id.clone(),
                    count: creds.len(),
                });
            }
            for (index, c) in creds.iter().enumerate() {
                q.matches(c)
                    .map_err(|mismatch| DcqlError::PresentationMismatch {
                        query: id.clone(),
                        index,
                        mismatch,
                    })?;
            }
        }
        match &self.credential_sets {
            None => {
                if let Some(q) = self
                    .credentials
                    .iter()
                    .find(|q| !presented.contains_key(&q.id))
                {
                    return Err(DcqlError::MissingRequired(q.id.clone()));
                }
            }
            Some(sets) => {
                for (set, s) in sets.iter().enumerate().filter(|(_, s)| s.required) {
                    let satisfied = s
                        .options
                        .iter()
                        .any(|o| o.iter().all(|id| presented.contains_key(id)));
                    if !satisfied {
                        let unmet = s.options[0]
                            .iter()
                            .filter(|id| !presented.contains_key(*id))
                            .cloned()
                            .collect();
                        return Err(DcqlError::CredentialSetUnsatisfied { set, unmet });
                    }
                }
            }
        }
        Ok(())
    }
}

impl CredentialQuery {
    fn validate(&self) -> Result<(), InvalidQuery> {
        let query = || self.id.clone();
        if self.format.is_empty() {
            return Err(InvalidQuery::EmptyFormat { query: query() });
        }
        let missing = |member| InvalidQuery::MissingMeta {
            query: query(),
            format: self.format.clone(),
            member,
        };
        if self.format == "dc+sd-jwt" {
            match &self.meta.vct_values {
                None => return Err(missing("vct_values")),
                Some(v) if v.is_empty() => {
                    return Err(InvalidQuery::EmptyMeta {
                        query: query(),
                        member: "vct_values",
                    });
                }
                Some(_) => {}
            }
        }
        if W3C_FORMATS.contains(&self.format.as_str()) {
            match &self.meta.type_values {
                None => return Err(missing("type_values")),
                Some(v) if v.is_empty() || v.iter().any(Vec::is_empty) => {
                    return Err(InvalidQuery::EmptyMeta {
                        query: query(),
                        member: "type_values",
                    });
                }
                Some(_) => {}
            }
        }
        if self.format == "mso_mdoc" && self.meta.doctype_value.is_none() {
            return Err(missing("doctype_value"));
        }
        let mut claim_ids = HashSet::new();
        if let Some(claims) = &self.claims {
            if claims.is_empty() {
                return Err(InvalidQuery::EmptyClaims { query: query() });
            }
            for (index, c) in claims.iter().enumerate() {
                if c.path.0.is_empty() {
                    return Err(InvalidQuery::EmptyPath {
                        query: query(),
                        index,
                    });
                }
                match &c.id {
                    Some(id) if !valid_id(id) => {
                        return Err(InvalidQuery::BadClaimId {
                            query: query(),
                            id: id.clone(),
                        });
                    }
                    Some(id) if !claim_ids.insert(id.as_str()) => {
                        return Err(InvalidQuery::DuplicateClaimId {
                            query: query(),
                            id: id.clone(),
                        });
                    }
                    None if self.claim_sets.is_some() => {
                        return Err(InvalidQuery::ClaimIdRequired {
                            query: query(),
                            index,
                        });
                    }
                    _ => {}
                }
                if let Some(values) = &c.values {
                    if values.is_empty() {
                        return Err(InvalidQuery::EmptyValues {
                            query: query(),
                            index,
                        });
                    }
                    if !values
                        .iter()
                        .all(|v| v.is_string() || v.is_number() || v.is_boolean())
                    {
                        return Err(InvalidQuery::NonScalarValue {
                            query: query(),
                            index,
                        });
                    }
                }
            }
        }
        if let Some(sets) = &self.claim_sets {
            if self.claims.is_none() {
                return Err(InvalidQuery::ClaimSetsWithoutClaims { query: query() });
            }
            if sets.is_empty() || sets.iter().any(Vec::is_empty) {
                return Err(InvalidQuery::EmptyClaimSet { query: query() });
            }
            if let Some(id) = sets
                .iter()
                .flatten()
                .find(|id| !claim_ids.contains(id.as_str()))
            {
                return Err(InvalidQuery::UnknownClaimId {
                    query: query(),
                    id: id.clone(),
                });
            }
        }
        for (index, ta) in self.trusted_authorities.iter().flatten().enumerate() {
            if ta.values.is_empty() {
                return Err(InvalidQuery::EmptyTrustedAuthorities {
                    query: query(),
                    index,
                });
            }
        }
        Ok(())
    }

    /// Matching candidates (all if `multiple`, else the first), or the mismatch of the
    /// closest candidate (the first of the right format).
    fn select(
        &self,
        candidates: &[Candidate],
    ) -> Result<Vec<SelectedCredential>, Option<Mismatch>> {
        let mut chosen = Vec::new();
        let mut closest = None;
        for (index, c) in candidates.iter().enumerate() {
            match self.matches(c) {
                Ok(disclose) => {
                    chosen.push(SelectedCredential {
                        candidate: index,
                        disclose,
                    });
                    if !self.multiple {
                        break;
                    }
                }
                Err(Mismatch::Format { .. }) => {}
                Err(m) => {
                    closest.get_or_insert(m);
                }
            }
        }
        if chosen.is_empty() {
            Err(closest)
        } else {
            Ok(chosen)
        }
    }

    /// Whether `c` answers this query; on success, the concrete paths to disclose.
    #[expect(
        clippy::expect_used,
        reason = "validate checked claim_sets is not empty"
    )]
    pub fn matches(&self, c: &Candidate) -> Result<Vec<Vec<String>>, Mismatch> {
        if c.format != self.format {
            return Err(Mismatch::Format {
                expected: self.format.clone(),
                found: c.format.clone(),
            });
        }
        if let Some(vcts) = &self.meta.vct_values
            && !c.vct.as_ref().is_some_and(|v| vcts.contains(v))
        {
            return Err(Mismatch::Vct {
                found: c.vct.clone(),
            });
        }
        if let Some(doctype) = &self.meta.doctype_value
            && c.vct.as_ref() != Some(doctype)
        {
            return Err(Mismatch::Vct {
                found: c.vct.clone(),
            });
        }
        if let Some(type_sets) = &self.meta.type_values
            && !type_sets
                .iter()
                .any(|set| set.iter().all(|t| c.types.contains(t)))
        {
            return Err(Mismatch::Types);
        }
        let Some(claims) = &self.claims else {
            return Ok(Vec::new());
        };
        match &self.claim_sets {
            None => {
                let mut paths = Vec::new();
                for claim in claims {
                    paths.extend(claim.resolve(&c.claims)?);
                }
                Ok(paths)
            }
            Some(sets) => {
                let mut first = None;
                for set in sets {
                    let attempt: Result<Vec<Vec<String>>, Mismatch> =
                        set.iter().try_fold(Vec::new(), |mut acc, id| {
                            let claim = claims
                                .iter()
                                .find(|cq| cq.id.as_deref() == Some(id.as_str()))
                                .expect("validate checked claim_sets reference claim ids");
                            acc.extend(claim.resolve(&c.claims)?);
                            Ok(acc)
                        });
                    match attempt {
                        Ok(paths) => return Ok(paths),
                        Err(m) => {
                            first.get_or_insert(m);
                        }
                    }
                }
                let first = first.expect("validate checked claim_sets is not empty");
                Err(Mismatch::NoClaimSet {
                    first: Box::new(first),
                })
            }
        }
    }
}

impl ClaimsQuery {
    /// Resolves the path (§7.2) and filters by `values`: the concrete paths of the
    /// matching elements, or why there are none.
    fn resolve(&self, root: &Value) -> Result<Vec<Vec<String>>, Mismatch> {
        let missing = || Mismatch::ClaimMissing {
            path: self.path.clone(),
        };
        let mut selected: Vec<(Vec<String>, &Value)> = vec![(Vec::new(), root)];
        for element in &self.path.0 {
            let mut next = Vec::new();
            for (path, value) in selected {
                match (element, value) {
                    (PathElement::Key(k), Value::Object(map)) => {
                        if let Some(v) = map.get(k) {
                            next.push((extend(&path, k.clone()), v));
                        }
                    }
                    (PathElement::Index(i), Value::Array(items)) => {
                        if let Some(v) = items.get(*i) {
                            next.push((extend(&path, i.to_string()), v));
                        }
                    }
                    (PathElement::All, Value::Array(items)) => {
                        next.extend(
                            items
                                .iter()
                                .enumerate()
                                .map(|(i, v)| (extend(&path, i.to_string()), v)),
                        );
                    }
                    // §7.2: a component of the wrong kind for the selected value aborts.
                    _ => return Err(missing()),
                }
            }
            selected = next;
        }
        if selected.is_empty() {
            return Err(missing());
        }
        if let Some(values) = &self.values {
            selected.retain(|(_, v)| values.contains(v));
            if selected.is_empty() {
                return Err(Mismatch::ClaimValue {
                    path: self.path.clone(),
                });
            }
        }
        Ok(selected.into_iter().map(|(p, _)| p).collect())
    }
}

fn extend(path: &[String], element: String) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(element);
    p
}
