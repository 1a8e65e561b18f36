//! `jwt` key proofs (OpenID4VCI §8.2.1.1, Appendix F.1, validation rules F.4).
//!
//! The wallet signs one proof per key with [`build_proof_jwt`]; the issuer checks it with
//! [`verify_proof_jwt`], which returns the proven key and the `nonce` so the caller can
//! check it is an unused `c_nonce` of its own (single use needs the caller's store).

use serde_json::{Map, Value};

use crate::jose::{JoseError, Jws};
use crate::keys::{Alg, Jwk, KeyError, Signer};
use crate::oauth::ErrorCode;

/// The `typ` of a key proof JWT (Appendix F.1).
pub const TYP_PROOF_JWT: &str = "openid4vci-proof+jwt";

/// Signs a key proof for `aud` (the Credential Issuer Identifier) at `iat`, carrying the
/// `c_nonce` if there is one. The header has `typ` and the public `jwk`; there is no `iss`,
/// as in the anonymous pre-authorized flow.
pub fn build_proof_jwt(signer: &dyn Signer, aud: &str, nonce: Option<&str>, iat: i64) -> String {
    build_client_proof_jwt(signer, None, aud, nonce, iat, None)
}

/// A key proof as [`build_proof_jwt`] makes it, with `iss` the `client_id` of the client
/// making the request when there is one (Appendix F.1: `iss` is omitted only when the
/// access token came from the pre-authorized code flow through anonymous access; issuers
/// built on oid4vc-ts, such as Credo's, require it otherwise), and the `key_attestation`
/// header (Appendix D) when given.
pub fn build_client_proof_jwt(
    signer: &dyn Signer,
    client_id: Option<&str>,
    aud: &str,
    nonce: Option<&str>,
    iat: i64,
    key_attestation: Option<&str>,
) -> String {
    let mut header = crate::jose::header(TYP_PROOF_JWT, None);
    header.insert("jwk".into(), signer.public_jwk().public_only().to_value());
    if let Some(attestation) = key_attestation {
        header.insert(
            super::key_attestation::HEADER_KEY_ATTESTATION.into(),
            Value::String(attestation.into()),
        );
    }
    let mut claims = Map::new();
    if let Some(client_id) = client_id {
        claims.insert("iss".into(), Value::String(client_id.into()));
    }
    claims.insert("aud".into(), Value::String(aud.into()));
    claims.insert("iat".into(), Value::from(iat));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), Value::String(nonce.into()));
    }
    Jws::sign(header, &claims, signer)
}

/// What a proof must satisfy, besides its own consistency.
#[derive(Clone, Copy, Debug)]
pub struct ProofExpectations<'a> {
    /// The Credential Issuer Identifier, compared exactly with `aud`.
    pub aud: &'a str,
    /// The current time (seconds since the epoch).
    pub now: i64,
    /// How old `iat` may be.
    pub max_age_secs: i64,
    /// Tolerated clock skew, both ways.
    pub leeway_secs: i64,
    /// `proof_signing_alg_values_supported` of the configuration.
    pub accepted_algs: &'a [Alg],
}

/// A proof that passed [`verify_proof_jwt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The proven key, to bind the credential to.
    pub jwk: Jwk,
    /// The `nonce` claim; the caller checks it is a live, unused `c_nonce`.
    pub nonce: Option<String>,
    /// The header `kid`, when the key was named by reference (e.g. a DID URL).
    pub kid: Option<String>,
    /// The header `key_attestation` (Appendix D), unchecked: see
    /// [`super::key_attestation::verify_key_attestation`].
    pub key_attestation: Option<String>,
}

/// Why a key proof was refused; one variant per check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("proof is not a well-formed JWS: {0}")]
    Malformed(JoseError),
    #[error("proof `alg` is `none`")]
    AlgNone,
    #[error("proof `alg` is not supported: {0}")]
    UnsupportedAlg(String),
    #[error("proof `typ` is {found:?}, expected \"openid4vci-proof+jwt\"")]
    WrongTyp { found: Option<String> },
    #[error("proof `alg` {0} is not in proof_signing_alg_values_supported")]
    AlgNotAccepted(Alg),
    #[error("proof header must have exactly one of `kid`, `jwk`, `x5c`; found {0:?}")]
    KeyReferenceCount(Vec<&'static str>),
    #[error("proof header `x5c` is not supported")]
    X5cUnsupported,
    #[error("proof header `jwk` contains a private key")]
    PrivateKeyInJwk,
    #[error("proof header `jwk` is not a usable public key: {0}")]
    BadJwk(KeyError),
    #[error("proof header `kid` {kid:?} could not be resolved: {reason}")]
    UnresolvedKid { kid: String, reason: String },
    #[error("proof signature does not verify: {0}")]
    BadSignature(JoseError),
    #[error("proof `aud` is {found:?}, expected {expected:?}")]
    WrongAudience {
        expected: String,
        found: Option<Value>,
    },
    #[error("proof has no `iat`")]
    MissingIat,
    #[error("proof `iat` {iat} is in the future (now {now})")]
    IatInFuture { iat: i64, now: i64 },
    #[error("proof `iat` {iat} is older than allowed (now {now})")]
    IatTooOld { iat: i64, now: i64 },
    #[error("proof `nonce` is not a string")]
    NonceNotAString,
    #[error("proof has no `nonce` but the issuer requires a c_nonce")]
    MissingNonce,
    #[error("proof `nonce` is unknown, used or expired")]
    StaleNonce,
    #[error("proof header `key_attestation` is not a string")]
    KeyAttestationNotAString,
}

