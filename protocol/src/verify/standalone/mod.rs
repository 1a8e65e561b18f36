//! Checking a credential on its own, without a wallet: the same pipeline and check names
//! as a presentation ([`super`]), for a credential someone uploads, pastes, bakes
//! into a badge image or publishes on a badge page.
//!
//! * SD-JWT VC (`dc+sd-jwt`, or `vc+sd-jwt` from older issuers) with its disclosures: the
//!   presentation pipeline itself, run with no request to answer; `holder_binding`,
//!   `nonce`, `audience`, `kb_iat` and `sd_hash` are "not applicable" (`ok: null`), since
//!   nobody presented the credential to this verifier (a KB-JWT, if any, is ignored). `vct`
//!   checks the claim is there and its `ld` credential is an Open Badge.
//! * OB 3.0 VC-JWT (`jwt_vc_json`): `format`, `issuer_key` (from `iss` and `kid`: did:web,
//!   did:key, did:jwk, or JWT VC Issuer Metadata; or from an `x5c` chain to a configured
//!   trust anchor), `issuer_signature`, `jwt_claims` (the
//!   registered claims mirror the credential, OB 3.0 §8.2), `validity` (`validFrom` /
//!   `validUntil`), `type`, `status` (Bitstring Status List), `ob3_schema`, `image_digest`,
//!   `trust`.
//! * `ldp_vc` with an `eddsa-rdfc-2022` Data Integrity proof: the same, the key being the
//!   proof's `verificationMethod`, whose DID must be the issuer's.
//!
//! Bitstring Status Lists are VC-JWTs verified with their issuer's key, which must be the
//! credential's issuer, and cached for their `ttl` (bounded like Token Status Lists). The
//! issuer agent names the revocation list in `credentialStatus` and publishes the
//! suspension list at the sibling URL `…/suspension` with the same index (README): that
//! list is read too when it exists.

use std::collections::BTreeMap;

use crate::cache::TtlCache;
use crate::jose::{JoseError, Jws};
use crate::oid4vp::dcql::{CredentialQuery, DcqlQuery, Meta};
use crate::sd_jwt::{SdJwt, TYP_DC_SD_JWT, TYP_VC_SD_JWT};
use crate::status::bitstring::{Bitstring, StatusPurpose};
use serde_json::{Map, Value, json};

use super::{
    Check, Expectations, LEEWAY, STATUS_DEFAULT_TTL, STATUS_LIST_MAX_BYTES, STATUS_MAX_TTL,
    Sources, StatusCache, Verification, resolve_issuer_key,
};

/// The key of the checked credential's claims in [`Verification::disclosed`], and the
/// `presentation` label of its checks.
pub const LABEL: &str = "credential";

/// Why nobody presented it: the detail of the holder-binding checks.
const NOT_PRESENTED: &str =
    "not applicable: a credential checked on its own was not presented to this verifier";

/// A credential as submitted: compact (SD-JWT, VC-JWT) or JSON (`ldp_vc`).
#[derive(Clone, Debug, PartialEq)]
pub enum Submitted {
    Compact(String),
    Json(Value),
}

impl Submitted {
    /// A credential in text form: JSON if it starts with `{`, compact otherwise.
    pub fn from_text(text: &str) -> Result<Submitted, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the credential is empty".into());
        }
        if text.starts_with('{') {
            return serde_json::from_str(text)
                .map(Submitted::Json)
                .map_err(|e| format!("the credential is not valid JSON: {e}"));
        }
        Ok(Submitted::Compact(text.to_owned()))
    }
}

/// What the check is held against.
pub struct Policy<'a> {
    /// Empty: no trust list is configured.
    pub trusted_issuers: &'a [String],
    pub now: i64,
    /// Where the checker already knows the credential to be in its issuer's log (a wallet
    /// checking its own badge, from the proof it kept): then the `transparency` check
    /// proves that entry from the log's tiles instead of asking the issuer about the badge.
    pub log_entry: Option<&'a crate::tlog::proof::LogEntryRef>,
}

/// The outcome: the format recognised and the checks (with the claims when all passed).
#[derive(Clone, Debug, Default)]
pub struct Standalone {
    /// `dc+sd-jwt`, `jwt_vc_json` or `ldp_vc`; none when unrecognised.
    pub format: Option<&'static str>,
    pub verification: Verification,
}

