//! Signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3, HAIP 1.0 §4.4): the metadata
//! as a JWT (`typ` `openidvci-issuer-metadata+jwt`, `iss` and `sub` the issuer, `iat`,
//! `exp` a day later) signed by the issuer's X.509 identity key with its `x5c` chain and
//! `kid` in the header ([`super::x509`]), so a wallet that trusts the CA, or one that
//! resolves the `kid` through the issuer's did:web, can tell the metadata came from the
//! issuer unchanged.

use protocol::keys::Signer;
use protocol::oid4vci::CredentialIssuerMetadata;
use protocol::oid4vci::signed_metadata::{TYP_SIGNED_METADATA, sign_metadata};

use crate::App;

/// How long signed metadata stays valid, seconds.
pub const SIGNED_METADATA_TTL: i64 = 86_400;

impl App {
    /// `metadata` signed now, for its `signed_metadata` member.
    pub fn sign_metadata(&self, metadata: &CredentialIssuerMetadata) -> String {
        let now = self.clock.now();
        sign_metadata(
            metadata,
            self.x509.header(TYP_SIGNED_METADATA),
            &self.x509.identity.key as &dyn Signer,
            now,
            Some(now + SIGNED_METADATA_TTL),
        )
    }
}
