//! The settings page (`/console/settings`, administrators only): the issuer's names (en,
//! ja), the mail From name, the colours, the logo (PNG or SVG, [`images::MAX_IMAGE_BYTES`]
//! at most) and the invitation and offer lifetimes; an empty field goes back to the
//! configured value. And `/issuer/logo`, the uploaded logo. The domain is
//! [`crate::domain::settings`].

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::import::{Part, UploadError, gate, parts};
use super::texts::Lang;
use super::{Layout, PageError, Web, see_other};
use crate::App;
use crate::domain::images;
use crate::domain::operators::Role;
use crate::domain::settings::{SettingError, SettingProblem, SettingsInput, names};
use crate::error::AppError;

/// The settings form's body limit: the logo and the fields around it.
const BODY_LIMIT: usize = images::MAX_IMAGE_BYTES + 64 * 1024;

pub struct SettingsTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub name_en: &'static str,
    pub name_ja: &'static str,
    pub mail_from_name: &'static str,
    pub brand_color: &'static str,
    pub text_color: &'static str,
    pub invitation_hours: &'static str,
    pub offer_hours: &'static str,
    pub logo: &'static str,
    pub logo_hint: &'static str,
    pub remove_logo: &'static str,
    pub current_logo: &'static str,
    pub configured: &'static str,
    pub save: &'static str,
    pub saved: &'static str,
    pub problems: &'static str,
}

const EN: SettingsTexts = SettingsTexts {
    title: "Settings",
    intro: "What the emails, the wallets and these pages show of the issuer. A change applies on every server within seconds. Leave a field empty to use the configured value.",
    name_en: "Issuer name (English)",
    name_ja: "Issuer name (Japanese)",
    mail_from_name: "Sender name of the emails",
    brand_color: "Brand colour (#rrggbb)",
    text_color: "Text colour on the brand colour (#rrggbb)",
    invitation_hours: "Invitations stay valid for (hours)",
    offer_hours: "Badge offers stay valid for (hours)",
    logo: "Logo (PNG or SVG, up to 1 MB)",
    logo_hint: "Shown in the emails and the wallets.",
    remove_logo: "Stop using the uploaded logo",
    current_logo: "Current logo",
    configured: "Configured:",
    save: "Save the settings",
    saved: "The settings were saved.",
    problems: "Some settings were not saved:",
};

const JA: SettingsTexts = SettingsTexts {
    title: "設定",
    intro: "メール、ウォレット、このコンソールに表示される発行者の情報です。変更は数秒ですべてのサーバーに反映されます。空欄にすると、起動時の設定値を使います。",
    name_en: "発行者名（英語）",
    name_ja: "発行者名（日本語）",
    mail_from_name: "メールの差出人名",
    brand_color: "ブランドカラー（#rrggbb）",
    text_color: "ブランドカラー上の文字色（#rrggbb）",
    invitation_hours: "招待の有効期間（時間）",
    offer_hours: "受け取り案内の有効期間（時間）",
    logo: "ロゴ（PNG または SVG、1 MB まで）",
    logo_hint: "メールとウォレットに表示されます。",
    remove_logo: "アップロードしたロゴを使わない",
    current_logo: "現在のロゴ",
    configured: "起動時の設定：",
    save: "設定を保存する",
    saved: "設定を保存しました。",
    problems: "保存できなかった設定があります：",
};

