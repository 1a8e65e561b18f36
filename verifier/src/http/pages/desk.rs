//! The desk's sign-in and new-request pages: a person signs in with the API token and
//! creates a presentation request (the Open Badge template, optionally for one
//! achievement, a saved template, or a DCQL query), through the same domain call as the
//! API; the request's page follows ([`super::request`]).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kit::serve::ClientIp;
use protocol::oid4vp::{RequestUriMethod, ResponseMode};

use super::texts::Problem;
use super::{DESK_PATH, Frame, page_lang, render};
use crate::app::App;
use crate::domain::requests::{ClientPrefix, Disclose, RequestOptions, RequestSpec};
use crate::domain::templates::SavedTemplate;
use crate::error::Error;
use crate::http::csrf::{CsrfScope, new_csrf_cookie};
use crate::http::error::{DeskError, PageError};
use crate::http::session::{self, DeskSession, SESSION_COOKIE, SESSION_TTL, SignedIn};
use kit::web::{CookiePolicy, Lang, SameSite, cookie};

const CSRF_COOKIE: &str = "verifier_csrf";

/// The desk's cookies: under its path, `SameSite=Strict`, `Secure` over https.
fn set_cookie(app: &App, name: &str, value: &str, max_age: i64) -> HeaderValue {
    CookiePolicy::for_public_url(&app.public_url, DESK_PATH, SameSite::Strict)
        .set(name, value, max_age)
}

/// The browser's CSRF cookie (made if missing) and the token its forms carry.
pub(super) struct Csrf {
    pub(super) token: String,
    new_cookie: Option<String>,
}

impl Csrf {
    pub(super) fn for_page(app: &App, headers: &HeaderMap) -> Csrf {
        match cookie(headers, CSRF_COOKIE).filter(|c| !c.is_empty()) {
            Some(c) => Csrf {
                token: app.csrf_key.csrf_token(CsrfScope::Desk, &c),
                new_cookie: None,
            },
            None => {
                let c = new_csrf_cookie();
                Csrf {
                    token: app.csrf_key.csrf_token(CsrfScope::Desk, &c),
                    new_cookie: Some(c),
                }
            }
        }
    }
}

/// A form body's pairs; checks its CSRF token against the browser's cookie and, for a
/// signed-in form, against the cookie `session` was opened with.
pub(super) fn checked_form(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
    session: Option<&DeskSession>,
) -> Result<Vec<(String, String)>, PageError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let token = field(&pairs, "csrf");
    app.csrf_key.check_csrf(
        CsrfScope::Desk,
        cookie(headers, CSRF_COOKIE).as_deref(),
        token,
        session.map(DeskSession::csrf_hash),
    )?;
    Ok(pairs)
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A desk page; sets the CSRF cookie when the browser had none.
fn desk_page(app: &App, csrf: &Csrf, status: StatusCode, page: &impl Template) -> Response {
    let mut r = render(status, page);
    if let Some(c) = &csrf.new_cookie {
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(app, CSRF_COOKIE, c, 86_400));
    }
    r
}

/// `templates/sign_in.html`.
#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    frame: Frame,
    csrf: &'a str,
    /// Why signing in failed: in words, and the software's own (technical).
    error: Option<(String, String)>,
}

fn sign_in<'a>(csrf: &'a Csrf, lang: Lang, error: Option<(String, String)>) -> SignIn<'a> {
    SignIn {
        frame: Frame::desk(lang, DESK_PATH, |t| t.sign_in_title),
        csrf: &csrf.token,
        error,
    }
}

/// `templates/new_request.html`.
#[derive(Template)]
#[template(path = "new_request.html")]
struct NewRequest<'a> {
    frame: Frame,
    csrf: &'a str,
    error: Option<String>,
    form: &'a RequestForm,
    /// The configured trusted issuers, offered for the issuer field.
    trusted: &'a [String],
    templates: &'a [SavedTemplate],
}

