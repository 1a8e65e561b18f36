//! The issuer's settings an administrator changes in the console: its names (en, ja), the
//! mail From name, the colours, the logo, the invitation and offer lifetimes. Stored in
//! the database (a setting not set there takes the configured value); every instance
//! holds the current [`Settings`] and reads them again every [`REFRESH`] (and at once
//! after its own change), so a change applies on every instance without a restart, and
//! the command line's import uses them too.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::App;
use crate::config::Config;
use crate::domain::images;
use crate::domain::operators::Operator;
use crate::error::AppError;
use crate::store::{AuditEntry, LogoRow, SettingChange};

/// How often each instance reads the settings again.
pub const REFRESH: Duration = Duration::from_secs(1);
/// Lifetimes an administrator may set, in hours.
pub const MAX_LIFETIME_HOURS: i64 = 24 * 365;

/// The settings in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub name: String,
    pub name_ja: Option<String>,
    /// The From mailbox of the emails.
    pub mail_from: String,
    pub brand_color: String,
    pub text_color: String,
    pub logo_url: Option<String>,
    /// Seconds an invitation link stays valid.
    pub invitation_ttl: i64,
    /// Seconds an offer's code stays redeemable.
    pub offer_ttl: i64,
    /// What is set in the database, by name (the rest is configured).
    pub stored: HashMap<String, String>,
}

/// The names of the settings in the database.
pub mod names {
    pub const NAME_EN: &str = "name_en";
    pub const NAME_JA: &str = "name_ja";
    pub const MAIL_FROM_NAME: &str = "mail_from_name";
    pub const BRAND_COLOR: &str = "brand_color";
    pub const TEXT_COLOR: &str = "text_color";
    pub const INVITATION_TTL: &str = "invitation_ttl";
    pub const OFFER_TTL: &str = "offer_ttl";
    /// The uploaded logo's digest: the logo is in use.
    pub const LOGO: &str = "logo";
}

/// The address of a mailbox (`Name <a@b>` or `a@b`).
fn address_of(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => mailbox[open + 1..close].trim(),
        _ => mailbox.trim(),
    }
}

impl Settings {
    /// The configured values, overridden by what `stored` sets.
    pub fn resolve(config: &Config, issuer_id: &str, stored: HashMap<String, String>) -> Self {
        let get = |n: &str| stored.get(n).filter(|v| !v.is_empty()).cloned();
        let number = |n: &str| get(n).and_then(|v| v.parse::<i64>().ok());
        let mail_from = match get(names::MAIL_FROM_NAME) {
            Some(name) => format!("{name} <{}>", address_of(&config.mail_from)),
            None => config.mail_from.clone(),
        };
        let logo_url = match get(names::LOGO) {
            Some(digest) => Some(format!(
                "{issuer_id}/issuer/logo?v={}",
                url::form_urlencoded::byte_serialize(digest.as_bytes()).collect::<String>()
            )),
            None => config.logo_url.clone(),
        };
        Settings {
            name: get(names::NAME_EN).unwrap_or_else(|| config.name.clone()),
            name_ja: get(names::NAME_JA).or_else(|| config.name_ja.clone()),
            mail_from,
            brand_color: get(names::BRAND_COLOR).unwrap_or_else(|| config.brand_color.clone()),
            text_color: get(names::TEXT_COLOR).unwrap_or_else(|| config.text_color.clone()),
            logo_url,
            invitation_ttl: number(names::INVITATION_TTL).unwrap_or(config.invitation_ttl),
            offer_ttl: number(names::OFFER_TTL).unwrap_or(config.offer_ttl),
            stored,
        }
    }

    /// The issuer's name in `lang` (`ja` falls back to the English name).
    pub fn name_in(&self, lang: &str) -> &str {
        match (lang, &self.name_ja) {
            ("ja", Some(ja)) => ja,
            _ => &self.name,
        }
    }
}

