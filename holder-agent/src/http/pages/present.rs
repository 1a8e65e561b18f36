//! Presenting from the browser: the holder gives the wallet a verifier's request (pastes
//! an `openid4vp://` or https link, uploads a screenshot or photo of the QR code, or takes
//! a picture with the camera), sees who asks and for what, unticks the claims they may
//! withhold, and shares or declines; then sees the verifier's answer.
//!
//! * `GET /present`: the form (and, with a request link's query, `/present?client_id=…&
//!   request_uri=…`, the request itself).
//! * `POST /present`: a pasted link; `POST /present/scan`: a picture (multipart, at most
//!   [`MAX_UPLOAD_BYTES`](kit::picture::MAX_UPLOAD_BYTES)), its QR code read here.
//!   Both fetch and verify the request, match it against the account's badges, keep the
//!   result pending ([`crate::wallet::pending`]) and send the browser to the consent page.
//! * `GET /present/consent/{id}`: who asks (client_id prefix and value, its name, whether
//!   the request object's signature verified and with which key), how the answer travels,
//!   and per badge each claim: required ones ticked and fixed, optional ones tickable.
//! * `POST /present/consent/{id}/share` and `…/decline`: take the pending request (once)
//!   and answer it; the result page shows the verifier's answer.
//!
//! The pending request is kept in the database, bound to the session that loaded it:
//! another account, or another browser of the same account, gets "unknown" (404); a second
//! answer gets "already answered" (409). Every form carries the CSRF token.

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use protocol::oid4vp::{ClientIdPrefix, ResponseMode};
use serde_json::Value;

use crate::AppError;
use crate::http::pages::{Lang, Layout, PageError, Web, see_other, user_message};
use crate::wallet::consent::Prepared;
use crate::wallet::decode_slots::{MAX_CONCURRENT_DECODES, RETRY_AFTER_SECS};
use crate::wallet::oid4vp::{PresentError, Presented, VerifierAnswer};
use crate::wallet::pending::{MAX_PER_ACCOUNT, MAX_PREPARED_BYTES, Owner, PendingError};
use crate::wallet::verify::BadgeState;
use crate::{Account, App};
use kit::picture::{MAX_DIMENSION, MAX_PIXELS, MAX_UPLOAD_BYTES, ScanError};

