//! The verification of a `vp_token` (OpenID4VP 1.0 §8.6): every check is reported by name
//! with its outcome and a detail, so a rejection always says which check failed.
//!
//! Per `dc+sd-jwt` presentation, in order: `format` (the SD-JWT parses, `typ` `dc+sd-jwt`,
//! or `vc+sd-jwt` from older wallets), `issuer_key` (SD-JWT VC issuer key resolution from
//! `iss` and `kid`, or from an `x5c` chain to a configured trust anchor), `issuer_signature`, `disclosures` (RFC 9901 §7.1: every disclosure's
//! digest referenced once, none unreferenced or duplicated), `validity` (`exp`/`nbf`),
//! `holder_binding` (KB-JWT present, `typ` `kb+jwt`, signed by `cnf.jwk`), `nonce`,
//! `audience` (the full `client_id`), `kb_iat` (fresh), `sd_hash`, `vct` (among the query's
//! `vct_values`), `status` (Token Status List), `ob3_schema` (the `ld` claim against the
//! Open Badges 3.0 JSON Schema) and `trust` (the issuer is on the trust list). Then `dcql`:
//! the presentations together satisfy the query.
//!
//! The pipeline goes on past a failure wherever later checks still mean something (a bad
//! nonce does not stop the status check), and marks the checks that cannot run as "not
//! checked" (`ok: null`) with the reason. The network (issuer keys, status lists) is behind
//! [`Sources`], so the pipeline runs in unit tests without it.

pub mod image_digest;
pub mod issuer;
pub mod standalone;
pub mod transparency;

use std::collections::BTreeMap;
use std::future::Future;

use crate::cache::TtlCache;
use crate::jose::{JoseError, Jws};
use crate::keys::Jwk;
use crate::oid4vp::dcql::{Candidate, CredentialQuery, DcqlQuery};
use crate::sd_jwt::{SdJwt, SdJwtError, TYP_DC_SD_JWT, TYP_VC_SD_JWT};
use crate::status::StatusList;
use crate::status::token as status_token;
use crate::tlog::proof::LogEntryRef;
use crate::x509::TrustAnchors;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How old a KB-JWT may be (`iat`), in seconds.
pub const KB_MAX_AGE: i64 = 300;
/// Clock skew tolerated on every time check, in seconds.
pub const LEEWAY: i64 = 30;
/// Largest decompressed status list accepted (a 2-bit list of 131,072 entries is 32 KiB).
pub const STATUS_LIST_MAX_BYTES: usize = crate::status::token::MAX_LIST_BYTES;
/// Status list cache lifetime when the token has no `ttl`, and the upper bound on any `ttl`.
pub const STATUS_DEFAULT_TTL: i64 = 300;
pub const STATUS_MAX_TTL: i64 = 3600;

/// The checks of one presentation, in the order they run.
pub const PRESENTATION_CHECKS: [&str; 18] = [
    "format",
    "issuer_key",
    "issuer_signature",
    "disclosures",
    issuer::CHECK_ISSUER_BINDING,
    "validity",
    "holder_binding",
    "nonce",
    "audience",
    "kb_iat",
    "sd_hash",
    "vct",
    "status",
    transparency::CHECK_TRANSPARENCY,
    "ob3_schema",
    "image_digest",
    issuer::CHECK_REQUESTED_ISSUER,
    "trust",
];

/// One check and its outcome: `ok` is `true` (passed), `false` (failed) or `null` (not
/// configured, not applicable, or not checked because an earlier check failed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    pub name: String,
    pub ok: Option<bool>,
    pub detail: String,
    /// The presentation checked, as `<credential query id>/<index>`; absent for checks of
    /// the whole response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentation: Option<String>,
}

impl Check {
    pub fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, Some(true), detail)
    }

    pub fn fail(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, Some(false), detail)
    }

    pub fn unset(name: &str, detail: impl Into<String>) -> Self {
        Self::new(name, None, detail)
    }

    fn new(name: &str, ok: Option<bool>, detail: impl Into<String>) -> Self {
        Check {
            name: name.to_owned(),
            ok,
            detail: detail.into(),
            presentation: None,
        }
    }

    pub fn failed(&self) -> bool {
        self.ok == Some(false)
    }
}

/// The outcome of verifying one response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub checks: Vec<Check>,
    /// Per credential query id, the claims of each presentation that passed every check.
    pub disclosed: BTreeMap<String, Vec<Value>>,
    /// The wallet's error (`error: error_description`) when it answered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Verification {
    /// Verified only if no check failed (passed, or not configured / not applicable) and
    /// the wallet sent no error.
    pub fn verified(&self) -> bool {
        self.error.is_none() && !self.checks.is_empty() && !self.checks.iter().any(Check::failed)
    }
}

