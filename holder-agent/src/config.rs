//! Configuration: every key has a default that runs on a laptop; environment variables
//! (`WALLET_…`) override; flags are `--wallet-…` so the launcher can flatten the configs of
//! all three services into one command line; tests build the struct by hand.

use std::path::PathBuf;
use std::time::Duration;

use kit::fetch::FetchPolicy;
use protocol::keys::seal::SealKey;
pub use protocol::secret::Secret;

use crate::AppError;

/// Defaults written once: the flags' `default_value`s and [`Config::for_dir`] both use them.
mod defaults {
    pub const ACCOUNT: &str = "default";
    pub const FETCH_TIMEOUT: u64 = 10;
    pub const MAIL_FROM: &str = "Akashi Wallet <wallet@akashi.example>";
    pub const BATCH_SIZE: u32 = 3;
}

// The flags every service has, as the wallet names them (`--wallet-…`, `WALLET_…`).
kit::service_flags! {
    pub struct ServiceFlags {
        long: "wallet",
        env: "WALLET",
        listen: "127.0.0.1:8082",
        /// Public base URL of the wallet.
        public_url: "http://127.0.0.1:8082",
        database_url: "sqlite://data/wallet.db",
        /// Key (32 bytes, base64url) sealing holder keys at rest. Unset: read from (or created
        /// in) `<data-dir>/wallet-seal.key`.
        seal_key,
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Listen address, public URL, database, seal key, data directory.
    #[command(flatten)]
    pub service: ServiceFlags,
    /// Development setting: lets the wallet fetch from http:// loopback issuers and
    /// verifiers. Never enable it on a wallet reachable by others.
    #[arg(long = "wallet-allow-loopback", env = "WALLET_ALLOW_LOOPBACK")]
    pub allow_loopback: bool,
    /// The wallet account the command line works on (created on first use).
    #[arg(
        long = "wallet-account",
        env = "WALLET_ACCOUNT",
        default_value = defaults::ACCOUNT
    )]
    pub account: String,
    /// Seconds a fetch from an issuer or verifier may take, connect to last byte.
    #[arg(
        long = "wallet-fetch-timeout",
        env = "WALLET_FETCH_TIMEOUT",
        default_value_t = defaults::FETCH_TIMEOUT
    )]
    pub fetch_timeout: u64,
    /// PEM file of the CA certificates that `x509_san_dns:` / `x509_hash:` verifiers'
    /// certificate chains must lead to. Unset: such verifiers are refused.
    #[arg(long = "wallet-x509-trust-anchors", env = "WALLET_X509_TRUST_ANCHORS")]
    pub x509_trust_anchors: Option<PathBuf>,
    /// More trust anchors (DER), set by an embedding program (the launcher trusts its own
    /// verifier's development CA).
    #[arg(skip)]
    pub extra_x509_anchors: Vec<Vec<u8>>,
    /// PEM file of the CA certificates an issuer's `x5c` chain (SD-JWT VC, HAIP 1.0 §6.1)
    /// may lead to: with it, a badge carrying `x5c` is verified with the chain's leaf key,
    /// which must name `iss`. Unset: issuer keys come from `iss` and `kid` alone.
    #[arg(
        long = "wallet-issuer-x509-trust-anchors",
        env = "WALLET_ISSUER_X509_TRUST_ANCHORS"
    )]
    pub issuer_x509_trust_anchors: Option<PathBuf>,
    /// More issuer trust anchors (DER), set by an embedding program.
    #[arg(skip)]
    pub extra_issuer_x509_anchors: Vec<Vec<u8>>,
    /// SMTP server for the wallet's emails (confirmation and password-reset links), in the
    /// issuer's `SMTP_URL` syntax: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`. Unset: emails are written to the outbox directory.
    #[arg(long = "wallet-smtp-url", env = "WALLET_SMTP_URL")]
    pub smtp_url: Option<Secret>,
    /// The From address of the wallet's emails.
    #[arg(
        long = "wallet-mail-from",
        env = "WALLET_MAIL_FROM",
        default_value = defaults::MAIL_FROM
    )]
    pub mail_from: String,
    /// Where emails go when `WALLET_SMTP_URL` is unset (development). Unset:
    /// `<data-dir>/wallet-outbox`.
    #[arg(long = "wallet-outbox-dir", env = "WALLET_OUTBOX_DIR")]
    pub outbox_dir: Option<PathBuf>,
    /// Comma-separated credential issuer identifiers (the invitation's `iss`) whose
    /// registration invitations count as proof of the invited address. An invitation from
    /// any other issuer is an ordinary registration that needs the emailed confirmation
    /// link. Unset: no issuer is trusted.
    #[arg(
        long = "wallet-trusted-issuers",
        env = "WALLET_TRUSTED_ISSUERS",
        value_delimiter = ','
    )]
    pub trusted_issuers: Vec<String>,
    /// The identifier this wallet signs its wallet attestations with as their wallet
    /// provider (`iss`; OpenID4VCI Appendix E), as issuers list it in
    /// `ISSUER_WALLET_PROVIDERS`. Unset: the wallet's public URL.
    #[arg(long = "wallet-provider-id", env = "WALLET_PROVIDER_ID")]
    pub provider_id: Option<String>,
    /// PEM file of the certificate chain (leaf first, without the root) that certifies the
    /// key this wallet signs its key and wallet attestations with (HAIP 1.0 §4.5): they
    /// then carry it in `x5c` and are signed by the leaf's key, so an issuer that trusts
    /// the CA (`ISSUER_KEY_ATTESTATION_X509_ANCHORS`, `ISSUER_WALLET_ATTESTATION_X509_ANCHORS`)
    /// needs no provider key listed.
    #[arg(
        long = "wallet-provider-cert-chain",
        env = "WALLET_PROVIDER_CERT_CHAIN"
    )]
    pub provider_cert_chain: Option<PathBuf>,
    /// PEM file of the P-256 private key (PKCS#8) of `WALLET_PROVIDER_CERT_CHAIN`'s leaf.
    /// Unset: the leaf must certify the wallet's own attestation key (derived from the
    /// sealing key; its public JWK is printed when the wallet starts).
    #[arg(long = "wallet-provider-cert-key", env = "WALLET_PROVIDER_CERT_KEY")]
    pub provider_cert_key: Option<PathBuf>,
    /// Without `WALLET_PROVIDER_CERT_CHAIN`: make a development CA on first start (kept in
    /// the database, shared by every instance) and a leaf for the wallet's attestation
    /// key, and send key and wallet attestations with that `x5c`. The CA is served at
    /// `/x509/wallet-provider-ca.pem` for issuers to trust.
    #[arg(long = "wallet-provider-x509-dev", env = "WALLET_PROVIDER_X509_DEV")]
    pub provider_x509_dev: bool,
    /// Refuse issuer metadata without `signed_metadata` (OpenID4VCI §12.2.3, HAIP 1.0
    /// §4.4), so a man in the middle cannot strip the signature to change the metadata.
    /// Unset: unsigned metadata is used as it is, signed metadata is always checked.
    #[arg(
        long = "wallet-require-signed-metadata",
        env = "WALLET_REQUIRE_SIGNED_METADATA"
    )]
    pub require_signed_metadata: bool,
    /// Witness keys (C2SP tlog-cosignature vkeys, `<name>+<key id>+<base64 key>`),
    /// comma-separated, whose cosignatures an issuer's log checkpoint must carry for a
    /// badge's `transparency` check to pass. Empty: the check asks for none.
    #[arg(
        long = "wallet-witnesses",
        env = "WALLET_WITNESSES",
        value_delimiter = ','
    )]
    pub witnesses: Vec<String>,
    /// How many of `WALLET_WITNESSES` must have cosigned. Unset: all of them.
    #[arg(long = "wallet-witness-quorum", env = "WALLET_WITNESS_QUORUM")]
    pub witness_quorum: Option<usize>,
    /// How many copies of a badge to ask an issuer for when its metadata offers batch
    /// issuance (`batch_credential_issuance.batch_size`, OpenID4VCI 1.0 §8.2): each bound
    /// to a key of its own, presented in turn so verifiers cannot link presentations by the
    /// holder key. The wallet asks for the smaller of this and the issuer's batch size; 1
    /// asks for one.
    #[arg(
        long = "wallet-batch-size",
        env = "WALLET_BATCH_SIZE",
        default_value_t = defaults::BATCH_SIZE,
        value_parser = clap::value_parser!(u32).range(1..=10)
    )]
    pub batch_size: u32,
    /// The verifier's offline check page (`https://verifier.example/check/offline`): when
    /// set, a business card's QR code can carry a card credential in this page's URL
    /// fragment (`?qr=offline` on the card's routes), verifiable with no network. Unset:
    /// cards carry the public page's URL only.
    #[arg(long = "wallet-offline-check-url", env = "WALLET_OFFLINE_CHECK_URL")]
    pub offline_check_url: Option<String>,
    /// The argon2id cost of new password hashes: argon2's default unless an embedding
    /// program lowers it (the tests' stacks do; no flag or variable does).
    #[arg(skip)]
    pub password_cost: crate::wallet::web::PasswordCost,
}

