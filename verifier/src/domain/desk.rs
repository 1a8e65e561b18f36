//! The verifier desk: the web pages on which a person creates a presentation request, shows
//! it as a QR code and watches the result arrive ([`crate::http::pages`]).
//!
//! The desk is signed in with the API token; the session is a cookie holding its expiry
//! and an HMAC-SHA256 over it (no session table: any instance sharing the database checks
//! it). Forms carry a signed double-submit CSRF token: a random value in a `SameSite=Strict`
//! cookie, and its HMAC in the form.

use aws_lc_rs::hmac;
use shared::keys::seal::SealKey;

use crate::error::AppError;
use crate::store::Store;

/// How long a desk session lasts, in seconds.
pub const SESSION_TTL: i64 = 12 * 3600;
/// The settings row holding the sealed desk key, and the sealing purpose.
const DESK_KEY_SETTING: &str = "desk_key";
const DESK_KEY_PURPOSE: &str = "verifier-desk-key";
const DESK_KEY_BYTES: usize = 32;

/// Why a desk request is refused: each names the check that failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeskError {
    #[error("not signed in, or the session expired")]
    NoSession,
    #[error("the form's CSRF token does not match this browser's; reload the page and retry")]
    Csrf,
    #[error("wrong API token")]
    WrongToken,
}

/// The HMAC key of desk sessions and CSRF tokens.
pub struct DeskKey(hmac::Key);

impl DeskKey {
    /// Loads the key stored sealed in the settings, or creates and stores one.
    pub async fn load_or_create(store: &Store, seal: &SealKey) -> Result<DeskKey, AppError> {
        let raw = match store.setting(DESK_KEY_SETTING).await? {
            Some(text) => {
                let sealed = shared::b64::decode(&text)
                    .map_err(|e| AppError::Internal(format!("stored desk key: {e}")))?;
                seal.open(DESK_KEY_PURPOSE, &sealed)
                    .map_err(|e| AppError::Internal(format!("stored desk key: {e}")))?
            }
            None => {
                let raw = shared::b64::decode(&shared::b64::random(DESK_KEY_BYTES))
                    .expect("random base64url decodes");
                let sealed = seal.seal(DESK_KEY_PURPOSE, &raw);
                store
                    .set_setting(DESK_KEY_SETTING, &shared::b64::encode(&sealed))
                    .await?;
                // Another instance may have stored its key first: use whichever is stored.
                match store.setting(DESK_KEY_SETTING).await? {
                    Some(text) if text != shared::b64::encode(&sealed) => {
                        let sealed = shared::b64::decode(&text)
                            .map_err(|e| AppError::Internal(format!("stored desk key: {e}")))?;
                        seal.open(DESK_KEY_PURPOSE, &sealed)
                            .map_err(|e| AppError::Internal(format!("stored desk key: {e}")))?
                    }
                    _ => raw,
                }
            }
        };
        Ok(DeskKey(hmac::Key::new(hmac::HMAC_SHA256, &raw)))
    }

    fn mac(&self, label: &str, data: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(label.as_bytes());
        ctx.update(b"\0");
        ctx.update(data.as_bytes());
        shared::b64::encode(ctx.sign().as_ref())
    }

    fn mac_ok(&self, label: &str, data: &str, mac: &str) -> bool {
        shared::secret::constant_time_eq(self.mac(label, data).as_bytes(), mac.as_bytes())
    }

    /// A session cookie value valid until `now + SESSION_TTL`.
    pub fn session(&self, now: i64) -> String {
        let expires = (now + SESSION_TTL).to_string();
        let mac = self.mac("session", &expires);
        format!("{expires}.{mac}")
    }

    /// Checks a session cookie value at `now`.
    pub fn check_session(&self, cookie: Option<&str>, now: i64) -> Result<(), DeskError> {
        let (expires, mac) = cookie
            .and_then(|c| c.split_once('.'))
            .ok_or(DeskError::NoSession)?;
        if !self.mac_ok("session", expires, mac) {
            return Err(DeskError::NoSession);
        }
        match expires.parse::<i64>() {
            Ok(e) if e > now => Ok(()),
            _ => Err(DeskError::NoSession),
        }
    }

    /// The form token for the CSRF cookie value `cookie`.
    pub fn csrf_token(&self, cookie: &str) -> String {
        self.mac("csrf", cookie)
    }

    /// Checks a form's CSRF token against the browser's CSRF cookie.
    pub fn check_csrf(&self, cookie: Option<&str>, token: Option<&str>) -> Result<(), DeskError> {
        match (cookie, token) {
            (Some(c), Some(t)) if !c.is_empty() && self.mac_ok("csrf", c, t) => Ok(()),
            _ => Err(DeskError::Csrf),
        }
    }
}

/// A fresh CSRF cookie value.
pub fn new_csrf_cookie() -> String {
    shared::b64::random(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeskKey {
        DeskKey(hmac::Key::new(
            hmac::HMAC_SHA256,
            b"0123456789abcdef0123456789abcdef",
        ))
    }

    #[test]
    fn sessions_expire_and_cannot_be_forged() {
        let k = key();
        let s = k.session(100);
        assert_eq!(k.check_session(Some(&s), 101), Ok(()));
        assert_eq!(
            k.check_session(Some(&s), 100 + SESSION_TTL),
            Err(DeskError::NoSession)
        );
        let (_, mac) = s.split_once('.').unwrap();
        let forged = format!("{}.{mac}", 100 + 10 * SESSION_TTL);
        assert_eq!(
            k.check_session(Some(&forged), 101),
            Err(DeskError::NoSession)
        );
        assert_eq!(k.check_session(None, 101), Err(DeskError::NoSession));
        assert_eq!(
            k.check_session(Some("garbage"), 101),
            Err(DeskError::NoSession)
        );
    }

    #[test]
    fn csrf_tokens_match_their_cookie_only() {
        let k = key();
        let c = new_csrf_cookie();
        let t = k.csrf_token(&c);
        assert_eq!(k.check_csrf(Some(&c), Some(&t)), Ok(()));
        assert_eq!(k.check_csrf(Some("other"), Some(&t)), Err(DeskError::Csrf));
        assert_eq!(k.check_csrf(None, Some(&t)), Err(DeskError::Csrf));
        assert_eq!(k.check_csrf(Some(&c), None), Err(DeskError::Csrf));
        // The session MAC is not a CSRF token.
        assert_eq!(
            k.check_csrf(Some(&c), Some(&k.mac("session", &c))),
            Err(DeskError::Csrf)
        );
    }
}