/// What an administrator sent: each field as typed (empty: back to the configured value).
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub name_en: String,
    pub name_ja: String,
    pub mail_from_name: String,
    pub brand_color: String,
    pub text_color: String,
    pub invitation_hours: String,
    pub offer_hours: String,
    /// A new logo: its media type and bytes.
    pub logo: Option<(String, Vec<u8>)>,
    /// Stop using the uploaded logo.
    pub remove_logo: bool,
}

/// Why a setting was refused: the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem:?}")]
pub struct SettingError {
    pub field: &'static str,
    pub problem: SettingProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingProblem {
    TooLong(usize),
    ControlCharacters,
    MailNameCharacters,
    Colour,
    Hours,
    Image(String),
}

fn text(field: &'static str, value: &str, max: usize) -> Result<Option<String>, SettingError> {
    let v = value.trim();
    if v.chars().any(char::is_control) {
        return Err(SettingError {
            field,
            problem: SettingProblem::ControlCharacters,
        });
    }
    if v.chars().count() > max {
        return Err(SettingError {
            field,
            problem: SettingProblem::TooLong(max),
        });
    }
    Ok((!v.is_empty()).then(|| v.to_owned()))
}

fn colour(field: &'static str, value: &str) -> Result<Option<String>, SettingError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if v.len() == 7 && v.starts_with('#') && v[1..].bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(Some(v.to_ascii_lowercase()))
    } else {
        Err(SettingError {
            field,
            problem: SettingProblem::Colour,
        })
    }
}

fn hours(field: &'static str, value: &str) -> Result<Option<String>, SettingError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<i64>() {
        Ok(h) if (1..=MAX_LIFETIME_HOURS).contains(&h) => Ok(Some((h * 3600).to_string())),
        _ => Err(SettingError {
            field,
            problem: SettingProblem::Hours,
        }),
    }
}

impl SettingsInput {
    /// Checks every field; all problems, each with its field.
    pub fn check(&self) -> Result<(Vec<SettingChange>, Option<LogoRow>), Vec<SettingError>> {
        let mut changes = Vec::new();
        let mut errors = Vec::new();
        let mut take = |name: &'static str, r: Result<Option<String>, SettingError>| match r {
            Ok(v) => changes.push((name, v)),
            Err(e) => errors.push(e),
        };
        take(names::NAME_EN, text("name_en", &self.name_en, 200));
        take(names::NAME_JA, text("name_ja", &self.name_ja, 200));
        let mail = text("mail_from_name", &self.mail_from_name, 100).and_then(|v| {
            // A display name that needs no quoting in a From header.
            if v.as_deref()
                .is_some_and(|n| n.chars().any(|c| "\"<>()[]\\,;:@".contains(c)))
            {
                Err(SettingError {
                    field: "mail_from_name",
                    problem: SettingProblem::MailNameCharacters,
                })
            } else {
                Ok(v)
            }
        });
        take(names::MAIL_FROM_NAME, mail);
        take(names::BRAND_COLOR, colour("brand_color", &self.brand_color));
        take(names::TEXT_COLOR, colour("text_color", &self.text_color));
        take(
            names::INVITATION_TTL,
            hours("invitation_hours", &self.invitation_hours),
        );
        take(names::OFFER_TTL, hours("offer_hours", &self.offer_hours));
        let mut logo = None;
        match &self.logo {
            Some((media_type, bytes)) => match images::check(media_type, bytes) {
                Ok(c) => {
                    changes.push((names::LOGO, Some(c.digest_sri.clone())));
                    logo = Some(LogoRow {
                        media_type: c.media_type.to_owned(),
                        bytes: c.bytes,
                        digest: c.digest_sri,
                    });
                }
                Err(e) => errors.push(SettingError {
                    field: "logo",
                    problem: SettingProblem::Image(e.to_string()),
                }),
            },
            None if self.remove_logo => changes.push((names::LOGO, None)),
            None => {}
        }
        if errors.is_empty() {
            Ok((changes, logo))
        } else {
            Err(errors)
        }
    }
}