/// The check an SD-JWT error belongs to: each failure of `crate::sd_jwt` names one check.
pub fn check_name(e: &SdJwtError) -> &'static str {
    match e {
        SdJwtError::Malformed(_) | SdJwtError::BadDisclosure { .. } => "format",
        SdJwtError::IssuerJwt(JoseError::Key(_) | JoseError::AlgNone) => "issuer_signature",
        SdJwtError::IssuerJwt(_) => "format",
        SdJwtError::UnsupportedSdAlg(_)
        | SdJwtError::DuplicateDigest(_)
        | SdJwtError::DuplicateClaim { .. }
        | SdJwtError::UnreferencedDisclosure { .. }
        | SdJwtError::DisclosureKind { .. } => "disclosures",
        SdJwtError::Expired { .. }
        | SdJwtError::NotYetValid { .. }
        | SdJwtError::BadTimeClaim(_) => "validity",
        SdJwtError::KbMissing
        | SdJwtError::NoCnf(_)
        | SdJwtError::KbJwt(_)
        | SdJwtError::KbSignature(_) => "holder_binding",
        SdJwtError::KbAudience { .. } => "audience",
        SdJwtError::KbNonce { .. } => "nonce",
        SdJwtError::KbIat { .. } => "kb_iat",
        SdJwtError::KbSdHash => "sd_hash",
    }
}

/// The failed check an SD-JWT error stands for, with the error's message as detail.
pub fn failed_check(e: &SdJwtError) -> Check {
    Check::fail(check_name(e), e.to_string())
}

/// What the pipeline needs from the outside world.
pub trait Sources: Send + Sync {
    /// The key that must verify a JWT of issuer `iss` with header `kid`.
    fn issuer_key(
        &self,
        iss: &str,
        kid: Option<&str>,
    ) -> impl Future<Output = Result<Jwk, String>> + Send;

    /// The Status List Token (compact JWT) at `uri`.
    fn status_list_token(&self, uri: &str) -> impl Future<Output = Result<String, String>> + Send;

    /// The resource at `url` (a badge image, a Bitstring Status List credential, a badge
    /// page), whatever its HTTP status; an error when it could not be fetched at all.
    fn resource(
        &self,
        url: &str,
        accept: &str,
    ) -> impl Future<Output = Result<Resource, String>> + Send;

    /// The CA certificates an issuer's `x5c` chain must lead to; `None`: none configured.
    fn x509_anchors(&self) -> Option<&TrustAnchors> {
        None
    }

    /// Where the last checkpoint seen per issuer is kept; `None`: the `transparency`
    /// check is not configured.
    fn checkpoints(&self) -> Option<&dyn transparency::CheckpointMemory> {
        None
    }

    /// The cosignatures an issuer's log checkpoint must carry; `None`: none required.
    fn witness_policy(&self) -> Option<&transparency::WitnessPolicy> {
        None
    }

    /// The issuer's proof that the credential whose issuer-signed JWT has the base64url
    /// SHA-256 `jwt_digest` is in the log at `log` (its URL), with a consistency proof
    /// from `old_size` ([`crate::tlog::proof`]).
    fn log_proof(
        &self,
        log: &str,
        jwt_digest: &str,
        old_size: Option<u64>,
    ) -> impl Future<Output = Result<transparency::LogAnswer, String>> + Send {
        let _ = (log, jwt_digest, old_size);
        async { Ok(transparency::LogAnswer::NoLog) }
    }

    /// Whether this source reads logs' public resources ([`Sources::log_checkpoint`],
    /// [`Sources::log_key`], [`Sources::log_tile`]): then a badge whose wallet names its
    /// log entry is proven from the tiles, without asking the log about the badge.
    fn reads_log_tiles(&self) -> bool {
        false
    }

    /// `GET <log>/checkpoint`: the signed note, kept a few seconds unless `fresh`;
    /// `Ok(None)` when the issuer serves no log (404).
    fn log_checkpoint(
        &self,
        log: &str,
        fresh: bool,
    ) -> impl Future<Output = Result<Option<String>, String>> + Send {
        let _ = (log, fresh);
        async { Ok(None) }
    }

    /// `GET <log>/key`: the log's note verifier key; `Ok(None)` when there is none (404).
    fn log_key(&self, log: &str) -> impl Future<Output = Result<Option<String>, String>> + Send {
        let _ = log;
        async { Ok(None) }
    }

