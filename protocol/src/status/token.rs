//! The relying party's side of a Token Status List (draft-ietf-oauth-status-list-20 §8.3):
//! the credential's `status.status_list` reference, and the checks on the Status List
//! Token it names (`typ`, the issuer's signature, `sub` equal to the referenced URI, `exp`)
//! before its entry is read. Fetching and finding the issuer's key are the caller's (they
//! need the guarded fetcher and the issuer key resolver).

use serde_json::{Map, Value};

use super::{INVALID, SUSPENDED, StatusList, StatusListError, TYP_STATUSLIST_JWT, VALID};
use crate::jose::{JoseError, Jws};
use crate::keys::Jwk;

/// Largest status list accepted, decompressed.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;

/// Why a status could not be established; each names the failed check.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StatusTokenError {
    #[error("`status` has no `status_list` reference")]
    NoReference,
    #[error("`status.status_list.idx` is not a non-negative integer")]
    BadIndex,
    #[error("`status.status_list.uri` is not a string")]
    BadUri,
    #[error("status list {uri}: {source}")]
    Token { uri: String, source: JoseError },
    #[error("status list {uri}: signature by the issuer: {source}")]
    Signature { uri: String, source: JoseError },
    #[error("status list `sub` is {found:?}, expected the referenced uri {uri:?}")]
    WrongSub { uri: String, found: Option<String> },
    #[error("status list {uri} expired at {exp} (now {now})")]
    Expired { uri: String, exp: i64, now: i64 },
    #[error("status list {uri} has no `status_list` claim with `bits` and `lst`")]
    NoList { uri: String },
    #[error("status list {uri}: {source}")]
    List {
        uri: String,
        source: StatusListError,
    },
}

/// Where a credential's status is: the list's URI and the entry's index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReference {
    pub uri: String,
    pub idx: usize,
}

