//! Configuration: every key has a default that runs on a laptop; environment variables
//! override; tests build the struct by hand.

use std::path::PathBuf;

use protocol::keys::seal::SealKey;
pub use protocol::secret::Secret;

use crate::error::AppError;

/// Defaults written once: the flags' `default_value`s and [`Config::for_dir`] both use them.
mod defaults {
    pub const NAME: &str = "Akashi Demo Issuer";
    pub const TEXT_COLOR: &str = "#ffffff";
    pub const OFFER_TTL: i64 = 7 * 24 * 3600;
    pub const TOKEN_TTL: i64 = 300;
    pub const NONCE_TTL: i64 = 300;
    pub const MAIL_FROM: &str = "Akashi Demo Issuer <badges@akashi.example>";
    pub const WALLET_URL: &str = "http://127.0.0.1:8082";
    pub const INVITATION_TTL: i64 = 30 * 24 * 3600;
    pub const BRAND_COLOR: &str = "#1d4ed8";
    pub const OUTBOX_LEASE: i64 = 60;
    pub const IMPORT_MAX_BYTES: u64 = 256 * 1024 * 1024;
    pub const OUTBOX_CONCURRENCY: usize = 8;
    pub const OIDC_SCOPES: &str = "openid email";
}

// The flags every service has, as the issuer names them (`--issuer-…`, `ISSUER_…`).
kit::service_flags! {
    pub struct ServiceFlags {
        long: "issuer",
        env: "ISSUER",
        listen: "127.0.0.1:8081",
        /// Public base URL: the credential issuer identifier, and the source of the did:web.
        public_url: "http://127.0.0.1:8081",
        database_url: "sqlite://data/issuer.db",
        /// Key (32 bytes, base64url) sealing private keys at rest. Unset: read from (or created
        /// in) `<data-dir>/issuer-seal.key`.
        seal_key,
        /// Admin API bearer token. Unset: one is created on first start, printed once and
        /// stored hashed.
        admin_token: "admin-token", "ADMIN_TOKEN",
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct Config {
    /// Listen address, public URL, database, seal key, admin token, data directory.
    #[command(flatten)]
    pub service: ServiceFlags,
    /// Display name of the issuer (metadata and the badge's issuer profile).
    #[arg(
        long = "issuer-name",
        env = "ISSUER_NAME",
        default_value = defaults::NAME
    )]
    pub name: String,
    /// The issuer's name in Japanese (metadata display, `ja`); unset: `ISSUER_NAME`.
    #[arg(long = "issuer-name-ja", env = "ISSUER_NAME_JA")]
    pub name_ja: Option<String>,
    /// Text colour on the brand colour in wallets' credential cards (`#rrggbb`).
    #[arg(
        long = "issuer-text-color",
        env = "ISSUER_TEXT_COLOR",
        default_value = defaults::TEXT_COLOR
    )]
    pub text_color: String,
    /// Seconds an offer's pre-authorized code stays redeemable.
    #[arg(long = "issuer-offer-ttl", env = "ISSUER_OFFER_TTL", default_value_t = defaults::OFFER_TTL)]
    pub offer_ttl: i64,
    /// Seconds an access token from the token endpoint stays valid.
    #[arg(
        long = "issuer-token-ttl",
        env = "ISSUER_TOKEN_TTL",
        default_value_t = defaults::TOKEN_TTL
    )]
    pub token_ttl: i64,
    /// Seconds a c_nonce stays valid.
    #[arg(
        long = "issuer-nonce-ttl",
        env = "ISSUER_NONCE_TTL",
        default_value_t = defaults::NONCE_TTL
    )]
    pub nonce_ttl: i64,
    /// The OAuth clients of the authorization code flow, space-separated, each
    /// `client_id=redirect_uri` (a client with several redirect URIs is listed once per
    /// URI); a redirect URI is matched exactly. Unset: no client may use the flow (the
    /// pre-authorized code flow needs none).
    #[arg(
        long = "issuer-oauth-clients",
        env = "ISSUER_OAUTH_CLIENTS",
        value_delimiter = ' '
    )]
    pub oauth_clients: Vec<String>,
    /// Refuse authorization requests that were not pushed first (RFC 9126 §5,
    /// `require_pushed_authorization_requests`).
    #[arg(long = "issuer-require-par", env = "ISSUER_REQUIRE_PAR")]
    pub require_par: bool,
    /// SD-JWT VC badges name the issuer's did:web as `iss` (with `kid` the DID URL of its
    /// ES256 key) instead of the credential issuer URL, for wallets and verifiers that
    /// resolve issuer keys only from DIDs or `x5c`. The OB 3.0 `issuer.id` stays the URL
    /// (the same issuer: a URL and its did:web).
    #[arg(long = "issuer-sd-jwt-did-web", env = "ISSUER_SD_JWT_DID_WEB")]
    pub sd_jwt_did_web: bool,
    /// The wallet providers whose wallet attestations (OpenID4VCI Appendix E) this issuer
    /// trusts, space-separated, each `provider_id=<base64url of the provider's public
    /// JWK>` (a provider with several keys is listed once per key).
    #[arg(
        long = "issuer-wallet-providers",
        env = "ISSUER_WALLET_PROVIDERS",
        value_delimiter = ' '
    )]
    pub wallet_providers: Vec<String>,
    /// Require a wallet attestation and its proof of possession at the pushed
    /// authorization request and token endpoints (client authentication
    /// `attest_jwt_client_auth`); unset, one that is sent is still checked.
    #[arg(
        long = "issuer-require-wallet-attestation",
        env = "ISSUER_REQUIRE_WALLET_ATTESTATION"
    )]
    pub require_wallet_attestation: bool,
    /// PEM file of the CA certificates a wallet attestation's `x5c` chain may lead to
    /// (OpenID4VCI 1.0 Appendix E with HAIP 1.0's X.509 trust): such an attestation is
    /// trusted by its chain (not a self-signed leaf, the leaf's P-256 key the signer)
    /// instead of by a key of `ISSUER_WALLET_PROVIDERS`. Unset: `x5c` wallet attestations
    /// are refused.
    #[arg(
        long = "issuer-wallet-attestation-x509-anchors",
        env = "ISSUER_WALLET_ATTESTATION_X509_ANCHORS"
    )]
    pub wallet_attestation_x509_anchors: Option<PathBuf>,
    /// Require a key attestation (OpenID4VCI Appendix D) in every key proof's JOSE header
    /// (`key_attestation`), signed by a wallet provider of `ISSUER_WALLET_PROVIDERS` and
    /// attesting the proof's key; listed as `key_attestations_required` in the
    /// configurations' metadata. Unset, one that is sent is still checked.
    #[arg(
        long = "issuer-require-key-attestation",
        env = "ISSUER_REQUIRE_KEY_ATTESTATION"
    )]
    pub require_key_attestation: bool,
    /// The `key_storage` levels a key attestation must claim one of, space-separated
    /// (`iso_18045_high`, `iso_18045_moderate`, `iso_18045_enhanced-basic`,
    /// `iso_18045_basic`). Unset: any.
    #[arg(
        long = "issuer-key-attestation-key-storage",
        env = "ISSUER_KEY_ATTESTATION_KEY_STORAGE",
        value_delimiter = ' ',
        value_parser = protocol::oid4vci::key_attestation::LEVELS
    )]
    pub key_attestation_key_storage: Vec<String>,
    /// The `user_authentication` levels a key attestation must claim one of,
    /// space-separated (the same values). Unset: any.
    #[arg(
        long = "issuer-key-attestation-user-authentication",
        env = "ISSUER_KEY_ATTESTATION_USER_AUTHENTICATION",
        value_delimiter = ' ',
        value_parser = protocol::oid4vci::key_attestation::LEVELS
    )]
    pub key_attestation_user_authentication: Vec<String>,
    /// PEM file of the CA certificates a key attestation's `x5c` chain may lead to (HAIP
    /// 1.0 §4.5): such an attestation is trusted by its chain (not a self-signed leaf, the
    /// leaf's key the signer) instead of by a listed provider key. Unset: `x5c` attestations
    /// are refused.
    #[arg(
        long = "issuer-key-attestation-x509-anchors",
        env = "ISSUER_KEY_ATTESTATION_X509_ANCHORS"
    )]
    pub key_attestation_x509_anchors: Option<PathBuf>,
    /// Accept only the `attestation` proof type (OpenID4VCI 1.0 Appendix F.3): the
    /// configurations list no `jwt` proofs and a `jwt` proof is refused, so every key bound
    /// is one a wallet provider (`ISSUER_WALLET_PROVIDERS`) or a CA of
    /// `ISSUER_KEY_ATTESTATION_X509_ANCHORS` vouches for. Needs one of the two.
    #[arg(
        long = "issuer-attestation-proofs-only",
        env = "ISSUER_ATTESTATION_PROOFS_ONLY"
    )]
    pub attestation_proofs_only: bool,
    /// An upstream OpenID Connect provider (its issuer identifier, e.g.
    /// `https://login.example.org`) that authenticates people who start the authorization
    /// code flow without the badge email's link (no `issuer_state`): they sign in there and
    /// are given the offer waiting for the address it verified (`email`,
    /// `email_verified`). Its discovery document must name exactly this issuer. Unset: such
    /// people are asked to open the link in their badge email.
    #[arg(long = "issuer-oidc-issuer", env = "ISSUER_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// This issuer's client id at the OpenID Connect provider (its redirect URI is
    /// `<public URL>/authorize/callback`).
    #[arg(
        long = "issuer-oidc-client-id",
        env = "ISSUER_OIDC_CLIENT_ID",
        requires = "oidc_issuer"
    )]
    pub oidc_client_id: Option<String>,
    /// The client secret at the OpenID Connect provider (sent with `client_secret_basic`).
    #[arg(
        long = "issuer-oidc-client-secret",
        env = "ISSUER_OIDC_CLIENT_SECRET",
        conflicts_with = "oidc_client_secret_file"
    )]
    pub oidc_client_secret: Option<Secret>,
    /// A file holding the client secret (trailing whitespace ignored), instead of
    /// `ISSUER_OIDC_CLIENT_SECRET`.
    #[arg(
        long = "issuer-oidc-client-secret-file",
        env = "ISSUER_OIDC_CLIENT_SECRET_FILE"
    )]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The scopes asked of the OpenID Connect provider, space-separated (`openid` and
    /// `email` are needed).
    #[arg(
        long = "issuer-oidc-scopes",
        env = "ISSUER_OIDC_SCOPES",
        default_value = defaults::OIDC_SCOPES
    )]
    pub oidc_scopes: String,
    /// Development and tests: the OpenID Connect provider may be an `http://` loopback
    /// address.
    #[arg(
        long = "issuer-oidc-allow-loopback",
        env = "ISSUER_OIDC_ALLOW_LOOPBACK",
        default_value_t = false
    )]
    pub oidc_allow_loopback: bool,
    /// SMTP server for the emails, e.g. `smtp://localhost:25` (plain),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://user:pass@host:465`
    /// (TLS). Unset: emails are written to the outbox directory and listed at
    /// `/dev/mailbox`.
    #[arg(long = "smtp-url", env = "SMTP_URL")]
    pub smtp_url: Option<Secret>,
    /// The From address of the emails.
    #[arg(
        long = "issuer-mail-from",
        env = "ISSUER_MAIL_FROM",
        default_value = defaults::MAIL_FROM
    )]
    pub mail_from: String,
    /// The domain of the emails' return path (VERP): each email is sent from the envelope
    /// address `bounces+<token>@<domain>`, the token naming that email under a MAC, so a
    /// bounce that comes back to it says which email bounced; the mail system of that
    /// domain hands such bounces to `POST /admin/bounces`. Unset: the envelope sender is
    /// the From address, as before (set it only once that domain takes `bounces+…` mail).
    #[arg(long = "issuer-bounce-domain", env = "ISSUER_BOUNCE_DOMAIN")]
    pub bounce_domain: Option<String>,
    /// Where emails go when `SMTP_URL` is unset. Unset: `<data-dir>/outbox`.
    #[arg(long = "issuer-outbox-dir", env = "ISSUER_OUTBOX_DIR")]
    pub outbox_dir: Option<PathBuf>,
    /// The web wallet the emails link to (its registration and receive pages).
    #[arg(
        long = "issuer-wallet-url",
        env = "ISSUER_WALLET_URL",
        default_value = defaults::WALLET_URL
    )]
    pub wallet_url: String,
    /// Seconds an invitation link stays valid.
    #[arg(long = "issuer-invitation-ttl", env = "ISSUER_INVITATION_TTL", default_value_t = defaults::INVITATION_TTL)]
    pub invitation_ttl: i64,
    /// Logo shown at the top of the emails (an https URL).
    #[arg(long = "issuer-logo-url", env = "ISSUER_LOGO_URL")]
    pub logo_url: Option<String>,
    /// Accent colour of the emails (`#rrggbb`).
    #[arg(
        long = "issuer-brand-color",
        env = "ISSUER_BRAND_COLOR",
        default_value = defaults::BRAND_COLOR
    )]
    pub brand_color: String,
    /// Seconds a worker holds a claimed email before another may retry it.
    #[arg(
        long = "issuer-outbox-lease",
        env = "ISSUER_OUTBOX_LEASE",
        default_value_t = defaults::OUTBOX_LEASE
    )]
    pub outbox_lease: i64,
    /// Emails this instance delivers at once; 0: this instance sends none (another
    /// instance sharing the database does).
    #[arg(
        long = "issuer-outbox-concurrency",
        env = "ISSUER_OUTBOX_CONCURRENCY",
        default_value_t = defaults::OUTBOX_CONCURRENCY
    )]
    pub outbox_concurrency: usize,
    /// Largest import body the admin API accepts, in bytes.
    #[arg(
        long = "issuer-import-max-bytes",
        env = "ISSUER_IMPORT_MAX_BYTES",
        default_value_t = defaults::IMPORT_MAX_BYTES
    )]
    pub import_max_bytes: u64,
    /// PEM certificate chain (leaf first, without the root) sent in the `x5c` header of
    /// SD-JWT VCs and Status List Tokens; its leaf must name the public URL's host as a SAN
    /// dNSName. Unset: a development CA and a leaf for the ES256 key are generated and kept
    /// (the CA is served at `/x509/dev-ca.pem`).
    #[arg(long = "issuer-x509-cert", env = "ISSUER_X509_CERT")]
    pub x509_cert: Option<PathBuf>,
    /// PEM PKCS#8 P-256 private key of the `ISSUER_X509_CERT` leaf, when it is not the
    /// issuer's ES256 signing key; it then signs SD-JWT VCs and Status List Tokens.
    #[arg(
        long = "issuer-x509-key",
        env = "ISSUER_X509_KEY",
        requires = "x509_cert"
    )]
    pub x509_key: Option<PathBuf>,
    /// How the signing keys are made on first start: a fresh key each unless an embedding
    /// program says otherwise (the tests' stacks share one RSA key per process; no flag or
    /// variable sets it).
    #[arg(skip)]
    pub new_keys: NewKeys,
    /// Witnesses asked to cosign each new checkpoint of the transparency log (C2SP
    /// tlog-witness), comma-separated, each `<submission prefix URL>=<witness key>` (the
    /// key a C2SP cosignature vkey, `<name>+<key id>+<base64 key>`). Empty: none.
    #[arg(
        long = "issuer-witnesses",
        env = "ISSUER_WITNESSES",
        value_delimiter = ','
    )]
    pub witnesses: Vec<String>,
    /// Development and tests: the witnesses may be `http://` loopback addresses.
    #[arg(
        long = "issuer-witness-allow-loopback",
        env = "ISSUER_WITNESS_ALLOW_LOOPBACK",
        default_value_t = false
    )]
    pub witness_allow_loopback: bool,
    /// The argon2id cost of new console operators' password hashes: argon2's default; only
    /// tests lower it (no flag or variable sets it).
    #[arg(skip)]
    pub password_cost: kit::password::PasswordCost,
    /// Issue without appending to the transparency log: only the benchmark sets it, to
    /// measure what the log costs (no flag or variable does; an issuer always logs).
    #[arg(skip)]
    pub bench_without_log: bool,
}