impl Config {
    /// A configuration for tests and embedding: everything under `data_dir`, the given
    /// URLs, loopback fetches allowed (tests run every party on 127.0.0.1).
    pub fn for_dir(data_dir: PathBuf, public_url: String, database_url: String) -> Self {
        Config {
            service: ServiceFlags::for_dir(data_dir, public_url, database_url),
            allow_loopback: true,
            account: defaults::ACCOUNT.into(),
            fetch_timeout: defaults::FETCH_TIMEOUT,
            x509_trust_anchors: None,
            extra_x509_anchors: Vec::new(),
            issuer_x509_trust_anchors: None,
            extra_issuer_x509_anchors: Vec::new(),
            smtp_url: None,
            mail_from: defaults::MAIL_FROM.into(),
            outbox_dir: None,
            trusted_issuers: Vec::new(),
            provider_id: None,
            provider_cert_chain: None,
            provider_cert_key: None,
            provider_x509_dev: false,
            require_signed_metadata: false,
            witnesses: Vec::new(),
            witness_quorum: None,
            offline_check_url: None,
            batch_size: defaults::BATCH_SIZE,
            password_cost: crate::wallet::web::PasswordCost::DEFAULT,
        }
    }

    /// Whether invitations signed by `iss` prove the invited address: `iss` is one of
    /// [`Config::trusted_issuers`], compared exactly but for a trailing `/`.
    pub fn trusts_issuer(&self, iss: &str) -> bool {
        let iss = iss.trim_end_matches('/');
        !iss.is_empty()
            && self
                .trusted_issuers
                .iter()
                .map(|t| t.trim().trim_end_matches('/'))
                .any(|t| t == iss)
    }

