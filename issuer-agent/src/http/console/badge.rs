//! A person's badge from the console: which status changes the forms offer, and the
//! "are you sure" page a revocation goes through (`GET /console/registrations/{id}/revoke`);
//! the change itself is `POST /console/registrations/{id}/status`
//! ([`super::pages::set_registration_status`]), one operation for every form the badge
//! was issued in.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::ops_texts::{OpsTexts, ops};
use super::texts::{self, Texts};
use super::{Layout, PageError, Web, encode, local_console_path};
use crate::App;
use crate::domain::operators::Role;

/// A button of a badge's status form: the status it sets and what it says.
pub struct Action {
    pub value: &'static str,
    pub label: &'static str,
}

/// The changes a badge in console status `status` may have: suspend or revoke a valid
/// one, restore or revoke a suspended one; a revoked one none (a revocation is final).
pub fn actions(t: &Texts, status: &str) -> Vec<Action> {
    let (suspend, restore, revoke) = (
        Action {
            value: "suspended",
            label: t.suspend,
        },
        Action {
            value: "valid",
            label: t.restore,
        },
        Action {
            value: "revoked",
            label: t.revoke,
        },
    );
    match status {
        "badge_received" => vec![suspend, revoke],
        "suspended" => vec![restore, revoke],
        _ => vec![],
    }
}

/// Whether a status form's fields ask for a change that needs the "are you sure" page
/// first: a revocation not yet confirmed there.
pub fn needs_confirmation(status: &str, confirm: Option<&str>) -> bool {
    status == "revoked" && confirm != Some("yes")
}

/// Where the confirmation page of `id` is, coming back to `back`.
pub fn confirmation_link(id: &str, back: &str) -> String {
    format!(
        "/console/registrations/{}/revoke?back={}",
        encode(id),
        encode(back)
    )
}

#[derive(Template)]
#[template(path = "console/revoke.html")]
struct RevokePage {
    layout: Layout,
    o: &'static OpsTexts,
    id: String,
    name: String,
    email: String,
    status_label: &'static str,
    back: String,
}

#[derive(serde::Deserialize, Default)]
pub struct BackQuery {
    back: Option<String>,
}

/// A page of the registrations, else the person's page.
fn back_to(id: &str, back: Option<&str>) -> String {
    let back = local_console_path(back);
    if back.starts_with("/console/registrations") {
        back
    } else {
        format!("/console/registrations/{}", encode(id))
    }
}

/// `GET /console/registrations/{id}/revoke?back=`: says in plain words what revoking does
/// and asks to confirm (operators and admins; a viewer gets 403). Only a badge that can
/// be revoked has the page.
pub async fn revoke_confirm(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    Query(q): Query<BackQuery>,
) -> Result<Response, PageError> {
    let back = back_to(&id, q.back.as_deref());
    let here = confirmation_link(&id, &back);
    let operator = web.signed_in(&here)?;
    operator
        .role
        .require(Role::Operator)
        .map_err(|e| web.error(e))?;
    let p = app.person(&id).await.map_err(|e| web.error(e))?;
    if !actions(web.t(), &p.status)
        .iter()
        .any(|a| a.value == "revoked")
    {
        return Err(web.error(crate::error::AppError::bad_request(
            "status",
            format!("a badge in status {} cannot be revoked", p.status),
        )));
    }
    let o = ops(web.lang);
    let layout = web.layout(o.revoke_title, &here, "registrations");
    Ok(web.render(
        &app,
        StatusCode::OK,
        RevokePage {
            layout,
            o,
            status_label: texts::status_label(web.lang, &p.status),
            id: p.registration.id,
            name: p.registration.name,
            email: p.registration.email,
            back,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::console::texts::LangTexts;

    #[test]
    fn only_a_confirmed_revocation_goes_through_without_the_page() {
        assert!(needs_confirmation("revoked", None));
        assert!(needs_confirmation("revoked", Some("")));
        assert!(needs_confirmation("revoked", Some("YES")));
        assert!(!needs_confirmation("revoked", Some("yes")));
        assert!(!needs_confirmation("suspended", None));
        assert!(!needs_confirmation("valid", None));
    }

    #[test]
    fn a_revoked_badge_has_no_actions_left() {
        let t = texts::Lang::En.texts();
        let values = |s| actions(t, s).iter().map(|a| a.value).collect::<Vec<_>>();
        assert_eq!(values("badge_received"), ["suspended", "revoked"]);
        assert_eq!(values("suspended"), ["valid", "revoked"]);
        assert!(values("revoked").is_empty());
        assert!(values("invited").is_empty());
    }

    #[test]
    fn the_way_back_stays_on_the_registrations() {
        assert_eq!(
            back_to("r1", Some("/console/registrations?status=suspended")),
            "/console/registrations?status=suspended"
        );
        for hostile in [
            "https://evil.example/",
            "//evil.example",
            "/console/operators",
        ] {
            assert_eq!(back_to("r 1", Some(hostile)), "/console/registrations/r+1");
        }
        assert_eq!(
            confirmation_link("r1", "/console/registrations?q=a b"),
            "/console/registrations/r1/revoke?back=%2Fconsole%2Fregistrations%3Fq%3Da+b"
        );
    }
}
