//! The operators page (`/console/operators`, admins only): the operators with their roles
//! and accounts, the form that adds one (its first password typed, or made here and shown
//! once on the answer page, never stored but hashed), and per operator the forms that
//! disable or enable it and change its role. And every operator's own password page
//! (`/console/password`), which needs the current password.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::ops_texts::{OpsTexts, ops};
use super::texts;
use super::when::shown_time_in;
use super::{Layout, PageError, Web, see_other};
use crate::App;
use crate::domain::operator_accounts::generated_password;
use crate::domain::operators::{NewOperator, Role};
use crate::error::AppError;

struct RoleChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct OperatorLine {
    id: String,
    name: String,
    email: String,
    roles: Vec<RoleChoice>,
    disabled: bool,
    added: String,
    is_you: bool,
}

#[derive(Template)]
#[template(path = "console/operators.html")]
struct OperatorsPage {
    layout: Layout,
    o: &'static OpsTexts,
    operators: Vec<OperatorLine>,
    roles: Vec<RoleChoice>,
    done: Option<&'static str>,
    /// A first password made by the console, shown this once.
    new_password: Option<String>,
    /// The add form's fields again after a refusal, and why.
    email: String,
    name: String,
    error: Option<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

fn roles(lang: texts::Lang, current: Role) -> Vec<RoleChoice> {
    [Role::Viewer, Role::Operator, Role::Admin]
        .into_iter()
        .map(|r| RoleChoice {
            value: r.as_str(),
            label: texts::role_label(lang, r),
            selected: r == current,
        })
        .collect()
}

/// The operators page with `done`, a new password, or the add form's refusal.
async fn render(
    app: &App,
    web: &Web,
    status: StatusCode,
    done: Option<&'static str>,
    new_password: Option<String>,
    refused: Option<(String, String, String)>,
) -> Result<Response, PageError> {
    let me = web.signed_in("/console/operators")?;
    me.role.require(Role::Admin).map_err(|e| web.error(e))?;
    let lang = web.lang;
    let operators = app
        .operators()
        .await
        .map_err(|e| web.error(e))?
        .into_iter()
        .map(|v| {
            let role = Role::parse(v.role).unwrap_or(Role::Viewer);
            OperatorLine {
                is_you: v.id == me.id,
                roles: roles(lang, role),
                disabled: v.disabled,
                added: shown_time_in(lang, v.created_at),
                id: v.id,
                name: v.name,
                email: v.email,
            }
        })
        .collect();
    let (email, name, error) = refused.unwrap_or_default();
    let layout = web.layout(web.t().operators, "/console/operators", "operators");
    Ok(web.render(
        app,
        status,
        OperatorsPage {
            layout,
            o: ops(lang),
            operators,
            roles: roles(lang, Role::Operator),
            done,
            new_password,
            email,
            name,
            error: (!error.is_empty()).then_some(error),
        },
    ))
}

/// `GET /console/operators`: the operators (admins; others get 403).
pub async fn operators(
    State(app): State<App>,
    web: Web,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let done = q.done.is_some().then_some(ops(web.lang).operator_changed);
    render(&app, &web, StatusCode::OK, done, None, None).await
}

/// `POST /console/operators`: adds an operator (admins). The answer is the page itself,
/// not a redirect, so a password made here is shown once and never put in a link.
pub async fn add(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (admin, form) = web.form(&app, &body, Role::Admin)?;
    let typed = form.value("password");
    let made = typed.is_empty().then(generated_password);
    let new = NewOperator {
        email: form.value("email").to_owned(),
        name: form.value("name").to_owned(),
        role: form.value("role").to_owned(),
        password: made.clone().unwrap_or_else(|| typed.to_owned()),
    };
    match app.console_add_operator(&new, &admin).await {
        Ok(_) => {
            let o = ops(web.lang);
            render(
                &app,
                &web,
                StatusCode::OK,
                Some(o.operator_added),
                made,
                None,
            )
            .await
        }
        Err(e @ AppError::BadRequest { .. }) => {
            let shown: String = new.email.chars().take(254).collect();
            render(
                &app,
                &web,
                StatusCode::BAD_REQUEST,
                None,
                None,
                Some((
                    shown,
                    new.name.chars().take(200).collect(),
                    format!("{}: {e}", web.t().bad_request),
                )),
            )
            .await
        }
        Err(e) => Err(web.error(e)),
    }
}

/// `POST /console/operators/{id}/{disable|enable|role}`: changes an operator (admins).
pub async fn change(
    State(app): State<App>,
    web: Web,
    Path((id, change)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (admin, form) = web.form(&app, &body, Role::Admin)?;
    let done = match change.as_str() {
        "disable" => app.disable_operator(&id, &admin).await,
        "enable" => app.enable_operator(&id, &admin).await,
        "role" => app.set_operator_role(&id, form.value("role"), &admin).await,
        _ => Err(AppError::NotFound("operator change".into())),
    };
    done.map_err(|e| web.error(e))?;
    Ok(see_other("/console/operators?done=1"))
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage {
    layout: Layout,
    o: &'static OpsTexts,
    done: bool,
    error: Option<String>,
}

/// `GET /console/password`: the form that changes one's own password (every role).
pub async fn password_page(
    State(app): State<App>,
    web: Web,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    web.signed_in("/console/password")?;
    let layout = web.layout(web.t().my_password, "/console/password", "password");
    Ok(web.render(
        &app,
        StatusCode::OK,
        PasswordPage {
            layout,
            o: ops(web.lang),
            done: q.done.is_some(),
            error: None,
        },
    ))
}

/// `POST /console/password`: changes one's own password, proving the current one.
pub async fn change_password(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (me, form) = web.form(&app, &body, Role::Viewer)?;
    let session = web.session.clone().unwrap_or_default();
    match app
        .change_own_password(
            &me,
            &session,
            form.value("current_password"),
            form.value("new_password"),
        )
        .await
    {
        Ok(()) => Ok(see_other("/console/password?done=1")),
        Err(e @ AppError::BadRequest { .. }) => {
            let layout = web.layout(web.t().my_password, "/console/password", "password");
            Ok(web.render(
                &app,
                StatusCode::BAD_REQUEST,
                PasswordPage {
                    layout,
                    o: ops(web.lang),
                    done: false,
                    error: Some(format!("{}: {e}", web.t().bad_request)),
                },
            ))
        }
        Err(e) => Err(web.error(e)),
    }
}
