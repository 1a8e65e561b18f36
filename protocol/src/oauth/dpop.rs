//! Demonstrating Proof of Possession (RFC 9449): the client signs a `dpop+jwt` per request
//! with [`build_proof`]; the server checks it with [`verify_proof`] (§4.3), which returns the
//! key's thumbprint (`jkt`) and the `jti`, whose single use is the caller's store's to
//! enforce, and the `nonce`, which the caller compares with its own.

use serde_json::{Map, Value};

use crate::b64;
use crate::jose::{JoseError, Jws};
use crate::keys::{Alg, Jwk, KeyError, Signer};

/// The `typ` of a DPoP proof (§4.2).
pub const TYP_DPOP: &str = "dpop+jwt";
/// The request header carrying the proof, and the response header carrying a nonce (in
/// lower case: header names are case-insensitive, and `http` wants static names so).
pub const HEADER_DPOP: &str = "dpop";
pub const HEADER_DPOP_NONCE: &str = "dpop-nonce";
/// The algorithms accepted (`dpop_signing_alg_values_supported`).
pub const ACCEPTED_ALGS: [Alg; 2] = [Alg::ES256, Alg::EdDSA];

/// What the client puts in a proof.
#[derive(Clone, Copy, Debug)]
pub struct ProofClaims<'a> {
    /// The HTTP method of the request (`POST`).
    pub htm: &'a str,
    /// The request URI without query and fragment.
    pub htu: &'a str,
    pub iat: i64,
    /// A fresh unique identifier.
    pub jti: &'a str,
    /// The server's last `DPoP-Nonce`, if it sent one.
    pub nonce: Option<&'a str>,
    /// The access token the request presents (resource requests): becomes `ath`.
    pub access_token: Option<&'a str>,
}

/// Signs a DPoP proof with the public key in the header (§4.2).
pub fn build_proof(signer: &dyn Signer, claims: &ProofClaims<'_>) -> String {
    let mut header = crate::jose::header(TYP_DPOP, None);
    header.insert("jwk".into(), signer.public_jwk().public_only().to_value());
    let mut payload = Map::new();
    payload.insert("jti".into(), Value::String(claims.jti.into()));
    payload.insert("htm".into(), Value::String(claims.htm.into()));
    payload.insert("htu".into(), Value::String(claims.htu.into()));
    payload.insert("iat".into(), Value::from(claims.iat));
    if let Some(nonce) = claims.nonce {
        payload.insert("nonce".into(), Value::String(nonce.into()));
    }
    if let Some(token) = claims.access_token {
        payload.insert("ath".into(), Value::String(access_token_hash(token)));
    }
    Jws::sign(header, &payload, signer)
}

/// `ath`: the base64url SHA-256 of the access token (§4.2).
pub fn access_token_hash(token: &str) -> String {
    b64::sha256(token)
}

/// What the server expects of a proof.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    pub htm: &'a str,
    /// The endpoint's URI; compared without query and fragment (§4.3 point 9).
    pub htu: &'a str,
    pub now: i64,
    /// How old `iat` may be.
    pub max_age_secs: i64,
    /// Tolerated clock skew into the future.
    pub leeway_secs: i64,
    /// The access token presented with the proof (resource requests): `ath` required.
    pub access_token: Option<&'a str>,
}

/// A proof that passed [`verify_proof`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof's key: what a token is bound to (`cnf.jkt`).
    pub jkt: String,
    /// The proof's `jti`: the caller records it to refuse a replay.
    pub jti: String,
    /// The proof's `nonce`, for the caller to compare with the ones it issued.
    pub nonce: Option<String>,
    pub iat: i64,
}

