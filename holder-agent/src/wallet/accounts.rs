//! Open registration (without an issuer's invitation) and password reset, both by a link
//! sent by email. The links carry a single-use token, unguessable without the seal key
//! (`crate::mail` derives it from the email's id), of which only the SHA-256 is stored,
//! with an expiry ([`CONFIRM_TTL`], [`RESET_TTL`]). An openly registered account is
//! pending until its address is confirmed and cannot sign in before.
//!
//! Nothing here tells a stranger whether an address has a wallet: registering a known
//! address sends that address a note instead of a link, and asking for a reset answers the
//! same either way. The emails an address receives and the requests a client address makes
//! are limited per hour (counted in the sign-in throttle table under their own subjects).

use super::AppError;
use crate::mail::letters::Kind;
use crate::mail::{NewLink, PostError};
use crate::store::LoginRow;
use crate::wallet::web::{check_new_password, hash_password_at};
use crate::{Account, App};

/// How long a confirmation link works, in seconds.
pub const CONFIRM_TTL: i64 = 24 * 3600;
/// How long a password-reset link works, in seconds.
pub const RESET_TTL: i64 = 3600;
/// Emails one address receives per [`MAIL_WINDOW`] at most; further requests are answered
/// the same but send nothing.
pub const MAILS_PER_ADDRESS: i64 = 5;
/// Registration, resend and reset requests one client address may make per
/// [`MAIL_WINDOW`].
pub const REQUESTS_PER_CLIENT: i64 = 20;
pub const MAIL_WINDOW: i64 = 3600;
const MAX_EMAIL: usize = 254;

const CONFIRM: &str = "confirm";
const RESET: &str = "reset";

/// Why a registration, confirmation or reset was refused; each names the failed check.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("email: {0:?} is not an email address")]
    BadEmail(String),
    #[error("the link's token is missing or unknown; ask for a new email")]
    UnknownToken,
    #[error("the link was already used; ask for a new email")]
    TokenUsed,
    #[error("the link expired; ask for a new email")]
    TokenExpired,
    #[error("the link is for {found}, not for {expected}")]
    WrongPurpose {
        expected: &'static str,
        found: String,
    },
    #[error("too many requests from your network address; try again in {minutes} minutes")]
    TooManyRequests { minutes: i64 },
    /// The mail server did not take the email at once; it stays in the outbox and is
    /// retried.
    #[error("the email could not be sent ({0}); it will be retried, or ask again later")]
    Mail(#[from] kit::mail::MailError),
}

impl AccountError {
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::BadEmail(_) => "invalid_email",
            AccountError::UnknownToken
            | AccountError::TokenUsed
            | AccountError::TokenExpired
            | AccountError::WrongPurpose { .. } => "invalid_link",
            AccountError::TooManyRequests { .. } => "too_many_attempts",
            AccountError::Mail(_) => "mail_failed",
        }
    }
}

/// What the user is told of an email that was queued (`crate::mail`, the link token it
/// carries made in the same transaction) but not sent at once: the mail server's failure
/// (the outbox worker retries it); a failure of ours is not shown.
fn not_sent(e: PostError) -> AppError {
    match e {
        PostError::NotYet(e) => AccountError::Mail(e).into(),
        PostError::Store(e) => e.into(),
        e @ (PostError::Render(_) | PostError::Dropped(_)) => AppError::Internal(e.to_string()),
    }
}

/// The email address `raw` normalised (trimmed, lower case), if it looks like one.
pub fn normalise_email(raw: &str) -> Result<String, AccountError> {
    let email = raw.trim().to_lowercase();
    let ok = email.len() <= MAX_EMAIL
        && email.parse::<lettre::Address>().is_ok()
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email)
    } else {
        Err(AccountError::BadEmail(raw.trim().to_owned()))
    }
}

