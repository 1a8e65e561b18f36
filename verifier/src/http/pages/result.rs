//! A result as the pages show it (`templates/result.html`): the state, the wallet's error,
//! a summary of the badge, the disclosed claims and each check with its outcome.

use askama::Template;
use serde_json::Value;

use crate::domain::requests::{RequestResult, ResultState};

/// A result, ready for `templates/result.html`.
pub struct ResultView {
    /// `pending`, `verified`, `rejected` or `expired` (a CSS class too).
    pub state: &'static str,
    pub label: &'static str,
    pub pending: bool,
    /// The wallet's error answer.
    pub error: Option<String>,
    /// Whether claims were disclosed (then their badge summaries and table are shown).
    pub disclosed: bool,
    /// Per presentation: what a person at the desk looks for first, as (label, value).
    pub badges: Vec<Vec<(&'static str, String)>>,
    /// Each disclosed leaf as (`query[i] a.b[0].c`, text).
    pub claims: Vec<(String, String)>,
    pub checks: Vec<CheckRow>,
}

/// A check's row.
pub struct CheckRow {
    pub name: String,
    /// The presentation it is about, when there are several.
    pub on: Option<String>,
    /// `passed`, `failed` or `not checked`.
    pub outcome: &'static str,
    pub detail: String,
}

impl ResultView {
    pub fn of(r: &RequestResult) -> ResultView {
        let (state, label) = match r.state {
            ResultState::Pending => ("pending", "Waiting for the wallet…"),
            ResultState::Verified => ("verified", "Verified"),
            ResultState::Rejected => ("rejected", "Rejected"),
            ResultState::Expired => ("expired", "Expired: no answer in time"),
        };
        let badges = r
            .disclosed
            .values()
            .flat_map(|presentations| presentations.iter().map(badge_summary))
            .collect();
        let mut claims = Vec::new();
        for (query_id, presentations) in &r.disclosed {
            for (i, presented) in presentations.iter().enumerate() {
                let mut leaves = Vec::new();
                flatten(presented, String::new(), &mut leaves);
                for (path, value) in leaves {
                    let path = if presentations.len() > 1 {
                        format!("{query_id}[{i}] {path}")
                    } else {
                        path
                    };
                    claims.push((path, value));
                }
            }
        }
        let checks = r
            .checks
            .iter()
            .map(|c| CheckRow {
                name: c.name.clone(),
                on: c.presentation.clone(),
                outcome: match c.ok {
                    Some(true) => "passed",
                    Some(false) => "failed",
                    None => "not checked",
                },
                detail: c.detail.clone(),
            })
            .collect();
        ResultView {
            state,
            label,
            pending: r.state == ResultState::Pending,
            error: r.error.clone(),
            disclosed: !r.disclosed.is_empty(),
            badges,
            claims,
            checks,
        }
    }
}

/// `templates/result_fragment.html`: the result section alone (the event stream, the
/// polling fallback).
#[derive(Template)]
#[template(path = "result_fragment.html")]
pub struct ResultFragment {
    pub result: ResultView,
}

/// The result section as HTML.
pub fn result_fragment(r: &RequestResult) -> Result<String, askama::Error> {
    ResultFragment {
        result: ResultView::of(r),
    }
    .render()
}

/// What a person at the desk looks for first: which badge, from whom, for whom.
fn badge_summary(claims: &Value) -> Vec<(&'static str, String)> {
    let ld = &claims["ld"];
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let recipient = ld["credentialSubject"]["identifier"]
        .as_array()
        .and_then(|ids| {
            ids.iter()
                .find(|i| i["identityType"] == protocol::ob3::IDENTITY_TYPE_NAME)
        })
        .and_then(|i| text(&i["identityHash"]));
    let rows = [
        (
            "Badge",
            text(&ld["credentialSubject"]["achievement"]["name"]),
        ),
        // Shown only for claims that passed every check, `issuer_binding` included: the
        // name is the verified signer's own, and its identifier stands beside it.
        (
            "Issuer",
            match (
                text(&ld["issuer"]["name"]),
                text(&claims["iss"]).or_else(|| text(&ld["issuer"]["id"])),
            ) {
                (Some(name), Some(iss)) => Some(format!("{name} ({iss})")),
                (name, iss) => iss.or(name),
            },
        ),
        ("Recipient", recipient),
        ("Valid from", text(&ld["validFrom"])),
        ("Valid until", text(&ld["validUntil"])),
    ];
    rows.into_iter()
        .filter_map(|(label, value)| value.map(|v| (label, v)))
        .collect()
}

/// The leaves of a JSON value as (`a.b[0].c`, text) pairs.
fn flatten(value: &Value, path: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{path}[{i}]"), out);
            }
        }
        Value::String(s) => out.push((path, s.clone())),
        other => out.push((path, other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use protocol::verify::Check;

    use super::*;

    #[test]
    fn the_result_fragment_escapes_claims_and_checks() {
        let mut disclosed = std::collections::BTreeMap::new();
        disclosed.insert(
            "badge".to_owned(),
            vec![serde_json::json!({"ld": {"name": "<b>Ana</b>", "n": [1, true]}})],
        );
        let r = RequestResult {
            id: "r".into(),
            state: ResultState::Rejected,
            checks: vec![
                Check::pass("nonce", "ok"),
                Check::fail("trust", "issuer \"<x>\" is not trusted"),
            ],
            disclosed,
            error: None,
            created_at: 0,
            expires_at: 10,
            responded_at: Some(5),
        };
        let html = result_fragment(&r).unwrap();
        assert!(html.contains("data-state=\"rejected\""), "{html}");
        assert!(html.contains("&lt;b&gt;Ana&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>Ana"), "{html}");
        assert!(html.contains("<code>ld.n[1]</code></td><td class=\"claim\">true"));
        assert!(html.contains("data-check=\"trust\" data-outcome=\"failed\""));
        assert!(html.contains("issuer &quot;&lt;x&gt;&quot; is not trusted"));
    }
}
