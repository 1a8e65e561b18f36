//! Key attestations (OpenID4VCI 1.0 Appendix D, HAIP 1.0 §4.5): a wallet provider vouches
//! for holder keys in a `key-attestation+jwt` it signs: the keys (`attested_keys`, several
//! for a batch), how they are stored (`key_storage`) and how their use is guarded
//! (`user_authentication`), with ISO/IEC 18045 attack-potential levels, and optionally
//! the issuer's `c_nonce`. A `jwt` key proof carries it in its JOSE header
//! (`key_attestation`); an issuer asks for it with `key_attestations_required` in a
//! configuration's `proof_types_supported.jwt` (§12.2.4).
//!
//! [`verify_key_attestation`] checks the attestation (signed by a key of the provider its
//! `iss` names, live, within the accepted levels, the proof's nonce); [`VerifiedKeyAttestation::covers`]
//! then says whether the proof's key is among the attested ones. Trust in providers is the
//! caller's: it passes a function from provider id to keys. An attestation whose header
//! carries `x5c` (HAIP 1.0 §4.5) is trusted instead when that chain leads to one of the
//! caller's X.509 trust anchors (not a self-signed leaf) and the leaf's key signed it.
//!
//! The attestation may also be the proof itself: the `attestation` proof type (Appendix
//! F.3, `proofs: {"attestation": [jwt]}`), with no key proof beside it. Then
//! [`verify_attestation_proof`] also wants a fresh `iat` and a `nonce`, and gives the
//! attested keys (one credential each) and that nonce, for the issuer to spend.

use serde_json::{Map, Value};

use crate::jose::{JoseError, Jws};
use crate::keys::{Alg, Jwk, KeyError, Signer};
use crate::x509::{TrustAnchors, X509Error};

/// The `typ` of a key attestation (Appendix D.1).
pub const TYP_KEY_ATTESTATION: &str = "key-attestation+jwt";
/// The proof JWT header parameter that carries it (§8.2.1.1).
pub const HEADER_KEY_ATTESTATION: &str = "key_attestation";
/// Accepted signing algorithms of the attestation.
pub const ACCEPTED_ALGS: [Alg; 2] = [Alg::ES256, Alg::EdDSA];
/// Most keys one attestation may list (a batch is at most this large; hostile input
/// beyond it is refused before any key is parsed).
pub const MAX_ATTESTED_KEYS: usize = 32;
/// The ISO/IEC 18045 attack-potential levels of `key_storage` and `user_authentication`
/// (Appendix D.2), weakest first.
pub const LEVELS: [&str; 4] = [
    "iso_18045_basic",
    "iso_18045_enhanced-basic",
    "iso_18045_moderate",
    "iso_18045_high",
];

/// What an issuer accepts (`key_attestations_required`, §12.2.4): each list, when not
/// empty, names the levels it accepts, and the attestation must claim at least one of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub key_storage: Vec<String>,
    pub user_authentication: Vec<String>,
}

impl Requirements {
    /// The `key_attestations_required` object; an empty one asks for an attestation of
    /// any level.
    pub fn to_metadata(&self) -> Map<String, Value> {
        let mut out = Map::new();
        if !self.key_storage.is_empty() {
            out.insert("key_storage".into(), serde_json::json!(self.key_storage));
        }
        if !self.user_authentication.is_empty() {
            out.insert(
                "user_authentication".into(),
                serde_json::json!(self.user_authentication),
            );
        }
        out
    }

    /// Reads a `key_attestations_required` object; members that are not string arrays are
    /// taken as empty (no constraint).
    pub fn from_metadata(required: &Map<String, Value>) -> Requirements {
        let list = |name: &str| -> Vec<String> {
            required
                .get(name)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Requirements {
            key_storage: list("key_storage"),
            user_authentication: list("user_authentication"),
        }
    }
}

/// What a wallet provider states in an attestation.
#[derive(Clone, Debug)]
pub struct KeyAttestationClaims<'a> {
    /// The provider id (`iss`), as issuers list the provider.
    pub provider_id: &'a str,
    /// The attested holder keys (public parts are taken).
    pub attested_keys: &'a [Jwk],
    pub key_storage: &'a [&'a str],
    pub user_authentication: &'a [&'a str],
    /// The issuer's `c_nonce`, when the attestation is made for one request.
    pub nonce: Option<&'a str>,
    pub iat: i64,
    pub exp: i64,
}

/// The wallet provider signs a key attestation.
pub fn build_key_attestation(provider: &dyn Signer, claims: &KeyAttestationClaims<'_>) -> String {
    Jws::sign(
        crate::jose::header(TYP_KEY_ATTESTATION, None),
        &attestation_claims(claims),
        provider,
    )
}

