//! The public badge pages and the holder's visibility settings:
//!
//! * `GET /p/{slug}` (no sign-in): the badge with the holder-chosen claims, the live
//!   verification result, Open Graph and Twitter card tags, share links (X, LinkedIn,
//!   Facebook, LINE) and a QR code of the page while the badge is valid, downloads, and
//!   `<link rel="alternate">` to the machine-readable forms. The email signature and the
//!   business card are the holder's tools, on their own badge page ([`super::share`]);
//!   the holder viewing their public page gets a link there;
//! * `GET /p/{slug}/credential` (`application/dc+sd-jwt`: the SD-JWT presentation with
//!   exactly the chosen disclosures, no KB-JWT) and `GET /p/{slug}/credential.json`
//!   (`application/vc+ld+json`: the `ldp_vc`, when held);
//! * `GET /p/{slug}/qr.png`, `/p/{slug}/qr.svg`: the page's URL as a QR code;
//! * `GET /p/{slug}/badge.png`, `/p/{slug}/badge.svg`: the baked badge image;
//! * `GET|POST /badges/{id}/public`: the holder's choice (public or private, and which
//!   selectively disclosable claims the page shows); the front page's toggle posts here.
//!
//! A private badge is 404 everywhere, with the body of an unknown slug, except that its
//! signed-in holder still sees the page (with a "private" banner) and its images.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use super::{Lang, Layout, PageError, Web, encode, see_other};
use crate::App;
use crate::wallet::public::{PublicBadge, Visibility};
use crate::wallet::verify::BadgeState;

/// Pixels per QR module of the PNG.
const QR_PNG_SCALE: u32 = 8;

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/p/{slug}", get(public_page))
        .route("/p/{slug}/credential", get(credential))
        .route("/p/{slug}/credential.json", get(credential_json))
        .route("/p/{slug}/qr.png", get(qr_png))
        .route("/p/{slug}/qr.svg", get(qr_svg))
        .route("/p/{slug}/badge.png", get(badge_png))
        .route("/p/{slug}/badge.svg", get(badge_svg))
        .route("/p/{slug}/share.png", get(share_png))
        .route(
            "/badges/{id}/public",
            get(settings_page).post(save_settings),
        )
}

/// The texts of these pages, per language.
pub struct PublicTexts {
    pub public: &'static str,
    pub private: &'static str,
    pub make_public: &'static str,
    pub make_private: &'static str,
    pub public_page: &'static str,
    pub choose_fields: &'static str,
    pub private_banner: &'static str,
    pub verified: &'static str,
    pub not_verified: &'static str,
    pub revoked: &'static str,
    pub suspended: &'static str,
    pub expired: &'static str,
    pub no_sharing: &'static str,
    pub status_note: &'static str,
    pub issued: &'static str,
    pub share: &'static str,
    pub downloads: &'static str,
    pub baked_png: &'static str,
    pub baked_svg: &'static str,
    pub plain_png: &'static str,
    pub plain_svg: &'static str,
    pub email_never: &'static str,
    pub sd_jwt_form: &'static str,
    pub ldp_vc_form: &'static str,
    pub qr: &'static str,
    pub shown_fields: &'static str,
    pub settings_title: &'static str,
    pub settings_intro: &'static str,
    pub no_fields: &'static str,
    pub save: &'static str,
}

const EN: PublicTexts = PublicTexts {
    public: "Public",
    private: "Private",
    make_public: "Make public",
    make_private: "Make private",
    public_page: "Public page",
    choose_fields: "Choose what the public page shows",
    private_banner: "This badge is private: only you can see this page. Others get “not found”.",
    verified: "Verified: the issuer's signature and key, the revocation status, the validity period and the image were checked just now.",
    not_verified: "Not verified",
    revoked: "Revoked: the issuer has withdrawn this badge. It is no longer valid.",
    suspended: "Suspended: the issuer has put this badge on hold. It is not valid for now.",
    expired: "Expired: this badge's validity period has ended.",
    no_sharing: "This badge is not valid, so it cannot be shared.",
    status_note: "Checked now, each time this page is opened.",
    issued: "Issued",
    share: "Share",
    downloads: "Downloads",
    baked_png: "Badge image (PNG, with the credential baked in)",
    baked_svg: "Badge image (SVG, with the credential baked in)",
    plain_png: "Badge image (PNG)",
    plain_svg: "Badge image (SVG)",
    email_never: "Your email address is never shown on the public page.",
    sd_jwt_form: "Verifiable credential, for wallets and verifiers (SD-JWT VC)",
    ldp_vc_form: "Verifiable credential, for Open Badges tools (JSON-LD)",
    qr: "QR code of this page",
    shown_fields: "Shown by the holder",
    settings_title: "Public page of this badge",
    settings_intro: "The public page always shows the badge, its issuer and dates. Tick what else it may show.",
    no_fields: "This badge has no further fields to choose.",
    save: "Save",
};

