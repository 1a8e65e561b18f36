//! Public badge pages: every held badge is public unless its holder makes it private, and a
//! public badge has a stable, unguessable page `/p/{slug}` (128 random bits, base64url).
//! The holder chooses which selectively disclosable claims that page shows; by default the
//! recipient's name (printed on the business card anyway) and nothing else, so the page
//! shows what the issuer made always visible (the achievement, the issuer, the dates) and
//! the name, never the email ([`super::privacy`] has the rules).
//!
//! What the page and its machine-readable forms show is exactly one thing: the SD-JWT
//! presentation with the chosen disclosures and no KB-JWT ([`App::public_presentation`]),
//! so a verifier fetching `/p/{slug}/credential` sees what a visitor sees. The `ldp_vc`
//! (JSON-LD, and baked into the images) is published only when it shows no more than that.
//! A private badge is unknown to everyone (404) except its signed-in holder, who still sees
//! the page.

use protocol::sd_jwt::{SdJwt, parse_pointer};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Account;
use super::AppError;
use super::oid4vci::FORMAT_LDP_VC;
use super::privacy;
use crate::App;
use crate::store::{BadgePageRow, CredentialRow};

/// Bytes of randomness in a slug.
const SLUG_BYTES: usize = 16;

impl BadgePageRow {
    /// A new page row for `row`: public, a fresh slug, showing the recipient's name
    /// ([`privacy::default_choice`]) and no other selectively disclosable claim.
    pub fn new_public(row: &CredentialRow, now: i64) -> Result<Self, AppError> {
        let claims = full_claims(row)?;
        let disclose = serde_json::to_string(&privacy::default_choice(&claims))
            .map_err(|e| AppError::Internal(format!("disclosure list: {e}")))?;
        Ok(BadgePageRow {
            credential_id: row.id.clone(),
            slug: protocol::b64::random(SLUG_BYTES),
            public: 1,
            disclose,
            updated_at: now,
        })
    }

    pub fn is_public(&self) -> bool {
        self.public != 0
    }

    fn disclosed(&self) -> Result<Vec<String>, AppError> {
        serde_json::from_str(&self.disclose).map_err(|e| {
            AppError::Internal(format!("stored disclosure of {}: {e}", self.credential_id))
        })
    }
}

/// A badge's visibility as the holder sees it (front page, API, command line).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Visibility {
    pub public: bool,
    /// The public page; it answers 404 while the badge is private.
    pub public_url: String,
    /// The selectively disclosable claims the page shows, as JSON pointers.
    pub disclose: Vec<String>,
}

/// A public page's badge, as `/p/{slug}` renders it.
#[derive(Debug, Clone)]
pub struct PublicBadge {
    /// The held credential (its holder's `/badges/{id}`; never shown to others).
    pub credential_id: String,
    pub slug: String,
    pub public: bool,
    /// The signed-in viewer holds this badge.
    pub viewer_is_holder: bool,
    pub issuer: String,
    pub issuer_display_name: Option<String>,
    /// The presentation: issuer-signed JWT and the chosen disclosures, no KB-JWT.
    pub presentation: String,
    /// The claims that presentation reveals (nothing the holder did not choose).
    pub claims: Value,
    /// The holder's chosen claims: each JSON pointer (into the credential as issued) with
    /// its value.
    pub disclosed: Vec<(String, Value)>,
    /// The issuer signature, key and validity check of the presentation: `Err` names the
    /// failed check.
    pub verification: Result<(), String>,
    /// The checks made now, as on the holder's badge page: issuer key and signature,
    /// status, validity, image digest.
    pub live: crate::wallet::verify::LiveVerification,
    pub has_ldp_vc: bool,
}

