//! The verifier desk: server-rendered pages on which a person signs in with the API
//! token, creates a presentation request (the Open Badge template, optionally for one
//! achievement), shows it as a QR code and a same-device `openid4vp://` link, and watches
//! the result arrive: server-sent events wake the page (with a polling fallback), which
//! then shows the disclosed claims and every check with its outcome.
//!
//! Every value shown is escaped ([`esc`]); every form carries a CSRF token
//! ([`crate::domain::desk`]). Without JavaScript the page still shows the QR code and the
//! link, and a reload shows the result.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use kit::serve::ClientIp;
use kit::web::{CookiePolicy, SameSite, cookie, escape_html};
use protocol::oid4vp::{RequestUriMethod, ResponseMode};
use serde_json::Value;

use crate::App;
use crate::domain::desk::{CsrfScope, DeskError, DeskSession, new_csrf_cookie};
use crate::domain::requests::{
    ClientPrefix, RequestOptions, RequestResult, RequestSpec, ResultState, Template,
};
use crate::domain::templates::SavedTemplate;
use crate::error::{AppError, PageError};

pub const DESK_PATH: &str = "/desk";
const SESSION_COOKIE: &str = "verifier_desk";
const CSRF_COOKIE: &str = "verifier_csrf";
/// How often a waiting page's event stream re-reads the result even without a wake-up (a
/// result stored by another instance sends none here).
const RECHECK: Duration = Duration::from_secs(2);

/// The desk's cookies: under its path, `SameSite=Strict`, `Secure` over https.
fn set_cookie(app: &App, name: &str, value: &str, max_age: i64) -> HeaderValue {
    CookiePolicy::for_public_url(&app.public_url, DESK_PATH, SameSite::Strict)
        .set(name, value, max_age)
}

/// Extractor: a signed-in desk session (its row in the store).
pub struct SignedIn(DeskSession);

impl FromRequestParts<App> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, PageError> {
        let session = cookie(&parts.headers, SESSION_COOKIE);
        Ok(SignedIn(app.desk_session(session.as_deref()).await?))
    }
}

/// The open session the request's cookie names, if any.
async fn open_session(app: &App, headers: &HeaderMap) -> Result<Option<DeskSession>, AppError> {
    match app
        .desk_session(cookie(headers, SESSION_COOKIE).as_deref())
        .await
    {
        Ok(session) => Ok(Some(session)),
        Err(AppError::Desk(DeskError::NoSession)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The browser's CSRF cookie (made if missing) and the token its forms carry.
struct Csrf {
    token: String,
    new_cookie: Option<String>,
}

impl Csrf {
    fn for_page(app: &App, headers: &HeaderMap) -> Csrf {
        match cookie(headers, CSRF_COOKIE).filter(|c| !c.is_empty()) {
            Some(c) => Csrf {
                token: app.desk_key.csrf_token(CsrfScope::Desk, &c),
                new_cookie: None,
            },
            None => {
                let c = new_csrf_cookie();
                Csrf {
                    token: app.desk_key.csrf_token(CsrfScope::Desk, &c),
                    new_cookie: Some(c),
                }
            }
        }
    }

    fn field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape_html(&self.token)
        )
    }
}

/// A form body's pairs; checks its CSRF token against the browser's cookie and, for a
/// signed-in form, against the cookie `session` was opened with.
fn checked_form(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    session: Option<&DeskSession>,
) -> Result<Vec<(String, String)>, PageError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let token = field(&pairs, "csrf");
    app.desk_key.check_csrf(
        CsrfScope::Desk,
        cookie(headers, CSRF_COOKIE).as_deref(),
        token,
        session,
    )?;
    Ok(pairs)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The Content Security Policy of these pages.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    kit::web::html_page(status, body, PAGE_CSP)
}

