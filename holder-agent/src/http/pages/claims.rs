//! Claims as people say them: a badge's claim (a JSON pointer into the credential and its
//! value) becomes a label and a plain text in the page's language, for the public page,
//! its settings and the consent page. No JSON, no pointers: an identifier says what it is
//! ("Name", "Email address"), evidence and results say their name or value, and anything
//! unknown is its last path segment with its value as words. The pointer itself stays in
//! the form's value and under "Technical details" only.

use serde_json::Value;

use super::Lang;

/// A claim as a page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub label: String,
    pub text: String,
}

/// The label and text of the claim at `pointer` whose value is `value`.
pub fn describe(pointer: &str, value: &Value, lang: Lang) -> Described {
    let ja = lang == Lang::Ja;
    let t = |en: &str, jp: &str| if ja { jp.to_owned() } else { en.to_owned() };
    let segments: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let under = |prefix: &[&str]| segments.starts_with(prefix);
    if let Some(identity) = identity(value, lang) {
        return identity;
    }
    let (label, text) = if under(&["ld", "credentialSubject", "identifier"]) {
        (
            t("Names and identifiers", "氏名と識別子"),
            list(value, lang),
        )
    } else if under(&["ld", "evidence"]) {
        (t("Evidence", "エビデンス"), list(value, lang))
    } else if under(&["ld", "credentialSubject", "result"]) {
        (t("Result", "結果"), list(value, lang))
    } else if segments == ["ld", "credentialSubject", "achievement", "name"] {
        (t("Badge", "バッジ"), words(value))
    } else if under(&["ld", "credentialSubject", "achievement"]) {
        (t("Achievement", "達成内容"), words(value))
    } else if under(&["ld", "issuer"]) {
        (t("Issuer", "発行者"), words(value))
    } else {
        let last = segments
            .iter()
            .rev()
            .find(|s| s.parse::<usize>().is_err())
            .copied()
            .unwrap_or("");
        (humanize(last), words(value))
    };
    Described { label, text }
}

/// An OB 3.0 IdentityObject: what kind of identifier it is, and its value unless hashed.
fn identity(value: &Value, lang: Lang) -> Option<Described> {
    let o = value.as_object()?;
    let kind = o.get("identityType")?.as_str()?;
    let ja = lang == Lang::Ja;
    let hashed = o.get("hashed").and_then(Value::as_bool) == Some(true);
    let label = match (kind, ja) {
        ("name", false) => "Name".to_owned(),
        ("name", true) => "氏名".to_owned(),
        ("emailAddress", false) => "Email address".to_owned(),
        ("emailAddress", true) => "メールアドレス".to_owned(),
        (other, false) => format!("Identifier ({})", humanize(other)),
        (other, true) => format!("識別子（{}）", humanize(other)),
    };
    let text = if hashed {
        if ja {
            "指紋のみ（値そのものは含まれません）".to_owned()
        } else {
            "a fingerprint only (the value itself is not included)".to_owned()
        }
    } else {
        o.get("identityHash")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Some(Described { label, text })
}

/// An array as its items' texts, one after the other.
fn list(value: &Value, lang: Lang) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| match identity(item, lang) {
                Some(d) => format!("{}: {}", d.label, d.text),
                None => words(item),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => identity(other, lang)
            .map(|d| d.text)
            .unwrap_or_else(|| words(other)),
    }
}

/// A value as words: text as it is, an object by its name, value, narrative or id, or its
/// members as "key: value" pairs.
fn words(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(words).collect::<Vec<_>>().join(", "),
        Value::Object(o) => {
            for key in ["name", "value", "narrative", "description", "id"] {
                if let Some(v) = o.get(key).filter(|v| !v.is_null()) {
                    return words(v);
                }
            }
            o.iter()
                .filter(|(k, _)| k.as_str() != "type")
                .map(|(k, v)| format!("{}: {}", humanize(k), words(v)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// `validFrom` → "Valid from", `identity_hash` → "Identity hash".
fn humanize(name: &str) -> String {
    let mut out = String::new();
    for (i, ch) in name.chars().enumerate() {
        if ch == '_' || ch == '-' {
            out.push(' ');
        } else if ch.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(ch.to_lowercase());
        } else if i == 0 {
            out.extend(ch.to_uppercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn d(pointer: &str, value: Value, lang: Lang) -> (String, String) {
        let d = describe(pointer, &value, lang);
        (d.label, d.text)
    }

    #[test]
    fn identifiers_say_what_they_are_and_hashes_say_nothing() {
        let name = json!({"type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": "山田 花子"});
        let email = json!({"type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
                           "identityHash": "sha256$abc", "salt": "s"});
        let p = "/ld/credentialSubject/identifier/0";
        assert_eq!(
            d(p, name.clone(), Lang::En),
            ("Name".into(), "山田 花子".into())
        );
        assert_eq!(
            d(p, name.clone(), Lang::Ja),
            ("氏名".into(), "山田 花子".into())
        );
        let (label, text) = d(p, email.clone(), Lang::En);
        assert_eq!(label, "Email address");
        assert!(!text.contains("sha256") && !text.contains('{'), "{text}");
        let (label, text) = d(
            "/ld/credentialSubject/identifier",
            json!([name, email]),
            Lang::Ja,
        );
        assert_eq!(label, "氏名と識別子");
        assert!(
            text.starts_with("氏名: 山田 花子; メールアドレス: 指紋のみ"),
            "{text}"
        );
    }

    #[test]
    fn no_json_and_no_pointers_reach_a_page() {
        let cases = [
            (
                "/ld/evidence/0",
                json!({"id": "https://e.example/1", "name": "Portfolio"}),
            ),
            (
                "/ld/evidence",
                json!([{"id": "https://e.example/1"}, {"narrative": "Did it"}]),
            ),
            (
                "/ld/credentialSubject/result/0",
                json!({"type": ["Result"], "value": "A"}),
            ),
            (
                "/ld/credentialSubject/achievement/id",
                json!("https://issuer.example/a/1"),
            ),
            (
                "/ld/somethingNew",
                json!({"alpha": 1, "nested": {"beta": [true, null]}}),
            ),
        ];
        for (pointer, value) in cases {
            for lang in [Lang::En, Lang::Ja] {
                let (label, text) = d(pointer, value.clone(), lang);
                for shown in [&label, &text] {
                    assert!(
                        !shown.contains('{') && !shown.contains('[') && !shown.contains("/ld"),
                        "{pointer}: {shown}"
                    );
                }
                assert!(!label.is_empty(), "{pointer}");
            }
        }
        assert_eq!(
            d(
                "/ld/evidence",
                json!([{"id": "https://e.example/1"}, {"narrative": "Did it"}]),
                Lang::En
            ),
            ("Evidence".into(), "https://e.example/1; Did it".into())
        );
        assert_eq!(
            d(
                "/ld/credentialSubject/result/0",
                json!({"value": "A"}),
                Lang::Ja
            ),
            ("結果".into(), "A".into())
        );
        assert_eq!(
            d("/ld/somethingNew", json!({"alpha": 1}), Lang::En),
            ("Something new".into(), "Alpha: 1".into())
        );
    }
}