impl App {
    /// The page row of a held credential, created (public) if it has none yet.
    pub(crate) async fn page_of(
        &self,
        row: &CredentialRow,
        now: i64,
    ) -> Result<BadgePageRow, AppError> {
        if let Some(page) = self.store.badge_page(&row.id).await? {
            return Ok(page);
        }
        self.store
            .insert_badge_page(&BadgePageRow::new_public(row, now)?)
            .await?;
        self.store
            .badge_page(&row.id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("page of {} vanished", row.id)))
    }

    /// The absolute URL of the public page with slug `slug`.
    pub fn public_url(&self, slug: &str) -> String {
        format!(
            "{}/p/{slug}",
            self.config.service.public_url.trim_end_matches('/')
        )
    }

    fn visibility_of(&self, page: &BadgePageRow) -> Result<Visibility, AppError> {
        Ok(Visibility {
            public: page.is_public(),
            public_url: self.public_url(&page.slug),
            disclose: page.disclosed()?,
        })
    }

    /// The visibility of the account's credential `id` (404 if it holds none such).
    pub async fn visibility(
        &self,
        account: &Account,
        id: &str,
        now: i64,
    ) -> Result<Visibility, AppError> {
        let row = self.held(account, id).await?;
        let page = self.page_of(&row, now).await?;
        self.visibility_of(&page)
    }

    /// The visibility of each of the account's credentials, by credential id.
    pub async fn visibilities(
        &self,
        account: &Account,
        now: i64,
    ) -> Result<std::collections::HashMap<String, Visibility>, AppError> {
        let mut pages: std::collections::HashMap<String, BadgePageRow> = self
            .store
            .badge_pages_of(&account.id)
            .await?
            .into_iter()
            .map(|p| (p.credential_id.clone(), p))
            .collect();
        for row in self.store.credentials(&account.id).await? {
            if !pages.contains_key(&row.id) {
                let page = self.page_of(&row, now).await?;
                pages.insert(row.id.clone(), page);
            }
        }
        pages
            .into_iter()
            .map(|(id, p)| Ok((id, self.visibility_of(&p)?)))
            .collect()
    }

    /// Makes the account's credential `id` public or private; with `disclose`, also sets
    /// the selectively disclosable claims its public page shows (each must be one of the
    /// credential's disclosable claims, lie within one or enclose some). Another account's credential is
    /// 404, as an unknown one.
    pub async fn set_visibility(
        &self,
        account: &Account,
        id: &str,
        public: bool,
        disclose: Option<Vec<String>>,
        now: i64,
    ) -> Result<Visibility, AppError> {
        let row = self.held(account, id).await?;
        let page = self.page_of(&row, now).await?;
        let disclose = match disclose {
            Some(listed) => check_disclose(&row, listed)?,
            None => page.disclosed()?,
        };
        let text = serde_json::to_string(&disclose)
            .map_err(|e| AppError::Internal(format!("disclosure list: {e}")))?;
        self.store
            .set_badge_page(&row.id, public, &text, now)
            .await?;
        Ok(Visibility {
            public,
            public_url: self.public_url(&page.slug),
            disclose,
        })
    }

    async fn held(&self, account: &Account, id: &str) -> Result<CredentialRow, AppError> {
        self.store
            .credential_of(&account.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("credential {id:?}")))
    }

    /// The credential and page behind `slug` if `viewer` may see it: anyone while it is
    /// public, only its holder while it is private (`None` otherwise, as for an unknown
    /// slug).
    pub(crate) async fn visible_page(
        &self,
        slug: &str,
        viewer: Option<&Account>,
    ) -> Result<Option<(CredentialRow, BadgePageRow)>, AppError> {
        // A slug is base64url; anything else is unknown without a query.
        if slug.is_empty()
            || slug.len() > 64
            || !slug
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Ok(None);
        }
        let Some(page) = self.store.badge_page_by_slug(slug).await? else {
            return Ok(None);
        };
        let Some(row) = self.store.credential_by_id(&page.credential_id).await? else {
            return Ok(None);
        };
        if page.is_public() || viewer.is_some_and(|a| a.id == row.account_id) {
            Ok(Some((row, page)))
        } else {
            Ok(None)
        }
    }

    /// Whether `viewer` (signed in or not) may see the page of `slug`.
    pub async fn page_visible(
        &self,
        slug: &str,
        viewer: Option<&Account>,
    ) -> Result<bool, AppError> {
        Ok(self.visible_page(slug, viewer).await?.is_some())
    }

    /// `GET /p/{slug}/credential`: the SD-JWT presentation with exactly the holder-chosen
    /// disclosures and no KB-JWT; `None` when the slug is unknown or the badge private.
    pub async fn public_presentation(&self, slug: &str) -> Result<Option<String>, AppError> {
        let Some((row, page)) = self.visible_page(slug, None).await? else {
            return Ok(None);
        };
        Ok(Some(presentation(&row, &page)?.serialize()))
    }

    /// `GET /p/{slug}/credential.json`: the `ldp_vc` received with the badge; `None` when
    /// there is none, the slug is unknown, the badge private, or the `ldp_vc` would show
    /// more than the holder chose ([`privacy::ldp_vc_within`]).
    pub async fn public_ldp_vc(&self, slug: &str) -> Result<Option<Value>, AppError> {
        let Some((row, page)) = self.visible_page(slug, None).await? else {
            return Ok(None);
        };
        self.publishable_ldp_vc(&row, &page).await
    }

    /// The `ldp_vc` of `row` if its page may publish it: held, and showing no more than
    /// the holder chose for the page.
    pub(crate) async fn publishable_ldp_vc(
        &self,
        row: &CredentialRow,
        page: &BadgePageRow,
    ) -> Result<Option<Value>, AppError> {
        let Some(companion) = self.store.companion(&row.id, FORMAT_LDP_VC).await? else {
            return Ok(None);
        };
        let vc: Value = serde_json::from_str(&companion.raw)
            .map_err(|e| AppError::Internal(format!("stored ldp_vc of {}: {e}", row.id)))?;
        let chosen = chosen_paths(row, page)?;
        Ok(privacy::ldp_vc_within(&vc, &chosen).then_some(vc))
    }

    /// The public page's badge for `viewer` (signed in or not), verified now; `None` when
    /// the slug is unknown, or the badge private and `viewer` not its holder.
    pub async fn public_badge(
        &self,
        slug: &str,
        viewer: Option<&Account>,
        now: i64,
    ) -> Result<Option<PublicBadge>, AppError> {
        let Some((row, page)) = self.visible_page(slug, viewer).await? else {
            return Ok(None);
        };
        let sd = presentation(&row, &page)?;
        // The chosen claims' values, looked up in the credential as issued (the pointers'
        // array indexes are those of the full credential, not of the presentation).
        let full = full_claims(&row)?;
        let private = privacy::never_public(&full);
        let disclosed = page
            .disclosed()?
            .into_iter()
            .filter(|p| {
                parse_pointer(p).is_ok_and(|path| !privacy::reveals_private(&path, &private))
            })
            .filter_map(|p| full.pointer(&p).cloned().map(|v| (p, v)))
            .collect();
        let verification = self
            .verify_issuer_signed(&sd, &row.issuer, 0, now)
            .await
            .map(|revealed| revealed.claims);
        // Unverified, the claims are still shown (decoded) beside the failed check.
        let claims = match &verification {
            Ok(claims) => claims.clone(),
            Err(_) => decoded_claims(&sd),
        };
        let has_ldp_vc = self.publishable_ldp_vc(&row, &page).await?.is_some();
        let live = self.verify_live(&sd.serialize(), now).await;
        // A failed live check (a revoked badge, say) is the page's verdict too.
        let verification = verification
            .map(|_| ())
            .map_err(|e| e.to_string())
            .and_then(|()| match live.failed() {
                Some(c) => Err(format!("{}: {}", c.name, c.detail)),
                None => Ok(()),
            });
        Ok(Some(PublicBadge {
            credential_id: row.id.clone(),
            slug: page.slug.clone(),
            public: page.is_public(),
            viewer_is_holder: viewer.is_some_and(|a| a.id == row.account_id),
            issuer: row.issuer.clone(),
            issuer_display_name: row.issuer_display_name.clone(),
            presentation: sd.serialize(),
            claims: Value::Object(claims),
            disclosed,
            verification,
            live,
            has_ldp_vc,
        }))
    }
}

