//! The page a phone's camera opens from the desk's QR code (`GET /r/{id}`): the holder
//! answers the request with their web wallet or with a wallet app. The QR code on the desk
//! holds this page's https link (a camera opens https links, not `openid4vp://` ones); the
//! page offers
//! - "Open in my web wallet": `{wallet}/present?client_id=…&request_uri=…`, the request
//!   link's query at the wallet's `/present` page. The wallet's address is typed once
//!   (`?wallet=` on this page, which shows the link and keeps the address in a cookie for a
//!   year, for every later request), then it is one tap;
//! - "Open in a wallet app": the `openid4vp://` link itself.
//!
//! No redirect leaves this page by itself: the wallet's link is shown, never followed, so
//! `?wallet=https://evil.example` cannot turn the verifier into an open redirect. The
//! address must be an http(s) URL without user name, password, query or fragment.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use kit::web::{CookiePolicy, SameSite, cookie};
use std::collections::HashMap;

use super::{Frame, Home, page_lang, render};
use crate::app::App;
use crate::domain::requests::ResultState;
use crate::http::error::PageError;

/// Where the page lives: `/r/{id}`.
pub const ANSWER_PATH: &str = "/r";
/// The remembered web wallet (base64url of its address).
const WALLET_COOKIE: &str = "verifier_wallet";

/// `templates/answer.html`.
#[derive(Template)]
#[template(path = "answer.html")]
struct AnswerPage {
    frame: Frame,
    id: String,
    /// Whether the request still waits for an answer.
    open: bool,
    /// The remembered wallet's address and the link to its `/present` page.
    wallet: Option<(String, String)>,
    /// The address typed, when it was refused.
    refused: Option<String>,
    app_link: String,
}

/// The wallet address typed or remembered, checked: an http(s) URL without credentials,
/// query or fragment, without its trailing `/`.
pub fn wallet_address(typed: &str) -> Option<String> {
    let url = url::Url::parse(typed.trim()).ok()?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return None;
    }
    Some(url.as_str().trim_end_matches('/').to_owned())
}

/// The wallet's `/present` link for a request link `openid4vp://?{query}`.
fn present_link(wallet: &str, openid4vp_uri: &str) -> Option<String> {
    let query = openid4vp_uri.split_once('?')?.1;
    Some(format!("{wallet}/present?{query}"))
}

/// `GET /r/{id}` (`?wallet=` remembers the web wallet's address).
pub async fn answer_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let lang = page_lang(&headers);
    let result = app.requests.result(&id).await?;
    let links = app.requests.links(&id).await?;
    let typed = q.get("wallet").filter(|w| !w.trim().is_empty());
    let remembered = cookie(&headers, WALLET_COOKIE)
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|w| wallet_address(&w));
    let (wallet, refused, remember) = match typed {
        Some(t) => match wallet_address(t) {
            Some(w) => (Some(w.clone()), None, Some(w)),
            None => (remembered, Some(t.clone()), None),
        },
        None => (remembered, None, None),
    };
    let here = format!("{ANSWER_PATH}/{id}");
    let page = AnswerPage {
        frame: Frame::new(Home::Check, lang, &here, |t| t.answer_title),
        open: result.state == ResultState::Pending,
        wallet: wallet.and_then(|w| present_link(&w, &links.openid4vp_uri).map(|l| (w, l))),
        refused,
        app_link: links.openid4vp_uri,
        id,
    };
    let status = if page.refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut r = render(status, &page);
    if let Some(w) = remember {
        let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(w);
        r.headers_mut().append(
            header::SET_COOKIE,
            CookiePolicy::for_public_url(&app.public_url, ANSWER_PATH, SameSite::Lax).set(
                WALLET_COOKIE,
                &value,
                365 * 86_400,
            ),
        );
    }
    Ok(r)
}

/// `GET /r/{id}/qr.svg`: the QR code of this page's https link, shown on the desk.
pub async fn qr_svg(State(app): State<App>, Path(id): Path<String>) -> Result<Response, PageError> {
    app.requests.result(&id).await?;
    let link = format!("{}{ANSWER_PATH}/{id}", app.public_url);
    let qr =
        protocol::qr::Qr::new(&link).map_err(|e| crate::error::Error::Internal(e.to_string()))?;
    let mut r = qr.svg().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_addresses_are_wallets() {
        assert_eq!(
            wallet_address(" https://wallet.example/ ").as_deref(),
            Some("https://wallet.example")
        );
        assert_eq!(
            wallet_address("http://127.0.0.1:8082").as_deref(),
            Some("http://127.0.0.1:8082")
        );
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "openid4vp://x",
            "https://user:pw@wallet.example",
            "https://wallet.example/?next=x",
            "https://wallet.example/#x",
            "wallet.example",
            "",
        ] {
            assert_eq!(wallet_address(bad), None, "{bad}");
        }
        assert_eq!(
            present_link(
                "https://wallet.example",
                "openid4vp://?client_id=a&request_uri=https%3A%2F%2Fv%2Fr"
            )
            .as_deref(),
            Some("https://wallet.example/present?client_id=a&request_uri=https%3A%2F%2Fv%2Fr")
        );
    }
}
