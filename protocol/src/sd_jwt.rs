//! SD-JWT (RFC 9901) issuance, presentation and verification with key binding, and the
//! SD-JWT VC (draft-ietf-oauth-sd-jwt-vc) header type `dc+sd-jwt`.
//!
//! The flow is a chain of types: [`SdJwt::parse`] splits the compact form, the caller
//! resolves the issuer key from [`SdJwt::issuer_jwt`], [`SdJwt::verify`] checks the
//! signature and reveals the disclosures into [`Revealed`] claims, and
//! [`SdJwt::verify_key_binding`] checks the KB-JWT against the `cnf` key.
//!
//! Disclosures are kept verbatim: digests are computed over the base64url text as received
//! (RFC 9901 §4.2.3), never over a re-serialisation.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::b64;
use crate::jose::{self, JoseError, Jws};
use crate::keys::{Jwk, KeyError, Signer, VerifyingKey};

/// The SD-JWT VC header type we issue (draft-ietf-oauth-sd-jwt-vc §3.2.1).
pub const TYP_DC_SD_JWT: &str = "dc+sd-jwt";
/// The pre-2025 SD-JWT VC type, still accepted from older issuers.
pub const TYP_VC_SD_JWT: &str = "vc+sd-jwt";
/// The KB-JWT header type (RFC 9901 §4.3).
pub const TYP_KB_JWT: &str = "kb+jwt";

/// Why an SD-JWT was refused; each variant is one failed check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdJwtError {
    #[error("malformed SD-JWT: {0}")]
    Malformed(&'static str),
    #[error("issuer-signed JWT: {0}")]
    IssuerJwt(JoseError),
    #[error("disclosure {index} is malformed: {reason}")]
    BadDisclosure { index: usize, reason: &'static str },
    #[error("`_sd_alg` {0:?} is not supported (sha-256 is)")]
    UnsupportedSdAlg(String),
    #[error("digest {0} appears more than once")]
    DuplicateDigest(String),
    #[error("disclosure for claim {name:?} would overwrite a claim already present")]
    DuplicateClaim { name: String },
    #[error("disclosure {index} is not referenced by any digest in the issuer-signed JWT")]
    UnreferencedDisclosure { index: usize },
    #[error("disclosure {index} is an {found} disclosure where an {expected} one is referenced")]
    DisclosureKind {
        index: usize,
        expected: &'static str,
        found: &'static str,
    },
    #[error("`{0}` is not a NumericDate")]
    BadTimeClaim(&'static str),
    #[error("credential expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("credential not valid before {nbf} (now {now})")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("key binding required but the presentation has no KB-JWT")]
    KbMissing,
    #[error("key binding: the credential has no usable `cnf.jwk`: {0}")]
    NoCnf(String),
    #[error("KB-JWT: {0}")]
    KbJwt(JoseError),
    #[error("KB-JWT is not signed by the `cnf` key: {0}")]
    KbSignature(KeyError),
    #[error("KB-JWT `aud` is {found:?}, expected {expected:?}")]
    KbAudience {
        expected: String,
        found: Option<String>,
    },
    #[error("KB-JWT `nonce` is {found:?}, expected {expected:?}")]
    KbNonce {
        expected: String,
        found: Option<String>,
    },
    #[error("KB-JWT `iat` {iat:?} is not within the accepted window around {now}")]
    KbIat { iat: Option<i64>, now: i64 },
    #[error("KB-JWT `sd_hash` does not match the presented SD-JWT")]
    KbSdHash,
}

/// One disclosure, with the exact text it arrived in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// The base64url text, as issued.
    pub encoded: String,
    /// The salt.
    pub salt: String,
    /// The claim name; `None` for an array element disclosure.
    pub name: Option<String>,
    /// The claim value.
    pub value: Value,
    /// base64url(SHA-256(encoded)).
    pub digest: String,
}

impl Disclosure {
    /// A new object property disclosure with a fresh 128-bit salt.
    pub fn property(name: &str, value: Value) -> Self {
        Self::make(json!([b64::random(16), name, value]))
    }

    /// A new array element disclosure with a fresh 128-bit salt.
    pub fn element(value: Value) -> Self {
        Self::make(json!([b64::random(16), value]))
    }

    #[expect(
        clippy::expect_used,
        reason = "JSON serialises; a disclosure we built parses"
    )]
    fn make(array: Value) -> Self {
        let encoded = b64::encode(serde_json::to_vec(&array).expect("JSON serialises"));
        Self::parse(&encoded, 0).expect("a disclosure we built parses")
    }

    /// Parses one disclosure (RFC 9901 §7.1 step 3): a JSON array of two or three elements,
    /// a string salt, and a claim name that is a string other than `_sd` and `...`.
    pub fn parse(encoded: &str, index: usize) -> Result<Self, SdJwtError> {
        let bad = |reason| SdJwtError::BadDisclosure { index, reason };
        let bytes = b64::decode(encoded).map_err(|_| bad("not base64url"))?;
        let array: Vec<Value> =
            serde_json::from_slice(&bytes).map_err(|_| bad("not a JSON array"))?;
        let (salt, name, value) = match array.as_slice() {
            [salt, value] => (salt, None, value),
            [salt, name, value] => {
                let name = name.as_str().ok_or(bad("claim name is not a string"))?;
                if name == "_sd" || name == "..." {
                    return Err(bad("claim name `_sd` or `...` is forbidden"));
                }
                (salt, Some(name.to_owned()), value)
            }
            _ => return Err(bad("array must have two or three elements")),
        };
        let salt = salt.as_str().ok_or(bad("salt is not a string"))?.to_owned();
        Ok(Disclosure {
            encoded: encoded.to_owned(),
            salt,
            name,
            value: value.clone(),
            digest: b64::sha256(encoded),
        })
    }

    fn kind(&self) -> &'static str {
        if self.name.is_some() {
            "object property"
        } else {
            "array element"
        }
    }
}

