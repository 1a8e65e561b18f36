//! Cookies: reading one from a request, and `Set-Cookie` values that are always `HttpOnly`,
//! with the path and `SameSite` a page chooses, and `Secure` when the service's public URL
//! is https (RFC 6265 §4.1; `SameSite`: RFC 6265bis).

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name` in the request's `Cookie` headers (the first one so named).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Lax,
    Strict,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
        }
    }
}

/// How a group of pages sets its cookies: under which path, how strictly, and whether only
/// over https.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy<'a> {
    pub path: &'a str,
    pub same_site: SameSite,
    pub secure: bool,
}

impl<'a> CookiePolicy<'a> {
    /// Cookies under `path`, `Secure` when `public_url` is https.
    pub fn for_public_url(public_url: &str, path: &'a str, same_site: SameSite) -> Self {
        CookiePolicy {
            path,
            same_site,
            secure: public_url.starts_with("https://"),
        }
    }

    /// A `Set-Cookie` value: `name=value; Path=…; Max-Age=…; HttpOnly; SameSite=…`, then
    /// `; Secure` when the policy says so. A `max_age` of 0 deletes the cookie. A name or
    /// value that cannot stand in a header (callers pass base64url and digits) yields a
    /// value that sets nothing but expires a cookie named `invalid`.
    pub fn set(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path={}; Max-Age={max_age}; HttpOnly; SameSite={}{secure}",
            self.path,
            self.same_site.as_str()
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; csrf=xyz"));
        h.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(cookie(&h, "csrf").as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "cs"), None);
    }

    #[test]
    fn set_cookie_carries_the_policy() {
        let lax = CookiePolicy::for_public_url("http://127.0.0.1:8082", "/", SameSite::Lax);
        assert_eq!(
            lax.set("s", "v", 60),
            "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        let strict = CookiePolicy::for_public_url("https://v.example", "/desk", SameSite::Strict);
        assert_eq!(
            strict.set("s", "", 0),
            "s=; Path=/desk; Max-Age=0; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(lax.set("s", "a\nb", 1), "invalid=; Max-Age=0");
    }
}
