//! The authorization code flow's endpoints: pushed authorization requests (RFC 9126) and
//! the authorization endpoint (RFC 6749 §4.1.1), whose pages speak English and Japanese,
//! and the callback of the upstream OpenID Connect provider ([`crate::domain::oidc`]).

use askama::Template;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use protocol::oauth::authorization::{AuthorizationRequest, PushedAuthorizationResponse};

use super::extract::{DpopProof, Protocol, WalletAttestation};
use super::openapi::{OAuthError, PROTOCOL};
use crate::App;
use crate::domain::authorization::Authorized;
use crate::domain::oidc::{BROWSER_COOKIE, CALLBACK_PATH, Callback, LOGIN_TTL};
use crate::error::AppError;
use crate::error::UpstreamError;

#[utoipa::path(post, path = "/par", tag = PROTOCOL,
    request_body(content = AuthorizationRequest, content_type = "application/x-www-form-urlencoded",
        description = "The authorization request's parameters (RFC 9126 §2.1); a `DPoP` header binds the code to its key"),
    responses((status = 201, description = "The `request_uri`, usable once within `expires_in` seconds", body = PushedAuthorizationResponse),
        (status = 400, description = "`invalid_request`, `invalid_client` (also a missing or forged wallet attestation), `invalid_scope`, `invalid_authorization_details`, `invalid_dpop_proof`, `use_dpop_nonce`", body = OAuthError)))]
pub async fn par(
    State(app): State<App>,
    DpopProof(proof): DpopProof,
    WalletAttestation(attestation): WalletAttestation,
    Protocol(request): Protocol<AuthorizationRequest>,
) -> Result<Response, AppError> {
    let pushed = app
        .push_authorization_request(&request, proof.as_deref(), &attestation)
        .await?;
    let mut r = (StatusCode::CREATED, Json(pushed)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[utoipa::path(get, path = "/authorize", tag = PROTOCOL,
    params(("client_id" = String, Query, description = "The client"),
        ("request_uri" = Option<String>, Query, description = "A pushed request's reference; else the parameters themselves (`response_type=code`, `redirect_uri`, `scope`, `state`, `code_challenge`, `code_challenge_method=S256`, `issuer_state`)")),
    responses((status = 303, description = "To the client's redirect URI with `code` (or `error`), `state` and `iss`; or, without `issuer_state` and with `ISSUER_OIDC_ISSUER` set, to the OpenID Connect provider's authorization endpoint, with the sign-in's HttpOnly cookie"),
        (status = 200, description = "A page asking the person to open the link from their badge email (no `issuer_state`, no upstream OpenID Connect provider configured)", content_type = "text/html"),
        (status = 400, description = "A page naming the refusal (unknown client, unregistered redirect URI, bad `request_uri`)", content_type = "text/html")))]
pub async fn authorize(
    State(app): State<App>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let request =
        AuthorizationRequest::from_form(query.unwrap_or_default().as_bytes()).map_err(|e| {
            AppError::AuthorizationPage {
                code: protocol::oauth::ErrorCode::InvalidRequest,
                description: e.to_string(),
            }
        })?;
    Ok(match app.authorize(&request).await? {
        Authorized::Redirect(to) => {
            let mut r = Redirect::to(&to).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Authorized::Upstream { location, browser } => upstream_redirect(&app, &location, &browser),
        Authorized::PersonNeeded => page(
            StatusCode::OK,
            &app.settings().name,
            "Open the link in your badge email",
            "To receive your badge, open the link in the email that invited you, on this device. The link tells us it is you; no password is needed.",
            "バッジのメールのリンクを開いてください",
            "バッジを受け取るには、招待メールのリンクをこの端末で開いてください。リンクで本人であることを確認します。パスワードは不要です。",
            None,
        ),
    })
}

/// The cookie policy of the sign-in cookie: the callback's path only, `SameSite=Lax` (the
/// provider's redirect back is a top-level GET navigation from another site).
fn sign_in_cookie<'a>(app: &App, path: &'a str) -> kit::web::cookies::CookiePolicy<'a> {
    kit::web::cookies::CookiePolicy::for_public_url(
        &app.issuer_id,
        path,
        kit::web::cookies::SameSite::Lax,
    )
}

/// The callback's path under the public URL (the cookie's `Path`).
fn callback_path(app: &App) -> String {
    url::Url::parse(&format!("{}{CALLBACK_PATH}", app.issuer_id))
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| CALLBACK_PATH.to_owned())
}