    /// `GET <log>/tile/…`: the hashes of `tile`, of the size its width says.
    fn log_tile(
        &self,
        log: &str,
        tile: crate::tlog::tile::Tile,
    ) -> impl Future<Output = Result<std::sync::Arc<crate::tlog::tiled::TileHashes>, String>> + Send
    {
        let _ = (log, tile);
        async { Err("this source reads no log tiles".to_owned()) }
    }

    /// Drops what is kept of `log` (its checkpoint and tiles): a check refused what it read.
    fn forget_log_tiles(&self, log: &str) {
        let _ = log;
    }
}

/// The key that must verify `jws`, signed by issuer `iss`, and how it was found.
///
/// With an `x5c` header and configured trust anchors the chain decides alone
/// ([`crate::issuer_key::resolve_x5c`]). Without anchors the chain cannot be trusted, so
/// the key is resolved from `iss` and `kid` as for any JWT, and the detail says the chain
/// was not used.
pub async fn resolve_issuer_key<S: Sources>(
    sources: &S,
    iss: &str,
    jws: &Jws,
    now: i64,
) -> Result<(Jwk, String), String> {
    resolve_issuer_key_for(sources, iss, jws, now, Profile::Open)
        .await
        .map(|k| (k.jwk, k.detail))
}

/// An issuer key and how it was found.
pub struct IssuerKey {
    pub jwk: Jwk,
    /// How it was found, in a sentence.
    pub detail: String,
    /// Whether it is the leaf key of an `x5c` chain verified to a trust anchor.
    pub from_x5c: bool,
}

/// Why the haip profile refuses an issuer key that does not come from an `x5c` chain.
pub const HAIP_REQUIRES_X5C: &str = "the haip profile requires the issuer key from an `x5c` certificate chain to a configured trust anchor (HAIP 1.0 §6.1); a key from JWT VC Issuer Metadata or a DID alone is not accepted";

/// [`resolve_issuer_key`] under `profile`: under [`Profile::Haip`] only an `x5c` chain to
/// a trust anchor gives the key (HAIP 1.0 §6.1), never `iss` and `kid` alone.
pub async fn resolve_issuer_key_for<S: Sources>(
    sources: &S,
    iss: &str,
    jws: &Jws,
    now: i64,
    profile: Profile,
) -> Result<IssuerKey, String> {
    let x5c = jws.header.get("x5c");
    let anchors = sources.x509_anchors().filter(|a| !a.is_empty());
    if let (Some(x5c), Some(anchors)) = (x5c, anchors) {
        let (jwk, leaf) =
            crate::issuer_key::resolve_x5c(iss, x5c, anchors, now).map_err(|e| e.to_string())?;
        return Ok(IssuerKey {
            jwk,
            detail: format!(
                "certificate {} (SHA-256 {}) of issuer {iss}, chained to a trust anchor",
                leaf.subject,
                leaf.hash()
            ),
            from_x5c: true,
        });
    }
    if profile == Profile::Haip {
        return Err(match (x5c, anchors) {
            (None, _) => format!("{HAIP_REQUIRES_X5C}: the issuer-signed JWT has no `x5c` header"),
            (Some(_), _) => format!("{HAIP_REQUIRES_X5C}: no X.509 trust anchors are configured"),
        });
    }
    match sources.issuer_key(iss, jws.kid()).await {
        Ok(jwk) => {
            let mut detail = format!(
                "key {} of issuer {iss}",
                jws.kid().map_or_else(|| jwk.thumbprint(), str::to_owned)
            );
            if x5c.is_some() {
                detail.push_str(
                    "; its `x5c` chain is not used: no X.509 trust anchors are configured",
                );
            }
            Ok(IssuerKey {
                jwk,
                detail,
                from_x5c: false,
            })
        }
        Err(e) if x5c.is_some() => Err(format!(
            "the `x5c` chain cannot be checked (no X.509 trust anchors are configured), and {e}"
        )),
        Err(e) => Err(e),
    }
}

/// What a verification requires beyond the request's own values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// OpenID4VP 1.0 as it is: any issuer key resolution, holder binding as the query asks.
    #[default]
    Open,
    /// HAIP 1.0: issuer keys only from `x5c` chains to a trust anchor (§6.1), a KB-JWT with
    /// every presentation (§5), status lists signed under `x5c` as well.
    Haip,
}

/// A resource fetched for a check.
#[derive(Clone, Debug, Default)]
pub struct Resource {
    pub status: u16,
    /// The `Content-Type` without parameters, lower case.
    pub media_type: Option<String>,
    pub body: Vec<u8>,
}