/// Verified Bitstring Status Lists by URI, kept until their `ttl` (bounded) or
/// `validUntil`; at most [`crate::cache::DEFAULT_MAX`].
pub type BitstringCache = TtlCache<String, VerifiedList>;

/// A Bitstring Status List whose proof checked out, and what it says.
#[derive(Clone, Debug)]
pub struct VerifiedList {
    issuer: String,
    purpose: String,
    bits: Bitstring,
}

/// Checks one credential.
pub async fn verify<S: Sources>(
    sources: &S,
    tokens: &StatusCache,
    bitstrings: &BitstringCache,
    policy: &Policy<'_>,
    submitted: &Submitted,
) -> Standalone {
    match submitted {
        Submitted::Json(vc) => {
            let checks = ldp_vc(sources, bitstrings, policy, vc).await;
            finish(Some("ldp_vc"), checks, Some(vc.clone()))
        }
        Submitted::Compact(text) => {
            let is_sd_jwt = text.contains('~')
                || Jws::decode(text).is_ok_and(|j| {
                    j.typ()
                        .is_some_and(|t| t == TYP_DC_SD_JWT || t == TYP_VC_SD_JWT)
                });
            if is_sd_jwt {
                sd_jwt(sources, tokens, policy, text).await
            } else {
                let (checks, vc) = vc_jwt(sources, bitstrings, policy, text).await;
                finish(Some("jwt_vc_json"), checks, vc)
            }
        }
    }
}

fn label(mut checks: Vec<Check>) -> Vec<Check> {
    for c in &mut checks {
        c.presentation = Some(LABEL.to_owned());
    }
    checks
}

fn finish(format: Option<&'static str>, checks: Vec<Check>, claims: Option<Value>) -> Standalone {
    let checks = label(checks);
    let mut disclosed = BTreeMap::new();
    if let Some(claims) = claims
        && !checks.iter().any(Check::failed)
    {
        disclosed.insert(LABEL.to_owned(), vec![claims]);
    }
    Standalone {
        format,
        verification: Verification {
            checks,
            disclosed,
            error: None,
        },
    }
}

/// An SD-JWT VC through the presentation pipeline, with nothing to answer.
async fn sd_jwt<S: Sources>(
    sources: &S,
    tokens: &StatusCache,
    policy: &Policy<'_>,
    text: &str,
) -> Standalone {
    // An issued SD-JWT ends with `~`; one without disclosures may come bare. A KB-JWT was
    // made for somebody else: drop it.
    let text = if text.contains('~') {
        text.to_owned()
    } else {
        format!("{text}~")
    };
    let text = SdJwt::parse(&text).map_or(text, |sd| sd.without_kb());
    let query = CredentialQuery {
        id: LABEL.to_owned(),
        format: TYP_DC_SD_JWT.to_owned(),
        meta: Meta::default(),
        multiple: false,
        claims: None,
        claim_sets: None,
        trusted_authorities: None,
        require_cryptographic_holder_binding: false,
    };
    let dcql = DcqlQuery {
        credentials: vec![query.clone()],
        credential_sets: None,
    };
    let exp = Expectations {
        client_id: "",
        nonce: "",
        query: &dcql,
        trusted_issuers: policy.trusted_issuers,
        now: policy.now,
        profile: Default::default(),
    };
    let outcome = super::verify_presentation(
        sources,
        tokens,
        &exp,
        &query,
        LABEL.to_owned(),
        &Value::String(text),
        policy.log_entry,
    )
    .await;
    let claims = outcome.claims.map(Value::Object);
    let mut checks = Vec::new();
    for c in outcome.checks {
        checks.push(match c.name.as_str() {
            "holder_binding" | "nonce" | "audience" | "kb_iat" | "sd_hash" => {
                Check::unset(&c.name, NOT_PRESENTED)
            }
            "vct" => match &claims {
                Some(claims) => sd_jwt_vct(claims),
                None => c,
            },
            _ => c,
        });
    }
    finish(Some("dc+sd-jwt"), checks, claims)
}

