//! The verifier's web pages: the desk ([`desk`], [`request`]) on which a person signs in
//! with the API token, creates a presentation request and watches its result arrive, and
//! the public `/check` page ([`check`]). This module holds their common frame: the askama
//! templates' shared [`Frame`], the security headers every page carries, the error page,
//! and the static files (style and scripts) the pages load.
//!
//! Every value shown is escaped by the template engine (no `|safe` anywhere); every form
//! carries a CSRF token ([`super::csrf`]).

pub mod check;
pub mod desk;
pub mod request;
pub mod result;

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub const DESK_PATH: &str = "/desk";
/// The pages' style sheet.
pub const STYLE_PATH: &str = "/static/verifier.css";
/// The desk's script: wakes a request's result section.
pub const DESK_SCRIPT_PATH: &str = "/desk/desk.js";

/// The Content Security Policy of the desk's pages: scripts and styles from the verifier
/// only, nothing inline.
const DESK_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The templates' HTML escaper (`askama.toml`): `&`, `<`, `>`, `"` and `'` as the named or
/// numeric entities the pages have always sent, safe in element content and quoted
/// attribute values.
#[derive(Clone, Copy, Debug)]
pub struct Entities;

impl askama::filters::Escaper for Entities {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, text: &str) -> std::fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            dest.write_str(&rest[..at])?;
            dest.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        dest.write_str(rest)
    }
}

/// What every page's frame (`templates/base.html`) shows.
pub struct Frame {
    pub title: &'static str,
    /// Where the header's link leads: the desk, or the `/check` page.
    pub home: &'static str,
    pub style: &'static str,
    pub script: &'static str,
}

impl Frame {
    /// A desk page's frame.
    pub fn desk(title: &'static str) -> Frame {
        Frame {
            title,
            home: DESK_PATH,
            style: STYLE_PATH,
            script: DESK_SCRIPT_PATH,
        }
    }
}

/// `templates/error.html`.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame,
    reason: &'a str,
    message: &'a str,
}

/// An HTML document or fragment with the pages' headers: not cached, the desk's CSP.
pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    kit::web::html_page(status, body, DESK_CSP)
}

/// A rendered template as a page; a template that fails to render is a 500.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => html_response(status, html),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server could not complete the request",
            )
        }
    }
}

/// An error page (see [`super::error::PageError`]).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let page = ErrorPage {
        frame: Frame::desk("Error"),
        reason: status.canonical_reason().unwrap_or("Error"),
        message,
    };
    match page.render() {
        Ok(html) => html_response(status, html),
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page");
            (status, message.to_owned()).into_response()
        }
    }
}

/// A static file of the pages, served with its media type and an `ETag` of its content:
/// `no-cache` makes the browser ask again each time, and an unchanged file answers 304.
pub(crate) struct StaticFile {
    pub body: &'static str,
    pub media_type: &'static str,
}

pub(crate) const STYLE: StaticFile = StaticFile {
    body: include_str!("../../../static/verifier.css"),
    media_type: "text/css; charset=utf-8",
};
pub(crate) const DESK_JS: StaticFile = StaticFile {
    body: include_str!("../../../static/desk.js"),
    media_type: "text/javascript; charset=utf-8",
};
pub(crate) const CHECK_JS: StaticFile = StaticFile {
    body: include_str!("../../../static/check.js"),
    media_type: "text/javascript; charset=utf-8",
};

impl StaticFile {
    fn etag(&self) -> String {
        format!("\"{}\"", protocol::b64::sha256(self.body))
    }

    /// The file, or 304 when the request's `If-None-Match` names its current `ETag`.
    pub(crate) fn response(&self, request: &HeaderMap) -> Response {
        let etag = self.etag();
        let fresh = request
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|tag| tag.trim() == etag || tag.trim() == "*");
        let mut r = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            self.body.into_response()
        };
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.media_type),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        r
    }
}

/// `GET /static/verifier.css`.
pub async fn style(headers: HeaderMap) -> Response {
    STYLE.response(&headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_files_are_revalidated_by_etag() {
        let r = STYLE.response(&HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/css; charset=utf-8");
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = r.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(STYLE.response(&again).status(), StatusCode::NOT_MODIFIED);
        assert_eq!(
            DESK_JS.response(&HeaderMap::new()).headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
    }

    #[test]
    fn the_error_page_escapes_its_message() {
        let r = ErrorPage {
            frame: Frame::desk("Error"),
            reason: "Bad Request",
            message: r#"<script>alert("x")</script> & 'y'"#,
        }
        .render()
        .unwrap();
        assert!(
            r.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"),
            "{r}"
        );
        assert!(r.contains(r#"<p class="error" id="error">"#), "{r}");
    }
}
