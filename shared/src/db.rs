//! Database plumbing shared by the services: connect to SQLite (the embedded default) or
//! PostgreSQL by URL, run the service's migrations, and dispatch one query body to
//! whichever backend is configured.
//!
//! Each service owns its database and writes its queries once with `$1` placeholders, which
//! both backends accept; [`with_db!`](crate::with_db) expands the body once per backend so
//! sqlx checks the types of each. Where the backends must differ (`FOR UPDATE SKIP
//! LOCKED`), a store matches on [`Db`] itself.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A connection pool to the service's database.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The migrations of one service, one set per backend.
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL must start with sqlite: or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    #[error("cannot create the directory for the SQLite file {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$db`, once per backend.
#[macro_export]
macro_rules! with_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

impl Db {
    /// Connects to `url` and runs `migrations`. SQLite files (and their directory) are
    /// created on first start; SQLite runs in WAL mode with `synchronous=NORMAL`.
    /// `pg_schema`, when given, is created if needed and becomes the `search_path` of every
    /// connection (tests use one schema per test and service).
    pub async fn connect(
        url: &str,
        migrations: &Migrations,
        pg_schema: Option<&str>,
    ) -> Result<Db, DbError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(DbError::Connect)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            if let Some(parent) = opts.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                {
                    std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                        path: parent.display().to_string(),
                        source,
                    })?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await
                .map_err(DbError::Connect)?;
            migrations.sqlite.run(&pool).await?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let mut opts = PgConnectOptions::from_str(url).map_err(DbError::Connect)?;
            if let Some(schema) = pg_schema {
                if schema.is_empty()
                    || !schema
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(DbError::UnsupportedUrl(format!(
                        "schema name {schema:?} must be [A-Za-z0-9_]+"
                    )));
                }
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(opts.clone())
                    .await
                    .map_err(DbError::Connect)?;
                // The name was checked to be [A-Za-z0-9_]+ above.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
                )))
                .execute(&admin)
                .await
                .map_err(DbError::Connect)?;
                admin.close().await;
                opts = opts.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect_with(opts)
                .await
                .map_err(DbError::Connect)?;
            migrations.postgres.run(&pool).await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(DbError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        with_db!(self, |pool| pool.close().await)
    }
}
