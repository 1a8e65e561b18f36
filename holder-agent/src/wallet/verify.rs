//! Live verification of a held badge: checked now, not at receipt time, each check a line
//! with its outcome and reason, for the badge pages.
//!
//! * `issuer_key`: the issuer's key resolved again from `iss` and the header `kid`
//!   (JWT VC Issuer Metadata or DID, through the guarded fetcher).
//! * `signature`: the issuer-signed JWT verifies with it, and every disclosure matches a
//!   digest it signed.
//! * `status`: the Token Status List the credential names, fetched and verified (signed by
//!   the same issuer, `sub` the referenced URI, not expired), at the credential's index.
//! * `validity`: `nbf` and `exp` against now.
//! * `image_digest`: each image the credential pins with a VC 2.0 `relatedResource`
//!   `digestSRI` is fetched and hashed.
//!
//! A check that cannot run because an earlier one failed is "not checked", with the
//! reason. [`App::verify_live`] takes the SD-JWT as stored (or as presented), so any page
//! that shows a badge can use it.

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use shared::issuer_key::IssuerKeyError;
use shared::keys::Jwk;
use shared::sd_jwt::{SdJwt, TYP_DC_SD_JWT};
use shared::status::token as status_token;

use crate::App;

/// Seconds of clock difference tolerated on `exp`, `nbf` and the status list's `exp`.
pub const LEEWAY: i64 = 60;
/// The media type of a Status List Token (draft-ietf-oauth-status-list §5.1).
pub const STATUSLIST_JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";

pub const CHECK_ISSUER_KEY: &str = "issuer_key";
pub const CHECK_SIGNATURE: &str = "signature";
pub const CHECK_STATUS: &str = "status";
pub const CHECK_VALIDITY: &str = "validity";
pub const CHECK_IMAGE: &str = "image_digest";

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed,
    NotChecked,
}

/// One line of a live verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Outcome,
    /// What was found, or exactly what failed.
    pub detail: String,
}

impl Check {
    fn new(name: &'static str, outcome: Outcome, detail: impl Into<String>) -> Check {
        Check {
            name,
            outcome,
            detail: detail.into(),
        }
    }

    fn of(name: &'static str, r: Result<String, String>) -> Check {
        match r {
            Ok(d) => Check::new(name, Outcome::Ok, d),
            Err(d) => Check::new(name, Outcome::Failed, d),
        }
    }

    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

/// The checks of one badge, in order, and when they ran.
#[derive(Debug, Clone, Serialize)]
pub struct LiveVerification {
    /// Unix seconds.
    pub checked_at: i64,
    pub checks: Vec<Check>,
}

impl LiveVerification {
    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Every check ran and passed.
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(Check::ok)
    }
}

/// `exp` and `nbf` (NumericDates) against `now`.
fn validity(claims: &Map<String, Value>, now: i64) -> Result<String, String> {
    let date = |name: &str| -> Result<Option<i64>, String> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| format!("`{name}` is not a NumericDate: {v}")),
        }
    };
    let exp = date("exp")?;
    let nbf = date("nbf")?;
    if let Some(exp) = exp
        && now > exp + LEEWAY
    {
        return Err(format!("expired at {}", shared::clock::rfc3339(exp)));
    }
    if let Some(nbf) = nbf
        && now + LEEWAY < nbf
    {
        return Err(format!("not valid before {}", shared::clock::rfc3339(nbf)));
    }
    Ok(match exp {
        Some(exp) => format!("valid until {}", shared::clock::rfc3339(exp)),
        None => "valid, with no expiry".to_owned(),
    })
}

/// The images a credential pins: `(url, digestSRI)` of each `relatedResource` with a
/// digest that is the achievement's image or has an `image/*` media type.
fn pinned_images(claims: &Map<String, Value>) -> Vec<(String, String)> {
    let ld = claims.get("ld");
    let image_id = ld
        .and_then(|ld| ld.pointer("/credentialSubject/achievement/image"))
        .and_then(|i| i.get("id").or(Some(i)))
        .and_then(Value::as_str);
    let related = match ld.and_then(|ld| ld.get("relatedResource")) {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    related
        .iter()
        .filter_map(|r| {
            let id = r.get("id")?.as_str()?;
            let digest = r.get("digestSRI")?.as_str()?;
            let is_image = Some(id) == image_id
                || r.get("mediaType")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m.starts_with("image/"));
            is_image.then(|| (id.to_owned(), digest.to_owned()))
        })
        .collect()
}

/// Whether `bytes` have the Subresource Integrity digest `sri` (`sha256-<base64>`; several
/// space-separated digests: any one). `Err` when no digest is of a supported algorithm.
pub fn sri_matches(sri: &str, bytes: &[u8]) -> Result<bool, String> {
    let actual = shared::b64::decode(&shared::b64::sha256(bytes))
        .map_err(|_| "SHA-256 of the image cannot be computed".to_owned())?;
    let mut supported = false;
    for token in sri.split_whitespace() {
        let Some(b64) = token.strip_prefix("sha256-") else {
            continue;
        };
        // Options after `?` (SRI §3.5) are ignored.
        let b64 = b64.split('?').next().unwrap_or(b64);
        supported = true;
        let expected = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| format!("digestSRI {token:?} is not base64"))?;
        if expected == actual {
            return Ok(true);
        }
    }
    if supported {
        Ok(false)
    } else {
        Err(format!(
            "digestSRI {sri:?} has no sha256 digest (the only algorithm checked)"
        ))
    }
}

