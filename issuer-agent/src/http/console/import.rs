//! The console's import pages: the upload form; the preview of an upload (counts, each bad
//! line with its reason, the repeats merged) with its confirm; the progress of the job (a
//! `<progress>` bar fed by server-sent events, refreshed by the page itself without
//! JavaScript); the result (who was registered, what was skipped and why); an interrupted
//! job's form to run the rest. The domain is [`crate::domain::import_jobs`].

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::import_texts::{self, ImportTexts, problem, progress_template, progress_text};
use super::{Layout, PageError, Web, encode, see_other};
use crate::App;
use crate::domain::import_jobs::{JobState, JobView, MAX_UPLOAD_BYTES};
use crate::domain::operators::{Operator, Role};
use crate::error::AppError;

/// The body limit of the upload route: the file and the form around it.
pub const UPLOAD_BODY_LIMIT: usize = MAX_UPLOAD_BYTES + 64 * 1024;

/// The progress page's policy: the console's, plus its own script and its event stream.
const PROGRESS_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The progress page's script: follows the job's events, then reloads into the result.
const PROGRESS_JS: &str = r#"(function () {
  var job = document.getElementById("job");
  if (!job || !window.EventSource) return;
  var bar = document.getElementById("bar");
  var count = document.getElementById("count");
  var template = job.getAttribute("data-template");
  var events = new EventSource(job.getAttribute("data-events"));
  events.addEventListener("progress", function (e) {
    var p = JSON.parse(e.data);
    bar.max = Math.max(p.total, 1);
    bar.value = p.done;
    count.textContent = template.replace("{done}", p.done).replace("{total}", p.total);
    if (p.state !== "running") {
      events.close();
      window.location.reload();
    }
  });
})();
"#;

/// A line of a table of records.
struct Line {
    line: i64,
    name: String,
    email: String,
    problem: &'static str,
    detail: String,
}

struct Choice {
    id: String,
    name: String,
}

/// A recent import, as the upload page lists it.
struct Recent {
    id: String,
    file_name: String,
    state: &'static str,
    state_label: &'static str,
    done: i64,
    total: i64,
    uploaded: String,
}

#[derive(Template)]
#[template(path = "console/import.html")]
struct UploadPage {
    layout: Layout,
    it: &'static ImportTexts,
    achievements: Vec<Choice>,
    can_change: bool,
    error: Option<String>,
    detail: Option<String>,
    recent: Vec<Recent>,
}

#[derive(Template)]
#[template(path = "console/import_preview.html")]
struct PreviewPage {
    layout: Layout,
    it: &'static ImportTexts,
    id: String,
    file_name: String,
    records: u64,
    new: u64,
    repeated: u64,
    already: u64,
    rejected: u64,
    problems: Vec<Line>,
    problems_cut: bool,
    repeats: Vec<(u64, u64, String)>,
    repeats_cut: bool,
    stopped: Option<String>,
    can_confirm: bool,
    expired: bool,
}

#[derive(Template)]
#[template(path = "console/import_progress.html")]
struct ProgressPage {
    layout: Layout,
    it: &'static ImportTexts,
    id: String,
    file_name: String,
    state: &'static str,
    done: i64,
    total: i64,
    count: String,
    template: &'static str,
    can_resume: bool,
}

#[derive(Template)]
#[template(path = "console/import_result.html")]
struct ResultPage {
    layout: Layout,
    it: &'static ImportTexts,
    file_name: String,
    failed: Option<String>,
    stopped: Option<String>,
    created_count: i64,
    duplicate_count: i64,
    rejected_count: i64,
    created: Vec<Line>,
    skipped: Vec<Line>,
    cut: bool,
}

fn it(web: &Web) -> &'static ImportTexts {
    import_texts::texts(web.lang)
}

/// `GET /console/import`: the upload form.
pub async fn page(State(app): State<App>, web: Web) -> Result<Response, PageError> {
    let operator = web.signed_in("/console/import")?;
    let can_change = operator.role.allows(Role::Operator);
    upload_page(&app, &web, can_change, StatusCode::OK, None, None).await
}

