//! The verifier API (bearer token): create presentation requests and read their results,
//! save request templates, check a badge handed in without a wallet.
//! The QR images need no token: they only carry the public wallet link.

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::oid4vp::{RequestUriMethod, ResponseMode};
use protocol::verify::standalone::Submitted;
use serde::Deserialize;
use serde_json::Value;

use super::error::AppError;
use super::openapi::{API, CheckRequestDoc, CreateRequestDoc, Problem, QR, SaveTemplateDoc};
use crate::app::App;
use crate::domain::badge_check::input;
use crate::domain::badge_check::{CheckInput, CheckResult};
use crate::domain::requests::{
    ClientPrefix, CreatedRequest, QR_PNG_SCALE, RequestOptions, RequestResult, RequestSpec,
    Template,
};
use crate::domain::templates::SavedTemplate;

/// Extractor: the request carries the API bearer token.
pub struct ApiClient;

impl FromRequestParts<App> for ApiClient {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, AppError> {
        let token = kit::web::bearer_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let client = kit::serve::client_ip(&parts.extensions);
        if app.api_token_attempt(token, client).await? {
            Ok(ApiClient)
        } else {
            Err(AppError::Unauthorized)
        }
    }
}

/// `POST /api/requests`: exactly one of `dcql_query` and `template`; `response_mode`
/// `direct_post` (the default) or `direct_post.jwt` (encrypted responses, OpenID4VP §8.3).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    #[serde(default)]
    dcql_query: Option<Value>,
    #[serde(default)]
    template: Option<Template>,
    /// A saved template's id.
    #[serde(default)]
    template_id: Option<String>,
    #[serde(default)]
    response_mode: Option<ResponseMode>,
    /// `decentralized_identifier` (default; `x509_hash` under the `haip` profile),
    /// `x509_hash`, `x509_san_dns` or `redirect_uri`.
    #[serde(default)]
    client_id_prefix: Option<ClientPrefix>,
    /// `get` (default) or `post`.
    #[serde(default)]
    request_uri_method: RequestUriMethod,
    /// Same-device flows: where the wallet sends the user after answering.
    #[serde(default)]
    redirect_uri: Option<String>,
    /// Where to post the signed result when it is ready.
    #[serde(default)]
    webhook_url: Option<String>,
    /// Same-device flows: a value derived from the browser session the request is made in;
    /// the `response_code` then opens the result only with it.
    #[serde(default)]
    session_binding: Option<String>,
}

/// The request's spec and options; what the body leaves out comes from `defaults` (the
/// profile's, [`crate::domain::requests::Requests::default_options`]).
fn spec(body: &[u8], defaults: RequestOptions) -> Result<(RequestSpec, RequestOptions), AppError> {
    let req: CreateRequest = kit::serve::parse_json_body(body)
        .map_err(|e| AppError::bad_request(&e.field, e.message))?;
    let options = RequestOptions {
        response_mode: req.response_mode.unwrap_or(defaults.response_mode),
        client_prefix: req.client_id_prefix.unwrap_or(defaults.client_prefix),
        request_uri_method: req.request_uri_method,
        redirect_uri: req.redirect_uri,
        webhook_url: req.webhook_url,
        session_binding: req.session_binding,
    };
    let spec = match (req.dcql_query, req.template, req.template_id) {
        (None, None, Some(id)) => Ok(RequestSpec::SavedTemplate(id)),
        (_, _, Some(_)) => Err(AppError::bad_request(
            "template_id",
            "give one of `dcql_query`, `template` and `template_id`",
        )),
        (Some(_), Some(_), None) => Err(AppError::bad_request(
            "template",
            "give either `dcql_query` or `template`, not both",
        )),
        (None, None, None) => Err(AppError::bad_request(
            "dcql_query",
            "give `dcql_query`, `template` or `template_id`",
        )),
        (None, Some(t), None) => Ok(RequestSpec::Template(t)),
        (Some(q), None, None) => {
            let query = serde_path_to_error::deserialize(q).map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    "dcql_query".to_owned()
                } else {
                    format!("dcql_query.{path}")
                };
                AppError::bad_request(&field, e.inner().to_string())
            })?;
            Ok(RequestSpec::Dcql(query))
        }
    }?;
    Ok((spec, options))
}

#[utoipa::path(post, path = "/api/requests", tag = API,
    request_body = CreateRequestDoc,
    responses((status = 201, description = "The request: the wallet link, its QR codes, the result URL", body = CreatedRequest)))]