/// `vct` without a query: the claim is there and its `ld` credential is an Open Badge.
fn sd_jwt_vct(claims: &Value) -> Check {
    let Some(vct) = claims.get("vct").and_then(Value::as_str) else {
        return Check::fail("vct", "the credential has no `vct` claim");
    };
    match claims.get("ld") {
        None => Check::pass("vct", format!("{vct} (no `ld` Open Badge to match)")),
        Some(ld) => match open_badge_type(ld) {
            Ok(t) => Check::pass("vct", format!("{vct}; the `ld` credential is a {t}")),
            Err(e) => Check::fail("vct", format!("{vct}, but {e}")),
        },
    }
}

/// The Open Badge type of a credential (`type` holds `VerifiableCredential` and
/// `OpenBadgeCredential` or its alias `AchievementCredential`), or why not.
fn open_badge_type(vc: &Value) -> Result<&'static str, String> {
    let types: Vec<&str> = match vc.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return Err("the credential has no `type`".into()),
    };
    if !types.contains(&"VerifiableCredential") {
        return Err(format!("`type` {types:?} lacks VerifiableCredential"));
    }
    for t in ["OpenBadgeCredential", "AchievementCredential"] {
        if types.contains(&t) {
            return Ok(if t == "OpenBadgeCredential" {
                "OpenBadgeCredential"
            } else {
                "AchievementCredential"
            });
        }
    }
    Err(format!(
        "`type` {types:?} is neither OpenBadgeCredential nor AchievementCredential"
    ))
}

/// The checks that do not apply to the W3C formats.
fn not_applicable_to_vc(checks: &mut Vec<Check>) {
    checks.push(Check::unset(
        "disclosures",
        "not applicable: the format has no selective disclosure",
    ));
    for name in ["holder_binding", "nonce", "audience", "kb_iat", "sd_hash"] {
        checks.push(Check::unset(name, NOT_PRESENTED));
    }
    checks.push(Check::unset(
        "vct",
        "not applicable: a W3C credential has `type`, not `vct`",
    ));
}

/// The issuer identifier of a W3C credential: `issuer` or `issuer.id`.
fn issuer_id(vc: &Value) -> Option<&str> {
    match vc.get("issuer") {
        Some(Value::String(id)) => Some(id),
        Some(Value::Object(p)) => p.get("id").and_then(Value::as_str),
        _ => None,
    }
}