async fn upload_page(
    app: &App,
    web: &Web,
    can_change: bool,
    status: StatusCode,
    error: Option<String>,
    detail: Option<String>,
) -> Result<Response, PageError> {
    let achievements = app
        .store
        .achievements()
        .await
        .map_err(|e| web.error(e.into()))?
        .into_iter()
        .filter(|a| a.retired_at.is_none())
        .map(|a| Choice {
            id: a.id,
            name: a.name,
        })
        .collect();
    let recent = match &web.operator {
        Some(operator) => app
            .recent_imports(operator)
            .await
            .map_err(|e| web.error(e))?
            .into_iter()
            .map(|(r, state)| Recent {
                state: state.as_str(),
                state_label: import_texts::state_label(web.lang, state.as_str()),
                done: if state == JobState::Done {
                    r.total
                } else {
                    r.done
                },
                total: r.total,
                uploaded: super::when::shown_time_in(web.lang, r.created_at),
                id: r.id,
                file_name: r.file_name,
            })
            .collect(),
        None => vec![],
    };
    let layout = web.layout(it(web).title, "/console/import", "import");
    Ok(web.render(
        app,
        status,
        UploadPage {
            layout,
            it: it(web),
            achievements,
            can_change,
            error,
            detail,
            recent,
        },
    ))
}

/// The upload form's fields.
struct Upload {
    csrf: Option<String>,
    achievement_id: Option<String>,
    file_name: String,
    body: Vec<u8>,
}

/// Why the upload form could not be read.
pub(super) enum UploadError {
    TooLarge,
    Unreadable(String),
}

/// Bytes of a refused upload still read (and dropped) so the browser gets the answer
/// rather than a connection reset mid-upload; past this the connection is just closed.
const DRAIN_LIMIT: usize = 256 * 1024 * 1024;

/// The whole body, or [`UploadError::TooLarge`] when it is over `limit` bytes (what follows
/// is read and dropped, up to [`DRAIN_LIMIT`]).
pub(super) async fn body_within(
    body: axum::body::Body,
    limit: usize,
) -> Result<Vec<u8>, UploadError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| UploadError::Unreadable(e.to_string()))?;
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            break;
        }
        if seen <= limit {
            out.extend_from_slice(&chunk);
        }
    }
    if seen > limit {
        Err(UploadError::TooLarge)
    } else {
        Ok(out)
    }
}

/// A part of a `multipart/form-data` form.
pub(super) struct Part {
    pub name: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Part {
    /// The part as a short text (a form field).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes)
            .chars()
            .take(200)
            .collect()
    }
}

/// The parts of a `multipart/form-data` body of at most `limit` bytes.
pub(super) async fn parts(request: Request, limit: usize) -> Result<Vec<Part>, UploadError> {
    let (head, body) = request.into_parts();
    let body = body_within(body, limit).await?;
    let request = Request::from_parts(head, axum::body::Body::from(body));
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| UploadError::Unreadable(e.body_text()))?;
    let mut out = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(UploadError::Unreadable(e.body_text())),
        };
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().unwrap_or("").to_owned();
        let content_type = field.content_type().unwrap_or("").to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| UploadError::Unreadable(e.body_text()))?;
        out.push(Part {
            name,
            file_name,
            content_type,
            bytes: bytes.to_vec(),
        });
    }
    Ok(out)
}

