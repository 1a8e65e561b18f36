//! The issuance flow's queries on SQLite's direct connections (`kit::sqlite`, issue 18):
//! the offer and code lookups and the credential context read on the calling thread, the
//! code's redemption and an issuance's writes as jobs of the writer thread, committed with
//! whatever other requests' writes are queued. The same SQL as the sqlx bodies of
//! [`Store`](super::Store) (PostgreSQL, and SQLite with `AKASHI_SQLITE_DIRECT=0`), with the
//! same single-use conditions: each claim is still one conditional statement, now inside
//! the job's savepoint, and a refused issuance rolls back its savepoint (nothing written).

use kit::sqlite::rusqlite::{self, Connection, OptionalExtension, Row};
use kit::sqlite::{Direct, WriterError};

use super::{
    ACHIEVEMENT_COLUMNS, AchievementRow, AchievementText, AuditEntry, CLAIM_ISSUANCE,
    CREDENTIAL_CONTEXT, ClaimRefused, CredentialContext, CredentialContextRow, CredentialRow,
    INSERT_AUDIT, INSERT_CREDENTIAL, INSERT_TLOG_ENTRY, INSERT_TLOG_ISSUED, OfferRow, REDEEM_OFFER,
    StoreError, TLOG_RESERVE, USE_NONCE,
};

/// The 17 columns of `select_offers!` from `at` on.
fn offer_at(r: &Row<'_>, at: usize) -> rusqlite::Result<OfferRow> {
    Ok(OfferRow {
        id: r.get(at)?,
        achievement_id: r.get(at + 1)?,
        recipient_name: r.get(at + 2)?,
        recipient_email: r.get(at + 3)?,
        code_hash: r.get(at + 4)?,
        tx_code_hash: r.get(at + 5)?,
        tx_code_failures: r.get(at + 6)?,
        expires_at: r.get(at + 7)?,
        redeemed_at: r.get(at + 8)?,
        token_hash: r.get(at + 9)?,
        token_expires_at: r.get(at + 10)?,
        created_at: r.get(at + 11)?,
        evidence: r.get(at + 12)?,
        results: r.get(at + 13)?,
        registration_id: r.get(at + 14)?,
        decision: r.get(at + 15)?,
        decided_at: r.get(at + 16)?,
    })
}

/// One offer by `sql` (a `select_offers!` with one parameter, [`kit::numbered!`]).
pub(super) fn offer_where(
    direct: &Direct,
    sql: &str,
    key: &str,
) -> Result<Option<OfferRow>, StoreError> {
    direct.readers.read(|conn| {
        Ok(conn
            .prepare_cached(sql)?
            .query_row([key], |r| offer_at(r, 0))
            .optional()?)
    })
}

/// [`achievement`]'s first statement, made once.
static ACHIEVEMENT_BY_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {ACHIEVEMENT_COLUMNS} FROM achievements WHERE id = ?1")
});