/// A key attestation signed with the key of the leaf of `x5c` (base64 DER, leaf first),
/// carried in its header: trusted by that chain rather than by a listed provider key.
pub fn build_key_attestation_x5c(
    leaf_key: &dyn Signer,
    x5c: &[String],
    claims: &KeyAttestationClaims<'_>,
) -> String {
    let mut header = crate::jose::header(TYP_KEY_ATTESTATION, None);
    header.insert("x5c".into(), serde_json::json!(x5c));
    Jws::sign(header, &attestation_claims(claims), leaf_key)
}

fn attestation_claims(claims: &KeyAttestationClaims<'_>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("iss".into(), Value::String(claims.provider_id.into()));
    out.insert("iat".into(), Value::from(claims.iat));
    out.insert("exp".into(), Value::from(claims.exp));
    out.insert(
        "attested_keys".into(),
        Value::Array(
            claims
                .attested_keys
                .iter()
                .map(|k| k.public_only().to_value())
                .collect(),
        ),
    );
    out.insert("key_storage".into(), serde_json::json!(claims.key_storage));
    out.insert(
        "user_authentication".into(),
        serde_json::json!(claims.user_authentication),
    );
    if let Some(nonce) = claims.nonce {
        out.insert("nonce".into(), Value::String(nonce.into()));
    }
    out
}

/// A `jwt` key proof (as [`super::build_proof_jwt`]) carrying `key_attestation` in its
/// header.
pub fn build_attested_proof_jwt(
    signer: &dyn Signer,
    aud: &str,
    nonce: Option<&str>,
    iat: i64,
    key_attestation: &str,
) -> String {
    let mut header = crate::jose::header(super::TYP_PROOF_JWT, None);
    header.insert("jwk".into(), signer.public_jwk().public_only().to_value());
    header.insert(
        HEADER_KEY_ATTESTATION.into(),
        Value::String(key_attestation.into()),
    );
    let mut claims = Map::new();
    claims.insert("aud".into(), Value::String(aud.into()));
    claims.insert("iat".into(), Value::from(iat));
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), Value::String(nonce.into()));
    }
    Jws::sign(header, &claims, signer)
}

/// What the issuer expects of an attestation.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    pub now: i64,
    /// Tolerated clock skew for `iat` in the future.
    pub leeway_secs: i64,
    /// The key proof's `nonce` (the c_nonce); an attestation that names a nonce must name
    /// this one.
    pub nonce: Option<&'a str>,
    pub required: &'a Requirements,
    /// The CAs an attestation's `x5c` chain may lead to (none: `x5c` is refused).
    pub x509_anchors: &'a TrustAnchors,
}

/// An attestation that passed [`verify_key_attestation`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedKeyAttestation {
    /// The wallet provider (`iss`).
    pub provider: String,
    /// Thumbprints (RFC 7638) of the attested keys.
    pub attested: Vec<String>,
    pub key_storage: Vec<String>,
    pub user_authentication: Vec<String>,
}

