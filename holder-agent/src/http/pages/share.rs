//! Sharing a badge: the links of the Share panel (X, LinkedIn, LinkedIn's "Add to
//! profile", Facebook, LINE) and the email signature snippet, built from what the public
//! page shows, and the panel's texts.
//!
//! Every value that goes into a link is percent-encoded here ([`encode`]); every value
//! that goes into HTML is escaped by askama when the page or the snippet is rendered. The
//! signature the holder copies is the rendering of `templates/share_signature.html`, and
//! the page's preview includes that same template, so the preview is exactly the HTML
//! that is copied, shown as HTML with its text escaped (never `|safe`).
//!
//! Who sees what: the holder's own badge page (`/badges/{id}`) has the whole panel; the
//! public page (`/p/{slug}`) offers a stranger the link, the QR code and the share links
//! (sharing a page one has opened is ordinary), but not the email signature nor the
//! business card, which speak in the holder's name.

use askama::Template;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Lang, encode};

/// What the share links and the signature name: the public page and the badge as that
/// page shows it.
#[derive(Clone, Debug)]
pub struct ShareSubject {
    /// The public page's absolute URL.
    pub url: String,
    pub name: String,
    pub issuer: String,
    /// The year and month of issuance (`validFrom`), for LinkedIn's certification fields.
    pub issued: Option<(i32, u8)>,
    /// The credential's own identifier (`ld.id`, a `urn:uuid:`), LinkedIn's "credential ID".
    pub cert_id: Option<String>,
}

impl ShareSubject {
    /// The subject for the page at `url` of a badge whose (revealed) claims are `claims`.
    pub fn new(url: String, name: String, issuer: String, claims: &Value) -> Self {
        let s = |p: &str| claims.pointer(p).and_then(Value::as_str);
        let issued = s("/ld/validFrom")
            .or_else(|| s("/ld/issuanceDate"))
            .and_then(year_month)
            .or_else(|| {
                claims
                    .get("iat")
                    .and_then(Value::as_i64)
                    .and_then(|t| year_month(&protocol::clock::rfc3339(t)))
            });
        ShareSubject {
            url,
            name,
            issuer,
            issued,
            cert_id: s("/ld/id").map(str::to_owned),
        }
    }
}

/// `(year, month)` of an RFC 3339 date.
fn year_month(date: &str) -> Option<(i32, u8)> {
    let year = date.get(..4)?.parse().ok()?;
    let month: u8 = date.get(5..7)?.parse().ok()?;
    (date.get(4..5) == Some("-") && (1..=12).contains(&month)).then_some((year, month))
}

/// The share links of a public page, each percent-encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareLinks {
    pub x: String,
    pub linkedin: String,
    /// LinkedIn's "Add to profile" form, filled in as a certification.
    pub linkedin_add: String,
    pub facebook: String,
    pub line: String,
}

impl ShareLinks {
    pub fn new(s: &ShareSubject) -> Self {
        let u = encode(&s.url);
        let mut add = format!(
            "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name={}&organizationName={}",
            encode(&s.name),
            encode(&s.issuer)
        );
        if let Some((year, month)) = s.issued {
            add.push_str(&format!("&issueYear={year}&issueMonth={month}"));
        }
        add.push_str(&format!("&certUrl={u}"));
        if let Some(id) = &s.cert_id {
            add.push_str(&format!("&certId={}", encode(id)));
        }
        ShareLinks {
            x: format!(
                "https://x.com/intent/tweet?url={u}&text={}",
                encode(&s.name)
            ),
            linkedin: format!("https://www.linkedin.com/sharing/share-offsite/?url={u}"),
            linkedin_add: add,
            facebook: format!("https://www.facebook.com/sharer/sharer.php?u={u}"),
            line: format!("https://social-plugins.line.me/lineit/share?url={u}"),
        }
    }
}

/// The email signature's fields; `templates/share_signature.html` escapes them.
#[derive(Clone, Debug)]
pub struct SignatureData {
    pub url: String,
    /// The badge image the signature shows (the public page's `badge.png`).
    pub image: String,
    pub name: String,
    pub issuer: String,
}

impl SignatureData {
    pub fn new(s: &ShareSubject) -> Self {
        SignatureData {
            url: s.url.clone(),
            image: format!("{}/badge.png", s.url),
            name: s.name.clone(),
            issuer: s.issuer.clone(),
        }
    }

    /// The snippet the holder pastes into their email program's signature.
    pub fn html(&self) -> Result<String, askama::Error> {
        Ok(Snippet { sig: self }.render()?.trim().to_owned())
    }
}

#[derive(Template)]
#[template(path = "share_signature.html")]
struct Snippet<'a> {
    sig: &'a SignatureData,
}

