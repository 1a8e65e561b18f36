//! What the console's operations pages show and change: the outbox by delivery state
//! (a given-up email put back in the queue by an operator, audited, and the mail worker
//! woken to send it), and the audit log filtered by operator, action and dates, a page at
//! a time or, for its CSV export, a batch at a time.

use serde_json::json;

use crate::App;
use crate::domain::console::{Cursor, EXPORT_BATCH, MAX_PAGE_SIZE, PAGE_SIZE};
use crate::domain::operators::Operator;
use crate::error::AppError;
use crate::store::{
    AuditEntry, AuditQuery, AuditRow, DELIVERY_STATES, DeliveryQuery, DeliveryRow, Requeue,
};

/// The audit action of a requeued email.
pub const MAIL_REQUEUED: &str = "mail.requeued";
/// Longest action name a filter takes.
const MAX_ACTION: usize = 64;

/// What the delivery page asks for.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// One of [`DELIVERY_STATES`], or every state.
    pub state: Option<String>,
    pub after: Option<Cursor>,
}

/// One page of the outbox.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub rows: Vec<DeliveryRow>,
    pub next: Option<Cursor>,
    /// The time the states were read at.
    pub now: i64,
}

/// What the audit page asks for.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub operator_id: Option<String>,
    pub action: Option<String>,
    /// First day shown, `YYYY-MM-DD` (UTC).
    pub from: Option<String>,
    /// Last day shown, `YYYY-MM-DD` (UTC), inclusive.
    pub until: Option<String>,
    pub after: Option<Cursor>,
}

/// One page of the audit log.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub next: Option<Cursor>,
}

/// The start of day `day` (`YYYY-MM-DD`, UTC) in Unix seconds, or which check failed.
pub fn day_start(field: &str, day: &str) -> Result<i64, AppError> {
    let well_formed = day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    well_formed
        .then(|| protocol::clock::parse_rfc3339(&format!("{day}T00:00:00Z")))
        .flatten()
        .ok_or_else(|| AppError::bad_request(field, "is not a date written YYYY-MM-DD"))
}

impl App {
    /// How many emails are in each delivery state now.
    pub async fn delivery_counts(&self) -> Result<Vec<(&'static str, i64)>, AppError> {
        Ok(self.store.delivery_counts(self.clock.now()).await?)
    }

    /// A page of the outbox, newest first, in one delivery state or all.
    pub async fn delivery_page(&self, filter: &DeliveryFilter) -> Result<DeliveryPage, AppError> {
        if let Some(s) = &filter.state
            && !DELIVERY_STATES.contains(&s.as_str())
        {
            return Err(AppError::bad_request("state", "is not a delivery state"));
        }
        let now = self.clock.now();
        let limit = PAGE_SIZE.clamp(1, MAX_PAGE_SIZE);
        let mut rows = self
            .store
            .delivery_page(&DeliveryQuery {
                state: filter.state.clone(),
                before: filter.after.as_ref().map(|c| (c.created_at, c.id.clone())),
                limit: limit + 1,
                now,
            })
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = more.then(|| rows.last()).flatten().map(|r| Cursor {
            created_at: r.created_at,
            id: r.id.clone(),
        });
        Ok(DeliveryPage { rows, next, now })
    }

    /// Puts email `id`, given up by the worker, back in the queue (due now, its attempts
    /// counted afresh), by `operator`, audited in the same transaction against the
    /// registration it was written for, and wakes the mail worker. Returns that
    /// registration. An email not given up (sent, or still being tried) is refused.
    pub async fn requeue_message(&self, id: &str, operator: &Operator) -> Result<String, AppError> {
        let registration_id = self
            .store
            .message_registration(id)
            .await?
            .ok_or_else(|| AppError::NotFound("email".into()))?;
        let now = self.clock.now();
        let audit = AuditEntry {
            at: now,
            action: MAIL_REQUEUED.into(),
            subject: registration_id,
            detail: json!({ "message": id, "via": "console" }).to_string(),
            operator_id: Some(operator.id.clone()),
        };
        match self.store.requeue_failed_message(id, now, &audit).await? {
            Requeue::Requeued { registration_id } => {
                self.outbox_wake.notify_one();
                Ok(registration_id)
            }
            Requeue::NotFound => Err(AppError::NotFound("email".into())),
            Requeue::NotFailed => Err(AppError::bad_request(
                "message",
                "only an email the mail worker gave up on can be retried",
            )),
        }
    }

    /// A page of the audit log, newest first.
    pub async fn audit_page(&self, filter: &AuditFilter) -> Result<AuditPage, AppError> {
        self.audit_after(filter, PAGE_SIZE).await
    }

    /// The next [`EXPORT_BATCH`] entries of an export of what `filter` selects.
    pub async fn audit_export_batch(&self, filter: &AuditFilter) -> Result<AuditPage, AppError> {
        self.audit_after(filter, EXPORT_BATCH).await
    }

    async fn audit_after(&self, filter: &AuditFilter, limit: i64) -> Result<AuditPage, AppError> {
        if filter.action.as_ref().is_some_and(|a| {
            a.len() > MAX_ACTION
                || !a
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_')
        }) {
            return Err(AppError::bad_request("action", "is not an audit action"));
        }
        if filter
            .operator_id
            .as_ref()
            .is_some_and(|o| o.len() > 64 || o.chars().any(char::is_control))
        {
            return Err(AppError::bad_request("operator", "is not an operator"));
        }
        let from = filter
            .from
            .as_deref()
            .map(|d| day_start("from", d))
            .transpose()?;
        let until = filter
            .until
            .as_deref()
            .map(|d| day_start("until", d).map(|t| t + 86_400))
            .transpose()?;
        if let (Some(f), Some(u)) = (from, until)
            && f >= u
        {
            return Err(AppError::bad_request("until", "is before the first day"));
        }
        let mut rows = self
            .store
            .audit_page(&AuditQuery {
                operator_id: filter.operator_id.clone(),
                action: filter.action.clone(),
                from,
                until,
                before: filter.after.as_ref().map(|c| (c.created_at, c.id.clone())),
                limit: limit + 1,
            })
            .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = more.then(|| rows.last()).flatten().map(|r| Cursor {
            created_at: r.at,
            id: r.id.clone(),
        });
        Ok(AuditPage { rows, next })
    }

    /// The actions the audit log holds.
    pub async fn audit_actions(&self) -> Result<Vec<String>, AppError> {
        Ok(self.store.audit_actions().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_dates_or_refused_naming_the_field() {
        assert_eq!(day_start("from", "1970-01-02").ok(), Some(86_400));
        assert_eq!(day_start("from", "2026-12-06").ok(), Some(1_796_515_200));
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2026/12/06",
            "26-12-06",
            "2026-12-6",
            "2026-12-06T00:00:00Z",
            "' OR 1=1",
        ] {
            match day_start("until", bad) {
                Err(AppError::BadRequest { field, .. }) => assert_eq!(field, "until", "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
