//! Requests per route: a tower layer ([`HttpMetricsLayer`]) that counts every response by
//! route, method and status class and times it, and the table it counts in
//! ([`HttpMetrics`]).
//!
//! The route is axum's [`MatchedPath`], the template (`/admin/offers/{id}`), never the
//! request's path: no id, token or code reaches a label. A request no route matched is
//! counted under the one route `unmatched`, a method outside RFC 9110's under `other`, so
//! the labels are bounded by the router whatever clients send.
//!
//! The table is a fixed array of slots, each filled once ([`OnceLock`]) with a route and
//! method and probed by hash: a request reads one or two slots (an atomic load each) and
//! adds to atomics; no lock is taken after a route's first request.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::MatchedPath;
use axum::http::{Method, Request, Response};

use super::{Exposition, Histogram, Kind, LATENCY_BOUNDS};

/// The route of requests no route matched.
pub const UNMATCHED: &str = "unmatched";
/// The route of requests past [`SLOTS`] distinct routes and methods (not reached by the
/// services' routers; a guard all the same).
pub const OVERFLOW: &str = "overflow";
/// Distinct (route, method) pairs counted one by one.
const SLOTS: usize = 1024;

const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// The label of a method: RFC 9110's methods by name, any other as `other`.
fn method_label(method: &Method) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method.as_str())
        .copied()
        .unwrap_or("other")
}

/// The counts of one route and method.
#[derive(Debug)]
struct RouteStats {
    route: Box<str>,
    method: &'static str,
    /// Responses by status class, 1xx to 5xx.
    by_class: [AtomicU64; 5],
    latency: Histogram,
}

impl RouteStats {
    fn new(route: &str, method: &'static str) -> RouteStats {
        RouteStats {
            route: route.into(),
            method,
            by_class: Default::default(),
            latency: Histogram::new(LATENCY_BOUNDS),
        }
    }

    fn record(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        self.latency.observe(elapsed);
    }
}

/// A service's requests, per route and method.
#[derive(Debug)]
pub struct HttpMetrics {
    slots: Box<[OnceLock<Box<RouteStats>>]>,
    overflow: Box<[RouteStats]>,
    hasher: std::collections::hash_map::RandomState,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        HttpMetrics::new()
    }
}

