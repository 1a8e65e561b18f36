//! Checking signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3, HAIP 1.0 §4.4):
//! when the issuer's metadata carries `signed_metadata`, the wallet verifies it before
//! using the metadata: the signer's key from the `x5c` chain when the wallet has issuer
//! trust anchors (`WALLET_ISSUER_X509_TRUST_ANCHORS`; the leaf must name the issuer, as for
//! badges), else from the header `kid` bound to the issuer (its did:web or JWT VC Issuer
//! Metadata); `sub` the issuer; live; and no plain value disagreeing with its signed
//! value. The metadata used is then the signed values over the plain ones. Metadata
//! without `signed_metadata` is used as it is (signing is optional in OpenID4VCI), unless
//! `WALLET_REQUIRE_SIGNED_METADATA` is set: then it is refused, so stripping the signature
//! is no way around it.

use protocol::oid4vci::CredentialIssuerMetadata;
use protocol::oid4vci::signed_metadata::{SignedMetadata, SignedMetadataError};

use super::oid4vci::AcceptError;
use crate::App;

/// Clock skew tolerated for `iat` in the future.
const LEEWAY: i64 = protocol::verify::LEEWAY;

impl App {
    /// `metadata` of `issuer` as the wallet may use it: unchanged when unsigned, else
    /// checked against its `signed_metadata` and with the signed values in place.
    pub(crate) async fn checked_metadata(
        &self,
        metadata: CredentialIssuerMetadata,
        issuer: &str,
        now: i64,
    ) -> Result<CredentialIssuerMetadata, AcceptError> {
        let Some(jwt) = metadata.signed_metadata.as_deref() else {
            if self.config.require_signed_metadata {
                return Err(AcceptError::UnsignedMetadata(issuer.to_owned()));
            }
            return Ok(metadata);
        };
        let signed = SignedMetadata::decode(jwt)?;
        let anchors = &self.verify_sources.x509_anchors;
        let jwk = match signed.jws.header.get("x5c") {
            Some(x5c) if !anchors.is_empty() => {
                protocol::issuer_key::resolve_x5c(issuer, x5c, anchors, now)
                    .map_err(|e| SignedMetadataError::SignerKey(e.to_string()))?
                    .0
            }
            _ => self
                .issuer_keys
                .resolve(issuer, signed.jws.kid())
                .await
                .map_err(|e| SignedMetadataError::SignerKey(e.to_string()))?,
        };
        let key = jwk.verifying_key().map_err(SignedMetadataError::BadKey)?;
        let mut checked = signed.check(&key, &metadata, issuer, now, LEEWAY)?;
        checked.signed_metadata = metadata.signed_metadata;
        Ok(checked)
    }
}
