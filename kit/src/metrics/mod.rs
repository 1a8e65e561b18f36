//! Metrics in the Prometheus text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>): the
//! counters and histograms a service keeps (atomics: recording one takes no lock), the
//! writer of the format ([`Exposition`]), the per-route HTTP layer ([`http`]) and the
//! database pool's gauges ([`pool`]).
//!
//! Each service owns its own counters (the launcher and the tests run three services in one
//! process, so nothing here is global but the process's start time and the pool
//! acquisition histogram, [`pool::ACQUIRE`], which only a process-wide tracing subscriber
//! can feed). A service serves them on its own listen address
//! (`<SERVICE>_METRICS_LISTEN`), never on its public one.

pub mod http;
pub mod pool;

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a metric family is (`# TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// The text of one scrape, family by family: a family's `# HELP` and `# TYPE` lines, then
/// its samples. Names are the callers' constants (`[a-zA-Z_:][a-zA-Z0-9_:]*`, checked in
/// debug builds); label values and help texts are escaped here.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts the family `name`: its help text and type.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert!(valid_name(name), "metric name {name:?}");
        let _ = writeln!(
            self.out,
            "# HELP {name} {}\n# TYPE {name} {}",
            escape_help(help),
            kind.as_str()
        );
    }

    /// One sample of the current family: `name{labels} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        debug_assert!(valid_name(name), "metric name {name:?}");
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                debug_assert!(valid_name(label) && !label.contains(':'), "label {label:?}");
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(label);
                self.out.push_str("=\"");
                escape_label_value(&mut self.out, value);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// A whole family of one sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The samples of a histogram (`_bucket` per bound and `+Inf`, `_sum`, `_count`) under
    /// `labels`, in the current family `name`.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let bucket = format!("{name}_bucket");
        let mut with_le: Vec<(&str, &str)> = labels.to_vec();
        let mut cumulative = 0u64;
        let mut les = Vec::with_capacity(h.bounds.len() + 1);
        for bound in h.bounds {
            let mut le = String::new();
            push_value(&mut le, *bound);
            les.push(le);
        }
        les.push("+Inf".to_owned());
        for (le, count) in les.iter().zip(&h.counts) {
            cumulative += count;
            with_le.push(("le", le.as_str()));
            self.sample(&bucket, &with_le, cumulative as f64);
            with_le.pop();
        }
        self.sample(&format!("{name}_sum"), labels, h.sum_seconds);
        self.sample(&format!("{name}_count"), labels, cumulative as f64);
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }
}

fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `# HELP` text: backslash and line feed escaped.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A sample value as Go's `ParseFloat` reads it: integers without a fraction, `+Inf`,
/// `-Inf`, `NaN`.
fn push_value(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

/// A counter: one atomic, added to without a lock.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A counter per value of one label, the values fixed when it is made (bounded
/// cardinality: a value it was not made with is counted as `other`).
#[derive(Debug)]
pub struct LabelledCounter {
    label: &'static str,
    values: &'static [&'static str],
    counts: Box<[Counter]>,
    other: Counter,
}