/// Why a DPoP proof was refused; one variant per check of §4.3.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DpopError {
    #[error("DPoP proof is missing (a `DPoP` header is required)")]
    Missing,
    #[error("more than one DPoP header")]
    Repeated,
    #[error("DPoP proof is not a well-formed JWS: {0}")]
    Malformed(JoseError),
    #[error("DPoP proof `alg` is `none`")]
    AlgNone,
    #[error("DPoP proof `alg` {0} is not accepted (ES256 or EdDSA)")]
    AlgNotAccepted(String),
    #[error("DPoP proof `typ` is {found:?}, expected \"dpop+jwt\"")]
    WrongTyp { found: Option<String> },
    #[error("DPoP proof header has no `jwk`")]
    MissingJwk,
    #[error("DPoP proof header `jwk` contains a private key")]
    PrivateKeyInJwk,
    #[error("DPoP proof header `jwk` is not a usable public key: {0}")]
    BadJwk(KeyError),
    #[error("DPoP proof signature does not verify: {0}")]
    BadSignature(JoseError),
    #[error("DPoP proof has no `{0}` claim")]
    MissingClaim(&'static str),
    #[error("DPoP proof `htm` is {found:?}, expected {expected:?}")]
    WrongHtm { expected: String, found: String },
    #[error("DPoP proof `htu` is {found:?}, expected {expected:?}")]
    WrongHtu { expected: String, found: String },
    #[error("DPoP proof `iat` {iat} is in the future (now {now})")]
    IatInFuture { iat: i64, now: i64 },
    #[error("DPoP proof `iat` {iat} is too old (now {now}, at most {max_age} s)")]
    IatTooOld { iat: i64, now: i64, max_age: i64 },
    #[error("DPoP proof has no `ath` but an access token is presented")]
    MissingAth,
    #[error("DPoP proof `ath` is not the hash of the access token presented")]
    WrongAth,
}

/// The URI without query and fragment, for `htu` comparison.
fn without_query(uri: &str) -> &str {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    &uri[..end]
}

