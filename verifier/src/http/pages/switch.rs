//! The language switch in every page's header: `GET /lang/{en|ja}?next=/local/path`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kit::web::{CookiePolicy, Lang, SameSite};

use super::LANG_COOKIE;
use crate::app::App;

/// `GET /lang/{en|ja}?next=/local/path`: remembers the language for a year and returns to
/// `next` when it is a path on this site (anything else, `//evil.example` or
/// `https://evil.example`, leads to the desk's front instead). An unknown language sets
/// nothing.
pub async fn set_lang(
    State(app): State<App>,
    Path(lang): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let target = kit::web::lang::local_path(q.get("next").map(String::as_str), "/");
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(header::LOCATION, v);
    } else {
        r.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    if let Some(lang) = Lang::parse(&lang) {
        r.headers_mut().append(
            header::SET_COOKIE,
            CookiePolicy::for_public_url(&app.public_url, "/", SameSite::Lax).set(
                LANG_COOKIE,
                lang.code(),
                365 * 86_400,
            ),
        );
    }
    r
}