impl App {
    /// Open registration: checks the password, then sends the address a confirmation link
    /// (a new or still pending account), or a note that it already has a wallet. `lang` is
    /// the email's language; `ip` the client's address (rate limit).
    pub async fn register_open(
        &self,
        email: &str,
        password: &str,
        repeated: &str,
        lang: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<(), AppError> {
        let email = normalise_email(email)?;
        check_new_password(password, repeated)?;
        self.register_pending(&email, Some(password), lang, ip, now)
            .await
    }

    /// Open registration of the normalised address `email`, with a checked `password` or
    /// none (an API registration from an untrusted issuer's invitation: the confirmation
    /// link signs the holder in, who may then set a password by a reset). The rest is
    /// [`App::register_open`]'s.
    pub(crate) async fn register_pending(
        &self,
        email: &str,
        password: Option<&str>,
        lang: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<(), AppError> {
        let email = email.to_owned();
        self.count_client_request(ip, now).await?;
        if !self.mail_allowed(&email, now).await? {
            return Ok(());
        }
        let existing = match self.store.login_by_email(&email).await? {
            Some(row) => Some(row),
            // An account of that name without an email (made by the command line or the
            // API from an invitation): the confirmation attaches the address to it.
            None => match self.store.account_by_name(&email).await? {
                Some(a) => self.store.login_by_id(&a.id).await?,
                None => None,
            },
        };
        let row = match existing {
            Some(row) if row.email_confirmed_at.is_some() => {
                return self
                    .mailer
                    .send(Kind::AlreadyRegistered, lang, &email, None, now)
                    .await
                    .map_err(not_sent);
            }
            Some(row) => row,
            None => {
                let account = self.ensure_account(&email, now).await?;
                LoginRow {
                    id: account.id,
                    name: account.name,
                    email: None,
                    password_hash: None,
                    email_confirmed_at: None,
                }
            }
        };
        let phc = match password {
            Some(password) => Some(hash_password_at(self.config.password_cost, password).await?),
            None => None,
        };
        if !self
            .store
            .set_pending_login(&row.id, &email, phc.as_deref())
            .await?
        {
            // Confirmed meanwhile (an invitation, a link): the same note as above.
            return self
                .mailer
                .send(Kind::AlreadyRegistered, lang, &email, None, now)
                .await
                .map_err(not_sent);
        }
        self.send_confirmation(&row.id, &email, lang, now).await
    }

    /// Sends a new confirmation link to a pending account of `email`; does nothing (and
    /// says the same) for a confirmed or unknown address.
    pub async fn resend_confirmation(
        &self,
        email: &str,
        lang: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<(), AppError> {
        let email = normalise_email(email)?;
        self.count_client_request(ip, now).await?;
        let Some(row) = self.store.login_by_email(&email).await? else {
            return Ok(());
        };
        if row.email_confirmed_at.is_some() || !self.mail_allowed(&email, now).await? {
            return Ok(());
        }
        self.send_confirmation(&row.id, &email, lang, now).await
    }

    async fn send_confirmation(
        &self,
        account_id: &str,
        email: &str,
        lang: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let link = NewLink {
            account_id,
            purpose: CONFIRM,
            ttl: CONFIRM_TTL,
        };
        self.mailer
            .send(Kind::Confirm, lang, email, Some(link), now)
            .await
            .map_err(not_sent)
    }

    /// The address a confirmation link is for, without using the link (the page a GET
    /// shows: mail scanners fetch links, so only the POST of its button confirms).
    pub async fn confirmation_email(&self, token: &str, now: i64) -> Result<String, AppError> {
        let row = self.check_link_token(token, CONFIRM, now).await?;
        Ok(self
            .store
            .login_by_id(&row)
            .await?
            .and_then(|r| r.email)
            .ok_or(AccountError::UnknownToken)?)
    }

    /// Uses a confirmation link: the account's address is confirmed; returns the account
    /// (the page signs it in).
    pub async fn confirm_email(&self, token: &str, now: i64) -> Result<Account, AppError> {
        let account_id = self.use_link_token(token, CONFIRM, now).await?;
        self.store.confirm_email(&account_id, now).await?;
        self.opened(&account_id).await
    }

    /// Sends a password-reset link to the account of `email`, if there is one; the answer
    /// is the same either way.
    pub async fn request_reset(
        &self,
        email: &str,
        lang: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<(), AppError> {
        let email = normalise_email(email)?;
        self.count_client_request(ip, now).await?;
        let Some(row) = self.store.login_by_email(&email).await? else {
            return Ok(());
        };
        if !self.mail_allowed(&email, now).await? {
            return Ok(());
        }
        let link = NewLink {
            account_id: &row.id,
            purpose: RESET,
            ttl: RESET_TTL,
        };
        self.mailer
            .send(Kind::Reset, lang, &email, Some(link), now)
            .await
            .map_err(not_sent)
    }

    /// Checks a reset link without using it (the page a GET shows).
    pub async fn check_reset_token(&self, token: &str, now: i64) -> Result<(), AppError> {
        self.check_link_token(token, RESET, now).await.map(|_| ())
    }

    /// Uses a reset link: the new password replaces the old one, every session of the
    /// account ends, and the address counts as confirmed (the link proved it). Returns the
    /// account (the page signs it in anew). The password is checked before the link is
    /// used, so a typo does not spend it.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        repeated: &str,
        now: i64,
    ) -> Result<Account, AppError> {
        self.check_link_token(token, RESET, now).await?;
        check_new_password(password, repeated)?;
        let phc = hash_password_at(self.config.password_cost, password).await?;
        let account_id = self.use_link_token(token, RESET, now).await?;
        self.store.set_password_hash(&account_id, &phc).await?;
        self.store.confirm_email(&account_id, now).await?;
        self.store
            .retire_account_tokens(&account_id, RESET, now)
            .await?;
        self.store.delete_sessions_of(&account_id).await?;
        self.opened(&account_id).await
    }

    /// Whether the account's email is confirmed (sign-in refuses pending accounts).
    pub async fn email_confirmed(&self, account_id: &str) -> Result<bool, AppError> {
        Ok(self
            .store
            .login_by_id(account_id)
            .await?
            .is_some_and(|r| r.email_confirmed_at.is_some()))
    }

    async fn opened(&self, account_id: &str) -> Result<Account, AppError> {
        let row = self
            .store
            .account_by_id(account_id)
            .await?
            .ok_or_else(|| AppError::Internal(format!("account {account_id} vanished")))?;
        self.open_account(row)
    }

    /// The account a usable link token of `purpose` belongs to, naming what is wrong
    /// with it otherwise.
    async fn check_link_token(
        &self,
        token: &str,
        purpose: &'static str,
        now: i64,
    ) -> Result<String, AppError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AccountError::UnknownToken.into());
        }
        let row = self
            .store
            .account_token(&protocol::b64::sha256(token))
            .await?
            .ok_or(AccountError::UnknownToken)?;
        if row.purpose != purpose {
            return Err(AccountError::WrongPurpose {
                expected: purpose,
                found: row.purpose,
            }
            .into());
        }
        if row.used_at.is_some() {
            return Err(AccountError::TokenUsed.into());
        }
        if row.expires_at <= now {
            return Err(AccountError::TokenExpired.into());
        }
        Ok(row.account_id)
    }

