//! The three emails, in English and Japanese: the wallet-registration invitation, the
//! badge-receipt email, and the PIN sent on its own. Each is a [`Letter`]: the words, the
//! links and the inline QR image, rendered to text and HTML by one pair of templates
//! (`templates/email/letter.{txt,html}`; HTML-escaped by askama).

use askama::Template;
pub use kit::mail::InlineImage;

/// A link with its label.
#[derive(Debug, Clone)]
pub struct Link {
    pub label: String,
    pub url: String,
}

/// One email's content, before rendering.
#[derive(Debug, Clone)]
pub struct Letter {
    pub lang: &'static str,
    pub subject: String,
    pub heading: String,
    pub paragraphs: Vec<String>,
    /// A short code shown large (the PIN).
    pub code: Option<String>,
    pub button: Option<Link>,
    /// Paragraphs after the button.
    pub after: Vec<String>,
    pub links: Vec<Link>,
    pub qr: Option<InlineImage>,
    pub footer: String,
}

/// The issuer's look in the emails.
#[derive(Debug, Clone)]
pub struct Branding {
    pub issuer_name: String,
    pub logo_url: Option<String>,
    /// `#rrggbb`, checked at start-up.
    pub brand_color: String,
}

#[derive(Template)]
#[template(path = "email/letter.html")]
struct Html<'a> {
    lang: &'a str,
    subject: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    code: Option<&'a str>,
    button: Option<&'a Link>,
    after: &'a [String],
    links: &'a [Link],
    qr: Option<&'a InlineImage>,
    footer: &'a str,
    issuer_name: &'a str,
    logo_url: Option<&'a str>,
    brand_color: &'a str,
}

#[derive(Template)]
#[template(path = "email/letter.txt")]
struct Text<'a> {
    heading: &'a str,
    paragraphs: &'a [String],
    code: Option<&'a str>,
    button: Option<&'a Link>,
    after: &'a [String],
    links: &'a [Link],
    footer: &'a str,
}

impl Letter {
    /// The plain-text and HTML bodies.
    pub fn render(&self, brand: &Branding) -> Result<(String, String), askama::Error> {
        let text = Text {
            heading: &self.heading,
            paragraphs: &self.paragraphs,
            code: self.code.as_deref(),
            button: self.button.as_ref(),
            after: &self.after,
            links: &self.links,
            footer: &self.footer,
        }
        .render()?;
        let html = Html {
            lang: self.lang,
            subject: &self.subject,
            heading: &self.heading,
            paragraphs: &self.paragraphs,
            code: self.code.as_deref(),
            button: self.button.as_ref(),
            after: &self.after,
            links: &self.links,
            qr: self.qr.as_ref(),
            footer: &self.footer,
            issuer_name: &brand.issuer_name,
            logo_url: brand.logo_url.as_deref(),
            brand_color: &brand.brand_color,
        }
        .render()?;
        Ok((text, html))
    }
}

/// The facts every email of a registration is written from.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub locale: &'a str,
    pub issuer_name: &'a str,
    pub achievement: &'a str,
    pub recipient_name: &'a str,
    pub recipient_email: &'a str,
}

fn ja(locale: &str) -> bool {
    locale == "ja"
}

/// The date part of a Unix time, `YYYY-MM-DD` (UTC).
pub fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_else(|_| unix.to_string())
}

fn footer(f: &Facts) -> String {
    if ja(f.locale) {
        format!(
            "このメールは、{}が {} をバッジ「{}」の受領者として登録したため送信されています。お心当たりがない場合は、このメールを破棄してください。",
            f.issuer_name, f.recipient_email, f.achievement
        )
    } else {
        format!(
            "You receive this email because {} registered {} for the badge “{}”. If you did not expect it, you can ignore it.",
            f.issuer_name, f.recipient_email, f.achievement
        )
    }
}