const JA: PublicTexts = PublicTexts {
    public: "公開",
    private: "非公開",
    make_public: "公開する",
    make_private: "非公開にする",
    public_page: "公開ページ",
    choose_fields: "公開ページに表示する項目を選ぶ",
    private_banner: "このバッジは非公開です。このページはあなただけが見られます。他の人には「見つかりません」と表示されます。",
    verified: "検証済み：発行者の署名と鍵、失効状態、有効期間、画像を今確認しました。",
    not_verified: "検証できませんでした",
    revoked: "失効：発行者がこのバッジを取り消しました。このバッジは無効です。",
    suspended: "一時停止：発行者がこのバッジを一時的に停止しています。現在は無効です。",
    expired: "期限切れ：このバッジの有効期間は終了しています。",
    no_sharing: "このバッジは無効なため、共有できません。",
    status_note: "このページを開くたびに検証しています。",
    issued: "発行日",
    share: "共有",
    downloads: "ダウンロード",
    baked_png: "バッジ画像（PNG、証明書入り）",
    baked_svg: "バッジ画像（SVG、証明書入り）",
    plain_png: "バッジ画像（PNG）",
    plain_svg: "バッジ画像（SVG）",
    email_never: "メールアドレスが公開ページに表示されることはありません。",
    sd_jwt_form: "検証可能な証明書（SD-JWT VC 形式：ウォレットや検証サービス向け）",
    ldp_vc_form: "検証可能な証明書（JSON-LD 形式：Open Badges 対応ツール向け）",
    qr: "このページのQRコード",
    shown_fields: "所持者が公開している項目",
    settings_title: "このバッジの公開ページ",
    settings_intro: "公開ページには常にバッジ、発行者、日付が表示されます。ほかに表示してよい項目を選んでください。",
    no_fields: "このバッジには選べる項目がありません。",
    save: "保存",
};

pub(super) fn texts(lang: Lang) -> &'static PublicTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// One chosen claim as the page shows it.
pub struct Field {
    pub label: String,
    pub value: String,
}

/// A chosen claim as people say it ([`super::claims`]).
fn field(pointer: &str, claims: &Value, lang: Lang) -> Option<Field> {
    Some(labelled(pointer, claims.pointer(pointer)?, lang))
}

fn labelled(pointer: &str, value: &Value, lang: Lang) -> Field {
    let d = super::claims::describe(pointer, value, lang);
    Field {
        label: d.label,
        value: d.text,
    }
}

#[derive(Template)]
#[template(path = "public.html")]
struct PublicPage {
    layout: Layout,
    p: &'static PublicTexts,
    slug: String,
    url: String,
    public: bool,
    viewer_is_holder: bool,
    name: String,
    description: Option<String>,
    criteria: Option<String>,
    issuer: String,
    /// The issuer's verified identifier.
    issuer_id: String,
    recipient: Option<String>,
    issued: Option<String>,
    valid_until: Option<String>,
    fields: Vec<Field>,
    /// The badge's state (`data-state`), and its banner in plain words unless valid.
    state: &'static str,
    state_banner: Option<&'static str>,
    /// Each check made now.
    verification: crate::wallet::verify::LiveVerification,
    /// "Recorded in the issuer's public log, entry N", when the `transparency` check passed.
    log_line: Option<String>,
    has_ldp_vc: bool,
    og_description: String,
    /// The share preview image (`og:image`).
    share_image: String,
    s: &'static super::share::ShareTexts,
    links: super::share::ShareLinks,
    /// The holder's own badge page, when the viewer is the holder.
    holder_page: Option<String>,
}

