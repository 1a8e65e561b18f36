//! The wallet's emails: the confirmation link of an open registration, the note sent when
//! someone registers an address that already has a wallet, and the password-reset link;
//! in English and Japanese, as text and HTML (askama templates
//! `templates/email/account.{txt,html}`, the HTML escaped).

use askama::Template;

/// Which email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Confirm the address of an open registration; the link is `/confirm?token=…`.
    Confirm,
    /// Someone registered an address that already has a wallet; the link is `/forgot`.
    AlreadyRegistered,
    /// Reset the password; the link is `/reset?token=…`.
    Reset,
}

impl Kind {
    /// Its name in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Confirm => "confirm",
            Kind::AlreadyRegistered => "already_registered",
            Kind::Reset => "reset",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        [Kind::Confirm, Kind::AlreadyRegistered, Kind::Reset]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// The wallet page its link opens (a token is added to those that carry one).
    pub fn page(self) -> &'static str {
        match self {
            Kind::Confirm => "/confirm",
            Kind::AlreadyRegistered => "/forgot",
            Kind::Reset => "/reset",
        }
    }
}

#[derive(Template)]
#[template(path = "email/account.txt")]
struct Text<'a> {
    heading: &'a str,
    paragraphs: &'a [String],
    button_label: &'a str,
    link: &'a str,
    after: &'a [String],
    footer: &'a str,
}

#[derive(Template)]
#[template(path = "email/account.html")]
struct Html<'a> {
    lang: &'a str,
    wallet: &'a str,
    subject: &'a str,
    heading: &'a str,
    paragraphs: &'a [String],
    button_label: &'a str,
    link: &'a str,
    after: &'a [String],
    footer: &'a str,
}

/// One email's words, before rendering.
#[derive(Debug, Clone)]
pub struct Letter {
    pub lang: &'static str,
    pub subject: String,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub button_label: String,
    pub link: String,
    pub after: Vec<String>,
    pub footer: String,
}

impl Letter {
    /// The words of `kind` in `lang` (`ja`, else English) for `email`, linking to `link`.
    pub fn new(kind: Kind, lang: &str, email: &str, link: &str, hours: i64) -> Letter {
        let ja = lang == "ja";
        let (subject, heading, paragraphs, button_label, after) = match (kind, ja) {
            (Kind::Confirm, false) => (
                "Confirm your email address for your Akashi wallet",
                "Confirm your email address",
                vec![format!(
                    "Someone (hopefully you) created an Akashi wallet for {email}. Open the link below and press the button to confirm the address and sign in."
                )],
                "Confirm my email address",
                vec![format!(
                    "The link works once and for {hours} hours. If you did not create a wallet, ignore this email: nothing happens without the confirmation."
                )],
            ),
            (Kind::Confirm, true) => (
                "Akashi ウォレット：メールアドレスの確認",
                "メールアドレスを確認してください",
                vec![format!(
                    "{email} で Akashi ウォレットが作成されました。下のリンクを開き、ボタンを押してメールアドレスを確認し、ログインしてください。"
                )],
                "メールアドレスを確認する",
                vec![format!(
                    "このリンクは1回限り、{hours}時間有効です。ウォレットを作成した覚えがない場合は、このメールを破棄してください。確認しない限り何も起きません。"
                )],
            ),
            (Kind::AlreadyRegistered, false) => (
                "You already have an Akashi wallet",
                "You already have a wallet",
                vec![format!(
                    "Someone tried to create an Akashi wallet for {email}, but this address already has one. Sign in with your password; if you forgot it, you can set a new one."
                )],
                "Set a new password",
                vec![
                    "If this was not you, ignore this email: your wallet is unchanged."
                        .to_owned(),
                ],
            ),
            (Kind::AlreadyRegistered, true) => (
                "Akashi ウォレットは作成済みです",
                "ウォレットは作成済みです",
                vec![format!(
                    "{email} で Akashi ウォレットを作成しようとしましたが、このアドレスのウォレットは既にあります。パスワードでログインしてください。パスワードを忘れた場合は新しく設定できます。"
                )],
                "新しいパスワードを設定する",
                vec![
                    "心当たりがない場合は、このメールを破棄してください。ウォレットは変更されていません。"
                        .to_owned(),
                ],
            ),
            (Kind::Reset, false) => (
                "Reset your Akashi wallet password",
                "Set a new password",
                vec![format!(
                    "Someone (hopefully you) asked to reset the password of the Akashi wallet of {email}. Open the link below to choose a new password; every device signed in to the wallet is then signed out."
                )],
                "Choose a new password",
                vec![format!(
                    "The link works once and for {hours} hour(s). If you did not ask for it, ignore this email: your password stays as it is."
                )],
            ),
            (Kind::Reset, true) => (
                "Akashi ウォレット：パスワードの再設定",
                "新しいパスワードを設定してください",
                vec![format!(
                    "{email} の Akashi ウォレットのパスワード再設定が依頼されました。下のリンクから新しいパスワードを設定してください。設定すると、すべての端末でログアウトされます。"
                )],
                "新しいパスワードを設定する",
                vec![format!(
                    "このリンクは1回限り、{hours}時間有効です。依頼した覚えがない場合は、このメールを破棄してください。パスワードは変わりません。"
                )],
            ),
        };
        let footer = if ja {
            format!("このメールは Akashi ウォレットから {email} 宛てに送信されています。")
        } else {
            format!("This email was sent by the Akashi wallet to {email}.")
        };
        Letter {
            lang: if ja { "ja" } else { "en" },
            subject: subject.to_owned(),
            heading: heading.to_owned(),
            paragraphs,
            button_label: button_label.to_owned(),
            link: link.to_owned(),
            after,
            footer,
        }
    }

