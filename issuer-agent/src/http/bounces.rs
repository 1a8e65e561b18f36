//! The two ways in of `domain::bounces`: a delivery status notification handed in by the
//! operator's mail system (admin API), and the invitation link a person opens.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::admin::Admin;
use super::openapi::{ADMIN, PROTOCOL, Problem};
use crate::App;
use crate::domain::bounces::BounceOutcome;
use crate::error::AppError;
use crate::mail::dsn::MAX_DSN_BYTES;

/// The longest invitation a link may carry (ours are under 2 KB).
const MAX_INVITATION: usize = 8 * 1024;

/// `POST /admin/bounces`: the raw notification as the mail system received it (the
/// whole message, headers included, any content type). `?envelope_to=` may name the
/// address it was delivered to (Postfix's `${original_recipient}`, Exim's
/// `$original_local_part@$original_domain`); without it the message's `X-Original-To`,
/// `Delivered-To`, `Envelope-To` and `To` are read.
#[utoipa::path(post, path = "/admin/bounces", tag = ADMIN,
    params(("envelope_to" = Option<String>, Query, description = "The address the notification was delivered to, when the mail system knows it: the email's return path, bounces+<id>-<tag>@<ISSUER_BOUNCE_DOMAIN>")),
    request_body(content = String, content_type = "message/rfc822",
        description = "A delivery status notification (RFC 3464, a multipart/report; report-type=delivery-status), at most 1 MiB"),
    responses((status = 200, description = "The email its return path names is marked bounced (or was before)", body = BounceOutcome),
        (status = 400, description = "Not a delivery status notification this issuer reads (the check named)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No email has the id its return path names", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ISSUER_BOUNCE_DOMAIN is not set", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A forged return path, a report about another recipient, or not a permanent failure (4.x.x, delayed)", body = Problem, content_type = "application/problem+json")))]
pub async fn bounce(
    _: Admin,
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> Result<Json<BounceOutcome>, AppError> {
    let envelope_to = q.get("envelope_to").map(String::as_str);
    Ok(Json(
        app.bounce_report(&body, envelope_to, app.clock.now())
            .await?,
    ))
}

/// `GET /invitations/open?invitation=`: the link of the invitation email. A valid
/// invitation's first opening is recorded (the person's status becomes "invitation
/// opened"); every invitation, valid or not, goes on to the wallet's registration page,
/// which tells the person what to do (or why the invitation no longer works).
#[utoipa::path(get, path = "/invitations/open", tag = PROTOCOL,
    params(("invitation" = String, Query, description = "The invitation (a JWT this issuer signed)")),
    responses((status = 303, description = "On to the wallet's registration page; a valid invitation's first opening is recorded"),
        (status = 400, description = "No invitation, or one longer than 8 KiB", body = Problem, content_type = "application/problem+json")))]
pub async fn open_invitation(
    State(app): State<App>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let token = q
        .get("invitation")
        .filter(|t| !t.is_empty() && t.len() <= MAX_INVITATION)
        .ok_or_else(|| {
            AppError::bad_request(
                "invitation",
                "a link's invitation of at most 8 KiB is needed",
            )
        })?;
    if let Err(e) = app.open_invitation(token, app.clock.now()).await {
        // The wallet's page explains a refused invitation to the person; only the
        // issuer's own failures are worth a warning.
        match e {
            AppError::InvalidToken(reason) => {
                tracing::debug!(%reason, "invitation opened, not counted")
            }
            other => tracing::warn!(error = %other, "recording an invitation's opening failed"),
        }
    }
    let mut r = Redirect::to(&app.wallet_registration_page(token)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(r)
}

/// The body limit of `POST /admin/bounces`: one byte more than a notification may have, so
/// a larger one reaches the parser's own check and is refused with its size.
pub const BODY_LIMIT: usize = MAX_DSN_BYTES + 1;
