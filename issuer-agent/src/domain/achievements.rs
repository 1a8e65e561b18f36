//! Achievements (OB 3.0 `Achievement`, the badge class): create, update, retire, the badge
//! image, and the OB 3.0 JSON every credential format embeds.

use protocol::ob3;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::domain::images;
use crate::domain::operators::Operator;
use crate::error::AppError;
use crate::store::{AchievementRow, AchievementText, AuditEntry, StoredImage};

/// The languages an achievement is written in: its main one and at most one other.
pub const LANGUAGES: &[&str] = &["en", "ja"];

/// Longest name, in characters.
const MAX_NAME: usize = 200;
/// Longest description or criteria, in characters.
const MAX_TEXT: usize = 20_000;

/// OB 3.0 `AchievementType` vocabulary (besides `ext:` extensions).
pub const ACHIEVEMENT_TYPES: &[&str] = &[
    "Achievement",
    "ApprenticeshipCertificate",
    "Assessment",
    "Assignment",
    "AssociateDegree",
    "Award",
    "Badge",
    "BachelorDegree",
    "Certificate",
    "CertificateOfCompletion",
    "Certification",
    "CommunityService",
    "Competency",
    "Course",
    "CoCurricular",
    "Degree",
    "Diploma",
    "DoctoralDegree",
    "Fieldwork",
    "GeneralEducationDevelopment",
    "JourneymanCertificate",
    "LearningProgram",
    "License",
    "Membership",
    "ProfessionalDoctorate",
    "QualityAssuranceCredential",
    "MasterCertificate",
    "MasterDegree",
    "MicroCredential",
    "ResearchDoctorate",
    "SecondarySchoolDiploma",
];

/// An OB 3.0 `Alignment`, as the API takes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlignmentInput {
    pub target_name: String,
    pub target_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_framework: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_code: Option<String>,
}

/// An achievement's name, description and criteria in a language other than its main one.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AchievementTextInput {
    /// `en` or `ja`.
    pub language: String,
    pub name: String,
    pub description: String,
    /// The criteria, as narrative (Markdown allowed by OB 3.0).
    pub criteria: String,
}

impl From<AchievementText> for AchievementTextInput {
    fn from(t: AchievementText) -> Self {
        AchievementTextInput {
            language: t.language,
            name: t.name,
            description: t.description,
            criteria: t.criteria,
        }
    }
}

fn texts_of(inputs: Vec<AchievementTextInput>) -> Vec<AchievementText> {
    inputs
        .into_iter()
        .map(|t| AchievementText {
            language: t.language.trim().to_ascii_lowercase(),
            name: t.name.trim().to_owned(),
            description: t.description.trim().to_owned(),
            criteria: t.criteria.trim().to_owned(),
        })
        .collect()
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAchievement {
    /// In the main language (`language`).
    pub name: String,
    pub description: String,
    /// The criteria, as narrative (Markdown allowed by OB 3.0).
    pub criteria: String,
    /// The language of `name`, `description` and `criteria`: `en` (the default) or `ja`.
    #[serde(default)]
    pub language: Option<String>,
    /// The same three in the other language (OB 3.0 `related` language editions).
    #[serde(default)]
    pub translations: Vec<AchievementTextInput>,
    /// A page describing the criteria (`Criteria.id`).
    #[serde(default)]
    pub criteria_url: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    /// Days a badge stays valid after issuance; unset: no expiry.
    #[serde(default)]
    pub valid_days: Option<i64>,
    /// OB 3.0 `achievementType`, e.g. `Badge`.
    #[serde(default)]
    pub achievement_type: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub alignments: Vec<AlignmentInput>,
    /// Each offer waits for the operator's approval; wallets get a deferred transaction.
    #[serde(default)]
    pub requires_approval: bool,
}

/// `missing` → `None` (unchanged), `null` → `Some(None)` (cleared), a value → set.
fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A partial update: members left out stay as they are; `null` clears an optional one.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AchievementUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// Replaces every other language's texts (`[]` removes them).
    #[serde(default)]
    pub translations: Option<Vec<AchievementTextInput>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub criteria: Option<String>,
    #[serde(default, deserialize_with = "double")]
    pub criteria_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    pub image_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double")]
    pub valid_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double")]
    pub achievement_type: Option<Option<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub alignments: Option<Vec<AlignmentInput>>,
    #[serde(default)]
    pub requires_approval: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AchievementView {
    pub id: String,
    /// The OB 3.0 `Achievement.id`.
    pub uri: String,
    pub name: String,
    pub description: String,
    pub criteria: String,
    /// The language of `name`, `description` and `criteria`.
    pub language: String,
    /// The texts in the other language.
    pub translations: Vec<AchievementTextInput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criteria_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// `sha256-…` of the uploaded image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achievement_type: Option<String>,
    pub tags: Vec<String>,
    pub alignments: Vec<AlignmentInput>,
    pub retired: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<i64>,
    pub requires_approval: bool,
}

/// Name, description and criteria of one language: none empty, none too long; the error
/// names the field as `field` writes it.
fn check_texts(
    field: impl Fn(&str) -> String,
    name: &str,
    description: &str,
    criteria: &str,
) -> Result<(), AppError> {
    for (which, value, max) in [
        ("name", name, MAX_NAME),
        ("description", description, MAX_TEXT),
        ("criteria", criteria, MAX_TEXT),
    ] {
        if value.trim().is_empty() {
            return Err(AppError::bad_request(&field(which), "must not be empty"));
        }
        if value.chars().count() > max {
            return Err(AppError::bad_request(
                &field(which),
                format!("is longer than {max} characters"),
            ));
        }
    }
    Ok(())
}

/// An achievement's name, description and criteria in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Localized<'a> {
    pub language: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub criteria: &'a str,
}