/// An OB 3.0 VC-JWT.
async fn vc_jwt<S: Sources>(
    sources: &S,
    bitstrings: &BitstringCache,
    policy: &Policy<'_>,
    text: &str,
) -> (Vec<Check>, Option<Value>) {
    let mut checks = Vec::new();
    let jws = match Jws::decode(text) {
        Ok(j) => j,
        Err(e) => {
            checks.push(Check::fail(
                "format",
                format!("not an SD-JWT, a VC-JWT or a JSON credential: {e}"),
            ));
            return (
                skip_rest(checks, "the credential could not be parsed"),
                None,
            );
        }
    };
    let typ_ok = match jws.typ() {
        None => Ok(()),
        Some(_) => jws.expect_typ(&["JWT", "vc+jwt"]),
    };
    // VCDM 1.1-era tokens carry the credential in `vc` (accepted on verify, ob3.md §3).
    let vc = match jws.payload.get("vc") {
        Some(vc @ Value::Object(_)) => vc.clone(),
        _ => Value::Object(jws.payload.clone()),
    };
    match (&typ_ok, vc.get("credentialSubject")) {
        (Err(e), _) => {
            checks.push(Check::fail("format", e.to_string()));
            return (
                skip_rest(checks, "the credential could not be parsed"),
                None,
            );
        }
        (Ok(()), None) => {
            checks.push(Check::fail(
                "format",
                "the JWT carries no credential (no `credentialSubject`)",
            ));
            return (
                skip_rest(checks, "the credential could not be parsed"),
                None,
            );
        }
        (Ok(()), Some(_)) => checks.push(Check::pass(
            "format",
            format!(
                "VC-JWT (jwt_vc_json), {}, typ {}",
                jws.alg.as_str(),
                jws.typ().unwrap_or("absent")
            ),
        )),
    }

    // issuer_key, issuer_signature
    let iss = jws
        .claim_str("iss")
        .or_else(|| issuer_id(&vc))
        .map(str::to_owned);
    let key = match &iss {
        None => {
            checks.push(Check::fail(
                "issuer_key",
                "the VC-JWT names no issuer (`iss`)",
            ));
            None
        }
        Some(iss) => match resolve_issuer_key(sources, iss, &jws, policy.now).await {
            Ok((jwk, detail)) => {
                checks.push(Check::pass("issuer_key", detail));
                Some(jwk)
            }
            Err(e) => {
                checks.push(Check::fail("issuer_key", e));
                None
            }
        },
    };
    let mut signature_ok = false;
    match &key {
        None => checks.push(Check::unset(
            "issuer_signature",
            "not checked: no issuer key",
        )),
        Some(jwk) => match jwk.verifying_key().map_err(JoseError::Key) {
            Err(e) => checks.push(Check::fail("issuer_signature", e.to_string())),
            Ok(k) => match jws.verify(&k) {
                Err(e) => checks.push(Check::fail("issuer_signature", e.to_string())),
                Ok(()) => {
                    signature_ok = true;
                    checks.push(Check::pass(
                        "issuer_signature",
                        format!("{} signature verifies", jws.alg.as_str()),
                    ));
                    // jwt_claims: the registered claims mirror the credential (OB 3.0
                    // §8.2); the time window is the validity check's.
                    let mirrored = if jws.payload.contains_key("vc") {
                        Ok(())
                    } else {
                        crate::vc::jwt::verify(text, &k, policy.now, 1 << 40).map(|_| ())
                    };
                    checks.push(match mirrored {
                        Ok(()) => Check::pass(
                            "jwt_claims",
                            "`iss`, `jti`, `nbf`, `sub` and `exp` mirror the credential",
                        ),
                        Err(e) => Check::fail("jwt_claims", e.to_string()),
                    });
                }
            },
        },
    }
    if !signature_ok {
        checks.push(Check::unset(
            "jwt_claims",
            "not checked: the signature is not verified",
        ));
    }
    // issuer_binding: `iss` (whose key verified the signature) is the credential's
    // `issuer.id` (OB 3.0 §8.2.4.1), whether the claims mirror it or sit in `vc`.
    checks.push(match &iss {
        Some(iss) if signature_ok => super::issuer::binding(
            iss,
            Some(&vc),
            "VC-JWT `iss`, whose key verified the signature",
        ),
        _ => Check::unset(
            super::issuer::CHECK_ISSUER_BINDING,
            "not checked: the signature is not verified",
        ),
    });
    // transparency: the VC-JWT is what the issuer logged (its `jwt` digest is the whole).
    let logged = iss
        .as_deref()
        .filter(|_| signature_ok)
        .map(|iss| (iss, text));
    common_vc_checks(
        sources,
        bitstrings,
        policy,
        &vc,
        signature_ok,
        logged,
        &mut checks,
    )
    .await;
    (checks, Some(vc))
}

