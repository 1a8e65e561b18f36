//! Attestation-based client authentication (OpenID4VCI 1.0 Appendix E, draft-ietf-oauth-
//! attestation-based-client-auth): the wallet provider attests a wallet instance's key
//! (`OAuth-Client-Attestation`, `typ` `oauth-client-attestation+jwt`, `sub` the client,
//! `cnf.jwk` the instance key) and the instance proves it holds that key for this server
//! (`OAuth-Client-Attestation-PoP`, `typ` `oauth-client-attestation-pop+jwt`, `iss` the
//! client, `aud` the server, `jti`, `iat`). [`verify`] checks both; the `jti`'s single use
//! is the caller's.
//!
//! The attestation is trusted when a key listed for its `iss` signed it, or, when it
//! carries `x5c` (as HAIP 1.0 §4.5 key attestations do), when that chain leads to one of
//! the configured CAs, its leaf is not self-signed, and the leaf's P-256 key signed it;
//! an `x5c` attestation is never trusted by a listed key.

use serde_json::{Map, Value};

use crate::jose::{JoseError, Jws};
use crate::keys::{Alg, Jwk, KeyError, Signer};
use crate::x509::{TrustAnchors, X509Error};

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
    Jws::sign(
        crate::jose::header(TYP_ATTESTATION, None),
        &attestation_claims(provider_id, client_id, instance, iat, exp),
        provider,
    )
}

/// An attestation signed with the key of the leaf of `x5c` (base64 DER, leaf first),
/// carried in its header: trusted by that chain rather than by a listed provider key.
pub fn build_attestation_x5c(
    leaf_key: &dyn Signer,
    x5c: &[String],
    provider_id: &str,
    client_id: &str,
    instance: &Jwk,
    iat: i64,
    exp: i64,
) -> String {
    let mut header = crate::jose::header(TYP_ATTESTATION, None);
    header.insert("x5c".into(), serde_json::json!(x5c));
    Jws::sign(
        header,
        &attestation_claims(provider_id, client_id, instance, iat, exp),
        leaf_key,
    )
}

fn attestation_claims(
    provider_id: &str,
    client_id: &str,
    instance: &Jwk,
    iat: i64,
    exp: i64,
) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("iss".into(), Value::String(provider_id.into()));
    claims.insert("sub".into(), Value::String(client_id.into()));
    claims.insert("iat".into(), Value::from(iat));
    claims.insert("exp".into(), Value::from(exp));
    claims.insert(
        "cnf".into(),
        serde_json::json!({"jwk": instance.public_only().to_value()}),
    );
    claims
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
    /// The CAs an attestation's `x5c` chain may lead to (none: `x5c` is refused).
    pub x509_anchors: &'a TrustAnchors,
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
    #[error("wallet attestation header `x5c` is not an array of strings")]
    X5cNotStrings,
    #[error("wallet attestation `x5c` chain refused: {0}")]
    X5c(X509Error),
    #[error(
        "wallet attestation is not signed by the key of its `x5c` leaf certificate {0:?} (leaf key not the signer)"
    )]
    LeafNotSigner(String),
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

