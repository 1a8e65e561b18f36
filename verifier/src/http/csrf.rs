//! CSRF tokens of the verifier's forms (OWASP CSRF Prevention, "signed double-submit
//! cookie"): a random value in a `SameSite=Strict` cookie, and its HMAC, under a label per
//! page ([`CsrfScope`]), in the form. A desk session records the hash of the CSRF cookie it
//! was opened with ([`super::session`]), and a signed-in form is accepted only with that
//! cookie's token: a victim's session cookie beside someone else's cookie and token pair
//! is refused ([`DeskError::CsrfNotThisSession`]).

use aws_lc_rs::hmac;
use protocol::keys::seal::SealKey;

use super::error::DeskError;
use crate::error::Error;
use crate::store::Store;

/// The settings row holding the sealed CSRF key, and the sealing purpose (named when it
/// served the desk alone; kept, so stored keys stay valid).
const DESK_KEY_SETTING: &str = "desk_key";
const DESK_KEY_PURPOSE: &str = "verifier-desk-key";
const DESK_KEY_BYTES: usize = 32;

/// The pages whose forms carry CSRF tokens: a token of one is no token of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfScope {
    /// The desk (`/desk`): sign-in, sign-out, new requests.
    Desk,
    /// The public `/check` page, bound to its own anonymous cookie.
    Check,
}

impl CsrfScope {
    fn label(self) -> &'static str {
        match self {
            CsrfScope::Desk => "csrf-desk",
            CsrfScope::Check => "csrf-check",
        }
    }
}

/// The HMAC key of the CSRF tokens (sessions are rows of the store).
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    /// Loads the key stored sealed in the settings, or creates and stores one.
    #[expect(clippy::expect_used, reason = "random base64url decodes")]
    pub async fn load_or_create(store: &Store, seal: &SealKey) -> Result<CsrfKey, Error> {
        let raw = match store.setting(DESK_KEY_SETTING).await? {
            Some(text) => {
                let sealed = protocol::b64::decode(&text)
                    .map_err(|e| Error::Internal(format!("stored desk key: {e}")))?;
                seal.open(DESK_KEY_PURPOSE, &sealed)
                    .map_err(|e| Error::Internal(format!("stored desk key: {e}")))?
            }
            None => {
                let raw = protocol::b64::decode(&protocol::b64::random(DESK_KEY_BYTES))
                    .expect("random base64url decodes");
                let sealed = seal.seal(DESK_KEY_PURPOSE, &raw);
                let mine = protocol::b64::encode(&sealed);
                if store
                    .replace_settings(&[(DESK_KEY_SETTING, None, &mine)])
                    .await?
                {
                    raw
                } else {
                    // Another instance stored its key first: use that one.
                    let text = store
                        .setting(DESK_KEY_SETTING)
                        .await?
                        .ok_or_else(|| Error::Internal("the stored desk key vanished".into()))?;
                    let sealed = protocol::b64::decode(&text)
                        .map_err(|e| Error::Internal(format!("stored desk key: {e}")))?;
                    seal.open(DESK_KEY_PURPOSE, &sealed)
                        .map_err(|e| Error::Internal(format!("stored desk key: {e}")))?
                }
            }
        };
        Ok(CsrfKey(hmac::Key::new(hmac::HMAC_SHA256, &raw)))
    }

    fn mac(&self, label: &str, data: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(label.as_bytes());
        ctx.update(b"\0");
        ctx.update(data.as_bytes());
        protocol::b64::encode(ctx.sign().as_ref())
    }

    fn mac_ok(&self, label: &str, data: &str, mac: &str) -> bool {
        protocol::secret::constant_time_eq(self.mac(label, data).as_bytes(), mac.as_bytes())
    }

    /// The form token for the CSRF cookie value `cookie` on the `scope` page.
    pub fn csrf_token(&self, scope: CsrfScope, cookie: &str) -> String {
        self.mac(scope.label(), cookie)
    }

    /// Checks a form's CSRF token against the browser's CSRF cookie on the `scope` page,
    /// and, for a signed-in form, that the cookie is the one its session was opened with
    /// (`session_csrf_hash`: the SHA-256 the session recorded).
    pub fn check_csrf(
        &self,
        scope: CsrfScope,
        cookie: Option<&str>,
        token: Option<&str>,
        session_csrf_hash: Option<&str>,
    ) -> Result<(), DeskError> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(DeskError::CsrfMissing)?;
        let cookie = cookie
            .filter(|c| !c.is_empty())
            .ok_or(DeskError::CsrfNoCookie)?;
        if !self.mac_ok(scope.label(), cookie, token) {
            return Err(DeskError::Csrf);
        }
        if let Some(expected) = session_csrf_hash
            && !protocol::secret::constant_time_eq(
                protocol::b64::sha256(cookie).as_bytes(),
                expected.as_bytes(),
            )
        {
            return Err(DeskError::CsrfNotThisSession);
        }
        Ok(())
    }
}

/// A fresh CSRF cookie value.
pub fn new_csrf_cookie() -> String {
    protocol::b64::random(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CsrfKey {
        CsrfKey(hmac::Key::new(
            hmac::HMAC_SHA256,
            b"0123456789abcdef0123456789abcdef",
        ))
    }

    #[test]
    fn csrf_tokens_match_their_cookie_and_page_only() {
        let k = key();
        let c = new_csrf_cookie();
        let t = k.csrf_token(CsrfScope::Desk, &c);
        let check = |cookie: Option<&str>, token: Option<&str>| {
            k.check_csrf(CsrfScope::Desk, cookie, token, None)
        };
        assert_eq!(check(Some(&c), Some(&t)), Ok(()));
        assert_eq!(check(Some("other"), Some(&t)), Err(DeskError::Csrf));
        assert_eq!(check(None, Some(&t)), Err(DeskError::CsrfNoCookie));
        assert_eq!(check(Some(&c), None), Err(DeskError::CsrfMissing));
        // The desk's token is no token of the /check page.
        assert_eq!(
            k.check_csrf(CsrfScope::Check, Some(&c), Some(&t), None),
            Err(DeskError::Csrf)
        );
    }

    #[test]
    fn a_signed_in_form_needs_the_cookie_of_its_session() {
        let k = key();
        let (victim, attacker) = (new_csrf_cookie(), new_csrf_cookie());
        let session = protocol::b64::sha256(&victim);
        let own = k.csrf_token(CsrfScope::Desk, &victim);
        assert_eq!(
            k.check_csrf(
                CsrfScope::Desk,
                Some(&victim),
                Some(&own),
                Some(session.as_str())
            ),
            Ok(())
        );
        // The attacker's own cookie and token pair: valid as a pair, not for this session.
        let theirs = k.csrf_token(CsrfScope::Desk, &attacker);
        assert_eq!(
            k.check_csrf(
                CsrfScope::Desk,
                Some(&attacker),
                Some(&theirs),
                Some(session.as_str())
            ),
            Err(DeskError::CsrfNotThisSession)
        );
    }
}