impl LabelledCounter {
    pub fn new(label: &'static str, values: &'static [&'static str]) -> LabelledCounter {
        LabelledCounter {
            label,
            values,
            counts: values.iter().map(|_| Counter::default()).collect(),
            other: Counter::default(),
        }
    }

    /// Adds `n` to the counter of `value`.
    pub fn add(&self, value: &str, n: u64) {
        match self.values.iter().position(|v| *v == value) {
            Some(i) => self.counts[i].add(n),
            None => self.other.add(n),
        }
    }

    /// The count of `value` (`other` for those it was not made with).
    pub fn get(&self, value: &str) -> u64 {
        match self.values.iter().position(|v| *v == value) {
            Some(i) => self.counts[i].get(),
            None if value == "other" => self.other.get(),
            None => 0,
        }
    }

    /// The family `name` with a sample per value (every value, zero included, so a rate
    /// can be taken from the first scrape on), and `other` when it is not zero.
    pub fn write(&self, exp: &mut Exposition, name: &str, help: &str) {
        exp.family(name, Kind::Counter, help);
        for (value, count) in self.values.iter().zip(self.counts.iter()) {
            exp.sample(name, &[(self.label, value)], count.get() as f64);
        }
        if self.other.get() > 0 {
            exp.sample(name, &[(self.label, "other")], self.other.get() as f64);
        }
    }
}

/// Latency bounds (seconds) of the HTTP histograms: 0.5 ms to 10 s.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram of durations: a count per bucket and the sum in nanoseconds, each an atomic.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Upper bounds in nanoseconds, for the comparison on the hot path.
    bounds_ns: Box<[u64]>,
    /// One per bound, and the last for `+Inf`; not cumulative (the scrape adds them up).
    counts: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            bounds_ns: bounds.iter().map(|b| (b * 1e9) as u64).collect(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let i = self.bounds_ns.partition_point(|b| *b < ns);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The counts as they are now (each read on its own: a scrape during a request may see
    /// its bucket and not yet its sum, never a count that goes back).
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            bounds: self.bounds,
            counts: self
                .counts
                .iter()
                .map(|c| c.load(Ordering::Relaxed))
                .collect(),
            sum_seconds: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// A histogram's counts read for a scrape.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub bounds: &'static [f64],
    /// Per bucket (the last is `+Inf`), not cumulative.
    pub counts: Vec<u64>,
    pub sum_seconds: f64,
}

impl HistogramSnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The counters of a mail outbox's deliveries in this instance (the depth is read from the
/// database at each scrape: it is shared by every instance).
#[derive(Debug, Default)]
pub struct OutboxCounters {
    /// Messages the mail server accepted.
    pub delivered: Counter,
    /// Attempts that failed and will be retried.
    pub failed: Counter,
    /// Messages given up without being sent.
    pub given_up: Counter,
    /// Messages the mail server refused for good (a bounce): not retried.
    pub bounced: Counter,
}

impl OutboxCounters {
    /// The families `akashi_outbox_deliveries_total{outbox, outcome}` and, from `depth`,
    /// `akashi_outbox_depth{outbox, state}`.
    pub fn write(&self, exp: &mut Exposition, outbox: &str, depth: Option<OutboxDepth>) {
        exp.family(
            "akashi_outbox_deliveries_total",
            Kind::Counter,
            "Delivery attempts of this instance's outbox worker, by outcome (failed: to be retried; bounced: refused for good by the mail server).",
        );
        for (outcome, counter) in [
            ("delivered", &self.delivered),
            ("failed", &self.failed),
            ("given_up", &self.given_up),
            ("bounced", &self.bounced),
        ] {
            exp.sample(
                "akashi_outbox_deliveries_total",
                &[("outbox", outbox), ("outcome", outcome)],
                counter.get() as f64,
            );
        }
        if let Some(depth) = depth {
            exp.family(
                "akashi_outbox_depth",
                Kind::Gauge,
                "Messages in the outbox not sent yet (the table every instance shares): waiting for a first or next attempt, or given up.",
            );
            for (state, n) in [
                ("waiting", depth.waiting),
                ("retrying", depth.retrying),
                ("given_up", depth.given_up),
            ] {
                exp.sample(
                    "akashi_outbox_depth",
                    &[("outbox", outbox), ("state", state)],
                    n as f64,
                );
            }
        }
    }
}

/// Unsent messages of an outbox, by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxDepth {
    /// Never attempted yet.
    pub waiting: i64,
    /// Attempted and failed, to be tried again.
    pub retrying: i64,
    /// Given up (never to be tried again unless an operator requeues them).
    pub given_up: i64,
}

/// When this process started (the first time a service asked): seconds since the Unix
/// epoch.
pub fn process_start_time() -> f64 {
    static STARTED: OnceLock<f64> = OnceLock::new();
    *STARTED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default()
    })
}