/// What the response must match: the request's values and the verifier's policy.
pub struct Expectations<'a> {
    /// The full `client_id`, prefix included: the KB-JWT `aud`.
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub query: &'a DcqlQuery,
    /// Empty: no trust list is configured.
    pub trusted_issuers: &'a [String],
    pub now: i64,
    /// The verifier's profile (`VERIFIER_PROFILE`).
    pub profile: Profile,
}

/// Verified status lists by issuer and URI, kept until their `ttl` (bounded) or `exp`,
/// whichever is first; at most [`crate::cache::DEFAULT_MAX`].
pub type StatusCache = TtlCache<String, StatusList>;

/// Collects the checks of one presentation.
struct Collector {
    label: String,
    checks: Vec<Check>,
}

impl Collector {
    fn push(&mut self, mut check: Check) {
        check.presentation = Some(self.label.clone());
        self.checks.push(check);
    }

    fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.push(Check::pass(name, detail));
    }

    fn fail(&mut self, name: &str, detail: impl Into<String>) {
        self.push(Check::fail(name, detail));
    }

    fn unset(&mut self, name: &str, detail: impl Into<String>) {
        self.push(Check::unset(name, detail));
    }

    fn result(&mut self, name: &str, r: Result<String, String>) {
        match r {
            Ok(d) => self.pass(name, d),
            Err(d) => self.fail(name, d),
        }
    }

    /// Marks every check not yet recorded as not checked.
    fn skip_rest(&mut self, reason: &str) {
        let done: Vec<String> = self.checks.iter().map(|c| c.name.clone()).collect();
        for name in PRESENTATION_CHECKS {
            if !done.iter().any(|d| d == name) {
                self.unset(name, format!("not checked: {reason}"));
            }
        }
    }

    fn all_passed(&self) -> bool {
        !self.checks.iter().any(Check::failed)
    }
}