fn page(status: StatusCode, title: &str, body: &str, csrf: Option<(&App, &Csrf)>) -> Response {
    let html = format!(
        concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>{title} · Akashi verifier</title><style>{STYLE}</style></head>",
            "<body><header><a href=\"{desk}\">Akashi verifier</a></header><main>{body}</main>",
            "<script src=\"{desk}/desk.js\"></script></body></html>\n"
        ),
        title = escape_html(title),
        STYLE = STYLE,
        desk = DESK_PATH,
        body = body,
    );
    let mut r = html_response(status, html);
    if let Some((
        app,
        Csrf {
            new_cookie: Some(c),
            ..
        },
    )) = csrf
    {
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(app, CSRF_COOKIE, c, 86_400));
    }
    r
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#111}header{background:#1d3557;padding:.6em 1em}header a{color:#fff;text-decoration:none;font-weight:600}main{max-width:52em;margin:1em auto;padding:0 1em}label{display:block;margin:.6em 0 .2em}input[type=text],input[type=password],select{width:100%;padding:.4em;box-sizing:border-box}button{margin-top:1em;padding:.5em 1.2em}.error{color:#9b1c1c;font-weight:600}.qr img{width:22em;height:22em;image-rendering:pixelated}.state{font-size:1.4em;font-weight:700}.verified{color:#1b6e20}.rejected,.expired{color:#9b1c1c}table{border-collapse:collapse;width:100%;table-layout:fixed}td,th{overflow-wrap:anywhere;border-bottom:1px solid #ddd;padding:.3em;text-align:left;vertical-align:top}code{overflow-wrap:anywhere}dl.badge{display:grid;grid-template-columns:max-content auto;gap:.3em 1em;font-size:1.1em}dl.badge dt{font-weight:600}dl.badge dd{margin:0}textarea{width:100%;box-sizing:border-box;font-family:monospace}#disclosed th:first-child{width:40%}#checks th:first-child{width:25%}#checks th:nth-child(2){width:15%}";

/// An error page (see [`PageError`]).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "Error",
        &format!(
            "<h1>{}</h1><p class=\"error\" id=\"error\">{}</p><p><a href=\"{DESK_PATH}\">Back to the desk</a></p>",
            escape_html(status.canonical_reason().unwrap_or("Error")),
            escape_html(message)
        ),
        None,
    )
}

fn login_body(csrf: &Csrf, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape_html(e)))
        .unwrap_or_default();
    format!(
        concat!(
            "<h1>Sign in to the verifier desk</h1>{error}",
            "<form method=\"post\" action=\"{desk}/login\">{csrf}",
            "<label for=\"token\">API token</label>",
            "<input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required>",
            "<button type=\"submit\" id=\"sign-in\">Sign in</button></form>"
        ),
        error = error,
        desk = DESK_PATH,
        csrf = csrf.field(),
    )
}

/// What the new-request form held (shown again with an error).
#[derive(Default)]
struct RequestForm {
    issuer: String,
    achievement_id: String,
    disclose_name: bool,
    /// The name is asked for, but the holder may decline.
    name_optional: bool,
    /// A saved template's id: asked instead of the fields above.
    template_id: String,
    encrypted: bool,
    /// A DCQL query (JSON) instead of the template.
    dcql_query: String,
    client_prefix: ClientPrefix,
    request_uri_post: bool,
}

