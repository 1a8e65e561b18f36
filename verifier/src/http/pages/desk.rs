//! The desk's sign-in and new-request pages: a person signs in with the API token and
//! creates a presentation request (the Open Badge template, optionally for one
//! achievement, a saved template, or a DCQL query), through the same domain call as the
//! API; the request's page follows ([`super::request`]).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kit::serve::ClientIp;
use protocol::oid4vp::{RequestUriMethod, ResponseMode};

use super::{DESK_PATH, esc, page};
use crate::App;
use crate::domain::requests::{ClientPrefix, Disclose, RequestOptions, RequestSpec, Template};
use crate::domain::templates::SavedTemplate;
use crate::error::Error;
use crate::http::cookies::cookie;
use crate::http::csrf::{CsrfScope, new_csrf_cookie};
use crate::http::error::{DeskError, PageError};
use crate::http::session::{self, DeskSession, SESSION_COOKIE, SESSION_TTL, SignedIn};

const CSRF_COOKIE: &str = "verifier_csrf";

fn set_cookie(app: &App, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if app.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={DESK_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are base64url and digits")
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

    fn field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(&self.token)
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
    app.csrf_key.check_csrf(
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

/// A desk page; sets the CSRF cookie when the browser had none.
fn desk_page(app: &App, csrf: &Csrf, status: StatusCode, title: &str, body: &str) -> Response {
    let mut r = page(status, title, body);
    if let Some(c) = &csrf.new_cookie {
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(app, CSRF_COOKIE, c, 86_400));
    }
    r
}

fn login_body(csrf: &Csrf, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", esc(e)))
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
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    let trusted: String = app
        .config
        .trusted_issuers
        .iter()
        .map(|i| format!("<option value=\"{}\">", esc(i)))
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
                    esc(&t.id),
                    selected(t.id == form.template_id),
                    esc(&t.name)
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
        issuer = esc(&form.issuer),
        trusted = trusted,
        achievement = esc(&form.achievement_id),
        name = checked(form.disclose_name),
        name_optional = checked(form.name_optional),
        saved = saved,
        enc = checked(form.encrypted),
        dcql_open = if form.dcql_query.is_empty() {
            ""
        } else {
            " open"
        },
        dcql = esc(&form.dcql_query),
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
    let session = match session::of_request(&app, &headers).await {
        Ok(session) => session,
        Err(e) => return PageError::from(e).into_response(),
    };
    if session.is_none() {
        return desk_page(
            &app,
            &csrf,
            StatusCode::OK,
            "Sign in",
            &login_body(&csrf, None),
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
    desk_page(
        &app,
        &csrf,
        StatusCode::OK,
        "New request",
        &new_request_body(&app, &csrf, &form, &templates, None),
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
            "Sign in",
            &login_body(&csrf, Some(&DeskError::WrongToken.to_string())),
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
        Err(e @ Error::Invalid { .. }) => {
            let csrf = Csrf::for_page(&app, &headers);
            Ok(desk_page(
                &app,
                &csrf,
                StatusCode::BAD_REQUEST,
                "New request",
                &new_request_body(
                    &app,
                    &csrf,
                    &form,
                    &app.saved_templates().await?,
                    Some(&e.to_string()),
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
    Ok(RequestSpec::Template(Template {
        issuer: form.issuer.clone(),
        achievement_id: (!form.achievement_id.is_empty()).then(|| form.achievement_id.clone()),
        disclose: name.filter(|_| !form.name_optional).into_iter().collect(),
        optional: name.filter(|_| form.name_optional).into_iter().collect(),
    }))
}