/// Why a key attestation was refused; one variant per check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyAttestationError {
    #[error(
        "key attestation is missing: this issuer requires `key_attestation` in the proof's JOSE header"
    )]
    Missing,
    #[error("key attestation header `key_attestation` is not a string")]
    NotAString,
    #[error("key attestation is not a well-formed JWS: {0}")]
    Malformed(JoseError),
    #[error("key attestation `typ` is {found:?}, expected \"key-attestation+jwt\"")]
    WrongTyp { found: Option<String> },
    #[error("key attestation `alg` {0} is not accepted (ES256 or EdDSA)")]
    AlgNotAccepted(String),
    #[error("key attestation has no `{0}`")]
    MissingClaim(&'static str),
    #[error("key attestation signer `iss` {0:?} is not a wallet provider this issuer trusts")]
    UntrustedProvider(String),
    #[error(
        "key attestation is not signed by a key of its wallet provider {0:?} (untrusted signer)"
    )]
    UntrustedSigner(String),
    #[error("key attestation has expired (exp {exp}, now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("key attestation `iat` {iat} is in the future (now {now})")]
    IatInFuture { iat: i64, now: i64 },
    #[error("key attestation `attested_keys` is empty")]
    NoAttestedKeys,
    #[error("key attestation lists {0} keys, more than the {MAX_ATTESTED_KEYS} accepted")]
    TooManyKeys(usize),
    #[error("key attestation `attested_keys[{index}]` is not a usable public key: {source}")]
    BadAttestedKey { index: usize, source: KeyError },
    #[error("key attestation `{0}` is not an array of strings")]
    NotStrings(&'static str),
    #[error("key attestation `key_storage` {found:?} meets none of the required {accepted:?}")]
    KeyStorageNotAccepted {
        found: Vec<String>,
        accepted: Vec<String>,
    },
    #[error(
        "key attestation `user_authentication` {found:?} meets none of the required {accepted:?}"
    )]
    UserAuthenticationNotAccepted {
        found: Vec<String>,
        accepted: Vec<String>,
    },
    #[error(
        "key attestation `nonce` {found:?} is not the proof's c_nonce {expected:?} (wrong nonce)"
    )]
    WrongNonce {
        expected: Option<String>,
        found: String,
    },
    #[error(
        "the proof's key (thumbprint {jkt}) is not among the key attestation's attested_keys (key not attested)"
    )]
    KeyNotAttested { jkt: String },
    #[error(
        "key attestation proof has no `nonce` (missing nonce): an `attestation` proof must name a c_nonce of this issuer"
    )]
    NonceMissing,
    #[error("key attestation `nonce` {0} is not a string")]
    NonceNotAString(String),
    #[error(
        "key attestation proof `iat` {iat} is more than {max_age} s old (now {now}): not fresh"
    )]
    Stale { iat: i64, now: i64, max_age: i64 },
    #[error("key attestation `attested_keys[{index}]` repeats an earlier key (duplicate key)")]
    DuplicateKey { index: usize },
    #[error("key attestation header `x5c` is not an array of strings")]
    X5cNotStrings,
    #[error("key attestation `x5c` chain refused: {0}")]
    X5c(X509Error),
    #[error(
        "key attestation is not signed by the key of its `x5c` leaf certificate {0:?} (leaf key not the signer)"
    )]
    LeafNotSigner(String),
}

fn strings(
    jws: &Jws,
    name: &'static str,
    required: bool,
) -> Result<Vec<String>, KeyAttestationError> {
    match jws.payload.get(name) {
        None if required => Err(KeyAttestationError::MissingClaim(name)),
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(KeyAttestationError::NotStrings(name)),
        Some(_) => Err(KeyAttestationError::NotStrings(name)),
    }
}

/// Verifies a key attestation: `typ`, algorithm, signed by a key `provider_keys` returns
/// for its `iss`, `exp` not passed, `iat` not in the future, its keys (1 to
/// [`MAX_ATTESTED_KEYS`]) usable, the required levels met, its `nonce` (if any) the proof's.
pub fn verify_key_attestation(
    jwt: &str,
    expect: &Expectations<'_>,
    provider_keys: &dyn Fn(&str) -> Vec<Jwk>,
) -> Result<VerifiedKeyAttestation, KeyAttestationError> {
    let checked = verify_signed(
        jwt,
        expect.now,
        expect.leeway_secs,
        expect.required,
        &Trust {
            provider_keys,
            x509_anchors: expect.x509_anchors,
        },
    )?;
    match &checked.nonce {
        None => {}
        Some(Ok(n)) if Some(n.as_str()) == expect.nonce => {}
        Some(Ok(found) | Err(found)) => {
            return Err(KeyAttestationError::WrongNonce {
                expected: expect.nonce.map(str::to_owned),
                found: found.clone(),
            });
        }
    }
    Ok(checked.verified)
}

/// What the issuer expects of an `attestation` proof (Appendix F.3): a key attestation
/// that is itself the proof, so its `iat` must be fresh and its `nonce` present.
#[derive(Clone, Copy, Debug)]
pub struct ProofExpectations<'a> {
    pub now: i64,
    /// Tolerated clock skew for `iat` in the future.
    pub leeway_secs: i64,
    /// Seconds `iat` may lie in the past.
    pub max_age_secs: i64,
    pub required: &'a Requirements,
    /// The CAs an attestation's `x5c` chain may lead to (none: `x5c` is refused).
    pub x509_anchors: &'a TrustAnchors,
}

/// An `attestation` proof that passed [`verify_attestation_proof`]: the keys to bind, in
/// the order listed, and the c_nonce it names (whether this issuer made it, and whether it
/// is still unused, is the caller's to check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttestationProof {
    pub attestation: VerifiedKeyAttestation,
    /// The attested keys (public parts).
    pub keys: Vec<Jwk>,
    /// The attestation's `nonce`: the c_nonce.
    pub nonce: String,
}

