//! What the verifier counts for its metrics endpoint (`VERIFIER_METRICS_LISTEN`,
//! [`crate::http::metrics`]): requests per route and presentations by verdict. Counters
//! only (atomics): the domain adds to them, the endpoint reads them.

use std::sync::Arc;

use kit::metrics::LabelledCounter;
use kit::metrics::http::HttpMetrics;

/// The verdicts of presentations received at the Response Endpoint: `accepted` (every
/// check passed), `rejected` (verified and not accepted), `wallet_error` (the wallet
/// answered with an error: declined, or nothing matched), `refused` (not verified at all:
/// unknown `state`, a replay, or after the request expired).
pub const VERDICTS: &[&str] = &["accepted", "rejected", "wallet_error", "refused"];

/// The verifier's counters, one set per running service.
#[derive(Debug)]
pub struct Metrics {
    pub http: Arc<HttpMetrics>,
    /// Responses at the Response Endpoint, by verdict.
    pub presentations: LabelledCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            http: Arc::new(HttpMetrics::new()),
            presentations: LabelledCounter::new("verdict", VERDICTS),
        }
    }
}
