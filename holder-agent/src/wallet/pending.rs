//! Presentation requests waiting for the holder's consent, between the consent screen and
//! "Share" or "Decline". They are kept in the wallet's database (so they survive a restart
//! and every instance sharing it can answer them) under a random id of which only the
//! SHA-256 is stored, and are:
//!
//! * owned: by the account and the browser session that loaded the request; anyone else's
//!   id is as unknown as a made-up one;
//! * bounded: at most [`MAX_PER_SESSION`] per session and [`MAX_PER_ACCOUNT`] per account,
//!   the oldest of that session or account dropped first (never another account's), each
//!   at most [`MAX_PREPARED_BYTES`] as stored;
//! * short-lived: until the request object's own `exp`, at most [`PENDING_TTL`] away;
//!   expired rows are purged when a request is kept;
//! * single use: share or decline answers it with one conditional update, and a second
//!   answer is told it was already answered.

use super::consent::Prepared;
use crate::store::{NewPending, Store, StoreError};

/// How long a holder has to decide, in seconds.
pub const PENDING_TTL: i64 = 600;
/// Most requests one account keeps pending (the oldest of that account is dropped beyond).
pub const MAX_PER_ACCOUNT: i64 = 8;
/// Most requests one browser session keeps pending (its oldest is dropped beyond).
pub const MAX_PER_SESSION: i64 = 4;
/// Largest prepared request kept, in bytes of its stored JSON (the request object, its
/// DCQL query and the matched claims shown for consent: a few kilobytes in practice).
pub const MAX_PREPARED_BYTES: usize = 64 * 1024;

/// Why a pending request could not be kept or taken; each says which check failed.
#[derive(Debug, thiserror::Error)]
pub enum PendingError {
    #[error(
        "this presentation request is unknown to this browser session (never made here, another account's or session's, or dropped for newer ones: an account keeps at most {MAX_PER_ACCOUNT}); scan the verifier's QR code again"
    )]
    Unknown,
    #[error(
        "this presentation request was already answered (shared or declined); a request is answered only once: scan the verifier's QR code again for a new one"
    )]
    AlreadyAnswered,
    #[error(
        "this presentation request expired at {} (now {}); scan the verifier's QR code again",
        protocol::clock::rfc3339(*expired_at),
        protocol::clock::rfc3339(*now)
    )]
    Expired { expired_at: i64, now: i64 },
    #[error(
        "the presentation request is too large: {bytes} bytes to keep for your answer, at most {MAX_PREPARED_BYTES} are accepted"
    )]
    TooLarge { bytes: usize },
    #[error("stored pending request: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PendingError {
    /// The stable error code of the API body.
    pub fn code(&self) -> &'static str {
        match self {
            PendingError::Unknown => "not_found",
            PendingError::AlreadyAnswered => "already_answered",
            PendingError::Expired { .. } => "expired",
            PendingError::TooLarge { .. } => "request_too_large",
            PendingError::Corrupt(_) | PendingError::Store(_) => "server_error",
        }
    }
}

/// Who a pending request belongs to: an account and one of its browser sessions.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub account_id: &'a str,
    /// The session token (only its SHA-256 is stored).
    pub session: &'a str,
}

/// The pending requests of every account, in the wallet's database.
#[derive(Clone, Debug)]
pub struct PendingPresentations {
    store: Store,
}

impl PendingPresentations {
    pub fn new(store: Store) -> Self {
        PendingPresentations { store }
    }

    /// Keeps `prepared` for `owner`; returns the id to ask for it with.
    pub async fn put(
        &self,
        owner: Owner<'_>,
        prepared: &Prepared,
        now: i64,
    ) -> Result<String, PendingError> {
        let json = serde_json::to_string(prepared)
            .map_err(|e| PendingError::Corrupt(format!("cannot encode: {e}")))?;
        if json.len() > MAX_PREPARED_BYTES {
            return Err(PendingError::TooLarge { bytes: json.len() });
        }
        let id = protocol::b64::random(24);
        let expires_at = match prepared.loaded.request.exp {
            Some(exp) => exp.min(now + PENDING_TTL),
            None => now + PENDING_TTL,
        };
        self.store
            .insert_pending(
                &NewPending {
                    id_hash: &protocol::b64::sha256(&id),
                    account_id: owner.account_id,
                    session_hash: &protocol::b64::sha256(owner.session),
                    prepared: &json,
                    created_at: now,
                    expires_at,
                },
                MAX_PER_SESSION,
                MAX_PER_ACCOUNT,
                now,
            )
            .await?;
        Ok(id)
    }

    /// The pending request `id` of `owner`, without taking it (to show it).
    pub async fn peek(
        &self,
        owner: Owner<'_>,
        id: &str,
        now: i64,
    ) -> Result<Prepared, PendingError> {
        let row = self
            .store
            .pending(
                &protocol::b64::sha256(id),
                owner.account_id,
                &protocol::b64::sha256(owner.session),
            )
            .await?
            .ok_or(PendingError::Unknown)?;
        if row.answered_at.is_some() {
            return Err(PendingError::AlreadyAnswered);
        }
        if row.expires_at <= now {
            return Err(PendingError::Expired {
                expired_at: row.expires_at,
                now,
            });
        }
        decode(&row.prepared)
    }