/// Verifies a DPoP proof (§4.3): one JWS, `typ` `dpop+jwt`, an accepted asymmetric `alg`, a
/// public `jwk` that verifies the signature, `jti`, `htm`, `htu`, `iat` in the window, and
/// `ath` when an access token is presented. `jti` single use and the nonce are the caller's.
#[expect(clippy::expect_used, reason = "checked present")]
pub fn verify_proof(proof: &str, expect: &Expectations<'_>) -> Result<VerifiedProof, DpopError> {
    let jws = Jws::decode(proof.trim()).map_err(|e| match e {
        JoseError::AlgNone => DpopError::AlgNone,
        JoseError::Key(KeyError::UnsupportedAlg(alg)) => DpopError::AlgNotAccepted(alg),
        other => DpopError::Malformed(other),
    })?;
    if jws.typ() != Some(TYP_DPOP) {
        return Err(DpopError::WrongTyp {
            found: jws.typ().map(str::to_owned),
        });
    }
    if !ACCEPTED_ALGS.contains(&jws.alg) {
        return Err(DpopError::AlgNotAccepted(jws.alg.as_str().to_owned()));
    }
    if !jws.header.contains_key("jwk") {
        return Err(DpopError::MissingJwk);
    }
    let jwk =
        Jwk::from_value(jws.header.get("jwk").expect("checked present")).map_err(|e| match e {
            KeyError::PrivateMemberInJwk => DpopError::PrivateKeyInJwk,
            other => DpopError::BadJwk(other),
        })?;
    let key = jwk.verifying_key().map_err(DpopError::BadJwk)?;
    jws.verify(&key).map_err(DpopError::BadSignature)?;

    let claim = |name: &'static str| jws.claim_str(name).ok_or(DpopError::MissingClaim(name));
    let jti = claim("jti")?;
    if jti.is_empty() || jti.len() > 256 {
        return Err(DpopError::MissingClaim("jti"));
    }
    let htm = claim("htm")?;
    if htm != expect.htm {
        return Err(DpopError::WrongHtm {
            expected: expect.htm.to_owned(),
            found: htm.to_owned(),
        });
    }
    let htu = claim("htu")?;
    if without_query(htu) != without_query(expect.htu) {
        return Err(DpopError::WrongHtu {
            expected: without_query(expect.htu).to_owned(),
            found: htu.to_owned(),
        });
    }
    let iat = jws
        .claim_time("iat")
        .ok_or(DpopError::MissingClaim("iat"))?;
    if iat > expect.now + expect.leeway_secs {
        return Err(DpopError::IatInFuture {
            iat,
            now: expect.now,
        });
    }
    if iat < expect.now - expect.max_age_secs {
        return Err(DpopError::IatTooOld {
            iat,
            now: expect.now,
            max_age: expect.max_age_secs,
        });
    }
    if let Some(token) = expect.access_token {
        let ath = jws.claim_str("ath").ok_or(DpopError::MissingAth)?;
        if !crate::secret::constant_time_eq(ath.as_bytes(), access_token_hash(token).as_bytes()) {
            return Err(DpopError::WrongAth);
        }
    }
    Ok(VerifiedProof {
        jkt: jwk.thumbprint(),
        jti: jti.to_owned(),
        nonce: jws.claim_str("nonce").map(str::to_owned),
        iat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    const HTU: &str = "https://issuer.example/token";

    fn expect(now: i64) -> Expectations<'static> {
        Expectations {
            htm: "POST",
            htu: HTU,
            now,
            max_age_secs: 300,
            leeway_secs: 5,
            access_token: None,
        }
    }

    fn claims(iat: i64) -> ProofClaims<'static> {
        ProofClaims {
            htm: "POST",
            htu: HTU,
            iat,
            jti: "j1",
            nonce: Some("n1"),
            access_token: None,
        }
    }

    #[test]
    fn a_good_proof_verifies_for_both_algorithms() {
        for alg in [Alg::ES256, Alg::EdDSA] {
            let key = SigningKey::generate(alg);
            let proof = build_proof(&key, &claims(1000));
            let ok = verify_proof(&proof, &expect(1000)).unwrap();
            assert_eq!(ok.jkt, key.public_jwk().thumbprint());
            assert_eq!(ok.jti, "j1");
            assert_eq!(ok.nonce.as_deref(), Some("n1"));
        }
    }

    #[test]
    fn each_check_refuses_with_its_own_reason() {
        let key = SigningKey::generate(Alg::ES256);
        let e = expect(1000);
        let get = ProofClaims {
            htm: "GET",
            ..claims(1000)
        };
        assert!(matches!(
            verify_proof(&build_proof(&key, &get), &e),
            Err(DpopError::WrongHtm { .. })
        ));
        let elsewhere = ProofClaims {
            htu: "https://issuer.example/credential",
            ..claims(1000)
        };
        assert!(matches!(
            verify_proof(&build_proof(&key, &elsewhere), &e),
            Err(DpopError::WrongHtu { .. })
        ));
        assert!(matches!(
            verify_proof(&build_proof(&key, &claims(600)), &e),
            Err(DpopError::IatTooOld { .. })
        ));
        assert!(matches!(
            verify_proof(&build_proof(&key, &claims(1100)), &e),
            Err(DpopError::IatInFuture { .. })
        ));
        let with_token = Expectations {
            access_token: Some("tok"),
            ..e
        };
        assert_eq!(
            verify_proof(&build_proof(&key, &claims(1000)), &with_token),
            Err(DpopError::MissingAth)
        );
        let other_token = ProofClaims {
            access_token: Some("other"),
            ..claims(1000)
        };
        assert_eq!(
            verify_proof(&build_proof(&key, &other_token), &with_token),
            Err(DpopError::WrongAth)
        );
        // A query on either side is ignored.
        let with_query = ProofClaims {
            htu: "https://issuer.example/token?x=1",
            ..claims(1000)
        };
        assert!(verify_proof(&build_proof(&key, &with_query), &e).is_ok());
    }

    #[test]
    fn wrong_typ_private_jwk_and_rsa_are_refused() {
        let key = SigningKey::generate(Alg::ES256);
        let mut header = crate::jose::header("JWT", None);
        header.insert("jwk".into(), key.public_jwk().to_value());
        let payload = serde_json::json!({"jti":"j","htm":"POST","htu":HTU,"iat":1000});
        let jwt = Jws::sign(header, &payload, &key);
        assert!(matches!(
            verify_proof(&jwt, &expect(1000)),
            Err(DpopError::WrongTyp { .. })
        ));

        let mut header = crate::jose::header(TYP_DPOP, None);
        let mut jwk = key.public_jwk().to_value();
        jwk["d"] = Value::String("c2VjcmV0".into());
        header.insert("jwk".into(), jwk);
        let jwt = Jws::sign(header, &payload, &key);
        assert_eq!(
            verify_proof(&jwt, &expect(1000)),
            Err(DpopError::PrivateKeyInJwk)
        );

        let header = crate::jose::header(TYP_DPOP, None);
        let jwt = Jws::sign(header, &payload, &key);
        assert_eq!(
            verify_proof(&jwt, &expect(1000)),
            Err(DpopError::MissingJwk)
        );

        // Signed by another key than the header's.
        let other = SigningKey::generate(Alg::ES256);
        let mut header = crate::jose::header(TYP_DPOP, None);
        header.insert("jwk".into(), other.public_jwk().to_value());
        let jwt = Jws::sign(header, &payload, &key);
        assert!(matches!(
            verify_proof(&jwt, &expect(1000)),
            Err(DpopError::BadSignature(_))
        ));
        assert!(matches!(
            verify_proof("not.a.jwt", &expect(1000)),
            Err(DpopError::Malformed(_))
        ));
    }
}
