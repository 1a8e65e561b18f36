//! A result as the pages show it: the state, the wallet's error, a summary of the badge,
//! the disclosed claims and each check with its outcome.

use serde_json::Value;

use super::esc;
use crate::domain::requests::{RequestResult, ResultState};

/// The result section: the state, the wallet's error, the disclosed claims and each check.
pub fn result_fragment(r: &RequestResult) -> String {
    let (state, label) = match r.state {
        ResultState::Pending => ("pending", "Waiting for the wallet…"),
        ResultState::Verified => ("verified", "Verified"),
        ResultState::Rejected => ("rejected", "Rejected"),
        ResultState::Expired => ("expired", "Expired: no answer in time"),
    };
    let mut html = format!(
        "<p class=\"state {state}\" id=\"state\" data-state=\"{state}\">{}</p>",
        esc(label)
    );
    if r.state == ResultState::Pending {
        return html;
    }
    if let Some(error) = &r.error {
        html.push_str(&format!(
            "<p class=\"error\" id=\"wallet-error\">The wallet answered with an error: {}</p>",
            esc(error)
        ));
    }
    if !r.disclosed.is_empty() {
        for presentations in r.disclosed.values() {
            for claims in presentations {
                html.push_str(&badge_summary(claims));
            }
        }
        html.push_str("<h2>Disclosed claims</h2><table id=\"disclosed\"><tr><th>Claim</th><th>Value</th></tr>");
        for (query_id, presentations) in &r.disclosed {
            for (i, claims) in presentations.iter().enumerate() {
                let mut leaves = Vec::new();
                flatten(claims, String::new(), &mut leaves);
                for (path, value) in leaves {
                    let prefix = if presentations.len() > 1 {
                        format!("{query_id}[{i}] ")
                    } else {
                        String::new()
                    };
                    html.push_str(&format!(
                        "<tr><td><code>{}{}</code></td><td class=\"claim\">{}</td></tr>",
                        esc(&prefix),
                        esc(&path),
                        esc(&value)
                    ));
                }
            }
        }
        html.push_str("</table>");
    }
    if !r.checks.is_empty() {
        html.push_str("<h2>Checks</h2><table id=\"checks\"><tr><th>Check</th><th>Outcome</th><th>Detail</th></tr>");
        for c in &r.checks {
            let outcome = match c.ok {
                Some(true) => "passed",
                Some(false) => "failed",
                None => "not checked",
            };
            let on = c
                .presentation
                .as_deref()
                .map(|p| format!(" ({})", esc(p)))
                .unwrap_or_default();
            html.push_str(&format!(
                "<tr class=\"check\" data-check=\"{name}\" data-outcome=\"{outcome}\"><td>{name}{on}</td><td>{outcome}</td><td>{detail}</td></tr>",
                name = esc(&c.name),
                detail = esc(&c.detail),
            ));
        }
        html.push_str("</table>");
    }
    html
}

/// What a person at the desk looks for first: which badge, from whom, for whom.
fn badge_summary(claims: &Value) -> String {
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
    let mut html = String::from("<dl class=\"badge\" id=\"badge\">");
    for (label, value) in rows {
        if let Some(value) = value {
            html.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(label), esc(&value)));
        }
    }
    html.push_str("</dl>");
    html
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
        let html = result_fragment(&r);
        assert!(html.contains("data-state=\"rejected\""), "{html}");
        assert!(html.contains("&lt;b&gt;Ana&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>Ana"), "{html}");
        assert!(html.contains("<code>ld.n[1]</code></td><td class=\"claim\">true"));
        assert!(html.contains("data-check=\"trust\" data-outcome=\"failed\""));
        assert!(html.contains("issuer &quot;&lt;x&gt;&quot; is not trusted"));
    }
}
