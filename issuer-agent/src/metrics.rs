//! What the issuer counts for its metrics endpoint (`ISSUER_METRICS_LISTEN`,
//! [`crate::http::metrics`]): requests per route, credentials issued by format, badge
//! status changes, and its outbox worker's deliveries. Counters only (atomics): the domain
//! adds to them, the endpoint reads them.

use std::sync::Arc;

use kit::metrics::http::HttpMetrics;
use kit::metrics::{LabelledCounter, OutboxCounters};

/// The `format` labels of issued credentials (OpenID4VCI credential formats).
pub const FORMATS: &[&str] = &["dc+sd-jwt", "jwt_vc_json", "ldp_vc"];
/// The statuses a badge can be set to.
pub const STATUSES: &[&str] = &["valid", "revoked", "suspended"];

/// The issuer's counters, one set per running service.
#[derive(Debug)]
pub struct Metrics {
    pub http: Arc<HttpMetrics>,
    /// Credentials issued, by format (each credential of a batch).
    pub issued: LabelledCounter,
    /// Badge status changes, by the status set.
    pub status_changes: LabelledCounter,
    /// The invitation outbox's deliveries.
    pub outbox: OutboxCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            http: Arc::new(HttpMetrics::new()),
            issued: LabelledCounter::new("format", FORMATS),
            status_changes: LabelledCounter::new("status", STATUSES),
            outbox: OutboxCounters::default(),
        }
    }
}