async fn read_upload(request: Request) -> Result<Upload, UploadError> {
    let mut upload = Upload {
        csrf: None,
        achievement_id: None,
        file_name: String::new(),
        body: Vec::new(),
    };
    for part in parts(request, UPLOAD_BODY_LIMIT).await? {
        match part.name.as_str() {
            "csrf" => upload.csrf = Some(part.text()),
            "achievement_id" => {
                let id = part.text();
                upload.achievement_id = (!id.is_empty()).then_some(id);
            }
            "file" => {
                upload.file_name = part.file_name;
                upload.body = part.bytes;
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// The role gate for a multipart form: its CSRF token goes through the console's one
/// check ([`Web::form`]) as the form it would be.
pub(super) fn gate(
    web: &Web,
    app: &App,
    csrf: Option<&str>,
    needs: Role,
) -> Result<Operator, PageError> {
    let body = format!("csrf={}", encode(csrf.unwrap_or("")));
    Ok(web.form(app, body.as_bytes(), needs)?.0)
}

/// `POST /console/import` (multipart: `csrf`, `achievement_id`, `file`): reads and checks
/// the whole file, keeps it, and shows its preview. A body over [`UPLOAD_BODY_LIMIT`] is
/// answered 413 with what to do (the route's own limit: the framework's is off for it).
pub async fn upload(
    State(app): State<App>,
    web: Web,
    request: Request,
) -> Result<Response, PageError> {
    let can_change = web
        .signed_in("/console/import")?
        .role
        .allows(Role::Operator);
    let form = match read_upload(request).await {
        Ok(form) => form,
        Err(UploadError::TooLarge) => {
            return upload_page(
                &app,
                &web,
                can_change,
                StatusCode::PAYLOAD_TOO_LARGE,
                Some(it(&web).too_large.to_owned()),
                Some(format!(
                    "the request body is over {UPLOAD_BODY_LIMIT} bytes"
                )),
            )
            .await;
        }
        Err(UploadError::Unreadable(detail)) => {
            return Err(web.error(AppError::bad_request("body", detail)));
        }
    };
    let operator = gate(&web, &app, form.csrf.as_deref(), Role::Operator)?;
    let session = web
        .session
        .clone()
        .ok_or_else(|| PageError::Redirect("/console/sign-in".into()))?;
    match app
        .upload_import(
            &operator,
            &session,
            &form.file_name,
            form.body,
            form.achievement_id.as_deref(),
        )
        .await
    {
        Ok(id) => Ok(see_other(&format!("/console/import/{}", encode(&id)))),
        Err(e @ AppError::BadRequest { .. }) => {
            upload_page(
                &app,
                &web,
                true,
                StatusCode::BAD_REQUEST,
                Some(it(&web).cannot_read.to_owned()),
                Some(e.to_string()),
            )
            .await
        }
        Err(e) => Err(web.error(e)),
    }
}

/// `GET /console/import/{id}`: the preview, the progress or the result, by the job's state.
pub async fn job(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let here = format!("/console/import/{}", encode(&id));
    let operator = web.signed_in(&here)?.clone();
    let view = app
        .import_job(&id, &operator)
        .await
        .map_err(|e| web.error(e))?;
    let can_change = operator.role.allows(Role::Operator);
    match view.state {
        JobState::Previewed | JobState::Expired => {
            Ok(preview_page(&app, &web, &here, view, can_change))
        }
        JobState::Running | JobState::Interrupted => {
            Ok(progress_page(&app, &web, &here, view, can_change))
        }
        JobState::Done | JobState::Failed => result_page(&app, &web, &here, view).await,
    }
}

fn preview_page(app: &App, web: &Web, here: &str, view: JobView, can_change: bool) -> Response {
    let t = it(web);
    let p = view.preview;
    let problems = p
        .errors
        .iter()
        .map(|e| Line {
            line: e.line as i64,
            name: String::new(),
            email: String::new(),
            problem: problem(web.lang, &e.column),
            detail: format!("{}: {}", e.column, e.reason),
        })
        .collect();
    let layout = web.layout(t.preview_title, here, "import");
    web.render(
        app,
        StatusCode::OK,
        PreviewPage {
            layout,
            it: t,
            id: view.row.id,
            file_name: view.row.file_name,
            records: p.records,
            new: p.new,
            repeated: p.repeated,
            already: p.already,
            rejected: p.rejected,
            problems_cut: p.rejected > p.errors.len() as u64,
            problems,
            repeats_cut: p.repeated > p.repeats.len() as u64,
            repeats: p
                .repeats
                .into_iter()
                .map(|r| (r.line, r.first_line, r.email))
                .collect(),
            stopped: p.stopped,
            can_confirm: can_change && view.state == JobState::Previewed && p.new > 0,
            expired: view.state == JobState::Expired,
        },
    )
}

fn progress_page(app: &App, web: &Web, here: &str, view: JobView, can_change: bool) -> Response {
    let t = it(web);
    let layout = web.layout(t.progress_title, here, "import");
    let mut r = web.render(
        app,
        StatusCode::OK,
        ProgressPage {
            layout,
            it: t,
            id: view.row.id,
            file_name: view.row.file_name,
            state: view.state.as_str(),
            done: view.row.done,
            total: view.row.total,
            count: progress_text(web.lang, view.row.done, view.row.total),
            template: progress_template(web.lang),
            can_resume: can_change && view.state == JobState::Interrupted,
        },
    );
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PROGRESS_CSP),
    );
    r
}

async fn result_page(
    app: &App,
    web: &Web,
    here: &str,
    view: JobView,
) -> Result<Response, PageError> {
    let t = it(web);
    let id = &view.row.id;
    let lines = |outcome: &'static str| async move {
        app.import_job_lines(id, outcome)
            .await
            .map_err(|e| web.error(e))
    };
    let created = lines("created").await?;
    let duplicates = lines("duplicate").await?;
    let rejected = lines("rejected").await?;
    let cut = view.created > created.len() as i64
        || view.duplicates > duplicates.len() as i64
        || view.rejected > rejected.len() as i64;
    let mut skipped: Vec<Line> = duplicates
        .into_iter()
        .map(|l| Line {
            line: l.line,
            name: l.name,
            email: l.email,
            problem: t.already_registered,
            detail: String::new(),
        })
        .chain(rejected.into_iter().map(|l| {
            let column = l.column_name.unwrap_or_default();
            Line {
                line: l.line,
                name: l.name,
                email: l.email,
                problem: problem(web.lang, &column),
                detail: format!("{column}: {}", l.reason.unwrap_or_default()),
            }
        }))
        .collect();
    skipped.sort_by_key(|l| l.line);
    let (failed, stopped) = match view.state {
        JobState::Failed => (view.row.error, None),
        _ => (None, view.row.error),
    };
    let layout = web.layout(t.result_title, here, "import");
    Ok(web.render(
        app,
        StatusCode::OK,
        ResultPage {
            layout,
            it: t,
            file_name: view.row.file_name,
            failed,
            stopped,
            created_count: view.created,
            duplicate_count: view.duplicates,
            rejected_count: view.rejected,
            created: created
                .into_iter()
                .map(|l| Line {
                    line: l.line,
                    name: l.name,
                    email: l.email,
                    problem: "",
                    detail: String::new(),
                })
                .collect(),
            skipped,
            cut,
        },
    ))
}

/// `POST /console/import/{id}/confirm`: starts the import of a preview (operators and
/// admins; only the operator and the session that uploaded it), then its progress page.
pub async fn confirm(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, _) = web.form(&app, &body, Role::Operator)?;
    let session = web
        .session
        .as_deref()
        .ok_or_else(|| PageError::Redirect("/console/sign-in".into()))?;
    app.confirm_import(&id, &operator, session)
        .await
        .map_err(|e| web.error(e))?;
    Ok(see_other(&format!("/console/import/{}", encode(&id))))
}

