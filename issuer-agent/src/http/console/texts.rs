//! Every fixed text of the console's pages, in English and Japanese.

use axum::http::HeaderMap;

use crate::domain::operators::Role;

/// The language cookie's name.
pub const LANG_COOKIE: &str = "console_lang";

/// The console's language is the shared one (`kit::web::lang`: the cookie's choice, else
/// the browser's most preferred language we write by `Accept-Language` quality, else
/// English); the console keeps its own cookie name and text tables.
pub use kit::web::Lang;

/// The console's text table of a language.
pub trait LangTexts {
    fn texts(self) -> &'static Texts;
}

impl LangTexts for Lang {
    fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }
}

/// The console's language for a request: [`LANG_COOKIE`], else `Accept-Language`.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_headers(headers, LANG_COOKIE)
}

pub struct Texts {
    pub console: &'static str,
    pub skip: &'static str,
    pub sign_in: &'static str,
    pub sign_in_title: &'static str,
    pub sign_in_intro: &'static str,
    pub sign_out: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub signed_in_as: &'static str,
    pub language: &'static str,
    pub menu: &'static str,
    pub home: &'static str,
    pub registrations: &'static str,
    pub delivery: &'static str,
    pub audit: &'static str,
    pub operators: &'static str,
    pub my_password: &'static str,
    pub passkeys: &'static str,
    pub by_status: &'static str,
    pub total: &'static str,
    pub achievements: &'static str,
    pub achievement: &'static str,
    pub no_achievements: &'static str,
    pub retired: &'static str,
    pub all_statuses: &'static str,
    pub status: &'static str,
    pub search: &'static str,
    pub search_hint: &'static str,
    pub show: &'static str,
    pub name: &'static str,
    pub registered: &'static str,
    pub badge: &'static str,
    pub revoke: &'static str,
    pub suspend: &'static str,
    pub restore: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub no_rows: &'static str,
    pub status_changed: &'static str,
    pub read_only: &'static str,
    pub error: &'static str,
    pub not_found: &'static str,
    pub forbidden_title: &'static str,
    pub csrf_failed: &'static str,
    pub bad_request: &'static str,
    pub internal: &'static str,
    pub wrong_credentials: &'static str,
    pub too_many_from_address: &'static str,
    pub back_home: &'static str,
    pub technical_details: &'static str,
    pub root_title: &'static str,
    pub root_intro: &'static str,
    pub open_console: &'static str,
    pub export_csv: &'static str,
    pub history: &'static str,
    pub when: &'static str,
    pub what: &'static str,
    pub by: &'static str,
    pub emails: &'static str,
    pub kind: &'static str,
    pub resend_invitation: &'static str,
    pub resend_offer: &'static str,
    pub invitation_resent: &'static str,
    pub offer_resent: &'static str,
    pub back_to_registrations: &'static str,
    pub no_history: &'static str,
    pub person_status: &'static str,
    pub import: &'static str,
    pub settings: &'static str,
}

const EN: Texts = Texts {
    console: "Issuer console",
    skip: "Skip to the content",
    sign_in: "Sign in",
    sign_in_title: "Sign in to the issuer console",
    sign_in_intro: "For the staff who run this badge program. Sign in with the email address and password your administrator set up for you.",
    sign_out: "Sign out",
    email: "Email address",
    password: "Password",
    signed_in_as: "Signed in as",
    language: "Language",
    menu: "Console",
    home: "Overview",
    registrations: "Registrations",
    delivery: "Delivery",
    audit: "Audit log",
    operators: "Operators",
    my_password: "My password",
    passkeys: "Passkeys",
    by_status: "Registrations by status",
    total: "All registrations",
    achievements: "Achievements",
    achievement: "Achievement",
    no_achievements: "No achievements yet.",
    retired: "retired",
    all_statuses: "All statuses",
    status: "Status",
    search: "Search",
    search_hint: "Part of a name or an email address",
    show: "Show",
    name: "Name",
    registered: "Registered",
    badge: "Badge",
    revoke: "Revoke",
    suspend: "Suspend",
    restore: "Restore",
    next_page: "Next page",
    first_page: "First page",
    no_rows: "No registrations match.",
    status_changed: "The badge's status was changed.",
    read_only: "Your role can look but not change anything.",
    error: "Something went wrong",
    not_found: "Not found",
    forbidden_title: "Not allowed",
    csrf_failed: "This form is out of date or was not sent from this console. Reload the page and try again.",
    bad_request: "The request could not be carried out.",
    internal: "The server could not complete the request. Please try again later.",
    wrong_credentials: "Wrong email address or password.",
    too_many_from_address: "Too many failed sign-ins from your network. Try again later.",
    back_home: "Back to the overview",
    technical_details: "Technical details",
    root_title: "Akashi badge issuer",
    root_intro: "This server issues digital badges (Open Badges 3.0) to wallets. The people who run the badge program sign in to the console.",
    open_console: "Open the issuer console",
    export_csv: "Download these registrations as CSV (opens in Excel)",
    history: "History",
    when: "When",
    what: "What happened",
    by: "By",
    emails: "Emails",
    kind: "Email",
    resend_invitation: "Send the invitation again",
    resend_offer: "Send the badge offer again",
    invitation_resent: "The invitation will be sent again.",
    offer_resent: "A new badge offer will be sent.",
    back_to_registrations: "Back to the registrations",
    no_history: "Nothing has happened yet.",
    person_status: "Status",
    import: "Import",
    settings: "Settings",
};

