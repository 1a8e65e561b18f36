//! Password hashes for browser sign-in: argon2id PHC strings (RFC 9106), made and checked
//! on a blocking thread, and a dummy hash to check a password against when the account
//! does not exist, so that a sign-in takes as long either way and its answer does not tell
//! whether an address has an account.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted, in characters (argon2 takes any length; this bounds the work
/// a request can ask for).
pub const MAX_PASSWORD: usize = 1024;

/// Why a password could not be hashed or checked (a fault of ours, never of the password).
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hash parameters: {0}")]
    Params(String),
    #[error("password hash: {0}")]
    Hash(String),
    #[error("stored password hash: {0}")]
    Stored(String),
    #[error("password task: {0}")]
    Task(String),
}

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("the password must be at least {MIN_PASSWORD} characters long")]
    TooShort,
    #[error("the password is longer than {MAX_PASSWORD} characters")]
    TooLong,
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), WeakPassword> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD {
        Err(WeakPassword::TooShort)
    } else if chars > MAX_PASSWORD {
        Err(WeakPassword::TooLong)
    } else {
        Ok(())
    }
}

/// The argon2id cost of new hashes. A stored hash names its own cost, so a hash made at any
/// cost verifies; only tests lower it ([`PasswordCost::TEST`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl PasswordCost {
    /// argon2's and OWASP's default: m=19456 KiB, t=2, p=1.
    pub const DEFAULT: PasswordCost = PasswordCost {
        m_kib: argon2::Params::DEFAULT_M_COST,
        t: argon2::Params::DEFAULT_T_COST,
        p: argon2::Params::DEFAULT_P_COST,
    };
    /// The smallest cost argon2 takes (m=8 KiB, t=1, p=1): for tests only.
    pub const TEST: PasswordCost = PasswordCost {
        m_kib: argon2::Params::MIN_M_COST,
        t: argon2::Params::MIN_T_COST,
        p: argon2::Params::MIN_P_COST,
    };

    fn hasher(self) -> Result<Argon2<'static>, PasswordError> {
        let params = argon2::Params::new(self.m_kib, self.t, self.p, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        Ok(Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost::DEFAULT
    }
}

/// The argon2id PHC string of `password` at `cost`, with a random salt.
pub async fn hash_password(cost: PasswordCost, password: &str) -> Result<String, PasswordError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        cost.hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| PasswordError::Task(e.to_string()))?
}

/// Whether `password` matches the PHC string `phc`, checked at the cost `phc` names.
pub async fn password_matches(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let password = password.to_owned();
    let phc = phc.to_owned();
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| PasswordError::Stored(e.to_string()))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| PasswordError::Task(e.to_string()))?
}

/// A hash of a password nobody has, at `cost`: what a password is checked against when the
/// account does not exist. Made once per process and cost.
pub async fn dummy_hash(cost: PasswordCost) -> Result<String, PasswordError> {
    static MADE: std::sync::Mutex<Vec<(PasswordCost, String)>> = std::sync::Mutex::new(Vec::new());
    let known = |made: &Vec<(PasswordCost, String)>| {
        made.iter()
            .find(|(c, _)| *c == cost)
            .map(|(_, phc)| phc.clone())
    };
    if let Some(phc) = known(&MADE.lock().unwrap_or_else(|e| e.into_inner())) {
        return Ok(phc);
    }
    let phc = hash_password(cost, &protocol::b64::random(24)).await?;
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(phc) = known(&made) {
        return Ok(phc);
    }
    made.push((cost, phc.clone()));
    Ok(phc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_are_checked_for_length() {
        assert_eq!(check_new_password("short"), Err(WeakPassword::TooShort));
        assert_eq!(
            check_new_password(&"x".repeat(MAX_PASSWORD + 1)),
            Err(WeakPassword::TooLong)
        );
        assert_eq!(check_new_password("パスワードは十文字以上"), Ok(()));
    }

    #[tokio::test]
    async fn hashes_verify_at_the_cost_they_name_and_the_dummy_matches_nothing() {
        let phc = hash_password(PasswordCost::TEST, "correct horse battery")
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(
            password_matches("correct horse battery", &phc)
                .await
                .unwrap()
        );
        assert!(
            !password_matches("correct horse batterx", &phc)
                .await
                .unwrap()
        );
        let dummy = dummy_hash(PasswordCost::TEST).await.unwrap();
        assert_eq!(dummy_hash(PasswordCost::TEST).await.unwrap(), dummy);
        assert!(
            !password_matches("correct horse battery", &dummy)
                .await
                .unwrap()
        );
        assert!(password_matches("x", "not a hash").await.is_err());
    }
}
