//! What the protocol code needs from HTTP: a GET through whatever client the service
//! provides. Resolving did:web documents, issuer metadata, JWKS and status lists goes through
//! [`HttpGet`]; the services hand in `kit::fetch::Fetcher`, the guarded client (SSRF checks,
//! size and time limits), so this crate holds no HTTP client of its own.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::net::IpAddr;

use url::Host;

/// A boxed future, as [`HttpGet`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A GET for the protocol code; a non-2xx answer is [`FetchError::Status`].
pub trait HttpGet: Send + Sync + std::fmt::Debug {
    /// Whether `http://` loopback destinations are allowed (development and tests).
    fn allow_loopback(&self) -> bool;

    /// GET `url` with this `Accept`, the whole body read.
    fn get<'a>(
        &'a self,
        url: &'a str,
        accept: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>>;
}

/// GET `application/json` and parse it.
pub async fn get_json<T: DeserializeOwned>(http: &dyn HttpGet, url: &str) -> Result<T, FetchError> {
    http.get(url, "application/json").await?.json()
}

/// Why a fetch was refused or failed; each variant names the check.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error("not a valid absolute URL: {0}")]
    BadUrl(String),
    #[error("URL must use https: {url}")]
    NotHttps { url: String },
    #[error("destination {host} resolves to forbidden address {addr}")]
    ForbiddenAddress { host: String, addr: IpAddr },
    #[error("redirect to {location:?} not followed")]
    Redirect { location: String },
    #[error("response body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request did not complete within the time limit")]
    Timeout,
    #[error("HTTP status {status}: {snippet}")]
    Status { status: u16, snippet: String },
    #[error("network error: {0}")]
    Network(String),
    #[error("response is not the expected JSON: {0}")]
    BadJson(String),
}

/// A response read in full.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// The `DPoP-Nonce` response header (RFC 9449 §8), which an OAuth client puts in its
    /// next DPoP proof.
    pub dpop_nonce: Option<String>,
}

impl Fetched {
    /// Parses the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, FetchError> {
        serde_json::from_slice(&self.body).map_err(|e| FetchError::BadJson(e.to_string()))
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The start of the body as text, for error messages.
    pub fn snippet(&self) -> String {
        const MAX: usize = 200;
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(MAX)]);
        text.chars()
            .filter(|c| !c.is_control() || *c == ' ')
            .collect()
    }
}

/// Whether a URL host is loopback: 127.0.0.0/8, ::1, or a `localhost` name (RFC 6761 §6.3).
/// Names still resolve through [`GuardedResolver`], which checks the addresses.
pub fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// A plain [`HttpGet`] for this crate's tests (the services use `kit::fetch::Fetcher`):
/// `http://` and loopback address literals only when loopback is allowed, any other
/// status than 2xx is [`FetchError::Status`].
#[cfg(test)]
#[derive(Debug, Clone)]
pub(crate) struct TestGet {
    pub allow_loopback: bool,
}

#[cfg(test)]
impl HttpGet for TestGet {
    fn allow_loopback(&self) -> bool {
        self.allow_loopback
    }

    fn get<'a>(
        &'a self,
        url: &'a str,
        accept: &'a str,
    ) -> BoxFuture<'a, Result<Fetched, FetchError>> {
        Box::pin(async move {
            let parsed = url::Url::parse(url).map_err(|e| FetchError::BadUrl(e.to_string()))?;
            let loopback = parsed.host().is_some_and(|h| is_loopback_host(&h));
            if parsed.scheme() != "https" && !(self.allow_loopback && loopback) {
                return Err(FetchError::NotHttps {
                    url: url.to_owned(),
                });
            }
            // As the guarded client: a loopback address literal needs allow_loopback.
            let literal = match parsed.host() {
                Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(addr) = literal
                && !self.allow_loopback
            {
                return Err(FetchError::ForbiddenAddress {
                    host: addr.to_string(),
                    addr,
                });
            }
            let response = reqwest::Client::new()
                .get(url)
                .header("accept", accept)
                .send()
                .await
                .map_err(|e| FetchError::Network(e.to_string()))?;
            let status = response.status().as_u16();
            let body = response
                .bytes()
                .await
                .map_err(|e| FetchError::Network(e.to_string()))?;
            let fetched = Fetched {
                status,
                content_type: None,
                body,
                dpop_nonce: None,
            };
            if !fetched.is_success() {
                return Err(FetchError::Status {
                    status,
                    snippet: fetched.snippet(),
                });
            }
            Ok(fetched)
        })
    }
}
