//! Who an offer on the receive page is from (offer injection, OpenID4VCI issue #806): the
//! issuer's identifier beside its name, and whether the signed-in account registered with
//! that issuer through one of its invitations. An offer from any other issuer arrived
//! unsolicited (a link someone sent, a pasted offer), so the page says so in plain words
//! before the holder accepts. Akashi's issuer also refuses, at its credential endpoint, an
//! offer made for another wallet's registration; this notice covers issuers that do not.

use super::Lang;
use crate::App;
use crate::AppError;

/// What the receive page says about where an offer comes from.
pub struct OfferSource {
    /// The credential issuer identifier (its URL), shown beside its display name.
    pub issuer_id: String,
    /// The account registered with this issuer through an invitation.
    pub registered: bool,
    pub identifier_label: &'static str,
    /// One plain sentence (or two), in the page's language.
    pub notice: &'static str,
}

struct SourceTexts {
    identifier_label: &'static str,
    registered: &'static str,
    unsolicited: &'static str,
}

const EN: SourceTexts = SourceTexts {
    identifier_label: "Issuer's address",
    registered: "You registered with this issuer from this wallet.",
    unsolicited: "You have not registered with this issuer from this wallet. Receive this badge only if you expected one from them: a link from someone else may be an attempt to put a badge that is not yours in your wallet.",
};

const JA: SourceTexts = SourceTexts {
    identifier_label: "発行者のアドレス",
    registered: "このウォレットからこの発行者に登録済みです。",
    unsolicited: "このウォレットからこの発行者に登録したことはありません。この発行者からバッジが届く予定があった場合だけ受け取ってください。他人から送られたリンクは、あなたのものではないバッジをウォレットに入れようとするものかもしれません。",
};

impl OfferSource {
    pub fn new(lang: Lang, issuer_id: String, registered: bool) -> OfferSource {
        let t = match lang {
            Lang::En => &EN,
            Lang::Ja => &JA,
        };
        OfferSource {
            issuer_id,
            registered,
            identifier_label: t.identifier_label,
            notice: if registered {
                t.registered
            } else {
                t.unsolicited
            },
        }
    }

    /// Where an offer from `issuer_id` stands for `account_id`.
    pub async fn of(
        app: &App,
        lang: Lang,
        account_id: &str,
        issuer_id: String,
    ) -> Result<OfferSource, AppError> {
        let registered = app
            .store
            .registered_with_issuer(account_id, &issuer_id)
            .await?;
        Ok(OfferSource::new(lang, issuer_id, registered))
    }
}