pub async fn create_request(
    _: ApiClient,
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CreatedRequest>), AppError> {
    let (spec, options) = spec(&body, app.requests.default_options())?;
    let created = app.requests.create(spec, options).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `GET /api/requests/{id}/result[?response_code=…]`: with a response code (same-device
/// flows), only if it is the one the wallet was given for this request.
#[utoipa::path(get, path = "/api/requests/{id}/result", tag = API,
    params(("id" = String, Path, description = "The request id"),
        ("response_code" = Option<String>, Query, description = "Same-device flows: the `response_code` the wallet's redirect carried"),
        ("session_binding" = Option<String>, Query, description = "Same-device flows: the session binding the request was made with, from the browser session the redirect arrived in")),
    responses((status = 200, description = "Pending, verified (with the checks and disclosed claims), rejected or expired", body = RequestResult)))]
pub async fn result(
    _: ApiClient,
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<ResultQuery>,
) -> Result<Json<RequestResult>, AppError> {
    Ok(Json(
        app.requests
            .result_with_code(
                &id,
                q.response_code.as_deref(),
                q.session_binding.as_deref(),
            )
            .await?,
    ))
}

#[derive(Deserialize)]
pub struct ResultQuery {
    #[serde(default)]
    response_code: Option<String>,
    #[serde(default)]
    session_binding: Option<String>,
}

#[utoipa::path(get, path = "/api/requests/{id}/qr.svg", tag = QR,
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The wallet link as a QR code", body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json")))]
pub async fn qr_svg(State(app): State<App>, Path(id): Path<String>) -> Result<Response, AppError> {
    let qr = app.requests.qr(&id).await?;
    Ok(image(qr.svg().into_bytes(), "image/svg+xml"))
}

#[utoipa::path(get, path = "/api/requests/{id}/qr.png", tag = QR,
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The wallet link as a QR code", body = String, content_type = "image/png"),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json")))]
pub async fn qr_png(State(app): State<App>, Path(id): Path<String>) -> Result<Response, AppError> {
    let qr = app.requests.qr(&id).await?;
    Ok(image(qr.png(QR_PNG_SCALE), "image/png"))
}

/// `POST /api/templates`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveTemplate {
    name: String,
    template: Template,
}

#[utoipa::path(post, path = "/api/templates", tag = API,
    request_body = SaveTemplateDoc,
    responses((status = 201, description = "The saved template", body = SavedTemplate)))]
pub async fn save_template(
    _: ApiClient,
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<SavedTemplate>), AppError> {
    let req: SaveTemplate = kit::serve::parse_json_body(&body)
        .map_err(|e| AppError::bad_request(&e.field, e.message))?;
    let saved = app.templates.save(&req.name, req.template).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

#[utoipa::path(get, path = "/api/templates", tag = API,
    responses((status = 200, description = "The saved templates, by name", body = Vec<SavedTemplate>)))]
pub async fn templates(
    _: ApiClient,
    State(app): State<App>,
) -> Result<Json<Vec<SavedTemplate>>, AppError> {
    Ok(Json(app.templates.list().await?))
}

#[utoipa::path(get, path = "/api/templates/{id}", tag = API,
    params(("id" = String, Path, description = "The template id")),
    responses((status = 200, description = "The saved template", body = SavedTemplate)))]
pub async fn template(
    _: ApiClient,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Json<SavedTemplate>, AppError> {
    Ok(Json(app.templates.get(&id).await?))
}

#[utoipa::path(delete, path = "/api/templates/{id}", tag = API,
    params(("id" = String, Path, description = "The template id")),
    responses((status = 204, description = "Deleted; requests made from it keep their query")))]
