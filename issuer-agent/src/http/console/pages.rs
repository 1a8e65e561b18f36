//! The console's pages: sign-in and sign-out, the overview, the registrations page with
//! its per-person badge status form, the language switch, and the issuer's `/`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::badge::{self, Action};
use super::ops_texts::{OpsTexts, ops};
use super::texts::{self, Lang};
use super::when::shown_time_in;
use super::{
    Layout, PageError, Web, cookie_names, encode, local_console_path, passkeys, see_other,
    set_cookie,
};
use crate::App;
use crate::domain::console::{Cursor, RegistrationFilter, RegistrationPage, Resend, csv_line};
use crate::domain::operators::{Role, SESSION_ABSOLUTE};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "console/root.html")]
struct RootPage {
    layout: Layout,
    issuer: String,
}

/// `GET /`: what this server is, and the way to the console.
pub async fn root(State(app): State<App>, web: Web) -> Response {
    let layout = web.layout(web.t().root_title, "/console", "");
    let issuer = app.settings().name_in(web.lang.code()).to_owned();
    web.render(&app, StatusCode::OK, RootPage { layout, issuer })
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    /// The passkey button's texts; none when this issuer has no relying party.
    passkey: Option<&'static passkeys::PasskeyTexts>,
}

#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn sign_in_page(
    State(app): State<App>,
    web: Web,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = local_console_path(q.next.as_deref());
    if web.operator.is_some() {
        return see_other(&next);
    }
    let here = format!("/console/sign-in?next={}", encode(&next));
    let layout = web.layout(web.t().sign_in_title, &here, "");
    let passkey = passkeys::sign_in_texts(&app, web.lang);
    web.render_with_csp(
        &app,
        StatusCode::OK,
        SignInPage {
            layout,
            email: String::new(),
            next,
            error: None,
            passkey,
        },
        passkeys::page_csp(passkey.is_some()),
    )
}

/// `POST /console/sign-in`: a session and the way back to `next`, or the form again with
/// the same answer for a wrong password and an unknown address.
pub async fn sign_in(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    let next = local_console_path(form.get("next"));
    let now = app.clock.now();
    match app
        .console_sign_in(form.value("email"), form.value("password"), web.client, now)
        .await
    {
        Ok((_, token)) => signed_in(&app, &web, &next, &token).await,
        Err(
            e @ (AppError::SignInRefused | AppError::SignInLocked { .. } | AppError::Throttled(_)),
        ) => Ok(sign_in_refused(&app, &web, next, form.value("email"), e)),
        Err(e) => Err(web.error(e)),
    }
}

/// `POST /console/sign-in/passkey`: a session from the passkey the page used
/// (`credential`), or the sign-in page again naming the check that failed.
pub async fn sign_in_passkey(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    let next = local_console_path(form.get("next"));
    let browser = passkeys::sign_in_browser(&app, &web)?;
    match app
        .passkey_sign_in(
            &browser,
            form.value("credential"),
            web.client,
            app.clock.now(),
        )
        .await
    {
        Ok((_, token)) => signed_in(&app, &web, &next, &token).await,
        Err(e @ (AppError::Passkey(_) | AppError::Throttled(_))) => {
            Ok(sign_in_refused(&app, &web, next, "", e))
        }
        Err(e) => Err(web.error(e)),
    }
}

/// The way on after a sign-in: the old session ended, the new one's cookie, `next`.
async fn signed_in(app: &App, web: &Web, next: &str, token: &str) -> Result<Response, PageError> {
    if let Some(old) = &web.session {
        app.end_console_session(old)
            .await
            .map_err(|e| web.error(e))?;
    }
    let mut r = see_other(next);
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(app, cookie_names(app).session, token, SESSION_ABSOLUTE),
    );
    Ok(r)
}

/// The sign-in page again, saying why the sign-in was refused.
fn sign_in_refused(app: &App, web: &Web, next: String, email: &str, e: AppError) -> Response {
    let (status, message) = if matches!(e, AppError::Passkey(_)) {
        (
            StatusCode::UNAUTHORIZED,
            format!("{} {e}", passkeys::texts(web.lang).refused),
        )
    } else {
        match PageError::from_app(e, web.lang) {
            PageError::Page {
                status, message, ..
            } => (status, message),
            PageError::Redirect(_) => (StatusCode::UNAUTHORIZED, String::new()),
        }
    };
    let here = format!("/console/sign-in?next={}", encode(&next));
    let layout = web.layout(web.t().sign_in_title, &here, "");
    let passkey = passkeys::sign_in_texts(app, web.lang);
    web.render_with_csp(
        app,
        status,
        SignInPage {
            layout,
            email: email.chars().take(254).collect(),
            next,
            error: Some(message),
            passkey,
        },
        passkeys::page_csp(passkey.is_some()),
    )
}

