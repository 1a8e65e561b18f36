//! Attestation-based client authentication (OpenID4VCI 1.0 Appendix E, draft-ietf-oauth-
//! attestation-based-client-auth): the wallet provider attests a wallet instance's key
//! (`OAuth-Client-Attestation`, `typ` `oauth-client-attestation+jwt`, `sub` the client,
//! `cnf.jwk` the instance key) and the instance proves it holds that key for this server
//! (`OAuth-Client-Attestation-PoP`, `typ` `oauth-client-attestation-pop+jwt`, `iss` the
//! client, `aud` the server, `jti`, `iat`). [`verify`] checks both; the `jti`'s single use
//! is the caller's.

use serde_json::{Map, Value};

use crate::jose::{JoseError, Jws};
use crate::keys::{Alg, Jwk, KeyError, Signer};

pub const TYP_ATTESTATION: &str = "oauth-client-attestation+jwt";
pub const TYP_POP: &str = "oauth-client-attestation-pop+jwt";
/// The request headers (lower case, as `http` wants static names).
pub const HEADER_ATTESTATION: &str = "oauth-client-attestation";
pub const HEADER_POP: &str = "oauth-client-attestation-pop";
/// The `token_endpoint_auth_methods_supported` value.
pub const AUTH_METHOD: &str = "attest_jwt_client_auth";
/// Accepted algorithms of both JWTs.
pub const ACCEPTED_ALGS: [Alg; 2] = [Alg::ES256, Alg::EdDSA];

/// The wallet provider signs an attestation of `instance` for `client_id` until `exp`.
pub fn build_attestation(
    provider: &dyn Signer,
    provider_id: &str,
    client_id: &str,
    instance: &Jwk,
    iat: i64,
    exp: i64,
) -> String {
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::String(provider_id.into()));
    claims.insert("sub".into(), Value::String(client_id.into()));
    claims.insert("iat".into(), Value::from(iat));
    claims.insert("exp".into(), Value::from(exp));
    claims.insert(
        "cnf".into(),
        serde_json::json!({"jwk": instance.public_only().to_value()}),
    );
    Jws::sign(
        crate::jose::header(TYP_ATTESTATION, None),
        &claims,
        provider,
    )
}

/// The wallet instance proves its key to `audience` (the authorization server's issuer).
pub fn build_pop(
    instance: &dyn Signer,
    client_id: &str,
    audience: &str,
    jti: &str,
    iat: i64,
) -> String {
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::String(client_id.into()));
    claims.insert("aud".into(), Value::String(audience.into()));
    claims.insert("jti".into(), Value::String(jti.into()));
    claims.insert("iat".into(), Value::from(iat));
    Jws::sign(crate::jose::header(TYP_POP, None), &claims, instance)
}

/// What the server expects.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    /// The authorization server's issuer identifier (`aud` of the PoP).
    pub audience: &'a str,
    /// The `client_id` of the request, if it named one.
    pub client_id: Option<&'a str>,
    pub now: i64,
    /// How old the PoP's `iat` may be.
    pub max_age_secs: i64,
    pub leeway_secs: i64,
}

/// Both JWTs verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The attested client (`sub`).
    pub client_id: String,
    /// The wallet provider (`iss`).
    pub provider: String,
    /// The PoP's `jti`, for the caller to record.
    pub jti: String,
    /// The instance key's thumbprint.
    pub instance_jkt: String,
}

