//! OpenID Connect as a relying party: what an issuer needs to authenticate a person at an
//! upstream identity provider with the authorization code flow (OpenID Connect Core 1.0
//! §3.1).
//!
//! * [`ProviderMetadata`]: the provider's discovery document (OpenID Connect Discovery 1.0
//!   §3), whose `issuer` must equal the configured issuer exactly (§4.3);
//! * [`JwkSet`]: the provider's signing keys from `jwks_uri` (RFC 7517 §5), keeping only
//!   keys this crate can verify with and that are not marked for encryption;
//! * [`verify_id_token`]: the ID token checks of Core §3.1.3.7: signature by a key of the
//!   set (RS256, ES256, EdDSA; never `none` nor HMAC), `iss` exact, `aud` containing the
//!   client (and `azp` when there are several audiences), `nonce`, `exp` and `iat` with a
//!   leeway; then the `email` and `email_verified == true` the issuer identifies people by.
//!
//! Each refusal is its own [`IdTokenError`] variant, naming the check.

use serde::Deserialize;
use serde_json::Value;

use crate::jose::{JoseError, Jws};
use crate::keys::{Alg, Jwk};

/// The path of the discovery document under the issuer URL (Discovery §4).
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The discovery document URL of `issuer` (Discovery §4.1: the path is appended, after a
/// trailing `/` is removed).
pub fn discovery_url(issuer: &str) -> String {
    format!("{}{DISCOVERY_PATH}", issuer.trim_end_matches('/'))
}

/// The members of a provider's discovery document a relying party uses (Discovery §3).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// The PKCE methods the provider supports (RFC 8414 §2); absent: not said.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// Why a discovery document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiscoveryError {
    #[error("discovery document is not the JSON of OpenID Connect Discovery 1.0 §3: {0}")]
    Malformed(String),
    #[error(
        "discovery document `issuer` is {found:?}, not the configured issuer {expected:?} (Discovery §4.3: exact match)"
    )]
    IssuerMismatch { expected: String, found: String },
    #[error("discovery document `{member}` is not an absolute URL: {value:?}")]
    NotAUrl { member: &'static str, value: String },
    #[error(
        "the provider does not support PKCE S256 (its code_challenge_methods_supported: {0:?})"
    )]
    NoPkceS256(Vec<String>),
}

impl ProviderMetadata {
    /// Parses a discovery document and checks it belongs to `expected_issuer`.
    pub fn parse(body: &[u8], expected_issuer: &str) -> Result<Self, DiscoveryError> {
        let meta: ProviderMetadata =
            serde_json::from_slice(body).map_err(|e| DiscoveryError::Malformed(e.to_string()))?;
        if meta.issuer != expected_issuer {
            return Err(DiscoveryError::IssuerMismatch {
                expected: expected_issuer.to_owned(),
                found: meta.issuer,
            });
        }
        for (member, value) in [
            ("authorization_endpoint", &meta.authorization_endpoint),
            ("token_endpoint", &meta.token_endpoint),
            ("jwks_uri", &meta.jwks_uri),
        ] {
            if url::Url::parse(value).is_err() {
                return Err(DiscoveryError::NotAUrl {
                    member,
                    value: value.clone(),
                });
            }
        }
        if let Some(methods) = &meta.code_challenge_methods_supported
            && !methods.iter().any(|m| m == crate::oauth::pkce::METHOD_S256)
        {
            return Err(DiscoveryError::NoPkceS256(methods.clone()));
        }
        Ok(meta)
    }
}

/// A provider's signing keys: those of its JWK set this crate verifies with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parses a JWK set (RFC 7517 §5). Keys of other types, with private members or
    /// marked `use: enc` are skipped (a provider may publish them); a document that is not
    /// a JWK set is refused.
    pub fn parse(body: &[u8]) -> Result<Self, IdTokenError> {
        let doc: Value = serde_json::from_slice(body)
            .map_err(|e| IdTokenError::BadJwkSet(format!("not JSON: {e}")))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| IdTokenError::BadJwkSet("no `keys` array".into()))?;
        Ok(JwkSet {
            keys: keys
                .iter()
                .filter(|k| {
                    k.get("use")
                        .and_then(Value::as_str)
                        .is_none_or(|u| u == "sig")
                })
                .filter_map(|k| Jwk::from_value(k).ok())
                .collect(),
        })
    }

    /// Whether a key of this set has `kid`.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }
}

