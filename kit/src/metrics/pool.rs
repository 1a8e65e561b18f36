//! The database pools' metrics: connections open, idle and in use, read from sqlx at each
//! scrape, and the time requests waited for a connection.
//!
//! sqlx 0.9 keeps no count of acquisitions or waits; what it has is an event per
//! acquisition (target `sqlx::pool::acquire`, field `acquired_after_secs`), which
//! [`crate::db`] turns on at `TRACE` for every pool. [`AcquireWaits`], a tracing layer the
//! services' subscriber carries ([`crate::logs`]), puts each into [`ACQUIRE`]. That is per
//! process: a service run alone (its own binary) counts its own pools; the launcher, which
//! runs the three in one process, counts them together.

use std::sync::LazyLock;
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

use super::{Exposition, Histogram, Kind};
use crate::db::Db;

/// The target of sqlx's acquisition events.
pub const ACQUIRE_TARGET: &str = "sqlx::pool::acquire";

/// Bounds (seconds) of the acquisition histogram: 50 µs to 10 s.
pub const ACQUIRE_BOUNDS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5,
    10.0,
];

/// Time to acquire a pooled connection, every pool of the process.
pub static ACQUIRE: LazyLock<Histogram> = LazyLock::new(|| Histogram::new(ACQUIRE_BOUNDS));

/// The tracing layer that feeds [`ACQUIRE`]; give it the filter [`AcquireWaits::filter`]
/// (`layer.with_filter(AcquireWaits::filter())`), so it sees sqlx's events whatever the
/// log filter lets through, and nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcquireWaits;

impl AcquireWaits {
    pub fn filter() -> tracing_subscriber::filter::FilterFn<fn(&tracing::Metadata<'_>) -> bool> {
        fn is_acquisition(meta: &tracing::Metadata<'_>) -> bool {
            meta.is_event() && meta.target() == ACQUIRE_TARGET
        }
        tracing_subscriber::filter::filter_fn(is_acquisition as fn(&tracing::Metadata<'_>) -> bool)
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for AcquireWaits {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        struct Seconds(Option<f64>);
        impl Visit for Seconds {
            fn record_f64(&mut self, field: &Field, value: f64) {
                if field.name() == "acquired_after_secs" {
                    self.0 = Some(value);
                }
            }
            fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
        }
        let mut seconds = Seconds(None);
        event.record(&mut seconds);
        if let Some(s) = seconds.0.filter(|s| s.is_finite() && *s >= 0.0) {
            ACQUIRE.observe(Duration::from_secs_f64(s));
        }
    }
}

/// `akashi_db_pool_connections{pool, state}`, `akashi_db_pool_max_connections{pool}` of
/// `db` (SQLite: the `read` pool and the one `write` connection; PostgreSQL: `main`) and
/// `akashi_db_pool_acquire_seconds`.
pub fn write(exp: &mut Exposition, db: &Db) {
    let pools: Vec<(&str, u32, usize, u32)> = match db {
        Db::Sqlite(s) => vec![
            (
                "read",
                s.pool.size(),
                s.pool.num_idle(),
                s.pool.options().get_max_connections(),
            ),
            (
                "write",
                s.writer.size(),
                s.writer.num_idle(),
                s.writer.options().get_max_connections(),
            ),
        ],
        Db::Postgres(p) => vec![(
            "main",
            p.size(),
            p.num_idle(),
            p.options().get_max_connections(),
        )],
    };
    exp.family(
        "akashi_db_pool_connections",
        Kind::Gauge,
        "Open database connections of the service's pools, idle or in use.",
    );
    for (pool, size, idle, _) in &pools {
        let idle = u32::try_from(*idle).unwrap_or(u32::MAX).min(*size);
        exp.sample(
            "akashi_db_pool_connections",
            &[("pool", pool), ("state", "idle")],
            f64::from(idle),
        );
        exp.sample(
            "akashi_db_pool_connections",
            &[("pool", pool), ("state", "in_use")],
            f64::from(size - idle),
        );
    }
    exp.family(
        "akashi_db_pool_max_connections",
        Kind::Gauge,
        "The most connections each pool opens; requests beyond them wait.",
    );
    for (pool, _, _, max) in &pools {
        exp.sample(
            "akashi_db_pool_max_connections",
            &[("pool", pool)],
            f64::from(*max),
        );
    }
    exp.family(
        "akashi_db_pool_acquire_seconds",
        Kind::Histogram,
        "Time to acquire a database connection from a pool (waiting for a free one, or opening one), every pool of this process.",
    );
    exp.histogram("akashi_db_pool_acquire_seconds", &[], &ACQUIRE.snapshot());
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::{Layer, Registry};

    #[test]
    fn sqlx_acquisition_events_are_counted_and_nothing_else() {
        let subscriber = Registry::default().with(AcquireWaits.with_filter(AcquireWaits::filter()));
        let before = ACQUIRE.snapshot().count();
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "sqlx::pool::acquire", acquired_after_secs = 0.002_f64, "acquired connection");
            tracing::warn!(target: "sqlx::pool::acquire", acquired_after_secs = 3.0_f64, slow_acquire_threshold_secs = 2.0_f64, "acquired connection, but time to acquire exceeded slow threshold");
            tracing::trace!(target: "other", acquired_after_secs = 1.0_f64, "not sqlx");
        });
        let after = ACQUIRE.snapshot();
        // Other tests of this binary may add to the process-wide histogram meanwhile, never
        // take from it.
        assert!(after.count() >= before + 2, "{after:?}");
    }

    #[tokio::test]
    async fn a_sqlite_database_reports_its_two_pools() {
        let dir = tempfile::tempdir().unwrap();
        static NONE: sqlx::migrate::Migrator = sqlx::migrate::Migrator::DEFAULT;
        let migrations = crate::db::Migrations {
            sqlite: &NONE,
            postgres: &NONE,
        };
        let url = format!("sqlite://{}/m.db", dir.path().display());
        let db = Db::connect(&url, &migrations, None).await.unwrap();
        let mut exp = Exposition::new();
        write(&mut exp, &db);
        let text = exp.finish();
        assert!(
            text.contains("akashi_db_pool_max_connections{pool=\"write\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("akashi_db_pool_connections{pool=\"read\",state=\"in_use\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("akashi_db_pool_acquire_seconds_count "),
            "{text}"
        );
        db.close().await;
    }
}