impl PublicPage {
    fn new(app: &App, web: &Web, badge: PublicBadge) -> Self {
        let c = &badge.claims;
        let s = |p: &str| c.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let name = s("/ld/credentialSubject/achievement/name")
            .or_else(|| s("/ld/name"))
            .unwrap_or_else(|| "Open Badge".to_owned());
        // The issuer's name only from verified data: the badge's own `ld.issuer.name` when
        // every check passed (`issuer_binding` ties it to the signer), else the name the
        // issuer published when the badge was received; its verified identifier beside it.
        let verified = badge.verification.is_ok();
        let issuer = s("/ld/issuer/name")
            .filter(|_| verified)
            .or(badge.issuer_display_name.clone())
            .unwrap_or_else(|| badge.issuer.clone());
        let issuer_id = badge.issuer.clone();
        // Dates as the reader's language writes them ("6 December 2026", "2026年12月6日").
        let date = |v: Option<String>| {
            v.map(|d| {
                web.lang
                    .date_of_rfc3339(&d)
                    .map_or_else(|| d.get(..10).unwrap_or(&d).to_owned(), |d| d.text)
            })
        };
        let issued = date(s("/ld/validFrom").or_else(|| {
            c.get("iat")
                .and_then(Value::as_i64)
                .map(protocol::clock::rfc3339)
        }));
        let valid_until = date(s("/ld/validUntil").or_else(|| {
            c.get("exp")
                .and_then(Value::as_i64)
                .map(protocol::clock::rfc3339)
        }));
        let description = s("/ld/credentialSubject/achievement/description");
        let url = app.public_url(&badge.slug);
        let share_image = format!("{url}/share.png");
        let og_description = description
            .clone()
            .unwrap_or_else(|| format!("{name} · {issuer}"));
        let links = super::share::ShareLinks::new(&super::share::ShareSubject::new(
            url.clone(),
            name.clone(),
            issuer.clone(),
            c,
        ));
        let holder_page = badge
            .viewer_is_holder
            .then(|| format!("/badges/{}", encode(&badge.credential_id)));
        let mut layout = web.layout(&name);
        layout.here = format!("/p/{}", badge.slug);
        let p = texts(web.lang);
        let state = badge.live.state();
        let state_banner = state_banner(state, web.lang);
        PublicPage {
            layout,
            p,
            slug: badge.slug.clone(),
            public: badge.public,
            viewer_is_holder: badge.viewer_is_holder,
            description,
            criteria: s("/ld/credentialSubject/achievement/criteria/narrative"),
            recipient: crate::wallet::recipient_name(c),
            issued,
            valid_until,
            fields: badge
                .disclosed
                .iter()
                .map(|(p, v)| labelled(p, v, web.lang))
                .collect(),
            state: state.as_str(),
            state_banner,
            log_line: badge.live.log_entry().map(|n| log_line(web.lang, n)),
            verification: badge.live,
            has_ldp_vc: badge.has_ldp_vc,
            s: super::share::texts(web.lang),
            links,
            holder_page,
            og_description,
            share_image,
            name,
            issuer,
            issuer_id,
            url,
        }
    }
}

/// The line that says where the issuer's public log records the badge.
pub(super) fn log_line(lang: Lang, entry: u64) -> String {
    match lang {
        Lang::En => format!("Recorded in the issuer's public log, entry {entry}."),
        Lang::Ja => format!("発行者の公開記録に記録されています（エントリ {entry}）。"),
    }
}

/// The banner of a badge that is not valid, in plain words (`None` when valid): the same
/// on the public page and the holder's own badge page.
pub(super) fn state_banner(state: BadgeState, lang: Lang) -> Option<&'static str> {
    let p = texts(lang);
    match state {
        BadgeState::Valid => None,
        BadgeState::Revoked => Some(p.revoked),
        BadgeState::Suspended => Some(p.suspended),
        BadgeState::Expired => Some(p.expired),
        BadgeState::NotVerified => Some(p.not_verified),
    }
}

