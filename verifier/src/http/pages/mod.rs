//! The verifier's web pages: the desk ([`desk`], [`request`]) on which a person signs in
//! with the API token, creates a presentation request and watches its result arrive, and
//! the public `/check` page ([`check`]). This module holds their common frame: the page
//! shell, its style, the security headers every page carries, and the error page.
//!
//! Every value shown is escaped ([`esc`]); every form carries a CSRF token
//! ([`super::csrf`]).

pub mod check;
pub mod desk;
pub mod request;
pub mod result;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const DESK_PATH: &str = "/desk";

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// A page in the common frame, with the desk's script.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>{title} · Akashi verifier</title><style>{STYLE}</style></head>",
            "<body><header><a href=\"{desk}\">Akashi verifier</a></header><main>{body}</main>",
            "<script src=\"{desk}/desk.js\"></script></body></html>\n"
        ),
        title = esc(title),
        STYLE = STYLE,
        desk = DESK_PATH,
        body = body,
    );
    html_response(status, html)
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#111}header{background:#1d3557;padding:.6em 1em}header a{color:#fff;text-decoration:none;font-weight:600}main{max-width:52em;margin:1em auto;padding:0 1em}label{display:block;margin:.6em 0 .2em}input[type=text],input[type=password],select{width:100%;padding:.4em;box-sizing:border-box}button{margin-top:1em;padding:.5em 1.2em}.error{color:#9b1c1c;font-weight:600}.qr img{width:22em;height:22em;image-rendering:pixelated}.state{font-size:1.4em;font-weight:700}.verified{color:#1b6e20}.rejected,.expired{color:#9b1c1c}table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{overflow-wrap:anywhere;border-bottom:1px solid #ddd;padding:.3em;text-align:left;vertical-align:top}code{overflow-wrap:anywhere}dl.badge{display:grid;grid-template-columns:max-content auto;gap:.3em 1em;font-size:1.1em}dl.badge dt{font-weight:600}dl.badge dd{margin:0}textarea{width:100%;box-sizing:border-box;font-family:monospace}#disclosed th:first-child{width:40%}#checks th:first-child{width:25%}#checks th:nth-child(2){width:15%}";

/// An error page (see [`PageError`]).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Error",
        &format!(
            "<h1>{}</h1><p class=\"error\" id=\"error\">{}</p><p><a href=\"{DESK_PATH}\">Back to the desk</a></p>",
            esc(status.canonical_reason().unwrap_or("Error")),
            esc(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