const JA: Texts = Texts {
    console: "発行者コンソール",
    skip: "本文へ移動",
    sign_in: "ログイン",
    sign_in_title: "発行者コンソールにログイン",
    sign_in_intro: "このバッジプログラムの運用担当者向けです。管理者が設定したメールアドレスとパスワードでログインしてください。",
    sign_out: "ログアウト",
    email: "メールアドレス",
    password: "パスワード",
    signed_in_as: "ログイン中：",
    language: "言語",
    menu: "コンソール",
    home: "概要",
    registrations: "登録者",
    delivery: "メール配信",
    audit: "操作記録",
    operators: "運用担当者",
    my_password: "パスワード変更",
    passkeys: "パスキー",
    by_status: "状態別の登録者数",
    total: "登録者の合計",
    achievements: "バッジの種類",
    achievement: "バッジの種類",
    no_achievements: "バッジの種類はまだありません。",
    retired: "終了",
    all_statuses: "すべての状態",
    status: "状態",
    search: "検索",
    search_hint: "氏名またはメールアドレスの一部",
    show: "表示",
    name: "氏名",
    registered: "登録日",
    badge: "バッジ",
    revoke: "取り消す",
    suspend: "一時停止",
    restore: "再開する",
    next_page: "次のページ",
    first_page: "最初のページ",
    no_rows: "該当する登録者はいません。",
    status_changed: "バッジの状態を変更しました。",
    read_only: "あなたの権限では閲覧のみ可能です。",
    error: "エラーが発生しました",
    not_found: "見つかりません",
    forbidden_title: "許可されていません",
    csrf_failed: "このフォームは古いか、このコンソールから送信されたものではありません。ページを再読み込みしてもう一度お試しください。",
    bad_request: "リクエストを実行できませんでした。",
    internal: "サーバーで処理を完了できませんでした。しばらくしてからもう一度お試しください。",
    wrong_credentials: "メールアドレスまたはパスワードが違います。",
    too_many_from_address: "お使いのネットワークからのログイン失敗が多すぎます。しばらくしてからお試しください。",
    back_home: "概要へ戻る",
    technical_details: "技術的な詳細",
    root_title: "Akashi バッジ発行サーバー",
    root_intro: "このサーバーはデジタルバッジ（Open Badges 3.0）をウォレットへ発行します。バッジプログラムの運用担当者はコンソールにログインします。",
    open_console: "発行者コンソールを開く",
    export_csv: "この登録者一覧を CSV でダウンロード（Excel で開けます）",
    history: "履歴",
    when: "日時",
    what: "できごと",
    by: "操作者",
    emails: "メール",
    kind: "メールの種類",
    resend_invitation: "招待メールを再送する",
    resend_offer: "バッジの受け取り案内を再送する",
    invitation_resent: "招待メールを再送します。",
    offer_resent: "新しい受け取り案内を送ります。",
    back_to_registrations: "登録者一覧へ戻る",
    no_history: "まだ記録はありません。",
    person_status: "状態",
    import: "取り込み",
    settings: "設定",
};

