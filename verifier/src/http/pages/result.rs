//! A result as the pages show it (`templates/result.html`): first the verdict in one
//! sentence a person at the desk reads at a glance ("Verified: 田中 アナ holds … from …",
//! or what failed in plain words), then the badge's summary, then, folded away under
//! "Technical details", the disclosed claims and each check with its outcome.

use askama::Template;
use kit::web::Lang;
use serde_json::Value;

use super::texts::{Texts, check_name, failure, texts};
use crate::domain::requests::{RequestResult, ResultState};

/// A result, ready for `templates/result.html`, in one language.
pub struct ResultView {
    pub t: &'static Texts,
    /// `pending`, `verified`, `rejected` or `expired` (a CSS class too).
    pub state: &'static str,
    pub label: &'static str,
    pub pending: bool,
    /// The verdict in one sentence (none while pending).
    pub verdict: Option<String>,
    /// What to do next, when not verified.
    pub next_step: Option<&'static str>,
    /// The first failed check, named in words.
    pub failed_check: Option<&'static str>,
    /// The wallet's error answer (its code and description, technical).
    pub error: Option<String>,
    /// The credential's format (technical; the `/check` page's results).
    pub format: Option<String>,
    /// Whether claims were disclosed (then their badge summaries and table are shown).
    pub disclosed: bool,
    /// Per presentation: what a person at the desk looks for first.
    pub badges: Vec<Vec<SummaryRow>>,
    /// Each disclosed leaf as (`query[i] a.b[0].c`, text).
    pub claims: Vec<(String, String)>,
    pub checks: Vec<CheckRow>,
}

/// A line of a badge's summary: its label, its text, and for a date its `datetime`.
pub struct SummaryRow {
    pub label: &'static str,
    pub text: String,
    pub datetime: Option<String>,
}

/// A check's row.
pub struct CheckRow {
    /// The check's name in the software (`data-check`).
    pub name: String,
    /// The check's name in words.
    pub label: &'static str,
    /// The presentation it is about, when there are several.
    pub on: Option<String>,
    /// `passed`, `failed` or `not checked` (`data-outcome`).
    pub outcome: &'static str,
    /// The outcome in words.
    pub outcome_label: &'static str,
    pub detail: String,
}

