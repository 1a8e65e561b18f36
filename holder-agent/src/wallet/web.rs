//! Accounts in the browser: passwords (argon2id), sessions and sign-in throttling. The
//! session cookie holds a random token; only its SHA-256 is stored, so signing out (or a
//! lost database row) ends it on every instance. Failed sign-ins are counted in the
//! database per account and per (client address, account): [`MAX_FAILURES`] within
//! [`LOCK_SECONDS`] lock that subject for [`LOCK_SECONDS`]. Per client address alone the
//! ceiling is far higher ([`ADDRESS_MAX_FAILURES`]): a training room or an office behind
//! one proxy shares an address, and a few people's typos must not lock everyone else out.

use super::AppError;
use crate::{Account, App};

/// How long a browser session lasts, in seconds.
pub const SESSION_TTL: i64 = 14 * 24 * 3600;
/// Failed sign-ins that lock an account, or one client address out of one account.
pub const MAX_FAILURES: i64 = 5;
/// Failed sign-ins (for any accounts) that lock a client address.
pub const ADDRESS_MAX_FAILURES: i64 = 100;
/// How long a lock lasts (and the window in which failures are counted), in seconds.
pub const LOCK_SECONDS: i64 = 15 * 60;
pub const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 1024;

/// Why a sign-in or a password was refused: each names the check that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebAuthError {
    #[error("wrong email address or password")]
    WrongCredentials,
    #[error("too many failed sign-ins for this account; try again in {minutes} minutes")]
    AccountLocked { minutes: i64 },
    #[error("too many failed sign-ins from your network address; try again in {minutes} minutes")]
    AddressLocked { minutes: i64 },
    #[error("the password must be at least {MIN_PASSWORD} characters long")]
    PasswordTooShort,
    #[error("the password is longer than {MAX_PASSWORD} characters")]
    PasswordTooLong,
    #[error("the two passwords differ")]
    PasswordsDiffer,
    #[error(
        "the email address {0} is not confirmed yet: open the link in the confirmation email, or have a new one sent"
    )]
    EmailNotConfirmed(String),
}

impl WebAuthError {
    pub fn code(&self) -> &'static str {
        match self {
            WebAuthError::WrongCredentials => "wrong_credentials",
            WebAuthError::AccountLocked { .. } | WebAuthError::AddressLocked { .. } => {
                "too_many_attempts"
            }
            WebAuthError::EmailNotConfirmed(_) => "email_not_confirmed",
            _ => "invalid_password",
        }
    }

    pub fn is_throttled(&self) -> bool {
        matches!(
            self,
            WebAuthError::AccountLocked { .. } | WebAuthError::AddressLocked { .. }
        )
    }
}

/// Checks a new password's shape (and that it was typed the same twice).
pub fn check_new_password(password: &str, repeated: &str) -> Result<(), WebAuthError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD {
        return Err(WebAuthError::PasswordTooShort);
    }
    if chars > MAX_PASSWORD {
        return Err(WebAuthError::PasswordTooLong);
    }
    if password != repeated {
        return Err(WebAuthError::PasswordsDiffer);
    }
    Ok(())
}

/// The argon2id cost of new password hashes, from the one implementation the issuer's console
/// uses too ([`kit::password`]). [`PasswordCost::DEFAULT`] (argon2's and OWASP's: m=19 MiB,
/// t=2, p=1) is what a wallet uses; only tests lower it ([`crate::Config::password_cost`]).
pub use kit::password::PasswordCost;

/// A password hashing fault (ours, never the password's), as the wallet reports it.
fn internal(e: kit::password::PasswordError) -> AppError {
    AppError::Internal(e.to_string())
}

/// The argon2id PHC string of `password` at the default cost ([`PasswordCost::DEFAULT`]).
pub async fn hash_password(password: &str) -> Result<String, AppError> {
    hash_password_at(PasswordCost::DEFAULT, password).await
}

/// The argon2id PHC string of `password` at `cost`.
pub async fn hash_password_at(cost: PasswordCost, password: &str) -> Result<String, AppError> {
    kit::password::hash_password(cost, password)
        .await
        .map_err(internal)
}

