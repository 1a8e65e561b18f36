//! Desk sessions: the desk ([`super::pages::desk`]) is signed in with the API token. A
//! session is a random cookie value whose SHA-256 is a row of `desk_sessions` (any instance
//! sharing the database knows it); signing out deletes the row, so the cookie opens nothing
//! afterwards, and rows past their end are purged ([`App::purge_expired_desk_sessions`]). A session records
//! the hash of the CSRF cookie it was opened with ([`super::csrf`]).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::error::{AppError, DeskError, PageError};
use crate::app::App;
use crate::error::Error;
use kit::web::cookie;

/// How long a desk session lasts, in seconds.
pub const SESSION_TTL: i64 = 12 * 3600;
/// Random bytes of a session cookie value.
const SESSION_BYTES: usize = 32;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "verifier_desk";

/// An open desk session, as its cookie named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskSession {
    /// The session cookie's value.
    pub cookie: String,
    /// SHA-256 of the CSRF cookie the session was opened with.
    csrf_hash: String,
}

impl DeskSession {
    /// SHA-256 of the CSRF cookie the session was opened with: its forms' CSRF tokens must
    /// be of that cookie ([`super::csrf::CsrfKey::check_csrf`]).
    pub fn csrf_hash(&self) -> &str {
        &self.csrf_hash
    }
}

/// The open session the cookie names: refused when there is no cookie, or its row is gone
/// (signed out, purged) or past its end.
pub async fn find(app: &App, cookie: Option<&str>) -> Result<DeskSession, AppError> {
    let cookie = cookie
        .filter(|c| !c.is_empty())
        .ok_or(DeskError::NoSession)?;
    let csrf_hash = app
        .store
        .desk_session_csrf(&protocol::b64::sha256(cookie), app.clock.now())
        .await?
        .ok_or(DeskError::NoSession)?;
    Ok(DeskSession {
        cookie: cookie.to_owned(),
        csrf_hash,
    })
}

/// The open session the request's cookie names, if any.
pub async fn of_request(app: &App, headers: &HeaderMap) -> Result<Option<DeskSession>, AppError> {
    match find(app, cookie(headers, SESSION_COOKIE).as_deref()).await {
        Ok(session) => Ok(Some(session)),
        Err(AppError::Desk(DeskError::NoSession)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Signs the session out: its cookie opens nothing afterwards.
pub async fn close(app: &App, session: &DeskSession) -> Result<(), AppError> {
    app.store
        .delete_desk_session(&protocol::b64::sha256(&session.cookie))
        .await?;
    Ok(())
}

impl App {
    /// Opens a desk session for the browser whose CSRF cookie is `csrf_cookie` (its
    /// sign-in form's); returns the session cookie value.
    pub async fn open_desk_session(&self, csrf_cookie: &str) -> Result<String, Error> {
        let now = self.clock.now();
        let cookie = protocol::b64::random(SESSION_BYTES);
        self.store
            .insert_desk_session(
                &protocol::b64::sha256(&cookie),
                &protocol::b64::sha256(csrf_cookie),
                now,
                now + SESSION_TTL,
            )
            .await?;
        Ok(cookie)
    }

    /// Deletes the sessions past their end; returns how many.
    pub async fn purge_expired_desk_sessions(&self) -> Result<u64, Error> {
        Ok(self.store.purge_desk_sessions(self.clock.now()).await?)
    }
}

/// Extractor: a signed-in desk session (its row in the store).
pub struct SignedIn(pub DeskSession);

impl FromRequestParts<App> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, PageError> {
        let session = cookie(&parts.headers, SESSION_COOKIE);
        Ok(SignedIn(find(app, session.as_deref()).await?))
    }
}