/// The upstream OpenID Connect provider's settings, checked ([`Config::oidc`]).
#[derive(Clone, Debug)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: String,
    pub allow_loopback: bool,
}

/// Makes the issuer's signing keys on first start (a stored key is loaded, never remade).
#[derive(Clone, Copy)]
pub struct NewKeys(pub fn(protocol::keys::Alg) -> protocol::keys::SigningKey);

impl NewKeys {
    /// A fresh key of the algorithm, from the system random source.
    pub const GENERATE: NewKeys = NewKeys(protocol::keys::SigningKey::generate);
}

impl Default for NewKeys {
    fn default() -> Self {
        NewKeys::GENERATE
    }
}

impl std::fmt::Debug for NewKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewKeys")
    }
}

impl Config {
    /// A configuration for tests and embedding: everything under `data_dir`, the given URLs.
    pub fn for_dir(data_dir: PathBuf, public_url: String, database_url: String) -> Self {
        Config {
            service: ServiceFlags::for_dir(data_dir, public_url, database_url),
            name: defaults::NAME.into(),
            name_ja: None,
            text_color: defaults::TEXT_COLOR.into(),
            offer_ttl: defaults::OFFER_TTL,
            token_ttl: defaults::TOKEN_TTL,
            nonce_ttl: defaults::NONCE_TTL,
            oauth_clients: Vec::new(),
            require_par: false,
            sd_jwt_did_web: false,
            wallet_providers: Vec::new(),
            require_wallet_attestation: false,
            wallet_attestation_x509_anchors: None,
            require_key_attestation: false,
            key_attestation_key_storage: Vec::new(),
            key_attestation_user_authentication: Vec::new(),
            key_attestation_x509_anchors: None,
            attestation_proofs_only: false,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_client_secret_file: None,
            oidc_scopes: defaults::OIDC_SCOPES.into(),
            oidc_allow_loopback: false,
            smtp_url: None,
            mail_from: defaults::MAIL_FROM.into(),
            bounce_domain: None,
            outbox_dir: None,
            wallet_url: defaults::WALLET_URL.into(),
            invitation_ttl: defaults::INVITATION_TTL,
            logo_url: None,
            brand_color: defaults::BRAND_COLOR.into(),
            outbox_lease: defaults::OUTBOX_LEASE,
            import_max_bytes: defaults::IMPORT_MAX_BYTES,
            x509_cert: None,
            x509_key: None,
            outbox_concurrency: defaults::OUTBOX_CONCURRENCY,
            new_keys: NewKeys::GENERATE,
            witnesses: Vec::new(),
            witness_allow_loopback: false,
            password_cost: kit::password::PasswordCost::DEFAULT,
            bench_without_log: false,
        }
    }

