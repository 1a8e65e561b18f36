//! What the wallet counts for its metrics endpoint (`WALLET_METRICS_LISTEN`,
//! [`crate::http::metrics`]): requests per route and its account-mail outbox's deliveries.
//! Counters only (atomics).

use std::sync::Arc;

use kit::metrics::OutboxCounters;
use kit::metrics::http::HttpMetrics;

/// The wallet's counters, one set per running service.
#[derive(Debug)]
pub struct Metrics {
    pub http: Arc<HttpMetrics>,
    /// The account emails' deliveries (shared with the mail worker).
    pub outbox: Arc<OutboxCounters>,
}

impl Metrics {
    pub fn new(outbox: Arc<OutboxCounters>) -> Metrics {
        Metrics {
            http: Arc::new(HttpMetrics::new()),
            outbox,
        }
    }
}
