//! The Open Badge template (OpenID4VP 1.0 §6, DCQL): "an Open Badge for achievement X from
//! issuer Y, disclose …" as the DCQL query a request asks.

use protocol::oid4vp::dcql::DcqlQuery;
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use crate::error::Error;

/// The credential query id the template uses.
pub const TEMPLATE_QUERY_ID: &str = "badge";
/// Path of the Open Badge SD-JWT VC type under the issuer URL (the issuer agent's `vct`).
pub const OPEN_BADGE_VCT_PATH: &str = "/vct/open-badge-v3";

/// What the template may ask the holder to disclose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Disclose {
    /// The recipient's name: `credentialSubject.identifier[0]` of the badge.
    #[value(name = "recipient_name", alias = "recipient-name")]
    RecipientName,
}

/// "An Open Badge for achievement X from issuer Y, disclose …".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// The issuer URL (its credential issuer identifier and SD-JWT VC `iss`).
    pub issuer: String,
    /// The OB `Achievement` id URI; absent: any achievement of that issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achievement_id: Option<String>,
    /// Claims asked for; the holder must disclose them.
    #[serde(default)]
    pub disclose: Vec<Disclose>,
    /// Claims asked for that the holder may decline to disclose (DCQL `claim_sets`: with
    /// them, or without them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional: Vec<Disclose>,
}

/// The DCQL query of the Open Badge template: one `dc+sd-jwt` credential of type
/// `<issuer>/vct/open-badge-v3` whose `ld.issuer.id` is the issuer, optionally of one
/// achievement, disclosing what `disclose` asks for.
pub fn template_query(t: &Template) -> Result<DcqlQuery, Error> {
    let issuer = t.issuer.trim().trim_end_matches('/');
    match Url::parse(issuer) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {}
        _ => {
            return Err(Error::invalid(
                "template.issuer",
                format!("{issuer:?} is not an http(s) issuer URL"),
            ));
        }
    }
    let mut achievement = json!({ "path": ["ld", "credentialSubject", "achievement", "id"] });
    if let Some(id) = &t.achievement_id {
        if Url::parse(id).is_err() {
            return Err(Error::invalid(
                "template.achievement_id",
                format!("{id:?} is not an absolute URI"),
            ));
        }
        achievement["values"] = json!([id]);
    }
    if let Some(both) = t.optional.iter().find(|d| t.disclose.contains(d)) {
        return Err(Error::invalid(
            "template.optional",
            format!("{both:?} is both required (`disclose`) and optional"),
        ));
    }
    achievement["id"] = json!("achievement");
    let mut claims = vec![
        achievement,
        json!({ "id": "issuer", "path": ["ld", "issuer", "id"], "values": [issuer] }),
    ];
    let mut required: Vec<&str> = vec!["achievement", "issuer"];
    let mut optional: Vec<&str> = Vec::new();
    for (d, is_optional) in t
        .disclose
        .iter()
        .map(|d| (d, false))
        .chain(t.optional.iter().map(|d| (d, true)))
    {
        match d {
            Disclose::RecipientName => {
                // The first identifier must be the name: SD-JWT drops undisclosed array
                // elements, so without the `values` filter a wallet disclosing only the
                // email would put it at index 0 and still satisfy the query.
                claims.push(json!({
                    "id": "name_type",
                    "path": ["ld", "credentialSubject", "identifier", 0, "identityType"],
                    "values": [protocol::ob3::IDENTITY_TYPE_NAME],
                }));
                claims.push(json!({
                    "id": "name",
                    "path": ["ld", "credentialSubject", "identifier", 0, "identityHash"],
                }));
                let ids = if is_optional {
                    &mut optional
                } else {
                    &mut required
                };
                ids.extend(["name_type", "name"]);
            }
        }
    }
    // With optional claims: the set with them first (preferred), then the one without.
    let claim_sets = (!optional.is_empty()).then(|| {
        let all: Vec<&str> = required.iter().chain(optional.iter()).copied().collect();
        json!([all, required])
    });
    if claim_sets.is_none() {
        // Claim ids only matter to claim sets.
        for claim in &mut claims {
            if let Some(c) = claim.as_object_mut() {
                c.remove("id");
            }
        }
    }
    let query = json!({
        "credentials": [{
            "id": TEMPLATE_QUERY_ID,
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [format!("{issuer}{OPEN_BADGE_VCT_PATH}")] },
            "claims": claims,
        }]
    });
    let mut query = query;
    if let Some(sets) = claim_sets {
        query["credentials"][0]["claim_sets"] = sets;
    }
    serde_json::from_value(query)
        .map_err(|e| Error::Internal(format!("the template builds a DCQL query: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_builds_the_open_badge_query() {
        let q = template_query(&Template {
            issuer: "http://127.0.0.1:8081/".into(),
            achievement_id: Some("http://127.0.0.1:8081/achievements/a1".into()),
            disclose: vec![Disclose::RecipientName],
            optional: vec![],
        })
        .unwrap();
        q.validate().unwrap();
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({"credentials": [{
                "id": "badge",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": ["http://127.0.0.1:8081/vct/open-badge-v3"]},
                "claims": [
                    {"path": ["ld", "credentialSubject", "achievement", "id"],
                     "values": ["http://127.0.0.1:8081/achievements/a1"]},
                    {"path": ["ld", "issuer", "id"], "values": ["http://127.0.0.1:8081"]},
                    {"path": ["ld", "credentialSubject", "identifier", 0, "identityType"],
                     "values": ["name"]},
                    {"path": ["ld", "credentialSubject", "identifier", 0, "identityHash"]},
                ],
            }]})
        );
    }

    #[test]
    fn template_without_achievement_or_disclosure() {
        let q = template_query(&Template {
            issuer: "https://badges.example.org".into(),
            achievement_id: None,
            disclose: vec![],
            optional: vec![],
        })
        .unwrap();
        let claims = &serde_json::to_value(&q).unwrap()["credentials"][0]["claims"];
        assert_eq!(
            claims,
            &json!([
                {"path": ["ld", "credentialSubject", "achievement", "id"]},
                {"path": ["ld", "issuer", "id"], "values": ["https://badges.example.org"]},
            ])
        );
    }

    #[test]
    fn template_names_the_bad_field() {
        let err = template_query(&Template {
            issuer: "not a url".into(),
            achievement_id: None,
            disclose: vec![],
            optional: vec![],
        })
        .unwrap_err();
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "template.issuer"));
        let err = template_query(&Template {
            issuer: "https://i.example".into(),
            achievement_id: Some("a1".into()),
            disclose: vec![],
            optional: vec![],
        })
        .unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "template.achievement_id")
        );
        let parsed: Result<Template, _> = serde_json::from_value(
            json!({"issuer": "https://i.example", "disclose": ["recipient_email"]}),
        );
        assert!(parsed.is_err());
    }
}
