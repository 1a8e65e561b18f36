//! Serving a service's router on a listener, with the limits every service shares.

use std::future::Future;

use axum::Router;
use tokio::net::TcpListener;

/// Largest request body any endpoint accepts unless its route sets its own limit.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Serves `router` on `listener` until `shutdown` resolves, then drains open requests.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(axum::extract::DefaultBodyLimit::max(DEFAULT_BODY_LIMIT));
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
