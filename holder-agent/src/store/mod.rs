//! The wallet's storage, named by intent: accounts (each with its sealed holder key and
//! hashed API token), the credentials they hold, stored verbatim as issued, the
//! presentation requests waiting for their holder's consent, and the outbox of the account
//! emails. One query body per operation (`$n` placeholders work on SQLite and PostgreSQL
//! alike).

mod accounts;
mod authorizations;
mod copies;
mod images;
mod mail;

pub use accounts::{LoginRow, TokenRow};
pub use authorizations::NewAuthorization;
pub use copies::CopyRow;
pub use images::BadgeImageRow;
use kit::db::{Db, Migrations};
use kit::{with_db, with_db_write};
pub use mail::{MAIL_OUTBOX, MailRow, NewToken};

pub use pending::{NewPending, PendingRow};
pub use public::{BadgePageRow, CompanionRow};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct Store {
    pub db: Db,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    /// The ES256 holder key, sealed with purpose `holder-key:<id>`.
    pub holder_key: Vec<u8>,
    pub api_token_hash: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialRow {
    pub id: String,
    pub account_id: String,
    /// `dc+sd-jwt`.
    pub format: String,
    /// The issuer's credential configuration id it was issued under.
    pub configuration_id: String,
    /// The credential issuer identifier (the URL the offer named).
    pub issuer: String,
    pub issuer_display_name: Option<String>,
    pub vct: String,
    /// The SD-JWT exactly as the issuer sent it.
    pub raw: String,
    /// SHA-256 of `raw` (base64url): the same credential is stored once per account.
    pub raw_hash: String,
    /// The fully revealed claims (JSON object).
    pub claims: String,
    /// The selectively disclosable claim paths, as a JSON array of JSON pointers.
    pub disclosable: String,
    pub received_at: i64,
}

/// `SELECT <every credential column> FROM credentials <tail>`, as a static string.
macro_rules! select_credentials {
    ($tail:literal) => {
        concat!(
            "SELECT id, account_id, format, configuration_id, issuer, issuer_display_name, vct, ",
            "raw, raw_hash, claims, disclosable, received_at FROM credentials ",
            $tail
        )
    };
}

mod pending;
mod public;
mod registrations;
mod tlog;
pub use tlog::KeptProof;

impl Store {
    pub async fn connect(url: &str, pg_schema: Option<&str>) -> Result<Store, kit::db::DbError> {
        let migrations = Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        };
        Ok(Store {
            db: Db::connect(url, &migrations, pg_schema).await?,
        })
    }

    pub async fn account_by_name(&self, name: &str) -> Result<Option<AccountRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, name, holder_key, api_token_hash, created_at FROM accounts WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await?))
    }

    pub async fn account_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<AccountRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT id, name, holder_key, api_token_hash, created_at FROM accounts WHERE api_token_hash = $1"
        )
        .bind(token_hash)
        .fetch_optional(pool)
        .await?
        }))
    }

    /// Inserts the account unless one of that name exists (two first uses at once: the
    /// first insert wins and both then read it). True if this call inserted it.
    pub async fn insert_account(&self, a: &AccountRow) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO accounts (id, name, holder_key, api_token_hash, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO NOTHING"
        )
        .bind(&a.id)
        .bind(&a.name)
        .bind(&a.holder_key)
        .bind(&a.api_token_hash)
        .bind(a.created_at)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// Replaces the account's API token hash.
    pub async fn set_api_token_hash(
        &self,
        account_id: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE accounts SET api_token_hash = $2 WHERE id = $1"
        )
        .bind(account_id)
        .bind(token_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Stores a credential once per account: false if this account already holds the very
    /// same SD-JWT.
    pub async fn insert_credential(&self, c: &CredentialRow) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO credentials (id, account_id, format, configuration_id, issuer, issuer_display_name, vct, raw, raw_hash, claims, disclosable, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (account_id, raw_hash) DO NOTHING"
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(&c.format)
        .bind(&c.configuration_id)
        .bind(&c.issuer)
        .bind(&c.issuer_display_name)
        .bind(&c.vct)
        .bind(&c.raw)
        .bind(&c.raw_hash)
        .bind(&c.claims)
        .bind(&c.disclosable)
        .bind(c.received_at)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(n == 1)
    }

    /// The account's credentials, oldest first.
    pub async fn credentials(&self, account_id: &str) -> Result<Vec<CredentialRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            select_credentials!("WHERE account_id = $1 ORDER BY received_at, id")
        )
        .bind(account_id)
        .fetch_all(pool)
        .await?))
    }

    /// The account whose confirmed email is `email`.
    pub async fn account_by_email(&self, email: &str) -> Result<Option<WebAccountRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, name, email, password_hash FROM accounts WHERE email = $1"
        )
        .bind(email)
        .fetch_optional(pool)
        .await?))
    }

    pub async fn account_by_id(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, name, holder_key, api_token_hash, created_at FROM accounts WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    /// Records the account's confirmed email and its password hash.
    pub async fn set_email_and_password(
        &self,
        account_id: &str,
        email: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "UPDATE accounts SET email = $2, email_confirmed_at = $3, password_hash = $4 WHERE id = $1"
        )
        .bind(account_id)
        .bind(email)
        .bind(now)
        .bind(password_hash)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        account_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(token_hash)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// The account of an unexpired session.
    pub async fn session_account(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT account_id FROM sessions WHERE token_hash = $1 AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|(id,)| id))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM sessions WHERE token_hash = $1"
        )
        .bind(token_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// The throttle row of `subject`: (failures, locked_until, updated_at).
    pub async fn throttle(&self, subject: &str) -> Result<Option<(i64, i64, i64)>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT failures, locked_until, updated_at FROM sign_in_throttle WHERE subject = $1"
        )
        .bind(subject)
        .fetch_optional(pool)
        .await?))
    }

    pub async fn set_throttle(
        &self,
        subject: &str,
        failures: i64,
        locked_until: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO sign_in_throttle (subject, failures, locked_until, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (subject) DO UPDATE SET failures = $2, locked_until = $3, updated_at = $4"
        )
        .bind(subject)
        .bind(failures)
        .bind(locked_until)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// The account's credential `id`, or `None` (also when another account holds it).
    pub async fn credential_of(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<CredentialRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            select_credentials!("WHERE account_id = $1 AND id = $2")
        )
        .bind(account_id)
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }
}

/// An account as the sign-in sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebAccountRow {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub password_hash: Option<String>,
}