    /// Whether `client_id` may use the authorization code flow with `redirect_uri` (exact
    /// match against [`Config::oauth_clients`]); `None` when the client is unknown.
    pub fn client_redirect(&self, client_id: &str, redirect_uri: &str) -> Option<bool> {
        let mut known = false;
        for entry in &self.oauth_clients {
            if let Some((id, uri)) = entry.split_once('=')
                && id == client_id
            {
                known = true;
                if uri == redirect_uri {
                    return Some(true);
                }
            }
        }
        known.then_some(false)
    }

    /// The public keys of wallet provider `provider_id` ([`Config::wallet_providers`]); a
    /// malformed entry gives no key.
    pub fn wallet_provider_keys(&self, provider_id: &str) -> Vec<protocol::keys::Jwk> {
        self.wallet_providers
            .iter()
            .filter_map(|entry| entry.rsplit_once('='))
            .filter(|(id, _)| *id == provider_id)
            .filter_map(|(_, jwk)| protocol::b64::decode(jwk).ok())
            .filter_map(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .filter_map(|v| protocol::keys::Jwk::from_value(&v).ok())
            .collect()
    }

    /// The CAs of `ISSUER_KEY_ATTESTATION_X509_ANCHORS` (none when unset).
    pub fn key_attestation_anchors(&self) -> Result<protocol::x509::TrustAnchors, AppError> {
        x509_anchors(
            "ISSUER_KEY_ATTESTATION_X509_ANCHORS",
            self.key_attestation_x509_anchors.as_deref(),
        )
    }

    /// The CAs of `ISSUER_WALLET_ATTESTATION_X509_ANCHORS` (none when unset).
    pub fn wallet_attestation_anchors(&self) -> Result<protocol::x509::TrustAnchors, AppError> {
        x509_anchors(
            "ISSUER_WALLET_ATTESTATION_X509_ANCHORS",
            self.wallet_attestation_x509_anchors.as_deref(),
        )
    }

    /// The upstream OpenID Connect provider's settings, when `ISSUER_OIDC_ISSUER` is set:
    /// the client id and a secret (from `ISSUER_OIDC_CLIENT_SECRET` or its `_FILE`) are
    /// then required, and the scopes must include `openid` and `email`.
    pub fn oidc(&self) -> Result<Option<OidcSettings>, AppError> {
        let Some(issuer) = self.oidc_issuer.as_deref().filter(|i| !i.trim().is_empty()) else {
            return Ok(None);
        };
        let parsed = url::Url::parse(issuer)
            .map_err(|e| AppError::Config(format!("ISSUER_OIDC_ISSUER {issuer:?}: {e}")))?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(AppError::Config(format!(
                "ISSUER_OIDC_ISSUER {issuer:?} must have no query or fragment (OpenID Connect Discovery §2)"
            )));
        }
        let client_id = self
            .oidc_client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                AppError::Config(
                    "ISSUER_OIDC_ISSUER is set: ISSUER_OIDC_CLIENT_ID is needed".into(),
                )
            })?;
        let client_secret = match (&self.oidc_client_secret, &self.oidc_client_secret_file) {
            (Some(s), _) => s.clone(),
            (None, Some(path)) => Secret::new(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        AppError::Config(format!(
                            "ISSUER_OIDC_CLIENT_SECRET_FILE {}: {e}",
                            path.display()
                        ))
                    })?
                    .trim_end(),
            ),
            (None, None) => {
                return Err(AppError::Config(
                    "ISSUER_OIDC_ISSUER is set: ISSUER_OIDC_CLIENT_SECRET or ISSUER_OIDC_CLIENT_SECRET_FILE is needed".into(),
                ));
            }
        };
        let scopes: Vec<&str> = self
            .oidc_scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        for needed in ["openid", "email"] {
            if !scopes.contains(&needed) {
                return Err(AppError::Config(format!(
                    "ISSUER_OIDC_SCOPES {:?} must include {needed:?}",
                    self.oidc_scopes
                )));
            }
        }
        Ok(Some(OidcSettings {
            issuer: issuer.to_owned(),
            client_id,
            client_secret,
            scopes: scopes.join(" "),
            allow_loopback: self.oidc_allow_loopback,
        }))
    }

    /// The directory emails are written to when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.outbox_dir
            .clone()
            .unwrap_or_else(|| self.service.data_dir.join("outbox"))
    }

    /// The sealing key: configured, or read from / created in the data directory.
    pub fn seal_key(&self) -> Result<SealKey, AppError> {
        self.service
            .seal_key()
            .map_err(|e| AppError::Config(e.to_string()))
    }
}