/// Issues an SD-JWT: `claims` is the full payload, and each JSON pointer in `conceal` names
/// a member (or array element) to replace by a digest. Nested pointers are concealed
/// innermost first, so a concealed object may itself hold concealed members. Each object
/// that gets an `_sd` array also gets `decoys` decoy digests, and `_sd` is sorted so its
/// order says nothing.
#[expect(clippy::expect_used, reason = "`_sd` is an array we made")]
pub fn issue(
    mut claims: Map<String, Value>,
    conceal: &[&str],
    decoys: usize,
    header: Map<String, Value>,
    signer: &dyn Signer,
) -> Result<SdJwt, SdJwtError> {
    let mut pointers: Vec<Vec<String>> = conceal
        .iter()
        .map(|p| parse_pointer(p))
        .collect::<Result<_, _>>()?;
    // Deepest first, and for siblings in one array the highest index first so indexes stay valid.
    pointers.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| b.cmp(a)));
    let mut disclosures = Vec::new();
    let mut touched: Vec<Vec<String>> = Vec::new();
    let mut root = Value::Object(std::mem::take(&mut claims));
    for pointer in &pointers {
        let (last, parent_path) = pointer
            .split_last()
            .ok_or(SdJwtError::Malformed("cannot conceal the whole payload"))?;
        let parent = walk_mut(&mut root, parent_path)
            .ok_or(SdJwtError::Malformed("concealed path does not exist"))?;
        match parent {
            Value::Object(map) => {
                if parent_path.is_empty() && is_never_disclosable(last) {
                    return Err(SdJwtError::Malformed(
                        "registered JWT claims cannot be selectively disclosable",
                    ));
                }
                let value = map
                    .remove(last)
                    .ok_or(SdJwtError::Malformed("concealed path does not exist"))?;
                let d = Disclosure::property(last, value);
                let sd = map.entry("_sd").or_insert_with(|| Value::Array(Vec::new()));
                sd.as_array_mut()
                    .expect("`_sd` is an array we made")
                    .push(Value::String(d.digest.clone()));
                disclosures.push(d);
                if !touched.contains(&parent_path.to_vec()) {
                    touched.push(parent_path.to_vec());
                }
            }
            Value::Array(items) => {
                let idx: usize = last
                    .parse()
                    .map_err(|_| SdJwtError::Malformed("array index is not a number"))?;
                let slot = items
                    .get_mut(idx)
                    .ok_or(SdJwtError::Malformed("concealed path does not exist"))?;
                let d = Disclosure::element(slot.take());
                *slot = json!({ "...": d.digest });
                disclosures.push(d);
            }
            _ => return Err(SdJwtError::Malformed("concealed path does not exist")),
        }
    }
    for path in &touched {
        if let Some(Value::Object(map)) = walk_mut(&mut root, path)
            && let Some(Value::Array(sd)) = map.get_mut("_sd")
        {
            {
                for _ in 0..decoys {
                    sd.push(Value::String(b64::sha256(b64::random(16))));
                }
                sd.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
    let mut claims = match root {
        Value::Object(map) => map,
        _ => unreachable!("the root stays an object"),
    };
    if !disclosures.is_empty() {
        claims.insert("_sd_alg".into(), Value::String("sha-256".into()));
    }
    // Disclosure order leaks nothing useful but the concealment order; shuffle by digest.
    disclosures.sort_by(|a, b| a.digest.cmp(&b.digest));
    let jwt = Jws::sign(header, &claims, signer);
    Ok(SdJwt {
        jwt,
        disclosures,
        kb_jwt: None,
    })
}

/// Claims that must never be selectively disclosable in SD-JWT VC (draft §3.2.2.2).
fn is_never_disclosable(name: &str) -> bool {
    matches!(
        name,
        "iss" | "nbf" | "exp" | "cnf" | "vct" | "vct#integrity" | "status" | "_sd_alg"
    )
}

/// Parses an RFC 6901 JSON pointer into its unescaped segments.
pub fn parse_pointer(pointer: &str) -> Result<Vec<String>, SdJwtError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or(SdJwtError::Malformed("JSON pointer must start with `/`"))?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn pointer_text(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn walk_mut<'a>(mut at: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    for seg in path {
        at = match at {
            Value::Object(map) => map.get_mut(seg)?,
            Value::Array(items) => items.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(at)
}

/// A parsed SD-JWT or SD-JWT+KB, not yet verified.
#[derive(Debug, Clone)]
pub struct SdJwt {
    /// The issuer-signed JWT, compact.
    pub jwt: String,
    /// The disclosures, in the order they were presented.
    pub disclosures: Vec<Disclosure>,
    /// The KB-JWT, if the SD-JWT was presented with key binding.
    pub kb_jwt: Option<String>,
}

/// Key-binding parameters for a presentation (RFC 9901 §4.3).
pub struct KeyBinding<'a> {
    /// The verifier: for OpenID4VP, the full `client_id` including its prefix.
    pub aud: &'a str,
    /// The verifier's nonce.
    pub nonce: &'a str,
    /// Now.
    pub iat: i64,
    /// The holder key named in `cnf`.
    pub signer: &'a dyn Signer,
    /// Where the badge is in its issuer's log, as the wallet's kept proof says: sent as
    /// the KB-JWT's [`crate::tlog::proof::KB_LOG_ENTRY`] claim.
    pub log_entry: Option<&'a crate::tlog::proof::LogEntryRef>,
}

impl SdJwt {
    /// Splits `<jwt>~<d1>~…~<dn>~[<kb-jwt>]` (RFC 9901 §4). The trailing `~` is mandatory
    /// when there is no KB-JWT; every disclosure must parse.
    #[expect(clippy::expect_used, reason = "at least two parts")]
    pub fn parse(text: &str) -> Result<Self, SdJwtError> {
        let text = text.trim();
        let mut parts: Vec<&str> = text.split('~').collect();
        if parts.len() < 2 {
            return Err(SdJwtError::Malformed("no `~` separator: not an SD-JWT"));
        }
        let last = parts.pop().expect("at least two parts");
        let kb_jwt = if last.is_empty() {
            None
        } else {
            Some(last.to_owned())
        };
        let jwt = parts.remove(0).to_owned();
        if jwt.is_empty() {
            return Err(SdJwtError::Malformed("issuer-signed JWT is empty"));
        }
        let disclosures = parts
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if d.is_empty() {
                    Err(SdJwtError::Malformed(
                        "empty disclosure between `~` separators",
                    ))
                } else {
                    Disclosure::parse(d, i)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SdJwt {
            jwt,
            disclosures,
            kb_jwt,
        })
    }

    /// The compact form: `<jwt>~<d1>~…~<dn>~` plus the KB-JWT if any.
    pub fn serialize(&self) -> String {
        let mut out = self.without_kb();
        if let Some(kb) = &self.kb_jwt {
            out.push_str(kb);
        }
        out
    }

    /// `<jwt>~<d1>~…~<dn>~`: the input of `sd_hash`.
    pub fn without_kb(&self) -> String {
        let mut out = String::with_capacity(
            self.jwt.len()
                + self
                    .disclosures
                    .iter()
                    .map(|d| d.encoded.len() + 1)
                    .sum::<usize>()
                + 1,
        );
        out.push_str(&self.jwt);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(&d.encoded);
            out.push('~');
        }
        out
    }

    /// Decodes (does not verify) the issuer-signed JWT, so the caller can pick the key by
    /// `iss` and `kid`.
    pub fn issuer_jwt(&self) -> Result<Jws, SdJwtError> {
        Jws::decode(&self.jwt).map_err(SdJwtError::IssuerJwt)
    }

    /// Makes a presentation holding only the disclosures at `keep` (indexes into
    /// `self.disclosures`), with a KB-JWT when `binding` is given.
    pub fn present(&self, keep: &[usize], binding: Option<KeyBinding<'_>>) -> SdJwt {
        let mut keep = keep.to_vec();
        keep.sort_unstable();
        keep.dedup();
        let mut out = SdJwt {
            jwt: self.jwt.clone(),
            disclosures: keep
                .iter()
                .filter_map(|&i| self.disclosures.get(i).cloned())
                .collect(),
            kb_jwt: None,
        };
        if let Some(kb) = binding {
            let mut payload = json!({
                "iat": kb.iat,
                "aud": kb.aud,
                "nonce": kb.nonce,
                "sd_hash": b64::sha256(out.without_kb()),
            });
            if let Some(entry) = kb.log_entry {
                payload[crate::tlog::proof::KB_LOG_ENTRY] = json!(entry);
            }
            out.kb_jwt = Some(Jws::sign(
                jose::header(TYP_KB_JWT, None),
                &payload,
                kb.signer,
            ));
        }
        out
    }

    /// Verifies the issuer signature with `issuer_key`, the header type against
    /// `accepted_typ`, and reveals every disclosure (RFC 9901 §7.1), checking `exp`/`nbf`
    /// against `now` with `leeway` seconds.
    pub fn verify(
        &self,
        issuer_key: &VerifyingKey,
        accepted_typ: &[&str],
        now: i64,
        leeway: i64,
    ) -> Result<Revealed, SdJwtError> {
        let jws = self.issuer_jwt()?;
        jws.expect_typ(accepted_typ)
            .map_err(SdJwtError::IssuerJwt)?;
        jws.verify(issuer_key).map_err(SdJwtError::IssuerJwt)?;
        let revealed = self.reveal(jws.payload)?;
        check_time_window(&revealed.claims, now, leeway)?;
        Ok(revealed)
    }

    /// Replaces digests by their disclosures, recursively, with every check of RFC 9901
    /// §7.1 step 3–5. Does not check the signature.
    #[expect(clippy::expect_used, reason = "every disclosure is used")]
    pub fn reveal(&self, mut payload: Map<String, Value>) -> Result<Revealed, SdJwtError> {
        match payload.remove("_sd_alg") {
            None => {}
            Some(Value::String(alg)) if alg == "sha-256" => {}
            Some(other) => {
                return Err(SdJwtError::UnsupportedSdAlg(
                    other.as_str().unwrap_or("?").to_owned(),
                ));
            }
        }
        let mut by_digest: HashMap<&str, usize> = HashMap::with_capacity(self.disclosures.len());
        for (i, d) in self.disclosures.iter().enumerate() {
            if by_digest.insert(d.digest.as_str(), i).is_some() {
                return Err(SdJwtError::DuplicateDigest(d.digest.clone()));
            }
        }
        let mut state = RevealState {
            sd: self,
            by_digest,
            seen: HashSet::new(),
            used: vec![None; self.disclosures.len()],
        };
        let mut root = Value::Object(payload);
        state.walk(&mut root, &mut Vec::new(), None)?;
        if let Some(index) = state.used.iter().position(Option::is_none) {
            return Err(SdJwtError::UnreferencedDisclosure { index });
        }
        let paths = state
            .used
            .into_iter()
            .map(|p| p.expect("every disclosure is used"))
            .collect();
        let claims = match root {
            Value::Object(map) => map,
            _ => unreachable!("the root stays an object"),
        };
        Ok(Revealed {
            claims,
            disclosure_paths: paths,
        })
    }

    /// Checks the KB-JWT (RFC 9901 §7.3): present, `typ` `kb+jwt`, signed by the `cnf.jwk`
    /// of `revealed`, `aud` and `nonce` as expected, `iat` within `max_age` seconds before
    /// `now` (and at most `leeway` after), and `sd_hash` over exactly this presentation.
    pub fn verify_key_binding(
        &self,
        revealed: &Revealed,
        expected_aud: &str,
        expected_nonce: &str,
        now: i64,
        max_age: i64,
        leeway: i64,
    ) -> Result<(), SdJwtError> {
        let kb = self.kb_jwt.as_deref().ok_or(SdJwtError::KbMissing)?;
        let cnf = revealed.cnf_jwk()?;
        let jws = Jws::decode(kb).map_err(SdJwtError::KbJwt)?;
        jws.expect_typ(&[TYP_KB_JWT]).map_err(SdJwtError::KbJwt)?;
        let key = cnf
            .verifying_key()
            .map_err(|e| SdJwtError::NoCnf(e.to_string()))?;
        jws.verify(&key).map_err(|e| match e {
            JoseError::Key(k) => SdJwtError::KbSignature(k),
            other => SdJwtError::KbJwt(other),
        })?;
        for (_, result) in self.kb_claims(&jws, expected_aud, expected_nonce, now, max_age, leeway)
        {
            result?;
        }
        Ok(())
    }

    /// The KB-JWT claim checks of RFC 9901 §7.3 step 5, each on its own (`nonce`, `aud`,
    /// `iat`, `sd_hash`, in that order, named as the verification reports them), so a
    /// caller can report every failure; `kb` is the decoded KB-JWT, its signature checked
    /// by the caller.
    pub fn kb_claims(
        &self,
        kb: &Jws,
        expected_aud: &str,
        expected_nonce: &str,
        now: i64,
        max_age: i64,
        leeway: i64,
    ) -> [(&'static str, Result<(), SdJwtError>); 4] {
        let aud = kb.claim_str("aud");
        let audience = if aud == Some(expected_aud) {
            Ok(())
        } else {
            Err(SdJwtError::KbAudience {
                expected: expected_aud.into(),
                found: aud.map(Into::into),
            })
        };
        let nonce = kb.claim_str("nonce");
        let nonce = if nonce == Some(expected_nonce) {
            Ok(())
        } else {
            Err(SdJwtError::KbNonce {
                expected: expected_nonce.into(),
                found: nonce.map(Into::into),
            })
        };
        let iat = kb.claim_time("iat");
        let kb_iat = match iat {
            Some(t) if t <= now + leeway && t >= now - max_age => Ok(()),
            _ => Err(SdJwtError::KbIat { iat, now }),
        };
        let sd_hash = if kb.claim_str("sd_hash") == Some(b64::sha256(self.without_kb()).as_str()) {
            Ok(())
        } else {
            Err(SdJwtError::KbSdHash)
        };
        [
            ("nonce", nonce),
            ("audience", audience),
            ("kb_iat", kb_iat),
            ("sd_hash", sd_hash),
        ]
    }
}

/// The validity window of a credential's claims, `exp` and `nbf` (RFC 7519 §4.1.4–5),
/// against `now` with `leeway` seconds; returns `exp`. Both are NumericDates, which may
/// have a fraction (RFC 7519 §2): `exp` is rounded down and `nbf` up, so a fraction never
/// widens the window; a value that is not a number is refused rather than ignored.
pub fn check_time_window(
    claims: &Map<String, Value>,
    now: i64,
    leeway: i64,
) -> Result<Option<i64>, SdJwtError> {
    let exp = numeric_date(claims, "exp", f64::floor)?;
    if let Some(exp) = exp
        && now > exp + leeway
    {
        return Err(SdJwtError::Expired { exp, now });
    }
    if let Some(nbf) = numeric_date(claims, "nbf", f64::ceil)?
        && now + leeway < nbf
    {
        return Err(SdJwtError::NotYetValid { nbf, now });
    }
    Ok(exp)
}

/// A NumericDate claim (RFC 7519 §2: seconds, possibly fractional, a fraction rounded by
/// `round`). A claim that is present but not a number is refused rather than ignored.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
    round: fn(f64) -> f64,
) -> Result<Option<i64>, SdJwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.is_finite())
                    .map(|f| round(f) as i64)
            })
            .map(Some)
            .ok_or(SdJwtError::BadTimeClaim(name)),
    }
}