    /// Checks and uses a link token (once: of two requests at once, one wins).
    async fn use_link_token(
        &self,
        token: &str,
        purpose: &'static str,
        now: i64,
    ) -> Result<String, AppError> {
        let account_id = self.check_link_token(token, purpose, now).await?;
        if !self
            .store
            .use_account_token(&protocol::b64::sha256(token.trim()), now)
            .await?
        {
            return Err(AccountError::TokenUsed.into());
        }
        Ok(account_id)
    }

    /// Counts a request from client address `ip`; refuses it past
    /// [`REQUESTS_PER_CLIENT`] in the window.
    async fn count_client_request(&self, ip: Option<&str>, now: i64) -> Result<(), AppError> {
        let Some(ip) = ip else { return Ok(()) };
        match self
            .count_in_window(&format!("mail-client:{ip}"), REQUESTS_PER_CLIENT, now)
            .await?
        {
            None => Ok(()),
            Some(minutes) => Err(AccountError::TooManyRequests { minutes }.into()),
        }
    }

    /// Counts an email to `email`; false past [`MAILS_PER_ADDRESS`] in the window.
    async fn mail_allowed(&self, email: &str, now: i64) -> Result<bool, AppError> {
        Ok(self
            .count_in_window(&format!("mail-to:{email}"), MAILS_PER_ADDRESS, now)
            .await?
            .is_none())
    }

    /// One more event for `subject` in its fixed window of [`MAIL_WINDOW`] seconds (the
    /// throttle row's `locked_until` holds the window's end); `Some(minutes left)` when
    /// this one is past `limit`.
    async fn count_in_window(
        &self,
        subject: &str,
        limit: i64,
        now: i64,
    ) -> Result<Option<i64>, AppError> {
        let (count, window_end) = match self.store.throttle(subject).await? {
            Some((count, end, _)) if end > now => (count + 1, end),
            _ => (1, now + MAIL_WINDOW),
        };
        self.store
            .set_throttle(subject, count, window_end, now)
            .await?;
        Ok((count > limit).then(|| (window_end - now + 59) / 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_or_refused_by_name() {
        assert_eq!(
            normalise_email("  Ana@Example.ORG ").unwrap(),
            "ana@example.org"
        );
        for bad in ["", "ana", "ana@", "a b@example.org", "<x>@example.org"] {
            let e = normalise_email(bad).unwrap_err();
            assert!(matches!(e, AccountError::BadEmail(_)), "{bad}: {e}");
            assert!(e.to_string().starts_with("email:"), "{e}");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert!(normalise_email(&long).is_err());
    }
}