/// What an ID token must say.
#[derive(Clone, Debug)]
pub struct IdTokenExpectations<'a> {
    /// The provider's issuer identifier (`iss`, exact).
    pub issuer: &'a str,
    /// Our client id (in `aud`; `azp` when present).
    pub client_id: &'a str,
    /// The base64url SHA-256 of the `nonce` the authentication request sent (the caller
    /// keeps only the hash).
    pub nonce_sha256: &'a str,
    /// Now, in seconds.
    pub now: i64,
    /// Clock skew tolerated on `exp` and `iat`.
    pub leeway: i64,
    /// How old `iat` may be.
    pub max_age: i64,
}

/// What a verified ID token says of the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub sub: String,
    /// The address, as the provider verified it.
    pub email: String,
}

/// Why an ID token (or the key set it is checked with) was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdTokenError {
    #[error("the provider's JWK set is refused: {0}")]
    BadJwkSet(String),
    #[error("id_token is not a signed JWT: {0}")]
    Jose(#[from] JoseError),
    #[error("id_token `kid` {0:?} names no key of the provider's JWK set")]
    UnknownKid(String),
    #[error("id_token has no `kid` and no key of the provider's JWK set is for {0}")]
    NoKeyForAlg(Alg),
    #[error(
        "id_token signature does not verify with the provider's key (a forged or altered token)"
    )]
    BadSignature,
    #[error("id_token `iss` is {found:?}, expected {expected:?}")]
    WrongIssuer {
        expected: String,
        found: Option<String>,
    },
    #[error("id_token `aud` {found} does not contain our client_id {client_id:?}")]
    WrongAudience { client_id: String, found: String },
    #[error(
        "id_token has several audiences and `azp` is {found:?}, not our client_id {client_id:?}"
    )]
    WrongAuthorizedParty {
        client_id: String,
        found: Option<String>,
    },
    #[error(
        "id_token `nonce` is not the one of our authentication request (a replayed or injected token)"
    )]
    WrongNonce,
    #[error("id_token has expired (`exp` {exp}, now {now}, leeway {leeway} s)")]
    Expired { exp: i64, now: i64, leeway: i64 },
    #[error("id_token has no `exp`")]
    NoExp,
    #[error("id_token has no `iat`")]
    NoIat,
    #[error("id_token `iat` {iat} is in the future (now {now}, leeway {leeway} s)")]
    IssuedInFuture { iat: i64, now: i64, leeway: i64 },
    #[error("id_token `iat` {iat} is more than {max_age} s old (now {now})")]
    TooOld { iat: i64, now: i64, max_age: i64 },
    #[error("id_token has no `sub`")]
    NoSub,
    #[error("id_token has no `email`: ask the provider for the `email` scope")]
    NoEmail,
    #[error(
        "id_token `email_verified` is {0}, not true: the provider has not verified the address"
    )]
    EmailNotVerified(String),
}

