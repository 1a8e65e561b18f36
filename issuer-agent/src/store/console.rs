//! The console's storage: operators, their sessions and failed sign-ins (migration 0010),
//! and the registrations page: each person's status (the `status` column, kept in step by
//! migration 0011's triggers), counted, filtered, searched and read a page at a time after a
//! `(created_at, id)` key (never an offset, so a page costs the same at row 100,000 and
//! rows added meanwhile neither repeat nor push rows off a page).

use kit::{with_db, with_db_write};

use super::{AuditEntry, Store, StoreError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperatorRow {
    pub id: String,
    pub email: String,
    /// The address lower-cased: unique.
    pub email_key: String,
    pub display_name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub password_hash: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

pub(super) const OPERATOR_COLUMNS: &str =
    "id, email, email_key, display_name, role, password_hash, created_at, disabled_at";

/// A live session's operator, and when the session was last used.
#[derive(Debug, Clone, sqlx::FromRow)]
struct SessionRow {
    #[sqlx(flatten)]
    operator: OperatorRow,
    last_seen_at: i64,
}

/// Failed sign-ins for one typed address: how many since `first_at`, and until when the
/// address is locked (0: not locked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct SignInFailures {
    pub failures: i64,
    pub first_at: i64,
    pub locked_until: i64,
}

/// A registration as the registrations page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RegistrationListRow {
    pub id: String,
    pub achievement_id: String,
    pub achievement_name: String,
    pub name: String,
    pub email: String,
    pub created_at: i64,
    /// One of [`REGISTRATION_STATUSES`].
    pub status: String,
}

/// What a person's registration has come to, most advanced first: the first that holds
/// is the status. `mail_bounced`: an email was refused for good (the mail server refused
/// the address or the message, at once or in a later delivery status notification);
/// `mail_failed`: an email was given up on after its retries (the outbox stopped
/// retrying). A bounce ranks above a failure: the address itself was refused, which a
/// retry does not mend. `invitation_opened`: the person opened the link of their
/// invitation but has no wallet yet. Stored in `registrations.status` (migrations 0011
/// and 0021): triggers set it in the transaction that changes an offer, a credential, an
/// email, the invitation's opening or the wallet it depends on.
pub const REGISTRATION_STATUSES: [&str; 9] = [
    "revoked",
    "suspended",
    "badge_received",
    "mail_bounced",
    "mail_failed",
    "offer_sent",
    "wallet_registered",
    "invitation_opened",
    "invited",
];