pub fn router() -> Router<App> {
    Router::new()
        .route("/present", get(present_page).post(present_link))
        .route(
            "/present/scan",
            post(present_scan).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/present/camera.js", get(camera_js))
        .route("/present/consent/{id}", get(consent_page))
        .route("/present/consent/{id}/share", post(share))
        .route("/present/consent/{id}/decline", post(decline))
}

// ---------------------------------------------------------------------------------------
// Texts

pub struct PresentTexts {
    pub invalid_warning: &'static str,
    pub present: &'static str,
    pub intro: &'static str,
    pub link: &'static str,
    pub link_hint: &'static str,
    pub open_link: &'static str,
    pub picture: &'static str,
    pub picture_hint: &'static str,
    pub read_picture: &'static str,
    pub camera: &'static str,
    pub camera_start: &'static str,
    pub camera_capture: &'static str,
    pub consent_title: &'static str,
    pub verifier: &'static str,
    pub verifier_id: &'static str,
    pub verifier_name: &'static str,
    pub name_not_given: &'static str,
    pub request_signature: &'static str,
    pub signed_by: &'static str,
    pub unsigned: &'static str,
    pub response: &'static str,
    pub encrypted: &'static str,
    pub not_encrypted: &'static str,
    pub will_share: &'static str,
    pub required: &'static str,
    pub optional: &'static str,
    pub always: &'static str,
    pub always_note: &'static str,
    pub no_match: &'static str,
    pub share: &'static str,
    pub decline: &'static str,
    pub result_title: &'static str,
    pub shared: &'static str,
    pub declined: &'static str,
    pub refused: &'static str,
    pub verifier_answer: &'static str,
    pub accepted_note: &'static str,
    pub reason: &'static str,
    pub technical: &'static str,
    pub continue_at: &'static str,
    pub disclosed: &'static str,
    pub nothing_disclosed: &'static str,
}

const EN: PresentTexts = PresentTexts {
    present: "Present a badge",
    intro: "A verifier shows a QR code or a link. Give it to your wallet in one of these ways.",
    link: "Paste the verifier's link",
    link_hint: "It starts with openid4vp:// or https://",
    open_link: "Open the request",
    picture: "Or upload a screenshot or photo of the QR code",
    picture_hint: "PNG or JPEG, at most 8 MB and 16 megapixels (8192 pixels a side).",
    read_picture: "Read the QR code",
    camera: "Or use the camera",
    camera_start: "Start the camera",
    camera_capture: "Capture the QR code",
    consent_title: "Share your badge?",
    invalid_warning: "The verifier will be told so when you share it.",
    verifier: "Verifier",
    verifier_id: "Identifier",
    verifier_name: "Name",
    name_not_given: "not given by the verifier",
    request_signature: "Request",
    signed_by: "signed; the signature verified with the verifier's key",
    unsigned: "not signed (the verifier is identified by its address only)",
    response: "Your answer",
    encrypted: "encrypted to the verifier's key (direct_post.jwt), sent to",
    not_encrypted: "sent over HTTPS (direct_post) to",
    will_share: "What the verifier will see",
    required: "required",
    optional: "you may untick it",
    always: "always part of the badge",
    always_note: "The badge as issued (its name, issuer, achievement and dates) is always shown; only the ticked items below are added.",
    no_match: "None of your badges meets this request.",
    share: "Share",
    decline: "Decline",
    result_title: "Verifier's answer",
    shared: "You shared your badge with",
    declined: "You declined the request of",
    refused: "The verifier did not accept your badge",
    verifier_answer: "The verifier answered",
    accepted_note: "The verifier checked your badge and accepted it.",
    reason: "Reason given",
    technical: "Technical details",
    continue_at: "Continue at the verifier",
    disclosed: "Disclosed",
    nothing_disclosed: "nothing beyond the badge as issued",
};

const JA: PresentTexts = PresentTexts {
    present: "バッジを提示",
    intro: "検証者が QR コードかリンクを表示します。次のいずれかの方法でウォレットに渡してください。",
    link: "検証者のリンクを貼り付け",
    link_hint: "openid4vp:// または https:// で始まります",
    open_link: "リクエストを開く",
    picture: "または QR コードのスクリーンショットや写真をアップロード",
    picture_hint: "PNG または JPEG、8 MB・1600 万画素（各辺 8192 ピクセル）まで。",
    read_picture: "QR コードを読み取る",
    camera: "またはカメラを使う",
    camera_start: "カメラを起動",
    camera_capture: "QR コードを撮影",
    consent_title: "バッジを提示しますか？",
    invalid_warning: "提示すると、検証者にもそのように伝わります。",
    verifier: "検証者",
    verifier_id: "識別子",
    verifier_name: "名前",
    name_not_given: "検証者から提供されていません",
    request_signature: "リクエスト",
    signed_by: "署名あり。検証者の鍵で署名を確認しました",
    unsigned: "署名なし（検証者はアドレスのみで識別されます）",
    response: "回答",
    encrypted: "検証者の鍵で暗号化して送信（direct_post.jwt）：",
    not_encrypted: "HTTPS で送信（direct_post）：",
    will_share: "検証者に見える内容",
    required: "必須",
    optional: "チェックを外せます",
    always: "バッジに常に含まれます",
    always_note: "発行されたバッジ（名前、発行者、達成内容、日付）は常に提示されます。下でチェックした項目だけが追加されます。",
    no_match: "このリクエストに合うバッジがありません。",
    share: "提示する",
    decline: "断る",
    result_title: "検証者の回答",
    shared: "バッジを提示しました：",
    declined: "リクエストを断りました：",
    refused: "検証者はバッジを受け付けませんでした",
    verifier_answer: "検証者の回答",
    accepted_note: "検証者がバッジを確認し、受け付けました。",
    reason: "理由",
    technical: "技術的な詳細",
    continue_at: "検証者のページへ進む",
    disclosed: "開示した項目",
    nothing_disclosed: "発行されたバッジ以外はありません",
};

fn texts(lang: Lang) -> &'static PresentTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// Why the verifier did not accept a presentation, in the holder's words, from the name
/// of a check it says failed (`failed_checks`; the names of `protocol::verify`).
fn refusal(lang: Lang, check: &str) -> &'static str {
    let (en, ja) = match check {
        "status" => (
            "The issuer has revoked or suspended this badge.",
            "発行者がこのバッジを失効または一時停止しています。",
        ),
        "validity" | "jwt_claims" => (
            "The badge has expired or is not valid yet.",
            "バッジの有効期限が切れているか、まだ有効になっていません。",
        ),
        "issuer_key" | "issuer_signature" | "format" | "disclosures" | "ob3_schema" => (
            "The verifier could not confirm the issuer's signature on this badge. Ask the issuer for the badge again.",
            "検証者はこのバッジの発行者の署名を確認できませんでした。発行者にバッジの再発行を依頼してください。",
        ),
        "issuer_binding" | "requested_issuer" => (
            "The verifier asked for a badge from another issuer.",
            "検証者は別の発行者のバッジを求めています。",
        ),
        "trust" => (
            "The verifier does not know this badge's issuer.",
            "検証者はこのバッジの発行者を信頼済みとして登録していません。",
        ),
        "image_digest" => (
            "The badge's image does not match the badge.",
            "バッジの画像がバッジと一致しません。",
        ),
        "vct" | "type" | "dcql" | "vp_token" => (
            "The badge is not the kind the verifier asked for.",
            "検証者が求めた種類のバッジではありません。",
        ),
        "holder_binding"
        | "nonce"
        | "audience"
        | "kb_iat"
        | "sd_hash"
        | "replay"
        | "request"
        | "response_encryption" => (
            "Your answer did not match this request. Scan the verifier's new QR code and try again.",
            "回答がこのリクエストと一致しませんでした。検証者の新しい QR コードを読み取って、もう一度お試しください。",
        ),
        _ => (
            "One of the verifier's checks did not pass.",
            "検証者の確認のひとつが通りませんでした。",
        ),
    };
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

// ---------------------------------------------------------------------------------------
// Templates

#[derive(Template)]
#[template(path = "present.html")]
struct PresentPage {
    layout: Layout,
    p: &'static PresentTexts,
    link: String,
    error: Option<String>,
}

/// The verifier as the consent and result pages show it.
struct VerifierView {
    /// `decentralized_identifier`, `redirect_uri`, …
    prefix: String,
    /// The DID or the URI after the prefix.
    id: String,
    name: Option<String>,
    verified_kid: Option<String>,
    encrypted: bool,
    response_uri: String,
}

impl VerifierView {
    fn new(prepared: &Prepared) -> Self {
        let req = &prepared.loaded.request;
        let full = req.client_id.as_str();
        let prefix = match req.client_id.prefix() {
            ClientIdPrefix::PreRegistered => "pre-registered".to_owned(),
            _ => full.split(':').next().unwrap_or("").to_owned(),
        };
        let id = match req.client_id.prefix() {
            ClientIdPrefix::PreRegistered => full.to_owned(),
            _ => full
                .split_once(':')
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or_default(),
        };
        VerifierView {
            prefix,
            id,
            name: prepared.loaded.client_name.clone(),
            verified_kid: prepared.loaded.verified_kid.clone(),
            encrypted: req.effective_response_mode() == ResponseMode::DirectPostJwt,
            response_uri: prepared.response_uri.clone(),
        }
    }
}

struct ItemView {
    pointer: String,
    label: String,
    value: String,
    optional: bool,
    concealable: bool,
}

struct CredentialChoice {
    index: usize,
    name: String,
    issuer: String,
    items: Vec<ItemView>,
    /// The badge's state checked now (`data-state`), and a warning unless it is valid.
    state: &'static str,
    warning: Option<String>,
}

#[derive(Template)]
#[template(path = "present_consent.html")]
struct ConsentPage {
    layout: Layout,
    p: &'static PresentTexts,
    id: String,
    verifier: VerifierView,
    unmatched: Option<String>,
    credentials: Vec<CredentialChoice>,
    error: Option<String>,
}

struct SentView {
    name: String,
    /// What was disclosed, in words.
    disclosed: Vec<super::claims::Described>,
}

#[derive(Template)]
#[template(path = "present_result.html")]
struct ResultPage {
    layout: Layout,
    p: &'static PresentTexts,
    verifier: VerifierView,
    declined: bool,
    accepted: bool,
    /// Why the verifier did not accept it, in the holder's words, from the checks it named.
    reasons: Vec<&'static str>,
    /// The verifier's own reason for refusing (`error_description`), when it named no
    /// check the wallet knows how to say.
    reason: Option<String>,
    status: u16,
    answer: String,
    redirect_uri: Option<String>,
    sent: Vec<SentView>,
}

/// A label for a claim pointer of an Open Badge.
fn label(pointer: &str) -> String {
    let known = [
        ("/ld/credentialSubject/identifier/", "Recipient identifier"),
        ("/ld/credentialSubject/identifier", "Recipient identifiers"),
        ("/ld/credentialSubject/result", "Results"),
        ("/ld/evidence", "Evidence"),
        ("/ld/credentialSubject/achievement/id", "Achievement"),
        ("/ld/credentialSubject/achievement/name", "Achievement name"),
        ("/ld/issuer/id", "Issuer"),
    ];
    known
        .iter()
        .find(|(p, _)| pointer == *p || (p.ends_with('/') && pointer.starts_with(p)))
        .map(|(_, l)| (*l).to_owned())
        .unwrap_or_else(|| pointer.to_owned())
}

/// Each prepared credential's state, checked now (the holder is warned before presenting a
/// badge that is revoked, suspended, expired or does not verify).
async fn states_of(app: &App, account: &Account, prepared: &Prepared) -> Vec<BadgeState> {
    let now = app.clock.now();
    let mut states = Vec::with_capacity(prepared.credentials.len());
    for c in &prepared.credentials {
        let state = match app.verify_held(account, &c.credential_id, now).await {
            Ok(Some(live)) => live.state(),
            Ok(None) | Err(_) => BadgeState::NotVerified,
        };
        states.push(state);
    }
    states
}

fn consent_view(
    web: &Web,
    id: String,
    prepared: &Prepared,
    states: &[BadgeState],
    error: Option<String>,
) -> ConsentPage {
    let p = texts(web.lang);
    let mut layout = web.layout(p.consent_title);
    layout.here = format!("/present/consent/{id}");
    ConsentPage {
        layout,
        p,
        id,
        verifier: VerifierView::new(prepared),
        unmatched: prepared.unmatched.clone(),
        credentials: prepared
            .credentials
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let state = states
                    .get(index)
                    .copied()
                    .unwrap_or(BadgeState::NotVerified);
                CredentialChoice {
                    state: state.as_str(),
                    warning: super::public::state_banner(state, web.lang)
                        .map(|banner| format!("{banner} {}", p.invalid_warning)),
                    index,
                    name: c
                        .achievement_name
                        .clone()
                        .unwrap_or_else(|| c.query_id.clone()),
                    issuer: c.issuer_name.clone().unwrap_or_else(|| c.issuer.clone()),
                    items: c
                        .items
                        .iter()
                        .map(|i| {
                            let (label, value) = if i.raw.is_null() {
                                (label(&i.pointer), i.value.clone())
                            } else {
                                let d = super::claims::describe(&i.pointer, &i.raw, web.lang);
                                (d.label, d.text)
                            };
                            ItemView {
                                pointer: i.pointer.clone(),
                                label,
                                value,
                                optional: i.optional,
                                concealable: i.concealable,
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
        error,
    }
}

fn result_view(
    web: &Web,
    prepared: &Prepared,
    declined: bool,
    answer: &VerifierAnswer,
    sent: Vec<SentView>,
) -> ResultPage {
    let p = texts(web.lang);
    let layout = web.layout(p.result_title);
    let pretty = match &answer.body {
        Value::String(s) => s.chars().take(2000).collect(),
        other => serde_json::to_string_pretty(other)
            .unwrap_or_default()
            .chars()
            .take(2000)
            .collect(),
    };
    ResultPage {
        layout,
        p,
        verifier: VerifierView::new(prepared),
        declined,
        accepted: (200..300).contains(&answer.status),
        reasons: {
            let mut reasons: Vec<&'static str> = Vec::new();
            for name in &answer.failed_checks {
                let sentence = refusal(web.lang, name);
                if !reasons.contains(&sentence) {
                    reasons.push(sentence);
                }
            }
            reasons
        },
        reason: answer
            .body
            .get("error_description")
            .and_then(Value::as_str)
            .map(|r| r.chars().take(300).collect()),
        status: answer.status,
        answer: pretty,
        // Only a web address becomes a link.
        redirect_uri: answer
            .redirect_uri
            .clone()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        sent,
    }
}

// ---------------------------------------------------------------------------------------
// Handlers

/// The session binding of pending requests: the account and this browser's session.
fn owner<'a>(account: &'a Account, web: &'a Web) -> Owner<'a> {
    Owner {
        account_id: &account.id,
        session: web.session.as_deref().unwrap_or(""),
    }
}

fn form_page(web: &Web, link: String, error: Option<String>) -> PresentPage {
    let p = texts(web.lang);
    let mut layout = web.layout(p.present);
    layout.here = "/present".into();
    PresentPage {
        layout,
        p,
        link,
        error,
    }
}

/// The form page allows the camera script of this wallet (and nothing else).
fn with_camera(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; img-src 'self' https: data: blob:; media-src 'self' blob:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

async fn present_page(
    State(app): State<App>,
    web: Web,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = query.unwrap_or_default();
    let here = if query.is_empty() {
        "/present".to_owned()
    } else {
        format!("/present?{query}")
    };
    let account = match web.require_account(&here) {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    // A wallet link opened at this page: `/present?client_id=…&request_uri=…`.
    if query.contains("client_id=") {
        let link = format!("openid4vp://?{query}");
        return load(&app, &web, account, &link).await;
    }
    Ok(with_camera(web.render(
        &app,
        StatusCode::OK,
        form_page(&web, String::new(), None),
    )))
}

/// Loads the request behind `link`, keeps it pending and sends the browser to the consent
/// page; a request that cannot be loaded is shown on the form with the check that failed.
async fn load(app: &App, web: &Web, account: &Account, link: &str) -> Result<Response, PageError> {
    let now = app.clock.now();
    let attempt = async {
        let loaded = app.load_request_verified(link.trim(), now).await?;
        let prepared = app.prepare_presentation(account, loaded).await?;
        Ok::<_, AppError>(app.pending.put(owner(account, web), &prepared, now).await?)
    };
    match attempt.await {
        Ok(id) => Ok(see_other(&format!("/present/consent/{id}"))),
        Err(e) => {
            let message = match &e {
                AppError::Pending(p) => pending_message(p, web.lang),
                other => user_message(other),
            };
            Ok(with_camera(web.render(
                app,
                e.status(),
                form_page(web, link.to_owned(), Some(message)),
            )))
        }
    }
}

async fn present_link(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    let Some(account) = web.account.as_ref() else {
        return Ok(see_other("/sign-in?next=%2Fpresent"));
    };
    let link = form.value("link").trim().to_owned();
    if link.is_empty() {
        return Ok(with_camera(web.render(
            &app,
            StatusCode::BAD_REQUEST,
            form_page(&web, link, Some("link: paste the verifier's link".into())),
        )));
    }
    load(&app, &web, account, &link).await
}

/// The CSRF token and the picture of a multipart upload.
async fn read_upload(mut multipart: Multipart) -> Result<(Option<String>, Vec<u8>), String> {
    let mut csrf = None;
    let mut picture = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("the upload is not a valid form: {e}"))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| format!("csrf: {e}"))?
                        .chars()
                        .take(200)
                        .collect(),
                )
            }
            Some("picture") => {
                picture = field
                    .bytes()
                    .await
                    .map_err(|e| {
                        format!(
                            "the picture could not be read (larger than {} bytes?): {e}",
                            MAX_UPLOAD_BYTES
                        )
                    })?
                    .to_vec()
            }
            _ => {}
        }
    }
    Ok((csrf, picture))
}

async fn present_scan(
    State(app): State<App>,
    web: Web,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let (csrf, picture) = match read_upload(multipart).await {
        Ok(parts) => parts,
        Err(message) => {
            return Err(PageError::new(StatusCode::BAD_REQUEST, message, web.lang));
        }
    };
    web.check_csrf(&app, csrf.as_deref())?;
    let Some(account) = web.account.as_ref() else {
        return Ok(see_other("/sign-in?next=%2Fpresent"));
    };
    // A decode slot, or "busy, try again": never an unbounded queue of big pictures.
    // The slot goes with the decode, so it is held until the decode ends even if the
    // browser has gone.
    let Ok(slot) = app.qr_decodes.try_acquire() else {
        let mut r = with_camera(web.render(
            &app,
            StatusCode::TOO_MANY_REQUESTS,
            form_page(&web, String::new(), Some(busy_message(web.lang))),
        ));
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        return Ok(r);
    };
    let decoded = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        kit::picture::read_qr(&picture)
    })
    .await
    .map_err(|e| PageError::from_app(AppError::Internal(format!("QR task: {e}")), web.lang))?;
    let texts = match decoded {
        Ok(t) => t,
        Err(e) => {
            let status = match e {
                ScanError::TooLarge { .. }
                | ScanError::TooManyPixels { .. }
                | ScanError::SideTooLong { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            return Ok(with_camera(web.render(
                &app,
                status,
                form_page(&web, String::new(), Some(scan_message(&e, web.lang))),
            )));
        }
    };
    // The first code that is a wallet link; else the first, to say why it is not one.
    let link = texts
        .iter()
        .find(|t| t.starts_with("openid4vp:") || t.starts_with("https://"))
        .or(texts.first())
        .cloned()
        .unwrap_or_default();
    load(&app, &web, account, &link).await
}

/// Why the picture was not read, in the holder's language, with what to do next (the
/// decoder's own reason, in English, is logged at debug level).
fn scan_message(e: &ScanError, lang: Lang) -> String {
    tracing::debug!(error = %e, "QR picture not read");
    match (e, lang) {
        (ScanError::Empty, Lang::En) => "No picture was uploaded. Choose a photo or screenshot of the verifier's QR code.".to_owned(),
        (ScanError::Empty, Lang::Ja) => "画像がアップロードされていません。検証者の QR コードの写真かスクリーンショットを選んでください。".to_owned(),
        (ScanError::TooLarge { max, .. }, Lang::En) => format!(
            "The picture is too large: at most {} MB are accepted. Take a smaller photo or a screenshot.",
            max / (1024 * 1024)
        ),
        (ScanError::TooLarge { max, .. }, Lang::Ja) => format!(
            "画像が大きすぎます（{} MB まで）。小さめの写真かスクリーンショットをお使いください。",
            max / (1024 * 1024)
        ),
        (ScanError::TooManyPixels { width, height }, Lang::En) => format!(
            "The picture is {width}×{height} pixels; at most {} megapixels are accepted. Take a smaller photo or a screenshot.",
            MAX_PIXELS / 1_000_000
        ),
        (ScanError::TooManyPixels { width, height }, Lang::Ja) => format!(
            "画像は {width}×{height} ピクセルです。受け付けるのは {} 万画素までです。小さめの写真かスクリーンショットをお使いください。",
            MAX_PIXELS / 10_000
        ),
        (ScanError::SideTooLong { width, height }, Lang::En) => format!(
            "The picture is {width}×{height} pixels; each side may be at most {MAX_DIMENSION} pixels."
        ),
        (ScanError::SideTooLong { width, height }, Lang::Ja) => format!(
            "画像は {width}×{height} ピクセルです。各辺は {MAX_DIMENSION} ピクセルまでです。"
        ),
        (ScanError::UnsupportedFormat | ScanError::Decode { .. }, Lang::En) => "The file is not a picture this wallet can read: upload a JPEG or PNG photo or screenshot.".to_owned(),
        (ScanError::UnsupportedFormat | ScanError::Decode { .. }, Lang::Ja) => "このウォレットが読める画像ではありません。JPEG か PNG の写真かスクリーンショットをアップロードしてください。".to_owned(),
        (ScanError::NoQrCode, Lang::En) => "No QR code was found in the picture. Take the photo again with the whole code in view and in focus.".to_owned(),
        (ScanError::NoQrCode, Lang::Ja) => "画像に QR コードが見つかりませんでした。コード全体がはっきり写るように撮り直してください。".to_owned(),
        (ScanError::Unreadable(_), Lang::En) => "A QR code was found but could not be read. Take the photo again, closer and in focus.".to_owned(),
        (ScanError::Unreadable(_), Lang::Ja) => "QR コードは見つかりましたが、読み取れませんでした。もう少し近づいて、ピントを合わせて撮り直してください。".to_owned(),
    }
}

/// Every decode slot is taken: try again in a moment.
fn busy_message(lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "The wallet is already reading {MAX_CONCURRENT_DECODES} pictures. Try again in {RETRY_AFTER_SECS} seconds."
        ),
        Lang::Ja => format!(
            "ウォレットは既に {MAX_CONCURRENT_DECODES} 枚の画像を読み取り中です。{RETRY_AFTER_SECS} 秒後にもう一度お試しください。"
        ),
    }
}

