//! The verifier's storage, named by intent. One body per query (`$n` placeholders work on
//! SQLite and PostgreSQL alike); a response is accepted by one conditional `UPDATE`, so
//! single use holds across concurrent requests and across instances sharing a database.
//!
//! On a SQLite file the presentation round trip's statements run on the direct connections
//! ([`direct`], `kit::sqlite`, issue 18): the same SQL text (the constants below), reads on
//! the calling thread, writes as jobs of the writer thread. PostgreSQL, in-memory SQLite
//! and `AKASHI_SQLITE_DIRECT=0` keep every statement on sqlx.

use kit::db::{Db, Migrations};
use kit::{with_db, with_db_write};
use protocol::keys::seal::SealKey;
use protocol::keys::{Alg, SigningKey};

/// The PostgreSQL notification channel of stored results (payload: the request id), so
/// the desk page of a request waiting on one instance learns of a result another stored;
/// in a schema of its own ([`results_channel`]), the channel is the schema's.
pub const RESULTS_CHANNEL: &str = "akashi_verifier_results";

/// The results channel of the verifier whose tables are in `pg_schema`: a notification
/// is the database's, heard by whoever listens on its channel, so verifiers in different
/// schemas of one database each have their own and do not hear (or learn the request ids
/// of) the others'. A channel name is at most 63 bytes (PostgreSQL's `NAMEDATALEN`): a
/// schema whose name does not fit is named by its digest.
pub fn results_channel(pg_schema: Option<&str>) -> String {
    const MAX: usize = 63;
    match pg_schema {
        None => RESULTS_CHANNEL.to_owned(),
        Some(schema) if RESULTS_CHANNEL.len() + 1 + schema.len() <= MAX => {
            format!("{RESULTS_CHANNEL}_{schema}")
        }
        Some(schema) => {
            let digest = protocol::b64::sha256(schema);
            let room = MAX - RESULTS_CHANNEL.len() - 1;
            format!("{RESULTS_CHANNEL}_{}", &digest[..room])
        }
    }
}

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

mod direct;

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
    /// On PostgreSQL, where stored results are announced ([`results_channel`]).
    results_channel: std::sync::Arc<str>,
}

/// A saved request template.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: String,
    pub name: String,
    /// The [`crate::domain::requests::Template`], JSON.
    pub body: String,
    pub created_at: i64,
}

/// One presentation request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RequestRow {
    pub id: String,
    pub client_id: String,
    pub nonce: String,
    pub state: String,
    /// The DCQL query, JSON.
    pub dcql_query: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub responded_at: Option<i64>,
    /// The verification result, JSON; `None` until the response has been verified.
    pub result: Option<String>,
    pub refusals: i64,
    /// The check that refused the latest refused response, JSON.
    pub last_refusal: Option<String>,
    /// `direct_post` or `direct_post.jwt` (OpenID4VP 1.0 §8.2, §8.3).
    pub response_mode: String,
    /// With `direct_post.jwt`: the `kid` of the request's encryption key.
    pub encryption_kid: Option<String>,
    /// With `direct_post.jwt`: the request's encryption key, sealed.
    pub encryption_key: Option<Vec<u8>>,
    /// `get` or `post` (OpenID4VP 1.0 §5.10).
    pub request_uri_method: String,
    /// Same-device flows: where the wallet sends the user after `direct_post` (§8.2).
    pub redirect_uri: Option<String>,
    /// The hash of the `response_code` given with `redirect_uri`.
    pub response_code_hash: Option<String>,
    /// SHA-256 of the session binding the request was created with: its `response_code`
    /// opens the result only with that value shown back (same-device session binding).
    pub session_binding_hash: Option<String>,
    /// Where the result is posted when ready (signed webhook).
    pub webhook_url: Option<String>,
    pub webhook_attempts: i64,
    /// When the next delivery attempt is due; `None`: none is.
    pub webhook_next_at: Option<i64>,
    pub webhook_delivered_at: Option<i64>,
    pub webhook_last_error: Option<String>,
}

#[cfg(test)]
impl RequestRow {
    /// A `direct_post` request `id` with `state`, made at 1000 and open until
    /// `expires_at`, unanswered, for tests.
    pub fn sample(id: &str, state: &str, expires_at: i64) -> RequestRow {
        RequestRow {
            id: id.into(),
            client_id: "decentralized_identifier:did:web:v.example".into(),
            nonce: format!("nonce-{id}"),
            state: state.into(),
            dcql_query: "{}".into(),
            created_at: 1000,
            expires_at,
            responded_at: None,
            result: None,
            refusals: 0,
            last_refusal: None,
            response_mode: "direct_post".into(),
            encryption_kid: None,
            encryption_key: None,
            request_uri_method: "get".into(),
            redirect_uri: None,
            response_code_hash: None,
            session_binding_hash: None,
            webhook_url: None,
            webhook_attempts: 0,
            webhook_next_at: None,
            webhook_delivered_at: None,
            webhook_last_error: None,
        }
    }
}