/// Checks an ID token (Core §3.1.3.7) against `keys` and `expect`, returning the person's
/// verified address. [`IdTokenError::UnknownKid`] tells the caller to fetch the key set
/// again (the provider may have rotated its keys) and retry once.
pub fn verify_id_token(
    token: &str,
    keys: &JwkSet,
    expect: &IdTokenExpectations<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    let jws = Jws::decode(token)?;
    let candidates: Vec<&Jwk> = match jws.kid() {
        Some(kid) => {
            let found: Vec<&Jwk> = keys
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect();
            if found.is_empty() {
                return Err(IdTokenError::UnknownKid(kid.to_owned()));
            }
            found
        }
        None => keys
            .keys
            .iter()
            .filter(|k| k.key_alg().ok() == Some(jws.alg))
            .collect(),
    };
    if candidates.is_empty() {
        return Err(IdTokenError::NoKeyForAlg(jws.alg));
    }
    let verified = candidates.iter().any(|k| {
        k.verifying_key()
            .ok()
            .is_some_and(|vk| jws.verify(&vk).is_ok())
    });
    if !verified {
        return Err(IdTokenError::BadSignature);
    }
    let iss = jws.claim_str("iss");
    if iss != Some(expect.issuer) {
        return Err(IdTokenError::WrongIssuer {
            expected: expect.issuer.to_owned(),
            found: iss.map(str::to_owned),
        });
    }
    let audiences: Vec<&str> = match jws.payload.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&expect.client_id) {
        return Err(IdTokenError::WrongAudience {
            client_id: expect.client_id.to_owned(),
            found: jws
                .payload
                .get("aud")
                .map_or_else(|| "(absent)".to_owned(), Value::to_string),
        });
    }
    let azp = jws.claim_str("azp");
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(expect.client_id) {
        return Err(IdTokenError::WrongAuthorizedParty {
            client_id: expect.client_id.to_owned(),
            found: azp.map(str::to_owned),
        });
    }
    let nonce_matches = jws.claim_str("nonce").is_some_and(|n| {
        crate::secret::constant_time_eq(
            crate::b64::sha256(n).as_bytes(),
            expect.nonce_sha256.as_bytes(),
        )
    });
    if !nonce_matches {
        return Err(IdTokenError::WrongNonce);
    }
    let exp = jws.claim_time("exp").ok_or(IdTokenError::NoExp)?;
    if exp + expect.leeway <= expect.now {
        return Err(IdTokenError::Expired {
            exp,
            now: expect.now,
            leeway: expect.leeway,
        });
    }
    let iat = jws.claim_time("iat").ok_or(IdTokenError::NoIat)?;
    if iat > expect.now + expect.leeway {
        return Err(IdTokenError::IssuedInFuture {
            iat,
            now: expect.now,
            leeway: expect.leeway,
        });
    }
    if expect.now - iat > expect.max_age + expect.leeway {
        return Err(IdTokenError::TooOld {
            iat,
            now: expect.now,
            max_age: expect.max_age,
        });
    }
    let sub = jws
        .claim_str("sub")
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::NoSub)?;
    let email = jws
        .claim_str("email")
        .filter(|e| e.contains('@'))
        .ok_or(IdTokenError::NoEmail)?;
    match jws.payload.get("email_verified") {
        Some(Value::Bool(true)) => {}
        Some(other) => return Err(IdTokenError::EmailNotVerified(other.to_string())),
        None => return Err(IdTokenError::EmailNotVerified("absent".into())),
    }
    Ok(IdTokenClaims {
        sub: sub.to_owned(),
        email: email.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::Jws;
    use crate::keys::{Signer, SigningKey};
    use serde_json::json;

    const ISSUER: &str = "https://idp.example";
    const NOW: i64 = 1_800_000_000;

    static NONCE_HASH: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| crate::b64::sha256("n-1"));

    fn expect() -> IdTokenExpectations<'static> {
        IdTokenExpectations {
            issuer: ISSUER,
            client_id: "akashi",
            nonce_sha256: &NONCE_HASH,
            now: NOW,
            leeway: 30,
            max_age: 600,
        }
    }

    fn set_of(key: &SigningKey, kid: &str) -> JwkSet {
        let mut jwk = key.public_jwk();
        jwk.kid = Some(kid.into());
        JwkSet { keys: vec![jwk] }
    }

    fn claims() -> Value {
        json!({"iss": ISSUER, "aud": "akashi", "sub": "u1", "nonce": "n-1",
               "exp": NOW + 300, "iat": NOW, "email": "ana@example.org", "email_verified": true})
    }

    fn token(key: &SigningKey, kid: &str, payload: &Value) -> String {
        Jws::sign(crate::jose::header("JWT", Some(kid)), payload, key)
    }

    fn changed(member: &str, value: Value) -> Value {
        let mut c = claims();
        c[member] = value;
        c
    }

    #[test]
    fn a_good_token_of_each_algorithm_verifies() {
        for alg in [Alg::ES256, Alg::RS256, Alg::EdDSA] {
            let key = SigningKey::generate(alg);
            let got = verify_id_token(
                &token(&key, "k1", &claims()),
                &set_of(&key, "k1"),
                &expect(),
            )
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(got.email, "ana@example.org");
            assert_eq!(got.sub, "u1");
        }
    }

    #[test]
    fn each_check_refuses_with_its_own_error() {
        let key = SigningKey::generate(Alg::ES256);
        let keys = set_of(&key, "k1");
        let run = |payload: &Value| verify_id_token(&token(&key, "k1", payload), &keys, &expect());
        assert!(matches!(
            run(&changed("iss", json!("https://idp.example/"))),
            Err(IdTokenError::WrongIssuer { .. })
        ));
        assert!(matches!(
            run(&changed("aud", json!("someone-else"))),
            Err(IdTokenError::WrongAudience { .. })
        ));
        assert!(matches!(
            run(&changed("aud", json!(["akashi", "other"]))),
            Err(IdTokenError::WrongAuthorizedParty { .. })
        ));
        let mut several = changed("aud", json!(["akashi", "other"]));
        several["azp"] = json!("akashi");
        assert!(run(&several).is_ok());
        assert_eq!(
            run(&changed("nonce", json!("n-2"))),
            Err(IdTokenError::WrongNonce)
        );
        assert!(matches!(
            run(&changed("exp", json!(NOW - 31))),
            Err(IdTokenError::Expired { .. })
        ));
        assert!(
            run(&changed("exp", json!(NOW - 29))).is_ok(),
            "within the leeway"
        );
        assert!(matches!(
            run(&changed("iat", json!(NOW + 31))),
            Err(IdTokenError::IssuedInFuture { .. })
        ));
        assert!(matches!(
            run(&changed("iat", json!(NOW - 700))),
            Err(IdTokenError::TooOld { .. })
        ));
        assert_eq!(
            run(&changed("email_verified", json!(false))),
            Err(IdTokenError::EmailNotVerified("false".into()))
        );
        assert_eq!(
            run(&changed("email_verified", json!("true"))),
            Err(IdTokenError::EmailNotVerified("\"true\"".into()))
        );
        let mut no_email = claims();
        no_email.as_object_mut().map(|o| o.remove("email"));
        assert_eq!(run(&no_email), Err(IdTokenError::NoEmail));
    }

    #[test]
    fn another_key_an_unknown_kid_and_unsigned_tokens_are_refused() {
        let key = SigningKey::generate(Alg::ES256);
        let other = SigningKey::generate(Alg::ES256);
        let keys = set_of(&key, "k1");
        // Signed by another key that claims the provider's kid.
        assert_eq!(
            verify_id_token(&token(&other, "k1", &claims()), &keys, &expect()),
            Err(IdTokenError::BadSignature)
        );
        assert_eq!(
            verify_id_token(&token(&key, "k9", &claims()), &keys, &expect()),
            Err(IdTokenError::UnknownKid("k9".into()))
        );
        // A payload altered after signing.
        let good = token(&key, "k1", &claims());
        let parts: Vec<&str> = good.split('.').collect();
        let forged_payload = crate::b64::encode(
            serde_json::to_vec(&changed("email", json!("mallory@example.org"))).unwrap(),
        );
        let forged = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert_eq!(
            verify_id_token(&forged, &keys, &expect()),
            Err(IdTokenError::BadSignature)
        );
        // alg none and HS256.
        for alg in ["none", "HS256"] {
            let header = crate::b64::encode(format!(r#"{{"alg":"{alg}","kid":"k1"}}"#));
            let t = format!("{header}.{}.", parts[1]);
            assert!(
                matches!(
                    verify_id_token(&t, &keys, &expect()),
                    Err(IdTokenError::Jose(_))
                ),
                "{alg}"
            );
        }
    }

    #[test]
    fn discovery_wants_the_exact_issuer_and_a_jwk_set_skips_unusable_keys() {
        let doc = json!({"issuer": ISSUER, "authorization_endpoint": "https://idp.example/auth",
            "token_endpoint": "https://idp.example/token", "jwks_uri": "https://idp.example/jwks"});
        let body = serde_json::to_vec(&doc).unwrap();
        assert!(ProviderMetadata::parse(&body, ISSUER).is_ok());
        assert!(matches!(
            ProviderMetadata::parse(&body, "https://idp.example/tenant"),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
        let mut no_s256 = doc.clone();
        no_s256["code_challenge_methods_supported"] = json!(["plain"]);
        assert!(matches!(
            ProviderMetadata::parse(&serde_json::to_vec(&no_s256).unwrap(), ISSUER),
            Err(DiscoveryError::NoPkceS256(_))
        ));
        let key = SigningKey::generate(Alg::ES256);
        let mut enc = key.public_jwk().to_value();
        enc["use"] = json!("enc");
        let set =
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}, enc, key.public_jwk().to_value()]});
        let parsed = JwkSet::parse(&serde_json::to_vec(&set).unwrap()).unwrap();
        assert_eq!(parsed.keys.len(), 1);
        assert!(JwkSet::parse(b"{}").is_err());
    }
}