/// Whether `password` matches the PHC string `phc`, checked at the cost `phc` names.
async fn password_matches(password: &str, phc: &str) -> Result<bool, AppError> {
    kit::password::password_matches(password, phc)
        .await
        .map_err(internal)
}

/// The hash a password is checked against when the account does not exist, so that a
/// sign-in takes as long either way: made once per process at `cost`, the cost real hashes
/// are made at ([`kit::password::dummy_hash`]).
async fn dummy_hash(cost: PasswordCost) -> Result<String, AppError> {
    kit::password::dummy_hash(cost).await.map_err(internal)
}

impl App {
    /// Signs in with email and password from client address `ip`; returns the account.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        ip: Option<&str>,
        now: i64,
    ) -> Result<Account, AppError> {
        let email = email.trim().to_lowercase();
        let account_subject = format!("account:{email}");
        let pair_subject = ip.map(|ip| format!("ip-account:{ip} {email}"));
        let ip_subject = ip.map(|ip| format!("ip:{ip}"));
        if let Some(minutes) = self.locked_minutes(&account_subject, now).await? {
            return Err(WebAuthError::AccountLocked { minutes }.into());
        }
        if let Some(s) = &pair_subject
            && let Some(minutes) = self.locked_minutes(s, now).await?
        {
            return Err(WebAuthError::AccountLocked { minutes }.into());
        }
        if let Some(s) = &ip_subject
            && let Some(minutes) = self.locked_minutes(s, now).await?
        {
            return Err(WebAuthError::AddressLocked { minutes }.into());
        }
        let row = self.store.account_by_email(&email).await?;
        let phc = match row.as_ref().and_then(|r| r.password_hash.clone()) {
            Some(phc) => phc,
            None => dummy_hash(self.config.password_cost).await?,
        };
        let ok = password_matches(password, &phc).await? && row.is_some();
        match (ok, row) {
            (true, Some(row)) => {
                self.store.set_throttle(&account_subject, 0, 0, now).await?;
                if let Some(s) = &pair_subject {
                    self.store.set_throttle(s, 0, 0, now).await?;
                }
                // Said only to whoever knows the password: an open registration is
                // pending until its address is confirmed.
                if !self.email_confirmed(&row.id).await? {
                    return Err(WebAuthError::EmailNotConfirmed(email).into());
                }
                let full = self
                    .store
                    .account_by_id(&row.id)
                    .await?
                    .ok_or_else(|| AppError::Internal("account vanished".into()))?;
                self.open_account(full)
            }
            _ => {
                self.record_failure(&account_subject, MAX_FAILURES, now)
                    .await?;
                if let Some(s) = &pair_subject {
                    self.record_failure(s, MAX_FAILURES, now).await?;
                }
                if let Some(s) = &ip_subject {
                    self.record_failure(s, ADDRESS_MAX_FAILURES, now).await?;
                }
                Err(WebAuthError::WrongCredentials.into())
            }
        }
    }

    async fn locked_minutes(&self, subject: &str, now: i64) -> Result<Option<i64>, AppError> {
        Ok(match self.store.throttle(subject).await? {
            Some((_, locked_until, _)) if locked_until > now => {
                Some((locked_until - now + 59) / 60)
            }
            _ => None,
        })
    }

    /// One more failure of `subject`; the `limit`-th within [`LOCK_SECONDS`] locks it.
    async fn record_failure(&self, subject: &str, limit: i64, now: i64) -> Result<(), AppError> {
        let failures = match self.store.throttle(subject).await? {
            Some((failures, _, updated_at)) if now - updated_at < LOCK_SECONDS => failures + 1,
            _ => 1,
        };
        if failures >= limit {
            self.store
                .set_throttle(subject, 0, now + LOCK_SECONDS, now)
                .await?;
        } else {
            self.store.set_throttle(subject, failures, 0, now).await?;
        }
        Ok(())
    }

    /// Starts a browser session for `account`; returns the cookie value.
    pub async fn start_session(&self, account: &Account, now: i64) -> Result<String, AppError> {
        let token = protocol::b64::random(32);
        self.store
            .insert_session(
                &protocol::b64::sha256(&token),
                &account.id,
                now,
                now + SESSION_TTL,
            )
            .await?;
        Ok(token)
    }

    /// The account of a session cookie value, if the session is live.
    pub async fn session_account(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<Account>, AppError> {
        let Some(id) = self
            .store
            .session_account(&protocol::b64::sha256(token), now)
            .await?
        else {
            return Ok(None);
        };
        match self.store.account_by_id(&id).await? {
            Some(row) => Ok(Some(self.open_account(row)?)),
            None => Ok(None),
        }
    }

    pub async fn end_session(&self, token: &str) -> Result<(), AppError> {
        Ok(self
            .store
            .delete_session(&protocol::b64::sha256(token))
            .await?)
    }

    /// The account's credential `id` (as the list shows it) with its stored claims; `None`
    /// when this account holds no such credential.
    pub async fn credential_of(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<Option<(crate::CredentialView, serde_json::Value)>, AppError> {
        let Some(row) = self.store.credential_of(&account.id, id).await? else {
            return Ok(None);
        };
        let claims: serde_json::Value = serde_json::from_str(&row.claims)
            .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))?;
        Ok(Some((super::credential_view(&row)?, claims)))
    }

    /// The account's credentials with their stored claims, oldest first.
    pub async fn list_with_claims(
        &self,
        account: &Account,
    ) -> Result<Vec<(crate::CredentialView, serde_json::Value)>, AppError> {
        self.store
            .credentials(&account.id)
            .await?
            .iter()
            .map(|row| {
                let claims: serde_json::Value = serde_json::from_str(&row.claims)
                    .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))?;
                Ok((super::credential_view(row)?, claims))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_checked_by_name() {
        assert_eq!(
            check_new_password("short", "short"),
            Err(WebAuthError::PasswordTooShort)
        );
        assert_eq!(
            check_new_password("long enough 1", "long enough 2"),
            Err(WebAuthError::PasswordsDiffer)
        );
        let huge = "x".repeat(MAX_PASSWORD + 1);
        assert_eq!(
            check_new_password(&huge, &huge),
            Err(WebAuthError::PasswordTooLong)
        );
        assert_eq!(
            check_new_password("パスワードは十文字以上", "パスワードは十文字以上"),
            Ok(())
        );
    }

    #[tokio::test]
    async fn the_default_cost_is_argon2s_default_and_the_test_cost_still_verifies() {
        // What a wallet uses unless code says otherwise: the configuration's default and
        // `Config::for_dir` both hash at m=19 MiB, t=2, p=1 (the dummy hash's cost too).
        assert_eq!(PasswordCost::default(), PasswordCost::DEFAULT);
        let config = crate::Config::for_dir(
            std::path::PathBuf::from("data"),
            String::new(),
            String::new(),
        );
        assert_eq!(config.password_cost, PasswordCost::DEFAULT);
        let phc = hash_password_at(config.password_cost, "correct horse battery")
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        // A hash made at the test cost names it, and verifies like any other.
        let phc = hash_password_at(PasswordCost::TEST, "correct horse battery")
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(
            password_matches("correct horse battery", &phc)
                .await
                .unwrap()
        );
        assert!(!password_matches("wrong", &phc).await.unwrap());
        // The dummy hash of a missing account is made at the same cost.
        let default_dummy = dummy_hash(PasswordCost::DEFAULT).await.unwrap();
        assert!(
            default_dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{default_dummy}"
        );
        assert_eq!(
            dummy_hash(PasswordCost::DEFAULT).await.unwrap(),
            default_dummy
        );
        let dummy = dummy_hash(PasswordCost::TEST).await.unwrap();
        assert!(dummy.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{dummy}");
        assert_eq!(dummy_hash(PasswordCost::TEST).await.unwrap(), dummy);
    }

    #[tokio::test]
    async fn argon2id_hashes_verify_and_the_dummy_hash_parses() {
        let phc = hash_password("correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(
            password_matches("correct horse battery", &phc)
                .await
                .unwrap()
        );
        assert!(!password_matches("wrong", &phc).await.unwrap());
        let dummy = dummy_hash(PasswordCost::TEST).await.unwrap();
        assert!(!password_matches("anything", &dummy).await.unwrap());
    }
}