/// Email 1: register with the wallet.
pub fn invitation(f: &Facts, register_url: &str, expires_at: i64) -> Letter {
    let until = date(expires_at);
    if ja(f.locale) {
        Letter {
            lang: "ja",
            subject: format!(
                "【{}】デジタルバッジ「{}」の受け取りのご案内",
                f.issuer_name, f.achievement
            ),
            heading: "デジタルバッジが授与されます".into(),
            paragraphs: vec![
                format!("{} 様", f.recipient_name),
                format!(
                    "{}から、デジタルバッジ「{}」が授与されます。受け取るには、バッジウォレットのアカウントを作成してください。このリンクを開くと、メールアドレスの確認も完了します。",
                    f.issuer_name, f.achievement
                ),
            ],
            code: None,
            button: Some(Link {
                label: "ウォレットのアカウントを作成".into(),
                url: register_url.into(),
            }),
            after: vec![format!(
                "このリンクの有効期限は {until} です。アカウントが作成されると、バッジを受け取るためのメールをお送りします。"
            )],
            links: vec![],
            qr: None,
            footer: footer(f),
        }
    } else {
        Letter {
            lang: "en",
            subject: format!(
                "{}: your badge “{}” is waiting for you",
                f.issuer_name, f.achievement
            ),
            heading: "You have been awarded a badge".into(),
            paragraphs: vec![
                format!("Hello {},", f.recipient_name),
                format!(
                    "{} is awarding you the badge “{}”. To receive it, create your account in the badge wallet. Opening this link also confirms your email address.",
                    f.issuer_name, f.achievement
                ),
            ],
            code: None,
            button: Some(Link {
                label: "Create my wallet account".into(),
                url: register_url.into(),
            }),
            after: vec![format!(
                "This link is valid until {until}. Once your account exists, we will send you a second email with your badge."
            )],
            links: vec![],
            qr: None,
            footer: footer(f),
        }
    }
}

/// Email 2: the badge-receipt email with the offer for the configured web wallet, the
/// `openid-credential-offer://` link for any other wallet, and the same link as a QR code.
pub fn badge(
    f: &Facts,
    wallet_url: &str,
    offer_link: &str,
    qr_png: Vec<u8>,
    with_pin: bool,
    expires_at: i64,
) -> Letter {
    let until = date(expires_at);
    if ja(f.locale) {
        let mut after = vec![format!(
            "他のウォレットをお使いの場合は、下のQRコードをそのウォレットで読み取るか、ウォレットが入っている端末で次のリンクを開いてください。"
        )];
        if with_pin {
            after.push("受け取りの際にPINコードの入力を求められます。PINコードは別のメールでお送りしました。".into());
        }
        after.push(format!("この受け取りリンクの有効期限は {until} です。"));
        Letter {
            lang: "ja",
            subject: format!(
                "【{}】バッジ「{}」を受け取れます",
                f.issuer_name, f.achievement
            ),
            heading: "バッジの準備ができました".into(),
            paragraphs: vec![
                format!("{} 様", f.recipient_name),
                format!(
                    "{}が発行するバッジ「{}」を、あなたのウォレットに追加できます。",
                    f.issuer_name, f.achievement
                ),
            ],
            code: None,
            button: Some(Link {
                label: "ウォレットで受け取る".into(),
                url: wallet_url.into(),
            }),
            after,
            links: vec![Link {
                label: "OpenID4VCI 受け取りリンク:".into(),
                url: offer_link.into(),
            }],
            qr: Some(InlineImage {
                cid: "offer-qr".into(),
                alt: "バッジ受け取り用のQRコード".into(),
                png: qr_png,
            }),
            footer: footer(f),
        }
    } else {
        let mut after = vec![
            "Using another wallet? Scan the QR code below with it, or open this link on the device where it is installed.".to_owned(),
        ];
        if with_pin {
            after.push(
                "Your wallet will ask for a PIN while receiving the badge. We sent it to you in a separate email.".into(),
            );
        }
        after.push(format!("This offer is valid until {until}."));
        Letter {
            lang: "en",
            subject: format!("Your badge “{}” is ready", f.achievement),
            heading: "Your badge is ready".into(),
            paragraphs: vec![
                format!("Hello {},", f.recipient_name),
                format!(
                    "Your badge “{}” from {} is ready to be added to your wallet.",
                    f.achievement, f.issuer_name
                ),
            ],
            code: None,
            button: Some(Link {
                label: "Add the badge to my wallet".into(),
                url: wallet_url.into(),
            }),
            after,
            links: vec![Link {
                label: "OpenID4VCI offer link:".into(),
                url: offer_link.into(),
            }],
            qr: Some(InlineImage {
                cid: "offer-qr".into(),
                alt: "QR code of the badge offer".into(),
                png: qr_png,
            }),
            footer: footer(f),
        }
    }
}