/// Why a client attestation was refused; one variant per check.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AttestationError {
    #[error(
        "wallet attestation is missing (headers OAuth-Client-Attestation and OAuth-Client-Attestation-PoP)"
    )]
    Missing,
    #[error("OAuth-Client-Attestation-PoP is missing")]
    MissingPop,
    #[error("wallet attestation is not a well-formed JWS: {0}")]
    Malformed(JoseError),
    #[error("wallet attestation `typ` is {found:?}, expected {expected:?}")]
    WrongTyp {
        expected: &'static str,
        found: Option<String>,
    },
    #[error("wallet attestation `alg` {0} is not accepted (ES256 or EdDSA)")]
    AlgNotAccepted(String),
    #[error("wallet attestation `iss` {0:?} is not a wallet provider this issuer trusts")]
    UntrustedProvider(String),
    #[error("wallet attestation is not signed by its wallet provider's key")]
    BadProviderSignature,
    #[error("wallet attestation has no `{0}`")]
    MissingClaim(&'static str),
    #[error("wallet attestation has expired (exp {exp}, now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("wallet attestation `sub` {sub:?} is not the request's client_id {client_id:?}")]
    WrongClient { sub: String, client_id: String },
    #[error("wallet attestation `cnf.jwk` is not a usable public key: {0}")]
    BadInstanceKey(KeyError),
    #[error("attestation PoP is not signed by the attested instance key (cnf.jwk)")]
    BadPopSignature,
    #[error("attestation PoP `iss` {found:?} is not the attested client {expected:?}")]
    WrongPopIssuer { expected: String, found: String },
    #[error("attestation PoP `aud` is {found:?}, expected {expected:?}")]
    WrongAudience {
        expected: String,
        found: Option<Value>,
    },
    #[error("attestation PoP `iat` {iat} is outside the accepted window (now {now})")]
    StalePop { iat: i64, now: i64 },
}

fn decode(jwt: &str, typ: &'static str) -> Result<Jws, AttestationError> {
    let jws = Jws::decode(jwt.trim()).map_err(|e| match e {
        JoseError::Key(KeyError::UnsupportedAlg(alg)) => AttestationError::AlgNotAccepted(alg),
        other => AttestationError::Malformed(other),
    })?;
    if jws.typ() != Some(typ) {
        return Err(AttestationError::WrongTyp {
            expected: typ,
            found: jws.typ().map(str::to_owned),
        });
    }
    if !ACCEPTED_ALGS.contains(&jws.alg) {
        return Err(AttestationError::AlgNotAccepted(
            jws.alg.as_str().to_owned(),
        ));
    }
    Ok(jws)
}