/// A registration status as the pages say it.
/// A line of a person's history: a registration event or an audited action.
pub fn event_label(lang: Lang, event: &str) -> &'static str {
    match (lang, event) {
        (Lang::En, "registered") => "Registered",
        (Lang::En, "invitation_email_sent") => "Invitation email sent",
        (Lang::En, "badge_email_sent") => "Badge offer email sent",
        (Lang::En, "pin_email_sent") => "PIN email sent",
        (Lang::En, "wallet_registered") => "Wallet created",
        (Lang::En, "offered") => "Badge offered",
        (Lang::En, "offered_again") => "Badge offered again",
        (Lang::En, "invited_again") => "Invited again",
        (Lang::En, "issued") => "Badge received",
        (Lang::En, "credential.revoked") => "Badge revoked",
        (Lang::En, "credential.suspended") => "Badge suspended",
        (Lang::En, "credential.valid") => "Badge restored",
        (Lang::En, "registration.invitation_resent") => "Resending of the invitation asked",
        (Lang::En, "registration.offer_resent") => "Resending of the offer asked",
        (Lang::En, "mail.requeued") => "Email put back in the queue",
        (Lang::En, "invitation_opened") => "Opened the invitation link",
        (Lang::En, "mail_bounced") => "Email bounced: the address was refused",
        (Lang::Ja, "registered") => "登録",
        (Lang::Ja, "invitation_email_sent") => "招待メール送信",
        (Lang::Ja, "badge_email_sent") => "受け取り案内メール送信",
        (Lang::Ja, "pin_email_sent") => "PIN メール送信",
        (Lang::Ja, "wallet_registered") => "ウォレット作成",
        (Lang::Ja, "offered") => "バッジの受け取り案内",
        (Lang::Ja, "offered_again") => "受け取り案内の再発行",
        (Lang::Ja, "invited_again") => "再招待",
        (Lang::Ja, "issued") => "バッジ受け取り",
        (Lang::Ja, "credential.revoked") => "バッジ取り消し",
        (Lang::Ja, "credential.suspended") => "バッジ一時停止",
        (Lang::Ja, "credential.valid") => "バッジ再開",
        (Lang::Ja, "registration.invitation_resent") => "招待メールの再送を指示",
        (Lang::Ja, "registration.offer_resent") => "受け取り案内の再送を指示",
        (Lang::Ja, "mail.requeued") => "メールを再送の列に戻す",
        (Lang::Ja, "invitation_opened") => "招待リンクを開いた",
        (Lang::Ja, "mail_bounced") => "メール不達：宛先が受け取りを拒否",
        (Lang::En, "achievement.created") => "Achievement created",
        (Lang::En, "achievement.updated") => "Achievement changed",
        (Lang::En, "achievement.image") => "Badge image uploaded",
        (Lang::En, "achievement.retired") => "Achievement retired",
        (Lang::Ja, "achievement.created") => "バッジの種類を追加",
        (Lang::Ja, "achievement.updated") => "バッジの種類を変更",
        (Lang::Ja, "achievement.image") => "バッジ画像をアップロード",
        (Lang::Ja, "achievement.retired") => "バッジの種類を廃止",
        (Lang::En, _) => "Other change",
        (Lang::Ja, _) => "その他の変更",
    }
}

/// An email's kind and its delivery state.
pub fn email_label(lang: Lang, kind: &str, state: &str) -> (&'static str, &'static str) {
    let kind = match (lang, kind) {
        (Lang::En, "invitation") => "Invitation",
        (Lang::En, "badge") => "Badge offer",
        (Lang::En, "pin") => "PIN",
        (Lang::Ja, "invitation") => "招待",
        (Lang::Ja, "badge") => "受け取り案内",
        (Lang::Ja, "pin") => "PIN",
        (Lang::En, _) => "Other",
        (Lang::Ja, _) => "その他",
    };
    let state = match (lang, state) {
        (Lang::En, "sent") => "Sent",
        (Lang::En, "bounced") => "Bounced (address refused)",
        (Lang::En, "failed") => "Failed (given up)",
        (Lang::En, "retrying") => "Failed, will retry",
        (Lang::En, _) => "Waiting to be sent",
        (Lang::Ja, "sent") => "送信済み",
        (Lang::Ja, "bounced") => "不達（宛先が受け取りを拒否）",
        (Lang::Ja, "failed") => "送信失敗（再試行終了）",
        (Lang::Ja, "retrying") => "送信失敗（再試行予定）",
        (Lang::Ja, _) => "送信待ち",
    };
    (kind, state)
}