/// An `ldp_vc` with an `eddsa-rdfc-2022` Data Integrity proof.
async fn ldp_vc<S: Sources>(
    sources: &S,
    bitstrings: &BitstringCache,
    policy: &Policy<'_>,
    vc: &Value,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let proof = match vc.get("proof") {
        Some(Value::Array(items)) => items.first(),
        Some(one @ Value::Object(_)) => Some(one),
        _ => None,
    };
    let Some(proof) = proof.filter(|_| vc.is_object()) else {
        checks.push(Check::fail(
            "format",
            "a JSON credential must carry an embedded `proof` (ldp_vc)",
        ));
        return skip_rest(checks, "the credential could not be parsed");
    };
    let suite = proof.get("cryptosuite").and_then(Value::as_str);
    let method = proof.get("verificationMethod").and_then(Value::as_str);
    let purpose = proof.get("proofPurpose").and_then(Value::as_str);
    let problem = if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof") {
        Some("the proof is not a DataIntegrityProof".to_owned())
    } else if suite != Some(crate::vc::data_integrity::CRYPTOSUITE) {
        Some(format!(
            "cryptosuite {suite:?} is not {}",
            crate::vc::data_integrity::CRYPTOSUITE
        ))
    } else if purpose != Some("assertionMethod") {
        Some(format!("proofPurpose {purpose:?} is not assertionMethod"))
    } else if method.is_none() {
        Some("the proof names no verificationMethod".to_owned())
    } else {
        None
    };
    if let Some(problem) = problem {
        checks.push(Check::fail("format", problem));
        return skip_rest(checks, "the proof is not supported");
    }
    let method = method.unwrap_or_default();
    checks.push(Check::pass(
        "format",
        format!(
            "ldp_vc with a {} Data Integrity proof",
            crate::vc::data_integrity::CRYPTOSUITE
        ),
    ));

    let issuer = issuer_id(vc).map(str::to_owned);
    let key = match &issuer {
        None => {
            checks.push(Check::fail("issuer_key", "the credential names no issuer"));
            None
        }
        Some(issuer) => match sources.issuer_key(issuer, Some(method)).await {
            Ok(jwk) => {
                checks.push(Check::pass(
                    "issuer_key",
                    format!("verification method {method} of issuer {issuer}"),
                ));
                Some(jwk)
            }
            Err(e) => {
                checks.push(Check::fail("issuer_key", e));
                None
            }
        },
    };
    let mut signature_ok = false;
    match &key {
        None => checks.push(Check::unset(
            "issuer_signature",
            "not checked: no issuer key",
        )),
        Some(jwk) => {
            let controller = method.split('#').next().unwrap_or(method);
            match crate::vc::data_integrity::verify(vc, jwk, method, controller).await {
                Ok(()) => {
                    signature_ok = true;
                    checks.push(Check::pass(
                        "issuer_signature",
                        "the eddsa-rdfc-2022 proof verifies over the RDF canonical form",
                    ));
                }
                Err(e) => checks.push(Check::fail("issuer_signature", e.to_string())),
            }
        }
    }
    // issuer_binding: the proof's verification method is controlled by `issuer.id`.
    let controller = method.split('#').next().unwrap_or(method);
    checks.push(if signature_ok {
        super::issuer::binding(
            controller,
            Some(vc),
            &format!("controller of the proof's verification method {method}"),
        )
    } else {
        Check::unset(
            super::issuer::CHECK_ISSUER_BINDING,
            "not checked: the proof is not verified",
        )
    });
    common_vc_checks(
        sources,
        bitstrings,
        policy,
        vc,
        signature_ok,
        None,
        &mut checks,
    )
    .await;
    checks
}

/// Marks the remaining checks as not checked.
fn skip_rest(mut checks: Vec<Check>, reason: &str) -> Vec<Check> {
    for name in super::PRESENTATION_CHECKS {
        if !checks.iter().any(|c| c.name == name) {
            checks.push(Check::unset(name, format!("not checked: {reason}")));
        }
    }
    checks
}

