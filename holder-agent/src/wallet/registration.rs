//! Registration from an issuer's invitation: the invitation (a JWT the issuer signed) is
//! verified against the issuer's published key, the account is created for the invited
//! address (the click proves the address, so it counts as confirmed), and the issuer's
//! callback is called with the invitation as bearer, which makes the issuer send the
//! badge-receipt email.

use serde::Serialize;
use shared::invitation::{Invitation, InvitationError, Unverified};

use crate::App;
use crate::error::AppError;
use crate::store::AccountRow;
use crate::wallet::web::{WebAuthError, hash_password};

/// Why an invitation was refused, by check.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    #[error("invitation: the issuer's key could not be resolved: {0}")]
    IssuerKey(String),
    #[error("invitation: the issuer's callback failed: {0}")]
    Callback(String),
}

impl RegisterError {
    pub fn code(&self) -> &'static str {
        match self {
            RegisterError::Invitation(_) => "invalid_invitation",
            RegisterError::IssuerKey(_) => "issuer_key_unavailable",
            RegisterError::Callback(_) => "issuer_callback_failed",
        }
    }

    /// The issuer, not the caller, is at fault (answered 502).
    pub fn is_counterparty_fault(&self) -> bool {
        !matches!(self, RegisterError::Invitation(_))
    }
}

/// What registering did.
#[derive(Debug, Serialize)]
pub struct Registered {
    /// The account: the invited address, lower-cased.
    pub account: String,
    /// True when this call created the account. Only then is an API token returned: an
    /// invitation does not open an existing account.
    pub created: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
    pub issuer: String,
    pub issuer_name: String,
    pub achievement: String,
    /// The registrations the issuer now sent a badge email for.
    pub offered: usize,
    #[serde(skip)]
    pub account_id: String,
}

impl App {
    /// Verifies `invitation` (signature against the issuer's published key, expiry) and
    /// returns its claims, without creating anything: what the registration page shows.
    pub async fn verify_invitation(
        &self,
        invitation: &str,
        now: i64,
    ) -> Result<Invitation, AppError> {
        let unverified = Unverified::decode(invitation).map_err(RegisterError::from)?;
        let jwk = self
            .issuer_keys
            .resolve(&unverified.claims.iss, unverified.kid())
            .await
            .map_err(|e| RegisterError::IssuerKey(e.to_string()))?;
        let key = jwk
            .verifying_key()
            .map_err(|e| RegisterError::IssuerKey(e.to_string()))?;
        Ok(unverified.verify(&key, now).map_err(RegisterError::from)?)
    }

    /// Verifies `invitation`, creates the account when it is new, and calls the issuer
    /// back (also for an existing account, so a further badge for a known address arrives).
    /// The API and the registration page both come here: the page passes the holder's new
    /// `password`, which is stored (argon2id) with the invited address as the account's
    /// confirmed email; an account that already has a password is not taken over.
    pub async fn register_from_invitation(
        &self,
        invitation: &str,
        password: Option<&str>,
        now: i64,
    ) -> Result<Registered, AppError> {
        let claims = self.verify_invitation(invitation, now).await?;
        let name = claims.email.trim().to_lowercase();
        // A pending open registration of the address is taken over: the invitation
        // proves the address.
        if password.is_some()
            && let Some(existing) = self.store.login_by_email(&name).await?
            && existing.password_hash.is_some()
            && existing.email_confirmed_at.is_some()
        {
            return Err(WebAuthError::AlreadyRegistered(name).into());
        }
        let (account, created, api_token) = match self.store.account_by_name(&name).await? {
            Some(row) => (self.open_account(row)?, false, None),
            None => match self.create_account(&name, now).await? {
                Some(account) => {
                    let token = self.rotate_api_token(&account).await?;
                    (account, true, Some(token))
                }
                None => {
                    let row =
                        self.store.account_by_name(&name).await?.ok_or_else(|| {
                            AppError::Internal(format!("account {name:?} vanished"))
                        })?;
                    (self.open_account(row)?, false, None)
                }
            },
        };
        if let Some(password) = password {
            let phc = hash_password(password).await?;
            self.store
                .set_email_and_password(&account.id, &name, &phc, now)
                .await?;
        }
        let answer = self
            .fetcher
            .post_json_bearer(&claims.callback, &serde_json::json!({}), invitation)
            .await
            .map_err(|e| RegisterError::Callback(e.to_string()))?;
        if !answer.is_success() {
            return Err(RegisterError::Callback(format!(
                "{} answered {}: {}",
                claims.callback,
                answer.status,
                answer.snippet()
            ))
            .into());
        }
        let offered = answer
            .json::<serde_json::Value>()
            .ok()
            .and_then(|v| v["offered"].as_array().map(Vec::len))
            .unwrap_or(0);
        Ok(Registered {
            account: name,
            created,
            api_token,
            issuer: claims.iss,
            issuer_name: claims.issuer_name,
            achievement: claims.achievement,
            offered,
            account_id: account.id,
        })
    }

    /// Creates the account `name` with a fresh holder key; `None` if it already existed
    /// (another request created it first).
    async fn create_account(
        &self,
        name: &str,
        now: i64,
    ) -> Result<Option<crate::Account>, AppError> {
        let id = uuid::Uuid::new_v4().to_string();
        let key = shared::keys::SigningKey::generate(shared::keys::Alg::ES256);
        let sealed = self
            .seal
            .seal(&super::holder_key_purpose(&id), &key.to_secret_bytes());
        let inserted = self
            .store
            .insert_account(&AccountRow {
                id: id.clone(),
                name: name.to_owned(),
                holder_key: sealed,
                api_token_hash: None,
                created_at: now,
            })
            .await?;
        Ok(inserted.then(|| crate::Account {
            id,
            name: name.to_owned(),
            key,
        }))
    }
}