/// Verifies an `attestation` proof (OpenID4VCI 1.0 Appendix F.3): every check of
/// [`verify_key_attestation`], and `iat` at most `max_age_secs` old, a `nonce` present
/// (a string), no key listed twice.
pub fn verify_attestation_proof(
    jwt: &str,
    expect: &ProofExpectations<'_>,
    provider_keys: &dyn Fn(&str) -> Vec<Jwk>,
) -> Result<AttestationProof, KeyAttestationError> {
    let checked = verify_signed(
        jwt,
        expect.now,
        expect.leeway_secs,
        expect.required,
        &Trust {
            provider_keys,
            x509_anchors: expect.x509_anchors,
        },
    )?;
    if checked.iat < expect.now - expect.max_age_secs {
        return Err(KeyAttestationError::Stale {
            iat: checked.iat,
            now: expect.now,
            max_age: expect.max_age_secs,
        });
    }
    let nonce = match checked.nonce {
        None => return Err(KeyAttestationError::NonceMissing),
        Some(Err(found)) => return Err(KeyAttestationError::NonceNotAString(found)),
        Some(Ok(nonce)) => nonce,
    };
    for (index, jkt) in checked.verified.attested.iter().enumerate() {
        if checked.verified.attested[..index].contains(jkt) {
            return Err(KeyAttestationError::DuplicateKey { index });
        }
    }
    Ok(AttestationProof {
        attestation: checked.verified,
        keys: checked.keys,
        nonce,
    })
}

/// What [`verify_signed`] found: the verified attestation, its keys, `iat`, and its
/// `nonce` (`Ok` a string, `Err` another JSON value as text).
struct Checked {
    verified: VerifiedKeyAttestation,
    keys: Vec<Jwk>,
    iat: i64,
    nonce: Option<Result<String, String>>,
}

/// Whom an attestation's signer may be: a listed provider's key, or an `x5c` leaf under
/// one of the anchors.
struct Trust<'a> {
    provider_keys: &'a dyn Fn(&str) -> Vec<Jwk>,
    x509_anchors: &'a TrustAnchors,
}

/// The checks every use of an attestation shares: all but the nonce's.
fn verify_signed(
    jwt: &str,
    now: i64,
    leeway_secs: i64,
    required: &Requirements,
    trust: &Trust<'_>,
) -> Result<Checked, KeyAttestationError> {
    let jws = Jws::decode(jwt.trim()).map_err(|e| match e {
        JoseError::Key(KeyError::UnsupportedAlg(alg)) => KeyAttestationError::AlgNotAccepted(alg),
        other => KeyAttestationError::Malformed(other),
    })?;
    if jws.typ() != Some(TYP_KEY_ATTESTATION) {
        return Err(KeyAttestationError::WrongTyp {
            found: jws.typ().map(str::to_owned),
        });
    }
    if !ACCEPTED_ALGS.contains(&jws.alg) {
        return Err(KeyAttestationError::AlgNotAccepted(
            jws.alg.as_str().to_owned(),
        ));
    }
    let provider = jws
        .claim_str("iss")
        .ok_or(KeyAttestationError::MissingClaim("iss"))?
        .to_owned();
    if let Some(x5c) = jws.header.get("x5c") {
        // Trusted by its certificate chain: the provider need not be listed.
        let x5c: Vec<String> =
            serde_json::from_value(x5c.clone()).map_err(|_| KeyAttestationError::X5cNotStrings)?;
        let chain = crate::x509::x5c_decode(&x5c).map_err(KeyAttestationError::X5c)?;
        let leaf = crate::x509::verify_chain(&chain, trust.x509_anchors, now)
            .map_err(KeyAttestationError::X5c)?;
        let key = leaf.p256_jwk().map_err(KeyAttestationError::X5c)?;
        if !key
            .verifying_key()
            .is_ok_and(|key| jws.verify(&key).is_ok())
        {
            return Err(KeyAttestationError::LeafNotSigner(leaf.subject));
        }
    } else {
        let trusted = (trust.provider_keys)(&provider);
        if trusted.is_empty() {
            return Err(KeyAttestationError::UntrustedProvider(provider));
        }
        if !trusted
            .iter()
            .any(|k| k.verifying_key().is_ok_and(|key| jws.verify(&key).is_ok()))
        {
            return Err(KeyAttestationError::UntrustedSigner(provider));
        }
    }
    let iat = jws
        .claim_time("iat")
        .ok_or(KeyAttestationError::MissingClaim("iat"))?;
    if iat > now + leeway_secs {
        return Err(KeyAttestationError::IatInFuture { iat, now });
    }
    let exp = jws
        .claim_time("exp")
        .ok_or(KeyAttestationError::MissingClaim("exp"))?;
    if exp <= now {
        return Err(KeyAttestationError::Expired { exp, now });
    }
    let listed = match jws.payload.get("attested_keys") {
        Some(Value::Array(keys)) => keys,
        Some(_) => return Err(KeyAttestationError::NotStrings("attested_keys")),
        None => return Err(KeyAttestationError::MissingClaim("attested_keys")),
    };
    if listed.is_empty() {
        return Err(KeyAttestationError::NoAttestedKeys);
    }
    if listed.len() > MAX_ATTESTED_KEYS {
        return Err(KeyAttestationError::TooManyKeys(listed.len()));
    }
    let keys = listed
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let jwk = Jwk::from_value(v)
                .map_err(|source| KeyAttestationError::BadAttestedKey { index, source })?;
            jwk.verifying_key()
                .map_err(|source| KeyAttestationError::BadAttestedKey { index, source })?;
            Ok(jwk.public_only())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let attested = keys.iter().map(Jwk::thumbprint).collect();
    let key_storage = strings(&jws, "key_storage", false)?;
    let user_authentication = strings(&jws, "user_authentication", false)?;
    let meets = |found: &[String], accepted: &[String]| {
        accepted.is_empty() || found.iter().any(|f| accepted.contains(f))
    };
    if !meets(&key_storage, &required.key_storage) {
        return Err(KeyAttestationError::KeyStorageNotAccepted {
            found: key_storage,
            accepted: required.key_storage.clone(),
        });
    }
    if !meets(&user_authentication, &required.user_authentication) {
        return Err(KeyAttestationError::UserAuthenticationNotAccepted {
            found: user_authentication,
            accepted: required.user_authentication.clone(),
        });
    }
    let nonce = jws.payload.get("nonce").map(|found| match found {
        Value::String(n) => Ok(n.clone()),
        other => Err(other.to_string()),
    });
    Ok(Checked {
        verified: VerifiedKeyAttestation {
            provider,
            attested,
            key_storage,
            user_authentication,
        },
        keys,
        iat,
        nonce,
    })
}

