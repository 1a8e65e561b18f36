//! The network behind the verification pipeline: issuer keys (JWT VC Issuer Metadata or
//! DID, through [`IssuerKeyResolver`]; X.509 trust anchors for `x5c`) and status lists, all fetched through the
//! guarded [`Fetcher`]: every URL comes from a credential a stranger presented. Issuers'
//! transparency logs too (`GET <iss>/log/proof/…`, `protocol::tlog::proof`), with the last
//! checkpoint seen per issuer kept in [`NetworkSources::checkpoints`].

use crate::fetch::Fetcher;
use protocol::issuer_key::IssuerKeyResolver;
use protocol::keys::Jwk;
use protocol::x509::TrustAnchors;

use std::sync::Arc;

use protocol::tlog::proof::{LogProof, MAX_PROOF_BYTES, PROOF_PATH};
use protocol::verify::transparency::{CheckpointMemory, LogAnswer};
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
    /// The last checkpoint of each issuer's log seen (the `transparency` check).
    pub checkpoints: Arc<dyn CheckpointMemory>,
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

    fn checkpoints(&self) -> Option<&dyn CheckpointMemory> {
        Some(self.checkpoints.as_ref())
    }

    async fn log_proof(
        &self,
        log: &str,
        jwt_digest: &str,
        old_size: Option<u64>,
    ) -> Result<LogAnswer, String> {
        let mut url = format!("{log}/{PROOF_PATH}/{jwt_digest}");
        if let Some(old) = old_size {
            url.push_str(&format!("?old={old}"));
        }
        match self.fetcher.get(&url, "application/json").await {
            Ok(fetched) => {
                if fetched.body.len() > MAX_PROOF_BYTES {
                    return Err(format!(
                        "the proof is {} bytes, more than {MAX_PROOF_BYTES}",
                        fetched.body.len()
                    ));
                }
                let proof: LogProof = serde_json::from_slice(&fetched.body)
                    .map_err(|e| format!("the proof is not the expected JSON: {e}"))?;
                Ok(LogAnswer::Proof(Box::new(proof)))
            }
            // No entry for the badge, or no log at all: the checkpoint tells which.
            Err(crate::fetch::FetchError::Status { status: 404, .. }) => {
                match self
                    .fetcher
                    .get(&format!("{log}/checkpoint"), "text/plain")
                    .await
                {
                    Ok(_) => Ok(LogAnswer::NotLogged),
                    Err(crate::fetch::FetchError::Status { status: 404, .. }) => {
                        Ok(LogAnswer::NoLog)
                    }
                    Err(e) => Err(format!("{log}/checkpoint: {e}")),
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }
}