/// validity, type, status, ob3_schema, image_digest, trust (and the not-applicable ones).
async fn common_vc_checks<S: Sources>(
    sources: &S,
    bitstrings: &BitstringCache,
    policy: &Policy<'_>,
    vc: &Value,
    signature_ok: bool,
    // The verified signer and the compact VC-JWT; `None` for a Data Integrity credential.
    logged: Option<(&str, &str)>,
    checks: &mut Vec<Check>,
) {
    not_applicable_to_vc(checks);
    checks.push(match vc_validity(vc, policy.now) {
        Ok(d) => Check::pass("validity", d),
        Err(d) => Check::fail("validity", d),
    });
    checks.push(match open_badge_type(vc) {
        Ok(t) => Check::pass("type", format!("a {t}")),
        Err(e) => Check::fail("type", e),
    });
    let issuer = issuer_id(vc);
    checks.push(match (issuer, signature_ok) {
        (Some(issuer), true) => {
            match bitstring_status(sources, bitstrings, issuer, vc, policy.now).await {
                Ok(d) => Check::pass("status", d),
                Err(d) => Check::fail("status", d),
            }
        }
        _ => Check::unset(
            "status",
            "not checked: the credential's issuer signature is not verified",
        ),
    });
    let bound = !checks
        .iter()
        .any(|c| c.name == super::issuer::CHECK_ISSUER_BINDING && c.failed());
    checks.push(match logged {
        Some((iss, jwt)) if signature_ok && bound => {
            super::transparency::check(sources, iss, jwt, policy.log_entry).await
        }
        None if signature_ok => Check::unset(
            super::transparency::CHECK_TRANSPARENCY,
            "not applicable: a Data Integrity credential is logged by the digest of its JSON \
             as delivered, which a copy need not reproduce byte for byte",
        ),
        _ => Check::unset(
            super::transparency::CHECK_TRANSPARENCY,
            "not checked: the credential's issuer signature is not verified",
        ),
    });
    checks.push(match crate::ob3::schema::validate(vc) {
        Ok(()) => Check::pass(
            "ob3_schema",
            "a valid OB 3.0 AchievementCredential (1EdTech JSON Schema)",
        ),
        Err(violations) => Check::fail(
            "ob3_schema",
            violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
    });
    checks.push(super::image_digest::check(sources, vc).await);
    let signer = issuer.filter(|_| {
        signature_ok
            && !checks
                .iter()
                .any(|c| c.name == super::issuer::CHECK_ISSUER_BINDING && c.failed())
    });
    checks.push(super::trust(policy.trusted_issuers, signer));
}

/// `validFrom` / `validUntil` (or VCDM 1.1 `issuanceDate` / `expirationDate`) with
/// [`LEEWAY`].
fn vc_validity(vc: &Value, now: i64) -> Result<String, String> {
    let date = |names: [&str; 2]| -> Result<Option<(String, i64)>, String> {
        for name in names {
            if let Some(v) = vc.get(name) {
                let text = v.as_str().ok_or(format!("`{name}` is not a string"))?;
                let t = crate::clock::parse_rfc3339(text)
                    .ok_or(format!("`{name}` {text:?} is not an RFC 3339 date-time"))?;
                return Ok(Some((text.to_owned(), t)));
            }
        }
        Ok(None)
    };
    let from = date(["validFrom", "issuanceDate"])?;
    let until = date(["validUntil", "expirationDate"])?;
    if let Some((text, t)) = &from
        && now + LEEWAY < *t
    {
        return Err(format!("not yet valid: valid from {text}"));
    }
    if let Some((text, t)) = &until
        && now > *t + LEEWAY
    {
        return Err(format!("expired at {text}"));
    }
    Ok(match until {
        Some((text, _)) => format!("valid until {text}"),
        None => "no expiry".to_owned(),
    })
}

/// The Bitstring Status List check of every `credentialStatus` entry.
async fn bitstring_status<S: Sources>(
    sources: &S,
    cache: &BitstringCache,
    issuer: &str,
    vc: &Value,
    now: i64,
) -> Result<String, String> {
    let entries: Vec<&Value> = match vc.get("credentialStatus") {
        None => return Ok("the credential has no `credentialStatus`: it cannot be revoked".into()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    let mut found = Vec::new();
    for entry in entries {
        let kind = entry
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != crate::status::bitstring::ENTRY_TYPE {
            return Err(format!(
                "`credentialStatus` type {kind:?} is not supported (BitstringStatusListEntry is)"
            ));
        }
        let purpose = entry
            .get("statusPurpose")
            .and_then(Value::as_str)
            .and_then(StatusPurpose::parse)
            .ok_or("`statusPurpose` is not revocation or suspension")?;
        let idx = entry
            .get("statusListIndex")
            .and_then(|v| match v {
                Value::String(s) => s.parse::<usize>().ok(),
                other => other.as_u64().and_then(|n| usize::try_from(n).ok()),
            })
            .ok_or("`statusListIndex` is not a non-negative integer")?;
        let uri = entry
            .get("statusListCredential")
            .and_then(Value::as_str)
            .ok_or("`statusListCredential` is not a URL")?;
        let mut lists = vec![(purpose, uri.to_owned(), true)];
        if purpose == StatusPurpose::Revocation
            && let Some(base) = uri.strip_suffix("/revocation")
        {
            lists.push((
                StatusPurpose::Suspension,
                format!("{base}/suspension"),
                false,
            ));
        }
        for (purpose, uri, required) in lists {
            let list = match cache.get(&uri, now) {
                Some(l) => l,
                None => match fetch_bitstring(sources, &uri, now).await {
                    Ok(Some((list, until))) => {
                        cache.put(uri.clone(), list.clone(), until, now);
                        list
                    }
                    Ok(None) if !required => continue,
                    Ok(None) => return Err(format!("status list {uri}: HTTP status 404")),
                    Err(e) => return Err(e),
                },
            };
            if !same_issuer(&list.issuer, issuer) {
                return Err(format!(
                    "status list {uri} is issued by {}, not by the credential's issuer {issuer}",
                    list.issuer
                ));
            }
            if list.purpose != purpose.as_str() {
                return Err(format!(
                    "status list {uri} has statusPurpose {:?}, expected {}",
                    list.purpose,
                    purpose.as_str()
                ));
            }
            let set = list
                .bits
                .get(idx)
                .map_err(|e| format!("status list {uri}: {e}"))?;
            if set {
                let what = match purpose {
                    StatusPurpose::Revocation => "revoked",
                    StatusPurpose::Suspension => "suspended",
                };
                return Err(format!("{what} (status list {uri}, index {idx})"));
            }
            found.push(format!("{} list {uri}", purpose.as_str()));
        }
        found.push(format!("index {idx}"));
    }
    Ok(format!("valid ({})", found.join(", ")))
}

/// Whether two issuer identifiers name the same issuer: equal, or an https (or loopback
/// http) URL and its did:web.
fn same_issuer(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.trim_end_matches('/').to_owned();
    if norm(a) == norm(b) {
        return true;
    }
    let web = |url: &str| {
        (url.starts_with("https://") || url.starts_with("http://"))
            .then(|| crate::did::did_web_from_url(url).ok())
            .flatten()
    };
    web(a).is_some_and(|d| d == b) || web(b).is_some_and(|d| d == a)
}

/// Fetches and verifies a BitstringStatusListCredential (a VC-JWT); `None` on a 404.
async fn fetch_bitstring<S: Sources>(
    sources: &S,
    uri: &str,
    now: i64,
) -> Result<Option<(VerifiedList, i64)>, String> {
    let fetched = sources
        .resource(uri, "application/vc+jwt, application/jwt")
        .await
        .map_err(|e| format!("status list {uri}: {e}"))?;
    match fetched.status {
        200 => {}
        404 => return Ok(None),
        s => return Err(format!("status list {uri}: HTTP status {s}")),
    }
    let text = String::from_utf8(fetched.body)
        .map_err(|_| format!("status list {uri} is not UTF-8 text"))?;
    let jws = Jws::decode(text.trim()).map_err(|e| {
        format!("status list {uri}: not a VC-JWT ({e}); lists secured otherwise are not supported")
    })?;
    let list_issuer = jws
        .claim_str("iss")
        .ok_or_else(|| format!("status list {uri} names no issuer (`iss`)"))?
        .to_owned();
    let (key, _) = resolve_issuer_key(sources, &list_issuer, &jws, now)
        .await
        .map_err(|e| format!("status list {uri}: the issuer's key: {e}"))?;
    let key = key
        .verifying_key()
        .map_err(|e| format!("status list {uri}: {e}"))?;
    let vc = crate::vc::jwt::verify(text.trim(), &key, now, LEEWAY)
        .map_err(|e| format!("status list {uri}: {e}"))?;
    let subject = vc
        .get("credentialSubject")
        .ok_or_else(|| format!("status list {uri} has no credentialSubject"))?;
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("status list {uri}: `encodedList` is missing"))?;
    let bits = Bitstring::decode(encoded, STATUS_LIST_MAX_BYTES)
        .map_err(|e| format!("status list {uri}: {e}"))?;
    let purpose = subject
        .get("statusPurpose")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    // `ttl` is in milliseconds (Bitstring Status List §2.2).
    let ttl = subject
        .get("ttl")
        .and_then(Value::as_i64)
        .map_or(STATUS_DEFAULT_TTL, |ms| ms / 1000)
        .clamp(0, STATUS_MAX_TTL);
    let until = vc
        .get("validUntil")
        .and_then(Value::as_str)
        .and_then(crate::clock::parse_rfc3339)
        .map_or(now + ttl, |u| u.min(now + ttl));
    Ok(Some((
        VerifiedList {
            issuer: list_issuer,
            purpose,
            bits,
        },
        until,
    )))
}

/// The claims a result page shows for a checked credential: SD-JWT VC claims as they are,
/// a W3C credential as the `ld` member (the shape the SD-JWT VC carries it in).
pub fn display_claims(format: Option<&str>, claims: &Value) -> Value {
    match format {
        Some("dc+sd-jwt") | None => claims.clone(),
        Some(_) => {
            let mut out = Map::new();
            if let Some(iss) = issuer_id(claims) {
                out.insert("iss".into(), json!(iss));
            }
            out.insert("ld".into(), claims.clone());
            Value::Object(out)
        }
    }
}

#[cfg(test)]
mod tests;
