//! Live verification of a held badge: checked now, not at receipt time, by the one
//! verification core the verifier uses ([`protocol::verify`]), so the wallet and the verifier
//! give the same verdict on the same badge. Each check is a line with its outcome and
//! reason, for the badge pages.
//!
//! The badge is checked as a credential on its own ([`standalone`]): `format`,
//! `issuer_key`, `issuer_signature`, `disclosures`, `issuer_binding` (the issuer the badge
//! names is the one that signed it), `validity`, `vct`, `status`, `ob3_schema`,
//! `image_digest`, and the checks that only mean something when a verifier asked for the
//! badge (holder binding, the request's issuer, trust), which are "not applicable" here and
//! not shown.
//!
//! [`App::verify_live`] takes the SD-JWT as stored (or as presented), so any page that
//! shows a badge can use it.

use protocol::verify::standalone::{self, Policy, Submitted};
use protocol::verify::{self as core, Verification};
use serde::Serialize;

use crate::App;

/// The media type of a Status List Token (draft-ietf-oauth-status-list §5.1).
pub const STATUSLIST_JWT_MEDIA_TYPE: &str = kit::network_sources::STATUSLIST_JWT_MEDIA_TYPE;

pub const CHECK_ISSUER_KEY: &str = "issuer_key";
pub const CHECK_SIGNATURE: &str = "issuer_signature";
pub const CHECK_ISSUER_BINDING: &str = core::issuer::CHECK_ISSUER_BINDING;
pub const CHECK_STATUS: &str = "status";
pub const CHECK_VALIDITY: &str = "validity";
pub const CHECK_IMAGE: &str = "image_digest";

/// Checks that only apply when a verifier asked for the badge: not shown on badge pages
/// when they did not apply.
const PRESENTATION_ONLY: [&str; 9] = [
    "vp_token",
    "dcql",
    "holder_binding",
    "nonce",
    "audience",
    "kb_iat",
    "sd_hash",
    core::issuer::CHECK_REQUESTED_ISSUER,
    "trust",
];

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
    pub name: String,
    pub outcome: Outcome,
    /// What was found, or exactly what failed.
    pub detail: String,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }

    /// What the check is called on a badge page, in Japanese or English.
    pub fn label(&self, ja: bool) -> String {
        let (en, jp) = match self.name.as_str() {
            "format" => ("Format", "形式"),
            "issuer_key" => ("Issuer key", "発行者の鍵"),
            "issuer_signature" => ("Signature", "署名"),
            "disclosures" => ("Disclosed details", "開示された項目"),
            "issuer_binding" => ("Issuer identity", "発行者の確認"),
            "validity" => ("Expiry", "有効期限"),
            "vct" => ("Badge type", "バッジの種類"),
            "status" => ("Status", "失効状態"),
            "ob3_schema" => ("Open Badges 3.0", "Open Badges 3.0"),
            "image_digest" => ("Image digest", "画像の改ざん検知"),
            other => return other.to_owned(),
        };
        if ja { jp } else { en }.to_owned()
    }
}

impl From<&core::Check> for Check {
    fn from(c: &core::Check) -> Check {
        Check {
            name: c.name.clone(),
            outcome: match c.ok {
                Some(true) => Outcome::Ok,
                Some(false) => Outcome::Failed,
                None => Outcome::NotChecked,
            },
            detail: c.detail.clone(),
        }
    }
}

/// The checks of one badge, in order, and when they ran.
#[derive(Debug, Clone, Serialize)]
pub struct LiveVerification {
    /// Unix seconds.
    pub checked_at: i64,
    /// The lines a badge page shows: every check that applies to a held badge.
    pub checks: Vec<Check>,
    /// Everything the verification core reported, as the verifier reports it.
    #[serde(skip)]
    pub verification: Verification,
}

impl LiveVerification {
    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// No check failed.
    pub fn all_ok(&self) -> bool {
        self.verification.verified()
    }

