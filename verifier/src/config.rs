//! Configuration: every key has a default that runs on a laptop; environment variables
//! override; tests build the struct by hand. Flags are prefixed `--verifier-` so the
//! one-command launcher can flatten the three services' configurations side by side.

use std::path::PathBuf;
use std::time::Duration;

use kit::fetch::FetchPolicy;
use protocol::keys::seal::SealKey;
pub use protocol::secret::Secret;

use crate::error::Error;

/// Defaults written once: the flags' `default_value`s and [`Config::for_dir`] both use them.
mod defaults {
    pub const REQUEST_TTL: i64 = 600;
    pub const RESULT_TTL: i64 = 86_400;
}

// The flags every service has, as the verifier names them (`--verifier-…`, `VERIFIER_…`).
kit::service_flags! {
    pub struct ServiceFlags {
        long: "verifier",
        env: "VERIFIER",
        listen: "127.0.0.1:8083",
        /// Public base URL: the source of the verifier's did:web, `request_uri` and
        /// `response_uri`.
        public_url: "http://127.0.0.1:8083",
        database_url: "sqlite://data/verifier.db",
        /// Key (32 bytes, base64url) sealing private keys at rest. Unset: read from (or created
        /// in) `<data-dir>/verifier-seal.key`.
        seal_key,
        /// API bearer token. Unset: one is created on first start, printed once and stored
        /// hashed.
        api_token: "api-token", "API_TOKEN",
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Listen address, public URL, database, seal key, API token, data directory.
    #[command(flatten)]
    pub service: ServiceFlags,
    /// Development setting: let the guarded fetcher reach http:// loopback addresses
    /// (issuer metadata, did:web documents and status lists of services on this machine).
    #[arg(
        long = "verifier-allow-loopback",
        env = "VERIFIER_ALLOW_LOOPBACK",
        default_value_t = false
    )]
    pub allow_loopback: bool,
    /// Issuer identifiers (the SD-JWT VC `iss`) this verifier trusts, comma-separated.
    /// Empty: no trust list is configured and the `trust` check says so.
    #[arg(
        long = "verifier-trusted-issuers",
        env = "VERIFIER_TRUSTED_ISSUERS",
        value_delimiter = ','
    )]
    pub trusted_issuers: Vec<String>,
    /// Where to post each result when it is ready (JSON, signed with
    /// `VERIFIER_WEBHOOK_SECRET`); a request may name its own. Unset: no webhook.
    #[arg(long = "verifier-webhook-url", env = "VERIFIER_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// The HMAC-SHA256 key of the webhook signature (`Akashi-Signature: sha256=<hex>` over
    /// the body). Required for any webhook.
    #[arg(long = "verifier-webhook-secret", env = "VERIFIER_WEBHOOK_SECRET")]
    pub webhook_secret: Option<Secret>,
    /// Seconds a presentation request stays answerable.
    #[arg(
        long = "verifier-request-ttl",
        env = "VERIFIER_REQUEST_TTL",
        default_value_t = defaults::REQUEST_TTL
    )]
    pub request_ttl: i64,
    /// Seconds a request and its result are kept after the request expired; then they are
    /// deleted (the verifier keeps no disclosed claims longer than this).
    #[arg(
        long = "verifier-result-ttl",
        env = "VERIFIER_RESULT_TTL",
        default_value_t = defaults::RESULT_TTL
    )]
    pub result_ttl: i64,
    /// PEM certificate chain (leaf first, without the root) of the key that signs
    /// `x509_san_dns:` / `x509_hash:` requests. Unset (with `VERIFIER_X509_KEY` unset): a
    /// development CA and a leaf for the public URL's host are generated and kept.
    #[arg(
        long = "verifier-x509-cert",
        env = "VERIFIER_X509_CERT",
        requires = "x509_key"
    )]
    pub x509_cert: Option<PathBuf>,
    /// PEM PKCS#8 P-256 private key of the `VERIFIER_X509_CERT` leaf.
    #[arg(
        long = "verifier-x509-key",
        env = "VERIFIER_X509_KEY",
        requires = "x509_cert"
    )]
    pub x509_key: Option<PathBuf>,
    /// PEM file of the CA certificates an issuer's `x5c` chain (in an SD-JWT VC, a VC-JWT or
    /// a status list token) must lead to. Unset: `x5c` chains are not used and issuer keys
    /// come from `iss` and `kid` alone.
    #[arg(
        long = "verifier-x509-trust-anchors",
        env = "VERIFIER_X509_TRUST_ANCHORS"
    )]
    pub x509_trust_anchors: Option<PathBuf>,
    /// More issuer trust anchors (DER), set by an embedding program (the launcher's stack
    /// may trust its own issuer's development CA).
    #[arg(skip)]
    pub extra_x509_anchors: Vec<Vec<u8>>,
    /// What the Response Endpoint tells a wallet whose presentation it did not accept:
    /// `reasons` (the failed checks and why, in a sentence each) or `outcome` (only that it
    /// was not accepted).
    #[arg(
        long = "verifier-tell-wallet",
        env = "VERIFIER_TELL_WALLET",
        value_enum,
        default_value_t = TellWallet::Reasons
    )]
    pub tell_wallet: TellWallet,
    /// `open`: OpenID4VP 1.0 as requested. `haip`: only what HAIP 1.0 allows: signed
    /// `x509_hash:` requests, `direct_post.jwt` (`dc_api.jwt`) responses, `dc+sd-jwt` with a
    /// KB-JWT, issuer keys from `x5c` chains to `VERIFIER_X509_TRUST_ANCHORS` (required),
    /// `trusted_authorities` of type `aki`, and same-device results opened only from the
    /// session the request was created in.
    #[arg(
        long = "verifier-profile",
        env = "VERIFIER_PROFILE",
        value_enum,
        default_value_t = VerifierProfile::Open
    )]
    pub profile: VerifierProfile,
    /// Witness keys (C2SP tlog-cosignature vkeys, `<name>+<key id>+<base64 key>`),
    /// comma-separated, whose cosignatures an issuer's log checkpoint is checked for.
    /// Empty: the `transparency` check asks for none.
    #[arg(
        long = "verifier-witnesses",
        env = "VERIFIER_WITNESSES",
        value_delimiter = ','
    )]
    pub witnesses: Vec<String>,
    /// How many of `VERIFIER_WITNESSES` must have cosigned an issuer's checkpoint for the
    /// `transparency` check to pass. Unset: all of them.
    #[arg(long = "verifier-witness-quorum", env = "VERIFIER_WITNESS_QUORUM")]
    pub witness_quorum: Option<usize>,
}

