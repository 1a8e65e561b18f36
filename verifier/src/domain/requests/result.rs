//! A request's result (OpenID4VP 1.0 §8.2 answered, or not): where it stands, every check
//! and its outcome, the disclosed claims; and how a stored request reads as one.

use protocol::verify::{Check, Verification};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::RequestRow;

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResultState {
    Pending,
    Verified,
    Rejected,
    Expired,
}

/// The result endpoint's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RequestResult {
    pub id: String,
    pub state: ResultState,
    pub checks: Vec<Check>,
    /// The disclosed claims, by credential query id.
    #[schema(value_type = Object)]
    pub disclosed: std::collections::BTreeMap<String, Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub responded_at: Option<i64>,
}

/// The result of a stored request at `now`.
pub fn result_view(row: RequestRow, now: i64) -> RequestResult {
    let stored: Option<Verification> = row
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let state = match (&stored, row.responded_at) {
        (Some(v), _) if v.verified() => ResultState::Verified,
        (Some(_), _) => ResultState::Rejected,
        // Accepted, verification under way.
        (None, Some(_)) => ResultState::Pending,
        (None, None) if row.expires_at <= now => ResultState::Expired,
        (None, None) => ResultState::Pending,
    };
    let Verification {
        mut checks,
        disclosed,
        error,
    } = stored.unwrap_or_default();
    if let Some(refusal) = row
        .last_refusal
        .as_deref()
        .and_then(|r| serde_json::from_str::<Check>(r).ok())
    {
        let mut refusal = refusal;
        if row.refusals > 1 {
            refusal.detail = format!(
                "{} ({} refused responses in all)",
                refusal.detail, row.refusals
            );
        }
        checks.push(refusal);
    }
    RequestResult {
        id: row.id,
        state,
        checks,
        disclosed,
        error,
        created_at: row.created_at,
        expires_at: row.expires_at,
        responded_at: row.responded_at,
    }
}

#[expect(clippy::expect_used, reason = "results serialise")]
pub(super) fn to_json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("results serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(result: Option<Verification>, responded_at: Option<i64>) -> RequestRow {
        RequestRow {
            responded_at,
            result: result.map(|v| to_json(&v)),
            created_at: 0,
            ..RequestRow::sample("r", "s", 100)
        }
    }

    #[test]
    fn result_states() {
        assert_eq!(result_view(row(None, None), 50).state, ResultState::Pending);
        assert_eq!(
            result_view(row(None, None), 100).state,
            ResultState::Expired
        );
        assert_eq!(
            result_view(row(None, Some(60)), 150).state,
            ResultState::Pending
        );
        let good = Verification {
            checks: vec![
                Check::pass("a", ""),
                Check::unset("trust", "not configured"),
            ],
            ..Default::default()
        };
        assert_eq!(
            result_view(row(Some(good.clone()), Some(60)), 150).state,
            ResultState::Verified
        );
        let mut bad = good.clone();
        bad.checks.push(Check::fail("nonce", "wrong"));
        assert_eq!(
            result_view(row(Some(bad), Some(60)), 70).state,
            ResultState::Rejected
        );
        let mut wallet_error = good;
        wallet_error.error = Some("access_denied".into());
        assert_eq!(
            result_view(row(Some(wallet_error), Some(60)), 70).state,
            ResultState::Rejected
        );
    }

    #[test]
    fn a_refused_replay_is_listed_but_does_not_change_the_state() {
        let good = Verification {
            checks: vec![Check::pass("replay", "first")],
            ..Default::default()
        };
        let mut r = row(Some(good), Some(60));
        r.refusals = 2;
        r.last_refusal = Some(to_json(&Check::fail("replay", "second response")));
        let view = result_view(r, 70);
        assert_eq!(view.state, ResultState::Verified);
        let last = view.checks.last().unwrap();
        assert_eq!(last.name, "replay");
        assert_eq!(last.ok, Some(false));
        assert!(last.detail.contains("2 refused responses"));
    }
}
