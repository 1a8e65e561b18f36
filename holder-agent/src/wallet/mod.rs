//! The wallet's domain: accounts and their holder keys, the credentials they hold, and the
//! two protocols ([`oid4vci`] to receive, [`oid4vp`] to present). Functions take plain
//! types and `now`, so the command line, the API and the tests call the same code.

pub mod accounts;
pub mod attestation;
pub mod authorization_code;
pub mod badge_card;
pub mod badge_image;
pub mod baked_badge;
pub mod batch;
pub mod card;
pub mod consent;
pub mod dc_api;
pub mod decode_slots;
pub mod disclosure;
pub mod key_attestation;
pub mod oid4vci;
pub mod oid4vp;
pub mod pending;
pub mod privacy;
pub mod proof_types;
pub mod provider_x509;
pub mod public;
pub mod registration;
pub mod signed_metadata;
pub mod verify;
pub mod web;

use protocol::keys::{Alg, SigningKey};
use serde::Serialize;
use serde_json::Value;

use crate::App;
use crate::store::{AccountRow, CredentialRow, StoreError};
pub use accounts::AccountError;
pub use oid4vci::AcceptError;
pub use oid4vp::PresentError;
pub use pending::PendingError;
pub use registration::RegisterError;
pub use web::WebAuthError;

/// A wallet account with its holder key, opened.
pub struct Account {
    pub id: String,
    pub name: String,
    /// The ES256 key every credential of this account is bound to (`cnf.jwk`).
    pub key: SigningKey,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A held credential, as `list` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CredentialView {
    pub id: String,
    pub format: String,
    pub issuer: String,
    pub issuer_name: Option<String>,
    pub vct: String,
    pub achievement_name: Option<String>,
    pub recipient_name: Option<String>,
    /// Unix seconds.
    pub received_at: i64,
    /// RFC 3339.
    pub received: String,
    pub valid_until: Option<String>,
    /// The selectively disclosable claims, as JSON pointers (what `--disclose` accepts).
    pub disclosable: Vec<String>,
    /// Public or private, and the public page (in `list`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<public::Visibility>,
}

fn holder_key_purpose(account_id: &str) -> String {
    format!("holder-key:{account_id}")
}

impl App {
    /// The account named `name`, created with a fresh holder key on first use.
    pub async fn ensure_account(&self, name: &str, now: i64) -> Result<Account, AppError> {
        if name.trim().is_empty() {
            return Err(AppError::bad_request("account", "account name is empty"));
        }
        if let Some(row) = self.store.account_by_name(name).await? {
            return self.open_account(row);
        }
        let id = uuid::Uuid::new_v4().to_string();
        let key = SigningKey::generate(Alg::ES256);
        let sealed = self
            .seal
            .seal(&holder_key_purpose(&id), &key.to_secret_bytes());
        self.store
            .insert_account(&AccountRow {
                id,
                name: name.to_owned(),
                holder_key: sealed,
                api_token_hash: None,
                created_at: now,
            })
            .await?;
        // Another process may have created it first: read whichever row won.
        let row = self
            .store
            .account_by_name(name)
            .await?
            .ok_or_else(|| AppError::Internal(format!("account {name:?} vanished")))?;
        self.open_account(row)
    }

    /// The account whose API token is `token`.
    pub async fn account_by_token(&self, token: &str) -> Result<Account, AppError> {
        let row = self
            .store
            .account_by_token(&protocol::b64::sha256(token))
            .await?
            .ok_or(AppError::Unauthorized)?;
        self.open_account(row)
    }

    /// Creates (or replaces) the account's API token; returns it. Only its hash is kept.
    pub async fn rotate_api_token(&self, account: &Account) -> Result<String, AppError> {
        let token = protocol::b64::random(32);
        self.store
            .set_api_token_hash(&account.id, &protocol::b64::sha256(&token))
            .await?;
        Ok(token)
    }