/// How much a wallet is told about a presentation the verifier did not accept
/// (`VERIFIER_TELL_WALLET`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TellWallet {
    /// The names of the failed checks and, for each, the reason in one plain sentence.
    #[default]
    Reasons,
    /// Only that the presentation was not accepted.
    Outcome,
}

/// What the verifier requires of requests and presentations (`VERIFIER_PROFILE`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerifierProfile {
    /// OpenID4VP 1.0: every option the API offers.
    #[default]
    Open,
    /// OpenID4VC High Assurance Interoperability Profile 1.0.
    Haip,
}

impl VerifierProfile {
    /// The verification pipeline's profile.
    pub fn verify(self) -> protocol::verify::Profile {
        match self {
            VerifierProfile::Open => protocol::verify::Profile::Open,
            VerifierProfile::Haip => protocol::verify::Profile::Haip,
        }
    }
}

impl Config {
    /// A configuration for tests and embedding: everything under `data_dir`, the given URLs,
    /// and loopback fetches allowed (the other services of a test run on 127.0.0.1).
    pub fn for_dir(data_dir: PathBuf, public_url: String, database_url: String) -> Self {
        Config {
            service: ServiceFlags::for_dir(data_dir, public_url, database_url),
            allow_loopback: true,
            trusted_issuers: Vec::new(),
            webhook_url: None,
            webhook_secret: None,
            request_ttl: defaults::REQUEST_TTL,
            result_ttl: defaults::RESULT_TTL,
            x509_cert: None,
            x509_key: None,
            x509_trust_anchors: None,
            extra_x509_anchors: Vec::new(),
            tell_wallet: TellWallet::Reasons,
            profile: VerifierProfile::Open,
            witnesses: Vec::new(),
            witness_quorum: None,
        }
    }

    /// The sealing key: configured, or read from / created in the data directory.
    pub fn seal_key(&self) -> Result<SealKey, Error> {
        self.service
            .seal_key()
            .map_err(|e| Error::Config(e.to_string()))
    }

    /// The trust anchors of issuers' `x5c` chains: the PEM file's and the embedder's
    /// (empty when none are configured).
    pub fn x509_anchors(&self) -> Result<protocol::x509::TrustAnchors, Error> {
        let mut ders = Vec::new();
        if let Some(path) = &self.x509_trust_anchors {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
            ders = protocol::x509::pem_certificates(&pem)
                .map_err(|e| Error::Config(format!("VERIFIER_X509_TRUST_ANCHORS: {e}")))?;
        }
        ders.extend(self.extra_x509_anchors.iter().cloned());
        protocol::x509::TrustAnchors::from_der(&ders)
            .map_err(|e| Error::Config(format!("VERIFIER_X509_TRUST_ANCHORS: {e}")))
    }

    /// "Require N cosignatures from these witness keys", when witnesses are configured.
    pub fn witness_policy(
        &self,
    ) -> Result<Option<protocol::verify::transparency::WitnessPolicy>, Error> {
        protocol::verify::transparency::WitnessPolicy::from_settings(
            &self.witnesses,
            self.witness_quorum,
            "VERIFIER_WITNESSES",
            "VERIFIER_WITNESS_QUORUM",
        )
        .map_err(Error::Config)
    }

    /// What the guarded fetcher may reach: issuer metadata, DID documents and status lists
    /// are all URLs taken from credentials a stranger presents.
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            allow_loopback: self.allow_loopback,
            // A Token Status List of 131,072 two-bit entries is 32 KiB before compression.
            max_bytes: 512 * 1024,
            timeout: Duration::from_secs(10),
        }
    }
}