impl App {
    /// [`App::verify_live`] of `account`'s credential `id`; `None` when the account holds
    /// no such credential.
    pub async fn verify_held(
        &self,
        account: &crate::Account,
        id: &str,
        now: i64,
    ) -> Result<Option<LiveVerification>, crate::AppError> {
        match self.store.credential_of(&account.id, id).await? {
            Some(row) => Ok(Some(self.verify_live(&row.raw, now).await)),
            None => Ok(None),
        }
    }

    /// Verifies the SD-JWT VC `raw` (issuer-signed JWT and disclosures; a KB-JWT is
    /// ignored) now, over the network.
    pub async fn verify_live(&self, raw: &str, now: i64) -> LiveVerification {
        let mut checks = Vec::new();
        let not_checked = |checks: &mut Vec<Check>, names: &[&'static str], why: &str| {
            for n in names {
                checks.push(Check::new(n, Outcome::NotChecked, why));
            }
        };
        let all = [
            CHECK_ISSUER_KEY,
            CHECK_SIGNATURE,
            CHECK_STATUS,
            CHECK_VALIDITY,
            CHECK_IMAGE,
        ];
        let parsed = SdJwt::parse(raw).and_then(|sd| sd.issuer_jwt().map(|jws| (sd, jws)));
        let (sd, jws) = match parsed {
            Ok(p) => p,
            Err(e) => {
                checks.push(Check::new(
                    CHECK_ISSUER_KEY,
                    Outcome::Failed,
                    format!("the credential does not parse: {e}"),
                ));
                not_checked(&mut checks, &all[1..], "the credential does not parse");
                return LiveVerification {
                    checked_at: now,
                    checks,
                };
            }
        };
        let Some(iss) = jws.claim_str("iss").map(str::to_owned) else {
            checks.push(Check::new(
                CHECK_ISSUER_KEY,
                Outcome::Failed,
                "the credential names no issuer (`iss`)",
            ));
            not_checked(&mut checks, &all[1..], "no issuer to check against");
            return LiveVerification {
                checked_at: now,
                checks,
            };
        };
        let key: Result<Jwk, IssuerKeyError> = self.issuer_keys.resolve(&iss, jws.kid()).await;
        let key = match key {
            Ok(k) => {
                checks.push(Check::new(
                    CHECK_ISSUER_KEY,
                    Outcome::Ok,
                    format!(
                        "key {} of issuer {iss}",
                        jws.kid().or(k.kid.as_deref()).unwrap_or("(no kid)")
                    ),
                ));
                k
            }
            Err(e) => {
                checks.push(Check::new(CHECK_ISSUER_KEY, Outcome::Failed, e.to_string()));
                not_checked(
                    &mut checks,
                    &all[1..],
                    "the issuer's key could not be resolved",
                );
                return LiveVerification {
                    checked_at: now,
                    checks,
                };
            }
        };
        let signature = key
            .verifying_key()
            .map_err(shared::jose::JoseError::Key)
            .and_then(|k| {
                jws.expect_typ(&[TYP_DC_SD_JWT])?;
                jws.verify(&k)
            });
        if let Err(e) = signature {
            checks.push(Check::new(
                CHECK_SIGNATURE,
                Outcome::Failed,
                format!("issuer signature: {e}"),
            ));
            not_checked(&mut checks, &all[2..], "the signature does not verify");
            return LiveVerification {
                checked_at: now,
                checks,
            };
        }
        let revealed = match sd.reveal(jws.payload.clone()) {
            Ok(r) => {
                checks.push(Check::new(
                    CHECK_SIGNATURE,
                    Outcome::Ok,
                    format!(
                        "{} signature verifies; {} disclosure(s) match signed digests",
                        jws.alg.as_str(),
                        r.disclosure_paths.len()
                    ),
                ));
                r
            }
            Err(e) => {
                checks.push(Check::new(CHECK_SIGNATURE, Outcome::Failed, e.to_string()));
                not_checked(&mut checks, &all[2..], "the disclosures do not verify");
                return LiveVerification {
                    checked_at: now,
                    checks,
                };
            }
        };
        checks.push(self.live_status(&iss, &revealed.claims, now).await);
        checks.push(Check::of(CHECK_VALIDITY, validity(&revealed.claims, now)));
        checks.push(self.live_image(&revealed.claims).await);
        LiveVerification {
            checked_at: now,
            checks,
        }
    }