/// 303 to the provider, binding the sign-in to this browser with a short-lived cookie.
fn upstream_redirect(app: &App, location: &str, browser: &str) -> Response {
    let path = callback_path(app);
    let mut r = Redirect::to(location).into_response();
    let headers = r.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::SET_COOKIE,
        sign_in_cookie(app, &path).set(BROWSER_COOKIE, browser, LOGIN_TTL),
    );
    r
}

#[utoipa::path(get, path = "/authorize/callback", tag = PROTOCOL,
    params(("state" = Option<String>, Query, description = "The `state` this issuer sent to the OpenID Connect provider"),
        ("code" = Option<String>, Query, description = "The provider's authorization code"),
        ("error" = Option<String>, Query, description = "The provider's error (`access_denied`, …)"),
        ("iss" = Option<String>, Query, description = "The provider's issuer (RFC 9207), checked when sent")),
    responses((status = 303, description = "To the client's redirect URI with `code` (or `error`), `state` and `iss`, as the authorization endpoint answers"),
        (status = 400, description = "A page naming the failed check (state unknown, used or expired; sign-in cookie missing or another browser's; the provider's error; the ID token refused; no badge waiting for the address)", content_type = "text/html"),
        (status = 404, description = "No OpenID Connect provider is configured")))]
pub async fn callback(
    State(app): State<App>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let mut callback = Callback::default();
    for (name, value) in
        url::form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
    {
        let slot = match name.as_ref() {
            "state" => &mut callback.state,
            "code" => &mut callback.code,
            "error" => &mut callback.error,
            "error_description" => &mut callback.error_description,
            "iss" => &mut callback.iss,
            _ => continue,
        };
        if slot.is_some() {
            return Err(AppError::AuthorizationPage {
                code: protocol::oauth::ErrorCode::InvalidRequest,
                description: format!("the callback repeats `{name}`"),
            });
        }
        *slot = Some(value.into_owned());
    }
    let browser = kit::web::cookies::cookie(&headers, BROWSER_COOKIE);
    let answer = app.upstream_callback(&callback, browser.as_deref()).await;
    let path = callback_path(&app);
    // The sign-in is over once its state was looked at: the cookie goes, whatever the outcome.
    let forget = sign_in_cookie(&app, &path).set(BROWSER_COOKIE, "", 0);
    let mut r = match answer? {
        Authorized::Redirect(to) => Redirect::to(&to).into_response(),
        Authorized::Upstream { location, browser } => upstream_redirect(&app, &location, &browser),
        Authorized::PersonNeeded => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().append(header::SET_COOKIE, forget);
    Ok(r)
}

/// The page of a failed sign-in at the upstream provider: plain words for the person, the
/// failed check for whoever helps them.
pub fn upstream_page(issuer: &str, e: &UpstreamError) -> Response {
    let description = e.to_string();
    let (status, title_en, text_en, title_ja, text_ja, check) = match e {
        UpstreamError::Fetch { .. } | UpstreamError::Discovery(_) => (
            StatusCode::BAD_GATEWAY,
            "Sign-in is not available right now",
            "This issuer could not reach its sign-in service. Try again later; if it keeps happening, tell the issuer.",
            "現在サインインできません",
            "発行者のサインインサービスに接続できませんでした。しばらくしてからやり直してください。繰り返し起きる場合は発行者に連絡してください。",
            "upstream_unavailable",
        ),
        UpstreamError::Provider { .. } if e.is_denied() => (
            StatusCode::BAD_REQUEST,
            "You did not sign in",
            "The sign-in was cancelled or refused, so no badge was given. Go back to your wallet app and start again to try once more.",
            "サインインされませんでした",
            "サインインが取り消されたか拒否されたため、バッジは渡されていません。もう一度試すには、ウォレットのアプリに戻って最初からやり直してください。",
            "access_denied",
        ),
        UpstreamError::Provider { .. } => (
            StatusCode::BAD_REQUEST,
            "The sign-in service reported a problem",
            "The sign-in did not finish, so no badge was given. Go back to your wallet app and start again.",
            "サインインサービスでエラーが起きました",
            "サインインが完了しなかったため、バッジは渡されていません。ウォレットのアプリに戻ってやり直してください。",
            "upstream_error",
        ),
        UpstreamError::NoOffer { .. } => (
            StatusCode::NOT_FOUND,
            "No badge is waiting for this address",
            "You signed in, but this issuer has no badge waiting for your email address. Check that you signed in with the address your badge email was sent to, or ask the issuer.",
            "このアドレス宛てのバッジはありません",
            "サインインできましたが、このメールアドレス宛てに受け取り待ちのバッジはありません。バッジのメールが届いたアドレスでサインインしたか確認するか、発行者にお問い合わせください。",
            "no_offer",
        ),
        UpstreamError::NoBrowserCookie | UpstreamError::OtherBrowser => (
            StatusCode::BAD_REQUEST,
            "Finish signing in in the same browser",
            "This sign-in was started in another browser (or this browser blocks cookies). Go back to your wallet app and start again in one browser.",
            "同じブラウザでサインインを完了してください",
            "このサインインは別のブラウザで開始されました（またはこのブラウザがCookieを拒否しています）。ウォレットのアプリに戻り、一つのブラウザでやり直してください。",
            "browser_mismatch",
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            "This sign-in cannot be used",
            "The sign-in could not be checked, so no badge was given. Go back to your wallet app and start again.",
            "このサインインは使えません",
            "サインインを確認できなかったため、バッジは渡されていません。ウォレットのアプリに戻ってやり直してください。",
            "invalid_sign_in",
        ),
    };
    page(
        status,
        issuer,
        title_en,
        text_en,
        title_ja,
        text_ja,
        Some((check, &description)),
    )
}

#[derive(Template)]
#[template(path = "oauth/authorize.html")]
struct AuthorizePage<'a> {
    issuer: &'a str,
    title_en: &'a str,
    text_en: &'a str,
    title_ja: &'a str,
    text_ja: &'a str,
    error: Option<&'a str>,
    description: &'a str,
}

fn page(
    status: StatusCode,
    issuer: &str,
    title_en: &str,
    text_en: &str,
    title_ja: &str,
    text_ja: &str,
    error: Option<(&str, &str)>,
) -> Response {
    let body = AuthorizePage {
        issuer,
        title_en,
        text_en,
        title_ja,
        text_ja,
        error: error.map(|(code, _)| code),
        description: error.map(|(_, d)| d).unwrap_or(""),
    }
    .render();
    match body {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "authorization page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The page of a refusal the client cannot be sent back with: the code and what failed.
pub fn refusal_page(code: &str, description: &str) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "",
        "This sign-in link cannot be used",
        "The app that sent you here made a request this issuer refuses. Go back to the app and start again; if it happens again, tell the app's makers what is shown below.",
        "このサインインのリンクは使えません",
        "このページを開いたアプリの要求を発行者が受け付けませんでした。アプリに戻ってやり直してください。繰り返し起きる場合は、下に表示された内容をアプリの提供者に伝えてください。",
        Some((code, description)),
    )
}
