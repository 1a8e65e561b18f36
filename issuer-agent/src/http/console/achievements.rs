//! The console's achievements: the list (with retire), the form that creates or edits
//! one in English and Japanese with its badge image (a multipart upload, checked by
//! [`crate::domain::images`]), and a preview of the badge as wallets list it and as its
//! share image shows it, in both languages.
//!
//! Changing needs the operator role ([`Role::Operator`]); viewers see the pages without
//! the forms' buttons, and their POSTs are answered 403. Every change is audited with the
//! operator in the transaction that makes it.

use askama::Template;
use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::texts::Lang;
use super::{Layout, PageError, Web, encode, see_other};
use crate::App;
use crate::domain::achievements::{ACHIEVEMENT_TYPES, AchievementForm, LANGUAGES, localized};
use crate::domain::images::MAX_IMAGE_BYTES;
use crate::domain::operators::{Operator, Role};
use crate::error::AppError;
use crate::store::AchievementRow;

/// Largest form accepted: the image and the texts (four long texts of 20,000 characters
/// of up to three bytes each fit in the rest).
const MAX_FORM_BYTES: usize = MAX_IMAGE_BYTES + 512 * 1024;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/achievements", get(list))
        .route(
            "/console/achievements/new",
            get(new_page)
                .post(create)
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route(
            "/console/achievements/{id}/edit",
            get(edit_page)
                .post(update)
                .layer(DefaultBodyLimit::max(MAX_FORM_BYTES)),
        )
        .route(
            "/console/achievements/{id}/retire",
            get(super::retire::confirm_page).post(retire),
        )
}

/// The fixed texts of these pages.
pub struct AchTexts {
    pub intro: &'static str,
    pub new_achievement: &'static str,
    pub edit_achievement: &'static str,
    pub main_language: &'static str,
    pub main_language_hint: &'static str,
    pub english: &'static str,
    pub japanese: &'static str,
    pub other_language_hint: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub criteria: &'static str,
    pub criteria_hint: &'static str,
    pub criteria_url: &'static str,
    pub criteria_url_hint: &'static str,
    pub valid_days: &'static str,
    pub valid_days_hint: &'static str,
    pub achievement_type: &'static str,
    pub type_none: &'static str,
    pub image: &'static str,
    pub image_hint: &'static str,
    pub image_keep_hint: &'static str,
    pub no_image: &'static str,
    pub create: &'static str,
    pub save: &'static str,
    pub retire: &'static str,
    pub retired: &'static str,
    pub active: &'static str,
    pub status: &'static str,
    pub languages: &'static str,
    pub no_achievements: &'static str,
    pub preview: &'static str,
    pub preview_hint: &'static str,
    pub in_wallet: &'static str,
    pub share_image: &'static str,
    pub badge_label: &'static str,
    pub created: &'static str,
    pub saved: &'static str,
    pub retired_done: &'static str,
    pub check_form: &'static str,
    pub upload_too_large: &'static str,
    pub upload_malformed: &'static str,
    pub back: &'static str,
}

const EN: AchTexts = AchTexts {
    intro: "The badges this program awards. Each has a name, a description and criteria in English, in Japanese, or in both; wallets show the language their holder reads.",
    new_achievement: "New achievement",
    edit_achievement: "Edit achievement",
    main_language: "Main language",
    main_language_hint: "The language the badge is first written in. The other language is optional: leave all three of its fields empty if the badge has no text in it.",
    english: "English",
    japanese: "Japanese",
    other_language_hint: "Optional unless this is the main language.",
    name: "Name",
    description: "Description",
    criteria: "Criteria",
    criteria_hint: "What a person did to earn the badge. Markdown is allowed.",
    criteria_url: "Criteria page (optional)",
    criteria_url_hint: "An https address of a page that describes the criteria.",
    valid_days: "Valid for (days, optional)",
    valid_days_hint: "Leave empty for badges that do not expire.",
    achievement_type: "Type",
    type_none: "(not set)",
    image: "Badge image",
    image_hint: "PNG or SVG, at most 1 MiB and 4096 pixels a side. SVG scripts, links and animations are removed.",
    image_keep_hint: "Choose a file only to replace the current image.",
    no_image: "No image yet",
    create: "Create the achievement",
    save: "Save the changes",
    retire: "Retire",
    retired: "Retired",
    active: "Active",
    status: "Status",
    languages: "Languages",
    no_achievements: "No achievements yet.",
    preview: "Preview",
    preview_hint: "How wallets list the badge, and the picture shown when its holder shares it, in each language the badge is written in.",
    in_wallet: "In the wallet",
    share_image: "Share image",
    badge_label: "Open Badge",
    created: "The achievement was created.",
    saved: "The changes were saved. Badges issued from now on carry them; badges already issued keep what they were issued with.",
    retired_done: "The achievement was retired: no new registrations or offers; badges already issued stay valid.",
    check_form: "Please check the form:",
    upload_too_large: "The upload is too large: the image may be at most 1 MiB.",
    upload_malformed: "The form could not be read. Reload the page and try again.",
    back: "Back to the achievements",
};

