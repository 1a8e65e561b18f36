//! A result as the pages show it (`templates/result.html`): first the verdict in one
//! sentence a person at the desk reads at a glance ("Verified: 田中 アナ holds … from …",
//! or what failed in plain words), then the badge's summary, then, folded away under
//! "Technical details", the disclosed claims and each check with its outcome.

use askama::Template;
use serde_json::Value;

use crate::domain::requests::{RequestResult, ResultState};

/// A result, ready for `templates/result.html`.
pub struct ResultView {
    /// `pending`, `verified`, `rejected` or `expired` (a CSS class too).
    pub state: &'static str,
    pub label: &'static str,
    pub pending: bool,
    /// The verdict in one sentence (none while pending).
    pub verdict: Option<String>,
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
            verdict: verdict(r),
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

/// The result in one sentence: who holds which badge from whom, or what failed, in plain
/// words (the check names and details stay in the technical table).
fn verdict(r: &RequestResult) -> Option<String> {
    match r.state {
        ResultState::Pending => None,
        ResultState::Expired => Some("No answer came from a wallet in time.".to_owned()),
        ResultState::Verified => {
            let status_checked = r
                .checks
                .iter()
                .any(|c| c.name == "status" && c.ok == Some(true));
            let sentences: Vec<String> = r
                .disclosed
                .values()
                .flatten()
                .map(|claims| {
                    let summary = badge_summary(claims);
                    let get = |label: &str| {
                        summary
                            .iter()
                            .find(|(l, _)| *l == label)
                            .map(|(_, v)| v.clone())
                    };
                    let badge = get("Badge").unwrap_or_else(|| "a badge".to_owned());
                    let who = get("Recipient").unwrap_or_else(|| "The holder".to_owned());
                    let mut s = format!("{who} holds “{badge}”");
                    if let Some(issuer) = get("Issuer") {
                        s.push_str(&format!(" from {issuer}"));
                    }
                    if let Some(from) = get("Valid from") {
                        s.push_str(&format!(", issued {}", from.get(..10).unwrap_or(&from)));
                    }
                    s.push_str(if status_checked {
                        "; not revoked."
                    } else {
                        "."
                    });
                    s
                })
                .collect();
            Some(if sentences.is_empty() {
                "Verified: the wallet's answer passed every check.".to_owned()
            } else {
                format!("Verified: {}", sentences.join(" "))
            })
        }
        ResultState::Rejected => {
            if let Some(error) = &r.error {
                return Some(format!(
                    "Not verified: the wallet did not share a badge ({error})."
                ));
            }
            let failed = r.checks.iter().find(|c| c.ok == Some(false));
            let why = match failed {
                None => "the answer could not be checked".to_owned(),
                Some(c) => match c.name.as_str() {
                    "status" if c.detail.starts_with("revoked") => {
                        "the issuer has revoked this badge".to_owned()
                    }
                    "status" if c.detail.starts_with("suspended") => {
                        "the issuer has suspended this badge".to_owned()
                    }
                    "status" => "its revocation status could not be confirmed".to_owned(),
                    "validity" => "the badge has expired or is not valid yet".to_owned(),
                    "issuer_key" | "issuer_signature" | "format" | "disclosures" => {
                        "the badge's signature does not check out: it may be forged or altered"
                            .to_owned()
                    }
                    "issuer_binding" | "requested_issuer" => {
                        "the badge was not issued by the issuer it names or this request asks for"
                            .to_owned()
                    }
                    "trust" => "the issuer is not on this verifier's trusted list".to_owned(),
                    "holder_binding" | "nonce" | "audience" | "kb_iat" | "sd_hash" => {
                        "it was not presented by its holder for this request".to_owned()
                    }
                    "image_digest" => "the badge's image has been changed".to_owned(),
                    "dcql" | "vp_token" | "vct" => {
                        "the badge does not match what was asked for".to_owned()
                    }
                    other => format!("the check “{other}” failed"),
                },
            };
            Some(format!("Not verified: {why}."))
        }
    }
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