    /// The first failed check, if any.
    pub fn failed(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.outcome == Outcome::Failed)
    }

    /// The one state a person reads off the badge: revoked or suspended by its issuer
    /// (the `status` check), expired (`validity`), not verified (any other failed check),
    /// or valid.
    pub fn state(&self) -> BadgeState {
        BadgeState::of(&self.checks)
    }
}

/// A badge's state as its pages show it, one banner for every surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadgeState {
    Valid,
    Revoked,
    Suspended,
    Expired,
    NotVerified,
}

impl BadgeState {
    /// The state `checks` add up to: a failed `status` check says revoked or suspended, a
    /// failed `validity` check that says expired is expired, any other failure is not
    /// verified.
    pub fn of(checks: &[Check]) -> BadgeState {
        let failed = |name: &str, found: &dyn Fn(&str) -> bool| {
            checks
                .iter()
                .any(|c| c.outcome == Outcome::Failed && c.name == name && found(&c.detail))
        };
        if failed(CHECK_STATUS, &|d| d.starts_with("revoked")) {
            BadgeState::Revoked
        } else if failed(CHECK_STATUS, &|d| d.starts_with("suspended")) {
            BadgeState::Suspended
        } else if failed(CHECK_VALIDITY, &|d| d.contains("expired")) {
            BadgeState::Expired
        } else if checks.iter().any(|c| c.outcome == Outcome::Failed) {
            BadgeState::NotVerified
        } else {
            BadgeState::Valid
        }
    }

    /// The name used in pages' `data-state` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BadgeState::Valid => "valid",
            BadgeState::Revoked => "revoked",
            BadgeState::Suspended => "suspended",
            BadgeState::Expired => "expired",
            BadgeState::NotVerified => "not_verified",
        }
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
    /// ignored) now, over the network, with the verification core.
    pub async fn verify_live(&self, raw: &str, now: i64) -> LiveVerification {
        let policy = Policy {
            trusted_issuers: &[],
            now,
        };
        // Live means now: status lists are fetched afresh for each verification (a
        // verifier may cache them for their `ttl`; a holder looking at a badge page wants
        // to see a revocation at once).
        let out = standalone::verify(
            &self.verify_sources,
            &core::StatusCache::default(),
            &standalone::BitstringCache::default(),
            &policy,
            &Submitted::Compact(raw.to_owned()),
        )
        .await;
        let checks = out
            .verification
            .checks
            .iter()
            .filter(|c| !(c.ok.is_none() && PRESENTATION_ONLY.contains(&c.name.as_str())))
            .map(Check::from)
            .collect();
        LiveVerification {
            checked_at: now,
            checks,
            verification: out.verification,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, outcome: Outcome, detail: &str) -> Check {
        Check {
            name: name.into(),
            outcome,
            detail: detail.into(),
        }
    }

    #[test]
    fn one_state_from_the_checks_revocation_first() {
        let ok = check(CHECK_SIGNATURE, Outcome::Ok, "ES256");
        let revoked = check(
            CHECK_STATUS,
            Outcome::Failed,
            "revoked (status list x, index 1)",
        );
        let suspended = check(
            CHECK_STATUS,
            Outcome::Failed,
            "suspended (status list x, index 1)",
        );
        let expired = check(
            CHECK_VALIDITY,
            Outcome::Failed,
            "expired at 2026-01-01T00:00:00Z",
        );
        let bad_sig = check(
            CHECK_SIGNATURE,
            Outcome::Failed,
            "signature does not verify",
        );
        let unchecked = check(CHECK_STATUS, Outcome::NotChecked, "no status");
        assert_eq!(
            BadgeState::of(&[ok.clone(), unchecked.clone()]),
            BadgeState::Valid
        );
        assert_eq!(
            BadgeState::of(&[ok.clone(), expired.clone(), revoked]),
            BadgeState::Revoked
        );
        assert_eq!(
            BadgeState::of(&[expired.clone(), suspended]),
            BadgeState::Suspended
        );
        assert_eq!(BadgeState::of(&[ok, expired]), BadgeState::Expired);
        assert_eq!(
            BadgeState::of(&[bad_sig, unchecked]),
            BadgeState::NotVerified
        );
    }
}
