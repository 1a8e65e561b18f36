//! The command-line flags every service has, written once: [`service_flags!`] defines a
//! service's struct of them from its prefixes and defaults, and the service's `Config`
//! flattens it (`#[command(flatten)]`).

pub use protocol::keys::seal::{SealKey, SealKeySourceError};
pub use protocol::secret::Secret;

/// Defines a service's common flags: a `clap::Args` struct with
///
/// | field | flag | variable | default |
/// |---|---|---|---|
/// | `listen: String` | `--<long>-listen` | `<ENV>_LISTEN` | `listen` |
/// | `metrics_listen: Option<String>` | `--<long>-metrics-listen` | `<ENV>_METRICS_LISTEN` | none: no metrics |
/// | `public_url: String` | `--<long>-public-url` | `<ENV>_PUBLIC_URL` | `public_url` |
/// | `database_url: String` | `--<long>-database-url` | `<ENV>_DATABASE_URL` | `database_url` |
/// | `pg_schema: Option<String>` | `--<long>-pg-schema` | `<ENV>_PG_SCHEMA` | none |
/// | `seal_key: Option<Secret>` | `--<long>-seal-key` | `<ENV>_SEAL_KEY` | none: `<data dir>/<long>-seal.key` |
/// | the API token, when named: `Option<Secret>` | `--<long>-<token long>` | `<ENV>_<TOKEN ENV>` | none |
/// | `data_dir: PathBuf` | `--<long>-data-dir` | `<ENV>_DATA_DIR` | `data` |
/// | `drain_seconds: u64` | `--<long>-drain-seconds` | `<ENV>_DRAIN_SECONDS` | 0 |
/// | `trusted_proxies: Vec<IpAddr>` | `--<long>-trusted-proxies` | `<ENV>_TRUSTED_PROXIES` (comma-separated) | none |
///
/// in that order (the order of `--help`), and `for_dir`, `seal_key_file` and `seal_key`.
/// The public URL's, the seal key's and the token's help are the doc comments given; the
/// other flags' help is the same for every service. The struct takes no doc comment: clap
/// would make it the `about` of the command it is flattened into.
///
/// ```
/// kit::service_flags! {
///     pub struct ServiceFlags {
///         long: "example",
///         env: "EXAMPLE",
///         listen: "127.0.0.1:8089",
///         /// Public base URL.
///         public_url: "http://127.0.0.1:8089",
///         database_url: "sqlite://data/example.db",
///         /// Key sealing private keys at rest.
///         seal_key,
///         /// API bearer token.
///         api_token: "api-token", "API_TOKEN",
///     }
/// }
///
/// #[derive(clap::Parser)]
/// struct Cli {
///     #[command(flatten)]
///     service: ServiceFlags,
/// }
///
/// use clap::Parser;
/// let cli = Cli::try_parse_from(["example", "--example-listen", "0.0.0.0:80"]).unwrap();
/// assert_eq!(cli.service.listen, "0.0.0.0:80");
/// assert_eq!(cli.service.public_url, "http://127.0.0.1:8089");
/// assert!(cli.service.api_token.is_none());
/// assert!(cli.service.metrics_listen.is_none());
/// assert_eq!(cli.service.seal_key_file(), std::path::Path::new("data/example-seal.key"));
/// ```
///
/// The calling crate depends on `clap` (with `derive` and `env`).
#[macro_export]
macro_rules! service_flags {
    (
        $vis:vis struct $name:ident {
            long: $long:literal,
            env: $env:literal,
            listen: $listen:literal,
            $(#[$public_url_doc:meta])*
            public_url: $public_url:literal,
            database_url: $database_url:literal,
            $(#[$seal_key_doc:meta])*
            seal_key,
            $(
                $(#[$token_doc:meta])*
                $token:ident: $token_long:literal, $token_env:literal,
            )?
        }
    ) => {
        #[derive(::clap::Args, Debug, Clone)]
        $vis struct $name {
            /// Address to listen on.
            #[arg(
                long = concat!($long, "-listen"),
                env = concat!($env, "_LISTEN"),
                default_value = $listen
            )]
            pub listen: String,
            /// Address of the Prometheus metrics endpoint (`GET /metrics`), apart from the
            /// service's own: keep it private (loopback or an internal network). Unset: no
            /// metrics are served.
            #[arg(
                long = concat!($long, "-metrics-listen"),
                env = concat!($env, "_METRICS_LISTEN")
            )]
            pub metrics_listen: Option<String>,
            $(#[$public_url_doc])*
            #[arg(
                long = concat!($long, "-public-url"),
                env = concat!($env, "_PUBLIC_URL"),
                default_value = $public_url
            )]
            pub public_url: String,
            /// SQLite URL (default) or postgres:// URL.
            #[arg(
                long = concat!($long, "-database-url"),
                env = concat!($env, "_DATABASE_URL"),
                default_value = $database_url
            )]
            pub database_url: String,
            /// PostgreSQL schema to use (created if missing); unset: the server's default.
            #[arg(long = concat!($long, "-pg-schema"), env = concat!($env, "_PG_SCHEMA"))]
            pub pg_schema: Option<String>,
            $(#[$seal_key_doc])*
            #[arg(long = concat!($long, "-seal-key"), env = concat!($env, "_SEAL_KEY"))]
            pub seal_key: Option<$crate::config::Secret>,
            $(
                $(#[$token_doc])*
                #[arg(
                    long = concat!($long, "-", $token_long),
                    env = concat!($env, "_", $token_env)
                )]
                pub $token: Option<$crate::config::Secret>,
            )?
            /// Directory for the seal key file and other local state.
            #[arg(
                long = concat!($long, "-data-dir"),
                env = concat!($env, "_DATA_DIR"),
                default_value = "data"
            )]
            pub data_dir: ::std::path::PathBuf,
            /// Seconds between the stop signal (SIGTERM or Ctrl-C) and closing the
            /// listener: `/ready` answers 503 meanwhile, so a load balancer stops sending
            /// new requests; then the requests in flight are finished and the process ends.
            #[arg(
                long = concat!($long, "-drain-seconds"),
                env = concat!($env, "_DRAIN_SECONDS"),
                default_value_t = 0
            )]
            pub drain_seconds: u64,
            /// Addresses of reverse proxies (load balancers) in front of this service,
            /// comma-separated: a request from one of them is taken to come from the last
            /// address its `X-Forwarded-For` names (the token throttles count per client).
            #[arg(
                long = concat!($long, "-trusted-proxies"),
                env = concat!($env, "_TRUSTED_PROXIES"),
                value_delimiter = ','
            )]
            pub trusted_proxies: Vec<::std::net::IpAddr>,
        }

        impl $name {
            /// For tests and embedding: an ephemeral loopback port, these URLs, everything
            /// under `data_dir`, no metrics, schema, seal key or token given.
            pub fn for_dir(
                data_dir: ::std::path::PathBuf,
                public_url: String,
                database_url: String,
            ) -> Self {
                $name {
                    listen: "127.0.0.1:0".into(),
                    metrics_listen: None,
                    public_url,
                    database_url,
                    pg_schema: None,
                    seal_key: None,
                    $($token: None,)?
                    data_dir,
                    drain_seconds: 0,
                    trusted_proxies: Vec::new(),
                }
            }

            /// Where the seal key is kept when none is configured:
            #[doc = concat!("`<data dir>/", $long, "-seal.key`.")]
            pub fn seal_key_file(&self) -> ::std::path::PathBuf {
                self.data_dir.join(concat!($long, "-seal.key"))
            }

            /// The sealing key: configured, or read from / created in
            /// [`Self::seal_key_file`].
            pub fn seal_key(
                &self,
            ) -> Result<$crate::config::SealKey, $crate::config::SealKeySourceError> {
                $crate::config::SealKey::configured_or_file(
                    self.seal_key.as_ref().map($crate::config::Secret::expose),
                    &self.seal_key_file(),
                )
            }
        }
    };
}