/// `POST /console/sign-out`: ends the session everywhere and forgets the cookie.
pub async fn sign_out(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    web.form(&app, &body, Role::Viewer)?;
    if let Some(token) = &web.session {
        app.end_console_session(token)
            .await
            .map_err(|e| web.error(e))?;
    }
    let mut r = see_other("/console/sign-in");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, cookie_names(&app).session, "", 0),
    );
    Ok(r)
}

/// `GET /console/lang/{lang}?next=`: remembers the language and goes back.
pub async fn set_lang(
    State(app): State<App>,
    Path(lang): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = local_console_path(q.next.as_deref());
    let mut r = see_other(&next);
    if let Some(l) = Lang::parse(&lang) {
        r.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&app, texts::LANG_COOKIE, l.code(), 365 * 24 * 3600),
        );
    }
    r
}

/// A count with its status, as the pages list it.
struct Count {
    key: &'static str,
    label: &'static str,
    n: i64,
    current: bool,
}

/// An achievement with its registrations, as the overview lists it.
struct AchievementCount {
    id: String,
    name: String,
    retired: bool,
    registrations: i64,
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    layout: Layout,
    counts: Vec<Count>,
    total: i64,
    achievements: Vec<AchievementCount>,
}

/// `GET /console`: counts per status and per achievement.
pub async fn home(State(app): State<App>, web: Web) -> Result<Response, PageError> {
    web.signed_in("/console")?;
    let overview = app.overview().await.map_err(|e| web.error(e))?;
    let names = super::achievements::names_in(&app, web.lang)
        .await
        .map_err(|e| web.error(e))?;
    let counts = counts(web.lang, &overview.by_status, None);
    let layout = web.layout(web.t().home, "/console", "home");
    Ok(web.render(
        &app,
        StatusCode::OK,
        HomePage {
            layout,
            counts,
            total: overview.total,
            achievements: overview
                .achievements
                .into_iter()
                .map(|(id, name, retired, registrations)| AchievementCount {
                    name: names.get(&id).cloned().unwrap_or(name),
                    id,
                    retired,
                    registrations,
                })
                .collect(),
        },
    ))
}