/// Verifies the attestation (signed by a key `provider_keys` returns for its `iss`, or by
/// the leaf of an `x5c` chain to one of `expect.x509_anchors`; live; for the request's
/// client) and its PoP (signed by the attested key, for `audience`, fresh).
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
    if let Some(x5c) = att.header.get("x5c") {
        // Trusted by its certificate chain: the provider need not be listed.
        let x5c: Vec<String> =
            serde_json::from_value(x5c.clone()).map_err(|_| AttestationError::X5cNotStrings)?;
        let chain = crate::x509::x5c_decode(&x5c).map_err(AttestationError::X5c)?;
        let leaf = crate::x509::verify_chain(&chain, expect.x509_anchors, expect.now)
            .map_err(AttestationError::X5c)?;
        let key = leaf.p256_jwk().map_err(AttestationError::X5c)?;
        if !key
            .verifying_key()
            .is_ok_and(|key| att.verify(&key).is_ok())
        {
            return Err(AttestationError::LeafNotSigner(leaf.subject));
        }
    } else {
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

    static NO_ANCHORS: std::sync::LazyLock<TrustAnchors> =
        std::sync::LazyLock::new(TrustAnchors::default);

    fn expect(now: i64) -> Expectations<'static> {
        Expectations {
            audience: AS,
            client_id: Some("wallet"),
            now,
            max_age_secs: 300,
            leeway_secs: 5,
            x509_anchors: &NO_ANCHORS,
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

    /// An `x5c` attestation is trusted by its chain to a configured CA and by nothing else:
    /// not without anchors, not under another CA, not with the anchor presented as a
    /// self-signed leaf, not signed by another key than the leaf's; and a listed provider
    /// key does not stand in for the chain.
    #[test]
    fn an_x5c_attestation_is_trusted_by_its_chain_and_nothing_else() {
        use crate::x509::{DevPki, x5c_encode};
        const NOW: i64 = 1_800_000_000;
        let leaf_key = SigningKey::generate(Alg::ES256);
        let instance = SigningKey::generate(Alg::ES256);
        let pki = DevPki::generate("Provider", "wallet-provider.example", &leaf_key, NOW).unwrap();
        let anchors = TrustAnchors::from_der(std::slice::from_ref(&pki.ca)).unwrap();
        // The leaf's key is even listed for the provider: an `x5c` attestation still
        // needs its chain.
        let listed = leaf_key.public_jwk();
        let keys = |iss: &str| {
            if iss == "https://provider.example" {
                vec![listed.clone()]
            } else {
                Vec::new()
            }
        };
        let att = |signer: &SigningKey, chain: &[Vec<u8>]| {
            build_attestation_x5c(
                signer,
                &x5c_encode(chain),
                // Not a listed provider: the chain alone is trusted.
                "https://unlisted-provider.example",
                "wallet",
                &instance.public_jwk(),
                NOW,
                NOW + 600,
            )
        };
        let pop = build_pop(&instance, "wallet", AS, "j1", NOW);
        let check = |jwt: &str, anchors: &TrustAnchors| {
            verify(
                Some(jwt),
                Some(&pop),
                &Expectations {
                    x509_anchors: anchors,
                    ..expect(NOW)
                },
                &keys,
            )
        };
        let good = att(&leaf_key, std::slice::from_ref(&pki.leaf));
        let ok = check(&good, &anchors).unwrap();
        assert_eq!(ok.provider, "https://unlisted-provider.example");
        assert_eq!(ok.instance_jkt, instance.public_jwk().thumbprint());
        // The chain may carry its anchor last.
        check(
            &att(&leaf_key, &[pki.leaf.clone(), pki.ca.clone()]),
            &anchors,
        )
        .unwrap();

        // No anchors configured: no chain is trusted, whatever keys are listed.
        assert_eq!(
            check(&good, &TrustAnchors::default()),
            Err(AttestationError::X5c(X509Error::NoAnchors))
        );
        // A chain under another CA.
        let other = DevPki::generate("Evil", "wallet-provider.example", &leaf_key, NOW).unwrap();
        let e = check(&att(&leaf_key, &[other.leaf, other.ca]), &anchors).unwrap_err();
        assert!(
            matches!(e, AttestationError::X5c(X509Error::UntrustedRoot { .. })),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with("wallet attestation `x5c` chain refused"),
            "{e}"
        );
        // The anchor itself presented as a (self-signed) leaf.
        assert_eq!(
            check(&att(&leaf_key, std::slice::from_ref(&pki.ca)), &anchors),
            Err(AttestationError::X5c(X509Error::SelfSignedLeaf))
        );
        // The good chain, signed by another key.
        let forger = SigningKey::generate(Alg::ES256);
        let e = check(&att(&forger, std::slice::from_ref(&pki.leaf)), &anchors).unwrap_err();
        assert!(matches!(e, AttestationError::LeafNotSigner(_)), "{e}");
        assert!(e.to_string().contains("leaf key not the signer"), "{e}");
        // An Ed25519 signature under a P-256 leaf.
        let ed = SigningKey::generate(Alg::EdDSA);
        assert!(matches!(
            check(&att(&ed, std::slice::from_ref(&pki.leaf)), &anchors),
            Err(AttestationError::LeafNotSigner(_))
        ));
        // A certificate not valid yet (made a day before `NOW`).
        let early = NOW - 2 * 86_400;
        assert!(matches!(
            verify(
                Some(&good),
                Some(&build_pop(&instance, "wallet", AS, "j2", early)),
                &Expectations {
                    x509_anchors: &anchors,
                    ..expect(early)
                },
                &keys,
            ),
            Err(AttestationError::X5c(X509Error::NotValidNow {
                index: 0,
                ..
            }))
        ));
        // Not a chain at all.
        let mut header = crate::jose::header(TYP_ATTESTATION, None);
        header.insert("x5c".into(), serde_json::json!([1, 2]));
        let jwt = Jws::sign(
            header,
            &attestation_claims(
                "https://unlisted-provider.example",
                "wallet",
                &instance.public_jwk(),
                NOW,
                NOW + 600,
            ),
            &leaf_key,
        );
        assert_eq!(check(&jwt, &anchors), Err(AttestationError::X5cNotStrings));
        // The checks after the signature still apply: another client is refused.
        assert!(matches!(
            verify(
                Some(&good),
                Some(&pop),
                &Expectations {
                    x509_anchors: &anchors,
                    client_id: Some("mallory"),
                    ..expect(NOW)
                },
                &keys,
            ),
            Err(AttestationError::WrongClient { .. })
        ));
    }
}