/// Which registrations a page shows.
#[derive(Debug, Clone, Default)]
pub struct RegistrationQuery {
    /// One of [`REGISTRATION_STATUSES`], or every status.
    pub status: Option<String>,
    /// Part of the name or of the address, case-insensitive.
    pub search: Option<String>,
    /// The page starts after this `(created_at, id)`, newest first.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

/// `term` lower-cased as a `LIKE … ESCAPE '\'` pattern matching it anywhere.
fn contains_pattern(term: &str) -> String {
    let mut p = String::with_capacity(term.len() + 2);
    p.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Below this many rows holding a search term, a page is looked up through the trigram
/// index; from there on, by walking the key (at least one row in 20 matches, so a page of
/// 50 is full after about a thousand rows read).
const TRIGRAM_SELECTIVE: i64 = 5_000;

/// `term` as an FTS5 query of every trigram it holds, each quoted (its quotes doubled) so it
/// is never read as query syntax, all required: the rows holding them all, a superset of
/// those holding the term (the index keeps no positions, migration 0030), which the
/// `LIKE` then decides. A term of fewer than three characters has no trigram: `None`.
fn trigram_query(term: &str) -> Option<String> {
    let chars: Vec<char> = term.to_lowercase().chars().collect();
    let trigrams: Vec<String> = chars
        .windows(3)
        .map(|t| format!("\"{}\"", t.iter().collect::<String>().replace('"', "\"\"")))
        .collect();
    (!trigrams.is_empty()).then(|| trigrams.join(" "))
}

impl Store {
    /// Inserts an operator with its audit entry, in one transaction; false (nothing
    /// written) when the address already has an operator.
    pub async fn insert_operator(
        &self,
        o: &OperatorRow,
        audit: &AuditEntry,
    ) -> Result<bool, StoreError> {
        Ok(with_db_write!(&self.db, |pool| {
            let mut tx = kit::db::BeginWrite::begin_write(pool).await?;
            let inserted = sqlx::query(
                "INSERT INTO operators (id, email, email_key, display_name, role, password_hash, created_at, disabled_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (email_key) DO NOTHING",
            )
            .bind(&o.id)
            .bind(&o.email)
            .bind(&o.email_key)
            .bind(&o.display_name)
            .bind(&o.role)
            .bind(&o.password_hash)
            .bind(o.created_at)
            .bind(o.disabled_at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                insert_audit!(&mut *tx, audit);
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            inserted
        }))
    }

    /// Every operator, oldest first.
    pub async fn operators(&self) -> Result<Vec<OperatorRow>, StoreError> {
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators ORDER BY created_at, id");
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .fetch_all(pool)
        .await?))
    }

    pub async fn operator_by_email_key(
        &self,
        email_key: &str,
    ) -> Result<Option<OperatorRow>, StoreError> {
        let sql = format!("SELECT {OPERATOR_COLUMNS} FROM operators WHERE email_key = $1");
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(email_key)
        .fetch_optional(pool)
        .await?))
    }

    pub async fn sign_in_failures(
        &self,
        email_key: &str,
    ) -> Result<Option<SignInFailures>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT failures, first_at, locked_until FROM console_sign_in_failures WHERE email_key = $1"
        )
        .bind(email_key)
        .fetch_optional(pool)
        .await?
        }))
    }

    pub async fn set_sign_in_failures(
        &self,
        email_key: &str,
        f: SignInFailures,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "INSERT INTO console_sign_in_failures (email_key, failures, first_at, locked_until) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (email_key) DO UPDATE \
             SET failures = $2, first_at = $3, locked_until = $4"
        )
        .bind(email_key)
        .bind(f.failures)
        .bind(f.first_at)
        .bind(f.locked_until)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn clear_sign_in_failures(&self, email_key: &str) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM console_sign_in_failures WHERE email_key = $1"
        )
        .bind(email_key)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn insert_console_session(
        &self,
        id_hash: &str,
        operator_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| {
            sqlx::query(
            "INSERT INTO console_sessions (id_hash, operator_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)"
        )
        .bind(id_hash)
        .bind(operator_id)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected()
        });
        Ok(())
    }

    /// The operator of a session created after `created_after` and seen after
    /// `seen_after`, unless the operator is disabled, with when the session was last seen.
    pub async fn console_session(
        &self,
        id_hash: &str,
        created_after: i64,
        seen_after: i64,
    ) -> Result<Option<(OperatorRow, i64)>, StoreError> {
        let sql = format!(
            "SELECT {}, s.last_seen_at FROM console_sessions s JOIN operators o ON o.id = s.operator_id \
             WHERE s.id_hash = $1 AND s.created_at > $2 AND s.last_seen_at > $3 AND o.disabled_at IS NULL",
            OPERATOR_COLUMNS
                .split(", ")
                .map(|c| format!("o.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row: Option<SessionRow> = with_db!(&self.db, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(id_hash)
        .bind(created_after)
        .bind(seen_after)
        .fetch_optional(pool)
        .await?);
        Ok(row.map(|r| (r.operator, r.last_seen_at)))
    }

    pub async fn touch_console_session(&self, id_hash: &str, now: i64) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "UPDATE console_sessions SET last_seen_at = $2 WHERE id_hash = $1"
        )
        .bind(id_hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    pub async fn delete_console_session(&self, id_hash: &str) -> Result<(), StoreError> {
        with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM console_sessions WHERE id_hash = $1"
        )
        .bind(id_hash)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Deletes sessions created before `created_before` or last seen before `seen_before`.
    pub async fn purge_console_sessions(
        &self,
        created_before: i64,
        seen_before: i64,
    ) -> Result<u64, StoreError> {
        Ok(with_db_write!(&self.db, |pool| sqlx::query(
            "DELETE FROM console_sessions WHERE created_at <= $1 OR last_seen_at <= $2"
        )
        .bind(created_before)
        .bind(seen_before)
        .execute(pool)
        .await?
        .rows_affected()))
    }

    /// One page of the registrations page, newest first.
    pub async fn registration_page(
        &self,
        q: &RegistrationQuery,
    ) -> Result<Vec<RegistrationListRow>, StoreError> {
        let term = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let search = term.map(contains_pattern);
        // On SQLite, a term of three characters or more is first looked up in the trigram
        // index (0011, 0030); the `LIKE` below still decides.
        let phrase = term
            .filter(|_| matches!(self.db, kit::db::Db::Sqlite(_)))
            .and_then(trigram_query);
        Ok(with_db!(&self.db, |pool| {
            // The trigram index pays when the term is rare; a common one is found soon
            // enough by walking the page's key (the rows it must read before the page is
            // full are few).
            let phrase = match phrase.as_ref() {
                Some(p) => {
                    let matches: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM (SELECT rowid FROM registrations_fts \
                         WHERE registrations_fts MATCH $1 LIMIT $2) m",
                    )
                    .bind(p.clone())
                    .bind(TRIGRAM_SELECTIVE)
                    .fetch_one(pool)
                    .await?;
                    (matches < TRIGRAM_SELECTIVE).then(|| p.clone())
                }
                None => None,
            };
            // The planner walks `registrations_status` (a status) or `registrations_created`
            // backwards and stops at the limit.
            let mut b = sqlx::QueryBuilder::new(
                "SELECT r.id, r.achievement_id, a.name AS achievement_name, r.name, r.email, r.created_at, \
                 r.status FROM registrations r JOIN achievements a ON a.id = r.achievement_id \
                 WHERE 1 = 1",
            );
            if let Some((at, id)) = &q.before {
                b.push(" AND (r.created_at < ")
                    .push_bind(*at)
                    .push(" OR (r.created_at = ")
                    .push_bind(*at)
                    .push(" AND r.id < ")
                    .push_bind(id.clone())
                    .push("))");
            }
            if let Some(p) = &search {
                if let Some(phrase) = &phrase {
                    b.push(" AND r.rowid IN (SELECT rowid FROM registrations_fts WHERE registrations_fts MATCH ")
                        .push_bind(phrase.clone())
                        .push(")");
                }
                // `search`: the name lower-cased and the address, a line each (0011).
                b.push(" AND r.search LIKE ")
                    .push_bind(p.clone())
                    .push(" ESCAPE '\\'");
            }
            if let Some(status) = &q.status {
                b.push(" AND r.status = ").push_bind(status.clone());
            }
            b.push(" ORDER BY r.created_at DESC, r.id DESC LIMIT ")
                .push_bind(q.limit);
            b.build_query_as::<RegistrationListRow>()
                .fetch_all(pool)
                .await?
        }))
    }

    /// How many registrations have each status (statuses no registration has are left out),
    /// read from the counts the triggers of migration 0011 keep.
    pub async fn registration_status_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT status, CAST(SUM(n) AS BIGINT) FROM registration_counts GROUP BY status HAVING SUM(n) <> 0"
        )
        .fetch_all(pool)
        .await?
        }))
    }

    /// Each achievement with how many registrations it has: id, name, retired, count.
    pub async fn achievement_registration_counts(
        &self,
    ) -> Result<Vec<(String, String, bool, i64)>, StoreError> {
        let rows: Vec<(String, String, Option<i64>, i64)> = with_db!(&self.db, |pool| {
            sqlx::query_as(
                "SELECT a.id, a.name, a.retired_at, CAST(COALESCE(SUM(c.n), 0) AS BIGINT) FROM achievements a \
                 LEFT JOIN registration_counts c ON c.achievement_id = a.id \
                 GROUP BY a.id, a.name, a.retired_at, a.created_at ORDER BY a.created_at, a.id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, retired, n)| (id, name, retired.is_some(), n))
            .collect())
    }

    /// The ids of the offers made for a registration that have credentials, newest first.
    pub async fn issued_offers_of_registration(
        &self,
        registration_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(with_db!(&self.db, |pool| {
            sqlx::query_as(
            "SELECT o.id, MIN(c.id) FROM offers o JOIN credentials c ON c.offer_id = o.id \
             WHERE o.registration_id = $1 GROUP BY o.id, o.created_at ORDER BY o.created_at DESC, o.id"
        )
        .bind(registration_id)
        .fetch_all(pool)
        .await?
        }))
    }

    /// The console status of registration `id` (none: no such registration).
    pub async fn registration_status(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_scalar(
            "SELECT status FROM registrations WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await?))
    }

    /// The audit entries about `subjects`, oldest first: when, the action, and the name of
    /// the operator who made it (none: the admin API, the command line, a wallet).
    pub async fn audit_of_subjects(
        &self,
        subjects: &[String],
    ) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        Ok(with_db!(&self.db, |pool| {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT a.at, a.action, o.display_name FROM audit_log a \
                 LEFT JOIN operators o ON o.id = a.operator_id WHERE a.subject IN (",
            );
            let mut list = b.separated(", ");
            for subject in subjects {
                list.push_bind(subject.clone());
            }
            b.push(") ORDER BY a.at, a.id");
            b.build_query_as::<(i64, String, Option<String>)>()
                .fetch_all(pool)
                .await?
        }))
    }

    /// The audit entries made by operator `operator_id`, newest first.
    pub async fn audit_of_operator(
        &self,
        operator_id: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(with_db!(&self.db, |pool| sqlx::query_as(
            "SELECT at, action, subject, detail, operator_id FROM audit_log \
             WHERE operator_id = $1 ORDER BY at DESC, id LIMIT $2"
        )
        .bind(operator_id)
        .bind(limit)
        .fetch_all(pool)
        .await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{offer, test_store};
    use crate::store::{
        BounceSource, Bounced, EventRow, OutboxRow, RegistrationInsert, RegistrationRow,
    };

    fn operator(id: &str, email: &str) -> OperatorRow {
        OperatorRow {
            id: id.into(),
            email: email.into(),
            email_key: email.to_lowercase(),
            display_name: "Ada".into(),
            role: "admin".into(),
            password_hash: "$argon2id$…".into(),
            created_at: 100,
            disabled_at: None,
        }
    }

    fn audit(subject: &str) -> AuditEntry {
        AuditEntry {
            at: 100,
            action: "operator.created".into(),
            subject: subject.into(),
            detail: "{}".into(),
            operator_id: None,
        }
    }

    #[tokio::test]
    async fn operators_are_unique_per_address_and_sessions_end_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        assert!(
            store
                .insert_operator(&operator("o1", "ada@example.org"), &audit("o1"))
                .await
                .unwrap()
        );
        // The same address in other case: refused, and its audit entry not written.
        assert!(
            !store
                .insert_operator(&operator("o2", "ADA@example.org"), &audit("o2"))
                .await
                .unwrap()
        );
        assert_eq!(store.operators().await.unwrap().len(), 1);
        assert_eq!(store.audit_log(10).await.unwrap().len(), 1);

        // A session: found while fresh, not once idle or too old.
        store
            .insert_console_session("h1", "o1", 1_000)
            .await
            .unwrap();
        let (o, seen) = store.console_session("h1", 0, 999).await.unwrap().unwrap();
        assert_eq!((o.id.as_str(), seen), ("o1", 1_000));
        assert!(
            store
                .console_session("h1", 0, 1_000)
                .await
                .unwrap()
                .is_none(),
            "idle"
        );
        assert!(
            store
                .console_session("h1", 1_000, 0)
                .await
                .unwrap()
                .is_none(),
            "too old"
        );
        store.touch_console_session("h1", 2_000).await.unwrap();
        assert!(
            store
                .console_session("h1", 0, 1_500)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .console_session("other", 0, 0)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.purge_console_sessions(0, 1_999).await.unwrap(), 0);
        assert_eq!(store.purge_console_sessions(0, 2_000).await.unwrap(), 1);
        assert!(store.console_session("h1", 0, 0).await.unwrap().is_none());

        // Failed sign-ins are kept per address typed, known or not.
        let f = SignInFailures {
            failures: 2,
            first_at: 5,
            locked_until: 0,
        };
        store
            .set_sign_in_failures("ghost@example.org", f)
            .await
            .unwrap();
        assert_eq!(
            store.sign_in_failures("ghost@example.org").await.unwrap(),
            Some(f)
        );
        store
            .clear_sign_in_failures("ghost@example.org")
            .await
            .unwrap();
        assert_eq!(
            store.sign_in_failures("ghost@example.org").await.unwrap(),
            None
        );
        store.db.close().await;
    }

    fn person(i: usize, created_at: i64) -> RegistrationInsert {
        let id = format!("r{i:04}");
        RegistrationInsert {
            registration: RegistrationRow {
                id: id.clone(),
                achievement_id: "a1".into(),
                name: match i {
                    7 => "100% Ada_".into(),
                    8 => "Abcz Bcd".into(),
                    _ => format!("Person {i}"),
                },
                email: format!("p{i}@example.org"),
                email_key: format!("p{i}@example.org"),
                locale: "en".into(),
                tx_code: 0,
                evidence: None,
                results: None,
                invitation_expires_at: 10_000,
                wallet_registered_at: i.is_multiple_of(10).then_some(created_at),
                invitation_opened_at: None,
                created_at,
            },
            offer: None,
            messages: vec![OutboxRow {
                id: format!("m{i}"),
                registration_id: id.clone(),
                offer_id: None,
                kind: "invitation".into(),
                recipient: format!("p{i}@example.org"),
                created_at,
                attempts: 0,
                next_attempt_at: if i == 3 { i64::MAX } else { created_at },
                sent_at: None,
                last_error: None,
                bounced_at: None,
            }],
            events: vec![EventRow {
                registration_id: id,
                at: created_at,
                event: "registered".into(),
                detail: "{}".into(),
            }],
        }
    }

    #[tokio::test]
    async fn registration_pages_follow_their_key_filter_and_search() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        offer(&store).await;
        // 120 people over 12 seconds, ten a second: pages cut inside a second too.
        let items: Vec<_> = (0..120)
            .map(|i| person(i, 1_000 + (i / 10) as i64))
            .collect();
        store.insert_registrations(&items).await.unwrap();

        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .registration_page(&RegistrationQuery {
                    before: before.clone(),
                    limit: 25,
                    ..RegistrationQuery::default()
                })
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            before = page.last().map(|r| (r.created_at, r.id.clone()));
            seen.extend(page.into_iter().map(|r| r.id));
        }
        let mut expected: Vec<String> = (0..120).map(|i| format!("r{i:04}")).collect();
        expected.reverse();
        assert_eq!(seen, expected, "newest first, each once");

        let counts: std::collections::HashMap<String, i64> = store
            .registration_status_counts()
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(counts["mail_failed"], 1);
        assert_eq!(counts["wallet_registered"], 12);
        assert_eq!(counts["invited"], 107);
        let failed = store
            .registration_page(&RegistrationQuery {
                status: Some("mail_failed".into()),
                limit: 10,
                ..RegistrationQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            failed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["r0003"]
        );

        // Search: case-insensitive, by name or address; LIKE's wildcards match literally.
        let search = |q: &str| RegistrationQuery {
            search: Some(q.into()),
            limit: 200,
            ..RegistrationQuery::default()
        };
        assert_eq!(
            store
                .registration_page(&search("PERSON 11"))
                .await
                .unwrap()
                .len(),
            11
        );
        assert_eq!(
            store
                .registration_page(&search("p42@"))
                .await
                .unwrap()
                .len(),
            1
        );
        let literal = store.registration_page(&search("100%")).await.unwrap();
        assert_eq!(
            literal.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["r0007"]
        );
        assert_eq!(
            store.registration_page(&search("a_")).await.unwrap().len(),
            1
        );
        assert!(
            store
                .registration_page(&search("' OR 1=1 --"))
                .await
                .unwrap()
                .is_empty()
        );
        // The trigram index answers the rows holding every trigram of the term ("abc" and
        // "bcd" are both in "abcz bcd"); the row decides whether it holds the term.
        assert!(
            store
                .registration_page(&search("abcd"))
                .await
                .unwrap()
                .is_empty()
        );
        let found = store.registration_page(&search("z bc")).await.unwrap();
        assert_eq!(
            found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["r0008"]
        );
        // Query syntax of the trigram index is only text.
        for hostile in ["\"person\" OR \"p1\"", "person*", "NEAR(person 1)", "\""] {
            assert!(
                store
                    .registration_page(&search(hostile))
                    .await
                    .unwrap()
                    .is_empty(),
                "{hostile}"
            );
        }
        store.db.close().await;
    }

    /// A store at migration 0031 on the given database, for the upgrade test.
    async fn store_before_0032(url: &str, schema: Option<&str>) -> Store {
        use std::sync::LazyLock;
        fn upto_0031(all: &sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
            sqlx::migrate::Migrator::with_migrations(
                all.iter().filter(|m| m.version <= 31).cloned().collect(),
            )
        }
        static SQLITE_0031: LazyLock<sqlx::migrate::Migrator> =
            LazyLock::new(|| upto_0031(&crate::store::SQLITE));
        static POSTGRES_0031: LazyLock<sqlx::migrate::Migrator> =
            LazyLock::new(|| upto_0031(&crate::store::POSTGRES));
        let migrations = kit::db::Migrations {
            sqlite: &SQLITE_0031,
            postgres: &POSTGRES_0031,
        };
        Store {
            db: kit::db::Db::connect(url, &migrations, schema)
                .await
                .unwrap(),
        }
    }

    async fn term(store: &Store, search: &str) -> Vec<String> {
        store
            .registration_page(&RegistrationQuery {
                search: Some(search.into()),
                limit: 50,
                ..RegistrationQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    /// Every registration as the page lists it: id, status, name and address.
    async fn listed(store: &Store) -> Vec<(String, String, String, String)> {
        store
            .registration_page(&RegistrationQuery {
                limit: 100,
                ..RegistrationQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.status, r.name, r.email))
            .collect()
    }

    /// Migration 0032 (one index of the addresses instead of two) rebuilds `registrations`
    /// on SQLite. What a store held before it is all there after: the rows with their
    /// statuses, counts, history, messages and offers, found by the full-text search (its
    /// rowids kept), unique per (achievement, address) still, found by address alone, with
    /// foreign keys enforced again. On SQLite the script also runs again whole after a
    /// crash between its commit and the migration's record, and changes nothing.
    #[tokio::test]
    async fn registrations_made_before_0032_come_through_its_rebuild_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (url, schema) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => (
                url,
                Some(format!("t{}_upgrade", uuid::Uuid::new_v4().simple())),
            ),
            _ => (format!("sqlite://{}/issuer.db", dir.path().display()), None),
        };
        let before = store_before_0032(&url, schema.as_deref()).await;
        offer(&before).await;
        let items: Vec<_> = (0..40).map(|i| person(i, 1_000 + i as i64)).collect();
        before.insert_registrations(&items).await.unwrap();
        before
            .wallet_registered("p1@example.org", 1_500, &|r| crate::store::Advance {
                offer: offer_for(&r.id, "o-r1"),
                messages: vec![],
                events: vec![],
            })
            .await
            .unwrap();
        let mut counts = before.registration_status_counts().await.unwrap();
        let mut rows = listed(&before).await;
        assert_eq!(rows.len(), 40);
        assert_eq!(term(&before, "son 17").await, ["r0017"]);
        before.db.close().await;

        let runs = if schema.is_none() { 2 } else { 1 };
        for run in 0..runs {
            let after = Store::connect(&url, schema.as_deref()).await.unwrap();
            assert_eq!(listed(&after).await, rows, "run {run}");
            assert_eq!(after.registration_status_counts().await.unwrap(), counts);
            assert_eq!(term(&after, "son 17").await, ["r0017"]);
            assert_eq!(status_of(&after, "r0001").await, "offer_sent");
            assert_eq!(status_of(&after, "r0003").await, "mail_failed");
            assert_eq!(status_of(&after, "r0010").await, "wallet_registered");
            // The full-text index still points at the right rows.
            assert_eq!(term(&after, "p23@example").await, ["r0023"]);
            assert_eq!(term(&after, "abcz bcd").await, ["r0008"]);
            assert_eq!(after.registration_events("r0005").await.unwrap().len(), 1);
            assert_eq!(
                after
                    .issued_offers_of_registration("r0001")
                    .await
                    .unwrap()
                    .len(),
                0,
                "an offer without a credential is not an issued one"
            );
            // By (achievement, address): the same address again is not new (twice: the
            // same person, and another name at a known address); a new address is.
            let relabel = |mut p: RegistrationInsert, id: String| {
                p.registration.id = id.clone();
                p.messages[0].id = format!("m-{id}");
                p.messages[0].registration_id = id.clone();
                p.events[0].registration_id = id;
                p
            };
            let again = relabel(person(7, 3_000), format!("r-again-{run}"));
            let mut other = relabel(person(50 + run, 3_000), format!("r-other-{run}"));
            other.registration.email = format!("P{}@Example.org", 50 + run);
            let mut twice = relabel(person(41, 3_000), format!("r-twice-{run}"));
            twice.registration.email_key = "p9@example.org".into();
            let new = after
                .insert_registrations(&[again, twice, other])
                .await
                .unwrap();
            assert_eq!(new, [false, false, true], "run {run}");
            // By address alone: the wallet's callback for one person finds their row.
            let advanced = after
                .wallet_registered("p12@example.org", 3_100, &|r| crate::store::Advance {
                    offer: offer_for(&r.id, &format!("o-{}", r.id)),
                    messages: vec![],
                    events: vec![],
                })
                .await
                .unwrap();
            assert_eq!(advanced, if run == 0 { vec!["r0012"] } else { vec![] });
            match &after.db {
                kit::db::Db::Sqlite(db) => {
                    let on: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                        .fetch_one(&db.writer)
                        .await
                        .unwrap();
                    assert_eq!(on, 1, "foreign keys are enforced again");
                    let ok: String = sqlx::query_scalar("PRAGMA integrity_check")
                        .fetch_one(&db.writer)
                        .await
                        .unwrap();
                    assert_eq!(ok, "ok");
                    let dangling: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
                        .fetch_all(&db.writer)
                        .await
                        .unwrap();
                    assert!(dangling.is_empty(), "{dangling:?}");
                    let orphan = sqlx::query(
                        "INSERT INTO registration_events (id, registration_id, at, event, detail) \
                         VALUES ('e-x', 'no-such-registration', 1, 'x', '{}')",
                    )
                    .execute(&db.writer)
                    .await;
                    assert!(orphan.is_err(), "a history for no registration is refused");
                    let indexes: Vec<String> = sqlx::query_scalar(
                        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'registrations' ORDER BY name",
                    )
                    .fetch_all(&db.writer)
                    .await
                    .unwrap();
                    assert_eq!(
                        indexes,
                        [
                            "registrations_created",
                            "registrations_search",
                            "registrations_status",
                            "sqlite_autoindex_registrations_1",
                            "sqlite_autoindex_registrations_2",
                        ]
                    );
                    // A crash after the script's COMMIT and before sqlx recorded it: the
                    // next start runs the script again.
                    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 32")
                        .execute(&db.writer)
                        .await
                        .unwrap();
                }
                kit::db::Db::Postgres(pool) => {
                    let indexes: Vec<String> = sqlx::query_scalar(
                        "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
                         AND tablename = 'registrations' ORDER BY 1",
                    )
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    assert!(
                        indexes.contains(&"registrations_email_achievement".to_owned())
                            && !indexes.contains(&"registrations_email".to_owned()),
                        "{indexes:?}"
                    );
                }
            }
            // What the next run must find as it was.
            rows = listed(&after).await;
            counts = after.registration_status_counts().await.unwrap();
            after.db.close().await;
        }
    }

    /// The status of registration `id` as the page lists it.
    async fn status_of(store: &Store, id: &str) -> String {
        store
            .registration_page(&RegistrationQuery {
                limit: 200,
                ..RegistrationQuery::default()
            })
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| r.status)
            .unwrap()
    }

    fn offer_for(registration_id: &str, id: &str) -> crate::store::OfferRow {
        crate::store::OfferRow {
            id: id.into(),
            achievement_id: "a1".into(),
            recipient_name: "Ada".into(),
            recipient_email: "ada@example.org".into(),
            code_hash: format!("code-{id}"),
            tx_code_hash: None,
            tx_code_failures: 0,
            expires_at: 10_000,
            redeemed_at: None,
            token_hash: None,
            token_expires_at: None,
            created_at: 2_000,
            evidence: None,
            results: None,
            registration_id: Some(registration_id.into()),
            decision: None,
            decided_at: None,
        }
    }

    /// The stored status follows every change it depends on, in the change's transaction,
    /// and the counts and the filtered page read it.
    #[tokio::test]
    async fn the_stored_status_follows_offers_credentials_revocation_and_failed_mail() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        offer(&store).await;
        let items: Vec<_> = (0..4).map(|i| person(i, 1_000 + i as i64)).collect();
        store.insert_registrations(&items).await.unwrap();
        // Person 0 registered with a wallet, 3's invitation was given up on.
        assert_eq!(status_of(&store, "r0000").await, "wallet_registered");
        assert_eq!(status_of(&store, "r0001").await, "invited");
        assert_eq!(status_of(&store, "r0003").await, "mail_failed");

        // The wallet calls back for person 1: an offer is made in the same transaction.
        let advanced = store
            .wallet_registered("p1@example.org", 1_500, &|r| crate::store::Advance {
                offer: offer_for(&r.id, "o-r1"),
                messages: vec![],
                events: vec![],
            })
            .await
            .unwrap();
        assert_eq!(advanced, ["r0001"]);
        assert_eq!(status_of(&store, "r0001").await, "offer_sent");

        // A badge is issued for that offer, then revoked, then restored.
        let credential = crate::store::CredentialRow {
            id: "c-r1".into(),
            offer_id: "o-r1".into(),
            configuration: "ob3_sd_jwt".into(),
            holder_jwk: "{}".into(),
            status_list: 1,
            status_idx: 0,
            status: 0,
            issued_at: 2_100,
            expires_at: None,
        };
        let issued = AuditEntry {
            at: 2_100,
            action: "credential.issued".into(),
            subject: credential.id.clone(),
            detail: "{}".into(),
            operator_id: None,
        };
        store
            .insert_deferred(&crate::store::DeferredRow {
                transaction_hash: "t1".into(),
                offer_id: credential.offer_id.clone(),
                configuration: credential.configuration.clone(),
                holder_jwks: "[]".into(),
                created_at: 2_000,
                expires_at: 9_000,
                completed_at: None,
            })
            .await
            .unwrap();
        store
            .issue_credentials(
                crate::store::Spend::Deferred {
                    transaction_hash: "t1",
                    now: 2_100,
                },
                std::slice::from_ref(&credential),
                std::slice::from_ref(&issued),
                crate::store::IssuedLog::default(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status_of(&store, "r0001").await, "badge_received");
        let mut revoke = audit("c-r1");
        revoke.action = "credential.status".into();
        store.set_badge_status("c-r1", 1, &revoke).await.unwrap();
        assert_eq!(status_of(&store, "r0001").await, "revoked");
        store.set_badge_status("c-r1", 2, &revoke).await.unwrap();
        assert_eq!(status_of(&store, "r0001").await, "suspended");
        store.set_badge_status("c-r1", 0, &revoke).await.unwrap();
        assert_eq!(status_of(&store, "r0001").await, "badge_received");

        // Person 2's invitation fails for good.
        let claimed = crate::store::OUTBOX
            .claim(&store.db, "w1", 5_000, 5_060, 10)
            .await
            .unwrap();
        assert!(claimed.iter().any(|m| m.id == "m2"));
        assert!(
            crate::store::OUTBOX
                .failed(
                    &store.db,
                    "m2",
                    "w1",
                    kit::mail::outbox::NEVER,
                    "550 no such user"
                )
                .await
                .unwrap()
        );
        assert_eq!(status_of(&store, "r0002").await, "mail_failed");
        let counts: std::collections::HashMap<String, i64> = store
            .registration_status_counts()
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(counts["mail_failed"], 2);
        assert_eq!(counts["badge_received"], 1);
        assert_eq!(counts["wallet_registered"], 1);
        assert_eq!(counts.values().sum::<i64>(), 4);
        assert!(
            !counts.contains_key("revoked"),
            "restored: no longer counted"
        );
        let per_achievement = store.achievement_registration_counts().await.unwrap();
        assert_eq!(per_achievement, [("a1".into(), "Badge".into(), false, 4)]);
        let failed = store
            .registration_page(&RegistrationQuery {
                status: Some("mail_failed".into()),
                limit: 10,
                ..RegistrationQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            failed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["r0003", "r0002"]
        );
        store.db.close().await;
    }

    /// Migration 0021's statuses: the invitation opened (once, between invited and wallet
    /// registered), an email refused at delivery (never retried, above a failure), and one
    /// reported bounced later; a bounced email put back in the queue is bounced no more.
    #[tokio::test]
    async fn the_stored_status_follows_an_opened_invitation_and_bounces() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        offer(&store).await;
        let items: Vec<_> = (1..7).map(|i| person(i, 1_000 + i as i64)).collect();
        store.insert_registrations(&items).await.unwrap();
        assert_eq!(status_of(&store, "r0001").await, "invited");

        // Opened: recorded once, in the history; a wallet then ranks above it.
        assert!(store.invitation_opened("r0001", 1_100).await.unwrap());
        assert!(!store.invitation_opened("r0001", 1_200).await.unwrap());
        assert!(!store.invitation_opened("no-such", 1_200).await.unwrap());
        assert_eq!(status_of(&store, "r0001").await, "invitation_opened");
        let events = store.registration_events("r0001").await.unwrap();
        let opened: Vec<i64> = events
            .iter()
            .filter(|e| e.event == "invitation_opened")
            .map(|e| e.at)
            .collect();
        assert_eq!(opened, [1_100]);
        store
            .wallet_registered("p1@example.org", 1_300, &|r| crate::store::Advance {
                offer: offer_for(&r.id, "o-r1"),
                messages: vec![],
                events: vec![],
            })
            .await
            .unwrap();
        assert_eq!(status_of(&store, "r0001").await, "offer_sent");

        // Refused while delivered (claimed by the worker): bounced at once, given up.
        let claimed = crate::store::OUTBOX
            .claim(&store.db, "w1", 5_000, 5_060, 10)
            .await
            .unwrap();
        assert!(claimed.iter().any(|m| m.id == "m2"));
        // Not the worker's claim: nothing marked.
        assert_eq!(
            store
                .message_bounced("m2", BounceSource::Smtp, Some("w2"), 5_001, "550")
                .await
                .unwrap(),
            Bounced::NotFound
        );
        assert_eq!(
            store
                .message_bounced(
                    "m2",
                    BounceSource::Smtp,
                    Some("w1"),
                    5_001,
                    "550 5.1.1 unknown"
                )
                .await
                .unwrap(),
            Bounced::Marked {
                registration_id: "r0002".into()
            }
        );
        let m2 = store.outbox_message("m2").await.unwrap().unwrap();
        assert_eq!(
            (
                m2.bounced_at,
                m2.next_attempt_at,
                m2.sent_at,
                m2.last_error.as_deref()
            ),
            (
                Some(5_001),
                kit::mail::outbox::NEVER,
                None,
                Some("550 5.1.1 unknown")
            )
        );
        assert_eq!(status_of(&store, "r0002").await, "mail_bounced");
        // Person 3's invitation was given up on (mail_failed) and then bounces too: a bounce
        // ranks above a failure, and is counted once.
        assert_eq!(status_of(&store, "r0003").await, "mail_failed");
        assert_eq!(
            store
                .message_bounced("m3", BounceSource::Dsn, None, 5_002, "5.1.1")
                .await
                .unwrap(),
            Bounced::Marked {
                registration_id: "r0003".into()
            }
        );
        assert_eq!(status_of(&store, "r0003").await, "mail_bounced");

        // Person 4's invitation was sent, then a notification says it bounced: once.
        store
            .outbox_sent(
                &claimed
                    .iter()
                    .filter(|m| m.id == "m4")
                    .cloned()
                    .collect::<Vec<_>>(),
                "w1",
                5_010,
            )
            .await
            .unwrap();
        assert_eq!(status_of(&store, "r0004").await, "invited");
        for (id, expected) in [
            ("m4", "marked"),
            ("m4", "already"),
            ("no-such", "not found"),
        ] {
            let got = store
                .message_bounced(id, BounceSource::Dsn, None, 6_000, "5.1.1 (smtp; 550)")
                .await
                .unwrap();
            let got = match got {
                Bounced::Marked { .. } => "marked",
                Bounced::Already => "already",
                Bounced::NotFound => "not found",
            };
            assert_eq!(got, expected, "{id}");
        }
        let m4 = store.outbox_message("m4").await.unwrap().unwrap();
        assert_eq!((m4.sent_at, m4.bounced_at), (Some(5_010), Some(6_000)));
        assert_eq!(status_of(&store, "r0004").await, "mail_bounced");
        let history = store.registration_events("r0004").await.unwrap();
        let bounced: Vec<&str> = history
            .iter()
            .filter(|e| e.event == "mail_bounced")
            .map(|e| e.detail.as_str())
            .collect();
        assert_eq!(bounced.len(), 1, "{history:?}");
        assert!(bounced[0].contains("\"via\":\"dsn\""), "{}", bounced[0]);

        let counts: std::collections::HashMap<String, i64> = store
            .registration_status_counts()
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(counts["mail_bounced"], 3);
        assert!(!counts.contains_key("mail_failed"), "{counts:?}");
        assert_eq!(counts["offer_sent"], 1);
        assert_eq!(counts.values().sum::<i64>(), 6);
        let page = store
            .registration_page(&RegistrationQuery {
                status: Some("mail_bounced".into()),
                limit: 10,
                ..RegistrationQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(
            page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["r0004", "r0003", "r0002"]
        );
        // The delivery page counts them as bounced, not failed or sent.
        let delivery: std::collections::HashMap<&str, i64> = store
            .delivery_counts(6_000)
            .await
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(
            (delivery["bounced"], delivery["failed"], delivery["sent"]),
            (3, 0, 0)
        );

        // An operator puts the refused email back in the queue: no longer bounced.
        let requeue = audit("m2");
        assert!(matches!(
            store
                .requeue_failed_message("m2", 7_000, &requeue)
                .await
                .unwrap(),
            crate::store::Requeue::Requeued { .. }
        ));
        assert_eq!(status_of(&store, "r0002").await, "invited");
        store.db.close().await;
    }

    #[test]
    fn search_terms_match_literally() {
        assert_eq!(contains_pattern("Ada"), "%ada%");
        assert_eq!(contains_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
        assert_eq!(
            trigram_query("Ada \"OR\" x").as_deref(),
            Some(r#""ada" "da " "a """ " ""o" """or" "or""" "r"" " """ x""#)
        );
        assert_eq!(trigram_query("山田太").as_deref(), Some("\"山田太\""));
        assert_eq!(trigram_query("ab"), None);
    }

    /// Migration 0033: an entry no operator made (every issuance's) goes into no operator
    /// index, and one operator's entries are still read through that index, newest first.
    #[tokio::test]
    async fn the_operator_index_holds_only_the_entries_operators_made() {
        let dir = tempfile::tempdir().unwrap();
        let store = test_store(dir.path()).await;
        for (i, operator_id) in [None, Some("o1"), None, Some("o2"), Some("o1")]
            .into_iter()
            .enumerate()
        {
            let mut entry = audit(&format!("s{i}"));
            entry.at = 100 + i as i64;
            entry.operator_id = operator_id.map(str::to_owned);
            store.insert_audit_entry(&entry).await.unwrap();
        }
        let mine = store.audit_of_operator("o1", 10).await.unwrap();
        let subjects: Vec<&str> = mine.iter().map(|a| a.subject.as_str()).collect();
        assert_eq!(subjects, ["s4", "s1"]);
        assert_eq!(store.audit_log(10).await.unwrap().len(), 5);

        // `audit_of_operator`'s statement.
        macro_rules! of_operator {
            () => {
                "SELECT at, action, subject, detail, operator_id FROM audit_log \
                 WHERE operator_id = $1 ORDER BY at DESC, id LIMIT $2"
            };
        }
        match &store.db {
            kit::db::Db::Sqlite(db) => {
                let pool = &db.pool;
                let definition: String = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'audit_log_operator'",
                )
                .fetch_one(pool)
                .await
                .unwrap();
                assert!(
                    definition.ends_with("WHERE operator_id IS NOT NULL"),
                    "{definition}"
                );
                let plan: Vec<(i64, i64, i64, String)> =
                    sqlx::query_as(concat!("EXPLAIN QUERY PLAN ", of_operator!()))
                        .bind("o1")
                        .bind(10)
                        .fetch_all(pool)
                        .await
                        .unwrap();
                let plan: Vec<&str> = plan.iter().map(|p| p.3.as_str()).collect();
                assert!(
                    plan.iter()
                        .any(|p| p.contains("USING INDEX audit_log_operator")),
                    "{plan:?}"
                );
                let at_only: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'audit_log_at'",
                )
                .fetch_one(pool)
                .await
                .unwrap();
                assert_eq!(at_only, 0);
            }
            kit::db::Db::Postgres(pool) => {
                let definition: String = sqlx::query_scalar(
                    "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() \
                     AND indexname = 'audit_log_operator'",
                )
                .fetch_one(pool)
                .await
                .unwrap();
                assert!(
                    definition.ends_with("WHERE (operator_id IS NOT NULL)"),
                    "{definition}"
                );
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let plan: Vec<String> = sqlx::query_scalar(concat!("EXPLAIN ", of_operator!()))
                    .bind("o1")
                    .bind(10_i64)
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
                assert!(
                    plan.iter().any(|p| p.contains("audit_log_operator")),
                    "{plan:?}"
                );
                let at_only: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() \
                     AND indexname = 'audit_log_at'",
                )
                .fetch_one(&mut *tx)
                .await
                .unwrap();
                assert_eq!(at_only, 0);
            }
        }
        store.db.close().await;
    }
}