fn new_request_body(
    app: &App,
    csrf: &Csrf,
    form: &RequestForm,
    templates: &[SavedTemplate],
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", escape_html(e)))
        .unwrap_or_default();
    let trusted: String = app
        .config
        .trusted_issuers
        .iter()
        .map(|i| format!("<option value=\"{}\">", escape_html(i)))
        .collect();
    let checked = |b: bool| if b { " checked" } else { "" };
    let selected = |b: bool| if b { " selected" } else { "" };
    let saved = if templates.is_empty() {
        String::new()
    } else {
        let options: String = templates
            .iter()
            .map(|t| {
                format!(
                    "<option value=\"{}\"{}>{}</option>",
                    escape_html(&t.id),
                    selected(t.id == form.template_id),
                    escape_html(&t.name)
                )
            })
            .collect();
        format!(
            concat!(
                "<label for=\"template_id\">Or a saved template</label>",
                "<select id=\"template_id\" name=\"template_id\"><option value=\"\">(none)</option>{}</select>"
            ),
            options
        )
    };
    format!(
        concat!(
            "<h1>New presentation request</h1>{error}",
            "<p>Ask a holder for an Open Badge: a QR code to scan with a wallet follows.</p>",
            "<form method=\"post\" action=\"{desk}/requests\">{csrf}",
            "<label for=\"issuer\">Issuer (URL)</label>",
            "<input type=\"text\" id=\"issuer\" name=\"issuer\" list=\"trusted-issuers\" value=\"{issuer}\">",
            "<datalist id=\"trusted-issuers\">{trusted}</datalist>",
            "<label for=\"achievement_id\">Achievement id (URI; empty: any achievement of that issuer)</label>",
            "<input type=\"text\" id=\"achievement_id\" name=\"achievement_id\" value=\"{achievement}\">",
            "<label><input type=\"checkbox\" id=\"disclose_name\" name=\"disclose\" value=\"recipient_name\"{name}> ",
            "Ask for the recipient's name</label>",
            "<label><input type=\"checkbox\" id=\"name_optional\" name=\"name_optional\" value=\"1\"{name_optional}> ",
            "&hellip; which the holder may decline to show</label>",
            "{saved}",
            "<details{dcql_open}><summary>Or a DCQL query</summary>",
            "<label for=\"dcql_query\">DCQL query (JSON; when given, it is asked instead of the badge above)</label>",
            "<textarea id=\"dcql_query\" name=\"dcql_query\" rows=\"8\">{dcql}</textarea></details>",
            "<details><summary>Request options</summary>",
            "<label><input type=\"checkbox\" id=\"encrypted\" name=\"response_mode\" value=\"direct_post.jwt\"{enc}> ",
            "Encrypted response (direct_post.jwt)</label>",
            "<label for=\"client_id_prefix\">How the verifier identifies itself</label>",
            "<select id=\"client_id_prefix\" name=\"client_id_prefix\">",
            "<option value=\"decentralized_identifier\"{p_did}>Signed with the verifier's DID (<code>decentralized_identifier:</code>)</option>",
            "<option value=\"x509_hash\"{p_hash}>Signed with its X.509 certificate (<code>x509_hash:</code>, HAIP)</option>",
            "<option value=\"x509_san_dns\"{p_dns}>Signed with its X.509 certificate (<code>x509_san_dns:</code>)</option>",
            "<option value=\"redirect_uri\"{p_rc}>Unsigned (<code>redirect_uri:</code>, for simple setups)</option>",
            "</select>",
            "<label><input type=\"checkbox\" id=\"request_uri_post\" name=\"request_uri_method\" value=\"post\"{post}> ",
            "The wallet fetches the request by POST (<code>request_uri_method=post</code>)</label></details>",
            "<button type=\"submit\" id=\"create\">Create request</button></form>",
            "<form method=\"post\" action=\"{desk}/logout\">{csrf}<button type=\"submit\">Sign out</button></form>"
        ),
        error = error,
        desk = DESK_PATH,
        csrf = csrf.field(),
        issuer = escape_html(&form.issuer),
        trusted = trusted,
        achievement = escape_html(&form.achievement_id),
        name = checked(form.disclose_name),
        name_optional = checked(form.name_optional),
        saved = saved,
        enc = checked(form.encrypted),
        dcql_open = if form.dcql_query.is_empty() {
            ""
        } else {
            " open"
        },
        dcql = escape_html(&form.dcql_query),
        p_did = selected(form.client_prefix == ClientPrefix::DecentralizedIdentifier),
        p_hash = selected(form.client_prefix == ClientPrefix::X509Hash),
        p_dns = selected(form.client_prefix == ClientPrefix::X509SanDns),
        p_rc = selected(form.client_prefix == ClientPrefix::RedirectUri),
        post = checked(form.request_uri_post),
    )
}