fn new_request<'a>(
    app: &'a App,
    csrf: &'a Csrf,
    lang: Lang,
    form: &'a RequestForm,
    templates: &'a [SavedTemplate],
    error: Option<String>,
) -> NewRequest<'a> {
    NewRequest {
        frame: Frame::desk(lang, DESK_PATH, |t| t.new_request_title),
        csrf: &csrf.token,
        error,
        form,
        trusted: &app.config.trusted_issuers,
        templates,
    }
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

/// `GET /desk`: the new-request form, or the sign-in form without a session.
pub async fn desk(State(app): State<App>, headers: HeaderMap) -> Response {
    let csrf = Csrf::for_page(&app, &headers);
    let session = match session::of_request(&app, &headers).await {
        Ok(session) => session,
        Err(e) => return PageError::from(e).into_response(),
    };
    let lang = page_lang(&headers);
    if session.is_none() {
        return desk_page(&app, &csrf, StatusCode::OK, &sign_in(&csrf, lang, None));
    }
    // The form starts from what the profile makes by default (under `haip`: signed with
    // `x509_hash:`, answered encrypted), so a desk user never meets the profile's refusal.
    let defaults = app.requests.default_options();
    let form = RequestForm {
        issuer: app
            .config
            .trusted_issuers
            .first()
            .cloned()
            .unwrap_or_default(),
        disclose_name: true,
        encrypted: defaults.response_mode == ResponseMode::DirectPostJwt,
        client_prefix: defaults.client_prefix,
        ..RequestForm::default()
    };
    let templates = match app.templates.list().await {
        Ok(t) => t,
        Err(e) => return PageError::from(e).into_response(),
    };
    desk_page(
        &app,
        &csrf,
        StatusCode::OK,
        &new_request(&app, &csrf, lang, &form, &templates, None),
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
        return Ok(desk_page(
            &app,
            &csrf,
            StatusCode::UNAUTHORIZED,
            &sign_in(
                &csrf,
                page_lang(&headers),
                Some((
                    Problem::WrongToken.message(page_lang(&headers)),
                    DeskError::WrongToken.to_string(),
                )),
            ),
        ));
    }
    // checked_form made sure the CSRF cookie is there: the session is bound to it.
    let csrf_cookie = cookie(&headers, CSRF_COOKIE).unwrap_or_default();
    let session = app.open_desk_session(&csrf_cookie).await?;
    let mut r = see_other(DESK_PATH);
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, SESSION_COOKIE, &session, SESSION_TTL),
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
    let session = session::of_request(&app, &headers).await?;
    checked_form(&app, &headers, &body, session.as_ref())?;
    if let Some(session) = &session {
        session::close(&app, session).await?;
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
        Ok(spec) => app.requests.create(spec, options).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(created) => Ok(see_other(&format!("{DESK_PATH}/requests/{}", created.id))),
        Err(e @ Error::Invalid { .. }) => {
            let csrf = Csrf::for_page(&app, &headers);
            let templates = app.templates.list().await?;
            Ok(desk_page(
                &app,
                &csrf,
                StatusCode::BAD_REQUEST,
                &new_request(
                    &app,
                    &csrf,
                    page_lang(&headers),
                    &form,
                    &templates,
                    Some(e.to_string()),
                ),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The request spec of the form: its DCQL query if given, else the Open Badge template.
fn form_spec(form: &RequestForm) -> Result<RequestSpec, Error> {
    if !form.dcql_query.is_empty() {
        let query = serde_json::from_str(&form.dcql_query)
            .map_err(|e| Error::invalid("dcql_query", e.to_string()))?;
        return Ok(RequestSpec::Dcql(query));
    }
    if !form.template_id.is_empty() {
        return Ok(RequestSpec::SavedTemplate(form.template_id.clone()));
    }
    let name = (form.disclose_name || form.name_optional).then_some(Disclose::RecipientName);
    Ok(RequestSpec::Template(crate::domain::requests::Template {
        issuer: form.issuer.clone(),
        achievement_id: (!form.achievement_id.is_empty()).then(|| form.achievement_id.clone()),
        disclose: name.filter(|_| !form.name_optional).into_iter().collect(),
        optional: name.filter(|_| form.name_optional).into_iter().collect(),
    }))
}
