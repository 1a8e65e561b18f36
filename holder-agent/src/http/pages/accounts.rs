//! The pages of open registration and password reset: `/register` without an invitation
//! (email and password twice) → "check your email"; `/confirm?token=` (a GET shows a
//! button and uses nothing, since mail scanners fetch links; its POST confirms and signs
//! in); `/confirm/resend`; `/forgot` → the same answer whether or not the address has a
//! wallet; `/reset?token=` → a new password twice, every session ended, signed in anew.
//! Every form carries the CSRF token of [`super::Web`]. The domain is
//! [`crate::wallet::accounts`].

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::{Form, Lang, Layout, PageError, Web, encode, signed_in, user_message};
use crate::App;
use crate::AppError;

/// The fixed texts of these pages, per language.
pub struct AccountTexts {
    /// An invitation link past its expiry, and what to do.
    pub invitation_expired: &'static str,
    /// An invitation link that is damaged or not from an issuer, and what to do.
    pub invitation_invalid: &'static str,
    pub create_title: &'static str,
    pub create_intro: &'static str,
    pub create_button: &'static str,
    pub check_title: &'static str,
    pub check_registered: &'static str,
    pub check_reset: &'static str,
    pub check_resend: &'static str,
    pub check_spam: &'static str,
    pub confirm_title: &'static str,
    pub confirm_intro: &'static str,
    pub confirm_button: &'static str,
    pub resend_title: &'static str,
    pub resend_intro: &'static str,
    pub resend_button: &'static str,
    pub forgot_title: &'static str,
    pub forgot_intro: &'static str,
    pub forgot_button: &'static str,
    pub forgot_link: &'static str,
    pub reset_title: &'static str,
    pub reset_intro: &'static str,
    pub reset_button: &'static str,
    pub new_password: &'static str,
    pub no_wallet_yet: &'static str,
    pub have_wallet: &'static str,
    pub resend_link: &'static str,
    pub invalid_link: &'static str,
    pub exists_title: &'static str,
    /// `{email}` is filled in.
    pub exists_message: &'static str,
}

const EN: AccountTexts = AccountTexts {
    create_title: "Create a wallet",
    create_intro: "Keep your badges in one place. We send a link to your email address to confirm it.",
    create_button: "Create wallet",
    check_title: "Check your email",
    check_registered: "We sent an email to {email}. Open the link in it to confirm your address and sign in. The link works for 24 hours.",
    check_reset: "If there is a wallet for {email}, we sent it an email with a link to set a new password. The link works for 1 hour.",
    check_resend: "If {email} is waiting for its confirmation, we sent it a new link. The link works for 24 hours.",
    check_spam: "No email after a few minutes? Look in the spam folder, or ask again.",
    confirm_title: "Confirm your email address",
    confirm_intro: "Confirm that this is your email address to activate your wallet:",
    confirm_button: "Confirm and sign in",
    resend_title: "Send the confirmation again",
    resend_intro: "Enter the address you registered with; we send it a new confirmation link.",
    resend_button: "Send a new link",
    forgot_title: "Forgot your password?",
    forgot_intro: "Enter your email address; we send it a link to set a new password.",
    forgot_button: "Send the link",
    forgot_link: "Forgot your password?",
    reset_title: "Set a new password",
    reset_intro: "Choose a new password. Every device signed in to your wallet is signed out.",
    reset_button: "Save the new password",
    new_password: "New password",
    no_wallet_yet: "No wallet yet? Create one",
    have_wallet: "Already have a wallet? Sign in",
    resend_link: "Send the confirmation email again",
    invalid_link: "This link cannot be used",
    invitation_expired: "This invitation has expired. Ask the organisation that invited you to send a new invitation email. If you already created your wallet from it, sign in instead.",
    invitation_invalid: "This invitation link is incomplete or damaged. Open the link straight from the invitation email (copying part of it breaks it), or ask the organisation that invited you to send it again.",
    exists_title: "You already have a wallet",
    exists_message: "A wallet already exists for {email}. An invitation does not open an existing wallet: sign in with your password, or reset your password if you forgot it.",
};

