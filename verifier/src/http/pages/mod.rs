//! The verifier's web pages: the desk ([`desk`], [`request`]) on which a person signs in
//! with the API token, creates a presentation request and watches its result arrive, and
//! the public `/check` page ([`check`]). This module holds their common frame: the askama
//! templates' shared [`Frame`], the security headers every page carries, the error page,
//! and the static files (style and scripts) the pages load.
//!
//! Every value shown is escaped by the template engine (no `|safe` anywhere); every form
//! carries a CSRF token ([`super::csrf`]).

pub mod answer;
pub mod check;
pub mod dc_api;
pub mod desk;
pub mod offline;
pub mod request;
pub mod result;
pub mod switch;
pub mod texts;

use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kit::web::Lang;

use self::texts::{Problem, Texts, texts};

pub const DESK_PATH: &str = "/desk";
/// The pages' style sheet.
pub const STYLE_PATH: &str = "/static/verifier.css";
/// The desk's script: wakes a request's result section.
pub const DESK_SCRIPT_PATH: &str = "/desk/desk.js";
/// The language switch: `GET /lang/{en|ja}?next=/local/path`.
pub const LANG_PATH: &str = "/lang";
/// The cookie holding the reader's choice of language (for every page of the verifier).
const LANG_COOKIE: &str = "verifier_lang";

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

/// The reader's language: the switch's cookie, else `Accept-Language`, else English.
pub fn page_lang(headers: &HeaderMap) -> Lang {
    Lang::from_headers(headers, LANG_COOKIE)
}

/// Which group of pages a page belongs to: its header link, script and error pages' way
/// back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Home {
    Desk,
    Check,
}

impl Home {
    fn path(self) -> &'static str {
        match self {
            Home::Desk => DESK_PATH,
            Home::Check => check::CHECK_PATH,
        }
    }

    fn script(self) -> &'static str {
        match self {
            Home::Desk => DESK_SCRIPT_PATH,
            Home::Check => check::CHECK_SCRIPT_PATH,
        }
    }
}

/// What every page's frame (`templates/base.html`) shows.
pub struct Frame {
    pub title: &'static str,
    /// Where the header's link leads: the desk, or the `/check` page.
    pub home: &'static str,
    pub style: &'static str,
    pub script: &'static str,
    pub lang: Lang,
    /// The page's words.
    pub t: &'static Texts,
    /// The language switch: each other language's (code, own name, link back here).
    pub switch: Vec<(&'static str, &'static str, String)>,
}

impl Frame {
    /// A page of `home`'s group at `here` (its path and query, where the language switch
    /// returns), titled by `title` of the page's words.
    pub fn new(home: Home, lang: Lang, here: &str, title: fn(&Texts) -> &'static str) -> Frame {
        let t = texts(lang);
        Frame {
            title: title(t),
            home: home.path(),
            style: STYLE_PATH,
            script: home.script(),
            lang,
            t,
            switch: lang
                .switch_links(LANG_PATH, here)
                .into_iter()
                .map(|(l, href)| (l.code(), l.own_name(), href))
                .collect(),
        }
    }

    /// A desk page's frame.
    pub fn desk(lang: Lang, here: &str, title: fn(&Texts) -> &'static str) -> Frame {
        Frame::new(Home::Desk, lang, here, title)
    }
}

/// `templates/error.html`.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame,
    message: &'a str,
    /// The error as the software says it (folded under "Technical details").
    detail: Option<&'a str>,
    back: &'static str,
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
                Lang::En,
                Home::Desk,
                StatusCode::INTERNAL_SERVER_ERROR,
                Problem::Internal,
                None,
            )
        }
    }
}

/// An error page in `lang`: what happened and what to do next, the software's own words
/// folded under "Technical details", a way back to `home`.
pub fn error_page(
    lang: Lang,
    home: Home,
    status: StatusCode,
    problem: Problem,
    detail: Option<&str>,
) -> Response {
    let message = problem.message(lang);
    let frame = Frame::new(home, lang, home.path(), |t| t.error_title);
    let back = match home {
        Home::Desk => frame.t.back_to_desk,
        Home::Check => frame.t.back_to_check,
    };
    let page = ErrorPage {
        frame,
        message: &message,
        detail,
        back,
    };
    match page.render() {
        Ok(html) => html_response(status, html),
        Err(e) => {
            tracing::error!(error = %e, "rendering the error page");
            (status, message).into_response()
        }
    }
}

/// Marks an error response whose page [`localized_errors`] writes again in the reader's
/// language (the response carries the English page until then).
#[derive(Clone, Debug)]
pub(crate) struct LocalizeError {
    pub problem: Problem,
    pub detail: Option<String>,
}

/// Middleware: an error page made without the request at hand ([`LocalizeError`]) is
/// written in the reader's language, with a way back to the page group it came from.
pub(crate) async fn localized_errors(request: Request, next: Next) -> Response {
    let lang = page_lang(request.headers());
    let path = request.uri().path();
    let home = if path.starts_with(check::CHECK_PATH) || path.starts_with("/r/") {
        Home::Check
    } else {
        Home::Desk
    };
    let mut r = next.run(request).await;
    let Some(later) = r.extensions_mut().remove::<LocalizeError>() else {
        return r;
    };
    // A stranger's mistyped address leads to the public check page, not the desk's sign-in.
    let home = if later.problem == Problem::NoSuchPage {
        Home::Check
    } else {
        home
    };
    let retry = r.headers().get(header::RETRY_AFTER).cloned();
    let mut page = error_page(
        lang,
        home,
        r.status(),
        later.problem,
        later.detail.as_deref(),
    );
    if let Some(v) = retry {
        page.headers_mut().insert(header::RETRY_AFTER, v);
    }
    page
}

/// Any path no route answers: under `/api/` a problem+json 404 (RFC 9457), elsewhere a page
/// saying so in the reader's language (404), leading to the check page.
pub(crate) async fn no_such_page(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        return kit::serve::problem(
            StatusCode::NOT_FOUND,
            "Not Found",
            "no API endpoint at this path; see /openapi.json",
            None,
        );
    }
    let problem = Problem::NoSuchPage;
    let mut r = error_page(Lang::En, Home::Check, StatusCode::NOT_FOUND, problem, None);
    r.extensions_mut().insert(LocalizeError {
        problem,
        detail: None,
    });
    r
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
    fn the_error_page_escapes_its_detail_and_speaks_the_readers_language() {
        let page = |lang| {
            ErrorPage {
                frame: Frame::desk(lang, "/desk", |t| t.error_title),
                message: "m",
                detail: Some(r#"<script>alert("x")</script> & 'y'"#),
                back: "b",
            }
            .render()
            .unwrap()
        };
        let r = page(Lang::En);
        assert!(
            r.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"),
            "{r}"
        );
        assert!(r.contains(r#"<p class="error" id="error">m</p>"#), "{r}");
        assert!(r.contains(r#"<html lang="en">"#), "{r}");
        assert!(r.contains("/lang/ja?next=%2Fdesk"), "{r}");
        let r = page(Lang::Ja);
        assert!(r.contains(r#"<html lang="ja">"#), "{r}");
        assert!(r.contains("技術的な詳細"), "{r}");
        assert!(r.contains("/lang/en?next=%2Fdesk"), "{r}");
    }
}