    pub(crate) fn open_account(&self, row: AccountRow) -> Result<Account, AppError> {
        let secret = self
            .seal
            .open(&holder_key_purpose(&row.id), &row.holder_key)
            .map_err(|e| {
                AppError::Internal(format!(
                    "holder key of account {:?} cannot be opened (wrong seal key?): {e}",
                    row.name
                ))
            })?;
        let key = SigningKey::from_secret_bytes(&secret).map_err(|e| {
            AppError::Internal(format!("holder key of account {:?}: {e}", row.name))
        })?;
        Ok(Account {
            id: row.id,
            name: row.name,
            key,
        })
    }

    /// The account's credentials, oldest first, each with its visibility.
    pub async fn list(&self, account: &Account) -> Result<Vec<CredentialView>, AppError> {
        let mut visibilities = self.visibilities(account, self.clock.now()).await?;
        self.store
            .credentials(&account.id)
            .await?
            .iter()
            .map(|row| {
                let mut view = credential_view(row)?;
                view.visibility = visibilities.remove(&row.id);
                Ok(view)
            })
            .collect()
    }
}

/// The list view of a stored credential.
pub fn credential_view(row: &CredentialRow) -> Result<CredentialView, AppError> {
    let claims: Value = serde_json::from_str(&row.claims)
        .map_err(|e| AppError::Internal(format!("stored claims of {}: {e}", row.id)))?;
    let mut disclosable: Vec<String> = serde_json::from_str(&row.disclosable)
        .map_err(|e| AppError::Internal(format!("stored paths of {}: {e}", row.id)))?;
    disclosable.sort();
    Ok(CredentialView {
        id: row.id.clone(),
        format: row.format.clone(),
        issuer: row.issuer.clone(),
        issuer_name: row
            .issuer_display_name
            .clone()
            .or_else(|| str_at(&claims, "/ld/issuer/name")),
        vct: row.vct.clone(),
        achievement_name: str_at(&claims, "/ld/credentialSubject/achievement/name")
            .or_else(|| str_at(&claims, "/ld/name")),
        recipient_name: recipient_name(&claims),
        received_at: row.received_at,
        received: protocol::clock::rfc3339(row.received_at),
        valid_until: claims
            .get("exp")
            .and_then(Value::as_i64)
            .map(protocol::clock::rfc3339),
        disclosable,
        visibility: None,
    })
}

fn str_at(claims: &Value, pointer: &str) -> Option<String> {
    claims.pointer(pointer)?.as_str().map(str::to_owned)
}

/// The recipient's name: the plain (unhashed) `name` identity of the OB 3.0 subject.
pub fn recipient_name(claims: &Value) -> Option<String> {
    claims
        .pointer("/ld/credentialSubject/identifier")?
        .as_array()?
        .iter()
        .find(|id| {
            id.get("identityType").and_then(Value::as_str) == Some("name")
                && id.get("hashed").and_then(Value::as_bool) != Some(true)
        })?
        .get("identityHash")?
        .as_str()
        .map(str::to_owned)
}

/// The wallet's errors, below the web layer: each names what failed, none knows a status
/// code ([`crate::http::error`] maps them to HTTP, once). The areas' own errors
/// ([`AcceptError`], [`PresentError`], …) say which check failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Receiving a credential failed.
    #[error(transparent)]
    Accept(#[from] AcceptError),
    /// Presenting credentials failed.
    #[error(transparent)]
    Present(#[from] PresentError),
    /// A pending presentation request could not be kept or taken.
    #[error(transparent)]
    Pending(#[from] PendingError),
    /// Registering from an invitation failed.
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// An open registration, email confirmation or password reset was refused.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// A sign-in or a new password was refused.
    #[error(transparent)]
    Web(#[from] WebAuthError),
    /// The API request is wrong; `field` names the member at fault.
    #[error("{field}: {detail}")]
    BadRequest { field: String, detail: String },
    #[error("missing or wrong bearer token")]
    Unauthorized,
    /// Too many wrong API tokens from this client address.
    #[error(transparent)]
    Throttled(#[from] kit::throttle::Throttled),
    #[error("{0} not found")]
    NotFound(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Db(#[from] kit::db::DbError),
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(field: &str, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            field: field.into(),
            detail: detail.into(),
        }
    }
}
