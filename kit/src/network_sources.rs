//! The network behind the verification pipeline: issuer keys (JWT VC Issuer Metadata or
//! DID, through [`IssuerKeyResolver`]; X.509 trust anchors for `x5c`) and status lists, all fetched through the
//! guarded [`Fetcher`]: every URL comes from a credential a stranger presented.

use crate::fetch::Fetcher;
use protocol::issuer_key::IssuerKeyResolver;
use protocol::keys::Jwk;
use protocol::x509::TrustAnchors;

use protocol::verify::{Resource, Sources};

/// The media type of a Status List Token (draft-ietf-oauth-status-list §5.1).
pub const STATUSLIST_JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";

#[derive(Clone, Debug)]
pub struct NetworkSources {
    pub keys: IssuerKeyResolver,
    pub fetcher: Fetcher,
    /// The same guard with room for badge images and pages ([`RESOURCE_MAX_BYTES`]).
    pub resources: Fetcher,
    /// `VERIFIER_X509_TRUST_ANCHORS`: what an issuer's `x5c` chain must lead to.
    pub x509_anchors: TrustAnchors,
}

/// Largest badge image, badge page or Bitstring Status List credential read.
pub const RESOURCE_MAX_BYTES: usize = 2 * 1024 * 1024;

impl Sources for NetworkSources {
    async fn issuer_key(&self, iss: &str, kid: Option<&str>) -> Result<Jwk, String> {
        self.keys.resolve(iss, kid).await.map_err(|e| e.to_string())
    }

    async fn status_list_token(&self, uri: &str) -> Result<String, String> {
        let fetched = self
            .fetcher
            .get(uri, STATUSLIST_JWT_MEDIA_TYPE)
            .await
            .map_err(|e| e.to_string())?;
        let media_type = fetched
            .content_type
            .as_deref()
            .and_then(|c| c.split(';').next())
            .map(|c| c.trim().to_ascii_lowercase());
        if media_type.as_deref() != Some(STATUSLIST_JWT_MEDIA_TYPE) {
            return Err(format!(
                "Content-Type is {:?}, expected {STATUSLIST_JWT_MEDIA_TYPE}",
                fetched.content_type
            ));
        }
        String::from_utf8(fetched.body.to_vec())
            .map_err(|_| "the Status List Token is not UTF-8 text".to_owned())
    }

    async fn resource(&self, url: &str, accept: &str) -> Result<Resource, String> {
        match self.resources.get(url, accept).await {
            Ok(fetched) => Ok(Resource {
                status: fetched.status,
                media_type: fetched
                    .content_type
                    .as_deref()
                    .and_then(|c| c.split(';').next())
                    .map(|c| c.trim().to_ascii_lowercase()),
                body: fetched.body.to_vec(),
            }),
            Err(crate::fetch::FetchError::Status { status, .. }) => Ok(Resource {
                status,
                ..Resource::default()
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    fn x509_anchors(&self) -> Option<&TrustAnchors> {
        Some(&self.x509_anchors)
    }
}