const JA: AchTexts = AchTexts {
    intro: "このプログラムが授与するバッジです。名前・説明・取得基準を英語、日本語、または両方で登録できます。ウォレットは受領者の言語で表示します。",
    new_achievement: "バッジの種類を追加",
    edit_achievement: "バッジの種類の編集",
    main_language: "主な言語",
    main_language_hint: "バッジを最初に記述する言語です。もう一方の言語は任意です。その言語の記述がない場合は、3つの欄をすべて空にしてください。",
    english: "英語",
    japanese: "日本語",
    other_language_hint: "主な言語でなければ任意です。",
    name: "名前",
    description: "説明",
    criteria: "取得基準",
    criteria_hint: "バッジを得るために行ったこと。Markdown を使えます。",
    criteria_url: "取得基準のページ(任意)",
    criteria_url_hint: "取得基準を説明するページの https アドレス。",
    valid_days: "有効期間(日数、任意)",
    valid_days_hint: "有効期限のないバッジは空のままにします。",
    achievement_type: "種類",
    type_none: "(指定なし)",
    image: "バッジ画像",
    image_hint: "PNG または SVG、1 MiB 以下、一辺 4096 ピクセル以下。SVG のスクリプト・リンク・アニメーションは取り除かれます。",
    image_keep_hint: "現在の画像を差し替える場合のみファイルを選んでください。",
    no_image: "画像はまだありません",
    create: "作成する",
    save: "変更を保存する",
    retire: "廃止",
    retired: "廃止済み",
    active: "有効",
    status: "状態",
    languages: "言語",
    no_achievements: "バッジの種類はまだありません。",
    preview: "プレビュー",
    preview_hint: "ウォレットでの表示と、受領者が共有したときの画像です。バッジが記述されている言語ごとに示します。",
    in_wallet: "ウォレットでの表示",
    share_image: "共有画像",
    badge_label: "オープンバッジ",
    created: "バッジの種類を追加しました。",
    saved: "変更を保存しました。今後発行するバッジに反映されます。発行済みのバッジは発行時の内容のままです。",
    retired_done: "バッジの種類を廃止しました。新しい登録や受け取り案内はできません。発行済みのバッジは有効なままです。",
    check_form: "入力内容を確認してください:",
    upload_too_large: "アップロードが大きすぎます。画像は 1 MiB までです。",
    upload_malformed: "フォームを読み取れませんでした。ページを再読み込みして、もう一度お試しください。",
    back: "バッジの種類の一覧に戻る",
};

fn ach_texts(lang: Lang) -> &'static AchTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// A form field's label in `lang`, for the message naming what to correct.
fn field_label(lang: Lang, field: &str) -> String {
    let a = ach_texts(lang);
    let (what, language) = match field.rsplit_once('_') {
        Some((what, l)) if LANGUAGES.contains(&l) => (what, Some(l)),
        _ => (field, None),
    };
    let label = match what {
        "name" => a.name,
        "description" => a.description,
        "criteria" if language.is_some() => a.criteria,
        "criteria_url" => a.criteria_url,
        "valid_days" => a.valid_days,
        "achievement_type" => a.achievement_type,
        "image" => a.image,
        "language" => a.main_language,
        _ => return field.to_owned(),
    };
    match language {
        Some(l) => format!("{label} ({})", language_name(lang, l)),
        None => label.to_owned(),
    }
}