pub fn status_label(lang: Lang, status: &str) -> &'static str {
    match (lang, status) {
        (Lang::En, "revoked") => "Revoked",
        (Lang::En, "suspended") => "Suspended",
        (Lang::En, "badge_received") => "Badge received",
        (Lang::En, "mail_bounced") => "Email bounced",
        (Lang::En, "mail_failed") => "Email failed",
        (Lang::En, "offer_sent") => "Offer sent",
        (Lang::En, "wallet_registered") => "Wallet created",
        (Lang::En, "invitation_opened") => "Invitation opened",
        (Lang::En, "invited") => "Invited",
        (Lang::Ja, "revoked") => "取り消し済み",
        (Lang::Ja, "suspended") => "一時停止中",
        (Lang::Ja, "badge_received") => "受け取り済み",
        (Lang::Ja, "mail_bounced") => "メール不達（宛先エラー）",
        (Lang::Ja, "mail_failed") => "メール送信失敗",
        (Lang::Ja, "offer_sent") => "受け取り案内送信済み",
        (Lang::Ja, "wallet_registered") => "ウォレット作成済み",
        (Lang::Ja, "invitation_opened") => "招待リンクを開いた",
        (Lang::Ja, "invited") => "招待済み",
        (Lang::En, _) => "Unknown",
        (Lang::Ja, _) => "不明",
    }
}

pub fn role_label(lang: Lang, role: Role) -> &'static str {
    match (lang, role) {
        (Lang::En, Role::Admin) => "administrator",
        (Lang::En, Role::Operator) => "operator",
        (Lang::En, Role::Viewer) => "viewer",
        (Lang::Ja, Role::Admin) => "管理者",
        (Lang::Ja, Role::Operator) => "運用担当",
        (Lang::Ja, Role::Viewer) => "閲覧のみ",
    }
}

/// The sign-in lockout message.
pub fn locked(lang: Lang, minutes: i64) -> String {
    match lang {
        Lang::En => format!(
            "Too many failed sign-ins for this email address. Try again in {minutes} minutes."
        ),
        Lang::Ja => format!(
            "このメールアドレスでのログイン失敗が多すぎます。{minutes}分後にもう一度お試しください。"
        ),
    }
}

/// The page a viewer (or another role short of what a form needs) gets.
pub fn forbidden(lang: Lang, role: Role, needs: Role) -> String {
    match lang {
        Lang::En => format!(
            "Your role ({}) can look at the console but not make this change. It needs the role {} or higher; ask an administrator.",
            role_label(lang, role),
            role_label(lang, needs)
        ),
        Lang::Ja => format!(
            "あなたの権限（{}）ではコンソールの閲覧はできますが、この変更はできません。{}以上の権限が必要です。管理者にご相談ください。",
            role_label(lang, role),
            role_label(lang, needs)
        ),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, header};

    use super::*;

    fn headers(accept: &'static str, cookie: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static(accept));
        if let Some(c) = cookie {
            h.insert(header::COOKIE, HeaderValue::from_static(c));
        }
        h
    }

    #[test]
    fn the_cookie_wins_then_the_best_accepted_language() {
        assert_eq!(lang_of(&headers("ja", Some("console_lang=en"))), Lang::En);
        assert_eq!(lang_of(&headers("en;q=0.4, ja-JP;q=0.9", None)), Lang::Ja);
        assert_eq!(lang_of(&headers("fr, ja;q=0", None)), Lang::En);
        assert_eq!(lang_of(&headers("", Some("console_lang=xx"))), Lang::En);
    }

    #[test]
    fn every_status_has_a_label_in_each_language() {
        for s in crate::store::REGISTRATION_STATUSES {
            assert_ne!(status_label(Lang::En, s), "Unknown", "{s}");
            assert_ne!(status_label(Lang::Ja, s), "不明", "{s}");
        }
    }
}