/// The texts of `a` in `language` if it is written in it, else in its main language.
pub fn localized<'a>(a: &'a AchievementRow, language: &str) -> Localized<'a> {
    a.translations
        .iter()
        .find(|t| t.language == language)
        .map(|t| Localized {
            language: &t.language,
            name: &t.name,
            description: &t.description,
            criteria: &t.criteria,
        })
        .unwrap_or(Localized {
            language: &a.language,
            name: &a.name,
            description: &a.description,
            criteria: &a.criteria,
        })
}

/// What the console's achievement form sends: the texts in both languages (either may
/// be the main one; the other may be left empty), the criteria page, the lifetime and
/// the type. Tags, alignments and approval stay as the admin API set them.
#[derive(Debug, Default, Clone)]
pub struct AchievementForm {
    /// The main language, `en` or `ja`.
    pub language: String,
    /// Per language (`en`, `ja`): name, description, criteria.
    pub texts: Vec<(String, [String; 3])>,
    pub criteria_url: String,
    pub valid_days: String,
    pub achievement_type: String,
}

impl AchievementForm {
    /// The form of an achievement, for editing.
    pub fn of(a: &AchievementRow) -> Self {
        AchievementForm {
            language: a.language.clone(),
            texts: LANGUAGES
                .iter()
                .map(|l| {
                    let t = localized(a, l);
                    let texts = if t.language == *l {
                        [t.name, t.description, t.criteria].map(str::to_owned)
                    } else {
                        Default::default()
                    };
                    ((*l).to_owned(), texts)
                })
                .collect(),
            criteria_url: a.criteria_url.clone().unwrap_or_default(),
            valid_days: a.valid_days.map(|d| d.to_string()).unwrap_or_default(),
            achievement_type: a.achievement_type.clone().unwrap_or_default(),
        }
    }

    /// The texts given for `language` (empty when none).
    pub fn texts_in(&self, language: &str) -> [&str; 3] {
        self.texts
            .iter()
            .find(|(l, _)| l == language)
            .map(|(_, t)| [t[0].as_str(), t[1].as_str(), t[2].as_str()])
            .unwrap_or(["", "", ""])
    }