const JA: AccountTexts = AccountTexts {
    create_title: "ウォレットを作成",
    create_intro: "バッジを一か所で保管できます。メールアドレスの確認のため、リンクをメールでお送りします。",
    create_button: "ウォレットを作成",
    check_title: "メールを確認してください",
    check_registered: "{email} にメールを送信しました。メール内のリンクを開いてアドレスを確認し、ログインしてください。リンクの有効期限は24時間です。",
    check_reset: "{email} のウォレットがある場合、新しいパスワードを設定するリンクをメールで送信しました。リンクの有効期限は1時間です。",
    check_resend: "{email} が確認待ちの場合、新しいリンクを送信しました。リンクの有効期限は24時間です。",
    check_spam: "数分待ってもメールが届かない場合は、迷惑メールフォルダを確認するか、もう一度お試しください。",
    confirm_title: "メールアドレスの確認",
    confirm_intro: "ウォレットを有効にするため、次のメールアドレスがご自身のものであることを確認してください：",
    confirm_button: "確認してログイン",
    resend_title: "確認メールの再送信",
    resend_intro: "登録したメールアドレスを入力してください。新しい確認リンクを送信します。",
    resend_button: "新しいリンクを送信",
    forgot_title: "パスワードをお忘れですか？",
    forgot_intro: "メールアドレスを入力してください。新しいパスワードを設定するリンクを送信します。",
    forgot_button: "リンクを送信",
    forgot_link: "パスワードをお忘れですか？",
    reset_title: "新しいパスワードの設定",
    reset_intro: "新しいパスワードを決めてください。ウォレットにログイン中のすべての端末でログアウトされます。",
    reset_button: "新しいパスワードを保存",
    new_password: "新しいパスワード",
    no_wallet_yet: "ウォレットをお持ちでない方：作成する",
    have_wallet: "ウォレットをお持ちの方：ログイン",
    resend_link: "確認メールを再送信する",
    invalid_link: "このリンクは使用できません",
    invitation_expired: "この招待は有効期限が切れています。招待した団体に、招待メールの再送を依頼してください。すでにこの招待からウォレットを作成している場合は、ログインしてください。",
    invitation_invalid: "この招待リンクは不完全か、壊れています。招待メールのリンクをそのまま開いてください（一部だけコピーすると使えません）。または、招待した団体に再送を依頼してください。",
    exists_title: "ウォレットはすでにあります",
    exists_message: "{email} のウォレットはすでに存在します。招待リンクで既存のウォレットを開くことはできません。パスワードでログインするか、パスワードを忘れた場合は再設定してください。",
};

pub fn texts(lang: Lang) -> &'static AccountTexts {
    match lang {
        Lang::En => &EN,
        Lang::Ja => &JA,
    }
}

#[derive(Template)]
#[template(path = "account_register.html")]
struct RegisterPage {
    layout: Layout,
    a: &'static AccountTexts,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "account_notice.html")]
struct NoticePage {
    layout: Layout,
    a: &'static AccountTexts,
    message: String,
}

#[derive(Template)]
#[template(path = "account_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    a: &'static AccountTexts,
    token: String,
    email: String,
}