struct RevealState<'a> {
    sd: &'a SdJwt,
    by_digest: HashMap<&'a str, usize>,
    seen: HashSet<String>,
    /// For each disclosure, the path of the claim it revealed.
    used: Vec<Option<Vec<String>>>,
}

impl RevealState<'_> {
    fn take(&mut self, digest: &str) -> Result<Option<usize>, SdJwtError> {
        if !self.seen.insert(digest.to_owned()) {
            return Err(SdJwtError::DuplicateDigest(digest.to_owned()));
        }
        Ok(self.by_digest.get(digest).copied())
    }

    fn walk(
        &mut self,
        value: &mut Value,
        path: &mut Vec<String>,
        _parent: Option<usize>,
    ) -> Result<(), SdJwtError> {
        match value {
            Value::Object(map) => {
                if let Some(sd) = map.remove("_sd") {
                    let digests = sd
                        .as_array()
                        .ok_or(SdJwtError::Malformed("`_sd` is not an array"))?;
                    for digest in digests {
                        let digest = digest
                            .as_str()
                            .ok_or(SdJwtError::Malformed("`_sd` holds a non-string"))?;
                        let Some(index) = self.take(digest)? else {
                            continue;
                        };
                        let d = &self.sd.disclosures[index];
                        let Some(name) = d.name.clone() else {
                            return Err(SdJwtError::DisclosureKind {
                                index,
                                expected: "object property",
                                found: d.kind(),
                            });
                        };
                        if map.contains_key(&name) {
                            return Err(SdJwtError::DuplicateClaim { name });
                        }
                        let mut child_path = path.clone();
                        child_path.push(name.clone());
                        self.used[index] = Some(child_path);
                        map.insert(name, d.value.clone());
                    }
                }
                for (key, child) in map.iter_mut() {
                    path.push(key.clone());
                    self.walk(child, path, None)?;
                    path.pop();
                }
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.drain(..) {
                    let digest = match &item {
                        Value::Object(m) if m.len() == 1 && m.contains_key("...") => Some(
                            m["..."]
                                .as_str()
                                .ok_or(SdJwtError::Malformed("`...` holds a non-string"))?
                                .to_owned(),
                        ),
                        _ => None,
                    };
                    match digest {
                        None => out.push(item),
                        Some(digest) => {
                            let Some(index) = self.take(&digest)? else {
                                continue;
                            };
                            let d = &self.sd.disclosures[index];
                            if d.name.is_some() {
                                return Err(SdJwtError::DisclosureKind {
                                    index,
                                    expected: "array element",
                                    found: d.kind(),
                                });
                            }
                            let mut child_path = path.clone();
                            child_path.push(out.len().to_string());
                            self.used[index] = Some(child_path);
                            out.push(d.value.clone());
                        }
                    }
                }
                *items = out;
                for (i, child) in items.iter_mut().enumerate() {
                    path.push(i.to_string());
                    self.walk(child, path, None)?;
                    path.pop();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The claims of a verified SD-JWT, with every presented disclosure in place.
#[derive(Debug, Clone)]
pub struct Revealed {
    /// The processed payload: digests replaced, `_sd` and `_sd_alg` removed.
    pub claims: Map<String, Value>,
    /// For each disclosure (by index), the path of the claim it revealed.
    pub disclosure_paths: Vec<Vec<String>>,
}

impl Revealed {
    /// The holder key from `cnf.jwk` (RFC 7800).
    pub fn cnf_jwk(&self) -> Result<Jwk, SdJwtError> {
        let jwk = self
            .claims
            .get("cnf")
            .and_then(|c| c.get("jwk"))
            .ok_or_else(|| SdJwtError::NoCnf("no `cnf.jwk` claim".into()))?;
        Jwk::from_value(jwk).map_err(|e| SdJwtError::NoCnf(e.to_string()))
    }

    /// The disclosure paths as JSON pointers, for display and for the holder's choices.
    pub fn disclosure_pointers(&self) -> Vec<String> {
        self.disclosure_paths
            .iter()
            .map(|p| pointer_text(p))
            .collect()
    }

    /// The disclosures a holder must present to reveal the claims at `paths`: the
    /// disclosure of each claim, of every claim inside it, and of every enclosing claim
    /// that is itself concealed.
    pub fn disclosures_for(&self, paths: &[Vec<String>]) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .disclosure_paths
            .iter()
            .enumerate()
            .filter(|(_, dp)| paths.iter().any(|p| dp.starts_with(p) || p.starts_with(dp)))
            .map(|(i, _)| i)
            .collect();
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, SigningKey};

    fn sample(issuer: &SigningKey, holder: &SigningKey) -> SdJwt {
        let claims = json!({
            "iss": "https://issuer.example",
            "vct": "https://issuer.example/vct/badge",
            "iat": 1000,
            "exp": 5000,
            "cnf": {"jwk": holder.public_jwk().to_value()},
            "ld": {
                "credentialSubject": {
                    "type": ["AchievementSubject"],
                    "name": "Ana",
                    "identifier": [{"type": "IdentityObject", "identityHash": "ana@example.org"}],
                    "result": [{"value": "A"}, {"value": "B"}]
                },
                "issuer": {"id": "https://issuer.example", "name": "Agency"}
            }
        });
        issue(
            claims.as_object().unwrap().clone(),
            &[
                "/ld/credentialSubject/name",
                "/ld/credentialSubject/identifier",
                "/ld/credentialSubject/result/1",
                "/ld/credentialSubject/result",
            ],
            2,
            jose::header(TYP_DC_SD_JWT, Some("did:web:issuer.example#key-1")),
            issuer,
        )
        .unwrap()
    }

    #[test]
    fn issue_reveal_present_verify() {
        let issuer = SigningKey::generate(Alg::ES256);
        let holder = SigningKey::generate(Alg::ES256);
        let sd = sample(&issuer, &holder);
        assert_eq!(sd.disclosures.len(), 4);
        let text = sd.serialize();
        assert!(text.ends_with('~'));
        let parsed = SdJwt::parse(&text).unwrap();
        let ik = issuer.public_jwk().verifying_key().unwrap();
        let all = parsed.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0).unwrap();
        let subject = &all.claims["ld"]["credentialSubject"];
        assert_eq!(subject["name"], "Ana");
        assert_eq!(subject["result"], json!([{"value": "A"}, {"value": "B"}]));
        assert!(all.claims.get("_sd_alg").is_none());

        // Present only the name, bound to a verifier nonce.
        let want = all.disclosures_for(&[parse_pointer("/ld/credentialSubject/name").unwrap()]);
        assert_eq!(want.len(), 1);
        let pres = parsed.present(
            &want,
            Some(KeyBinding {
                aud: "x509_hash:abc",
                nonce: "n1",
                iat: 2000,
                signer: &holder,
                log_entry: None,
            }),
        );
        let received = SdJwt::parse(&pres.serialize()).unwrap();
        let r = received.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0).unwrap();
        assert_eq!(r.claims["ld"]["credentialSubject"]["name"], "Ana");
        assert!(
            r.claims["ld"]["credentialSubject"]
                .get("identifier")
                .is_none()
        );
        assert!(r.claims["ld"]["credentialSubject"].get("result").is_none());
        received
            .verify_key_binding(&r, "x509_hash:abc", "n1", 2010, 300, 5)
            .unwrap();
        assert!(matches!(
            received.verify_key_binding(&r, "x509_hash:abd", "n1", 2010, 300, 5),
            Err(SdJwtError::KbAudience { .. })
        ));
        assert!(matches!(
            received.verify_key_binding(&r, "x509_hash:abc", "n2", 2010, 300, 5),
            Err(SdJwtError::KbNonce { .. })
        ));
        assert!(matches!(
            received.verify_key_binding(&r, "x509_hash:abc", "n1", 9000, 300, 5),
            Err(SdJwtError::KbIat { .. })
        ));

        // The nested array element needs its enclosing disclosure too.
        let want = all.disclosures_for(&[vec![
            "ld".into(),
            "credentialSubject".into(),
            "result".into(),
            "1".into(),
        ]]);
        assert_eq!(want.len(), 2);
    }

    #[test]
    fn rejections() {
        let issuer = SigningKey::generate(Alg::ES256);
        let holder = SigningKey::generate(Alg::ES256);
        let ik = issuer.public_jwk().verifying_key().unwrap();
        let sd = sample(&issuer, &holder);

        // Expired and not yet valid.
        assert!(matches!(
            sd.verify(&ik, &[TYP_DC_SD_JWT], 6000, 0),
            Err(SdJwtError::Expired { .. })
        ));
        // Wrong typ.
        assert!(matches!(
            sd.verify(&ik, &["kb+jwt"], 2000, 0),
            Err(SdJwtError::IssuerJwt(JoseError::WrongTyp { .. }))
        ));

        // A tampered disclosure: its digest no longer matches anything.
        let mut tampered = sd.clone();
        let fake = Disclosure::property("name", json!("Mallory"));
        let i = tampered
            .disclosures
            .iter()
            .position(|d| d.name.as_deref() == Some("name"))
            .unwrap();
        tampered.disclosures[i] = Disclosure {
            salt: tampered.disclosures[i].salt.clone(),
            ..fake
        };
        assert_eq!(
            tampered.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0).unwrap_err(),
            SdJwtError::UnreferencedDisclosure { index: i }
        );

        // Duplicate disclosure.
        let mut dup = sd.clone();
        dup.disclosures.push(dup.disclosures[0].clone());
        assert!(matches!(
            dup.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0),
            Err(SdJwtError::DuplicateDigest(_))
        ));

        // KB-JWT signed by another key.
        let other = SigningKey::generate(Alg::ES256);
        let pres = sd.present(
            &[],
            Some(KeyBinding {
                aud: "a",
                nonce: "n",
                iat: 2000,
                signer: &other,
                log_entry: None,
            }),
        );
        let r = pres.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0).unwrap();
        assert!(matches!(
            pres.verify_key_binding(&r, "a", "n", 2000, 60, 5),
            Err(SdJwtError::KbSignature(_))
        ));

        // sd_hash over a different set of disclosures.
        let pres = sd.present(
            &[],
            Some(KeyBinding {
                aud: "a",
                nonce: "n",
                iat: 2000,
                signer: &holder,
                log_entry: None,
            }),
        );
        let mut swapped = pres.clone();
        let all = sd.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0).unwrap();
        let name = all.disclosures_for(&[parse_pointer("/ld/credentialSubject/name").unwrap()]);
        swapped.disclosures = sd.present(&name, None).disclosures;
        let r = swapped.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0).unwrap();
        assert_eq!(
            swapped.verify_key_binding(&r, "a", "n", 2000, 60, 5),
            Err(SdJwtError::KbSdHash)
        );

        // No KB-JWT.
        let r = sd.verify(&ik, &[TYP_DC_SD_JWT], 2000, 0).unwrap();
        assert_eq!(
            sd.verify_key_binding(&r, "a", "n", 2000, 60, 5),
            Err(SdJwtError::KbMissing)
        );

        // Registered claims cannot be concealed.
        let err = issue(
            json!({"iss": "x"}).as_object().unwrap().clone(),
            &["/iss"],
            0,
            Map::new(),
            &issuer,
        );
        assert!(err.is_err());
    }

    #[test]
    fn disclosure_checks() {
        let bad = |s: &str| Disclosure::parse(&b64::encode(s), 0).unwrap_err();
        assert!(matches!(
            bad(r#"["s","_sd",1]"#),
            SdJwtError::BadDisclosure { .. }
        ));
        assert!(matches!(
            bad(r#"["s","...",1]"#),
            SdJwtError::BadDisclosure { .. }
        ));
        assert!(matches!(bad(r#"["s"]"#), SdJwtError::BadDisclosure { .. }));
        assert!(matches!(
            bad(r#"[1,"a",1]"#),
            SdJwtError::BadDisclosure { .. }
        ));
        assert!(matches!(
            bad(r#"{"a":1}"#),
            SdJwtError::BadDisclosure { .. }
        ));
        assert!(SdJwt::parse("abc").is_err());
    }
}
