//! The issuer's storage, named by intent. One body per query (`$n` placeholders work on
//! SQLite and PostgreSQL alike); single use is always one conditional `UPDATE`, so it holds
//! across concurrent requests and across instances sharing a PostgreSQL database.

use kit::db::{Db, Migrations};
use kit::{with_db, with_db_write};
use protocol::keys::seal::SealKey;
use protocol::keys::{Alg, SigningKey};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Key(#[from] kit::db::KeyStoreError),
    #[error("database: {0}")]
    Sqlite(#[from] kit::sqlite::rusqlite::Error),
    #[error("database: {0}")]
    Direct(#[from] kit::sqlite::WriterError),
}

#[derive(Clone, Debug)]
pub struct Store {
    pub db: Db,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AchievementRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub criteria: String,
    pub image_url: Option<String>,
    pub valid_days: Option<i64>,
    pub created_at: i64,
    /// The OB 3.0 `Criteria.id`: a page describing the criteria.
    pub criteria_url: Option<String>,
    /// The OB 3.0 `achievementType` (`Badge`, `Certificate`, …).
    pub achievement_type: Option<String>,
    /// JSON array of strings.
    pub tags: Option<String>,
    /// JSON array of OB 3.0 `Alignment` objects.
    pub alignments: Option<String>,
    /// `sha256-…` of the uploaded image (served at `image_url`).
    pub image_digest: Option<String>,
    pub retired_at: Option<i64>,
    pub updated_at: Option<i64>,
    /// 1: each offer waits for the operator's decision (deferred issuance).
    pub requires_approval: i64,
    /// The language of `name`, `description` and `criteria` (`en`, `ja`).
    pub language: String,
    /// The same three in each other language (`achievement_texts`), read with the row.
    #[sqlx(skip)]
    pub translations: Vec<AchievementText>,
}

/// An uploaded badge image as stored: its media type, bytes and `sha256-…` digest.
#[derive(Debug, Clone, Copy)]
pub struct StoredImage<'a> {
    pub media_type: &'a str,
    pub bytes: &'a [u8],
    pub digest_sri: &'a str,
}

/// An achievement's name, description and criteria in one language other than its main one.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AchievementText {
    pub language: String,
    pub name: String,
    pub description: String,
    pub criteria: String,
}

/// Every achievement column, in [`AchievementRow`] order.
const ACHIEVEMENT_COLUMNS: &str = "id, name, description, criteria, image_url, valid_days, created_at, \
     criteria_url, achievement_type, tags, alignments, image_digest, retired_at, updated_at, requires_approval, language";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub id: String,
    pub achievement_id: String,
    pub recipient_name: String,
    pub recipient_email: String,
    pub code_hash: String,
    pub tx_code_hash: Option<String>,
    pub tx_code_failures: i64,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
    pub token_hash: Option<String>,
    pub token_expires_at: Option<i64>,
    pub created_at: i64,
    /// OB 3.0 `Evidence` objects (JSON array), or none.
    pub evidence: Option<String>,
    /// OB 3.0 `Result` objects (JSON array), or none.
    pub results: Option<String>,
    /// The registration the offer was made for (none for offers made one by one).
    pub registration_id: Option<String>,
    /// The operator's decision when the achievement needs approval: `approved`, `rejected`.
    pub decision: Option<String>,
    pub decided_at: Option<i64>,
}

/// What a credential request needs of its access token ([`Store::credential_context`]).
#[derive(Debug, Clone)]
pub struct CredentialContext {
    /// The offer the token was issued for (`token_expires_at` not checked).
    pub offer: OfferRow,
    /// The DPoP key (RFC 7638 thumbprint) the token is bound to; none for a bearer token.
    pub token_jkt: Option<String>,
    /// The configurations whose `credential_identifiers` the token response granted (JSON
    /// array): requests with this token must name an identifier (OpenID4VCI 1.0 §8.2).
    pub token_granted: Option<String>,
    /// The holder key (RFC 7638 thumbprint) the offer is bound to: the key the wallet
    /// proved for the address of the offer's registration. `None` for an unbound offer (made
    /// one by one, or for an address whose wallet sent no binding).
    pub holder_jkt: Option<String>,
    /// The offer's achievement with its other languages; none if it is missing.
    pub achievement: Option<AchievementRow>,
}

/// A row of [`Store::credential_context`]'s join: the offer, its bindings, the achievement
/// (`a_`, none if missing) and one of its other languages (`t_`, none if it has none).
#[derive(Debug, sqlx::FromRow)]
struct CredentialContextRow {
    #[sqlx(flatten)]
    offer: OfferRow,
    token_jkt: Option<String>,
    token_granted: Option<String>,
    holder_jkt: Option<String>,
    a_id: Option<String>,
    a_name: Option<String>,
    a_description: Option<String>,
    a_criteria: Option<String>,
    a_image_url: Option<String>,
    a_valid_days: Option<i64>,
    a_created_at: Option<i64>,
    a_criteria_url: Option<String>,
    a_achievement_type: Option<String>,
    a_tags: Option<String>,
    a_alignments: Option<String>,
    a_image_digest: Option<String>,
    a_retired_at: Option<i64>,
    a_updated_at: Option<i64>,
    a_requires_approval: Option<i64>,
    a_language: Option<String>,
    t_language: Option<String>,
    t_name: Option<String>,
    t_description: Option<String>,
    t_criteria: Option<String>,
}

impl CredentialContext {
    /// The context from the join's rows (all of one offer), or none if there are none.
    fn from_rows(rows: Vec<CredentialContextRow>) -> Option<CredentialContext> {
        let mut rows = rows.into_iter();
        let first = rows.next()?;
        let text = |r: &CredentialContextRow| {
            Some(AchievementText {
                language: r.t_language.clone()?,
                name: r.t_name.clone()?,
                description: r.t_description.clone()?,
                criteria: r.t_criteria.clone()?,
            })
        };
        let mut translations: Vec<AchievementText> = text(&first).into_iter().collect();
        translations.extend(rows.filter_map(|r| text(&r)));
        let achievement = match (
            first.a_id,
            first.a_name,
            first.a_description,
            first.a_criteria,
            first.a_created_at,
            first.a_requires_approval,
            first.a_language,
        ) {
            (
                Some(id),
                Some(name),
                Some(description),
                Some(criteria),
                Some(created_at),
                Some(requires_approval),
                Some(language),
            ) => Some(AchievementRow {
                id,
                name,
                description,
                criteria,
                image_url: first.a_image_url,
                valid_days: first.a_valid_days,
                created_at,
                criteria_url: first.a_criteria_url,
                achievement_type: first.a_achievement_type,
                tags: first.a_tags,
                alignments: first.a_alignments,
                image_digest: first.a_image_digest,
                retired_at: first.a_retired_at,
                updated_at: first.a_updated_at,
                requires_approval,
                language,
                translations,
            }),
            _ => None,
        };
        Some(CredentialContext {
            offer: first.offer,
            token_jkt: first.token_jkt,
            token_granted: first.token_granted,
            holder_jkt: first.holder_jkt,
            achievement,
        })
    }
}