    /// The form as an update of every member it has; errors name the form's fields
    /// (`name_ja`, `valid_days`, …).
    pub fn to_update(&self) -> Result<AchievementUpdate, AppError> {
        let language = self.language.trim();
        if !LANGUAGES.contains(&language) {
            return Err(AppError::bad_request("language", "must be en or ja"));
        }
        let [name, description, criteria] = self.texts_in(language);
        check_texts(|f| format!("{f}_{language}"), name, description, criteria)?;
        let mut translations = Vec::new();
        for other in LANGUAGES.iter().filter(|l| **l != language) {
            let texts = self.texts_in(other);
            if texts.iter().all(|t| t.trim().is_empty()) {
                continue;
            }
            let [name, description, criteria] = texts;
            check_texts(|f| format!("{f}_{other}"), name, description, criteria)?;
            translations.push(AchievementTextInput {
                language: (*other).to_owned(),
                name: name.to_owned(),
                description: description.to_owned(),
                criteria: criteria.to_owned(),
            });
        }
        let optional = |s: &str| Some(Some(s.trim().to_owned()).filter(|s| !s.is_empty()));
        let valid_days = match self.valid_days.trim() {
            "" => None,
            d => Some(d.parse::<i64>().map_err(|_| {
                AppError::bad_request("valid_days", "must be a whole number of days")
            })?),
        };
        Ok(AchievementUpdate {
            name: Some(name.to_owned()),
            description: Some(description.to_owned()),
            criteria: Some(criteria.to_owned()),
            language: Some(language.to_owned()),
            translations: Some(translations),
            criteria_url: optional(&self.criteria_url),
            valid_days: Some(valid_days),
            achievement_type: optional(&self.achievement_type),
            ..AchievementUpdate::default()
        })
    }

    /// The form as a new achievement.
    pub fn to_new(&self) -> Result<NewAchievement, AppError> {
        let u = self.to_update()?;
        Ok(NewAchievement {
            name: u.name.unwrap_or_default(),
            description: u.description.unwrap_or_default(),
            criteria: u.criteria.unwrap_or_default(),
            language: u.language,
            translations: u.translations.unwrap_or_default(),
            criteria_url: u.criteria_url.flatten(),
            valid_days: u.valid_days.flatten(),
            achievement_type: u.achievement_type.flatten(),
            ..NewAchievement::default()
        })
    }
}

fn check_image(media_type: &str, body: &[u8]) -> Result<images::Checked, AppError> {
    images::check(media_type, body).map_err(|e| AppError::bad_request("image", e.to_string()))
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "https" | "http"))
}

fn tags_of(row: &AchievementRow) -> Vec<String> {
    row.tags
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

fn alignments_of(row: &AchievementRow) -> Vec<AlignmentInput> {
    row.alignments
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default()
}

/// Checks every field of a (new or updated) achievement; the error names the field.
fn validate(row: &AchievementRow) -> Result<(), AppError> {
    check_texts(str::to_owned, &row.name, &row.description, &row.criteria)?;
    if !LANGUAGES.contains(&row.language.as_str()) {
        return Err(AppError::bad_request("language", "must be en or ja"));
    }
    for (i, t) in row.translations.iter().enumerate() {
        let at = format!("translations[{i}].");
        if !LANGUAGES.contains(&t.language.as_str()) {
            return Err(AppError::bad_request(
                &format!("{at}language"),
                "must be en or ja",
            ));
        }
        if t.language == row.language {
            return Err(AppError::bad_request(
                &format!("{at}language"),
                "is the main language; its texts are name, description and criteria",
            ));
        }
        if row.translations[..i]
            .iter()
            .any(|o| o.language == t.language)
        {
            return Err(AppError::bad_request(
                &format!("{at}language"),
                "is given twice",
            ));
        }
        check_texts(|f| format!("{at}{f}"), &t.name, &t.description, &t.criteria)?;
    }
    if let Some(url) = &row.image_url {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "https" | "http" | "data") => {}
            _ => {
                return Err(AppError::bad_request(
                    "image_url",
                    "must be an absolute https, http or data: URL",
                ));
            }
        }
    }
    if let Some(url) = &row.criteria_url
        && !is_http_url(url)
    {
        return Err(AppError::bad_request(
            "criteria_url",
            "must be an absolute http(s) URL",
        ));
    }
    if row.valid_days.is_some_and(|d| !(1..=36500).contains(&d)) {
        return Err(AppError::bad_request(
            "valid_days",
            "must be between 1 and 36500",
        ));
    }
    if let Some(t) = &row.achievement_type {
        let ext_ok = t.strip_prefix("ext:").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        });
        if !ACHIEVEMENT_TYPES.contains(&t.as_str()) && !ext_ok {
            return Err(AppError::bad_request(
                "achievement_type",
                "must be an OB 3.0 AchievementType (Badge, Certificate, …) or ext:Name",
            ));
        }
    }
    let tags = tags_of(row);
    if tags.len() > 50 {
        return Err(AppError::bad_request("tags", "at most 50 tags"));
    }
    for (i, t) in tags.iter().enumerate() {
        if t.trim().is_empty() || t.chars().count() > 100 {
            return Err(AppError::bad_request(
                &format!("tags[{i}]"),
                "must be 1 to 100 characters",
            ));
        }
    }
    for (i, a) in alignments_of(row).iter().enumerate() {
        if a.target_name.trim().is_empty() {
            return Err(AppError::bad_request(
                &format!("alignments[{i}].target_name"),
                "must not be empty",
            ));
        }
        if !is_http_url(&a.target_url) {
            return Err(AppError::bad_request(
                &format!("alignments[{i}].target_url"),
                "must be an absolute http(s) URL",
            ));
        }
    }
    Ok(())
}

