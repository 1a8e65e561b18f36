//! The pages' language: English or Japanese, chosen by a cookie that a language switch
//! (`/lang/{en|ja}?next=/local/path`) sets, else by the browser's `Accept-Language`
//! (RFC 9110 §12.5.4, by quality), else English. Also what every bilingual page needs
//! beside its text tables: the switch's links, the `next` path it returns to (only a path
//! on this site: [`local_path`]), and dates written as the reader's language writes them
//! ("6 December 2026", "2026年12月6日") with the machine-readable form for `<time datetime>`.

use axum::http::{HeaderMap, header};
use percent_encoding::percent_decode_str;

use super::cookies::cookie;

/// A language the pages are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Ja,
}

/// English month names, for dates on English pages.
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Lang {
    /// Every language, in the order the switch lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    /// The BCP 47 tag (`<html lang>`, the cookie's value, the switch's path).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    /// The language's name in itself, as the switch shows it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ja => "日本語",
        }
    }

    /// `en` or `ja` (exactly; a switch's path segment or a cookie's value).
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// The cookie `cookie_name`'s choice, else the browser's most preferred language we
    /// write (`ja-JP` counts as `ja`; `q=0` means "not this one"), else English.
    pub fn from_headers(headers: &HeaderMap, cookie_name: &str) -> Lang {
        if let Some(l) = cookie(headers, cookie_name).and_then(|c| Lang::parse(&c)) {
            return l;
        }
        let accept = headers
            .get_all(header::ACCEPT_LANGUAGE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, part) in accept.split(',').enumerate() {
            let mut params = part.split(';');
            let tag = params.next().unwrap_or("").trim();
            let quality = params
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            let Some(quality) = quality.filter(|q| *q > 0.0 && *q <= 1.0) else {
                continue;
            };
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            let Some(lang) = Lang::parse(&primary) else {
                continue;
            };
            // Highest quality wins; among equals, the first listed.
            if best.is_none_or(|(q, _, _)| quality > q) {
                best = Some((quality, i, lang));
            }
        }
        best.map_or(Lang::En, |(_, _, l)| l)
    }

    /// The other languages' switch links for a page at `here` (its path and query): each
    /// `(language, href)` with `href` = `{switch_path}/{code}?next={here, encoded}`.
    pub fn switch_links(self, switch_path: &str, here: &str) -> Vec<(Lang, String)> {
        let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Lang::ALL
            .into_iter()
            .filter(|l| *l != self)
            .map(|l| (l, format!("{switch_path}/{}?next={next}", l.code())))
            .collect()
    }

    /// A calendar date as this language writes it.
    pub fn date(self, d: time::Date) -> ShownDate {
        let text = match self {
            Lang::En => format!(
                "{} {} {}",
                d.day(),
                MONTHS[usize::from(u8::from(d.month())) - 1],
                d.year()
            ),
            Lang::Ja => format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day()),
        };
        ShownDate {
            datetime: format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            text,
        }
    }

    /// A moment (Unix seconds) as this language writes its date and time of day, in UTC
    /// ("6 December 2026, 14:05 UTC", "2026年12月6日 14:05（UTC）"); `None` out of range.
    pub fn date_time(self, unix: i64) -> Option<ShownDate> {
        let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
        let day = self.date(t.date()).text;
        let clock = format!("{:02}:{:02}", t.hour(), t.minute());
        let text = match self {
            Lang::En => format!("{day}, {clock} UTC"),
            Lang::Ja => format!("{day} {clock}（UTC）"),
        };
        let datetime = t
            .format(&time::format_description::well_known::Rfc3339)
            .ok()?;
        Some(ShownDate { datetime, text })
    }

    /// The date of an RFC 3339 timestamp (a credential's `validFrom`), or of a bare
    /// `YYYY-MM-DD`; `None` when it is neither.
    pub fn date_of_rfc3339(self, s: &str) -> Option<ShownDate> {
        let s = s.trim();
        if let Ok(t) =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        {
            return Some(self.date(t.to_offset(time::UtcOffset::UTC).date()));
        }
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(s, &format).ok().map(|d| self.date(d))
    }
}

/// A date for `<time datetime="{datetime}">{text}</time>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShownDate {
    /// Machine-readable (ISO 8601 / RFC 3339).
    pub datetime: String,
    /// As the reader's language writes it.
    pub text: String,
}

/// How many layers of percent-encoding [`check_next`] looks through.
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