/// The PIN of an offer, in an email of its own.
pub fn pin(f: &Facts, pin: &str, attempts: i64) -> Letter {
    if ja(f.locale) {
        Letter {
            lang: "ja",
            subject: format!(
                "【{}】バッジ「{}」受け取り用PINコード",
                f.issuer_name, f.achievement
            ),
            heading: "PINコード".into(),
            paragraphs: vec![
                format!("{} 様", f.recipient_name),
                format!(
                    "{}のバッジ「{}」を受け取る際、ウォレットに次のPINコードを入力してください。",
                    f.issuer_name, f.achievement
                ),
            ],
            code: Some(pin.into()),
            button: None,
            after: vec![format!(
                "PINコードは他人に教えないでください。{attempts}回間違えると受け取りリンクは無効になります。その場合は{}に再発行を依頼してください。",
                f.issuer_name
            )],
            links: vec![],
            qr: None,
            footer: footer(f),
        }
    } else {
        Letter {
            lang: "en",
            subject: format!("Your PIN for the badge “{}”", f.achievement),
            heading: "Your PIN".into(),
            paragraphs: vec![
                format!("Hello {},", f.recipient_name),
                format!(
                    "Enter this PIN in your wallet when it asks for it while receiving the badge “{}” from {}:",
                    f.achievement, f.issuer_name
                ),
            ],
            code: Some(pin.into()),
            button: None,
            after: vec![format!(
                "Do not share this PIN. After {attempts} wrong attempts the offer is locked; {} can then send you a new one.",
                f.issuer_name
            )],
            links: vec![],
            qr: None,
            footer: footer(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(locale: &str) -> Facts<'_> {
        Facts {
            locale,
            issuer_name: "Agency <Digital>",
            achievement: "Supporter & Friend",
            recipient_name: "<script>alert(1)</script>",
            recipient_email: "ana@example.org",
        }
    }

    fn brand() -> Branding {
        Branding {
            issuer_name: "Agency <Digital>".into(),
            logo_url: None,
            brand_color: "#1d4ed8".into(),
        }
    }

    #[test]
    fn html_escapes_everything_it_shows() {
        for locale in ["en", "ja"] {
            let l = invitation(&facts(locale), "https://w.example/register?a=1&b=2", 0);
            let (text, html) = l.render(&brand()).unwrap();
            assert!(!html.contains("<script>"), "{html}");
            // askama writes numeric character references.
            assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
            assert!(html.contains("Agency &#60;Digital&#62;"));
            assert!(html.contains("href=\"https://w.example/register?a=1&#38;b=2\""));
            // The text part is not HTML: shown as written.
            assert!(text.contains("<script>alert(1)</script>"));
            assert!(text.contains("https://w.example/register?a=1&b=2"));
            assert!(text.contains("1970-01-01"));
        }
    }

    #[test]
    fn badge_email_carries_both_links_and_the_qr() {
        let l = badge(
            &facts("ja"),
            "https://w.example/receive?credential_offer_uri=x",
            "openid-credential-offer://?credential_offer_uri=x",
            vec![1, 2, 3],
            true,
            86_400,
        );
        let (text, html) = l.render(&brand()).unwrap();
        assert!(html.contains("src=\"cid:offer-qr\""));
        assert!(text.contains("openid-credential-offer://?credential_offer_uri=x"));
        assert!(text.contains("https://w.example/receive?credential_offer_uri=x"));
        assert!(text.contains("PINコード"));
        assert!(text.contains("1970-01-02"));
    }

    #[test]
    fn pin_email_shows_the_code() {
        let (text, html) = pin(&facts("en"), "012345", 5).render(&brand()).unwrap();
        assert!(text.contains("    012345"));
        assert!(html.contains(">012345<"));
        assert!(text.contains("After 5 wrong attempts"));
    }
}