/// One line of the audit log: what happened to which credential, when, with details (JSON).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditEntry {
    pub at: i64,
    pub action: String,
    pub subject: String,
    pub detail: String,
    /// The console operator who made the change; none for the admin API, the command line
    /// and the wallets.
    pub operator_id: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialRow {
    pub id: String,
    pub offer_id: String,
    pub configuration: String,
    pub holder_jwk: String,
    pub status_list: i64,
    pub status_idx: i64,
    pub status: i64,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
}

/// Records a used c_nonce `($1 hash, $2 expires_at, $3 used_at)`, unless it was used before.
const USE_NONCE: &str = "INSERT INTO nonces (nonce_hash, expires_at, used_at) VALUES ($1, $2, $3) \
     ON CONFLICT (nonce_hash) DO NOTHING";

/// Claims an offer's one issuance of a configuration, unless it was claimed before.
const CLAIM_ISSUANCE: &str = "INSERT INTO offer_issuances (offer_id, configuration, issued_at) VALUES ($1, $2, $3) \
     ON CONFLICT (offer_id, configuration) DO NOTHING";

/// Redeems an offer's code `($1 offer, $2 now, $3 token_hash, $4 token_expires_at,
/// $5 max_failures, $6 token_jkt)`, unless it was redeemed before, has expired or is locked.
const REDEEM_OFFER: &str = "UPDATE offers SET redeemed_at = $2, token_hash = $3, token_expires_at = $4, token_jkt = $6, token_granted = NULL \
     WHERE id = $1 AND redeemed_at IS NULL AND expires_at > $2 AND tx_code_failures < $5";

/// Enters a credential at its status index, unless another credential holds that index.
const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (id, offer_id, configuration, holder_jwk, status_list, status_idx, status, issued_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) ON CONFLICT (status_list, status_idx) DO NOTHING";

/// One audit entry `($1 id, $2 at, $3 action, $4 subject, $5 detail, $6 operator_id)`.
const INSERT_AUDIT: &str = "INSERT INTO audit_log (id, at, action, subject, detail, operator_id) VALUES ($1, $2, $3, $4, $5, $6)";

/// Reserves `$1` indices of the transparency log; returns the new size.
const TLOG_RESERVE: &str = "UPDATE tlog_head SET size = size + $1 WHERE id = 1 RETURNING size";

/// One entry of the transparency log `($1 idx, $2 entry, $3 leaf_hash, $4 appended_at)`.
const INSERT_TLOG_ENTRY: &str =
    "INSERT INTO tlog_entries (idx, entry, leaf_hash, appended_at) VALUES ($1, $2, $3, $4)";

/// Indexes an issued JWT's digest `$1` at log index `$2`.
const INSERT_TLOG_ISSUED: &str = "INSERT INTO tlog_issued (jwt_digest, idx) VALUES ($1, $2) \
     ON CONFLICT (jwt_digest) DO NOTHING";

/// [`Store::achievement`]'s join `($1 id)`: the achievement's columns, then one of its
/// other languages (`t_`, none when it has none), one row per language, in order.
static ACHIEVEMENT_WITH_TEXTS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let columns: Vec<String> = ACHIEVEMENT_COLUMNS
        .split(", ")
        .map(|c| format!("a.{}", c.trim()))
        .collect();
    format!(
        "SELECT {}, t.language AS t_language, t.name AS t_name, \
         t.description AS t_description, t.criteria AS t_criteria \
         FROM achievements a LEFT JOIN achievement_texts t ON t.achievement_id = a.id \
         WHERE a.id = $1 ORDER BY t.language",
        columns.join(", ")
    )
});

/// A row of [`ACHIEVEMENT_WITH_TEXTS`]: the achievement and one of its other languages.
#[derive(Debug, sqlx::FromRow)]
struct AchievementTextRow {
    #[sqlx(flatten)]
    achievement: AchievementRow,
    t_language: Option<String>,
    t_name: Option<String>,
    t_description: Option<String>,
    t_criteria: Option<String>,
}

impl AchievementTextRow {
    /// The achievement and the row's text, none for the row of an achievement without
    /// other languages.
    fn into_parts(self) -> (AchievementRow, Option<AchievementText>) {
        let text = (|| {
            Some(AchievementText {
                language: self.t_language?,
                name: self.t_name?,
                description: self.t_description?,
                criteria: self.t_criteria?,
            })
        })();
        (self.achievement, text)
    }
}

/// [`Store::credential_context`]'s join, one row per other language of the achievement.
const CREDENTIAL_CONTEXT: &str = "SELECT o.id, o.achievement_id, o.recipient_name, o.recipient_email, o.code_hash, \
     o.tx_code_hash, o.tx_code_failures, o.expires_at, o.redeemed_at, o.token_hash, \
     o.token_expires_at, o.created_at, o.evidence, o.results, o.registration_id, \
     o.decision, o.decided_at, o.token_jkt, w.holder_jkt, \
     a.id AS a_id, a.name AS a_name, a.description AS a_description, \
     a.criteria AS a_criteria, a.image_url AS a_image_url, a.valid_days AS a_valid_days, \
     a.created_at AS a_created_at, a.criteria_url AS a_criteria_url, \
     a.achievement_type AS a_achievement_type, a.tags AS a_tags, \
     a.alignments AS a_alignments, a.image_digest AS a_image_digest, \
     a.retired_at AS a_retired_at, a.updated_at AS a_updated_at, \
     a.requires_approval AS a_requires_approval, a.language AS a_language, \
     t.language AS t_language, t.name AS t_name, t.description AS t_description, \
     t.criteria AS t_criteria, o.token_granted \
     FROM offers o \
     LEFT JOIN registrations r ON r.id = o.registration_id \
     LEFT JOIN wallet_recipients w ON w.email_key = r.email_key \
     LEFT JOIN achievements a ON a.id = o.achievement_id \
     LEFT JOIN achievement_texts t ON t.achievement_id = a.id \
     WHERE o.token_hash = $1 ORDER BY t.language";

/// Random status indices drawn for one credential before its list counts as full.
pub const STATUS_INDEX_TRIES: usize = 64;

/// Ids per `… WHERE id IN (…)` of [`rows_by_ids`]: well inside the bind parameters a
/// statement may carry.
pub const IDS_PER_STATEMENT: usize = 250;

/// The rows of `select` (a `SELECT … FROM` a table with an `id` column, up to where its
/// `WHERE` would go) whose id is among `ids`, in as few statements as
/// [`IDS_PER_STATEMENT`] allows: one round trip for a batch instead of one an id.
async fn rows_by_ids<R>(db: &Db, select: &str, ids: &[&str]) -> Result<Vec<R>, StoreError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let rows: Vec<R> = with_db!(db, |pool| {
            let mut q = sqlx::QueryBuilder::new(format!("{select} WHERE id IN ("));
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(*id);
            }
            list.push_unseparated(")");
            q.build_query_as().fetch_all(pool).await?
        });
        out.extend(rows);
    }
    Ok(out)
}