/// 404 with the body of an unknown slug, for the machine-readable forms and images.
fn not_found() -> Response {
    let mut r = (StatusCode::NOT_FOUND, "not found\n").into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// What a public resource may do when opened on its own: nothing. An issuer's SVG badge
/// art is served from the wallet's origin, so a script in it must not run here.
const RESOURCE_CSP: &str = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox";

/// A public resource: its content type, and not cached (it disappears when made private).
fn resource(body: impl IntoResponse, content_type: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(RESOURCE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

async fn public_page(
    State(app): State<App>,
    web: Web,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let badge = app
        .public_badge(&slug, web.account.as_ref(), app.clock.now())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?
        .ok_or_else(|| PageError::not_found(web.lang))?;
    let page = PublicPage::new(&app, &web, badge);
    Ok(web.render(&app, StatusCode::OK, page))
}

async fn credential(State(app): State<App>, Path(slug): Path<String>) -> Response {
    match app.public_presentation(&slug).await {
        Ok(Some(sd_jwt)) => resource(sd_jwt, "application/dc+sd-jwt"),
        Ok(None) => not_found(),
        Err(e) => e.into_response(),
    }
}

async fn credential_json(State(app): State<App>, Path(slug): Path<String>) -> Response {
    match app.public_ldp_vc(&slug).await {
        Ok(Some(vc)) => resource(vc.to_string(), "application/vc+ld+json"),
        Ok(None) => not_found(),
        Err(e) => e.into_response(),
    }
}

/// The page URL of `slug` if the viewer may see the page.
async fn visible_url(app: &App, web: &Web, slug: &str) -> Result<Option<String>, Response> {
    match app.page_visible(slug, web.account.as_ref()).await {
        Ok(true) => Ok(Some(app.public_url(slug))),
        Ok(false) => Ok(None),
        Err(e) => Err(e.into_response()),
    }
}

async fn qr_png(State(app): State<App>, web: Web, Path(slug): Path<String>) -> Response {
    match visible_url(&app, &web, &slug).await {
        Ok(Some(url)) => match protocol::qr::Qr::new(&url) {
            Ok(qr) => resource(qr.png(QR_PNG_SCALE), "image/png"),
            Err(e) => crate::AppError::Internal(format!("QR code: {e}")).into_response(),
        },
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

/// The share preview image (`og:image`).
async fn share_png(State(app): State<App>, web: Web, Path(slug): Path<String>) -> Response {
    let lang = match web.lang {
        crate::http::pages::Lang::En => crate::wallet::card::Lang::En,
        crate::http::pages::Lang::Ja => crate::wallet::card::Lang::Ja,
    };
    match app
        .share_image(&slug, web.account.as_ref(), lang, app.clock.now())
        .await
    {
        Ok(Some(png)) => resource(png, "image/png"),
        Ok(None) => not_found(),
        Err(e) => e.into_response(),
    }
}

async fn qr_svg(State(app): State<App>, web: Web, Path(slug): Path<String>) -> Response {
    match visible_url(&app, &web, &slug).await {
        Ok(Some(url)) => match protocol::qr::Qr::new(&url) {
            Ok(qr) => resource(qr.svg(), "image/svg+xml"),
            Err(e) => crate::AppError::Internal(format!("QR code: {e}")).into_response(),
        },
        Ok(None) => not_found(),
        Err(r) => r,
    }
}

async fn badge_png(State(app): State<App>, web: Web, Path(slug): Path<String>) -> Response {
    match app.baked_badge(&slug, web.account.as_ref(), false).await {
        Ok(Some(png)) => resource(png, "image/png"),
        Ok(None) => not_found(),
        Err(e) => e.into_response(),
    }
}

async fn badge_svg(State(app): State<App>, web: Web, Path(slug): Path<String>) -> Response {
    match app.baked_badge(&slug, web.account.as_ref(), true).await {
        Ok(Some(svg)) => resource(svg, "image/svg+xml"),
        Ok(None) => not_found(),
        Err(e) => e.into_response(),
    }
}

/// A disclosable claim as the settings page offers it.
pub struct Choice {
    pub pointer: String,
    pub label: String,
    pub value: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "public_settings.html")]
struct SettingsPage {
    layout: Layout,
    p: &'static PublicTexts,
    id: String,
    name: String,
    visibility: Visibility,
    choices: Vec<Choice>,
}

async fn settings_page(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let here = format!("/badges/{}/public", encode(&id));
    let account = match web.require_account(&here) {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    let now = app.clock.now();
    let (view, claims) = app
        .credential_of(account, &id)
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?
        .ok_or_else(|| PageError::not_found(web.lang))?;
    let visibility = app
        .visibility(account, &id, now)
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    // What is never published (the email identifier) is not offered at all.
    let private = crate::wallet::privacy::never_public(&claims);
    let choices = view
        .disclosable
        .iter()
        .filter(|pointer| {
            protocol::sd_jwt::parse_pointer(pointer)
                .is_ok_and(|path| !crate::wallet::privacy::reveals_private(&path, &private))
        })
        .map(|pointer| {
            let f = field(pointer, &claims, web.lang).unwrap_or(Field {
                label: pointer.clone(),
                value: String::new(),
            });
            Choice {
                checked: visibility.disclose.contains(pointer),
                pointer: pointer.clone(),
                label: f.label,
                value: f.value,
            }
        })
        .collect();
    let name = view
        .achievement_name
        .clone()
        .unwrap_or_else(|| view.vct.clone());
    let mut layout = web.layout(texts(web.lang).settings_title);
    layout.here = here;
    Ok(web.render(
        &app,
        StatusCode::OK,
        SettingsPage {
            layout,
            p: texts(web.lang),
            id: view.id,
            name,
            visibility,
            choices,
        },
    ))
}

/// The front page's toggle (`public`) and the settings form (`public`, `choose=1` and a
/// `disclose` per ticked claim). Another account's badge is 404.
async fn save_settings(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let here = format!("/badges/{}/public", encode(&id));
    let account = match web.require_account(&here) {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    let form = web.checked_form(&app, &body)?;
    let public = match form.value("public") {
        "1" | "true" | "on" => true,
        "0" | "false" | "off" => false,
        other => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                format!("public: expected 1 or 0, got {other:?}"),
                web.lang,
            ));
        }
    };
    let disclose = (form.get("choose") == Some("1")).then(|| {
        form.0
            .iter()
            .filter(|(k, _)| k == "disclose")
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    });
    let from_settings = disclose.is_some();
    app.set_visibility(account, &id, public, disclose, app.clock.now())
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    Ok(see_other(if from_settings { &here } else { "/" }))
}
