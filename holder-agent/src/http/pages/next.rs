//! Where the wallet sends the browser back to: the `next` of `/lang/{lang}` and
//! `/sign-in`, and the redirect after signing in. Only a path on this site is accepted
//! (RFC 3986 §4.2 "absolute-path reference"): it starts with a single `/`, has no scheme,
//! no `//` and no backslash (browsers read `/\host` as `//host`), and no control or
//! whitespace characters (browsers drop tabs and newlines from URLs, so `/<TAB>/host` is
//! `//host`; CR LF would split the header). The path is checked as given and again after
//! each percent-decoding, so `/%2F/host` or `/%09/host` are refused too; the query may hold
//! encoded URLs (an offer's `credential_offer_uri`), so after decoding it is only checked
//! for control characters. Anything refused becomes the front page.

use percent_encoding::percent_decode_str;

/// How many layers of percent-encoding are looked through before giving up.
const MAX_DECODINGS: usize = 3;

/// Why a `next` value is not a path on this site; each names the check that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NextError {
    #[error("`next` is empty")]
    Empty,
    #[error("`next` {0:?} does not start with `/`")]
    NotAPath(String),
    #[error("`next` {0:?} holds `//` (another host)")]
    DoubleSlash(String),
    #[error("`next` {0:?} holds a backslash")]
    Backslash(String),
    #[error("`next` {0:?} holds a control or whitespace character")]
    ControlOrSpace(String),
    #[error("`next` {0:?} is not UTF-8 once percent-decoded")]
    NotUtf8(String),
    #[error("`next` {0:?} is percent-encoded more than {MAX_DECODINGS} times")]
    TooDeeplyEncoded(String),
}

/// `next` if it is a path on this site, else which check failed.
pub fn check(next: &str) -> Result<&str, NextError> {
    if next.is_empty() {
        return Err(NextError::Empty);
    }
    if next.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NextError::ControlOrSpace(next.to_owned()));
    }
    let end = next.find(['?', '#']).unwrap_or(next.len());
    let (path, rest) = next.split_at(end);
    let mut path = path.to_owned();
    let mut rest = rest.to_owned();
    for _ in 0..=MAX_DECODINGS {
        check_path(&path, next)?;
        if rest.chars().any(char::is_control) {
            return Err(NextError::ControlOrSpace(next.to_owned()));
        }
        let decoded = percent_decode_str(&path)
            .decode_utf8()
            .map_err(|_| NextError::NotUtf8(next.to_owned()))?
            .into_owned();
        let decoded_rest = percent_decode_str(&rest).decode_utf8_lossy().into_owned();
        if decoded == path && decoded_rest == rest {
            return Ok(next);
        }
        (path, rest) = (decoded, decoded_rest);
    }
    Err(NextError::TooDeeplyEncoded(next.to_owned()))
}

/// One decoding of the path part.
fn check_path(path: &str, next: &str) -> Result<(), NextError> {
    if !path.starts_with('/') {
        return Err(NextError::NotAPath(next.to_owned()));
    }
    if path.contains("//") {
        return Err(NextError::DoubleSlash(next.to_owned()));
    }
    if path.contains('\\') {
        return Err(NextError::Backslash(next.to_owned()));
    }
    if path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NextError::ControlOrSpace(next.to_owned()));
    }
    Ok(())
}

/// `next` if it is a path on this site, else `/` (the refusal is logged at debug level).
pub fn local_path(next: Option<&str>) -> String {
    match next.map(check) {
        Some(Ok(path)) => path.to_owned(),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "redirect target refused");
            "/".to_owned()
        }
        None => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_on_this_site_are_kept() {
        for ok in [
            "/",
            "/receive?x=1",
            "/badges/abc-123",
            "/badges/abc/public",
            "/present",
            "/sign-in?next=%2Fpresent",
            "/receive?credential_offer_uri=https%3A%2F%2Fissuer.example%2Foffers%2Fx",
            "/receive?credential_offer=%7B%22a%22%3A%20%22b%22%7D",
            "/a%2Fb",
            "/p/x#top",
        ] {
            assert_eq!(check(ok), Ok(ok), "{ok}");
            assert_eq!(local_path(Some(ok)), ok);
        }
        assert_eq!(local_path(None), "/");
    }

    /// What an attacker puts in `next`, each refused by the check it fails.
    #[test]
    fn hostile_targets_become_the_front_page() {
        type Expected = fn(String) -> NextError;
        let table: &[(&str, Expected)] = &[
            ("/%09/evil.example", NextError::ControlOrSpace),
            ("/\t/evil.example", NextError::ControlOrSpace),
            ("//evil", NextError::DoubleSlash),
            ("//evil.example/", NextError::DoubleSlash),
            ("/\\evil", NextError::Backslash),
            ("/%5Cevil", NextError::Backslash),
            ("https://evil", NextError::NotAPath),
            ("https://evil.example/", NextError::NotAPath),
            ("javascript:alert(1)", NextError::NotAPath),
            ("/%2F%2Fevil", NextError::DoubleSlash),
            ("/%2F/evil", NextError::DoubleSlash),
            ("/%252F/evil", NextError::DoubleSlash),
            ("%2F%2Fevil", NextError::NotAPath),
            (" /x", NextError::ControlOrSpace),
            (
                "/x\r\nSet-Cookie: wallet_session=x",
                NextError::ControlOrSpace,
            ),
            ("/x?y=%0D%0ASet-Cookie:%20a=b", NextError::ControlOrSpace),
            ("/%20/evil", NextError::ControlOrSpace),
            ("/%E3%81", NextError::NotUtf8),
            ("/%25252525252F", NextError::TooDeeplyEncoded),
        ];
        for (next, expected) in table {
            assert_eq!(check(next), Err(expected(next.to_string())), "{next:?}");
            assert_eq!(local_path(Some(next)), "/", "{next:?}");
        }
        assert_eq!(check(""), Err(NextError::Empty));
        assert_eq!(local_path(Some("")), "/");
    }
}