#[expect(clippy::expect_used, reason = "JSON serialises")]
fn json_array<T: Serialize>(items: &[T]) -> Option<String> {
    (!items.is_empty()).then(|| serde_json::to_string(items).expect("JSON serialises"))
}

impl App {
    pub fn achievement_uri(&self, id: &str) -> String {
        format!("{}/achievements/{id}", self.issuer_id)
    }

    pub fn achievement_view(&self, a: AchievementRow) -> AchievementView {
        AchievementView {
            uri: self.achievement_uri(&a.id),
            tags: tags_of(&a),
            alignments: alignments_of(&a),
            retired: a.retired_at.is_some(),
            requires_approval: a.requires_approval != 0,
            id: a.id,
            name: a.name,
            description: a.description,
            criteria: a.criteria,
            language: a.language,
            translations: a.translations.into_iter().map(Into::into).collect(),
            criteria_url: a.criteria_url,
            image_url: a.image_url,
            image_digest: a.image_digest,
            valid_days: a.valid_days,
            achievement_type: a.achievement_type,
            retired_at: a.retired_at,
        }
    }

    /// The audit entry of a console operator's change to achievement `id` (none for the
    /// admin API and the command line, whose changes are not audited).
    fn achievement_audit(
        &self,
        by: Option<&Operator>,
        action: &str,
        id: &str,
        detail: String,
    ) -> Option<AuditEntry> {
        by.map(|o| AuditEntry {
            at: self.clock.now(),
            action: action.to_owned(),
            subject: id.to_owned(),
            detail,
            operator_id: Some(o.id.clone()),
        })
    }

