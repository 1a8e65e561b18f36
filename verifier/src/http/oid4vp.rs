//! The OpenID4VP endpoints the wallet talks to: the request object at `request_uri` (GET,
//! or POST with `request_uri_method=post`), the `direct_post` Response Endpoint, and the
//! did:web document that publishes the request-signing key.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kit::web::Lang;
use protocol::oid4vp::ResponseEndpointAnswer;
use protocol::verify::Check;
use serde_json::Value;

use super::error::AppError;
use super::openapi::{OAuthError, PROTOCOL, Problem, ResponseForm, WalletMetadataForm};
use super::pages::texts;
use crate::app::App;
use crate::config::TellWallet;
use crate::error::Error;

/// The media type of a request object (OpenID4VP 1.0 §5.10.1).
pub const REQUEST_OBJECT_MEDIA_TYPE: &str = "application/oauth-authz-req+jwt";

#[utoipa::path(get, path = "/.well-known/did.json", tag = PROTOCOL,
    responses((status = 200, description = "The did:web document with the request-signing key", body = Object)))]
pub async fn did_document(State(app): State<App>) -> Json<Value> {
    Json(app.did_document())
}

/// The development CA of the `x509_*` client identifiers (PEM), for a wallet operator
/// to add to the wallet's trust anchors; 404 when a certificate is configured.
pub async fn dev_ca_pem(State(app): State<App>) -> Result<Response, AppError> {
    let pem = app
        .x509
        .dev_ca_pem()
        .ok_or_else(|| Error::NotFound("development CA".into()))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-pem-file"),
        )],
        pem,
    )
        .into_response())
}

#[utoipa::path(get, path = "/request/{id}", tag = PROTOCOL,
    params(("id" = String, Path, description = "The request id")),
    responses((status = 200, description = "The request object (§5.10.1)", body = String, content_type = "application/oauth-authz-req+jwt"),
        (status = 400, description = "Expired or answered", body = OAuthError),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json")))]
pub async fn request_object(
    State(app): State<App>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let jwt = app.requests.request_object(&id, None).await?;
    Ok(jwt_response(jwt))
}

/// `request_uri_method=post` (OpenID4VP 1.0 §5.10.2): form `wallet_metadata`,
/// `wallet_nonce`; the nonce is echoed in the request object.
#[utoipa::path(post, path = "/request/{id}", tag = PROTOCOL,
    params(("id" = String, Path, description = "The request id")),
    request_body(content = WalletMetadataForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The request object, `wallet_nonce` echoed (§5.10.2)", body = String, content_type = "application/oauth-authz-req+jwt"),
        (status = 400, description = "Expired or answered", body = OAuthError),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json")))]
pub async fn request_object_post(
    State(app): State<App>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs = form_pairs(&body)?;
    let wallet_nonce = pairs
        .into_iter()
        .find(|(k, _)| k == "wallet_nonce")
        .map(|(_, v)| v);
    let jwt = app.requests.request_object(&id, wallet_nonce).await?;
    Ok(jwt_response(jwt))
}

/// The Response Endpoint: verify, store the result, and tell the wallet the outcome.
/// Accepted (or the wallet's own error received): `200 {}`, or `{"redirect_uri": …#response_code=…}`
/// for same-device requests (§8.2). Verified and not accepted: `400` with `invalid_request`,
/// an `error_description` saying why in plain words and `failed_checks` naming the checks
/// (only "not accepted" under `VERIFIER_TELL_WALLET=outcome`), and the same-device
/// `redirect_uri`, where the verifier's page shows the result.
#[utoipa::path(post, path = "/response", tag = PROTOCOL,
    request_body(content = ResponseForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Accepted: `{}`, or `{\"redirect_uri\"}` for same-device requests", body = ResponseEndpointAnswer),
        (status = 400, description = "Not accepted (`error_description` says why, `failed_checks` names the checks), or `invalid_request` and the other errors of §8.5", body = ResponseEndpointAnswer)))]
