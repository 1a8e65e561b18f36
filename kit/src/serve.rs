//! Serving a service's router on a listener, with the limits every service shares, and the
//! response and request-body conventions of every service's HTTP layer.

use std::future::Future;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::net::TcpListener;

/// Largest request body any endpoint accepts unless its route sets its own limit.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// Binds a service's listen address (`--<service>-listen`).
pub async fn listen(addr: &str) -> Result<TcpListener, ListenError> {
    TcpListener::bind(addr).await.map_err(|source| ListenError {
        addr: addr.to_owned(),
        source,
    })
}

/// Binds a service's metrics listen address (`--<service>-metrics-listen`), if one is
/// configured.
pub async fn listen_metrics(addr: Option<&str>) -> std::io::Result<Option<TcpListener>> {
    match addr {
        None => Ok(None),
        Some(addr) => listen(addr)
            .await
            .map(Some)
            .map_err(|e| std::io::Error::new(e.source.kind(), e.to_string())),
    }
}

/// Serves a metrics `router` ([`crate::metrics::router`]) on its own `listener` until the
/// returned task is aborted (when the service it watches stops).
pub fn spawn_metrics(router: Router, listener: TcpListener) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = serve(router, listener, std::future::pending()).await {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    })
}

/// A listen address that cannot be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct ListenError {
    pub addr: String,
    pub source: std::io::Error,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains open requests.
/// Handlers find the peer's address as `ConnectInfo<SocketAddr>` (token throttling,
/// [`crate::throttle`]).
pub async fn serve(
    router: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(axum::extract::DefaultBodyLimit::max(DEFAULT_BODY_LIMIT));
    axum::serve(
        no_delay(listener),
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The peer address of a request served by [`serve`] (`None` for a router called
/// in-process).
pub fn client_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|ci| ci.0.ip())
}

/// `router` behind the reverse proxies at `trusted` (`<SERVICE>_TRUSTED_PROXIES`): a
/// request whose peer is one of them is taken to come from the last address of its
/// `X-Forwarded-For` (the one the proxy appended; what the client wrote before it is not
/// believed), so [`client_ip`] and the token throttles see the client, not the proxy. A
/// request from any other peer keeps its peer address, whatever headers it sends.
pub fn behind_proxies(router: Router, trusted: &[std::net::IpAddr]) -> Router {
    if trusted.is_empty() {
        return router;
    }
    let trusted: std::sync::Arc<[std::net::IpAddr]> = trusted.into();
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let trusted = trusted.clone();
            async move {
                let (mut parts, body) = req.into_parts();
                forwarded_client(&mut parts.extensions, &parts.headers, &trusted);
                next.run(axum::extract::Request::from_parts(parts, body))
                    .await
            }
        },
    ))
}

/// Replaces the peer address in `extensions` with the last `X-Forwarded-For` address when
/// the peer is one of the `trusted` proxies.
fn forwarded_client(
    extensions: &mut axum::http::Extensions,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) {
    use axum::extract::ConnectInfo;
    let Some(peer) = extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0)
    else {
        return;
    };
    if !trusted.contains(&peer.ip()) {
        return;
    }
    let client = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok());
    if let Some(ip) = client {
        extensions.insert(ConnectInfo(std::net::SocketAddr::new(ip, 0)));
    }
}

/// Extractor: the peer's address, as [`client_ip`] finds it.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

/// A 429 answer's `Retry-After` (RFC 9110 §10.2.3), in seconds.
pub fn retry_after(response: &mut Response, seconds: i64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
}

/// `listener` with `TCP_NODELAY` on every accepted connection: a response written in more
/// than one segment is not held back by Nagle's algorithm waiting for the client's delayed
/// ACK (axum leaves it off).
pub fn no_delay(
    listener: TcpListener,
) -> axum::serve::TapIo<TcpListener, fn(&mut tokio::net::TcpStream)> {
    use axum::serve::ListenerExt;
    listener.tap_io(set_nodelay)
}

fn set_nodelay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "TCP_NODELAY could not be set");
    }
}

/// Runs `task` every `period` (first at once) until the returned handle is aborted: the
/// services' housekeeping (expired nonces, old results) beside [`serve`].
pub fn spawn_every<F, Fut>(period: std::time::Duration, task: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            task().await;
        }
    })
}

/// A JSON body that did not parse: the member at fault (a path such as `results[0].value`,
/// or `body`) and the parser's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub field: String,
    pub message: String,
}