/// The CA certificates of the PEM file `path` of setting `name` (none when unset); a file
/// that cannot be read, holds no certificate, or a certificate that is not a usable
/// anchor is refused, naming the setting.
fn x509_anchors(
    name: &str,
    path: Option<&std::path::Path>,
) -> Result<protocol::x509::TrustAnchors, AppError> {
    let Some(path) = path else {
        return Ok(protocol::x509::TrustAnchors::default());
    };
    let pem = std::fs::read_to_string(path)
        .map_err(|e| AppError::Config(format!("{name}: {}: {e}", path.display())))?;
    let ders = protocol::x509::pem_certificates(&pem)
        .map_err(|e| AppError::Config(format!("{name}: {e}")))?;
    if ders.is_empty() {
        return Err(AppError::Config(format!(
            "{name}: {} holds no certificate",
            path.display()
        )));
    }
    protocol::x509::TrustAnchors::from_der(&ders)
        .map_err(|e| AppError::Config(format!("{name}: X.509 trust anchor: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::for_dir(
            PathBuf::from("/nonexistent"),
            "http://127.0.0.1:8081".into(),
            "sqlite::memory:".into(),
        )
    }

    #[test]
    fn an_upstream_provider_needs_its_client_and_the_openid_and_email_scopes() {
        let mut c = config();
        assert!(c.oidc().unwrap().is_none(), "unset: no provider");
        c.oidc_issuer = Some("https://login.example.org".into());
        let needs = |c: &Config| c.oidc().unwrap_err().to_string();
        assert!(needs(&c).contains("ISSUER_OIDC_CLIENT_ID is needed"));
        c.oidc_client_id = Some("akashi".into());
        assert!(needs(&c).contains("ISSUER_OIDC_CLIENT_SECRET or ISSUER_OIDC_CLIENT_SECRET_FILE"));
        let dir = std::env::temp_dir().join(format!("akashi-oidc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "s3cret\n").unwrap();
        c.oidc_client_secret_file = Some(file);
        let settings = c.oidc().unwrap().unwrap();
        assert_eq!(settings.client_secret.expose(), "s3cret");
        assert_eq!(settings.scopes, "openid email");
        assert_eq!(format!("{:?}", settings.client_secret), "***");
        c.oidc_scopes = "openid profile".into();
        assert!(needs(&c).contains("must include \"email\""));
        c.oidc_scopes = "openid email".into();
        c.oidc_issuer = Some("https://login.example.org/?tenant=1".into());
        assert!(needs(&c).contains("no query or fragment"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// `ISSUER_WALLET_ATTESTATION_X509_ANCHORS`: unset, no anchor; a PEM of CAs, those
    /// CAs; a file that is missing, holds no certificate or a broken one, refused naming
    /// the setting. It is read apart from the key attestations' anchors.
    #[test]
    fn wallet_attestation_anchors_are_read_from_their_own_setting() {
        let mut c = config();
        assert!(c.wallet_attestation_anchors().unwrap().is_empty());
        let dir = tempfile::tempdir().unwrap();
        let key = protocol::keys::SigningKey::generate(protocol::keys::Alg::ES256);
        let pki =
            protocol::x509::DevPki::generate("Provider", "wallet.example", &key, 1_800_000_000)
                .unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, protocol::x509::to_pem(&[pki.ca])).unwrap();
        c.wallet_attestation_x509_anchors = Some(ca);
        assert_eq!(c.wallet_attestation_anchors().unwrap().len(), 1);
        assert!(c.key_attestation_anchors().unwrap().is_empty());
        let refused = |c: &Config| c.wallet_attestation_anchors().unwrap_err().to_string();
        c.wallet_attestation_x509_anchors = Some(dir.path().join("missing.pem"));
        let e = refused(&c);
        assert!(
            e.contains("ISSUER_WALLET_ATTESTATION_X509_ANCHORS: ") && e.contains("missing.pem"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        c.wallet_attestation_x509_anchors = Some(empty);
        assert!(
            refused(&c).contains("ISSUER_WALLET_ATTESTATION_X509_ANCHORS: "),
            "{}",
            refused(&c)
        );
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        c.wallet_attestation_x509_anchors = Some(broken);
        assert!(
            refused(&c).contains("ISSUER_WALLET_ATTESTATION_X509_ANCHORS: "),
            "{}",
            refused(&c)
        );
    }
}
