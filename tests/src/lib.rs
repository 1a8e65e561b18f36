//! The journeys' helpers: the test stack builder ([`ephemeral`]: the launcher's in-process
//! stack, [`akashi::Stack`], made fast for tests) and headless Chromium ([`browser`]).

use std::path::Path;
use std::sync::OnceLock;

use akashi::{StackConfig, Storage};
use protocol::keys::{Alg, SigningKey};

pub mod browser;
pub mod lang;

/// SQLite in `dir`, or PostgreSQL when `TEST_DATABASE_URL` is set (a fresh schema prefix
/// per call, so tests run in parallel).
pub fn storage(dir: &Path) -> Storage {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Storage::Postgres {
            url,
            schema_prefix: format!("t{}", uuid::Uuid::new_v4().simple()),
        },
        _ => Storage::Sqlite(dir.to_path_buf()),
    }
}

/// The tests' stack: [`StackConfig::with_storage`] on [`storage`] (everything on ephemeral
/// loopback ports, data in `dir`, fixed tokens, loopback fetching allowed); and, for speed,
/// the issuer's RSA key shared within the process ([`test_keys`]) and the wallet's
/// passwords hashed at argon2's lowest cost
/// ([`holder_agent::wallet::web::PasswordCost::TEST`]). Tests only: the launcher and the
/// bench keep the services' defaults.
pub fn ephemeral(dir: &Path) -> StackConfig {
    let mut config = StackConfig::with_storage(dir, storage(dir));
    config.issuer.new_keys = issuer_agent::config::NewKeys(test_keys);
    config.wallet.password_cost = holder_agent::wallet::web::PasswordCost::TEST;
    config
}

/// The tests' issuer keys: one RSA-2048 key per process, made on first use (every stack
/// needs one, and making one is the slowest step of a start); ES256 and Ed25519 keys are
/// fresh per stack, as in production (cheap, and tests with two issuers rely on their keys
/// differing).
pub fn test_keys(alg: Alg) -> SigningKey {
    static RSA: OnceLock<Vec<u8>> = OnceLock::new();
    match alg {
        Alg::RS256 => {
            let secret = RSA.get_or_init(|| SigningKey::generate(Alg::RS256).to_secret_bytes());
            SigningKey::from_secret_bytes(secret)
                .expect("a key's own secret bytes read back as that key")
        }
        other => SigningKey::generate(other),
    }
}
