//! What a public page may publish. The holder chooses the selectively disclosable claims
//! the page shows ([`super::public`]); whatever is chosen, three rules hold for the page and
//! every form of it (its SD-JWT presentation, its JSON-LD, the baked images):
//!
//! * **Never the email.** A recipient identifier that is an email address, or that is
//!   hashed (`hashed: true` or a `salt`: the hash and its salt let anyone confirm a guessed
//!   address), is never published and cannot be chosen; a choice that is, lies within or
//!   encloses one is refused.
//! * **The name by default.** A new page shows the recipient's name identifier (it is
//!   printed beside the QR code on the business card anyway); the holder can hide it.
//! * **No form reveals more than the page.** A credential that cannot be redacted (the
//!   `ldp_vc`: its Data Integrity proof covers every member) is published, as JSON-LD or
//!   baked into an image, only when every recipient-specific member it carries
//!   (`credentialSubject` members other than `type`, `achievement` and `id`, and
//!   `evidence`) is one the holder chose to show. The email identifier makes that never
//!   true for a badge that carries one: such a page offers the SD-JWT form and plain images.
//!
//! Paths are JSON pointer segments into the credential's claims as issued (the SD-JWT VC's
//! payload, whose `ld` member is the Open Badges credential).

use protocol::ob3::{IDENTITY_TYPE_EMAIL, IDENTITY_TYPE_NAME};
use serde_json::{Map, Value};

/// The paths of the identity objects in `claims` that are never published.
pub fn never_public(claims: &Value) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    walk(claims, &mut Vec::new(), &mut |path, object| {
        if is_private_identity(object) {
            found.push(path.to_vec());
        }
    });
    found
}

/// Whether choosing `path` would reveal something never published: it is, lies within, or
/// encloses one of `private`.
pub fn reveals_private(path: &[String], private: &[Vec<String>]) -> bool {
    private
        .iter()
        .any(|q| path.starts_with(q) || q.starts_with(path))
}

/// What a new public page shows: the recipient's name identifiers
/// (`/ld/credentialSubject/identifier/N` with `identityType: name`), as JSON pointers.
pub fn default_choice(claims: &Value) -> Vec<String> {
    let Some(items) = claims
        .pointer("/ld/credentialSubject/identifier")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter(|(_, item)| {
            item.get("identityType").and_then(Value::as_str) == Some(IDENTITY_TYPE_NAME)
                && item.as_object().is_some_and(|o| !is_private_identity(o))
        })
        .map(|(i, _)| format!("/ld/credentialSubject/identifier/{i}"))
        .collect()
}

/// Whether the `ldp_vc` `vc` reveals only what the `chosen` paths (into the SD-JWT VC's
/// claims, where the same credential is the `ld` member) show.
pub fn ldp_vc_within(vc: &Value, chosen: &[Vec<String>]) -> bool {
    let covered = |path: &[&str]| {
        chosen
            .iter()
            .any(|c| path.len() >= c.len() && c.iter().zip(path).all(|(a, b)| a == b))
    };
    let member_covered = |base: &[&str], name: &str, value: &Value| -> bool {
        let mut path: Vec<&str> = base.to_vec();
        path.push(name);
        match value {
            Value::Array(items) => {
                let indexes: Vec<String> = (0..items.len()).map(|i| i.to_string()).collect();
                indexes.iter().all(|i| {
                    let mut p = path.clone();
                    p.push(i);
                    covered(&p)
                })
            }
            _ => covered(&path),
        }
    };
    let subject_ok = match vc.get("credentialSubject") {
        None => true,
        Some(Value::Object(subject)) => subject
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "type" | "achievement" | "id"))
            .all(|(k, v)| member_covered(&["ld", "credentialSubject"], k, v)),
        // An array of subjects, or anything else: not something a page chose.
        Some(_) => false,
    };
    let evidence_ok = vc
        .get("evidence")
        .is_none_or(|e| member_covered(&["ld"], "evidence", e));
    subject_ok && evidence_ok
}

fn is_private_identity(object: &Map<String, Value>) -> bool {
    object.get("identityType").and_then(Value::as_str) == Some(IDENTITY_TYPE_EMAIL)
        || object.get("hashed") == Some(&Value::Bool(true))
        || object.contains_key("salt")
}