impl ProofError {
    /// The Credential Endpoint error code (§8.3.1.2): `invalid_nonce` for a stale nonce
    /// (the wallet fetches a new one and retries), `invalid_proof` for everything else.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ProofError::StaleNonce => ErrorCode::InvalidNonce,
            _ => ErrorCode::InvalidProof,
        }
    }
}

/// Verifies a `jwt` key proof (Appendix F.4): `typ`, algorithm, one key reference, no
/// private key, signature, `aud`, `iat` window. `resolve_kid` turns a `kid` (e.g. a DID
/// URL) into a public key. The `nonce` is returned, not checked: see [`VerifiedProof`].
#[expect(clippy::expect_used, reason = "checked present")]
pub fn verify_proof_jwt(
    jwt: &str,
    expect: &ProofExpectations<'_>,
    resolve_kid: &dyn Fn(&str) -> Result<Jwk, String>,
) -> Result<VerifiedProof, ProofError> {
    let jws = Jws::decode(jwt).map_err(|e| match e {
        JoseError::AlgNone => ProofError::AlgNone,
        JoseError::Key(KeyError::UnsupportedAlg(alg)) => ProofError::UnsupportedAlg(alg),
        other => ProofError::Malformed(other),
    })?;
    if jws.typ() != Some(TYP_PROOF_JWT) {
        return Err(ProofError::WrongTyp {
            found: jws.typ().map(str::to_owned),
        });
    }
    if !expect.accepted_algs.contains(&jws.alg) {
        return Err(ProofError::AlgNotAccepted(jws.alg));
    }

    let present: Vec<&'static str> = ["kid", "jwk", "x5c"]
        .into_iter()
        .filter(|name| jws.header.contains_key(*name))
        .collect();
    let (jwk, kid) = match present.as_slice() {
        ["jwk"] => {
            let value = jws.header.get("jwk").expect("checked present");
            let jwk = Jwk::from_value(value).map_err(|e| match e {
                KeyError::PrivateMemberInJwk => ProofError::PrivateKeyInJwk,
                other => ProofError::BadJwk(other),
            })?;
            (jwk, None)
        }
        ["kid"] => {
            let Some(kid) = jws.kid() else {
                return Err(ProofError::Malformed(JoseError::Malformed(
                    "`kid` is not a string",
                )));
            };
            let jwk = resolve_kid(kid).map_err(|reason| ProofError::UnresolvedKid {
                kid: kid.to_owned(),
                reason,
            })?;
            (jwk, Some(kid.to_owned()))
        }
        ["x5c"] => return Err(ProofError::X5cUnsupported),
        _ => return Err(ProofError::KeyReferenceCount(present)),
    };
    let key = jwk.verifying_key().map_err(ProofError::BadJwk)?;
    jws.verify(&key).map_err(ProofError::BadSignature)?;

    match jws.payload.get("aud") {
        Some(Value::String(aud)) if aud == expect.aud => {}
        found => {
            return Err(ProofError::WrongAudience {
                expected: expect.aud.to_owned(),
                found: found.cloned(),
            });
        }
    }
    let iat = jws.claim_time("iat").ok_or(ProofError::MissingIat)?;
    if iat > expect.now + expect.leeway_secs {
        return Err(ProofError::IatInFuture {
            iat,
            now: expect.now,
        });
    }
    if iat < expect.now - expect.max_age_secs - expect.leeway_secs {
        return Err(ProofError::IatTooOld {
            iat,
            now: expect.now,
        });
    }
    let nonce = match jws.payload.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(ProofError::NonceNotAString),
    };
    let key_attestation = match jws
        .header
        .get(super::key_attestation::HEADER_KEY_ATTESTATION)
    {
        None => None,
        Some(Value::String(a)) => Some(a.clone()),
        Some(_) => return Err(ProofError::KeyAttestationNotAString),
    };
    Ok(VerifiedProof {
        jwk,
        nonce,
        kid,
        key_attestation,
    })
}

impl VerifiedProof {
    /// Checks the nonce with the caller's store: `consume` returns true iff the nonce was a
    /// live `c_nonce` and is now spent. A missing nonce is `invalid_proof`, a stale one
    /// `invalid_nonce`.
    pub fn check_nonce(&self, consume: impl FnOnce(&str) -> bool) -> Result<(), ProofError> {
        match self.nonce.as_deref() {
            None => Err(ProofError::MissingNonce),
            Some(n) if consume(n) => Ok(()),
            Some(_) => Err(ProofError::StaleNonce),
        }
    }
}