/// The `vp_token` shape (OpenID4VP 1.0 §8.1): a JSON object keyed by credential query id,
/// each value a non-empty array of presentations.
pub fn vp_token_shape(vp_token: &Value, query: &DcqlQuery) -> Result<String, String> {
    let Value::Object(map) = vp_token else {
        return Err("`vp_token` is not a JSON object keyed by credential query id".into());
    };
    if map.is_empty() {
        return Err("`vp_token` holds no presentation".into());
    }
    let mut problems = Vec::new();
    for (id, value) in map {
        if query.query(id).is_none() {
            problems.push(format!("key {id:?} is not a credential query id"));
        }
        match value {
            Value::Array(items) if items.is_empty() => {
                problems.push(format!("{id:?} holds an empty array"));
            }
            Value::Array(_) => {}
            _ => problems.push(format!("{id:?} is not an array of presentations")),
        }
    }
    if problems.is_empty() {
        let count: usize = map.values().filter_map(Value::as_array).map(Vec::len).sum();
        Ok(format!(
            "{count} presentation(s) for credential queries {:?}",
            map.keys().collect::<Vec<_>>()
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// Verifies a `vp_token` (any JSON value: its shape is the first check) against `exp`.
pub async fn verify_vp_token<S: Sources>(
    sources: &S,
    cache: &StatusCache,
    exp: &Expectations<'_>,
    vp_token: &Value,
) -> Verification {
    let mut out = Verification::default();
    let shape = vp_token_shape(vp_token, exp.query);
    let shape_ok = shape.is_ok();
    out.checks.push(match shape {
        Ok(d) => Check::pass("vp_token", d),
        Err(d) => Check::fail("vp_token", d),
    });
    let Some(map) = vp_token.as_object() else {
        out.checks.push(Check::unset(
            "dcql",
            "not checked: `vp_token` is not an object",
        ));
        return out;
    };
    let mut candidates: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for (id, value) in map {
        let (Some(query), Some(items)) = (exp.query.query(id), value.as_array()) else {
            continue;
        };
        for (index, item) in items.iter().enumerate() {
            // A wallet names its badge's log entry in the KB-JWT, if at all.
            let label = format!("{id}/{index}");
            let p = verify_presentation(sources, cache, exp, query, label, item, None).await;
            if let Some(claims) = &p.claims {
                candidates.entry(id.clone()).or_default().push(Candidate {
                    format: query.format.clone(),
                    vct: claims.get("vct").and_then(Value::as_str).map(str::to_owned),
                    types: Vec::new(),
                    claims: Value::Object(claims.clone()),
                });
                if p.all_passed {
                    out.disclosed
                        .entry(id.clone())
                        .or_default()
                        .push(Value::Object(claims.clone()));
                }
            }
            out.checks.extend(p.checks);
        }
    }
    out.checks.push(if !shape_ok {
        Check::unset("dcql", "not checked: `vp_token` is malformed")
    } else {
        match exp.query.check_response(&candidates) {
            Ok(()) => Check::pass("dcql", "the presentations satisfy the DCQL query"),
            Err(e) => Check::fail("dcql", e.to_string()),
        }
    });
    out
}

/// One presentation's checks, and its claims when its disclosures could be processed.
pub struct PresentationOutcome {
    pub checks: Vec<Check>,
    pub claims: Option<Map<String, Value>>,
    pub all_passed: bool,
}

/// Runs every check of one `dc+sd-jwt` presentation answering `query`.
pub async fn verify_presentation<S: Sources>(
    sources: &S,
    cache: &StatusCache,
    exp: &Expectations<'_>,
    query: &CredentialQuery,
    label: String,
    presentation: &Value,
    known_entry: Option<&LogEntryRef>,
) -> PresentationOutcome {
    let mut c = Collector {
        label,
        checks: Vec::new(),
    };
    let claims = run_presentation(
        sources,
        cache,
        exp,
        query,
        presentation,
        known_entry,
        &mut c,
    )
    .await;
    PresentationOutcome {
        all_passed: c.all_passed(),
        checks: c.checks,
        claims,
    }
}

/// `known_entry`: where the checker already knows the credential to be in its issuer's log
/// (a wallet checking its own badge); a KB-JWT's `log_entry` claim takes its place.
async fn run_presentation<S: Sources>(
    sources: &S,
    cache: &StatusCache,
    exp: &Expectations<'_>,
    query: &CredentialQuery,
    presentation: &Value,
    known_entry: Option<&LogEntryRef>,
    c: &mut Collector,
) -> Option<Map<String, Value>> {
    // format
    if query.format != TYP_DC_SD_JWT {
        c.fail(
            "format",
            format!(
                "credential query {:?} asks for format {}; this verifier verifies dc+sd-jwt",
                query.id, query.format
            ),
        );
        c.skip_rest("the format is not supported");
        return None;
    }
    let Some(text) = presentation.as_str() else {
        c.fail(
            "format",
            "a dc+sd-jwt presentation must be a string (SD-JWT+KB)",
        );
        c.skip_rest("the presentation could not be parsed");
        return None;
    };
    let parsed = SdJwt::parse(text).and_then(|sd| {
        let jws = sd.issuer_jwt()?;
        jws.expect_typ(&[TYP_DC_SD_JWT, TYP_VC_SD_JWT])
            .map_err(SdJwtError::IssuerJwt)?;
        Ok((sd, jws))
    });
    let (sd, jws) = match parsed {
        Ok(p) => p,
        Err(e) => {
            // An unsigned (`alg: none`) issuer JWT parses but has no signature to check.
            c.fail(check_name(&e), e.to_string());
            c.skip_rest("the presentation could not be parsed");
            return None;
        }
    };
    c.pass(
        "format",
        format!(
            "SD-JWT, typ {}, {} disclosure(s), {}",
            jws.typ().unwrap_or_default(),
            sd.disclosures.len(),
            if sd.kb_jwt.is_some() {
                "with a KB-JWT"
            } else {
                "without a KB-JWT"
            }
        ),
    );

    // issuer_key, issuer_signature
    let iss = jws.claim_str("iss").map(str::to_owned);
    let key = match &iss {
        None => {
            c.fail("issuer_key", "the issuer-signed JWT has no `iss` claim");
            None
        }
        Some(iss) => match resolve_issuer_key_for(sources, iss, &jws, exp.now, exp.profile).await {
            Ok(key) => {
                c.pass("issuer_key", key.detail);
                Some((key.jwk, key.from_x5c))
            }
            Err(e) => {
                c.fail("issuer_key", e);
                None
            }
        },
    };
    let from_x5c = key.as_ref().is_some_and(|(_, x5c)| *x5c);
    let key = key.map(|(jwk, _)| jwk);
    let mut signature_ok = false;
    match &key {
        Some(jwk) => {
            let verified = jwk
                .verifying_key()
                .map_err(JoseError::Key)
                .and_then(|k| jws.verify(&k));
            match verified {
                Ok(()) => {
                    signature_ok = true;
                    c.pass(
                        "issuer_signature",
                        format!("{} signature verifies", jws.alg.as_str()),
                    );
                }
                Err(e) => c.fail("issuer_signature", SdJwtError::IssuerJwt(e).to_string()),
            }
        }
        None if exp.profile == Profile::Haip && !jws.header.contains_key("x5c") => {
            c.fail(
                "issuer_signature",
                format!("not accepted: {HAIP_REQUIRES_X5C}"),
            );
        }
        None => c.unset("issuer_signature", "not checked: no issuer key"),
    }

    // disclosures
    let revealed = match sd.reveal(jws.payload.clone()) {
        Ok(r) => {
            c.pass(
                "disclosures",
                format!(
                    "{} disclosure(s), each referenced exactly once: {:?}",
                    r.disclosure_paths.len(),
                    r.disclosure_pointers()
                ),
            );
            r
        }
        Err(e) => {
            c.push(failed_check(&e));
            c.skip_rest("the disclosures could not be processed");
            return None;
        }
    };
    let claims = &revealed.claims;

    // issuer_binding: the badge's `ld.issuer.id` names the verified signer `iss`.
    match (&iss, signature_ok) {
        (Some(iss), true) => c.push(issuer::binding(
            iss,
            claims.get("ld"),
            "SD-JWT VC `iss`, whose key verified the signature",
        )),
        _ => c.unset(
            issuer::CHECK_ISSUER_BINDING,
            "not checked: the credential's issuer signature is not verified",
        ),
    }

    // validity
    c.result("validity", validity(claims, exp.now));

    // holder_binding, nonce, audience, kb_iat, sd_hash
    let mut named_entry: Result<Option<LogEntryRef>, String> = Ok(known_entry.cloned());
    if sd.kb_jwt.is_none() && exp.profile == Profile::Haip {
        c.fail(
            "holder_binding",
            "the haip profile requires a KB-JWT with every dc+sd-jwt presentation (HAIP 1.0 §5); this one has none",
        );
        for name in ["nonce", "audience", "kb_iat", "sd_hash"] {
            c.unset(name, "not checked: no KB-JWT");
        }
    } else if sd.kb_jwt.is_none() && !query.require_cryptographic_holder_binding {
        c.pass(
            "holder_binding",
            "no KB-JWT; the credential query waives holder binding",
        );
        for name in ["nonce", "audience", "kb_iat", "sd_hash"] {
            c.unset(name, "not applicable: no KB-JWT");
        }
    } else {
        let first = sd.verify_key_binding(
            &revealed,
            exp.client_id,
            exp.nonce,
            exp.now,
            KB_MAX_AGE,
            LEEWAY,
        );
        match &first {
            Err(e) if check_name(e) == "holder_binding" => {
                c.push(failed_check(e));
                for name in ["nonce", "audience", "kb_iat", "sd_hash"] {
                    c.unset(
                        name,
                        "not checked: the KB-JWT is not bound to the credential's key",
                    );
                }
            }
            _ => {
                let thumbprint = revealed
                    .cnf_jwk()
                    .map(|k| k.thumbprint())
                    .unwrap_or_default();
                c.pass(
                    "holder_binding",
                    format!("KB-JWT signed by the `cnf` key (thumbprint {thumbprint})"),
                );
                let kb = sd.kb_jwt.as_deref().map(Jws::decode).and_then(Result::ok);
                match kb {
                    Some(kb) => {
                        // Where the wallet says the badge is in its issuer's log: read
                        // only from a KB-JWT signed by the credential's key.
                        match LogEntryRef::from_claims(&kb.payload) {
                            Ok(None) => {}
                            named => named_entry = named,
                        }
                        for (name, r) in kb_claim_checks(&kb, &sd, exp) {
                            match r {
                                Ok(d) => c.pass(name, d),
                                Err(e) => c.push(failed_check(&e)),
                            }
                        }
                    }
                    None => {
                        for name in ["nonce", "audience", "kb_iat", "sd_hash"] {
                            c.fail(name, "the KB-JWT could not be decoded");
                        }
                    }
                }
            }
        }
    }

    // vct
    let vct = claims.get("vct").and_then(Value::as_str);
    match (&query.meta.vct_values, vct) {
        (_, None) => c.fail("vct", "the credential has no `vct` claim"),
        (Some(values), Some(vct)) if values.iter().any(|v| v == vct) => {
            c.pass("vct", format!("{vct} is among the query's `vct_values`"))
        }
        (Some(values), Some(vct)) => c.fail(
            "vct",
            format!("{vct} is not among the query's `vct_values` {values:?}"),
        ),
        (None, Some(vct)) => c.unset("vct", format!("{vct}: the query names no `vct_values`")),
    }

    // status
    match (&iss, signature_ok) {
        (Some(iss), true) => {
            let r = status_for(sources, cache, iss, claims, exp.now, exp.profile).await;
            c.result("status", r);
        }
        _ => c.unset(
            "status",
            "not checked: the credential's issuer signature is not verified",
        ),
    }

    // transparency: the issuer-signed JWT is in the issuer's public log.
    match (&iss, signature_ok) {
        (Some(iss), true) => match &named_entry {
            Ok(named) => c.push(transparency::check(sources, iss, &sd.jwt, named.as_ref()).await),
            Err(e) => c.fail(transparency::CHECK_TRANSPARENCY, e.clone()),
        },
        _ => c.unset(
            transparency::CHECK_TRANSPARENCY,
            "not checked: the credential's issuer signature is not verified",
        ),
    }

    // ob3_schema
    match claims.get("ld") {
        None => c.unset("ob3_schema", "no `ld` claim: not an Open Badge"),
        Some(ld) => match crate::ob3::schema::validate(ld) {
            Ok(()) => c.pass(
                "ob3_schema",
                "the `ld` claim is a valid OB 3.0 AchievementCredential",
            ),
            Err(violations) => c.fail(
                "ob3_schema",
                violations
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        },
    }

    // image_digest
    match claims.get("ld") {
        None => c.unset("image_digest", "no `ld` claim: not an Open Badge"),
        Some(ld) => c.push(image_digest::check(sources, ld).await),
    }

    // requested_issuer, trust: held against the verified signer.
    let signer = iss.as_deref().filter(|_| signature_ok);
    c.push(issuer::requested(query, signer));
    if let Some(check) = trusted_authorities(query, &jws, signer.is_some() && from_x5c) {
        c.push(check);
    }
    c.push(trust(exp.trusted_issuers, signer));
    Some(revealed.claims)
}

/// The name of the check of a credential query's `trusted_authorities`.
pub const CHECK_TRUSTED_AUTHORITIES: &str = "trusted_authorities";

/// The `trusted_authorities` check (OpenID4VP 1.0 §6.1.1), when the credential query has
/// that member: a certificate of the issuer's `x5c` chain, verified to a trust anchor
/// (`chain_verified`), has an authorityKeyIdentifier among the `aki` values. Entries of
/// other types are not checked here (said in the detail). `None`: the query has none.
pub fn trusted_authorities(
    query: &CredentialQuery,
    jws: &Jws,
    chain_verified: bool,
) -> Option<Check> {
    let entries = query.trusted_authorities.as_ref()?;
    let allowed: Vec<&String> = entries
        .iter()
        .filter(|e| e.type_ == "aki")
        .flat_map(|e| e.values.iter())
        .collect();
    let others: Vec<&str> = entries
        .iter()
        .filter(|e| e.type_ != "aki")
        .map(|e| e.type_.as_str())
        .collect();
    let name = CHECK_TRUSTED_AUTHORITIES;
    if allowed.is_empty() {
        return Some(Check::unset(
            name,
            format!("not checked: this verifier checks `aki` entries, the query has {others:?}"),
        ));
    }
    if !chain_verified {
        return Some(Check::fail(
            name,
            format!(
                "the query accepts credentials under the authority key identifiers {allowed:?}, and the issuer's key does not come from an `x5c` chain verified to a trust anchor"
            ),
        ));
    }
    let x5c: Vec<String> = jws
        .header
        .get("x5c")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let found = match crate::x509::chain_authority_key_ids(&x5c) {
        Ok(found) => found,
        Err(e) => return Some(Check::fail(name, format!("the `x5c` chain: {e}"))),
    };
    Some(match found.iter().find(|f| allowed.contains(f)) {
        Some(aki) => Check::pass(
            name,
            format!(
                "the issuer's `x5c` chain is under the authority key identifier {aki} the query accepts"
            ),
        ),
        None => Check::fail(
            name,
            format!(
                "the issuer's `x5c` chain names the authority key identifiers {found:?}, none of the {allowed:?} the query accepts"
            ),
        ),
    })
}

/// The `trust` check: the verified signer `iss` is on the trust list (not configured when
/// empty); `None`: no verified signer.
pub fn trust(trusted_issuers: &[String], iss: Option<&str>) -> Check {
    match iss {
        _ if trusted_issuers.is_empty() => Check::unset("trust", "trust list not configured"),
        None => Check::fail(
            "trust",
            "no verified issuer: the credential's issuer signature is not verified",
        ),
        Some(iss) => {
            if trusted_issuers.iter().any(|t| issuer::same_issuer(t, iss)) {
                Check::pass("trust", format!("{iss} is a trusted issuer"))
            } else {
                Check::fail("trust", format!("{iss} is not on the trust list"))
            }
        }
    }
}

/// `exp` and `nbf` with [`LEEWAY`], by the same rule as every SD-JWT verification
/// ([`crate::sd_jwt::check_time_window`]: a fractional `exp` rounded down, `nbf` up).
pub fn validity(claims: &Map<String, Value>, now: i64) -> Result<String, String> {
    match crate::sd_jwt::check_time_window(claims, now, LEEWAY) {
        Ok(Some(exp)) => Ok(format!("valid until {}", crate::clock::rfc3339(exp))),
        Ok(None) => Ok("no expiry".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// The KB-JWT claim checks, each on its own so every failure is reported (the signature
/// was already verified by [`SdJwt::verify_key_binding`], whose checks these are:
/// [`SdJwt::kb_claims`]).
fn kb_claim_checks(
    kb: &Jws,
    sd: &SdJwt,
    exp: &Expectations<'_>,
) -> Vec<(&'static str, Result<String, SdJwtError>)> {
    sd.kb_claims(kb, exp.client_id, exp.nonce, exp.now, KB_MAX_AGE, LEEWAY)
        .into_iter()
        .map(|(name, r)| {
            let detail = match name {
                "nonce" => "the KB-JWT `nonce` is the request's nonce".to_owned(),
                "audience" => format!("the KB-JWT `aud` is the client_id {}", exp.client_id),
                "kb_iat" => format!(
                    "the KB-JWT was issued {} s ago (at most {KB_MAX_AGE} s accepted)",
                    kb.claim_time("iat").map_or(0, |t| exp.now - t)
                ),
                _ => "the KB-JWT `sd_hash` covers exactly this presentation".to_owned(),
            };
            (name, r.map(|()| detail))
        })
        .collect()
}

/// The Token Status List check (draft-ietf-oauth-status-list §8.3): fetch (or reuse) the
/// list named by `status.status_list.uri`, verify it with the issuer's key
/// ([`crate::status::token`]: `typ`, signature, `sub` == uri, `exp`), and read the entry.
pub async fn status<S: Sources>(
    sources: &S,
    cache: &StatusCache,
    iss: &str,
    claims: &Map<String, Value>,
    now: i64,
) -> Result<String, String> {
    status_for(sources, cache, iss, claims, now, Profile::Open).await
}

/// [`status`] under `profile`: under [`Profile::Haip`] the Status List Token's key must come
/// from its `x5c` chain too (HAIP 1.0 §6.1).
pub async fn status_for<S: Sources>(
    sources: &S,
    cache: &StatusCache,
    iss: &str,
    claims: &Map<String, Value>,
    now: i64,
    profile: Profile,
) -> Result<String, String> {
    let reference = match status_token::reference(claims).map_err(|e| e.to_string())? {
        Some(r) => r,
        None => return Ok("the credential has no `status` claim: it cannot be revoked".into()),
    };
    let uri = &reference.uri;
    // A list counts only if the badge's own issuer signed it: cached per (issuer, uri), so
    // a list verified for one issuer is never reused for a badge of another.
    let key = format!("{iss}\n{uri}\n{profile:?}");
    let list = match cache.get(&key, now) {
        Some(list) => list,
        None => {
            let (list, until) = fetch_status_list(sources, iss, uri, now, profile).await?;
            cache.put(key, list.clone(), until, now);
            list
        }
    };
    status_token::read(&list, &reference).map_err(|e| e.to_string())?
}

/// Fetches and verifies a Status List Token; returns the list and until when to cache it.
async fn fetch_status_list<S: Sources>(
    sources: &S,
    iss: &str,
    uri: &str,
    now: i64,
    profile: Profile,
) -> Result<(StatusList, i64), String> {
    let token = sources
        .status_list_token(uri)
        .await
        .map_err(|e| format!("status list {uri}: {e}"))?;
    let jws = status_token::decode(&token, uri).map_err(|e| e.to_string())?;
    let key = resolve_issuer_key_for(sources, iss, &jws, now, profile)
        .await
        .map_err(|e| format!("status list {uri}: the issuer's key: {e}"))?
        .jwk;
    let list = status_token::verify(&jws, uri, &key, now, LEEWAY).map_err(|e| match e {
        status_token::StatusTokenError::Signature { uri, source } => {
            format!("status list {uri}: signature by the issuer {iss}: {source}")
        }
        other => other.to_string(),
    })?;
    let ttl = jws
        .claim_time("ttl")
        .unwrap_or(STATUS_DEFAULT_TTL)
        .clamp(0, STATUS_MAX_TTL);
    let until = jws
        .claim_time("exp")
        .map_or(now + ttl, |exp| exp.min(now + ttl));
    Ok((list, until))
}

#[cfg(test)]
mod tests;
