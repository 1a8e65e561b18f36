//! The presentation-request area: what creating, serving, receiving and reporting requests
//! need, handed over by [`crate::app::App::open`].

use std::sync::Arc;

use kit::network_sources::NetworkSources;
use protocol::clock::Clock;
use protocol::keys::SigningKey;
use protocol::keys::seal::SealKey;
use protocol::verify::StatusCache;
use tokio::sync::broadcast;

use crate::config::VerifierProfile;
use crate::domain::templates::Templates;
use crate::domain::webhooks::Webhooks;
use crate::domain::x509::X509Identity;
use crate::metrics::Metrics;
use crate::store::Store;

use super::served::Served;

/// Presentation requests: what they need to create, serve, receive and report them.
pub struct Requests {
    /// The public URL without a trailing slash.
    pub(crate) public_url: String,
    /// `decentralized_identifier:<did>`: the `client_id` and the KB-JWT audience.
    pub(crate) client_id: String,
    /// The JOSE `kid` of the request-signing key: `<did>#key-1`.
    pub(crate) kid: String,
    /// The ES256 request-object signing key.
    pub(crate) es256: Arc<SigningKey>,
    /// Seals the per-request encryption keys.
    pub(crate) seal: SealKey,
    /// The certificate chain and key of `x509_san_dns:` / `x509_hash:` requests.
    pub(crate) x509: Arc<X509Identity>,
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    /// Issuer keys and status lists, through the guarded fetcher.
    pub(crate) sources: NetworkSources,
    pub(crate) status_cache: Arc<StatusCache>,
    /// `VERIFIER_TRUSTED_ISSUERS`.
    pub(crate) trusted_issuers: Vec<String>,
    /// `VERIFIER_PROFILE`.
    pub(crate) profile: VerifierProfile,
    /// Under the `haip` profile: the trust anchors' key identifiers, the `aki` values of
    /// each credential query's `trusted_authorities` (empty otherwise).
    pub(crate) haip_authorities: Vec<String>,
    /// How long a request may be answered, in seconds.
    pub(crate) request_ttl: i64,
    /// How long a result is kept after its request expired, in seconds.
    pub(crate) result_ttl: i64,
    /// The id of each request whose result was just stored: the QR pages' server-sent
    /// events wake on it.
    pub(crate) results: broadcast::Sender<String>,
    /// Requests made from saved templates.
    pub(crate) templates: Templates,
    /// Where results are posted when ready.
    pub(crate) webhooks: Webhooks,
    /// Where presentations are counted by verdict.
    pub(crate) metrics: Arc<Metrics>,
    /// The open requests whose request object this instance served, by `state`.
    pub(crate) served: Served,
}
