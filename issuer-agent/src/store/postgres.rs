//! The issuance flow's writes on PostgreSQL in one round trip each (issue 18): an issuance
//! is one call of the `issue_credentials` function (migration 0029), its own transaction,
//! instead of `BEGIN`, a statement per nonce, claim, credential, audit entry and log entry,
//! and `COMMIT`. The function runs the same conditional statements as the SQLite body of
//! [`Store::issue_credentials`](super::Store::issue_credentials), in the same order; a
//! refusal raises, so the call's own transaction keeps nothing of it, and comes back as
//! the same [`ClaimRefused`].

use sqlx::PgPool;
use sqlx::postgres::PgDatabaseError;

use super::{AuditEntry, ClaimRefused, CredentialRow, IssuanceClaim, IssuedLog, Spend, StoreError};

/// One issuance `($1 deferred_hash, $2 nonce_hashes, $3 nonce_expires, $4 offer,
/// $5 configuration, $6 now, $7…$14 the rows' columns, $15…$20 the audit entries' columns,
/// $21 log entries, $22 their leaf hashes, $23 their JWT digests, $24 the log's time)`;
/// raises `AK001`…`AK004` for a refusal (see the migration).
pub(super) const ISSUE_CREDENTIALS: &str = "SELECT issue_credentials($1, $2, $3, $4, $5, $6, \
     $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)";

/// [`Store::issue_credentials`](super::Store::issue_credentials) on PostgreSQL.
pub(super) async fn issue_credentials(
    pool: &PgPool,
    claim: Spend<'_>,
    rows: &[CredentialRow],
    audits: &[AuditEntry],
    log: IssuedLog<'_>,
) -> Result<Result<(), ClaimRefused>, StoreError> {
    let (deferred, nonces, offer_id, configuration, now) = match claim {
        Spend::Request(IssuanceClaim {
            nonces,
            offer_id,
            configuration,
            now,
        }) => (None, nonces, Some(offer_id), Some(configuration), now),
        Spend::Deferred {
            transaction_hash,
            now,
        } => (Some(transaction_hash), &[][..], None, None, now),
    };
    let column = |f: fn(&CredentialRow) -> String| rows.iter().map(f).collect::<Vec<_>>();
    let number = |f: fn(&CredentialRow) -> i64| rows.iter().map(f).collect::<Vec<_>>();
    let result = sqlx::query(ISSUE_CREDENTIALS)
        .bind(deferred)
        .bind(nonces.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>())
        .bind(nonces.iter().map(|(_, e)| *e).collect::<Vec<_>>())
        .bind(offer_id)
        .bind(configuration)
        .bind(now)
        .bind(column(|c| c.id.clone()))
        .bind(column(|c| c.offer_id.clone()))
        .bind(column(|c| c.configuration.clone()))
        .bind(column(|c| c.holder_jwk.clone()))
        .bind(number(|c| c.status_list))
        .bind(number(|c| c.status_idx))
        .bind(number(|c| c.issued_at))
        .bind(rows.iter().map(|c| c.expires_at).collect::<Vec<_>>())
        .bind(
            audits
                .iter()
                .map(|_| crate::store::time_ordered_id())
                .collect::<Vec<_>>(),
        )
        .bind(audits.iter().map(|a| a.at).collect::<Vec<_>>())
        .bind(audits.iter().map(|a| a.action.as_str()).collect::<Vec<_>>())
        .bind(
            audits
                .iter()
                .map(|a| a.subject.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(audits.iter().map(|a| a.detail.as_str()).collect::<Vec<_>>())
        .bind(
            audits
                .iter()
                .map(|a| a.operator_id.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(log.entries)
        .bind(
            log.entries
                .iter()
                .map(|e| protocol::tlog::leaf_hash(e).to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(
            log.jwt_digests
                .iter()
                .map(Option::as_deref)
                .collect::<Vec<_>>(),
        )
        .bind(rows.first().map_or(0, |r| r.issued_at))
        .execute(pool)
        .await;
    match result {
        Ok(_) => Ok(Ok(())),
        Err(e) => match refusal(&e) {
            Some(why) => Ok(Err(why)),
            None => Err(e.into()),
        },
    }
}

/// The refusal an error raised by `issue_credentials` names, by its SQLSTATE; none for any
/// other error.
fn refusal(e: &sqlx::Error) -> Option<ClaimRefused> {
    let e = e
        .as_database_error()?
        .try_downcast_ref::<PgDatabaseError>()?;
    match e.code() {
        "AK001" => Some(ClaimRefused::NonceUsed),
        "AK002" => Some(ClaimRefused::AlreadyIssued),
        "AK003" => Some(ClaimRefused::DeferredDone),
        "AK004" => {
            let taken = e
                .detail()?
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<usize>, _>>()
                .ok()?;
            Some(ClaimRefused::IndicesTaken(taken))
        }
        _ => None,
    }
}