/// `next` if it is a path on this site (RFC 3986 §4.2 "absolute-path reference"): it
/// starts with a single `/`, holds no `//` (another host), no backslash (browsers read
/// `/\host` as `//host`), no control or whitespace character (browsers drop tabs and
/// newlines, so `/<TAB>/host` is `//host`; CR LF would split a header). The path is checked
/// as given and after each percent-decoding (`/%2F/host`); the query, which may hold
/// encoded URLs, only for control characters.
pub fn check_next(next: &str) -> Result<&str, NextError> {
    if next.is_empty() {
        return Err(NextError::Empty);
    }
    if next.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(NextError::ControlOrSpace(next.to_owned()));
    }
    let end = next.find(['?', '#']).unwrap_or(next.len());
    let (mut path, mut rest) = (next[..end].to_owned(), next[end..].to_owned());
    for _ in 0..=MAX_DECODINGS {
        if !path.starts_with('/') {
            return Err(NextError::NotAPath(next.to_owned()));
        }
        if path.contains("//") {
            return Err(NextError::DoubleSlash(next.to_owned()));
        }
        if path.contains('\\') {
            return Err(NextError::Backslash(next.to_owned()));
        }
        if path.chars().any(|c| c.is_control() || c.is_whitespace())
            || rest.chars().any(char::is_control)
        {
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

/// `next` when it is a path on this site ([`check_next`]), else `fallback`.
pub fn local_path(next: Option<&str>, fallback: &str) -> String {
    match next.map(check_next) {
        Some(Ok(path)) => path.to_owned(),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "redirect target refused");
            fallback.to_owned()
        }
        None => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_cookie_then_accept_language_then_english() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr;q=0.9, ja-JP;q=0.8, en;q=0.5"),
        );
        assert_eq!(Lang::from_headers(&h, "lang"), Lang::Ja);
        h.insert(header::COOKIE, HeaderValue::from_static("x=1; lang=en"));
        assert_eq!(Lang::from_headers(&h, "lang"), Lang::En);
        h.insert(header::COOKIE, HeaderValue::from_static("lang=de"));
        assert_eq!(Lang::from_headers(&h, "lang"), Lang::Ja, "unknown cookie");
        assert_eq!(Lang::from_headers(&HeaderMap::new(), "lang"), Lang::En);
        for (accept, lang) in [
            ("ja", Lang::Ja),
            ("JA-jp", Lang::Ja),
            ("en-GB, ja", Lang::En),
            ("ja;q=0, en;q=0.1", Lang::En),
            ("ja;q=0.5, en;q=0.9", Lang::En),
            ("ja;q=abc", Lang::En),
            ("de, fr", Lang::En),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(accept));
            assert_eq!(Lang::from_headers(&h, "lang"), lang, "{accept}");
        }
    }

    #[test]
    fn dates_as_each_language_writes_them() {
        let d = time::macros::date!(2026 - 12 - 06);
        assert_eq!(Lang::En.date(d).text, "6 December 2026");
        assert_eq!(Lang::Ja.date(d).text, "2026年12月6日");
        assert_eq!(Lang::Ja.date(d).datetime, "2026-12-06");
        let t = Lang::Ja.date_time(1_796_565_900).unwrap();
        assert_eq!(t.text, "2026年12月6日 14:05（UTC）");
        assert_eq!(t.datetime, "2026-12-06T14:05:00Z");
        assert_eq!(
            Lang::En.date_time(1_796_565_900).unwrap().text,
            "6 December 2026, 14:05 UTC"
        );
        assert_eq!(
            Lang::En
                .date_of_rfc3339("2026-01-31T23:30:00-01:00")
                .unwrap()
                .text,
            "1 February 2026"
        );
        assert_eq!(
            Lang::Ja.date_of_rfc3339("2026-03-01").unwrap().text,
            "2026年3月1日"
        );
        assert_eq!(Lang::En.date_of_rfc3339("soon"), None);
    }

    #[test]
    fn the_switch_links_to_the_other_language_and_back_here() {
        let links = Lang::En.switch_links("/lang", "/desk/requests/a?x=1&y=2");
        assert_eq!(
            links,
            vec![(
                Lang::Ja,
                "/lang/ja?next=%2Fdesk%2Frequests%2Fa%3Fx%3D1%26y%3D2".to_owned()
            )]
        );
    }

    #[test]
    fn paths_on_this_site_are_kept() {
        for ok in [
            "/",
            "/check",
            "/desk/requests/abc-123",
            "/check?input=https%3A%2F%2Fwallet.example%2Fp%2Fx",
            "/a%2Fb",
            "/p/x#top",
        ] {
            assert_eq!(check_next(ok), Ok(ok), "{ok}");
            assert_eq!(local_path(Some(ok), "/desk"), ok);
        }
        assert_eq!(local_path(None, "/desk"), "/desk");
    }

    /// What an attacker puts in `next`, each refused by the check it fails.
    #[test]
    fn hostile_targets_become_the_fallback() {
        for (bad, error) in [
            ("", "is empty"),
            ("//evil.example", "holds `//`"),
            ("https://evil.example", "does not start with `/`"),
            ("evil.example", "does not start with `/`"),
            ("/\\evil.example", "backslash"),
            ("/\t/evil.example", "control or whitespace"),
            ("/%2F/evil.example", "holds `//`"),
            ("/%252F%252Fevil.example", "holds `//`"),
            ("/%5Cevil.example", "backslash"),
            ("/%09/evil.example", "control or whitespace"),
            ("/x\r\nSet-Cookie:a=b", "control or whitespace"),
            ("/%25252525252F", "more than"),
            ("/%ff", "not UTF-8"),
        ] {
            let e = check_next(bad).unwrap_err().to_string();
            assert!(e.contains(error), "{bad:?}: {e}");
            assert_eq!(local_path(Some(bad), "/desk"), "/desk", "{bad:?}");
        }
    }
}