fn counts(lang: Lang, by_status: &[(&'static str, i64)], current: Option<&str>) -> Vec<Count> {
    by_status
        .iter()
        .map(|&(key, n)| Count {
            key,
            label: texts::status_label(lang, key),
            n,
            current: current == Some(key),
        })
        .collect()
}

struct Row {
    id: String,
    name: String,
    email: String,
    achievement: String,
    status: String,
    status_label: &'static str,
    registered: String,
    actions: Vec<Action>,
}

#[derive(Template)]
#[template(path = "console/registrations.html")]
struct RegistrationsPage {
    layout: Layout,
    counts: Vec<Count>,
    total: i64,
    q: String,
    rows: Vec<Row>,
    can_change: bool,
    next_link: Option<String>,
    paged: bool,
    first_link: String,
    /// The CSV export of what this page filters.
    export_link: String,
    done: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct RegistrationsQuery {
    status: Option<String>,
    q: Option<String>,
    after: Option<String>,
    done: Option<String>,
}

/// The registrations page's link for a status, a search and a position.
fn registrations_link(status: Option<&str>, q: Option<&str>, after: Option<&Cursor>) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    if let Some(s) = status {
        pairs.append_pair("status", s);
    }
    if let Some(q) = q {
        pairs.append_pair("q", q);
    }
    if let Some(c) = after {
        pairs.append_pair("after", &c.encode());
    }
    let query = pairs.finish();
    if query.is_empty() {
        "/console/registrations".to_owned()
    } else {
        format!("/console/registrations?{query}")
    }
}

/// `GET /console/registrations?status=&q=&after=`: a page of people, newest first.
pub async fn registrations(
    State(app): State<App>,
    web: Web,
    Query(query): Query<RegistrationsQuery>,
) -> Result<Response, PageError> {
    let status = query.status.filter(|s| !s.is_empty());
    let q = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    let after =
        match query.after.as_deref().filter(|a| !a.is_empty()) {
            Some(a) => Some(Cursor::parse(a).ok_or_else(|| {
                web.error(AppError::bad_request("after", "is not a page position"))
            })?),
            None => None,
        };
    let here = registrations_link(status.as_deref(), q.as_deref(), after.as_ref());
    let operator = web.signed_in(&here)?;
    let can_change = operator.role.allows(Role::Operator);
    let page = app
        .registration_page(&RegistrationFilter {
            status: status.clone(),
            search: q.clone(),
            after: after.clone(),
            limit: None,
        })
        .await
        .map_err(|e| web.error(e))?;
    let overview = app.overview().await.map_err(|e| web.error(e))?;
    let names = super::achievements::names_in(&app, web.lang)
        .await
        .map_err(|e| web.error(e))?;
    let t = web.t();
    let rows = page
        .rows
        .into_iter()
        .map(|r| {
            let actions = badge::actions(t, &r.status);
            Row {
                status_label: texts::status_label(web.lang, &r.status),
                registered: protocol::clock::rfc3339(r.created_at)
                    .get(..10)
                    .unwrap_or_default()
                    .to_owned(),
                id: r.id,
                name: r.name,
                email: r.email,
                achievement: names
                    .get(&r.achievement_id)
                    .cloned()
                    .unwrap_or(r.achievement_name),
                status: r.status,
                actions,
            }
        })
        .collect();
    let layout = web.layout(t.registrations, &here, "registrations");
    Ok(web.render(
        &app,
        StatusCode::OK,
        RegistrationsPage {
            layout,
            counts: counts(web.lang, &overview.by_status, status.as_deref()),
            total: overview.total,
            q: q.clone().unwrap_or_default(),
            rows,
            can_change,
            next_link: page
                .next
                .as_ref()
                .map(|c| registrations_link(status.as_deref(), q.as_deref(), Some(c))),
            paged: after.is_some(),
            first_link: registrations_link(status.as_deref(), q.as_deref(), None),
            export_link: registrations_link(status.as_deref(), q.as_deref(), None).replacen(
                "/console/registrations",
                "/console/registrations.csv",
                1,
            ),
            done: query.done.is_some(),
        },
    ))
}

/// `GET /console/registrations.csv?status=&q=`: every registration the page's filter
/// selects, newest first, as CSV for Excel (UTF-8 with a byte order mark, CRLF lines,
/// formula-like cells neutralised), in the browser's language. Streamed a batch at a time:
/// 100,000 rows are never held at once.
pub async fn registrations_csv(
    State(app): State<App>,
    web: Web,
    Query(query): Query<RegistrationsQuery>,
) -> Result<Response, PageError> {
    let status = query.status.filter(|s| !s.is_empty());
    let q = query
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    let here = registrations_link(status.as_deref(), q.as_deref(), None).replacen(
        "/console/registrations",
        "/console/registrations.csv",
        1,
    );
    web.signed_in(&here)?;
    let filter = RegistrationFilter {
        status,
        search: q,
        after: None,
        limit: None,
    };
    // The first batch before any byte is sent, so a bad filter is an error page.
    let first = app.export_batch(&filter).await.map_err(|e| web.error(e))?;
    let lang = web.lang;
    let t = web.t();
    let mut head = String::from("\u{feff}");
    head.push_str(&csv_line([
        t.name,
        t.email,
        t.achievement,
        t.status,
        t.registered,
    ]));
    let fetch = move |after: Cursor| {
        let app = app.clone();
        let mut filter = filter.clone();
        filter.after = Some(after);
        async move { app.export_batch(&filter).await }
    };
    Ok(super::csv::streamed(
        "attachment; filename=\"registrations.csv\"",
        "registrations export",
        head,
        first,
        |page: &RegistrationPage| page.next.clone(),
        move |page: &RegistrationPage| csv_rows(lang, page),
        fetch,
    ))
}

/// A batch of the export as CSV lines.
fn csv_rows(lang: Lang, page: &RegistrationPage) -> String {
    let mut out = String::new();
    for r in &page.rows {
        out.push_str(&csv_line([
            r.name.as_str(),
            r.email.as_str(),
            r.achievement_name.as_str(),
            texts::status_label(lang, &r.status),
            protocol::clock::rfc3339(r.created_at).as_str(),
        ]));
    }
    out
}

struct HistoryLine {
    at: String,
    event: String,
    label: &'static str,
    by: String,
}

struct EmailLine {
    kind: &'static str,
    state: String,
    state_label: &'static str,
    sent: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/person.html")]
struct PersonPage {
    layout: Layout,
    id: String,
    name: String,
    email: String,
    achievement: String,
    status: String,
    status_label: &'static str,
    registered: String,
    resend_label: Option<&'static str>,
    can_change: bool,
    /// The badge's status changes this person's badge may have (operators and admins).
    actions: Vec<Action>,
    o: &'static OpsTexts,
    done: Option<&'static str>,
    history: Vec<HistoryLine>,
    emails: Vec<EmailLine>,
}

#[derive(serde::Deserialize, Default)]
pub struct PersonQuery {
    done: Option<String>,
}

/// `GET /console/registrations/{id}`: one person, their history and emails, and (for
/// operators and admins) the form that sends their invitation or offer again.
pub async fn person(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    Query(query): Query<PersonQuery>,
) -> Result<Response, PageError> {
    let here = format!("/console/registrations/{}", encode(&id));
    let operator = web.signed_in(&here)?;
    let can_change = operator.role.allows(Role::Operator);
    let p = app.person(&id).await.map_err(|e| web.error(e))?;
    let t = web.t();
    let achievement = app
        .store
        .achievement(&p.registration.achievement_id)
        .await
        .map_err(|e| web.error(e.into()))?
        .map(|a| {
            crate::domain::achievements::localized(&a, web.lang.code())
                .name
                .to_owned()
        })
        .unwrap_or_default();
    let history = p
        .history
        .iter()
        .map(|h| HistoryLine {
            at: shown_time_in(web.lang, h.at),
            event: h.event.clone(),
            label: texts::event_label(web.lang, &h.event),
            by: h.operator.clone().unwrap_or_default(),
        })
        .collect();
    let emails = p
        .registration
        .messages
        .iter()
        .map(|m| {
            let state = m["status"].as_str().unwrap_or("pending").to_owned();
            let (kind, state_label) =
                texts::email_label(web.lang, m["kind"].as_str().unwrap_or(""), &state);
            EmailLine {
                kind,
                state_label,
                sent: m["sent_at"]
                    .as_i64()
                    .map(|at| shown_time_in(web.lang, at))
                    .unwrap_or_default(),
                error: m["last_error"].as_str().map(str::to_owned),
                state,
            }
        })
        .collect();
    let done = match query.done.as_deref() {
        Some("invitation") => Some(t.invitation_resent),
        Some("offer") => Some(t.offer_resent),
        Some("1") => Some(t.status_changed),
        _ => None,
    };
    let layout = web.layout(&p.registration.name, &here, "registrations");
    Ok(web.render(
        &app,
        StatusCode::OK,
        PersonPage {
            layout,
            status_label: texts::status_label(web.lang, &p.status),
            registered: shown_time_in(web.lang, p.registration.created_at),
            resend_label: p.resend.map(|r| match r {
                Resend::Invitation => t.resend_invitation,
                Resend::Offer => t.resend_offer,
            }),
            can_change,
            actions: badge::actions(t, &p.status),
            o: ops(web.lang),
            done,
            history,
            emails,
            id: p.registration.id,
            name: p.registration.name,
            email: p.registration.email,
            achievement,
            status: p.status,
        },
    ))
}

/// `POST /console/registrations/{id}/resend`: the invitation or the offer again
/// (operators and admins), audited with the operator, then back to the person.
pub async fn resend(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, _) = web.form(&app, &body, Role::Operator)?;
    let what = app
        .console_resend(&id, &operator)
        .await
        .map_err(|e| web.error(e))?;
    let done = match what {
        Resend::Invitation => "invitation",
        Resend::Offer => "offer",
    };
    Ok(see_other(&format!(
        "/console/registrations/{}?done={done}",
        encode(&id)
    )))
}

/// `POST /console/registrations/{id}/status`: revoke, suspend or restore the person's
/// badge (operators and admins), then back to the page the form was on. A revocation not
/// confirmed (`confirm=yes`, sent by the "are you sure" page) goes to that page first and
/// changes nothing.
pub async fn set_registration_status(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, form) = web.form(&app, &body, Role::Operator)?;
    let back = local_console_path(form.get("back"));
    let back = if back.starts_with("/console/registrations") {
        back
    } else {
        "/console/registrations".to_owned()
    };
    // A revocation is final: it is made only from the page that says so.
    if badge::needs_confirmation(form.value("status"), form.get("confirm")) {
        return Ok(see_other(&badge::confirmation_link(&id, &back)));
    }
    app.set_registration_status(&id, form.value("status"), &operator)
        .await
        .map_err(|e| web.error(e))?;
    let sep = if back.contains('?') { '&' } else { '?' };
    Ok(see_other(&format!("{back}{sep}done=1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filter_and_encode_the_search() {
        assert_eq!(
            registrations_link(None, None, None),
            "/console/registrations"
        );
        let c = Cursor {
            created_at: 5,
            id: "ab".into(),
        };
        assert_eq!(
            registrations_link(Some("revoked"), Some("a&b c"), Some(&c)),
            "/console/registrations?status=revoked&q=a%26b+c&after=5%7Eab"
        );
    }
}