    /// A new achievement; `by` the console operator who made it (audited), if any.
    pub async fn create_achievement(
        &self,
        req: NewAchievement,
        by: Option<&Operator>,
    ) -> Result<AchievementView, AppError> {
        let row = AchievementRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: req.name.trim().to_owned(),
            description: req.description.trim().to_owned(),
            criteria: req.criteria.trim().to_owned(),
            image_url: req.image_url,
            valid_days: req.valid_days,
            created_at: self.clock.now(),
            criteria_url: req.criteria_url,
            achievement_type: req.achievement_type,
            tags: json_array(
                &req.tags
                    .iter()
                    .map(|t| t.trim().to_owned())
                    .collect::<Vec<_>>(),
            ),
            alignments: json_array(&req.alignments),
            image_digest: None,
            retired_at: None,
            updated_at: None,
            requires_approval: i64::from(req.requires_approval),
            language: req
                .language
                .map(|l| l.trim().to_ascii_lowercase())
                .unwrap_or_else(|| "en".into()),
            translations: texts_of(req.translations),
        };
        validate(&row)?;
        let audit = self.achievement_audit(by, "achievement.created", &row.id, row.name.clone());
        self.store.insert_achievement(&row, audit.as_ref()).await?;
        Ok(self.achievement_view(row))
    }

    async fn achievement_404(&self, id: &str) -> Result<AchievementRow, AppError> {
        self.store
            .achievement(id)
            .await?
            .ok_or_else(|| AppError::NotFound("achievement".into()))
    }

    /// Applies a partial update. Credentials already issued keep what they were issued
    /// with; new ones carry the update.
    pub async fn update_achievement(
        &self,
        id: &str,
        u: AchievementUpdate,
        by: Option<&Operator>,
    ) -> Result<AchievementView, AppError> {
        let mut row = self.achievement_404(id).await?;
        if let Some(v) = u.name {
            row.name = v.trim().to_owned();
        }
        if let Some(v) = u.description {
            row.description = v.trim().to_owned();
        }
        if let Some(v) = u.criteria {
            row.criteria = v.trim().to_owned();
        }
        if let Some(v) = u.language {
            row.language = v.trim().to_ascii_lowercase();
        }
        if let Some(v) = u.translations {
            row.translations = texts_of(v);
        }
        if let Some(v) = u.criteria_url {
            row.criteria_url = v;
        }
        if let Some(v) = u.image_url {
            // An image URL set by hand replaces the uploaded image and its digest.
            row.image_digest = None;
            row.image_url = v;
        }
        if let Some(v) = u.valid_days {
            row.valid_days = v;
        }
        if let Some(v) = u.achievement_type {
            row.achievement_type = v;
        }
        if let Some(v) = u.tags {
            row.tags = json_array(&v.iter().map(|t| t.trim().to_owned()).collect::<Vec<_>>());
        }
        if let Some(v) = u.alignments {
            row.alignments = json_array(&v);
        }
        if let Some(v) = u.requires_approval {
            row.requires_approval = i64::from(v);
        }
        row.updated_at = Some(self.clock.now());
        validate(&row)?;
        let audit = self.achievement_audit(by, "achievement.updated", &row.id, row.name.clone());
        self.store.update_achievement(&row, audit.as_ref()).await?;
        Ok(self.achievement_view(row))
    }

    /// Retires an achievement: no new registrations or offers; offers already made still
    /// redeem and issued badges stay valid.
    pub async fn retire_achievement(
        &self,
        id: &str,
        by: Option<&Operator>,
    ) -> Result<AchievementView, AppError> {
        let mut row = self.achievement_404(id).await?;
        if row.retired_at.is_none() {
            let now = self.clock.now();
            row.retired_at = Some(now);
            row.updated_at = Some(now);
            let audit =
                self.achievement_audit(by, "achievement.retired", &row.id, row.name.clone());
            self.store.update_achievement(&row, audit.as_ref()).await?;
        }
        Ok(self.achievement_view(row))
    }

    /// The achievement a new registration or offer is for: it must exist and be active.
    pub async fn achievement_or_400(&self, id: &str) -> Result<AchievementRow, AppError> {
        let row = self
            .store
            .achievement(id)
            .await?
            .ok_or_else(|| AppError::bad_request("achievement_id", "no such achievement"))?;
        if row.retired_at.is_some() {
            return Err(AppError::bad_request(
                "achievement_id",
                "the achievement is retired",
            ));
        }
        Ok(row)
    }

    /// Stores an uploaded badge image (PNG, or SVG sanitised) and makes it the
    /// achievement's image, served at `/achievements/{id}/image`.
    pub async fn set_achievement_image(
        &self,
        id: &str,
        media_type: &str,
        body: &[u8],
        by: Option<&Operator>,
    ) -> Result<AchievementView, AppError> {
        let checked = check_image(media_type, body)?;
        self.put_checked_image(id, &checked, by).await
    }

    async fn put_checked_image(
        &self,
        id: &str,
        checked: &images::Checked,
        by: Option<&Operator>,
    ) -> Result<AchievementView, AppError> {
        let audit = self.achievement_audit(
            by,
            "achievement.image",
            id,
            format!("{} {}", checked.media_type, checked.digest_sri),
        );
        let url = format!("{}/image", self.achievement_uri(id));
        let found = self
            .store
            .put_achievement_image(
                id,
                &StoredImage {
                    media_type: checked.media_type,
                    bytes: &checked.bytes,
                    digest_sri: &checked.digest_sri,
                },
                &url,
                self.clock.now(),
                audit.as_ref(),
            )
            .await?;
        if !found {
            return Err(AppError::NotFound("achievement".into()));
        }
        Ok(self.achievement_view(self.achievement_404(id).await?))
    }

    /// Creates (`id` none) or updates an achievement from the console's form, and sets its
    /// image when one was uploaded, by `operator`, audited. The image is checked before
    /// anything is written, so a refused image changes nothing.
    pub async fn save_achievement_form(
        &self,
        id: Option<&str>,
        form: &AchievementForm,
        image: Option<(&str, &[u8])>,
        operator: &Operator,
    ) -> Result<AchievementView, AppError> {
        let checked = image
            .map(|(media_type, body)| check_image(media_type, body))
            .transpose()?;
        let view = match id {
            None => {
                self.create_achievement(form.to_new()?, Some(operator))
                    .await?
            }
            Some(id) => {
                self.update_achievement(id, form.to_update()?, Some(operator))
                    .await?
            }
        };
        match checked {
            Some(checked) => {
                self.put_checked_image(&view.id, &checked, Some(operator))
                    .await
            }
            None => Ok(view),
        }
    }

    /// The OB 3.0 `Achievement` of a credential (and of its public page): in its main
    /// language (`inLanguage`), with each other language's edition as a `related` entry
    /// that names it and is published at [`Self::achievement_edition_uri`].
    pub fn ob3_achievement(&self, a: &AchievementRow) -> ob3::Achievement {
        self.ob3_achievement_in(a, &a.language)
    }

    /// Where the edition of achievement `id` in `language` is published.
    pub fn achievement_edition_uri(&self, id: &str, language: &str) -> String {
        format!("{}?lang={language}", self.achievement_uri(id))
    }

    /// The OB 3.0 `Achievement` in `language` (its main language when it has no texts in
    /// that one): the main edition is the achievement's own URI, another edition
    /// [`Self::achievement_edition_uri`]; each lists the others as `related`.
    pub fn ob3_achievement_in(&self, a: &AchievementRow, language: &str) -> ob3::Achievement {
        let texts = localized(a, language);
        let edition_uri = |l: &str| {
            if l == a.language {
                self.achievement_uri(&a.id)
            } else {
                self.achievement_edition_uri(&a.id, l)
            }
        };
        let mut criteria = ob3::Criteria::narrative(texts.criteria);
        criteria.id = a.criteria_url.clone();
        let mut out = ob3::Achievement::new(
            edition_uri(texts.language),
            texts.name,
            texts.description,
            criteria,
        );
        out.in_language = Some(texts.language.to_owned());
        out.related = std::iter::once(localized(a, &a.language))
            .chain(a.translations.iter().map(|t| localized(a, &t.language)))
            .filter(|other| other.language != texts.language)
            .map(|other| {
                let mut related =
                    ob3::Related::language_edition(edition_uri(other.language), other.language);
                related.extra.insert("name".into(), json!(other.name));
                related
                    .extra
                    .insert("description".into(), json!(other.description));
                related
            })
            .collect();
        if let Some(image) = &a.image_url {
            out = out.with_image(ob3::Image::new(image).with_caption(texts.name));
        }
        out.achievement_type = a.achievement_type.clone();
        out.tag = tags_of(a);
        out.alignment = alignments_of(a)
            .into_iter()
            .map(|al| {
                let mut alignment = ob3::Alignment::new(al.target_name, al.target_url);
                alignment.target_description = al.target_description;
                alignment.target_framework = al.target_framework;
                alignment.target_code = al.target_code;
                alignment
            })
            .collect();
        out
    }

    /// [`Self::ob3_achievement`] as JSON.
    pub fn achievement_json(&self, a: &AchievementRow) -> Value {
        self.achievement_json_in(a, &a.language)
    }

    /// [`Self::ob3_achievement_in`] as JSON.
    #[expect(
        clippy::expect_used,
        reason = "the OB 3.0 model has string keys and no non-finite numbers"
    )]
    pub fn achievement_json_in(&self, a: &AchievementRow, language: &str) -> Value {
        serde_json::to_value(self.ob3_achievement_in(a, language))
            .expect("the OB 3.0 model has string keys and no non-finite numbers")
    }

    /// VC 2.0 `relatedResource` for the uploaded image: its URL, digest and media type, so
    /// a verifier can tell the image was not changed.
    pub async fn related_resources(&self, a: &AchievementRow) -> Result<Option<Value>, AppError> {
        let (Some(url), Some(digest)) = (&a.image_url, &a.image_digest) else {
            return Ok(None);
        };
        let media_type = self
            .store
            .achievement_image(&a.id)
            .await?
            .map(|(m, _, _)| m)
            .unwrap_or_else(|| "image/png".into());
        Ok(Some(
            json!([{ "id": url, "digestSRI": digest, "mediaType": media_type }]),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(language: &str, en: [&str; 3], ja: [&str; 3]) -> AchievementForm {
        AchievementForm {
            language: language.into(),
            texts: vec![
                ("en".into(), en.map(str::to_owned)),
                ("ja".into(), ja.map(str::to_owned)),
            ],
            ..AchievementForm::default()
        }
    }

    fn field_of(e: AppError) -> String {
        match e {
            AppError::BadRequest { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_form_gives_the_main_language_and_the_other_when_it_is_filled_in() {
        let u = form("en", ["N", "D", "C"], [" 名前 ", "説明", "基準"])
            .to_update()
            .unwrap();
        assert_eq!(u.name.as_deref(), Some("N"));
        assert_eq!(u.language.as_deref(), Some("en"));
        assert_eq!(
            u.translations,
            Some(vec![AchievementTextInput {
                language: "ja".into(),
                name: " 名前 ".into(),
                description: "説明".into(),
                criteria: "基準".into(),
            }])
        );
        // Japanese only: no translations; empty optional fields clear what was set.
        let u = form("ja", ["", " ", ""], ["名前", "説明", "基準"])
            .to_update()
            .unwrap();
        assert_eq!(u.name.as_deref(), Some("名前"));
        assert_eq!(u.translations, Some(vec![]));
        assert_eq!(u.criteria_url, Some(None));
        assert_eq!(u.valid_days, Some(None));
    }

    #[test]
    fn the_form_names_the_field_to_correct() {
        let cases = [
            (form("en", ["", "D", "C"], ["", "", ""]), "name_en"),
            (form("ja", ["N", "D", "C"], ["", "", ""]), "name_ja"),
            (
                form("en", ["N", "D", "C"], ["名前", "説明", ""]),
                "criteria_ja",
            ),
            (form("fr", ["N", "D", "C"], ["", "", ""]), "language"),
            (
                form("en", ["N", &"x".repeat(MAX_TEXT + 1), "C"], ["", "", ""]),
                "description_en",
            ),
            (
                AchievementForm {
                    valid_days: "a year".into(),
                    ..form("en", ["N", "D", "C"], ["", "", ""])
                },
                "valid_days",
            ),
        ];
        for (f, field) in cases {
            assert_eq!(field_of(f.to_update().unwrap_err()), field);
        }
    }

    fn row() -> AchievementRow {
        AchievementRow {
            id: "a".into(),
            name: "Name".into(),
            description: "Description".into(),
            criteria: "Criteria".into(),
            image_url: None,
            valid_days: None,
            created_at: 0,
            criteria_url: None,
            achievement_type: None,
            tags: None,
            alignments: None,
            image_digest: None,
            retired_at: None,
            updated_at: None,
            requires_approval: 0,
            language: "en".into(),
            translations: vec![AchievementText {
                language: "ja".into(),
                name: "名前".into(),
                description: "説明".into(),
                criteria: "基準".into(),
            }],
        }
    }

    #[test]
    fn texts_are_in_the_language_asked_for_else_in_the_main_one() {
        let r = row();
        assert_eq!(localized(&r, "ja").name, "名前");
        assert_eq!(localized(&r, "ja").language, "ja");
        assert_eq!(localized(&r, "en").name, "Name");
        assert_eq!(localized(&r, "fr").name, "Name");
        assert_eq!(localized(&r, "fr").language, "en");
        // The form of the row has both languages back.
        let f = AchievementForm::of(&r);
        assert_eq!(f.texts_in("ja"), ["名前", "説明", "基準"]);
        assert_eq!(f.texts_in("en"), ["Name", "Description", "Criteria"]);
    }

    #[test]
    fn translations_are_checked_like_the_main_texts() {
        let mut r = row();
        assert!(validate(&r).is_ok());
        r.translations[0].language = "en".into();
        assert_eq!(
            field_of(validate(&r).unwrap_err()),
            "translations[0].language"
        );
        r.translations[0].language = "de".into();
        assert_eq!(
            field_of(validate(&r).unwrap_err()),
            "translations[0].language"
        );
        r = row();
        r.translations.push(r.translations[0].clone());
        assert_eq!(
            field_of(validate(&r).unwrap_err()),
            "translations[1].language"
        );
        r = row();
        r.translations[0].name = "名".repeat(MAX_NAME + 1);
        assert_eq!(field_of(validate(&r).unwrap_err()), "translations[0].name");
        r = row();
        r.language = "english".into();
        assert_eq!(field_of(validate(&r).unwrap_err()), "language");
    }
}
