//! Signed Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.3, HAIP 1.0 §4.4): the metadata
//! as a JWT (`typ` `openidvci-issuer-metadata+jwt`, `iss` and `sub` the issuer, `iat`,
//! `exp` a day later) signed by the issuer's X.509 identity key with its `x5c` chain and
//! `kid` in the header ([`super::x509`]), so a wallet that trusts the CA, or one that
//! resolves the `kid` through the issuer's did:web, can tell the metadata came from the
//! issuer unchanged.
//!
//! Every wallet fetches the metadata before it redeems an offer, so the document served is
//! made once and kept ([`super::kept`]): made again when the settings in effect change
//! (names, colours, logo) and at least every [`RESIGN_AFTER`], so its signature always has
//! most of its day ahead of it. Making it (the configurations, the JSON and an ES256
//! signature) cost about 95 µs of the issuer's CPU a request; serving it kept, about 10.

use std::sync::Arc;

use bytes::Bytes;
use protocol::keys::Signer;
use protocol::oid4vci::CredentialIssuerMetadata;
use protocol::oid4vci::signed_metadata::{TYP_SIGNED_METADATA, sign_metadata};

use crate::App;
use crate::domain::kept::Kept;
use crate::domain::settings::Settings;

/// How long signed metadata stays valid, seconds.
pub const SIGNED_METADATA_TTL: i64 = 86_400;
/// How old a kept metadata document may be before it is made and signed again, seconds.
pub const RESIGN_AFTER: i64 = 3_600;

/// The metadata document as last made, by the settings it was made from.
pub type MetadataDocument = Kept<Arc<Settings>, Bytes>;

/// An empty [`MetadataDocument`].
pub const fn metadata_document() -> MetadataDocument {
    Kept::new(RESIGN_AFTER)
}

impl App {
    /// `metadata` signed at `now`, for its `signed_metadata` member.
    fn sign_metadata(&self, metadata: &CredentialIssuerMetadata, now: i64) -> String {
        sign_metadata(
            metadata,
            self.x509.header(TYP_SIGNED_METADATA),
            &self.x509.identity.key as &dyn Signer,
            now,
            Some(now + SIGNED_METADATA_TTL),
        )
    }

    /// The Credential Issuer Metadata document served, its `signed_metadata` included:
    /// kept, or made by `make` from the settings in effect and signed now (its `iat` is the
    /// time it is kept from, so [`RESIGN_AFTER`] counts from the signature).
    #[expect(clippy::expect_used, reason = "the metadata serialises")]
    pub fn credential_issuer_metadata_json(
        &self,
        make: impl FnOnce(&Settings) -> CredentialIssuerMetadata,
    ) -> Bytes {
        let now = self.clock.now();
        self.metadata_document
            .get_or_make(self.settings(), now, |settings| {
                let mut metadata = make(settings);
                metadata.signed_metadata = Some(self.sign_metadata(&metadata, now));
                Bytes::from(serde_json::to_vec(&metadata).expect("the metadata serialises"))
            })
    }
}