/// An achievement with its other languages ([`super::Store::achievement`]).
pub(super) fn achievement(direct: &Direct, id: &str) -> Result<Option<AchievementRow>, StoreError> {
    direct.readers.read(|conn| {
        let row = conn
            .prepare_cached(&ACHIEVEMENT_BY_ID)?
            .query_row([id], |r| {
                Ok(AchievementRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    description: r.get(2)?,
                    criteria: r.get(3)?,
                    image_url: r.get(4)?,
                    valid_days: r.get(5)?,
                    created_at: r.get(6)?,
                    criteria_url: r.get(7)?,
                    achievement_type: r.get(8)?,
                    tags: r.get(9)?,
                    alignments: r.get(10)?,
                    image_digest: r.get(11)?,
                    retired_at: r.get(12)?,
                    updated_at: r.get(13)?,
                    requires_approval: r.get(14)?,
                    language: r.get(15)?,
                    translations: Vec::new(),
                })
            })
            .optional()?;
        let Some(mut row) = row else {
            return Ok(None);
        };
        let mut texts = conn.prepare_cached(
            "SELECT language, name, description, criteria FROM achievement_texts \
             WHERE achievement_id = ?1 ORDER BY language",
        )?;
        row.translations = texts
            .query_map([id], |r| {
                Ok(AchievementText {
                    language: r.get(0)?,
                    name: r.get(1)?,
                    description: r.get(2)?,
                    criteria: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some(row))
    })
}

/// [`super::Store::credential_context`]'s one statement.
pub(super) fn credential_context(
    direct: &Direct,
    token_hash: &str,
) -> Result<Option<CredentialContext>, StoreError> {
    let rows = direct.readers.read(|conn| {
        let mut statement = conn.prepare_cached(kit::numbered!(CREDENTIAL_CONTEXT))?;
        let rows = statement
            .query_map([token_hash], |r| {
                Ok(CredentialContextRow {
                    offer: offer_at(r, 0)?,
                    token_jkt: r.get(17)?,
                    holder_jkt: r.get(18)?,
                    a_id: r.get(19)?,
                    a_name: r.get(20)?,
                    a_description: r.get(21)?,
                    a_criteria: r.get(22)?,
                    a_image_url: r.get(23)?,
                    a_valid_days: r.get(24)?,
                    a_created_at: r.get(25)?,
                    a_criteria_url: r.get(26)?,
                    a_achievement_type: r.get(27)?,
                    a_tags: r.get(28)?,
                    a_alignments: r.get(29)?,
                    a_image_digest: r.get(30)?,
                    a_retired_at: r.get(31)?,
                    a_updated_at: r.get(32)?,
                    a_requires_approval: r.get(33)?,
                    a_language: r.get(34)?,
                    t_language: r.get(35)?,
                    t_name: r.get(36)?,
                    t_description: r.get(37)?,
                    t_criteria: r.get(38)?,
                    token_granted: r.get(39)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok::<_, StoreError>(rows)
    })?;
    Ok(CredentialContext::from_rows(rows))
}

/// [`super::Store::redeem_offer`]'s conditional update, on the writer thread.
pub(super) async fn redeem_offer(
    direct: &Direct,
    offer_id: &str,
    token_hash: &str,
    token_expires_at: i64,
    now: i64,
    max_failures: i64,
    token_jkt: Option<&str>,
) -> Result<bool, StoreError> {
    let (offer_id, token_hash) = (offer_id.to_owned(), token_hash.to_owned());
    let token_jkt = token_jkt.map(str::to_owned);
    direct
        .writer
        .write(move |conn| {
            let n = conn
                .prepare_cached(kit::numbered!(REDEEM_OFFER))?
                .execute((
                    offer_id,
                    now,
                    token_hash,
                    token_expires_at,
                    max_failures,
                    token_jkt,
                ))?;
            Ok::<_, StoreError>(n == 1)
        })
        .await
}

/// What an issuance spends, owned for the writer thread ([`super::Spend`]).
pub(super) enum OwnedSpend {
    Request {
        nonces: Vec<(String, i64)>,
        offer_id: String,
        configuration: String,
        now: i64,
    },
    Deferred {
        transaction_hash: String,
        now: i64,
    },
}

/// An issuance's rows, audit entries and log, owned for the writer thread.
pub(super) struct OwnedIssuance {
    pub spend: OwnedSpend,
    pub rows: Vec<CredentialRow>,
    pub audits: Vec<AuditEntry>,
    pub entries: Vec<Vec<u8>>,
    pub jwt_digests: Vec<Option<String>>,
}

/// Why an issuance job rolled back: refused (answered as such) or failed.
enum IssueError {
    Refused(ClaimRefused),
    Store(StoreError),
}

impl From<WriterError> for IssueError {
    fn from(e: WriterError) -> IssueError {
        IssueError::Store(e.into())
    }
}

impl From<rusqlite::Error> for IssueError {
    fn from(e: rusqlite::Error) -> IssueError {
        IssueError::Store(e.into())
    }
}

/// [`super::Store::issue_credentials`] as one job of the writer thread: all of it or, on a
/// refusal or an error, nothing (the job's savepoint is rolled back).
pub(super) async fn issue_credentials(
    direct: &Direct,
    issuance: OwnedIssuance,
) -> Result<Result<(), ClaimRefused>, StoreError> {
    match direct
        .writer
        .write(move |conn| issue_on(conn, &issuance))
        .await
    {
        Ok(()) => Ok(Ok(())),
        Err(IssueError::Refused(why)) => Ok(Err(why)),
        Err(IssueError::Store(e)) => Err(e),
    }
}

fn issue_on(conn: &Connection, issuance: &OwnedIssuance) -> Result<(), IssueError> {
    match &issuance.spend {
        OwnedSpend::Request {
            nonces,
            offer_id,
            configuration,
            now,
        } => {
            let mut use_nonce = conn.prepare_cached(kit::numbered!(USE_NONCE))?;
            for (hash, expires_at) in nonces {
                if use_nonce.execute((hash, expires_at, now))? != 1 {
                    return Err(IssueError::Refused(ClaimRefused::NonceUsed));
                }
            }
            if conn
                .prepare_cached(kit::numbered!(CLAIM_ISSUANCE))?
                .execute((offer_id, configuration, now))?
                != 1
            {
                return Err(IssueError::Refused(ClaimRefused::AlreadyIssued));
            }
        }
        OwnedSpend::Deferred {
            transaction_hash,
            now,
        } => {
            if conn
                .prepare_cached(
                    "UPDATE deferred_issuances SET completed_at = ?2 \
                     WHERE transaction_hash = ?1 AND completed_at IS NULL",
                )?
                .execute((transaction_hash, now))?
                != 1
            {
                return Err(IssueError::Refused(ClaimRefused::DeferredDone));
            }
        }
    }
    let mut taken = Vec::new();
    let mut insert = conn.prepare_cached(kit::numbered!(INSERT_CREDENTIAL))?;
    for (i, c) in issuance.rows.iter().enumerate() {
        let entered = insert.execute((
            &c.id,
            &c.offer_id,
            &c.configuration,
            &c.holder_jwk,
            c.status_list,
            c.status_idx,
            c.issued_at,
            c.expires_at,
        ))?;
        if entered != 1 {
            taken.push(i);
        }
    }
    if !taken.is_empty() {
        return Err(IssueError::Refused(ClaimRefused::IndicesTaken(taken)));
    }
    let mut audit = conn.prepare_cached(kit::numbered!(INSERT_AUDIT))?;
    for a in &issuance.audits {
        audit.execute((
            crate::store::time_ordered_id(),
            a.at,
            &a.action,
            &a.subject,
            &a.detail,
            &a.operator_id,
        ))?;
    }
    if !issuance.entries.is_empty() {
        let at = issuance.rows.first().map_or(0, |r| r.issued_at);
        let count = issuance.entries.len() as i64;
        let size: i64 = conn
            .prepare_cached(kit::numbered!(TLOG_RESERVE))?
            .query_row([count], |r| r.get(0))?;
        let first = size - count;
        let mut entry = conn.prepare_cached(kit::numbered!(INSERT_TLOG_ENTRY))?;
        for (i, bytes) in issuance.entries.iter().enumerate() {
            entry.execute((
                first + i as i64,
                bytes.as_slice(),
                protocol::tlog::leaf_hash(bytes).as_slice(),
                at,
            ))?;
        }
        let mut issued = conn.prepare_cached(kit::numbered!(INSERT_TLOG_ISSUED))?;
        for (i, digest) in issuance.jwt_digests.iter().enumerate() {
            let Some(digest) = digest else { continue };
            issued.execute((digest, first + i as i64))?;
        }
    }
    Ok(())
}