impl ResultView {
    pub fn of(r: &RequestResult, lang: Lang) -> ResultView {
        let t = texts(lang);
        let (state, label) = match r.state {
            ResultState::Pending => ("pending", t.pending),
            ResultState::Verified => ("verified", t.verified),
            ResultState::Rejected => ("rejected", t.rejected),
            ResultState::Expired => ("expired", t.expired),
        };
        let badges = r
            .disclosed
            .values()
            .flat_map(|presentations| presentations.iter().map(|c| summary_rows(c, lang)))
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
            .map(|c| {
                let (outcome, outcome_label) = match c.ok {
                    Some(true) => ("passed", t.passed),
                    Some(false) => ("failed", t.failed),
                    None => ("not checked", t.not_checked),
                };
                CheckRow {
                    name: c.name.clone(),
                    label: check_name(lang, &c.name),
                    on: c.presentation.clone(),
                    outcome,
                    outcome_label,
                    detail: c.detail.clone(),
                }
            })
            .collect();
        let failed = (r.state == ResultState::Rejected)
            .then(|| r.checks.iter().find(|c| c.ok == Some(false)))
            .flatten();
        let (verdict, next_step) = verdict(r, lang);
        ResultView {
            t,
            verdict,
            next_step,
            failed_check: failed.map(|c| check_name(lang, &c.name)),
            state,
            label,
            pending: r.state == ResultState::Pending,
            error: r.error.clone(),
            format: None,
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

/// The result section as HTML, in `lang`.
pub fn result_fragment(r: &RequestResult, lang: Lang) -> Result<String, askama::Error> {
    ResultFragment {
        result: ResultView::of(r, lang),
    }
    .render()
}

/// The result in one sentence: who holds which badge from whom, or what failed, in plain
/// words; and, when not verified, what to do next. The check names and details stay in
/// the technical table.
fn verdict(r: &RequestResult, lang: Lang) -> (Option<String>, Option<&'static str>) {
    let ja = lang == Lang::Ja;
    match r.state {
        ResultState::Pending => (None, None),
        ResultState::Expired => (
            Some(if ja {
                "時間内にウォレットからの応答がありませんでした。".to_owned()
            } else {
                "No answer came from a wallet in time.".to_owned()
            }),
            Some(if ja {
                "新しいリクエストを作成し、そのQRコードをもう一度読み取ってもらってください。"
            } else {
                "Create a new request and ask the holder to scan its QR code again."
            }),
        ),
        ResultState::Verified => {
            let status_checked = r
                .checks
                .iter()
                .any(|c| c.name == "status" && c.ok == Some(true));
            let sentences: Vec<String> = r
                .disclosed
                .values()
                .flatten()
                .map(|claims| holds(&Summary::of(claims, lang), status_checked, lang))
                .collect();
            let text = match (sentences.is_empty(), ja) {
                (true, false) => "Verified: the wallet's answer passed every check.".to_owned(),
                (true, true) => {
                    "確認済み：ウォレットの応答はすべての確認項目に合格しました。".to_owned()
                }
                (false, false) => format!("Verified: {}", sentences.join(" ")),
                (false, true) => format!("確認済み：{}", sentences.join("")),
            };
            (Some(text), None)
        }
        ResultState::Rejected => {
            if r.error.is_some() {
                return (
                    Some(if ja {
                        "確認できませんでした：ウォレットはバッジを提示しませんでした。".to_owned()
                    } else {
                        "Not verified: the wallet did not share a badge.".to_owned()
                    }),
                    Some(if ja {
                        "所持者が提示を断ったか、ウォレットに該当するバッジがありません。必要なら新しいリクエストを作成してください。"
                    } else {
                        "The holder declined, or their wallet holds no matching badge. Create a new request if needed."
                    }),
                );
            }
            let (why, next) = match r.checks.iter().find(|c| c.ok == Some(false)) {
                Some(c) => failure(lang, &c.name, &c.detail),
                None => failure(lang, "", ""),
            };
            let text = if ja {
                format!("確認できませんでした：{why}。")
            } else {
                format!("Not verified: {why}.")
            };
            (Some(text), Some(next))
        }
    }
}

/// "田中 アナ holds “Badge” from Issuer, issued 6 December 2026; not revoked."
fn holds(summary: &Summary, status_checked: bool, lang: Lang) -> String {
    match lang {
        Lang::En => {
            let who = summary.recipient.as_deref().unwrap_or("The holder");
            let badge = summary.badge.as_deref().unwrap_or("a badge");
            let mut s = format!("{who} holds “{badge}”");
            if let Some(issuer) = &summary.issuer {
                s.push_str(&format!(" from {issuer}"));
            }
            if let Some(from) = summary
                .valid_from
                .as_deref()
                .and_then(|d| lang.date_of_rfc3339(d))
            {
                s.push_str(&format!(", issued {}", from.text));
            }
            s.push_str(if status_checked {
                "; not revoked."
            } else {
                "."
            });
            s
        }
        Lang::Ja => {
            let who = summary
                .recipient
                .as_deref()
                .map_or_else(|| "所持者".to_owned(), |n| format!("{n} さん"));
            let badge = summary.badge.as_deref().unwrap_or("バッジ");
            let mut s = format!("{who}は");
            if let Some(issuer) = &summary.issuer {
                s.push_str(&format!("{issuer} が発行した"));
            }
            s.push_str(&format!("「{badge}」を保有しています"));
            let mut notes = Vec::new();
            if let Some(from) = summary
                .valid_from
                .as_deref()
                .and_then(|d| lang.date_of_rfc3339(d))
            {
                notes.push(format!("発行日 {}", from.text));
            }
            if status_checked {
                notes.push("失効していません".to_owned());
            }
            if !notes.is_empty() {
                s.push_str(&format!("（{}）", notes.join("、")));
            }
            s.push('。');
            s
        }
    }
}

/// What a person at the desk looks for first: which badge, from whom, for whom.
struct Summary {
    badge: Option<String>,
    issuer: Option<String>,
    recipient: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
}

impl Summary {
    /// The summary of `claims`, the badge named in `lang` when the credential carries
    /// that language edition (OB 3.0 `related`), else as it is named.
    fn of(claims: &Value, lang: Lang) -> Summary {
        let ld = &claims["ld"];
        let achievement = &ld["credentialSubject"]["achievement"];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let recipient = ld["credentialSubject"]["identifier"]
            .as_array()
            .and_then(|ids| {
                ids.iter()
                    .find(|i| i["identityType"] == protocol::ob3::IDENTITY_TYPE_NAME)
            })
            .and_then(|i| text(&i["identityHash"]));
        Summary {
            badge: protocol::ob3::achievement_text_in(achievement, lang.code(), "name")
                .map(str::to_owned)
                .or_else(|| text(&achievement["name"])),
            // Shown only for claims that passed every check, `issuer_binding` included: the
            // name is the verified signer's own, and its identifier stands beside it.
            issuer: match (
                text(&ld["issuer"]["name"]),
                text(&claims["iss"]).or_else(|| text(&ld["issuer"]["id"])),
            ) {
                (Some(name), Some(iss)) => Some(format!("{name} ({iss})")),
                (name, iss) => iss.or(name),
            },
            recipient,
            valid_from: text(&ld["validFrom"]),
            valid_until: text(&ld["validUntil"]),
        }
    }
}

/// A badge's summary as labelled rows in `lang`, dates as the reader writes them.
fn summary_rows(claims: &Value, lang: Lang) -> Vec<SummaryRow> {
    let t = texts(lang);
    let s = Summary::of(claims, lang);
    let plain = |label, v: Option<String>| {
        v.map(|text| SummaryRow {
            label,
            text,
            datetime: None,
        })
    };
    let date = |label, v: Option<String>| {
        v.map(|raw| match lang.date_of_rfc3339(&raw) {
            Some(d) => SummaryRow {
                label,
                text: d.text,
                datetime: Some(d.datetime),
            },
            None => SummaryRow {
                label,
                text: raw,
                datetime: None,
            },
        })
    };
    [
        plain(t.label_badge, s.badge),
        plain(t.label_issuer, s.issuer),
        plain(t.label_recipient, s.recipient),
        date(t.label_valid_from, s.valid_from),
        date(t.label_valid_until, s.valid_until),
    ]
    .into_iter()
    .flatten()
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
        let html = result_fragment(&r, Lang::En).unwrap();
        assert!(html.contains("data-state=\"rejected\""), "{html}");
        assert!(html.contains("&lt;b&gt;Ana&lt;/b&gt;"), "{html}");
        assert!(!html.contains("<b>Ana"), "{html}");
        assert!(html.contains("<code>ld.n[1]</code></td><td class=\"claim\">true"));
        assert!(html.contains("data-check=\"trust\" data-outcome=\"failed\""));
        assert!(html.contains("issuer &quot;&lt;x&gt;&quot; is not trusted"));
        assert!(
            html.contains("Not verified: the issuer is not on this verifier"),
            "{html}"
        );
        let ja = result_fragment(&r, Lang::Ja).unwrap();
        assert!(
            ja.contains("確認できませんでした：発行者がこの検証サービスの信頼リストにありません。"),
            "{ja}"
        );
        assert!(ja.contains("信頼された発行者"), "{ja}");
    }

    #[test]
    fn the_verdict_names_the_holder_and_the_date_in_each_language() {
        let mut disclosed = std::collections::BTreeMap::new();
        disclosed.insert(
            "badge".to_owned(),
            vec![serde_json::json!({"iss": "https://i.example", "ld": {
                "issuer": {"name": "Akashi City"},
                "validFrom": "2026-12-06T09:00:00Z",
                "credentialSubject": {
                    "achievement": {"name": "デジタル推進委員"},
                    "identifier": [{"identityType": "name", "identityHash": "山田 花子"}]
                }
            }})],
        );
        let r = RequestResult {
            id: "r".into(),
            state: ResultState::Verified,
            checks: vec![Check::pass("status", "valid")],
            disclosed,
            error: None,
            created_at: 0,
            expires_at: 10,
            responded_at: Some(5),
        };
        let (en, _) = verdict(&r, Lang::En);
        assert_eq!(
            en.unwrap(),
            "Verified: 山田 花子 holds “デジタル推進委員” from Akashi City (https://i.example), issued 6 December 2026; not revoked."
        );
        let (ja, _) = verdict(&r, Lang::Ja);
        assert_eq!(
            ja.unwrap(),
            "確認済み：山田 花子 さんはAkashi City (https://i.example) が発行した「デジタル推進委員」を保有しています（発行日 2026年12月6日、失効していません）。"
        );
        let html = result_fragment(&r, Lang::Ja).unwrap();
        assert!(
            html.contains(r#"<time datetime="2026-12-06">2026年12月6日</time>"#),
            "{html}"
        );
    }

    #[test]
    fn the_badge_is_named_in_the_desks_language_when_it_has_that_edition() {
        let claims = serde_json::json!({"ld": {"credentialSubject": {"achievement": {
            "name": "Digital Supporter", "inLanguage": "en",
            "related": [{"id": "https://i.example/a?lang=ja", "type": ["Related"],
                "inLanguage": "ja", "name": "デジタルサポーター"}]
        }}}});
        assert_eq!(
            Summary::of(&claims, Lang::Ja).badge.as_deref(),
            Some("デジタルサポーター")
        );
        assert_eq!(
            Summary::of(&claims, Lang::En).badge.as_deref(),
            Some("Digital Supporter")
        );
    }
}