/// What one credential request claims: the c_nonces it uses (`(hash, expires_at)`) and
/// the offer's one issuance of a configuration, at `now`.
#[derive(Debug, Clone, Copy)]
pub struct IssuanceClaim<'a> {
    pub nonces: &'a [(String, i64)],
    pub offer_id: &'a str,
    pub configuration: &'a str,
    pub now: i64,
}

/// What an issuance spends, in the transaction that enters its credentials.
#[derive(Debug, Clone, Copy)]
pub enum Spend<'a> {
    /// A credential request: its nonces and the offer's issuance of a configuration.
    Request(IssuanceClaim<'a>),
    /// An approved deferred transaction (the hash of its id), completed once at `now`.
    Deferred { transaction_hash: &'a str, now: i64 },
}

/// The transparency log's part of an issuance: one entry per credential, and the digest
/// of each one's issuer-signed JWT (if any) for [`Store::tlog_issued_index`]. Empty: the
/// issuance is not logged (the bench's `--without-log`).
#[derive(Debug, Clone, Copy, Default)]
pub struct IssuedLog<'a> {
    pub entries: &'a [Vec<u8>],
    pub jwt_digests: &'a [Option<String>],
}

/// Why [`Store::issue_credentials`] wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRefused {
    /// A c_nonce of the request was used before.
    NonceUsed,
    /// The offer's credential of this configuration was issued before.
    AlreadyIssued,
    /// The deferred transaction's credentials were issued before.
    DeferredDone,
    /// The status indices of these rows (positions in the rows given) are another
    /// credential's: draw them again, sign again, and retry.
    IndicesTaken(Vec<usize>),
    /// No free status index was found in [`STATUS_INDEX_TRIES`] draws.
    StatusListFull,
}

/// Writes `$audit` (an [`AuditEntry`]) through `$tx`, inside the transaction of the change
/// it records.
macro_rules! insert_audit {
    ($tx:expr, $audit:expr) => {
        sqlx::query($crate::store::INSERT_AUDIT)
            .bind(crate::store::time_ordered_id())
            .bind($audit.at)
            .bind(&$audit.action)
            .bind(&$audit.subject)
            .bind(&$audit.detail)
            .bind(&$audit.operator_id)
            .execute($tx)
            .await?
    };
}

/// Appends the log entries `$entries` (each `Vec<u8>`, `$at` Unix seconds) through `$tx`,
/// inside the transaction of the change they record: the sequencer row hands out their
/// indices and stays locked until that transaction ends (see `tlog`). Evaluates to the
/// first index.
macro_rules! append_tlog {
    ($tx:expr, $entries:expr, $at:expr) => {{
        let entries: &[Vec<u8>] = $entries;
        let count = entries.len() as i64;
        let size: i64 = sqlx::query_scalar($crate::store::TLOG_RESERVE)
            .bind(count)
            .fetch_one(&mut *$tx)
            .await?;
        let first = size - count;
        for (i, entry) in entries.iter().enumerate() {
            sqlx::query($crate::store::INSERT_TLOG_ENTRY)
                .bind(first + i as i64)
                .bind(entry.as_slice())
                .bind(protocol::tlog::leaf_hash(entry).as_slice())
                .bind($at)
                .execute(&mut *$tx)
                .await?;
        }
        first
    }};
}

/// `SELECT <every offer column> FROM offers <tail>`, as a static string.
macro_rules! select_offers {
    ($tail:literal) => {
        concat!(
            "SELECT id, achievement_id, recipient_name, recipient_email, code_hash, tx_code_hash, ",
            "tx_code_failures, expires_at, redeemed_at, token_hash, token_expires_at, created_at, evidence, results, registration_id, decision, decided_at ",
            "FROM offers ",
            $tail
        )
    };
}

mod authorization;
mod bounces;
mod console;
mod deferred;
mod direct;
mod import_jobs;
mod oidc_logins;
mod operations;
mod passkeys;
mod postgres;
mod registrations;
mod settings;
mod tlog;
pub use authorization::*;
pub use bounces::*;
pub use console::*;
pub use deferred::*;
pub use import_jobs::*;
pub use oidc_logins::*;
pub use operations::*;
pub use passkeys::*;
pub use registrations::*;
pub use settings::*;

/// A new UUIDv7 (RFC 9562 §5.7): the time in milliseconds, then 74 random bits. For the
/// ids of rows a bulk import writes by the thousand (registrations, their emails and
/// events, audit entries): they are appended to the ids' b-trees, where random ids wrote a
/// random page each (issue 18; an import of 300,000 recipients on SQLite wrote 57 KiB of WAL
/// a recipient with random ids and 19 KiB with these, see the README). Not for anything
/// that must stay unguessable or that a holder carries (offers, credentials): 74 bits, and
/// the time.
pub fn time_ordered_id() -> String {
    let random = uuid::Uuid::new_v4().into_bytes();
    let mut bits = [0u8; 10];
    // Bytes of the v4 id that hold no version or variant bits.
    bits[..6].copy_from_slice(&random[..6]);
    bits[6..].copy_from_slice(&random[10..14]);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    uuid::Builder::from_unix_timestamp_millis(millis, &bits)
        .into_uuid()
        .to_string()
}

impl Store {
    /// SQLite's direct connections, when the store has them ([`kit::db::Db::direct`]).
    fn direct(&self) -> Option<&kit::sqlite::Direct> {
        self.db.direct()
    }