/// Parses a JSON request body (an object) into `T`, naming the member at fault: the path
/// where the value was wrong, the missing, unknown or repeated member's name, or `body`
/// when the body as a whole is wrong. An array is refused: serde would otherwise read it as
/// the struct's members in order.
pub fn parse_json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, BodyError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(BodyError {
            field: "body".into(),
            message: "the body must be a JSON object, not an array".into(),
        });
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let field = if path == "." {
            top_level_member(&message).unwrap_or("body").to_owned()
        } else {
            path
        };
        BodyError { field, message }
    })
}

/// The member a top-level serde error names: "missing field `x`", "unknown field `x`, …",
/// "duplicate field `x`". Other messages ("invalid type: integer `5`, expected …") name no
/// member.
fn top_level_member(message: &str) -> Option<&str> {
    ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
}

/// An `application/problem+json` response (RFC 9457), with a `field` member naming the
/// request member at fault when there is one.
pub fn problem(status: StatusCode, title: &str, detail: &str, field: Option<&str>) -> Response {
    let mut body =
        json!({"type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail});
    if let Some(field) = field {
        body["field"] = json!(field);
    }
    let mut r = (status, axum::Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// An OAuth 2.0 error response (RFC 6749 §5.2): `{"error", "error_description"}`, never
/// cached.
pub fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    let mut r = (
        status,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        value: u32,
    }

    fn peer(ip: &str) -> axum::http::Extensions {
        let mut e = axum::http::Extensions::new();
        e.insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
            ip.parse().unwrap(),
            40000,
        )));
        e
    }

    fn forwarded(values: &[&str]) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_trusted_proxy_names_the_client_by_its_last_forwarded_address() {
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        // The client wrote its own X-Forwarded-For; the proxy appended the real address.
        let mut e = peer("10.0.0.2");
        forwarded_client(&mut e, &forwarded(&["1.2.3.4", "198.51.100.7"]), &[proxy]);
        assert_eq!(client_ip(&e), Some("198.51.100.7".parse().unwrap()));
        let mut e = peer("10.0.0.2");
        forwarded_client(&mut e, &forwarded(&["1.2.3.4, 198.51.100.8"]), &[proxy]);
        assert_eq!(client_ip(&e), Some("198.51.100.8".parse().unwrap()));
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        let mut e = peer("203.0.113.9");
        forwarded_client(&mut e, &forwarded(&["198.51.100.7"]), &[proxy]);
        assert_eq!(client_ip(&e), Some("203.0.113.9".parse().unwrap()));
        // A trusted proxy's garbage header leaves the proxy's address.
        let mut e = peer("10.0.0.2");
        forwarded_client(&mut e, &forwarded(&["not-an-address"]), &[proxy]);
        assert_eq!(client_ip(&e), Some(proxy));
    }

    #[test]
    fn body_errors_name_the_member() {
        let e = parse_json_body::<Body>(br#"{"items": []}"#).unwrap_err();
        assert_eq!(e.field, "name");
        let e =
            parse_json_body::<Body>(br#"{"name": "a", "items": [{"value": "x"}]}"#).unwrap_err();
        assert_eq!(e.field, "items[0].value");
        let e = parse_json_body::<Body>(b"not json").unwrap_err();
        assert_eq!(e.field, "body");
    }

    #[test]
    fn a_wrong_body_as_a_whole_names_no_member() {
        // A number where the object belongs: serde's message quotes the value, not a member.
        let e = parse_json_body::<Body>(b"5").unwrap_err();
        assert_eq!(e.field, "body", "{}", e.message);
        let e = parse_json_body::<Body>(br#""name""#).unwrap_err();
        assert_eq!(e.field, "body", "{}", e.message);
    }

    #[test]
    fn an_array_is_not_read_as_the_members_in_order() {
        let e = parse_json_body::<Body>(br#" ["a", [{"value": 1}]]"#).unwrap_err();
        assert_eq!(e.field, "body");
        assert!(e.message.contains("array"), "{}", e.message);
    }

    #[test]
    fn unknown_and_duplicate_members_are_named() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Strict {
            name: String,
        }
        let e = parse_json_body::<Strict>(br#"{"name": "a", "extra": 1}"#).unwrap_err();
        assert_eq!(e.field, "extra", "{}", e.message);
        let e = parse_json_body::<Strict>(br#"{"name": "a", "name": "b"}"#).unwrap_err();
        assert_eq!(e.field, "name", "{}", e.message);
    }
}