/// What to correct, in `lang`: a domain check's English `detail` said in Japanese where
/// the page is (an unknown one stays English; the page shows the English under
/// "Technical details" too).
fn detail_in(lang: Lang, detail: &str) -> String {
    if lang == Lang::En {
        return detail.to_owned();
    }
    let longer = detail
        .strip_prefix("is longer than ")
        .and_then(|rest| rest.strip_suffix(" characters"));
    if let Some(n) = longer {
        return format!("{n} 文字以内にしてください");
    }
    let ja = match detail {
        "must not be empty" => "入力してください",
        "must be en or ja" => "英語か日本語を選んでください",
        "must be a whole number of days" => "日数を整数で入力してください",
        "must be between 1 and 36500" => "1 から 36500 までの日数にしてください",
        "must be an absolute http(s) URL" => {
            "http:// または https:// で始まるアドレスにしてください"
        }
        d if d.starts_with("must be an OB 3.0 AchievementType") => "一覧から種類を選んでください",
        d if d.starts_with("is larger than") => "1 MiB 以下の画像にしてください",
        d if d.starts_with("must be image/png or image/svg+xml") => {
            "PNG か SVG の画像を選んでください"
        }
        d if d.starts_with("is not a PNG image") => "PNG 画像として読み取れません",
        d if d.starts_with("PNG is ") => "画像が大きすぎます(一辺 4096 ピクセルまで)",
        d if d.starts_with("is not an SVG image") => "SVG 画像として読み取れません",
        other => other,
    };
    ja.to_owned()
}

fn language_name(lang: Lang, code: &str) -> &'static str {
    let a = ach_texts(lang);
    if code == "ja" { a.japanese } else { a.english }
}

/// Every achievement's name in `lang` (its main language's when it has none in `lang`),
/// by id: what the other console pages show for an achievement.
pub(super) async fn names_in(
    app: &App,
    lang: Lang,
) -> Result<std::collections::HashMap<String, String>, AppError> {
    Ok(app
        .store
        .achievements()
        .await?
        .iter()
        .map(|a| (a.id.clone(), localized(a, lang.code()).name.to_owned()))
        .collect())
}

/// The image of an achievement as the console can show it: the uploaded one from this
/// server (its digest in the URL, so a new upload is fetched anew) or a `data:` URL; an
/// image elsewhere is not loaded into the console (its pages load nothing from outside).
fn image_src(a: &AchievementRow) -> Option<String> {
    match (&a.image_digest, &a.image_url) {
        (Some(digest), _) => Some(format!(
            "/achievements/{}/image?v={}",
            encode(&a.id),
            encode(digest.get(7..19).unwrap_or(digest))
        )),
        (None, Some(url)) if url.starts_with("data:image/") => Some(url.clone()),
        _ => None,
    }
}

struct ListRow {
    id: String,
    name: String,
    /// The name in the other language, when the achievement has one.
    other_name: Option<String>,
    languages: String,
    retired: bool,
    image: Option<String>,
}

#[derive(Template)]
#[template(path = "console/achievements.html")]
struct ListPage {
    layout: Layout,
    a: &'static AchTexts,
    rows: Vec<ListRow>,
    can_change: bool,
    done: Option<&'static str>,
}

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// `GET /console/achievements`: every achievement, named in the console's language.
pub async fn list(
    State(app): State<App>,
    web: Web,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let operator = web.signed_in("/console/achievements")?;
    let can_change = operator.role.allows(Role::Operator);
    let a = ach_texts(web.lang);
    let rows = app
        .store
        .achievements()
        .await
        .map_err(|e| web.error(e.into()))?
        .into_iter()
        .map(|row| {
            let shown = localized(&row, web.lang.code());
            let other = LANGUAGES
                .iter()
                .filter(|l| **l != shown.language)
                .map(|l| localized(&row, l))
                .find(|t| t.language != shown.language);
            let mut languages = vec![language_name(web.lang, &row.language)];
            languages.extend(
                row.translations
                    .iter()
                    .map(|t| language_name(web.lang, &t.language)),
            );
            ListRow {
                name: shown.name.to_owned(),
                other_name: other.map(|t| t.name.to_owned()),
                languages: languages.join(", "),
                retired: row.retired_at.is_some(),
                image: image_src(&row),
                id: row.id,
            }
        })
        .collect();
    let done = match q.done.as_deref() {
        Some("retired") => Some(a.retired_done),
        _ => None,
    };
    let layout = web.layout(
        web.t().achievements,
        "/console/achievements",
        "achievements",
    );
    Ok(web.render(
        &app,
        StatusCode::OK,
        ListPage {
            layout,
            a,
            rows,
            can_change,
            done,
        },
    ))
}

/// One language's fields of the form.
struct LangFields {
    code: &'static str,
    label: &'static str,
    name: String,
    description: String,
    criteria: String,
}

