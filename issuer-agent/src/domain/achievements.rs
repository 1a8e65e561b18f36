//! Achievements (OB 3.0 `Achievement`, the badge class): create, update, retire, the badge
//! image, and the OB 3.0 JSON every credential format embeds.

use protocol::ob3;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::domain::images;
use crate::error::AppError;
use crate::store::AchievementRow;

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

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAchievement {
    pub name: String,
    pub description: String,
    /// The criteria, as narrative (Markdown allowed by OB 3.0).
    pub criteria: String,
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
    for (field, value) in [
        ("name", &row.name),
        ("description", &row.description),
        ("criteria", &row.criteria),
    ] {
        if value.trim().is_empty() {
            return Err(AppError::bad_request(field, "must not be empty"));
        }
    }
    if row.name.chars().count() > 200 {
        return Err(AppError::bad_request(
            "name",
            "is longer than 200 characters",
        ));
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
            criteria_url: a.criteria_url,
            image_url: a.image_url,
            image_digest: a.image_digest,
            valid_days: a.valid_days,
            achievement_type: a.achievement_type,
            retired_at: a.retired_at,
        }
    }

    pub async fn create_achievement(
        &self,
        req: NewAchievement,
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
        };
        validate(&row)?;
        self.store.insert_achievement(&row).await?;
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
        self.store.update_achievement(&row).await?;
        Ok(self.achievement_view(row))
    }

    /// Retires an achievement: no new registrations or offers; offers already made still
    /// redeem and issued badges stay valid.
    pub async fn retire_achievement(&self, id: &str) -> Result<AchievementView, AppError> {
        let mut row = self.achievement_404(id).await?;
        if row.retired_at.is_none() {
            let now = self.clock.now();
            row.retired_at = Some(now);
            row.updated_at = Some(now);
            self.store.update_achievement(&row).await?;
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
    ) -> Result<AchievementView, AppError> {
        let checked = images::check(media_type, body)
            .map_err(|e| AppError::bad_request("image", e.to_string()))?;
        let url = format!("{}/image", self.achievement_uri(id));
        let found = self
            .store
            .put_achievement_image(
                id,
                checked.media_type,
                &checked.bytes,
                &checked.digest_sri,
                &url,
                self.clock.now(),
            )
            .await?;
        if !found {
            return Err(AppError::NotFound("achievement".into()));
        }
        Ok(self.achievement_view(self.achievement_404(id).await?))
    }

    /// The OB 3.0 `Achievement` of a credential (and of its public page).
    pub fn ob3_achievement(&self, a: &AchievementRow) -> ob3::Achievement {
        let mut criteria = ob3::Criteria::narrative(&a.criteria);
        criteria.id = a.criteria_url.clone();
        let mut out = ob3::Achievement::new(
            self.achievement_uri(&a.id),
            &a.name,
            &a.description,
            criteria,
        );
        if let Some(image) = &a.image_url {
            out = out.with_image(ob3::Image::new(image).with_caption(&a.name));
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
    #[expect(
        clippy::expect_used,
        reason = "the OB 3.0 model has string keys and no non-finite numbers"
    )]
    pub fn achievement_json(&self, a: &AchievementRow) -> Value {
        serde_json::to_value(self.ob3_achievement(a))
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