/// The Share panel of the holder's badge page: the public link, the share links and the
/// signature snippet (its preview is the same template, included by the page).
pub struct SharePanel {
    pub url: String,
    pub links: ShareLinks,
    /// The snippet's HTML, shown as text in a field to copy.
    pub signature: String,
}

impl SharePanel {
    pub fn new(s: &ShareSubject) -> Result<(SharePanel, SignatureData), askama::Error> {
        let sig = SignatureData::new(s);
        Ok((
            SharePanel {
                url: s.url.clone(),
                links: ShareLinks::new(s),
                signature: sig.html()?,
            },
            sig,
        ))
    }
}

/// A page with copy buttons: its Content Security Policy also allows this wallet's own
/// scripts (`/share/copy.js`, and nothing inline).
pub(super) fn with_copy_script(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; img-src 'self' https: data:; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

/// `GET /share/copy.js`: [`COPY_JS`].
pub(super) async fn copy_js() -> Response {
    let mut r = COPY_JS.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// The Share panel's texts, per language.
pub struct ShareTexts {
    pub share: &'static str,
    pub public_link: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub copy_failed: &'static str,
    pub share_on: &'static str,
    pub linkedin_add: &'static str,
    pub email_signature: &'static str,
    pub signature_hint: &'static str,
    pub preview: &'static str,
    pub signature_code: &'static str,
    pub card: &'static str,
    pub card_hint: &'static str,
    pub card_pdf: &'static str,
    pub card_png: &'static str,
    pub card_offline_hint: &'static str,
    pub card_pdf_offline: &'static str,
    pub card_png_offline: &'static str,
    pub qr: &'static str,
    pub qr_png: &'static str,
    pub qr_svg: &'static str,
    pub make_public: &'static str,
    pub make_public_link: &'static str,
    pub holder_tools: &'static str,
}

const EN: ShareTexts = ShareTexts {
    share: "Share",
    public_link: "Link to the public page",
    copy: "Copy",
    copied: "Copied",
    copy_failed: "Could not copy: the text is selected, press Ctrl+C (⌘C on a Mac).",
    share_on: "Share on",
    linkedin_add: "Add to LinkedIn profile",
    email_signature: "Email signature",
    signature_hint: "Copy the code and paste it into your email program's signature settings (as HTML).",
    preview: "Preview",
    signature_code: "HTML code of the signature",
    card: "Business card",
    card_hint: "A 91 × 55 mm card with your name, the badge and a QR code of the public page.",
    card_pdf: "Card (PDF, for printing)",
    card_png: "Card (PNG image)",
    card_offline_hint: "Or a card whose QR code carries the badge itself, signed by the issuer: a verifier's check page verifies it even with no network.",
    card_pdf_offline: "Card that verifies offline (PDF)",
    card_png_offline: "Card that verifies offline (PNG)",
    qr: "QR code of the public page",
    qr_png: "QR code (PNG)",
    qr_svg: "QR code (SVG)",
    make_public: "This badge is private, so it cannot be shared.",
    make_public_link: "Make it public to share",
    holder_tools: "Your email signature and business card are on your badge page.",
};

const JA: ShareTexts = ShareTexts {
    share: "共有",
    public_link: "公開ページへのリンク",
    copy: "コピー",
    copied: "コピーしました",
    copy_failed: "コピーできませんでした。テキストを選択したので、Ctrl+C（Mac は ⌘C）を押してください。",
    share_on: "共有先",
    linkedin_add: "LinkedIn のプロフィールに追加",
    email_signature: "メール署名",
    signature_hint: "コードをコピーし、メールソフトの署名設定に HTML として貼り付けてください。",
    preview: "プレビュー",
    signature_code: "署名の HTML コード",
    card: "名刺",
    card_hint: "お名前、バッジ、公開ページの QR コードが入った 91 × 55 mm の名刺です。",
    card_pdf: "名刺（PDF、印刷用）",
    card_png: "名刺（PNG 画像）",
    card_offline_hint: "QR コードに発行者の署名付きバッジそのものを入れた名刺もあります。検証ページでネットワークなしでも検証できます。",
    card_pdf_offline: "オフラインで検証できる名刺（PDF）",
    card_png_offline: "オフラインで検証できる名刺（PNG）",
    qr: "公開ページの QR コード",
    qr_png: "QR コード（PNG）",
    qr_svg: "QR コード（SVG）",
    make_public: "このバッジは非公開のため、共有できません。",
    make_public_link: "公開して共有する",
    holder_tools: "メール署名と名刺は、あなたのバッジのページにあります。",
};

pub(super) fn texts(lang: Lang) -> &'static ShareTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

/// The copy buttons: each `button[data-copy]` copies the value of the field its
/// `data-copy` names and says so in the `[data-copy-status]` element beside it. Without
/// JavaScript the buttons stay hidden and the fields are selectable text.
pub const COPY_JS: &str = r#"(function () {
  function say(button, text) {
    var status = document.getElementById(button.getAttribute('data-status'));
    if (status) { status.textContent = text; }
  }
  function fallback(field) {
    field.focus();
    field.select();
    try { return document.execCommand('copy'); } catch (e) { return false; }
  }
  var buttons = document.querySelectorAll('button[data-copy]');
  Array.prototype.forEach.call(buttons, function (button) {
    var field = document.getElementById(button.getAttribute('data-copy'));
    if (!field) { return; }
    button.hidden = false;
    button.addEventListener('click', function () {
      var done = function () { say(button, button.getAttribute('data-copied')); };
      var failed = function () {
        if (fallback(field)) { done(); } else { say(button, button.getAttribute('data-failed')); }
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, failed);
      } else {
        failed();
      }
    });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "\"><script>alert(1)</script> Tom & Jerry's 証明";

    fn subject() -> ShareSubject {
        ShareSubject::new(
            "https://wallet.example/p/AbC-_d".into(),
            HOSTILE.into(),
            "Issuer \"<b>\" & Co".into(),
            &serde_json::json!({"ld": {"id": "urn:uuid:1234&x=1", "validFrom": "2026-03-04T00:00:00Z"}}),
        )
    }

    /// Every link is a fixed https origin with percent-encoded values: nothing of the
    /// hostile name survives as a `"`, `<`, `>`, `&` or space, and each decodes back.
    #[test]
    fn links_percent_encode_every_value() {
        let s = subject();
        let l = ShareLinks::new(&s);
        for (link, origin) in [
            (&l.x, "https://x.com/intent/tweet?"),
            (
                &l.linkedin,
                "https://www.linkedin.com/sharing/share-offsite/?",
            ),
            (&l.linkedin_add, "https://www.linkedin.com/profile/add?"),
            (&l.facebook, "https://www.facebook.com/sharer/sharer.php?"),
            (&l.line, "https://social-plugins.line.me/lineit/share?"),
        ] {
            let query = link
                .strip_prefix(origin)
                .unwrap_or_else(|| panic!("{link}"));
            assert!(
                !query.contains(['"', '<', '>', ' ', '\'']),
                "{link} carries a raw character"
            );
            let parsed = url::Url::parse(link).unwrap();
            let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
            for (k, v) in &pairs {
                if matches!(k.as_str(), "url" | "u" | "certUrl") {
                    assert_eq!(v, &s.url, "{link}");
                }
                if matches!(k.as_str(), "text" | "name") {
                    assert_eq!(v, HOSTILE, "{link}");
                }
            }
        }
        let add = url::Url::parse(&l.linkedin_add).unwrap();
        let get = |k: &str| {
            add.query_pairs()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(get("startTask").as_deref(), Some("CERTIFICATION_NAME"));
        assert_eq!(
            get("organizationName").as_deref(),
            Some("Issuer \"<b>\" & Co")
        );
        assert_eq!(get("issueYear").as_deref(), Some("2026"));
        assert_eq!(get("issueMonth").as_deref(), Some("3"));
        assert_eq!(get("certId").as_deref(), Some("urn:uuid:1234&x=1"));
        assert_eq!(add.query_pairs().count(), 7, "{add}");
    }

    /// The signature is HTML whose every value is escaped: the hostile name is text in
    /// it, never markup, and the links point at the page.
    #[test]
    fn signature_escapes_the_names() {
        let html = SignatureData::new(&subject()).html().unwrap();
        assert!(!html.contains("<script"), "{html}");
        // The only `">` are those closing the snippet's own tags.
        assert_eq!(html.matches("\">").count(), 2, "{html}");
        assert!(!html.contains("Tom & Jerry"), "a bare & in {html}");
        assert!(
            html.starts_with("<a href=\"https://wallet.example/p/AbC-_d\" "),
            "{html}"
        );
        assert!(
            html.contains("src=\"https://wallet.example/p/AbC-_d/badge.png\""),
            "{html}"
        );
        assert_eq!(html.matches("<a ").count(), 1);
        assert_eq!(html.matches("<img ").count(), 1);
    }

    #[test]
    fn year_and_month_only_from_a_date() {
        assert_eq!(year_month("2026-12-06T03:00:00Z"), Some((2026, 12)));
        assert_eq!(year_month("2026-13-01"), None);
        assert_eq!(year_month("20261201"), None);
        assert_eq!(year_month("日本"), None);
        let no_date = ShareSubject::new("u".into(), "n".into(), "i".into(), &Value::Null);
        assert_eq!(no_date.issued, None);
        assert!(!ShareLinks::new(&no_date).linkedin_add.contains("issueYear"));
    }
}