/// `GET /desk`: the new-request form, or the sign-in form without a session.
pub async fn desk(State(app): State<App>, headers: HeaderMap) -> Response {
    let csrf = Csrf::for_page(&app, &headers);
    let session = match open_session(&app, &headers).await {
        Ok(session) => session,
        Err(e) => return PageError::from(e).into_response(),
    };
    if session.is_none() {
        return page(
            StatusCode::OK,
            "Sign in",
            &login_body(&csrf, None),
            Some((&app, &csrf)),
        );
    }
    let form = RequestForm {
        issuer: app
            .config
            .trusted_issuers
            .first()
            .cloned()
            .unwrap_or_default(),
        disclose_name: true,
        ..RequestForm::default()
    };
    let templates = match app.saved_templates().await {
        Ok(t) => t,
        Err(e) => return PageError::from(e).into_response(),
    };
    page(
        StatusCode::OK,
        "New request",
        &new_request_body(&app, &csrf, &form, &templates, None),
        Some((&app, &csrf)),
    )
}

/// `POST /desk/login`: the API token opens a desk session. Wrong tokens count against
/// the client's address with the API's ([`App::api_token_attempt`]).
pub async fn login(
    State(app): State<App>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let pairs = checked_form(&app, &headers, &body, None)?;
    let token = field(&pairs, "token").unwrap_or_default();
    if !app.api_token_attempt(token, client).await? {
        let csrf = Csrf::for_page(&app, &headers);
        return Ok(page(
            StatusCode::UNAUTHORIZED,
            "Sign in",
            &login_body(&csrf, Some(&DeskError::WrongToken.to_string())),
            Some((&app, &csrf)),
        ));
    }
    // checked_form made sure the CSRF cookie is there: the session is bound to it.
    let csrf_cookie = cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    let session = app.open_desk_session(&csrf_cookie).await?;
    let mut r = see_other(DESK_PATH);
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            &app,
            SESSION_COOKIE,
            &session,
            crate::domain::desk::SESSION_TTL,
        ),
    );
    Ok(r)
}

/// `POST /desk/logout`: ends the session (its row is deleted, so the cookie opens
/// nothing afterwards, wherever it was copied to).
pub async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let session = open_session(&app, &headers).await?;
    checked_form(&app, &headers, &body, session.as_ref())?;
    if let Some(session) = &session {
        app.close_desk_session(session).await?;
    }
    let mut r = see_other(DESK_PATH);
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&app, SESSION_COOKIE, "", 0));
    Ok(r)
}

#[expect(clippy::expect_used, reason = "locations are ASCII paths")]
fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).expect("locations are ASCII paths"),
    );
    r
}