fn walk(
    value: &Value,
    path: &mut Vec<String>,
    visit: &mut impl FnMut(&[String], &Map<String, Value>),
) {
    match value {
        Value::Object(object) => {
            visit(path, object);
            for (k, v) in object {
                path.push(k.clone());
                walk(v, path, visit);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                walk(v, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims() -> Value {
        json!({"iss": "https://issuer.example", "ld": {
            "credentialSubject": {
                "id": "did:jwk:abc",
                "type": ["AchievementSubject"],
                "achievement": {"name": "Badge"},
                "identifier": [
                    {"type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": "Ana"},
                    {"type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
                     "identityHash": "sha256$00", "salt": "s"}
                ]
            },
            "evidence": [{"id": "https://e.example/1"}]
        }})
    }

    fn paths(pointers: &[&str]) -> Vec<Vec<String>> {
        pointers
            .iter()
            .map(|p| protocol::sd_jwt::parse_pointer(p).unwrap())
            .collect()
    }

    #[test]
    fn the_email_identity_is_never_public_nor_anything_enclosing_it() {
        let private = never_public(&claims());
        assert_eq!(
            private,
            paths(&["/ld/credentialSubject/identifier/1"]),
            "only the email"
        );
        for refused in [
            "/ld/credentialSubject/identifier/1",
            "/ld/credentialSubject/identifier/1/salt",
            "/ld/credentialSubject/identifier",
            "/ld/credentialSubject",
            "/ld",
        ] {
            assert!(
                reveals_private(&paths(&[refused])[0], &private),
                "{refused}"
            );
        }
        for allowed in ["/ld/credentialSubject/identifier/0", "/ld/evidence/0"] {
            assert!(
                !reveals_private(&paths(&[allowed])[0], &private),
                "{allowed}"
            );
        }
        // A hashed identifier of another type, or any with a salt, is as private.
        let other = json!({"x": [{"identityType": "studentId", "hashed": true, "identityHash": "h"},
                                 {"identityType": "name", "salt": "s", "identityHash": "h"}]});
        assert_eq!(never_public(&other), paths(&["/x/0", "/x/1"]));
    }

    #[test]
    fn a_new_page_shows_the_name_identifier_only() {
        assert_eq!(
            default_choice(&claims()),
            vec!["/ld/credentialSubject/identifier/0"]
        );
        assert!(default_choice(&json!({"ld": {}})).is_empty());
        // A salted name identifier is a hash, not a name to show.
        let salted = json!({"ld": {"credentialSubject": {"identifier": [
            {"identityType": "name", "hashed": true, "identityHash": "sha256$1", "salt": "x"}]}}});
        assert!(default_choice(&salted).is_empty());
    }

    #[test]
    fn an_ldp_vc_is_public_only_when_everything_personal_in_it_was_chosen() {
        let vc = claims()["ld"].clone();
        assert!(!ldp_vc_within(&vc, &[]), "nothing chosen");
        assert!(
            !ldp_vc_within(
                &vc,
                &paths(&["/ld/credentialSubject/identifier/0", "/ld/evidence"])
            ),
            "the email identifier is in it"
        );
        let mut display = vc.clone();
        display["credentialSubject"]["identifier"] =
            json!([vc["credentialSubject"]["identifier"][0]]);
        assert!(
            !ldp_vc_within(&display, &paths(&["/ld/credentialSubject/identifier/0"])),
            "evidence not chosen"
        );
        assert!(ldp_vc_within(
            &display,
            &paths(&["/ld/credentialSubject/identifier/0", "/ld/evidence/0"])
        ));
        assert!(
            !ldp_vc_within(
                &display,
                &paths(&[
                    "/ld/credentialSubject/identifier/0/identityHash",
                    "/ld/evidence/0"
                ])
            ),
            "a part of the name object does not cover the object"
        );
        let bare = json!({"credentialSubject": {"id": "did:x", "type": ["AchievementSubject"], "achievement": {}}});
        assert!(ldp_vc_within(&bare, &[]), "nothing personal in it");
        assert!(!ldp_vc_within(&json!({"credentialSubject": [{}]}), &[]));
    }
}