/// The one-field form of `/forgot` and `/confirm/resend`.
#[derive(Template)]
#[template(path = "account_email_form.html")]
struct EmailFormPage {
    layout: Layout,
    intro: &'static str,
    action: &'static str,
    button: &'static str,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "account_reset.html")]
struct ResetPage {
    layout: Layout,
    a: &'static AccountTexts,
    token: String,
    error: Option<String>,
}

/// An invitation for an address that already has a wallet: sign in or reset instead.
#[derive(Template)]
#[template(path = "account_exists.html")]
struct ExistsPage {
    layout: Layout,
    a: &'static AccountTexts,
    message: String,
    /// `/forgot?email=…`.
    forgot: String,
}

#[derive(Template)]
#[template(path = "account_link_error.html")]
struct LinkErrorPage {
    layout: Layout,
    a: &'static AccountTexts,
    message: String,
    /// Where a new link is asked for.
    again: &'static str,
}

/// `GET /register` without an invitation.
pub(super) fn register_page(app: &App, web: &Web) -> Response {
    let a = texts(web.lang);
    let mut layout = web.layout(a.create_title);
    layout.here = "/register".into();
    web.render(
        app,
        StatusCode::OK,
        RegisterPage {
            layout,
            a,
            email: String::new(),
            error: None,
        },
    )
}

/// `POST /register` without an invitation.
pub(super) async fn register(app: &App, web: &Web, form: &Form) -> Response {
    let a = texts(web.lang);
    let email = form.value("email").trim().to_owned();
    match app
        .register_open(
            &email,
            form.value("password"),
            form.value("password2"),
            web.lang.code(),
            web.ip.as_deref(),
            app.clock.now(),
        )
        .await
    {
        Ok(()) => notice(app, web, a.check_registered, &email.to_lowercase()),
        Err(e) => {
            let layout = web.layout(a.create_title);
            web.render(
                app,
                e.status(),
                RegisterPage {
                    layout,
                    a,
                    email,
                    error: Some(user_message(&e)),
                },
            )
        }
    }
}

/// The page of an invitation for an address that already has an account (409): it is
/// reached only by signing in or by a password reset.
pub(super) fn account_exists(app: &App, web: &Web, email: &str) -> Response {
    let a = texts(web.lang);
    let layout = web.layout(a.exists_title);
    web.render(
        app,
        StatusCode::CONFLICT,
        ExistsPage {
            layout,
            a,
            message: a.exists_message.replace("{email}", email),
            forgot: format!("/forgot?email={}", encode(email)),
        },
    )
}

/// "We sent an email to `email`": a registration waiting for its confirmation link.
pub(super) fn check_your_email(app: &App, web: &Web, email: &str) -> Response {
    notice(app, web, texts(web.lang).check_registered, email)
}

/// The "check your email" page: `template` with `{email}` filled in.
fn notice(app: &App, web: &Web, template: &str, email: &str) -> Response {
    let a = texts(web.lang);
    let layout = web.layout(a.check_title);
    web.render(
        app,
        StatusCode::OK,
        NoticePage {
            layout,
            a,
            message: template.replace("{email}", email),
        },
    )
}

/// A link that cannot be used, with where to ask for a new one.
/// An invitation link that cannot be used, said at once (before the holder types a
/// password): expired, or not a valid invitation; with what to do next and a way to sign
/// in. The check that failed is logged, not shown.
pub(super) fn invitation_problem(app: &App, web: &Web, e: &AppError) -> Response {
    use crate::wallet::registration::RegisterError;
    use protocol::invitation::InvitationError;
    tracing::debug!(error = %e, "invitation link refused");
    let a = texts(web.lang);
    let message = match e {
        AppError::Register(RegisterError::Invitation(InvitationError::Expired(_))) => {
            a.invitation_expired
        }
        _ => a.invitation_invalid,
    };
    let layout = web.layout(a.invalid_link);
    web.render(
        app,
        StatusCode::BAD_REQUEST,
        InvitationProblemPage { layout, a, message },
    )
}

#[derive(Template)]
#[template(path = "invitation_problem.html")]
struct InvitationProblemPage {
    layout: Layout,
    a: &'static AccountTexts,
    message: &'static str,
}

fn link_error(app: &App, web: &Web, e: AppError, again: &'static str) -> Response {
    let a = texts(web.lang);
    let layout = web.layout(a.invalid_link);
    web.render(
        app,
        e.status(),
        LinkErrorPage {
            layout,
            a,
            message: user_message(&e),
            again,
        },
    )
}

#[derive(serde::Deserialize)]
pub(super) struct TokenQuery {
    token: Option<String>,
}

/// `GET /confirm?token=`: shows the address and the button; uses nothing.
pub(super) async fn confirm_page(
    State(app): State<App>,
    web: Web,
    Query(q): Query<TokenQuery>,
) -> Response {
    let token = q.token.unwrap_or_default();
    match app.confirmation_email(&token, app.clock.now()).await {
        Ok(email) => {
            let a = texts(web.lang);
            let mut layout = web.layout(a.confirm_title);
            layout.here = format!("/confirm?token={}", encode(&token));
            web.render(
                &app,
                StatusCode::OK,
                ConfirmPage {
                    layout,
                    a,
                    token,
                    email,
                },
            )
        }
        Err(e) => link_error(&app, &web, e, "/confirm/resend"),
    }
}

/// `POST /confirm`: uses the token, confirms the address, signs in.
pub(super) async fn confirm(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    match app
        .confirm_email(form.value("token"), app.clock.now())
        .await
    {
        Ok(account) => signed_in(&app, &account, "/", &web).await,
        Err(e) => Ok(link_error(&app, &web, e, "/confirm/resend")),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct EmailQuery {
    email: Option<String>,
}

fn email_form(
    app: &App,
    web: &Web,
    resend: bool,
    status: StatusCode,
    email: String,
    error: Option<String>,
) -> Response {
    let a = texts(web.lang);
    let (title, intro, action, button) = if resend {
        (
            a.resend_title,
            a.resend_intro,
            "/confirm/resend",
            a.resend_button,
        )
    } else {
        (a.forgot_title, a.forgot_intro, "/forgot", a.forgot_button)
    };
    let mut layout = web.layout(title);
    layout.here = action.into();
    web.render(
        app,
        status,
        EmailFormPage {
            layout,
            intro,
            action,
            button,
            email,
            error,
        },
    )
}

/// `GET /confirm/resend`.
pub(super) async fn resend_page(
    State(app): State<App>,
    web: Web,
    Query(q): Query<EmailQuery>,
) -> Response {
    email_form(
        &app,
        &web,
        true,
        StatusCode::OK,
        q.email.unwrap_or_default(),
        None,
    )
}

/// `POST /confirm/resend`: the same answer whether or not the address is pending.
pub(super) async fn resend(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    submit_email_form(&app, &web, &body, true).await
}

/// `GET /forgot`.
pub(super) async fn forgot_page(
    State(app): State<App>,
    web: Web,
    Query(q): Query<EmailQuery>,
) -> Response {
    email_form(
        &app,
        &web,
        false,
        StatusCode::OK,
        q.email.unwrap_or_default(),
        None,
    )
}

/// `POST /forgot`: the same answer whether or not the address has a wallet.
pub(super) async fn forgot(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    submit_email_form(&app, &web, &body, false).await
}

/// The address form's answer: the confirmation link sent again (`resend`) or a
/// password-reset link sent; the same notice whether or not the address is known.
async fn submit_email_form(
    app: &App,
    web: &Web,
    body: &[u8],
    resend: bool,
) -> Result<Response, PageError> {
    let form = web.checked_form(app, body)?;
    let email = form.value("email").trim().to_owned();
    let (lang, ip, now) = (web.lang.code(), web.ip.as_deref(), app.clock.now());
    let sent = if resend {
        app.resend_confirmation(&email, lang, ip, now).await
    } else {
        app.request_reset(&email, lang, ip, now).await
    };
    let t = texts(web.lang);
    Ok(match sent {
        Ok(()) => notice(
            app,
            web,
            if resend {
                t.check_resend
            } else {
                t.check_reset
            },
            &email.to_lowercase(),
        ),
        Err(e) => email_form(app, web, resend, e.status(), email, Some(user_message(&e))),
    })
}

fn reset_form(
    app: &App,
    web: &Web,
    status: StatusCode,
    token: String,
    error: Option<String>,
) -> Response {
    let a = texts(web.lang);
    let mut layout = web.layout(a.reset_title);
    layout.here = format!("/reset?token={}", encode(&token));
    web.render(
        app,
        status,
        ResetPage {
            layout,
            a,
            token,
            error,
        },
    )
}

/// `GET /reset?token=`: the new-password form (the link is checked, not used).
pub(super) async fn reset_page(
    State(app): State<App>,
    web: Web,
    Query(q): Query<TokenQuery>,
) -> Response {
    let token = q.token.unwrap_or_default();
    match app.check_reset_token(&token, app.clock.now()).await {
        Ok(()) => reset_form(&app, &web, StatusCode::OK, token, None),
        Err(e) => link_error(&app, &web, e, "/forgot"),
    }
}

/// `POST /reset`: the new password; every session of the account ends; signed in anew.
pub(super) async fn reset(
    State(app): State<App>,
    web: Web,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = web.checked_form(&app, &body)?;
    let token = form.value("token").to_owned();
    match app
        .reset_password(
            &token,
            form.value("password"),
            form.value("password2"),
            app.clock.now(),
        )
        .await
    {
        Ok(account) => signed_in(&app, &account, "/", &web).await,
        Err(e @ AppError::Web(_)) => Ok(reset_form(
            &app,
            &web,
            e.status(),
            token,
            Some(user_message(&e)),
        )),
        Err(e) => Ok(link_error(&app, &web, e, "/forgot")),
    }
}