fn texts(lang: Lang) -> &'static SettingsTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// What is wrong with a setting, in plain words.
fn problem(lang: Lang, e: &SettingError) -> String {
    let t = texts(lang);
    let label = match e.field {
        "name_en" => t.name_en,
        "name_ja" => t.name_ja,
        "mail_from_name" => t.mail_from_name,
        "brand_color" => t.brand_color,
        "text_color" => t.text_color,
        "invitation_hours" => t.invitation_hours,
        "offer_hours" => t.offer_hours,
        _ => t.logo,
    };
    let what = match (lang, &e.problem) {
        (Lang::En, SettingProblem::TooLong(n)) => format!("at most {n} characters"),
        (Lang::En, SettingProblem::ControlCharacters) => {
            "no line breaks or control characters".into()
        }
        (Lang::En, SettingProblem::MailNameCharacters) => {
            "letters, digits, spaces and . - _ ' only (no quotes, brackets, commas, @)".into()
        }
        (Lang::En, SettingProblem::Colour) => "a colour like #1d3557".into(),
        (Lang::En, SettingProblem::Hours) => "a whole number of hours from 1 to 8760".into(),
        (Lang::En, SettingProblem::Image(d)) => format!("a PNG or SVG image of at most 1 MB ({d})"),
        (Lang::Ja, SettingProblem::TooLong(n)) => format!("{n}文字以内にしてください"),
        (Lang::Ja, SettingProblem::ControlCharacters) => "改行や制御文字は使えません".into(),
        (Lang::Ja, SettingProblem::MailNameCharacters) => {
            "引用符、括弧、カンマ、@ は使えません".into()
        }
        (Lang::Ja, SettingProblem::Colour) => "#1d3557 のような色を指定してください".into(),
        (Lang::Ja, SettingProblem::Hours) => "1 から 8760 までの整数（時間）にしてください".into(),
        (Lang::Ja, SettingProblem::Image(d)) => {
            format!("1 MB までの PNG または SVG 画像にしてください（{d}）")
        }
    };
    match lang {
        Lang::En => format!("{label}: {what}."),
        Lang::Ja => format!("{label}：{what}。"),
    }
}

struct Field {
    name: &'static str,
    label: &'static str,
    value: String,
    configured: String,
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "console/settings.html")]
struct SettingsPage {
    layout: Layout,
    st: &'static SettingsTexts,
    fields: Vec<Field>,
    logo_url: Option<String>,
    has_uploaded_logo: bool,
    saved: bool,
    problems: Vec<String>,
}

#[derive(serde::Deserialize, Default)]
pub struct SettingsQuery {
    saved: Option<String>,
}

/// `GET /console/settings` (administrators).
pub async fn page(
    State(app): State<App>,
    web: Web,
    axum::extract::Query(q): axum::extract::Query<SettingsQuery>,
) -> Result<Response, PageError> {
    let operator = web.signed_in("/console/settings")?;
    operator
        .role
        .require(Role::Admin)
        .map_err(|e| web.error(e))?;
    Ok(render(
        &app,
        &web,
        StatusCode::OK,
        None,
        q.saved.is_some(),
        vec![],
    ))
}

/// The page with the fields as sent (`sent`) or as stored.
fn render(
    app: &App,
    web: &Web,
    status: StatusCode,
    sent: Option<&SettingsInput>,
    saved: bool,
    problems: Vec<String>,
) -> Response {
    let st = texts(web.lang);
    let s = app.settings();
    let c = &app.config;
    let stored = |n: &str| s.stored.get(n).cloned().unwrap_or_default();
    let hours = |n: &str| {
        s.stored
            .get(n)
            .and_then(|v| v.parse::<i64>().ok())
            .map(|secs| (secs / 3600).to_string())
            .unwrap_or_default()
    };
    let value = |from_input: fn(&SettingsInput) -> &String, otherwise: String| match sent {
        Some(i) => from_input(i).clone(),
        None => otherwise,
    };
    let fields = vec![
        Field {
            name: "name_en",
            label: st.name_en,
            value: value(|i| &i.name_en, stored(names::NAME_EN)),
            configured: c.name.clone(),
            kind: "text",
        },
        Field {
            name: "name_ja",
            label: st.name_ja,
            value: value(|i| &i.name_ja, stored(names::NAME_JA)),
            configured: c.name_ja.clone().unwrap_or_else(|| c.name.clone()),
            kind: "text",
        },
        Field {
            name: "mail_from_name",
            label: st.mail_from_name,
            value: value(|i| &i.mail_from_name, stored(names::MAIL_FROM_NAME)),
            configured: c.mail_from.clone(),
            kind: "text",
        },
        Field {
            name: "brand_color",
            label: st.brand_color,
            value: value(|i| &i.brand_color, stored(names::BRAND_COLOR)),
            configured: c.brand_color.clone(),
            kind: "text",
        },
        Field {
            name: "text_color",
            label: st.text_color,
            value: value(|i| &i.text_color, stored(names::TEXT_COLOR)),
            configured: c.text_color.clone(),
            kind: "text",
        },
        Field {
            name: "invitation_hours",
            label: st.invitation_hours,
            value: value(|i| &i.invitation_hours, hours(names::INVITATION_TTL)),
            configured: (c.invitation_ttl / 3600).to_string(),
            kind: "number",
        },
        Field {
            name: "offer_hours",
            label: st.offer_hours,
            value: value(|i| &i.offer_hours, hours(names::OFFER_TTL)),
            configured: (c.offer_ttl / 3600).to_string(),
            kind: "number",
        },
    ];
    let layout = web.layout(st.title, "/console/settings", "settings");
    web.render(
        app,
        status,
        SettingsPage {
            layout,
            st,
            fields,
            logo_url: s.logo_url.clone(),
            has_uploaded_logo: s.stored.contains_key(names::LOGO),
            saved,
            problems,
        },
    )
}

