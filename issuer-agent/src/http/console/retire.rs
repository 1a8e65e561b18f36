//! The "are you sure" page an achievement's retirement goes through
//! (`GET /console/achievements/{id}/retire`), as a badge's revocation does
//! ([`super::badge`]): it says in plain words what retiring does, and only its form
//! carries `confirm=yes`; a retire form without it is sent here
//! ([`super::achievements::retire`]).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::texts::Lang;
use super::{Layout, PageError, Web, encode};
use crate::App;
use crate::domain::achievements::localized;
use crate::domain::operators::Role;
use crate::error::AppError;

/// The fixed texts of the page.
pub struct RetireTexts {
    pub title: &'static str,
    pub explain: &'static str,
    pub registered: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
}

const EN: RetireTexts = RetireTexts {
    title: "Retire this achievement?",
    explain: "Nobody new can be registered for it and no new badge offers are made; invitations and offers already sent can no longer be used to receive it. Badges already issued stay valid. A retired achievement cannot be brought back from the console.",
    registered: "People registered",
    yes: "Yes, retire it",
    no: "No, keep it",
};

const JA: RetireTexts = RetireTexts {
    title: "このバッジの種類を廃止しますか？",
    explain: "新しい登録や受け取り案内はできなくなり、送信済みの招待や案内からも受け取れなくなります。発行済みのバッジは有効なままです。廃止したバッジの種類はコンソールから元に戻せません。",
    registered: "登録者数",
    yes: "廃止する",
    no: "廃止しない",
};

pub fn retire_texts(lang: Lang) -> &'static RetireTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// Whether a retire form's fields may retire at once: only the confirmation page's.
pub fn confirmed(confirm: Option<&str>) -> bool {
    confirm == Some("yes")
}

/// Where the confirmation page of achievement `id` is.
pub fn confirmation_link(id: &str) -> String {
    format!("/console/achievements/{}/retire", encode(id))
}

#[derive(Template)]
#[template(path = "console/retire.html")]
struct RetirePage {
    layout: Layout,
    r: &'static RetireTexts,
    id: String,
    name: String,
    registrations: i64,
}

/// `GET /console/achievements/{id}/retire`: the confirmation page (operators and admins;
/// a viewer gets 403). An achievement already retired has none.
pub async fn confirm_page(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let here = confirmation_link(&id);
    let operator = web.signed_in(&here)?;
    operator
        .role
        .require(Role::Operator)
        .map_err(|e| web.error(e))?;
    let row = app
        .store
        .achievement(&id)
        .await
        .map_err(|e| web.error(e.into()))?
        .ok_or_else(|| web.error(AppError::NotFound(format!("achievement {id}"))))?;
    if row.retired_at.is_some() {
        return Err(web.error(AppError::bad_request(
            "achievement",
            format!("achievement {id} is already retired"),
        )));
    }
    let registrations = app
        .store
        .achievement_registration_counts()
        .await
        .map_err(|e| web.error(e.into()))?
        .into_iter()
        .find(|(a, ..)| *a == id)
        .map_or(0, |(.., n)| n);
    let r = retire_texts(web.lang);
    let layout = web.layout(r.title, &here, "achievements");
    Ok(web.render(
        &app,
        StatusCode::OK,
        RetirePage {
            layout,
            r,
            name: localized(&row, web.lang.code()).name.to_owned(),
            id: row.id,
            registrations,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_confirmation_pages_form_retires() {
        assert!(confirmed(Some("yes")));
        for other in [None, Some(""), Some("YES"), Some("no")] {
            assert!(!confirmed(other), "{other:?}");
        }
    }

    #[test]
    fn the_page_link_encodes_the_id() {
        assert_eq!(
            confirmation_link("a/b c"),
            "/console/achievements/a%2Fb+c/retire"
        );
    }
}