/// `POST /console/import/{id}/resume`: runs an interrupted import again (operators and
/// admins).
pub async fn resume(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, _) = web.form(&app, &body, Role::Operator)?;
    app.resume_import(&id, &operator)
        .await
        .map_err(|e| web.error(e))?;
    Ok(see_other(&format!("/console/import/{}", encode(&id))))
}

/// How often the event stream looks at the job.
const EVENT_POLL: Duration = Duration::from_millis(250);

/// `GET /console/import/{id}/events`: the job's progress as server-sent events
/// (`event: progress`, data `{"done", "total", "state", "created", "duplicates",
/// "rejected"}`), one when it changes, read from the database (so from any instance);
/// the stream ends after the event of a settled state.
pub async fn events(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let here = format!("/console/import/{}", encode(&id));
    let operator = web.signed_in(&here)?.clone();
    // A job the operator may not see is refused before the stream starts.
    app.import_job(&id, &operator)
        .await
        .map_err(|e| web.error(e))?;
    let state: Option<Option<(i64, &'static str)>> = Some(None);
    let stream = futures_util::stream::unfold(state, move |last| {
        let app = app.clone();
        let id = id.clone();
        let operator = operator.clone();
        async move {
            let last = last?;
            loop {
                let view = match app.import_job(&id, &operator).await {
                    Ok(view) => view,
                    Err(e) => {
                        tracing::error!(job = %id, error = %e, "import events");
                        let event = Event::default().event("error").data("unavailable");
                        return Some((Ok::<_, Infallible>(event), None));
                    }
                };
                let now = (view.row.done, view.state.as_str());
                if last != Some(now) {
                    let data = json!({
                        "done": view.row.done,
                        "total": view.row.total,
                        "state": view.state.as_str(),
                        "created": view.created,
                        "duplicates": view.duplicates,
                        "rejected": view.rejected,
                    });
                    let event = Event::default().event("progress").data(data.to_string());
                    let next = (!view.state.settled()).then_some(Some(now));
                    return Some((Ok(event), next));
                }
                tokio::time::sleep(EVENT_POLL).await;
            }
        }
    });
    let mut r = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `GET /console/import/progress.js`.
pub async fn script() -> Response {
    let mut r = PROGRESS_JS.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::super::texts::Lang;
    use super::*;

    #[test]
    fn the_script_fills_the_template_it_is_given() {
        assert!(PROGRESS_JS.contains("data-template"));
        for lang in [Lang::En, Lang::Ja] {
            let t = progress_template(lang);
            assert!(t.contains("{done}") && t.contains("{total}"));
        }
    }
}