fn input_of(parts: Vec<Part>) -> (Option<String>, SettingsInput) {
    let mut csrf = None;
    let mut i = SettingsInput::default();
    for p in parts {
        match p.name.as_str() {
            "csrf" => csrf = Some(p.text()),
            "name_en" => i.name_en = p.text(),
            "name_ja" => i.name_ja = p.text(),
            "mail_from_name" => i.mail_from_name = p.text(),
            "brand_color" => i.brand_color = p.text(),
            "text_color" => i.text_color = p.text(),
            "invitation_hours" => i.invitation_hours = p.text(),
            "offer_hours" => i.offer_hours = p.text(),
            "remove_logo" => i.remove_logo = !p.bytes.is_empty(),
            "logo" if !p.bytes.is_empty() => i.logo = Some((p.content_type, p.bytes)),
            _ => {}
        }
    }
    (csrf, i)
}

/// `POST /console/settings` (multipart; administrators): saves, then back to the page.
pub async fn save(
    State(app): State<App>,
    web: Web,
    request: Request,
) -> Result<Response, PageError> {
    let role = web.signed_in("/console/settings")?.role;
    let parts = match parts(request, BODY_LIMIT).await {
        Ok(p) => p,
        Err(UploadError::TooLarge) => {
            let e = SettingError {
                field: "logo",
                problem: SettingProblem::Image(images::ImageError::TooLarge.to_string()),
            };
            // The form's token cannot be read: the role is still checked before answering.
            role.require(Role::Admin).map_err(|e| web.error(e))?;
            let problems = vec![problem(web.lang, &e)];
            return Ok(render(
                &app,
                &web,
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                false,
                problems,
            ));
        }
        Err(UploadError::Unreadable(d)) => {
            return Err(web.error(AppError::bad_request("body", d)));
        }
    };
    let (csrf, input) = input_of(parts);
    let operator = gate(&web, &app, csrf.as_deref(), Role::Admin)?;
    match app
        .save_settings(&input, &operator)
        .await
        .map_err(|e| web.error(e))?
    {
        Ok(_) => Ok(see_other("/console/settings?saved=1")),
        Err(errors) => {
            let problems = errors.iter().map(|e| problem(web.lang, e)).collect();
            Ok(render(
                &app,
                &web,
                StatusCode::BAD_REQUEST,
                Some(&input),
                false,
                problems,
            ))
        }
    }
}

/// `GET /issuer/logo`: the uploaded logo (an SVG cannot run anything: it was rewritten on
/// upload and is served under a policy that forbids scripts).
pub async fn logo(State(app): State<App>) -> Response {
    match app.store.issuer_logo().await {
        Ok(Some(l)) => {
            let mut r = l.bytes.into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&l.media_type) {
                h.insert(header::CONTENT_TYPE, v);
            }
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            r
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "issuer logo");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_setting_in_each_language() {
        let e = SettingError {
            field: "brand_color",
            problem: SettingProblem::Colour,
        };
        assert_eq!(
            problem(Lang::En, &e),
            "Brand colour (#rrggbb): a colour like #1d3557."
        );
        assert!(problem(Lang::Ja, &e).starts_with("ブランドカラー"));
    }
}