impl VerifiedKeyAttestation {
    /// Whether `key` (a proof's key) is one of the attested keys.
    pub fn covers(&self, key: &Jwk) -> Result<(), KeyAttestationError> {
        let jkt = key.thumbprint();
        if self.attested.contains(&jkt) {
            Ok(())
        } else {
            Err(KeyAttestationError::KeyNotAttested { jkt })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    const PROVIDER: &str = "https://wallet-provider.example";
    const NOW: i64 = 1_800_000_000;

    struct Fixture {
        provider: SigningKey,
        holders: Vec<SigningKey>,
    }

    fn fixture() -> Fixture {
        Fixture {
            provider: SigningKey::generate(Alg::EdDSA),
            holders: (0..3).map(|_| SigningKey::generate(Alg::ES256)).collect(),
        }
    }

    impl Fixture {
        fn keys(&self) -> Vec<Jwk> {
            self.holders.iter().map(|h| h.public_jwk()).collect()
        }
        fn trusted(&self) -> impl Fn(&str) -> Vec<Jwk> + '_ {
            move |iss: &str| {
                if iss == PROVIDER {
                    vec![self.provider.public_jwk()]
                } else {
                    vec![]
                }
            }
        }
        fn attest(&self, edit: impl FnOnce(&mut KeyAttestationClaims<'_>)) -> String {
            self.attest_keys(&self.keys(), edit)
        }
        fn attest_keys<'a>(
            &self,
            keys: &'a [Jwk],
            edit: impl FnOnce(&mut KeyAttestationClaims<'a>),
        ) -> String {
            let mut claims = KeyAttestationClaims {
                provider_id: PROVIDER,
                attested_keys: keys,
                key_storage: &["iso_18045_moderate"],
                user_authentication: &["iso_18045_basic"],
                nonce: Some("n-1"),
                iat: NOW - 10,
                exp: NOW + 600,
            };
            edit(&mut claims);
            build_key_attestation(&self.provider, &claims)
        }
    }

    fn verify(
        f: &Fixture,
        jwt: &str,
        required: &Requirements,
    ) -> Result<VerifiedKeyAttestation, KeyAttestationError> {
        verify_key_attestation(
            jwt,
            &Expectations {
                now: NOW,
                leeway_secs: 5,
                nonce: Some("n-1"),
                required,
                x509_anchors: &TrustAnchors::default(),
            },
            &f.trusted(),
        )
    }

    #[test]
    fn one_attestation_covers_a_batch_of_keys_and_no_other() {
        let f = fixture();
        let v = verify(&f, &f.attest(|_| {}), &Requirements::default()).unwrap();
        assert_eq!(v.provider, PROVIDER);
        for holder in &f.holders {
            v.covers(&holder.public_jwk()).unwrap();
        }
        let stranger = SigningKey::generate(Alg::ES256).public_jwk();
        assert_eq!(
            v.covers(&stranger),
            Err(KeyAttestationError::KeyNotAttested {
                jkt: stranger.thumbprint()
            })
        );
    }

    #[test]
    fn each_check_refuses_with_its_own_reason() {
        let f = fixture();
        let any = Requirements::default();
        // Signed by another key under the trusted provider's name.
        let forger = SigningKey::generate(Alg::EdDSA);
        let keys = f.keys();
        let forged = build_key_attestation(
            &forger,
            &KeyAttestationClaims {
                provider_id: PROVIDER,
                attested_keys: &keys,
                key_storage: &[],
                user_authentication: &[],
                nonce: None,
                iat: NOW,
                exp: NOW + 60,
            },
        );
        let e = verify(&f, &forged, &any).unwrap_err();
        assert_eq!(e, KeyAttestationError::UntrustedSigner(PROVIDER.into()));
        assert!(e.to_string().contains("untrusted signer"), "{e}");
        // A provider nobody listed.
        let unknown = f.attest(|c| c.provider_id = "https://elsewhere.example");
        assert!(matches!(
            verify(&f, &unknown, &any),
            Err(KeyAttestationError::UntrustedProvider(_))
        ));
        // Expired, and from the future.
        let expired = f.attest(|c| c.exp = NOW);
        let e = verify(&f, &expired, &any).unwrap_err();
        assert_eq!(e, KeyAttestationError::Expired { exp: NOW, now: NOW });
        assert!(e.to_string().contains("expired"));
        let future = f.attest(|c| c.iat = NOW + 60);
        assert!(matches!(
            verify(&f, &future, &any),
            Err(KeyAttestationError::IatInFuture { .. })
        ));
        // Another nonce; none at all is fine.
        let e = verify(&f, &f.attest(|c| c.nonce = Some("n-2")), &any).unwrap_err();
        assert!(e.to_string().contains("wrong nonce"), "{e}");
        verify(&f, &f.attest(|c| c.nonce = None), &any).unwrap();
        // Levels: the required ones must be met.
        let strict = Requirements {
            key_storage: vec!["iso_18045_high".into()],
            user_authentication: vec![],
        };
        assert!(matches!(
            verify(&f, &f.attest(|_| {}), &strict),
            Err(KeyAttestationError::KeyStorageNotAccepted { .. })
        ));
        let strict = Requirements {
            key_storage: vec!["iso_18045_moderate".into(), "iso_18045_high".into()],
            user_authentication: vec!["iso_18045_high".into()],
        };
        assert!(matches!(
            verify(&f, &f.attest(|_| {}), &strict),
            Err(KeyAttestationError::UserAuthenticationNotAccepted { .. })
        ));
        // No keys.
        assert_eq!(
            verify(&f, &f.attest(|c| c.attested_keys = &[]), &any),
            Err(KeyAttestationError::NoAttestedKeys)
        );
        // Not an attestation: a proof JWT in its place.
        let proof = super::super::build_proof_jwt(&f.holders[0], "aud", None, NOW);
        assert!(matches!(
            verify(&f, &proof, &any),
            Err(KeyAttestationError::WrongTyp { .. })
        ));
        assert!(matches!(
            verify(&f, "not.a.jwt", &any),
            Err(KeyAttestationError::Malformed(_))
        ));
    }

    #[test]
    fn hostile_input_is_refused_before_it_costs_much() {
        let f = fixture();
        let many: Vec<Jwk> = (0..MAX_ATTESTED_KEYS + 1)
            .map(|_| f.holders[0].public_jwk())
            .collect();
        let huge = f.attest_keys(&many, |_| {});
        assert_eq!(
            verify(&f, &huge, &Requirements::default()),
            Err(KeyAttestationError::TooManyKeys(MAX_ATTESTED_KEYS + 1))
        );
        // A private key among the attested ones is not a usable public key.
        let header = crate::jose::header(TYP_KEY_ATTESTATION, None);
        let mut private = f.holders[0].public_jwk().to_value();
        private["d"] = Value::String("c2VjcmV0".into());
        let claims = serde_json::json!({"iss": PROVIDER, "iat": NOW, "exp": NOW + 60,
            "attested_keys": [private]});
        let jwt = Jws::sign(header, &claims, &f.provider);
        assert!(matches!(
            verify(&f, &jwt, &Requirements::default()),
            Err(KeyAttestationError::BadAttestedKey { index: 0, .. })
        ));
    }

    #[test]
    fn the_header_of_an_attested_proof_carries_it() {
        let f = fixture();
        let att = f.attest(|_| {});
        let proof =
            build_attested_proof_jwt(&f.holders[1], "https://i.example", Some("n"), NOW, &att);
        let expect = super::super::ProofExpectations {
            aud: "https://i.example",
            now: NOW,
            max_age_secs: 60,
            leeway_secs: 5,
            accepted_algs: &[Alg::ES256],
        };
        let verified =
            super::super::verify_proof_jwt(&proof, &expect, &|_| Err("no kid".into())).unwrap();
        assert_eq!(verified.key_attestation, Some(att));
        assert_eq!(verified.jwk, f.holders[1].public_jwk());
        let plain = super::super::build_proof_jwt(&f.holders[1], "https://i.example", None, NOW);
        let verified =
            super::super::verify_proof_jwt(&plain, &expect, &|_| Err("no kid".into())).unwrap();
        assert_eq!(verified.key_attestation, None);
    }

    fn verify_proof(f: &Fixture, jwt: &str) -> Result<AttestationProof, KeyAttestationError> {
        verify_attestation_proof(
            jwt,
            &ProofExpectations {
                now: NOW,
                leeway_secs: 5,
                max_age_secs: 300,
                required: &Requirements::default(),
                x509_anchors: &TrustAnchors::default(),
            },
            &f.trusted(),
        )
    }

    #[test]
    fn an_attestation_proof_gives_its_keys_in_order_and_its_nonce() {
        let f = fixture();
        let proof = verify_proof(&f, &f.attest(|_| {})).unwrap();
        assert_eq!(proof.keys, f.keys());
        assert_eq!(proof.nonce, "n-1");
        assert_eq!(proof.attestation.provider, PROVIDER);
    }

    #[test]
    fn an_attestation_proof_refuses_what_the_header_form_allows() {
        let f = fixture();
        // No nonce: fine in a header, not as the proof.
        let e = verify_proof(&f, &f.attest(|c| c.nonce = None)).unwrap_err();
        assert_eq!(e, KeyAttestationError::NonceMissing);
        assert!(e.to_string().contains("missing nonce"), "{e}");
        // Old but unexpired: fine in a header, not fresh enough as the proof.
        let old = f.attest(|c| c.iat = NOW - 301);
        verify(&f, &old, &Requirements::default()).unwrap();
        let e = verify_proof(&f, &old).unwrap_err();
        assert_eq!(
            e,
            KeyAttestationError::Stale {
                iat: NOW - 301,
                now: NOW,
                max_age: 300
            }
        );
        assert!(e.to_string().contains("not fresh"), "{e}");
        verify_proof(&f, &f.attest(|c| c.iat = NOW - 300)).unwrap();
        // One key twice would be two credentials bound to one key.
        let twice = [f.holders[0].public_jwk(), f.holders[0].public_jwk()];
        let e = verify_proof(&f, &f.attest_keys(&twice, |_| {})).unwrap_err();
        assert_eq!(e, KeyAttestationError::DuplicateKey { index: 1 });
        // A nonce that is not a string.
        let claims = serde_json::json!({"iss": PROVIDER, "iat": NOW, "exp": NOW + 60,
            "attested_keys": [f.holders[0].public_jwk().to_value()], "nonce": 7});
        let jwt = Jws::sign(
            crate::jose::header(TYP_KEY_ATTESTATION, None),
            &claims,
            &f.provider,
        );
        assert_eq!(
            verify_proof(&f, &jwt),
            Err(KeyAttestationError::NonceNotAString("7".into()))
        );
        // The shared checks hold as well: an unlisted provider, a forger, expiry.
        assert!(matches!(
            verify_proof(
                &f,
                &f.attest(|c| c.provider_id = "https://elsewhere.example")
            ),
            Err(KeyAttestationError::UntrustedProvider(_))
        ));
        let forger = Fixture {
            provider: SigningKey::generate(Alg::EdDSA),
            holders: Vec::new(),
        };
        let keys = f.keys();
        let forged = forger.attest_keys(&keys, |_| {});
        assert_eq!(
            verify_proof(&f, &forged),
            Err(KeyAttestationError::UntrustedSigner(PROVIDER.into()))
        );
        assert!(matches!(
            verify_proof(&f, &f.attest(|c| c.exp = NOW)),
            Err(KeyAttestationError::Expired { .. })
        ));
        // A jwt key proof is not an attestation proof.
        let proof = super::super::build_proof_jwt(&f.holders[0], "aud", Some("n-1"), NOW);
        assert!(matches!(
            verify_proof(&f, &proof),
            Err(KeyAttestationError::WrongTyp { .. })
        ));
    }

    #[test]
    fn an_x5c_attestation_is_trusted_by_its_chain_and_nothing_else() {
        use crate::x509::{DevPki, x5c_encode};
        let f = fixture();
        let leaf_key = SigningKey::generate(Alg::ES256);
        let pki = DevPki::generate("Provider", "wallet-provider.example", &leaf_key, NOW).unwrap();
        let anchors = TrustAnchors::from_der(std::slice::from_ref(&pki.ca)).unwrap();
        let keys = f.keys();
        let claims = KeyAttestationClaims {
            // Not a listed provider: the chain alone is trusted.
            provider_id: "https://unlisted-provider.example",
            attested_keys: &keys,
            key_storage: &["iso_18045_high"],
            user_authentication: &["iso_18045_high"],
            nonce: Some("n-1"),
            iat: NOW,
            exp: NOW + 60,
        };
        let check = |jwt: &str, anchors: &TrustAnchors| {
            verify_attestation_proof(
                jwt,
                &ProofExpectations {
                    now: NOW,
                    leeway_secs: 5,
                    max_age_secs: 300,
                    required: &Requirements::default(),
                    x509_anchors: anchors,
                },
                &f.trusted(),
            )
        };
        let good = build_key_attestation_x5c(
            &leaf_key,
            &x5c_encode(std::slice::from_ref(&pki.leaf)),
            &claims,
        );
        assert_eq!(check(&good, &anchors).unwrap().keys, keys);
        // The header form takes the same trust.
        verify_key_attestation(
            &good,
            &Expectations {
                now: NOW,
                leeway_secs: 5,
                nonce: Some("n-1"),
                required: &Requirements::default(),
                x509_anchors: &anchors,
            },
            &f.trusted(),
        )
        .unwrap();
        // No anchors configured: no chain is trusted.
        assert_eq!(
            check(&good, &TrustAnchors::default()),
            Err(KeyAttestationError::X5c(X509Error::NoAnchors))
        );
        // A chain under another CA.
        let other = DevPki::generate("Evil", "wallet-provider.example", &leaf_key, NOW).unwrap();
        let e = check(
            &build_key_attestation_x5c(&leaf_key, &x5c_encode(&[other.leaf, other.ca]), &claims),
            &anchors,
        )
        .unwrap_err();
        assert!(
            matches!(e, KeyAttestationError::X5c(X509Error::UntrustedRoot { .. })),
            "{e}"
        );
        // A self-signed leaf (here the anchor itself presented as the leaf).
        assert_eq!(
            check(
                &build_key_attestation_x5c(
                    &leaf_key,
                    &x5c_encode(std::slice::from_ref(&pki.ca)),
                    &claims
                ),
                &anchors
            ),
            Err(KeyAttestationError::X5c(X509Error::SelfSignedLeaf))
        );
        // The good chain, signed by another key.
        let forger = SigningKey::generate(Alg::ES256);
        let e = check(
            &build_key_attestation_x5c(
                &forger,
                &x5c_encode(std::slice::from_ref(&pki.leaf)),
                &claims,
            ),
            &anchors,
        )
        .unwrap_err();
        assert!(matches!(e, KeyAttestationError::LeafNotSigner(_)), "{e}");
        assert!(e.to_string().contains("leaf key not the signer"), "{e}");
        // Not a chain at all.
        let mut header = crate::jose::header(TYP_KEY_ATTESTATION, None);
        header.insert("x5c".into(), serde_json::json!([1, 2]));
        let jwt = Jws::sign(header, &attestation_claims(&claims), &leaf_key);
        assert_eq!(
            check(&jwt, &anchors),
            Err(KeyAttestationError::X5cNotStrings)
        );
    }

    #[test]
    fn requirements_round_trip_through_metadata() {
        let r = Requirements {
            key_storage: vec!["iso_18045_high".into()],
            user_authentication: vec![],
        };
        let m = r.to_metadata();
        assert_eq!(
            Value::Object(m.clone()),
            serde_json::json!({"key_storage": ["iso_18045_high"]})
        );
        assert_eq!(Requirements::from_metadata(&m), r);
        assert!(Requirements::default().to_metadata().is_empty());
    }
}