/// A webhook delivery that is due.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DueWebhook {
    pub id: String,
    pub webhook_next_at: i64,
    pub webhook_attempts: i64,
}

/// Why [`Store::answer_request`] did not take a response (or why one is refused before
/// it is verified, [`Refused::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No request has this `state`.
    UnknownState,
    /// The request was already answered.
    Replay,
    /// The request expired before the response arrived.
    Expired,
}

impl Refused {
    /// Why a response that arrives at `now` for `row` (the request its `state` names, if
    /// any) cannot answer it; `None` if it can. The answer's own update
    /// ([`ANSWER_REQUEST`]) decides in the end: a concurrent response may answer first.
    pub fn of(row: Option<&RequestRow>, now: i64) -> Option<Refused> {
        match row {
            None => Some(Refused::UnknownState),
            Some(row) if row.responded_at.is_some() => Some(Refused::Replay),
            Some(row) if row.expires_at <= now => Some(Refused::Expired),
            Some(_) => None,
        }
    }
}

/// `<head>` every request column `<tail>`, as a static string.
macro_rules! request_columns {
    ($head:expr, $tail:expr) => {
        concat!(
            $head,
            "id, client_id, nonce, state, dcql_query, created_at, expires_at, ",
            "responded_at, result, refusals, last_refusal, response_mode, encryption_kid, ",
            "encryption_key, request_uri_method, redirect_uri, response_code_hash, ",
            "session_binding_hash, ",
            "webhook_url, webhook_attempts, webhook_next_at, webhook_delivered_at, ",
            "webhook_last_error ",
            $tail
        )
    };
}

/// `SELECT <every request column> FROM requests <tail>`, as a static string.
macro_rules! select_requests {
    ($tail:literal) => {
        request_columns!("SELECT ", concat!("FROM requests ", $tail))
    };
}

/// A request by id, by `state`, by the `kid` of its encryption key.
const REQUEST_BY_ID: &str = select_requests!("WHERE id = $1");
const REQUEST_BY_STATE: &str = select_requests!("WHERE state = $1");
const REQUEST_BY_ENCRYPTION_KID: &str = select_requests!("WHERE encryption_kid = $1");

const INSERT_REQUEST: &str = "INSERT INTO requests (id, client_id, nonce, state, dcql_query, created_at, expires_at, \
     response_mode, encryption_kid, encryption_key, request_uri_method, redirect_uri, \
     webhook_url, session_binding_hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)";

/// The one conditional update that answers a request: the response's verification, once
/// (`responded_at IS NULL`) and before expiry. `$1` id, `$2` when the response arrived,
/// `$3` the verification (JSON), `$4` the response code's hash; a webhook, if the request
/// has one, is due at `$2`.
const ANSWER_REQUEST: &str = "UPDATE requests SET responded_at = $2, result = $3, response_code_hash = $4, \
     webhook_next_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE $2 END \
     WHERE id = $1 AND responded_at IS NULL AND expires_at > $2";

/// [`ANSWER_REQUEST`] on PostgreSQL, in the same statement (one round trip, one
/// transaction) as the notification that wakes every instance's desk pages waiting on the
/// request (`$5` the channel, [`Store::listen_results`]): delivered at the commit, and only
/// if the update answered. A row if it did.
const ANSWER_REQUEST_AND_NOTIFY: &str = "WITH answered AS (UPDATE requests SET responded_at = $2, result = $3, response_code_hash = $4, \
     webhook_next_at = CASE WHEN webhook_url IS NULL THEN NULL ELSE $2 END \
     WHERE id = $1 AND responded_at IS NULL AND expires_at > $2 RETURNING id) \
     SELECT answered.id FROM answered, LATERAL pg_notify($5, answered.id) told";

const RECORD_REFUSAL: &str =
    "UPDATE requests SET refusals = refusals + 1, last_refusal = $2 WHERE id = $1";

/// The response code, once: `$1` id, `$2` its hash.
const USE_RESPONSE_CODE: &str = "UPDATE requests SET response_code_hash = NULL \
     WHERE id = $1 AND response_code_hash = $2";

const TEMPLATE: &str = "SELECT id, name, body, created_at FROM templates WHERE id = $1";

