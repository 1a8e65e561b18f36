//! Signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3, HAIP 1.0 §4.4): the
//! `signed_metadata` member is a JWT, `typ` `openidvci-issuer-metadata+jwt`, whose claims
//! are the metadata members plus `sub` (the Credential Issuer Identifier), `iat`, and
//! optionally `iss` and `exp`. Signed values take precedence over the plain ones.
//!
//! [`sign_metadata`] is the issuer's side. The wallet decodes with [`SignedMetadata::decode`],
//! finds the signer's key from the header (`x5c` to its trust anchors, or `kid`), and then
//! [`SignedMetadata::check`] verifies the signature, `sub`, the times, and that no plain
//! value disagrees with its signed counterpart, returning the metadata to use (the signed
//! values over the plain ones).

use serde_json::{Map, Value};

use super::CredentialIssuerMetadata;
use crate::jose::{JoseError, Jws};
use crate::keys::{Alg, KeyError, Signer, VerifyingKey};

/// The `typ` of signed metadata (§12.2.3).
pub const TYP_SIGNED_METADATA: &str = "openidvci-issuer-metadata+jwt";
/// Accepted signing algorithms (HAIP: ES256; EdDSA for issuers without a P-256 key).
pub const ACCEPTED_ALGS: [Alg; 2] = [Alg::ES256, Alg::EdDSA];
/// The JWT claims that are not metadata members.
const JWT_CLAIMS: [&str; 4] = ["iss", "sub", "iat", "exp"];

/// Signs `metadata` (its `signed_metadata`, if any, left out) as issued by
/// `metadata.credential_issuer` at `iat`, valid until `exp`; `header` carries the key
/// reference (`kid`, `x5c`) and gets the `typ`.
#[expect(clippy::expect_used, reason = "metadata serialises to an object")]
pub fn sign_metadata(
    metadata: &CredentialIssuerMetadata,
    mut header: Map<String, Value>,
    signer: &dyn Signer,
    iat: i64,
    exp: Option<i64>,
) -> String {
    let Value::Object(mut claims) =
        serde_json::to_value(metadata).expect("metadata serialises to an object")
    else {
        unreachable!("a struct serialises to an object")
    };
    claims.remove("signed_metadata");
    let issuer = Value::String(metadata.credential_issuer.clone());
    claims.insert("iss".into(), issuer.clone());
    claims.insert("sub".into(), issuer);
    claims.insert("iat".into(), Value::from(iat));
    if let Some(exp) = exp {
        claims.insert("exp".into(), Value::from(exp));
    }
    header.insert("typ".into(), Value::String(TYP_SIGNED_METADATA.into()));
    Jws::sign(header, &claims, signer)
}

/// Why signed metadata was refused; one variant per check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignedMetadataError {
    #[error("signed_metadata is not a well-formed JWS: {0}")]
    Malformed(JoseError),
    #[error("signed_metadata `typ` is {found:?}, expected \"openidvci-issuer-metadata+jwt\"")]
    WrongTyp { found: Option<String> },
    #[error("signed_metadata `alg` {0} is not accepted (ES256 or EdDSA)")]
    AlgNotAccepted(String),
    #[error("signed_metadata signer key: {0}")]
    SignerKey(String),
    #[error("signed_metadata signer key is unusable: {0}")]
    BadKey(KeyError),
    #[error("signed_metadata signature does not verify with the issuer's key: {0}")]
    BadSignature(JoseError),
    #[error("signed_metadata has no `{0}`")]
    MissingClaim(&'static str),
    #[error("signed_metadata `sub` is {found:?}, not the credential issuer {expected:?}")]
    WrongSubject { expected: String, found: String },
    #[error("signed_metadata `iat` {iat} is in the future (now {now})")]
    IatInFuture { iat: i64, now: i64 },
    #[error("signed_metadata has expired (exp {exp}, now {now})")]
    Expired { exp: i64, now: i64 },
    #[error(
        "issuer metadata `{member}` disagrees with its signed value in signed_metadata (plain {plain}, signed {signed})"
    )]
    Disagrees {
        member: String,
        plain: String,
        signed: String,
    },
    #[error("the signed metadata is not valid issuer metadata: {0}")]
    Invalid(String),
}

/// Signed metadata decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct SignedMetadata {
    pub jws: Jws,
}

/// A value shortened for an error message (metadata members can be long).
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

impl SignedMetadata {
    /// Parses the JWT and checks `typ` and algorithm.
    pub fn decode(jwt: &str) -> Result<SignedMetadata, SignedMetadataError> {
        let jws = Jws::decode(jwt.trim()).map_err(|e| match e {
            JoseError::Key(KeyError::UnsupportedAlg(alg)) => {
                SignedMetadataError::AlgNotAccepted(alg)
            }
            other => SignedMetadataError::Malformed(other),
        })?;
        if jws.typ() != Some(TYP_SIGNED_METADATA) {
            return Err(SignedMetadataError::WrongTyp {
                found: jws.typ().map(str::to_owned),
            });
        }
        if !ACCEPTED_ALGS.contains(&jws.alg) {
            return Err(SignedMetadataError::AlgNotAccepted(
                jws.alg.as_str().to_owned(),
            ));
        }
        Ok(SignedMetadata { jws })
    }

