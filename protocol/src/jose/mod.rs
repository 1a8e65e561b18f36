//! Compact JWS (RFC 7515) signing and decoding, with explicit typing (RFC 8725 §3.11).
//!
//! Decoding never trusts the token: [`Jws::decode`] parses the parts and refuses `alg:
//! none` and unknown algorithms; only [`Jws::verify`] with a key chosen by the caller says
//! the signature is good. [`jwe`] is the encryption side: compact JWE with ECDH-ES.

pub mod jwe;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::b64;
use crate::keys::{Alg, KeyError, Signer, VerifyingKey};

/// Why a compact JWS was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    #[error("`alg` is `none`: unsigned tokens are refused")]
    AlgNone,
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("`typ` is {found:?}, expected {expected:?}")]
    WrongTyp {
        expected: String,
        found: Option<String>,
    },
    #[error("`crit` header parameters are not supported: {0}")]
    Critical(String),
}

/// A decoded, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Jws {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload, parsed as a JSON object.
    pub payload: Map<String, Value>,
    /// The JOSE algorithm from the header (never `none`).
    pub alg: Alg,
    signing_input: String,
    signature: Vec<u8>,
}

impl Jws {
    /// Signs `payload` with `signer`; `header` gets `alg` (set here) and whatever the caller
    /// put in it (`typ`, `kid`, `jwk`). Returns the compact serialisation.
    #[expect(
        clippy::expect_used,
        reason = "a JSON map serialises; JWT claims serialise"
    )]
    pub fn sign(
        mut header: Map<String, Value>,
        payload: &impl Serialize,
        signer: &dyn Signer,
    ) -> String {
        header.insert("alg".into(), Value::String(signer.alg().as_str().into()));
        let header = serde_json::to_vec(&header).expect("a JSON map serialises");
        let payload = serde_json::to_vec(payload).expect("JWT claims serialise");
        let mut out = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 100);
        out.push_str(&b64::encode(header));
        out.push('.');
        out.push_str(&b64::encode(payload));
        let signature = signer.sign(out.as_bytes());
        out.push('.');
        out.push_str(&b64::encode(signature));
        out
    }

    /// Parses a compact JWS whose payload is a JSON object. Checks the shape and the
    /// algorithm only; the signature is checked by [`Jws::verify`].
    pub fn decode(compact: &str) -> Result<Self, JoseError> {
        let mut parts = compact.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "a compact JWS has exactly three parts",
            ));
        };
        let header: Map<String, Value> = decode_json(h, "header is not base64url JSON object")?;
        let alg = match header.get("alg").and_then(Value::as_str) {
            None => return Err(JoseError::Malformed("header has no `alg`")),
            Some("none") => return Err(JoseError::AlgNone),
            Some(alg) => Alg::parse(alg)?,
        };
        if let Some(crit) = header.get("crit") {
            return Err(JoseError::Critical(crit.to_string()));
        }
        let payload: Map<String, Value> = decode_json(p, "payload is not base64url JSON object")?;
        let signature =
            b64::decode(s).map_err(|_| JoseError::Malformed("signature is not base64url"))?;
        Ok(Jws {
            header,
            payload,
            alg,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// The header `typ`, if any.
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// The header `kid`, if any.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// Refuses the token unless its `typ` is one of `accepted` (compared case-insensitively,
    /// with an optional `application/` prefix, as RFC 7515 §4.1.9 allows).
    pub fn expect_typ(&self, accepted: &[&str]) -> Result<(), JoseError> {
        let found = self.typ();
        let normalised = found.map(|t| {
            t.strip_prefix("application/")
                .unwrap_or(t)
                .to_ascii_lowercase()
        });
        if normalised
            .as_deref()
            .is_some_and(|t| accepted.iter().any(|a| a.eq_ignore_ascii_case(t)))
        {
            Ok(())
        } else {
            Err(JoseError::WrongTyp {
                expected: accepted.join(" or "),
                found: found.map(str::to_owned),
            })
        }
    }

    /// Checks the signature with `key`.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), JoseError> {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)?;
        Ok(())
    }

    /// The bytes the signature covers (`header.payload`).
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// A string claim of the payload.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.payload.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim of the payload (integer seconds; fractions are truncated).
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        let v = self.payload.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(
    part: &str,
    what: &'static str,
) -> Result<T, JoseError> {
    let bytes = b64::decode(part).map_err(|_| JoseError::Malformed(what))?;
    serde_json::from_slice(&bytes).map_err(|_| JoseError::Malformed(what))
}

/// A JOSE header with `typ` (and optionally `kid`) set.
pub fn header(typ: &str, kid: Option<&str>) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("typ".into(), Value::String(typ.into()));
    if let Some(kid) = kid {
        h.insert("kid".into(), Value::String(kid.into()));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;
    use serde_json::json;

    #[test]
    fn sign_decode_verify() {
        let key = SigningKey::generate(Alg::ES256);
        let jwt = Jws::sign(
            header("JWT", Some("k1")),
            &json!({"sub": "a", "iat": 5}),
            &key,
        );
        let jws = Jws::decode(&jwt).unwrap();
        assert_eq!(jws.alg, Alg::ES256);
        assert_eq!(jws.kid(), Some("k1"));
        assert_eq!(jws.claim_time("iat"), Some(5));
        jws.verify(&key.public_jwk().verifying_key().unwrap())
            .unwrap();
        jws.expect_typ(&["jwt"]).unwrap();
        assert!(matches!(
            jws.expect_typ(&["kb+jwt"]),
            Err(JoseError::WrongTyp { .. })
        ));
        let other = SigningKey::generate(Alg::ES256)
            .public_jwk()
            .verifying_key()
            .unwrap();
        assert_eq!(
            jws.verify(&other),
            Err(JoseError::Key(KeyError::BadSignature))
        );
    }

    #[test]
    fn alg_none_and_garbage_refused() {
        let none = format!(
            "{}.{}.",
            b64::encode(r#"{"alg":"none"}"#),
            b64::encode(r#"{"a":1}"#)
        );
        assert_eq!(Jws::decode(&none).unwrap_err(), JoseError::AlgNone);
        assert!(matches!(Jws::decode("a.b"), Err(JoseError::Malformed(_))));
        let hs = format!(
            "{}.{}.AA",
            b64::encode(r#"{"alg":"HS256"}"#),
            b64::encode(r#"{}"#)
        );
        assert!(matches!(
            Jws::decode(&hs),
            Err(JoseError::Key(KeyError::UnsupportedAlg(_)))
        ));
    }
}