const DESK_SESSION_CSRF: &str =
    "SELECT csrf_hash FROM desk_sessions WHERE id_hash = $1 AND expires_at > $2";

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
            results_channel: results_channel(pg_schema).into(),
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

    /// Loads the signing key `id`, or creates, seals and stores it on first start.
    pub async fn signing_key(
        &self,
        id: &str,
        alg: Alg,
        seal: &SealKey,
        now: i64,
    ) -> Result<SigningKey, StoreError> {
        let purpose = format!("verifier-signing-key:{id}");
        Ok(self.db.signing_key(id, alg, seal, &purpose, now).await?)
    }

    pub async fn insert_request(&self, r: &RequestRow) -> Result<(), StoreError> {
        if let Some(direct) = self.direct() {
            return direct::insert_request(direct, r.clone()).await;
        }
        with_db_write!(&self.db, |pool| {
            sqlx::query(INSERT_REQUEST)
                .bind(&r.id)
                .bind(&r.client_id)
                .bind(&r.nonce)
                .bind(&r.state)
                .bind(&r.dcql_query)
                .bind(r.created_at)
                .bind(r.expires_at)
                .bind(&r.response_mode)
                .bind(&r.encryption_kid)
                .bind(&r.encryption_key)
                .bind(&r.request_uri_method)
                .bind(&r.redirect_uri)
                .bind(&r.webhook_url)
                .bind(&r.session_binding_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Stores a saved template; `false` when the name is taken.
    pub async fn insert_template(&self, t: &TemplateRow) -> Result<bool, StoreError> {
        let inserted = with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO templates (id, name, body, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(&t.id)
            .bind(&t.name)
            .bind(&t.body)
            .bind(t.created_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted == 1)
    }

    pub async fn template(&self, id: &str) -> Result<Option<TemplateRow>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::template(direct, id);
        }
        Ok(with_db!(&self.db, |pool| sqlx::query_as(TEMPLATE)
            .bind(id)
            .fetch_optional(pool)
            .await?))
    }

    /// Every saved template, by name.
    pub async fn templates(&self) -> Result<Vec<TemplateRow>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, name, body, created_at FROM templates ORDER BY name"
        )
        .fetch_all(pool)
        .await?))
    }

    /// Deletes a saved template; `false` when there was none.
    pub async fn delete_template(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM templates WHERE id = $1"
        )
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(deleted == 1)
    }

    /// Deletes requests (and their results) that expired before `before`.
    pub async fn purge_requests(&self, before: i64) -> Result<u64, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM requests WHERE expires_at < $1"
        )
        .bind(before)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    pub async fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::request_where(direct, kit::numbered!(REQUEST_BY_ID), id);
        }
        Ok(with_db!(&self.db, |pool| sqlx::query_as(REQUEST_BY_ID)
            .bind(id)
            .fetch_optional(pool)
            .await?))
    }

    pub async fn request_by_state(&self, state: &str) -> Result<Option<RequestRow>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::request_where(direct, kit::numbered!(REQUEST_BY_STATE), state);
        }
        Ok(with_db!(&self.db, |pool| sqlx::query_as(REQUEST_BY_STATE)
            .bind(state)
            .fetch_optional(pool)
            .await?))
    }

    /// The request whose encryption key has `kid`: how a `direct_post.jwt` response, whose
    /// `state` is inside the JWE, finds its request.
    pub async fn request_by_encryption_kid(
        &self,
        kid: &str,
    ) -> Result<Option<RequestRow>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::request_where(direct, kit::numbered!(REQUEST_BY_ENCRYPTION_KID), kid);
        }
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            REQUEST_BY_ENCRYPTION_KID
        )
        .bind(kid)
        .fetch_optional(pool)
        .await?))
    }

    /// Answers request `id` with its response's verification (`result`, JSON) and the
    /// hash of the response code given to the wallet, if any: a single conditional update,
    /// so of concurrent responses exactly one answers, the first to be verified. Nothing is
    /// written before: a response verified and then lost (a crash) leaves the request
    /// open for the wallet to answer again. Returns why it did not answer, read after the
    /// update. On PostgreSQL, every instance's desk pages waiting on the request wake
    /// ([`Store::listen_results`]); on SQLite (one instance a file) the caller tells them.
    pub async fn answer_request(
        &self,
        id: &str,
        now: i64,
        result: &str,
        response_code_hash: Option<&str>,
    ) -> Result<Result<(), Refused>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::answer_request(direct, id, now, result, response_code_hash).await;
        }
        let answered = match &self.db {
            Db::Postgres(pool) => sqlx::query_scalar::<_, String>(ANSWER_REQUEST_AND_NOTIFY)
                .bind(id)
                .bind(now)
                .bind(result)
                .bind(response_code_hash)
                .bind(&*self.results_channel)
                .fetch_optional(pool)
                .await?
                .is_some(),
            Db::Sqlite(sqlite) => {
                sqlx::query(ANSWER_REQUEST)
                    .bind(id)
                    .bind(now)
                    .bind(result)
                    .bind(response_code_hash)
                    .execute(&sqlite.writer)
                    .await?
                    .rows_affected()
                    == 1
            }
        };
        if answered {
            return Ok(Ok(()));
        }
        let row = self.request(id).await?;
        Ok(Err(
            Refused::of(row.as_ref(), now).unwrap_or(Refused::Replay)
        ))
    }

    /// Counts a refused response and keeps the check that refused it (JSON).
    pub async fn record_refusal(&self, id: &str, check: &str) -> Result<(), StoreError> {
        if let Some(direct) = self.direct() {
            return direct::record_refusal(direct, id, check).await;
        }
        with_db_write!(&self.db, |pool| {
            sqlx::query(RECORD_REFUSAL)
                .bind(id)
                .bind(check)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// On PostgreSQL: forwards the id of every result stored by any instance sharing the
    /// database and schema (`LISTEN` on [`results_channel`]) to `results`, where the desk's event
    /// streams wait; reconnects after a lost connection. Returns at once on SQLite (one
    /// instance per database file: the local channel is told directly). Runs until
    /// aborted.
    pub async fn listen_results(&self, results: tokio::sync::broadcast::Sender<String>) {
        let Db::Postgres(pool) = &self.db else {
            return;
        };
        loop {
            let mut listener = match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN for results: cannot connect; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen(&self.results_channel).await {
                tracing::warn!(error = %e, "LISTEN for results failed; retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                continue;
            }
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        // No receiver (no page open) is not an error.
                        let _ = results.send(n.payload().to_owned());
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN for results lost; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

impl Store {
    /// Uses up the response code whose hash is `hash` on request `id`: true the first
    /// time only (one conditional update).
    pub async fn use_response_code(&self, id: &str, hash: &str) -> Result<bool, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::use_response_code(direct, id, hash).await;
        }
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(USE_RESPONSE_CODE)
                .bind(id)
                .bind(hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Webhook deliveries due at `now`, oldest first.
    pub async fn due_webhooks(&self, now: i64, limit: i64) -> Result<Vec<DueWebhook>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT id, webhook_next_at, webhook_attempts FROM requests \
             WHERE webhook_next_at IS NOT NULL AND webhook_next_at <= $1 \
             ORDER BY webhook_next_at LIMIT $2"
        )
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await?))
    }

    /// Claims a due delivery for one attempt: one conditional update, so of several
    /// instances exactly one makes it. Until `lease_until` no other picks it up.
    pub async fn claim_webhook(
        &self,
        due: &DueWebhook,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let n = with_db_write!(&self.db, |pool| {
            sqlx::query(
                "UPDATE requests SET webhook_next_at = $3, webhook_attempts = webhook_attempts + 1 \
                 WHERE id = $1 AND webhook_next_at = $2 AND webhook_delivered_at IS NULL",
            )
            .bind(&due.id)
            .bind(due.webhook_next_at)
            .bind(lease_until)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records a delivery attempt: delivered at `delivered_at`, or failed with `error` and
    /// retried at `next_at` (`None`: given up).
    pub async fn webhook_attempted(
        &self,
        id: &str,
        delivered_at: Option<i64>,
        next_at: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "UPDATE requests SET webhook_delivered_at = $2, webhook_next_at = $3, \
                 webhook_last_error = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(delivered_at)
            .bind(next_at)
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}

/// Verifier desk sessions (see [`crate::domain::desk`]): rows keyed by the SHA-256 of the
/// session cookie.
impl Store {
    /// Records a new session.
    pub async fn insert_desk_session(
        &self,
        id_hash: &str,
        csrf_hash: &str,
        created_at: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
                "INSERT INTO desk_sessions (id_hash, csrf_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id_hash)
            .bind(csrf_hash)
            .bind(created_at)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The CSRF cookie hash of the session `id_hash` if it is still open at `now`.
    pub async fn desk_session_csrf(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        if let Some(direct) = self.direct() {
            return direct::desk_session_csrf(direct, id_hash, now);
        }
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            DESK_SESSION_CSRF
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?))
    }

    /// Ends the session `id_hash`; `false` when there was none.
    pub async fn delete_desk_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let deleted = with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM desk_sessions WHERE id_hash = $1"
        )
        .bind(id_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(deleted == 1)
    }

    /// Deletes the sessions that ended at or before `now`; returns how many.
    pub async fn purge_desk_sessions(&self, now: i64) -> Result<u64, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM desk_sessions WHERE expires_at <= $1"
        )
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/verifier.db", dir.path().display());
        let store = Store::connect(&url, None).await.expect("connect");
        (dir, store)
    }

    fn row(id: &str, state: &str, expires_at: i64) -> RequestRow {
        RequestRow::sample(id, state, expires_at)
    }

    /// Two stores on one database, as two instances have: a SQLite file, or a fresh
    /// PostgreSQL schema when `TEST_DATABASE_URL` is set.
    async fn two_instances() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, schema) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => (
                url,
                Some(format!("t{}_verifier_first", uuid::Uuid::new_v4().simple())),
            ),
            _ => (
                format!("sqlite://{}/verifier.db", dir.path().display()),
                None,
            ),
        };
        let a = Store::connect(&url, schema.as_deref()).await.unwrap();
        let b = Store::connect(&url, schema.as_deref()).await.unwrap();
        (dir, a, b)
    }

    #[tokio::test]
    async fn settings_are_compared_and_set_all_or_none() {
        let (_dir, store) = temp_store().await;
        assert!(store.replace_settings(&[("a", None, "1")]).await.unwrap());
        // Absent expected, present found: refused, and nothing of the set is written.
        assert!(
            !store
                .replace_settings(&[("b", None, "2"), ("a", None, "9")])
                .await
                .unwrap()
        );
        assert_eq!(store.setting("a").await.unwrap().as_deref(), Some("1"));
        assert_eq!(store.setting("b").await.unwrap(), None);
        // The value expected: replaced; another value expected: refused.
        assert!(
            store
                .replace_settings(&[("a", Some("1"), "3")])
                .await
                .unwrap()
        );
        assert!(
            !store
                .replace_settings(&[("a", Some("1"), "4")])
                .await
                .unwrap()
        );
        assert_eq!(store.setting("a").await.unwrap().as_deref(), Some("3"));
    }

    /// Two instances whose first starts overlap keep one development certificate, one
    /// desk CSRF key and one API token: whichever stored first.
    #[tokio::test]
    async fn instances_starting_at_once_share_what_the_first_start_makes() {
        use crate::http::csrf::{CsrfKey, CsrfScope};
        let (_dir, a, b) = two_instances().await;
        let seal = protocol::keys::seal::SealKey::generate();
        for round in 0..3 {
            let (x, y) = tokio::join!(
                crate::domain::x509::development(&a, &seal, "Desk", "v.example", 1_000),
                crate::domain::x509::development(&b, &seal, "Desk", "v.example", 1_000),
            );
            let (x, y) = (x.unwrap(), y.unwrap());
            assert_eq!(x.x5c(), y.x5c(), "round {round}");
            assert_eq!(x.hash_client_id(), y.hash_client_id());
            let (k, l) = tokio::join!(
                CsrfKey::load_or_create(&a, &seal),
                CsrfKey::load_or_create(&b, &seal)
            );
            let (k, l) = (k.unwrap(), l.unwrap());
            assert_eq!(
                k.csrf_token(CsrfScope::Desk, "cookie"),
                l.csrf_token(CsrfScope::Desk, "cookie"),
                "round {round}"
            );
        }
        // Another host: the certificate is made anew once, and both instances move to it.
        let (x, y) = tokio::join!(
            crate::domain::x509::development(&a, &seal, "Desk", "w.example", 1_000),
            crate::domain::x509::development(&b, &seal, "Desk", "w.example", 1_000),
        );
        assert_eq!(x.unwrap().x5c(), y.unwrap().x5c());
    }

    /// Two instances on one PostgreSQL schema: a result the one stores wakes the other's
    /// desk pages at once (NOTIFY), not at their next re-read; a second store of the same
    /// result (a replay) notifies nobody.
    /// Waits (10 s at most) until `rx`, fed by a `listen_results` on `store`'s channel,
    /// hears `probe` sent on that channel: the `LISTEN` is up.
    async fn until_listening(
        store: &Store,
        rx: &mut tokio::sync::broadcast::Receiver<String>,
        probe: &str,
    ) {
        let Db::Postgres(pool) = &store.db else {
            unreachable!("LISTEN is PostgreSQL's")
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&*store.results_channel)
                .bind(probe)
                .execute(pool)
                .await
                .unwrap();
            if let Ok(Ok(got)) =
                tokio::time::timeout(std::time::Duration::from_millis(200), rx.recv()).await
                && got == probe
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "LISTEN never started"
            );
        }
    }

    #[tokio::test]
    async fn a_result_stored_by_one_instance_wakes_the_other() {
        let Some(url) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        else {
            eprintln!("skipped: LISTEN/NOTIFY is PostgreSQL's (TEST_DATABASE_URL unset)");
            return;
        };
        let schema = format!("t{}_verifier_notify", uuid::Uuid::new_v4().simple());
        let a = Store::connect(&url, Some(&schema)).await.unwrap();
        let b = Store::connect(&url, Some(&schema)).await.unwrap();
        let (tx, mut rx) = tokio::sync::broadcast::channel(16);
        let listening = tokio::spawn({
            let b = b.clone();
            async move { b.listen_results(tx).await }
        });
        // A verifier of its own in another schema of the same database.
        let other_schema = format!("t{}_verifier_other", uuid::Uuid::new_v4().simple());
        let c = Store::connect(&url, Some(&other_schema)).await.unwrap();
        let (other_tx, mut other_rx) = tokio::sync::broadcast::channel(16);
        let other_listening = tokio::spawn({
            let c = c.clone();
            async move { c.listen_results(other_tx).await }
        });
        let id = format!("r-{}", uuid::Uuid::new_v4().simple());
        a.insert_request(&row(&id, &format!("s-{id}"), 2000))
            .await
            .unwrap();
        until_listening(&c, &mut other_rx, &format!("probe-other-{id}")).await;
        until_listening(&a, &mut rx, &format!("probe-{id}")).await;
        // Only this request's id counts (probes may still arrive).
        let ours = |rx: &mut tokio::sync::broadcast::Receiver<String>, wait| {
            let id = id.clone();
            let mut rx = rx.resubscribe();
            async move {
                tokio::time::timeout(wait, async {
                    while let Ok(got) = rx.recv().await {
                        if got == id {
                            return;
                        }
                    }
                    std::future::pending::<()>().await
                })
                .await
                .is_ok()
            }
        };
        let notified = ours(&mut rx, std::time::Duration::from_secs(1));
        a.answer_request(&id, 1500, "{}", None)
            .await
            .unwrap()
            .unwrap();
        assert!(notified.await, "notified within 1 s");
        let again = ours(&mut rx, std::time::Duration::from_millis(300));
        assert_eq!(
            a.answer_request(&id, 1501, "{}", None).await.unwrap(),
            Err(Refused::Replay)
        );
        assert!(
            !again.await,
            "a result already stored is not announced again"
        );
        let mut heard = Vec::new();
        while let Ok(got) = other_rx.try_recv() {
            heard.push(got);
        }
        assert!(
            !heard.contains(&id),
            "a verifier in another schema does not hear this one's results: {heard:?}"
        );
        other_listening.abort();
        c.db.close().await;
        listening.abort();
        a.db.close().await;
        b.db.close().await;
        if let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect(&url).await {
            for schema in [&schema, &other_schema] {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(&mut c)
                .await;
            }
        }
    }

    #[test]
    fn each_schema_has_its_own_results_channel_within_postgresqls_name_length() {
        assert_eq!(results_channel(None), RESULTS_CHANNEL);
        assert_eq!(
            results_channel(Some("tenant_a")),
            "akashi_verifier_results_tenant_a"
        );
        let long = |last: char| format!("{}{last}", "s".repeat(62));
        let (x, y) = (
            results_channel(Some(&long('x'))),
            results_channel(Some(&long('y'))),
        );
        assert_eq!((x.len(), y.len()), (63, 63));
        assert_ne!(
            x, y,
            "long names that differ at the end get different channels"
        );
        assert!(x.starts_with("akashi_verifier_results_"));
        let widest = "w".repeat(63 - RESULTS_CHANNEL.len() - 1);
        assert_eq!(results_channel(Some(&widest)).len(), 63);
    }

    #[tokio::test]
    async fn an_encrypted_request_is_found_by_its_kid() {
        let (_dir, store) = temp_store().await;
        store.insert_request(&row("r0", "s0", 2000)).await.unwrap();
        let mut r = row("r1", "s1", 2000);
        r.response_mode = "direct_post.jwt".into();
        r.encryption_kid = Some("k1".into());
        r.encryption_key = Some(vec![1, 2, 3]);
        store.insert_request(&r).await.unwrap();
        assert_eq!(
            store.request_by_encryption_kid("k1").await.unwrap(),
            Some(r)
        );
        assert_eq!(store.request_by_encryption_kid("k2").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_request_is_answered_once() {
        let (_dir, store) = temp_store().await;
        store.insert_request(&row("r1", "s1", 2000)).await.unwrap();
        let open = store.request_by_state("s1").await.unwrap();
        assert_eq!(Refused::of(open.as_ref(), 1500), None);
        store
            .answer_request("r1", 1500, "{\"a\":1}", Some("h"))
            .await
            .unwrap()
            .expect("the first answer is taken");
        let answered = store.request("r1").await.unwrap().unwrap();
        assert_eq!(answered.responded_at, Some(1500));
        assert_eq!(answered.result.as_deref(), Some("{\"a\":1}"));
        assert_eq!(answered.response_code_hash.as_deref(), Some("h"));
        assert_eq!(
            Refused::of(Some(&answered), 1501),
            Some(Refused::Replay),
            "refused before it is verified"
        );
        assert_eq!(
            store
                .answer_request("r1", 1501, "{\"a\":2}", Some("g"))
                .await
                .unwrap(),
            Err(Refused::Replay)
        );
        // The refusal changes nothing.
        assert_eq!(store.request("r1").await.unwrap().unwrap(), answered);
    }

    #[tokio::test]
    async fn concurrent_answers_have_one_winner() {
        let (_dir, store) = temp_store().await;
        store.insert_request(&row("r1", "s1", 2000)).await.unwrap();
        let attempts = (0..8).map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let result = format!("{{\"answer\":{i}}}");
                (
                    i,
                    store
                        .answer_request("r1", 1500 + i, &result, None)
                        .await
                        .unwrap(),
                )
            })
        });
        let mut winners = Vec::new();
        for a in attempts {
            match a.await.unwrap() {
                (i, Ok(())) => winners.push(i),
                (_, Err(refused)) => assert_eq!(refused, Refused::Replay),
            }
        }
        assert_eq!(winners.len(), 1);
        let r = store.request("r1").await.unwrap().unwrap();
        let i = winners[0];
        assert_eq!(r.responded_at, Some(1500 + i));
        assert_eq!(r.result, Some(format!("{{\"answer\":{i}}}")));
    }

    #[tokio::test]
    async fn late_and_unknown_answers_are_refused() {
        let (_dir, store) = temp_store().await;
        store.insert_request(&row("r1", "s1", 2000)).await.unwrap();
        let open = store.request("r1").await.unwrap();
        assert_eq!(Refused::of(open.as_ref(), 2000), Some(Refused::Expired));
        assert_eq!(Refused::of(None, 1500), Some(Refused::UnknownState));
        assert_eq!(
            store.answer_request("r1", 2000, "{}", None).await.unwrap(),
            Err(Refused::Expired)
        );
        assert_eq!(
            store
                .answer_request("nope", 1500, "{}", None)
                .await
                .unwrap(),
            Err(Refused::UnknownState)
        );
        let r = store.request("r1").await.unwrap().unwrap();
        assert_eq!((r.responded_at, r.result), (None, None));
    }

    #[tokio::test]
    async fn refusals_are_recorded() {
        let (_dir, store) = temp_store().await;
        store.insert_request(&row("r1", "s1", 2000)).await.unwrap();
        store
            .answer_request("r1", 1500, "{\"a\":1}", None)
            .await
            .unwrap()
            .unwrap();
        store
            .record_refusal("r1", "{\"name\":\"replay\"}")
            .await
            .unwrap();
        let r = store.request("r1").await.unwrap().unwrap();
        assert_eq!(r.result.as_deref(), Some("{\"a\":1}"));
        assert_eq!(r.refusals, 1);
        assert_eq!(r.last_refusal.as_deref(), Some("{\"name\":\"replay\"}"));
    }

    /// The same database without its direct connections: every statement on sqlx, as with
    /// `AKASHI_SQLITE_DIRECT=0`.
    fn on_sqlx(store: &Store) -> Store {
        let mut db = store.db.clone();
        if let Db::Sqlite(sqlite) = &mut db {
            sqlite.direct = None;
        }
        Store {
            db,
            results_channel: store.results_channel.clone(),
        }
    }

    /// A SQLite file's store runs the round trip on the direct connections (reads on this
    /// thread, writes as writer jobs); both paths keep single use: a request answered
    /// once, a later answer refused as a replay, whichever path answered first; a response
    /// code used once.
    #[tokio::test]
    async fn both_sqlite_paths_keep_single_use() {
        let (_dir, direct) = temp_store().await;
        let writer = direct
            .direct()
            .expect("a SQLite file has direct connections")
            .writer
            .clone();
        let sqlx = on_sqlx(&direct);
        assert!(sqlx.direct().is_none());
        let (groups, jobs) = writer.stats();
        for (n, (first, second)) in [(&direct, &sqlx), (&sqlx, &direct)].into_iter().enumerate() {
            let (id, state) = (format!("r{n}"), format!("s{n}"));
            first.insert_request(&row(&id, &state, 2000)).await.unwrap();
            assert_eq!(
                second.request_by_state(&state).await.unwrap().map(|r| r.id),
                Some(id.clone())
            );
            first
                .answer_request(&id, 1500, "{\"a\":1}", Some("h"))
                .await
                .unwrap()
                .unwrap();
            for store in [first, second] {
                assert_eq!(
                    store
                        .answer_request(&id, 1501, "{\"a\":2}", Some("g"))
                        .await
                        .unwrap(),
                    Err(Refused::Replay)
                );
            }
            let stored = second.request(&id).await.unwrap().unwrap();
            assert_eq!(stored.responded_at, Some(1500));
            assert_eq!(stored.result.as_deref(), Some("{\"a\":1}"));
            assert_eq!(stored.response_code_hash.as_deref(), Some("h"));
            assert!(!second.use_response_code(&id, "g").await.unwrap());
            assert!(first.use_response_code(&id, "h").await.unwrap());
            assert!(!second.use_response_code(&id, "h").await.unwrap());
            assert!(!first.use_response_code(&id, "h").await.unwrap());
        }
        for store in [&direct, &sqlx] {
            assert_eq!(
                store
                    .answer_request("nope", 1500, "{}", None)
                    .await
                    .unwrap(),
                Err(Refused::UnknownState)
            );
        }
        // The direct store's writes went through the writer thread.
        let (groups_after, jobs_after) = writer.stats();
        assert!(
            groups_after > groups && jobs_after >= jobs + 9,
            "{groups_after} {jobs_after}"
        );
    }

    /// Polls `f` once: an `async` store write sends its job to the writer at its first
    /// poll, so the jobs polled while the writer is held queue up in this order.
    fn send_now<F: std::future::Future>(f: &mut std::pin::Pin<Box<F>>) {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            f.as_mut().poll(&mut cx).is_pending(),
            "answered before the writer ran it"
        );
    }

    /// Writes of several requests committed in one group: one that fails (a request whose
    /// id is taken) or is refused (a replayed response) rolls back only itself; the others
    /// are written and answered as alone.
    #[tokio::test]
    async fn a_failed_write_in_a_group_rolls_back_only_itself() {
        let (_dir, store) = temp_store().await;
        store.insert_request(&row("r1", "s1", 2000)).await.unwrap();
        store
            .answer_request("r1", 1400, "{\"a\":1}", None)
            .await
            .unwrap()
            .unwrap();
        store.insert_request(&row("r3", "s3", 2000)).await.unwrap();
        let writer = store.direct().expect("direct").writer.clone();
        // Hold the writer on a job until the others are queued behind it.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let held = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |_conn| {
                        let _ = wait.recv_timeout(std::time::Duration::from_secs(10));
                        Ok::<_, StoreError>(())
                    })
                    .await
            })
        };
        // The held job is running once a job queued after it is still unanswered; its
        // group is then the next one.
        let (groups_before, _) = writer.stats();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while writer.stats().0 == groups_before {
            assert!(
                std::time::Instant::now() < deadline,
                "the writer never took the held job"
            );
            tokio::task::yield_now().await;
        }
        let (groups, jobs) = writer.stats();
        let (r2, r1_again) = (row("r2", "s2", 2000), row("r1", "s-other", 2000));
        let mut new = Box::pin(store.insert_request(&r2));
        let mut taken = Box::pin(store.insert_request(&r1_again));
        let mut replay = Box::pin(store.answer_request("r1", 1500, "{\"a\":2}", None));
        let mut answer = Box::pin(store.answer_request("r3", 1500, "{\"a\":3}", None));
        let mut refusal = Box::pin(store.record_refusal("r1", "{\"name\":\"replay\"}"));
        send_now(&mut new);
        send_now(&mut taken);
        send_now(&mut replay);
        send_now(&mut answer);
        send_now(&mut refusal);
        go.send(()).unwrap();
        held.await.unwrap().unwrap();
        new.await.unwrap();
        assert!(
            matches!(taken.await, Err(StoreError::Sqlite(_))),
            "a request id taken is the job's own error"
        );
        assert_eq!(replay.await.unwrap(), Err(Refused::Replay));
        answer.await.unwrap().unwrap();
        refusal.await.unwrap();
        // One group of the five jobs after the held one's.
        assert_eq!(writer.stats(), (groups + 1, jobs + 5));
        let r1 = store.request("r1").await.unwrap().unwrap();
        assert_eq!((r1.state.as_str(), r1.responded_at), ("s1", Some(1400)));
        assert_eq!(r1.result.as_deref(), Some("{\"a\":1}"));
        assert_eq!(r1.refusals, 1);
        assert_eq!(store.request_by_state("s-other").await.unwrap(), None);
        assert!(store.request("r2").await.unwrap().is_some());
        let r3 = store.request("r3").await.unwrap().unwrap();
        assert_eq!(r3.responded_at, Some(1500));
        assert_eq!(r3.result.as_deref(), Some("{\"a\":3}"));
    }
}