    /// The plain-text and HTML bodies.
    pub fn render(&self) -> Result<(String, String), askama::Error> {
        let text = Text {
            heading: &self.heading,
            paragraphs: &self.paragraphs,
            button_label: &self.button_label,
            link: &self.link,
            after: &self.after,
            footer: &self.footer,
        }
        .render()?;
        let html = Html {
            lang: self.lang,
            wallet: if self.lang == "ja" {
                "Akashi ウォレット"
            } else {
                "Akashi wallet"
            },
            subject: &self.subject,
            heading: &self.heading,
            paragraphs: &self.paragraphs,
            button_label: &self.button_label,
            link: &self.link,
            after: &self.after,
            footer: &self.footer,
        }
        .render()?;
        Ok((text, html))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_in_both_languages_and_escape_the_address_in_html() {
        let link = "https://wallet.example/confirm?token=abc";
        for (lang, subject) in [
            ("en", "Confirm your email address"),
            ("ja", "メールアドレスの確認"),
        ] {
            let letter = Letter::new(Kind::Confirm, lang, "a<b>@example.org", link, 24);
            assert!(letter.subject.contains(subject), "{}", letter.subject);
            let (text, html) = letter.render().unwrap();
            assert!(text.contains(link), "{text}");
            assert!(text.contains("a<b>@example.org"), "text is not escaped");
            assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
            assert!(html.contains("a&#60;b&#62;@example.org"), "{html}");
            assert!(!html.contains("a<b>"), "{html}");
            assert!(html.contains(&format!("lang=\"{lang}\"")), "{html}");
        }
        let reset = Letter::new(Kind::Reset, "en", "ana@example.org", link, 1);
        assert!(reset.after[0].contains("1 hour"), "{:?}", reset.after);
    }

    #[test]
    fn kinds_are_named_in_the_outbox_and_link_to_their_page() {
        for kind in [Kind::Confirm, Kind::AlreadyRegistered, Kind::Reset] {
            assert_eq!(Kind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::from_name("invitation"), None);
        assert_eq!(Kind::AlreadyRegistered.page(), "/forgot");
    }
}
