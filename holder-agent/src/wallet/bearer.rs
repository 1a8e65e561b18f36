//! A POST with a bearer access token, under the same guards as [`shared::fetch::Fetcher`]
//! (https only unless loopback is allowed, public destinations checked by
//! [`GuardedResolver`], no redirects, no proxy, size and time limits). The shared fetcher
//! has no way to add an `Authorization` header yet; this is the one request that needs one
//! (the Credential Endpoint, OpenID4VCI 1.0 §8.2).

use bytes::BytesMut;
use shared::fetch::{
    FetchError, FetchPolicy, Fetched, GuardedResolver, address_allowed, is_loopback_host,
};
use url::{Host, Url};

/// POSTs `body` as JSON with `Authorization: Bearer <token>`. Any status is returned.
pub async fn post_json_bearer(
    client: &reqwest::Client,
    policy: &FetchPolicy,
    url: &str,
    body: &serde_json::Value,
    token: &str,
) -> Result<Fetched, FetchError> {
    let url = check_url(policy, url)?;
    let request = client
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .bearer_auth(token)
        .json(body);
    let limit = policy.max_bytes;
    let exchange = async move {
        let mut response = request.send().await.map_err(map_reqwest)?;
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            return Err(FetchError::Redirect { location });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(FetchError::TooLarge { limit });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(map_reqwest)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            content_type,
            body: body.freeze(),
        })
    };
    tokio::time::timeout(policy.timeout, exchange)
        .await
        .map_err(|_| FetchError::Timeout)?
}

/// The client the bearer POST goes through: no redirects, no proxy, guarded DNS.
pub fn client(policy: &FetchPolicy) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver {
            allow_loopback: policy.allow_loopback,
        })
        .connect_timeout(policy.timeout)
        .timeout(policy.timeout)
        .user_agent(concat!("akashi-wallet/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| FetchError::Network(format!("cannot build the HTTP client: {e}")))
}

fn check_url(policy: &FetchPolicy, raw: &str) -> Result<Url, FetchError> {
    let url = Url::parse(raw).map_err(|e| FetchError::BadUrl(format!("{raw}: {e}")))?;
    let host = url
        .host()
        .ok_or_else(|| FetchError::BadUrl(format!("{raw}: no host")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::BadUrl(format!("{raw}: credentials in URL")));
    }
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_loopback && is_loopback_host(&host) => {}
        _ => {
            return Err(FetchError::NotHttps {
                url: raw.to_owned(),
            });
        }
    }
    let literal = match host {
        Host::Ipv4(ip) => Some(std::net::IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(std::net::IpAddr::V6(ip)),
        Host::Domain(_) => None,
    };
    if let Some(addr) = literal
        && !address_allowed(addr, policy.allow_loopback)
    {
        return Err(FetchError::ForbiddenAddress {
            host: host.to_string(),
            addr,
        });
    }
    Ok(url)
}

fn map_reqwest(err: reqwest::Error) -> FetchError {
    if err.is_timeout() {
        return FetchError::Timeout;
    }
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        message.push_str(": ");
        message.push_str(&e.to_string());
        source = e.source();
    }
    FetchError::Network(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_shared_fetcher_refuses() {
        let strict = FetchPolicy::default();
        assert!(matches!(
            check_url(&strict, "http://127.0.0.1:1/credential"),
            Err(FetchError::NotHttps { .. })
        ));
        assert!(matches!(
            check_url(&strict, "https://10.0.0.1/credential"),
            Err(FetchError::ForbiddenAddress { .. })
        ));
        assert!(matches!(
            check_url(&strict, "https://user:pw@issuer.example/credential"),
            Err(FetchError::BadUrl(_))
        ));
        assert!(check_url(&strict, "https://issuer.example/credential").is_ok());
        let dev = FetchPolicy {
            allow_loopback: true,
            ..FetchPolicy::default()
        };
        assert!(check_url(&dev, "http://127.0.0.1:1/credential").is_ok());
        assert!(matches!(
            check_url(&dev, "http://issuer.example/credential"),
            Err(FetchError::NotHttps { .. })
        ));
    }
}