async fn consent_page(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let here = format!("/present/consent/{id}");
    let account = match web.require_account(&here) {
        Ok(a) => a,
        Err(redirect) => return Ok(*redirect),
    };
    let prepared = app
        .pending
        .peek(owner(account, &web), &id, app.clock.now())
        .await
        .map_err(|e| pending_error(e, web.lang))?;
    let states = states_of(&app, account, &prepared).await;
    Ok(web.render(
        &app,
        StatusCode::OK,
        consent_view(&web, id, &prepared, &states, None),
    ))
}

/// What the holder is told when a pending request cannot be kept or taken, in their
/// language; our own faults are logged and not shown.
fn pending_message(e: &PendingError, lang: Lang) -> String {
    match (e, lang) {
        (PendingError::Unknown, Lang::En) => e.to_string(),
        (PendingError::Unknown, Lang::Ja) => format!(
            "この提示リクエストはこのブラウザーのセッションでは不明です（ここで作られていない、別のアカウントやセッションのもの、または新しいリクエストのために削除された：1 アカウントで保留できるのは {MAX_PER_ACCOUNT} 件まで）。検証者の QR コードをもう一度読み取ってください。"
        ),
        (PendingError::AlreadyAnswered, Lang::En) => e.to_string(),
        (PendingError::AlreadyAnswered, Lang::Ja) => "この提示リクエストには既に回答済みです（提示または辞退）。回答は 1 回だけです。新しいリクエストのために検証者の QR コードをもう一度読み取ってください。".to_owned(),
        (PendingError::Expired { expired_at, .. }, Lang::Ja) => format!(
            "この提示リクエストは {} に期限切れになりました。検証者の QR コードをもう一度読み取ってください。",
            protocol::clock::rfc3339(*expired_at)
        ),
        (PendingError::Expired { .. }, Lang::En) => e.to_string(),
        (PendingError::TooLarge { bytes }, Lang::Ja) => format!(
            "提示リクエストが大きすぎます：回答まで保持するには {bytes} バイトですが、{MAX_PREPARED_BYTES} バイトまでしか受け付けません。"
        ),
        (PendingError::TooLarge { .. }, Lang::En) => e.to_string(),
        (PendingError::Corrupt(_) | PendingError::Store(_), _) => {
            tracing::error!(error = %e, "pending presentation");
            match lang {
                Lang::En => "the wallet could not complete the request".to_owned(),
                Lang::Ja => "ウォレットはリクエストを完了できませんでした".to_owned(),
            }
        }
    }
}