    /// Takes the pending request `id` of `owner` to answer it: once only, whichever
    /// instance is asked. Another owner's id is as unknown as a made-up one (and stays
    /// pending for its owner).
    pub async fn take(
        &self,
        owner: Owner<'_>,
        id: &str,
        now: i64,
    ) -> Result<Prepared, PendingError> {
        let id_hash = protocol::b64::sha256(id);
        let session_hash = protocol::b64::sha256(owner.session);
        match self
            .store
            .answer_pending(&id_hash, owner.account_id, &session_hash, now)
            .await?
        {
            Some(json) => decode(&json),
            // Nothing changed: say why.
            None => match self
                .store
                .pending(&id_hash, owner.account_id, &session_hash)
                .await?
            {
                None => Err(PendingError::Unknown),
                Some(row) if row.answered_at.is_some() => Err(PendingError::AlreadyAnswered),
                Some(row) => Err(PendingError::Expired {
                    expired_at: row.expires_at,
                    now,
                }),
            },
        }
    }

    /// Makes a request taken by [`PendingPresentations::take`] pending again, under the
    /// same id, when its answer was refused before anything was sent (the holder's choice
    /// was refused).
    pub async fn restore(&self, owner: Owner<'_>, id: &str) -> Result<(), PendingError> {
        self.store
            .unanswer_pending(
                &protocol::b64::sha256(id),
                owner.account_id,
                &protocol::b64::sha256(owner.session),
            )
            .await?;
        Ok(())
    }
}