    /// Checks the signature with `key` (the caller found it from `x5c` or `kid` and bound
    /// it to the issuer), `sub` = `issuer`, `iat` and `exp` at `now`, and every signed
    /// member against `plain`'s; returns the metadata with the signed values in place.
    pub fn check(
        &self,
        key: &VerifyingKey,
        plain: &CredentialIssuerMetadata,
        issuer: &str,
        now: i64,
        leeway_secs: i64,
    ) -> Result<CredentialIssuerMetadata, SignedMetadataError> {
        self.jws
            .verify(key)
            .map_err(SignedMetadataError::BadSignature)?;
        let sub = self
            .jws
            .claim_str("sub")
            .ok_or(SignedMetadataError::MissingClaim("sub"))?;
        if sub != issuer {
            return Err(SignedMetadataError::WrongSubject {
                expected: issuer.to_owned(),
                found: sub.to_owned(),
            });
        }
        let iat = self
            .jws
            .claim_time("iat")
            .ok_or(SignedMetadataError::MissingClaim("iat"))?;
        if iat > now + leeway_secs {
            return Err(SignedMetadataError::IatInFuture { iat, now });
        }
        if let Some(exp) = self.jws.claim_time("exp")
            && exp <= now
        {
            return Err(SignedMetadataError::Expired { exp, now });
        }
        let Ok(Value::Object(mut merged)) = serde_json::to_value(plain) else {
            return Err(SignedMetadataError::Invalid(
                "plain metadata is not an object".into(),
            ));
        };
        for (member, signed) in &self.jws.payload {
            if JWT_CLAIMS.contains(&member.as_str()) || member == "signed_metadata" {
                continue;
            }
            if let Some(value) = merged.get(member)
                && value != signed
            {
                return Err(SignedMetadataError::Disagrees {
                    member: member.clone(),
                    plain: shown(value),
                    signed: shown(signed),
                });
            }
            merged.insert(member.clone(), signed.clone());
        }
        serde_json::from_value(Value::Object(merged))
            .map_err(|e| SignedMetadataError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    const ISSUER: &str = "https://badges.example.org";
    const NOW: i64 = 1_800_000_000;

    fn metadata() -> CredentialIssuerMetadata {
        serde_json::from_value(serde_json::json!({
            "credential_issuer": ISSUER,
            "credential_endpoint": format!("{ISSUER}/credential"),
            "nonce_endpoint": format!("{ISSUER}/nonce"),
            "credential_configurations_supported": {
                "a": {"format": "dc+sd-jwt", "vct": "https://badges.example.org/vct"}}
        }))
        .unwrap()
    }

    fn check(
        jwt: &str,
        key: &SigningKey,
        plain: &CredentialIssuerMetadata,
    ) -> Result<CredentialIssuerMetadata, SignedMetadataError> {
        SignedMetadata::decode(jwt)?.check(
            &key.public_jwk().verifying_key().unwrap(),
            plain,
            ISSUER,
            NOW,
            5,
        )
    }

    #[test]
    fn signed_metadata_round_trips_and_the_signed_values_win() {
        let key = SigningKey::generate(Alg::ES256);
        let md = metadata();
        let jwt = sign_metadata(&md, Map::new(), &key, NOW - 10, Some(NOW + 60));
        assert_eq!(check(&jwt, &key, &md).unwrap(), md);
        // A member only the signed metadata carries is taken from it.
        let mut plain = md.clone();
        plain.nonce_endpoint = None;
        assert_eq!(
            check(&jwt, &key, &plain).unwrap().nonce_endpoint,
            md.nonce_endpoint
        );
    }

    #[test]
    fn each_check_refuses_with_its_own_reason() {
        let key = SigningKey::generate(Alg::ES256);
        let md = metadata();
        let jwt = sign_metadata(&md, Map::new(), &key, NOW - 10, Some(NOW + 60));
        // A plain value changed after signing.
        let mut tampered = md.clone();
        tampered.credential_endpoint = "https://attacker.example/credential".into();
        let e = check(&jwt, &key, &tampered).unwrap_err();
        assert!(
            matches!(&e, SignedMetadataError::Disagrees { member, .. } if member == "credential_endpoint"),
            "{e}"
        );
        assert!(e.to_string().contains("attacker.example"), "{e}");
        // Signed by another key.
        let other = SigningKey::generate(Alg::ES256);
        assert!(matches!(
            check(&jwt, &other, &md),
            Err(SignedMetadataError::BadSignature(_))
        ));
        // For another issuer.
        let mut elsewhere = md.clone();
        elsewhere.credential_issuer = "https://elsewhere.example".into();
        let jwt2 = sign_metadata(&elsewhere, Map::new(), &key, NOW, None);
        assert!(matches!(
            check(&jwt2, &key, &md),
            Err(SignedMetadataError::WrongSubject { .. })
        ));
        // Expired, from the future.
        let old = sign_metadata(&md, Map::new(), &key, NOW - 100, Some(NOW));
        assert!(matches!(
            check(&old, &key, &md),
            Err(SignedMetadataError::Expired { .. })
        ));
        let future = sign_metadata(&md, Map::new(), &key, NOW + 100, None);
        assert!(matches!(
            check(&future, &key, &md),
            Err(SignedMetadataError::IatInFuture { .. })
        ));
        // Another typ: a key proof is not metadata.
        let proof = super::super::build_proof_jwt(&key, ISSUER, None, NOW);
        assert!(matches!(
            SignedMetadata::decode(&proof),
            Err(SignedMetadataError::WrongTyp { .. })
        ));
        // Signed values that do not make metadata.
        let bad = Jws::sign(
            crate::jose::header(TYP_SIGNED_METADATA, None),
            &serde_json::json!({"sub": ISSUER, "iat": NOW, "batch_credential_issuance": 7}),
            &key,
        );
        assert!(matches!(
            check(&bad, &key, &md),
            Err(SignedMetadataError::Invalid(_))
        ));
    }
}