pub async fn delete_template(
    _: ApiClient,
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    app.templates.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/check`: a JSON body with `credential` (compact string or JSON credential)
/// or `url`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    #[serde(default)]
    credential: Option<Value>,
    #[serde(default)]
    url: Option<String>,
}

fn api_input(content_type: &str, body: &[u8]) -> Result<CheckInput, AppError> {
    let media = input::essence(content_type);
    if !media.is_empty() && media != "application/json" {
        return Ok(CheckInput::Upload {
            media_type: media,
            body: body.to_vec(),
        });
    }
    let req: CheckRequest = kit::serve::parse_json_body(body)
        .map_err(|e| AppError::bad_request(&e.field, e.message))?;
    match (req.credential, req.url) {
        (Some(_), Some(_)) => Err(AppError::bad_request(
            "url",
            "give either `credential` or `url`, not both",
        )),
        (None, None) => Err(AppError::bad_request(
            "credential",
            "give `credential` (a compact SD-JWT / VC-JWT or a JSON credential) or `url`",
        )),
        (None, Some(url)) => Ok(CheckInput::Url(url)),
        (Some(Value::String(text)), None) => Submitted::from_text(&text)
            .map(CheckInput::Credential)
            .map_err(|e| AppError::bad_request("credential", e)),
        (Some(vc @ Value::Object(_)), None) => Ok(CheckInput::Credential(Submitted::Json(vc))),
        (Some(_), None) => Err(AppError::bad_request(
            "credential",
            "must be a string (compact credential) or an object (JSON credential)",
        )),
    }
}

#[utoipa::path(post, path = "/api/check", tag = API,
    request_body(content = CheckRequestDoc, description = "`{\"credential\": …}` or `{\"url\": …}` as JSON; or the file itself: a baked badge (`image/png`, `image/svg+xml`), a picture of a QR code (`image/png`), a credential (`application/dc+sd-jwt`, `application/jwt`, `application/vc+ld+json`)"),
    responses((status = 200, description = "Every check and its outcome, and the credential's claims when all passed", body = CheckResult)))]
pub async fn check_api(
    _: ApiClient,
    State(app): State<App>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<CheckResult>, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let input = api_input(content_type, &body)?;
    Ok(Json(app.badge_check.check(input).await?))
}

fn image(bytes: Vec<u8>, media_type: &'static str) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
        match r {
            Err(AppError::BadRequest { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    fn input_field(r: Result<CheckInput, AppError>) -> String {
        match r {
            Err(AppError::BadRequest { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn api_bodies_name_the_field_at_fault() {
        assert_eq!(
            input_field(api_input("application/json", b"{}")),
            "credential"
        );
        assert_eq!(
            input_field(api_input(
                "application/json",
                br#"{"credential": "a.b.c", "url": "https://x"}"#
            )),
            "url"
        );
        assert_eq!(
            input_field(api_input("application/json", br#"{"credential": 1}"#)),
            "credential"
        );
        assert_eq!(
            input_field(api_input("", br#"{"credential": "  "}"#)),
            "credential"
        );
        assert_eq!(
            input_field(api_input("application/json", br#"{"urls": "x"}"#)),
            "urls"
        );
        assert!(matches!(
            api_input("application/json", br#"{"credential": {"proof": {}}}"#),
            Ok(CheckInput::Credential(Submitted::Json(_)))
        ));
        assert!(matches!(
            api_input("image/png", b"\x89PNG"),
            Ok(CheckInput::Upload { media_type, .. }) if media_type == "image/png"
        ));
    }

    #[test]
    fn request_bodies_name_the_field_at_fault() {
        assert_eq!(field(spec(b"{}", RequestOptions::default())), "dcql_query");
        assert_eq!(
            field(spec(
                br#"{"dcql_query": {"credentials": []}, "template": {"issuer": "https://i.example"}}"#, RequestOptions::default()
            )),
            "template"
        );
        assert_eq!(
            field(spec(
                br#"{"template": {"issuer": "https://i.example", "disclose": ["email"]}}"#,
                RequestOptions::default()
            )),
            "template.disclose[0]"
        );
        assert_eq!(
            field(spec(
                br#"{"dcql_query": {"credentials": [{"id": "a"}]}}"#,
                RequestOptions::default()
            )),
            "dcql_query.credentials[0]"
        );
        assert_eq!(
            field(spec(br#"{"query": 1}"#, RequestOptions::default())),
            "query"
        );
        assert!(matches!(
            spec(
                br#"{"template": {"issuer": "https://i.example"}}"#,
                RequestOptions::default()
            ),
            Ok((
                RequestSpec::Template(_),
                RequestOptions {
                    response_mode: ResponseMode::DirectPost,
                    ..
                }
            ))
        ));
        assert!(matches!(
            spec(
                br#"{"template": {"issuer": "https://i.example"}, "response_mode": "direct_post.jwt"}"#, RequestOptions::default()
            ),
            Ok((RequestSpec::Template(_), RequestOptions { response_mode: ResponseMode::DirectPostJwt, .. }))
        ));
        assert_eq!(
            field(spec(
                br#"{"template": {"issuer": "https://i.example"}, "response_mode": "post"}"#,
                RequestOptions::default()
            )),
            "response_mode"
        );
    }
}