fn decode(json: &str) -> Result<Prepared, PendingError> {
    serde_json::from_str(json).map_err(|e| PendingError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::App;
    use crate::wallet::oid4vp::LoadedRequest;

    async fn app(dir: &std::path::Path) -> App {
        let config = crate::Config::for_dir(
            dir.to_path_buf(),
            "http://127.0.0.1:0".into(),
            format!("sqlite://{}/wallet.db", dir.display()),
        );
        App::open(config, protocol::clock::Clock::system())
            .await
            .expect("wallet opens")
            .0
    }

    /// A prepared request of a `redirect_uri:` verifier, with `state` and `exp`.
    fn prepared(state: &str, exp: Option<i64>) -> Prepared {
        let request = serde_json::from_value(json!({
            "client_id": "redirect_uri:https://verifier.example/cb",
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": "https://verifier.example/cb",
            "nonce": "n-1",
            "state": state,
            "exp": exp,
        }))
        .expect("a request");
        Prepared {
            loaded: LoadedRequest {
                request,
                verified_kid: None,
                client_name: Some("Verifier".into()),
            },
            response_uri: "https://verifier.example/cb".into(),
            unmatched: Some("no badge".into()),
            credentials: Vec::new(),
        }
    }

    fn state_of(p: &Prepared) -> &str {
        p.loaded.request.state.as_deref().unwrap_or("")
    }

    #[tokio::test]
    async fn a_pending_request_is_answered_once_and_only_by_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let now = 1_000_000;
        let ana = app.ensure_account("ana", now).await.unwrap();
        let bo = app.ensure_account("bo", now).await.unwrap();
        let mine = Owner {
            account_id: &ana.id,
            session: "ana-session",
        };
        let id = app
            .pending
            .put(mine, &prepared("s-1", None), now)
            .await
            .unwrap();
        assert_eq!(
            state_of(&app.pending.peek(mine, &id, now).await.unwrap()),
            "s-1"
        );
        // Another account, and another browser of the same account: unknown.
        for other in [
            Owner {
                account_id: &bo.id,
                session: "ana-session",
            },
            Owner {
                account_id: &ana.id,
                session: "another-session",
            },
        ] {
            assert!(matches!(
                app.pending.peek(other, &id, now).await,
                Err(PendingError::Unknown)
            ));
            assert!(matches!(
                app.pending.take(other, &id, now).await,
                Err(PendingError::Unknown)
            ));
        }
        // Taken once; a second take is told it was answered.
        assert_eq!(
            state_of(&app.pending.take(mine, &id, now).await.unwrap()),
            "s-1"
        );
        let again = app.pending.take(mine, &id, now).await.unwrap_err();
        assert!(matches!(again, PendingError::AlreadyAnswered), "{again}");
        assert!(again.to_string().contains("already answered"), "{again}");
        assert!(matches!(
            app.pending.peek(mine, &id, now).await,
            Err(PendingError::AlreadyAnswered)
        ));
        // Restored after a refused choice: pending again, under the same id.
        app.pending.restore(mine, &id).await.unwrap();
        assert!(app.pending.take(mine, &id, now).await.is_ok());
        assert!(matches!(
            app.pending.take(mine, "made-up", now).await,
            Err(PendingError::Unknown)
        ));
    }

    #[tokio::test]
    async fn one_account_filling_its_quota_drops_only_its_own_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let now = 1_000_000;
        let ana = app.ensure_account("ana", now).await.unwrap();
        let mal = app.ensure_account("mal", now).await.unwrap();
        let ana_owner = Owner {
            account_id: &ana.id,
            session: "ana-session",
        };
        let ana_id = app
            .pending
            .put(ana_owner, &prepared("ana", None), now)
            .await
            .unwrap();
        // Mal posts many requests from many sessions, one second apart.
        let sessions: Vec<String> = (0..10).map(|i| format!("mal-session-{i}")).collect();
        let mut first_ids = Vec::new();
        for (i, session) in sessions.iter().enumerate() {
            let owner = Owner {
                account_id: &mal.id,
                session,
            };
            for j in 0..3 {
                let t = now + (i * 3 + j) as i64;
                let id = app
                    .pending
                    .put(owner, &prepared("mal", None), t)
                    .await
                    .unwrap();
                if j == 0 {
                    first_ids.push(id);
                }
            }
        }
        assert_eq!(
            app.store.pending_count(&mal.id).await.unwrap(),
            MAX_PER_ACCOUNT
        );
        assert_eq!(app.store.pending_count(&ana.id).await.unwrap(), 1);
        // Mal's oldest went; the newest stayed.
        let oldest = Owner {
            account_id: &mal.id,
            session: &sessions[0],
        };
        assert!(matches!(
            app.pending.peek(oldest, &first_ids[0], now + 40).await,
            Err(PendingError::Unknown)
        ));
        let newest = Owner {
            account_id: &mal.id,
            session: &sessions[9],
        };
        assert!(
            app.pending
                .peek(newest, &first_ids[9], now + 40)
                .await
                .is_ok()
        );
        // Ana's request is untouched.
        assert_eq!(
            state_of(
                &app.pending
                    .take(ana_owner, &ana_id, now + 40)
                    .await
                    .unwrap()
            ),
            "ana"
        );
    }

    #[tokio::test]
    async fn one_session_keeps_at_most_its_quota() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let now = 1_000_000;
        let ana = app.ensure_account("ana", now).await.unwrap();
        let other = Owner {
            account_id: &ana.id,
            session: "phone",
        };
        let phone_id = app
            .pending
            .put(other, &prepared("phone", None), now)
            .await
            .unwrap();
        let laptop = Owner {
            account_id: &ana.id,
            session: "laptop",
        };
        let mut ids = Vec::new();
        for i in 0..6 {
            ids.push(
                app.pending
                    .put(laptop, &prepared("laptop", None), now + 1 + i)
                    .await
                    .unwrap(),
            );
        }
        assert_eq!(
            app.store.pending_count(&ana.id).await.unwrap(),
            MAX_PER_SESSION + 1
        );
        assert!(matches!(
            app.pending.peek(laptop, &ids[0], now + 10).await,
            Err(PendingError::Unknown)
        ));
        assert!(app.pending.peek(laptop, &ids[5], now + 10).await.is_ok());
        assert!(app.pending.peek(other, &phone_id, now + 10).await.is_ok());
    }

    #[tokio::test]
    async fn a_pending_request_expires_with_the_request_and_is_purged() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let now = 1_000_000;
        let ana = app.ensure_account("ana", now).await.unwrap();
        let owner = Owner {
            account_id: &ana.id,
            session: "s",
        };
        // The request's own `exp` (60 s) is sooner than the wallet's bound.
        let short = app
            .pending
            .put(owner, &prepared("short", Some(now + 60)), now)
            .await
            .unwrap();
        // A far `exp` is bounded by PENDING_TTL.
        let far = app
            .pending
            .put(owner, &prepared("far", Some(now + 86_400)), now)
            .await
            .unwrap();
        assert!(app.pending.peek(owner, &short, now + 59).await.is_ok());
        let e = app.pending.take(owner, &short, now + 60).await.unwrap_err();
        assert!(
            matches!(e, PendingError::Expired { expired_at, .. } if expired_at == now + 60),
            "{e}"
        );
        assert!(
            app.pending
                .peek(owner, &far, now + PENDING_TTL - 1)
                .await
                .is_ok()
        );
        assert!(matches!(
            app.pending.peek(owner, &far, now + PENDING_TTL).await,
            Err(PendingError::Expired { .. })
        ));
        // The next request kept purges both.
        app.pending
            .put(owner, &prepared("next", None), now + PENDING_TTL)
            .await
            .unwrap();
        assert_eq!(app.store.pending_count(&ana.id).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn an_over_large_request_is_refused_with_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let ana = app.ensure_account("ana", 0).await.unwrap();
        let owner = Owner {
            account_id: &ana.id,
            session: "s",
        };
        let big = "x".repeat(156_000);
        let e = app
            .pending
            .put(owner, &prepared(&big, None), 0)
            .await
            .unwrap_err();
        assert!(
            matches!(e, PendingError::TooLarge { bytes } if bytes > 156_000),
            "{e}"
        );
        assert!(e.to_string().contains("at most 65536"), "{e}");
        assert_eq!(app.store.pending_count(&ana.id).await.unwrap(), 0);
    }
}