    /// The directory emails are written to when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.outbox_dir
            .clone()
            .unwrap_or_else(|| self.service.data_dir.join("wallet-outbox"))
    }

    /// The sealing key: configured, or read from / created in the data directory.
    pub fn seal_key(&self) -> Result<SealKey, AppError> {
        self.service
            .seal_key()
            .map_err(|e| AppError::Config(e.to_string()))
    }

    /// The X.509 trust anchors of verifiers: the PEM file's and the embedder's.
    pub fn x509_anchors(&self) -> Result<protocol::x509::TrustAnchors, AppError> {
        anchors(
            "WALLET_X509_TRUST_ANCHORS",
            self.x509_trust_anchors.as_deref(),
            &self.extra_x509_anchors,
        )
    }

    /// The X.509 trust anchors of issuers' `x5c` chains: the PEM file's and the embedder's.
    pub fn issuer_x509_anchors(&self) -> Result<protocol::x509::TrustAnchors, AppError> {
        anchors(
            "WALLET_ISSUER_X509_TRUST_ANCHORS",
            self.issuer_x509_trust_anchors.as_deref(),
            &self.extra_issuer_x509_anchors,
        )
    }

    /// "Require N cosignatures from these witness keys", when witnesses are configured.
    pub fn witness_policy(
        &self,
    ) -> Result<Option<protocol::verify::transparency::WitnessPolicy>, AppError> {
        protocol::verify::transparency::WitnessPolicy::from_settings(
            &self.witnesses,
            self.witness_quorum,
            "WALLET_WITNESSES",
            "WALLET_WITNESS_QUORUM",
        )
        .map_err(AppError::Config)
    }

    /// What the guarded fetcher may reach.
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            allow_loopback: self.allow_loopback,
            max_bytes: 512 * 1024,
            timeout: Duration::from_secs(self.fetch_timeout.max(1)),
        }
    }
}

/// The certificates of the PEM file `path` (the setting `name`) and `extra` (DER).
fn anchors(
    name: &str,
    path: Option<&std::path::Path>,
    extra: &[Vec<u8>],
) -> Result<protocol::x509::TrustAnchors, AppError> {
    let mut ders = Vec::new();
    if let Some(path) = path {
        let pem = std::fs::read_to_string(path)
            .map_err(|e| AppError::Config(format!("{}: {e}", path.display())))?;
        ders = protocol::x509::pem_certificates(&pem)
            .map_err(|e| AppError::Config(format!("{name}: {e}")))?;
    }
    ders.extend(extra.iter().cloned());
    protocol::x509::TrustAnchors::from_der(&ders)
        .map_err(|e| AppError::Config(format!("{name}: X.509 trust anchor: {e}")))
}
