//! The audit page (`/console/audit`): every audited change, newest first, filtered by
//! operator, action and a range of days, a page at a time by key; and its CSV export
//! (`/console/audit.csv`), streamed a batch at a time like the registrations export, its
//! cells guarded against formula injection. Viewers may read both.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::ops_texts::{OpsTexts, action_label, ops};
use super::texts::Lang;
use super::when::shown_time_in;
use super::{Layout, PageError, Web};
use crate::App;
use crate::domain::console::{Cursor, csv_line};
use crate::domain::operations::{AuditFilter, AuditPage};
use crate::error::AppError;

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct EntryRow {
    id: String,
    at: String,
    action: String,
    action_label: String,
    subject: String,
    who: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPageView {
    layout: Layout,
    o: &'static OpsTexts,
    operators: Vec<Choice>,
    actions: Vec<Choice>,
    from: String,
    until: String,
    rows: Vec<EntryRow>,
    next_link: Option<String>,
    paged: bool,
    first_link: String,
    export_link: String,
}

#[derive(serde::Deserialize, Default)]
pub struct AuditQuery {
    operator: Option<String>,
    action: Option<String>,
    from: Option<String>,
    until: Option<String>,
    after: Option<String>,
}

/// The filter a query asks for (empty fields: no filter), or which field is wrong.
fn filter_of(query: AuditQuery) -> Result<AuditFilter, AppError> {
    let some = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let after = match some(query.after) {
        Some(a) => Some(
            Cursor::parse(&a)
                .ok_or_else(|| AppError::bad_request("after", "is not a page position"))?,
        ),
        None => None,
    };
    Ok(AuditFilter {
        operator_id: some(query.operator),
        action: some(query.action),
        from: some(query.from),
        until: some(query.until),
        after,
    })
}

/// The audit page's link (`path`: the page or its export) for a filter and a position.
fn audit_link(path: &str, f: &AuditFilter, after: Option<&Cursor>) -> String {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("operator", &f.operator_id),
        ("action", &f.action),
        ("from", &f.from),
        ("until", &f.until),
    ] {
        if let Some(v) = v {
            pairs.append_pair(k, v);
        }
    }
    if let Some(c) = after {
        pairs.append_pair("after", &c.encode());
    }
    let query = pairs.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Who made an entry, as the pages and the export say it.
fn who(o: &OpsTexts, name: Option<&str>, email: Option<&str>) -> String {
    match (name, email) {
        (Some(n), Some(e)) => format!("{n} <{e}>"),
        (Some(n), None) => n.to_owned(),
        _ => o.system.to_owned(),
    }
}

/// `GET /console/audit?operator=&action=&from=&until=&after=`: a page of the audit log.
pub async fn audit(
    State(app): State<App>,
    web: Web,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let filter = filter_of(query).map_err(|e| web.error(e))?;
    let here = audit_link("/console/audit", &filter, filter.after.as_ref());
    web.signed_in(&here)?;
    let page = app.audit_page(&filter).await.map_err(|e| web.error(e))?;
    let lang = web.lang;
    let o = ops(lang);
    let operators = app
        .operators()
        .await
        .map_err(|e| web.error(e))?
        .into_iter()
        .map(|op| Choice {
            selected: filter.operator_id.as_deref() == Some(op.id.as_str()),
            label: format!("{} <{}>", op.name, op.email),
            value: op.id,
        })
        .collect();
    let actions = app
        .audit_actions()
        .await
        .map_err(|e| web.error(e))?
        .into_iter()
        .map(|a| Choice {
            selected: filter.action.as_deref() == Some(a.as_str()),
            label: action_label(lang, &a),
            value: a,
        })
        .collect();
    let rows = page
        .rows
        .iter()
        .map(|r| EntryRow {
            id: r.id.clone(),
            at: shown_time_in(lang, r.at),
            action_label: action_label(lang, &r.action),
            action: r.action.clone(),
            subject: r.subject.clone(),
            who: who(o, r.operator_name.as_deref(), r.operator_email.as_deref()),
            detail: r.detail.clone(),
        })
        .collect();
    let unpaged = AuditFilter {
        after: None,
        ..filter.clone()
    };
    let layout = web.layout(web.t().audit, &here, "audit");
    Ok(web.render(
        &app,
        StatusCode::OK,
        AuditPageView {
            layout,
            o,
            operators,
            actions,
            from: filter.from.clone().unwrap_or_default(),
            until: filter.until.clone().unwrap_or_default(),
            rows,
            next_link: page
                .next
                .as_ref()
                .map(|c| audit_link("/console/audit", &unpaged, Some(c))),
            paged: filter.after.is_some(),
            first_link: audit_link("/console/audit", &unpaged, None),
            export_link: audit_link("/console/audit.csv", &unpaged, None),
        },
    ))
}

/// A batch of the export as CSV lines.
fn csv_rows(lang: Lang, page: &AuditPage) -> String {
    let o = ops(lang);
    let mut out = String::new();
    for r in &page.rows {
        out.push_str(&csv_line([
            protocol::clock::rfc3339(r.at).as_str(),
            action_label(lang, &r.action).as_str(),
            r.action.as_str(),
            r.subject.as_str(),
            who(o, r.operator_name.as_deref(), r.operator_email.as_deref()).as_str(),
            r.detail.as_str(),
        ]));
    }
    out
}

/// `GET /console/audit.csv?operator=&action=&from=&until=`: every entry the page's filter
/// selects, newest first, as CSV for Excel (UTF-8 with a byte order mark, CRLF lines,
/// formula-like cells neutralised), streamed a batch at a time.
pub async fn audit_csv(
    State(app): State<App>,
    web: Web,
    Query(query): Query<AuditQuery>,
) -> Result<Response, PageError> {
    let mut filter = filter_of(query).map_err(|e| web.error(e))?;
    filter.after = None;
    web.signed_in(&audit_link("/console/audit.csv", &filter, None))?;
    // The first batch before any byte is sent, so a bad filter is an error page.
    let first = app
        .audit_export_batch(&filter)
        .await
        .map_err(|e| web.error(e))?;
    let lang = web.lang;
    let t = web.t();
    let o = ops(lang);
    let mut head = String::from("\u{feff}");
    head.push_str(&csv_line([
        t.when,
        o.action,
        o.action_code,
        o.subject,
        o.operator,
        o.detail,
    ]));
    let fetch = move |after: Cursor| {
        let app = app.clone();
        let mut filter = filter.clone();
        filter.after = Some(after);
        async move { app.audit_export_batch(&filter).await }
    };
    Ok(super::csv::streamed(
        "attachment; filename=\"audit.csv\"",
        "audit export",
        head,
        first,
        |page: &AuditPage| page.next.clone(),
        move |page: &AuditPage| csv_rows(lang, page),
        fetch,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filter_and_empty_fields_are_no_filter() {
        let f = filter_of(AuditQuery {
            operator: Some("op-1".into()),
            action: Some(" ".into()),
            from: Some("2026-12-01".into()),
            until: None,
            after: Some(String::new()),
        })
        .unwrap();
        assert_eq!(f.action, None);
        assert_eq!(f.after, None);
        assert_eq!(
            audit_link("/console/audit", &f, None),
            "/console/audit?operator=op-1&from=2026-12-01"
        );
        let c = Cursor {
            created_at: 9,
            id: "ab".into(),
        };
        assert_eq!(
            audit_link("/console/audit.csv", &f, Some(&c)),
            "/console/audit.csv?operator=op-1&from=2026-12-01&after=9%7Eab"
        );
        assert!(matches!(
            filter_of(AuditQuery {
                after: Some("x".into()),
                ..AuditQuery::default()
            }),
            Err(AppError::BadRequest { field, .. }) if field == "after"
        ));
    }
}
