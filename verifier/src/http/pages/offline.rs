//! The offline check page (`/check/offline`): a phone camera opens a printed card's QR code
//! (`/check/offline#AK1:…`) here, and the page verifies the card proof on the device
//! (`static/offline.js`: ES256 with WebCrypto, the disclosures' digests, the trust list,
//! the status bit, the expiry), from what its service worker (`static/offline-sw.js`) keeps:
//! the page, its script and style, and the snapshot of the trusted issuers' keys and
//! status lists ([`crate::domain::badge_check::card`]). The proof is in the URL fragment,
//! which browsers never send. Online, the page also asks `POST /check/offline/verify`, and
//! the server's answer wins.

use askama::Template;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kit::web::Lang;

use super::check::CHECK_PATH;
use super::texts::texts;
use super::{Frame, LANG_PATH, STYLE_PATH, StaticFile, page_lang, render};
use crate::app::App;
use crate::domain::badge_check::CheckResult;
use crate::domain::badge_check::card::{OFFLINE_STATUS_MAX_AGE, OfflineSnapshot};
use crate::error::Error;
use crate::http::error::AppError;

pub const OFFLINE_PATH: &str = "/check/offline";
pub const OFFLINE_SCRIPT_PATH: &str = "/check/offline.js";
pub const OFFLINE_WORKER_PATH: &str = "/check/offline-sw.js";
pub const SNAPSHOT_PATH: &str = "/check/offline/snapshot";
pub const VERIFY_PATH: &str = "/check/offline/verify";
/// Largest body of `POST /check/offline/verify`: a QR code's text and then some.
pub const VERIFY_BODY_LIMIT: usize = 16 * 1024;

pub(crate) const OFFLINE_JS: StaticFile = StaticFile {
    body: include_str!("../../../static/offline.js"),
    media_type: "text/javascript; charset=utf-8",
};
pub(crate) const OFFLINE_SW_JS: StaticFile = StaticFile {
    body: include_str!("../../../static/offline-sw.js"),
    media_type: "text/javascript; charset=utf-8",
};

/// The page's words; the script's are in `data-` attributes of `#offline-texts`.
pub struct OfflineTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub waiting: &'static str,
    pub no_proof: &'static str,
    pub checking: &'static str,
    pub verified: &'static str,
    pub revoked: &'static str,
    pub suspended: &'static str,
    pub status_unknown: &'static str,
    pub status_too_old: &'static str,
    pub untrusted: &'static str,
    pub tampered: &'static str,
    pub bad_signature: &'static str,
    pub expired: &'static str,
    pub malformed: &'static str,
    pub no_snapshot: &'static str,
    pub as_of: &'static str,
    pub just_now: &'static str,
    pub minutes: &'static str,
    pub hours: &'static str,
    pub days: &'static str,
    pub server_agrees: &'static str,
    pub server_says: &'static str,
    pub server_unreachable: &'static str,
    pub ready: &'static str,
    pub not_ready: &'static str,
    pub label_name: &'static str,
    pub label_badge: &'static str,
    pub label_issuer: &'static str,
    pub details: &'static str,
}

static EN: OfflineTexts = OfflineTexts {
    title: "Check a badge card",
    intro: "Scan the QR code of a badge card with your phone's camera. This page checks the badge on this device, even with no network.",
    waiting: "No card scanned yet.",
    no_proof: "This link holds no card proof. Scan the QR code printed on a badge card.",
    checking: "Checking…",
    verified: "Verified: the issuer signed this badge, and it has not been revoked.",
    revoked: "Revoked: the issuer has withdrawn this badge.",
    suspended: "Suspended: the issuer has suspended this badge.",
    status_unknown: "The issuer's signature is valid, but whether the badge was revoked is unknown: this device has no status list for it. Open this page once with the network on.",
    status_too_old: "The issuer's signature is valid, but whether the badge was revoked is unknown: this device's status information is too old (more than {hours} hours). Open this page once with the network on.",
    untrusted: "Not verified: this badge's issuer is not one this verifier trusts.",
    tampered: "Not verified: the card was altered (what it says does not match what the issuer signed).",
    bad_signature: "Not verified: the issuer's signature does not match.",
    expired: "Expired: this badge is no longer valid.",
    malformed: "Not verified: this is not a readable card proof.",
    no_snapshot: "This device has not stored the issuers' keys yet. Open this page once with the network on.",
    as_of: "Status as of {age}.",
    just_now: "just now",
    minutes: "{n} minutes ago",
    hours: "{n} hours ago",
    days: "{n} days ago",
    server_agrees: "The verifier's server checked it too, just now.",
    server_says: "The verifier's server checked it just now; its answer is shown.",
    server_unreachable: "Checked on this device only: the verifier's server could not be reached.",
    ready: "This page works offline on this device.",
    not_ready: "This page is not yet stored for offline use on this device.",
    label_name: "Name",
    label_badge: "Badge",
    label_issuer: "Issuer",
    details: "Technical details",
};

