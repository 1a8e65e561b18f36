//! did:jwk (quartzjer/did-jwk; `spec/did.md` §2): `did:jwk:` + base64url of the public
//! JWK's JSON. We emit the JCS (RFC 8785) form so each key has one DID; any member order
//! is accepted on input.

use std::collections::BTreeMap;

use super::{DidDocument, DidError, Relationship, VerificationMethod};
use crate::b64;
use crate::keys::Jwk;

/// The did:jwk of a public key: members `crv`, `kty`, `x`, `y` in lexicographic order,
/// without `kid`, `alg` or `use`.
#[expect(clippy::expect_used, reason = "a map of strings serialises")]
pub fn did_jwk(jwk: &Jwk) -> String {
    let public = jwk.public_only();
    let mut members = BTreeMap::new();
    members.insert("crv", public.crv.as_str());
    members.insert("kty", public.kty.as_str());
    members.insert("x", public.x.as_str());
    if let Some(y) = public.y.as_deref() {
        members.insert("y", y);
    }
    let json = serde_json::to_string(&members).expect("a map of strings serialises");
    format!("did:jwk:{}", b64::encode(json))
}

/// Parses a did:jwk (without fragment) back to its public key, `use` included.
pub fn parse_did_jwk(did: &str) -> Result<Jwk, DidError> {
    let malformed = |reason: String| DidError::Malformed {
        did: did.to_owned(),
        reason,
    };
    let encoded = did
        .strip_prefix("did:jwk:")
        .ok_or_else(|| malformed("not a did:jwk".into()))?;
    let json = b64::decode(encoded).map_err(|_| malformed("not base64url".into()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&json).map_err(|_| malformed("not a JSON object".into()))?;
    Jwk::from_value(&value).map_err(|e| malformed(e.to_string()))
}

/// The did:jwk document: one `JsonWebKey2020` method `#0`; referenced from
/// `assertionMethod` and `authentication` unless the JWK says `use: "enc"`.
pub(super) fn resolve(did: &str) -> Result<DidDocument, DidError> {
    let jwk = parse_did_jwk(did)?;
    let relationships: &[Relationship] = match jwk.use_.as_deref() {
        Some("enc") => &[],
        _ => &[Relationship::AssertionMethod, Relationship::Authentication],
    };
    let vm = VerificationMethod {
        id: format!("{did}#0"),
        type_: "JsonWebKey2020".into(),
        controller: Some(did.to_owned()),
        public_key_jwk: Some(jwk.to_value()),
        public_key_multibase: None,
    };
    Ok(DidDocument::single(did, vm, relationships))
}