/// The holder's disclosure list, checked: each pointer parses and names one of the
/// credential's selectively disclosable claims, a claim within one, or a claim enclosing
/// some, and none reveals what is never published (the email: [`privacy::never_public`]).
/// Sorted, deduplicated.
pub fn check_disclose(row: &CredentialRow, listed: Vec<String>) -> Result<Vec<String>, AppError> {
    let disclosable: Vec<String> = serde_json::from_str(&row.disclosable)
        .map_err(|e| AppError::Internal(format!("stored paths of {}: {e}", row.id)))?;
    let private = privacy::never_public(&full_claims(row)?);
    let disclosable_paths: Vec<Vec<String>> = disclosable
        .iter()
        .filter_map(|p| parse_pointer(p).ok())
        .collect();
    let mut out = Vec::with_capacity(listed.len());
    for pointer in listed {
        let path = parse_pointer(&pointer)
            .ok()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                AppError::bad_request(
                    "disclose",
                    format!("{pointer:?} is not a JSON pointer (e.g. /ld/credentialSubject/identifier/0)"),
                )
            })?;
        if !disclosable_paths
            .iter()
            .any(|d| path.starts_with(d) || d.starts_with(&path))
        {
            let mut names = disclosable.clone();
            names.sort();
            return Err(AppError::bad_request(
                "disclose",
                format!(
                    "{pointer} is not a selectively disclosable claim of this badge (disclosable: {})",
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
        if privacy::reveals_private(&path, &private) {
            return Err(AppError::bad_request(
                "disclose",
                format!(
                    "{pointer} would publish the recipient's email address or a hashed identifier (with its salt, anyone could confirm a guessed address); a public page never shows it"
                ),
            ));
        }
        out.push(pointer);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The stored SD-JWT with only the disclosures that reveal the chosen claims (and the
/// concealed claims enclosing them), without a KB-JWT.
fn presentation(row: &CredentialRow, page: &BadgePageRow) -> Result<SdJwt, AppError> {
    let bad = |e: String| AppError::Internal(format!("stored credential {}: {e}", row.id));
    let sd = SdJwt::parse(&row.raw).map_err(|e| bad(e.to_string()))?;
    let jws = sd.issuer_jwt().map_err(|e| bad(e.to_string()))?;
    let revealed = sd.reveal(jws.payload).map_err(|e| bad(e.to_string()))?;
    let chosen = chosen_paths(row, page)?;
    let keep = if chosen.is_empty() {
        Vec::new()
    } else {
        revealed.disclosures_for(&chosen)
    };
    Ok(sd.present(&keep, None))
}

/// The claims of `row` as issued (every disclosure revealed), as the wallet stored them.
fn full_claims(row: &CredentialRow) -> Result<Value, AppError> {
    serde_json::from_str(&row.claims)
        .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))
}

/// The page's chosen claims as paths, without any that would reveal what is never
/// published (a choice stored before that rule, say).
fn chosen_paths(row: &CredentialRow, page: &BadgePageRow) -> Result<Vec<Vec<String>>, AppError> {
    let private = privacy::never_public(&full_claims(row)?);
    Ok(page
        .disclosed()?
        .iter()
        .filter_map(|p| parse_pointer(p).ok())
        .filter(|path| !privacy::reveals_private(path, &private))
        .collect())
}

/// The claims a presentation reveals, without checking its signature (shown beside a
/// failed verification).
fn decoded_claims(sd: &SdJwt) -> Map<String, Value> {
    sd.issuer_jwt()
        .ok()
        .and_then(|jws| sd.reveal(jws.payload).ok())
        .map(|r| r.claims)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(disclosable: &[&str]) -> CredentialRow {
        row_with(disclosable, serde_json::json!({}))
    }

    fn row_with(disclosable: &[&str], claims: Value) -> CredentialRow {
        CredentialRow {
            id: "c".into(),
            account_id: "a".into(),
            format: "dc+sd-jwt".into(),
            configuration_id: "x".into(),
            issuer: "https://issuer.example".into(),
            issuer_display_name: None,
            vct: "v".into(),
            raw: String::new(),
            raw_hash: String::new(),
            claims: claims.to_string(),
            disclosable: serde_json::to_string(disclosable).unwrap(),
            received_at: 0,
        }
    }

    #[test]
    fn disclosure_choices_are_disclosable_claims_or_within_or_around_them() {
        let r = row(&[
            "/ld/credentialSubject/identifier/0",
            "/ld/credentialSubject/identifier/1",
        ]);
        assert_eq!(
            check_disclose(
                &r,
                vec![
                    "/ld/credentialSubject/identifier/1".into(),
                    "/ld/credentialSubject/identifier/0/identityHash".into(),
                    "/ld/credentialSubject/identifier/1".into(),
                ]
            )
            .unwrap(),
            vec![
                "/ld/credentialSubject/identifier/0/identityHash".to_owned(),
                "/ld/credentialSubject/identifier/1".to_owned(),
            ]
        );
        assert!(check_disclose(&r, vec!["/ld/credentialSubject/identifier".into()]).is_ok());
        assert!(check_disclose(&r, vec![]).unwrap().is_empty());
        for bad in ["/ld/issuer", "ld/x", ""] {
            match check_disclose(&r, vec![bad.into()]) {
                Err(AppError::BadRequest { field, .. }) => assert_eq!(field, "disclose"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let none = row(&[]);
        let e = check_disclose(&none, vec!["/ld/name".into()]).unwrap_err();
        assert!(e.to_string().contains("disclosable: none"), "{e}");
    }

    fn badge_claims() -> Value {
        serde_json::json!({"ld": {"credentialSubject": {"identifier": [
            {"type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": "Ana"},
            {"type": "IdentityObject", "identityType": "emailAddress", "hashed": true,
             "identityHash": "sha256$ab", "salt": "pepper"}
        ]}}})
    }

    #[test]
    fn the_email_identifier_cannot_be_chosen_whatever_the_pointer() {
        let r = row_with(
            &[
                "/ld/credentialSubject/identifier",
                "/ld/credentialSubject/identifier/0",
                "/ld/credentialSubject/identifier/1",
            ],
            badge_claims(),
        );
        for refused in [
            "/ld/credentialSubject/identifier/1",
            "/ld/credentialSubject/identifier/1/salt",
            "/ld/credentialSubject/identifier",
        ] {
            match check_disclose(&r, vec![refused.into()]) {
                Err(AppError::BadRequest { field, detail }) => {
                    assert_eq!(field, "disclose");
                    assert!(detail.contains("email address"), "{detail}");
                }
                other => panic!("{refused}: {other:?}"),
            }
        }
        assert_eq!(
            check_disclose(&r, vec!["/ld/credentialSubject/identifier/0".into()]).unwrap(),
            vec!["/ld/credentialSubject/identifier/0"]
        );
        // A choice stored before the rule is dropped when the page is made.
        let page = BadgePageRow {
            disclose:
                r#"["/ld/credentialSubject/identifier", "/ld/credentialSubject/identifier/0"]"#
                    .into(),
            ..BadgePageRow::new_public(&r, 5).unwrap()
        };
        assert_eq!(
            chosen_paths(&r, &page).unwrap(),
            vec![protocol::sd_jwt::parse_pointer("/ld/credentialSubject/identifier/0").unwrap()]
        );
    }

    #[test]
    fn new_pages_are_public_with_128_bit_slugs_showing_the_name_only() {
        let r = row_with(&["/ld/credentialSubject/identifier/0"], badge_claims());
        let a = BadgePageRow::new_public(&r, 5).unwrap();
        let b = BadgePageRow::new_public(&r, 5).unwrap();
        assert!(a.is_public());
        assert_eq!(
            a.disclosed().unwrap(),
            vec!["/ld/credentialSubject/identifier/0"]
        );
        assert_eq!(protocol::b64::decode(&a.slug).unwrap().len(), 16);
        assert_ne!(a.slug, b.slug);
        let nameless = BadgePageRow::new_public(&row(&[]), 5).unwrap();
        assert_eq!(nameless.disclosed().unwrap(), Vec::<String>::new());
    }
}