/// An `achievementType` the form offers.
struct TypeOption {
    value: &'static str,
    selected: bool,
}

/// The badge in one language, as the preview shows it.
struct PreviewCard {
    code: &'static str,
    label: &'static str,
    badge_label: &'static str,
    name: String,
    description: String,
    issuer: String,
}

#[derive(Template)]
#[template(path = "console/achievement_form.html")]
struct FormPage {
    layout: Layout,
    a: &'static AchTexts,
    /// None: the form creates an achievement.
    id: Option<String>,
    action: String,
    language: String,
    langs: Vec<LangFields>,
    criteria_url: String,
    valid_days: String,
    types: Vec<TypeOption>,
    image: Option<String>,
    retired: bool,
    can_change: bool,
    error: Option<String>,
    /// The English detail of `error`, when the page is in another language.
    error_detail: Option<String>,
    done: Option<&'static str>,
    preview: Vec<PreviewCard>,
    accent: String,
}

/// The issuer's colour as CSS: the configured `#rgb`/`#rrggbb`, else the console's blue.
fn accent(app: &App) -> String {
    let c = app.config.brand_color.trim();
    let hex = c.strip_prefix('#').unwrap_or("");
    if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        c.to_owned()
    } else {
        "#1d3557".to_owned()
    }
}

/// The issuer's name in `language`.
fn issuer_name(app: &App, language: &str) -> String {
    match (language, &app.config.name_ja) {
        ("ja", Some(ja)) => ja.clone(),
        _ => app.config.name.clone(),
    }
}