fn pending_error(e: PendingError, lang: Lang) -> PageError {
    let message = pending_message(&e, lang);
    PageError::new(AppError::Pending(e).status(), message, lang)
}

async fn share(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    let Some(account) = web.account.as_ref() else {
        return Ok(see_other("/sign-in"));
    };
    let now = app.clock.now();
    let who = owner(account, &web);
    let prepared = app
        .pending
        .take(who, &id, now)
        .await
        .map_err(|e| pending_error(e, web.lang))?;
    // The holder's choice: per badge `i`, the optional items left ticked (`c<i>`).
    let choices: Result<Vec<_>, PresentError> = prepared
        .credentials
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = format!("c{i}");
            let kept: Vec<String> = form
                .0
                .iter()
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .collect();
            c.listed(&kept).map(Some)
        })
        .collect();
    let result = match choices {
        Ok(choices) => {
            app.send_presentation(account, &prepared, &choices, now)
                .await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(presented) => {
            let sent = sent_view(&presented, &prepared, web.lang);
            let answer = presented.answer();
            let page = result_view(&web, &prepared, false, &answer, sent);
            Ok(web.render(&app, StatusCode::OK, page))
        }
        // The holder's choice was refused before anything was sent: ask again.
        Err(e @ AppError::Present(PresentError::Disclosure(_))) => {
            let message = user_message(&e);
            app.pending
                .restore(who, &id)
                .await
                .map_err(|e| pending_error(e, web.lang))?;
            let states = states_of(&app, account, &prepared).await;
            Ok(web.render(
                &app,
                StatusCode::BAD_REQUEST,
                consent_view(&web, id, &prepared, &states, Some(message)),
            ))
        }
        Err(e) => Err(PageError::from_app(e, web.lang)),
    }
}