impl App {
    /// The settings in effect on this instance (at most [`REFRESH`] old).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Reads the settings from the database again. Settings equal to those in effect are
    /// left as they are, the same `Arc`, so that what is kept by them (the signed metadata,
    /// [`super::signed_metadata`]) is found by a pointer comparison, not a field by field one.
    pub async fn reload_settings(&self) -> Result<Arc<Settings>, AppError> {
        let stored = self.store.issuer_settings().await?.into_iter().collect();
        let fresh = Settings::resolve(&self.config, &self.issuer_id, stored);
        let mut current = self
            .settings
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if **current != fresh {
            *current = Arc::new(fresh);
        }
        Ok(current.clone())
    }

    /// Saves an administrator's settings, audited (`settings.changed`, with the names of
    /// the settings sent), and puts them in effect on this instance at once.
    pub async fn save_settings(
        &self,
        input: &SettingsInput,
        operator: &Operator,
    ) -> Result<Result<Arc<Settings>, Vec<SettingError>>, AppError> {
        operator
            .role
            .require(crate::domain::operators::Role::Admin)?;
        let (changes, logo) = match input.check() {
            Ok(c) => c,
            Err(errors) => return Ok(Err(errors)),
        };
        let now = self.clock.now();
        let current = self.settings();
        let changed: Vec<&str> = changes
            .iter()
            .filter(|(name, value)| current.stored.get(*name) != value.as_ref())
            .map(|(name, _)| *name)
            .collect();
        let audit = AuditEntry {
            at: now,
            action: "settings.changed".into(),
            subject: "issuer".into(),
            detail: serde_json::json!({ "changed": changed }).to_string(),
            operator_id: Some(operator.id.clone()),
        };
        self.store
            .save_issuer_settings(&changes, logo.as_ref(), &operator.id, now, &audit)
            .await?;
        Ok(Ok(self.reload_settings().await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_override_the_configured_ones() {
        let config = Config::for_dir(
            "/tmp/x".into(),
            "https://i.example".into(),
            "sqlite::memory:".into(),
        );
        let none = Settings::resolve(&config, "https://i.example", HashMap::new());
        assert_eq!(none.name, config.name);
        assert_eq!(none.invitation_ttl, config.invitation_ttl);
        assert_eq!(none.mail_from, config.mail_from);
        let stored: HashMap<String, String> = [
            ("name_ja", "テスト発行者"),
            ("mail_from_name", "バッジ事務局"),
            ("invitation_ttl", "7200"),
            ("logo", "sha256-x+y/="),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let s = Settings::resolve(&config, "https://i.example", stored);
        assert_eq!(s.name_in("ja"), "テスト発行者");
        assert_eq!(s.name_in("en"), config.name);
        assert_eq!(s.invitation_ttl, 7200);
        assert_eq!(s.offer_ttl, config.offer_ttl);
        assert_eq!(
            s.mail_from,
            format!("バッジ事務局 <{}>", address_of(&config.mail_from))
        );
        assert_eq!(
            s.logo_url.as_deref(),
            Some("https://i.example/issuer/logo?v=sha256-x%2By%2F%3D")
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let input = SettingsInput {
            name_en: "a".repeat(201),
            name_ja: "ok\u{7}".into(),
            mail_from_name: "Evil <x@y>".into(),
            brand_color: "red".into(),
            text_color: "#FFFFFF".into(),
            invitation_hours: "0".into(),
            offer_hours: "99999999".into(),
            logo: Some(("image/gif".into(), b"GIF89a".to_vec())),
            remove_logo: false,
        };
        let errors = input.check().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "name_en",
                "name_ja",
                "mail_from_name",
                "brand_color",
                "invitation_hours",
                "offer_hours",
                "logo"
            ]
        );
        let ok = SettingsInput {
            text_color: "#FFFFFF".into(),
            invitation_hours: " 48 ".into(),
            ..SettingsInput::default()
        };
        let (changes, logo) = ok.check().unwrap();
        assert!(logo.is_none());
        assert!(changes.contains(&(names::TEXT_COLOR, Some("#ffffff".into()))));
        assert!(changes.contains(&(names::INVITATION_TTL, Some("172800".into()))));
        assert!(changes.contains(&(names::NAME_EN, None)));
    }
}