/// Verifies the attestation (signed by a key `provider_keys` returns for its `iss`, live,
/// for the request's client) and its PoP (signed by the attested key, for `audience`, fresh).
pub fn verify(
    attestation: Option<&str>,
    pop: Option<&str>,
    expect: &Expectations<'_>,
    provider_keys: &dyn Fn(&str) -> Vec<Jwk>,
) -> Result<Verified, AttestationError> {
    let attestation = attestation.ok_or(AttestationError::Missing)?;
    let pop = pop.ok_or(AttestationError::MissingPop)?;
    let att = decode(attestation, TYP_ATTESTATION)?;
    let provider = att
        .claim_str("iss")
        .ok_or(AttestationError::MissingClaim("iss"))?
        .to_owned();
    let keys = provider_keys(&provider);
    if keys.is_empty() {
        return Err(AttestationError::UntrustedProvider(provider));
    }
    let signed = keys
        .iter()
        .any(|k| k.verifying_key().is_ok_and(|key| att.verify(&key).is_ok()));
    if !signed {
        return Err(AttestationError::BadProviderSignature);
    }
    let exp = att
        .claim_time("exp")
        .ok_or(AttestationError::MissingClaim("exp"))?;
    if exp <= expect.now {
        return Err(AttestationError::Expired {
            exp,
            now: expect.now,
        });
    }
    let sub = att
        .claim_str("sub")
        .ok_or(AttestationError::MissingClaim("sub"))?
        .to_owned();
    if let Some(client_id) = expect.client_id
        && client_id != sub
    {
        return Err(AttestationError::WrongClient {
            sub,
            client_id: client_id.to_owned(),
        });
    }
    let instance = att
        .payload
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .ok_or(AttestationError::MissingClaim("cnf.jwk"))?;
    let instance = Jwk::from_value(instance).map_err(AttestationError::BadInstanceKey)?;
    let instance_key = instance
        .verifying_key()
        .map_err(AttestationError::BadInstanceKey)?;

    let pop = decode(pop, TYP_POP)?;
    pop.verify(&instance_key)
        .map_err(|_| AttestationError::BadPopSignature)?;
    let pop_iss = pop
        .claim_str("iss")
        .ok_or(AttestationError::MissingClaim("iss"))?;
    if pop_iss != sub {
        return Err(AttestationError::WrongPopIssuer {
            expected: sub,
            found: pop_iss.to_owned(),
        });
    }
    match pop.payload.get("aud") {
        Some(Value::String(a)) if a == expect.audience => {}
        found => {
            return Err(AttestationError::WrongAudience {
                expected: expect.audience.to_owned(),
                found: found.cloned(),
            });
        }
    }
    let iat = pop
        .claim_time("iat")
        .ok_or(AttestationError::MissingClaim("iat"))?;
    if iat > expect.now + expect.leeway_secs || iat < expect.now - expect.max_age_secs {
        return Err(AttestationError::StalePop {
            iat,
            now: expect.now,
        });
    }
    let jti = pop
        .claim_str("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(AttestationError::MissingClaim("jti"))?
        .to_owned();
    Ok(Verified {
        client_id: sub,
        provider,
        jti,
        instance_jkt: instance.thumbprint(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    const AS: &str = "https://issuer.example";

    fn expect(now: i64) -> Expectations<'static> {
        Expectations {
            audience: AS,
            client_id: Some("wallet"),
            now,
            max_age_secs: 300,
            leeway_secs: 5,
        }
    }

    #[test]
    fn a_good_attestation_verifies_and_each_check_refuses() {
        let provider = SigningKey::generate(Alg::ES256);
        let instance = SigningKey::generate(Alg::ES256);
        let trusted = provider.public_jwk();
        let keys = |iss: &str| {
            if iss == "https://provider.example" {
                vec![trusted.clone()]
            } else {
                Vec::new()
            }
        };
        let att = build_attestation(
            &provider,
            "https://provider.example",
            "wallet",
            &instance.public_jwk(),
            1000,
            5000,
        );
        let pop = build_pop(&instance, "wallet", AS, "j1", 1000);
        let ok = verify(Some(&att), Some(&pop), &expect(1000), &keys).unwrap();
        assert_eq!(ok.client_id, "wallet");
        assert_eq!(ok.jti, "j1");

        assert_eq!(
            verify(None, None, &expect(1000), &keys),
            Err(AttestationError::Missing)
        );
        // Forged: signed by a key that is not the provider's.
        let forger = SigningKey::generate(Alg::ES256);
        let forged = build_attestation(
            &forger,
            "https://provider.example",
            "wallet",
            &instance.public_jwk(),
            1000,
            5000,
        );
        assert_eq!(
            verify(Some(&forged), Some(&pop), &expect(1000), &keys),
            Err(AttestationError::BadProviderSignature)
        );
        let unknown = build_attestation(
            &provider,
            "https://other.example",
            "wallet",
            &instance.public_jwk(),
            1000,
            5000,
        );
        assert!(matches!(
            verify(Some(&unknown), Some(&pop), &expect(1000), &keys),
            Err(AttestationError::UntrustedProvider(_))
        ));
        assert!(matches!(
            verify(Some(&att), Some(&pop), &expect(6000), &keys),
            Err(AttestationError::Expired { .. })
        ));
        let other_client = Expectations {
            client_id: Some("mallory"),
            ..expect(1000)
        };
        assert!(matches!(
            verify(Some(&att), Some(&pop), &other_client, &keys),
            Err(AttestationError::WrongClient { .. })
        ));
        // A PoP by another key, for another server, stale.
        let thief = SigningKey::generate(Alg::ES256);
        let stolen = build_pop(&thief, "wallet", AS, "j2", 1000);
        assert_eq!(
            verify(Some(&att), Some(&stolen), &expect(1000), &keys),
            Err(AttestationError::BadPopSignature)
        );
        let elsewhere = build_pop(&instance, "wallet", "https://evil.example", "j3", 1000);
        assert!(matches!(
            verify(Some(&att), Some(&elsewhere), &expect(1000), &keys),
            Err(AttestationError::WrongAudience { .. })
        ));
        assert!(matches!(
            verify(Some(&att), Some(&pop), &expect(1400), &keys),
            Err(AttestationError::StalePop { .. })
        ));
        // The two swapped: wrong typ.
        assert!(matches!(
            verify(Some(&pop), Some(&att), &expect(1000), &keys),
            Err(AttestationError::WrongTyp { .. })
        ));
    }
}