/// What was sent, in words: each disclosure described from the value the consent page
/// showed for it.
fn sent_view(presented: &Presented, prepared: &Prepared, lang: Lang) -> Vec<SentView> {
    presented
        .credentials
        .iter()
        .map(|c| {
            let items = prepared
                .credentials
                .iter()
                .filter(|p| p.credential_id == c.credential_id)
                .flat_map(|p| p.items.iter());
            let items: Vec<_> = items.collect();
            SentView {
                name: c
                    .achievement_name
                    .clone()
                    .unwrap_or_else(|| c.query_id.clone()),
                // A container disclosed only to reach its items is not listed itself.
                disclosed: c
                    .disclosed
                    .iter()
                    .filter(|d| {
                        !c.disclosed
                            .iter()
                            .any(|other| other.starts_with(&format!("{d}/")))
                    })
                    .map(|d| {
                        let raw = items
                            .iter()
                            .find(|i| &i.pointer == d)
                            .map(|i| i.raw.clone())
                            .unwrap_or(Value::Null);
                        super::claims::describe(d, &raw, lang)
                    })
                    .collect(),
            }
        })
        .collect()
}

async fn decline(
    State(app): State<App>,
    web: Web,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    web.checked_form(&app, &body)?;
    let Some(account) = web.account.as_ref() else {
        return Ok(see_other("/sign-in"));
    };
    let prepared = app
        .pending
        .take(owner(account, &web), &id, app.clock.now())
        .await
        .map_err(|e| pending_error(e, web.lang))?;
    let reason = match &prepared.unmatched {
        Some(why) => format!("no credential meets the request: {why}"),
        None => "the holder declined to share".to_owned(),
    };
    let answer = app
        .decline_presentation(&prepared, &reason)
        .await
        .map_err(|e| PageError::from_app(e, web.lang))?;
    let page = result_view(&web, &prepared, true, &answer, Vec::new());
    Ok(web.render(&app, StatusCode::OK, page))
}