/// The form page for `form`, of achievement `row` when it exists.
fn form_page(
    app: &App,
    web: &Web,
    row: Option<&AchievementRow>,
    form: &AchievementForm,
    error: Option<(String, String)>,
    done: Option<&'static str>,
) -> FormPage {
    let a = ach_texts(web.lang);
    let (title, here, action) = match row {
        Some(r) => {
            let edit = format!("/console/achievements/{}/edit", encode(&r.id));
            (a.edit_achievement, edit.clone(), edit)
        }
        None => (
            a.new_achievement,
            "/console/achievements/new".to_owned(),
            "/console/achievements/new".to_owned(),
        ),
    };
    let langs = LANGUAGES
        .iter()
        .map(|code| {
            let [name, description, criteria] = form.texts_in(code).map(str::to_owned);
            LangFields {
                code,
                label: language_name(web.lang, code),
                name,
                description,
                criteria,
            }
        })
        .collect();
    // The preview shows what is stored, so it matches what a credential carries.
    let preview = row
        .map(|r| {
            std::iter::once(r.language.as_str())
                .chain(r.translations.iter().map(|t| t.language.as_str()))
                .filter_map(|l| LANGUAGES.iter().copied().find(|c| *c == l))
                .map(|code| {
                    let t = localized(r, code);
                    let lang = Lang::parse(code).unwrap_or(Lang::En);
                    PreviewCard {
                        code,
                        label: language_name(web.lang, code),
                        badge_label: ach_texts(lang).badge_label,
                        name: t.name.to_owned(),
                        description: t.description.to_owned(),
                        issuer: issuer_name(app, code),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    FormPage {
        layout: web.layout(title, &here, "achievements"),
        a,
        id: row.map(|r| r.id.clone()),
        action,
        language: form.language.clone(),
        langs,
        criteria_url: form.criteria_url.clone(),
        valid_days: form.valid_days.clone(),
        types: ACHIEVEMENT_TYPES
            .iter()
            .map(|value| TypeOption {
                value,
                selected: form.achievement_type == *value,
            })
            .collect(),
        image: row.and_then(image_src),
        retired: row.is_some_and(|r| r.retired_at.is_some()),
        can_change: web
            .operator
            .as_ref()
            .is_some_and(|o| o.role.allows(Role::Operator)),
        error_detail: error
            .as_ref()
            .filter(|_| web.lang != Lang::En)
            .map(|(_, detail)| detail.clone()),
        error: error.map(|(message, _)| message),
        done,
        preview,
        accent: accent(app),
    }
}

/// `GET /console/achievements/new`: the empty form, English first.
pub async fn new_page(State(app): State<App>, web: Web) -> Result<Response, PageError> {
    web.signed_in("/console/achievements/new")?;
    let form = AchievementForm {
        language: web.lang.code().to_owned(),
        achievement_type: "Badge".into(),
        ..AchievementForm::default()
    };
    let page = form_page(&app, &web, None, &form, None, None);
    Ok(web.render(&app, StatusCode::OK, page))
}

/// `GET /console/achievements/{id}/edit`: the form filled in, and the preview.
pub async fn edit_page(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    web.signed_in(&format!("/console/achievements/{}/edit", encode(&id)))?;
    let row = achievement(&app, &web, &id).await?;
    let a = ach_texts(web.lang);
    let done = match q.done.as_deref() {
        Some("created") => Some(a.created),
        Some("saved") => Some(a.saved),
        _ => None,
    };
    let page = form_page(
        &app,
        &web,
        Some(&row),
        &AchievementForm::of(&row),
        None,
        done,
    );
    Ok(web.render(&app, StatusCode::OK, page))
}

async fn achievement(app: &App, web: &Web, id: &str) -> Result<AchievementRow, PageError> {
    app.store
        .achievement(id)
        .await
        .map_err(|e| web.error(e.into()))?
        .ok_or_else(|| web.error(AppError::NotFound("achievement".into())))
}

/// What the multipart form sent.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    form: AchievementForm,
    /// Media type and bytes of the chosen file; none when no file was chosen.
    image: Option<(String, Vec<u8>)>,
}

/// The image's media type: as the browser sent it, else (none, or
/// `application/octet-stream`) what its first bytes say.
fn media_type_of(sent: Option<&str>, bytes: &[u8]) -> String {
    match sent.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) if !m.eq_ignore_ascii_case("application/octet-stream") => m.to_owned(),
        _ if bytes.starts_with(b"\x89PNG\r\n\x1a\n") => "image/png".into(),
        _ if bytes
            .get(..1024)
            .unwrap_or(bytes)
            .windows(4)
            .any(|w| w == b"<svg") =>
        {
            "image/svg+xml".into()
        }
        Some(m) => m.to_owned(),
        None => "application/octet-stream".into(),
    }
}

/// Reads the form; a body over [`MAX_FORM_BYTES`] is 413, anything unreadable 400.
async fn read_upload(web: &Web, mut multipart: Multipart) -> Result<Upload, PageError> {
    let a = ach_texts(web.lang);
    let failed = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            a.upload_too_large
        } else {
            a.upload_malformed
        };
        PageError::new(status, message, Some(e.body_text()), web.lang)
    };
    let mut up = Upload::default();
    let mut texts: Vec<(String, [String; 3])> = LANGUAGES
        .iter()
        .map(|l| ((*l).to_owned(), Default::default()))
        .collect();
    while let Some(field) = multipart.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "image" {
            let sent = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.map_err(failed)?;
            if !bytes.is_empty() {
                up.image = Some((media_type_of(sent.as_deref(), &bytes), bytes.to_vec()));
            }
            continue;
        }
        let value = field.text().await.map_err(failed)?;
        match name.as_str() {
            "csrf" => up.csrf = Some(value),
            "language" => up.form.language = value,
            "criteria_url" => up.form.criteria_url = value,
            "valid_days" => up.form.valid_days = value,
            "achievement_type" => up.form.achievement_type = value,
            other => {
                let Some((what, l)) = other.rsplit_once('_') else {
                    continue;
                };
                let i = match what {
                    "name" => 0,
                    "description" => 1,
                    "criteria" => 2,
                    _ => continue,
                };
                if let Some((_, t)) = texts.iter_mut().find(|(code, _)| code == l) {
                    t[i] = value;
                }
            }
        }
    }
    up.form.texts = texts;
    Ok(up)
}

/// The operator behind a multipart form: its CSRF token checked, then the role.
fn gate(app: &App, web: &Web, up: &Upload) -> Result<Operator, PageError> {
    web.check_csrf(app, up.csrf.as_deref())?;
    let operator = web
        .operator
        .clone()
        .ok_or_else(|| PageError::Redirect("/console/sign-in".into()))?;
    operator
        .role
        .require(Role::Operator)
        .map_err(|e| web.error(e))?;
    Ok(operator)
}