pub async fn response(
    State(app): State<App>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let answered = app.requests.receive_response(form_pairs(&body)?).await?;
    let answer = match &answered.not_accepted {
        None => ResponseEndpointAnswer {
            redirect_uri: answered.redirect_uri,
            ..ResponseEndpointAnswer::default()
        },
        Some(failed) => not_accepted(app.config.tell_wallet, failed, answered.redirect_uri),
    };
    let status = match answer.error {
        None => StatusCode::OK,
        Some(_) => StatusCode::BAD_REQUEST,
    };
    let mut r = (status, Json(answer)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The answer to a presentation that was not accepted: an OAuth error a wallet of any make
/// can show, with the reasons in plain English (the wallet may word them in its holder's
/// language from `failed_checks`). Each reason is the fixed sentence the verifier's own
/// pages use for the check, never the check's raw finding (keys, URLs, the trust list).
fn not_accepted(
    tell: TellWallet,
    failed: &[Check],
    redirect_uri: Option<String>,
) -> ResponseEndpointAnswer {
    let mut failed_checks: Vec<String> = Vec::new();
    let mut reasons: Vec<&str> = Vec::new();
    if tell == TellWallet::Reasons {
        for check in failed {
            if !failed_checks.contains(&check.name) {
                failed_checks.push(check.name.clone());
            }
            let (why, _) = texts::failure(Lang::En, &check.name, &check.detail);
            if !reasons.contains(&why) {
                reasons.push(why);
            }
        }
    }
    let description = if reasons.is_empty() {
        "not accepted".to_owned()
    } else {
        format!("not accepted: {}", reasons.join("; "))
    };
    ResponseEndpointAnswer {
        redirect_uri,
        error: Some("invalid_request".to_owned()),
        error_description: Some(description),
        failed_checks,
    }
}

fn jwt_response(jwt: String) -> Response {
    let mut r = jwt.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(REQUEST_OBJECT_MEDIA_TYPE),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The pairs of an `application/x-www-form-urlencoded` body, in order; repeated names are
/// kept for the domain to refuse.
fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    if std::str::from_utf8(body).is_err() {
        return Err(Error::protocol("invalid_request", "the form is not UTF-8").into());
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}

#[cfg(test)]
mod tests {
    use protocol::verify::PRESENTATION_CHECKS;

    use super::*;

    fn failed(names: &[&str]) -> Vec<Check> {
        names
            .iter()
            .map(|n| {
                Check::fail(
                    n,
                    format!("{n}: a raw finding with https://secret.example/list#7"),
                )
            })
            .collect()
    }

    #[test]
    fn a_wallet_is_told_which_checks_failed_and_why_never_the_raw_finding() {
        let answer = not_accepted(
            TellWallet::Reasons,
            &failed(&["issuer_signature", "status", "issuer_key"]),
            Some("https://v.example/done#response_code=abc".into()),
        );
        assert_eq!(answer.error.as_deref(), Some("invalid_request"));
        assert_eq!(
            answer.failed_checks,
            ["issuer_signature", "status", "issuer_key"]
        );
        // One sentence per distinct reason: the key and the signature say the same thing.
        assert_eq!(
            answer.error_description.as_deref(),
            Some(
                "not accepted: the badge's signature does not check out: it may be forged or altered; whether the badge is revoked could not be confirmed"
            )
        );
        assert!(!serde_json::to_string(&answer).unwrap().contains("secret"));
        assert_eq!(
            answer.redirect_uri.as_deref(),
            Some("https://v.example/done#response_code=abc")
        );
    }

    #[test]
    fn under_outcome_the_wallet_learns_only_that_it_was_not_accepted() {
        let answer = not_accepted(TellWallet::Outcome, &failed(&["trust"]), None);
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!({"error": "invalid_request", "error_description": "not accepted"})
        );
    }

    #[test]
    fn every_reason_is_printable_ascii_as_rfc_6749_requires() {
        let mut names: Vec<&str> = PRESENTATION_CHECKS.to_vec();
        names.extend([
            "vp_token",
            "dcql",
            "replay",
            "request",
            "response_encryption",
            "x",
        ]);
        for name in names {
            let answer = not_accepted(TellWallet::Reasons, &failed(&[name]), None);
            let text = answer.error_description.unwrap();
            assert!(
                text.chars()
                    .all(|c| matches!(c, ' '..='!' | '#'..='[' | ']'..='~')),
                "{name}: {text}"
            );
        }
    }
}
