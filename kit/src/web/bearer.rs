//! The bearer token of a request (RFC 6750 §2.1: `Authorization: Bearer <token>`). Whether
//! the token is right is each service's business (compared in constant time where it is a
//! secret, counted by its throttle); this only finds it.

use axum::http::{HeaderMap, header};

/// The token of the request's `Authorization: Bearer` header: the scheme matched without
/// regard to case (RFC 9110 §11.1), the token trimmed; none when the header is missing, not
/// text, of another scheme, or carries an empty token.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn finds_the_token_of_a_bearer_header() {
        assert_eq!(bearer_token(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("bearer abc ")), Some("abc"));
        assert_eq!(bearer_token(&with("BEARER  abc")), Some("abc"));
    }

    #[test]
    fn refuses_other_schemes_and_empty_tokens() {
        assert_eq!(bearer_token(&HeaderMap::new()), None);
        assert_eq!(bearer_token(&with("Basic YTpi")), None);
        assert_eq!(bearer_token(&with("Bearer")), None);
        assert_eq!(bearer_token(&with("Bearer   ")), None);
        assert_eq!(bearer_token(&with("Bearerabc")), None);
        assert_eq!(bearer_token(&with("DPoP abc")), None);
    }
}
