//! did:key (W3C CCG did:key v0.9; `spec/did.md` §1): multibase base58btc (`z`) of the
//! unsigned-varint multicodec code and the raw public key. Ed25519 is `0xed 0x01` + 32
//! bytes, P-256 is `0x80 0x24` + the 33-byte compressed SEC1 point.

use super::{DidDocument, DidError, Relationship, VerificationMethod};
use crate::keys::{Alg, Jwk, KeyError};

const ED25519_PUB: [u8; 2] = [0xed, 0x01];
const P256_PUB: [u8; 2] = [0x80, 0x24];

/// Why a multibase key could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultikeyError {
    #[error("multibase prefix must be `z` (base58btc)")]
    NotBase58btc,
    #[error("not base58btc")]
    BadBase58,
    #[error("multicodec is not ed25519-pub (0xed) or p256-pub (0x1200)")]
    UnsupportedCodec,
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The multibase (`z…`) form of a public key: the did:key method-specific id and the
/// `publicKeyMultibase` of a `Multikey`.
pub fn multibase_key(jwk: &Jwk) -> Result<String, KeyError> {
    let mut bytes = Vec::with_capacity(35);
    match jwk.key_alg()? {
        Alg::EdDSA => {
            let raw =
                crate::b64::decode(&jwk.x).map_err(|_| KeyError::BadJwk("`x` is not base64url"))?;
            if raw.len() != 32 {
                return Err(KeyError::BadJwk("Ed25519 `x` must be 32 bytes"));
            }
            bytes.extend_from_slice(&ED25519_PUB);
            bytes.extend_from_slice(&raw);
        }
        Alg::ES256 => {
            // Round trip through the point parser so an off-curve key is refused.
            jwk.verifying_key()?;
            bytes.extend_from_slice(&P256_PUB);
            bytes.extend_from_slice(&jwk.p256_compressed()?);
        }
        Alg::RS256 => return Err(KeyError::BadJwk("RSA keys have no did:key form here")),
    }
    Ok(format!("z{}", bs58::encode(bytes).into_string()))
}

/// Reads a multibase public key (`z…`, Ed25519 or P-256) into a JWK.
pub fn parse_multibase_key(mb: &str) -> Result<Jwk, MultikeyError> {
    let encoded = mb.strip_prefix('z').ok_or(MultikeyError::NotBase58btc)?;
    let bytes = bs58::decode(encoded)
        .into_vec()
        .map_err(|_| MultikeyError::BadBase58)?;
    if let Some(raw) = bytes.strip_prefix(&ED25519_PUB) {
        Ok(Jwk::from_ed25519(raw)?)
    } else if let Some(point) = bytes.strip_prefix(&P256_PUB) {
        if point.len() != 33 {
            return Err(
                KeyError::BadJwk("did:key P-256 keys are 33-byte compressed points").into(),
            );
        }
        Ok(Jwk::from_p256_sec1(point)?)
    } else {
        Err(MultikeyError::UnsupportedCodec)
    }
}

/// The did:key of a public key.
pub fn did_key(jwk: &Jwk) -> Result<String, KeyError> {
    Ok(format!("did:key:{}", multibase_key(jwk)?))
}

/// Parses a did:key (without fragment) back to its public key.
pub fn parse_did_key(did: &str) -> Result<Jwk, DidError> {
    let malformed = |reason: String| DidError::Malformed {
        did: did.to_owned(),
        reason,
    };
    let mb = did
        .strip_prefix("did:key:")
        .ok_or_else(|| malformed("not a did:key".into()))?;
    parse_multibase_key(mb).map_err(|e| malformed(e.to_string()))
}

/// The did:key document: one `Multikey` method `did:key:<mb>#<mb>`, referenced from
/// `assertionMethod` and `authentication`.
pub(super) fn resolve(did: &str) -> Result<DidDocument, DidError> {
    parse_did_key(did)?;
    let mb = &did["did:key:".len()..];
    let vm = VerificationMethod {
        id: format!("{did}#{mb}"),
        type_: "Multikey".into(),
        controller: Some(did.to_owned()),
        public_key_jwk: None,
        public_key_multibase: Some(mb.to_owned()),
    };
    Ok(DidDocument::single(
        did,
        vm,
        &[Relationship::AssertionMethod, Relationship::Authentication],
    ))
}