/// The router of a service's metrics listen address: `GET /metrics` answers the text
/// `render` writes; any other path is 404, another method 405.
pub fn router<F, Fut>(render: F) -> axum::Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = String> + Send + 'static,
{
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = render.clone();
            async move {
                (
                    [
                        (axum::http::header::CONTENT_TYPE, CONTENT_TYPE),
                        (axum::http::header::CACHE_CONTROL, "no-store"),
                    ],
                    render().await,
                )
            }
        }),
    )
}

/// `process_start_time_seconds` and `akashi_service_info{service, version}`.
pub fn write_process(exp: &mut Exposition, service: &str) {
    exp.single(
        "process_start_time_seconds",
        Kind::Gauge,
        "Start time of the process since the Unix epoch in seconds.",
        process_start_time(),
    );
    exp.family(
        "akashi_service_info",
        Kind::Gauge,
        "The service answering, and its version.",
    );
    exp.sample(
        "akashi_service_info",
        &[("service", service), ("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escaping() {
        let mut exp = Exposition::new();
        exp.family("a_total", Kind::Counter, "Line one\nback\\slash.");
        exp.sample("a_total", &[("route", "/x/\"{id}\"\n\\")], 3.0);
        exp.sample("a_total", &[], 0.25);
        let text = exp.finish();
        assert_eq!(
            text,
            "# HELP a_total Line one\\nback\\\\slash.\n# TYPE a_total counter\n\
             a_total{route=\"/x/\\\"{id}\\\"\\n\\\\\"} 3\na_total 0.25\n"
        );
    }

    #[test]
    fn values_as_the_format_reads_them() {
        let mut s = String::new();
        for v in [
            0.0,
            42.0,
            0.0005,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e20,
        ] {
            push_value(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "0 42 0.0005 +Inf -Inf NaN 100000000000000000000 ");
    }

    #[test]
    fn a_histogram_is_cumulative_and_counts_its_bounds_inclusively() {
        let h = Histogram::new(&[0.001, 0.01]);
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(1)); // on the bound: le="0.001"
        h.observe(Duration::from_millis(5));
        h.observe(Duration::from_secs(3));
        let snap = h.snapshot();
        assert_eq!(snap.counts, vec![2, 1, 1]);
        assert_eq!(snap.count(), 4);
        let mut exp = Exposition::new();
        exp.family("t_seconds", Kind::Histogram, "t");
        exp.histogram("t_seconds", &[("route", "/r")], &snap);
        let text = exp.finish();
        assert!(
            text.contains("t_seconds_bucket{route=\"/r\",le=\"0.001\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("t_seconds_bucket{route=\"/r\",le=\"0.01\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("t_seconds_bucket{route=\"/r\",le=\"+Inf\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("t_seconds_count{route=\"/r\"} 4\n"), "{text}");
        assert!(
            text.contains("t_seconds_sum{route=\"/r\"} 3.0065\n"),
            "{text}"
        );
    }

    #[test]
    fn a_labelled_counter_keeps_its_values_and_folds_strangers_into_other() {
        let c = LabelledCounter::new("format", &["dc+sd-jwt", "ldp_vc"]);
        c.add("ldp_vc", 2);
        c.add("<script>", 1);
        c.add("another", 1);
        assert_eq!(c.get("ldp_vc"), 2);
        assert_eq!(c.get("dc+sd-jwt"), 0);
        assert_eq!(c.get("other"), 2);
        let mut exp = Exposition::new();
        c.write(&mut exp, "issued_total", "Issued.");
        let text = exp.finish();
        assert!(
            text.contains("issued_total{format=\"dc+sd-jwt\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("issued_total{format=\"ldp_vc\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("issued_total{format=\"other\"} 2\n"),
            "{text}"
        );
        assert!(!text.contains("script"), "{text}");
    }

    #[test]
    fn counters_from_many_threads_add_up() {
        let c = std::sync::Arc::new(Counter::default());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        c.add(1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(c.get(), 40_000);
    }
}