    async fn live_status(&self, iss: &str, claims: &Map<String, Value>, now: i64) -> Check {
        let reference = match status_token::reference(claims) {
            Ok(Some(r)) => r,
            Ok(None) => {
                return Check::new(
                    CHECK_STATUS,
                    Outcome::NotChecked,
                    "the credential has no `status`: it cannot be revoked",
                );
            }
            Err(e) => return Check::new(CHECK_STATUS, Outcome::Failed, e.to_string()),
        };
        let fetched = match self
            .fetcher
            .get(&reference.uri, STATUSLIST_JWT_MEDIA_TYPE)
            .await
        {
            Ok(f) => f,
            Err(e) => {
                return Check::new(
                    CHECK_STATUS,
                    Outcome::Failed,
                    format!("status list {}: {e}", reference.uri),
                );
            }
        };
        let token = String::from_utf8_lossy(&fetched.body);
        let result = async {
            let jws = status_token::decode(&token, &reference.uri).map_err(|e| e.to_string())?;
            let key = self
                .issuer_keys
                .resolve(iss, jws.kid())
                .await
                .map_err(|e| format!("status list {}: the issuer's key: {e}", reference.uri))?;
            let list = status_token::verify(&jws, &reference.uri, &key, now, LEEWAY)
                .map_err(|e| e.to_string())?;
            status_token::read(&list, &reference).map_err(|e| e.to_string())?
        }
        .await;
        Check::of(CHECK_STATUS, result)
    }

    async fn live_image(&self, claims: &Map<String, Value>) -> Check {
        let images = pinned_images(claims);
        if images.is_empty() {
            return Check::new(
                CHECK_IMAGE,
                Outcome::NotChecked,
                "the badge pins no image digest (`relatedResource` with `digestSRI`)",
            );
        }
        let mut details = Vec::new();
        for (url, sri) in &images {
            let fetched = match self.fetcher.get(url, "image/*").await {
                Ok(f) => f,
                Err(e) => {
                    return Check::new(CHECK_IMAGE, Outcome::Failed, format!("{url}: {e}"));
                }
            };
            match sri_matches(sri, &fetched.body) {
                Ok(true) => details.push(format!("{url} matches {sri}")),
                Ok(false) => {
                    return Check::new(
                        CHECK_IMAGE,
                        Outcome::Failed,
                        format!(
                            "{url} has changed: it is sha256-{}, the badge pins {sri}",
                            base64::engine::general_purpose::STANDARD.encode(
                                shared::b64::decode(&shared::b64::sha256(&fetched.body))
                                    .unwrap_or_default()
                            )
                        ),
                    );
                }
                Err(e) => return Check::new(CHECK_IMAGE, Outcome::NotChecked, e),
            }
        }
        Check::new(CHECK_IMAGE, Outcome::Ok, details.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sri_digests_are_compared_as_bytes() {
        let bytes = b"an image";
        let digest = base64::engine::general_purpose::STANDARD
            .encode(shared::b64::decode(&shared::b64::sha256(bytes)).unwrap());
        let sri = format!("sha256-{digest}");
        assert_eq!(sri_matches(&sri, bytes), Ok(true));
        assert_eq!(sri_matches(&sri, b"another image"), Ok(false));
        assert_eq!(
            sri_matches(&format!("sha384-abc {sri}"), bytes),
            Ok(true),
            "any supported digest of the list"
        );
        assert!(sri_matches("sha512-abc", bytes).is_err());
        assert!(sri_matches("sha256-***", bytes).is_err());
    }

    #[test]
    fn validity_names_the_date() {
        let c = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            validity(&c(json!({"exp": 2000, "nbf": 1000})), 1500),
            Ok("valid until 1970-01-01T00:33:20Z".to_owned())
        );
        assert_eq!(
            validity(&c(json!({"exp": 2000})), 2000 + LEEWAY + 1),
            Err("expired at 1970-01-01T00:33:20Z".to_owned())
        );
        assert_eq!(
            validity(&c(json!({"nbf": 5000})), 1000),
            Err("not valid before 1970-01-01T01:23:20Z".to_owned())
        );
        assert_eq!(
            validity(&c(json!({})), 1000),
            Ok("valid, with no expiry".to_owned())
        );
        assert!(validity(&c(json!({"exp": "soon"})), 1000).is_err());
    }

    #[test]
    fn pinned_images_are_the_achievement_image_or_image_media_types() {
        let claims = json!({"ld": {
            "credentialSubject": {"achievement": {"image": {"id": "https://i.example/a.png", "type": "Image"}}},
            "relatedResource": [
                {"id": "https://i.example/a.png", "digestSRI": "sha256-AAA"},
                {"id": "https://i.example/b.svg", "digestSRI": "sha256-BBB", "mediaType": "image/svg+xml"},
                {"id": "https://i.example/doc.pdf", "digestSRI": "sha256-CCC", "mediaType": "application/pdf"},
                {"id": "https://i.example/nodigest.png", "mediaType": "image/png"}
            ]
        }});
        assert_eq!(
            pinned_images(claims.as_object().unwrap()),
            vec![
                (
                    "https://i.example/a.png".to_owned(),
                    "sha256-AAA".to_owned()
                ),
                (
                    "https://i.example/b.svg".to_owned(),
                    "sha256-BBB".to_owned()
                ),
            ]
        );
    }
}