/// The camera: video from `getUserMedia`, one frame drawn to a canvas and posted as PNG
/// to `/present/scan` with the page's CSRF token. Without JavaScript (or a camera) the
/// upload field does the same.
async fn camera_js() -> Response {
    const JS: &str = r#"(function () {
  var start = document.getElementById('camera-start');
  var capture = document.getElementById('camera-capture');
  var video = document.getElementById('camera-video');
  var form = document.getElementById('scan-form');
  if (!start || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  document.getElementById('camera').hidden = false;
  start.addEventListener('click', function () {
    navigator.mediaDevices.getUserMedia({video: {facingMode: 'environment'}}).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      capture.hidden = false;
      return video.play();
    }).catch(function (e) {
      document.getElementById('camera-error').textContent = String(e);
    });
  });
  capture.addEventListener('click', function () {
    var canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      var data = new FormData();
      data.append('csrf', form.querySelector('input[name=csrf]').value);
      data.append('picture', blob, 'camera.png');
      fetch('/present/scan', {method: 'POST', body: data, credentials: 'same-origin'})
        .then(function (r) { return r.url && r.redirected ? (location.href = r.url) : r.text().then(function (html) {
          document.open(); document.write(html); document.close();
        }); });
    }, 'image/png');
  });
})();
"#;
    let mut r = Response::new(axum::body::Body::from(JS));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}