impl HttpMetrics {
    pub fn new() -> HttpMetrics {
        HttpMetrics {
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            overflow: METHODS
                .iter()
                .copied()
                .chain(["other"])
                .map(|m| RouteStats::new(OVERFLOW, m))
                .collect(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// The counts of `route` and `method`: its slot, filled on its first request.
    fn stats(&self, route: &str, method: &'static str) -> &RouteStats {
        let mut h = self.hasher.build_hasher();
        h.write(route.as_bytes());
        h.write(method.as_bytes());
        let start = h.finish() as usize;
        for probe in 0..SLOTS {
            let slot = &self.slots[(start + probe) % SLOTS];
            let stats = slot.get_or_init(|| Box::new(RouteStats::new(route, method)));
            if *stats.route == *route && stats.method == method {
                return stats;
            }
        }
        let i = METHODS
            .iter()
            .position(|m| *m == method)
            .unwrap_or(METHODS.len());
        &self.overflow[i]
    }

    /// Counts a response of `route` (`None`: no route matched) to `method`.
    pub fn record(&self, route: Option<&str>, method: &Method, status: u16, elapsed: Duration) {
        self.stats(route.unwrap_or(UNMATCHED), method_label(method))
            .record(status, elapsed);
    }

    /// The requests counted so far for `route` and `method` with a status of `class`
    /// (`2` for 2xx).
    pub fn count(&self, route: &str, method: &str, class: u16) -> u64 {
        let i = usize::from(class.clamp(1, 5)) - 1;
        self.all()
            .filter(|s| &*s.route == route && s.method == method)
            .map(|s| s.by_class[i].load(Ordering::Relaxed))
            .sum()
    }

    fn all(&self) -> impl Iterator<Item = &RouteStats> {
        self.slots
            .iter()
            .filter_map(|s| s.get().map(|b| &**b))
            .chain(
                self.overflow
                    .iter()
                    .filter(|s| s.by_class.iter().any(|c| c.load(Ordering::Relaxed) > 0)),
            )
    }

    /// `akashi_http_requests_total{route, method, status}` and
    /// `akashi_http_request_duration_seconds{route, method}`, routes in order.
    pub fn write(&self, exp: &mut Exposition) {
        let mut all: Vec<&RouteStats> = self.all().collect();
        all.sort_by(|a, b| (&a.route, a.method).cmp(&(&b.route, b.method)));
        exp.family(
            "akashi_http_requests_total",
            Kind::Counter,
            "Responses by route template (axum's matched path; `unmatched` when no route matched), method and status class.",
        );
        for s in &all {
            for (i, count) in s.by_class.iter().enumerate() {
                let count = count.load(Ordering::Relaxed);
                if count > 0 {
                    exp.sample(
                        "akashi_http_requests_total",
                        &[
                            ("route", &*s.route),
                            ("method", s.method),
                            ("status", ["1xx", "2xx", "3xx", "4xx", "5xx"][i]),
                        ],
                        count as f64,
                    );
                }
            }
        }
        exp.family(
            "akashi_http_request_duration_seconds",
            Kind::Histogram,
            "Time from a request's arrival at the router to its response's head, by route template and method.",
        );
        for s in &all {
            exp.histogram(
                "akashi_http_request_duration_seconds",
                &[("route", &*s.route), ("method", s.method)],
                &s.latency.snapshot(),
            );
        }
    }
}

/// `router` with every response counted in `metrics` (the layer goes on after the routes
/// and the fallback, so it sees the matched path).
pub fn observe(router: axum::Router, metrics: &Arc<HttpMetrics>) -> axum::Router {
    router.layer(HttpMetricsLayer(metrics.clone()))
}

/// Counts and times every response of the router it is laid on (`Router::layer`, after the
/// routes and the fallback: the matched path is known by then).
#[derive(Clone, Debug)]
pub struct HttpMetricsLayer(pub Arc<HttpMetrics>);

impl<S> tower::Layer<S> for HttpMetricsLayer {
    type Service = HttpMetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetricsService {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct HttpMetricsService<S> {
    inner: S,
    metrics: Arc<HttpMetrics>,
}

impl<S, B, RB> tower::Service<Request<B>> for HttpMetricsService<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Timed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        Timed {
            inner: self.inner.call(req),
            start: Instant::now(),
            metrics: self.metrics.clone(),
            route,
            method,
        }
    }
}

pin_project_lite::pin_project! {
    /// A response future that counts its response when it is ready.
    pub struct Timed<F> {
        #[pin]
        inner: F,
        start: Instant,
        metrics: Arc<HttpMetrics>,
        route: Option<MatchedPath>,
        method: Method,
    }
}

impl<F, RB, E> Future for Timed<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        // An error reaches no client as a response of ours: hyper closes the connection.
        let status = match &out {
            Ok(response) => response.status().as_u16(),
            Err(_) => 500,
        };
        this.metrics.record(
            this.route.as_ref().map(MatchedPath::as_str),
            this.method,
            status,
            this.start.elapsed(),
        );
        Poll::Ready(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_methods_keep_their_own_counts() {
        let m = HttpMetrics::new();
        let ms = Duration::from_millis(1);
        m.record(Some("/a/{id}"), &Method::GET, 200, ms);
        m.record(Some("/a/{id}"), &Method::GET, 404, ms);
        m.record(Some("/a/{id}"), &Method::POST, 201, ms);
        m.record(None, &Method::GET, 404, ms);
        m.record(None, &Method::from_bytes(b"BREW").unwrap(), 405, ms);
        assert_eq!(m.count("/a/{id}", "GET", 2), 1);
        assert_eq!(m.count("/a/{id}", "GET", 4), 1);
        assert_eq!(m.count("/a/{id}", "POST", 2), 1);
        assert_eq!(m.count(UNMATCHED, "GET", 4), 1);
        assert_eq!(m.count(UNMATCHED, "other", 4), 1);
        let mut exp = Exposition::new();
        m.write(&mut exp);
        let text = exp.finish();
        assert!(
            text.contains(
                "akashi_http_requests_total{route=\"/a/{id}\",method=\"GET\",status=\"4xx\"} 1\n"
            ),
            "{text}"
        );
        assert!(!text.contains("BREW"), "{text}");
        assert!(
            text.contains(
                "akashi_http_request_duration_seconds_count{route=\"/a/{id}\",method=\"POST\"} 1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_full_table_counts_the_rest_as_overflow() {
        let m = HttpMetrics::new();
        for i in 0..SLOTS + 10 {
            m.record(Some(&format!("/r{i}")), &Method::GET, 200, Duration::ZERO);
        }
        assert_eq!(m.count(OVERFLOW, "GET", 2), 10);
        let routes = m.all().count();
        assert_eq!(routes, SLOTS + 1, "every slot and the one overflow row");
    }

    #[test]
    fn threads_counting_the_same_new_routes_lose_nothing() {
        let m = Arc::new(HttpMetrics::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        let route = format!("/r{}", i % 50);
                        m.record(Some(&route), &Method::GET, 200, Duration::ZERO);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for i in 0..50 {
            assert_eq!(m.count(&format!("/r{i}"), "GET", 2), 160, "/r{i}");
        }
        assert_eq!(m.all().count(), 50, "one slot per route");
    }
}
