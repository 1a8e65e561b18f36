//! Registration from an issuer's invitation: the invitation (a JWT the issuer signed) is
//! verified against the issuer's published key. What it may do depends on who signed it:
//!
//! * An issuer the wallet trusts (`WALLET_TRUSTED_ISSUERS`): the click proves the address,
//!   so a new account is created for it as confirmed, and the issuer's callback is called
//!   with the invitation as bearer, which makes the issuer send the badge-receipt email.
//! * Any other issuer: anyone can host an issuer and sign an invitation for any address,
//!   so it proves nothing. The registration is an ordinary open registration
//!   ([`crate::wallet::accounts`]): the account is pending until the emailed confirmation
//!   link is used, no API token is handed out, and the issuer's callback is not called.
//!
//! Either way an invitation never opens, re-passwords or confirms an account that already
//! exists, whatever its state (confirmed, pending, made by the API or the command line):
//! that is refused with [`RegisterError::AccountExists`]; an existing account is reached
//! by signing in or by a password reset. (The API's one exception, kept from before: a
//! trusted issuer's invitation for a known address calls the issuer back, so a further
//! badge is emailed to the address, and answers `created: false` with no token.)

use protocol::invitation::{HolderBinding, Invitation, InvitationError, Unverified};
use serde::Serialize;

use super::AppError;
use crate::App;
use crate::store::AccountRow;
use crate::wallet::accounts::normalise_email;
use crate::wallet::web::hash_password_at;

/// Why an invitation was refused, by check.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    #[error("invitation: the issuer's key could not be resolved: {0}")]
    IssuerKey(String),
    #[error("invitation: the issuer's callback failed: {0}")]
    Callback(String),
    #[error(
        "invitation: a wallet already exists for {email}, and an invitation does not open an existing wallet: sign in, or reset the password at /forgot"
    )]
    AccountExists { email: String },
}

impl RegisterError {
    pub fn code(&self) -> &'static str {
        match self {
            RegisterError::Invitation(_) => "invalid_invitation",
            RegisterError::IssuerKey(_) => "issuer_key_unavailable",
            RegisterError::Callback(_) => "issuer_callback_failed",
            RegisterError::AccountExists { .. } => "account_exists",
        }
    }

    /// The issuer, not the caller, is at fault (answered 502).
    pub fn is_counterparty_fault(&self) -> bool {
        matches!(
            self,
            RegisterError::IssuerKey(_) | RegisterError::Callback(_)
        )
    }
}

/// What registering did.
#[derive(Debug, Serialize)]
pub struct Registered {
    /// The account: the invited address, lower-cased.
    pub account: String,
    /// True when this call created a usable account (a trusted issuer's invitation for a
    /// new address). Only then is an API token returned.
    pub created: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
    /// Whether the invitation's issuer is one the wallet trusts to prove the address.
    pub trusted_issuer: bool,
    /// An untrusted issuer's invitation: the account waits for the confirmation link
    /// emailed to the address (sent unless the address's hourly limit was reached).
    pub confirmation_required: bool,
    pub issuer: String,
    pub issuer_name: String,
    pub achievement: String,
    /// The registrations the issuer now sent a badge email for.
    pub offered: usize,
    /// The account to sign in to (a trusted issuer's invitation for a new address).
    #[serde(skip)]
    pub account_id: Option<String>,
}

/// What the registration page shows for an invitation, before anything is created.
#[derive(Debug)]
pub struct InvitationPreview {
    pub claims: Invitation,
    /// The invited address, normalised.
    pub email: String,
    /// Signed by an issuer in `WALLET_TRUSTED_ISSUERS`.
    pub trusted: bool,
    /// The address already has an account: the invitation will be refused.
    pub account_exists: bool,
}

impl App {
    /// Verifies `invitation` (signature against the issuer's published key, expiry) and
    /// returns its claims, without creating anything.
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

    /// Verifies `invitation` and says what registering with it would do.
    pub async fn preview_invitation(
        &self,
        invitation: &str,
        now: i64,
    ) -> Result<InvitationPreview, AppError> {
        let claims = self.verify_invitation(invitation, now).await?;
        let email = normalise_email(&claims.email)?;
        Ok(InvitationPreview {
            trusted: self.config.trusts_issuer(&claims.iss),
            account_exists: self.account_exists(&email).await?,
            email,
            claims,
        })
    }

    /// Whether an account is named `email` or has it as its (confirmed or pending) address.
    async fn account_exists(&self, email: &str) -> Result<bool, AppError> {
        Ok(self.store.login_by_email(email).await?.is_some()
            || self.store.account_by_name(email).await?.is_some())
    }