/// The `status.status_list` reference of a credential's claims; `None` when it has no
/// `status` claim (it cannot be revoked).
pub fn reference(claims: &Map<String, Value>) -> Result<Option<StatusReference>, StatusTokenError> {
    let Some(status) = claims.get("status") else {
        return Ok(None);
    };
    let r = status
        .get("status_list")
        .ok_or(StatusTokenError::NoReference)?;
    let idx = r
        .get("idx")
        .and_then(Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or(StatusTokenError::BadIndex)?;
    let uri = r
        .get("uri")
        .and_then(Value::as_str)
        .ok_or(StatusTokenError::BadUri)?
        .to_owned();
    Ok(Some(StatusReference { uri, idx }))
}

/// Decodes the Status List Token fetched from `uri` (header `typ` checked; not verified).
pub fn decode(token: &str, uri: &str) -> Result<Jws, StatusTokenError> {
    let err = |source| StatusTokenError::Token {
        uri: uri.to_owned(),
        source,
    };
    let jws = Jws::decode(token.trim()).map_err(err)?;
    jws.expect_typ(&[TYP_STATUSLIST_JWT]).map_err(err)?;
    Ok(jws)
}

/// Verifies `jws` (from [`decode`]) with the issuer's `key` and returns its list: the
/// signature, `sub` == `uri`, and `exp` (with `leeway` seconds).
pub fn verify(
    jws: &Jws,
    uri: &str,
    key: &Jwk,
    now: i64,
    leeway: i64,
) -> Result<StatusList, StatusTokenError> {
    key.verifying_key()
        .map_err(JoseError::Key)
        .and_then(|k| jws.verify(&k))
        .map_err(|source| StatusTokenError::Signature {
            uri: uri.to_owned(),
            source,
        })?;
    let sub = jws.claim_str("sub");
    if sub != Some(uri) {
        return Err(StatusTokenError::WrongSub {
            uri: uri.to_owned(),
            found: sub.map(str::to_owned),
        });
    }
    if let Some(exp) = jws.claim_time("exp")
        && now > exp + leeway
    {
        return Err(StatusTokenError::Expired {
            uri: uri.to_owned(),
            exp,
            now,
        });
    }
    let body = jws.payload.get("status_list");
    let bits = body.and_then(|b| b.get("bits")).and_then(Value::as_u64);
    let lst = body.and_then(|b| b.get("lst")).and_then(Value::as_str);
    let (Some(bits), Some(lst)) = (bits, lst) else {
        return Err(StatusTokenError::NoList {
            uri: uri.to_owned(),
        });
    };
    StatusList::decode(bits, lst, MAX_LIST_BYTES).map_err(|source| StatusTokenError::List {
        uri: uri.to_owned(),
        source,
    })
}

/// The entry `r.idx` of `list`, as the status it stands for: `Ok` with a description when
/// VALID, `Err` naming the status (revoked, suspended, other) otherwise.
pub fn read(
    list: &StatusList,
    r: &StatusReference,
) -> Result<Result<String, String>, StatusTokenError> {
    let value = list.get(r.idx).map_err(|source| StatusTokenError::List {
        uri: r.uri.clone(),
        source,
    })?;
    let at = format!("status list {}, index {}", r.uri, r.idx);
    Ok(match value {
        VALID => Ok(format!("valid ({at})")),
        INVALID => Err(format!("revoked ({at})")),
        SUSPENDED => Err(format!("suspended ({at})")),
        other => Err(format!("status value 0x{other:02x} ({at}) is not VALID")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::keys::{Alg, Signer, SigningKey};

    const URI: &str = "https://issuer.example/status/1";

    fn token(key: &SigningKey, sub: &str, exp: i64, value: u8) -> String {
        let mut list = StatusList::new(2, 16).unwrap();
        list.set(5, value).unwrap();
        let payload = json!({"sub": sub, "iat": 1000, "exp": exp,
                             "status_list": {"bits": 2, "lst": list.encode()}});
        Jws::sign(
            crate::jose::header(TYP_STATUSLIST_JWT, None),
            &payload,
            key as &dyn crate::keys::Signer,
        )
    }

    fn at5() -> StatusReference {
        StatusReference {
            uri: URI.into(),
            idx: 5,
        }
    }

    #[test]
    fn reads_the_referenced_entry_of_a_verified_list() {
        let issuer = SigningKey::generate(Alg::ES256);
        let jwk = issuer.public_jwk();
        for (value, expect) in [
            (
                VALID,
                Ok("valid (status list https://issuer.example/status/1, index 5)"),
            ),
            (
                INVALID,
                Err("revoked (status list https://issuer.example/status/1, index 5)"),
            ),
            (
                SUSPENDED,
                Err("suspended (status list https://issuer.example/status/1, index 5)"),
            ),
        ] {
            let jws = decode(&token(&issuer, URI, 5000, value), URI).unwrap();
            let list = verify(&jws, URI, &jwk, 2000, 0).unwrap();
            let got = read(&list, &at5()).unwrap();
            assert_eq!(
                got.as_ref().map(String::as_str).map_err(String::as_str),
                expect
            );
        }
    }

    #[test]
    fn each_check_fails_by_name() {
        let issuer = SigningKey::generate(Alg::ES256);
        let other = SigningKey::generate(Alg::ES256);
        let jwk = issuer.public_jwk();
        let jws = decode(&token(&other, URI, 5000, VALID), URI).unwrap();
        assert!(matches!(
            verify(&jws, URI, &jwk, 2000, 0),
            Err(StatusTokenError::Signature { .. })
        ));
        let jws = decode(
            &token(&issuer, "https://elsewhere.example/1", 5000, VALID),
            URI,
        )
        .unwrap();
        assert!(matches!(
            verify(&jws, URI, &jwk, 2000, 0),
            Err(StatusTokenError::WrongSub { .. })
        ));
        let jws = decode(&token(&issuer, URI, 1500, VALID), URI).unwrap();
        assert_eq!(
            verify(&jws, URI, &jwk, 2000, 0).unwrap_err(),
            StatusTokenError::Expired {
                uri: URI.into(),
                exp: 1500,
                now: 2000
            }
        );
        assert!(matches!(
            decode("not a token", URI),
            Err(StatusTokenError::Token { .. })
        ));
        let list = StatusList::new(2, 4).unwrap();
        assert!(matches!(
            read(
                &list,
                &StatusReference {
                    uri: URI.into(),
                    idx: 99
                }
            ),
            Err(StatusTokenError::List { .. })
        ));
    }

    #[test]
    fn the_reference_is_read_from_the_claims() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(reference(&claims(json!({}))).unwrap(), None);
        assert_eq!(
            reference(&claims(
                json!({"status": {"status_list": {"idx": 5, "uri": URI}}})
            ))
            .unwrap(),
            Some(at5())
        );
        assert_eq!(
            reference(&claims(json!({"status": {}}))).unwrap_err(),
            StatusTokenError::NoReference
        );
        assert_eq!(
            reference(&claims(
                json!({"status": {"status_list": {"idx": -1, "uri": URI}}})
            ))
            .unwrap_err(),
            StatusTokenError::BadIndex
        );
        assert_eq!(
            reference(&claims(json!({"status": {"status_list": {"idx": 1}}}))).unwrap_err(),
            StatusTokenError::BadUri
        );
    }
}