/// Saves the form (`id` none: a new achievement) and goes to its edit page, or shows the
/// form again with what to correct.
async fn save(
    app: &App,
    web: &Web,
    id: Option<&str>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    let multipart = multipart.map_err(|e| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            ach_texts(web.lang).upload_malformed,
            Some(e.body_text()),
            web.lang,
        )
    })?;
    let up = read_upload(web, multipart).await?;
    let operator = gate(app, web, &up)?;
    let row = match id {
        Some(id) => Some(achievement(app, web, id).await?),
        None => None,
    };
    let image = up.image.as_ref().map(|(m, b)| (m.as_str(), b.as_slice()));
    match app
        .save_achievement_form(id, &up.form, image, &operator)
        .await
    {
        Ok(view) => Ok(see_other(&format!(
            "/console/achievements/{}/edit?done={}",
            encode(&view.id),
            if id.is_some() { "saved" } else { "created" }
        ))),
        Err(AppError::BadRequest { field, detail }) => {
            let message = format!(
                "{} {}: {}",
                ach_texts(web.lang).check_form,
                field_label(web.lang, &field),
                detail_in(web.lang, &detail)
            );
            let error = Some((message, format!("{field}: {detail}")));
            let page = form_page(app, web, row.as_ref(), &up.form, error, None);
            Ok(web.render(app, StatusCode::BAD_REQUEST, page))
        }
        Err(e) => Err(web.error(e)),
    }
}

/// `POST /console/achievements/new` (multipart).
pub async fn create(
    State(app): State<App>,
    web: Web,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    save(&app, &web, None, multipart).await
}

/// `POST /console/achievements/{id}/edit` (multipart).
pub async fn update(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, PageError> {
    save(&app, &web, Some(&id), multipart).await
}

/// `POST /console/achievements/{id}/retire`: no new registrations or offers for it. Only
/// the confirmation page's form (`confirm=yes`) retires; any other is sent there.
pub async fn retire(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let (operator, form) = web.form(&app, &body, Role::Operator)?;
    if !super::retire::confirmed(form.get("confirm")) {
        return Ok(see_other(&super::retire::confirmation_link(&id)));
    }
    app.retire_achievement(&id, Some(&operator))
        .await
        .map_err(|e| web.error(e))?;
    Ok(see_other("/console/achievements?done=retired"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_without_a_type_are_recognised_by_their_first_bytes() {
        assert_eq!(media_type_of(None, b"\x89PNG\r\n\x1a\nrest"), "image/png");
        assert_eq!(
            media_type_of(Some("application/octet-stream"), b"<?xml?><svg xmlns=''/>"),
            "image/svg+xml"
        );
        assert_eq!(media_type_of(Some("image/png"), b"GIF89a"), "image/png");
        assert_eq!(
            media_type_of(Some("application/octet-stream"), b"GIF89a"),
            "application/octet-stream"
        );
        assert_eq!(media_type_of(None, b"text"), "application/octet-stream");
    }

    #[test]
    fn every_change_to_an_achievement_has_a_label_in_each_language() {
        for action in [
            "achievement.created",
            "achievement.updated",
            "achievement.image",
            "achievement.retired",
        ] {
            assert_ne!(
                super::super::texts::event_label(Lang::En, action),
                "Other change"
            );
            assert_ne!(
                super::super::texts::event_label(Lang::Ja, action),
                "その他の変更"
            );
        }
    }

    #[test]
    fn what_to_correct_is_said_in_japanese_on_japanese_pages() {
        assert_eq!(
            detail_in(Lang::En, "must not be empty"),
            "must not be empty"
        );
        assert_eq!(detail_in(Lang::Ja, "must not be empty"), "入力してください");
        assert_eq!(
            detail_in(Lang::Ja, "is longer than 200 characters"),
            "200 文字以内にしてください"
        );
        for e in [
            crate::domain::images::ImageError::TooLarge,
            crate::domain::images::ImageError::Type("image/gif".into()),
            crate::domain::images::ImageError::Png("x".into()),
            crate::domain::images::ImageError::PngSize(5000, 1),
            crate::domain::images::ImageError::Svg("x".into()),
        ] {
            let english = e.to_string();
            assert_ne!(detail_in(Lang::Ja, &english), english, "{english}");
        }
        assert_eq!(detail_in(Lang::Ja, "something new"), "something new");
    }

    #[test]
    fn fields_are_named_in_the_pages_language() {
        assert_eq!(field_label(Lang::En, "name_ja"), "Name (Japanese)");
        assert_eq!(field_label(Lang::Ja, "criteria_en"), "取得基準 (英語)");
        assert_eq!(
            field_label(Lang::En, "valid_days"),
            "Valid for (days, optional)"
        );
        assert_eq!(
            field_label(Lang::En, "translations[0].name"),
            "translations[0].name"
        );
    }
}