    /// Registers from `invitation`. The page passes the holder's new `password` (already
    /// checked), the API none; `lang` is the language of a confirmation email (none: the
    /// invitation's `locale`), `ip` the
    /// client's address (rate limit of open registration). See the module documentation
    /// for what a trusted and an untrusted issuer's invitation do.
    pub async fn register_from_invitation(
        &self,
        invitation: &str,
        password: Option<&str>,
        lang: Option<&str>,
        ip: Option<&str>,
        now: i64,
    ) -> Result<Registered, AppError> {
        let preview = self.preview_invitation(invitation, now).await?;
        let InvitationPreview {
            claims,
            email,
            trusted,
            account_exists,
        } = preview;
        let answer = |created, api_token, confirmation_required, offered, account_id| Registered {
            account: email.clone(),
            created,
            api_token,
            trusted_issuer: trusted,
            confirmation_required,
            issuer: claims.iss.clone(),
            issuer_name: claims.issuer_name.clone(),
            achievement: claims.achievement.clone(),
            offered,
            account_id,
        };
        if account_exists {
            if trusted && password.is_none() {
                // Opens nothing: the issuer emails the address's owner its badge, bound to
                // the owner's holder key.
                let owner = self.account_of_address(&email).await?;
                let offered = self
                    .call_issuer_back(&claims, invitation, &owner, now)
                    .await?;
                return Ok(answer(false, None, false, offered, None));
            }
            return Err(RegisterError::AccountExists {
                email: email.clone(),
            }
            .into());
        }
        if !trusted {
            let lang = lang.unwrap_or(if claims.locale == "ja" { "ja" } else { "en" });
            self.register_pending(&email, password, lang, ip, now)
                .await?;
            return Ok(answer(false, None, true, 0, None));
        }
        // Trusted: the account is new, and stays ours only if no other request made it
        // (or gave it an address) meanwhile.
        let Some(account) = self.create_account(&email, now).await? else {
            return Err(RegisterError::AccountExists {
                email: email.clone(),
            }
            .into());
        };
        let api_token = match password {
            Some(password) => {
                let phc = hash_password_at(self.config.password_cost, password).await?;
                if !self
                    .store
                    .set_first_login(&account.id, &email, &phc, now)
                    .await?
                {
                    return Err(RegisterError::AccountExists {
                        email: email.clone(),
                    }
                    .into());
                }
                None
            }
            None => Some(self.rotate_api_token(&account).await?),
        };
        let offered = self
            .call_issuer_back(&claims, invitation, &account, now)
            .await?;
        Ok(answer(true, api_token, false, offered, Some(account.id)))
    }

    /// The account that owns `email` (its confirmed or pending address, else its name).
    async fn account_of_address(&self, email: &str) -> Result<crate::Account, AppError> {
        let row = match self.store.login_by_email(email).await? {
            Some(login) => self.store.account_by_id(&login.id).await?,
            None => self.store.account_by_name(email).await?,
        };
        let row = row.ok_or_else(|| {
            AppError::Internal(format!("the account of {email} vanished while registering"))
        })?;
        self.open_account(row)
    }

    /// Calls the (trusted) issuer's callback with the invitation as bearer and a holder
    /// binding ([`HolderBinding`]) signed by `account`'s holder key, so the issuer binds the
    /// address's offers to this account (offer injection defence); records that `account`
    /// registered with the issuer. Returns how many badge emails the issuer sent.
    async fn call_issuer_back(
        &self,
        claims: &Invitation,
        invitation: &str,
        account: &crate::Account,
        now: i64,
    ) -> Result<usize, AppError> {
        let holder_binding = HolderBinding {
            aud: claims.iss.clone(),
            sub: claims.sub.clone(),
            iat: now,
        }
        .sign(&account.key);
        let answer = self
            .fetcher
            .post_json_bearer(
                &claims.callback,
                &serde_json::json!({ "holder_binding": holder_binding }),
                invitation,
            )
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
        self.store
            .record_issuer_registration(&account.id, &claims.iss, now)
            .await?;
        Ok(answer
            .json::<serde_json::Value>()
            .ok()
            .and_then(|v| v["offered"].as_array().map(Vec::len))
            .unwrap_or(0))
    }

    /// Creates the account `name` with a fresh holder key; `None` if it already existed
    /// (another request created it first).
    async fn create_account(
        &self,
        name: &str,
        now: i64,
    ) -> Result<Option<crate::Account>, AppError> {
        let id = uuid::Uuid::new_v4().to_string();
        let key = protocol::keys::SigningKey::generate(protocol::keys::Alg::ES256);
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
