//! The delivery page (`/console/delivery`): the issuer's outbox, newest first, with the
//! count of emails in each delivery state, a filter by state, key-based paging, the mail
//! server's reply to each failed attempt, and (operators and admins) a "retry" button on
//! each email the worker gave up on (`POST /console/delivery/{id}/retry`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::ops_texts::{OpsTexts, delivery_state_label, ops};
use super::texts;
use super::when::shown_time_in;
use super::{Layout, PageError, Web, local_console_path, see_other};
use crate::App;
use crate::domain::console::Cursor;
use crate::domain::operations::DeliveryFilter;
use crate::domain::operators::Role;
use crate::error::AppError;

struct StateCount {
    key: &'static str,
    label: &'static str,
    n: i64,
    current: bool,
}

struct MessageRow {
    id: String,
    registration_id: String,
    name: String,
    recipient: String,
    kind: &'static str,
    state: &'static str,
    state_label: &'static str,
    attempts: i64,
    written: String,
    sent: String,
    reply: Option<String>,
    /// Given up or refused before it was sent: the operator may put it back in the queue.
    retryable: bool,
}

#[derive(Template)]
#[template(path = "console/delivery.html")]
struct DeliveryPage {
    layout: Layout,
    o: &'static OpsTexts,
    counts: Vec<StateCount>,
    rows: Vec<MessageRow>,
    can_retry: bool,
    next_link: Option<String>,
    paged: bool,
    first_link: String,
    done: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct DeliveryQuery {
    state: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// The delivery page's link for a state and a position.
fn delivery_link(state: Option<&str>, after: Option<&Cursor>) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    if let Some(s) = state {
        pairs.append_pair("state", s);
    }
    if let Some(c) = after {
        pairs.append_pair("after", &c.encode());
    }
    let query = pairs.finish();
    if query.is_empty() {
        "/console/delivery".to_owned()
    } else {
        format!("/console/delivery?{query}")
    }
}

/// `GET /console/delivery?state=&after=`: a page of the outbox.
pub async fn delivery(
    State(app): State<App>,
    web: Web,
    Query(query): Query<DeliveryQuery>,
) -> Result<Response, PageError> {
    let state = query.state.filter(|s| !s.is_empty());
    let after =
        match query.after.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Some(Cursor::parse(a).ok_or_else(|| {
                web.error(AppError::bad_request("after", "is not a page position"))
            })?),
            None => None,
        };
    let here = delivery_link(state.as_deref(), after.as_ref());
    let operator = web.signed_in(&here)?;
    let can_retry = operator.role.allows(Role::Operator);
    let page = app
        .delivery_page(&DeliveryFilter {
            state: state.clone(),
            after: after.clone(),
        })
        .await
        .map_err(|e| web.error(e))?;
    let counts = app.delivery_counts().await.map_err(|e| web.error(e))?;
    let lang = web.lang;
    let rows = page
        .rows
        .into_iter()
        .map(|m| {
            let state = m.state(page.now);
            MessageRow {
                kind: texts::email_label(lang, &m.kind, "").0,
                state,
                state_label: delivery_state_label(lang, state),
                attempts: m.attempts,
                written: shown_time_in(lang, m.created_at),
                sent: m
                    .sent_at
                    .map(|at| shown_time_in(lang, at))
                    .unwrap_or_default(),
                retryable: m.sent_at.is_none() && m.next_attempt_at == kit::mail::outbox::NEVER,
                reply: m.last_error,
                id: m.id,
                registration_id: m.registration_id,
                name: m.name,
                recipient: m.recipient,
            }
        })
        .collect();
    let layout = web.layout(web.t().delivery, &here, "delivery");
    Ok(web.render(
        &app,
        StatusCode::OK,
        DeliveryPage {
            layout,
            o: ops(lang),
            counts: counts
                .into_iter()
                .map(|(key, n)| StateCount {
                    key,
                    label: delivery_state_label(lang, key),
                    n,
                    current: state.as_deref() == Some(key),
                })
                .collect(),
            rows,
            can_retry,
            next_link: page
                .next
                .as_ref()
                .map(|c| delivery_link(state.as_deref(), Some(c))),
            paged: after.is_some(),
            first_link: delivery_link(state.as_deref(), None),
            done: query.done.is_some(),
        },
    ))
}

/// `POST /console/delivery/{id}/retry`: puts a given-up email back in the queue
/// (operators and admins), audited, then back to the page the form was on.
pub async fn retry(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, form) = web.form(&app, &body, Role::Operator)?;
    app.requeue_message(&id, &operator)
        .await
        .map_err(|e| web.error(e))?;
    let back = local_console_path(form.get("back"));
    let back = if back.starts_with("/console/delivery") {
        back
    } else {
        "/console/delivery".to_owned()
    };
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{back}{sep}done=1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_state_and_the_position() {
        assert_eq!(delivery_link(None, None), "/console/delivery");
        let c = Cursor {
            created_at: 7,
            id: "m-1".into(),
        };
        assert_eq!(
            delivery_link(Some("failed"), Some(&c)),
            "/console/delivery?state=failed&after=7%7Em-1"
        );
    }
}
