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

use protocol::tlog::proof::{LogEntryRef, LogProof};
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
            "issuer_key" => ("The issuer's key", "発行者の鍵"),
            "issuer_signature" => ("The issuer's signature", "発行者の署名"),
            "disclosures" => ("The details you can hide", "表示を選べる項目"),
            "issuer_binding" => ("Who issued it", "発行者の確認"),
            "validity" => ("Validity period", "有効期間"),
            "vct" => ("Kind of badge", "バッジの種類"),
            "status" => ("Not revoked", "失効・停止の有無"),
            "ob3_schema" => ("Open Badges 3.0", "Open Badges 3.0"),
            "image_digest" => ("The badge image", "バッジの画像"),
            "transparency" => ("Recorded in public", "公開記録"),
            _ => ("Another check", "その他の確認"),
        };
        if ja { jp } else { en }.to_owned()
    }
}

impl Check {
    /// What this check found, in one plain sentence for the person reading a badge page
    /// (its holder, or a stranger on the public page), in Japanese or English: what was
    /// checked and, when it failed, what that means for them. The raw finding
    /// ([`Check::detail`]) is for the page's folded "Technical details".
    pub fn sentence(&self, ja: bool) -> &'static str {
        let (en, jp) = match (self.name.as_str(), self.outcome) {
            (_, Outcome::NotChecked) => match self.name.as_str() {
                "status" => (
                    "The issuer publishes no revocation list for this badge, so there was nothing to look up.",
                    "発行者はこのバッジの失効リストを公開していないため、確認する対象がありませんでした。",
                ),
                "image_digest" => (
                    "This badge has no image to compare with the one the issuer signed.",
                    "このバッジには、発行者が署名した画像と照合する画像がありません。",
                ),
                "validity" => (
                    "This badge has no expiry date.",
                    "このバッジには有効期限がありません。",
                ),
                "transparency" => (
                    "The issuer keeps no public log of the badges it issues, so there was nothing to look up.",
                    "発行者は発行したバッジの公開記録を持っていないため、確認する対象がありませんでした。",
                ),
                _ => (
                    "This does not apply to this badge.",
                    "このバッジには当てはまりません。",
                ),
            },
            ("format", Outcome::Ok) => (
                "The badge is in a format this wallet can read.",
                "このウォレットが読める形式のバッジです。",
            ),
            ("format", Outcome::Failed) => (
                "The badge is damaged or in a format this wallet cannot read, so it cannot be confirmed.",
                "バッジが壊れているか、このウォレットが読めない形式のため、確認できません。",
            ),
            ("issuer_key", Outcome::Ok) => (
                "The issuer's public key was found at the issuer's own address.",
                "発行者の公開鍵を、発行者自身のアドレスで確認できました。",
            ),
            ("issuer_key", Outcome::Failed) => (
                "The issuer's key could not be found, so nobody can confirm that the issuer signed this badge. It may help to try again later.",
                "発行者の鍵が見つからないため、発行者がこのバッジに署名したことを確認できません。時間をおいて再度お試しください。",
            ),
            ("issuer_signature", Outcome::Ok) => (
                "The issuer's signature is intact: nothing in the badge has been altered since it was issued.",
                "発行者の署名は有効です。発行後にバッジの内容は改ざんされていません。",
            ),
            ("issuer_signature", Outcome::Failed) => (
                "The issuer's signature does not match: the badge may have been altered or forged, and should not be trusted.",
                "発行者の署名が一致しません。バッジが改ざんまたは偽造された可能性があり、信頼できません。",
            ),
            ("disclosures", Outcome::Ok) => (
                "Every detail that can be shown or hidden is exactly what the issuer signed.",
                "表示・非表示を選べる項目は、すべて発行者が署名したとおりです。",
            ),
            ("disclosures", Outcome::Failed) => (
                "Some details of the badge do not match what the issuer signed: they may have been altered.",
                "バッジの一部の項目が、発行者が署名した内容と一致しません。改ざんされた可能性があります。",
            ),
            ("issuer_binding", Outcome::Ok) => (
                "The badge was signed by the issuer it names.",
                "バッジは、記載されている発行者自身が署名したものです。",
            ),
            ("issuer_binding", Outcome::Failed) => (
                "The badge was not signed by the issuer it names: it may be forged, and should not be trusted.",
                "バッジに記載された発行者が署名したものではありません。偽造の可能性があり、信頼できません。",
            ),
            ("validity", Outcome::Ok) => (
                "The badge is within its validity period.",
                "バッジは有効期間内です。",
            ),
            ("validity", Outcome::Failed) => (
                "The badge has expired or is not valid yet. Its issuer can tell you whether it can be renewed.",
                "バッジの有効期限が切れているか、まだ有効になっていません。更新できるかどうかは発行者にお問い合わせください。",
            ),
            ("vct", Outcome::Ok) => (
                "The badge is the kind of credential it claims to be.",
                "バッジは、記載どおりの種類の資格情報です。",
            ),
            ("vct", Outcome::Failed) => (
                "The badge does not say consistently what kind of credential it is.",
                "バッジが示す資格情報の種類に矛盾があります。",
            ),
            ("status", Outcome::Ok) => (
                "The issuer has not revoked or suspended this badge.",
                "発行者はこのバッジを失効・停止していません。",
            ),
            ("status", Outcome::Failed) if self.detail.starts_with("revoked") => (
                "The issuer has revoked this badge: it is no longer valid.",
                "発行者がこのバッジを失効させました。このバッジはもう有効ではありません。",
            ),
            ("status", Outcome::Failed) if self.detail.starts_with("suspended") => (
                "The issuer has suspended this badge for now: it is not valid until they lift the suspension.",
                "発行者がこのバッジを一時停止しています。停止が解除されるまで有効ではありません。",
            ),
            ("status", Outcome::Failed) => (
                "Whether the issuer has revoked this badge could not be confirmed: their revocation list could not be read. Try again in a few minutes.",
                "発行者の失効リストを読み取れず、バッジが失効していないことを確認できませんでした。数分後にもう一度お試しください。",
            ),
            ("ob3_schema", Outcome::Ok) => (
                "The badge follows the Open Badges 3.0 standard.",
                "バッジは Open Badges 3.0 の規格に沿っています。",
            ),
            ("ob3_schema", Outcome::Failed) => (
                "The badge does not follow the Open Badges 3.0 standard, so other services may not accept it.",
                "バッジが Open Badges 3.0 の規格に沿っていないため、他のサービスで受け付けられない可能性があります。",
            ),
            ("transparency", Outcome::Ok) => (
                "The badge is recorded in the issuer's public log, which anyone can audit, and the log agrees with what was seen there before.",
                "バッジは、だれでも監査できる発行者の公開記録に載っています。記録は以前に確認した内容とも一致しています。",
            ),
            ("transparency", Outcome::Failed) if self.detail.contains("forked") => (
                "The issuer's public log has been rewritten since this wallet last looked: the issuer may be showing different records to different people.",
                "このウォレットが前回確認した後に、発行者の公開記録が書き換えられています。発行者が相手によって異なる記録を見せている可能性があります。",
            ),
            ("transparency", Outcome::Failed) => (
                "The badge is not in the issuer's public log as it should be: it may have been issued secretly or forged.",
                "バッジが発行者の公開記録に正しく載っていません。ひそかに発行されたか、偽造された可能性があります。",
            ),
            ("image_digest", Outcome::Ok) => (
                "The badge image is the one the issuer signed.",
                "バッジの画像は、発行者が署名したものと同じです。",
            ),
            ("image_digest", Outcome::Failed) => (
                "The badge image has changed since the issuer signed it: the picture shown may not be the issuer's.",
                "発行者が署名した後にバッジの画像が変更されています。表示されている画像は発行者のものではない可能性があります。",
            ),
            (_, Outcome::Ok) => ("This check passed.", "この確認は合格しました。"),
            (_, Outcome::Failed) => (
                "This check failed: the badge cannot be fully confirmed.",
                "この確認は不合格でした。バッジを完全には確認できません。",
            ),
        };
        if ja { jp } else { en }
    }

    /// The outcome in a word, in Japanese or English.
    pub fn outcome_word(&self, ja: bool) -> &'static str {
        let (en, jp) = match self.outcome {
            Outcome::Ok => ("Passed", "合格"),
            Outcome::Failed => ("Failed", "不合格"),
            Outcome::NotChecked => ("Not checked", "確認対象外"),
        };
        if ja { jp } else { en }
    }

    /// The outcome as the pages' `data-outcome` names it.
    pub fn outcome_code(&self) -> &'static str {
        match self.outcome {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::NotChecked => "not-checked",
        }
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

    /// The entry of the issuer's public log that records the badge, when the
    /// `transparency` check passed.
    pub fn log_entry(&self) -> Option<u64> {
        self.verification
            .checks
            .iter()
            .find_map(core::transparency::recorded_entry)
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

    /// The `transparency` check alone of the SD-JWT VC `raw`, whose issuer signature was
    /// verified at receipt: fetches the badge's proof from its issuer's log and keeps it
    /// with the checkpoint (`store::tlog`). Later live verifications prove the kept entry
    /// from the log's tiles and refresh the checkpoint.
    pub async fn keep_log_proof(&self, raw: &str) -> core::Check {
        let jwt = raw.split('~').next().unwrap_or(raw);
        let iss = protocol::jose::Jws::decode(jwt)
            .ok()
            .and_then(|j| j.claim_str("iss").map(str::to_owned));
        match iss {
            Some(iss) => core::transparency::check(&self.verify_sources, &iss, jwt, None).await,
            None => core::Check::unset(
                core::transparency::CHECK_TRANSPARENCY,
                "not checked: the badge names no `iss`",
            ),
        }
    }

    /// Where the badge whose issuer-signed JWT is `jwt` is in its issuer's log, from the
    /// proof kept when it arrived. A verifier it is presented to, and the wallet's own live
    /// checks (each view of a public badge page), prove that entry from the log's public
    /// tiles, so the issuer does not learn which badge was shown or looked at. `None` when
    /// no proof was kept (an issuer without a log, a badge that is not in it).
    pub(crate) async fn log_entry_of(
        &self,
        jwt: &str,
    ) -> Result<Option<LogEntryRef>, crate::AppError> {
        let Some(kept) = self.store.log_proof(&protocol::b64::sha256(jwt)).await? else {
            return Ok(None);
        };
        match serde_json::from_str::<LogProof>(&kept.proof) {
            Ok(p) => Ok(Some(p.into())),
            // Then the issuer is asked for the proof, as for a badge without one.
            Err(e) => {
                tracing::warn!(error = %e, "a kept log proof does not parse; the issuer is asked again");
                Ok(None)
            }
        }
    }

    /// Verifies the SD-JWT VC `raw` (issuer-signed JWT and disclosures; a KB-JWT is
    /// ignored) now, over the network, with the verification core.
    pub async fn verify_live(&self, raw: &str, now: i64) -> LiveVerification {
        let jwt = raw.split('~').next().unwrap_or(raw);
        let log_entry = match self.log_entry_of(jwt).await {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!(error = %e, "the kept log proof could not be read; the issuer is asked");
                None
            }
        };
        let policy = Policy {
            trusted_issuers: &[],
            now,
            log_entry: log_entry.as_ref(),
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

    /// Every check a badge page shows reads as a plain sentence in both languages, with no
    /// raw detail in it; a failure says what it means, revocation first.
    #[test]
    fn each_check_is_a_plain_sentence_in_both_languages() {
        let names = [
            "format",
            "issuer_key",
            "issuer_signature",
            "disclosures",
            "issuer_binding",
            "validity",
            "vct",
            "status",
            "ob3_schema",
            "image_digest",
            "transparency",
        ];
        for name in names {
            for outcome in [Outcome::Ok, Outcome::Failed, Outcome::NotChecked] {
                let c = check(name, outcome, "did:web:x#key-1 `typ` /ld/x");
                for ja in [false, true] {
                    let text = c.sentence(ja);
                    assert!(!text.is_empty(), "{name}");
                    assert!(
                        !text.contains("did:") && !text.contains('`') && !text.contains("/ld"),
                        "{name}: {text}"
                    );
                    assert_ne!(c.label(ja), name, "{name} has a label");
                }
                assert!(!c.sentence(true).is_ascii(), "{name}: Japanese");
            }
            assert_ne!(
                check(name, Outcome::Ok, "").sentence(false),
                check(name, Outcome::Failed, "").sentence(false),
                "{name}: passing and failing read differently"
            );
        }
        let revoked = check(
            CHECK_STATUS,
            Outcome::Failed,
            "revoked (status list x, index 1)",
        );
        assert!(revoked.sentence(false).contains("has revoked this badge"));
        assert!(revoked.sentence(true).contains("失効"));
        let unreachable = check(
            CHECK_STATUS,
            Outcome::Failed,
            "status list x: HTTP status 503",
        );
        assert!(
            unreachable
                .sentence(false)
                .contains("could not be confirmed")
        );
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