/// `POST /desk/requests`: creates the request through the same domain call as the API,
/// then shows its QR page.
pub async fn create(
    SignedIn(session): SignedIn,
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let pairs = checked_form(&app, &headers, &body, Some(&session))?;
    let form = RequestForm {
        issuer: field(&pairs, "issuer")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        achievement_id: field(&pairs, "achievement_id")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        disclose_name: field(&pairs, "disclose") == Some("recipient_name"),
        name_optional: field(&pairs, "name_optional") == Some("1"),
        template_id: field(&pairs, "template_id")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        encrypted: field(&pairs, "response_mode") == Some("direct_post.jwt"),
        dcql_query: field(&pairs, "dcql_query")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        client_prefix: match field(&pairs, "client_id_prefix") {
            Some("redirect_uri") => ClientPrefix::RedirectUri,
            Some("x509_hash") => ClientPrefix::X509Hash,
            Some("x509_san_dns") => ClientPrefix::X509SanDns,
            _ => ClientPrefix::DecentralizedIdentifier,
        },
        request_uri_post: field(&pairs, "request_uri_method") == Some("post"),
    };
    let options = RequestOptions {
        response_mode: if form.encrypted {
            ResponseMode::DirectPostJwt
        } else {
            ResponseMode::DirectPost
        },
        client_prefix: form.client_prefix,
        request_uri_method: if form.request_uri_post {
            RequestUriMethod::Post
        } else {
            RequestUriMethod::Get
        },
        ..RequestOptions::default()
    };
    let created = match form_spec(&form) {
        Ok(spec) => app.create_request(spec, options).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(created) => Ok(see_other(&format!("{DESK_PATH}/requests/{}", created.id))),
        Err(e @ AppError::BadRequest { .. }) => {
            let csrf = Csrf::for_page(&app, &headers);
            Ok(page(
                StatusCode::BAD_REQUEST,
                "New request",
                &new_request_body(
                    &app,
                    &csrf,
                    &form,
                    &app.saved_templates().await?,
                    Some(&e.to_string()),
                ),
                Some((&app, &csrf)),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The request spec of the form: its DCQL query if given, else the Open Badge template.
fn form_spec(form: &RequestForm) -> Result<RequestSpec, AppError> {
    if !form.dcql_query.is_empty() {
        let query = serde_json::from_str(&form.dcql_query)
            .map_err(|e| AppError::bad_request("dcql_query", e.to_string()))?;
        return Ok(RequestSpec::Dcql(query));
    }
    if !form.template_id.is_empty() {
        return Ok(RequestSpec::SavedTemplate(form.template_id.clone()));
    }
    let name = (form.disclose_name || form.name_optional)
        .then_some(crate::domain::requests::Disclose::RecipientName);
    Ok(RequestSpec::Template(Template {
        issuer: form.issuer.clone(),
        achievement_id: (!form.achievement_id.is_empty()).then(|| form.achievement_id.clone()),
        disclose: name.filter(|_| !form.name_optional).into_iter().collect(),
        optional: name.filter(|_| form.name_optional).into_iter().collect(),
    }))
}

/// `GET /desk/requests/{id}`: the QR code, the same-device link, and the result (live).
pub async fn request_page(
    _: SignedIn,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let result = app.result(&id).await?;
    let links = app.links(&id).await?;
    let id_html = escape_html(&id);
    let body = format!(
        concat!(
            "<h1>Presentation request</h1>",
            "<p>Scan the QR code with a badge wallet, or open the request in a wallet on this device.</p>",
            "<div class=\"qr\"><img id=\"qr\" src=\"/api/requests/{id}/qr.svg\" alt=\"QR code of the presentation request\"></div>",
            "<p><a id=\"same-device\" href=\"{link}\">Open in a wallet on this device</a></p>",
            "<p><small>Request <code>{id}</code>, expires at <span id=\"expires\">{expires}</span>.",
            " <a href=\"{desk}/requests/{id}\">Reload</a> · <a href=\"{desk}\">New request</a></small></p>",
            "<section id=\"result\" aria-live=\"polite\" data-events=\"{desk}/requests/{id}/events\" ",
            "data-fragment=\"{desk}/requests/{id}/result\">{fragment}</section>"
        ),
        id = id_html,
        link = escape_html(&links.openid4vp_uri),
        expires = escape_html(&format_time(result.expires_at)),
        desk = DESK_PATH,
        fragment = result_fragment(&result),
    );
    Ok(page(StatusCode::OK, "Presentation request", &body, None))
}

/// `GET /desk/requests/{id}/result`: the result as an HTML fragment (the polling fallback).
pub async fn result_part(
    _: SignedIn,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let result = app.result(&id).await?;
    Ok(html_response(StatusCode::OK, result_fragment(&result)))
}

/// `GET /desk/requests/{id}/events`: server-sent events; one `result` event carrying the
/// result fragment once the request is answered or expired, then the stream ends.
pub async fn events(
    _: SignedIn,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    // Subscribe before the first read, so a result stored in between still wakes us.
    let wake = app.results.subscribe();
    app.result(&id).await?;
    let stream = futures_util::stream::unfold(Some((app, id, wake)), |waiting| async move {
        let (app, id, mut wake) = waiting?;
        loop {
            match app.result(&id).await {
                Ok(r) if r.state != ResultState::Pending => {
                    let event = Event::default().event("result").data(result_fragment(&r));
                    return Some((Ok(event), None));
                }
                Ok(_) => {}
                Err(AppError::NotFound(_)) => return None,
                Err(e) => tracing::warn!(error = %e, "reading a result for its page"),
            }
            // Woken by our result (a lagging receiver re-reads too), or re-check when the
            // period is up however busy other requests keep the channel.
            let recheck_at = tokio::time::Instant::now() + RECHECK;
            loop {
                match tokio::time::timeout_at(recheck_at, wake.recv()).await {
                    Ok(Ok(stored)) if stored != id => continue,
                    _ => break,
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `GET /desk/desk.js`: wakes the result section on the `result` event (or polls).
pub async fn script() -> Response {
    let mut r = DESK_JS.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

const DESK_JS: &str = r#""use strict";
(function () {
  var box = document.getElementById("result");
  if (!box) { return; }
  function settled() {
    var s = box.querySelector("[data-state]");
    return s !== null && s.getAttribute("data-state") !== "pending";
  }
  if (settled()) { return; }
  var polling = false;
  function poll() {
    polling = true;
    fetch(box.getAttribute("data-fragment"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) { box.innerHTML = html; box.setAttribute("data-updated-by", "poll"); }
        if (!settled()) { setTimeout(poll, 2000); }
      }, function () { setTimeout(poll, 5000); });
  }
  if (!window.EventSource) { poll(); return; }
  var events = new EventSource(box.getAttribute("data-events"));
  events.addEventListener("result", function (e) {
    box.innerHTML = e.data;
    box.setAttribute("data-updated-by", "sse");
    if (settled()) { events.close(); }
  });
  events.onerror = function () {
    if (events.readyState === EventSource.CLOSED && !polling && !settled()) { poll(); }
  };
})();
"#;

fn format_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

/// The result section: the state, the wallet's error, the disclosed claims and each check.
pub fn result_fragment(r: &RequestResult) -> String {
    let (state, label) = match r.state {
        ResultState::Pending => ("pending", "Waiting for the wallet…"),
        ResultState::Verified => ("verified", "Verified"),
        ResultState::Rejected => ("rejected", "Rejected"),
        ResultState::Expired => ("expired", "Expired: no answer in time"),
    };
    let mut html = format!(
        "<p class=\"state {state}\" id=\"state\" data-state=\"{state}\">{}</p>",
        escape_html(label)
    );
    if r.state == ResultState::Pending {
        return html;
    }
    if let Some(error) = &r.error {
        html.push_str(&format!(
            "<p class=\"error\" id=\"wallet-error\">The wallet answered with an error: {}</p>",
            escape_html(error)
        ));
    }
    if !r.disclosed.is_empty() {
        for presentations in r.disclosed.values() {
            for claims in presentations {
                html.push_str(&badge_summary(claims));
            }
        }
        html.push_str("<h2>Disclosed claims</h2><table id=\"disclosed\"><tr><th>Claim</th><th>Value</th></tr>");
        for (query_id, presentations) in &r.disclosed {
            for (i, claims) in presentations.iter().enumerate() {
                let mut leaves = Vec::new();
                flatten(claims, String::new(), &mut leaves);
                for (path, value) in leaves {
                    let prefix = if presentations.len() > 1 {
                        format!("{query_id}[{i}] ")
                    } else {
                        String::new()
                    };
                    html.push_str(&format!(
                        "<tr><td><code>{}{}</code></td><td class=\"claim\">{}</td></tr>",
                        escape_html(&prefix),
                        escape_html(&path),
                        escape_html(&value)
                    ));
                }
            }
        }
        html.push_str("</table>");
    }
    if !r.checks.is_empty() {
        html.push_str("<h2>Checks</h2><table id=\"checks\"><tr><th>Check</th><th>Outcome</th><th>Detail</th></tr>");
        for c in &r.checks {
            let outcome = match c.ok {
                Some(true) => "passed",
                Some(false) => "failed",
                None => "not checked",
            };
            let on = c
                .presentation
                .as_deref()
                .map(|p| format!(" ({})", escape_html(p)))
                .unwrap_or_default();
            html.push_str(&format!(
                "<tr class=\"check\" data-check=\"{name}\" data-outcome=\"{outcome}\"><td>{name}{on}</td><td>{outcome}</td><td>{detail}</td></tr>",
                name = escape_html(&c.name),
                detail = escape_html(&c.detail),
            ));
        }
        html.push_str("</table>");
    }
    html
}

/// What a person at the desk looks for first: which badge, from whom, for whom.
fn badge_summary(claims: &Value) -> String {
    let ld = &claims["ld"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let recipient = ld["credentialSubject"]["identifier"]
        .as_array()
        .and_then(|ids| {
            ids.iter()
                .find(|i| i["identityType"] == protocol::ob3::IDENTITY_TYPE_NAME)
        })
        .and_then(|i| text(&i["identityHash"]));
    let rows = [
        (
            "Badge",
            text(&ld["credentialSubject"]["achievement"]["name"]),
        ),
        // Shown only for claims that passed every check, `issuer_binding` included: the
        // name is the verified signer's own, and its identifier stands beside it.
        (
            "Issuer",
            match (
                text(&ld["issuer"]["name"]),
                text(&claims["iss"]).or_else(|| text(&ld["issuer"]["id"])),
            ) {
                (Some(name), Some(iss)) => Some(format!("{name} ({iss})")),
                (name, iss) => iss.or(name),
            },
        ),
        ("Recipient", recipient),
        ("Valid from", text(&ld["validFrom"])),
        ("Valid until", text(&ld["validUntil"])),
    ];
    let mut html = String::from("<dl class=\"badge\" id=\"badge\">");
    for (label, value) in rows {
        if let Some(value) = value {
            html.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape_html(label),
                escape_html(&value)
            ));
        }
    }
    html.push_str("</dl>");
    html
}

/// The leaves of a JSON value as (`a.b[0].c`, text) pairs.
fn flatten(value: &Value, path: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => out.push((path, s.clone())),
        other => out.push((path, other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::checks::Check;

    #[test]
    fn the_result_fragment_escapes_claims_and_checks() {
        let mut disclosed = std::collections::BTreeMap::new();
        disclosed.insert(
            "badge".to_owned(),
            vec![serde_json::json!({"ld": {"name": "<b>Ana</b>", "n": [1, true]}})],
        );
        let r = RequestResult {
            id: "r".into(),
            state: ResultState::Rejected,
            checks: vec![
                Check::pass("nonce", "ok"),
                Check::fail("trust", "issuer \"<x>\" is not trusted"),
            ],
            disclosed,
            error: None,
            created_at: 0,
            expires_at: 10,
            responded_at: Some(5),
        };
        let html = result_fragment(&r);
        assert!(html.contains("data-state=\"rejected\""), "{html}");
        assert!(html.contains("&lt;b&gt;Ana&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>Ana"), "{html}");
        assert!(html.contains("<code>ld.n[1]</code></td><td class=\"claim\">true"));
        assert!(html.contains("data-check=\"trust\" data-outcome=\"failed\""));
        assert!(html.contains("issuer &quot;&lt;x&gt;&quot; is not trusted"));
    }
}