static JA: OfflineTexts = OfflineTexts {
    title: "名刺のバッジを確認",
    intro: "バッジ名刺の QR コードをスマートフォンのカメラで読み取ってください。このページはネットワークがなくても、この端末でバッジを確認します。",
    waiting: "まだ名刺が読み取られていません。",
    no_proof: "このリンクには名刺の証明が含まれていません。バッジ名刺に印刷された QR コードを読み取ってください。",
    checking: "確認しています…",
    verified: "検証済み：発行者が署名したバッジで、取り消されていません。",
    revoked: "失効：発行者がこのバッジを取り消しました。",
    suspended: "一時停止：発行者がこのバッジを一時停止しています。",
    status_unknown: "発行者の署名は有効ですが、取り消されたかどうかは不明です。この端末にこのバッジの状態リストがありません。ネットワークに接続してこのページを一度開いてください。",
    status_too_old: "発行者の署名は有効ですが、取り消されたかどうかは不明です。この端末の状態情報が古すぎます（{hours} 時間以上前）。ネットワークに接続してこのページを一度開いてください。",
    untrusted: "検証できません：このバッジの発行者は、この検証者が信頼する発行者ではありません。",
    tampered: "検証できません：名刺が改変されています（内容が発行者の署名と一致しません）。",
    bad_signature: "検証できません：発行者の署名が一致しません。",
    expired: "期限切れ：このバッジはもう有効ではありません。",
    malformed: "検証できません：読み取れる名刺の証明ではありません。",
    no_snapshot: "この端末には発行者の鍵がまだ保存されていません。ネットワークに接続してこのページを一度開いてください。",
    as_of: "状態は{age}の情報です。",
    just_now: "たった今",
    minutes: "{n} 分前",
    hours: "{n} 時間前",
    days: "{n} 日前",
    server_agrees: "検証者のサーバーでも今確認しました。",
    server_says: "検証者のサーバーで今確認しました。その結果を表示しています。",
    server_unreachable: "この端末でのみ確認しました。検証者のサーバーに接続できませんでした。",
    ready: "このページはこの端末でオフラインでも使えます。",
    not_ready: "このページはまだこの端末にオフライン用に保存されていません。",
    label_name: "氏名",
    label_badge: "バッジ",
    label_issuer: "発行者",
    details: "技術的な詳細",
};

fn offline_texts(lang: Lang) -> &'static OfflineTexts {
    match lang {
        Lang::Ja => &JA,
        _ => &EN,
    }
}

#[derive(Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    frame: Frame,
    o: &'static OfflineTexts,
    /// [`OfflineTexts::status_too_old`] with the bound in hours.
    too_old: String,
}

/// `GET /check/offline`.
pub async fn page(headers: HeaderMap) -> Response {
    let lang = page_lang(&headers);
    let o = offline_texts(lang);
    let frame = Frame {
        title: o.title,
        home: CHECK_PATH,
        style: STYLE_PATH,
        script: OFFLINE_SCRIPT_PATH,
        lang,
        t: texts(lang),
        switch: lang
            .switch_links(LANG_PATH, OFFLINE_PATH)
            .into_iter()
            .map(|(l, href)| (l.code(), l.own_name(), href))
            .collect(),
    };
    render(
        StatusCode::OK,
        &OfflinePage {
            frame,
            o,
            too_old: o
                .status_too_old
                .replace("{hours}", &(OFFLINE_STATUS_MAX_AGE / 3600).to_string()),
        },
    )
}

/// `GET /check/offline.js`.
pub async fn script(headers: HeaderMap) -> Response {
    OFFLINE_JS.response(&headers)
}

/// `GET /check/offline-sw.js`: the service worker (scope `/check/offline`).
pub async fn worker(headers: HeaderMap) -> Response {
    OFFLINE_SW_JS.response(&headers)
}

/// `GET /check/offline/snapshot`: the trusted issuers' keys and status lists, now.
pub async fn snapshot(State(app): State<App>) -> Response {
    let snapshot: OfflineSnapshot = app.badge_check.offline_snapshot().await;
    let mut r = Json(snapshot).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `POST /check/offline/verify`: the card proof as text (`AK1:…`); every check and its
/// outcome, as `POST /api/check` answers (400 with the reason when it is no card proof).
pub async fn verify(State(app): State<App>, body: Body) -> Result<Json<CheckResult>, AppError> {
    let bytes = axum::body::to_bytes(body, VERIFY_BODY_LIMIT)
        .await
        .map_err(|_| {
            Error::invalid(
                "card",
                format!("the body is more than {VERIFY_BODY_LIMIT} bytes"),
            )
        })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::invalid("card", "the body is not UTF-8 text"))?;
    Ok(Json(app.badge_check.check_card(text).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_are_served_as_javascript() {
        for (file, needle) in [
            (&OFFLINE_JS, "DecompressionStream"),
            (&OFFLINE_SW_JS, "caches.open"),
        ] {
            let r = file.response(&HeaderMap::new());
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(
                r.headers()[header::CONTENT_TYPE],
                "text/javascript; charset=utf-8"
            );
            assert!(file.body.contains(needle));
        }
    }

    #[test]
    fn both_languages_name_the_bound_placeholders() {
        for o in [&EN, &JA] {
            assert!(o.status_too_old.contains("{hours}"));
            assert!(o.as_of.contains("{age}"));
            for unit in [o.minutes, o.hours, o.days] {
                assert!(unit.contains("{n}"));
            }
        }
    }
}