    pub async fn connect(url: &str, pg_schema: Option<&str>) -> Result<Store, kit::db::DbError> {
        let migrations = Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        };
        Ok(Store {
            db: Db::connect(url, &migrations, pg_schema).await?,
        })
    }

    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.db.setting(name).await?)
    }

    pub async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        Ok(self.db.set_setting(name, value).await?)
    }

    /// The development PKI kept in two settings ([`kit::db::Db::development_pki`]).
    pub async fn development_pki(
        &self,
        names: (&str, &str),
        develop: impl Fn(Option<(String, String)>) -> Result<kit::db::DevPkiMade, String>,
    ) -> Result<protocol::x509::X509Identity, kit::db::DevPkiError> {
        self.db.development_pki(names, develop).await
    }

    /// Compare-and-set of settings ([`kit::db::Db::replace_settings`]).
    pub async fn replace_settings(
        &self,
        changes: &[(&str, Option<&str>, &str)],
    ) -> Result<bool, StoreError> {
        Ok(self.db.replace_settings(changes).await?)
    }

    /// Loads the signing key `id`, or has `new_key` make one, and seals and stores it, on
    /// first start.
    pub async fn signing_key(
        &self,
        id: &str,
        alg: Alg,
        seal: &SealKey,
        new_key: fn(Alg) -> SigningKey,
        now: i64,
    ) -> Result<SigningKey, StoreError> {
        let purpose = format!("issuer-signing-key:{id}");
        Ok(self
            .db
            .signing_key_or(id, seal, &purpose, now, || new_key(alg))
            .await?)
    }

    /// A new achievement and its other languages, with `audit` when given, in one
    /// transaction.
    pub async fn insert_achievement(
        &self,
        a: &AchievementRow,
        audit: Option<&AuditEntry>,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            sqlx::query(
                "INSERT INTO achievements (id, name, description, criteria, image_url, valid_days, created_at, \
                 criteria_url, achievement_type, tags, alignments, image_digest, retired_at, updated_at, requires_approval, \
                 language) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(&a.id)
            .bind(&a.name)
            .bind(&a.description)
            .bind(&a.criteria)
            .bind(&a.image_url)
            .bind(a.valid_days)
            .bind(a.created_at)
            .bind(&a.criteria_url)
            .bind(&a.achievement_type)
            .bind(&a.tags)
            .bind(&a.alignments)
            .bind(&a.image_digest)
            .bind(a.retired_at)
            .bind(a.updated_at)
            .bind(a.requires_approval)
            .bind(&a.language)
            .execute(&mut *tx)
            .await?;
            for t in &a.translations {
                sqlx::query(
                    "INSERT INTO achievement_texts (achievement_id, language, name, description, criteria) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&a.id)
                .bind(&t.language)
                .bind(&t.name)
                .bind(&t.description)
                .bind(&t.criteria)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(audit) = audit {
                insert_audit!(&mut *tx, audit);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Replaces an achievement's editable fields and its other languages, with `audit` when
    /// given, in one transaction; false if unknown.
    pub async fn update_achievement(
        &self,
        a: &AchievementRow,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let found = sqlx::query(
                "UPDATE achievements SET name = $2, description = $3, criteria = $4, image_url = $5, \
                 valid_days = $6, criteria_url = $7, achievement_type = $8, tags = $9, alignments = $10, \
                 image_digest = $11, retired_at = $12, updated_at = $13, requires_approval = $14, \
                 language = $15 WHERE id = $1",
            )
            .bind(&a.id)
            .bind(&a.name)
            .bind(&a.description)
            .bind(&a.criteria)
            .bind(&a.image_url)
            .bind(a.valid_days)
            .bind(&a.criteria_url)
            .bind(&a.achievement_type)
            .bind(&a.tags)
            .bind(&a.alignments)
            .bind(&a.image_digest)
            .bind(a.retired_at)
            .bind(a.updated_at)
            .bind(a.requires_approval)
            .bind(&a.language)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if found {
                sqlx::query("DELETE FROM achievement_texts WHERE achievement_id = $1")
                    .bind(&a.id)
                    .execute(&mut *tx)
                    .await?;
                for t in &a.translations {
                    sqlx::query(
                        "INSERT INTO achievement_texts (achievement_id, language, name, description, criteria) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&a.id)
                    .bind(&t.language)
                    .bind(&t.name)
                    .bind(&t.description)
                    .bind(&t.criteria)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(audit) = audit {
                    insert_audit!(&mut *tx, audit);
                }
            }
            tx.commit().await?;
            found
        }))
    }

    /// An achievement with its other languages.
    pub async fn achievement(&self, id: &str) -> Result<Option<AchievementRow>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::achievement(direct, id);
        }
        // One statement (one round trip on PostgreSQL): a row per other language, or one
        // with no text when it has none.
        let rows: Vec<AchievementTextRow> = with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(ACHIEVEMENT_WITH_TEXTS.as_str())
        )
        .bind(id)
        .fetch_all(pool)
        .await?);
        let mut rows = rows.into_iter();
        let Some(first) = rows.next() else {
            return Ok(None);
        };
        let (mut row, text) = first.into_parts();
        row.translations = text
            .into_iter()
            .chain(rows.filter_map(|r| r.into_parts().1))
            .collect();
        Ok(Some(row))
    }

    /// Every achievement, oldest first, each with its other languages.
    pub async fn achievements(&self) -> Result<Vec<AchievementRow>, StoreError> {
        let sql = format!("SELECT {ACHIEVEMENT_COLUMNS} FROM achievements ORDER BY created_at, id");
        let mut rows: Vec<AchievementRow> = with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .fetch_all(pool)
        .await?);
        let texts: Vec<(String, String, String, String, String)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT achievement_id, language, name, description, criteria FROM achievement_texts \
                 ORDER BY achievement_id, language"
            )
            .fetch_all(pool)
            .await?
        });
        let mut by_id: std::collections::HashMap<String, Vec<AchievementText>> =
            std::collections::HashMap::new();
        for (id, language, name, description, criteria) in texts {
            by_id.entry(id).or_default().push(AchievementText {
                language,
                name,
                description,
                criteria,
            });
        }
        for row in &mut rows {
            row.translations = by_id.remove(&row.id).unwrap_or_default();
        }
        Ok(rows)
    }

    /// Stores an achievement's image and points the achievement at it, with `audit` when
    /// given, in one transaction.
    pub async fn put_achievement_image(
        &self,
        id: &str,
        image: &StoredImage<'_>,
        image_url: &str,
        now: i64,
        audit: Option<&AuditEntry>,
    ) -> Result<bool, StoreError> {
        let StoredImage {
            media_type,
            bytes,
            digest_sri,
        } = *image;
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let found = sqlx::query(
                "UPDATE achievements SET image_url = $2, image_digest = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(image_url)
            .bind(digest_sri)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if found {
                sqlx::query(
                    "INSERT INTO achievement_images (achievement_id, media_type, bytes, digest_sri, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (achievement_id) DO UPDATE \
                     SET media_type = $2, bytes = $3, digest_sri = $4, updated_at = $5",
                )
                .bind(id)
                .bind(media_type)
                .bind(bytes)
                .bind(digest_sri)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if let Some(audit) = audit {
                    insert_audit!(&mut *tx, audit);
                }
            }
            tx.commit().await?;
            found
        }))
    }

    /// An achievement's image: media type, bytes, digest.
    pub async fn achievement_image(
        &self,
        id: &str,
    ) -> Result<Option<(String, Vec<u8>, String)>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT media_type, bytes, digest_sri FROM achievement_images WHERE achievement_id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    pub async fn insert_offer(&self, o: &OfferRow) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO offers (id, achievement_id, recipient_name, recipient_email, code_hash, tx_code_hash, \
             tx_code_failures, expires_at, created_at, evidence, results, registration_id) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11)"
        )
        .bind(&o.id)
        .bind(&o.achievement_id)
        .bind(&o.recipient_name)
        .bind(&o.recipient_email)
        .bind(&o.code_hash)
        .bind(&o.tx_code_hash)
        .bind(o.expires_at)
        .bind(o.created_at)
        .bind(&o.evidence)
        .bind(&o.results)
        .bind(&o.registration_id)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    pub async fn offer(&self, id: &str) -> Result<Option<OfferRow>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::offer_where(
                direct,
                kit::numbered!(select_offers!("WHERE id = $1")),
                id,
            );
        }
        Ok(with_db!(&self.db, |pool| sqlx::query_as(select_offers!(
            "WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    /// The offers whose ids are among `ids` (in no particular order; an unknown id is left
    /// out): one statement for up to [`IDS_PER_STATEMENT`] ids.
    pub async fn offers_by_ids(&self, ids: &[&str]) -> Result<Vec<OfferRow>, StoreError> {
        rows_by_ids(&self.db, select_offers!(""), ids).await
    }

    pub async fn offer_by_code(&self, code_hash: &str) -> Result<Option<OfferRow>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::offer_where(
                direct,
                kit::numbered!(select_offers!("WHERE code_hash = $1")),
                code_hash,
            );
        }
        Ok(with_db!(&self.db, |pool| sqlx::query_as(select_offers!(
            "WHERE code_hash = $1"
        ))
        .bind(code_hash)
        .fetch_optional(pool)
        .await?))
    }

    /// The offer an unexpired access token was issued for.
    pub async fn offer_by_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<OfferRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(select_offers!(
            "WHERE token_hash = $1 AND token_expires_at > $2"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?))
    }

    /// What a credential request needs of its access token, in one statement (five before:
    /// the token's DPoP binding, its offer, the offer's holder binding, the achievement and
    /// its other languages, each a hand-off to the connection's thread and back on SQLite):
    /// the offer the token was issued for, expired or not (the caller checks
    /// `token_expires_at`, after the token's sender constraint), the holder key its
    /// registration's wallet proved, and what [`Store::achievement`] reads. One row per
    /// other language of the achievement (one when it has none).
    pub async fn credential_context(
        &self,
        token_hash: &str,
    ) -> Result<Option<CredentialContext>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::credential_context(direct, token_hash);
        }
        let rows: Vec<CredentialContextRow> =
            with_db!(&self.db, |pool| sqlx::query_as(CREDENTIAL_CONTEXT)
                .bind(token_hash)
                .fetch_all(pool)
                .await?);
        Ok(CredentialContext::from_rows(rows))
    }

    /// Counts a wrong transaction code; returns the failures so far.
    pub async fn record_tx_code_failure(&self, offer_id: &str) -> Result<i64, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            sqlx::query_scalar(
            "UPDATE offers SET tx_code_failures = tx_code_failures + 1 WHERE id = $1 RETURNING tx_code_failures"
        )
        .bind(offer_id)
        .fetch_one(pool)
        .await?
        }))
    }

    /// Redeems a pre-authorized code exactly once: true if this call redeemed it.
    pub async fn redeem_offer(
        &self,
        offer_id: &str,
        token_hash: &str,
        token_expires_at: i64,
        now: i64,
        max_failures: i64,
        token_jkt: Option<&str>,
    ) -> Result<bool, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::redeem_offer(
                direct,
                offer_id,
                token_hash,
                token_expires_at,
                now,
                max_failures,
                token_jkt,
            )
            .await;
        }
        let r = with_db_write!(&self.db, |pool| {
            sqlx::query(REDEEM_OFFER)
                .bind(offer_id)
                .bind(now)
                .bind(token_hash)
                .bind(token_expires_at)
                .bind(max_failures)
                .bind(token_jkt)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(r == 1)
    }

    /// Records the use of a c_nonce: true if it was not used before (requests record theirs
    /// with [`Store::issue_credentials`]).
    #[cfg(test)]
    pub async fn use_nonce(
        &self,
        nonce_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let r = with_db_write!(&self.db, |pool| {
            sqlx::query(USE_NONCE)
                .bind(nonce_hash)
                .bind(expires_at)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(r == 1)
    }

    /// Deletes nonces that expired before `before`.
    pub async fn purge_nonces(&self, before: i64) -> Result<u64, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM nonces WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// One issuance's writes, in one transaction, all or nothing (on PostgreSQL one
    /// function call, see `postgres`): spends `claim` (the
    /// request's c_nonces and the offer's one issuance of the configuration, or the
    /// approved deferred transaction), enters each of `rows` (signed already, none for a
    /// request that waits for approval) in its status list at its `status_idx` with its
    /// audit entry from `audits`, and appends `log` to the transparency log. A credential
    /// is thus stored exactly when it is logged: a crash before the commit leaves neither,
    /// and the offer as it was. Returns what refused the issuance (nothing written), among
    /// them the rows whose status index is taken.
    pub async fn issue_credentials(
        &self,
        claim: Spend<'_>,
        rows: &[CredentialRow],
        audits: &[AuditEntry],
        log: IssuedLog<'_>,
    ) -> Result<Result<(), ClaimRefused>, StoreError> {
        if let Some(direct) = self.direct() {
            let spend = match claim {
                Spend::Request(IssuanceClaim {
                    nonces,
                    offer_id,
                    configuration,
                    now,
                }) => direct::OwnedSpend::Request {
                    nonces: nonces.to_vec(),
                    offer_id: offer_id.to_owned(),
                    configuration: configuration.to_owned(),
                    now,
                },
                Spend::Deferred {
                    transaction_hash,
                    now,
                } => direct::OwnedSpend::Deferred {
                    transaction_hash: transaction_hash.to_owned(),
                    now,
                },
            };
            let issuance = direct::OwnedIssuance {
                spend,
                rows: rows.to_vec(),
                audits: audits.to_vec(),
                entries: log.entries.to_vec(),
                jwt_digests: log.jwt_digests.to_vec(),
            };
            return direct::issue_credentials(direct, issuance).await;
        }
        let pool = match &self.db {
            Db::Postgres(pool) => {
                return postgres::issue_credentials(pool, claim, rows, audits, log).await;
            }
            Db::Sqlite(sqlite) => &sqlite.writer,
        };
        Ok({
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let mut refused = None;
            match claim {
                Spend::Request(IssuanceClaim {
                    nonces,
                    offer_id,
                    configuration,
                    now,
                }) => {
                    for (hash, expires_at) in nonces {
                        let used = sqlx::query(USE_NONCE)
                            .bind(hash)
                            .bind(expires_at)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                        if used != 1 {
                            refused = Some(ClaimRefused::NonceUsed);
                            break;
                        }
                    }
                    if refused.is_none()
                        && sqlx::query(CLAIM_ISSUANCE)
                            .bind(offer_id)
                            .bind(configuration)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected()
                            != 1
                    {
                        refused = Some(ClaimRefused::AlreadyIssued);
                    }
                }
                Spend::Deferred {
                    transaction_hash,
                    now,
                } => {
                    if sqlx::query(
                        "UPDATE deferred_issuances SET completed_at = $2 \
                         WHERE transaction_hash = $1 AND completed_at IS NULL",
                    )
                    .bind(transaction_hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        != 1
                    {
                        refused = Some(ClaimRefused::DeferredDone);
                    }
                }
            }
            if refused.is_none() {
                let mut taken = Vec::new();
                for (i, c) in rows.iter().enumerate() {
                    let entered = sqlx::query(INSERT_CREDENTIAL)
                        .bind(&c.id)
                        .bind(&c.offer_id)
                        .bind(&c.configuration)
                        .bind(&c.holder_jwk)
                        .bind(c.status_list)
                        .bind(c.status_idx)
                        .bind(c.issued_at)
                        .bind(c.expires_at)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if entered != 1 {
                        taken.push(i);
                    }
                }
                if !taken.is_empty() {
                    refused = Some(ClaimRefused::IndicesTaken(taken));
                }
            }
            match refused {
                Some(why) => {
                    tx.rollback().await?;
                    Err(why)
                }
                None => {
                    for audit in audits {
                        insert_audit!(&mut *tx, audit);
                    }
                    if !log.entries.is_empty() {
                        let at = rows.first().map_or(0, |r| r.issued_at);
                        let first = append_tlog!(tx, log.entries, at);
                        for (i, digest) in log.jwt_digests.iter().enumerate() {
                            let Some(digest) = digest else { continue };
                            sqlx::query(INSERT_TLOG_ISSUED)
                                .bind(digest)
                                .bind(first + i as i64)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(())
                }
            }
        })
    }

    /// Writes one audit entry on its own, for events that change no other state (a wallet's
    /// notification).
    pub async fn insert_audit_entry(&self, audit: &AuditEntry) -> Result<(), StoreError> {
        with_db!(&self.db, |pool| {
            insert_audit!(pool, audit);
        });
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT at, action, subject, detail, operator_id FROM audit_log ORDER BY at DESC, id LIMIT $1"
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
        }))
    }

    pub async fn credentials_of_offer(
        &self,
        offer_id: &str,
    ) -> Result<Vec<CredentialRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT id, offer_id, configuration, holder_jwk, status_list, status_idx, status, issued_at, expires_at \
             FROM credentials WHERE offer_id = $1 ORDER BY issued_at, id"
        )
        .bind(offer_id)
        .fetch_all(pool)
        .await?
        }))
    }

    /// Sets a credential's status value (0 valid, 1 revoked, 2 suspended); false if unknown.
    /// Sets `status` on credential `id` and on every other credential issued from the same
    /// offer (one badge in every format and for every holder key of a batch), with `audit`,
    /// in one transaction. The ids changed, `id` first; empty when `id` is unknown.
    pub async fn set_badge_status(
        &self,
        id: &str,
        status: i64,
        audit: &AuditEntry,
    ) -> Result<Vec<String>, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let mut ids: Vec<String> = sqlx::query_scalar(
                "UPDATE credentials SET status = $2 \
                 WHERE offer_id = (SELECT offer_id FROM credentials WHERE id = $1) RETURNING id",
            )
            .bind(id)
            .bind(status)
            .fetch_all(&mut *tx)
            .await?;
            if !ids.is_empty() {
                insert_audit!(&mut *tx, audit);
                // One log entry per credential of the badge, in the same transaction.
                let refs: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT status_list, status_idx FROM credentials \
                     WHERE offer_id = (SELECT offer_id FROM credentials WHERE id = $1) \
                     ORDER BY status_list, status_idx",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                let entries = tlog::status_entries(&refs, status, audit.at);
                append_tlog!(tx, &entries, audit.at);
            }
            tx.commit().await?;
            ids.sort_by_key(|other| (other.as_str() != id, other.clone()));
            ids
        }))
    }

    /// Every (index, status) in `list` whose status is not "valid".
    pub async fn non_valid_statuses(&self, list: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT status_idx, status FROM credentials WHERE status_list = $1 AND status <> 0"
        )
        .bind(list)
        .fetch_all(pool)
        .await?))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A store on SQLite in `dir`, or on PostgreSQL (a fresh schema) when
    /// `TEST_DATABASE_URL` is set.
    pub(crate) async fn test_store(dir: &std::path::Path) -> Store {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => {
                let schema = format!("t{}_store", uuid::Uuid::new_v4().simple());
                Store::connect(&url, Some(&schema)).await.unwrap()
            }
            _ => Store::connect(&format!("sqlite://{}/issuer.db", dir.display()), None)
                .await
                .unwrap(),
        }
    }

    /// An achievement and one offer for it; returns the offer's id.
    pub(crate) async fn offer(store: &Store) -> String {
        store
            .insert_achievement(
                &AchievementRow {
                    id: "a1".into(),
                    name: "Badge".into(),
                    description: "d".into(),
                    criteria: "c".into(),
                    image_url: None,
                    valid_days: None,
                    created_at: 1,
                    criteria_url: None,
                    achievement_type: None,
                    tags: None,
                    alignments: None,
                    image_digest: None,
                    retired_at: None,
                    updated_at: None,
                    requires_approval: 0,
                    language: "en".into(),
                    translations: vec![],
                },
                None,
            )
            .await
            .unwrap();
        store
            .insert_offer(&OfferRow {
                id: "o1".into(),
                achievement_id: "a1".into(),
                recipient_name: "Ada".into(),
                recipient_email: "ada@example.org".into(),
                code_hash: "code".into(),
                tx_code_hash: None,
                tx_code_failures: 0,
                expires_at: 10_000,
                redeemed_at: None,
                token_hash: None,
                token_expires_at: None,
                created_at: 1,
                evidence: None,
                results: None,
                registration_id: None,
                decision: None,
                decided_at: None,
            })
            .await
            .unwrap();
        "o1".into()
    }

    fn row(id: &str, configuration: &str, status_idx: i64) -> CredentialRow {
        CredentialRow {
            id: id.into(),
            offer_id: "o1".into(),
            configuration: configuration.into(),
            holder_jwk: "{}".into(),
            status_list: 1,
            status_idx,
            status: 0,
            issued_at: 100,
            expires_at: None,
        }
    }

    fn audit(c: &CredentialRow) -> AuditEntry {
        AuditEntry {
            at: c.issued_at,
            action: "credential.issued".into(),
            subject: c.id.clone(),
            detail: format!("{{\"status_idx\":{}}}", c.status_idx),
            operator_id: None,
        }
    }

    fn nonce(n: &str) -> (String, i64) {
        (n.to_owned(), 1_000)
    }

    /// Issues `rows` for a request of offer `o1` with `nonce`, each row logged with an
    /// entry of its id and its id as the JWT digest.
    async fn issue(
        store: &Store,
        n: &str,
        configuration: &str,
        rows: &[CredentialRow],
    ) -> Result<(), ClaimRefused> {
        let audits: Vec<AuditEntry> = rows.iter().map(audit).collect();
        let entries: Vec<Vec<u8>> = rows.iter().map(|r| r.id.as_bytes().to_vec()).collect();
        let digests: Vec<Option<String>> = rows.iter().map(|r| Some(r.id.clone())).collect();
        store
            .issue_credentials(
                Spend::Request(IssuanceClaim {
                    nonces: &[nonce(n)],
                    offer_id: "o1",
                    configuration,
                    now: 100,
                }),
                rows,
                &audits,
                IssuedLog {
                    entries: &entries,
                    jwt_digests: &digests,
                },
            )
            .await
            .unwrap()
    }

    #[test]
    fn time_ordered_ids_are_uuid_v7_in_time_order() {
        let a = time_ordered_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = time_ordered_id();
        for id in [&a, &b] {
            let u = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(u.get_version(), Some(uuid::Version::SortRand), "{id}");
            assert_eq!(u.get_variant(), uuid::Variant::RFC4122, "{id}");
        }
        assert!(a < b, "{a} then {b}");
        assert_ne!(time_ordered_id(), time_ordered_id());
    }

    #[tokio::test]
    async fn the_credential_context_is_the_token_offer_its_binding_and_achievement() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        let offer = offer(&store).await;
        assert!(store.credential_context("th").await.unwrap().is_none());
        assert!(
            store
                .redeem_offer(&offer, "th", 500, 100, 5, Some("jkt-1"))
                .await
                .unwrap()
        );
        let c = store
            .credential_context("th")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(c.offer.id, offer);
        assert_eq!(c.offer.token_expires_at, Some(500));
        assert_eq!(c.token_jkt.as_deref(), Some("jkt-1"));
        assert_eq!(c.holder_jkt, None, "an offer made one by one is unbound");
        let read = store.achievement("a1").await.unwrap();
        assert_eq!(format!("{:?}", c.achievement), format!("{read:?}"));
        // Another token, or the hash of a hash: nothing.
        assert!(store.credential_context("th2").await.unwrap().is_none());
        assert!(
            store
                .credential_context(&protocol::b64::sha256("th"))
                .await
                .unwrap()
                .is_none()
        );

        // An achievement in three languages: one row per other language, read back in
        // order, as `achievement` reads them.
        let text = |language: &str| AchievementText {
            language: language.into(),
            name: format!("name {language}"),
            description: format!("description {language}"),
            criteria: format!("criteria {language}"),
        };
        let mut a2 = store.achievement("a1").await.unwrap().unwrap();
        a2.id = "a2".into();
        a2.requires_approval = 1;
        a2.tags = Some("[\"x\"]".into());
        a2.translations = vec![text("ja"), text("de")];
        store.insert_achievement(&a2, None).await.unwrap();
        let mut o2 = store.offer(&offer).await.unwrap().unwrap();
        o2.id = "o2".into();
        o2.achievement_id = "a2".into();
        o2.code_hash = "code2".into();
        o2.token_hash = None;
        o2.redeemed_at = None;
        store.insert_offer(&o2).await.unwrap();
        assert!(
            store
                .redeem_offer("o2", "th-2", 50, 10, 5, None)
                .await
                .unwrap()
        );
        let c = store
            .credential_context("th-2")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(c.offer.id, "o2");
        assert_eq!(c.token_jkt, None, "a bearer token");
        let a = c.achievement.expect("the achievement");
        assert_eq!(
            a.translations
                .iter()
                .map(|t| t.language.as_str())
                .collect::<Vec<_>>(),
            ["de", "ja"]
        );
        assert_eq!(a.requires_approval, 1);
        let read = store.achievement("a2").await.unwrap();
        assert_eq!(format!("{:?}", Some(a)), format!("{read:?}"));
    }

    /// The issuance flow's queries run on SQLite's direct connections (`kit::sqlite`) when
    /// the store is a SQLite file, and on sqlx otherwise.
    #[tokio::test]
    async fn sqlite_files_use_the_direct_connections() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        let on_sqlite = matches!(store.db, Db::Sqlite(_));
        assert_eq!(store.direct().is_some(), on_sqlite);
        if let Some(direct) = store.direct() {
            offer(&store).await;
            let before = direct.writer.stats();
            assert!(
                store
                    .redeem_offer("o1", "th", 500, 100, 5, None)
                    .await
                    .unwrap()
            );
            let (groups, jobs) = direct.writer.stats();
            assert_eq!((groups - before.0, jobs - before.1), (1, 1));
        }
        store.db.close().await;
    }

    /// Two (and twenty) concurrent redemptions of one code: exactly one wins, on either
    /// backend; on SQLite they queue on the writer thread, several in one transaction.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_redemptions_of_one_code_have_one_winner() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        let offer = offer(&store).await;
        let tries: Vec<_> = (0..20)
            .map(|i| {
                let (store, offer) = (store.clone(), offer.clone());
                tokio::spawn(async move {
                    store
                        .redeem_offer(&offer, &format!("token-{i}"), 500, 100, 5, None)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for t in tries {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
        let redeemed = store.offer(&offer).await.unwrap().unwrap();
        let token = redeemed.token_hash.expect("the winner's token");
        assert!(store.credential_context(&token).await.unwrap().is_some());
        store.db.close().await;
    }

    /// A replayed c_nonce, sent by concurrent requests for different configurations (so
    /// only the nonce can stop them): exactly one issuance, the others refused with
    /// `NonceUsed` and nothing of theirs written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_nonce_replayed_concurrently_issues_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        let offer = offer(&store).await;
        let tries: Vec<_> = (0..12_i64)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let configuration = format!("conf-{i}");
                    let rows = [row(&format!("c{i}"), &configuration, 100 + i)];
                    issue(&store, "replayed", &configuration, &rows).await
                })
            })
            .collect();
        let mut issued = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(()) => issued += 1,
                Err(why) => assert_eq!(why, ClaimRefused::NonceUsed),
            }
        }
        assert_eq!(issued, 1);
        assert_eq!(store.credentials_of_offer(&offer).await.unwrap().len(), 1);
        assert_eq!(store.audit_log(20).await.unwrap().len(), 1);
        assert_eq!(store.tlog_size().await.unwrap(), 1);
        store.db.close().await;
    }

    /// Each refusal of an issuance, on either backend (PostgreSQL: one function call):
    /// named as before, and nothing of the refused request kept, neither its credentials
    /// nor their audit and log entries nor its nonces nor its claim of the configuration.
    #[tokio::test]
    async fn a_refused_issuance_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        let offer = offer(&store).await;
        let written = |store: Store| async move {
            (
                store.credentials_of_offer("o1").await.unwrap().len(),
                store.audit_log(50).await.unwrap().len(),
                store.tlog_size().await.unwrap(),
            )
        };
        let request = |nonces: Vec<(String, i64)>,
                       configuration: &'static str,
                       rows: Vec<CredentialRow>| {
            let store = store.clone();
            async move {
                let audits: Vec<AuditEntry> = rows.iter().map(audit).collect();
                let entries: Vec<Vec<u8>> = rows.iter().map(|r| r.id.as_bytes().to_vec()).collect();
                let digests: Vec<Option<String>> =
                    rows.iter().map(|r| Some(r.id.clone())).collect();
                store
                    .issue_credentials(
                        Spend::Request(IssuanceClaim {
                            nonces: &nonces,
                            offer_id: "o1",
                            configuration,
                            now: 100,
                        }),
                        &rows,
                        &audits,
                        IssuedLog {
                            entries: &entries,
                            jwt_digests: &digests,
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        // Two nonces, the second used before: refused, and the first is not used up.
        assert!(store.use_nonce("used", 1_000, 50).await.unwrap());
        let got = request(
            vec![nonce("fresh"), nonce("used")],
            "sd",
            vec![row("c1", "sd", 1)],
        )
        .await;
        assert_eq!(got, Err(ClaimRefused::NonceUsed));
        assert_eq!(written(store.clone()).await, (0, 0, 0));
        // One nonce twice in one request: used twice, refused.
        let got = request(
            vec![nonce("twice"), nonce("twice")],
            "sd",
            vec![row("c1", "sd", 1)],
        )
        .await;
        assert_eq!(got, Err(ClaimRefused::NonceUsed));
        assert!(
            store.use_nonce("fresh", 1_000, 50).await.unwrap(),
            "not used up"
        );

        // Three rows, the first and last at taken indices (one held before, one drawn
        // twice): both named, nothing written, the claim and the nonce free for the retry.
        assert_eq!(
            request(vec![nonce("n0")], "jwt", vec![row("c0", "jwt", 5)]).await,
            Ok(())
        );
        assert_eq!(written(store.clone()).await, (1, 1, 1));
        let got = request(
            vec![nonce("n1")],
            "sd",
            vec![row("c1", "sd", 5), row("c2", "sd", 6), row("c3", "sd", 6)],
        )
        .await;
        assert_eq!(got, Err(ClaimRefused::IndicesTaken(vec![0, 2])));
        assert_eq!(written(store.clone()).await, (1, 1, 1));
        let got = request(
            vec![nonce("n1")],
            "sd",
            vec![row("c1", "sd", 7), row("c2", "sd", 6), row("c3", "sd", 8)],
        )
        .await;
        assert_eq!(got, Ok(()), "the retry at free indices");
        assert_eq!(written(store.clone()).await, (4, 4, 4));
        assert_eq!(
            store.tlog_entries(0, 4).await.unwrap(),
            [
                b"c0".to_vec(),
                b"c1".to_vec(),
                b"c2".to_vec(),
                b"c3".to_vec()
            ]
        );
        assert_eq!(store.tlog_issued_index("c3").await.unwrap(), Some(3));

        // The nonce again, and the configuration again with a fresh nonce: refused, nothing
        // written, the fresh nonce not used up.
        let got = request(vec![nonce("n1")], "ldp", vec![row("c4", "ldp", 9)]).await;
        assert_eq!(got, Err(ClaimRefused::NonceUsed));
        let got = request(vec![nonce("n2")], "sd", vec![row("c4", "sd", 9)]).await;
        assert_eq!(got, Err(ClaimRefused::AlreadyIssued));
        assert_eq!(written(store.clone()).await, (4, 4, 4));
        assert!(
            store.use_nonce("n2", 1_000, 50).await.unwrap(),
            "not used up"
        );

        // A request that waits for approval: its nonce and claim spent, no credential.
        assert_eq!(request(vec![nonce("n3")], "ldp", vec![]).await, Ok(()));
        assert_eq!(written(store.clone()).await, (4, 4, 4));
        let got = request(vec![nonce("n4")], "ldp", vec![]).await;
        assert_eq!(got, Err(ClaimRefused::AlreadyIssued));
        assert_eq!(store.credentials_of_offer(&offer).await.unwrap().len(), 4);
        store.db.close().await;
    }

    #[tokio::test]
    async fn an_issuance_is_stored_and_logged_all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        let offer = offer(&store).await;

        // Two credentials drawn at one index: the second is named, nothing is written
        // (not even the nonce), and the same request with another index goes through.
        let got = issue(
            &store,
            "n1",
            "sd",
            &[row("c1", "sd", 7), row("c2", "sd", 7)],
        )
        .await;
        assert_eq!(got, Err(ClaimRefused::IndicesTaken(vec![1])));
        assert!(store.credentials_of_offer(&offer).await.unwrap().is_empty());
        assert_eq!(store.tlog_size().await.unwrap(), 0);
        let got = issue(
            &store,
            "n1",
            "sd",
            &[row("c1", "sd", 7), row("c2", "sd", 9)],
        )
        .await;
        assert_eq!(got, Ok(()));
        let stored = store.credentials_of_offer(&offer).await.unwrap();
        let mut indices: Vec<i64> = stored.iter().map(|c| c.status_idx).collect();
        indices.sort();
        assert_eq!(indices, [7, 9]);
        assert_eq!(store.audit_log(10).await.unwrap().len(), 2);
        // Stored exactly when logged, in order, each JWT digest indexed.
        assert_eq!(store.tlog_size().await.unwrap(), 2);
        assert_eq!(
            store.tlog_entries(0, 2).await.unwrap(),
            [b"c1".to_vec(), b"c2".to_vec()]
        );
        assert_eq!(store.tlog_issued_index("c2").await.unwrap(), Some(1));

        // The same nonce again: refused, nothing written.
        let got = issue(&store, "n1", "jwt", &[row("c3", "jwt", 11)]).await;
        assert_eq!(got, Err(ClaimRefused::NonceUsed));
        // A fresh nonce for the configuration already issued: refused, and the nonce is
        // not used up by the refused request.
        let got = issue(&store, "n2", "sd", &[row("c3", "sd", 11)]).await;
        assert_eq!(got, Err(ClaimRefused::AlreadyIssued));
        // An index another credential holds: refused, nothing written, so the same nonce
        // and configuration still work at a free index.
        let got = issue(&store, "n2", "jwt", &[row("c3", "jwt", 7)]).await;
        assert_eq!(got, Err(ClaimRefused::IndicesTaken(vec![0])));
        assert_eq!(store.credentials_of_offer(&offer).await.unwrap().len(), 2);
        assert_eq!(store.audit_log(10).await.unwrap().len(), 2);
        assert_eq!(store.tlog_size().await.unwrap(), 2);
        let got = issue(&store, "n2", "jwt", &[row("c3", "jwt", 8)]).await;
        assert_eq!(got, Ok(()));
        assert_eq!(store.credentials_of_offer(&offer).await.unwrap().len(), 3);
        assert_eq!(store.tlog_size().await.unwrap(), 3);
        assert!(!store.use_nonce("n2", 1_000, 100).await.unwrap());

        // A deferred transaction: completed with its credentials once, never twice.
        store
            .insert_deferred(&DeferredRow {
                transaction_hash: "t1".into(),
                offer_id: offer.clone(),
                configuration: "ldp".into(),
                holder_jwks: "[]".into(),
                created_at: 100,
                expires_at: 1_000,
                completed_at: None,
            })
            .await
            .unwrap();
        let deferred = |id: &str, idx: i64| {
            let rows = [row(id, "ldp", idx)];
            let store = store.clone();
            async move {
                store
                    .issue_credentials(
                        Spend::Deferred {
                            transaction_hash: "t1",
                            now: 200,
                        },
                        &rows,
                        &[audit(&rows[0])],
                        IssuedLog::default(),
                    )
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            deferred("c4", 9).await,
            Err(ClaimRefused::IndicesTaken(vec![0]))
        );
        assert_eq!(deferred("c4", 12).await, Ok(()));
        assert_eq!(deferred("c5", 13).await, Err(ClaimRefused::DeferredDone));
        assert_eq!(store.credentials_of_offer(&offer).await.unwrap().len(), 4);
        // Unlogged (the bench's switch): stored, the log as it was.
        assert_eq!(store.tlog_size().await.unwrap(), 3);
        store.db.close().await;
    }
}
